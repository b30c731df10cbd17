"""The records of a run, kept aside as the feed streams by and read back by position.

A run keeps no article text, yet ``unique.jsonl`` copies the records of the
kept articles and ``report.html`` shows the texts of some: :class:`RecordSpool`
writes each record, one JSON line, into a temporary file while the feed is
read (a record read from a JSONL line is that line, unchanged; a Parquet
record is also located by file and row, so that the original rows can be
copied). :class:`ReportSpool` also notes which fields of each record hold its
text, headline and date, and :func:`read_back` takes those fields of the
wanted positions out of the spool (or out of a list of records) in one pass.
"""

from __future__ import annotations

import json
import os
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from ..types import Article
from .readers.blocks import spool_keys
from .readers.parquet import ParquetRow
from .readers.records import FIELD_ALIASES
from .writers import json_line

__all__ = ["RecordSpool", "ReportSpool", "Shown", "read_back"]

_COPY_BYTES = 16 << 20  # bytes of the spool read at once when its kept records are copied out


class RecordSpool:
    """The input records, one JSON line each (UTF-8 bytes), kept in a temporary file while a feed streams by.

    A record read from a JSONL line is kept as that line, unchanged; others
    (CSV rows, JSON arrays, text files) are written as compact JSON.

    >>> spool = RecordSpool()
    >>> [a.id for a in spool.tap([Article("a", "x", record={"id": "a"})])]
    ['a']
    >>> list(spool.lines())
    [b'{"id":"a"}\\n']
    >>> next(spool.lines()), list(spool.lines())  # a reader that stops early leaves the spool readable
    (b'{"id":"a"}\\n', [b'{"id":"a"}\\n'])
    >>> spool.close()
    """

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile("w+b", prefix="dedup-records-")
        self._parquet_files: dict[Any, int] = {}  # Parquet inputs (paths, or remote objects), numbered as first seen
        self._file_no = array("q")  # per record: its Parquet file's number, -1 for other formats
        self._row_no = array("q")  # per record: its 0-based row in that file
        self._ends = array("q")  # per record: the offset just past its line in the file

    def tap(self, articles: Iterable[Article]) -> Iterator[Article]:
        """Pass ``articles`` through, writing down each one's record."""
        for a in articles:
            line = _line_bytes(a)
            self._file.write(line)
            self._ends.append((self._ends[-1] if self._ends else 0) + len(line))
            if isinstance(a.record, ParquetRow):
                self._file_no.append(self._parquet_files.setdefault(a.record.file, len(self._parquet_files)))
                self._row_no.append(a.record.row)
            else:
                self._file_no.append(-1)
                self._row_no.append(-1)
            yield a

    def write_block(self, data: bytes, spans: np.ndarray, whole: bool, keys: Sequence[tuple[str, str | None, str | None]]) -> None:
        """Write down the records of a block of JSONL lines (:mod:`dedup.io.readers.blocks`): ``data[start:end]`` for each span.

        ``whole``: the block is exactly those lines, each ending in one
        ``"\\n"``, so it is written in one piece. ``keys`` (the fields of
        each record) are noted by a :class:`ReportSpool`.
        """
        end = self._ends[-1] if self._ends else 0
        if whole:
            self._file.write(data)
            self._ends.extend((end + np.cumsum(spans[:, 1] - spans[:, 0])).tolist())
        else:
            view = memoryview(data)
            for start, stop in spans.tolist():
                line = view[start:stop]
                end += self._file.write(line if line[-1:] == b"\n" and line[-2:-1] not in (b"\r", b"\n") else _line_end(bytes(line)))
                self._ends.append(end)
        self._file_no.extend([-1] * len(spans))
        self._row_no.extend([-1] * len(spans))

    def parquet_rows(self) -> tuple[list[Any], np.ndarray, np.ndarray] | None:
        """``(files, file_no, row_no)`` locating every record's Parquet row, or None unless all came from Parquet."""
        file_no = np.array(self._file_no, dtype=np.int64)
        if not len(file_no) or (file_no < 0).any():
            return None
        return list(self._parquet_files), file_no, np.array(self._row_no, dtype=np.int64)

    def lines(self) -> Iterator[bytes]:
        """The records written, in order, as JSON lines (bytes: copied out without decoding)."""
        self._file.flush()
        self._file.seek(0)
        for line in self._file:  # not ``yield from``: closing this generator early would close the file too
            yield line

    def copy_lines(self, keep: np.ndarray, out: IO[bytes]) -> None:
        """Write the lines of the records where ``keep`` (a bool per record) holds to ``out``, in order.

        The spool is read a stretch of :data:`_COPY_BYTES` at a time (whole
        records), and each run of consecutive kept records in it is written at
        once: a line at a time costs ~6 µs a record (a second a million), and
        a mapping of the whole file would count all of it (gigabytes) in the
        run's resident memory.

        >>> import io
        >>> spool = RecordSpool()
        >>> _ = list(spool.tap([Article(k, "x", record={"id": k}) for k in "abcd"]))
        >>> out = io.BytesIO(); spool.copy_lines(np.array([True, True, False, True]), out); out.getvalue()
        b'{"id":"a"}\\n{"id":"b"}\\n{"id":"d"}\\n'
        >>> spool.close()
        """
        keep = np.asarray(keep, dtype=bool)
        if len(keep) != len(self._ends):
            raise ValueError(f"{len(self._ends)} records for the {len(keep)} articles of the run")
        if not keep.any():
            return
        self._file.flush()
        fd = self._file.fileno()
        ends = np.frombuffer(self._ends, dtype=np.int64)
        starts = np.concatenate([[0], ends[:-1]])
        edge = np.diff(np.concatenate([[False], keep, [False]]).astype(np.int8))  # +1 where a run starts, -1 past its end
        run_start, run_end = starts[np.flatnonzero(edge == 1)], ends[np.flatnonzero(edge == -1) - 1]
        lo = 0
        while lo < len(run_start):  # the runs whose bytes fit in one read (at least one run)
            base = int(run_start[lo])
            hi = max(lo + 1, int(np.searchsorted(run_end, base + _COPY_BYTES, side="right")))
            data = memoryview(_pread(fd, int(run_end[hi - 1]) - base, base))
            for a, b in zip((run_start[lo:hi] - base).tolist(), (run_end[lo:hi] - base).tolist()):
                out.write(data[a:b])
            lo = hi

    def close(self) -> None:
        self._file.close()


def _pread(fd: int, size: int, offset: int) -> bytes:
    """``size`` bytes of a file from ``offset`` (``os.pread`` may return fewer)."""
    data = os.pread(fd, size, offset)
    while len(data) < size:
        more = os.pread(fd, size - len(data), offset + len(data))
        if not more:
            raise OSError(f"the record spool ended {size - len(data)} bytes early")
        data += more
    return data


def _line_bytes(a: Article) -> bytes:
    """The spooled line of an article: its raw line with one ``\\n`` at the end, or its record as compact JSON.

    >>> _line_bytes(Article("a", "x", raw=b'{"id":"a"}\\r\\n')), _line_bytes(Article("a", "x", raw='{"id":"a"}'))
    (b'{"id":"a"}\\n', b'{"id":"a"}\\n')
    """
    raw = a.raw
    if raw is None:
        return json_line(a.record).encode("utf-8")
    if isinstance(raw, str):  # read from a text stream
        return (raw.rstrip("\r\n") + "\n").encode("utf-8")
    if raw[-1:] == b"\n" and raw[-2:-1] not in (b"\r", b"\n"):  # the usual line: written as read, not copied
        return raw
    return _line_end(raw)


def _line_end(raw: bytes) -> bytes:
    """A raw line with its line end made one ``\\n``."""
    return raw.rstrip(b"\r\n") + b"\n"


class ReportSpool(RecordSpool):
    """A :class:`RecordSpool` that also notes which fields of each record hold its text, headline and date.

    A record's fields are found by the reader (per file, or named with
    ``--text-field`` and the like); noting their keys while the feed streams
    by (4 bytes an article) lets :func:`read_back` take exactly
    the reader's text out of a spooled record. Without it the keys are
    guessed (:data:`~dedup.io.readers.FIELD_ALIASES`, and the text's length).

    >>> spool = ReportSpool()
    >>> [a.id for a in spool.tap([Article("a", "x y", title="T", record={"id": "a", "body": "x y", "hed": "T"}, text_key="body")])]
    ['a']
    >>> spool.keys(0)
    ('body', 'hed', None)
    >>> spool.close()
    """

    def __init__(self) -> None:
        super().__init__()
        self._key_sets: dict[tuple[str, str | None, str | None], int] = {}
        self._key_list: list[tuple[str, str | None, str | None]] = []
        self._codes = array("I")

    def tap(self, articles: Iterable[Article]) -> Iterator[Article]:
        """Pass ``articles`` through, writing down each one's record and the keys of its fields."""
        return super().tap(self._note(articles))

    def write_block(self, data: bytes, spans: np.ndarray, whole: bool, keys: Sequence[tuple[str, str | None, str | None]]) -> None:
        """As :meth:`RecordSpool.write_block`, noting the keys of each record's fields."""
        super().write_block(data, spans, whole, keys)
        for k in keys:
            self._code(k)

    def _note(self, articles: Iterable[Article]) -> Iterator[Article]:
        for a in articles:
            self._code(spool_keys(a))
            yield a

    def _code(self, keys: tuple[str, str | None, str | None]) -> None:
        code = self._key_sets.get(keys)
        if code is None:
            code = self._key_sets[keys] = len(self._key_list)
            self._key_list.append(keys)
        self._codes.append(code)

    def keys(self, pos: int) -> tuple[str, str | None, str | None]:
        """The keys of the text, headline and date (None: absent) in the record at position ``pos``."""
        return self._key_list[self._codes[pos]]


@dataclass(frozen=True)
class Shown:
    """What a page shows of one article of the feed, read back from its record."""

    title: str
    date: str
    text: str | None  # its first ``text_chars`` characters, when asked for
    length: int


def _guess_keys(record: Mapping[str, Any], length: int) -> tuple[str | None, str | None, str | None]:
    """The keys of a record's text (an alias, else any string of the text's length), headline and date."""
    fold = {str(k).casefold(): k for k in reversed(list(record))}  # the first key of each folded name wins

    def alias(name: str) -> str | None:
        return next((fold[a] for a in FIELD_ALIASES[name] if a in fold and isinstance(record[fold[a]], str)), None)

    text = next((fold[a] for a in FIELD_ALIASES["text"] if a in fold and isinstance(record[fold[a]], str)
                 and len(record[fold[a]]) == length), None)
    if text is None:
        text = next((k for k, v in record.items() if isinstance(v, str) and len(v) == length), None)
    return text, alias("title"), alias("date")


def read_back(
    records: RecordSpool | Sequence[Any], wanted: Mapping[int, bool], lengths: np.ndarray, text_chars: int,
) -> dict[int, Shown]:
    """One pass over the records: title, date (and, where ``wanted[pos]``, text) of each wanted position.

    Args:
        records: a spool (a :class:`ReportSpool` knows the keys of each
            record's fields; else they are guessed), or every record in
            input order (dicts or JSON lines).
        wanted: position → whether its text is wanted (else title and date only).
        lengths: the text length of every article (``ArticleTable.lengths``).
        text_chars: the characters of a text kept (its start).

    Returns:
        Position → what was read; a record that is not a JSON object is left out.

    >>> read_back([{"id": "a", "text": "xyz", "title": "T"}, "{}"], {0: True}, np.array([3, 0]), 2)
    {0: Shown(title='T', date='', text='xy', length=3)}
    """
    out: dict[int, Shown] = {}
    if not wanted:
        return out
    last = max(wanted)
    keys_of = records.keys if isinstance(records, ReportSpool) else None
    lines = records.lines() if isinstance(records, RecordSpool) else iter(records)
    for pos, rec in enumerate(lines):
        if pos > last:
            break
        need_text = wanted.get(pos)
        if need_text is None:
            continue
        try:
            record = rec if isinstance(rec, dict) else json.loads(rec)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        text_key, title_key, date_key = keys_of(pos) if keys_of is not None else _guess_keys(record, int(lengths[pos]))

        def field(key: str | None) -> str:
            value = record.get(key) if key is not None else None
            return "" if value is None else value if isinstance(value, str) else str(value)

        text = record.get(text_key) if text_key is not None else None
        out[pos] = Shown(
            title=field(title_key)[:1000],
            date=field(date_key)[:100],
            text=text[:text_chars] if need_text and isinstance(text, str) else None,
            length=int(lengths[pos]),
        )
    return out
