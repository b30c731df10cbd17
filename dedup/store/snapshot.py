"""One read of a SQLite history index as one snapshot: several statements that must agree, in a read transaction.

The index is written in write-ahead-logging mode while others read it
(``dedup serve``, ``dedup index stats``, a run of ``dedup stories``): writers
take the index's file lock, readers do not. Outside a transaction every
statement reads the newest commit, so a read made of several statements
could see a different commit at each: a merge of the key runs
(:mod:`.segments`) committing between the statement that lists the runs and
those that read their blocks left a lookup without blocks, and a prune
committing between the members of a group and their edges gave members
without edges. Inside ``BEGIN`` … ``COMMIT`` every statement reads the
commit the first one saw (SQLite's snapshot isolation in WAL mode), and a
writer commits meanwhile all the same.

A read transaction keeps the WAL from being checkpointed past its snapshot
(``PRAGMA wal_checkpoint(TRUNCATE)`` after a prune waits for it), so each is
held for one answer only: one lookup, one ``stats``, one group, one answer
of the service; never across a run.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = ["one_snapshot", "read_snapshot"]

T = TypeVar("T")


@contextmanager
def read_snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """The reads of the block on one snapshot of the database (a deferred transaction, ended when the block ends).

    Inside a transaction already (a writer's, or an outer snapshot) the block joins it: it reads what that one
    reads, and ends nothing. The connection must be in autocommit mode (``isolation_level=None``, as the index's).
    Writes to temporary tables (the asked keys) are allowed: they take no lock on the database.
    """
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        if conn.in_transaction:  # a failed statement may have ended it already
            conn.execute("COMMIT")  # nothing of the database was written: only the temporary tables


def one_snapshot(method: Callable[..., T]) -> Callable[..., T]:
    """A method of an object with a ``conn`` whose reads are made on one snapshot (:func:`read_snapshot`)."""

    @functools.wraps(method)
    def read(self: Any, *args: Any, **kwargs: Any) -> T:
        with read_snapshot(self.conn):
            return method(self, *args, **kwargs)

    return read
