"""Open a history index by its location: a SQLite file path or a ``redis://`` URL."""

from __future__ import annotations

import re

from ..config import DedupConfig
from .index import HistoryError, HistoryIndex, sketch_params

__all__ = ["open_index"]


def open_index(location: str, config: DedupConfig | None = None, create: bool = True, read_only: bool = False) -> HistoryIndex:
    """Open (or create) the index at ``location``: a SQLite file path or a ``redis://`` URL.

    With ``config``, the index's sketch parameters must equal the run's (a new
    index records them); without, it is opened as it is (stats, prune, export).
    ``read_only`` (stats, export): a SQLite index is opened for reading only,
    and can be read in a folder this user cannot write.

    Raises:
        HistoryError: the parameters differ from the stored ones, the file is
            not an index, or the server cannot be reached.
    """
    params = sketch_params(config) if config is not None else None
    if location.startswith(("redis://", "rediss://", "unix://")):
        from .index_redis import RedisIndex

        return RedisIndex(location, params, create=create and params is not None)
    if not location.strip():
        raise HistoryError("--index needs a location: a file path (a SQLite index, created when absent) or a redis:// URL")
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", location):  # http://, s3://…: not a file path either
        raise HistoryError(f"{location}: an index lives in a SQLite file (a path) or on a Redis server (redis://, "
                           f"rediss://, unix://), not at {location.split('://', 1)[0]}://")
    from .index_sqlite import SQLiteIndex

    return SQLiteIndex(location, params, create=create and params is not None and not read_only, read_only=read_only)
