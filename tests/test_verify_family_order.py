"""dedup.verify.family_order: components of the candidate graph, and the family order's places mapped back."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from dedup.verify.family_order import FamilyOrder, component_roots


def _pairs(seed: int, n: int = 300, m: int = 600) -> np.ndarray:
    rng = np.random.default_rng(seed)
    fam = rng.integers(0, 40, n)  # rows in families; most pairs within one, a few across
    a = rng.integers(0, n, m)
    b = np.array([rng.choice(np.flatnonzero(fam == fam[x])) if rng.random() < 0.95 else rng.integers(0, n) for x in a])
    p = np.unique(np.sort(np.stack([a, b], axis=1), axis=1), axis=0)  # sorted by first row, as candidates come
    return p[p[:, 0] != p[:, 1]]


@pytest.mark.parametrize("seed", range(5))
def test_roots_are_the_smallest_row_of_each_component(seed: int) -> None:
    p = _pairs(seed)
    n = 320  # rows past the pairs' are alone
    _, label = connected_components(coo_matrix((np.ones(len(p)), (p[:, 0], p[:, 1])), shape=(n, n)), directed=False)
    smallest = {lab: int(np.flatnonzero(label == lab).min()) for lab in set(label.tolist())}
    assert component_roots(p, n).tolist() == [smallest[lab] for lab in label.tolist()]


@pytest.mark.parametrize("seed", range(5))
def test_the_order_is_a_permutation_component_by_component_with_runs_whole(seed: int) -> None:
    p = _pairs(seed)
    order = FamilyOrder(p)
    pos = order.positions(0, len(p))
    assert len(order) == len(p) and sorted(pos.tolist()) == list(range(len(p)))
    roots = component_roots(p, int(p.max()) + 1)[p[pos, 0]]
    assert (np.diff(roots) >= 0).all()  # each component's pairs together, components by smallest row
    assert not (np.diff(pos) == 1).all()  # the order is not the pairs' own (else this test proves nothing)
    first = p[pos, 0]
    for root in np.unique(roots):  # inside a component the pairs keep their own order
        assert (np.diff(pos[roots == root]) > 0).all()
    assert len(np.unique(first[np.r_[True, first[1:] != first[:-1]]])) == len(np.unique(p[:, 0]))  # runs whole
    rng = np.random.default_rng(seed)
    cuts = np.unique(np.r_[0, rng.integers(0, len(p), 7), len(p)])
    parts = [order.positions(int(lo), int(hi)) for lo, hi in zip(cuts[:-1], cuts[1:])]
    assert np.concatenate(parts).tolist() == pos.tolist()
    assert order.positions(len(p), len(p) + 5).tolist() == [] and order.positions(3, 3).tolist() == []


def test_no_pairs() -> None:
    order = FamilyOrder(np.zeros((0, 2), dtype=np.int64))
    assert len(order) == 0 and order.positions(0, 10).tolist() == []
