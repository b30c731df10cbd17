"""The compiled top-k neighbour search gives the SciPy path's entries bit for bit (dedup.stories.topk_kernel)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from dedup.stories import neighbours
from dedup.stories.sparse import l2_rows
from dedup.stories.topk_kernel import top_neighbours


def _rows(rng: np.random.Generator, n: int, d: int, ties: bool) -> sp.csr_matrix:
    dense = (rng.random((n, d)) < rng.uniform(0.03, 0.5)) * rng.integers(1, 4, (n, d)).astype(float)
    if ties and n > 3:  # identical rows: equal scores, broken by the smaller column
        dense[n // 2] = dense[0]
        dense[n // 3] = dense[0]
        dense[n - 1] = dense[0]
    return l2_rows(sp.csr_matrix(dense))


def _scipy(monkeypatch: pytest.MonkeyPatch, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    with monkeypatch.context() as m:
        m.setattr(neighbours, "KERNEL_ROWS", 10**12)
        return fn(*args, **kwargs)


def _compiled(monkeypatch: pytest.MonkeyPatch, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    with monkeypatch.context() as m:
        m.setattr(neighbours, "KERNEL_ROWS", 0)
        return fn(*args, **kwargs)


@pytest.mark.parametrize("seed", range(12))
def test_earlier_neighbours_equal_to_scipy(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(5, 300)), int(rng.integers(3, 50))
    w = _rows(rng, n, d, ties=seed % 2 == 0)
    w_t = w.T.tocsr()
    times = np.sort(rng.uniform(0.0, 10.0, n) if seed % 2 else rng.integers(0, 10, n).astype(float))  # whole: pairs at the window's edge
    if seed % 3 == 0:
        times[rng.integers(0, n, 3)] = np.nan  # an unknown date keeps the pair
    k, min_score = int(rng.integers(1, 8)), float(rng.choice([0.0, 0.03, 0.3]))
    lo = int(rng.integers(0, n))
    hi = int(rng.integers(lo, n + 1))
    shuffled = rng.permutation(times)  # out of time order: no window is a suffix of the columns
    for t, window in ((None, np.inf), (times, 2.0), (times, 0.0), (shuffled, 2.0)):
        want = _scipy(monkeypatch, neighbours.earlier_neighbours, w, w_t, lo, hi, k, min_score, t, window)
        for threads in (1, 2, 3):
            got = _compiled(monkeypatch, neighbours.earlier_neighbours, w, w_t, lo, hi, k, min_score, t, window, threads)
            for a, b in zip(want, got):
                assert a.dtype == b.dtype and np.array_equal(a, b)
        r, c, _ = want
        assert (c < r).all()


@pytest.mark.parametrize("seed", range(8))
def test_neighbour_pairs_equal_to_scipy(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    x = _rows(rng, int(rng.integers(2, 400)), int(rng.integers(3, 40)), ties=True)
    k = int(rng.integers(1, 6))
    want = _scipy(monkeypatch, neighbours.neighbour_pairs, x, k, 0.05, chunk_rows=7)
    for threads in (1, 2):
        got = _compiled(monkeypatch, neighbours.neighbour_pairs, x, k, 0.05, chunk_rows=7, threads=threads)
        assert np.array_equal(want[0], got[0]) and np.array_equal(want[1], got[1])


def test_ties_go_to_the_smaller_column_and_zeros_are_never_kept() -> None:
    x = l2_rows(sp.csr_matrix(np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])))
    r, c, s = top_neighbours(x, 4, 5, x.T.tocsr(), 2, 0.0, earlier_only=True)
    assert r.tolist() == [4, 4] and c.tolist() == [0, 1] and s.tolist() == [1.0, 1.0]  # row 3 (orthogonal) never kept
    r, c, _ = top_neighbours(x, 0, 5, x.T.tocsr(), 5, 0.0, earlier_only=False)
    assert 3 not in c.tolist() and all(a != b for a, b in zip(r.tolist(), c.tolist()))


def test_unsorted_postings_are_sorted_first() -> None:
    x = l2_rows(sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])))
    t = x.T.tocsr()
    shuffled = sp.csr_matrix((t.data[::-1].copy(), t.indices[::-1].copy(), t.indptr), shape=t.shape)
    rev = np.empty_like(t.indices)
    for row in range(t.shape[0]):  # reverse each posting list: the same matrix, unsorted
        a, b = t.indptr[row], t.indptr[row + 1]
        rev[a:b] = t.indices[a:b][::-1]
        shuffled.data[a:b] = t.data[a:b][::-1]
    shuffled.indices = rev
    shuffled.has_sorted_indices = False
    want = top_neighbours(x, 0, 4, t, 3, 0.0, earlier_only=True)
    got = top_neighbours(x, 0, 4, shuffled, 3, 0.0, earlier_only=True)
    assert all(np.array_equal(a, b) for a, b in zip(want, got))


@pytest.mark.parametrize("tile", [16_384, 7, 1])  # columns a row meets at a time: one tile, or many
@pytest.mark.parametrize("seed", range(6))
def test_each_pair_once_equals_every_row_against_all(monkeypatch: pytest.MonkeyPatch, seed: int, tile: int) -> None:
    """all_top_neighbours multiplies each pair once (by its later row) and gives every row's full search."""
    from dedup.stories import topk_kernel
    from dedup.stories.topk_kernel import all_top_neighbours

    monkeypatch.setattr(topk_kernel, "_TILE", tile)

    rng = np.random.default_rng(200 + seed)
    n = int(rng.integers(1, 300))
    x = _rows(rng, n, int(rng.integers(2, 40)), ties=True)
    k, min_score = int(rng.integers(1, 7)), float(rng.choice([0.0, 0.05, 0.3]))
    want = top_neighbours(x, 0, n, x.T.tocsr(), k, min_score, earlier_only=False)
    for threads in (1, 2, 3):
        ticks: list[int] = []
        got = all_top_neighbours(x, k, min_score, threads, ticks.append)
        assert all(np.array_equal(a, b) for a, b in zip(want, got)) and sum(ticks) == n
