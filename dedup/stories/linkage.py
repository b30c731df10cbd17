"""Average-linkage clustering along candidate edges, and each cluster's representative.

Single linkage over "same story" edges chains: one strong link between two
stories joins them, and a run of such links joins a month of news. Here an
edge merges two clusters only when the *average* cosine over all their cross
pairs is high enough, computed exactly from the clusters' sum vectors. The
same clustering makes events (articles, within a time window) and
storylines (event centroids, without one). Design and measurements:
``docs/stories.md``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from ..sparse import sp

from ..cluster.groups import UnionFind
from . import sums
from .sparse import KERNEL_ROWS, canonical, pair_dots

__all__ = ["average_linkage", "representatives"]

_TICK_EDGES = 10_000  # strong edges between two progress ticks of the linkage


class _Clusters:
    """Clusters of unit rows: union-find, and per root the sum vector, size and time span.

    A root is always its cluster's smallest position (:class:`UnionFind`
    links the larger root under the smaller). Sums are kept as (sorted column
    indices, values): scipy's binary ops on a 1 × millions row cost
    O(columns) each, these cost O(nonzeros).
    """

    def __init__(self, vectors: sp.csr_matrix, times: np.ndarray):
        n = vectors.shape[0]
        self.sets = UnionFind(n)
        self.size = np.ones(n, dtype=np.int64)
        self.tmin, self.tmax = times.copy(), times.copy()
        self._indptr, self._indices, self._data = vectors.indptr, vectors.indices, vectors.data
        self._sums: dict[int, sums.Sum] = {}  # roots of clusters with more than one row
        self.compiled = n >= KERNEL_ROWS  # as many rows as make the compiled kernels pay

    def find(self, x: int) -> int:
        return self.sets.find(x)

    def span(self, a: int, b: int) -> float:
        """Seconds from the earliest to the latest date of roots ``a`` and ``b`` together (NaN: a date unknown)."""
        return np.fmax(self.tmax[a], self.tmax[b]) - np.fmin(self.tmin[a], self.tmin[b])

    def _vec(self, root: int) -> sums.Sum:
        if root in self._sums:
            return self._sums[root]
        lo, hi = self._indptr[root], self._indptr[root + 1]
        return self._indices[lo:hi], self._data[lo:hi]

    def dot(self, a: int, b: int) -> float:
        """The dot product of the sum vectors of roots ``a`` and ``b``."""
        return sums.dot(self._vec(a), self._vec(b), self.compiled)

    def merge(self, a: int, b: int) -> None:
        """Join the clusters of roots ``a`` and ``b`` under the smaller."""
        a, b = min(a, b), max(a, b)
        self._sums[a] = sums.add(self._vec(a), self._vec(b), self.compiled)
        self._sums.pop(b, None)
        self.sets.union(a, b)
        self.size[a] += self.size[b]
        self.tmin[a] = np.fmin(self.tmin[a], self.tmin[b])
        self.tmax[a] = np.fmax(self.tmax[a], self.tmax[b])


def average_linkage(
    vectors: sp.csr_matrix,
    pairs: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    linkage: float,
    initial: np.ndarray | None = None,
    times: np.ndarray | None = None,
    max_span_seconds: float | None = None,
    tick: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Cluster rows along candidate edges with an average-linkage guard against chaining.

    Edges with ``scores >= threshold`` are taken in decreasing score order (ties
    by pair); an edge merges its two clusters only when the mean cosine over
    all cross pairs, ``(S_a · S_b) / (n_a n_b)`` with ``S`` the sum of the
    cluster's unit rows, is at least ``linkage``, and (with ``times``) the
    merged cluster spans at most ``max_span_seconds``.

    Args:
        vectors: ``(n, d)`` L2-normalized rows.
        pairs, scores: candidate edges ``(m, 2)`` and their scores ``(m,)``.
        threshold: minimum edge score.
        linkage: minimum average cross-cluster cosine.
        initial: ``(n,)`` labels merged first, without the score and linkage
            tests (duplicate groups): the members of a label in time order
            (unknown dates last), each joining the cluster of the one before
            unless that would span more than ``max_span_seconds``.
        times: ``(n,)`` seconds, NaN when unknown.
        max_span_seconds: the longest time span a cluster may cover.
        tick: called with how many strong edges were taken, now and then
            (progress: ``(scores >= threshold).sum()`` in all).

    Returns:
        ``(n,)`` labels = smallest member position.

    >>> import scipy.sparse as sp
    >>> x = sp.csr_matrix(np.array([[1.0, 0, 0], [0.8, 0.6, 0], [0, 0.6, 0.8], [0, 0, 1.0]]))
    >>> p = np.array([[0, 1], [1, 2], [2, 3]])
    >>> average_linkage(x, p, np.array([0.8, 0.36, 0.8]), 0.3, 0.5).tolist()
    [0, 0, 2, 2]
    """
    vectors = canonical(vectors)
    n = vectors.shape[0]
    t = np.full(n, np.nan) if times is None else np.asarray(times, dtype=np.float64)
    clusters = _Clusters(vectors, t)

    if initial is not None:
        # In time order, so that a group too long for the window is cut into consecutive runs.
        order = np.lexsort((np.arange(n), np.where(np.isnan(t), np.inf, t), initial))
        lab = initial[order]
        for k in np.flatnonzero(lab[1:] == lab[:-1]) + 1:
            a, b = clusters.find(int(order[k - 1])), clusters.find(int(order[k]))
            if a == b:
                continue
            if max_span_seconds is not None and clusters.span(a, b) > max_span_seconds:
                continue  # False when a date is unknown
            clusters.merge(a, b)

    strong = np.flatnonzero(scores >= threshold)
    strong = strong[np.lexsort((pairs[strong, 1], pairs[strong, 0], -scores[strong]))]
    # A cluster only changes by growing, so (root, size) names its state: two clusters
    # that failed the linkage test fail it again until one of them grows, and many
    # edges join the same two clusters.
    rejected: set[tuple[int, int, int, int]] = set()
    size = clusters.size
    for done, e in enumerate(strong.tolist(), start=1):
        if tick is not None and done % _TICK_EDGES == 0:
            tick(_TICK_EDGES)
        a, b = clusters.find(int(pairs[e, 0])), clusters.find(int(pairs[e, 1]))
        if a == b:
            continue
        if max_span_seconds is not None and clusters.span(a, b) > max_span_seconds:
            continue  # False when a date is unknown
        state = (min(a, b), int(size[min(a, b)]), max(a, b), int(size[max(a, b)]))
        if state in rejected:
            continue
        if clusters.dot(a, b) / (size[a] * size[b]) < linkage:
            rejected.add(state)
            continue
        clusters.merge(a, b)
    if tick is not None and len(strong) % _TICK_EDGES:
        tick(len(strong) % _TICK_EDGES)
    return clusters.sets.labels()  # a root is always its cluster's smallest position


def representatives(vectors: sp.csr_matrix, labels: np.ndarray, inverse: np.ndarray, sums: sp.csr_matrix) -> np.ndarray:
    """Per label, the member with the largest dot product with the cluster sum (ties: smallest).

    Args:
        vectors: ``(n, d)`` rows.
        labels: ``(n,)`` cluster labels.
        inverse: ``(n,)`` each row's cluster as a row of ``sums``.
        sums: ``(c, d)`` the cluster sums of ``vectors``.

    Returns:
        ``(n,)``: at a label ``e``, the position of its representative; -1 elsewhere.

    >>> x = sp.csr_matrix(np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]]))
    >>> representatives(x, np.array([0, 0, 0]), np.array([0, 0, 0]), sp.csr_matrix(x.sum(axis=0))).tolist()
    [1, -1, -1]
    """
    n = len(labels)
    rep = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return rep
    closeness = np.zeros(n)
    shared = np.flatnonzero(np.bincount(inverse)[inverse] > 1)  # a lone member is its own representative
    closeness[shared] = pair_dots(sums, inverse[shared], vectors, shared)
    # Rounded, so that equal closeness (both members of a pair: 1 + x_a · x_b) is a
    # tie decided by position, not by the last bits of two summation orders.
    order = np.lexsort((np.arange(n), -np.round(closeness, 9), labels))
    first = np.ones(n, dtype=bool)
    first[1:] = labels[order][1:] != labels[order][:-1]
    rep[labels[order][first]] = order[first]
    return rep
