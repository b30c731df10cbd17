"""Row kernels over sparse story vectors: unit rows, narrow columns, dot products of row pairs.

Every step of the stories stage measures articles (and events) by the dot
products of L2-normalized sparse rows. These helpers keep those rows in
canonical CSR form (sorted, summed columns), so that sums and dot products
add in one fixed order and two runs give the same bits.
"""

from __future__ import annotations

import numpy as np
from ..sparse import sp

__all__ = ["KERNEL_ROWS", "canonical", "compact_columns", "csr_over", "l2_rows", "pair_cosines", "pair_dots", "top_entries", "top_per_row"]

# From this many rows (held rows, or events) the compiled kernels run (the top-k search of
# :mod:`dedup.stories.topk_kernel`, the pair dots of :mod:`dedup.stories.dots_kernel`): below, numba's
# import and the kernels' cache load (~0.5 s a process here) would cost more than they save, and the SciPy /
# NumPy paths stay. Both give the same bits. Measured (docs/stories.md): from 25,000 down to 2,000, events and
# storylines of the 20,329 dev articles 13.8 -> 11.1 s, of the first 87,603 synthetic ones events 32.3 ->
# ~25 s; feeds of 1,000-6,000 articles no slower.
KERNEL_ROWS = 2_000


def canonical(m: sp.csr_matrix) -> sp.csr_matrix:
    """``m`` as CSR with sorted, summed columns (a copy only when ``m`` is not already so).

    A CSR matrix is used as it is, so that scipy's cached answer to
    ``has_canonical_format`` is kept (finding it again reads every index).
    """
    if not isinstance(m, sp.csr_matrix):
        m = sp.csr_matrix(m)
    if not m.has_canonical_format:
        m = m.copy()
        m.sum_duplicates()
    return m


def csr_over(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """A CSR matrix over these arrays, never a copy of its entries.

    SciPy's constructor copies ``data`` and ``indices`` when they are views of
    less than half of a larger array (its ``prune``): the event tracker's
    held rows are such views of one window buffer, which once cost a copy of
    the window (~1 GB and ~2 s a dense day, the 1M feed's peak). Here the
    matrix is made empty and given the arrays; the index arrays take one
    dtype (int32 when the entries allow, as SciPy chooses), and SciPy's light
    checks are made. The caller says whether the columns are canonical.

    >>> big = np.arange(10.0)
    >>> m = csr_over(big[:2], np.array([0, 1], np.int32), np.array([0, 1, 2]), (2, 3))
    >>> bool(np.shares_memory(m.data, big)), m.toarray().tolist()
    (True, [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    """
    small = len(indices) <= np.iinfo(np.int32).max and max(shape) <= np.iinfo(np.int32).max
    dtype = np.int32 if small else np.int64
    out = sp.csr_matrix(shape, dtype=data.dtype)
    out.data, out.indices, out.indptr = data, indices.astype(dtype, copy=False), indptr.astype(dtype, copy=False)
    if not (len(out.indptr) == shape[0] + 1 and out.indptr[0] == 0 and out.indptr[-1] == len(data) == len(indices)):
        raise ValueError(f"csr_over: arrays of {len(indptr)} row pointers and {len(indices)} entries do not make a {shape} matrix")
    return out


def l2_rows(m: sp.csr_matrix, inplace: bool = False) -> sp.csr_matrix:
    """Rows scaled to unit length (all-zero rows stay zero), with sorted columns.

    Scales ``data`` directly rather than multiplying by a diagonal matrix:
    that product comes back with unsorted columns, and sorting them again is
    slow. With ``inplace`` (a float64 CSR matrix the caller owns), ``m``
    itself is scaled and returned: the character block of a large feed is
    gigabytes, and each copy counts.

    >>> l2_rows(sp.csr_matrix(np.array([[3.0, 4.0], [0.0, 0.0]]))).toarray().round(6).tolist()
    [[0.6, 0.8], [0.0, 0.0]]
    """
    if not (inplace and sp.isspmatrix_csr(m) and m.dtype == np.float64):
        m = sp.csr_matrix(m)
        inplace = False
    m.sum_duplicates()  # sorts columns: the norm below sums in column order
    lengths = np.diff(m.indptr)
    sq = np.zeros(m.shape[0])
    nz = lengths > 0
    sq[nz] = np.add.reduceat(m.data**2, m.indptr[:-1][nz])
    norms = np.sqrt(sq)
    norms[norms == 0] = 1.0
    if inplace:
        m.data *= np.repeat(1.0 / norms, lengths)
        return m
    out = sp.csr_matrix((m.data * np.repeat(1.0 / norms, lengths), m.indices.copy(), m.indptr.copy()), shape=m.shape)
    out.has_canonical_format = True
    return out


_RENUMBER_BLOCK = 1 << 22  # column indices renumbered at a time in place (bounds the temporary)


def compact_columns(m: sp.csr_matrix, inplace: bool = False) -> sp.csr_matrix:
    """The same rows over only the columns used, renumbered in their order.

    Dot products, sums and the order of columns within a row are unchanged.
    Hashed rows use a few hundred thousand of their millions of columns, and
    the dense buffer of :func:`pair_dots` and scipy's products scale with
    the width. With ``inplace`` (int32 indices the caller gives up: the
    storylines' centroids of a large feed, ~2 GB) the column indices are
    renumbered where they are, a block at a time, and the result shares
    ``m``'s arrays; ``m`` itself must not be used again.

    >>> compact_columns(sp.csr_matrix(np.array([[0, 2.0, 0, 3.0], [0, 1.0, 0, 0]]))).toarray().tolist()
    [[2.0, 3.0], [1.0, 0.0]]
    """
    used = np.zeros(m.shape[1], dtype=bool)
    used[m.indices] = True
    remap = np.cumsum(used, dtype=np.int32) - 1
    shape = (m.shape[0], int(used.sum()))
    if inplace and sp.isspmatrix_csr(m) and m.indices.dtype == np.int32:
        for lo in range(0, len(m.indices), _RENUMBER_BLOCK):
            block = m.indices[lo : lo + _RENUMBER_BLOCK]
            block[:] = remap[block]
        out = csr_over(m.data, m.indices, m.indptr, shape)
    else:
        out = sp.csr_matrix((m.data, remap[m.indices], m.indptr), shape=shape)
    out.has_sorted_indices = m.has_sorted_indices
    return out


def pair_dots(a: sp.csr_matrix, i: np.ndarray, b: sp.csr_matrix, j: np.ndarray, chunk: int = 2048, threads: int = 1) -> np.ndarray:
    """``a[i[k]] · b[j[k]]`` for every k.

    Pairs are grouped by ``i`` (top-k neighbour lists give each row many
    partners). Each distinct row of ``a`` is scattered once into a dense
    buffer and its partners' values are gathered from it; products and row
    sums are vectorized over ``chunk`` pairs at a time, whose rows of ``b``
    are copied out with one fancy index. Work is linear in the partners'
    nonzeros, with no sorting or searching, and Python steps once per
    distinct row of ``a``, never per pair. The buffer has one slot per
    column: pass matrices with millions of mostly unused hashed columns
    through :func:`compact_columns` first.

    Args:
        a, b: CSR matrices of the same width.
        i, j: ``(m,)`` row positions in ``a`` and ``b``.
        chunk: pairs whose partner rows are copied out together.
        threads: with :data:`KERNEL_ROWS` rows or more, the compiled kernel
            (:mod:`dedup.stories.dots_kernel`: the same sums, bit for bit)
            computes the products, its pairs split over this many threads.

    Returns:
        ``(m,)`` dot products.

    >>> m = sp.csr_matrix(np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0]]))
    >>> pair_dots(m, np.array([0, 0]), m, np.array([1, 0])).tolist()
    [2.0, 5.0]
    """
    a, b = canonical(a), canonical(b)
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    m = len(i)
    out = np.zeros(m)
    if m == 0:
        return out
    order = np.argsort(i, kind="stable")
    si, sj = i[order], j[order]
    if max(a.shape[0], b.shape[0]) >= KERNEL_ROWS:
        from .dots_kernel import sorted_pair_dots

        out[order] = sorted_pair_dots(a, si, b, sj, threads)
        return out
    starts = np.flatnonzero(np.r_[True, si[1:] != si[:-1]])  # first pair of each distinct row
    ends = np.r_[starts[1:], m]
    # chunks of whole groups, about ``chunk`` pairs each
    bounds = np.unique(np.r_[starts[np.searchsorted(starts, np.arange(0, m, chunk), side="right") - 1], m])
    buf = np.zeros(max(a.shape[1], b.shape[1]))
    res = np.zeros(m)
    g = 0
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        rows = b[sj[lo:hi]]
        ptr, idx = rows.indptr, rows.indices
        gathered = np.empty(len(idx))
        g_end = int(np.searchsorted(starts, hi))
        for s, e, r in zip(starts[g:g_end].tolist(), ends[g:g_end].tolist(), si[starts[g:g_end]].tolist()):
            cols = a.indices[a.indptr[r] : a.indptr[r + 1]]
            buf[cols] = a.data[a.indptr[r] : a.indptr[r + 1]]
            np.take(buf, idx[ptr[s - lo] : ptr[e - lo]], out=gathered[ptr[s - lo] : ptr[e - lo]])
            buf[cols] = 0.0
        g = g_end
        gathered *= rows.data
        nz = np.flatnonzero(ptr[1:] > ptr[:-1])
        if len(nz):
            res[lo + nz] = np.add.reduceat(gathered, ptr[nz])
    out[order] = res
    return out


def top_per_row(r: np.ndarray, col: np.ndarray, s: np.ndarray, k: int) -> np.ndarray:
    """Which entries are among the ``k`` first of their row ``r`` (non-decreasing) by score ``s`` descending, then ``col``.

    The same entries a sort of all of them by ``(r, -s, col)`` would put first
    in each row, without that sort: a dense day gives millions of entries per
    chunk, and only the rows holding more than ``k`` are looked at, each with
    a partition.

    >>> top_per_row(np.array([0, 0, 0, 1]), np.array([5, 3, 4, 0]), np.array([0.5, 0.9, 0.5, 0.1]), 2).tolist()
    [False, True, True, True]
    """
    n = len(r)
    take = np.ones(n, dtype=bool)
    if n == 0:
        return take
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    ends = np.r_[starts[1:], n]
    big = np.flatnonzero(ends - starts > k)
    for a, b in zip(starts[big].tolist(), ends[big].tolist()):
        v = s[a:b]
        kth = np.partition(v, len(v) - k)[len(v) - k]  # the k-th largest score of the row
        chosen = v > kth
        tied = np.flatnonzero(v == kth)
        need = k - int(chosen.sum())
        chosen[tied[np.argsort(col[a:b][tied], kind="stable")[:need]]] = True  # ties: the smallest columns
        take[a:b] = chosen
    return take


def top_entries(vec: tuple[np.ndarray, np.ndarray], m: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``m`` largest weights of a sparse vector (sorted columns kept); all of it when shorter."""
    idx, val = vec
    if len(idx) <= m:
        return idx.astype(np.int64), val.astype(np.float64)
    keep = np.sort(np.argpartition(-val, m - 1)[:m])
    return idx[keep].astype(np.int64), val[keep].astype(np.float64)


def pair_cosines(centroids: sp.csr_matrix, pairs: np.ndarray, threads: int = 1) -> np.ndarray:
    """Cosines of centroid pairs (rows already unit length)."""
    if len(pairs) == 0:
        return np.zeros(0)
    return np.clip(pair_dots(centroids, pairs[:, 0], centroids, pairs[:, 1], threads=threads), 0.0, 1.0)
