"""Sums of sparse unit rows kept as sorted ``(columns, values)``: adding two, and their dot product.

Events and storylines grow by merging clusters, and each cluster carries the
sum of its members' rows, so that the average cosine over all cross pairs of
two clusters is one dot product of two sums. A sum is a pair of arrays,
columns ascending and float64 values; a lone row is its own CSR slice (its
values may be float32). Both operations cost what the two sums hold, never the
width of the column space.

:func:`add` merges the two sorted runs. In NumPy that is a concatenation and a
stable sort (two runs: timsort merges them); with ``compiled`` (large inputs,
where the numba import is already paid, see :data:`dedup.stories.sparse.KERNEL_ROWS`)
one linear pass of :mod:`dedup.stories.sums_kernel`. Each shared column is
``float64(a) + float64(b)`` in both, so the sums have the same bits (tested).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Sum", "add", "dot", "rows_dot_sums"]

Sum = tuple[np.ndarray, np.ndarray]  # (sorted distinct columns, values)


def add(p: Sum, q: Sum, compiled: bool = False) -> Sum:
    """The sum of ``p`` and ``q`` (new arrays; float64 values, columns of their common integer type).

    >>> c, v = add((np.array([1, 4]), np.array([0.5, 1.0])), (np.array([2, 4]), np.array([1.0, 0.25])))
    >>> c.tolist(), v.tolist()
    ([1, 2, 4], [0.5, 1.0, 1.25])
    """
    if compiled:
        from .sums_kernel import merge_sorted

        return merge_sorted(p[0], p[1], q[0], q[1])
    idx, val = np.concatenate([p[0], q[0]]), np.concatenate([p[1], q[1]], dtype=np.float64)  # rows may be float32: sums are not
    order = np.argsort(idx, kind="stable")  # two sorted runs: timsort merges them in linear time
    idx, val = idx[order], val[order]
    dup = np.flatnonzero(idx[1:] == idx[:-1])  # p's entry, then q's
    val[dup] += val[dup + 1]
    keep = np.ones(len(idx), dtype=bool)
    keep[dup + 1] = False
    return idx[keep], val[keep]


def dot(p: Sum, q: Sum, compiled: bool = False) -> float:
    """The dot product of ``p`` and ``q``: the products over the columns both hold, added in column order.

    The shorter one's columns are looked up in the longer one (NumPy: by
    bisection; ``compiled``: by galloping, :func:`~dedup.stories.sums_kernel.shared_columns`);
    either way the same products go to the same ``einsum``, so the same bits.

    >>> dot((np.array([1, 4]), np.array([0.5, 1.0])), (np.array([2, 4]), np.array([1.0, 0.25])))
    0.25
    """
    (ia, va), (ib, vb) = p, q
    if len(ia) > len(ib):
        (ia, va), (ib, vb) = (ib, vb), (ia, va)
    if len(ia) == 0:
        return 0.0
    if compiled:
        from .sums_kernel import shared_columns

        ka, kb = shared_columns(ia, ib)
    else:
        k = np.minimum(np.searchsorted(ib, ia), len(ib) - 1)  # O(shorter · log longer)
        ka = np.flatnonzero(ib[k] == ia)
        kb = k[ka]
    # einsum, not ``@``: OpenBLAS threads a mid-size dot and stalls when another core is busy
    return float(np.einsum("i,i", va[ka].astype(np.float64, copy=False), vb[kb].astype(np.float64, copy=False)))



def rows_dot_sums(ptr: np.ndarray, idx: np.ndarray, val: np.ndarray, owner: np.ndarray,
                  s_ptr: np.ndarray, s_idx: np.ndarray, s_val: np.ndarray, compiled: bool = False) -> np.ndarray:
    """Each row's dot product with its sum: row ``q`` (CSR ``ptr, idx, val``, columns sorted) with sum ``owner[q]``
    (CSR ``s_ptr, s_idx, s_val``), the products over the shared columns added one after the other in column order.

    Many rows against a few sums at once (the members of closing events
    against their events' sums). One row at a time in NumPy (``cumsum``
    adds in order); ``compiled``, one merge per row in
    :func:`~dedup.stories.sums_kernel.rows_dot_sums`: the same bits.

    >>> rows_dot_sums(np.array([0, 2, 3]), np.array([1, 4, 2]), np.array([1.0, 2.0, 3.0]), np.array([0, 0]),
    ...               np.array([0, 2]), np.array([1, 4]), np.array([0.5, 0.25])).tolist()
    [1.0, 0.0]
    """
    if compiled:
        from .sums_kernel import rows_dot_sums as kernel

        return kernel(ptr, idx, val, owner, s_ptr, s_idx, s_val)
    out = np.zeros(len(ptr) - 1, dtype=np.float64)
    for q in range(len(out)):
        e = owner[q]
        cols, scols = idx[ptr[q] : ptr[q + 1]], s_idx[s_ptr[e] : s_ptr[e + 1]]
        if len(cols) == 0 or len(scols) == 0:
            continue
        k = np.minimum(np.searchsorted(scols, cols), len(scols) - 1)
        hit = np.flatnonzero(scols[k] == cols)
        if len(hit):
            products = val[ptr[q] + hit].astype(np.float64) * s_val[s_ptr[e] + k[hit]].astype(np.float64, copy=False)
            out[q] = np.cumsum(products)[-1]
    return out
