"""The SQLite file of a history index: made whole under a temporary name, opened, and told from another database.

:func:`make_file` builds an index file where none is (it appears only with its
schema and settings committed); :func:`connect` opens one with the settings
every connection uses (write-ahead logging); :func:`dedup_or_blank` looks at a
database read-only before anything is written to it, so another application's
database is refused as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from .segments import SCHEMA as SEGMENT_SCHEMA
from .index import HistoryError
from .spill import alive

__all__ = ["connect", "connect_read_only", "dedup_or_blank", "init_schema", "make_file", "now", "remove_stale"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles(
    row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, date TEXT, time REAL, source TEXT NOT NULL,
    length INTEGER NOT NULL, status INTEGER NOT NULL, grp TEXT, keeper INTEGER NOT NULL,
    center INTEGER NOT NULL, rep INTEGER NOT NULL, relation INTEGER NOT NULL,
    jaccard REAL, containment REAL, cosine REAL, reason TEXT NOT NULL, added REAL NOT NULL, probability REAL);
CREATE INDEX IF NOT EXISTS articles_time ON articles(time);
CREATE INDEX IF NOT EXISTS articles_grp ON articles(grp);
CREATE TABLE IF NOT EXISTS sketches(
    row INTEGER PRIMARY KEY, digest INTEGER NOT NULL, size INTEGER NOT NULL, signature BLOB NOT NULL,
    shingles BLOB NOT NULL, tokens BLOB NOT NULL, counts BLOB NOT NULL, anchors BLOB NOT NULL, kgrams BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS sketches_digest ON sketches(digest);
CREATE TABLE IF NOT EXISTS edges(
    a INTEGER NOT NULL, b INTEGER NOT NULL, relation INTEGER NOT NULL,
    jaccard REAL, contain_ab REAL, contain_ba REAL, cosine REAL, probability REAL, PRIMARY KEY(a, b)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS edges_b ON edges(b);
"""

def connect(location: str) -> sqlite3.Connection:
    conn = sqlite3.connect(location, timeout=600, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA cache_size=-262144")  # 256 MiB of pages: a day touches leaves all over the band table
    return conn


def connect_read_only(location: str) -> sqlite3.Connection:
    """Open the index for reading only (``dedup index stats``, ``export``): nothing is written to it or beside it.

    A read of a WAL database makes its ``-shm`` file beside it: in a folder
    this user cannot write (an archive, a shared index of another account)
    that failed with "unable to open database file". There it is opened
    ``immutable``: read as it is, without the shared memory or locks. That is
    safe because a writer could not work in that folder either, unless it
    runs as another user who may write there: then a read racing its commit
    may see part of it (SQLite's documentation of ``immutable``).
    """
    from urllib.parse import quote

    path = os.path.abspath(location)
    uri = f"file:{quote(os.fsencode(path))}?mode=ro"
    if not os.access(os.path.dirname(path), os.W_OK) or (os.path.exists(path + "-wal") and not os.access(path + "-shm", os.W_OK)):
        uri += "&immutable=1"
    conn = sqlite3.connect(uri, uri=True, timeout=600, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA temp_store=MEMORY")  # lookups go through temporary tables: in memory, not beside the file
    return conn


def dedup_or_blank(location: str) -> bool:
    """Whether the database at ``location`` is a dedup index or holds no table at all, read without writing to it
    (opening it for the index switched another application's database to WAL, before the refusal).

    Raises:
        sqlite3.DatabaseError: the file is not a SQLite database.
    """
    from urllib.parse import quote

    path = os.path.abspath(location)
    made = [s for s in ("-wal", "-shm") if not os.path.exists(path + s)]  # what a read of a WAL database leaves
    conn = sqlite3.connect(f"file:{quote(os.fsencode(path))}?mode=ro", uri=True, timeout=600)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()
    ours = not tables or "meta" in tables
    if not ours:  # another application's WAL database: the read's -wal and -shm files removed, as they were not there
        for suffix in made:
            with contextlib.suppress(OSError):
                os.remove(path + suffix)
    return ours


def init_schema(conn: sqlite3.Connection, params: dict[str, Any]) -> None:
    for stmt in [*filter(str.strip, SCHEMA.split(";")), *SEGMENT_SCHEMA]:
        conn.execute(stmt)
    conn.execute("INSERT OR IGNORE INTO meta VALUES ('params', ?)", (json.dumps(params, sort_keys=True),))
    conn.execute("INSERT OR IGNORE INTO meta VALUES ('created', ?)", (now(),))


def make_file(path: Path, params: dict[str, Any]) -> None:
    """Build an empty index under a temporary name and link it into place.

    The index file exists only once its schema and parameters are committed, so a
    first run killed while creating it leaves nothing at ``path`` (the temporary
    ``.<name>.tmp-<pid>`` is removed by the next run). When two runs create the same
    index at once, the first link wins and the other opens that one.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        conn = connect(str(tmp))
        try:
            conn.execute("BEGIN IMMEDIATE")
            init_schema(conn, params)
            conn.execute("COMMIT")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()  # the last connection closing folds the WAL into the file and removes it
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    except sqlite3.DatabaseError as exc:
        raise HistoryError(f"{path}: cannot create the index ({exc})") from None
    except OSError as exc:
        raise HistoryError(f"{path}: cannot create the index ({exc.strerror or exc})") from None
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            leftover.unlink(missing_ok=True)
    remove_stale(path)


def remove_stale(path: Path) -> None:
    """Remove temporary index files of runs that were killed while creating this index."""
    for tmp in path.parent.glob(f".{path.name}.tmp-*"):
        pid = tmp.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
            tmp.unlink(missing_ok=True)


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
