"""The records of a run, kept aside as the feed streams by and read back by position.

A run keeps no article text, yet ``unique.jsonl`` copies the records of the
kept articles and ``report.html`` shows the texts of some: :class:`RecordSpool`
writes each record, one JSON line, into a temporary file while the feed is
read (a record read from a JSONL line is that line, unchanged; a Parquet
record is also located by file and row, so that the original rows can be
copied). The lines of a local, uncompressed JSONL file are not copied at
all: the spool notes where each lies in the file and reads it back from
there (a feed is not written to disk a second time; the file is checked to
be unchanged first). :class:`ReportSpool` also notes which fields of each record hold its
text, headline and date, and :func:`read_back` takes those fields of the
wanted positions out of the spool (or out of a list of records) in one pass.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from ..errors import InputError
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
        self._written = 0  # bytes written to the temporary file
        self._parquet_files: dict[Any, int] = {}  # Parquet inputs (paths, or remote objects), numbered as first seen
        self._file_no = array("q")  # per record: its Parquet file's number, -1 for other formats
        self._row_no = array("q")  # per record: its 0-based row in that file
        self._in = array("i")  # per record: -1 when its line is in the temporary file, else the input it is read back from
        self._starts = array("q")  # per record: the offset of its line in that file
        self._ends = array("q")  # per record: the offset just past its line in that file
        self._inputs: list[tuple[str, int, int]] = []  # inputs located, not copied: (path, size, mtime_ns) when first read
        self._input_of: dict[int, int] = {}  # the reader's number of an input → its place in _inputs
        self._fds: dict[int, int] = {}  # open descriptors: -1 the temporary file, else the input's number
        self._fds_lock = threading.Lock()  # the outputs may read records on two threads (unique.jsonl, report.html)

    def _note_line(self, where: int, start: int, end: int) -> None:
        self._in.append(where)
        self._starts.append(start)
        self._ends.append(end)

    def _write(self, line: bytes | memoryview) -> None:
        n = self._file.write(line)
        self._note_line(-1, self._written, self._written + n)
        self._written += n

    def tap(self, articles: Iterable[Article]) -> Iterator[Article]:
        """Pass ``articles`` through, writing down each one's record."""
        for a in articles:
            self._write(_line_bytes(a))
            if isinstance(a.record, ParquetRow):
                self._file_no.append(self._parquet_files.setdefault(a.record.file, len(self._parquet_files)))
                self._row_no.append(a.record.row)
            else:
                self._file_no.append(-1)
                self._row_no.append(-1)
            yield a

    def write_block(
        self, data: bytes, spans: np.ndarray, whole: bool, keys: Sequence[tuple[str, str | None, str | None]],
        at: tuple[int, str, int] | None = None,
    ) -> None:
        """Write down the records of a block of JSONL lines (:mod:`dedup.io.readers.blocks`): ``data[start:end]`` for each span.

        ``whole``: the block is exactly those lines, each ending in one
        ``"\\n"``. ``keys`` (the fields of each record) are noted by a
        :class:`ReportSpool`.

        ``at``: ``(input number, path, offset)``, where ``data`` starts in a
        local, uncompressed input file that the reader numbered (once per
        time it read the file). Its lines that end in one ``"\\n"`` are then
        located there rather than copied (the usual case: a whole block is
        not copied at all), and read back from the input when the outputs
        are written (:meth:`copy_lines` first checks that the file has not
        changed since). Without it every line is copied.
        """
        if at is not None:
            number, path, offset = at
            where = self._input_of.get(number)
            if where is None:
                info = os.stat(path)
                where = self._input_of[number] = len(self._inputs)
                self._inputs.append((path, info.st_size, info.st_mtime_ns))
        if whole and at is not None:
            self._in.extend([where] * len(spans))
            self._starts.extend((spans[:, 0] + offset).tolist())
            self._ends.extend((spans[:, 1] + offset).tolist())
        elif whole:
            self._file.write(data)
            self._in.extend([-1] * len(spans))
            self._starts.extend((spans[:, 0] + self._written).tolist())
            self._ends.extend((spans[:, 1] + self._written).tolist())
            self._written += len(data)
        else:
            view = memoryview(data)
            for start, stop in spans.tolist():
                line = view[start:stop]
                plain = line[-1:] == b"\n" and line[-2:-1] not in (b"\r", b"\n")
                if plain and at is not None:
                    self._note_line(where, offset + start, offset + stop)
                else:
                    self._write(line if plain else _line_end(bytes(line)))
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
        for data, starts, ends in self._reads(np.arange(len(self._ends))):
            for a, b in zip(starts.tolist(), ends.tolist()):
                yield bytes(data[a:b])

    def lines_of(self, rows: Sequence[int]) -> Iterator[tuple[int, bytes]]:
        """``(position, line)`` of the records at ``rows`` (ascending), each read on its own: a few records of many
        (the page's, of a million articles: ~10k records, 5.7 s when every line was read to find them).

        >>> spool = RecordSpool()
        >>> _ = list(spool.tap([Article(k, "x", record={"id": k}) for k in "abcd"]))
        >>> list(spool.lines_of([1, 3, 7]))  # a position past the records has none
        [(1, b'{"id":"b"}\\n'), (3, b'{"id":"d"}\\n')]
        >>> spool.close()
        """
        rows = np.asarray(rows, dtype=np.int64)
        rows = rows[(rows >= 0) & (rows < len(self._ends))]
        where = np.frombuffer(self._in, dtype=np.int32)[rows].tolist()
        starts = np.frombuffer(self._starts, dtype=np.int64)[rows].tolist()
        ends = np.frombuffer(self._ends, dtype=np.int64)[rows].tolist()
        for pos, w, a, b in zip(rows.tolist(), where, starts, ends):
            yield pos, _pread(self._fd(w), b - a, a)

    def copy_lines(self, keep: np.ndarray, out: IO[bytes]) -> None:
        """Write the lines of the records where ``keep`` (a bool per record) holds to ``out``, in order.

        The lines are read a stretch of :data:`_COPY_BYTES` at a time (whole
        records), and each run of them that lies end to end is written at
        once: a line at a time costs ~6 µs a record (a second a million), and
        a mapping of the whole file would count all of it (gigabytes) in the
        run's resident memory.

        >>> import io
        >>> spool = RecordSpool()
        >>> _ = list(spool.tap([Article(k, "x", record={"id": k}) for k in "abcd"]))
        >>> out = io.BytesIO(); spool.copy_lines(np.array([True, True, False, True]), out); out.getvalue()
        b'{"id":"a"}\\n{"id":"b"}\\n{"id":"d"}\\n'
        >>> spool.close()

        Raises:
            InputError: an input whose lines were located, not copied, has
                changed since it was read.
        """
        keep = np.asarray(keep, dtype=bool)
        if len(keep) != len(self._ends):
            raise ValueError(f"{len(self._ends)} records for the {len(keep)} articles of the run")
        if self._copy_in_kernel(np.flatnonzero(keep), out):
            return
        for data, starts, ends in self._reads(np.flatnonzero(keep)):
            joined = np.ones(len(starts), dtype=bool)  # a line that starts where the one before ends: written with it
            joined[0] = False
            np.equal(starts[1:], ends[:-1], out=joined[1:])
            first = np.flatnonzero(~joined)
            last = np.append(first[1:], len(starts)) - 1
            for a, b in zip(starts[first].tolist(), ends[last].tolist()):
                out.write(data[a:b])

    def _copy_in_kernel(self, rows: np.ndarray, out: IO[bytes]) -> bool:
        """:meth:`copy_lines` of ``rows`` file to file inside the kernel (``os.copy_file_range``); whether it could.

        Each run of lines that lie end to end in one file is one call, and
        no byte passes through this process: the 100k synthetic feed's kept
        records (200 MB in 23k runs) 0.45 -> 0.19 s. False, with nothing
        written, where that cannot be done: no such call here, ``out`` not
        a file, or a file system that refuses the first copy (the lines are
        then read and written as before).

        Raises:
            InputError: an input changed since it was read (as :meth:`_fd`).
            OSError: a copy failed after others were done.
        """
        copy = getattr(os, "copy_file_range", None)
        if copy is None or not len(rows):
            return False
        try:
            out.flush()
            dst = out.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
            return False
        where = np.frombuffer(self._in, dtype=np.int32)[rows]
        starts = np.frombuffer(self._starts, dtype=np.int64)[rows]
        ends = np.frombuffer(self._ends, dtype=np.int64)[rows]
        joined = np.zeros(len(rows), dtype=bool)  # a line in the same file as the one before, starting where it ends
        joined[1:] = (where[1:] == where[:-1]) & (starts[1:] == ends[:-1])
        first = np.flatnonzero(~joined)
        last = np.append(first[1:], len(rows)) - 1
        done = 0
        for w, a, b in zip(where[first].tolist(), starts[first].tolist(), ends[last].tolist()):
            src = self._fd(w)
            while a < b:
                try:
                    n = copy(src, dst, b - a, a)
                except OSError:
                    if done:
                        raise
                    return False  # refused before a byte was copied: read and written instead
                if n <= 0:
                    raise OSError(f"a file of records ended {b - a} bytes early")
                a += n
                done += n
        out.seek(0, os.SEEK_END)  # the file object's place, after what was copied through its descriptor
        return True

    def _reads(self, rows: np.ndarray) -> Iterator[tuple[memoryview, np.ndarray, np.ndarray]]:
        """The lines of records ``rows`` (in order), about :data:`_COPY_BYTES` at a time: ``(data, starts, ends)``,
        the lines being ``data[starts[k]:ends[k]]``."""
        if not len(rows):
            return
        where = np.frombuffer(self._in, dtype=np.int32)[rows]
        starts = np.frombuffer(self._starts, dtype=np.int64)[rows]
        ends = np.frombuffer(self._ends, dtype=np.int64)[rows]
        cuts = np.concatenate([[0], np.flatnonzero(where[1:] != where[:-1]) + 1, [len(rows)]])
        for lo, hi in zip(cuts[:-1].tolist(), cuts[1:].tolist()):  # a stretch of rows whose lines are in one file, in order
            fd = self._fd(int(where[lo]))
            k = lo
            while k < hi:
                base = int(starts[k])
                j = max(k + 1, lo + int(np.searchsorted(ends[lo:hi], base + _COPY_BYTES, side="right")))
                yield memoryview(_pread(fd, int(ends[j - 1]) - base, base)), starts[k:j] - base, ends[k:j] - base
                k = j

    def _fd(self, where: int) -> int:
        """An open descriptor of the temporary file (-1), or of input ``where``, checked to be as it was read."""
        with self._fds_lock:
            if where < 0:
                self._file.flush()  # lines may have been written since the last read
            fd = self._fds.get(where)
            if fd is not None:
                return fd
            if where < 0:
                fd = os.dup(self._file.fileno())
            else:
                path, size, mtime = self._inputs[where]
                try:
                    fd = os.open(path, os.O_RDONLY)
                except OSError as exc:
                    raise InputError(f"{path}: cannot be read again to copy its records ({exc.strerror}); "
                                     "leave the inputs in place until dedup has finished") from None
                info = os.fstat(fd)
                if (info.st_size, info.st_mtime_ns) != (size, mtime):
                    os.close(fd)
                    raise InputError(f"{path}: the file changed while dedup ran ({size} bytes when read, {info.st_size} now); "
                                     "its records cannot be copied to the outputs: run again on a file that stays as it is")
            self._fds[where] = fd
            return fd

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        self._file.close()


def _pread(fd: int, size: int, offset: int) -> bytes:
    """``size`` bytes of a file from ``offset`` (``os.pread`` may return fewer)."""
    data = os.pread(fd, size, offset)
    while len(data) < size:
        more = os.pread(fd, size - len(data), offset + len(data))
        if not more:
            raise OSError(f"a file of records ended {size - len(data)} bytes early")
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

    def write_block(
        self, data: bytes, spans: np.ndarray, whole: bool, keys: Sequence[tuple[str, str | None, str | None]],
        at: tuple[int, str, int] | None = None,
    ) -> None:
        """As :meth:`RecordSpool.write_block`, noting the keys of each record's fields."""
        super().write_block(data, spans, whole, keys, at)
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
    """Title, date (and, where ``wanted[pos]``, text) of each wanted position, from its record only.

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
    keys_of = records.keys if isinstance(records, ReportSpool) else None
    found: Iterable[tuple[int, Any]]
    if isinstance(records, RecordSpool):  # the wanted records only, each read where it lies
        found = records.lines_of(sorted(wanted))
    else:
        found = ((pos, rec) for pos, rec in zip(range(max(wanted) + 1), records) if pos in wanted)
    for pos, rec in found:
        need_text = wanted[pos]
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
