"""Open a history index by its location: a SQLite file path or a ``redis://`` URL."""

from __future__ import annotations

from ..config import DedupConfig
from .index import HistoryIndex, sketch_params

__all__ = ["open_index"]


def open_index(location: str, config: DedupConfig | None = None, create: bool = True) -> HistoryIndex:
    """Open (or create) the index at ``location``: a SQLite file path or a ``redis://`` URL.

    With ``config``, the index's sketch parameters must equal the run's (a new
    index records them); without, it is opened as it is (stats, prune, export).

    Raises:
        HistoryError: the parameters differ from the stored ones, the file is
            not an index, or the server cannot be reached.
    """
    params = sketch_params(config) if config is not None else None
    if location.startswith(("redis://", "rediss://", "unix://")):
        from .index_redis import RedisIndex

        return RedisIndex(location, params, create=create and params is not None)
    from .index_sqlite import SQLiteIndex

    return SQLiteIndex(location, params, create=create and params is not None)
