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
    cover = None if seed % 2 else rng.choice([0.2, 0.4, np.nan], size=len(pairs))  # ties and NaN: edge order decides
    python, compiled = _both(monkeypatch, n, pairs, rel, cij, cji, strength, priority, fixed, cover)
    assert compiled == python
    if fixed is not None:  # the stored center holds an item family, its member here
        family = np.where(fixed >= 0, fixed, -1)
        python, compiled = _both(monkeypatch, n, pairs, rel, cij, cji, strength, priority, fixed, cover, family)
        assert compiled == python
        family[rng.choice(n, size=min(n, 3), replace=False)] = c  # new texts known to be copies of its item: free seeds
        family[c] = c
        python, compiled = _both(monkeypatch, n, pairs, rel, cij, cji, strength, priority, fixed, cover, family)
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


def _roundup() -> tuple:
    """0 is a roundup holding items of two texts: 1 and 2 (copies of one item, 2 a teaser of 1) and 3 and 4
    (copies of another); 5 is a near copy of the roundup. Edges: 0-1..0-4 contained, 1-2 contained, 3-4 near, 0-5 near."""
    pairs = np.array([[0, 1], [0, 2], [0, 3], [0, 4], [0, 5], [1, 2], [3, 4]])
    rel = np.array([CONTAINED, CONTAINED, CONTAINED, CONTAINED, NEAR, CONTAINED, NEAR], np.int8)
    cij = np.array([0.2, 0.1, 0.2, 0.2, 0.9, 0.3, 0.9])  # the roundup in the item: small
    cji = np.array([0.95, 0.97, 0.9, 0.9, 0.9, 1.0, 0.9])
    cover = np.array([0.30, 0.10, 0.20, 0.20, 0.85, 0.3, 0.8])  # item 1 covers most of the roundup
    priority = np.array([0.0, 5.0, 6.0, 3.0, 4.0, 1.0])
    return pairs, rel, cij, cji, np.maximum(cij, cji), priority, cover


def test_a_roundup_keeper_takes_in_the_copies_of_one_item_only(monkeypatch: pytest.MonkeyPatch) -> None:
    pairs, rel, cij, cji, strength, priority, cover = _roundup()
    python, compiled = _both(monkeypatch, 6, pairs, rel, cij, cji, strength, priority, None, cover)
    assert compiled == python
    # 0 keeps its near copy 5 and the item covering most of it (1, with its teaser 2); 3 and 4, copies of
    # another item, make their own group (3 ranks before 4), instead of joining 1 and 2 through the roundup
    assert compiled == [0, 0, 0, 3, 3, 0]
    # without ``cover`` the strongest edge chooses: item 2 (containment 0.97), whose family is 1 and 2 again
    python, compiled = _both(monkeypatch, 6, pairs, rel, cij, cji, strength, priority, None)
    assert compiled == python == [0, 0, 0, 3, 3, 0]
    # item 3 covering most of the roundup: its family joins, 1 and 2 go apart
    cover2 = cover.copy()
    cover2[2] = 0.5
    python, compiled = _both(monkeypatch, 6, pairs, rel, cij, cji, strength, priority, None, cover2)
    assert compiled == python == [0, 1, 1, 0, 0, 0]


def test_items_of_one_text_all_join_their_roundup(monkeypatch: pytest.MonkeyPatch) -> None:
    # with the 1-3 edge the four items are copies of one text: nothing is split (the rule as it was)
    pairs, rel, cij, cji, strength, priority, cover = _roundup()
    pairs = np.concatenate([pairs, [[1, 3]]])
    rel, cij, cji = np.append(rel, NEAR), np.append(cij, 0.8), np.append(cji, 0.8)
    strength, cover = np.append(strength, 0.8), np.append(cover, 0.7)
    python, compiled = _both(monkeypatch, 6, pairs, rel, cij, cji, strength, priority, None, cover)
    assert compiled == python == [0] * 6


def test_a_stored_item_stays_where_it_is_and_the_free_items_are_split_among_themselves(monkeypatch: pytest.MonkeyPatch) -> None:
    # item 1 is a member of an earlier feed's group (kept by 2): only 3 and 4 are free inside the roundup, one text
    pairs, rel, cij, cji, strength, priority, cover = _roundup()
    fixed = np.array([-1, 2, 2, -1, -1, -1])
    python, compiled = _both(monkeypatch, 6, pairs, rel, cij, cji, strength, priority, fixed, cover)
    assert compiled == python == [0, 2, 2, 0, 0, 0]


def test_a_stored_roundup_keeps_the_copies_of_the_item_it_holds_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0 is a stored keeper whose group holds item 1 (its family, chosen when stored); 2 (a copy of item 1: an edge
    # to it) joins; 3 and 4, copies of the other item, stay apart although they cover more of the roundup than 2
    pairs, rel, cij, cji, strength, priority, cover = _roundup()
    fixed = np.array([0, 0, -1, -1, -1, -1])
    family = np.array([0, 0, -1, -1, -1, -1])
    python, compiled = _both(monkeypatch, 6, pairs, rel, cij, cji, strength, priority, fixed, cover, family)
    assert compiled == python == [0, 0, 0, 3, 3, 0]
    # without the stored family the free items are split among themselves: 3 and 4 cover most, 2 goes apart
    python, compiled = _both(monkeypatch, 6, pairs, rel, cij, cji, strength, priority, fixed, cover)
    assert compiled == python == [0, 0, 2, 0, 0, 0]
    # the stored family's member not here: no free item inside the roundup joins it, its near copy 5 does
    family = np.array([0, -1, -1, -1, -1, -1])
    python, compiled = _both(monkeypatch, 6, pairs, rel, cij, cji, strength, priority, np.array([0, 1, -1, -1, -1, -1]),
                             cover, family)
    assert compiled == python == [0, 1, 1, 3, 3, 0]


def test_free_seeds_of_a_stored_family_join_and_never_overflow_the_kernels_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0 a stored keeper; 1, 2 and 3 new items inside it, copies of one another, each known to be a copy of its item:
    # every seed queued once (the queue has n places; a seed reached again was queued twice)
    pairs = np.array([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]])
    rel = np.array([CONTAINED] * 3 + [NEAR] * 3, np.int8)
    cij, cji = np.array([0.1, 0.1, 0.1, 1.0, 1.0, 1.0]), np.array([0.9, 0.9, 0.9, 1.0, 1.0, 1.0])
    fixed, family = np.array([0, -1, -1, -1]), np.array([0, 0, 0, 0])
    python, compiled = _both(monkeypatch, 4, pairs, rel, cij, cji, np.maximum(cij, cji), np.arange(4.0), fixed, None, family)
    assert compiled == python == [0, 0, 0, 0]


def test_a_report_of_two_happenings_keeps_one_happenings_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0 reports two meetings; 1 and 2 are reworded copies of its first part (near, half its size), copies of each
    # other; 3 is the second meeting's item, contained in 0, and 4 a copy of 3. The keeper 0 keeps the first
    # meeting's copies (they cover more of it); the second meeting's item and its copy group apart
    pairs = np.array([[0, 1], [0, 2], [1, 2], [0, 3], [3, 4]])
    rel = np.array([NEAR, NEAR, NEAR, CONTAINED, NEAR], np.int8)
    cij = np.array([0.3, 0.3, 0.8, 0.2, 0.9])  # share of the first article of the pair inside the second
    cji = np.array([0.6, 0.65, 0.8, 0.9, 0.9])
    cover = np.array([0.45, 0.5, 0.7, 0.2, 0.85])
    priority = np.arange(5, dtype=np.float64)
    python, compiled = _both(monkeypatch, 5, pairs, rel, cij, cji, cover, priority, None, cover)
    assert compiled == python == [0, 0, 0, 3, 3]
    # a near copy less than PART_RATIO times smaller is the same text, not a part: nothing splits
    near_whole = cji.copy()
    near_whole[:2] = 0.3 * groups.PART_RATIO * 0.99
    python, compiled = _both(monkeypatch, 5, pairs, rel, cij, near_whole, cover, priority, None, cover)
    assert compiled == python == [0, 0, 0, 0, 4]
