"""The duplicate graph between articles: each verified edge between two texts, carried to their exact copies across groups.

Verification compares representatives (one per normalized text), and the
output names an edge once, between the first copies of its two texts. Inside
one duplicate group nothing more is needed: the group already says that every
copy of one is a copy of the other. Across groups it is not: a short item
kept apart from the roundup that holds it (a group holds the copies of one
text) is linked to the roundup only by the edge, so an exact copy of the item
would be linked to nothing. :func:`copy_edges` lists those pairs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["copy_edges"]


def copy_edges(rep_pairs: np.ndarray, rep_of: np.ndarray, rep_pos: np.ndarray,
               group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The article pairs an edge between two texts adds when their copies sit in different groups.

    Args:
        rep_pairs: ``(m, 2)`` verified edges between representatives.
        rep_of: ``(n,)`` each article's representative, -1 for none (skipped).
        rep_pos: ``(R,)`` each representative's first article (where the edge is named).
        group: ``(n,)`` duplicate group label, -1 for an article in none.

    Returns:
        ``(edge, pairs)``: for each added pair the index of its edge in
        ``rep_pairs``, and the ``(k, 2)`` article positions in the edge's
        orientation; every pair of copies but the first copies' (already
        named), for the edges whose texts are not in one group; ordered by
        edge, then positions.

    Texts 0 and 2 share a group (articles 0, 2 and 4); text 1 (articles 1 and
    3) is apart, linked to text 0 by edge 0 only:

    >>> rep_of = np.array([0, 1, 0, 1, 2])
    >>> edge, pairs = copy_edges(np.array([[0, 1], [0, 2]]), rep_of, np.array([0, 1, 4]), np.array([0, 1, 0, 1, 0]))
    >>> edge.tolist(), pairs.tolist()
    ([0, 0, 0], [[0, 3], [2, 1], [2, 3]])
    """
    rep_pairs = np.asarray(rep_pairs, dtype=np.int64).reshape(-1, 2)
    none = (np.zeros(0, np.int64), np.zeros((0, 2), np.int64))
    if len(rep_pairs) == 0:
        return none
    copies = np.bincount(rep_of[rep_of >= 0], minlength=len(rep_pos))
    first = rep_pos[rep_pairs]
    g = group[first]
    apart = (g[:, 0] < 0) | (g[:, 0] != g[:, 1])
    todo = np.flatnonzero(apart & ((copies[rep_pairs[:, 0]] > 1) | (copies[rep_pairs[:, 1]] > 1)))
    if len(todo) == 0:
        return none
    valid = np.flatnonzero(rep_of >= 0)
    by_rep = valid[np.argsort(rep_of[valid], kind="stable")]  # each text's copies, in input order
    starts = np.zeros(len(rep_pos) + 1, dtype=np.int64)
    np.cumsum(copies, out=starts[1:])
    edges, parts = [], []
    for e in todo.tolist():
        ra, rb = rep_pairs[e].tolist()
        a = by_rep[starts[ra]:starts[ra + 1]]
        b = by_rep[starts[rb]:starts[rb + 1]]
        both = np.stack([np.repeat(a, len(b)), np.tile(b, len(a))], axis=1)[1:]  # the first row is the named pair
        edges.append(np.full(len(both), e, dtype=np.int64))
        parts.append(both)
    return np.concatenate(edges), np.concatenate(parts)
