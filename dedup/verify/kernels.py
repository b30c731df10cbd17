"""Compiled row-pair products for verifying millions of candidate pairs (numba).

:func:`pair_dots` gives, for rows ``i[k]`` and ``j[k]`` of a CSR matrix,
their dot product (or, ``binary``, how many columns they share), how many
columns they share and how many of those are flagged: what
:func:`dedup.verify.scores._rowwise_dot` computes with SciPy by gathering
both rows of every pair and multiplying the copies. Here nothing is copied,
and the numbers are bit-identical (the products are summed in column order,
as the SciPy path sums them; tested).

Candidates come sorted by their first row, one row against the tens of
members of its copy family. Such a run puts its row once into two small
hash tables (cuckoo hashing: a column sits at its place in one of the two,
so a lookup is two loads and no loop), and each second row is looked up
column by column in the order of its columns. A short run, or a row that
would not fit the tables, is scored by merging the two sorted index runs.
On blocks of a feed of large copy families (rows of ~470 shingles and ~280
words, runs of ~34 pairs): shingles 4.5 -> 2.1 us a pair, words 3.5 -> 2.8
us, against the merge alone; pairs in random order cost what the merge
costs.

numba compiles the kernel once per machine (cached beside this module, about
1 s) and each process pays its import and the cache load (about 0.7 s), so
the flow uses it only for a verification of many pairs
(:data:`dedup.flows.dedupe._COMPILED_PAIRS`); a small feed never imports it.
"""

from __future__ import annotations

import numpy as np
from ..sparse import sp

from ..jit import numba

__all__ = ["pair_dots"]


MIN_RUN = 3  # a run of at least this many pairs with one first row is scored by table (below: its build costs more than it saves)
KICKS = 64  # moves one insertion may make in the tables before the run falls back to the merge
_C1 = np.uint64(0x9E3779B97F4A7C15)  # the multipliers of the two tables (Fibonacci hashing: a column's place is the
_C2 = np.uint64(0xC2B2AE3D27D4EB4F)  # top bits of its product)


@numba.njit(cache=True, nogil=True, inline="always")
def _merge(indptr, indices, data, a, b, flagged, binary):  # type: ignore[no-untyped-def]
    p, pe = indptr[a], indptr[a + 1]
    q, qe = indptr[b], indptr[b + 1]
    s = 0.0
    c = 0
    n = 0
    if binary:
        while p < pe and q < qe:
            x, y = indices[p], indices[q]
            n += x == y
            p += x <= y  # no branch on which run moves: the merge runs at the speed of the loads
            q += y <= x
        return float(n), 0.0, float(n)
    while p < pe and q < qe:
        x, y = indices[p], indices[q]
        if x == y:
            s += data[p] * data[q]
            c += flagged[x]
            n += 1
        p += x <= y
        q += y <= x
    return s, float(c), float(n)


@numba.njit(cache=True, nogil=True, inline="always")
def _swap(keys, vals, flags, h, x, v, f):  # type: ignore[no-untyped-def]
    """Column ``x`` (value ``v``, flag ``f``) into place ``h`` of one table; returns what was there (key -1: nothing)."""
    old = keys[h], vals[h], flags[h]
    keys[h], vals[h], flags[h] = x, v, f
    return old


@numba.njit(cache=True, nogil=True, inline="always")
def _build(indptr, indices, data, a, flagged, keys1, keys2, vals1, vals2, flags1, flags2, shift, kicks):  # type: ignore[no-untyped-def]
    """Row ``a`` into the two tables (cuckoo hashing: each column at its place in one of them); False if one would not fit."""
    for p in range(indptr[a], indptr[a + 1]):
        x, v, f = indices[p], data[p], flagged[indices[p]]
        for _ in range(kicks):  # put the column in its place in the first table, what was there in its place in the second...
            x, v, f = _swap(keys1, vals1, flags1, (np.uint64(x) * _C1) >> shift, x, v, f)
            if x == -1:
                break
            x, v, f = _swap(keys2, vals2, flags2, (np.uint64(x) * _C2) >> shift, x, v, f)
            if x == -1:
                break
        if x != -1:  # still a column without a place
            return False
    return True


@numba.njit(cache=True, nogil=True)
def _dots(indptr, indices, data, i, j, flagged, binary, min_run, kicks):  # type: ignore[no-untyped-def]
    m = len(i)
    out = np.zeros(m)
    shared = np.zeros(m)
    common = np.zeros(m)
    longest = 1
    for r in range(len(indptr) - 1):
        longest = max(longest, indptr[r + 1] - indptr[r])
    bits = 6
    while (1 << bits) < 2 * longest:
        bits += 1
    keys1 = np.full(1 << bits, -1, indices.dtype)
    keys2 = np.full(1 << bits, -1, indices.dtype)
    vals1 = np.zeros(1 << bits)
    vals2 = np.zeros(1 << bits)
    flags1 = np.zeros(1 << bits, np.bool_)
    flags2 = np.zeros(1 << bits, np.bool_)
    k = 0
    while k < m:
        a = i[k]
        e = k + 1
        while e < m and i[e] == a:
            e += 1
        built = False
        if e - k >= min_run:
            size = indptr[a + 1] - indptr[a]
            b_ = 6
            while (1 << b_) < 2 * size:
                b_ += 1
            shift = np.uint64(64 - b_)  # this row's tables: at most a quarter full each
            built = _build(indptr, indices, data, a, flagged, keys1, keys2, vals1, vals2, flags1, flags2, shift, kicks)
        if built:
            for t in range(k, e):
                b = j[t]
                s = 0.0
                c = 0
                n = 0
                if binary:
                    for q in range(indptr[b], indptr[b + 1]):
                        y = indices[q]
                        uy = np.uint64(y)
                        n += (keys1[(uy * _C1) >> shift] == y) | (keys2[(uy * _C2) >> shift] == y)
                    s = float(n)
                else:
                    for q in range(indptr[b], indptr[b + 1]):  # the shared columns in column order, as the merge
                        y = indices[q]
                        uy = np.uint64(y)
                        h1 = (uy * _C1) >> shift
                        h2 = (uy * _C2) >> shift
                        if keys1[h1] == y:
                            s += vals1[h1] * data[q]
                            c += flags1[h1]
                            n += 1
                        elif keys2[h2] == y:
                            s += vals2[h2] * data[q]
                            c += flags2[h2]
                            n += 1
                out[t], shared[t], common[t] = s, c, n
        else:
            for t in range(k, e):
                out[t], shared[t], common[t] = _merge(indptr, indices, data, a, j[t], flagged, binary)
        if e - k >= min_run:  # empty the tables (a failed build may have left some of the row)
            for p in range(indptr[a], indptr[a + 1]):
                ux = np.uint64(indices[p])
                keys1[(ux * _C1) >> shift] = -1
                keys2[(ux * _C2) >> shift] = -1
        k = e
    return out, shared, common


def pair_dots(
    m: sp.csr_matrix, i: np.ndarray, j: np.ndarray, flagged: np.ndarray | None = None, binary: bool = False,
    min_run: int = MIN_RUN, kicks: int = KICKS,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """``m[i[k]] · m[j[k]]`` for every k (``binary``: the shared columns), with ``flagged`` how many shared columns are
    flagged (else None), and how many columns the two rows share.

    ``m`` must hold positive values (a non-canonical ``m`` is made canonical first).
    ``min_run`` and ``kicks``: see :data:`MIN_RUN` and :data:`KICKS` (tests set them to take either path).
    """
    if not m.has_canonical_format:  # sorted, each column once a row (what the tables and the merge both assume)
        m = m.copy()
        m.sum_duplicates()
    flags = flagged if flagged is not None else np.zeros(m.shape[1], dtype=bool)
    data = m.data if m.data.dtype == np.float64 else m.data.astype(np.float64)
    out, shared, common = _dots(m.indptr, m.indices, data, np.asarray(i, np.int64), np.asarray(j, np.int64), flags,
                                    binary, min_run, kicks)
    return out, (shared if flagged is not None else None), common
