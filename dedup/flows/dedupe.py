"""The orchestrator: the only place that knows the order of the stages.

``dedupe`` reads like a table of contents::

    normalize ([repeats], spill) → boilerplate → sketch (strip, screen,
    exact copies, MinHash, anchors, features) → candidates (LSH + anchors) →
    verify → cluster → explain

Every stage is a pure function in its own module; this module wires them,
times each one, and moves between integer spaces: article positions
``0..n-1`` and representative positions ``0..R-1`` (one per distinct
normalized text that is long enough to compare). External ids appear only in
``io/``.

The feed is consumed once, as a stream, in chunks: the text of an article is
gone once its chunk is normalized (spilled to a temporary file) and sketched.
What stays in memory is small per article: ids and dates
(:class:`~dedup.types.ArticleTable`), a signature, anchors; the verification
features wait on disk (:class:`~dedup.sketch.features.FeatureStore`) and are read
back one block of pairs at a time. So memory grows by about 1.5 KB per
article, not by the feed's text.
"""

from __future__ import annotations

import errno
import logging
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import TYPE_CHECKING

import numpy as np
import xxhash

from ..text.boilerplate import Boilerplate, find_boilerplate, line_keys, strip_boilerplate
from ..sketch.prepare import Sketched, normalize_chunk, prepare_chunk, sketch_chunk, sketch_spilled
from ..cluster.groups import choose_keepers, copy_groups, duplicate_groups, star_groups
from ..config import DedupConfig, RepeatsConfig, StoriesConfig
from ..errors import DedupError, OutputError
from ..sketch.features import FeatureStore, Features
from ..candidates.banding import Candidates, anchor_pairs, candidate_pairs
from ..text.normalize import normalize_batch
from ..exec.local import backend, imap_tasks, map_chunks
from ..repeats.find import ArticleRepeats, find_repeats_batch
from ..sketch.signatures import permutations
from ..types import Article, ArticleTable, BadRecord, timestamp
from ..verify import CONTAINED, EXACT, NEAR, NONE, PairScores, decide, fit_idf, score_pairs

__all__ = [
    "KEPT",
    "DUPLICATE",
    "SKIPPED",
    "DedupResult",
    "Progress",
    "dedupe",
    "find_repeats_feed",
    "repeats_stream",
    "score_articles",
    "sketch_chunk",
]

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfTransformer

log = logging.getLogger(__name__)

KEPT, DUPLICATE, SKIPPED = 0, 1, 2

Progress = Callable[[str, int, int], None]
"""``progress(stage, advance, total)``: called as work finishes (``total`` 0 = unknown)."""

_timestamp = timestamp


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
        table: ids, sources, dates and lengths of the input, in input order.
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
        repeat_counts: ``(n,)`` internally repeated paragraphs (when counted).
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
    bad_records: list[BadRecord] = field(default_factory=list)
    repeat_counts: np.ndarray | None = None


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


def policy_key(table: ArticleTable, config: DedupConfig) -> np.ndarray:
    """The keeper policy as a number per article (smaller = preferred, NaN = last)."""
    keep = config.cluster.keep
    if keep == "earliest":
        return table.times.copy()
    if keep == "longest":
        return -table.lengths.astype(np.float64)
    if keep == "source-priority":
        rank = {s: i for i, s in enumerate(config.cluster.source_priority)}
        by_code = np.array([rank.get(s, len(rank)) for s in table.source_names], dtype=np.float64)
        return by_code[table.source_codes] if len(table) else np.zeros(0)
    return np.zeros(len(table), dtype=np.float64)


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
    bp = find_boilerplate(line_keys(lines, sources, config.boilerplate), config.boilerplate)
    keys = bp.key_set()
    stripped = [strip_boilerplate(ls, s, keys, config.boilerplate.max_tokens) for ls, s in zip(lines, sources)]
    bp = bp.with_lines(found for _, _, found in stripped)
    return [c for c, _, _ in stripped], bp, np.array([r for _, r, _ in stripped], dtype=np.int64)


def _sketches(
    contents: Sequence[str], config: DedupConfig
) -> tuple[np.ndarray, Features]:
    """Signatures and verification features of normalized texts, in parallel chunks."""
    perms = permutations(config.minhash.num_perm, config.minhash.seed)
    parts = map_chunks(
        sketch_chunk, contents, n_jobs=config.n_jobs, chunk_size=config.chunk_size,
        shingle_cfg=config.shingle, minhash_cfg=config.minhash, perms=perms,
    )
    sigs = np.concatenate([p[4] for p in parts]) if parts else np.zeros((0, config.minhash.num_perm), dtype=np.uint32)
    return sigs, Features.concat([Features.from_hashes(p[2], p[3], p[0], p[1]) for p in parts])


def _batches(articles: Iterable[Article], size: int) -> Iterator[list[Article]]:
    it = iter(articles)
    while batch := list(islice(it, size)):
        yield batch


def dedupe(
    articles: Iterable[Article],
    config: DedupConfig = DedupConfig(),
    progress: Progress | None = None,
    bad_records: Sequence[BadRecord] | Callable[[], Sequence[BadRecord]] = (),
) -> DedupResult:
    """Find exact and near-duplicate articles and choose one keeper per group.

    Args:
        articles: the feed, in input order: a list, or a stream consumed once
            (e.g. :func:`dedup.io.readers.iter_articles`), so a feed larger
            than memory can be deduplicated.
        config: all stage settings.
        progress: optional callback for long stages.
        bad_records: reader skips, carried into the result for reporting (a
            callable is asked after the stream is consumed).

    Returns:
        A :class:`DedupResult` with exactly one decision per article.
    """
    workers = config.n_jobs if config.n_jobs > 1 else (os.cpu_count() or 2)
    with backend(config.backend, config.dask_address, workers):
        result = _dedupe(articles, config, progress)
    bad = bad_records() if callable(bad_records) else bad_records
    return replace(result, bad_records=list(bad))


def _dedupe(articles: Iterable[Article], config: DedupConfig, progress: Progress | None) -> DedupResult:
    """:func:`dedupe` inside the chosen parallel backend."""
    timer = StageTimer()
    total = len(articles) if isinstance(articles, Sequence) else 0

    def tick(stage: str, k: int, of: int = 0) -> None:
        if progress is not None:
            progress(stage, k, of)

    # Workers on another machine cannot see this machine's temporary files:
    # then the parent keeps the spill and ships the lines.
    workers_share_disk = config.backend == "local" or config.dask_address is None
    table = ArticleTable()
    starts: list[int] = []  # first position of each chunk
    chunk_codes: list[np.ndarray] = []
    raw_empty: list[np.ndarray] = []
    raw_long: list[np.ndarray] = []
    repeat_counts: list[np.ndarray] = []

    with _temporary_space() as tmp:
        def spill_path(c: int) -> str:
            return os.path.join(tmp, "norm-%06d.pkl" % c)

        def sources_of(c: int) -> list[str]:
            return [table.source_names[s] for s in chunk_codes[c].tolist()]

        def prepare_tasks() -> Iterator[tuple[list[str], list[str], str | None]]:
            for c, batch in enumerate(_batches(articles, config.chunk_size)):
                starts.append(len(table))
                chunk_codes.append(np.array(table.extend(batch), dtype=np.int32))
                texts = [a.text for a in batch]
                raw_empty.append(np.array([not t.strip() for t in texts], dtype=bool))
                raw_long.append(np.array([len(t) > config.max_chars for t in texts], dtype=bool))
                yield texts, sources_of(c), spill_path(c) if workers_share_disk else None

        count_repeats = config.count_repeats or config.clean_repeats
        with timer("repeats+normalize" if count_repeats else "normalize"):
            keys: list[np.ndarray] = []
            for c, prepared in enumerate(
                imap_tasks(
                    prepare_chunk,
                    prepare_tasks(),
                    n_jobs=config.n_jobs,
                    normalize_cfg=config.normalize,
                    boilerplate_cfg=config.boilerplate,
                    repeats_cfg=config.repeats if count_repeats else None,
                    clean_repeats=config.clean_repeats,
                )
            ):
                keys.append(prepared.line_keys)
                if prepared.repeat_counts is not None:
                    repeat_counts.append(prepared.repeat_counts)
                if prepared.lines is not None:
                    _spill(spill_path(c), prepared.lines)
                tick("normalize", len(chunk_codes[c]), total)
        n = len(table)
        n_chunks = len(starts)

        with timer("boilerplate"):
            bp = find_boilerplate(np.concatenate(keys) if keys else np.zeros(0, np.uint64), config.boilerplate)
            del keys

        with timer("sketch"):
            store = FeatureStore(tmp)
            reps = _Representatives(n, store)
            eligible = [~(e | lg) for e, lg in zip(raw_empty, raw_long)]
            tasks = (
                (spill_path(c) if workers_share_disk else _unspill(spill_path(c)), sources_of(c), eligible[c])
                for c in range(n_chunks)
            )
            for c, sketched in enumerate(
                imap_tasks(
                    sketch_spilled,
                    tasks,
                    n_jobs=config.n_jobs,
                    boilerplate_keys=bp.key_set(),
                    max_tokens=config.boilerplate.max_tokens,
                    shingle_cfg=config.shingle,
                    minhash_cfg=config.minhash,
                    index_cfg=config.index,
                    perms=permutations(config.minhash.num_perm, config.minhash.seed),
                )
            ):
                reps.add(starts[c], sketched)
                tick("sketch", len(sketched.n_tokens), n)
            bp = bp.with_lines(reps.boilerplate_found)
            rep_pos, sigs, sizes, anchors = reps.finish(config.minhash.num_perm)
            rep_of, digest = reps.rep_of, reps.digest
            reason_skipped = _screen(
                np.concatenate(raw_empty) if raw_empty else np.zeros(0, bool),
                np.concatenate(raw_long) if raw_long else np.zeros(0, bool),
                reps.n_tokens,
                table.lengths,
                config,
            )

        with timer("candidates"):
            anchored = anchor_pairs(*anchors, config.index) if config.index.anchors else None
            del anchors  # the largest arrays of a big run: gone before the banding
            cands = candidate_pairs(sigs, np.arange(len(rep_pos)), anchored, config.index, config.minhash, sizes=sizes)
            del sigs, anchored

        with timer("verify"):
            rep_digest = digest[rep_pos]
            idf = fit_idf(store)
            scores = score_pairs(store, cands.pairs, rep_digest, idf)
            rel = decide(scores, config.verify)
            keep_edge = rel != NONE
            rep_pairs = cands.pairs[keep_edge]
            edge_scores = PairScores(*(getattr(scores, f)[keep_edge] for f in ("jaccard", "contain_ij", "contain_ji", "cosine", "exact")))
            edge_rel = rel[keep_edge]

        with timer("cluster"):
            status, group, keeper = _groups(n, rep_of, rep_pos, rep_pairs, edge_rel, edge_scores, reason_skipped, table, config)

        with timer("explain"):
            relation, score_arr = _explain(status, keeper, rep_of, store, rep_digest, idf, config)
            store.close()

    return DedupResult(
        table=table,
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
        boilerplate_removed=reps.removed,
        timings=dict(timer.seconds),
        config=config,
        repeat_counts=np.concatenate(repeat_counts) if repeat_counts else None,
    )


class _Representatives:
    """The sketches of the distinct texts of a feed, gathered chunk by chunk.

    The first article with a given text (equal digests) represents it:
    representatives are numbered ``0..R-1`` in input order, each keeps its
    signature, shingle count and anchors here and its verification features
    in the store; exact copies only point at their representative
    (``rep_of``).
    """

    def __init__(self, n: int, store: FeatureStore) -> None:
        self.store = store
        self.n_tokens = np.zeros(n, dtype=np.int64)
        self.removed = np.zeros(n, dtype=np.int64)
        self.digest = np.zeros(n, dtype=np.uint64)
        self.rep_of = np.full(n, -1, dtype=np.int64)  # article → representative
        self.boilerplate_found: list[dict[int, tuple[str, str]]] = []
        self._first_of: dict[int, int] = {}
        self._positions: list[int] = []
        self._sigs: list[np.ndarray] = []
        self._sizes: list[np.ndarray] = []
        self._grams: list[np.ndarray] = []
        self._owners: list[np.ndarray] = []

    def add(self, base: int, sk: Sketched) -> None:
        """Take in the sketched chunk whose first article is at position ``base``."""
        m = len(sk.n_tokens)
        self.n_tokens[base : base + m] = sk.n_tokens
        self.removed[base : base + m] = sk.removed
        self.digest[base : base + m] = sk.digest
        rep_index = np.full(len(sk.sketched), -1, dtype=np.int64)  # sketched row → new representative
        for row, k in enumerate(sk.sketched.tolist()):
            r = self._first_of.setdefault(int(sk.digest[k]), len(self._positions))
            if r == len(self._positions):
                self._positions.append(base + k)
                rep_index[row] = r
            self.rep_of[base + k] = r
        new = np.flatnonzero(rep_index >= 0)
        self._sigs.append(sk.signatures[new])
        self._sizes.append(sk.n_shingles[new])
        self.store.append(sk.features.gather(new))
        mine = rep_index[sk.anchor_rows] >= 0
        self._grams.append(sk.anchor_grams[mine])
        self._owners.append(rep_index[sk.anchor_rows[mine]])
        self.boilerplate_found.append(sk.boilerplate)

    def finish(self, num_perm: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """``(positions, signatures, shingle counts, (anchor grams, owners))`` of the representatives."""

        def cat(parts: list[np.ndarray], empty: np.ndarray) -> np.ndarray:
            return np.concatenate(parts) if parts else empty

        out = (
            np.array(self._positions, dtype=np.int64),
            cat(self._sigs, np.zeros((0, num_perm), dtype=np.uint32)),
            cat(self._sizes, np.zeros(0, dtype=np.int64)),
            (cat(self._grams, np.zeros(0, dtype=np.uint64)), cat(self._owners, np.zeros(0, dtype=np.int64))),
        )
        self._sigs, self._sizes, self._grams, self._owners, self._first_of = [], [], [], [], {}
        return out


def _explain(
    status: np.ndarray,
    keeper: np.ndarray,
    rep_of: np.ndarray,
    store: FeatureStore,
    rep_digest: np.ndarray,
    idf: TfidfTransformer | None,
    config: DedupConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Relation and scores (jaccard, containment, cosine) of every duplicate against its keeper."""
    n = len(status)
    dup = np.flatnonzero(status == DUPLICATE)
    relation = np.full(n, NONE, dtype=np.int8)
    scores = np.full((n, 3), np.nan)
    kp = np.stack([rep_of[dup], rep_of[keeper[dup]]], axis=1)
    same = kp[:, 0] == kp[:, 1]  # exact copies of the keeper
    relation[dup[same]] = EXACT
    scores[dup[same]] = 1.0
    if (~same).any():
        d, ks = dup[~same], score_pairs(store, kp[~same], rep_digest, idf)
        krel = decide(ks, config.verify)
        # A member linked through others may miss the rule against the keeper itself.
        fallback = np.where(ks.containment > ks.jaccard, CONTAINED, NEAR)
        relation[d] = np.where(krel == NONE, fallback, krel)
        scores[d] = np.stack([ks.jaccard, ks.containment, ks.cosine], axis=1)
    return relation, scores


@contextmanager
def _temporary_space() -> Iterator[str]:
    """A temporary directory for the run; a full disk there becomes a clear :class:`OutputError`."""
    try:
        with tempfile.TemporaryDirectory(prefix="dedup-") as tmp:
            yield tmp
    except DedupError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise OutputError(
            f"{tempfile.gettempdir()}: no space left for temporary files ({exc.strerror}); a run keeps about "
            "twice the feed's size there while it works: set TMPDIR to a disk with room"
        ) from None


def _spill(path: str, lines: list[list[str]]) -> None:
    import pickle

    with open(path, "wb") as out:
        pickle.dump(lines, out, protocol=pickle.HIGHEST_PROTOCOL)


def _unspill(path: str) -> list[list[str]]:
    import pickle

    with open(path, "rb") as handle:
        lines = pickle.load(handle)
    os.remove(path)
    return lines


def _screen(
    empty: np.ndarray, too_long: np.ndarray, n_tokens: np.ndarray, lengths: np.ndarray, config: DedupConfig
) -> dict[int, str]:
    """Why each skipped article was not compared (positions not listed were compared)."""
    reason: dict[int, str] = {}
    min_tokens, max_chars = config.shingle.min_tokens, config.max_chars
    for pos in np.flatnonzero(empty | too_long | (n_tokens < min_tokens)).tolist():
        if empty[pos]:
            reason[pos] = "empty text"
        elif n_tokens[pos] == 0:
            reason[pos] = "no text left after removing boilerplate"
        elif too_long[pos]:
            reason[pos] = f"text too long: {lengths[pos]} characters > max_chars={max_chars}"
        else:
            ntok = int(n_tokens[pos])
            reason[pos] = f"too short: {ntok} token{'s' if ntok != 1 else ''} < min_tokens={min_tokens}"
    return reason


def _groups(
    n: int,
    rep_of: np.ndarray,
    rep_pos: np.ndarray,
    rep_pairs: np.ndarray,
    edge_rel: np.ndarray,
    edge_scores: PairScores,
    reason_skipped: dict[int, str],
    table: ArticleTable,
    config: DedupConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Status, group and keeper of every article from the verified edges between representatives."""
    priority = policy_key(table, config)
    if config.cluster.method == "star":
        labels, keeper = _star_labels(n, len(rep_pos), rep_of, rep_pairs, edge_rel, edge_scores, priority)
    else:
        # Exact copies join their representative; verified edges link representatives.
        copies = np.flatnonzero(rep_of >= 0)
        copies = copies[rep_pos[rep_of[copies]] != copies]
        art_pairs = np.concatenate([rep_pos[rep_pairs].reshape(-1, 2), np.stack([rep_pos[rep_of[copies]], copies], axis=1)])
        art_rel = np.concatenate([edge_rel, np.full(len(copies), EXACT, dtype=np.int8)])
        ones = np.ones(len(copies))
        cij = np.concatenate([edge_scores.contain_ij, ones])
        cji = np.concatenate([edge_scores.contain_ji, ones])
        labels = duplicate_groups(n, art_pairs, art_rel, cij, cji)
        keeper = choose_keepers(labels, priority)
    sizes = np.bincount(labels, minlength=n)
    in_group = sizes[labels] >= 2
    status = np.full(n, KEPT, dtype=np.int8)
    status[in_group & (keeper != np.arange(n))] = DUPLICATE
    for pos in reason_skipped:
        status[pos] = SKIPPED
    return status, np.where(in_group, labels, -1), np.where(in_group, keeper, -1)


def repeats_stream(
    articles: Iterable[Article],
    config: RepeatsConfig,
    n_jobs: int = 1,
    chunk_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[Article, ArticleRepeats]]:
    """Each article with its internally repeated paragraphs, in input order, as the feed streams by.

    Articles are independent, so the feed is taken ``chunk_size`` articles at
    a time and the chunks go to ``n_jobs`` processes; only the chunks in
    flight are held (the texts of a feed larger than memory pass through).
    """
    waiting: deque[list[Article]] = deque()

    def tasks() -> Iterator[tuple[list[str]]]:
        for batch in _batches(articles, chunk_size):
            waiting.append(batch)
            yield ([a.text for a in batch],)

    for results in imap_tasks(find_repeats_batch, tasks(), n_jobs=n_jobs, config=config):
        batch = waiting.popleft()
        yield from zip(batch, results, strict=True)
        if progress is not None:
            progress(len(batch))


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


def score_articles(articles: Sequence[Article], pairs: np.ndarray, config: DedupConfig = DedupConfig()) -> PairScores:
    """Scores of given article pairs, measured exactly as ``dedupe`` measures candidates.

    Runs normalization, boilerplate removal and sketching over all ``articles``
    (so TF-IDF weights come from the whole feed) and scores ``pairs`` (m, 2)
    of positions. Used by ``dedup eval --sweep``.
    """
    articles = list(articles)
    lines = _normalized_lines([a.text for a in articles], config)
    contents, _, _ = _without_boilerplate(lines, [a.source for a in articles], config)
    _, feats = _sketches(contents, config)
    digest = np.array([xxhash.xxh3_64_intdigest(c.encode()) for c in contents], dtype=np.uint64)
    return score_pairs(feats, np.asarray(pairs, dtype=np.int64).reshape(-1, 2), digest, fit_idf(feats))


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

    Stages: dedupe (duplicate groups, joined along the verified copy edges) → normalize (bodies without per-source
    boilerplate, headlines; mojibake and HTML entities repaired first) → stories (vectors,
    neighbours, event and storyline clustering).

    Args:
        articles: the feed, in input order.
        config: events and storylines settings (default ``StoriesConfig()``).
        dedup_config: settings of the duplicate detection whose groups nest in events.
        progress: optional callback for long stages.

    Returns:
        A :class:`StoriesResult` with one event and storyline per article.
    """
    from ..text.mojibake import repair_text
    from ..stories.find import find_stories

    config = config if config is not None else StoriesConfig()
    articles = list(articles)
    timer = StageTimer()
    with timer("dedupe"):
        dup = dedupe(articles, dedup_config, progress=progress)
    with timer("normalize"):
        bodies = normalize_batch(repair_text([a.text for a in articles]), config.normalize)
        texts, _, _ = _without_boilerplate(bodies, [a.source for a in articles], dedup_config)
        titles = [" ".join(ls) for ls in normalize_batch(repair_text([a.title for a in articles]), config.normalize)]
        times = np.array([_timestamp(a.date) for a in articles], dtype=np.float64)
        del bodies
    with timer("stories"):
        copies = copy_groups(dup.group, dup.pairs, dup.pair_relation, dup.pair_scores.contain_ij, dup.pair_scores.contain_ji)
        found = find_stories(texts, titles, times, config, groups=copies, progress=progress)
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
    ``"different"``. ``story_features`` ``(m, 3)`` are what the story score
    combines (columns :data:`dedup.stories.find.SCORE_FEATURES`).
    """

    jaccard: np.ndarray
    containment: np.ndarray
    cosine: np.ndarray
    story_score: np.ndarray
    verdict: list[str]
    story_features: np.ndarray


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
    from ..text.mojibake import repair_text
    from ..stories.find import number_sets, score_features, story_scores, story_vectors, token_counts

    config = config if config is not None else StoriesConfig()
    if len(text1) != len(text2):
        raise ValueError(f"similarity: {len(text1)} first texts but {len(text2)} second texts")
    m = len(text1)
    raw = repair_text(list(text1) + list(text2))
    texts = [" ".join(ls) for ls in normalize_batch(raw, dedup_config.normalize)]
    heads = list(title1 or [""] * m) + list(title2 or [""] * m)
    titles = [" ".join(ls) for ls in normalize_batch(repair_text(heads), config.normalize)]
    pairs = np.stack([np.arange(m), np.arange(m) + m], axis=1).astype(np.int64)
    th, to, sh, so, _ = sketch_chunk(texts, dedup_config.shingle, dedup_config.minhash)
    digest = np.array([xxhash.xxh3_64_intdigest(t.encode()) for t in texts], dtype=np.uint64)
    feats = Features.from_hashes(sh, so, th, to)
    core = score_pairs(feats, pairs, digest, fit_idf(feats))
    rel = decide(core, dedup_config.verify)
    x, nums, lengths = story_vectors(texts, titles, config), number_sets(texts, titles), token_counts(texts)
    story = story_scores(x, nums, lengths, pairs, config)
    verdict = [
        "duplicate" if r != NONE else ("same_event" if s >= config.event_threshold else "different")
        for r, s in zip(rel.tolist(), story.tolist())
    ]
    return SimilarityResult(core.jaccard, core.containment, core.cosine, story, verdict, score_features(x, nums, lengths, pairs))

