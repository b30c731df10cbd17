"""Records that flow through the pipeline.

An :class:`Article` is what a reader yields; everything after the readers works
on integer positions into the list of articles, and only ``io/`` maps positions
back to ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

__all__ = ["Article", "ArticleTable", "BadRecord", "article_label", "id_text", "iso_time", "timestamp", "timestamps"]


@dataclass(frozen=True, slots=True)
class Article:
    """One input article.

    Attributes:
        id: external id (from the input, or the position as a string).
        text: body text as given (never modified).
        title: headline, or "".
        date: ISO-8601 date/time string as given, or None.
        source: outlet / feed name, or "".
        record: the original record (written back unchanged to ``unique.jsonl``).
        origin: "file:line" where the article was read, for messages.
        text_key: the record field that holds the text (for writing cleaned copies).
        raw: the input line the record was parsed from (JSONL), to write it back
            byte for byte: its bytes (a string when it was read from a text
            stream); None for other formats.
    """

    id: str
    text: str
    title: str = ""
    date: str | None = None
    source: str = ""
    record: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    origin: str = ""
    text_key: str = "text"
    raw: bytes | str | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BadRecord:
    """An input line skipped with ``--skip-bad``: where it was and why.

    ``position`` is how many articles were read before it, i.e. its place
    among the articles in input order (``None``: unknown, listed after
    them), so that the outputs can give it its line in input order.
    """

    path: str
    line: int
    reason: str
    position: int | None = None


def id_text(value: str | float) -> str:
    """The text of an id read from an input (a feed, a gold file, a file of pairs): a string as it is; a number that is
    a whole number as its digits, whatever its JSON spelling (``1``, ``1.0``, ``1e0`` are all ``"1"``); any other number
    as Python writes it.

    A feed that numbered its articles ``1.0`` matched no gold pair naming them ``1`` (the ids were ``"1.0"`` and
    ``"1"``), nor a CSV file's ``"1"``. Strings are never changed: ``"1.0"`` and ``"007"`` stay as written.

    >>> id_text(1), id_text(1.0), id_text(-3e2), id_text(2.5), id_text("1.0"), id_text("007"), id_text(float("nan"))
    ('1', '1', '-300', '2.5', '1.0', '007', 'nan')
    """
    if isinstance(value, float) and value.is_integer():  # not nan or ±inf (JSON's NaN, Infinity), which stay as written
        return str(int(value))
    return str(value)


def article_label(article: Article, limit: int = 120) -> str:
    """The headline, or the start of the text when there is none (at most ``limit`` characters), as it reads.

    Whitespace runs (tabs and line breaks scraped into headlines) read as one
    space, and HTML character references and mojibake as their characters
    (:func:`dedup.text.mojibake.readable`).

    >>> article_label(Article("a", "body", "Xi meets\\t\\t Lavrov\\n"))
    'Xi meets Lavrov'
    """
    from .text.mojibake import readable

    text = readable(article.title) or readable(article.text[: 8 * limit])
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_FIRST, _LAST = -62135596800.0, 253402300800.0  # 0001-01-01 and 10000-01-01 UTC: the years a date can have


def timestamp(value: str | None) -> float:
    """Seconds since the epoch of an ISO-8601 date (UTC when no zone is given); NaN when absent or unreadable.

    A date whose zone takes it out of the years 1-9999 in UTC is unreadable
    too: every output gives dates in UTC, and such a date crashed a run with
    a history index (which keeps them so).

    >>> timestamp("9999-12-31T23:59:59-12:00"), timestamp("0001-01-01T00:00:00+05:00"), timestamp("9999-12-31T23:59:59Z")
    (nan, nan, 253402300799.0)
    """
    if not value:
        return float("nan")
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return float("nan")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    try:
        t = dt.timestamp()
    except (OverflowError, ValueError):
        return float("nan")
    return t if _FIRST <= t < _LAST else float("nan")


def iso_time(t: float | None) -> str | None:
    """Epoch seconds as an ISO-8601 UTC time (None when absent or NaN): how outputs give a date, whatever the feed's form.

    >>> iso_time(timestamp("2015-07-21 12:00:00+03:00")), iso_time(float("nan")), iso_time(timestamp("0999-03-01"))
    ('2015-07-21T09:00:00Z', None, '0999-03-01T00:00:00Z')
    """
    import math
    import time

    if t is None or (isinstance(t, float) and math.isnan(t)):
        return None
    g = time.gmtime(float(t))  # the year padded to four digits: %Y is not, for years before 1000
    return f"{g.tm_year:04d}-{g.tm_mon:02d}-{g.tm_mday:02d}T{g.tm_hour:02d}:{g.tm_min:02d}:{g.tm_sec:02d}Z"


# A date, or a date and time to the second, with no zone and no space around: NumPy parses a block of these at once.
# Every field in its range: NumPy takes a year 0, which datetime refuses (an hour 24 or a second 60 it refuses too, as
# it refuses a day past its month's end: the block then goes value by value).
_PLAIN_DATE = re.compile(r"(?!0000)\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:[ T](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d)?")


def timestamps(values: Sequence[str | None]) -> np.ndarray:
    """:func:`timestamp` of each value, as float64: the plain dates of a feed parsed by NumPy in one call (~3x faster).

    >>> timestamps(["2015-07-21 02:51:32", None, "2015-07-21T02:51:32+03:00", "2015-02-30"]).tolist()
    [1437447092.0, nan, 1437436292.0, nan]
    """
    out = np.empty(len(values), dtype=np.float64)
    plain = [k for k, v in enumerate(values) if v and _PLAIN_DATE.fullmatch(v) is not None]
    if plain:
        try:
            out[plain] = np.array([values[k] for k in plain], dtype="datetime64[s]").astype(np.int64)
        except ValueError:  # a day its month does not have: each value on its own
            plain = []
    done = np.zeros(len(values), dtype=bool)
    done[plain] = True
    for k in np.flatnonzero(~done).tolist():
        out[k] = timestamp(values[k])
    return out


class ArticleTable:
    """What a run keeps of each article once its text has gone by, by position.

    The ids (for the outputs) and the facts the keeper policy and the
    explanations need: source, date, text length. About 150 bytes an
    article, so a feed of millions is described without its text.
    """

    def __init__(self) -> None:
        self.ids: list[str] = []
        self._source_code: dict[str, int] = {}
        self.source_names: list[str] = []
        self._sources: list[int] = []
        self._times: list[float] = []
        self._dated: list[bool] = []
        self._lengths: list[int] = []
        self._frozen: dict[str, np.ndarray] | None = None

    @classmethod
    def of(cls, articles: Iterable[Article]) -> "ArticleTable":
        table = cls()
        table.extend(articles)
        return table

    def extend(self, articles: Iterable[Article]) -> list[int]:
        """Add articles after those already described; returns their source codes."""
        assert self._frozen is None, "ArticleTable: extend after use"
        codes = []
        for a in articles:
            codes.append(self.add(a.id, a.source, a.date, len(a.text)))
        return codes

    def add(self, id: str, source: str, date: str | None, length: int) -> int:
        """Describe one more article (without its text); returns its source code."""
        assert self._frozen is None, "ArticleTable: extend after use"
        self.ids.append(id)
        code = self._code(source)
        self._sources.append(code)
        self._times.append(timestamp(date))
        self._dated.append(date is not None)
        self._lengths.append(length)
        return code

    def _code(self, source: str) -> int:
        code = self._source_code.get(source)
        if code is None:
            code = self._source_code[source] = len(self.source_names)
            self.source_names.append(source)
        return code

    def add_many(self, ids: Sequence[str], sources: Sequence[str], dates: Sequence[str | None], lengths: Iterable[int],
                 times: Iterable[float]) -> np.ndarray:
        """Describe several articles at once, each date with its :func:`timestamp` (worked out already); their source codes.

        >>> t = ArticleTable()
        >>> t.add_many(["a", "b"], ["s", "r"], ["2024-01-02", None], [5, 7], [1704153600.0, float("nan")]).tolist()
        [0, 1]
        >>> t.add("c", "r", None, 3), t.source_names, t.dated.tolist()
        (1, ['s', 'r'], [True, False, False])
        """
        assert self._frozen is None, "ArticleTable: extend after use"
        codes = [self._code(source) for source in sources]
        self.ids.extend(ids)
        self._sources.extend(codes)
        self._times.extend(times)
        self._dated.extend(d is not None for d in dates)
        self._lengths.extend(lengths)
        return np.array(codes, dtype=np.int32)

    @classmethod
    def concat(cls, first: "ArticleTable", second: "ArticleTable") -> "ArticleTable":
        """The articles of ``first`` then those of ``second`` (both are left as they are)."""
        table = cls()
        table.ids = first.ids + second.ids
        table.source_names = list(first.source_names)
        table._source_code = {s: i for i, s in enumerate(table.source_names)}
        recode = np.array([table._source_code.setdefault(s, len(table._source_code)) for s in second.source_names], dtype=np.int32)
        table.source_names = list(table._source_code)
        a, b = first._arrays(), second._arrays()
        table._frozen = {
            "source": np.concatenate([a["source"], recode[b["source"]] if len(recode) else b["source"]]),
            **{k: np.concatenate([a[k], b[k]]) for k in ("time", "dated", "length")},
        }
        return table

    def _arrays(self) -> dict[str, np.ndarray]:
        if self._frozen is None:
            self._frozen = {
                "source": np.array(self._sources, dtype=np.int32),
                "time": np.array(self._times, dtype=np.float64),
                "dated": np.array(self._dated, dtype=bool),
                "length": np.array(self._lengths, dtype=np.int64),
            }
            self._sources, self._times, self._dated, self._lengths = [], [], [], []
        return self._frozen

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def source_codes(self) -> np.ndarray:
        """``(n,)`` index into :attr:`source_names`."""
        return self._arrays()["source"]

    @property
    def times(self) -> np.ndarray:
        """``(n,)`` :func:`timestamp` of each date (NaN when absent or unreadable)."""
        return self._arrays()["time"]

    @property
    def dated(self) -> np.ndarray:
        """``(n,)`` whether the article came with a date at all."""
        return self._arrays()["dated"]

    def unreadable_dates(self, first: int = 5) -> tuple[int, list[str]]:
        """How many articles came with a date that could not be read (they count as undated), and the first ids.

        >>> t = ArticleTable()
        >>> _ = t.add_many(["a", "b", "c"], ["s"] * 3, ["2024-01-02", "yesterday", None], [1, 1, 1],
        ...                timestamps(["2024-01-02", "yesterday", None]))
        >>> t.unreadable_dates()
        (1, ['b'])
        """
        bad = np.flatnonzero(self.dated & np.isnan(self.times))
        return len(bad), [self.ids[k] for k in bad[:first].tolist()]

    @property
    def lengths(self) -> np.ndarray:
        """``(n,)`` characters of each text as given."""
        return self._arrays()["length"]
