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
import scipy.sparse as sp

from ..config import StoriesConfig
from .linkage import average_linkage, representatives
from .neighbours import neighbour_pairs
from .score import SCORE_FEATURES, score_features, story_scores
from .sparse import compact_columns, l2_rows, pair_dots
from .vectors import (
    candidate_vectors,
    candidate_vectors_from_counts,
    number_sets,
    story_vectors,
    story_vectors_from_counts,
    token_counts,
    word_counts,
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

    Returns:
        :class:`Stories`.

    Raises:
        ValueError: ``times`` does not have one entry per text.
    """
    n = len(texts)
    times = np.asarray(times, dtype=np.float64)
    if len(times) != n:
        raise ValueError(f"find_stories: {n} texts but {len(times)} times")
    words = word_counts(texts, bigrams=False)  # shared by the story vectors and the candidate search
    x = story_vectors_from_counts(texts, titles, config, None if config.bigrams else words, _ticker(progress, "vectors", n))
    nums = number_sets(texts, titles)
    lengths = token_counts(texts)
    window = config.window_days * _DAY
    max_df = max(config.candidate_max_df, int(config.candidate_max_df_fraction * n))
    cand = candidate_vectors_from_counts(words, max_df)
    del words
    # Narrowed to the columns in use (same dot products): pair_dots gathers from one dense buffer per column.
    x, cand, nums = compact_columns(x), compact_columns(cand), compact_columns(nums)
    pairs, _ = neighbour_pairs(cand, config.neighbours, config.min_word_cosine, config.chunk_rows, times, window,
                               _ticker(progress, "neighbours", n))
    scores = story_scores(x, nums, lengths, pairs, config)
    keep = scores >= config.min_candidate
    pairs, scores = pairs[keep], scores[keep]
    initial = None
    if groups is not None:
        initial = np.where(np.asarray(groups) >= 0, groups, np.arange(n))
    event = average_linkage(x, pairs, scores, config.event_threshold, config.event_linkage, initial, times, window,
                            _ticker(progress, "events", int((scores >= config.event_threshold).sum())))
    log.info("stories: %d candidate pairs, %d events", len(pairs), len(np.unique(event)))

    # Storylines: the same clustering over event centroids, no time window.
    labels, inverse = np.unique(event, return_inverse=True)
    member = sp.csr_matrix((np.ones(n), (inverse, np.arange(n))), shape=(len(labels), n))
    sums = sp.csr_matrix(member @ x)
    centroids = l2_rows(sums)
    epairs, _ = neighbour_pairs(l2_rows(member @ cand), config.neighbours, config.min_word_cosine, config.chunk_rows,
                                tick=_ticker(progress, "storylines", len(labels)))
    ecos = np.clip(pair_dots(centroids, epairs[:, 0], centroids, epairs[:, 1]), 0.0, 1.0) if len(epairs) else np.zeros(0)
    elab = average_linkage(centroids, epairs, ecos, config.storyline_threshold, config.storyline_linkage,
                           tick=_ticker(progress, "linking", int((ecos >= config.storyline_threshold).sum())))
    storyline = labels[elab][inverse]  # smallest event label = smallest article position
    return Stories(
        event=event,
        storyline=storyline,
        representative=representatives(x, event, inverse, sums),
        pairs=pairs,
        scores=scores,
    )
