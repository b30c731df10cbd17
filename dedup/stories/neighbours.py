"""Candidate pairs: each row's top-k cosine neighbours, searched only within a time window.

The stories stage never lists all pairs. Sparse products ``X[chunk] @ X.T``
in row chunks find each article's most similar articles; with dates, rows are
taken in time order and each block of rows meets only the rows dated within
the window of it, so a feed spanning months costs what its windows cost.
Design and measurements: ``docs/stories.md``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from ..sparse import sp

from .sparse import KERNEL_ROWS, top_per_row

__all__ = ["KERNEL_ROWS", "earlier_neighbours", "neighbour_pairs"]

_WINDOW_BLOCK_ROWS = 2048  # rows sharing one column window in the windowed neighbour search
_PRODUCT_ENTRIES = 4_000_000  # SciPy path: product entries computed at once (~100 MB with their filters); never changes a result


def earlier_neighbours(
    w: sp.csr_matrix,
    w_t: sp.csr_matrix,
    lo: int,
    hi: int,
    k: int,
    min_score: float,
    times: np.ndarray | None,
    window: float,
    threads: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row ``r`` in ``lo:hi``: its ``k`` most similar rows before it (``w[r] · w[c]``, ``c < r``).

    The rows are one sequence in arrival order (the event tracker's held
    rows), ``w_t`` their transpose. Scores below ``min_score`` and, with
    ``times``, rows more than ``window`` seconds earlier are left out; ties go
    to the smaller row. From :data:`KERNEL_ROWS`
    rows the compiled kernel runs (over ``threads`` threads); below, SciPy
    products in slices of about ``_PRODUCT_ENTRIES`` entries. Both give the
    same entries, bit for bit.

    Returns:
        ``(rows, columns, scores)``: rows ascending, then scores descending, then columns ascending.
    """
    if w.shape[0] >= KERNEL_ROWS:
        from .topk_kernel import top_neighbours

        return top_neighbours(w, lo, hi, w_t, k, min_score, earlier_only=True, times=times, window=window, threads=threads)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = [(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))]
    step = hi - lo
    a = lo
    while a < hi:  # rows in slices whose products stay near _PRODUCT_ENTRIES
        b = min(hi, a + step)
        prod = w[a:b] @ w_t
        r = np.repeat(np.arange(a, b, dtype=np.int64), np.diff(prod.indptr))
        col, s = prod.indices.astype(np.int64), prod.data
        keep = (col < r) & (s >= min_score)
        if times is not None:
            keep &= ~(times[r] - times[col] > window)
        r, col, s = r[keep], col[keep], s[keep]
        top = top_per_row(r, col, s, k)
        parts.append((r[top], col[top], s[top]))
        step = max(1, min(hi - lo, int(_PRODUCT_ENTRIES * (b - a) / max(prod.nnz, 1))))
        a = b
        del prod
    r, col, s = (np.concatenate(x) for x in zip(*parts))
    order = np.lexsort((col, -s, r))
    return r[order], col[order], s[order]


def neighbour_pairs(
    vectors: sp.csr_matrix,
    k: int,
    min_score: float,
    chunk_rows: int = 500,
    times: np.ndarray | None = None,
    window_seconds: float | None = None,
    tick: Callable[[int], None] | None = None,
    threads: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` cosine neighbours of every row, as unique pairs ``i < j``.

    Sparse products ``X[chunk] @ X.T`` in chunks of ``chunk_rows`` rows keep
    memory bounded; nothing loops per pair in Python. With ``times`` and
    ``window_seconds``, pairs whose times are both known and further apart
    are dropped before the top-k cut, and are never computed: rows are taken
    in time order, in blocks, and each block is multiplied only with the
    rows dated within the window of it (and the undated ones). The result is
    the same as filtering the products of all pairs.

    Args:
        vectors: ``(n, d)`` L2-normalized rows.
        k: neighbours kept per row (ties: smaller position first).
        min_score: smallest cosine kept.
        chunk_rows: rows multiplied at a time.
        times: ``(n,)`` seconds, NaN when unknown (an undated row meets every row).
        window_seconds: the largest time difference of a pair.
        tick: called with how many rows were searched.
        threads: without ``times``, from :data:`KERNEL_ROWS` rows the
            compiled kernel searches (the same pairs), its rows split over this many threads.

    Returns:
        ``(pairs (m, 2), cosines (m,))`` sorted by pair.

    >>> x = sp.csr_matrix(np.array([[1.0, 0.0], [0.8, 0.6], [1.0, 0.0]]))
    >>> day = 86_400.0
    >>> neighbour_pairs(x, 5, 0.1)[0].tolist()
    [[0, 1], [0, 2], [1, 2]]
    >>> neighbour_pairs(x, 5, 0.1, times=np.array([0.0, day, 9 * day]), window_seconds=3 * day)[0].tolist()
    [[0, 1]]
    """
    n = vectors.shape[0]
    vectors = sp.csr_matrix(vectors)
    windowed = times is not None and window_seconds is not None
    if windowed:
        times = np.asarray(times, dtype=np.float64)
        order = np.argsort(np.where(np.isnan(times), np.inf, times), kind="stable")  # dated by time, undated last
        dated = int((~np.isnan(times)).sum())
        sorted_times = times[order[:dated]]
        rows = vectors[order]
        block = max(chunk_rows, _WINDOW_BLOCK_ROWS)
    else:
        order, dated, rows, block = np.arange(n), 0, vectors, n
    found_i, found_j, found_s = [], [], []
    compiled = not windowed and n >= KERNEL_ROWS
    if compiled:  # each pair multiplied once, by its later row, and offered to both rows' lists
        from .topk_kernel import all_top_neighbours

        r, c, s = all_top_neighbours(vectors, k, min_score, threads, tick)
        found_i.append(r)
        found_j.append(c)
        found_s.append(s)
    for blo in range(0, 0 if compiled else n, max(block, 1)):
        bhi = min(n, blo + block)
        if windowed and bhi <= dated:  # columns: rows dated within the window of this block, and the undated
            clo = int(np.searchsorted(sorted_times, sorted_times[blo] - window_seconds, side="left"))
            chi = int(np.searchsorted(sorted_times, sorted_times[bhi - 1] + window_seconds, side="right"))
            columns = np.r_[clo:chi, dated:n]
        else:
            columns = np.arange(n)
        xt = (rows[columns] if len(columns) < n else rows).T.tocsr()
        for lo in range(blo, bhi, chunk_rows):
            hi = min(bhi, lo + chunk_rows)
            prod = (rows[lo:hi] @ xt).tocoo()
            r, c, s = prod.row.astype(np.int64) + lo, prod.col.astype(np.int64), prod.data
            if windowed:  # back to positions
                r, c = order[r], order[columns[c]]
            keep = (s >= min_score) & (r != c)
            if windowed:
                dt = np.abs(times[r] - times[c])
                keep &= ~(dt > window_seconds)  # NaN (unknown date) keeps the pair
            r, c, s = r[keep], c[keep], s[keep]
            top_order = np.lexsort((c, -s, r))
            r, c, s = r[top_order], c[top_order], s[top_order]
            first = np.searchsorted(r, r, side="left")
            top = (np.arange(len(r)) - first) < k
            found_i.append(r[top])
            found_j.append(c[top])
            found_s.append(s[top])
            if tick is not None:
                tick(hi - lo)
    if not found_i:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    i, j, s = np.concatenate(found_i), np.concatenate(found_j), np.concatenate(found_s)
    if windowed:
        by_row = np.lexsort((j, -s, i))  # as if the rows had been taken in position order
        i, j, s = i[by_row], j[by_row], s[by_row]
    pairs = np.stack([np.minimum(i, j), np.maximum(i, j)], axis=1)
    pairs, first = np.unique(pairs, axis=0, return_index=True)
    return pairs.reshape(-1, 2), np.clip(s[first], 0.0, 1.0)
