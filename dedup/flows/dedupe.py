"""The dedupe flow: the only place that knows the order of its stages.

    prepare (normalize → boilerplate → sketch) → candidates (LSH + anchors)
    → verify → cluster → explain

Each stage is a function of its own module; this flow wires them, times each
one, and moves between integer spaces: article positions ``0..n-1`` and
representative positions ``0..R-1`` (one per distinct comparable text).
External ids appear only in ``io/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

import numpy as np

from ..candidates import anchor_pairs, candidate_pairs
from ..cluster.keepers import assign_groups, explain_drops, keep_reasons
from ..config import DedupConfig
from ..exec import Executor, open_executor
from ..results import DedupResult, Progress
from ..runtime import Runtime
from ..store.spill import temporary_space
from ..types import Article, BadRecord
from ..verify import NONE, PairScores, decide, fit_idf, score_pairs
from .prepare import prepare_stream
from .timer import StageTimer

__all__ = ["dedupe", "score_articles"]


def dedupe(
    articles: Iterable[Article],
    config: DedupConfig = DedupConfig(),
    progress: Progress | None = None,
    bad_records: Sequence[BadRecord] | Callable[[], Sequence[BadRecord]] = (),
    runtime: Runtime = Runtime(),
) -> DedupResult:
    """Find exact and near-duplicate articles and choose one keeper per group.

    Args:
        articles: the feed, in input order: a list, or a stream consumed once
            (e.g. :class:`dedup.io.readers.ArticleStream`), so a feed larger
            than memory can be deduplicated.
        config: what to compute (every stage's settings).
        progress: optional callback for long stages.
        bad_records: reader skips, carried into the result for reporting (a
            callable is asked after the stream is consumed).
        runtime: how to run it (processes, executor, temporary folder); never
            changes the result.

    Returns:
        A :class:`~dedup.results.DedupResult` with exactly one decision per article.
    """
    with open_executor(runtime) as executor:
        result = _dedupe(articles, config, runtime, executor, progress)
    bad = bad_records() if callable(bad_records) else bad_records
    return replace(result, bad_records=list(bad))


def _dedupe(articles: Iterable[Article], config: DedupConfig, runtime: Runtime, executor: Executor,
            progress: Progress | None) -> DedupResult:
    timer = StageTimer()
    with temporary_space(runtime.temp_dir) as tmp:
        feed = prepare_stream(articles, config, executor, tmp, runtime.chunk_size, timer, progress)
        n, rep_pos = len(feed.table), feed.rep_pos

        with timer("candidates"):
            anchored = anchor_pairs(*feed.anchors, config.index) if config.index.anchors else None
            feed = replace(feed, anchors=(np.zeros(0, np.uint64), np.zeros(0, np.int64)))  # the largest arrays: gone before banding
            cands = candidate_pairs(feed.signatures, np.arange(len(rep_pos)), anchored, config.index, config.minhash,
                                    sizes=feed.sizes, banding=executor.lsh_pairs)
            del anchored

        with timer("verify"):
            rep_digest = feed.digest[rep_pos]
            idf = fit_idf(feed.store)
            scores = score_pairs(feed.store, cands.pairs, rep_digest, idf)
            rel = decide(scores, config.verify)
            keep_edge = rel != NONE
            rep_pairs = cands.pairs[keep_edge]
            edge_scores = PairScores(*(getattr(scores, f)[keep_edge] for f in ("jaccard", "contain_ij", "contain_ji", "cosine", "exact")))
            edge_rel = rel[keep_edge]

        with timer("cluster"):
            status, group, keeper = assign_groups(n, feed.rep_of, rep_pos, rep_pairs, edge_rel, edge_scores,
                                                  feed.reason_skipped, feed.table, config)
            reasons = keep_reasons(status, group, keeper, feed.table, config)

        with timer("explain"):
            relation, score_arr = explain_drops(status, keeper, feed.rep_of, feed.store, rep_digest, idf, config)
            feed.store.close()

    return DedupResult(
        table=feed.table,
        status=status,
        reason_skipped=feed.reason_skipped,
        group=group,
        keeper=keeper,
        relation=relation,
        scores=score_arr,
        pairs=rep_pos[rep_pairs].reshape(-1, 2),
        pair_scores=edge_scores,
        pair_relation=edge_rel,
        candidates=cands,
        boilerplate=feed.boilerplate,
        boilerplate_removed=feed.removed,
        timings=dict(timer.seconds),
        config=config,
        keep_reason=reasons,
        repeat_counts=feed.repeat_counts,
        runtime=runtime.to_dict(),
    )


def score_articles(
    articles: Iterable[Article], pairs: np.ndarray, config: DedupConfig = DedupConfig(), runtime: Runtime = Runtime()
) -> PairScores:
    """Scores of given article pairs ``(m, 2)``, measured exactly as ``dedupe`` measures candidates.

    The feed is prepared as ``dedupe`` prepares it with ``config`` (the same
    boilerplate, screening, IDF fitted on the same texts), then ``pairs`` of
    article positions are scored. A pair with an article that ``dedupe`` does
    not compare (empty, too short, too long) scores 0: it can never be found.
    Used by ``dedup eval --sweep`` with the evaluated run's configuration.
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    with open_executor(runtime) as executor, temporary_space(runtime.temp_dir) as tmp:
        feed = prepare_stream(articles, config, executor, tmp, runtime.chunk_size, StageTimer())
        rep_pairs = feed.rep_of[pairs] if len(pairs) else np.zeros((0, 2), np.int64)
        ok = (rep_pairs >= 0).all(axis=1)
        scored = score_pairs(feed.store, rep_pairs[ok], feed.digest[feed.rep_pos], fit_idf(feed.store))
        feed.store.close()
    out = [np.zeros(len(pairs)) for _ in range(4)] + [np.zeros(len(pairs), dtype=bool)]
    for arr, part in zip(out, (scored.jaccard, scored.contain_ij, scored.contain_ji, scored.cosine, scored.exact)):
        arr[ok] = part
    return PairScores(*out)
