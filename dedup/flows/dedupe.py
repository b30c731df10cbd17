"""The dedupe flow: the only place that knows the order of its stages.

    prepare (normalize → boilerplate → sketch) → candidates (LSH + anchors)
    → verify → cluster → explain

Each stage is a function of its own module; this flow wires them, times each
one, and moves between integer spaces: article positions ``0..n-1`` and
representative positions ``0..R-1`` (one per distinct comparable text).
External ids appear only in ``io/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import fields, replace
from typing import TYPE_CHECKING

import numpy as np

from ..candidates import anchor_keys, candidate_pairs
from ..cluster.graph import carried_edges, copy_edges, with_stored_copies
from ..cluster.keepers import assign_groups, explain_drops, keep_reasons
from ..config import DedupConfig
from ..exec import Executor, open_executor, release_workers
from ..results import ALREADY, DedupResult, Progress
from ..runtime import Runtime
from ..store.spill import temporary_space
from ..types import Article, ArticleTable, BadRecord
from ..verify import NONE, FeatureSource, Idf, PairScores, decide, fit_idf, preload, score_pairs
from .prepare import prepare_stream
from ..exec.heap import release_heap
from .timer import StageTimer

if TYPE_CHECKING:
    from ..store.days import DaySpool
    from ..store.index import HistoryIndex, Waiting
    from ..verify.family_order import FamilyOrder

__all__ = ["dedupe", "score_articles"]


def dedupe(
    articles: Iterable[Article],
    config: DedupConfig = DedupConfig(),
    progress: Progress | None = None,
    bad_records: Sequence[BadRecord] | Callable[[], Sequence[BadRecord]] = (),
    runtime: Runtime = Runtime(),
    index: HistoryIndex | None = None,
    window_days: float | None = None,
    on_wait: Waiting | None = None,
    keep_texts: DaySpool | None = None,
    executor: Executor | None = None,
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
        index: a history index (:func:`dedup.store.index.open_index`): the
            feed is compared with what it holds too, and then added to it.
            The run holds the index's writer lock throughout.
        window_days: with an index, compare only with stored articles dated
            within this many days of the new one (undated ones always).
        on_wait: told why the run waits, when another writer holds the index (it may call the wait off:
            :data:`~dedup.store.index.Waiting`).
        executor: one already open, kept across runs (``dedup serve``'s: a Dask cluster takes seconds to start);
            by default the one ``runtime`` asks for, opened for this run.
        keep_texts: the spool ``articles`` stream through
            (:meth:`dedup.store.days.DaySpool.tee`): each article's compared
            text is written to it by day, for the stories stage.

    Returns:
        A :class:`~dedup.results.DedupResult` with exactly one decision per article.
    """
    aligns = False  # whether the decision reads passage alignments (k-gram sequences)
    if config.verify.decision == "model":  # a bad model file fails now, not after the feed was read
        from ..verify.decision import ALIGNMENT, load_model

        aligns = any(f in ALIGNMENT for f in load_model(config.verify.model).features)
    with open_executor(runtime) if executor is None else nullcontext(executor) as executor:
        if index is None:
            result = _dedupe(articles, config, runtime, executor, progress, keep_texts=keep_texts, kgrams=aligns)
        else:
            with index.writer(on_wait):
                result = _dedupe(articles, config, runtime, executor, progress, index, window_days, keep_texts)
    bad = bad_records() if callable(bad_records) else bad_records
    return replace(result, bad_records=list(bad))


def _dedupe(articles: Iterable[Article], config: DedupConfig, runtime: Runtime, executor: Executor,
            progress: Progress | None, index: HistoryIndex | None = None, window_days: float | None = None,
            keep_texts: DaySpool | None = None, kgrams: bool = True) -> DedupResult:
    # kgrams: the k-gram sequences are made (alignment; a history index always stores them)
    if index is not None:  # a run without a history index never loads its code
        from .history import Joined, commit, history_counts, history_refs, joined_table, meet_history, seen_by, stored_families
        from ..cluster.groups import copy_centers, judged_at_centers, onto_centers
    timer = StageTimer(progress=progress, executor=executor)
    with temporary_space(runtime.temp_dir) as tmp:
        seen = seen_by(index) if index is not None else None
        feed = prepare_stream(articles, config, executor, tmp, runtime.chunk_size, timer, progress, seen=seen, keep_texts=keep_texts,
                              kgrams=kgrams or index is not None)
        n, rep_pos = len(feed.table), feed.rep_pos

        if len(rep_pos) >= _IDLE_WORKERS_FROM and not executor.in_process:
            # The candidate stage runs in this process (and its threads): the workers would sit through it holding
            # what sketching left them (~0.15 GiB each), next to this process's largest arrays. They start again
            # for verification (~1 s). A million articles of large copy families: the peak moves to verification.
            release_workers()
        # While this process finds the candidates, the workers (when they stay) fit the IDF and load what verification
        # reads: it starts on warm workers, the IDF ready (100k articles, --jobs 2: ~0.4 s). Otherwise it is done here.
        ready = None
        if not executor.in_process and len(rep_pos) < _IDLE_WORKERS_FROM:
            store = feed.store.seal()
            ready = executor.beside([(_ready_to_verify, (store, config, True)), (_ready_to_verify, (None, config, False))])
        with timer("candidates"):
            anchored = anchor_keys(*feed.anchors, config.index, executor.threads) if config.index.anchors else None
            if index is None:  # the largest arrays: gone before banding (an index still needs them)
                feed = replace(feed, anchors=(np.zeros(0, np.uint64), np.zeros(0, np.int64)))
            cands = candidate_pairs(feed.signatures, np.arange(len(rep_pos)), anchored, config.index, config.minhash,
                                    sizes=feed.sizes, banding=executor.lsh_pairs, each=executor.threads)
            del anchored
            if index is None:  # signatures are not read past the candidates (at 1M articles: 512 MB)
                feed = replace(feed, signatures=np.zeros((0, feed.signatures.shape[1]), feed.signatures.dtype))

        met = None
        if index is not None:
            with timer("history"):
                met = meet_history(index, feed, config, window_days)
        h = met.size if met is not None else 0

        table, rep_of, all_pos, skipped, fixed = feed.table, feed.rep_of, rep_pos, feed.reason_skipped, None
        if met is not None:  # the met stored articles come first, as in one batch over all days
            table = joined_table(met, feed.table)
            rep_of = np.concatenate([np.arange(h), np.where(feed.rep_of >= 0, feed.rep_of + h, -1)])
            all_pos = np.concatenate([np.arange(h), rep_pos + h])
            skipped = {p + h: why for p, why in feed.reason_skipped.items()}
            fixed = met.fixed

        with timer("verify"):
            rep_digest = feed.digest[rep_pos]
            source = feed.store if met is None else Joined(met.features, feed.store)
            digest = rep_digest if met is None else np.concatenate([met.digest, rep_digest])
            pairs = cands.pairs if met is None else np.concatenate([met.pairs, cands.pairs + h])
            moves = None if met is None else copy_centers(fixed, digest)  # exact copies of a stored group's center
            judged = None if met is None else judged_at_centers(pairs, moves)  # (before verify: it may reuse pairs)
            # Without a pair nothing is scored (copies of one text are not scored either): the
            # IDF, and the sparse matrices that fit it (SciPy, ~0.25 s to import), are not needed.
            if ready is not None:
                fitted = ready(needed=len(pairs) > 0)[0]  # the workers' calls are waited for either way
                idf = fitted if len(pairs) else None
            else:
                idf = _ready_to_verify(feed.store, config, True) if len(pairs) else None
            judge = Judge(source, table, all_pos, config)

            large = len(pairs) >= _KERNEL_PAIRS  # (read here: the pairs are let go once verified)

            def finished() -> None:
                if large:
                    # A large verification's heaps go back once it is over, not after each run of pairs: the next
                    # run reused them (the peak is one run's either way), and handing them back after each made
                    # every run fault its pages in again (a 100k feed of large copy families: verify 21.8 -> 19.0 s,
                    # kernel time 10.0 -> 6.7 s). The workers go too: nothing after verification needs them, and
                    # they go before the edges are put in order (a million articles of large families: the
                    # workers' 0.6 GiB and the order's 0.8 GiB at once were 3.46 GiB).
                    release_heap()
                    release_workers()

            rep_pairs, edge_rel, edge_scores = verified_edges(executor, pairs, source, digest, idf, judge, consume=True,
                                                              finished=finished)
            del pairs
            cands = cands.release()  # verified: only their counts are reported

        with timer("cluster"):
            grouped = rep_pairs if met is None else onto_centers(rep_pairs, moves, judged)  # outputs: rep_pairs
            family = stored_families(index, met, grouped, edge_rel, edge_scores, feed.signatures, feed.sizes,
                                     config.index.min_estimate) if met is not None and config.cluster.method == "star" else None
            status, group, keeper = assign_groups(h + n, rep_of, all_pos, grouped, edge_rel, edge_scores,
                                                  skipped, table, config, fixed, family)
            reasons = keep_reasons(status, group, keeper, table, config)

        with timer("explain"):
            relation, score_arr = explain_drops(status, keeper, rep_of,
                                                lambda kp: verify_pairs(executor, kp, source, digest, idf, judge),
                                                edges=(grouped, edge_rel, edge_scores))
            # exact copies: a contained edge names their containers, and across groups only an edge links them
            copy_edge, copy_pairs = copy_edges(rep_pairs, edge_rel, rep_of, all_pos, group)
        art_pairs = all_pos[rep_pairs].reshape(-1, 2)

        refs, counts = None, {}
        if met is not None:
            carried = carried_edges(edge_rel, group[art_pairs])  # before the groups are named for the result
            refs, ref_map = history_refs(met, index, art_pairs, carried)  # type: ignore[arg-type]

            def back(x: np.ndarray, col: int) -> np.ndarray:
                """Joined positions → result positions (stored ones: ``n + ref``)."""
                out = np.where(x >= h, x - h, x)
                old = (x >= 0) & (x < h)
                out[old] = n + ref_map[x[old], col]
                return out

            status, relation, score_arr, reasons = status[h:], relation[h:], score_arr[h:], reasons[h:]
            group, keeper = back(group[h:], 1), back(keeper[h:], 1)
            art_pairs, copy_pairs = back(art_pairs, 0), back(copy_pairs, 0)
            # a stored text's other stored exact copies: the run met one of them, the edges name each
            copy_edge, copy_pairs = with_stored_copies(copy_edge, copy_pairs, art_pairs, carried, refs.copies, feed.rep_of, n)
            with timer("index"):
                known = {p for p, why in feed.reason_skipped.items() if why.startswith(ALREADY)}
                added = commit(index, feed, met, status, group, keeper, relation, score_arr, refs, art_pairs,  # type: ignore[arg-type]
                               edge_rel, edge_scores, 10 * runtime.chunk_size, known, seen.again)  # type: ignore[union-attr]
            counts = history_counts(index, met, window_days, known, added, status, keeper, n)  # type: ignore[arg-type]
        feed.store.close()

    return DedupResult(
        table=feed.table,
        status=status,
        reason_skipped=feed.reason_skipped,
        group=group,
        keeper=keeper,
        relation=relation,
        scores=score_arr,
        pairs=np.concatenate([art_pairs, copy_pairs]),
        pair_scores=PairScores.concat([edge_scores, edge_scores.take(copy_edge)]) if len(copy_edge) else edge_scores,
        pair_relation=np.concatenate([edge_rel, edge_rel[copy_edge]]),
        copied_pairs=len(copy_edge),
        candidates=cands,
        boilerplate=feed.boilerplate,
        boilerplate_removed=feed.removed,
        timings=dict(timer.seconds), workers=dict(timer.workers),
        config=config,
        keep_reason=reasons,
        repeat_counts=feed.repeat_counts,
        runtime=runtime.to_dict(),
        history=refs,
        history_counts=counts,
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
    return pair_features(articles, pairs, config, runtime)[0]


def pair_features(
    articles: Iterable[Article], pairs: np.ndarray, config: DedupConfig = DedupConfig(), runtime: Runtime = Runtime()
) -> tuple[PairScores, np.ndarray, np.ndarray]:
    """Scores and learned-decision features of given article pairs, as ``dedupe`` computes them for candidates.

    Returns:
        ``(scores, features, compared)``: :class:`PairScores` (zeros where a
        pair is not compared), the ``(m, len(KNOWN))`` matrix of every feature
        :mod:`dedup.verify.decision` knows (alignment included), and ``(m,)`` whether
        ``dedupe`` compares the pair at all (both articles screened in).
        Used to fit the decision model (``scripts/fit_decision.py``).
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    with open_executor(runtime) as executor, temporary_space(runtime.temp_dir) as tmp:
        feed = prepare_stream(articles, config, executor, tmp, runtime.chunk_size, StageTimer())
        rep_pairs = feed.rep_of[pairs] if len(pairs) else np.zeros((0, 2), np.int64)
        ok = (rep_pairs >= 0).all(axis=1)
        scored = score_pairs(feed.store, rep_pairs[ok], feed.digest[feed.rep_pos], fit_idf(feed.store))
        from ..verify.decision import KNOWN

        x = decision_features(feed.store, rep_pairs[ok], scored, feed.table.source_codes, feed.table.times, feed.rep_pos, KNOWN)
        feed.store.close()
    out: list[np.ndarray | None] = []
    for f in fields(scored):
        part = getattr(scored, f.name)
        arr = None
        if part is not None:
            arr = np.zeros(len(pairs), dtype=part.dtype)
            arr[ok] = part
        out.append(arr)
    features = np.zeros((len(pairs), x.shape[1]))
    features[ok] = x
    return PairScores(*out), features, ok


_VERIFY_CHUNK = 25_000  # pairs from which verification is spread over workers, and per task (about, at most)
_VERIFY_TASKS = 64  # ... and at most about this many tasks: each carries the store's offsets and the IDF table
_JUDGED_ONLY = ("size_i", "size_j", "rare_inter", "rare_i", "rare_j", "words_inter", "words_i", "words_j")  # scores the judge reads and no later stage does
_IDLE_WORKERS_FROM = 250_000  # distinct texts from which the workers are let go before the candidates (restart: ~1 s)
_KERNEL_PAIRS = 1_000_000  # a verification of this many pairs is large: its heaps and workers go once it is over
# From this many pairs, rows are compared by the compiled kernel (verify.kernels; numba's import and cache load:
# ~0.7 s a process). Measured, three alternating runs each: the dev days (27k pairs) --jobs 1 verify 0.91 s with
# SciPy, 1.4-1.7 s compiled; 100k plain synthetic (205k pairs) --jobs 1 4.4-4.6 -> 3.1-3.5 s, --jobs 2 2.6-2.8 s
# either way; 25k articles of large families (396k pairs) --jobs 1 17.8-19.8 -> 9.1-11.0 s, --jobs 2 11.2-11.3
# -> 7.7-9.3 s (two runs). Was 1M.
_COMPILED_PAIRS = 100_000
_FAMILY_ORDER_PAIRS = 1_000_000  # from this many pairs, verified family by family (numba's import: ~0.5 s in this process)
# Below this many pairs, the workers verify from heaps they keep (exec.heap.keep_heap: 100k synthetic feed, --jobs 2, verify
# 1.95 -> 1.53 s). A large verification's do not: a million articles of large copy families measured 3.18 GiB with the
# workers counted (target 3 GiB) with kept heaps and two other changes at once (since undone at that size), and the
# workers' part of it was not measured on its own.
_KEPT_HEAP_PAIRS = 1_000_000


def _verified_parts(executor: Executor, pairs: np.ndarray, source: FeatureSource, digest: np.ndarray,
                    idf: Idf | None, judge: Judge, order: FamilyOrder | None = None,
                    ) -> Iterator[tuple[int, np.ndarray, PairScores]]:
    """``(first place, relation codes, scores)`` of consecutive runs of ``pairs``, in order, as workers finish them.

    Every pair is scored and judged on its own (the runs change nothing but
    where the work runs), so the result is the same whatever the job count.
    Workers read the feature store's files, so runs go to them only when
    they share this machine's disk; at most 2 × jobs runs are in flight.
    ``order``: the runs are of the pairs at places of that order (each place's
    pair is ``pairs[order.positions(...)]``); else of ``pairs`` as they are.
    """
    compiled = len(pairs) >= _COMPILED_PAIRS
    if len(pairs) <= _VERIFY_CHUNK or not executor.shares_disk:
        part = pairs if order is None else pairs[order.positions(0, len(pairs))]
        yield 0, *_verify_chunk(part, source=source, digest=digest, idf=idf, judge=judge, compiled=compiled)
        return
    # Runs of equal size, an even number of them: two workers finish together (25,001 pairs were a run of
    # 25,000 and one of a single pair; 205k were nine runs, five for one worker and four for the other).
    runs = min(_VERIFY_TASKS, -(-len(pairs) // _VERIFY_CHUNK))
    size = -(-len(pairs) // (runs + runs % 2))
    starts = range(0, len(pairs), size)
    parts = ((pairs[lo : lo + size] if order is None else pairs[order.positions(lo, lo + size)],) for lo in starts)
    done = executor.imap(_verify_chunk, parts, source=source, digest=digest,
                         idf=idf, judge=judge, compiled=compiled, in_worker=not executor.in_process,
                         keep_heap=len(pairs) < _KEPT_HEAP_PAIRS)
    for lo, (rel, scores) in zip(starts, done):
        yield lo, rel, scores


def verify_pairs(executor: Executor, pairs: np.ndarray, source: FeatureSource, digest: np.ndarray,
                 idf: Idf | None, judge: Judge) -> tuple[np.ndarray, PairScores]:
    """Relation codes and scores of every pair (:func:`_verified_parts`, joined)."""
    parts = list(_verified_parts(executor, pairs, source, digest, idf, judge))
    if len(parts) == 1:
        return parts[0][1], parts[0][2]
    return np.concatenate([rel for _, rel, _ in parts]), PairScores.concat([sc for _, _, sc in parts])


def verified_edges(executor: Executor, pairs: np.ndarray, source: FeatureSource, digest: np.ndarray,
                   idf: Idf | None, judge: Judge, consume: bool = False,
                   finished: Callable[[], None] | None = None) -> tuple[np.ndarray, np.ndarray, PairScores]:
    """The pairs judged copies, in input order: ``(pairs, relation codes, scores)``.

    Each run's edges are kept as it comes back and its other pairs dropped,
    so the scores of every candidate (~90 bytes a pair: tens of millions
    in a feed of large copy families) are never held at once. Of the scores,
    an edge keeps what the rest of the run reads (the four scores, exactness,
    the probability): the decision's other inputs (set sizes, rare and shared words)
    were used by the judge and are not kept (40 bytes an edge).

    From :data:`_FAMILY_ORDER_PAIRS` pairs they are verified family by family
    (:class:`dedup.verify.family_order.FamilyOrder`); the edges come back in
    that order with their positions, and are put in input order at the end.

    ``consume``: the caller lets ``pairs`` go after this, so the edges are
    gathered at its front as the runs come back (an edge's place is never
    after its own pair's, and the runs still out were handed over with
    their own pairs), then copied out: the edges of a large verification do
    not grow a second array while the workers hold their blocks (a million
    articles of large copy families: 6.7M edges, 107 MB). Not in family
    order, whose places are not the pairs' own.
    """
    order = None
    if len(pairs) >= _FAMILY_ORDER_PAIRS:
        from ..verify.family_order import FamilyOrder

        order = FamilyOrder(pairs)
    in_place = consume and order is None and pairs.flags.writeable and pairs.flags.c_contiguous
    # pages touched only as edges are written: the pairs (in place or not), or the positions of the edges (in order)
    out_pairs = pairs if in_place or order is not None else np.empty((len(pairs), 2), dtype=np.int64)
    at = np.empty(len(pairs) if order is not None else 0, dtype=np.int64)
    out_rel = np.empty(len(pairs), dtype=np.int8)
    fields: list[np.ndarray | None] | None = None
    k = 0
    for lo, rel, scores in _verified_parts(executor, pairs, source, digest, idf, judge, order):
        keep = np.flatnonzero(rel != NONE)
        got = replace(scores, **dict.fromkeys(_JUDGED_ONLY)).take(keep)
        if fields is None:
            fields = [None if v is None else np.empty(len(pairs), dtype=v.dtype) for v in got.arrays()]
        if order is None:
            out_pairs[k : k + len(keep)] = pairs[lo + keep]
        else:
            at[k : k + len(keep)] = order.positions(lo, lo + len(rel))[keep]
        out_rel[k : k + len(keep)] = rel[keep]
        for f, v in zip(fields, got.arrays()):
            if f is not None and v is not None:
                f[k : k + len(keep)] = v
        k += len(keep)
    assert fields is not None  # _verified_parts yields at least one run, if empty
    if finished is not None:
        finished()
    if order is not None:  # the edges in input order, one array at a time (each a temporary copy at most)
        back = np.argsort(at[:k], kind="stable")
        at[:k] = at[:k][back]
        out_rel[:k] = out_rel[:k][back]
        for f in fields:
            if f is not None:
                f[:k] = f[:k][back]
        del back
        return pairs[at[:k]], out_rel[:k], PairScores(*(None if f is None else f[:k] for f in fields))
    # views of the first k: the pages past them were never written, so they hold no memory
    return (out_pairs[:k].copy() if in_place else out_pairs[:k]), out_rel[:k], PairScores(*(None if f is None else f[:k] for f in fields))


def _ready_to_verify(store: FeatureSource | None, config: DedupConfig, fit: bool) -> Idf | None:
    """What verification loads at its first pair, loaded where this runs; and, with ``fit``, the IDF of ``store``."""
    preload()
    if config.verify.decision == "model":
        from ..verify.decision import load_model

        load_model(config.verify.model)
    return fit_idf(store) if fit and store is not None else None


def _verify_chunk(pairs: np.ndarray, *, source: FeatureSource, digest: np.ndarray, idf: Idf | None,
                  judge: Judge, compiled: bool = False, in_worker: bool = False,
                  keep_heap: bool = False) -> tuple[np.ndarray, PairScores]:
    """Scores and relations of ``pairs``.

    ``in_worker``: run in a worker, which verifies run after run of pairs:
    its arrays without NumPy's huge-page advice (:func:`dedup.exec.heap.huge_pages`),
    and with ``keep_heap`` from a heap it keeps from run to run
    (:func:`dedup.exec.heap.keep_heap`).
    """
    if not in_worker:
        return judge(pairs, score_pairs(source, pairs, digest, idf, compiled=compiled))
    from ..exec import heap

    if keep_heap:
        heap.keep_heap()
    before = heap.huge_pages(False)
    try:
        return judge(pairs, score_pairs(source, pairs, digest, idf, compiled=compiled))
    finally:
        if before is not None:
            heap.huge_pages(before)


class Judge:
    """The decision on scored pairs of ``source`` rows: the learned model's, or the rule's (``config.verify.decision``).

    ``row_pos`` maps a row of ``source`` to its position in ``table`` (for
    the source and date of each article). Holds arrays only, so it can be
    sent to a worker.
    """

    def __init__(self, source: FeatureSource, table: ArticleTable, row_pos: np.ndarray, config: DedupConfig) -> None:
        self.source, self.row_pos, self.config = source, row_pos, config.verify
        self.sources, self.times = table.source_codes, table.times

    def __call__(self, pairs: np.ndarray, scores: PairScores) -> tuple[np.ndarray, PairScores]:
        """Relation codes ``(m,)``, and the scores with the probability of each pair (model only)."""
        if self.config.decision == "rule" or not len(pairs):  # no pair: nothing for the model (nor its imports) to do
            return decide(scores, self.config), scores
        from ..verify.decision import copy_probability, load_model, relations

        model = load_model(self.config.model)
        prob = copy_probability(scores, model.probability(decision_features(
            self.source, pairs, scores, self.sources, self.times, self.row_pos, model.features)))
        threshold = self.config.min_probability or model.threshold
        return relations(scores, prob, threshold), scores.with_probability(prob)


def decision_features(source: FeatureSource, pairs: np.ndarray, scores: PairScores, sources: np.ndarray, times: np.ndarray,
                      row_pos: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """The decision features ``names`` of scored pairs of ``source`` rows (``row_pos``: row → position in ``sources``/``times``).

    Passages are aligned only when ``names`` asks for alignment features.
    """
    from ..verify.decision import ALIGNMENT, Aligned, PairContext, feature_matrix

    aligned = None
    if any(f in ALIGNMENT for f in names):
        from ..text.align import align_rows

        al = align_rows(source, pairs)
        i_short = scores.size_i <= scores.size_j
        aligned = Aligned(np.where(i_short, al.share_ij, al.share_ji), np.where(i_short, al.share_ji, al.share_ij),
                          al.longest.astype(np.float64))
    pos = row_pos[pairs] if len(pairs) else np.zeros((0, 2), np.int64)
    context = PairContext.of(sources, times, pos)
    return feature_matrix(scores, context, aligned, names)
