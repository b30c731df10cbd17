"""dedup.cluster.graph: an edge between two texts reaches their exact copies when no group links them."""

from __future__ import annotations

import numpy as np
import pytest

from dedup.cluster.graph import copy_edges


def _rep_pos(rep_of: np.ndarray, n_reps: int) -> np.ndarray:
    return np.array([int(np.flatnonzero(rep_of == r)[0]) for r in range(n_reps)])


@pytest.mark.parametrize(
    "rep_of, group, rep_pairs, want_edges, want_pairs",
    [
        # no edges at all
        ([0, 1], [-1, -1], [], [], []),
        # one copy of each text: the named pair is all there is
        ([0, 1], [-1, -1], [[0, 1]], [], []),
        # the texts share a group: the group says it
        ([0, 1, 0, 1], [0, 0, 0, 0], [[0, 1]], [], []),
        # apart, copies on both sides: every pair but the first copies'
        ([0, 1, 0, 1], [0, 1, 0, 1], [[0, 1]], [0, 0, 0], [[0, 3], [2, 1], [2, 3]]),
        # a skipped article (-1) is no copy; three copies of the item, one roundup
        ([0, -1, 1, 1, 1], [-1, -1, 2, 2, 2], [[0, 1]], [0, 0], [[0, 3], [0, 4]]),
        # two edges, only the one across groups (text 1 and 2 share group 1) adds pairs, in edge order
        ([0, 1, 2, 0, 1], [0, 1, 1, 0, 1], [[1, 2], [0, 1]], [1, 1, 1], [[0, 4], [3, 1], [3, 4]]),
    ],
    ids=["empty", "single-copies", "one-group", "apart", "skipped-copy", "only-across"],
)
def test_copy_edges(rep_of: list, group: list, rep_pairs: list, want_edges: list, want_pairs: list) -> None:
    rep_of_a = np.array(rep_of)
    n_reps = int(rep_of_a.max()) + 1
    edge, pairs = copy_edges(np.array(rep_pairs, dtype=np.int64).reshape(-1, 2), rep_of_a, _rep_pos(rep_of_a, n_reps),
                             np.array(group))
    assert edge.tolist() == want_edges
    assert pairs.tolist() == want_pairs
    assert pairs.shape == (len(want_edges), 2)
