"""The stories flow: duplicate groups, then events a day at a time, then storylines.

    dedupe (the feed streams by; its headlines are put aside by day, and
    dedupe's sketch stage writes each compared text, normalized and without
    its boilerplate, beside them) → per day, in time order: count (worker
    processes) → events (this process:
    :class:`dedup.stories.events.EventTracker`) → storylines over the event
    centroids.

Only the open window's rows, the events that can still grow and one excerpt
per article are held, so a feed larger than memory passes through.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from ..cluster.groups import copy_groups
from ..config import DedupConfig, NormalizeConfig, StoriesConfig
from ..errors import ConfigError
from ..exec import open_executor
from ..results import DedupResult, Progress, StoriesResult
from ..runtime import Runtime
from ..store.days import DaySpool, unpark
from ..store.index import HistoryIndex, Waiting
from ..store.spill import temporary_space
from ..types import Article
from .dedupe import dedupe
from .timer import StageTimer

__all__ = ["check_normalize", "day_input", "day_input_at", "stories"]

_DAY = 86_400.0


def day_input(bodies: Sequence[str], titles: Sequence[str], raw: Sequence[str] | None, times: np.ndarray,
              copies: np.ndarray, until: np.ndarray, arrival: np.ndarray, alone: np.ndarray | None = None,
              groups: np.ndarray | None = None, *, normalize: NormalizeConfig, config: StoriesConfig, spill: str | None = None):  # noqa: ANN201  (a DayInput; runs in a worker)
    """One day's :class:`~dedup.stories.day.DayInput`: the texts dedupe compared, the headlines normalized here
    (``alone``: the articles no dedupe run compared, each an event of its own; ``groups``: dedupe's duplicate groups,
    for late reprints: :func:`~dedup.stories.day.build_day`).

    With ``config.semantic`` the day's articles are embedded here too, from
    the raw headline and text (``raw``, :func:`dedup.stories.semantic.article_text`):
    the worker holds them, the tracker never does.
    """
    from ..stories.day import build_day
    from ..text.normalize import normalize_texts

    heads = [t.replace("\n", " ") for t in normalize_texts(titles, normalize)]
    vectors = None
    if config.semantic:
        from ..stories import semantic

        vectors = semantic.embed([semantic.article_text(t, b) for t, b in zip(titles, raw or [""] * len(titles))])
    return build_day(list(bodies), heads, times, copies, arrival, config, until, embeddings=vectors, spill=spill, alone=alone,
                     groups=groups)


def day_input_at(ref, times: np.ndarray, copies: np.ndarray, until: np.ndarray, arrival: np.ndarray,  # noqa: ANN001, ANN201
                 alone: np.ndarray | None = None, groups: np.ndarray | None = None, *, normalize: NormalizeConfig,
                 config: StoriesConfig, park_in: str | None = None):
    """:func:`day_input` of a day whose texts the worker reads from the spool itself (``ref``: a
    :class:`~dedup.store.days.DayRef`; the worker shares this machine's disk), so that the parent never holds them.

    With ``park_in`` (a folder) the day is written there and its path returned
    (:func:`~dedup.store.days.park`): a finished day waits on disk, not in
    the parent's memory, until the tracker takes it.
    """
    from ..store.days import park, read_day

    bodies, titles, raw = read_day(ref)
    # parked, the day's largest part (its character counts) goes to disk as it is made, never whole here
    day = day_input(bodies, titles, raw, times, copies, until, arrival, alone, groups, normalize=normalize, config=config,
                    spill=park_in)
    if park_in is None:
        return day
    path = park(day, park_in)
    del day, bodies, titles, raw
    from ..exec.heap import release_heap

    release_heap()  # a worker waits between days (one builds while the tracker places): its freed heap goes back
    return path


def check_normalize(config: StoriesConfig, dedup_config: DedupConfig) -> None:
    """Events compare the texts dedupe normalized: both normalizations must be one.

    Raises:
        ConfigError: ``[stories.normalize]`` differs from ``[dedupe.normalize]``.
    """
    if config.normalize != dedup_config.normalize:
        raise ConfigError(f"stories compare the texts dedupe normalized: [stories.normalize] ({config.normalize}) "
                          f"must equal [dedupe.normalize] ({dedup_config.normalize})")


def stories(
    articles: Iterable[Article],
    config: StoriesConfig | None = None,
    dedup_config: DedupConfig = DedupConfig(),
    progress: Progress | None = None,
    runtime: Runtime = Runtime(),
    index: HistoryIndex | None = None,
    on_wait: Waiting | None = None,
) -> StoriesResult:
    """Group a feed into events (with their duplicate groups) and storylines.

    Args:
        articles: the feed, in input order: a list, or a stream consumed once.
        config: events and storylines settings (default ``StoriesConfig()``).
        dedup_config: settings of the duplicate detection whose groups nest in events.
        progress: optional callback for long stages.
        runtime: how to run (processes, temporary folder); never changes the result.
        index: a history index: the feed is deduplicated against it and added
            to it, and its reports join the events the index tracks
            (:mod:`dedup.flows.story_history`); positions ``n + k`` of the
            result then name ``history[k]``.
        on_wait: with an index, told when another run holds it (it may call the wait off:
            :data:`~dedup.store.index.Waiting`).

    Returns:
        A :class:`StoriesResult` with one event and storyline per article; its
        ``articles`` hold the first :data:`dedup.store.days.EXCERPT_CHARS`
        characters of each text.
    """
    from ..stories import stories_from_tracked
    from ..stories.arrival import DAY_WORKERS, DAYS_AHEAD, arrival_order, copy_reach, day_blocks
    from ..stories.events import EventTracker

    config = config if config is not None else StoriesConfig()
    check_normalize(config, dedup_config)
    if config.semantic:  # before the feed is read
        from ..stories.semantic import require_encoder_for

        require_encoder_for(config)
    if index is not None:  # before the feed goes into the index: a refusal after it left the day there without events
        from ..stories.carry import StateError, check_state
        from ..store.index import HistoryError

        try:
            check_state(index.stories.load()[1], config)
        except StateError as exc:
            raise HistoryError(f"{index.location}: {exc}") from None
    timer = StageTimer(progress=progress)
    with temporary_space(runtime.temp_dir) as tmp:
        spool = DaySpool(tmp, raw_texts=config.semantic)
        with timer("dedupe"):
            dup = dedupe(spool.tee(articles), dedup_config, progress=progress, runtime=runtime, index=index, on_wait=on_wait,
                         keep_texts=spool)
        if index is not None:
            from .story_history import track_with_index

            # one tracker at a time: a second run waits (with a message), then continues from what the first saved.
            # Not the writer's lock: dedupe runs (the service's batches) add articles meanwhile; these are placed by
            # a later run, and this one saves only if no other tracker saved since it read the state
            with timer("events"), index.tracker(on_wait):
                t = track_with_index(dup, spool, index, config, dedup_config, runtime, progress, day_input, watch=timer.watch)
            return StoriesResult(spool.excerpts(), dup, t.event, t.storyline, t.representative, t.pairs, t.scores,
                                 {f"dedupe.{k}": v for k, v in dup.timings.items()} | dict(timer.seconds), config,
                                 history=t.history, earlier=t.earlier, tracking=t.counts, stored_groups=t.stored_groups,
                                 merged=t.merged, stored_skips=t.stored_skips, workers=_workers(dup, timer))
        n = len(dup.table)
        times = dup.table.times
        copies = _copy_labels(dup)
        groups = dup.group  # a late reprint (past the window) joins the event of its duplicate group
        # dedupe's verified pairs and their scores (~0.35 GB at 1M articles of copy families) are not read again
        # until the outputs: they wait on disk through the events, the stage of the run's peak
        dup, parked = _pairs_aside(dup, tmp)
        alone = np.zeros(n, dtype=bool)  # not compared (too short...): each an event of its own
        alone[list(dup.not_compared())] = True
        order = arrival_order(times)
        until = copy_reach(copies, times, config.window_days * _DAY)
        tick = (lambda k: progress("events", k, n)) if progress is not None else None
        tracker = EventTracker(n, config, tick, runtime.threads, spill=tmp)

        def tasks(shared: bool) -> Iterator[tuple]:
            for lo, hi in day_blocks(times[order]):
                pos = order[lo:hi]
                texts = (spool.ref(pos.tolist()),) if shared else spool.read(pos.tolist())
                yield *texts, times[pos], copies[pos], until[pos], np.arange(lo, hi), alone[pos], groups[pos]

        with timer("events"), open_executor(runtime, own_workers=True) as executor:  # a fresh worker; none idles through storylines
            timer.watch(executor)
            shared = executor.shares_disk  # workers read their day's texts: the parent never holds a day's texts
            if shared and runtime.local_jobs != 1:  # and a day finished early by a worker waits on disk until it is taken
                days = (unpark(path) for path in executor.imap(day_input_at, tasks(True), ahead=DAYS_AHEAD, workers=DAY_WORKERS,
                                                                 normalize=dedup_config.normalize, config=config, park_in=tmp))
            else:
                days = executor.imap(day_input, tasks(False), ahead=DAYS_AHEAD, workers=DAY_WORKERS, normalize=dedup_config.normalize, config=config)
            tracker.add_days(days)  # each day let go as soon as its vectors are made (~0.4 GB of counts a dense day)
            tracked = tracker.finish()
        with timer("storylines"):
            found = stories_from_tracked(tracked, order, config, progress, runtime.threads)
        del tracked, tracker
        dup = _pairs_back(dup, parked)
        excerpts = spool.excerpts()  # read back last: the window and the centroids are gone
    timings = {f"dedupe.{k}": v for k, v in dup.timings.items()} | dict(timer.seconds)
    return StoriesResult(
        articles=excerpts,
        dedup=dup,
        event=found.event,
        storyline=found.storyline,
        representative=found.representative,
        pairs=found.pairs,
        scores=found.scores,
        timings=timings,
        config=config,
        workers=_workers(dup, timer),
    )


def _copy_labels(dup: DedupResult) -> np.ndarray:
    """Who copied whom (:func:`~dedup.cluster.groups.copy_groups`), from the edges between texts only: carried to
    exact copies, one would give the containment guard a second choice (a copy of them, :meth:`DedupResult.text_edges`,
    goes when this returns)."""
    pairs, rel, scores = dup.text_edges()
    return copy_groups(dup.group, pairs, rel, scores.contain_ij, scores.contain_ji)


_PAIR_FIELDS = ("pairs", "pair_relation")


def _pairs_aside(dup: DedupResult, folder: str) -> tuple[DedupResult, str]:
    """``dup`` without its verified pairs (empty arrays of their types), and the file they wait in (:func:`_pairs_back`)."""
    from dataclasses import fields, replace

    from ..store.spill import park_arrays

    scores = dup.pair_scores
    path = park_arrays(folder, "dedupe-pairs", {**{f: getattr(dup, f) for f in _PAIR_FIELDS},
                                                **{f"score.{f.name}": getattr(scores, f.name) for f in fields(scores)}})
    return replace(dup, pairs=dup.pairs[:0].copy(), pair_relation=dup.pair_relation[:0].copy(),
                   pair_scores=scores.take(slice(0, 0))), path


def _pairs_back(dup: DedupResult, path: str) -> DedupResult:
    """``dup`` with the pairs :func:`_pairs_aside` put in ``path`` back, bit for bit."""
    from dataclasses import replace

    from ..store.spill import unpark_arrays
    from ..verify.scores import PairScores

    got = unpark_arrays(path)
    scores = PairScores(**{k.removeprefix("score."): v for k, v in got.items() if k.startswith("score.")})
    return replace(dup, pairs=got["pairs"], pair_relation=got["pair_relation"], pair_scores=scores)


def _workers(dup: DedupResult, timer: StageTimer) -> dict[str, int]:
    """Worker processes per stage, as the timings: the dedupe stages prefixed ``dedupe.``, ``dedupe`` the most of them."""
    return {f"dedupe.{k}": v for k, v in dup.workers.items()} | dict(timer.workers) | {"dedupe": max(dup.workers.values(), default=0)}
