"""The jobs of ``dedup index``: look after a history index (stats, prune, export), and open one for a run."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..config import DedupConfig
from ..errors import ConfigError
from ..io.console import say

if TYPE_CHECKING:
    from ..store.index import HistoryIndex

__all__ = ["export_index", "history", "index_stats", "prune_index"]


@contextmanager
def history(location: str | None, config: DedupConfig | None = None, create: bool = True) -> Iterator[HistoryIndex | None]:
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

    index = open_index(location, config, create=create)
    try:
        yield index
    finally:
        index.close()


def index_stats(location: str) -> dict[str, Any]:
    """What the index holds: articles, oldest and newest date, size, the fixed parameters."""
    with history(location, create=False) as index:
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
    with history(location, create=False) as index:
        with index.writer(echo):
            removed = index.prune(before.timestamp())
        left = index.stats()["articles"]
    echo(f"{removed} articles dated before {before.isoformat()} removed; {left} left in {location}")
    return removed


def export_index(location: str, out: str | None = None) -> None:
    """Write every stored decision as a JSON line, in the order the articles were read, to ``out`` (default: stdout)."""
    from ..io.writers import write_jsonl

    with history(location, create=False) as index:
        if out is None:
            for row in index.export():
                say(json.dumps(row, ensure_ascii=False), err=False)
        else:
            write_jsonl(out, index.export())
