"""The rows of ``decisions.jsonl`` and ``pairs.jsonl``: each article's decision and each verified edge, in words.

Positions become ids here (:meth:`~dedup.results.DedupResult.name`, which
also names the articles of the history index); every decision was made by
the flow, and a row only says it: status, group, keeper, relation, scores
(rounded to 4 places, NaN as null) and the reason, a sentence. The same rows
feed the JSONL and Parquet writers (:mod:`dedup.io.dedupe_out`), the page
(:mod:`dedup.io.dedupe_report`) and the service (:mod:`dedup.serve.engine`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from json.encoder import encode_basestring  # how json writes a str with ensure_ascii=False (its C speedup)
from typing import Any

import numpy as np

from ..results import DUPLICATE, KEEP_FIRST_UNDATED, KEEP_NOT_CONTAINED, KEPT, SKIPPED, STATUS, DedupResult
from ..verify import CONTAINED, RELATIONS

__all__ = ["KEEP_WORDS", "decision_keys", "decision_lines", "decision_rows", "pair_lines", "pair_rows"]


_SURROGATE = re.compile("[\ud800-\udfff]")
KEEP_WORDS = {  #: each --keep policy, as the reasons say it
    "earliest": "the earliest date",
    "longest": "the longest text",
    "first": "the first in input order",
    "source-priority": "the highest source priority",
}


def decision_keys(history: bool = False, repeats: bool = False) -> tuple[str, ...]:
    """The keys of every line of ``decisions.jsonl`` in a run with a history index or not (``seen_before``), counting
    repeats or not (``repeats``), in order; the columns of ``decisions.parquet``.

    Every line has them all, null where one does not apply (``duplicate_of``, ``relation``, ``scores`` but for a
    duplicate, ``seen_before`` but for a copy of a stored article, ``file`` and ``line`` but for a bad record, the
    decision's own fields for a bad record): the run's options fix a file's keys, not the day's data.

    >>> decision_keys(history=True)[-4:]
    ('contained_in', 'seen_before', 'file', 'line')
    """
    return ("id", "status", "group", "duplicate_of", "relation", "scores", "reason", "contained_in",
            *(("seen_before",) if history else ()), *(("repeats",) if repeats else ()), "file", "line")


def _r(x: float) -> float | None:
    return None if math.isnan(x) else round(float(x), 4)


def decision_rows(result: DedupResult, positions: Iterable[int] | None = None) -> Iterator[dict[str, Any]]:
    """One decision per article, in input order, with the keys of :func:`decision_keys` (``seen_before`` with a
    history index, ``repeats`` when they were counted); or those of ``positions`` only, in their order."""
    made = _Decisions(result)
    for pos in range(made.n) if positions is None else positions:
        yield made.row(pos)


def decision_lines(result: DedupResult, start: int = 0, stop: int | None = None) -> Iterator[str]:
    """:func:`decision_rows` of the articles ``start..stop-1`` (all by default) as the lines ``write_jsonl`` would write, byte for byte.

    The same row, without a dict and an encoder call per article (a million
    articles: seconds of a run's serial tail): the scores are formatted a
    column at a time, a block of rows at a time. The rows of a run with a history
    index (which name stored articles), and a row that holds a lone
    surrogate, are made as dicts and encoded by :func:`~dedup.io.writers.json_line`.
    Ranges that follow one another give the lines of the whole run in order,
    so that parts of the file can be made by different processes.
    """
    from .writers import json_line

    made = _Decisions(result)
    stop = made.n if stop is None else min(stop, made.n)
    if result.history is not None:  # rows that name stored articles (ids, groups, dates of the index): made as dicts
        for pos in range(start, stop):
            yield json_line(made.row(pos))
        return
    ids = made.ids
    status_words = {code: encode_basestring(w) for code, w in STATUS.items()}
    relation_words = {code: encode_basestring(w) for code, w in RELATIONS.items() if w is not None}
    # a line holds text of the feed only in its ids and skip reasons: without a lone surrogate there, none is checked
    unsafe = _SURROGATE.search("".join(ids)) or any(_SURROGATE.search(r) for r in result.reason_skipped.values())
    alone = '"duplicate_of":null,"relation":null,"scores":null'
    lone = encode_basestring(made.reason(-1, KEPT, -1, 0, 0))  # "no duplicate found" (no group, held by none): most rows
    containers = made.containers
    for lo in range(start, stop, _DECISION_BLOCK):  # a block of rows at a time: a million rows' strings are never held at once
        hi = min(lo + _DECISION_BLOCK, stop)
        status, group = result.status[lo:hi].tolist(), result.group[lo:hi].tolist()
        keeper, relation = result.keeper[lo:hi].tolist(), result.relation[lo:hi].tolist()
        dup = np.flatnonzero(result.status[lo:hi] == DUPLICATE)
        nums = [_nums(result.scores[lo + dup, c]) if len(dup) else [] for c in range(4)]
        scores = {int(p): f'{{"jaccard":{a},"containment":{b},"cosine":{c},"probability":{d}}}'
                  for p, a, b, c, d in zip(dup.tolist(), *nums)}
        named = list(map(encode_basestring, ids[lo:hi]))
        for m, (st, g, k, rel, me) in enumerate(zip(status, group, keeper, relation, named)):
            pos = lo + m
            held = containers.get(pos)
            if st == DUPLICATE:
                copy_of = f'"duplicate_of":{encode_basestring(ids[k])},"relation":{relation_words[rel]},"scores":{scores[m]}'
            else:
                copy_of = alone
            if st == KEPT and g < 0 and held is None:
                why = lone
            else:
                why = encode_basestring(made.reason(pos, st, g, k, rel))
            contained = "" if held is None else ",".join(encode_basestring(ids[c]) for c in held)
            repeats = "" if made.repeats is None else f',"repeats":{made.repeats[pos]}'
            line = (f'{{"id":{me},"status":{status_words[st]},'
                    f'"group":{"null" if g < 0 else (me if g == pos else encode_basestring(ids[g]))},{copy_of},'
                    f'"reason":{why},"contained_in":[{contained}]{repeats},"file":null,"line":null}}\n')
            yield json_line(made.row(pos)) if unsafe and _SURROGATE.search(line) else line


_DECISION_BLOCK = 100_000


class _Decisions:
    """What the decision rows of one result are made of, worked out once: group sizes, containers, the keep policy."""

    def __init__(self, result: DedupResult) -> None:
        self.result = result
        self.repeats = result.repeat_counts.tolist() if result.repeat_counts is not None else None
        table = result.table
        self.ids, self.lengths, self.n = table.ids, table.lengths, len(table)
        n = self.n
        in_group = result.group[result.group >= 0]
        self.sizes = np.bincount(in_group, minlength=max(n, int(in_group.max()) + 1 if len(in_group) else 0)) if n else np.zeros(0, int)
        self.policy = result.config.cluster.keep
        self.containers = _containers(result)

    def why_kept(self, k: int) -> str:
        """What made ``k`` the keeper, in words (decided by the flow: ``keep_reason``)."""
        flags = int(self.result.keep_reason[k])
        why = "the first in input order (no date to compare)" if flags & KEEP_FIRST_UNDATED else KEEP_WORDS[self.policy]
        if flags & KEEP_NOT_CONTAINED:  # star grouping never keeps a text contained in a longer one
            why += " among the copies not contained in a longer article"
        return why

    def length(self, k: int) -> int:
        return int(self.lengths[k]) if k < self.n else int(self.result.history.lengths[k - self.n])  # type: ignore[union-attr]

    def reason(self, pos: int, status: int, g: int, k: int, rel: int) -> str:
        """The row's reason, a sentence (the keeper ``k`` and the relation ``rel`` are read only for a duplicate)."""
        name, policy = self.result.name, self.policy
        if status == SKIPPED:
            return "skipped: " + self.result.reason_skipped[pos]
        if status == DUPLICATE:
            if rel == CONTAINED:
                what = f"contained in {name(k)}" if self.lengths[pos] <= self.length(k) else f"contains {name(k)}"
            else:
                what = f"{RELATIONS[rel]} copy of {name(k)}"
            if k >= self.n:  # an article of an earlier feed, from the history index
                date = self.result.history.dates[k - self.n]  # type: ignore[union-attr]
                when = f" ({date})" if date else ""
                kept = self.result.history.kept  # type: ignore[union-attr]
                if kept is not None and not kept[k - self.n]:  # its own keeper was pruned (dedup index prune)
                    return (f"{what}; seen before{when}: in an earlier feed, stored as a copy of an article since "
                            "pruned from the index")
                return f"{what}; seen before{when}: kept in an earlier feed, already in the index"
            return f"{what}; of {self.sizes[g]} copies {name(k)} is kept as {self.why_kept(k)} (--keep {policy})"
        group = self.result.group
        apart = [c for c in self.containers.get(pos, ()) if c >= self.n or g < 0 or group[c] != g]
        held = ""
        if apart:  # longer articles that hold this one, in other groups (a star group holds the copies of one text)
            longer = "a longer article" if len(apart) == 1 else f"{len(apart)} longer articles"
            held = f"; it also appears inside {longer} of another group (contained_in)"
        if g >= 0:
            return f"kept: of {self.sizes[g]} copies this is {self.why_kept(pos)} (--keep {policy}){held}"
        return f"kept: no other copy of this text{held}" if apart else "no duplicate found"

    def row(self, pos: int) -> dict[str, Any]:
        result = self.result
        status = int(result.status[pos])
        g, k, rel = int(result.group[pos]), int(result.keeper[pos]), int(result.relation[pos])
        row: dict[str, Any] = {
            "id": self.ids[pos],
            "status": STATUS[status],
            "group": result.group_name(g),
            "duplicate_of": None,
            "relation": None,
            "scores": None,
            "reason": self.reason(pos, status, g, k, rel),
        }
        if status == DUPLICATE:
            jac, cont, cos, prob = (_r(x) for x in result.scores[pos])
            row["duplicate_of"] = result.name(k)
            row["relation"] = RELATIONS[rel]
            row["scores"] = {"jaccard": jac, "containment": cont, "cosine": cos, "probability": prob}
        row["contained_in"] = [result.name(c) for c in self.containers.get(pos, ())]
        if result.history is not None:
            row["seen_before"] = None
            if status == DUPLICATE and k >= self.n:
                ref = k - self.n
                # null for an unknown date or source alike (the source was "", which read as a source named "")
                row["seen_before"] = {"date": result.history.dates[ref], "source": result.history.sources[ref] or None}
        if self.repeats is not None:
            row["repeats"] = self.repeats[pos]
        row["file"] = row["line"] = None  # a bad record's (dedup.io.skipped): every line has the keys of decision_keys
        return row


def _containers(result: DedupResult) -> dict[int, list[int]]:
    """For each article, the articles a verified ``contained`` edge says hold it (a short item inside roundups), in the
    order they were read: a stored article (a position ``n + k``) before the feed's, as ``dedup index export`` lists
    them by row (the feed's came first). Read off the result's edges alone, so ``pairs.jsonl`` has a line for every
    container named: a stored container's stored exact copies have theirs
    (:func:`dedup.cluster.graph.with_stored_copies`), and are named as the export names them.

    Made with NumPy (100k synthetic articles, 24k contained edges: 0.38 -> 0.03 s).
    """
    rel, s = result.pair_relation, result.pair_scores
    m = np.flatnonzero(rel == CONTAINED)
    if not len(m):
        return {}
    i, j = result.pairs[m, 0], result.pairs[m, 1]
    first_small = s.contain_ij[m] >= s.contain_ji[m]
    small, big = np.where(first_small, i, j), np.where(first_small, j, i)
    read = big
    if result.history is not None:  # a stored article (n + k, in row order) was read before the feed's: first
        n = len(result.table)
        read = np.where(big >= n, big - n - len(result.history), big)
    order = np.lexsort((read, small))
    small, big = small[order], big[order]
    starts = np.flatnonzero(np.diff(small, prepend=-1)).tolist() + [len(small)]
    small, big = small.tolist(), big.tolist()
    return {small[a]: big[a:b] for a, b in zip(starts[:-1], starts[1:])}


_PAIR_BLOCK = 100_000


def pair_lines(result: DedupResult) -> Iterator[str]:
    """:func:`pair_rows` as the lines ``write_jsonl`` would write, byte for byte, without a dict and an encoder call per edge.

    A feed of large copy families has millions of edges: the scores are
    formatted a block at a time (JSON writes a float as its ``repr``) and
    each id is encoded once. An edge whose id holds a lone surrogate goes
    through :func:`~dedup.io.writers.json_line` (which escapes the whole line).
    """
    from .writers import json_line

    s = result.pair_scores
    cols = [s.jaccard, s.contain_ij, s.contain_ji, s.cosine]
    ids: dict[int, str | None] = {}

    def encoded(pos: int) -> str | None:
        if pos not in ids:
            name = result.name(pos)
            ids[pos] = None if _SURROGATE.search(name) else json_line(name)[:-1]
        return ids[pos]

    relation = {code: json_line(name)[:-1] for code, name in RELATIONS.items()}
    for lo in range(0, len(result.pairs), _PAIR_BLOCK):
        hi = lo + _PAIR_BLOCK
        block = result.pairs[lo:hi]
        at, where = np.unique(block, return_inverse=True)  # each id of the block encoded once, then looked up by column
        names = np.array([encoded(p) for p in at.tolist()] + [None], dtype=object)[:-1]
        where = where.reshape(-1, 2)
        first, second = names[where[:, 0]].tolist(), names[where[:, 1]].tolist()
        values = [_nums(c[lo:hi]) for c in cols]
        prob = ["null"] * len(block) if s.probability is None else _nums(s.probability[lo:hi])
        rels = [relation[r] for r in result.pair_relation[lo:hi].tolist()]
        for m, (a, b, rel, jac, c12, c21, cos, pr) in enumerate(zip(first, second, rels, *values, prob)):
            if a is None or b is None:
                i, j = block[m].tolist()
                yield json_line(_pair_row(result, lo + m, i, j))
                continue
            yield (f'{{"id1":{a},"id2":{b},"relation":{rel},"jaccard":{jac},"containment_1_in_2":{c12},'
                   f'"containment_2_in_1":{c21},"cosine":{cos},"probability":{pr}}}\n')


def _num(x: float) -> str:
    """A score as JSON writes :func:`_r` of it (an infinity as ``json`` writes one)."""
    if x != x:
        return "null"
    return ("Infinity" if x > 0 else "-Infinity") if math.isinf(x) else repr(round(x, 4))


_TIES = 1e-6  # |x·10^4 − (k + ½)| below this: the rounding is left to Python's round()


@lru_cache(maxsize=1)
def _four_places() -> np.ndarray:
    """``repr(k / 10^4)`` for k = 0..10^4, as an object array: the scores in [0, 1] at four places."""
    return np.array([repr(k / 10000) for k in range(10001)], dtype=object)  # k / 10^4: the float nearest it


def _nums(x: np.ndarray) -> list[str]:
    """:func:`_num` of every value, looked up instead of rounded one by one (Python's ``round(x, 4)`` costs ~1 µs).

    A value in [0, 1] rounds to k/10^4 with k = rint(x·10^4) unless x·10^4
    lies within :data:`_TIES` of a half (the product's own rounding could
    then pick the other neighbour): those, NaN, -0.0 and anything outside
    [0, 1] go through :func:`_num`. ``round(x, 4)`` is then the float
    nearest k/10^4, which is ``k / 10000``: the table's string.
    """
    x = np.asarray(x, dtype=np.float64)
    scaled = x * 10000.0
    with np.errstate(invalid="ignore"):  # inf and NaN are sent to _num below
        ok = (x >= 0.0) & (x <= 1.0) & ~np.signbit(x) & (np.abs(scaled - np.floor(scaled) - 0.5) >= _TIES)
    out = np.empty(len(x), dtype=object)
    out[ok] = _four_places()[np.rint(scaled[ok]).astype(np.int64)]
    for k in np.flatnonzero(~ok).tolist():
        out[k] = _num(float(x[k]))
    return out.tolist()


def pair_rows(result: DedupResult) -> Iterator[dict[str, Any]]:
    """Every verified duplicate edge: those between texts first (``id1`` before ``id2`` in input order, named
    between their first copies), then the same edges carried to other exact copies (``result.copied_pairs``,
    in the edge's orientation: ``containment_1_in_2`` is always ``id1``'s)."""
    for m, (i, j) in enumerate(result.pairs.tolist()):
        yield _pair_row(result, m, i, j)


def _pair_row(result: DedupResult, m: int, i: int, j: int) -> dict[str, Any]:
    s = result.pair_scores
    return {
        "id1": result.name(i),
        "id2": result.name(j),
        "relation": RELATIONS[int(result.pair_relation[m])],
        "jaccard": _r(s.jaccard[m]),
        "containment_1_in_2": _r(s.contain_ij[m]),
        "containment_2_in_1": _r(s.contain_ji[m]),
        "cosine": _r(s.cosine[m]),
        "probability": None if s.probability is None else _r(s.probability[m]),
    }
