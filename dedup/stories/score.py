"""The story score of a pair: an estimate in (0, 1) of how alike readers find the two stories.

A logistic function of three pair features (:data:`SCORE_FEATURES`) with
weights fitted on human same-story ratings (SemEval-2022 Task 8,
``scripts/fit_story_score.py``), damped for templated reports: alike wording
with disjoint numbers (weather, prices, results), and template places filled
with other names or figures (:mod:`dedup.stories.slots`: cables to other
countries, accidents elsewhere). The same score links events and is the
``story_score`` of ``dedup similarity``.
"""

from __future__ import annotations

import numpy as np
from ..sparse import sp

from ..config import StoriesConfig
from .slots import Slots, slot_conflicts
from .sparse import pair_dots

__all__ = ["SCORE_FEATURES", "score_features", "story_scores"]

SCORE_FEATURES = ("sqrt_cosine", "length_ratio", "shared_numbers")
"""The columns of :func:`score_features`, in order."""


def score_features(vectors: sp.csr_matrix, numbers: sp.csr_matrix, lengths: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """``(m, 3)`` features of each pair ``(m, 2)`` that :func:`story_scores` combines.

    * ``sqrt_cosine``: the square root of the cosine of the story vectors
      (the cosine's distribution is skewed towards 0; its root is closer to
      linear in how alike human readers find two stories);
    * ``length_ratio``: ``ln((1 + shorter) / (1 + longer))`` in tokens, <= 0
      (a short report of an event shares only part of a long one's words,
      which lowers the cosine without making the stories less alike);
    * ``shared_numbers``: Jaccard of the two number sets (0 when neither
      text carries a number).

    >>> x = sp.csr_matrix(np.array([[0.6, 0.8], [1.0, 0.0]]))
    >>> nums = sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 0.0]]))
    >>> score_features(x, nums, np.array([9, 99]), np.array([[0, 1]])).round(3).tolist()
    [[0.775, -2.303, 0.5]]
    """
    if len(pairs) == 0:
        return np.zeros((0, len(SCORE_FEATURES)))
    i, j = pairs[:, 0], pairs[:, 1]
    cos = np.clip(pair_dots(vectors, i, vectors, j), 0.0, 1.0)
    lengths = np.asarray(lengths, dtype=np.float64) + 1.0
    ratio = np.log(np.minimum(lengths[i], lengths[j]) / np.maximum(lengths[i], lengths[j]))
    shared = pair_dots(numbers, i, numbers, j)
    counts = numbers.getnnz(axis=1)
    union = counts[i] + counts[j] - shared
    jaccard = np.divide(shared, union, out=np.zeros(len(i)), where=union > 0)
    return np.stack([np.sqrt(cos), ratio, jaccard], axis=1)


def story_scores(
    vectors: sp.csr_matrix,
    numbers: sp.csr_matrix,
    lengths: np.ndarray,
    pairs: np.ndarray,
    config: StoriesConfig = StoriesConfig(),
    slots: Slots | None = None,
) -> np.ndarray:
    """The story score of each pair ``(m, 2)``: how alike readers would find the two stories.

    A logistic function of :func:`score_features` with the weights of
    ``config`` (fitted by ``scripts/fit_story_score.py`` on SemEval-2022 Task 8
    pairs, the target being ``(4 - Overall) / 3``: 1 = same story, 0 =
    unrelated), times ``number_penalty`` for templated reports (weather,
    prices, results of different days): texts worded alike (cosine at least
    ``template_cosine``) that both carry at least ``min_numbers`` distinct
    numbers and share none of them; and times ``slot_penalty`` for pairs
    that fill at least ``slot_min_conflicts`` template frames with other
    names or figures (:func:`dedup.stories.slots.slot_conflicts`).

    Args:
        vectors: ``(n, d)`` story vectors (:func:`dedup.stories.vectors.story_vectors`).
        numbers: ``(n, k)`` number sets (:func:`dedup.stories.vectors.number_sets`).
        lengths: ``(n,)`` token counts of the bodies (:func:`dedup.stories.vectors.token_counts`).
        pairs: ``(m, 2)`` positions.
        config: the weights and the template rules.
        slots: the template frames learned from these rows
            (:meth:`dedup.stories.slots.Slots.learn`); None: no slot rule.

    Returns:
        ``(m,)`` scores in (0, 1); higher = more alike.
    """
    if len(pairs) == 0:
        return np.zeros(0)
    f = score_features(vectors, numbers, lengths, pairs)
    z = config.score_intercept + f @ np.array([config.score_cosine, config.score_length, config.score_numbers])
    score = 1.0 / (1.0 + np.exp(-z))
    counts = numbers.getnnz(axis=1)
    i, j = pairs[:, 0], pairs[:, 1]
    template = (counts[i] >= config.min_numbers) & (counts[j] >= config.min_numbers) & (f[:, 2] == 0)
    template &= f[:, 0] ** 2 >= config.template_cosine  # worded alike: independent reports of one story differ in words too
    score = np.where(template, score * config.number_penalty, score)
    if slots is not None and config.slot_penalty < 1.0:
        disagree = slot_conflicts(slots, pairs) >= config.slot_min_conflicts
        score = np.where(disagree, score * config.slot_penalty, score)
    return score
