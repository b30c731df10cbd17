"""Compiled star grouping for millions of verified edges (numba).

:func:`star_centers` gives exactly what the NumPy path of
:func:`dedup.cluster.groups.star_groups` gives (tested on random graphs with
tied strengths, containment and fixed groups), without its two costs at scale:

* **memory**: the NumPy path sorts every edge end by (article, strength,
  neighbour) with ``lexsort``: at 13M edges (a feed of large copy families)
  its keys, order and sorted copies are ~0.7 GB beside the edges. Here the
  adjacency is one ``int32`` edge number per edge end (a counting sort by
  article), ~4 bytes an end;
* **time**: the NumPy path walks every edge end in Python (~10 s for 26M
  ends). Here the walk is compiled, and an article's neighbours are ordered
  only when it opens a group (most members of a large family never do).

numba compiles the kernel once per machine (cached beside this module; the
functions are module-level, so the cache key is the same in every process)
and each process pays numba's import and the cache load (~1 s), so the flow
imports this module only for many edges
(:data:`dedup.cluster.groups.KERNEL_EDGES`); a small feed never loads numba.
"""

from __future__ import annotations

import numpy as np

from ..jit import numba

__all__ = ["star_centers"]


@numba.njit(cache=True, nogil=True)
def _before(e, v, f, w, strength):  # type: ignore[no-untyped-def]
    """Edge ``e`` to ``v`` comes before edge ``f`` to ``w``: stronger first, then the smaller neighbour."""
    se, sf = strength[e], strength[f]
    if np.isnan(se) or np.isnan(sf):  # NaN last, as NumPy sorts it
        if np.isnan(se) and np.isnan(sf):
            return v < w
        return np.isnan(sf)
    if se != sf:
        return se > sf
    return v < w


@numba.njit(cache=True, nogil=True)
def _order_segment(adj, lo, hi, c, pairs, strength):  # type: ignore[no-untyped-def]
    """Sort ``adj[lo:hi]`` (edge numbers of article ``c``) by ``_before`` (insertion sort, or a merge sort when long)."""
    m = hi - lo
    if m < 2:
        return
    seg = adj[lo:hi].copy()
    nbr = np.empty(m, dtype=np.int64)
    for k in range(m):
        e = seg[k]
        nbr[k] = pairs[e, 0] + pairs[e, 1] - c
    idx = np.arange(m)
    if m <= 32:
        for k in range(1, m):
            x = idx[k]
            p = k - 1
            while p >= 0 and _before(seg[x], nbr[x], seg[idx[p]], nbr[idx[p]], strength):
                idx[p + 1] = idx[p]
                p -= 1
            idx[p + 1] = x
    else:  # bottom-up merge sort of positions (stable; the key is a total order, pairs being unique)
        tmp = np.empty(m, dtype=np.int64)
        width = 1
        while width < m:
            for start in range(0, m, 2 * width):
                mid = min(start + width, m)
                end = min(start + 2 * width, m)
                p, q, o = start, mid, start
                while p < mid and q < end:
                    if _before(seg[idx[q]], nbr[idx[q]], seg[idx[p]], nbr[idx[p]], strength):
                        tmp[o] = idx[q]
                        q += 1
                    else:
                        tmp[o] = idx[p]
                        p += 1
                    o += 1
                while p < mid:
                    tmp[o] = idx[p]
                    p += 1
                    o += 1
                while q < end:
                    tmp[o] = idx[q]
                    q += 1
                    o += 1
            for k in range(m):
                idx[k] = tmp[k]
            width *= 2
    for k in range(m):
        adj[lo + k] = seg[idx[k]]


@numba.njit(cache=True, nogil=True)
def _holds(e, c, pairs, contained, contain_ij, contain_ji, part):  # type: ignore[no-untyped-def]
    """The other end of edge ``e`` is a part of ``c``: a short item inside it, or a near copy ``part`` times smaller."""
    if not contained[e]:
        if c == pairs[e, 0]:
            return contain_ji[e] > 0 and contain_ji[e] >= part * contain_ij[e]
        return contain_ij[e] > 0 and contain_ij[e] >= part * contain_ji[e]
    if c == pairs[e, 0]:
        return contain_ji[e] > contain_ij[e]
    return contain_ij[e] >= contain_ji[e]


@numba.njit(cache=True, nogil=True)
def _item_family(c, lo, hi, adj, starts, pairs, contained, contain_ij, contain_ji, cover, group, stamp, queue, part):  # type: ignore[no-untyped-def]
    """Mark (``stamp == c + 1``) the free items inside ``c`` that are copies of one text, as the NumPy path's
    ``_item_family`` chooses them; return whether that is fewer than all of them (``stamp == -(c + 1)``: the others)."""
    n_free = 0
    seed = -1
    best = -np.inf
    for k in range(lo, hi):
        e = adj[k]
        v = pairs[e, 0] + pairs[e, 1] - c
        if group[v] >= 0 or not _holds(e, c, pairs, contained, contain_ij, contain_ji, part):
            continue
        stamp[v] = -(c + 1)
        n_free += 1
        if seed < 0:
            seed = v
        if cover[e] > best:
            seed = v
            best = cover[e]
    if n_free < 2:
        return False
    stamp[seed] = c + 1
    queue[0] = seed
    return _flood(c, queue, 1, 1, n_free, starts, adj, pairs, stamp) < n_free


@numba.njit(cache=True, nogil=True)
def _flood(c, queue, tail, reached, limit, starts, adj, pairs, stamp):  # type: ignore[no-untyped-def]
    """From the ``tail`` articles queued, stamp ``c + 1`` on every item stamped ``-(c + 1)`` that verified edges reach
    (breadth first), until ``reached`` (counting them) gets to ``limit``; returns ``reached``."""
    head = 0
    while head < tail and reached < limit:
        u = queue[head]
        head += 1
        for k in range(starts[u], starts[u + 1]):
            f = adj[k]
            w = pairs[f, 0] + pairs[f, 1] - u
            if stamp[w] == -(c + 1):
                stamp[w] = c + 1
                queue[tail] = w
                tail += 1
                reached += 1
    return reached


@numba.njit(cache=True, nogil=True)
def _stored_family(c, lo, hi, adj, starts, pairs, contained, contain_ij, contain_ji, group, stamp, queue, seeds, part):  # type: ignore[no-untyped-def]
    """Mark (``stamp == c + 1``) the free items inside the stored keeper ``c`` that verified edges among them join to
    ``seeds`` (the members here of the item family its stored group holds), as the NumPy path's ``_stored_family``
    chooses them; the other free items inside it ``stamp == -(c + 1)``."""
    for k in range(lo, hi):
        e = adj[k]
        v = pairs[e, 0] + pairs[e, 1] - c
        if group[v] < 0 and _holds(e, c, pairs, contained, contain_ij, contain_ji, part):
            stamp[v] = -(c + 1)
    tail = 0
    for s in seeds:  # a seed may be a free item itself: it joins, and is never queued twice (at most n entries)
        if stamp[s] == -(c + 1):
            stamp[s] = c + 1
        queue[tail] = s
        tail += 1
    _flood(c, queue, tail, 0, len(queue) + 1, starts, adj, pairs, stamp)


@numba.njit(cache=True, nogil=True)
def _centers(n, pairs, contained, contain_ij, contain_ji, strength, visit, group, fixed, cover, part, family,  # type: ignore[no-untyped-def]
             family_nodes, family_keys):
    m = len(pairs)
    starts = np.zeros(n + 1, dtype=np.int64)
    for e in range(m):
        starts[pairs[e, 0] + 1] += 1
        starts[pairs[e, 1] + 1] += 1
    for x in range(n):
        starts[x + 1] += starts[x]
    fill = starts[:-1].copy()
    adj = np.empty(2 * m, dtype=np.int32)
    for e in range(m):
        a, b = pairs[e, 0], pairs[e, 1]
        adj[fill[a]] = e
        fill[a] += 1
        adj[fill[b]] = e
        fill[b] += 1
    stamp = np.zeros(n, dtype=np.int64)  # per keeper c: c + 1 on the chosen item family, -(c + 1) on the other items
    queue = np.empty(n, dtype=np.int64)
    for t in range(n):
        c = visit[t]
        if group[c] >= 0 and fixed[c] != c:
            continue
        group[c] = c
        lo, hi = starts[c], starts[c + 1]
        _order_segment(adj, lo, hi, c, pairs, strength)
        if family[c] == c:  # a stored keeper whose group holds an item family: only copies of that item join
            first, last = np.searchsorted(family_keys, c), np.searchsorted(family_keys, c + 1)
            _stored_family(c, lo, hi, adj, starts, pairs, contained, contain_ij, contain_ji, group, stamp, queue,
                           family_nodes[first:last], part)
            split = True
        else:
            split = _item_family(c, lo, hi, adj, starts, pairs, contained, contain_ij, contain_ji, cover, group, stamp,
                                 queue, part)
        took_container = False
        for k in range(lo, hi):
            e = adj[k]
            v = pairs[e, 0] + pairs[e, 1] - c
            if group[v] >= 0:
                continue
            # c is the contained side of a CONTAINED edge: only one container joins
            if contained[e] and ((c == pairs[e, 0] and contain_ij[e] >= contain_ji[e])
                                 or (c == pairs[e, 1] and contain_ji[e] > contain_ij[e])):
                if took_container:
                    continue
                took_container = True
            elif split and stamp[v] == -(c + 1):  # an item of another text inside c
                continue
            group[v] = c
    return group


def star_centers(n: int, pairs: np.ndarray, contained: np.ndarray, contain_ij: np.ndarray, contain_ji: np.ndarray,
                 strength: np.ndarray, visit: np.ndarray, fixed: np.ndarray | None,
                 cover: np.ndarray | None = None, part: float = np.inf, family: np.ndarray | None = None) -> np.ndarray:
    """Each article's group center, by the rule of :func:`~dedup.cluster.groups.star_groups`.

    Args:
        n: number of articles; pairs: ``(m, 2)`` verified edges, unique.
        contained: ``(m,)`` whether the edge is a CONTAINED one; contain_ij, contain_ji, strength: ``(m,)``.
        visit: ``(n,)`` the articles in the order they may open a group.
        fixed: ``(n,)`` groups already decided (a history index), -1 for the others; or None.
        cover: ``(m,)`` the key choosing the one item family a roundup keeper takes in; None: ``strength``.
        part: a near copy this many times smaller than the keeper is a part of it (:data:`dedup.cluster.groups.PART_RATIO`;
            the default: none is).
        family: ``(n,)`` the item family a stored keeper's group holds (see :func:`~dedup.cluster.groups.star_groups`); or None.
    """
    if len(pairs) >= 2**31:
        raise ValueError(f"star_centers: {len(pairs)} edges (at most 2**31 - 1)")
    group = np.full(n, -1, dtype=np.int64) if fixed is None else np.asarray(fixed, dtype=np.int64).copy()
    fixed_arr = np.full(n, -1, dtype=np.int64) if fixed is None else np.asarray(fixed, dtype=np.int64)
    family = np.full(n, -1, dtype=np.int64) if family is None else np.ascontiguousarray(family, dtype=np.int64)
    # each stored keeper's family members (not itself), found by binary search: sorted by keeper
    members = np.flatnonzero((family >= 0) & (family != np.arange(n)))
    members = members[np.argsort(family[members], kind="stable")]
    return _centers(
        n, np.ascontiguousarray(pairs, dtype=np.int64), np.ascontiguousarray(contained, dtype=np.bool_),
        np.ascontiguousarray(contain_ij, dtype=np.float64), np.ascontiguousarray(contain_ji, dtype=np.float64),
        np.ascontiguousarray(strength, dtype=np.float64), np.ascontiguousarray(visit, dtype=np.int64), group, fixed_arr,
        np.ascontiguousarray(strength if cover is None else cover, dtype=np.float64), float(part),
        family, members.astype(np.int64), family[members],
    )
