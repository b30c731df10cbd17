"""The duplicate graph between articles: each verified edge between two texts, carried to their exact copies.

Verification compares representatives (one per normalized text), and the
output names an edge once, between the first copies of its two texts. Inside
one duplicate group that says enough for a ``near`` edge: the group already
says that every copy of one is a copy of the other. Across groups it does
not: a short item kept apart from the roundup that holds it (a group holds
the copies of one text) is linked to the roundup only by the edge, so an
exact copy of the item would be linked to nothing. And a ``contained`` edge
is what names an article's containers (``contained_in``), so every exact copy
of the item needs it, in a group or not. :func:`copy_edges` lists those pairs.

With a history index a stored text is compared once, through the one copy
the run meets; its other stored exact copies (an exact copy in its own run
shares its representative) get the same edges from
:func:`with_stored_copies`, so ``pairs.jsonl`` names every article
``contained_in`` names, as one batch over all the feeds would.
"""

from __future__ import annotations

import numpy as np

from ..verify import CONTAINED

__all__ = ["COPY_PAIRS_PER_EDGE", "carried_edges", "copy_edges", "with_stored_copies"]

# Past this many pairs of copies, an edge is carried to each copy once, against the other text's first copy
# (two texts with 2,000 exact copies each would otherwise add four million lines for one edge).
COPY_PAIRS_PER_EDGE = 4096


def carried_edges(relation: np.ndarray, pair_groups: np.ndarray) -> np.ndarray:
    """Which edges are carried to their texts' other exact copies: every ``contained`` edge, and those whose two ends
    are not in one group (``pair_groups``: ``(m, 2)`` the group of each end, -1 for none).

    >>> carried_edges(np.array([2, 3, 2, 2]), np.array([[0, 0], [0, 0], [0, 3], [-1, -1]])).tolist()
    [False, True, True, True]
    """
    g = np.asarray(pair_groups, dtype=np.int64).reshape(-1, 2)
    return (np.asarray(relation) == CONTAINED) | (g[:, 0] < 0) | (g[:, 0] != g[:, 1])


def copy_edges(rep_pairs: np.ndarray, relation: np.ndarray, rep_of: np.ndarray, rep_pos: np.ndarray,
               group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The article pairs an edge between two texts adds for their other exact copies.

    Args:
        rep_pairs: ``(m, 2)`` verified edges between representatives.
        relation: ``(m,)`` their relation codes.
        rep_of: ``(n,)`` each article's representative, -1 for none (skipped).
        rep_pos: ``(R,)`` each representative's first article (where the edge is named).
        group: ``(n,)`` duplicate group label, -1 for an article in none.

    Returns:
        ``(edge, pairs)``: for each added pair the index of its edge in
        ``rep_pairs``, and the ``(k, 2)`` article positions in the edge's
        orientation. Edges carried: every ``contained`` edge, and the others
        whose two texts are not in one group. An edge adds every pair of
        copies but the first copies' (already named), or, past
        :data:`COPY_PAIRS_PER_EDGE`, each other copy once against the other
        text's first copy. Ordered by edge, then positions.

    Texts 0 and 2 share a group (articles 0, 2 and 4); text 1 (articles 1 and
    3) is apart, linked to text 0 by a near edge (1) only:

    >>> rep_of = np.array([0, 1, 0, 1, 2])
    >>> edge, pairs = copy_edges(np.array([[0, 1], [0, 2]]), np.array([1, 1]), rep_of, np.array([0, 1, 4]),
    ...                          np.array([0, 1, 0, 1, 0]))
    >>> edge.tolist(), pairs.tolist()
    ([0, 0, 0], [[0, 3], [2, 1], [2, 3]])
    """
    rep_pairs = np.asarray(rep_pairs, dtype=np.int64).reshape(-1, 2)
    none = (np.zeros(0, np.int64), np.zeros((0, 2), np.int64))
    if len(rep_pairs) == 0:
        return none
    copies = np.bincount(rep_of[rep_of >= 0], minlength=len(rep_pos))
    carried = carried_edges(relation, group[rep_pos[rep_pairs]])
    ca, cb = copies[rep_pairs[:, 0]], copies[rep_pairs[:, 1]]
    todo = np.flatnonzero(carried & ((ca > 1) | (cb > 1)))
    if len(todo) == 0:
        return none
    valid = np.flatnonzero(rep_of >= 0)
    by_rep = valid[np.argsort(rep_of[valid], kind="stable")]  # each text's copies, in input order
    starts = np.zeros(len(rep_pos) + 1, dtype=np.int64)
    np.cumsum(copies, out=starts[1:])
    ra, rb, ca, cb = rep_pairs[todo, 0], rep_pairs[todo, 1], ca[todo], cb[todo]
    full = ca * cb <= COPY_PAIRS_PER_EDGE
    # every pair of copies: pair t of an edge is (copy t // cb of a, copy t % cb of b)
    k = np.where(full, ca * cb, 0)
    e_full = np.repeat(np.arange(len(todo)), k)
    t = np.arange(int(k.sum()), dtype=np.int64) - np.repeat(np.cumsum(k) - k, k)
    a_full = by_rep[starts[ra[e_full]] + t // cb[e_full]]
    b_full = by_rep[starts[rb[e_full]] + t % cb[e_full]]
    # past the cap: the other copies of a against b's first, then a's first against the other copies of b
    ka, kb = np.where(full, 0, ca), np.where(full, 0, cb)
    e_a, e_b = np.repeat(np.arange(len(todo)), ka), np.repeat(np.arange(len(todo)), kb)
    ta = np.arange(int(ka.sum()), dtype=np.int64) - np.repeat(np.cumsum(ka) - ka, ka)
    tb = np.arange(int(kb.sum()), dtype=np.int64) - np.repeat(np.cumsum(kb) - kb, kb)
    a_side = np.stack([by_rep[starts[ra[e_a]] + ta], by_rep[starts[rb[e_a]]]], axis=1)
    b_side = np.stack([by_rep[starts[ra[e_b]]], by_rep[starts[rb[e_b]] + tb]], axis=1)
    edge = np.concatenate([e_full, e_a, e_b])
    pairs = np.concatenate([np.stack([a_full, b_full], axis=1), a_side, b_side])
    first = np.stack([rep_pos[ra[edge]], rep_pos[rb[edge]]], axis=1)
    keep = ~(pairs == first).all(axis=1)  # the first copies' pair is the one already named
    edge, pairs = edge[keep], pairs[keep]
    order = np.lexsort((pairs[:, 1], pairs[:, 0], edge))
    return todo[edge[order]], pairs[order]


def with_stored_copies(copy_edge: np.ndarray, copy_pairs: np.ndarray, pairs: np.ndarray, carried: np.ndarray,
                       copies: dict[int, list[int]], rep_of: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`copy_edges`' pairs, and those a carried edge adds for the stored exact copies of its stored end.

    Args:
        copy_edge, copy_pairs: what :func:`copy_edges` returned, in result positions.
        pairs: ``(m, 2)`` the verified edges in result positions: a feed article ``< n``, a stored one ``n + ref``
            (an edge has at least one end in the feed: stored articles are not compared with each other).
        carried: ``(m,)`` :func:`carried_edges` of them.
        copies: ref of a stored end → refs of the other stored articles of its text
            (:attr:`dedup.results.HistoryRefs.copies`).
        rep_of: ``(n,)`` each feed article's text (representative), -1 for none.
        n: the feed's size.

    Returns:
        ``(edge, pairs)`` as :func:`copy_edges` returns them, ordered by edge, then positions: a carried edge between
        a stored text and a feed text adds each stored copy against every feed copy of the other text (past
        :data:`COPY_PAIRS_PER_EDGE` pairs, against its first copy only), in the edge's orientation; a pair listed
        already (a stored copy the run met has its own edge) is not listed again.

    Edge 0 joins the stored article ``n + 0`` (its exact copy ``n + 1`` is stored too) and feed article 0, whose
    text article 2 copies; edge 1 is not carried:

    >>> e, p = with_stored_copies(np.zeros(0, np.int64), np.zeros((0, 2), np.int64), np.array([[3, 0], [0, 1]]),
    ...                           np.array([True, False]), {0: [1]}, np.array([0, 1, 0]), 3)
    >>> e.tolist(), p.tolist()
    ([0, 0], [[4, 0], [4, 2]])
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    todo = np.flatnonzero(np.asarray(carried, dtype=bool) & (pairs >= n).any(axis=1)) if copies else []
    edges: list[int] = []
    more: list[tuple[int, int]] = []
    by_rep = starts = None
    for k in todo.tolist() if len(todo) else []:
        a, b = pairs[k].tolist()
        stored_first = a >= n
        s, f = (a, b) if stored_first else (b, a)
        same = copies.get(s - n, ())
        if not same:
            continue
        if by_rep is None:  # each text's feed copies, in input order (sorted once, when a stored copy needs them)
            valid = np.flatnonzero(rep_of >= 0)
            by_rep = valid[np.argsort(rep_of[valid], kind="stable")]
            starts = np.searchsorted(rep_of[by_rep], np.arange(int(rep_of.max()) + 2))
        text = int(rep_of[f])
        fs = by_rep[starts[text] : starts[text + 1]].tolist()
        if (1 + len(same)) * len(fs) > COPY_PAIRS_PER_EDGE:
            fs = [f]
        for c in same:
            for g in fs:
                more.append((n + c, g) if stored_first else (g, n + c))
                edges.append(k)
    if more:  # a stored copy the run met too has its own edge (a later run's exact copy, its own representative)
        seen = {(min(a, b), max(a, b)) for a, b in pairs.tolist() + np.asarray(copy_pairs).reshape(-1, 2).tolist()}
        keep = []
        for t, (a, b) in enumerate(more):
            key = (min(a, b), max(a, b))
            if key not in seen:
                seen.add(key)
                keep.append(t)
        edges, more = [edges[t] for t in keep], [more[t] for t in keep]
    if not more:
        return copy_edge, copy_pairs
    edge = np.concatenate([np.asarray(copy_edge, dtype=np.int64), np.array(edges, dtype=np.int64)])
    both = np.concatenate([np.asarray(copy_pairs, dtype=np.int64).reshape(-1, 2), np.array(more, dtype=np.int64)])
    order = np.lexsort((both[:, 1], both[:, 0], edge))
    return edge[order], both[order]
