"""A Redis index's location read: the server's URL, the key prefix and the database (``redis://h:6379/2?prefix=feeds``)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from .index import HistoryError

__all__ = ["redis_address"]


def redis_address(location: str) -> tuple[str, str, dict[str, int]]:
    """``(url for redis-py, key prefix, {"db": N} or {})`` of an index location; every store of one index uses this.

    The query holds dedup's options, not redis-py's: ``?prefix=NAME`` (default
    ``dedup``) and, for a ``unix://`` socket, ``?db=N``.

    >>> redis_address("redis://h:6379/2?prefix=feeds"), redis_address("unix:///run/r.sock?db=3")
    (('redis://h:6379/2', 'feeds', {}), ('unix:///run/r.sock', 'dedup', {'db': 3}))

    Raises:
        HistoryError: a path that is not one database number (``/abc`` was db
            0, ``/1/2`` db 12), an empty prefix, an unknown option (``?prefx=``
            wrote under the default prefix).
    """
    try:
        parts = urlsplit(location)
        parts.port  # noqa: B018 - read for its check: a port out of range or not a number raises here
    except ValueError as exc:
        raise HistoryError(f"{location}: not a Redis URL dedup can use ({exc}); the form is redis://host:port/N") from None
    query = parse_qs(parts.query, keep_blank_values=True)
    prefix = query.pop("prefix", ["dedup"])[0]
    if not prefix:
        raise HistoryError(f"{location}: ?prefix= needs a name (without it the prefix is 'dedup')")
    db = query.pop("db", [None])[0] if parts.scheme == "unix" else None
    if db is not None and not db.isdigit():
        raise HistoryError(f"{location}: ?db= takes a database number, got {db!r}")
    if query:
        raise HistoryError(f"{location}: unknown option {sorted(query)[0]!r} in the URL; the options are ?prefix=NAME "
                           "(and ?db=N for a unix:// socket)")
    if parts.scheme in ("redis", "rediss") and not re.fullmatch(r"/?|/\d+", parts.path):
        raise HistoryError(f"{location}: the path of a Redis URL is a database number (redis://host:port/N), got {parts.path!r}")
    # the query is dedup's; urlunsplit would turn unix:///path into unix:/path
    return location.split("?", 1)[0], prefix, ({"db": int(db)} if db is not None else {})
