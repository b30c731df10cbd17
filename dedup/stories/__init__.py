"""Events and storylines: who reported the same happening, and which happenings belong together.

Two levels over article positions ``0..n-1``:

* an **event** groups articles about one specific happening (a meeting, an
  attack, a match), copies or independently written, within a time window;
* a **storyline** groups related events over any span of time.

The stage is one pure function, :func:`find_stories`, over normalized texts,
normalized headlines and timestamps (seconds, NaN when unknown). Its steps,
one module each:

1. :mod:`~dedup.stories.vectors`: TF-IDF story vectors with a background IDF
   prior, number sets, token counts;
2. :mod:`~dedup.stories.neighbours`: each article's top-k neighbours within
   the time window (the candidate pairs);
3. :mod:`~dedup.stories.score`: the story score of each candidate pair;
4. :mod:`~dedup.stories.linkage`: events by average linkage along the scored
   pairs, the copies found by the core merged first; storylines by the same
   linkage over the event centroids, without a time window.

:mod:`~dedup.stories.sparse` holds the row kernels they share. Labels are the
smallest member position, so outputs are deterministic. Why each step is the
way it is, with the measurements behind it: ``docs/stories.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..config import StoriesConfig
from .arrival import arrival_order, copy_reach, day_blocks
from .day import build_day
from .events import EventTracker, TrackedEvents
from .sparse import pair_cosines
from .linkage import average_linkage
from .neighbours import neighbour_pairs
from .score import SCORE_FEATURES, score_features, story_scores
from .sparse import compact_columns, pair_dots
from .vectors import (
    candidate_vectors,
    number_sets,
    story_vectors,
    token_counts,
)

__all__ = [
    "SCORE_FEATURES",
    "Stories",
    "average_linkage",
    "candidate_vectors",
    "find_stories",
    "neighbour_pairs",
    "number_sets",
    "pair_dots",
    "score_features",
    "story_scores",
    "story_vectors",
    "token_counts",
]

log = logging.getLogger(__name__)

_DAY = 86_400.0


@dataclass(frozen=True)
class Stories:
    """Events and storylines by article position.

    Attributes:
        event: ``(n,)`` smallest member position of the article's event.
        storyline: ``(n,)`` smallest member position of the article's storyline.
        representative: ``(n,)`` for an event label ``e``, ``representative[e]``
            is the member closest to the event centroid (-1 for non-labels).
        pairs: ``(m, 2)`` candidate pairs ``i < j`` (within the window).
        scores: ``(m,)`` their story scores.
    """

    event: np.ndarray
    storyline: np.ndarray
    representative: np.ndarray
    pairs: np.ndarray
    scores: np.ndarray


def _ticker(progress: Callable[[str, int, int], None] | None, stage: str, total: int) -> Callable[[int], None] | None:
    """``advance -> progress(stage, advance, total)``, or None without a progress callback."""
    if progress is None:
        return None
    return lambda advance: progress(stage, advance, total)


def find_stories(
    texts: Sequence[str],
    titles: Sequence[str],
    times: np.ndarray,
    config: StoriesConfig = StoriesConfig(),
    groups: np.ndarray | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    alone: np.ndarray | None = None,
    dup_groups: np.ndarray | None = None,
) -> Stories:
    """Cluster articles into events and events into storylines.

    Args:
        texts: normalized bodies (boilerplate removed), one per position.
        titles: normalized headlines ("" when unknown).
        times: ``(n,)`` POSIX seconds, NaN when the date is unknown.
        config: thresholds, window and vector settings.
        groups: ``(n,)`` copy labels (-1 = none; the pipeline passes
            :func:`dedup.cluster.groups.copy_groups`, which holds the duplicate
            groups whole); the members of
            a group within one window of each other end up inside one event
            (a group spanning more is cut in time order into window-long runs).
        progress: called with ``(stage, advance, total)`` as the long steps
            go: ``vectors`` and ``neighbours`` (articles), ``events`` (strong
            pairs), ``storylines`` (events) and ``linking`` (strong event pairs).
        alone: ``(n,)`` bool, the articles dedupe did not compare (empty, too
            short, too long: ``DedupResult.not_compared``): each is an event of
            its own, whatever its text and headline.
        dup_groups: ``(n,)`` dedupe's duplicate groups (-1 = none): a member
            that its copy group's event cannot take in (past the window) joins
            the event of the group's previous member as a late reprint
            (:class:`~dedup.stories.events.EventTracker`); None: it does not.

    Returns:
        :class:`Stories`.

    Raises:
        ValueError: ``times`` does not have one entry per text.
    """
    n = len(texts)
    times = np.asarray(times, dtype=np.float64)
    if len(times) != n:
        raise ValueError(f"find_stories: {n} texts but {len(times)} times")
    copies = np.full(n, -1, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    alone = np.zeros(n, dtype=bool) if alone is None else np.asarray(alone, dtype=bool)
    order = arrival_order(times)
    until = copy_reach(copies, times, config.window_days * _DAY)
    tracker = EventTracker(n, config, _ticker(progress, "events", n))
    tracker.add_days(build_day([texts[p] for p in order[lo:hi]], [titles[p] for p in order[lo:hi]], times[order[lo:hi]],
                               copies[order[lo:hi]], np.arange(lo, hi), config, until[order[lo:hi]],
                               alone=alone[order[lo:hi]], groups=None if dup_groups is None else dup_groups[order[lo:hi]])
                     for lo, hi in day_blocks(times[order]))
    return stories_from_tracked(tracker.finish(), order, config, progress)


def stories_from_tracked(
    tracked: TrackedEvents,
    order: np.ndarray,
    config: StoriesConfig,
    progress: Callable[[str, int, int], None] | None = None,
    threads: int = 1,
) -> Stories:
    """Storylines over the events' centroids, and everything mapped from arrival indices to positions.

    Args:
        tracked: what :class:`EventTracker` found; its centroid matrices are
            given up (their columns renumbered in place).
        order: ``(n,)`` the position of each arrival index.
        config: the storyline settings.
        progress: as for :func:`find_stories` (``storylines``, ``linking``).
        threads: threads the neighbour search over many events may use (never changes a result).
    """
    n = len(order)
    labels = tracked.labels
    # the tracked centroids are given up (renumbered in place): ~2 GB at 1M articles, not held twice
    centroids, words = compact_columns(tracked.centroids, inplace=True), compact_columns(tracked.word_centroids, inplace=True)
    epairs, _ = neighbour_pairs(words, config.neighbours, config.min_word_cosine, config.chunk_rows,
                                tick=_ticker(progress, "storylines", len(labels)), threads=threads)
    ecos = pair_cosines(centroids, epairs, threads)
    elab = average_linkage(centroids, epairs, ecos, config.storyline_threshold, config.storyline_linkage,
                           tick=_ticker(progress, "linking", int((ecos >= config.storyline_threshold).sum())))
    event = np.empty(n, dtype=np.int64)  # by position: the position of the event's first report
    event[order] = order[tracked.event]
    storyline_of_event = np.full(n, -1, dtype=np.int64)
    storyline_of_event[labels] = labels[elab]
    storyline = np.empty(n, dtype=np.int64)
    storyline[order] = order[storyline_of_event[tracked.event]]
    representative = np.full(n, -1, dtype=np.int64)
    has = tracked.representative >= 0
    representative[order[has]] = order[tracked.representative[has]]
    pairs = order[tracked.pairs] if len(tracked.pairs) else np.zeros((0, 2), dtype=np.int64)
    pairs = np.stack([pairs.min(axis=1), pairs.max(axis=1)], axis=1) if len(pairs) else pairs
    by_pair = np.lexsort((pairs[:, 1], pairs[:, 0])) if len(pairs) else np.zeros(0, dtype=np.int64)
    log.info("stories: %d candidate pairs, %d events", len(pairs), len(labels))
    return Stories(
        event=event,
        storyline=storyline,
        representative=representative,
        pairs=pairs[by_pair],
        scores=tracked.scores[by_pair],
    )
