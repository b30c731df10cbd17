"""Duplicate groups from verified edges, guarded against chaining, and keepers.

Grouping has two steps:

1. Symmetric edges (``exact``, ``near``) are merged with union-find.
2. Each ``contained`` edge points from the shorter article (the one mostly
   inside the other) to its container. Every group that is contained
   somewhere joins **one** container group only: the one holding it with the
   highest containment (ties: the smallest position). So two different
   roundups that each reprint the same short wire item are not thereby made
   copies of each other: the item joins one of them, the roundups stay apart.

Star grouping (:func:`star_groups`, the default) holds the same guard both
ways: a group holds the copies of one text, so a roundup keeper takes in the
copies of one of its items only.

Group labels are the smallest member position, so they do not depend on the
order edges arrive in. The keeper of a group is chosen by a policy key with the
input position as the final tie-break.
"""

from __future__ import annotations

import numpy as np

from ..verify import CONTAINED, EXACT, NEAR

__all__ = ["KERNEL_EDGES", "UnionFind", "choose_keepers", "copy_centers", "copy_groups", "duplicate_groups", "judged_at_centers", "onto_centers", "parts", "star_groups"]

# From this many edges star grouping runs compiled (:mod:`dedup.cluster.star_kernel`); below, numba's import
# and cache load (~1.3 s in the parent) cost more than the walk in Python (0.9 s at 1.3M edges).
KERNEL_EDGES = 3_000_000
# A near copy whose shingle set is at most 1 / PART_RATIO of the keeper's is a part of it, as a contained item is,
# when a keeper's items are split into texts: a report of two meetings keeps one meeting's copies (the dev labels,
# end to end out of fold: 3 false joins of two texts fewer, 1 copy fewer; 1.5 and 2 were tried, results/fit_decision.json)
PART_RATIO = 1.25


class UnionFind:
    """Disjoint sets over ``0..n-1``; iterative find with path halving.

    The root of a set is always its smallest element.

    >>> uf = UnionFind(5)
    >>> uf.union(3, 4), uf.union(4, 1)
    (3, 1)
    >>> uf.labels().tolist()
    [0, 1, 2, 1, 1]
    """

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        return ra

    def labels(self) -> np.ndarray:
        return np.array([self.find(x) for x in range(len(self.parent))], dtype=np.int64)


def duplicate_groups(
    n: int,
    pairs: np.ndarray,
    relation: np.ndarray,
    contain_ij: np.ndarray,
    contain_ji: np.ndarray,
) -> np.ndarray:
    """Group labels ``(n,)`` from verified pairs.

    Args:
        n: number of articles.
        pairs: ``(m, 2)`` article positions.
        relation: ``(m,)`` relation codes from :func:`dedup.verify.decide`.
        contain_ij, contain_ji: ``(m,)`` containment of i in j and of j in i.

    Returns:
        For each article the smallest position in its group (itself if alone).

    >>> p = np.array([[0, 2], [1, 2]])
    >>> rel = np.array([CONTAINED, CONTAINED])
    >>> duplicate_groups(3, p, rel, np.array([0.1, 0.1]), np.array([0.9, 0.8])).tolist()
    [0, 1, 0]
    """
    uf = UnionFind(n)
    sym = (relation == EXACT) | (relation == NEAR)
    for a, b in pairs[sym]:
        uf.union(int(a), int(b))
    cont = relation == CONTAINED
    best: dict[int, tuple[float, int]] = {}
    for (a, b), cab, cba in zip(pairs[cont], contain_ij[cont], contain_ji[cont]):
        small, big, score = (int(a), int(b), float(cab)) if cab >= cba else (int(b), int(a), float(cba))
        rs, rb = uf.find(small), uf.find(big)
        if rs == rb:
            continue
        cur = best.get(rs)
        if cur is None or score > cur[0] or (score == cur[0] and rb < cur[1]):
            best[rs] = (score, rb)
    for rs in sorted(best):
        uf.union(rs, best[rs][1])
    return uf.labels()


def copy_groups(
    group: np.ndarray,
    pairs: np.ndarray,
    relation: np.ndarray,
    contain_ij: np.ndarray,
    contain_ji: np.ndarray,
) -> np.ndarray:
    """Who copied whom, as labels ``(n,)``: the keeper groups joined with :func:`duplicate_groups`.

    A keeper group (star) holds only what was verified against its keeper,
    so two copies of one text may sit in two groups (each verified against
    a different keeper). For events, what counts is that the texts are
    copies: the verified edges grouped transitively, with the containment
    guard (a short item joins only its best container, so one wire item
    reprinted in two roundups does not join them). Every keeper group stays
    whole inside one label.

    Args:
        group: ``(n,)`` keeper-group labels, -1 for an article in none.
        pairs, relation, contain_ij, contain_ji: verified edges (see :func:`duplicate_groups`).

    Returns:
        ``(n,)`` smallest position of each article's label.

    >>> p = np.array([[0, 1], [1, 2]])
    >>> rel = np.array([NEAR, NEAR])
    >>> copy_groups(np.array([0, 0, 2, -1]), p, rel, np.ones(2), np.ones(2)).tolist()
    [0, 0, 0, 3]
    """
    n = len(group)
    uf = UnionFind(n)
    union = duplicate_groups(n, pairs, relation, contain_ij, contain_ji)
    for a, b in zip(np.arange(n).tolist(), union.tolist()):
        uf.union(a, b)
    for a in np.flatnonzero(group >= 0).tolist():
        uf.union(a, int(group[a]))
    return uf.labels()


def parts(relation: np.ndarray, contain_ij: np.ndarray, contain_ji: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per edge ``(i, j)``: whether ``i`` is a part of ``j`` (held by it), and whether ``j`` is a part of ``i``.

    A part is the contained side of a CONTAINED edge, or a near copy
    :data:`PART_RATIO` times smaller (the sizes' ratio is the containments':
    ``|i| / |j| = c_ji / c_ij``).

    >>> [x.tolist() for x in parts(np.array([CONTAINED, NEAR]), np.array([0.9, 0.9]), np.array([0.2, 0.5]))]
    [[True, True], [False, False]]
    """
    contained = relation == CONTAINED
    i_part = (contained & (contain_ij >= contain_ji)) | (~contained & (contain_ij > 0) & (contain_ij >= PART_RATIO * contain_ji))
    j_part = (contained & (contain_ji > contain_ij)) | (~contained & (contain_ji > 0) & (contain_ji >= PART_RATIO * contain_ij))
    return i_part, j_part


def copy_centers(fixed: np.ndarray | None, digest: np.ndarray) -> np.ndarray | None:
    """For each representative, the center of its stored group when it holds that center's very text (equal
    ``digest``), else itself; None when none does (or no index: ``fixed`` None). See :func:`onto_centers`.

    >>> copy_centers(np.array([0, 0, 2, 0, -1]), np.array([7, 7, 8, 9, 7])).tolist()
    [0, 0, 2, 3, 4]
    """
    if fixed is None:
        return None
    at = np.arange(len(fixed))
    copy = (fixed >= 0) & (fixed != at)
    copy[copy] = digest[copy] == digest[fixed[copy]]
    return np.where(copy, fixed, at) if copy.any() else None


def judged_at_centers(pairs: np.ndarray, center: np.ndarray | None) -> np.ndarray:
    """The candidate pairs ``(k, 2)`` with an end at a center that :func:`copy_centers` moves copies onto (read before
    verification: they are the pairs its own verdict was asked for)."""
    pairs = np.asarray(pairs).reshape(-1, 2)
    if center is None or not len(pairs):
        return np.zeros((0, 2), np.int64)
    targets = np.unique(center[center != np.arange(len(center))])
    return pairs[np.isin(pairs, targets).any(axis=1)].astype(np.int64)


def onto_centers(pairs: np.ndarray, center: np.ndarray | None, judged: np.ndarray) -> np.ndarray:
    """Verified edges ``(m, 2)`` with an end that is an exact copy of its stored group's center moved onto the center.

    With a history index, the run meets the stored texts its candidates find
    (within ``--window-days``, when asked) and the centers of their groups. A
    member of a stored group never takes a new text in (``fixed``, see
    :func:`star_groups`): only its center does. A member holding the center's
    very text (:func:`copy_centers`: a later run's exact copy of the keeper,
    its own representative; or a new exact copy in this feed) is the keeper's
    text, so an edge verified against it counts as one against the center,
    whichever copy of the text the run met. Only where the center's own pair
    with the other end was not a candidate (``judged``, see
    :func:`judged_at_centers`; outside the window, say): where it was, the
    center's verdict stands, as in one batch, where the first copy of a text
    is the one compared. The ends stay apart and each pair is named once; the
    orientation is kept (the scores' ``ij``/``ji``).

    Stored texts 0 (a center) and 1 (its exact copy), 2 (stored apart); new texts 3, 4 and 5, the pair (0, 5) judged:

    >>> c = copy_centers(np.array([0, 0, 2, -1, -1, -1]), np.array([7, 7, 8, 9, 5, 6]))
    >>> onto_centers(np.array([[1, 3], [2, 4], [0, 4], [1, 4], [1, 5]]), c, np.array([[0, 5]])).tolist()
    [[0, 3], [2, 4], [0, 4], [1, 4], [1, 5]]
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if center is None or not len(pairs):
        return pairs
    moved = center[pairs]
    todo = np.flatnonzero((moved != pairs).any(axis=1) & (moved[:, 0] != moved[:, 1]))
    if not len(todo):
        return pairs
    ends = moved[todo][moved[todo] != pairs[todo]]  # the centers edges move onto: only their pairs are looked at
    near = np.concatenate([pairs[np.isin(pairs, ends).any(axis=1)], judged.reshape(-1, 2)])
    seen = {(min(a, b), max(a, b)) for a, b in near.tolist()}
    out = pairs.copy()
    for k in todo.tolist():
        a, b = moved[k].tolist()
        key = (min(a, b), max(a, b))
        if key not in seen:
            seen.add(key)
            out[k] = (a, b)
    return out


def star_groups(
    n: int,
    pairs: np.ndarray,
    relation: np.ndarray,
    contain_ij: np.ndarray,
    contain_ji: np.ndarray,
    strength: np.ndarray,
    priority: np.ndarray,
    fixed: np.ndarray | None = None,
    cover: np.ndarray | None = None,
    family: np.ndarray | None = None,
) -> np.ndarray:
    """Groups ``(n,)`` where every member is verified against its group's keeper.

    Articles are visited in ``priority`` order (the keeper policy, ties by
    position). An article not yet in a group opens one and takes in every
    verified neighbour that is still free, strongest edge first. No chains:
    two articles share a group only through the keeper. The containment guard
    holds both ways, so a group holds the copies of one text:

    * when the keeper is itself the short item contained in longer articles,
      it takes in only the best of those containers, so two roundups that
      reprint it are not joined through it;
    * when the keeper is a roundup holding several short items, it takes in
      the copies of one item only: the free items inside it (contained ones,
      and near copies at most 1 / :data:`PART_RATIO` of its size: parts of a
      longer report, reworded) are split into
      families (joined by verified edges among themselves), and only the
      family of the item covering most of the keeper (highest ``cover``, ties
      by edge order) joins. The other items stay free and form groups of
      their own later; their decisions name the roundup in ``contained_in``.

    Args:
        n: number of articles.
        pairs, relation, contain_ij, contain_ji: verified edges (see :func:`duplicate_groups`).
        strength: ``(m,)`` edge order within a keeper's neighbours (higher first).
        priority: ``(n,)`` policy key, smaller = kept first; NaN last.
        fixed: ``(n,)`` a group already decided (its keeper) for articles of
            earlier feeds (a history index), -1 for the others. Those are
            never taken into another group; a fixed keeper still takes in the
            free neighbours when its turn comes.
        cover: ``(m,)`` how much of the keeper an item inside it covers (the
            Jaccard of the edge), to choose the family a roundup keeps; None:
            ``strength``.
        family: ``(n,)`` for a stored keeper ``c`` whose group already holds
            the copies of one item (chosen when it was stored), ``family[c] ==
            c`` and ``family[w] == c`` for those copies present here (stored
            ones, or new texts known to be copies of that item); -1
            elsewhere. Such a keeper takes in a free item inside it only when
            verified edges among its free items join the item to a copy of the
            item it holds (as they join a family around its seed): a copy of its
            roundup's other item stays apart, as in one batch over all feeds.

    Returns:
        For each article the position of its group's keeper (itself if alone).

    >>> p = np.array([[0, 1], [1, 2]])
    >>> rel = np.array([NEAR, NEAR])
    >>> star_groups(3, p, rel, np.ones(2), np.ones(2), np.ones(2), np.array([0.0, 1.0, 2.0])).tolist()
    [0, 0, 2]
    """
    if cover is None:
        cover = strength
    keep = relation != 0
    if not keep.all():  # the flow passes verified edges only: no copy of millions of them then
        pairs, relation, contain_ij, contain_ji, strength, cover = (
            pairs[keep], relation[keep], contain_ij[keep], contain_ji[keep], strength[keep], cover[keep])
    del keep
    key = np.where(np.isnan(priority), np.inf, priority)
    if len(pairs) >= KERNEL_EDGES:  # the same groups, in a fraction of the time and memory
        from .star_kernel import star_centers

        return star_centers(n, pairs, relation == CONTAINED, contain_ij, contain_ji, strength,
                            np.lexsort((np.arange(n), key)), fixed, cover, PART_RATIO, family)
    # adjacency: for each article, its edges sorted by strength (desc), then neighbour; positions in
    # 32 bits when they fit (a feed of large copy families has tens of millions of edge ends)
    pos = np.int32 if n < 2**31 else np.int64
    a = np.concatenate([pairs[:, 0], pairs[:, 1]]).astype(pos, copy=False)
    b = np.concatenate([pairs[:, 1], pairs[:, 0]]).astype(pos, copy=False)
    # "a inside b": a is the contained side of a CONTAINED edge; "b inside a" is the other end's
    contained = relation == CONTAINED
    i_in_j = contained & (contain_ij >= contain_ji)
    j_in_i = contained & (contain_ji > contain_ij)
    inside = np.concatenate([i_in_j, j_in_i])
    i_part, j_part = parts(relation, contain_ij, contain_ji)
    holds = np.concatenate([j_part, i_part])
    del contained, i_in_j, j_in_i, i_part, j_part
    st = np.concatenate([strength, strength])
    np.negative(st, out=st)  # strongest first
    order = np.lexsort((b, st, a))
    del st
    a = a[order]
    b = b[order]
    inside = inside[order]
    holds = holds[order]
    cov = np.concatenate([cover, cover])[order]
    del order
    several = (np.bincount(a[holds], minlength=n) >= 2).tolist()  # holds several items: may need splitting
    seeds_of: dict[int, list[int]] = {}  # stored keeper with an item family -> the family's members here
    if family is not None:
        for w, c in enumerate(np.asarray(family, dtype=np.int64).tolist()):
            if c >= 0:
                seeds_of.setdefault(c, [])
                if w != c:
                    seeds_of[c].append(w)
    starts = np.searchsorted(a, np.arange(n + 1))
    group = np.full(n, -1, dtype=np.int64) if fixed is None else np.asarray(fixed, dtype=np.int64).copy()
    for c in np.lexsort((np.arange(n), key)).tolist():
        if group[c] >= 0 and (fixed is None or fixed[c] != c):
            continue
        group[c] = c
        lo, hi = int(starts[c]), int(starts[c + 1])
        if c in seeds_of:  # a stored keeper's item family is chosen already
            family = _stored_family(lo, hi, b, holds, starts, group, seeds_of[c])
        else:
            family = _item_family(lo, hi, b, holds, cov, starts, group) if several[c] else None
        took_container = False
        for e in range(lo, hi):
            v = int(b[e])
            if group[v] >= 0:
                continue
            if inside[e]:  # c is a short item inside v: only one container joins
                if took_container:
                    continue
                took_container = True
            elif family is not None and holds[e] and v not in family:  # an item of another text inside c
                continue
            group[v] = c
    return group


def _stored_family(lo: int, hi: int, b: np.ndarray, holds: np.ndarray, starts: np.ndarray, group: np.ndarray,
                   seeds: list[int]) -> set:
    """The free items inside a stored keeper (edges ``lo:hi``) that verified edges among them join to ``seeds``, the
    members of the item family its stored group holds (present here): copies of that item, as :func:`_item_family`
    joins them around its seed. Every other free item inside it stays apart."""
    free = {v for v, held in zip(b[lo:hi].tolist(), holds[lo:hi].tolist()) if held and group[v] < 0}
    family = {s for s in seeds if s in free}  # a seed may be a free item itself (a new copy of the family's item)
    return _flood(family, list(seeds), free, b, starts)


def _flood(family: set, todo: list, free: set, b: np.ndarray, starts: np.ndarray) -> set:
    """``family`` grown by every item of ``free`` that verified edges reach from the articles in ``todo``."""
    while todo and len(family) < len(free):
        u = todo.pop()
        for w in b[starts[u]:starts[u + 1]].tolist():
            if w in free and w not in family:
                family.add(w)
                todo.append(w)
    return family


def _item_family(lo: int, hi: int, b: np.ndarray, holds: np.ndarray, cov: np.ndarray, starts: np.ndarray,
                 group: np.ndarray) -> set | None:
    """The free items inside the keeper whose edges are ``lo:hi`` that are copies of one text: the one covering
    most of the keeper and those joined to it by verified edges among those free items. None when all of them are."""
    items, seed, best = [], -1, -np.inf
    for v, held, value in zip(b[lo:hi].tolist(), holds[lo:hi].tolist(), cov[lo:hi].tolist()):
        if held and group[v] < 0:
            if not items:
                seed = v  # the first, unless another covers more (NaN never does)
            items.append(v)
            if value > best:
                seed, best = v, value
    if len(items) < 2:
        return None
    free = set(items)
    family = _flood({seed}, [seed], free, b, starts)
    return None if len(family) == len(free) else family


def choose_keepers(labels: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """The keeper position for every article's group.

    Args:
        labels: ``(n,)`` group labels.
        primary: ``(n,)`` policy key, smaller is better (e.g. timestamp for
            "earliest", minus the length for "longest"); NaN sorts last.

    Returns:
        ``(n,)`` position of the kept article of each article's group; ties
        go to the smallest position.

    >>> choose_keepers(np.array([0, 0, 2]), np.array([5.0, 1.0, 0.0])).tolist()
    [1, 1, 2]
    """
    n = len(labels)
    pos = np.arange(n)
    key = np.where(np.isnan(primary), np.inf, primary)
    order = np.lexsort((pos, key, labels))
    first = np.ones(n, dtype=bool)
    first[1:] = labels[order][1:] != labels[order][:-1]
    keeper_of_label = dict(zip(labels[order][first].tolist(), order[first].tolist()))
    return np.array([keeper_of_label[int(g)] for g in labels], dtype=np.int64)
