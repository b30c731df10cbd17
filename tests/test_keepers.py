"""Keeper policies and the reasons a keeper was kept, decided before anything is written."""

from __future__ import annotations

import numpy as np
import pytest

from dedup.cluster.keepers import keep_reasons, policy_key
from dedup.config import ClusterConfig, DedupConfig
from dedup.flows.dedupe import dedupe
from dedup.results import KEEP_FIRST_UNDATED, KEEP_NOT_CONTAINED
from dedup.types import Article, ArticleTable

BODY = " ".join(f"word{i} alpha beta gamma" for i in range(60))


def table(dates: list[str | None], lengths: list[int], sources: list[str]) -> ArticleTable:
    t = ArticleTable()
    t.extend([Article(id=str(i), text="x" * n, date=d, source=s) for i, (d, n, s) in enumerate(zip(dates, lengths, sources))])
    return t


POLICIES = [  # keep, expected order of preference (smallest key first)
    ("earliest", [1, 0, 2]),
    ("longest", [2, 0, 1]),
    ("first", [0, 1, 2]),
    ("source-priority", [2, 1, 0]),
]


@pytest.mark.parametrize(("keep", "order"), POLICIES, ids=[k for k, _ in POLICIES])
def test_policy_key_orders_articles(keep: str, order: list[int]) -> None:
    t = table(["2024-01-02", "2024-01-01", None], [100, 50, 300], ["c", "b", "a"])
    cfg = DedupConfig(cluster=ClusterConfig(keep=keep, source_priority=("a", "b") if keep == "source-priority" else ()))
    key = policy_key(t, cfg)
    assert np.lexsort((np.arange(3), np.where(np.isnan(key), np.inf, key))).tolist() == order


def test_undated_keeper_is_the_first_in_input_order() -> None:
    arts = [Article(id="a", text=BODY), Article(id="b", text=BODY + " extra words here")]
    r = dedupe(arts)
    assert r.keeper.tolist() == [0, 0]
    assert r.keep_reason[0] & KEEP_FIRST_UNDATED


def test_container_is_kept_over_an_earlier_teaser_and_says_why() -> None:
    teaser = " ".join(BODY.split()[:80])
    arts = [Article(id="teaser", text=teaser, date="2024-01-01"), Article(id="full", text=BODY, date="2024-01-02")]
    r = dedupe(arts)
    assert r.keeper.tolist() == [1, 1]
    assert r.keep_reason[1] == KEEP_NOT_CONTAINED


PIECE = " ".join(f"kalima{i} wa{i % 7}" for i in range(150))  # 300 words, every 3-word shingle distinct


@pytest.mark.parametrize("share", [0.55, 0.7, 0.78])
def test_the_full_piece_is_kept_over_an_earlier_teaser_the_decision_calls_near(share: float) -> None:
    # a teaser holding more than half the piece shares more than half its shingles: the decision calls the pair
    # "near", not "contained"; the piece is kept all the same (README: a text inside a longer one is never kept over it)
    words = PIECE.split()
    teaser = " ".join(words[: int(len(words) * share)])
    arts = [Article(id="teaser", text=teaser, date="2024-01-01"), Article(id="full", text=PIECE, date="2024-01-02")]
    r = dedupe(arts)
    assert r.keeper.tolist() == [1, 1]
    assert r.keep_reason[1] == KEEP_NOT_CONTAINED


@pytest.mark.parametrize("share", [0.9, 1.0])
def test_a_copy_lacking_less_than_a_fifth_leaves_the_choice_to_the_policy(share: float) -> None:
    # a trimmed ending (0.9) or a few words edited (1.0): the earliest is kept, as --keep earliest says
    words = PIECE.split()
    edited = " ".join("badal" if k in (40, 120, 200) else w for k, w in enumerate(words[: int(len(words) * share)]))
    arts = [Article(id="first", text=edited, date="2024-01-01"), Article(id="later", text=PIECE, date="2024-01-02")]
    r = dedupe(arts)
    assert r.keeper.tolist() == [0, 0]
    assert not r.keep_reason[0] & KEEP_NOT_CONTAINED


def test_a_stored_teaser_stays_kept_and_the_later_full_piece_is_its_copy(tmp_path) -> None:
    # with a history index a stored decision never changes: the full piece arriving later is the teaser's duplicate
    # (seen before), not a second kept article
    from dedup.io.dedupe_rows import decision_rows
    from dedup.runtime import Runtime
    from dedup.store.history import open_index

    teaser = " ".join(PIECE.split()[:180])
    config = DedupConfig()
    rows = []
    for day in ([Article(id="teaser", text=teaser, date="2024-01-01")], [Article(id="full", text=PIECE, date="2024-01-02")]):
        index = open_index(str(tmp_path / "h.db"), config)
        try:
            rows += decision_rows(dedupe(day, config, runtime=Runtime(), index=index))
        finally:
            index.close()
    assert [(r["id"], r["status"], r["duplicate_of"]) for r in rows] == [("teaser", "kept", None), ("full", "duplicate", "teaser")]


def test_articles_outside_groups_have_no_reason() -> None:
    status = np.array([0, 0])
    assert keep_reasons(status, np.array([-1, -1]), np.array([-1, -1]), table([None, None], [1, 1], ["", ""]), DedupConfig()).tolist() == [0, 0]


def test_fixed_groups_of_earlier_feeds_are_never_taken_over() -> None:
    from dedup.cluster.groups import star_groups
    from dedup.verify import CONTAINED, NEAR

    # 0 (stored, a center) and 1 (stored, a member of 0); 2 and 3 are new. Visited 3, 1, 0, 2:
    # free, 3 takes 0 in and 1 takes 2. Fixed, 3 cannot take 0, 1 (a member) takes nothing,
    # and 0 still takes its free neighbour 2 when its turn comes.
    pairs = np.array([[0, 2], [0, 3], [1, 2]])
    rel = np.array([NEAR, CONTAINED, NEAR])
    cij, cji = np.array([0.9, 0.95, 0.9]), np.array([0.9, 0.3, 0.9])
    priority = np.array([1.0, 0.5, 2.0, 0.0])
    free = star_groups(4, pairs, rel, cij, cji, np.ones(3), priority)
    assert free.tolist() == [3, 1, 1, 3]
    fixed = star_groups(4, pairs, rel, cij, cji, np.ones(3), priority, fixed=np.array([0, 0, -1, -1]))
    assert fixed.tolist() == [0, 0, 0, 3]


def test_article_tables_concatenate_with_their_sources() -> None:
    a = table(["2024-01-01", None], [5, 6], ["x", "y"])
    b = table([None, "2024-01-02"], [7, 8], ["y", "z"])
    ab = ArticleTable.concat(a, b)
    assert ab.ids == ["0", "1", "0", "1"] and ab.lengths.tolist() == [5, 6, 7, 8]
    assert [ab.source_names[c] for c in ab.source_codes] == ["x", "y", "y", "z"]
    assert ab.dated.tolist() == [True, False, False, True]


def test_a_drop_takes_the_scores_of_its_verified_edge_and_only_the_rest_are_verified_again() -> None:
    """explain_drops: an edge to the keeper (either way round) is reused; a pair without one goes to ``verify``."""
    from dedup.cluster.keepers import explain_drops
    from dedup.results import DUPLICATE, KEPT
    from dedup.verify import CONTAINED, EXACT, NEAR, NONE, PairScores

    # articles 0..4, one representative each; 1 and 4 dropped for keeper 0, 3 for keeper 2 (exact copy of it: same rep)
    status = np.array([KEPT, DUPLICATE, KEPT, DUPLICATE, DUPLICATE])
    keeper = np.array([0, 0, 2, 2, 0])
    rep_of = np.array([0, 1, 2, 2, 3])

    def scores(*rows: tuple[float, float, float, float, float]) -> PairScores:
        jac, cij, cji, cos, prob = (np.array(c) for c in zip(*rows))
        return PairScores(jac, cij, cji, cos, np.zeros(len(jac), bool), probability=prob)

    edges = (np.array([[0, 1], [2, 3]]), np.array([CONTAINED, NEAR], np.int8), scores((0.5, 0.6, 0.9, 0.8, 0.97), (0.7, 0.8, 0.8, 0.9, 0.99)))
    asked: list[list[list[int]]] = []

    def verify(kp: np.ndarray) -> tuple[np.ndarray, PairScores]:
        asked.append(kp.tolist())
        return np.array([NONE] * len(kp), np.int8), scores(*[(0.4, 0.3, 0.5, 0.6, 0.2)] * len(kp))

    relation, got = explain_drops(status, keeper, rep_of, verify, edges=edges)
    assert asked == [[[3, 0]]]  # article 4 (rep 3) has no edge to its keeper; article 1's edge is (0, 1), seen the other way round
    assert relation.tolist() == [NONE, CONTAINED, NONE, EXACT, CONTAINED]  # 3: the same text as its keeper; 4: no decision
    # against its keeper, containment 0.5 > jaccard 0.4: contained
    assert got[1].tolist() == [0.5, 0.9, 0.8, 0.97]  # the edge's, with the larger containment
    assert got[4].tolist() == [0.4, 0.5, 0.6, 0.2]  # verified again
    _, scored = explain_drops(status, keeper, rep_of, verify)  # without edges every pair is verified
    assert asked[-1] == [[1, 0], [3, 0]] and scored[1].tolist() == [0.4, 0.5, 0.6, 0.2]


# stored 0 (a group's center), 1 (its exact copy: the same digest), 2 (a near copy in 0's group), 3 (stored apart);
# new texts 4 and 5, and 6 (a new exact copy of 0's text, placed in its group)
_FIXED, _DIGEST = np.array([0, 0, 0, 3, -1, -1, 0]), np.array([7, 7, 8, 9, 5, 6, 7])
CENTER_MOVES = [
    ("copy-met-alone", [[1, 4]], [], [[0, 4]]),
    ("feed-copy", [[4, 6]], [], [[4, 0]]),
    ("center-met-too", [[0, 4], [1, 4]], [[0, 4]], [[0, 4], [1, 4]]),
    ("center-judged-no-edge", [[1, 4]], [[0, 4]], [[1, 4]]),  # the center's verdict stands
    ("near-member-stays", [[2, 4]], [], [[2, 4]]),
    ("two-copies-once", [[1, 4], [4, 6]], [], [[0, 4], [4, 6]]),
    ("copy-and-center", [[0, 1]], [], [[0, 1]]),
    ("stored-apart", [[3, 5]], [], [[3, 5]]),
]


@pytest.mark.parametrize(("pairs", "judged", "want"), [c[1:] for c in CENTER_MOVES], ids=[c[0] for c in CENTER_MOVES])
def test_an_edge_to_an_exact_copy_of_a_stored_center_counts_as_the_centers_unless_it_judged_the_pair(
        pairs: list, judged: list, want: list) -> None:
    from dedup.cluster.groups import copy_centers, judged_at_centers, onto_centers

    centers = copy_centers(_FIXED, _DIGEST)
    assert centers is not None and centers.tolist() == [0, 0, 2, 3, 4, 5, 0]
    candidates = np.array(pairs + judged, dtype=np.int64).reshape(-1, 2)
    assert {tuple(p) for p in judged} <= {tuple(p) for p in judged_at_centers(candidates, centers).tolist()}
    got = onto_centers(np.array(pairs, dtype=np.int64), centers, np.array(judged, dtype=np.int64).reshape(-1, 2))
    assert got.tolist() == want
    assert copy_centers(None, _DIGEST) is None and copy_centers(np.array([0, 1, -1]), np.array([7, 7, 7])) is None
