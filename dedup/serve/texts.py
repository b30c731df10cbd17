"""The service's own store of the texts posted to it.

The history index keeps no text, by design (:mod:`dedup.store.index`). To
show two articles side by side, the service keeps the title and text of every
article it added to the index, beside the index and in the same kind of place:

* an index file ``LOCATION``: a SQLite file ``LOCATION.texts`` (table ``texts``);
* ``redis://…``: a hash ``P:texts`` under the index's prefix ``P``.

Texts are zlib-compressed JSON ``[title, text]``, keyed by article id. The
first text stored for an id stays (as the index keeps the first decision).
Articles added by ``dedup dedupe --index`` have no text here; articles
removed by ``dedup index prune`` keep theirs (they are no longer shown).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import zlib
from collections.abc import Sequence
from typing import Protocol

from ..store.index import HistoryError

__all__ = ["TextStore", "open_texts"]


def _pack(title: str, text: str) -> bytes:
    # level 1: half the time of the default level for ~15% more bytes; it runs for every article posted
    return zlib.compress(json.dumps([title, text], ensure_ascii=False).encode("utf-8"), 1)


def _unpack(blob: bytes) -> tuple[str, str]:
    title, text = json.loads(zlib.decompress(blob).decode("utf-8"))
    return title, text


class TextStore(Protocol):
    location: str

    def put(self, items: Sequence[tuple[str, str, str]]) -> None:
        """Store ``(id, title, text)`` triples; an id already stored keeps its text."""
        ...

    def get(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """id → ``(title, text)`` for the ids stored."""
        ...

    def close(self) -> None: ...


class SQLiteTexts:
    """Texts in a SQLite file beside the index file (one connection, used under a lock)."""

    def __init__(self, path: str) -> None:
        self.location = path
        try:
            self.conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("CREATE TABLE IF NOT EXISTS texts(id TEXT PRIMARY KEY, data BLOB NOT NULL)")
        except sqlite3.DatabaseError as exc:
            raise HistoryError(f"{path}: cannot open the service's text store as a SQLite database ({exc})") from None
        self._lock = threading.Lock()

    def put(self, items: Sequence[tuple[str, str, str]]) -> None:
        rows = [(i, _pack(title, text)) for i, title, text in items]
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.executemany("INSERT OR IGNORE INTO texts VALUES (?, ?)", rows)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def get(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {}
        with self._lock:
            for i in dict.fromkeys(ids):
                row = self.conn.execute("SELECT data FROM texts WHERE id = ?", (i,)).fetchone()
                if row is not None:
                    out[i] = _unpack(row[0])
        return out

    def close(self) -> None:
        self.conn.close()


class RedisTexts:
    """Texts in one hash under the index's prefix."""

    def __init__(self, location: str) -> None:
        import redis

        from ..store.index_redis import redis_address

        url, prefix, db = redis_address(location)  # the index's own reading of it: its database and prefix
        self.location = location
        self.key = f"{prefix}:texts"
        self.r = redis.Redis.from_url(url, socket_connect_timeout=5, **db)

    def put(self, items: Sequence[tuple[str, str, str]]) -> None:
        pipe = self.r.pipeline(transaction=True)
        for i, title, text in items:
            pipe.hsetnx(self.key, i, _pack(title, text))
        pipe.execute()

    def get(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        return {i: _unpack(v) for i, v in zip(ids, self.r.hmget(self.key, ids)) if v is not None}

    def close(self) -> None:
        self.r.close()


def open_texts(index_location: str) -> TextStore:
    """The text store that goes with the index at ``index_location`` (see the module)."""
    if index_location.startswith(("redis://", "rediss://", "unix://")):
        return RedisTexts(index_location)
    return SQLiteTexts(index_location + ".texts")
