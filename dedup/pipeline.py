"""The orchestrator: the only place that knows the order of the stages.

``dedupe`` reads like a table of contents::

    [repeats] → normalize → boilerplate → screen (skip / exact copies) →
    sketch (tokens, shingles, MinHash) → candidates (LSH + anchors) → verify →
    cluster → explain

Every stage is a pure function in its own module; this module wires them,
times each one, and moves between integer spaces: article positions
``0..n-1`` and representative positions ``0..R-1`` (one per distinct
normalized text that is long enough to compare). External ids appear only in
``io/``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import xxhash

from .boilerplate import Boilerplate, find_boilerplate, strip_boilerplate
from .cluster import choose_keepers, duplicate_groups, star_groups
from .config import DedupConfig, RepeatsConfig, StoriesConfig
from .index import Candidates, candidate_pairs
from .normalize import normalize_batch
from .parallel import backend, map_chunks
from .chunks import normalize_chunk, sketch_chunk
from .repeats import ArticleRepeats, clean, find_repeats_batch
from .signatures import permutations
from .types import Article, BadRecord
from .verify import CONTAINED, EXACT, NEAR, NONE, PairScores, Vectors, decide, score_pairs

__all__ = [
    "KEPT",
    "DUPLICATE",
    "SKIPPED",
    "DedupResult",
    "Progress",
    "dedupe",
    "find_repeats_feed",
    "score_articles",
    "sketch_chunk",
]

log = logging.getLogger(__name__)

KEPT, DUPLICATE, SKIPPED = 0, 1, 2

Progress = Callable[[str, int, int], None]
"""``progress(stage, advance, total)``: called as work finishes."""


@dataclass
class StageTimer:
    """Wall-clock seconds per stage, in the order the stages ran."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = round(time.perf_counter() - start, 4)
            log.info("stage %s: %.3f s", stage, self.seconds[stage])


@dataclass(frozen=True)
class DedupResult:
    """Everything a dedupe run decided, by article position.

    Attributes:
        articles: the input, in input order.
        status: ``(n,)`` KEPT, DUPLICATE or SKIPPED.
        reason_skipped: position → why the article was not compared.
        group: ``(n,)`` smallest position of the article's duplicate group, or -1.
        keeper: ``(n,)`` position of the kept article of the group, or -1.
        relation: ``(n,)`` relation code of a duplicate to its keeper (NONE otherwise).
        scores: ``(n, 3)`` jaccard, containment, cosine of a duplicate vs its keeper (NaN otherwise).
        pairs, pair_scores, pair_relation: every verified duplicate edge.
        candidates: candidate statistics.
        boilerplate: lines left out of shingling, per source.
        boilerplate_removed: ``(n,)`` how many lines of each article were boilerplate.
        timings: seconds per stage.
        config: the configuration used.
        bad_records: input records skipped by the reader.
    """

    articles: list[Article]
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
    bad_records: list[BadRecord] = field(default_factory=list)
    repeats: list[ArticleRepeats] | None = None


def _concat(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate ``(flat, offsets)`` batches into one."""
    flats = [p[0] for p in parts]
    offsets = [np.zeros(1, dtype=np.int64)]
    base = 0
    for flat, off in parts:
        offsets.append(off[1:] + base)
        base += len(flat)
    flat = np.concatenate(flats) if flats else np.zeros(0, dtype=np.uint64)
    return flat, np.concatenate(offsets)


def _timestamp(value: str | None) -> float:
    if not value:
        return float("nan")
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return float("nan")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def _star_labels(
    n: int, n_reps: int, rep_of: np.ndarray, rep_pairs: np.ndarray, rel: np.ndarray, scores: PairScores, priority: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Star grouping over representatives; exact copies follow their representative.

    Keepers are taken most complete first: a text that is contained in
    another verified text is never preferred over its container (so a teaser
    or a wire item does not cause the longer piece that holds it to be
    dropped); among the rest the keeper policy decides, a representative
    ranking as its best exact copy.

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
    inside = np.where(scores.contain_ij >= scores.contain_ji, pairs[:, 0], pairs[:, 1])[contained]
    rep_rank[np.unique(inside)] += n  # after every text that is not inside another
    cont = np.maximum(scores.contain_ij, scores.contain_ji)
    strength = np.where(contained, cont, scores.jaccard)
    centers = star_groups(n_reps, pairs, rel, scores.contain_ij, scores.contain_ji, strength, rep_rank)
    keeper = np.arange(n, dtype=np.int64)
    keeper[valid] = best_copy[centers[rep_of[valid]]]
    smallest = np.full(n, n, dtype=np.int64)
    np.minimum.at(smallest, keeper, np.arange(n))
    return smallest[keeper], keeper


def policy_key(articles: Sequence[Article], config: DedupConfig) -> np.ndarray:
    """The keeper policy as a number per article (smaller = preferred, NaN = last)."""
    keep = config.cluster.keep
    if keep == "earliest":
        return np.array([_timestamp(a.date) for a in articles], dtype=np.float64)
    if keep == "longest":
        return -np.array([len(a.text) for a in articles], dtype=np.float64)
    if keep == "source-priority":
        rank = {s: i for i, s in enumerate(config.cluster.source_priority)}
        return np.array([rank.get(a.source, len(rank)) for a in articles], dtype=np.float64)
    return np.zeros(len(articles), dtype=np.float64)


def _normalized_lines(
    texts: Sequence[str], config: DedupConfig, progress: Callable[[int], None] | None = None
) -> list[list[str]]:
    """Normalized non-empty lines of every text, in parallel chunks."""
    chunks = map_chunks(
        normalize_chunk, texts, n_jobs=config.n_jobs, chunk_size=config.chunk_size, progress=progress, config=config.normalize
    )
    return [art_lines for chunk in chunks for art_lines in chunk]


def _without_boilerplate(
    lines: Sequence[Sequence[str]], sources: Sequence[str], config: DedupConfig
) -> tuple[list[str], Boilerplate, np.ndarray]:
    """Each article's text to compare (boilerplate left out), the boilerplate, and how many lines it removed."""
    bp = find_boilerplate(lines, sources, config.boilerplate)
    stripped = [strip_boilerplate(ls, s, bp) for ls, s in zip(lines, sources)]
    return [c for c, _ in stripped], bp, np.array([r for _, r in stripped], dtype=np.int64)


def _sketches(
    contents: Sequence[str], config: DedupConfig, progress: Callable[[int], None] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Token hashes, shingle hashes (flat + offsets each) and signatures, in parallel chunks."""
    parts = map_chunks(
        sketch_chunk,
        contents,
        n_jobs=config.n_jobs,
        chunk_size=config.chunk_size,
        progress=progress,
        shingle_cfg=config.shingle,
        minhash_cfg=config.minhash,
        perms=permutations(config.minhash.num_perm, config.minhash.seed),
    )
    th, to = _concat([(p[0], p[1]) for p in parts])
    sh, so = _concat([(p[2], p[3]) for p in parts])
    sigs = np.concatenate([p[4] for p in parts]) if parts else np.zeros((0, config.minhash.num_perm), dtype=np.uint32)
    return th, to, sh, so, sigs


def dedupe(
    articles: Sequence[Article],
    config: DedupConfig = DedupConfig(),
    progress: Progress | None = None,
    bad_records: Sequence[BadRecord] = (),
) -> DedupResult:
    """Find exact and near-duplicate articles and choose one keeper per group.

    Args:
        articles: the feed, in input order.
        config: all stage settings.
        progress: optional callback for long stages.
        bad_records: reader skips, carried into the result for reporting.

    Returns:
        A :class:`DedupResult` with exactly one decision per article.
    """
    workers = config.n_jobs if config.n_jobs > 1 else (os.cpu_count() or 2)
    with backend(config.backend, config.dask_address, workers):
        return _dedupe(articles, config, progress, bad_records)


def _dedupe(
    articles: Sequence[Article],
    config: DedupConfig = DedupConfig(),
    progress: Progress | None = None,
    bad_records: Sequence[BadRecord] = (),
) -> DedupResult:
    """:func:`dedupe` inside the chosen parallel backend."""
    articles = list(articles)
    n = len(articles)
    timer = StageTimer()

    def tick(stage: str, total: int) -> Callable[[int], None] | None:
        return None if progress is None else (lambda k: progress(stage, k, total))

    texts = [a.text for a in articles]
    repeats = None
    if config.count_repeats or config.clean_repeats:
        with timer("repeats"):
            repeats = find_repeats_feed(texts, config.repeats, config.n_jobs, config.chunk_size, tick("repeats", n))
            if config.clean_repeats:
                texts = [clean(t, r) if r.n_repeats else t for t, r in zip(texts, repeats)]

    with timer("normalize"):
        lines = _normalized_lines(texts, config, tick("normalize", n))

    with timer("boilerplate"):
        contents, bp, removed = _without_boilerplate(lines, [a.source for a in articles], config)
        del lines

    with timer("screen"):
        reason_skipped: dict[int, str] = {}
        min_tokens = config.shingle.min_tokens
        for pos, (art, content) in enumerate(zip(articles, contents)):
            if not art.text.strip():
                reason_skipped[pos] = "empty text"
            elif not content:
                reason_skipped[pos] = "no text left after removing boilerplate"
            elif len(art.text) > config.max_chars:
                reason_skipped[pos] = f"text too long: {len(art.text)} characters > max_chars={config.max_chars}"
            else:
                ntok = content.count(" ") + 1
                if ntok < min_tokens:
                    reason_skipped[pos] = f"too short: {ntok} token{'s' if ntok != 1 else ''} < min_tokens={min_tokens}"
        digest = np.array([xxhash.xxh3_64_intdigest(c.encode()) for c in contents], dtype=np.uint64)
        rep_of = np.full(n, -1, dtype=np.int64)  # article → representative index
        reps: list[int] = []
        first_of: dict[int, int] = {}
        for pos in range(n):
            if pos in reason_skipped:
                continue
            r = first_of.setdefault(int(digest[pos]), len(reps))
            if r == len(reps):
                reps.append(pos)
            rep_of[pos] = r
        rep_pos = np.array(reps, dtype=np.int64)

    with timer("sketch"):
        th, to, sh, so, sigs = _sketches([contents[p] for p in reps], config, tick("sketch", len(reps)))
        del contents

    with timer("candidates"):
        cands = candidate_pairs(sigs, np.arange(len(reps)), th, to, config.index, config.minhash, sizes=np.diff(so))

    with timer("verify"):
        vectors = Vectors.build(sh, so, th, to, digest[rep_pos], rows=cands.pairs.ravel())
        scores = score_pairs(vectors, cands.pairs)
        rel = decide(scores, config.verify)
        keep_edge = rel != NONE
        rep_pairs = cands.pairs[keep_edge]
        edge_scores = PairScores(*(getattr(scores, f)[keep_edge] for f in ("jaccard", "contain_ij", "contain_ji", "cosine", "exact")))
        edge_rel = rel[keep_edge]

    with timer("cluster"):
        # Exact copies join their representative; verified edges link representatives.
        copies = np.flatnonzero(rep_of >= 0)
        copies = copies[rep_pos[rep_of[copies]] != copies]
        art_pairs = np.concatenate([rep_pos[rep_pairs].reshape(-1, 2), np.stack([rep_pos[rep_of[copies]], copies], axis=1)])
        art_rel = np.concatenate([edge_rel, np.full(len(copies), EXACT, dtype=np.int8)])
        ones = np.ones(len(copies))
        cij = np.concatenate([edge_scores.contain_ij, ones])
        cji = np.concatenate([edge_scores.contain_ji, ones])
        priority = policy_key(articles, config)
        if config.cluster.method == "star":
            labels, keeper = _star_labels(n, len(reps), rep_of, rep_pairs, edge_rel, edge_scores, priority)
        else:
            labels = duplicate_groups(n, art_pairs, art_rel, cij, cji)
            keeper = choose_keepers(labels, priority)
        sizes = np.bincount(labels, minlength=n)
        in_group = sizes[labels] >= 2
        status = np.full(n, KEPT, dtype=np.int8)
        status[in_group & (keeper != np.arange(n))] = DUPLICATE
        for pos in reason_skipped:
            status[pos] = SKIPPED
        group = np.where(in_group, labels, -1)
        keeper = np.where(in_group, keeper, -1)

    with timer("explain"):
        dup = np.flatnonzero(status == DUPLICATE)
        relation = np.full(n, NONE, dtype=np.int8)
        score_arr = np.full((n, 3), np.nan)
        kp = np.stack([rep_of[dup], rep_of[keeper[dup]]], axis=1)
        same = kp[:, 0] == kp[:, 1]  # exact copies of the keeper
        relation[dup[same]] = EXACT
        score_arr[dup[same]] = 1.0
        if (~same).any():
            d, ks = dup[~same], score_pairs(vectors, kp[~same])
            krel = decide(ks, config.verify)
            # A member linked through others may miss the rule against the keeper itself.
            fallback = np.where(ks.containment > ks.jaccard, CONTAINED, NEAR)
            relation[d] = np.where(krel == NONE, fallback, krel)
            score_arr[d] = np.stack([ks.jaccard, ks.containment, ks.cosine], axis=1)

    return DedupResult(
        articles=articles,
        status=status,
        reason_skipped=reason_skipped,
        group=group,
        keeper=keeper,
        relation=relation,
        scores=score_arr,
        pairs=rep_pos[rep_pairs].reshape(-1, 2),
        pair_scores=edge_scores,
        pair_relation=edge_rel,
        candidates=cands,
        boilerplate=bp,
        boilerplate_removed=removed,
        timings=dict(timer.seconds),
        config=config,
        bad_records=list(bad_records),
        repeats=repeats,
    )


def find_repeats_feed(
    texts: Sequence[str],
    config: RepeatsConfig,
    n_jobs: int = 1,
    chunk_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> list[ArticleRepeats]:
    """Internally repeated paragraphs of every text, in parallel chunks."""
    chunks = map_chunks(find_repeats_batch, list(texts), n_jobs=n_jobs, chunk_size=chunk_size, progress=progress, config=config)
    return [r for chunk in chunks for r in chunk]


# --- stories: events and storylines over the duplicate groups ----------------


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


def stories(
    articles: Sequence[Article],
    config: StoriesConfig | None = None,
    dedup_config: DedupConfig = DedupConfig(),
    progress: Progress | None = None,
) -> StoriesResult:
    """Group a feed into events (with their duplicate groups) and storylines.

    Stages: dedupe (duplicate groups) → normalize (bodies without per-source
    boilerplate, headlines; mojibake repaired first) → stories (vectors,
    neighbours, event and storyline clustering).

    Args:
        articles: the feed, in input order.
        config: events and storylines settings (default ``StoriesConfig()``).
        dedup_config: settings of the duplicate detection whose groups nest in events.
        progress: optional callback for long stages.

    Returns:
        A :class:`StoriesResult` with one event and storyline per article.
    """
    from .mojibake import fix_mojibake
    from .stories import find_stories

    config = config if config is not None else StoriesConfig()
    articles = list(articles)
    timer = StageTimer()
    with timer("dedupe"):
        dup = dedupe(articles, dedup_config, progress=progress)
    with timer("normalize"):
        bodies = normalize_batch(fix_mojibake([a.text for a in articles]), config.normalize)
        texts, _, _ = _without_boilerplate(bodies, [a.source for a in articles], dedup_config)
        titles = [" ".join(ls) for ls in normalize_batch(fix_mojibake([a.title for a in articles]), config.normalize)]
        times = np.array([_timestamp(a.date) for a in articles], dtype=np.float64)
        del bodies
    with timer("stories"):
        found = find_stories(texts, titles, times, config, groups=dup.group)
    timings = {f"dedupe.{k}": v for k, v in dup.timings.items()} | dict(timer.seconds)
    return StoriesResult(
        articles=articles,
        dedup=dup,
        event=found.event,
        storyline=found.storyline,
        representative=found.representative,
        pairs=found.pairs,
        scores=found.scores,
        timings=timings,
        config=config,
    )


@dataclass(frozen=True)
class SimilarityResult:
    """Scores of text pairs ``(text1[k], text2[k])``, each array ``(m,)``.

    ``verdict`` is ``"duplicate"`` when the core rule finds a copy,
    ``"same_event"`` when the story score reaches the event threshold, else
    ``"different"``.
    """

    jaccard: np.ndarray
    containment: np.ndarray
    cosine: np.ndarray
    story_score: np.ndarray
    verdict: list[str]


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
    better IDF).

    Args:
        text1, text2: the two sides, raw text, same length.
        config: stories settings (thresholds, vectors).
        dedup_config: the core settings (shingles, duplicate rule).
        title1, title2: optional headlines.

    Raises:
        ValueError: the sides differ in length.
    """
    from .mojibake import fix_mojibake
    from .stories import number_sets, story_scores, story_vectors

    config = config if config is not None else StoriesConfig()
    if len(text1) != len(text2):
        raise ValueError(f"similarity: {len(text1)} first texts but {len(text2)} second texts")
    m = len(text1)
    raw = fix_mojibake(list(text1) + list(text2))
    texts = [" ".join(ls) for ls in normalize_batch(raw, dedup_config.normalize)]
    heads = list(title1 or [""] * m) + list(title2 or [""] * m)
    titles = [" ".join(ls) for ls in normalize_batch(fix_mojibake(heads), config.normalize)]
    pairs = np.stack([np.arange(m), np.arange(m) + m], axis=1).astype(np.int64)
    th, to, sh, so, _ = sketch_chunk(texts, dedup_config.shingle, dedup_config.minhash)
    digest = np.array([xxhash.xxh3_64_intdigest(t.encode()) for t in texts], dtype=np.uint64)
    core = score_pairs(Vectors.build(sh, so, th, to, digest), pairs)
    rel = decide(core, dedup_config.verify)
    x = story_vectors(texts, titles, config)
    story = story_scores(x, number_sets(texts, titles), pairs, config)
    verdict = [
        "duplicate" if r != NONE else ("same_event" if s >= config.event_threshold else "different")
        for r, s in zip(rel.tolist(), story.tolist())
    ]
    return SimilarityResult(core.jaccard, core.containment, core.cosine, story, verdict)


def score_articles(articles: Sequence[Article], pairs: np.ndarray, config: DedupConfig = DedupConfig()) -> PairScores:
    """Scores of given article pairs, measured exactly as ``dedupe`` measures candidates.

    Runs normalization, boilerplate removal and sketching over all ``articles``
    (so TF-IDF weights come from the whole feed) and scores ``pairs`` (m, 2)
    of positions. Used by ``dedup eval --sweep``.
    """
    articles = list(articles)
    lines = _normalized_lines([a.text for a in articles], config)
    contents, _, _ = _without_boilerplate(lines, [a.source for a in articles], config)
    th, to, sh, so, _ = _sketches(contents, config)
    digest = np.array([xxhash.xxh3_64_intdigest(c.encode()) for c in contents], dtype=np.uint64)
    return score_pairs(Vectors.build(sh, so, th, to, digest), np.asarray(pairs, dtype=np.int64).reshape(-1, 2))
