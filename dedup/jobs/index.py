"""The jobs of ``dedup index``: look after a history index (stats, prune, export), and open one for a run."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..config import DedupConfig
from ..errors import ConfigError
from ..io.console import say
from ..types import iso_time

if TYPE_CHECKING:
    from ..store.index import HistoryIndex

__all__ = ["NEEDS_IDS", "export_index", "history", "index_stats", "prune_index"]

# why a run with a history index refuses articles without an id of their own (their positions repeat every feed)
NEEDS_IDS = ("a history index knows articles by their ids, and positions (the ids of a feed without them) repeat from "
             "feed to feed: the next feed's articles would be taken for those already stored")


@contextmanager
def history(location: str | None, config: DedupConfig | None = None, create: bool = True,
            read_only: bool = False) -> Iterator[HistoryIndex | None]:
    """The history index at ``location`` for the block, closed however the block ends (``None`` without a location).

    With ``config`` the index must hold the run's sketch parameters (a new one
    records them); without, it is opened as it is and never created.

    Raises:
        HistoryError: the parameters differ, the file is not an index, or the
            server cannot be reached.
    """
    if location is None:
        yield None
        return
    from ..store.history import open_index

    index = open_index(location, config, create=create, read_only=read_only)
    try:
        yield index
    except BaseException as exc:  # closed however the block ends (an interruption too)
        with suppress(Exception):  # a server gone away fails its close too: the first failure is the one to tell
            index.close()
        problem = store_failure(exc, location)
        if problem is None:
            raise
        for note in getattr(exc, "__notes__", ()):  # e.g. that the index may hold part of the feed
            problem.add_note(note)
        raise problem from None
    index.close()


def store_failure(exc: BaseException, location: str) -> Exception | None:
    """The one-line error for a failure of the index's own storage (SQLite, Redis) during a run; None for others.

    A read-only index file and a Redis server stopped mid-run were tracebacks.

    >>> import sqlite3
    >>> print(store_failure(sqlite3.OperationalError("attempt to write a readonly database"), "h.db"))
    h.db: the index cannot be written (attempt to write a readonly database); check the permissions of the file and its folder
    >>> store_failure(ValueError("x"), "h.db") is None
    True
    >>> from redis.exceptions import ReadOnlyError
    >>> print(store_failure(ReadOnlyError("You can't write against a read only replica."), "redis://r:6379/0"))
    redis://r:6379/0: the index cannot be written: the Redis server is a read-only replica (You can't write against a read only replica.); point the index at the primary
    """
    import sqlite3

    from ..store.index import HistoryError

    if isinstance(exc, HistoryError) or not isinstance(exc, Exception):
        return None
    if isinstance(exc, sqlite3.Error):
        if "readonly" in str(exc) or "read-only" in str(exc):
            return HistoryError(f"{location}: the index cannot be written ({exc}); check the permissions of the file and its folder")
        return HistoryError(f"{location}: the index failed ({type(exc).__name__}: {exc})")
    if type(exc).__module__.split(".")[0] == "redis":
        if type(exc).__name__ == "ReadOnlyError":  # nothing was written: "a rerun completes the feed" misled
            return HistoryError(f"{location}: the index cannot be written: the Redis server is a read-only replica "
                                f"({exc}); point the index at the primary")
        return HistoryError(f"{location}: the Redis server failed during the run ({type(exc).__name__}: {exc}); "
                            "the index holds what was committed before; a rerun completes the feed")
    return None


def index_stats(location: str) -> dict[str, Any]:
    """What the index holds: articles, oldest and newest date, size, the fixed parameters."""
    with history(location, create=False, read_only=True) as index:
        return index.stats()


def prune_index(location: str, before: str | datetime, echo: Callable[[str], None] = say) -> int:
    """Remove every article dated before ``before`` (undated articles stay); returns how many went.

    ``before`` is a datetime or an ISO-8601 date (UTC when it has no zone).
    ``echo`` gets the one-line result, and a line while the run waits for
    another writer of the index.

    Raises:
        ConfigError: ``before`` is not an ISO-8601 date.
    """
    if isinstance(before, str):
        try:
            before = datetime.fromisoformat(before.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"--before {before!r}: not an ISO-8601 date (e.g. 2026-01-31)") from None
    if before.tzinfo is None:
        before = before.replace(tzinfo=timezone.utc)
    from ..serve.texts import drop_texts

    with history(location, create=False) as index:
        with index.writer(echo), index.tracker(echo):  # a stories run saving meanwhile would write pruned rows back
            removed = index.prune(before.timestamp())
            # the service's texts of the removed articles go too (retention; and an id posted again gets its own text)
            texts = 0
            if removed:
                try:
                    texts = drop_texts(location, lambda ids: list(index.known_ids(ids)))
                except Exception as exc:  # the prune is committed: the texts are the service's convenience (its pages)
                    echo(f"dedup: warning: the texts the service kept of the removed articles could not be removed ({exc}); "
                         "they are no longer shown, and an id posted again replaces its text")
        left = index.article_count()  # not stats(): on Redis that decodes every stored article
    echo(f"{removed} article{'' if removed == 1 else 's'} dated before {iso_time(before.timestamp())} removed"  # the outputs' form of a date
         f"{f' (and the texts the service kept of {texts})' if texts else ''}; {left} left in {location}")
    return removed


def export_index(location: str, out: str | None = None) -> None:
    """Write every stored decision as a JSON line, in the order the articles were read, to ``out`` (default, or
    ``-``: stdout); the same compact lines either way."""
    from ..errors import OutputError
    from ..io.writers import json_line, write_failure, write_jsonl

    if out is not None and out != "-":
        _not_the_index(location, out)
        if os.path.isdir(out):
            raise OutputError(f"{out}: is a folder; -o names the file to write the JSON lines to")
    with history(location, create=False, read_only=True) as index:
        if out is None or out == "-":
            _to_stdout(json_line(row) for row in index.export())
        else:
            try:
                write_jsonl(out, index.export())
            except OSError as exc:
                raise OutputError(f"{out}: cannot write the export ({write_failure(exc)})") from None


def _not_the_index(location: str, out: str) -> None:
    """Refuse an export onto the index itself or one of its files (``LOCATION.texts``, ``-wal``…): it replaced the
    database with its own JSON lines, exit 0."""
    from ..errors import ConfigError
    from ..io.paths import is_url

    if is_url(location) or "://" in location:
        return
    index, target = os.path.realpath(location), os.path.realpath(out)
    same = os.path.exists(out) and os.path.exists(location) and os.path.samefile(location, out)
    own = ("", "-wal", "-shm", "-journal", ".lock", ".stories.lock", ".texts", ".texts-wal", ".texts-shm", ".texts-journal")
    if same or any(target == index + suffix for suffix in own):
        raise ConfigError(f"-o {out} is the index {location} or one of its files: the export would replace it; "
                          "write it to another file")


def _to_stdout(lines: Iterator[str]) -> None:
    """Write ``lines`` to standard output as UTF-8 whatever the locale says (an Arabic id never fails to print); a
    reader that stops early (``| head``) ends it quietly.

    Raises:
        OutputError: standard output cannot be written (a full disk, a closed descriptor).
    """
    from ..errors import OutputError

    stream = getattr(sys.stdout, "buffer", None)  # a text stream in tests
    try:
        for line in lines:
            if stream is not None:
                stream.write(line.encode("utf-8"))
            else:
                sys.stdout.write(line)
        sys.stdout.flush()
    except BrokenPipeError:
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes at exit
    except OSError as exc:
        raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") from None
