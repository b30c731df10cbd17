"""A feed streams through dedupe once, in chunks, and the result does not depend on how it was cut.

These pin the pieces that keep memory bounded: the stream is read once, the
chunk size and the pair block size change nothing, features read back from
disk are the features computed in memory, and the chunk work gives the same
answer whether the normalized lines travel through a spill file or in the
result (workers on another machine).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dedup.sketch.prepare import prepare_chunk, sketch_spilled
from dedup.config import BoilerplateConfig, DedupConfig, IndexConfig, MinHashConfig, NormalizeConfig, ShingleConfig
from dedup.sketch.feature_store import FeatureStore
from dedup.sketch.features import Features
from dedup.io.dedupe_out import RecordSpool, write_dedupe_outputs
from dedup.flows.dedupe import dedupe
from dedup.runtime import Runtime
from dedup.types import Article
from dedup.verify import fit_idf, score_pairs

SEEDS = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))


def feed() -> list[Article]:
    """Seeds, re-headlined copies, teasers, an exact copy, shared boilerplate, and skips."""
    texts = [p.read_text(encoding="utf-8") for p in SEEDS]
    arts = [Article(id=f"s{i}", text=t + "\nتابعونا على تويتر", source="wire") for i, t in enumerate(texts)]
    arts += [Article(id=f"c{i}", text="عنوان آخر\n" + t, source="outlet", date=f"2024-01-0{i + 1}") for i, t in enumerate(texts)]
    arts += [Article(id=f"t{i}", text=" ".join(t.split()[:120]), source="wire") for i, t in enumerate(texts)]
    arts += [Article(id="x", text=texts[0] + "\nتابعونا على تويتر", source="wire"), Article(id="e", text="  "), Article(id="short", text="كلمتان فقط")]
    return arts


def outcome(r) -> tuple:
    return (
        r.status.tolist(),
        r.group.tolist(),
        r.keeper.tolist(),
        r.relation.tolist(),
        np.round(np.nan_to_num(r.scores, nan=-1), 12).tolist(),
        r.pairs.tolist(),
        sorted(r.reason_skipped.items()),
        r.boilerplate.report(),
    )


def once(items: list[Article]) -> Iterator[Article]:
    """A generator that fails if it is asked for a second pass."""
    yield from items


def test_stream_gives_the_list_result_and_is_read_once() -> None:
    config = DedupConfig(boilerplate=BoilerplateConfig(min_articles=3))
    expected = dedupe(feed(), config)
    assert (expected.group >= 0).sum() >= 10 and len(expected.reason_skipped) == 2
    assert sorted(line for _, line in expected.boilerplate.lines.values()) == ["تابعونا علي تويتر", "عنوان اخر"]  # per source
    assert outcome(dedupe(once(feed()), config)) == outcome(expected)


@pytest.mark.parametrize("chunk_size", [1, 2, 7])
def test_chunking_changes_nothing(chunk_size: int) -> None:
    config = DedupConfig(boilerplate=BoilerplateConfig(min_articles=3))
    assert outcome(dedupe(feed(), config, runtime=Runtime(chunk_size=chunk_size))) == outcome(dedupe(feed(), config))


def test_two_workers_give_the_same_result() -> None:
    config = DedupConfig()
    assert outcome(dedupe(feed(), config, runtime=Runtime(chunk_size=4, n_jobs=2))) == outcome(dedupe(feed(), config, runtime=Runtime(chunk_size=4)))


def test_spill_file_or_lines_in_the_result_are_the_same(tmp_path: Path) -> None:
    texts = [a.text for a in feed()]
    sources = [a.source for a in feed()]
    cfgs = dict(normalize_cfg=NormalizeConfig(), boilerplate_cfg=BoilerplateConfig(min_articles=2))
    spilled = prepare_chunk(texts, sources, str(tmp_path / "c.pkl"), **cfgs)
    carried = prepare_chunk(texts, sources, None, **cfgs)
    assert spilled.lines is None and carried.lines is not None
    assert spilled.line_keys.tolist() == carried.line_keys.tolist() and len(carried.line_keys) > 0
    eligible = np.array([bool(t.strip()) for t in texts])
    args = (np.unique(spilled.line_keys), BoilerplateConfig().max_tokens, ShingleConfig(), MinHashConfig(), IndexConfig())
    a = sketch_spilled(str(tmp_path / "c.pkl"), sources, eligible, *args)
    b = sketch_spilled(carried.lines, sources, eligible, *args)
    assert not (tmp_path / "c.pkl").exists()  # the spill is removed once read
    assert a.sketched.tolist() == b.sketched.tolist() and len(a.sketched) == len(texts) - 2
    assert np.array_equal(a.signatures, b.signatures) and np.array_equal(a.anchor_grams, b.anchor_grams)
    assert np.array_equal(a.features.shingles, b.features.shingles)


rows_strategy = st.lists(st.integers(0, 40), min_size=0, max_size=30)


@given(lengths=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 6)), min_size=1, max_size=40), rows=rows_strategy)
def test_store_reads_back_what_was_stored(tmp_path_factory, lengths, rows) -> None:
    rng = np.random.default_rng(len(lengths))
    parts, start = [], 0
    while start < len(lengths):
        stop = start + int(rng.integers(1, 5))
        ls = lengths[start:stop]
        so = np.concatenate([[0], np.cumsum([a for a, _ in ls])]).astype(np.int64)
        to = np.concatenate([[0], np.cumsum([b for _, b in ls])]).astype(np.int64)
        parts.append(
            Features(
                rng.integers(0, 1 << 26, so[-1]).astype(np.uint32), so,
                rng.integers(0, 1 << 22, to[-1]).astype(np.uint32), rng.integers(1, 5, to[-1]).astype(np.uint32), to,
            )
        )
        start = stop
    whole = Features.concat(parts)
    rows_arr = np.array([r % len(whole) for r in rows], dtype=np.int64)
    store = FeatureStore(tmp_path_factory.mktemp("store"))
    for p in parts:
        store.append(p)
    try:
        got, want = store.gather(rows_arr), whole.gather(rows_arr)
    finally:
        store.close()
    for name in ("shingles", "shingle_offsets", "tokens", "counts", "token_offsets"):
        assert getattr(got, name).tolist() == getattr(want, name).tolist(), name


def random_features(rng: np.random.Generator, lengths: list[tuple[int, int]]) -> Features:
    """Features of rows of the given (shingles, tokens) lengths, with their k-gram sequences (k = 2)."""
    from dedup.sketch.features import kgram_sequences

    so = np.concatenate([[0], np.cumsum([a for a, _ in lengths])]).astype(np.int64)
    to = np.concatenate([[0], np.cumsum([b for _, b in lengths])]).astype(np.int64)
    th = rng.integers(0, 1 << 62, to[-1]).astype(np.uint64)
    kg, ko = kgram_sequences(th, to, 2)
    return Features(rng.integers(0, 1 << 26, so[-1]).astype(np.uint32), so, (th % (1 << 22)).astype(np.uint32),
                    rng.integers(1, 5, to[-1]).astype(np.uint32), to, kg, ko)


@given(lengths=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 6)), min_size=1, max_size=30),
       keep=st.lists(st.booleans(), min_size=30, max_size=30))
def test_store_appends_chosen_rows_as_their_gather(tmp_path_factory, lengths, keep) -> None:
    """``append(features, rows)`` (runs of rows written as slices) stores what ``append(features.gather(rows))`` does."""
    rng = np.random.default_rng(len(lengths))
    feats = random_features(rng, lengths)
    rows = np.flatnonzero(np.array(keep[: len(lengths)]))
    by_rows, by_gather = FeatureStore(tmp_path_factory.mktemp("a")), FeatureStore(tmp_path_factory.mktemp("b"))
    by_rows.append(feats, rows)
    by_rows.append(feats)
    by_gather.append(feats.gather(rows))
    by_gather.append(feats)
    everything = np.arange(len(rows) + len(lengths))
    try:
        got, want = by_rows.gather(everything), by_gather.gather(everything)
        got_k, want_k = by_rows.gather_kgrams(everything), by_gather.gather_kgrams(everything)
    finally:
        by_rows.close()
        by_gather.close()
    for name in ("shingles", "shingle_offsets", "tokens", "counts", "token_offsets"):
        assert getattr(got, name).tolist() == getattr(want, name).tolist(), name
    assert got_k[0].tolist() == want_k[0].tolist() and got_k[1].tolist() == want_k[1].tolist()


@given(lengths=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 6)), min_size=1, max_size=40),
       ways=st.lists(st.sampled_from(["own", "seg-a", "seg-b"]), min_size=8, max_size=8),
       keep=st.lists(st.booleans(), min_size=40, max_size=40), rows=rows_strategy)
def test_store_reads_rows_written_by_several_writers(tmp_path_factory, lengths, ways, keep, rows) -> None:
    """Chunks appended by the store and chunks other writers left in their own files (write_segment; two
    writers, chunks interleaved, some rows left out) read back as if every chunk had been appended."""
    from dedup.sketch.feature_store import write_segment

    rng = np.random.default_rng(len(lengths))
    directory = tmp_path_factory.mktemp("store")
    mixed, plain = FeatureStore(directory), FeatureStore(tmp_path_factory.mktemp("plain"))
    writers = {"seg-a": directory / "a", "seg-b": directory / "b"}
    for folder in writers.values():
        folder.mkdir()
    start, c = 0, 0
    while start < len(lengths):
        stop = start + int(rng.integers(1, 6))
        ls = lengths[start:stop]
        feats = random_features(rng, ls)
        chosen = np.flatnonzero(np.array(keep[start : start + len(ls)], dtype=bool))
        chosen_or_all = None if len(chosen) == len(ls) else chosen
        way = ways[c % len(ways)]
        if way == "own":
            mixed.append(feats, chosen_or_all)
        else:
            mixed.add_segment(write_segment(str(writers[way]), feats), chosen_or_all)
        plain.append(feats.gather(chosen))
        start, c = stop, c + 1
    try:
        assert len(mixed) == len(plain)
        if len(plain) == 0:
            return
        asked = np.array([r % len(plain) for r in rows], dtype=np.int64)
        got, want = mixed.gather(asked), plain.gather(asked)
        got_k, want_k = mixed.gather_kgrams(asked), plain.gather_kgrams(asked)
        again = pickle.loads(pickle.dumps(mixed)).gather(asked)  # as a worker process gets it
    finally:
        mixed.close()
        plain.close()
    for name in ("shingles", "shingle_offsets", "tokens", "counts", "token_offsets"):
        assert getattr(got, name).tolist() == getattr(want, name).tolist(), name
        assert getattr(again, name).tolist() == getattr(want, name).tolist(), name
    assert got_k[0].tolist() == want_k[0].tolist() and got_k[1].tolist() == want_k[1].tolist()


def test_pair_blocks_change_no_score(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    sh = [np.unique(rng.integers(0, 300, rng.integers(5, 60))) for _ in range(30)]
    tok = [np.unique(rng.integers(0, 100, rng.integers(3, 30))) for _ in range(30)]
    feats = Features(
        np.concatenate(sh).astype(np.uint32), np.concatenate([[0], np.cumsum([len(x) for x in sh])]),
        np.concatenate(tok).astype(np.uint32), np.ones(sum(len(x) for x in tok), dtype=np.uint32),
        np.concatenate([[0], np.cumsum([len(x) for x in tok])]),
    )
    store = FeatureStore(tmp_path)
    store.append(feats)
    pairs = np.array([(i, j) for i in range(30) for j in range(i + 1, 30) if (i * j) % 3 == 0])
    digest = np.arange(30, dtype=np.uint64)
    digest[7] = digest[3]  # an exact copy
    idf = fit_idf(feats)
    one = score_pairs(feats, pairs, digest, idf, block=len(pairs))
    many = score_pairs(store, pairs, digest, idf, block=4)
    store.close()
    assert one.jaccard.max() < 1.0 or one.exact.any()
    for name in ("jaccard", "contain_ij", "contain_ji", "cosine", "exact"):
        assert np.allclose(getattr(one, name), getattr(many, name), rtol=0, atol=1e-12), name
    assert one.exact[(pairs[:, 0] == 3) & (pairs[:, 1] == 7)].all()


def test_unique_needs_one_record_per_article(tmp_path: Path) -> None:
    arts = feed()
    result = dedupe(arts)
    with pytest.raises(ValueError, match="records for the"):
        write_dedupe_outputs(tmp_path, result, ["x"], [a.record for a in arts[:-1]])
    spool = RecordSpool()
    consumed = list(spool.tap(arts))
    info = write_dedupe_outputs(tmp_path, result, ["x"], spool.lines())
    spool.close()
    assert len(consumed) == len(arts)
    n_unique = len((tmp_path / "unique.jsonl").read_text(encoding="utf-8").splitlines())
    assert n_unique == info["counts"]["kept"] + info["counts"]["skipped"]


def test_full_temporary_disk_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import dedup.sketch.prepare
    from dedup.errors import OutputError

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dedup.sketch.prepare, "write_spill", full)
    with pytest.raises(OutputError, match="TMPDIR"):
        dedupe(feed())


@pytest.mark.parametrize(("chunk_size", "n_jobs"), [(1, 1), (3, 1), (4, 2), (100, 1)])
def test_repeats_stream_is_the_whole_feed_result_in_order(chunk_size: int, n_jobs: int) -> None:
    from dedup.config import RepeatsConfig
    from dedup.exec import LocalExecutor
    from dedup.flows.repeats import find_repeats_feed, repeats_stream

    para = "the council met on monday to discuss the new water plan for the eastern district"
    texts = [f"{para}\n\n{k} other words here and there\n\n{para}" if k % 3 == 0 else f"line {k} alone" for k in range(10)]
    arts = [Article(id=str(k), text=t) for k, t in enumerate(texts)]
    ticks: list[int] = []
    pulled: list[int] = []

    def feed() -> Iterator[Article]:
        for a in arts:
            pulled.append(1)
            yield a

    out = list(repeats_stream(feed(), RepeatsConfig(), LocalExecutor(n_jobs), chunk_size=chunk_size, progress=ticks.append))
    assert [a.id for a, _ in out] == [a.id for a in arts] and len(pulled) == len(arts)
    assert [r for _, r in out] == find_repeats_feed(texts, RepeatsConfig())
    assert sum(ticks) == len(arts) and sum(r.n_repeats > 0 for _, r in out) == 4


def test_store_leaves_out_what_lies_between_the_rows_asked(tmp_path: Path) -> None:
    """Rows read with the values between them (one read), rows end to end, and a row asked twice: the same values."""
    rng = np.random.default_rng(3)
    lengths = [5, 0, 7, 3, 9, 1, 0, 4, 6, 2]
    so = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    feats = Features(rng.integers(0, 1 << 26, so[-1]).astype(np.uint32), so,
                     rng.integers(0, 1 << 22, so[-1]).astype(np.uint32), rng.integers(1, 5, so[-1]).astype(np.uint32), so)
    store = FeatureStore(tmp_path)
    store.append(feats)
    try:
        for rows in ([0, 2, 4, 8], [8, 3, 1, 6], [2, 3, 4], [4, 4, 0], [1, 6], list(range(10))):
            got, want = store.gather(np.array(rows)), feats.gather(np.array(rows))
            for name in ("shingles", "shingle_offsets", "tokens", "counts", "token_offsets"):
                assert getattr(got, name).tolist() == getattr(want, name).tolist(), (rows, name)
    finally:
        store.close()


def test_blocks_of_pairs_are_bounded_by_their_rows() -> None:
    """Pairs that share rows (a copy family) make longer blocks; pairs of distinct rows keep blocks of ``block``."""
    from dedup.verify.scores import _BLOCK_STRETCH, _pair_block

    family = np.array([(i, j) for i in range(12) for j in range(i + 1, 12)])  # 66 pairs of 12 rows
    part, rows, local = _pair_block(family, 0, 10)
    assert len(part) == min(len(family), _BLOCK_STRETCH * 10) and len(rows) <= 20
    assert (rows[local.reshape(-1, 2)] == part).all()
    distinct = np.arange(200).reshape(-1, 2)  # 100 pairs, no row shared
    part, rows, _ = _pair_block(distinct, 0, 10)
    assert len(part) == 10 and len(rows) == 20
    part, rows, _ = _pair_block(distinct, 95, 10)
    assert len(part) == 5  # the last pairs
