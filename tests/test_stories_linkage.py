"""dedup.stories.linkage: average linkage by hand and against a dense reference (time window, initial groups), representatives."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
import scipy.sparse as sp

from dedup.stories import linkage as linkage_module
from dedup.stories.linkage import average_linkage, representatives

DAY = 86_400.0

# a·b = 0.6, b·c = 0.8, a·c = 0: b is the link of a chain from a to c
CHAIN = sp.csr_matrix(np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]]))
# a·b = b·c = 0.8, a·c = 0.28: b is equally close to a and to c
TIE = sp.csr_matrix(np.array([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.28, 0.96, 0.0]]))
TWINS = sp.csr_matrix(np.array([[0.0, 1.0], [0.0, 1.0]]))


def _link(x, pairs, scores, threshold=0.0, linkage=0.0, **kw) -> list[int]:
    pairs = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return average_linkage(x, pairs, np.array(scores, dtype=np.float64), threshold, linkage, **kw).tolist()


LINKAGE_TABLE = [
    # rows, pairs, scores, threshold, linkage, keyword arguments, expected labels
    pytest.param(sp.csr_matrix((0, 3)), [], [], 0.5, 0.5, {}, [], id="empty"),
    pytest.param(sp.csr_matrix(np.array([[1.0, 0.0]])), [], [], 0.5, 0.5, {}, [0], id="one-row"),
    pytest.param(CHAIN, [], [], 0.5, 0.5, {}, [0, 1, 2], id="no-edges"),
    pytest.param(CHAIN, [(0, 1), (1, 2)], [0.6, 0.8], 0.9, 0.0, {}, [0, 1, 2], id="edges-under-threshold"),
    pytest.param(CHAIN, [(0, 1), (1, 2)], [0.6, 0.8], 0.6, 0.0, {}, [0, 0, 0], id="threshold-is-inclusive"),
    # (1, 2) first (higher score); then {0} against {1, 2}: (0.6 + 0) / 2 = 0.3
    pytest.param(CHAIN, [(0, 1), (1, 2)], [0.6, 0.8], 0.5, 0.31, {}, [0, 1, 1], id="guard-keeps-the-chain-end-apart"),
    pytest.param(CHAIN, [(0, 1), (1, 2)], [0.6, 0.8], 0.5, 0.3, {}, [0, 0, 0], id="guard-at-the-average-merges"),
    # equal scores: the pair (0, 1) comes first; then {0, 1} against {2}: (0.28 + 0.8) / 2 = 0.54
    pytest.param(TIE, [(0, 1), (1, 2)], [0.9, 0.9], 0.5, 0.6, {}, [0, 0, 2], id="tie-taken-by-pair-order"),
    pytest.param(TIE, [(1, 2), (0, 1)], [0.9, 0.9], 0.5, 0.6, {}, [0, 0, 2], id="tie-whatever-the-input-order"),
    pytest.param(TIE, [(1, 2), (0, 1)], [0.91, 0.9], 0.5, 0.6, {}, [0, 1, 1], id="higher-score-first"),
    pytest.param(TWINS, [(0, 1)], [1.0], 0.5, 0.5, {"times": np.array([0.0, 2 * DAY]), "max_span_seconds": DAY},
                 [0, 1], id="span-too-long"),
    pytest.param(TWINS, [(0, 1)], [1.0], 0.5, 0.5, {"times": np.array([0.0, 2 * DAY]), "max_span_seconds": 2 * DAY},
                 [0, 0], id="span-at-the-limit"),
    pytest.param(TWINS, [(0, 1)], [1.0], 0.5, 0.5, {"times": np.array([0.0, 2 * DAY])}, [0, 0], id="times-without-a-limit"),
    pytest.param(TWINS, [(0, 1)], [1.0], 0.5, 0.5, {"times": np.array([0.0, np.nan]), "max_span_seconds": DAY},
                 [0, 0], id="unknown-date-is-no-objection"),
]


@pytest.mark.parametrize(("x", "pairs", "scores", "threshold", "linkage", "kw", "expected"), LINKAGE_TABLE)
def test_average_linkage_table(x, pairs, scores, threshold, linkage, kw, expected) -> None:
    assert _link(x, pairs, scores, threshold, linkage, **kw) == expected


ORTHOGONAL = sp.csr_matrix(np.eye(4))

INITIAL_TABLE = [
    # initial labels, times (days, None = unknown), max span (days), expected
    pytest.param([5, 5, 7, 7], None, None, [0, 0, 2, 2], id="groups-merge-without-score-or-linkage"),
    pytest.param([3, 1, 3, 2], None, None, [0, 1, 0, 3], id="labels-are-smallest-positions"),
    pytest.param([0, 0, 0, 0], [0, 1, 5, 6], 2, [0, 0, 2, 2], id="too-long-a-group-is-cut-into-runs"),
    pytest.param([0, 0, 0, 0], [5, 0, 6, 1], 2, [0, 1, 0, 1], id="runs-follow-time-not-position"),
    pytest.param([0, 0, 0, 0], [0, 1, 5, None], 2, [0, 0, 2, 2], id="undated-member-joins-the-last-run"),
    pytest.param([0, 0, 1, 1], [0, 9, 0, 9], None, [0, 0, 2, 2], id="no-limit-no-cut"),
    pytest.param([0, 0, 0, 0], [0, 2, 2.5, 4], 2, [0, 0, 2, 2], id="a-run-may-span-the-limit-exactly"),
]


@pytest.mark.parametrize(("initial", "days", "span", "expected"), INITIAL_TABLE)
def test_initial_groups_table(initial, days, span, expected) -> None:
    times = None if days is None else np.array([np.nan if d is None else d * DAY for d in days])
    got = _link(ORTHOGONAL, [], [], 0.5, 0.5, initial=np.array(initial), times=times,
                max_span_seconds=None if span is None else span * DAY)
    assert got == expected


def test_initial_groups_are_then_tested_as_one_cluster() -> None:
    # rows 0 and 1 are merged by the initial labels (orthogonal); row 2 equals row 1:
    # against {0, 1} the average is (0 + 1) / 2 = 0.5
    x = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]))
    initial = np.array([0, 0, 2])
    assert _link(x, [(1, 2)], [1.0], 0.5, 0.5, initial=initial) == [0, 0, 0]
    assert _link(x, [(1, 2)], [1.0], 0.5, 0.51, initial=initial) == [0, 0, 2]


def test_non_canonical_rows_are_summed_first() -> None:
    # the same rows with a column entry split in two: summed to the same vectors
    data, indices, indptr = [0.3, 0.3, 0.8, 1.0], [0, 0, 1, 0], [0, 3, 4]
    split = sp.csr_matrix((data, indices, indptr), shape=(2, 2))
    assert not split.has_canonical_format
    whole = sp.csr_matrix(np.array([[0.6, 0.8], [1.0, 0.0]]))
    for linkage in (0.59, 0.61):
        assert _link(split, [(0, 1)], [1.0], 0.5, linkage) == _link(whole, [(0, 1)], [1.0], 0.5, linkage)
    assert _link(whole, [(0, 1)], [1.0], 0.5, 0.61) == [0, 1]


@pytest.mark.parametrize(("strong", "weak", "ticks"), [(5, 2, [2, 2, 1]), (4, 0, [2, 2]), (0, 3, []), (1, 0, [1])])
def test_tick_counts_every_strong_edge_once(monkeypatch, strong, weak, ticks) -> None:
    monkeypatch.setattr(linkage_module, "_TICK_EDGES", 2)
    n = strong + weak + 1
    x = sp.csr_matrix(np.ones((n, 1)))
    pairs = np.array([(0, k) for k in range(1, n)], dtype=np.int64).reshape(-1, 2)
    scores = np.array([0.9] * strong + [0.1] * weak)
    got: list[int] = []
    average_linkage(x, pairs, scores, 0.5, 0.5, tick=got.append)
    assert got == ticks


def _reference(rows, pairs, scores, threshold, linkage, initial=None, times=None, max_span=None) -> list[int]:
    """Average linkage with dense sums and a plain label array: slow and obviously right."""
    n = len(rows)
    label = np.arange(n)
    t = np.full(n, np.nan) if times is None else times

    def too_long(a: int, b: int) -> bool:
        if max_span is None:
            return False
        tt = t[(label == a) | (label == b)]
        tt = tt[~np.isnan(tt)]
        return len(tt) > 0 and tt.max() - tt.min() > max_span

    def merge(a: int, b: int) -> None:
        label[(label == a) | (label == b)] = min(a, b)

    if initial is not None:
        order = sorted(range(n), key=lambda p: (initial[p], np.inf if np.isnan(t[p]) else t[p], p))
        for prev, cur in pairwise(order):
            if initial[prev] != initial[cur]:
                continue
            a, b = label[prev], label[cur]
            if a != b and not too_long(a, b):
                merge(a, b)
    for e in sorted(range(len(pairs)), key=lambda e: (-scores[e], pairs[e][0], pairs[e][1])):
        if scores[e] < threshold:
            continue
        a, b = label[pairs[e][0]], label[pairs[e][1]]
        if a == b or too_long(a, b):
            continue
        sa, sb = rows[label == a].sum(axis=0), rows[label == b].sum(axis=0)
        if sa @ sb / ((label == a).sum() * (label == b).sum()) >= linkage:
            merge(a, b)
    return label.tolist()


@pytest.mark.parametrize("kernel_rows", [0, 10**9])  # the sums merged by the compiled kernel, or by NumPy
@pytest.mark.parametrize("seed", range(4))
def test_matches_the_reference_with_windows_and_initial_groups(monkeypatch, seed, kernel_rows) -> None:
    monkeypatch.setattr(linkage_module, "KERNEL_ROWS", kernel_rows)
    rng = np.random.default_rng(seed)
    n = 36
    topics = rng.random((4, 40)) * (rng.random((4, 40)) < 0.3)
    rows = topics[rng.integers(0, 4, n)] + 0.5 * rng.random((n, 40)) * (rng.random((n, 40)) < 0.15)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)])
    scores = np.round((rows[pairs[:, 0]] * rows[pairs[:, 1]]).sum(axis=1), 2)  # rounded: many ties
    times = rng.uniform(0, 8, n) * DAY
    times[rng.random(n) < 0.2] = np.nan
    initial = np.where(rng.random(n) < 0.3, rng.integers(0, 3, n), np.arange(n) + 10)
    for kw in ({}, {"times": times, "max_span_seconds": 3 * DAY}, {"initial": initial, "times": times, "max_span_seconds": 3 * DAY}):
        got = average_linkage(sp.csr_matrix(rows), pairs, scores, 0.3, 0.35, **kw).tolist()
        ref = _reference(rows, pairs.tolist(), scores, 0.3, 0.35, kw.get("initial"), kw.get("times"), kw.get("max_span_seconds"))
        assert got == ref, kw
        assert all(got[p] <= p for p in range(n))  # a label is its cluster's smallest position


def _sums(x: sp.csr_matrix, labels: np.ndarray):
    _, inverse = np.unique(labels, return_inverse=True)
    member = sp.csr_matrix((np.ones(len(labels)), (inverse, np.arange(len(labels)))))
    return inverse, sp.csr_matrix(member @ x)


REP_TABLE = [
    # rows, labels, expected representative at each label (-1 elsewhere)
    pytest.param(np.zeros((0, 2)), [], [], id="empty"),
    pytest.param(np.array([[1.0, 0.0], [0.0, 1.0]]), [0, 1], [0, 1], id="lone-members"),
    pytest.param(np.array([[1.0, 0.0], [0.6, 0.8]]), [0, 0], [0, -1], id="a-pair-is-a-tie-first-wins"),
    pytest.param(np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]]), [0, 0, 0], [1, -1, -1], id="the-middle-one"),
    pytest.param(np.array([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]]), [0, 1, 0, 1, 0], [2, 1, -1, -1, -1],
                 id="two-clusters-interleaved"),
]


@pytest.mark.parametrize(("rows", "labels", "expected"), REP_TABLE)
def test_representatives_table(rows, labels, expected) -> None:
    x = sp.csr_matrix(rows)
    labels = np.array(labels, dtype=np.int64)
    inverse, sums = _sums(x, labels) if len(labels) else (np.zeros(0, np.int64), sp.csr_matrix((0, 2)))
    assert representatives(x, labels, inverse, sums).tolist() == expected


@pytest.mark.parametrize("seed", range(3))
def test_representatives_match_a_reference(seed) -> None:
    rng = np.random.default_rng(seed)
    n = 30
    rows = rng.random((n, 6)) * (rng.random((n, 6)) < 0.6)
    rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    groups = rng.integers(0, 8, n)
    labels = np.array([np.flatnonzero(groups == groups[p])[0] for p in range(n)])  # a label = its smallest member
    x = sp.csr_matrix(rows)
    inverse, sums = _sums(x, labels)
    got = representatives(x, labels, inverse, sums)
    expected = np.full(n, -1)
    for lab in np.unique(labels):
        members = np.flatnonzero(labels == lab)
        total = rows[members].sum(axis=0)
        close = [round(float(rows[m] @ total), 9) for m in members]
        expected[lab] = members[int(np.argmax(close))]  # argmax: the first of equal values
    assert got.tolist() == expected.tolist()
