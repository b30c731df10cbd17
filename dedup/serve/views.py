"""The stored groups and pairs as the service shows them: index records with their keepers found and edges named.

A view is made from what :class:`~dedup.store.index.HistoryIndex` returns
(a :class:`~dedup.store.index.StoredGroup`, records) by the engine, and
read by the JSON routes and the pages (:mod:`.page`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..results import DUPLICATE, KEPT
from ..store.index import ArticleRecord, StoredGroup
from ..verify import RELATIONS

__all__ = ["GroupView", "PairView", "group_view", "keeper_ref", "pair_fields", "rounded"]


def rounded(x: float) -> float | None:
    """A score as the outputs give it: four decimals, None for NaN (not scored)."""
    return None if x != x else round(float(x), 4)


@dataclass
class GroupView:
    """A stored group with its keeper found and its edges named by id."""

    name: str
    members: list[ArticleRecord]
    keeper: ArticleRecord | None  # None: the group's keeper was pruned from the index
    pairs: list[dict[str, Any]]  # pairs.jsonl fields
    known: dict[int, ArticleRecord] = field(default_factory=dict)  # rows → records: the members and the keepers outside
    pruned: dict[int, str] = field(default_factory=dict)  # rows → ids: the pruned keepers members name (prune kept them)

    def keeper_of(self, member: ArticleRecord) -> ArticleRecord | None:
        """The article ``member`` was found a copy of (None: it has none, or it was pruned)."""
        return self.known.get(member.keeper) if member.keeper >= 0 else None

    def keeper_named(self, member: ArticleRecord) -> tuple[str | None, bool]:
        """``(id, pruned)`` of the article ``member`` was found a copy of: :func:`keeper_ref`."""
        return keeper_ref(member, self.keeper_of(member), self.pruned)

    @property
    def keeper_id(self) -> str | None:
        """The id of the group's keeper; of a pruned one, the id prune kept of the keeper most members name (None when
        an index pruned by an earlier version kept no id)."""
        if self.keeper is not None:
            return self.keeper.id
        named = Counter(self.pruned[m.keeper] for m in self.members if m.keeper in self.pruned)
        return named.most_common(1)[0][0] if named else None


@dataclass
class PairView:
    """Two stored articles, their stored scores, their texts when known, and fresh scores of the texts."""

    a: ArticleRecord
    b: ArticleRecord
    texts: dict[str, tuple[str, str]]  # id → (title, text), for those this service stored
    stored: list[tuple[str, dict[str, Any]]]  # (what, pairs.jsonl-like fields): the edge, or the copy's scores vs its keeper
    measured: dict[str, Any] | None  # dedup similarity fields, when both texts are known


def keeper_ref(rec: ArticleRecord, keeper: ArticleRecord | None, pruned: Mapping[int, str]) -> tuple[str | None, bool]:
    """``(id, pruned)`` of the keeper ``rec`` names, as ``dedup index export`` gives them (``duplicate_of``,
    ``keeper_pruned``): ``keeper`` its stored record (None: none is stored); a duplicate whose keeper is not stored
    any more was pruned (``dedup index prune``), named by the id prune kept of it in ``pruned`` (rows → ids; None
    when pruned by a version that kept no ids). A kept article names itself, a skipped one none.

    >>> copy = ArticleRecord(1, "c", None, float("nan"), "", 9, DUPLICATE, "k", 0, 0, 1, 1, (1.0,) * 4, "")
    >>> keeper_ref(copy, None, {0: "k"}), keeper_ref(copy, None, {})
    (('k', True), (None, True))
    """
    if keeper is not None:
        return keeper.id, False
    return (pruned.get(rec.keeper), True) if rec.status == DUPLICATE and rec.keeper >= 0 else (None, False)


def pair_fields(id1: str, id2: str, rel: int, s: list[float]) -> dict[str, Any]:
    """A stored edge's scores ``s`` (jaccard, containments, cosine, probability) as ``pairs.jsonl`` gives them."""
    return {"id1": id1, "id2": id2, "relation": RELATIONS[int(rel)], "jaccard": rounded(s[0]),
            "containment_1_in_2": rounded(s[1]), "containment_2_in_1": rounded(s[2]), "cosine": rounded(s[3]), "probability": rounded(s[4])}


def group_view(name: str, stored: StoredGroup, outside: list[ArticleRecord], pruned: Mapping[int, str] | None = None) -> GroupView:
    """The view of the stored group ``name`` (``outside``: the keepers its members name that lie outside it;
    ``pruned``: rows → ids of the pruned keepers they name, :meth:`~dedup.store.index.HistoryIndex.pruned_keepers`)."""
    by_row = {m.row: m for m in [*stored.members, *outside]}
    # a keeper outside the group (a group joined later keeps it); not a pruned one, nor a stored copy that the
    # members of a pruned keeper's group were found copies of
    named = Counter(m.keeper for m in stored.members if m.keeper in by_row and by_row[m.keeper].status == KEPT)
    kept = [m for m in stored.members if m.keeper == m.row and m.group == name]
    keeper_row = kept[0].row if kept else (named.most_common(1)[0][0] if named else -1)
    rep_ids: dict[int, str] = {}
    for m in stored.members:  # an edge joins representative rows: name it by the representative article
        rep_ids.setdefault(m.rep, by_row[m.rep].id if m.rep in by_row else m.id)
    pairs = [pair_fields(rep_ids.get(a, str(a)), rep_ids.get(b, str(b)), rel, s)
             for (a, b), rel, s in zip(stored.edges.tolist(), stored.edge_relation.tolist(), stored.edge_scores.tolist())]
    return GroupView(name, stored.members, by_row.get(keeper_row), pairs, by_row, dict(pruned or {}))
