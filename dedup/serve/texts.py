"""The service's own store of the texts posted to it.

The history index keeps no text, by design (:mod:`dedup.store.index`). To
show two articles side by side, the service keeps the title and text of every
article it added to the index, beside the index and in the same kind of place:

* an index file ``LOCATION``: a SQLite file ``LOCATION.texts`` (table ``texts``);
* ``redis://…``: a hash ``P:texts`` under the index's prefix ``P``.

Texts are zlib-compressed JSON ``[title, text]``, keyed by article id. The
service stores the text of each article it adds to the index; an id already
in the index is not added again, so its text stays the first one. Articles
added by ``dedup dedupe --index`` have no text here. ``dedup index prune``
removes the texts of the articles it removes (:func:`drop_texts`), and an id
posted again after its article was pruned gets its new text.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import zlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from ..errors import redact
from ..store.index import HistoryError

__all__ = ["TextStore", "drop_texts", "open_texts"]

_BATCH = 10_000  # ids asked of the index at a time when pruning


def _pack(title: str, text: str) -> bytes:
    # level 1: half the time of the default level for ~15% more bytes; it runs for every article posted
    return zlib.compress(json.dumps([title, text], ensure_ascii=False).encode("utf-8"), 1)


def _unpack(blob: bytes) -> tuple[str, str]:
    title, text = json.loads(zlib.decompress(blob).decode("utf-8"))
    return title, text


def _first_of_each(items: Sequence[tuple[str, str, str]]) -> dict[str, tuple[str, str]]:
    """id → ``(title, text)`` of its first triple (a batch may repeat an id: the index keeps the first)."""
    first: dict[str, tuple[str, str]] = {}
    for i, title, text in items:
        first.setdefault(i, (title, text))
    return first


class TextStore(Protocol):
    location: str

    def put(self, items: Sequence[tuple[str, str, str]]) -> None:
        """Store ``(id, title, text)`` triples of articles just added to the index (a text left by a pruned
        article of the same id is replaced)."""
        ...

    def ids(self) -> Iterator[str]:
        """Every id with a text stored."""
        ...

    def drop(self, ids: Sequence[str]) -> None:
        """Remove the texts of ``ids``."""
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
        rows = [(i, _pack(title, text)) for i, (title, text) in _first_of_each(items).items()]
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.executemany("INSERT OR REPLACE INTO texts VALUES (?, ?)", rows)
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

    def ids(self) -> Iterator[str]:
        with self._lock:
            stored = [i for (i,) in self.conn.execute("SELECT id FROM texts")]
        yield from stored

    def drop(self, ids: Sequence[str]) -> None:
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.executemany("DELETE FROM texts WHERE id = ?", ((i,) for i in ids))
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


class RedisTexts:
    """Texts in one hash under the index's prefix."""

    def __init__(self, location: str) -> None:
        import redis

        from ..store.redis_address import redis_address

        url, prefix, db = redis_address(location)  # the index's own reading of it: its database and prefix
        self.location = redact(location)  # logged when storing fails: never the password
        self.key = f"{prefix}:texts"
        self.r = redis.Redis.from_url(url, socket_connect_timeout=5, **db)

    def put(self, items: Sequence[tuple[str, str, str]]) -> None:
        pipe = self.r.pipeline(transaction=True)
        for i, (title, text) in _first_of_each(items).items():
            pipe.hset(self.key, i, _pack(title, text))
        pipe.execute()

    def get(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        return {i: _unpack(v) for i, v in zip(ids, self.r.hmget(self.key, ids)) if v is not None}

    def ids(self) -> Iterator[str]:
        for key in self.r.hkeys(self.key):  # the keys only (HSCAN would bring every text along)
            yield key.decode("utf-8") if isinstance(key, bytes) else key

    def drop(self, ids: Sequence[str]) -> None:
        if ids:
            self.r.hdel(self.key, *ids)

    def close(self) -> None:
        self.r.close()


def open_texts(index_location: str) -> TextStore:
    """The text store that goes with the index at ``index_location`` (see the module)."""
    if index_location.startswith(("redis://", "rediss://", "unix://")):
        return RedisTexts(index_location)
    return SQLiteTexts(index_location + ".texts")


def drop_texts(index_location: str, in_index: Callable[[list[str]], Sequence[str]]) -> int:
    """Remove the stored texts of the articles no longer in the index (after a prune); how many went.

    ``in_index(ids)`` names those of ``ids`` the index still holds. Nothing is
    created where the service never stored a text.
    """
    if not index_location.startswith(("redis://", "rediss://", "unix://")) and not os.path.exists(index_location + ".texts"):
        return 0
    store = open_texts(index_location)
    try:
        gone: list[str] = []
        batch: list[str] = []
        for i in store.ids():
            batch.append(i)
            if len(batch) == _BATCH:
                kept = set(in_index(batch))
                gone += [k for k in batch if k not in kept]
                batch = []
        if batch:
            kept = set(in_index(batch))
            gone += [k for k in batch if k not in kept]
        for lo in range(0, len(gone), _BATCH):
            store.drop(gone[lo : lo + _BATCH])
        return len(gone)
    finally:
        store.close()
