"""Preparation: every article from raw text to what the comparison needs.

normalize ([repeats], spill) → boilerplate → sketch (strip, screen, collapse
exact copies, MinHash, anchors, verification features). This is the one
preparation of every flow: :func:`prepare_stream` for a feed that streams
(``dedupe``, ``eval --sweep``); :func:`dedup.flows.prepare_held.prepare_texts` for texts held in memory
(``similarity``) is built from the same per-chunk stage functions of
:mod:`dedup.sketch.prepare`.

The feed is consumed once, in chunks: each chunk is normalized and its lines
spilled to the run's temporary folder (boilerplate needs line counts over the
whole feed before anything is stripped), then read back, stripped and
sketched. What stays in memory per article is small: its
:class:`~dedup.types.ArticleTable` row, one signature, its anchors; the
verification features wait on disk in a :class:`~dedup.sketch.feature_store.FeatureStore`.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from dataclasses import dataclass, field

import numpy as np

from ..config import DedupConfig
from ..exec import Executor, LocalExecutor, batches
from ..exec.heap import heap_kept, release_heap
from ..io.readers.blocks import Block, JsonlBlocks
from ..results import Progress
from ..sketch.feature_store import FeatureStore, Segment
from ..sketch.prepare import (
    Prepared,
    Sketched,
    kept_rows,
    prepare_block,
    prepare_chunk,
    read_spill,
    sketch_task,
    write_spill,
)
from ..sketch.signatures import permutations
from ..store.days import DaySpool, put_texts
from ..text.boilerplate import Boilerplate, find_boilerplate
from ..types import Article, ArticleTable
from .timer import StageTimer

__all__ = ["PreparedFeed", "Representatives", "Seen", "batches", "prepare_stream", "screen"]

# From this many articles a feed is sketched by the compiled kernels (dedup.text.compiled for token hashes,
# dedup.sketch.compiled for MinHash: the same bits; sketching 20k articles in one process 2.2 -> 1.4 CPU-s); below,
# numba's import and cache load (0.5-1 s a process) would cost more than they save.
COMPILED_ARTICLES = 50_000
# Blocks of lines (about chunk_size lines each) from which a local JSONL feed is prepared by the workers --jobs asks
# for; a smaller one is prepared in this process. See WORKERS_FROM_BLOCKS's measurement in docs/performance-log.md.
WORKERS_FROM_BLOCKS = 10
# Characters of normalized text a run in one process holds between the two sweeps instead of spilling them
# (64M: the dev days' 20k articles are 35M; at most ~130 MB of Arabic text held, the rest spilled as before).
HOLD_CHARS = 64 << 20


@dataclass(frozen=True)
class Seen:
    """What a history index tells the preparation of a new feed.

    ``skip(ids, lengths)`` gives per id a reason not to compare the article
    again (it is already indexed; the reason says when its text is not the
    stored one, told by its length) or None; ``line_counts(keys)`` how many indexed
    articles hold each short line, so boilerplate is counted over the history
    as well. ``again``: the ids ``skip`` let through although stored, as a skip that stored nothing of its text
    (empty, too short…) now sent with another text, each with its stored row (the new decision replaces it).
    """

    skip: Callable[[list[str]], list[str | None]]
    line_counts: Callable[[np.ndarray], np.ndarray]
    again: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PreparedFeed:
    """A prepared feed, by article position ``0..n-1`` and representative ``0..R-1``.

    A representative is the first article of each distinct comparable text;
    exact copies point at it (``rep_of``; -1 for articles not compared).
    """

    table: ArticleTable
    boilerplate: Boilerplate
    removed: np.ndarray  # (n,) boilerplate lines left out of each article
    reason_skipped: dict[int, str]  # position → why it was not compared
    rep_of: np.ndarray  # (n,) representative of each article, or -1
    digest: np.ndarray  # (n,) uint64 hash of the text compared
    rep_pos: np.ndarray  # (R,) article position of each representative
    signatures: np.ndarray  # (R, num_perm)
    sizes: np.ndarray  # (R,) shingle counts
    anchors: tuple[np.ndarray, np.ndarray]  # anchor grams and their representative
    store: FeatureStore  # (R rows) verification features, on disk
    repeat_counts: np.ndarray | None  # (n,) internally repeated paragraphs, when counted
    line_keys: tuple[np.ndarray, np.ndarray] | None = None  # with history: short-line keys, and offsets (n + 1,) per article


def prepare_stream(
    articles: Iterable[Article] | JsonlBlocks,
    config: DedupConfig,
    executor: Executor,
    tmp: str,
    chunk_size: int,
    timer: StageTimer,
    progress: Progress | None = None,
    seen: Seen | None = None,
    keep_texts: DaySpool | None = None,
    kgrams: bool = True,
) -> PreparedFeed:
    """Prepare a feed that streams by, in chunks of ``chunk_size`` through ``executor``.

    ``articles`` are read here, or (:class:`~dedup.io.readers.blocks.JsonlBlocks`)
    cut into blocks of lines that the workers parse as they prepare them.

    ``tmp`` is the run's temporary folder (spill files and the feature store
    live there); stages are timed into ``timer``. With ``seen`` (a history
    index), articles it already holds are skipped with its reason, and
    boilerplate counts the history's articles too. With ``keep_texts`` (the
    spool the feed was teed through), each article's compared text
    (normalized, boilerplate left out) is also written to it by day, for the
    stories stage. ``kgrams``: the feature store holds each article's k-gram
    sequence (for passage alignment and a history index; see
    :func:`~dedup.sketch.prepare.sketch_spilled`).
    """
    total = len(articles) if isinstance(articles, Sequence) else 0

    def tick(stage: str, k: int, of: int = 0) -> None:
        if progress is not None:
            progress(stage, k, of)

    block_stream: Iterator[Block] = iter(())
    if isinstance(articles, JsonlBlocks):
        block_stream = articles.blocks(chunk_size)
        if not executor.in_process:  # a feed of a few blocks is prepared here: starting workers would cost more than they save
            head: list[Block] = []
            for block in block_stream:
                head.append(block)
                if sum(b.size > 0 for b in head) >= WORKERS_FROM_BLOCKS:
                    break
            else:
                executor = LocalExecutor(1)
            block_stream = chain(head, block_stream)
    # Workers on another machine cannot see this machine's temporary files:
    # then the parent keeps the spill and ships the lines.
    share_disk = executor.shares_disk
    # In this process, in a run that keeps its heap (a small feed: dedup.exec.heap.small_run_heap), the first
    # HOLD_CHARS of normalized text stay in memory, without a spill file: never written out and read back (~0.1 s of
    # the dev days). Where freed memory goes back to the system, holding them gained nothing: later stages faulted in
    # fresh pages for what the spill saved.
    hold = executor.in_process and heap_kept()
    held: dict[int, list[str]] = {}
    held_chars = 0
    table = ArticleTable()
    starts: list[int] = []  # first position of each chunk
    chunk_codes: list[np.ndarray] = []
    raw_empty: list[np.ndarray] = []
    raw_long: list[np.ndarray] = []
    raw_known: list[np.ndarray] = []
    known_reason: dict[int, str] = {}
    repeat_counts: list[np.ndarray] = []

    spills: list[str] = []  # each chunk's spill file

    def spill_path(c: int) -> str:
        return os.path.join(tmp, "norm-%06d.pkl" % c)

    def sources_of(c: int) -> list[str]:
        return [table.source_names[s] for s in chunk_codes[c].tolist()]

    def prepare_tasks() -> Iterator[tuple[list[str], list[str], str | None]]:
        for c, batch in enumerate(batches(articles, chunk_size)):
            starts.append(len(table))
            chunk_codes.append(np.array(table.extend(batch), dtype=np.int32))
            texts = [a.text for a in batch]
            raw_empty.append(np.array([not t.strip() for t in texts], dtype=bool))
            raw_long.append(np.array([len(t) > config.max_chars for t in texts], dtype=bool))
            known = np.zeros(len(batch), dtype=bool)
            if seen is not None:
                for k, why in enumerate(seen.skip([a.id for a in batch], [len(a.text) for a in batch])):
                    if why is not None:
                        known[k] = True
                        known_reason[starts[-1] + k] = why
            raw_known.append(known)
            spills.append(spill_path(c))
            yield texts, sources_of(c), spill_path(c) if share_disk and not hold else None

    def prepared_blocks(blocks: JsonlBlocks) -> Iterator[Prepared]:
        """The feed parsed where it is prepared: each block's articles join the table as it comes back."""
        sent: deque[tuple[Block, str]] = deque()

        def tasks() -> Iterator[tuple[Block, str | None]]:
            for b, block in enumerate(block_stream):
                sent.append((block, spill_path(b)))  # the bytes stay here (the spool copies the lines not located) ...
                if share_disk and not executor.in_process:  # ... and a worker on this machine reads them from the file itself
                    yield block.located(), spill_path(b)
                else:
                    yield block, spill_path(b) if share_disk and not hold else None

        for parsed, prepared in executor.imap(prepare_block, tasks(), read_cfg=blocks.config, **prepare_cfg):
            block, spill = sent.popleft()
            rows = blocks.admit(block, parsed)
            if not len(rows):
                continue
            if len(rows) < len(parsed.ids):  # a repeated id did not join
                prepared = kept_rows(prepared, rows, spill if prepared.lines is None else None)
            starts.append(len(table))
            if len(rows) == len(parsed.ids):
                chunk_codes.append(table.add_many(parsed.ids, parsed.sources, parsed.dates, parsed.lengths.tolist(), parsed.times.tolist()))
            else:
                at = rows.tolist()
                chunk_codes.append(table.add_many([parsed.ids[k] for k in at], [parsed.sources[k] for k in at],
                                                  [parsed.dates[k] for k in at], parsed.lengths[rows].tolist(), parsed.times[rows].tolist()))
            raw_empty.append(parsed.empty[rows])
            raw_long.append(parsed.lengths[rows] > config.max_chars)
            raw_known.append(np.zeros(len(rows), dtype=bool))
            spills.append(spill)
            yield prepared

    count_repeats = config.count_repeats or config.clean_repeats
    prepare_cfg = dict(
        normalize_cfg=config.normalize,
        boilerplate_cfg=config.boilerplate,
        repeats_cfg=config.repeats if count_repeats else None,
        clean_repeats=config.clean_repeats,
    )
    if isinstance(articles, JsonlBlocks):
        assert seen is None and keep_texts is None, "a feed read in blocks has no history index nor stories spool"
        chunks = prepared_blocks(articles)
    else:
        chunks = executor.imap(prepare_chunk, prepare_tasks(), **prepare_cfg)
    normalize_stage = "repeats+normalize" if count_repeats else "normalize"
    with timer(normalize_stage):
        keys: list[np.ndarray] = []
        per_article: list[np.ndarray] = []
        for c, prepared in enumerate(chunks):
            keys.append(prepared.line_keys)
            per_article.append(prepared.keys_per_article)
            if prepared.repeat_counts is not None:
                repeat_counts.append(prepared.repeat_counts)
            if prepared.lines is not None:
                size = sum(map(len, prepared.lines))
                if hold and held_chars + size <= HOLD_CHARS:
                    held[c] = prepared.lines
                    held_chars += size
                else:
                    write_spill(spills[c], prepared.lines)
            tick(normalize_stage, len(chunk_codes[c]), total)
    n = len(table)

    with timer("boilerplate"):
        flat = np.concatenate(keys) if keys else np.zeros(0, np.uint64)
        del keys
        feed_keys = None
        offsets = np.zeros(n + 1, dtype=np.int64)
        if per_article:
            np.cumsum(np.concatenate(per_article), out=offsets[1:])
        if seen is None:
            bp = find_boilerplate(flat, config.boilerplate)
        else:  # the articles already indexed are counted in the history, not again
            known_all = np.concatenate(raw_known) if raw_known else np.zeros(0, bool)
            fresh = ~np.repeat(known_all, np.diff(offsets))
            bp = find_boilerplate(flat[fresh], config.boilerplate, prior=seen.line_counts)
            feed_keys = (flat, offsets)
        holds = holds_any(flat, offsets, bp.keys)
        del flat

    with timer("sketch"):
        store = FeatureStore(tmp)
        reps = Representatives(n, store)
        eligible = [~(e | lg | kn) for e, lg, kn in zip(raw_empty, raw_long, raw_known)]

        def keep(c: int) -> tuple[str | None, int, np.ndarray] | None:
            if keep_texts is None:
                return None
            return (keep_texts.folder if share_disk else None, starts[c], keep_texts.days(starts[c], starts[c] + len(eligible[c])))

        tasks = (
            (held.pop(c) if c in held else spills[c] if share_disk else read_spill(spills[c]), sources_of(c), eligible[c],
             holds[starts[c] : starts[c] + len(eligible[c])], keep(c))
            for c in range(len(starts))
        )
        for c, sketched in enumerate(
            executor.imap(
                sketch_task,
                tasks,
                boilerplate_keys=bp.keys,
                max_tokens=config.boilerplate.max_tokens,
                shingle_cfg=config.shingle,
                minhash_cfg=config.minhash,
                index_cfg=config.index,
                perms=permutations(config.minhash.num_perm, config.minhash.seed),
                # workers on this machine write the features to the store's folder themselves
                segments=tmp if share_disk and not executor.in_process else None,
                compiled=n >= COMPILED_ARTICLES,
                kgrams=kgrams,
            )
        ):
            reps.add(starts[c], sketched)
            if sketched.kept is not None and keep_texts is not None:  # workers elsewhere: the texts came back
                put_texts(keep_texts.folder, starts[c], keep_texts.days(starts[c], starts[c] + len(sketched.kept)), sketched.kept)
            tick("sketch", len(sketched.n_tokens), n)
        bp = bp.with_lines(reps.boilerplate_found)
        rep_pos, sigs, sizes, anchors = reps.finish(config.minhash.num_perm)
        reason_skipped = screen(
            np.concatenate(raw_empty) if raw_empty else np.zeros(0, bool),
            np.concatenate(raw_long) if raw_long else np.zeros(0, bool),
            reps.n_tokens,
            table.lengths,
            config,
        )
        reason_skipped.update(known_reason)
    return PreparedFeed(
        table=table,
        boilerplate=bp,
        removed=reps.removed,
        reason_skipped=reason_skipped,
        rep_of=reps.rep_of,
        digest=reps.digest,
        rep_pos=rep_pos,
        signatures=sigs,
        sizes=sizes,
        anchors=anchors,
        store=store,
        repeat_counts=np.concatenate(repeat_counts) if repeat_counts else None,
        line_keys=feed_keys,
    )


def holds_any(keys: np.ndarray, offsets: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``(n,)`` whether each article's keys (``keys[offsets[i]:offsets[i+1]]``) include one of ``wanted`` (sorted).

    >>> holds_any(np.array([5, 7, 9], np.uint64), np.array([0, 1, 1, 3]), np.array([9], np.uint64)).tolist()
    [False, False, True]
    """
    n = len(offsets) - 1
    if len(wanted) == 0 or len(keys) == 0:
        return np.zeros(n, dtype=bool)
    at = np.minimum(np.searchsorted(wanted, keys), len(wanted) - 1)
    owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
    return np.bincount(owner[wanted[at] == keys], minlength=n) > 0


_TRIM_EVERY = 64 << 20  # bytes of parts let go between two hand-backs of the freed heap (~10 ms each)


class Representatives:
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
        # Each distinct digest of the chunk once (first occurrences in input order): known ones point at
        # their representative, new ones become representatives numbered in order of appearance.
        digests, first, inverse = np.unique(sk.digest[sk.sketched], return_index=True, return_inverse=True)
        known = np.array([self._first_of.get(d, -1) for d in digests.tolist()], dtype=np.int64)
        fresh = np.flatnonzero(known < 0)
        fresh = fresh[np.argsort(first[fresh], kind="stable")]
        known[fresh] = len(self._positions) + np.arange(len(fresh))
        self._first_of.update(zip(digests[fresh].tolist(), known[fresh].tolist()))
        new = np.sort(first[fresh])  # sketched rows that are new representatives, in input order
        self._positions.extend((base + sk.sketched[new]).tolist())
        self.rep_of[base + sk.sketched] = known[inverse.ravel()]
        rep_index = np.full(len(sk.sketched), -1, dtype=np.int64)  # sketched row → new representative
        rep_index[new] = known[inverse.ravel()[new]]
        self._sigs.append(sk.signatures[new])
        self._sizes.append(sk.n_shingles[new])
        chosen = None if len(new) == len(sk.sketched) else new
        if isinstance(sk.features, Segment):  # a worker wrote them to its own files of the store
            self.store.add_segment(sk.features, chosen)
        else:
            self.store.append(sk.features, chosen)
        mine = rep_index[sk.anchor_rows] >= 0
        self._grams.append(sk.anchor_grams[mine])
        self._owners.append(rep_index[sk.anchor_rows[mine]])
        self.boilerplate_found.append(sk.boilerplate)

    def finish(self, num_perm: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """``(positions, signatures, shingle counts, (anchor grams, owners))`` of the representatives."""

        def cat(parts: list[np.ndarray], empty: np.ndarray) -> np.ndarray:
            """``np.concatenate(parts)``, each part let go once copied and the freed heap handed back as it grows:
            the whole is not held twice (signatures and anchors of a million articles are the largest arrays of
            the run, and their chunk-sized parts live on the heap, which keeps freed pages until trimmed)."""
            if not parts:
                return empty
            out = np.empty((sum(len(p) for p in parts), *parts[0].shape[1:]), dtype=np.result_type(*parts))
            k = freed = 0
            parts.reverse()
            while parts:
                part = parts.pop()
                out[k : k + len(part)] = part
                k += len(part)
                freed += part.nbytes
                del part
                if freed > _TRIM_EVERY:
                    release_heap()
                    freed = 0
            return out

        out = (
            np.array(self._positions, dtype=np.int64),
            cat(self._sigs, np.zeros((0, num_perm), dtype=np.uint32)),
            cat(self._sizes, np.zeros(0, dtype=np.int64)),
            (cat(self._grams, np.zeros(0, dtype=np.uint64)), cat(self._owners, np.zeros(0, dtype=np.int64))),
        )
        self._sigs, self._sizes, self._grams, self._owners, self._first_of = [], [], [], [], {}
        return out


def screen(
    empty: np.ndarray, too_long: np.ndarray, n_tokens: np.ndarray, lengths: np.ndarray, config: DedupConfig
) -> dict[int, str]:
    """Why each skipped article was not compared (positions not listed were compared)."""
    reason: dict[int, str] = {}
    min_tokens, max_chars = config.shingle.min_tokens, config.max_chars
    for pos in np.flatnonzero(empty | too_long | (n_tokens < min_tokens)).tolist():
        if empty[pos]:
            reason[pos] = "empty text"
        elif n_tokens[pos] == 0:
            reason[pos] = "no words: only punctuation, symbols or marks"  # (boilerplate never strips a text to nothing)
        elif too_long[pos]:
            reason[pos] = f"text too long: {lengths[pos]} characters > max_chars={max_chars}"
        else:
            ntok = int(n_tokens[pos])
            reason[pos] = f"too short: {ntok} token{'s' if ntok != 1 else ''} < min_tokens={min_tokens}"
    return reason
