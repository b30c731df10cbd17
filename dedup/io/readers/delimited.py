"""Delimited inputs: CSV and TSV, a header row and then one record per row.

Rows are parsed by the standard :mod:`csv` module (so quoted fields may hold
delimiters, quotes and line breaks) and located at their first physical line.
A row with the wrong number of fields, or an undecodable or over-long line,
is a bad record; a repeated or unreadable header and broken quoting are
file-level errors. Broken quoting includes a quote that is never closed: the
``csv`` module would read the rest of the file as one field of one row
(silently losing every later record), so that is an error naming the line
where the quote opened, and so is a quoted row that runs on past the record
limit (it is not held whole).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Iterator

from ...errors import InputFormatError
from .records import _Bad, _Item, _Items, _Loc


class _RowTooLong(Exception):
    """Raised inside the feed: the row being read is longer than the record limit."""


def _csv_items(lines: Iterable[tuple[int, str | _Bad]], name: str, delimiter: str, limit: int | None = None) -> _Items:
    """Rows as dicts keyed by the header; each row is located at its first physical line.

    A row still open after ``limit`` characters (a quote left open, or a
    quoted field of that size) is a file-level error: it is not held whole.
    """
    _raise_csv_field_limit()
    kind = "TSV" if delimiter == "\t" else "CSV"
    undecodable: list[_Item] = []
    row_start: list[int | None] = [None]
    row_chars = [0]
    ended = [False]  # the feed ran out (a row completed then was left open at the end of the file)

    def feed() -> Iterator[str]:  # csv pulls one physical line at a time, so row_start is exact
        for lineno, text in lines:
            if isinstance(text, _Bad):
                undecodable.append((_Loc(name, lineno), text))
                continue
            if row_start[0] is None:
                row_start[0], row_chars[0] = lineno, 0
            row_chars[0] += len(text)
            # one line is held to the limit by the line reader; a row of several lines is held here
            # (characters <= bytes: over in characters is over in bytes)
            if limit is not None and row_chars[0] > limit and lineno != row_start[0]:
                raise _RowTooLong
            # Every line ends with a line break, so a complete row never needs the next line: a row
            # that is returned only once the lines have run out was left inside an open quote.
            yield text if text.endswith("\n") else text + "\n"
        ended[0] = True

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
        except _RowTooLong:
            raise InputFormatError(
                f"the row that starts here runs on for more than {limit} characters (--max-record-bytes) without "
                "ending: a quote that is never closed? Close it or double the quotes inside the field (\"\")",
                name, row_start[0],
            ) from None
        start = row_start[0] or 0
        if ended[0] and row:
            raise InputFormatError(
                "a quote opened in this row is never closed, so the rest of the file would be read as one field; "
                "close the quote, or double the quotes inside the field (\"\")",
                name, start,
            )
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


def _raise_csv_field_limit() -> None:
    """Articles are long: lift csv's 128 KiB field limit (process-wide, idempotent)."""
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:  # the limit is a C long: 32 bits on Windows
            limit //= 2
