"""Texts put aside by day while a feed streams by, to be read back one day at a time in time order.

The stories stage needs each article's text twice: once for the duplicate
groups, then a day at a time, in time order, for events. The feed streams
through :meth:`DaySpool.tee` into the first; the texts go to one file per UTC
calendar day (and one for the undated) in the run's temporary folder, so the
second pass reads exactly one day's file per step, whatever the input order.
What stays in memory is a short excerpt of each article for the outputs.
"""

from __future__ import annotations

import math
import os
import pickle
from collections.abc import Iterable, Iterator

from ..types import Article, timestamp

__all__ = ["DaySpool", "EXCERPT_CHARS"]

EXCERPT_CHARS = 300  # what the outputs show of an article's text (report excerpts, labels without a headline)
_FLUSH_RECORDS = 20_000  # texts held before they are appended to their day files
_DAY = 86_400.0


def day_key(date: str | None) -> int | None:
    """The UTC day number of a date (None: undated), as :func:`dedup.stories.events.day_blocks` counts days."""
    t = timestamp(date)
    return None if math.isnan(t) else int(math.floor(t / _DAY))


class DaySpool:
    """Per-day files of ``(position, title, text, source)`` under ``folder``, and each article's excerpt.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     spool = DaySpool(tmp)
    ...     arts = [Article("a", "t", "x y", "2015-07-21", "s"), Article("b", "", "z", None, "s"), Article("c", "", "w", "2015-07-21 10:00", "s")]
    ...     seen = [a.id for a in spool.tee(arts)]
    ...     spool.read([0, 2]), spool.read([1])[1]
    ((['t', ''], ['x y', 'w'], ['s', 's']), ['z'])
    """

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.excerpts: list[Article] = []
        self._buffer: dict[int | None, list[tuple[int, str, str, str]]] = {}
        self._held = 0
        self._day_of: list[int | None] = []

    def _path(self, day: int | None) -> str:
        return os.path.join(self.folder, "day-undated.pkl" if day is None else f"day-{day}.pkl")

    def tee(self, articles: Iterable[Article]) -> Iterator[Article]:
        """Yield the articles unchanged, putting each one's text aside by day."""
        for a in articles:
            pos = len(self.excerpts)
            day = day_key(a.date)
            self._day_of.append(day)
            self._buffer.setdefault(day, []).append((pos, a.title, a.text, a.source))
            self._held += 1
            self.excerpts.append(Article(id=a.id, text=a.text[:EXCERPT_CHARS], title=a.title, date=a.date, source=a.source))
            if self._held >= _FLUSH_RECORDS:
                self._flush()
            yield a
        self._flush()

    def _flush(self) -> None:
        for day, rows in self._buffer.items():
            with open(self._path(day), "ab") as f:
                pickle.dump(rows, f, protocol=pickle.HIGHEST_PROTOCOL)
        self._buffer.clear()
        self._held = 0

    def read(self, positions: list[int]) -> tuple[list[str], list[str], list[str]]:
        """``(texts, titles, sources)`` of ``positions``, which must all be of one day (or all undated)."""
        if not positions:
            return [], [], []
        self._flush()
        found: dict[int, tuple[str, str, str]] = {}
        with open(self._path(self._day_of[positions[0]]), "rb") as f:
            while True:
                try:
                    rows = pickle.load(f)
                except EOFError:
                    break
                for pos, title, text, source in rows:
                    found[pos] = (text, title, source)
        texts, titles, sources = zip(*(found[p] for p in positions))
        return list(texts), list(titles), list(sources)
