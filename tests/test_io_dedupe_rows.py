"""pairs.jsonl and decisions.jsonl are written line by line without an encoder call per row: the lines must be what the row encoder writes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dedup import Article, dedupe
from dedup.config import DedupConfig, VerifyConfig
from dedup.io.dedupe_rows import decision_lines, decision_rows, pair_lines, pair_rows
from dedup.io.writers import json_line

SEEDS = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))


def _articles(ids: list[str]) -> list[Article]:
    texts = [p.read_text(encoding="utf-8") for p in SEEDS]
    base = texts[0]
    copies = [base, base + "\n\nفقرة مضافة في آخر الخبر.", base[: len(base) * 3 // 4], base.replace("،", ","), texts[1], texts[1] + " .",
              "", "قصير", texts[2], texts[3], texts[4] + "\n\n" + texts[3]]  # then: an empty and a too short one (skipped), one
    # that copies nothing, and an item that a roundup holds
    return [Article(id=i, text=t, date=f"2015-08-0{k % 9 + 1}", source=f"s{k}") for k, (i, t) in enumerate(zip(ids, copies))]


def _result(ids: list[str], decision: str = "model", **config):
    return dedupe(_articles(ids), DedupConfig(verify=VerifyConfig(decision=decision), **config))


def _same(result) -> None:
    """The lines, made line by line and by the kernel, are what the encoder writes."""
    from dedup.io.pair_kernel import pair_blocks

    assert len(result.pairs) >= 3
    encoded = "".join(json_line(r) for r in pair_rows(result))
    assert "".join(pair_lines(result)) == encoded
    assert b"".join(block.tobytes() for block in pair_blocks(result)) == encoded.encode("utf-8")


@pytest.mark.parametrize("decision", ["model", "rule"])
def test_pair_lines_are_the_encoded_rows(decision: str) -> None:
    _same(_result(["a", "خبر-١", 'quote"and\\back', "tab\tid", "é", "z"], decision))


def test_an_id_with_a_lone_surrogate_is_escaped_as_the_encoder_escapes_it() -> None:
    result = _result(["a", "b\ud800", "خبر", "d", "e", "f"])
    _same(result)
    assert any("\\ud800" in line for line in pair_lines(result))


def test_missing_scores_are_null_and_blocks_join_seamlessly(monkeypatch: pytest.MonkeyPatch) -> None:
    import dedup.io.dedupe_rows as rows

    result = _result(["a", "b", "c", "d", "e", "f"])
    s = result.pair_scores
    nan_scores = replace(s, cosine=np.where(np.arange(len(s.cosine)) % 2 == 0, np.nan, s.cosine))
    result = replace(result, pair_scores=nan_scores)
    monkeypatch.setattr(rows, "_PAIR_BLOCK", 2)  # several blocks, one of them short
    monkeypatch.setattr("dedup.io.pair_kernel._BLOCK", 2)
    _same(result)
    assert any('"cosine":null' in line for line in pair_lines(result))


def test_scores_are_formatted_as_json_writes_them_rounded() -> None:
    """The looked-up strings equal ``json(round(x, 4))`` for every kind of value, ties and edges included."""
    from dedup.io.dedupe_rows import _num, _nums

    rng = np.random.default_rng(0)
    ties = (np.arange(0, 10000) + 0.5) / 10000  # x·10^4 at (or a rounding away from) a half
    values = np.concatenate([rng.random(20000), ties, np.nextafter(ties, 0), np.nextafter(ties, 1),
                             [0.0, -0.0, 1.0, np.nan, 1.00005, 2.5, -0.3, 1e-9, 0.99995, 0.00005, np.inf]])
    assert _nums(values) == [_num(float(v)) for v in values]
    assert _nums(np.array([-0.0, np.nan, 0.12345]))[:2] == ["-0.0", "null"]


def test_the_kernel_says_every_kind_of_score_as_the_encoder_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ties, values a rounding away from them, NaN, -0.0, values outside [0, 1], and no probability at all."""
    result = _result(["a", "b", "c", "d", "e", "f"])
    rng = np.random.default_rng(1)
    ties = (np.arange(0, 10000, 7) + 0.5) / 10000
    values = np.concatenate([rng.random(3000), ties, np.nextafter(ties, 0), np.nextafter(ties, 1),
                             [0.0, -0.0, 1.0, np.nan, 1.00005, 2.5, -0.3, 1e-9, 0.99995, 0.00005, np.inf]])
    m = len(values)
    take = np.arange(m) % len(result.pairs)
    s = result.pair_scores
    scores = replace(s, jaccard=values, contain_ij=np.roll(values, 1), contain_ji=np.roll(values, 2), cosine=np.roll(values, 3),
                     probability=np.roll(values, 4), exact=s.exact[take])
    many = replace(result, pairs=result.pairs[take], pair_relation=result.pair_relation[take], pair_scores=scores)
    monkeypatch.setattr("dedup.io.pair_kernel._BLOCK", 1000)
    _same(many)
    _same(replace(many, pair_scores=replace(scores, probability=None)))


def test_pairs_jsonl_is_the_same_file_from_either_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``_write_pairs`` by line and by kernel (the edge count it switches at set to 0), on a run with a history index too."""
    import dedup.io.dedupe_out as out
    from dedup.store.history import open_index

    arts = _articles(_IDS)
    idx = open_index(str(tmp_path / "h.db"), DedupConfig())
    try:
        dedupe(arts[:4], DedupConfig(), index=idx)
        again = [replace(a, id=f"again {a.id}") for a in arts[:3]]  # copies of stored articles: their edges name them
        later = dedupe(arts[4:] + again, DedupConfig(), index=idx)
    finally:
        idx.close()
    assert len(later.pairs) and int(later.pairs.max()) >= len(later.table)
    for result in (_result(_IDS), later):
        out._write_pairs(tmp_path / "by_line.jsonl", result)
        monkeypatch.setattr(out, "PAIR_KERNEL_EDGES", 0)
        out._write_pairs(tmp_path / "by_kernel.jsonl", result)
        monkeypatch.undo()
        assert (tmp_path / "by_kernel.jsonl").read_bytes() == (tmp_path / "by_line.jsonl").read_bytes()


# --- decisions.jsonl -----------------------------------------------------------------------


def _same_decisions(result) -> list[str]:
    lines = list(decision_lines(result))
    assert lines == [json_line(r) for r in decision_rows(result)]
    return lines


_IDS = ["a", "خبر-١", 'quote"and\\back', "tab\tid", "é", "z", "empty", "short", "alone", "item", "roundup"]


@pytest.mark.parametrize("decision", ["model", "rule"])
@pytest.mark.parametrize(("repeats", "block"), [(False, 100_000), (True, 100_000), (False, 3), (True, 4)])
def test_decision_lines_are_the_encoded_rows(decision: str, repeats: bool, block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every kind of row (kept alone, kept for a group, each relation of a copy, skipped) is written as the encoder
    writes it, in one block of rows or several (a keeper, a container in another block than its copy)."""
    import dedup.io.dedupe_rows as rows

    monkeypatch.setattr(rows, "_DECISION_BLOCK", block)
    lines = _same_decisions(_result(_IDS, decision, count_repeats=repeats))
    statuses = {json.loads(line)["status"] for line in lines}
    relations = {json.loads(line)["relation"] for line in lines}
    assert statuses == {"kept", "duplicate", "skipped"} and {"exact", "near"} <= relations
    if decision == "model":  # the rule's thresholds do not take the roundup's item as a copy
        assert "contained" in relations and any(json.loads(line)["contained_in"] for line in lines)
    assert all(("\"repeats\":" in line) == repeats for line in lines)


def test_a_decision_with_a_lone_surrogate_is_escaped_as_the_encoder_escapes_it() -> None:
    ids = list(_IDS)
    ids[0] = "a\ud800"  # the keeper of a group of four
    lines = _same_decisions(_result(ids))
    assert sum("\\ud800" in line for line in lines) == 4  # its own row, and the rows of its copies


def test_nan_scores_are_null_in_the_decisions() -> None:
    result = _result(_IDS)
    scores = result.scores.copy()
    scores[:, 3] = np.nan  # no probability (a run under the rule has none either)
    lines = _same_decisions(replace(result, scores=scores))
    assert any('"probability":null' in line for line in lines)


def test_decision_lines_of_a_run_with_a_history_index(tmp_path: Path) -> None:
    """Rows that name stored articles (``seen_before``, an earlier feed's group) are the encoder's too."""
    from dedup.store.history import open_index

    arts = _articles(_IDS)
    idx = open_index(str(tmp_path / "h.db"), DedupConfig())
    try:
        dedupe(arts[:3], DedupConfig(), index=idx)
        result = dedupe(arts[3:], DedupConfig(), index=idx)
    finally:
        idx.close()
    lines = _same_decisions(result)
    assert any('"seen_before"' in line for line in lines)
    cut = len(lines) // 2  # and in parts, as two workers make the file
    assert list(decision_lines(result, 0, cut)) + list(decision_lines(result, cut)) == lines


@pytest.mark.parametrize("decision", ["model", "rule"])
def test_a_drop_says_what_its_edge_in_pairs_says(decision: str) -> None:
    """decisions.jsonl and pairs.jsonl agree on a dropped article and its keeper: one relation, one set of scores."""
    result = _result(_IDS, decision)
    decisions = {d["id"]: d for d in (json.loads(line) for line in decision_lines(result))}
    edges = {frozenset((p["id1"], p["id2"])): p for p in (json.loads(line) for line in pair_lines(result))}
    checked = 0
    for d in decisions.values():
        edge = edges.get(frozenset((d["id"], d["duplicate_of"])))
        if d["status"] != "duplicate" or edge is None:
            continue
        assert (d["relation"], d["scores"]["jaccard"], d["scores"]["cosine"], d["scores"]["probability"]) == \
            (edge["relation"], edge["jaccard"], edge["cosine"], edge["probability"])
        assert d["scores"]["containment"] == max(edge["containment_1_in_2"], edge["containment_2_in_1"])
        checked += 1
    assert checked >= 3


def test_decision_lines_of_ranges_that_follow_one_another_are_the_whole_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import dedup.io.dedupe_rows as rows

    monkeypatch.setattr(rows, "_DECISION_BLOCK", 3)  # a range that starts or ends inside a block
    result = _result(_IDS)
    whole = list(decision_lines(result))
    for cut in range(len(whole) + 1):
        assert list(decision_lines(result, 0, cut)) + list(decision_lines(result, cut)) == whole


def test_containers_list_each_short_articles_holders_in_order_whichever_side_the_edge_has_it() -> None:
    from dataclasses import replace
    from types import SimpleNamespace

    from dedup.io.dedupe_rows import _containers
    from dedup.results import HistoryRefs
    from dedup.verify import CONTAINED, RELATIONS

    near = next(code for code, name in RELATIONS.items() if name == "near")
    pairs = np.array([[7, 2], [2, 5], [2, 9], [3, 4], [1, 6]])
    contain_ij = np.array([0.2, 0.9, 0.95, 0.5, 0.9])  # the share of the first article found in the second
    contain_ji = np.array([0.9, 0.3, 0.2, 0.5, 0.1])
    result = SimpleNamespace(pairs=pairs, pair_relation=np.array([CONTAINED, CONTAINED, CONTAINED, CONTAINED, near]),
                             pair_scores=SimpleNamespace(contain_ij=contain_ij, contain_ji=contain_ji), history=None)
    assert _containers(result) == {2: [5, 7, 9], 3: [4]}  # a tie goes to the first; a near copy holds nothing
    # with a history index, positions from n (here 6) are stored articles, read before the feed's: listed first
    refs = HistoryRefs(rows=np.arange(4), ids=list("abcd"), dates=[None] * 4, sources=[""] * 4, lengths=np.ones(4, int),
                       groups=list("abcd"))
    with_history = SimpleNamespace(**{**vars(result), "history": refs}, table=[None] * 6)
    assert _containers(with_history) == {2: [7, 9, 5], 3: [4]}
    # read off the edges alone: a stored container's stored exact copies are named through the edges the run lists
    # for them (dedup.cluster.graph.with_stored_copies), never added here without one (pairs.jsonl would lack it)
    with_history.history = replace(refs, copies={1: [0, 3]})
    assert _containers(with_history) == {2: [7, 9, 5], 3: [4]}
    result.pair_relation = np.full(5, near)
    assert _containers(result) == {}
