"""dedup.cluster.star_kernel: the compiled star grouping gives the NumPy path's groups, edge for edge."""

from __future__ import annotations

import numpy as np
import pytest

from dedup.cluster import groups
from dedup.cluster.groups import star_groups
from dedup.cluster.star_kernel import star_centers
from dedup.verify import CONTAINED, EXACT, NEAR


def _both(monkeypatch: pytest.MonkeyPatch, *args, **kwargs) -> tuple[list[int], list[int]]:
    monkeypatch.setattr(groups, "KERNEL_EDGES", 10**12)
    python = star_groups(*args, **kwargs).tolist()
    monkeypatch.setattr(groups, "KERNEL_EDGES", 0)
    compiled = star_groups(*args, **kwargs).tolist()
    return python, compiled


def _random_graph(rng: np.random.Generator, n: int, with_nan: bool):
    every = np.array([(i, j) for i in range(n) for j in range(i + 1, n)], dtype=np.int64).reshape(-1, 2)
    pairs = every[np.sort(rng.choice(len(every), size=int(rng.integers(0, len(every) + 1)), replace=False))]
    m = len(pairs)
    rel = rng.choice([EXACT, NEAR, CONTAINED], size=m).astype(np.int8)
    # few distinct values: ties of strength and of containment both ways are common
    cij, cji = rng.choice([0.5, 0.7, 1.0], size=m), rng.choice([0.5, 0.7, 1.0], size=m)
    strength = rng.choice([0.5, 0.8, 1.0] + ([np.nan] if with_nan else []), size=m)
    priority = rng.choice([0.0, 1.0, 2.0, np.nan], size=n)
    return pairs, rel, cij, cji, strength, priority


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_group_alike(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 70))  # past 32 neighbours an article's edges are merge-sorted
    pairs, rel, cij, cji, strength, priority = _random_graph(rng, n, with_nan=seed % 5 == 0)
    fixed = None
    if seed % 3 == 0:  # a history index: a stored center and one of its members
        fixed = np.full(n, -1)
        c = int(rng.integers(0, n))
        fixed[c] = c
        fixed[(c + 1) % n] = c
    python, compiled = _both(monkeypatch, n, pairs, rel, cij, cji, strength, priority, fixed)
    assert compiled == python


def test_a_dense_family_has_one_center_and_keeps_the_containment_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0 is a short item inside 1 and 2 (two roundups); 3..40 are near copies of 1
    pairs = np.array([[0, 1], [0, 2]] + [[1, k] for k in range(3, 41)])
    rel = np.array([CONTAINED, CONTAINED] + [NEAR] * 38, np.int8)
    cij = np.array([0.95, 0.9] + [0.9] * 38)
    cji = np.array([0.2, 0.1] + [0.9] * 38)
    item_first = np.arange(41, dtype=np.float64)
    python, compiled = _both(monkeypatch, 41, pairs, rel, cij, cji, cij, item_first)
    assert compiled == python
    # the item takes its best container only, and no copy of that container joins through it (no chain)
    assert compiled[:3] == [0, 0, 2] and compiled[3:] == list(range(3, 41))
    roundup_first = item_first.copy()
    roundup_first[1] = -1.0
    python, compiled = _both(monkeypatch, 41, pairs, rel, cij, cji, cij, roundup_first)
    assert compiled == python
    assert compiled == [1, 1, 2] + [1] * 38


def test_the_kernel_refuses_what_its_32_bit_adjacency_cannot_hold() -> None:
    class Huge(np.ndarray):
        def __len__(self) -> int:
            return 2**31

    with pytest.raises(ValueError, match="edges"):
        star_centers(1, np.zeros((1, 2), np.int64).view(Huge), np.zeros(1, bool), np.zeros(1), np.zeros(1), np.zeros(1),
                     np.zeros(1, np.int64), None)
