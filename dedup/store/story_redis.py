"""Stories kept in a Redis history index (:class:`dedup.store.story_log.StoryLog`).

Keys under the index's prefix ``P``:

* ``P:st:state`` hash: ``version`` and ``state`` (the tracker's carried window);
* ``P:st:art`` hash: article id → ``[event, storyline, time, source, label]`` (JSON);
* ``P:st:ev:EVENT`` sorted set: the event's member ids by time;
* ``P:st:recent`` sorted set: event → time of its latest report.

A save is one ``MULTI``/``EXEC`` under ``WATCH`` of the state: when another
run saved first, nothing is written and :class:`StoryConflict` is raised.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from .story_log import StoryConflict, StoryRow

__all__ = ["RedisStories"]


def _row(i: str, raw: bytes | str) -> StoryRow:
    e, s, t, src, lab = json.loads(raw)
    return StoryRow(i, e, s, float("nan") if t is None else float(t), src, lab)


class RedisStories:
    """``still_there`` raises :class:`~dedup.store.index.HistoryError` when the index is gone from the server: an
    event found nowhere in a flushed index is not "no such event"."""

    def __init__(self, r: Any, prefix: str, location: str, still_there: Callable[[], None] = lambda: None) -> None:
        self.r, self.location, self.still_there = r, location, still_there
        self.state_key, self.art_key, self.recent_key = f"{prefix}:st:state", f"{prefix}:st:art", f"{prefix}:st:recent"
        self.ev = lambda e: f"{prefix}:st:ev:{e}"

    def load(self) -> tuple[int, bytes | None]:
        v, state = self.r.hmget(self.state_key, ["version", "state"])
        return int(v or 0), state

    def save(self, version: int, state: bytes | None, rows: list[StoryRow]) -> None:
        import redis

        with self.r.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(self.state_key)
                if int(pipe.hget(self.state_key, "version") or 0) != version:
                    raise redis.WatchError
                ids = [r.id for r in rows]
                old = dict(zip(ids, pipe.hmget(self.art_key, ids))) if ids else {}
                left: set[str] = set()  # events that members left (merged into another): dropped from recent once empty
                pipe.multi()
                if state is not None:
                    pipe.hset(self.state_key, mapping={"version": version + 1, "state": state})
                for r in rows:
                    prev = _row(r.id, old[r.id]) if old.get(r.id) is not None else None
                    storyline = r.storyline if r.storyline is not None else (prev.storyline if prev else None)
                    t = None if r.time != r.time else r.time
                    pipe.hset(self.art_key, r.id, json.dumps([r.event, storyline, t, r.source, r.label], ensure_ascii=False))
                    if prev is not None and prev.event != r.event:
                        pipe.zrem(self.ev(prev.event), r.id)
                        left.add(prev.event)
                    score = -math.inf if t is None else t
                    pipe.zadd(self.ev(r.event), {r.id: score})
                    if t is not None:
                        pipe.zadd(self.recent_key, {r.event: t}, gt=True)
                pipe.execute()
            except redis.WatchError:
                raise StoryConflict(f"{self.location}: another `dedup stories` run updated this index's stories meanwhile; "
                                    "run again (what it tracked is kept, the rest is placed)") from None
        self._forget_empty(left)

    def _forget_empty(self, events: set[str]) -> None:
        """Take events left without members (merged into another, or pruned) off the list of recent ones."""
        for e in sorted(events):
            if not self.r.zcard(self.ev(e)):
                self.r.zrem(self.recent_key, e)

    def lookup(self, ids: list[str]) -> dict[str, StoryRow]:
        if not ids:
            return {}
        return {i: _row(i, raw) for i, raw in zip(ids, self.r.hmget(self.art_key, ids)) if raw is not None}

    def stats(self) -> dict:
        v = self.r.hget(self.state_key, "version")
        return {"tracked_articles": int(self.r.hlen(self.art_key)), "events": int(self.r.zcard(self.recent_key)),
                "state_bytes": int(self.r.hstrlen(self.state_key, "state")), "version": int(v or 0)}

    def prune(self, before: float) -> int:
        gone = [_row(i.decode(), raw) for i, raw in self.r.hscan_iter(self.art_key, count=5000)]
        gone = [r for r in gone if r.time == r.time and r.time < before]
        by_event: dict[str, list[str]] = {}
        for r in gone:
            by_event.setdefault(r.event, []).append(r.id)
        pipe = self.r.pipeline(transaction=True)
        if gone:  # one command per key, not per article
            pipe.hdel(self.art_key, *[r.id for r in gone])
        for event, ids in by_event.items():
            pipe.zrem(self.ev(event), *ids)
        pipe.execute()
        self._forget_empty({r.event for r in gone})
        return len(gone)

    def members(self, events: list[str], limit: int) -> dict[str, list[str]]:
        return {e: [m.decode() for m in self.r.zrange(self.ev(e), 0, limit - 1)] for e in events}

    def recent(self, limit: int) -> list[dict]:
        names = self.r.zrevrange(self.recent_key, 0, limit - 1)
        if not names:
            self.still_there()
        found = (self.event(x.decode()) for x in names)
        return [d for d in found if d is not None]

    def event(self, name: str) -> dict | None:
        ids = [m.decode() for m in self.r.zrange(self.ev(name), 0, -1)]
        if not ids:
            self.still_there()
            return None
        rows = self.lookup(ids)
        times = [r.time for r in rows.values() if r.time == r.time]
        first = rows.get(name) or next((rows[i] for i in ids if i in rows), None)  # ids in time order
        return {"event": name, "label": first.label if first else "", "size": len(ids),
                "first": min(times) if times else None, "last": max(times) if times else None,
                "sources": sorted({r.source for r in rows.values() if r.source})}
