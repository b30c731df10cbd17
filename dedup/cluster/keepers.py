"""Keepers: which copy of each duplicate group is kept, why, and how each drop is explained.

Keepers are taken most complete first: a text contained in another verified
text is never preferred over its container (so a teaser or a wire item does
not cause the longer piece that holds it to be dropped), whether the decision
called the pair ``contained`` or ``near`` (a teaser that is most of the
piece: :func:`inside_edges`); among the rest the ``--keep`` policy decides,
with the input position as the final tie-break.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..candidates.buckets import sorted_unique  # not np.unique: its first call imports numpy.ma (~12 ms of a small run)
from ..config import DedupConfig
from ..results import DUPLICATE, KEEP_BY_POLICY, KEEP_FIRST_UNDATED, KEEP_NOT_CONTAINED, KEPT, SKIPPED

from ..types import ArticleTable
from ..verify import CONTAINED, EXACT, NEAR, NONE, PairScores
from .groups import choose_keepers, duplicate_groups, star_groups

__all__ = ["assign_groups", "containment_depth", "explain_drops", "inside_edges", "keep_reasons", "policy_key", "star_labels"]

_MAX_DEPTH = 32
# A verified copy lies inside the other text, for the keeper order, when this share of its shingles is in it ...
INSIDE_SHARE = 0.9
# ... and the other is at least this much longer (in shingles): the copy lacks more than a fifth of the other's text (a
# teaser, a first part), not a trimmed ending or a few words edited (those, the policy decides). A pair the decision
# calls ``contained`` lies inside whatever the shares.
INSIDE_RATIO = 1.25


def star_labels(
    n: int,
    n_reps: int,
    rep_of: np.ndarray,
    rep_pairs: np.ndarray,
    rel: np.ndarray,
    scores: PairScores,
    priority: np.ndarray,
    fixed: np.ndarray | None = None,
    family: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Star grouping over representatives; exact copies follow their representative.

    Keepers are taken most complete first: a text that is contained in
    another verified text is never preferred over its container, however deep
    (:func:`containment_depth`: so a teaser or a wire item does not cause the
    longer piece that holds it to be dropped); among texts of one depth the
    keeper policy decides, a representative ranking as its best exact copy.

    ``fixed`` (``(n_reps,)``, a history index): the center representative
    already decided for representatives of earlier feeds, -1 for new ones
    (see :func:`~dedup.cluster.groups.star_groups`). Among texts of one
    depth, the stored keepers go first: a new copy that the policy ranks
    before its stored keeper (dated earlier, or the stored one undated; longer,
    with ``--keep longest``) would otherwise open a group of its own, and the
    stored keeper, which cannot be dropped, could no longer take it in: both
    kept. The new copy is its duplicate, seen before. ``family`` (``(n_reps,)``):
    the item family a stored roundup keeper's group already holds (see
    :func:`~dedup.cluster.groups.star_groups`).

    Returns:
        ``(labels, keeper)``: smallest member position of each article's group,
        and the position of the group's kept article.
    """
    key = np.where(np.isnan(priority), np.inf, priority)
    order = np.lexsort((np.arange(n), key))
    rank = np.empty(n, dtype=np.float64)
    rank[order] = np.arange(n)
    valid = np.flatnonzero(rep_of >= 0)
    rep_rank = np.full(n_reps, np.inf)
    np.minimum.at(rep_rank, rep_of[valid], rank[valid])
    best_copy = np.full(n_reps, -1, dtype=np.int64)  # the policy's choice among exact copies
    for pos in order[::-1].tolist():
        if rep_of[pos] >= 0:
            best_copy[rep_of[pos]] = pos
    pairs = rep_pairs.reshape(-1, 2)
    contained = rel == CONTAINED
    if fixed is not None:  # a stored keeper, decided for good, goes before the new texts of its depth (see above)
        rep_rank += n * (fixed != np.arange(n_reps))
    inside = inside_edges(rel, scores)
    if fixed is not None:  # a stored text is never dropped: a new near copy holding it is its copy, seen before (the
        inside &= (rel == CONTAINED) | ((fixed[pairs[:, 0]] < 0) & (fixed[pairs[:, 1]] < 0))  # stored one stays kept)
    rep_rank += 2 * n * containment_depth(n_reps, pairs, inside, scores)  # a container before what it holds
    cont = np.maximum(scores.contain_ij, scores.contain_ji)
    strength = np.where(contained, cont, scores.jaccard)
    centers = star_groups(n_reps, pairs, rel, scores.contain_ij, scores.contain_ji, strength, rep_rank, fixed,
                          cover=scores.jaccard, family=family)
    keeper = np.arange(n, dtype=np.int64)
    keeper[valid] = best_copy[centers[rep_of[valid]]]
    smallest = np.full(n, n, dtype=np.int64)
    np.minimum.at(smallest, keeper, np.arange(n))
    return smallest[keeper], keeper


def inside_edges(rel: np.ndarray, scores: PairScores) -> np.ndarray:
    """Which verified edges put one text inside the other, for the keeper order: ``(m,)`` bool.

    Those the decision calls ``contained``, and the ``near`` ones whose
    shorter text lies almost whole in a longer one (:data:`INSIDE_SHARE` of
    its shingles, the other at least :data:`INSIDE_RATIO` times its size): a
    teaser that is the first half of the piece shares half the piece's
    shingles, which the decision calls ``near``, and it must not be kept
    over the piece because it came first. (With a history index, a stored
    text is never dropped: a new near copy that holds it is its duplicate, as
    before; one batch over all the feeds keeps the longer copy.)

    >>> s = PairScores(np.array([0.55, 0.9, 0.3]), np.array([1.0, 0.95, 0.6]), np.array([0.55, 0.94, 0.4]), np.zeros(3),
    ...                np.zeros(3, bool))
    >>> inside_edges(np.array([NEAR, NEAR, CONTAINED]), s).tolist()
    [True, False, True]
    """
    short = np.maximum(scores.contain_ij, scores.contain_ji)
    long = np.minimum(scores.contain_ij, scores.contain_ji)
    with np.errstate(divide="ignore", invalid="ignore"):
        longer = short >= INSIDE_RATIO * long  # |longer| / |shorter| = short / long: the shared shingles are the same
    return (rel == CONTAINED) | ((rel == NEAR) & (short >= INSIDE_SHARE) & longer)


def containment_depth(n: int, pairs: np.ndarray, contained: np.ndarray, scores: PairScores,
                      most: int = _MAX_DEPTH) -> np.ndarray:
    """How deep each text sits in others: 0 for a text inside none, else one more than its deepest container.

    Star grouping visits texts by depth first, so a container always opens
    its group before what it holds, however deep: a teaser of a wire item
    that a roundup holds comes after the item, which comes after the roundup.
    Chains are followed ``most`` levels at most (equal containment both ways
    could make a cycle).

    >>> s = PairScores(np.zeros(2), np.array([0.9, 0.9]), np.array([0.2, 0.3]), np.zeros(2), np.zeros(2, bool))
    >>> containment_depth(3, np.array([[1, 0], [2, 1]]), np.array([True, True]), s).tolist()
    [0, 1, 2]
    """
    depth = np.zeros(n, dtype=np.int64)
    i_in_j = scores.contain_ij >= scores.contain_ji
    inner = np.where(i_in_j, pairs[:, 0], pairs[:, 1])[contained]
    outer = np.where(i_in_j, pairs[:, 1], pairs[:, 0])[contained]
    for _ in range(most):
        deeper = depth.copy()
        np.maximum.at(deeper, inner, depth[outer] + 1)
        if np.array_equal(deeper, depth):
            break
        depth = deeper
    return depth


def policy_key(table: ArticleTable, config: DedupConfig) -> np.ndarray:
    """The keeper policy as a number per article (smaller = preferred, NaN = last)."""
    keep = config.cluster.keep
    if keep == "earliest":
        return table.times.copy()
    if keep == "longest":
        return -table.lengths.astype(np.float64)
    if keep == "source-priority":
        rank = {s: i for i, s in enumerate(config.cluster.source_priority)}
        by_code = np.array([rank.get(s, len(rank)) for s in table.source_names], dtype=np.float64)
        return by_code[table.source_codes] if len(table) else np.zeros(0)
    return np.zeros(len(table), dtype=np.float64)


def explain_drops(
    status: np.ndarray,
    keeper: np.ndarray,
    rep_of: np.ndarray,
    verify: Callable[[np.ndarray], tuple[np.ndarray, PairScores]],
    edges: tuple[np.ndarray, np.ndarray, PairScores] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Relation and scores (jaccard, containment, cosine, probability) of every duplicate against its keeper.

    ``verify`` scores and judges pairs of representatives as the run's
    verification does (the orchestrator's ``verify_pairs``); the probability
    is NaN under the rule, and 1 for exact copies. ``edges``, the verified
    copy edges ``(pairs, relation codes, scores)`` between representatives:
    a drop whose pair with its keeper is one of them (most are) takes the
    edge's relation and scores, and only the others are verified again.
    """
    n = len(status)
    dup = np.flatnonzero(status == DUPLICATE)
    relation = np.full(n, NONE, dtype=np.int8)
    scores = np.full((n, 4), np.nan)
    kp = np.stack([rep_of[dup], rep_of[keeper[dup]]], axis=1)
    same = kp[:, 0] == kp[:, 1]  # exact copies of the keeper
    relation[dup[same]] = EXACT
    scores[dup[same]] = 1.0
    todo = np.flatnonzero(~same)
    if edges is not None and len(todo) and len(edges[0]):
        at = _edge_of(edges[0], kp[todo])
        found = at >= 0
        e, d = at[found], dup[todo[found]]
        es = edges[2]
        relation[d] = edges[1][e]
        prob = es.probability[e] if es.probability is not None else np.full(len(e), np.nan)
        scores[d] = np.stack([es.jaccard[e], np.maximum(es.contain_ij[e], es.contain_ji[e]), es.cosine[e], prob], axis=1)
        todo = todo[~found]
    if len(todo):
        d = dup[todo]
        krel, ks = verify(kp[todo])
        # A member linked through others may miss the decision against the keeper itself.
        fallback = np.where(ks.containment > ks.jaccard, CONTAINED, NEAR)
        relation[d] = np.where(krel == NONE, fallback, krel)
        prob = ks.probability if ks.probability is not None else np.full(len(d), np.nan)
        scores[d] = np.stack([ks.jaccard, ks.containment, ks.cosine, prob], axis=1)
    return relation, scores


def _edge_of(edges: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """For each of ``pairs`` (either way round), the index of the same pair among ``edges``, or -1.

    >>> _edge_of(np.array([[0, 3], [1, 2]]), np.array([[2, 1], [3, 0], [0, 2]])).tolist()
    [1, 0, -1]
    """
    def keys(p: np.ndarray) -> np.ndarray:
        return (np.minimum(p[:, 0], p[:, 1]).astype(np.int64) << 32) | np.maximum(p[:, 0], p[:, 1]).astype(np.int64)

    edge_keys = keys(edges)
    order = np.argsort(edge_keys, kind="stable")
    sorted_keys = edge_keys[order]
    want = keys(pairs)
    at = np.minimum(np.searchsorted(sorted_keys, want), len(sorted_keys) - 1)
    return np.where(sorted_keys[at] == want, order[at], -1)


def assign_groups(
    n: int,
    rep_of: np.ndarray,
    rep_pos: np.ndarray,
    rep_pairs: np.ndarray,
    edge_rel: np.ndarray,
    edge_scores: PairScores,
    reason_skipped: dict[int, str],
    table: ArticleTable,
    config: DedupConfig,
    fixed: np.ndarray | None = None,
    family: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Status, group and keeper of every article from the verified edges between representatives.

    ``fixed`` (``(R,)``): the center representative already decided for the
    representatives of earlier feeds (a history index), -1 for new ones;
    ``family`` (``(R,)``): the item families stored roundup keepers hold
    (star grouping; see :func:`~dedup.cluster.groups.star_groups`).
    """
    priority = policy_key(table, config)
    if fixed is not None and config.cluster.method != "star":
        # union grouping: an earlier feed's member stays linked to its center
        held = np.flatnonzero((fixed >= 0) & (fixed != np.arange(len(fixed))))
        link = np.stack([held, fixed[held]], axis=1)
        rep_pairs = np.concatenate([rep_pairs.reshape(-1, 2), np.sort(link, axis=1)])
        edge_rel = np.concatenate([edge_rel, np.full(len(held), NEAR, dtype=np.int8)])
        one = np.ones(len(held))
        edge_scores = PairScores(*(np.concatenate([getattr(edge_scores, f), one]) for f in ("jaccard", "contain_ij", "contain_ji", "cosine")),
                                 np.concatenate([edge_scores.exact, np.zeros(len(held), bool)]))
    if config.cluster.method == "star":
        labels, keeper = star_labels(n, len(rep_pos), rep_of, rep_pairs, edge_rel, edge_scores, priority, fixed, family)
    else:
        # Exact copies join their representative; verified edges link representatives.
        copies = np.flatnonzero(rep_of >= 0)
        copies = copies[rep_pos[rep_of[copies]] != copies]
        art_pairs = np.concatenate([rep_pos[rep_pairs].reshape(-1, 2), np.stack([rep_pos[rep_of[copies]], copies], axis=1)])
        art_rel = np.concatenate([edge_rel, np.full(len(copies), EXACT, dtype=np.int8)])
        ones = np.ones(len(copies))
        cij = np.concatenate([edge_scores.contain_ij, ones])
        cji = np.concatenate([edge_scores.contain_ji, ones])
        labels = duplicate_groups(n, art_pairs, art_rel, cij, cji)
        if fixed is not None:  # a stored keeper, decided for good, keeps its component (as in star_labels)
            key = np.where(np.isnan(priority), np.inf, priority)
            rank = np.empty(n, dtype=np.float64)
            rank[np.lexsort((np.arange(n), key))] = np.arange(n)
            rank[rep_pos[np.flatnonzero(fixed == np.arange(len(fixed)))]] -= n
            priority = rank
        keeper = choose_keepers(labels, priority)
    sizes = np.bincount(labels, minlength=n)
    in_group = sizes[labels] >= 2
    status = np.full(n, KEPT, dtype=np.int8)
    status[in_group & (keeper != np.arange(n))] = DUPLICATE
    for pos in reason_skipped:
        status[pos] = SKIPPED
    return status, np.where(in_group, labels, -1), np.where(in_group, keeper, -1)


def keep_reasons(status: np.ndarray, group: np.ndarray, keeper: np.ndarray, table: ArticleTable, config: DedupConfig) -> np.ndarray:
    """Why each keeper was kept, as ``KEEP_*`` flags (0 for articles that keep no group).

    ``KEEP_FIRST_UNDATED``: ``--keep earliest`` had no date to compare, so the
    first in input order won. ``KEEP_NOT_CONTAINED``: the policy alone would
    have chosen another member, a text contained in this longer one.
    """
    n = len(status)
    reason = np.zeros(n, dtype=np.int8)
    if n == 0:
        return reason
    in_group = group >= 0
    labels = np.where(in_group, group, np.arange(n))
    by_policy = choose_keepers(labels, policy_key(table, config))
    keepers = sorted_unique(keeper[in_group])
    reason[keepers] = KEEP_BY_POLICY
    if config.cluster.keep == "earliest":
        undated = keepers[~table.dated[keepers]]
        reason[undated] |= KEEP_FIRST_UNDATED
    guarded = keepers[by_policy[keepers] != keepers]
    reason[guarded] |= KEEP_NOT_CONTAINED
    return reason
