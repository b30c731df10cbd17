"""The stories flow against a history index: today's reports join the events already open there.

Used by :func:`dedup.flows.stories.stories` when a run has an index. The
feed is deduplicated against the history (and added to it), then:

1. articles the index already tracks keep the event and storyline stored for
   them (a rerun changes nothing);
2. the tracker resumes from the state the last run left in the index
   (:mod:`dedup.stories.carry`: the open window), and the other articles are
   placed day by day in time order after everything it has seen, so an event
   keeps the id of its first report from one feed to the next;
3. after the last dated day the tracker's state is carried (undated articles
   then meet each other only, as in a batch), and saved with every placed
   article's event in one transaction (:mod:`dedup.store.story_log`).

When a report of this feed bridges two events still open in the window,
they merge as in a batch: the later event's stored members are rewritten to
the earlier id (and to the storyline their event now has), and the run says
which stored events it merged into which (``merged``).

Copy groups are named as the index names duplicate groups (the id of their
first member), so a copy of a stored article joins the event of that
article's copies. Articles dated before the index's last tracked day are
placed after it, as late arrivals: they meet the open window, not the events
already closed. Storylines are made over the events of this run (those its
articles belong to and those it closed); a stored article keeps the
storyline it was given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from ..cluster.groups import copy_groups
from ..config import DedupConfig, StoriesConfig
from ..exec import Executor, open_executor
from ..results import SKIPPED, DedupResult, Progress
from ..runtime import Runtime
from ..store.days import DaySpool
from ..store.index import HistoryIndex
from ..store.story_log import StoryRow
from ..types import Article, article_label

__all__ = ["TrackedFeed", "track_with_index"]

_DAY = 86_400.0
EARLIER_SHOWN = 100  # earlier members named per continued event in events.json


def copy_names(dup: DedupResult, index: HistoryIndex) -> tuple[list[str | None], dict[int, str], dict[int, str]]:
    """Per feed position, the name of its copy group (as the index names groups), None when it has no copy; the
    stored group of each article the index held before this run (a rerun's dedupe reports those as already indexed);
    and the stored reason of each of those an earlier run did not compare (empty, too short...)."""
    n = len(dup.table)
    group = np.asarray(dup.group, dtype=np.int64).copy()
    hist = group >= n
    first_local: dict[int, int] = {}
    for p in np.flatnonzero(hist).tolist():  # a stored group: labelled by its first feed member here
        first_local.setdefault(int(group[p]), p)
    local = np.where(hist, [first_local.get(int(g), -1) for g in group], group) if hist.any() else group
    pairs, rel, scores = dup.text_edges()  # not the rows carried to exact copies (see flows/stories.py)
    inside = (pairs < n).all(axis=1) if len(pairs) else np.zeros(0, dtype=bool)
    labels = copy_groups(local, pairs[inside], rel[inside], scores.contain_ij[inside], scores.contain_ji[inside])
    stored = {int(labels[p]): dup.group_name(int(group[p])) for p in np.flatnonzero(hist).tolist()}
    members = np.bincount(labels, minlength=n)
    names: list[str | None] = [None] * n
    for p in range(n):
        lab = int(labels[p])
        if lab in stored:
            names[p] = stored[lab]
        elif members[lab] > 1:
            names[p] = dup.table.ids[lab]
    known = index.known_ids([dup.table.ids[p] for p in range(n) if group[p] < 0])  # indexed by an earlier run
    stored_groups: dict[int, str] = {}
    stored_skips: dict[int, str] = {}
    for p in range(n):
        rec = known.get(dup.table.ids[p]) if group[p] < 0 else None
        if rec is not None and rec.group is not None:
            stored_groups[p] = rec.group
            names[p] = names[p] or rec.group
        elif rec is not None and rec.status == SKIPPED:
            stored_skips[p] = rec.reason
    return names, stored_groups, stored_skips


class TrackedFeed:
    """A feed placed against the index: per feed position its event and storyline (positions; ``n + k`` names
    ``history[k]``), the history articles named, the earlier members of continued events, the stored events merged
    into each event, and counts."""

    def __init__(self, event: np.ndarray, storyline: np.ndarray, representative: np.ndarray, pairs: np.ndarray,
                 scores: np.ndarray, history: list[Article], earlier: dict[str, list[str]], counts: dict[str, int],
                 stored_groups: dict[int, str], merged: dict[str, list[str]], stored_skips: dict[int, str]) -> None:
        self.event, self.storyline, self.representative, self.stored_groups = event, storyline, representative, stored_groups
        self.stored_skips = stored_skips
        self.pairs, self.scores, self.history, self.earlier, self.counts = pairs, scores, history, earlier, counts
        self.merged = merged


def track_with_index(dup: DedupResult, spool: DaySpool, index: HistoryIndex, config: StoriesConfig,
                     dedup_config: DedupConfig, runtime: Runtime, progress: Progress | None,
                     day_input: Callable, watch: Callable[[Executor], None] | None = None) -> TrackedFeed:
    """Place the feed of ``dup`` (texts in ``spool``) into the events the index tracks, and save what changed.

    ``watch`` is given the executor that makes the days' inputs (:meth:`dedup.flows.timer.StageTimer.watch`)."""
    from ..stories import stories_from_tracked
    from ..stories.carry import StateError, carry, from_bytes, resume, to_bytes
    from ..stories.arrival import DAY_WORKERS, DAYS_AHEAD, arrival_order, copy_reach, day_blocks
    from ..store.index import HistoryError

    n = len(dup.table)
    ids, times, arts = dup.table.ids, dup.table.times, spool.excerpts()
    stored = index.stories.lookup(list(ids))
    version, blob = index.stories.load()
    try:
        carried = from_bytes(blob) if blob is not None else None
    except StateError as exc:
        raise HistoryError(f"{index.location}: {exc}") from None
    m = 0 if carried is None else len(carried)
    names, stored_groups, stored_skips = copy_names(dup, index)
    copy_ints: dict[str, int] = {}
    for name in [*(carried.copies if carried else {}), *(x for x in names if x is not None)]:
        copy_ints.setdefault(name, len(copy_ints))
    copies = np.array([-1 if x is None else copy_ints[x] for x in names], dtype=np.int64)
    groups = np.asarray(dup.group, dtype=np.int64)  # late reprints within the feed (a closed carried event has no label)
    alone = np.zeros(n, dtype=bool)  # no dedupe run compared them (this one, or the earlier one that stored them)
    alone[[*dup.not_compared(), *stored_skips]] = True
    place = np.array([p for p in range(n) if ids[p] not in stored], dtype=np.int64)
    order = place[arrival_order(times[place])]  # new arrival m + j is feed position order[j]
    until = copy_reach(copies[order], times[order], config.window_days * _DAY)  # by new arrival
    tick = (lambda k: progress("events", k, len(order))) if progress is not None else None
    try:
        tracker = resume(carried, len(order), config, copy_ints, tick, runtime.threads, runtime.temp_dir)
    except StateError as exc:
        raise HistoryError(f"{index.location}: {exc}") from None

    def tasks(blocks: list[tuple[int, int]]) -> Iterator[tuple]:
        for lo, hi in blocks:
            pos = order[lo:hi]
            bodies, titles, raw = spool.read(pos.tolist())
            yield bodies, titles, raw, times[pos], copies[pos], until[lo:hi], np.arange(m + lo, m + hi), alone[pos], groups[pos]

    blocks = day_blocks(times[order])
    dated = [b for b in blocks if not np.isnan(times[order[b[0]]])]
    undated = [b for b in blocks if np.isnan(times[order[b[0]]])]
    limit = m + (dated[-1][1] if dated else 0)
    pos_of = np.concatenate([n + np.arange(m), order]).astype(np.int64)  # arrival → position (n + k: carried k)
    history = [Article(id=i, text="", title=lab, date=None, source=s) for i, lab, s in
               zip(carried.ids, carried.labels, carried.sources)] if carried else []
    with open_executor(runtime, own_workers=True) as executor:
        if watch is not None:
            watch(executor)
        kwargs = dict(ahead=DAYS_AHEAD, workers=DAY_WORKERS, normalize=dedup_config.normalize, config=config)
        tracker.add_days(executor.imap(day_input, tasks(dated), **kwargs))
        label = lambda a: history[a].title if a < m else article_label(arts[int(order[a - m])])  # noqa: E731
        t_all = np.concatenate([carried.times if carried else np.zeros(0), times[order]])
        state = carry(tracker, limit,
                      ids=lambda arr: [history[a].id if a < m else ids[int(order[a - m])] for a in arr.tolist()],
                      times=t_all,
                      sources=lambda arr: [history[a].source if a < m else arts[int(order[a - m])].source for a in arr.tolist()],
                      labels=lambda arr: [label(a) for a in arr.tolist()],
                      copy_names={v: k for k, v in copy_ints.items()})
        tracker.add_days(executor.imap(day_input, tasks(undated), **kwargs))
    tracked = tracker.finish()
    found = stories_from_tracked(tracked, np.arange(m + len(order)), config, progress, runtime.threads)
    name = lambda a: history[a].id if a < m else ids[int(order[a - m])]  # noqa: E731

    # feed positions: placed ones from the tracker, tracked ones from the index (their ids become history stubs)
    event = np.full(n, -1, dtype=np.int64)
    storyline = np.full(n, -1, dtype=np.int64)
    event[order] = pos_of[found.event[m:]]
    storyline[order] = pos_of[found.storyline[m:]]
    where = {i: p for p, i in enumerate(ids)} | {h.id: n + k for k, h in enumerate(history)}

    def position(i: str | None) -> int:
        if i is None:
            return -1
        if i not in where:
            where[i] = n + len(history)
            history.append(Article(id=i, text="", title="", date=None, source=""))
        return where[i]

    for p in range(n):
        row = stored.get(ids[p])
        if row is not None:
            event[p], storyline[p] = position(row.event), position(row.storyline or row.event)
    rep = np.full(n + len(history), -1, dtype=np.int64)
    has = found.representative >= 0
    rep[pos_of[np.flatnonzero(has)]] = pos_of[found.representative[has]]
    pairs = pos_of[found.pairs] if len(found.pairs) else np.zeros((0, 2), np.int64)
    inside = (pairs < n).all(axis=1) if len(pairs) else np.zeros(0, dtype=bool)

    # a carried article keeps its stored storyline, unless this run merged its event into another
    was = {i: r.event for i, r in index.stories.lookup([history[a].id for a in range(m) if tracked.event[a] >= 0]).items()}
    merged: dict[str, set[str]] = {}
    rows = []
    for a in range(m + len(order)):
        if a < m and (tracked.event[a] < 0 or history[a].id not in was):
            continue  # not tracked, or pruned from the index since it was carried: it stays forgotten
        event_id = name(int(found.event[a]))
        moved = a < m and was.get(history[a].id, event_id) != event_id
        if moved:
            merged.setdefault(event_id, set()).add(was[history[a].id])
        rows.append(StoryRow(name(a), event_id, name(int(found.storyline[a])) if a >= m or moved else None, float(t_all[a]),
                             history[a].source if a < m else arts[int(order[a - m])].source, label(a)))
    if len(order):
        index.stories.save(version, to_bytes(state), rows)
    feed_ids = set(ids)
    events = sorted({(ids[e] if e < n else history[e - n].id) for e in event.tolist()})
    earlier = {e: [i for i in ms if i not in feed_ids] for e, ms in index.stories.members(events, EARLIER_SHOWN).items()}
    placed_in = {int(found.event[a]) for a in range(m, m + len(order))}  # the events this run placed reports in
    counts = {"already_tracked": n - len(order), "placed": int(len(order)),
              "new_events": len({e for e in placed_in if e >= m}),  # begun by one of this feed's reports
              "continued_events": len(placed_in & set(range(m))),
              "merged_events": sum(len(v) for v in merged.values())}
    return TrackedFeed(event, storyline, rep, pairs[inside], found.scores[inside], history,
                       {e: ms for e, ms in earlier.items() if ms}, counts, stored_groups,
                       {e: sorted(v) for e, v in sorted(merged.items())}, stored_skips)
