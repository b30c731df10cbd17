"""Compiled top-k neighbour search over sparse unit rows (numba): the product, its filters and the cut in one pass.

:func:`top_neighbours` gives, for each of a range of rows of ``a``, the ``k``
best columns of ``a[row] @ b`` (``b`` the transposed rows searched, one
posting list per term) by score descending, then column ascending, among the
columns that pass the filters. It is what the stories stage did with SciPy
(``(a[lo:hi] @ b)``, then masks, then :func:`dedup.stories.sparse.top_per_row`
and a ``lexsort``), without its cost on dense days, where that product is
millions of entries per chunk of which twenty per row are kept:

* nothing is materialized but one dense accumulator row (Gustavson's
  algorithm, the one SciPy's ``csr_matmat`` runs: products added in the same
  order, so the same bits);
* postings past a row's last allowed column are not visited (the held rows
  are in arrival order, and an article meets only earlier ones), nor, when
  the held rows are in time order, those before its window (found by
  bisection in each posting list);
* the ``k`` best are kept in a bounded heap while the row is read.

:func:`all_top_neighbours` is the same search of every row against all the
others (storylines over event centroids): each pair is multiplied once, by its
later row, and offered to both rows' lists, half the products of searching
each row against all.

The kernels release the GIL: rows are split over threads
(:func:`top_neighbours`' ``threads``). numba compiles it once per machine
(cached beside this module) and each process pays numba's import (~1 s), so
callers use it only for large inputs (:data:`dedup.stories.sparse.KERNEL_ROWS`); the SciPy path
stays for small ones, and the tests check that both give the same pairs and
scores.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy as np
from ..sparse import sp

from ..jit import numba

__all__ = ["all_top_neighbours", "top_neighbours"]

_BLOCKS = 16  # all_top_neighbours: row blocks between two progress ticks
_TILE = 16_384  # all_top_neighbours: columns a row meets at a time (its accumulator and stamps: 256 KB, within L2)


@numba.njit(cache=True, nogil=True)
def _worse(s1, c1, s2, c2):  # type: ignore[no-untyped-def]
    """Entry (s1, c1) ranks after (s2, c2): lower score, or the same score and a larger column."""
    return s1 < s2 or (s1 == s2 and c1 > c2)


@numba.njit(cache=True, nogil=True)
def _sift_down(hs, hc, size, p):  # type: ignore[no-untyped-def]
    """Restore the heap (worst entry on top) below position ``p``."""
    while True:
        left = 2 * p + 1
        if left >= size:
            return
        w = left
        right = left + 1
        if right < size and _worse(hs[right], hc[right], hs[left], hc[left]):
            w = right
        if _worse(hs[w], hc[w], hs[p], hc[p]):
            hs[p], hs[w] = hs[w], hs[p]
            hc[p], hc[w] = hc[w], hc[p]
            p = w
        else:
            return


@numba.njit(cache=True, nogil=True)
def _insert(out_s, out_c, base, size, k, s, c):  # type: ignore[no-untyped-def]
    """Put ``(s, c)`` in its place in the list ``out[base : base + size]`` (best first, at most ``k``); its new size."""
    if size == k and not _worse(out_s[base + size - 1], out_c[base + size - 1], s, c):
        return size
    p = size - 1 if size < k else size - 2  # a full list drops its last (worst) entry
    while p >= 0 and _worse(out_s[base + p], out_c[base + p], s, c):
        out_s[base + p + 1] = out_s[base + p]
        out_c[base + p + 1] = out_c[base + p]
        p -= 1
    out_s[base + p + 1] = s
    out_c[base + p + 1] = c
    return size + 1 if size < k else size


@numba.njit(cache=True, nogil=True)
def _accumulate(r, start, end, a_ptr, a_idx, a_val, b_ptr, b_idx, b_val, acc, stamp, touched):  # type: ignore[no-untyped-def]
    """Row ``r`` of ``a`` times ``b`` into ``acc`` over the columns ``start:end``; how many columns it touched (in ``touched``)."""
    nt = 0
    for p in range(a_ptr[r], a_ptr[r + 1]):
        t = a_idx[p]
        v = a_val[p]
        q0, q1 = b_ptr[t], b_ptr[t + 1]
        if start > 0 and q0 < q1 and b_idx[q0] < start:  # postings are sorted: skip the rows before ``start``
            q0 += np.searchsorted(b_idx[q0:q1], start)
        for q in range(q0, q1):
            j = b_idx[q]
            if j >= end:
                break  # the rest are later rows
            if stamp[j] != r:
                stamp[j] = r
                touched[nt] = j
                nt += 1
            acc[j] += v * b_val[q]
    return nt


@numba.njit(cache=True, nogil=True)
def _rows(a_ptr, a_idx, a_val, lo, hi, b_ptr, b_idx, b_val, width, limit, skip_self, times, window,  # type: ignore[no-untyped-def]
          sorted_times, k, min_score, out_c, out_s, out_n):
    """Rows ``lo:hi`` of ``a`` against ``b``: each row's ``k`` best columns into ``out_c``/``out_s`` (row ``i`` at ``(i - lo) * k``), their count in ``out_n``.

    With ``sorted_times`` (rows and columns one sequence, times ascending), the
    columns a row's window drops are a prefix: their postings are not read.
    """
    acc = np.zeros(width, dtype=np.float64)
    stamp = np.full(width, -1, dtype=np.int64)
    touched = np.empty(width, dtype=np.int64)
    hs = np.empty(k, dtype=np.float64)
    hc = np.empty(k, dtype=np.int64)
    use_time = times.shape[0] > 0
    first = 0  # with sorted_times: the first column within row r's window (the same test as below, so the same columns)
    for r in range(lo, hi):
        end = width if limit < 0 else min(width, r + limit)  # limit 0: columns before r only
        if sorted_times:
            while first < r and times[r] - times[first] > window:
                first += 1
        nt = _accumulate(r, first, end, a_ptr, a_idx, a_val, b_ptr, b_idx, b_val, acc, stamp, touched)
        size = 0
        for u in range(nt):
            j = touched[u]
            s = acc[j]
            acc[j] = 0.0
            if s == 0.0 or not s >= min_score or (skip_self and j == r):
                continue
            if use_time and times[r] - times[j] > window:
                continue
            if size < k:
                hs[size] = s
                hc[size] = j
                size += 1
                if size == k:  # heapify: worst on top
                    for p in range(k // 2 - 1, -1, -1):
                        _sift_down(hs, hc, k, p)
            elif _worse(hs[0], hc[0], s, j):
                hs[0] = s
                hc[0] = j
                _sift_down(hs, hc, k, 0)
        # best first: score descending, then column ascending (insertion sort of at most k)
        base, kept = (r - lo) * k, 0
        for u in range(size):
            kept = _insert(out_s, out_c, base, kept, k, hs[u], hc[u])
        out_n[r - lo] = kept


def top_neighbours(
    a: sp.csr_matrix,
    lo: int,
    hi: int,
    b_t: sp.csr_matrix,
    k: int,
    min_score: float,
    *,
    earlier_only: bool,
    times: np.ndarray | None = None,
    window: float = np.inf,
    threads: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` best columns of ``a[r] @ b_t`` for rows ``r`` in ``lo:hi``, as ``(rows, columns, scores)``.

    Args:
        a: ``(n, d)`` CSR rows (columns sorted and summed).
        lo, hi: the rows searched.
        b_t: ``(d, m)`` CSR, the rows searched among transposed (one sorted posting list per column of ``a``).
        k: entries kept per row.
        min_score: the smallest score kept (zero products are never kept).
        earlier_only: keep only columns ``c < r`` (``a`` and the searched rows are one sequence, as the
            tracker's held rows); otherwise every column but ``r`` itself.
        times: ``(m,)`` seconds; with a finite ``window``, drop ``c`` when ``times[r] - times[c] > window``
            (NaN keeps the entry).
        window: see ``times``.
        threads: rows split over this many threads (the kernel releases the GIL).

    Returns:
        ``rows`` ascending, and within a row scores descending, then columns ascending.
    """
    if not b_t.has_sorted_indices:  # the kernel stops reading a posting list at the row's last allowed column
        b_t = b_t.sorted_indices()
    a_ptr, a_idx, a_val = a.indptr, a.indices, a.data.astype(np.float64, copy=False)  # index arrays as they are: no copies
    b_ptr, b_idx, b_val = b_t.indptr, b_t.indices, b_t.data.astype(np.float64, copy=False)
    width = b_t.shape[1]
    t = np.zeros(0) if times is None or not np.isfinite(window) else np.asarray(times, dtype=np.float64)
    # rows and columns one sequence in time order (NaN compares false): each row's window is a suffix of the columns
    sorted_times = earlier_only and len(t) > 0 and bool(np.all(t[1:] >= t[:-1]))
    rows = hi - lo
    out_c = np.empty(rows * k, dtype=np.int64)
    out_s = np.empty(rows * k, dtype=np.float64)
    out_n = np.zeros(rows, dtype=np.int64)
    limit = 0 if earlier_only else -1

    def part(bounds: tuple[int, int]) -> None:
        p, q = bounds
        if q > p:
            _rows(a_ptr, a_idx, a_val, p, q, b_ptr, b_idx, b_val, width, limit, not earlier_only, t, float(window),
                  sorted_times, k, float(min_score), out_c[(p - lo) * k:(q - lo) * k], out_s[(p - lo) * k:(q - lo) * k],
                  out_n[p - lo:q - lo])

    cuts = np.linspace(lo, hi, max(1, threads) + 1).astype(np.int64).tolist()
    spans = list(pairwise(cuts))
    if len(spans) == 1 or rows < 2 * threads:
        part((lo, hi))
    else:
        with ThreadPoolExecutor(len(spans)) as pool:
            list(pool.map(part, spans))
    take = (np.arange(k)[None, :] < out_n[:, None]).ravel()
    r = np.repeat(np.arange(lo, hi, dtype=np.int64), k)[take]
    return r, out_c[take], out_s[take]


@numba.njit(cache=True, nogil=True)
def _push(hs, hc, hn, hb, row, s, c, k):  # type: ignore[no-untyped-def]
    """Offer entry ``(s, c)`` to row ``row``'s heap of its ``k`` best (worst on top); ``hb[row]``: the top's score once full."""
    if s < hb[row]:
        return  # worse than the worst kept: decided by one read, not by the heap's two rows of k
    size = hn[row]
    if size < k:
        hs[row, size] = s
        hc[row, size] = c
        hn[row] = size + 1
        if size + 1 == k:
            for p in range(k // 2 - 1, -1, -1):
                _sift_down(hs[row], hc[row], k, p)
            hb[row] = hs[row, 0]
    elif _worse(hs[row, 0], hc[row, 0], s, c):
        hs[row, 0] = s
        hc[row, 0] = c
        _sift_down(hs[row], hc[row], k, 0)
        hb[row] = hs[row, 0]


@numba.njit(cache=True, nogil=True)
def _pairs_once(a_ptr, a_idx, a_val, lo, hi, b_ptr, b_idx, b_val, k, min_score, tile, hs, hc, hn, hb):  # type: ignore[no-untyped-def]
    """Rows ``lo:hi`` against the rows before them; each pair offered to both its rows' heaps.

    A row meets the earlier rows a ``tile`` of columns at a time, each posting
    list read on from where the last tile stopped: the accumulator, and the
    heaps the pairs are offered to, stay within a tile (in cache) however many
    rows there are. A pair's products are still added in the row's term
    order, so the scores have the same bits.
    """
    acc = np.zeros(tile, dtype=np.float64)
    stamp = np.full(tile, -1, dtype=np.int64)
    touched = np.empty(tile, dtype=np.int64)
    widest = 0
    for r in range(lo, hi):
        widest = max(widest, a_ptr[r + 1] - a_ptr[r])
    cursor = np.empty(widest, dtype=np.int64)
    mark = 0
    for r in range(lo, hi):
        p0, p1 = a_ptr[r], a_ptr[r + 1]
        for p in range(p0, p1):
            cursor[p - p0] = b_ptr[a_idx[p]]
        for c0 in range(0, r, tile):
            c1 = min(c0 + tile, r)
            mark += 1
            nt = 0
            for p in range(p0, p1):
                v = a_val[p]
                q, q1 = cursor[p - p0], b_ptr[a_idx[p] + 1]
                while q < q1:
                    j = b_idx[q]
                    if j >= c1:
                        break  # postings are sorted: the rest are in later tiles
                    jj = j - c0
                    if stamp[jj] != mark:
                        stamp[jj] = mark
                        touched[nt] = jj
                        nt += 1
                    acc[jj] += v * b_val[q]
                    q += 1
                cursor[p - p0] = q
            for u in range(nt):
                jj = touched[u]
                s = acc[jj]
                acc[jj] = 0.0
                if s == 0.0 or not s >= min_score:
                    continue
                _push(hs, hc, hn, hb, r, s, jj + c0, k)
                _push(hs, hc, hn, hb, jj + c0, s, r, k)


@numba.njit(cache=True, nogil=True)
def _merge(parts_s, parts_c, parts_n, k, out_c, out_s, out_n):  # type: ignore[no-untyped-def]
    """Each row's ``k`` best over the threads' heaps, best first."""
    n = parts_n.shape[1]
    for row in range(n):
        size = 0
        base = row * k
        for t in range(parts_n.shape[0]):
            for u in range(parts_n[t, row]):
                size = _insert(out_s, out_c, base, size, k, parts_s[t, row, u], parts_c[t, row, u])
        out_n[row] = size


def all_top_neighbours(a: sp.csr_matrix, k: int, min_score: float, threads: int = 1,
                       tick: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every row's ``k`` best other rows by ``a[r] · a[c]``, as :func:`top_neighbours` with ``earlier_only=False`` over all rows.

    Each pair is multiplied once, by its later row (half the products), and
    offered to both rows' lists: ``a[r] · a[c]`` adds the shared columns in
    column order whichever row leads, so both directions have the same bits.
    Threads take row ranges of equal work (a row meets the rows before it),
    each with its own lists, merged at the end.

    Returns:
        ``(rows, columns, scores)``: rows ascending, then scores descending, then columns ascending.
    """
    n = a.shape[0]
    a_t = a.T.tocsr()
    if not a_t.has_sorted_indices:
        a_t = a_t.sorted_indices()
    val, t_val = a.data.astype(np.float64, copy=False), a_t.data.astype(np.float64, copy=False)
    parts = max(1, min(threads, n))
    hs = np.zeros((parts, n, k))
    hc = np.zeros((parts, n, k), dtype=np.int64)
    hn = np.zeros((parts, n), dtype=np.int64)
    hb = np.full((parts, n), -np.inf)  # each list's worst score once full (an entry below it cannot enter)
    # rows in _BLOCKS blocks of equal work (a row meets the rows before it), each split over the threads the
    # same way; a thread offers pairs to its own lists only
    cuts = [int(round(n * np.sqrt(i / (_BLOCKS * parts)))) for i in range(_BLOCKS * parts + 1)]

    def part(i: int, lo: int, hi: int) -> None:
        if hi > lo:
            _pairs_once(a.indptr, a.indices, val, lo, hi, a_t.indptr, a_t.indices, t_val, k, float(min_score), _TILE,
                        hs[i], hc[i], hn[i], hb[i])

    with ThreadPoolExecutor(parts) as pool:
        for b in range(_BLOCKS):
            spans = [(i, cuts[b * parts + i], cuts[b * parts + i + 1]) for i in range(parts)]
            list(pool.map(lambda span: part(*span), spans))
            if tick is not None:
                tick(cuts[(b + 1) * parts] - cuts[b * parts])
    out_c = np.empty(n * k, dtype=np.int64)
    out_s = np.empty(n * k)
    out_n = np.zeros(n, dtype=np.int64)
    _merge(hs, hc, hn, k, out_c, out_s, out_n)
    take = (np.arange(k)[None, :] < out_n[:, None]).ravel()
    return np.repeat(np.arange(n, dtype=np.int64), k)[take], out_c[take], out_s[take]
