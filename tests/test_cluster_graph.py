"""dedup.cluster.graph: an edge between two texts reaches their exact copies when a group does not say it."""

from __future__ import annotations

import numpy as np
import pytest

from dedup.cluster import graph
from dedup.cluster.graph import copy_edges
from dedup.verify import CONTAINED, NEAR


def _rep_pos(rep_of: np.ndarray, n_reps: int) -> np.ndarray:
    return np.array([int(np.flatnonzero(rep_of == r)[0]) for r in range(n_reps)], dtype=np.int64)


def _run(rep_of: list, group: list, rep_pairs: list, relation: list) -> tuple[list, list]:
    rep_of_a = np.array(rep_of)
    n_reps = int(rep_of_a.max()) + 1
    edge, pairs = copy_edges(np.array(rep_pairs, dtype=np.int64).reshape(-1, 2), np.array(relation, dtype=np.int8),
                             rep_of_a, _rep_pos(rep_of_a, n_reps), np.array(group))
    assert pairs.shape == (len(edge), 2)
    return edge.tolist(), pairs.tolist()


@pytest.mark.parametrize(
    "rep_of, group, rep_pairs, relation, want_edges, want_pairs",
    [
        ([0, 1], [-1, -1], [], [], [], []),
        # one copy of each text: the named pair is all there is
        ([0, 1], [-1, -1], [[0, 1]], [NEAR], [], []),
        # a near edge inside one group: the group says it
        ([0, 1, 0, 1], [0, 0, 0, 0], [[0, 1]], [NEAR], [], []),
        # a contained edge inside one group still names the container of every copy
        ([0, 1, 0, 1], [0, 0, 0, 0], [[0, 1]], [CONTAINED], [0, 0, 0], [[0, 3], [2, 1], [2, 3]]),
        # apart, copies on both sides: every pair but the first copies'
        ([0, 1, 0, 1], [0, 1, 0, 1], [[0, 1]], [NEAR], [0, 0, 0], [[0, 3], [2, 1], [2, 3]]),
        # a skipped article (-1) is no copy; three copies of the item, one roundup
        ([0, -1, 1, 1, 1], [-1, -1, 2, 2, 2], [[0, 1]], [CONTAINED], [0, 0], [[0, 3], [0, 4]]),
        # two near edges, only the one across groups (texts 1 and 2 share group 1) adds pairs, in edge order
        ([0, 1, 2, 0, 1], [0, 1, 1, 0, 1], [[1, 2], [0, 1]], [NEAR, NEAR], [1, 1, 1], [[0, 4], [3, 1], [3, 4]]),
    ],
    ids=["empty", "single-copies", "near-one-group", "contained-one-group", "apart", "skipped-copy", "only-across"],
)
def test_copy_edges(rep_of: list, group: list, rep_pairs: list, relation: list, want_edges: list, want_pairs: list) -> None:
    assert _run(rep_of, group, rep_pairs, relation) == (want_edges, want_pairs)


def test_past_the_cap_each_copy_meets_the_other_texts_first_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    # texts 0 (articles 0, 2, 4) and 1 (articles 1, 3, 5): nine pairs, four of them new, past a cap of 8
    monkeypatch.setattr(graph, "COPY_PAIRS_PER_EDGE", 8)
    edges, pairs = _run([0, 1, 0, 1, 0, 1], [0, 1, 0, 1, 0, 1], [[0, 1]], [NEAR])
    assert edges == [0] * 4 and pairs == [[0, 3], [0, 5], [2, 1], [4, 1]]
    monkeypatch.setattr(graph, "COPY_PAIRS_PER_EDGE", 9)
    assert len(_run([0, 1, 0, 1, 0, 1], [0, 1, 0, 1, 0, 1], [[0, 1]], [NEAR])[1]) == 8


@pytest.mark.parametrize("seed", range(30))
def test_random_feeds_match_the_rule_written_out(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    rng = np.random.default_rng(seed)
    cap = int(rng.choice([1, 3, 4096]))
    monkeypatch.setattr(graph, "COPY_PAIRS_PER_EDGE", cap)
    n_reps = int(rng.integers(1, 7))
    rep_of = np.concatenate([np.arange(n_reps), rng.integers(-1, n_reps, size=int(rng.integers(0, 12)))])
    rng.shuffle(rep_of)
    firsts = sorted(range(n_reps), key=lambda r: int(np.flatnonzero(rep_of == r)[0]))  # number texts by first copy
    rep_of = np.array([firsts.index(r) if r >= 0 else -1 for r in rep_of])
    group_of_text = rng.integers(-1, 3, size=n_reps)
    group = [int(group_of_text[r]) if r >= 0 else -1 for r in rep_of]
    every = [(a, b) for a in range(n_reps) for b in range(a + 1, n_reps)]
    rep_pairs = [every[k] for k in sorted(rng.choice(len(every), size=int(rng.integers(0, len(every) + 1)), replace=False))] if every else []
    relation = rng.choice([NEAR, CONTAINED], size=len(rep_pairs)).tolist()
    want: list = []
    for e, (ra, rb) in enumerate(rep_pairs):
        a = np.flatnonzero(rep_of == ra).tolist()
        b = np.flatnonzero(rep_of == rb).tolist()
        if relation[e] != CONTAINED and group_of_text[ra] >= 0 and group_of_text[ra] == group_of_text[rb]:
            continue
        both = [(x, y) for x in a for y in b] if len(a) * len(b) <= cap else [(x, b[0]) for x in a] + [(a[0], y) for y in b]
        want += [(e, x, y) for x, y in sorted(set(both) - {(a[0], b[0])})]
    edges, pairs = _run(rep_of.tolist(), group, rep_pairs, relation)
    assert [(e, x, y) for e, (x, y) in zip(edges, pairs)] == want


def test_stored_copies_of_an_edge_past_the_cap_meet_only_the_feed_texts_first_copy() -> None:
    """A stored text with 2 stored copies against a feed text of 2,000 copies: (1 + 2) x 2,000 pairs pass the cap,
    so each stored copy is listed once, against the feed text's first copy, in the edge's orientation."""
    from dedup.cluster.graph import COPY_PAIRS_PER_EDGE, with_stored_copies

    n = 2000
    assert 3 * n > COPY_PAIRS_PER_EDGE >= 2 * 2
    none = (np.zeros(0, np.int64), np.zeros((0, 2), np.int64))
    edge, pairs = with_stored_copies(*none, np.array([[5, n]]), np.array([True]), {0: [1, 2]}, np.full(n, 0), n)
    assert edge.tolist() == [0, 0] and pairs.tolist() == [[5, n + 1], [5, n + 2]]
    edge, pairs = with_stored_copies(*none, np.array([[5, n]]), np.array([False]), {0: [1, 2]}, np.full(n, 0), n)
    assert len(edge) == len(pairs) == 0  # an edge not carried (a near copy in one group) adds nothing
