"""Compiled dot products of sparse row pairs (numba), summed exactly as :func:`dedup.stories.sparse.pair_dots` sums them.

:func:`pair_dots` there scatters each distinct left row into a dense buffer,
gathers every partner's entries from it (zeros included), multiplies them by
the partner's values and adds each pair's products with ``np.add.reduceat``.
NumPy adds a segment as its first element plus the *pairwise* sum of the
rest (eight running sums over blocks of up to 128, halves above that), so
:func:`_pairwise` is that algorithm, and the dot products here have the same
bits (tested on random rows). What it saves is the Python step per distinct
row and the temporary arrays of each block: the tracker scores millions of
candidate pairs a dense day, and storylines every event's neighbours. Pairs
are split over threads (the kernel releases the GIL), each with its own buffer.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from ..sparse import sp

from ..jit import numba

__all__ = ["sorted_pair_dots"]

_BLOCK = 128  # NumPy's pairwise-summation block (PW_BLOCKSIZE)


@numba.njit(cache=True, nogil=True)
def _block_sum(a, lo, n):  # type: ignore[no-untyped-def]
    """NumPy's sum of at most one block, ``a[lo : lo + n]`` with ``n <= 128``."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - (n % 8):
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@numba.njit(cache=True, nogil=True)
def _pairwise(a, lo, n):  # type: ignore[no-untyped-def]
    """NumPy's pairwise sum of ``a[lo : lo + n]`` (``pairwise_sum`` in its loops: the same additions in the same order).

    Above a block, the sum of the first ``n2`` (half, rounded down to a
    multiple of 8) plus the sum of the rest, each found the same way; walked
    with an explicit stack (numba's cache loads a recursive function badly).
    """
    if n <= _BLOCK:
        return _block_sum(a, lo, n)
    s_lo = np.empty(128, dtype=np.int64)
    s_n = np.empty(128, dtype=np.int64)
    s_state = np.empty(128, dtype=np.int64)
    vals = np.empty(128)
    top, nv = 0, 0
    s_lo[0], s_n[0], s_state[0] = lo, n, 0
    while top >= 0:
        m = s_n[top]
        if m <= _BLOCK:
            vals[nv] = _block_sum(a, s_lo[top], m)
            nv += 1
            top -= 1
            continue
        n2 = m // 2
        n2 -= n2 % 8
        if s_state[top] == 0:  # the first part
            s_state[top] = 1
            s_lo[top + 1], s_n[top + 1], s_state[top + 1] = s_lo[top], n2, 0
            top += 1
        elif s_state[top] == 1:  # the rest
            s_state[top] = 2
            s_lo[top + 1], s_n[top + 1], s_state[top + 1] = s_lo[top] + n2, m - n2, 0
            top += 1
        else:  # both summed: first + rest
            vals[nv - 2] = vals[nv - 2] + vals[nv - 1]
            nv -= 1
            top -= 1
    return vals[0]


@numba.njit(cache=True, nogil=True)
def _dots(a_ptr, a_idx, a_val, b_ptr, b_idx, b_val, si, sj, lo, hi, width, out):  # type: ignore[no-untyped-def]
    """``out[k] = a[si[k]] · b[sj[k]]`` for ``k`` in ``lo:hi`` (pairs sorted by ``si``)."""
    buf = np.zeros(width)
    longest = 1
    for k in range(lo, hi):
        longest = max(longest, b_ptr[sj[k] + 1] - b_ptr[sj[k]])
    tmp = np.empty(longest)
    row = -1
    for k in range(lo, hi):
        i = si[k]
        if i != row:
            if row >= 0:
                for p in range(a_ptr[row], a_ptr[row + 1]):
                    buf[a_idx[p]] = 0.0
            for p in range(a_ptr[i], a_ptr[i + 1]):
                buf[a_idx[p]] = a_val[p]
            row = i
        j = sj[k]
        start, n = b_ptr[j], b_ptr[j + 1] - b_ptr[j]
        if n == 0:
            out[k] = 0.0
            continue
        for q in range(n):
            tmp[q] = buf[b_idx[start + q]] * b_val[start + q]
        out[k] = tmp[0] + _pairwise(tmp, 1, n - 1)


def sorted_pair_dots(a: sp.csr_matrix, si: np.ndarray, b: sp.csr_matrix, sj: np.ndarray, threads: int = 1) -> np.ndarray:
    """``a[si[k]] · b[sj[k]]`` for pairs sorted by ``si`` (``a``, ``b`` canonical CSR), as :func:`dedup.stories.sparse.pair_dots` sums them."""
    m = len(si)
    res = np.zeros(m)
    width = max(a.shape[1], b.shape[1])
    # float32 values are used as they are (a window's story vectors: a float64 copy would be gigabytes); each is
    # widened exactly to float64 before it is multiplied, as NumPy's mixed-type product in pair_dots does
    a_val, b_val = (v.data if v.data.dtype in (np.float32, np.float64) else v.data.astype(np.float64) for v in (a, b))
    parts = max(1, min(threads, m // 10_000))
    cuts = [int(c) for c in np.searchsorted(si, si[np.linspace(0, m - 1, parts + 1).astype(np.int64)[1:-1]])]
    bounds = [0, *cuts, m]  # whole rows in each part

    def part(p: int) -> None:
        if bounds[p + 1] > bounds[p]:
            _dots(a.indptr, a.indices, a_val, b.indptr, b.indices, b_val, si, sj, bounds[p], bounds[p + 1], width, res)

    if parts == 1:
        part(0)
    else:
        with ThreadPoolExecutor(parts) as pool:
            list(pool.map(part, range(parts)))
    return res
