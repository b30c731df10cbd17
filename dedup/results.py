"""The result records of the flows: what a run decided, by article position.

Writers in :mod:`dedup.io` turn them into files (positions back to ids); they
never recompute a decision. Status and relation codes are small integers in
arrays; their names are :data:`STATUS` and :data:`dedup.verify.RELATIONS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .candidates import Candidates
from .config import DedupConfig, StoriesConfig
from .text.boilerplate import Boilerplate
from .types import Article, ArticleTable, BadRecord
from .verify import PairScores

__all__ = [
    "ALREADY",
    "DUPLICATE",
    "KEEP_BY_POLICY",
    "KEEP_FIRST_UNDATED",
    "KEEP_NOT_CONTAINED",
    "KEPT",
    "SKIPPED",
    "STATUS",
    "DedupResult",
    "HistoryRefs",
    "Progress",
    "SimilarityResult",
    "StoriesResult",
    "already_indexed",
]

KEPT, DUPLICATE, SKIPPED = 0, 1, 2
STATUS = {KEPT: "kept", DUPLICATE: "duplicate", SKIPPED: "skipped"}
ALREADY = "already in the index"  # the skip reason of an article a history index holds (it was decided by an earlier run)
_WHAT = {KEPT: "kept", DUPLICATE: "a duplicate", SKIPPED: "skipped"}


def already_indexed(row: int, status: int, group: str | None) -> str:
    """The skip reason of an article a history index holds at ``row``, decided ``status`` in ``group``.

    >>> already_indexed(7, DUPLICATE, "http://a.example/1")
    'already in the index (row 7, a duplicate in group http://a.example/1)'
    """
    return f"{ALREADY} (row {row}, {_WHAT[status]}{' in group ' + group if group else ''})"


def _stored_duplicate(reason: str) -> bool:
    """Whether a skip reason is :func:`already_indexed`'s for an article stored as a duplicate.

    >>> _stored_duplicate(already_indexed(7, DUPLICATE, "g")), _stored_duplicate(already_indexed(7, DUPLICATE, None))
    (True, True)
    >>> _stored_duplicate(already_indexed(7, KEPT, "g")), _stored_duplicate("too short: 3 tokens < min_tokens=20")
    (False, False)
    """
    if not reason.startswith(f"{ALREADY} (row "):
        return False
    what = reason.split(", ", 1)[-1]
    return what == _WHAT[DUPLICATE] + ")" or what.startswith(_WHAT[DUPLICATE] + " ")


# Why a keeper was kept (``DedupResult.keep_reason``, flags per keeper position).
KEEP_BY_POLICY = 0  # the --keep policy chose it
KEEP_FIRST_UNDATED = 1  # --keep earliest with no date to compare: the first in input order won
KEEP_NOT_CONTAINED = 2  # chosen among the copies not contained in a longer article (star grouping)

Progress = Callable[[str, int, int], None]
"""``progress(stage, advance, total)``: called as work finishes (``total`` 0 = unknown)."""


@dataclass(frozen=True)
class HistoryRefs:
    """Articles of earlier feeds (a history index) that a result names.

    In a result with history, positions ``n + k`` (``n`` the feed's size) in
    ``group``, ``keeper`` and ``pairs`` name ``ids[k]`` here.
    """

    rows: np.ndarray  # index rows
    ids: list[str]
    dates: list[str | None]
    sources: list[str]
    lengths: np.ndarray
    groups: list[str]  # the stored group name (its first member's id)
    kept: np.ndarray | None = None  # (bool) stored as kept; a stored duplicate is named as a keeper once its own was pruned
    # ref of a stored end of an edge carried to exact copies (:func:`~dedup.cluster.graph.carried_edges`) → refs of the
    # other stored articles of its text, in row order (:func:`~dedup.store.index.exact_copies`): the edge is listed again
    # for each (:func:`~dedup.cluster.graph.with_stored_copies`), so ``contained_in`` names them, as the export does
    copies: dict[int, list[int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class DedupResult:
    """Everything a dedupe run decided, by article position.

    Attributes:
        table: ids, sources, dates and lengths of the input, in input order.
        status: ``(n,)`` KEPT, DUPLICATE or SKIPPED.
        reason_skipped: position → why the article was not compared.
        group: ``(n,)`` smallest position of the article's duplicate group, or -1.
        keeper: ``(n,)`` position of the kept article of the group, or -1.
        relation: ``(n,)`` relation code of a duplicate to its keeper (NONE otherwise).
        scores: ``(n, 4)`` jaccard, containment, cosine and probability (NaN under the rule) of a duplicate vs its keeper (NaN otherwise).
        pairs, pair_scores, pair_relation: every verified duplicate edge. The
            last ``copied_pairs`` rows carry an edge between two texts to
            their other exact copies (:mod:`dedup.cluster.graph`); the rows
            before them are the verified edges between texts, each named
            between the first copies (:meth:`text_edges`).
        candidates: candidate statistics.
        boilerplate: lines left out of shingling, per source.
        boilerplate_removed: ``(n,)`` how many lines of each article were boilerplate.
        timings: seconds per stage.
        config: the configuration used.
        keep_reason: ``(n,)`` for each keeper, why it was kept (``KEEP_*``).
        bad_records: input records skipped by the reader.
        repeat_counts: ``(n,)`` internally repeated paragraphs (when counted).
        runtime: how the run was asked to execute (:class:`~dedup.runtime.Runtime` as data).
        workers: per stage (the keys of ``timings``), the most worker processes
            it gave tasks to; 0: it ran in this process (work that fits one
            task does, whatever ``runtime`` asks).
        history: with an index, the stored articles named by positions ``n + k``
            (:class:`HistoryRefs`), and ``history_counts`` what the index added.
    """

    table: ArticleTable
    status: np.ndarray
    reason_skipped: dict[int, str]
    group: np.ndarray
    keeper: np.ndarray
    relation: np.ndarray
    scores: np.ndarray
    pairs: np.ndarray
    pair_scores: PairScores
    pair_relation: np.ndarray
    candidates: Candidates
    boilerplate: Boilerplate
    boilerplate_removed: np.ndarray
    timings: dict[str, float]
    config: DedupConfig
    keep_reason: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    bad_records: list[BadRecord] = field(default_factory=list)
    repeat_counts: np.ndarray | None = None
    runtime: dict[str, object] = field(default_factory=dict)
    history: HistoryRefs | None = None
    history_counts: dict[str, object] = field(default_factory=dict)
    copied_pairs: int = 0
    workers: dict[str, int] = field(default_factory=dict)

    def unique(self) -> np.ndarray:
        """``(n,)`` the articles ``unique.jsonl`` holds: every one not a duplicate, nor stored as one by a history index.

        An article the index holds as kept is written again: the index is
        committed before the outputs are written, so it cannot tell whether the
        run that stored it delivered its ``unique.jsonl`` (a run that failed
        after its commit would lose those articles for good).
        """
        out = self.status != DUPLICATE
        for pos, why in self.reason_skipped.items():
            if _stored_duplicate(why):
                out[pos] = False
        return out

    def not_compared(self) -> dict[int, str]:
        """position → why, of the articles this run did not compare (empty, too short, too long…); not those a history
        index held (an earlier run decided them, and stored why when it did not compare one either)."""
        return {pos: why for pos, why in self.reason_skipped.items() if not why.startswith(ALREADY)}

    def text_edges(self) -> tuple[np.ndarray, np.ndarray, PairScores]:
        """``(pairs, relation, scores)`` of the verified edges between texts (without the rows carried to exact copies)."""
        m = len(self.pairs) - self.copied_pairs
        if not self.copied_pairs:
            return self.pairs, self.pair_relation, self.pair_scores
        return self.pairs[:m], self.pair_relation[:m], self.pair_scores.take(slice(0, m))

    def name(self, pos: int) -> str:
        """The id of an article position (``n + k``: a stored article of the history)."""
        n = len(self.table)
        return self.table.ids[pos] if pos < n else self.history.ids[pos - n]  # type: ignore[union-attr]

    def group_name(self, g: int) -> str | None:
        """The name of a group label: the id of its first member (None for -1)."""
        n = len(self.table)
        if g < 0:
            return None
        return self.table.ids[g] if g < n else self.history.groups[g - n]  # type: ignore[union-attr]


@dataclass(frozen=True)
class StoriesResult:
    """Events and storylines of a feed, by article position.

    Attributes:
        articles: the input, in input order.
        dedup: the duplicate groups (the core ``dedupe`` run).
        event, storyline: ``(n,)`` smallest member position of each level.
        representative: ``(n,)`` per event label, the member nearest its centroid.
        pairs, scores: candidate pairs within the window and their story scores.
        timings: seconds per stage (the dedupe stages prefixed ``dedupe.``).
        config: the stories configuration used.
        workers: per stage, as ``timings``, the most worker processes it gave
            tasks to (0: this process alone; ``dedupe``: the most of its stages).
        history: with an index, articles of earlier feeds named by positions
            ``n + k`` in ``event``, ``storyline`` and ``representative`` (id,
            source and label as ``title``; no text).
        earlier: with an index, per continued event (its id) the ids of its
            members from earlier feeds.
        tracking: with an index, counts: ``already_tracked`` (kept their stored
            event), ``placed``, ``new_events`` (begun by a report of this feed),
            ``continued_events`` (stored events a report of this feed joined),
            ``merged_events`` (stored events this run merged into another: a
            report bridged them).
        merged: with an index, per event (its id) the ids of the stored events
            merged into it by this run (their members now carry its id).
    """

    articles: list[Article]
    dedup: DedupResult
    event: np.ndarray
    storyline: np.ndarray
    representative: np.ndarray
    pairs: np.ndarray
    scores: np.ndarray
    timings: dict[str, float]
    config: StoriesConfig
    history: list[Article] = field(default_factory=list)
    earlier: dict[str, list[str]] = field(default_factory=dict)
    tracking: dict[str, int] = field(default_factory=dict)
    stored_groups: dict[int, str] = field(default_factory=dict)
    merged: dict[str, list[str]] = field(default_factory=dict)
    stored_skips: dict[int, str] = field(default_factory=dict)  # an earlier run's reason for not comparing one
    workers: dict[str, int] = field(default_factory=dict)

    def alone(self) -> dict[int, str]:
        """position → why, of the articles no dedupe run compared: each is an event of its own (nothing of it was
        compared, so nothing of it links it to another report)."""
        return self.dedup.not_compared() | self.stored_skips

    def group_of(self, pos: int) -> str | None:
        """The duplicate group of a feed position: this run's, or (an article an earlier run decided) the stored one."""
        g = int(self.dedup.group[pos])
        return self.dedup.group_name(g) if g >= 0 else self.stored_groups.get(pos)

    def name(self, pos: int) -> str:
        """The id of a position (``n + k``: an article of an earlier feed)."""
        n = len(self.articles)
        return self.articles[pos].id if pos < n else self.history[pos - n].id


@dataclass(frozen=True)
class SimilarityResult:
    """Scores of text pairs ``(text1[k], text2[k])``, each array ``(m,)``.

    ``verdict`` is ``"duplicate"`` when ``dedupe``'s decision finds a copy (the learned model by default, whose
    ``probability`` is kept; None under the rule),
    ``"same_event"`` when the story score reaches the event threshold (and
    the two are not dated further apart than the event window), else
    ``"different"``; ``"skipped"`` (scores NaN) when a text has fewer tokens
    than ``dedupe`` compares (``shingle.min_tokens``), empty texts included;
    ``reason`` says why for those two cases. ``story_features`` ``(m, 3)`` are what the story score
    combines (columns :data:`dedup.stories.SCORE_FEATURES`).
    """

    jaccard: np.ndarray
    containment: np.ndarray
    cosine: np.ndarray
    story_score: np.ndarray
    verdict: list[str]
    story_features: np.ndarray
    probability: np.ndarray | None = None
    relation: list[str | None] | None = None  # of a duplicate: exact, near or contained (as dedupe names it)
    reason: list[str | None] | None = None  # why, where the verdict needs saying: skipped, or same-event wording too far apart
