"""Delimited inputs: CSV and TSV, a header row and then one record per row.

Rows are parsed by the standard :mod:`csv` module (so quoted fields may hold
delimiters, quotes and line breaks) and located at their first physical line.
A row with the wrong number of fields, or an undecodable or over-long line,
is a bad record; a repeated or unreadable header and broken quoting are
file-level errors. Broken quoting includes a quote that is never closed: the
``csv`` module would read the rest of the file as one field of one row
(silently losing every later record), so that is an error naming the line
where the quote opened. A row longer than the record limit (a quoted field
of many lines) is a bad record, read past without being held whole.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ...errors import InputFormatError
from .lines import _too_long
from .records import _Bad, _Item, _Items, _Loc


@dataclass
class _Skip:
    """A row too long, being read past (not held) until its quotes close."""

    start: int  # its first line
    size: int  # bytes so far
    quotes: int  # double quotes so far: odd while the row goes on
    held: bool  # the csv module holds its start (its first lines were given to it)


def _csv_items(lines: Iterable[tuple[int, str | _Bad]], name: str, delimiter: str, limit: int | None = None) -> _Items:
    """Rows as dicts keyed by the header; each row is located at its first physical line.

    A row of more than ``limit`` bytes is a bad record ("record too long"),
    as a line that long is in any input: it is read past without being held
    whole, its double quotes counted to find the line where it ends (a
    quoted field ends where an even number of quotes has been read). A
    quote that is never closed is a file-level error.
    """
    _raise_csv_field_limit()
    kind = "TSV" if delimiter == "\t" else "CSV"
    undecodable: list[_Item] = []
    row_start: list[int | None] = [None]
    ended = [False]  # the feed ran out (a row completed then was left open at the end of the file)
    dropped: list[_Bad | None] = [None]  # the row the csv module returns next is the head of a row too long: this instead

    def feed() -> Iterator[str]:  # csv pulls one physical line at a time, so row_start is exact
        first, size, quotes = "", -1, 0  # the open row's first line; its bytes (-1: not counted while it is one line)
        skip: _Skip | None = None

        def past(skip: _Skip) -> Iterator[str]:
            """The row read past has ended: the head the csv module holds is closed (and dropped), else it is said."""
            too_long = _too_long(skip.size, limit or 0)
            if skip.held:
                dropped[0] = too_long
                yield '"\n'  # ends the quoted field and the row the csv module holds
            else:
                undecodable.append((_Loc(name, skip.start), too_long))

        for lineno, text in lines:
            bad = text if isinstance(text, _Bad) else None
            if skip is not None:
                skip.size += 1 + (bad.size if bad is not None else _utf8_size(text))
                skip.quotes += bad.quotes if bad is not None else text.count('"')
                if skip.quotes % 2 == 0:
                    yield from past(skip)
                    skip = None
                continue
            if bad is not None:
                if not bad.size:  # undecodable: a bad record of its own line
                    undecodable.append((_Loc(name, lineno), bad))
                    continue
                held = row_start[0] is not None  # a line too long inside a quoted row: the row is too long
                skip = _Skip(row_start[0] if held else lineno, bad.size + (max(size, _utf8_size(first)) if held else 0),  # type: ignore[arg-type]
                             bad.quotes + (quotes if held else 0), held)
                if skip.quotes % 2 == 0:
                    yield from past(skip)
                    skip = None
                continue
            if row_start[0] is None:
                row_start[0], first, size, quotes = lineno, text, -1, text.count('"')
            else:  # a row of several lines (a quoted field holds line breaks): held here up to the limit
                size = (_utf8_size(first) if size < 0 else size) + _utf8_size(text)
                quotes += text.count('"')
                if limit is not None and size > limit:
                    skip = _Skip(row_start[0], size, quotes, True)
                    if skip.quotes % 2 == 0:
                        yield from past(skip)
                        skip = None
                    continue
            # Every line ends with a line break, so a complete row never needs the next line: a row
            # that is returned only once the lines have run out was left inside an open quote.
            yield text if text.endswith("\n") else text + "\n"
        ended[0] = True
        if skip is not None:
            raise InputFormatError("a quote opened in this row is never closed, so the rest of the file would be read as "
                                   "one field; close the quote, or double the quotes inside the field (\"\")", name, skip.start)

    reader = csv.reader(feed(), delimiter=delimiter)
    header: list[str] | None = None
    while True:
        row_start[0] = None
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            raise InputFormatError(f"malformed {kind} ({err}); check the quoting", name, row_start[0]) from None
        start = row_start[0] or 0
        if ended[0] and row:
            raise InputFormatError(
                "a quote opened in this row is never closed, so the rest of the file would be read as one field; "
                "close the quote, or double the quotes inside the field (\"\")",
                name, start,
            )
        if dropped[0] is not None:
            too_long, dropped[0] = dropped[0], None
            if header is None:
                raise InputFormatError(f"the header row cannot be read: {too_long.reason}", name, start)
            yield from undecodable
            undecodable.clear()
            yield _Loc(name, start), too_long
            continue
        if header is None and undecodable:
            loc, bad = undecodable[0]
            raise loc.error(f"the header row cannot be read: {bad.reason}")
        yield from undecodable
        undecodable.clear()
        if not row:  # a blank line
            continue
        if header is None:
            header = row
            twice = sorted({c for c in row if row.count(c) > 1})
            if twice:
                raise InputFormatError(
                    f"the header names {', '.join(map(repr, twice))} more than once; rename the columns", name, start
                )
            continue
        loc = _Loc(name, start)
        if len(row) != len(header):
            sep = "tab" if delimiter == "\t" else repr(delimiter)
            yield (
                loc,
                _Bad(
                    f"the row has {len(row)} fields but the header has {len(header)}; "
                    f"quote fields that contain a {sep}, a quote or a line break"
                ),
            )
        else:
            yield loc, dict(zip(header, row, strict=True))
    yield from undecodable


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _raise_csv_field_limit() -> None:
    """Articles are long: lift csv's 128 KiB field limit (process-wide, idempotent)."""
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:  # the limit is a C long: 32 bits on Windows
            limit //= 2
