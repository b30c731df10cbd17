"""The compiled text path (dedup.text.compiled, dedup.sketch.compiled) gives the NumPy path's bits: folded texts,
token hashes, signatures, decisions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dedup.config import MinHashConfig, ShingleConfig
from dedup.results import DUPLICATE
from dedup.runtime import Runtime
from dedup.config import NormalizeConfig
from dedup.sketch import compiled as compiled_sketch
from dedup.sketch.signatures import minhash_signatures
from dedup.text import compiled as compiled_text
from dedup.text.normalize import normalize_texts
from dedup.text.shingle import shingle, token_hashes
from dedup.types import Article

SEEDS = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))

# normalized texts: tokens single-spaced, no line breaks; Arabic, Latin, digits, and code points past U+FFFF
_TOKEN = st.text(alphabet=st.sampled_from("abzé٣قالرئيسءآ\u0645\U0001f600\U0001d538\U0010fffd\uffff"), min_size=1, max_size=9)
_TEXT = st.lists(_TOKEN, max_size=40).map(" ".join)


@given(st.lists(_TEXT, max_size=12))
@settings(max_examples=150, deadline=None)
def test_token_hashes_equal_the_numpy_path(texts: list[str]) -> None:
    want, want_offsets = token_hashes(texts)
    got, got_offsets = compiled_text.token_hashes(texts)
    assert got.dtype == np.uint64 and got_offsets.dtype == np.int64
    assert np.array_equal(got, want) and np.array_equal(got_offsets, want_offsets)


def test_token_hashes_of_real_articles_equal_the_numpy_path() -> None:
    from dedup.text.normalize import normalize_texts

    texts = [t.replace("\n", " ") for t in normalize_texts([p.read_text(encoding="utf-8") for p in SEEDS])] + ["", "x"]
    want, got = token_hashes(texts), compiled_text.token_hashes(texts)
    assert len(want[0]) > 1000 and all(np.array_equal(a, b) for a, b in zip(want, got))


# raw texts: what folding meets (marks, tatweel, ligatures and other characters folding to several, mojibake and
# entities to repair, format characters, every kind of white space and line break, the batch separator, and marks that
# survive folding, which NFKD may reorder: ypogegrammeni U+0345 alone and inside U+1FB3, a Tagalog virama U+1715 that is kept)
_RAW = st.text(alphabet=st.sampled_from(list("ab Zé\u064eقالرئيسـ٣ \n\r\t\x1e&;Ã©ﻻ…ßﬁ\u0345\u200b\u00a0\u3000.,«»")
                                        + ["\U0001f600", "\U0001d538", "\u0671", "\u0649", "\u0629", "\u1715", "\u1fb3"]), max_size=30)


@example(["\ufefb x\u0345\u1715"], True, True)  # NFKD orders the two kept marks by class: the NumPy path's full path
@given(st.lists(_RAW, max_size=40), st.booleans(), st.booleans())
@settings(max_examples=300, deadline=None)
def test_folding_equals_the_numpy_path(texts: list[str], repair: bool, teh: bool) -> None:
    config = NormalizeConfig(repair=repair, fold_teh_marbuta=teh)
    first = normalize_texts(texts, config, compiled=True)  # characters met for the first time: the NumPy path
    want = normalize_texts(texts, config)
    assert first == want and normalize_texts(texts, config, compiled=True) == want  # now met: the kernel


def test_folding_hands_back_what_it_cannot_fold() -> None:
    """A character not met yet, one folding to several whose folding is not known, a repair to try: None."""
    from dedup.text.normalize import _SLOW, _UNSET

    direct = np.arange(0x110000, dtype=np.uint32)
    starts, lengths = np.full(0x20000, -1, dtype=np.int64), np.zeros(0x20000, dtype=np.int64)
    values = np.array([0x644, 0x627], dtype=np.uint32)
    starts[0xFEFB], lengths[0xFEFB] = 0, 2
    direct[0xFEFB] = direct[0xFB01] = _SLOW
    direct[0x5D0] = _UNSET
    tables = (direct, starts, lengths, values, np.zeros(0x20000, dtype=bool), False, 2)
    raw = lambda s: np.frombuffer(s.encode("utf-32-le"), dtype=np.uint32)  # noqa: E731
    assert compiled_text.fold(raw(" a \ufefb  b "), tables, False, True).tolist() == [97, 32, 0x644, 0x627, 32, 98]
    assert compiled_text.fold(raw("a \ufb01"), tables, False, True) is None  # its folding is not known
    assert compiled_text.fold(raw("a \u05d0"), tables, False, True) is None  # not met yet
    assert compiled_text.fold(raw("a & b"), tables, False, True) is None  # a repair to try ...
    assert compiled_text.fold(raw("a & b"), tables, False, False).tolist() == [97, 32, 38, 32, 98]  # ... unless none is


def test_folding_real_articles_mostly_compiled_equals_the_numpy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [p.read_text(encoding="utf-8") for p in SEEDS] * 3 + ["", " \n ", "\ufefb شيء\u2026 \ufb01ne"]  # nothing to repair
    want = normalize_texts(texts)
    answers = []
    fold = compiled_text.fold
    monkeypatch.setattr(compiled_text, "fold", lambda *a: answers.append(fold(*a)) or answers[-1])
    assert normalize_texts(texts, compiled=True) == want
    assert answers and all(a is not None for a in answers)  # every batch folded by the kernel


@given(st.lists(st.integers(0, 300), max_size=20), st.integers(0, 2**32 - 1), st.sampled_from([16, 128, 256]))
@settings(max_examples=100, deadline=None)
def test_signatures_equal_the_numpy_path(lengths: list[int], seed: int, num_perm: int) -> None:
    rng = np.random.default_rng(seed)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    hashes = rng.integers(0, 2**64, int(offsets[-1]), dtype=np.uint64)
    config = MinHashConfig(num_perm=num_perm, seed=seed % 7)
    want = minhash_signatures(hashes, offsets, config)
    got = compiled_sketch.minhash_signatures(hashes, offsets, config)
    assert got.dtype == np.uint32 and np.array_equal(got, want)  # empty rows included (all EMPTY)


def test_signatures_of_real_shingles_equal_the_numpy_path() -> None:
    from dedup.text.normalize import normalize_texts

    texts = [t.replace("\n", " ") for t in normalize_texts([p.read_text(encoding="utf-8") for p in SEEDS])]
    hashes, offsets = shingle(texts, ShingleConfig())
    config = MinHashConfig()
    assert np.array_equal(compiled_sketch.minhash_signatures(hashes, offsets, config), minhash_signatures(hashes, offsets, config))


def _feed() -> list[Article]:
    """The seeds, and copies of them edited the ways copies are (a new ending, a dropped paragraph, a new headline)."""
    arts = []
    for k, path in enumerate(SEEDS):
        text = path.read_text(encoding="utf-8")
        paras = [p for p in text.split("\n") if p.strip()]
        arts.append(Article(id=f"s{k}", text=text, source="a"))
        arts.append(Article(id=f"s{k}-trim", text="\n".join(paras[:-1]), source="b"))
        arts.append(Article(id=f"s{k}-more", text=text + "\nتابعونا على المنصات.", source="c"))
        arts.append(Article(id=f"s{k}-drop", text="\n".join(paras[:1] + paras[2:]), source="d"))
    return arts


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_feed_sketched_compiled_gets_the_same_decisions(monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    from dedup.flows import prepare
    from dedup.flows.dedupe import dedupe

    runtime = Runtime(n_jobs=jobs, chunk_size=7)
    want = dedupe(_feed(), runtime=runtime)
    monkeypatch.setattr(prepare, "COMPILED_ARTICLES", 0)
    calls = []
    real, fold = compiled_sketch.minhash_signatures, compiled_text.fold
    if jobs == 1:  # in this process: the compiled kernels are seen to run
        monkeypatch.setattr(compiled_sketch, "minhash_signatures", lambda *a, **k: calls.append(1) or real(*a, **k))
        monkeypatch.setattr(compiled_text, "fold", lambda *a, **k: calls.append(2) or fold(*a, **k))
    got = dedupe(_feed(), runtime=runtime)
    assert jobs == 2 or (calls.count(1) >= 3 and calls.count(2) >= 3)
    assert (want.status == DUPLICATE).sum() >= 10
    for field in ("status", "group", "keeper", "relation", "pairs", "pair_relation"):
        assert np.array_equal(getattr(got, field), getattr(want, field)), field
    assert np.array_equal(got.scores, want.scores, equal_nan=True)


def test_a_jsonl_feed_read_in_blocks_and_compiled_writes_the_same_outputs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from dedup.cli import app
    from dedup.flows import prepare

    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({"id": a.id, "text": a.text, "source": a.source}, ensure_ascii=False) + "\n"
                            for a in _feed()), encoding="utf-8")

    def run(out: str) -> dict[str, bytes]:
        res = CliRunner().invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / out), "-q"])
        assert res.exit_code == 0, res.output
        return {n: (tmp_path / out / n).read_bytes() for n in ("decisions.jsonl", "pairs.jsonl", "unique.jsonl")}

    want = run("numpy")
    monkeypatch.setattr(prepare, "COMPILED_ARTICLES", 0)
    folds = []
    fold = compiled_text.fold
    monkeypatch.setattr(compiled_text, "fold", lambda *a: folds.append(1) or fold(*a))
    assert run("compiled") == want and folds
