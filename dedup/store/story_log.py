"""Stories kept in a history index: the tracker's open window and each tracked article's event.

``dedup stories FEED --index LOCATION`` continues the events of earlier
feeds. The index keeps, beside the dedupe history:

* the **state** the event tracker hands to the next run
  (:mod:`dedup.stories.carry`, bytes, bounded by the window) with a version
  number;
* per tracked article its **event** and storyline (ids of first reports), time,
  source and label (a short headline), so a rerun reports what was decided,
  ``events.json`` can name a continued event's earlier members, and the
  service's page can list today's events.

A run reads the state and its version, places the feed, and saves the new
state with the articles in one transaction that fails when the version moved
meanwhile (another ``stories`` run saved first): :class:`StoryConflict` tells
the user to run again, and the rerun places only what is not tracked yet.
SQLite (:class:`SQLiteStories`) and Redis (:mod:`dedup.store.story_redis`)
implement :class:`StoryLog`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Protocol

from .index import HistoryError

__all__ = ["SQLiteStories", "StoryConflict", "StoryLog", "StoryRow"]


class StoryConflict(HistoryError):
    """Another run saved the story state after this one read it."""


@dataclass(frozen=True)
class StoryRow:
    """One tracked article."""

    id: str
    event: str  # id of the event's first report
    storyline: str | None  # id of the storyline's first event (None: not rewritten by this save)
    time: float  # NaN when undated
    source: str
    label: str


class StoryLog(Protocol):
    def load(self) -> tuple[int, bytes | None]:
        """``(version, state)``; ``(0, None)`` before any stories run."""
        ...

    def save(self, version: int, state: bytes | None, rows: list[StoryRow]) -> None:
        """Write the state (unless None) and the rows at once, if the version is still ``version``.

        Raises:
            StoryConflict: another run saved meanwhile.
        """
        ...

    def lookup(self, ids: list[str]) -> dict[str, StoryRow]: ...

    def members(self, events: list[str], limit: int) -> dict[str, list[str]]:
        """Up to ``limit`` member ids of each event, in time order."""
        ...

    def stats(self) -> dict:
        """``{"tracked_articles", "events", "state_bytes", "version"}``."""
        ...

    def prune(self, before: float) -> int:
        """Forget the tracked articles dated before ``before``. The carried window is left as it is: a later run
        still places articles against the pruned ones it holds, and never writes them back."""
        ...

    def recent(self, limit: int) -> list[dict]:
        """The events with the latest reports: ``{"event", "label", "size", "sources", "first", "last"}``, newest first."""
        ...

    def event(self, name: str) -> dict | None:
        """One event as :meth:`recent` describes it (``first``/``last``: epoch seconds or None; ``label``: its first
        report's, or the earliest left's when that was pruned); None when no tracked article is in it (never tracked,
        merged into another, or pruned)."""
        ...


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS story_state(k INTEGER PRIMARY KEY CHECK (k = 0), version INTEGER NOT NULL, state BLOB)",
    "CREATE TABLE IF NOT EXISTS story_articles(id TEXT PRIMARY KEY, event TEXT NOT NULL, storyline TEXT, "
    "time REAL, source TEXT NOT NULL, label TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS story_articles_event ON story_articles(event, time)",
    "CREATE INDEX IF NOT EXISTS story_articles_time ON story_articles(time)",
)


def _nan(x: float | None) -> float:
    return float("nan") if x is None else float(x)


class SQLiteStories:
    """:class:`StoryLog` in the tables ``story_state`` and ``story_articles`` of a SQLite index."""

    def __init__(self, conn: sqlite3.Connection, location: str) -> None:
        self.conn, self.location = conn, location

    def _exists(self) -> bool:
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'story_state'").fetchone() is not None

    def load(self) -> tuple[int, bytes | None]:
        if not self._exists():
            return 0, None
        row = self.conn.execute("SELECT version, state FROM story_state WHERE k = 0").fetchone()
        return (0, None) if row is None else (int(row[0]), None if row[1] is None else bytes(row[1]))

    def save(self, version: int, state: bytes | None, rows: list[StoryRow]) -> None:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            for stmt in _SCHEMA:
                c.execute(stmt)
            now = c.execute("SELECT version FROM story_state WHERE k = 0").fetchone()
            if (0 if now is None else int(now[0])) != version:
                raise StoryConflict(f"{self.location}: another `dedup stories` run updated this index's stories meanwhile; "
                                    "run again (what it tracked is kept, the rest is placed)")
            if state is not None:
                c.execute("INSERT INTO story_state VALUES (0, ?, ?) ON CONFLICT(k) DO UPDATE SET version = excluded.version, "
                          "state = excluded.state", (version + 1, state))
            c.executemany(
                "INSERT INTO story_articles VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET event = excluded.event, "
                "storyline = coalesce(excluded.storyline, story_articles.storyline)",
                [(r.id, r.event, r.storyline, None if r.time != r.time else r.time, r.source, r.label) for r in rows])
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")

    def lookup(self, ids: list[str]) -> dict[str, StoryRow]:
        if not ids or not self._exists():
            return {}
        out: dict[str, StoryRow] = {}
        for lo in range(0, len(ids), 500):
            part = ids[lo:lo + 500]
            q = f"SELECT id, event, storyline, time, source, label FROM story_articles WHERE id IN ({','.join('?' * len(part))})"
            for r in self.conn.execute(q, part):
                out[r[0]] = StoryRow(r[0], r[1], r[2], _nan(r[3]), r[4], r[5])
        return out

    def stats(self) -> dict:
        if not self._exists():
            return {"tracked_articles": 0, "events": 0, "state_bytes": 0, "version": 0}
        n, e = self.conn.execute("SELECT count(*), count(DISTINCT event) FROM story_articles").fetchone()
        v, size = self.conn.execute("SELECT version, length(state) FROM story_state WHERE k = 0").fetchone() or (0, 0)
        return {"tracked_articles": int(n), "events": int(e), "state_bytes": int(size or 0), "version": int(v)}

    def prune(self, before: float) -> int:
        if not self._exists():
            return 0
        self.conn.execute("BEGIN IMMEDIATE")
        n = self.conn.execute("DELETE FROM story_articles WHERE time < ?", (before,)).rowcount
        self.conn.execute("COMMIT")
        return int(n)

    def members(self, events: list[str], limit: int) -> dict[str, list[str]]:
        if not self._exists():
            return {}
        q = "SELECT id FROM story_articles WHERE event = ? ORDER BY time, id LIMIT ?"
        return {e: [r[0] for r in self.conn.execute(q, (e, limit))] for e in events}

    def recent(self, limit: int) -> list[dict]:
        if not self._exists():
            return []
        events: list[str] = []  # the events of the latest articles (through the time index, not a scan)
        for (e,) in self.conn.execute("SELECT event FROM story_articles ORDER BY time DESC LIMIT ?", (50 * limit,)):
            if e not in events:
                events.append(e)
                if len(events) == limit:
                    break
        return [d for d in map(self.event, events) if d is not None]

    def event(self, name: str) -> dict | None:
        if not self._exists():
            return None
        # the label of the first report, or of the earliest one left when the first was pruned
        q = ("SELECT count(*), min(time), max(time), coalesce((SELECT label FROM story_articles WHERE id = ?), "
             "(SELECT label FROM story_articles WHERE event = ? ORDER BY time, id LIMIT 1)) "
             "FROM story_articles WHERE event = ?")
        size, first, last, label = self.conn.execute(q, (name, name, name)).fetchone()
        if not size:
            return None
        # their own query: a source's name may hold a comma ("Reuters, London"), which group_concat would split
        sources = [s for (s,) in self.conn.execute("SELECT DISTINCT source FROM story_articles WHERE event = ?", (name,))]
        return {"event": name, "label": label or "", "size": int(size), "first": first, "last": last,
                "sources": sorted(s for s in sources if s)}
