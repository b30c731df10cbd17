"""The similarity flow: scores of text pairs, as ``dedupe`` and ``stories`` measure them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..config import DedupConfig, StoriesConfig
from ..exec import LocalExecutor
from ..results import SimilarityResult
from ..stories import number_sets, score_features, story_scores, story_vectors, token_counts
from ..text.normalize import normalize_texts
from ..verify import NONE, RELATIONS, decide, fit_idf, score_pairs
from .prepare_held import prepare_texts
from .stories import check_normalize

__all__ = ["similarity"]


def similarity(
    text1: Sequence[str],
    text2: Sequence[str],
    config: StoriesConfig | None = None,
    dedup_config: DedupConfig = DedupConfig(),
    title1: Sequence[str] | None = None,
    title2: Sequence[str] | None = None,
    time1: Sequence[float] | None = None,
    time2: Sequence[float] | None = None,
    source1: Sequence[str] | None = None,
    source2: Sequence[str] | None = None,
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
        time1, time2: the sides' dates as :func:`~dedup.types.timestamp` seconds (NaN: undated), for the learned
            decision (the days between two copies); by default undated, as two texts alone are.
        source1, source2: the sides' outlets, for the learned decision (the same outlet or two); by default, and
            for a side given None, each side its own (a feed's records without a source are one outlet, ``""``, to
            ``dedupe``: give ``""`` for that).

    Raises:
        ValueError: the sides differ in length.
    """

    config = config if config is not None else StoriesConfig()
    check_normalize(config, dedup_config)
    if config.semantic:
        from ..stories.semantic import require_encoder_for

        require_encoder_for(config)
    if len(text1) != len(text2):
        raise ValueError(f"similarity: {len(text1)} first texts but {len(text2)} second texts")
    m = len(text1)
    raw = list(text1) + list(text2)  # repaired as they are normalized (NormalizeConfig.repair)
    # As dedupe does, a text longer than max_chars is not compared (nor normalized: ~160 bytes of memory a character)
    chars = np.array([len(t) for t in raw], dtype=np.int64)
    too_long = chars > dedup_config.max_chars
    if too_long.any():
        raw = ["" if long else t for t, long in zip(raw, too_long.tolist())]
    texts, feats, digest = prepare_texts(raw, None, dedup_config, LocalExecutor(1), chunk_size=max(1, len(raw)))
    heads = list(title1 or [""] * m) + list(title2 or [""] * m)
    titles = [t.replace("\n", " ") for t in normalize_texts(heads, dedup_config.normalize)]
    pairs = np.stack([np.arange(m), np.arange(m) + m], axis=1).astype(np.int64)
    core = score_pairs(feats, pairs, digest, fit_idf(feats))
    times = np.concatenate([_side(time1, m, np.nan, "time1"), _side(time2, m, np.nan, "time2")]).astype(np.float64)
    named = list(_side(source1, m, None, "source1")) + list(_side(source2, m, None, "source2"))
    codes: dict[str, int] = {}  # an outlet's code; a side without one its own (never the same outlet as another)
    sources = np.array([codes.setdefault(x, len(codes)) if x is not None else -1 - k for k, x in enumerate(named)], dtype=np.int64)
    rel, probability = _decision(feats, pairs, core, dedup_config, sources, times)
    x, nums, lengths = story_vectors(texts, titles, config), number_sets(texts, titles), token_counts(texts)
    story = story_scores(x, nums, lengths, pairs, config)
    features = score_features(x, nums, lengths, pairs)
    if config.semantic:
        story = _semantic(story, features, list(text1) + list(text2), heads, config)
    # two reports with known dates further apart than the window are never one event (stories' rule; an undated side
    # is not judged by date here)
    days = np.abs(times[:m] - times[m:]) / 86_400.0
    apart = (days > config.window_days).tolist()  # NaN (a side undated): False
    verdict, reason = [], []
    for r, s, far, d in zip(rel.tolist(), story.tolist(), apart, days.tolist()):
        if r != NONE:
            verdict.append("duplicate")
            reason.append(None)
        elif s >= config.event_threshold and far:
            verdict.append("different")
            reason.append(f"dated {d:.1f} days apart: reports further apart than the event window "
                          f"({config.window_days:g} days) are never one event")
        else:
            verdict.append("same_event" if s >= config.event_threshold else "different")
            reason.append(None)
    # As dedupe does, a text too short to compare (or empty), or too long, is not compared: no scores, verdict "skipped".
    n_tokens = np.array([t.count(" ") + 1 if t else 0 for t in texts])
    least = dedup_config.shingle.min_tokens
    long_pair = too_long[:m] | too_long[m:]
    short = (n_tokens[:m] < least) | (n_tokens[m:] < least) | long_pair
    jac, cont, cos, story = (np.where(short, np.nan, a) for a in (core.jaccard, core.containment, core.cosine, story))
    if probability is not None:
        probability = np.where(short, np.nan, probability)
    for k in np.flatnonzero(short).tolist():
        verdict[k] = "skipped"
        if long_pair[k]:
            sides = [f"text{i + 1} has {chars[k + i * m]} characters" for i in (0, 1) if too_long[k + i * m]]
            reason[k] = f"text too long: {' and '.join(sides)} > max_chars={dedup_config.max_chars} (as dedupe skips it)"
            continue
        sides = [f"text{i + 1} has {n_tokens[k + i * m]} word{'' if n_tokens[k + i * m] == 1 else 's'}"
                 for i in (0, 1) if n_tokens[k + i * m] < least]
        reason[k] = f"too short to compare: {' and '.join(sides)} (dedupe compares texts of {least} or more)"
    relation = [RELATIONS[r] if r != NONE and not sk else None for r, sk in zip(rel.tolist(), short.tolist())]
    return SimilarityResult(jac, cont, cos, story, verdict, features, probability, relation, reason)


def _side(values: Sequence | None, m: int, default: object, name: str) -> list:
    """One side's dates or outlets, ``m`` of them (``default`` each when not given)."""
    if values is None:
        return [default] * m
    if len(values) != m:
        raise ValueError(f"similarity: {m} pairs but {len(values)} values of {name}")
    return list(values)


def _decision(feats, pairs: np.ndarray, core, config: DedupConfig, sources: np.ndarray,  # noqa: ANN001
              times: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The relation of each pair as ``dedupe`` decides it, and the learned decision's probability (None under the rule).

    ``sources`` (codes) and ``times`` (seconds, NaN undated) are per side, as
    ``dedupe``'s table has them: texts alone are two outlets' articles,
    undated (``same_source`` false, ``undated``), as the model reads an
    undated pair in a feed.
    """
    if config.verify.decision == "rule" or not len(pairs):
        return decide(core, config.verify), None
    from ..verify.decision import copy_probability, load_model, relations
    from .dedupe import decision_features

    model = load_model(config.verify.model)
    sides = np.arange(len(sources))
    prob = copy_probability(core, model.probability(decision_features(feats, pairs, core, sources, times, sides, model.features)))
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
