"""The similarity flow: scores of text pairs, as ``dedupe`` and ``stories`` measure them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..config import DedupConfig, StoriesConfig
from ..exec import LocalExecutor
from ..results import SimilarityResult
from ..stories import number_sets, score_features, story_scores, story_vectors, token_counts
from ..text.normalize import normalize_texts
from ..verify import NONE, decide, fit_idf, score_pairs
from .prepare import prepare_texts
from .stories import check_normalize

__all__ = ["similarity"]


def similarity(
    text1: Sequence[str],
    text2: Sequence[str],
    config: StoriesConfig | None = None,
    dedup_config: DedupConfig = DedupConfig(),
    title1: Sequence[str] | None = None,
    title2: Sequence[str] | None = None,
) -> SimilarityResult:
    """Score pairs of texts the way ``dedupe`` and ``stories`` do.

    ``jaccard``, ``containment`` and ``cosine`` are the core verification
    scores (shingle sets and token TF-IDF); ``story_score`` is the score the
    event clustering uses. IDF weights are fitted on all texts given, so
    scores of one pair depend a little on the rest of the batch (more pairs,
    better IDF). With ``config.semantic`` the pairs whose story score lies in
    the semantic model's band get the semantic story score instead (their raw
    headlines and texts embedded, :mod:`dedup.stories.semantic`), as events
    do, and the verdict follows it.

    Args:
        text1, text2: the two sides, raw text, same length.
        config: stories settings (thresholds, vectors).
        dedup_config: the core settings (shingles, the duplicate decision: the learned model or the rule, as
            ``dedupe`` decides).
        title1, title2: optional headlines.

    Raises:
        ValueError: the sides differ in length.
    """
    from ..stories import number_sets, score_features, story_scores, story_vectors, token_counts

    config = config if config is not None else StoriesConfig()
    check_normalize(config, dedup_config)
    if config.semantic:
        from ..stories.semantic import require_encoder_for

        require_encoder_for(config)
    if len(text1) != len(text2):
        raise ValueError(f"similarity: {len(text1)} first texts but {len(text2)} second texts")
    m = len(text1)
    raw = list(text1) + list(text2)  # repaired as they are normalized (NormalizeConfig.repair)
    texts, feats, digest = prepare_texts(raw, None, dedup_config, LocalExecutor(1), chunk_size=max(1, len(raw)))
    heads = list(title1 or [""] * m) + list(title2 or [""] * m)
    titles = [t.replace("\n", " ") for t in normalize_texts(heads, dedup_config.normalize)]
    pairs = np.stack([np.arange(m), np.arange(m) + m], axis=1).astype(np.int64)
    core = score_pairs(feats, pairs, digest, fit_idf(feats))
    rel, probability = _decision(feats, pairs, core, dedup_config)
    x, nums, lengths = story_vectors(texts, titles, config), number_sets(texts, titles), token_counts(texts)
    story = story_scores(x, nums, lengths, pairs, config)
    features = score_features(x, nums, lengths, pairs)
    if config.semantic:
        story = _semantic(story, features, list(text1) + list(text2), heads, config)
    verdict = [
        "duplicate" if r != NONE else ("same_event" if s >= config.event_threshold else "different")
        for r, s in zip(rel.tolist(), story.tolist())
    ]
    # As dedupe does, a text too short to compare (or empty) is not compared: no scores, verdict "skipped".
    n_tokens = np.array([t.count(" ") + 1 if t else 0 for t in texts])
    short = (n_tokens[:m] < dedup_config.shingle.min_tokens) | (n_tokens[m:] < dedup_config.shingle.min_tokens)
    jac, cont, cos, story = (np.where(short, np.nan, a) for a in (core.jaccard, core.containment, core.cosine, story))
    if probability is not None:
        probability = np.where(short, np.nan, probability)
    verdict = ["skipped" if sk else v for sk, v in zip(short.tolist(), verdict)]
    return SimilarityResult(jac, cont, cos, story, verdict, features, probability)


def _decision(feats, pairs: np.ndarray, core, config: DedupConfig) -> tuple[np.ndarray, np.ndarray | None]:  # noqa: ANN001
    """The relation of each pair as ``dedupe`` decides it, and the learned decision's probability (None under the rule).

    The pair's sides are texts alone, with no outlet nor date: the model
    reads them as two outlets' articles of the same day (``same_source``
    false, ``log_days`` 0, ``undated``), as it reads an undated pair in a feed.
    """
    if config.verify.decision == "rule" or not len(pairs):
        return decide(core, config.verify), None
    from ..verify.decision import load_model, relations
    from .dedupe import decision_features

    model = load_model(config.verify.model)
    n = int(pairs.max()) + 1
    sides = np.arange(n)
    prob = model.probability(decision_features(feats, pairs, core, sides, np.full(n, np.nan), sides, model.features))
    return relations(core, prob, config.verify.min_probability or model.threshold), prob


def _semantic(story: np.ndarray, features: np.ndarray, raw: list[str], heads: list[str], config: StoriesConfig) -> np.ndarray:
    """``story`` with the pairs in the semantic model's band re-scored; only their texts are embedded.

    ``raw`` and ``heads`` hold the ``2m`` texts and headlines as given (first
    sides, then second sides): the encoder reads text as written.
    """
    from ..stories import semantic

    m = len(story)
    which = semantic.pairs_to_rescore(story)
    if len(which) == 0:
        return story
    sides = np.concatenate([which, which + m])
    vectors = semantic.embed([semantic.article_text(heads[k], raw[k]) for k in sides.tolist()])
    local = np.stack([np.arange(len(which)), np.arange(len(which)) + len(which)], axis=1)
    return semantic.rescore(story, which, features[which], semantic.pair_cosines(vectors, local), config)
