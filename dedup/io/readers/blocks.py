"""Local JSONL files read as blocks of whole lines, each block parsed where it is sent.

The line reader (:mod:`.lines`, :mod:`.jsonl`, :mod:`.records`) decodes,
parses and checks every line in the process that reads the file. For a feed
of local JSONL files that process only needs to cut the bytes into blocks of
whole lines (:meth:`JsonlBlocks.blocks`): a worker decodes, parses and checks
a block's lines with the same code (:func:`parse_block`) and sends back its
articles' fields without their texts (:class:`Parsed`), and the reading
process admits them in input order (:meth:`JsonlBlocks.admit`): positional
ids, repeated ids and bad records in their places, the records spooled. The
articles, the bad records and every message are those of the line reader.

Each file's first block is read in the reading process itself (its fields
are detected from its first object, and an error there is raised in its
place); a line longer than ``ReadConfig.max_record_bytes`` is skipped there
unread, as the line reader does.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import numpy as np

from ...config import ReadConfig
from ...errors import InputError, InputFormatError, InputNotFoundError
from ...types import Article, BadRecord, timestamps
from ..paths import is_url
from .compression import file_compression, open_compressed
from .formats import _guess_format
from .jsonl import _jsonl_items
from .lines import _raw_lines, _skip_rest, _too_long
from .records import FIELD_ALIASES, POSITION, _SURROGATE_ESCAPE_BYTES, _Collector, _Fields, _Line, _Loc, _SourceState, _optional_str, own_key
from .streams import _read_guard

__all__ = ["Block", "JsonlBlocks", "Parsed", "parse_block", "record_keys", "spool_keys"]

_ID_ALIASES = frozenset(FIELD_ALIASES["id"])


@dataclass(frozen=True)
class Block:
    """Whole lines of one file from line ``first`` (what a worker parses), or the parent's own articles.

    ``articles`` holds what the reading process read itself (a file's first
    lines); ``data`` the bytes a worker parses with ``fields``.
    """

    name: str
    first: int = 1
    data: bytes = b""
    fields: _Fields | None = None
    articles: tuple[Article, ...] = ()
    too_long: int = 0  # a line of this many bytes, over the limit: skipped unread
    at: tuple[int, int] | None = None  # (the file's number among the inputs read, the offset of ``data`` in it): a local, uncompressed file
    size: int = 0  # the length of ``data``, also when it was left out to be read where the block is parsed (:meth:`located`)

    def located(self) -> "Block":
        """This block without its bytes, which :func:`parse_block` then reads from the file itself (the block's
        ``at``): a worker on this machine reads them from the page cache instead of receiving them through a pipe.
        A block read from a compressed file, or read here, is itself."""
        if self.at is None or not self.data:
            return self
        return replace(self, data=b"")

    def bytes(self) -> bytes:
        """The block's lines: its data, or read from the file at ``at``.

        Raises:
            InputError: the file no longer holds them (it was cut short or removed while dedup ran).
        """
        if self.data or not self.size or self.at is None:
            return self.data
        try:
            with open(self.name, "rb") as f:
                f.seek(self.at[1])
                data = f.read(self.size)
        except OSError as err:
            raise InputError(f"{self.name}: cannot be read again ({err.strerror}); leave the inputs in place until "
                             "dedup has finished") from None
        if len(data) != self.size:
            raise InputError(f"{self.name}: the file changed while dedup ran (it ends before byte {self.at[1] + self.size}); "
                             "run again on a file that stays as it is")
        return data


@dataclass(frozen=True)
class Parsed:
    """The articles of a block without their texts, and its bad records, in line order."""

    lines: list[int]  # each article's line
    ids: list[str]  # records.POSITION: the file has no ids
    sources: list[str]
    dates: list[str | None]
    times: np.ndarray  # (m,) each date as :func:`~dedup.types.timestamp` reads it (worked out where the block is parsed)
    lengths: np.ndarray  # (m,) characters of each text
    empty: np.ndarray  # (m,) whether the text is blank
    keys: list[tuple[str, str | None, str | None]]  # the keys of text, headline and date in each record
    spans: np.ndarray  # (m, 2) each record's line in the block's bytes
    bad: list[tuple[int, int, str]]  # (articles before it, line, why)
    n_items: int  # records and bad lines (blank lines aside)
    whole: bool  # every line of the block is an article's, ending in one "\n": the block is spooled as it is


def spool_keys(a: Article) -> tuple[str, str | None, str | None]:
    """The keys of an article's text, headline and date in its record (None: absent)."""
    return record_keys(a.record, a.text_key, a.title, a.date)


def record_keys(record: Any, text_key: str, title: str, date: str | None) -> tuple[str, str | None, str | None]:
    """The keys of a record's text, and of the headline and date read from it (None: absent).

    The reader hands over the record's own string objects: identity finds the key.
    """
    title_key = next((k for k, v in record.items() if v is title), None) if title else None
    date_key = next((k for k, v in record.items() if v is date), None) if date else None
    return text_key, title_key, date_key


def _key_of(record: dict[str, Any], value: str | None, key: str | None) -> str | None:
    """:func:`record_keys`' key of a value read from ``record[key]`` (None: none), without looking through the record.

    The record's first key whose value is the object ``value``: ``key``
    itself when it holds it and ``value`` is longer than one character (a
    string parsed from JSON is then an object of its own, so no key before
    holds the same; shorter ones may be interpreter-wide singletons), else
    as :func:`record_keys` finds it.
    """
    if not value:
        return None
    if len(value) > 1 and key is not None and record.get(key) is value:
        return key
    return next((k for k, v in record.items() if v is value), None)


class _Gather(_Collector):
    """A collector that notes each rejected record with the count of articles before it, for the reading process."""

    def __init__(self, config: ReadConfig) -> None:
        super().__init__(config, keep_raw=True)
        self.rejected: list[tuple[int, int, str]] = []

    def reject(self, loc: _Loc, reason: str) -> None:
        self.rejected.append((self.count, loc.line, reason))


def parse_block(block: Block, config: ReadConfig) -> tuple[Parsed, list[str]]:
    """A block's articles (texts apart) and bad records, and the texts, as the line reader finds them."""
    if block.articles:
        arts = block.articles
        return Parsed(
            lines=[0] * len(arts), ids=[a.id for a in arts], sources=[a.source for a in arts],
            dates=[a.date for a in arts], times=_times([a.date for a in arts]), lengths=np.array([len(a.text) for a in arts], dtype=np.int64),
            empty=np.array([not a.text.strip() for a in arts], dtype=bool), keys=[spool_keys(a) for a in arts],
            spans=np.zeros((0, 2), np.int64), bad=[], n_items=len(arts), whole=False,
        ), [a.text for a in arts]
    data = block.bytes()
    plain = _plain_block(data, block, config)
    if plain is not None:
        return plain
    gather = _Gather(config)
    if block.too_long:
        gather.reject(_Loc(block.name, block.first), _too_long(block.too_long, config.max_record_bytes or 0).reason)
    stream = io.BytesIO(data)
    items = _jsonl_items(_raw_lines(stream, block.name, config.max_record_bytes, block.first), block.name)
    lines: list[int] = []
    texts: list[str] = []
    arts: list[Article] = []
    spans: list[tuple[int, int]] = []
    n_items = 0
    for loc, value in items:
        n_items += 1
        end = stream.tell()  # the item was made of the line just read
        found = gather.record_of(loc, value)
        if found is None:
            continue
        record, raw, fallback_id, escapes = found
        assert block.fields is not None  # a block goes to a worker once the file's fields are known
        article = gather.parsed(loc, record, block.fields, raw, fallback_id, escapes)
        if article is None:
            continue
        gather.count += 1
        arts.append(article)
        lines.append(loc.line)
        texts.append(article.text)
        spans.append((end - len(value.raw), end) if isinstance(value, _Line) else (end, end))
    whole = (len(arts) == data.count(b"\n") and not gather.rejected and data.endswith(b"\n")
             and data.find(b"\r\n") < 0 and not (block.first == 1 and data.startswith(b"\xef\xbb\xbf")))
    parsed = Parsed(
        lines=lines, ids=[a.id for a in arts], sources=[a.source for a in arts], dates=[a.date for a in arts],
        times=_times([a.date for a in arts]), lengths=np.array([len(t) for t in texts], dtype=np.int64), empty=np.array([not t.strip() for t in texts], dtype=bool),
        keys=[spool_keys(a) for a in arts], spans=np.array(spans, dtype=np.int64).reshape(-1, 2),
        bad=gather.rejected, n_items=n_items + bool(block.too_long), whole=whole,
    )
    return parsed, texts


def _plain_block(data: bytes, block: Block, config: ReadConfig) -> tuple[Parsed, list[str]] | None:
    """:func:`parse_block` of the usual block, line after line without the line reader's machinery; None for any other.

    The usual block: UTF-8, every line one JSON object within the size limit
    that holds a string text (and, when the file has ids, a string id), no
    blank line, no carriage return, no ``\\u`` escape of a surrogate, a
    line end after the last line. Such a block has no bad record, and each
    record is read as :meth:`~.records._Collector.parsed` reads it (the same
    fields, by the same helpers); a block with anything else (about one in
    a thousand lines of a real feed) is left to the line reader, which
    finds and words what is wrong. A third less time a block (the 100k
    synthetic feed: 2.7 -> 1.7 s), tested equal to the general path on
    every feed of the block tests.
    """
    fields = block.fields
    if (fields is None or block.too_long or not data.endswith(b"\n") or b"\r" in data
            or _SURROGATE_ESCAPE_BYTES.search(data) is not None):
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10) + 1
    starts = np.concatenate(([0], ends[:-1]))
    limit = config.max_record_bytes
    if limit is not None and len(ends) and int((ends - starts).max()) - 1 > limit:
        return None
    rows = text.split("\n")
    rows.pop()  # after the last line end
    text_key, id_key, title_key, date_key, source_key = fields.text, fields.id, fields.title, fields.date, fields.source
    ids: list[str] = []
    texts: list[str] = []
    sources: list[str] = []
    dates: list[str | None] = []
    keys: list[tuple[str, str | None, str | None]] = []
    loads = json.loads
    for row in rows:
        try:
            record = loads(row)
        except (ValueError, RecursionError):
            return None
        if type(record) is not dict:
            return None
        body = record.get(text_key)
        if type(body) is not str:
            return None
        if id_key is not None:
            art_id = record.get(id_key)
            if type(art_id) is not str or not art_id:
                return None
        elif any(str(k).casefold() in _ID_ALIASES and record[k] not in (None, "") for k in record):
            return None  # an id where the file's first record had none: the line reader rejects it
        else:
            art_id = POSITION
        if None in (title_key, date_key, source_key) and any(
                own_key(record, n) is not None for n, k in (("title", title_key), ("date", date_key), ("source", source_key))
                if k is None):
            return None  # a field the file's first record lacked: the line reader reads this record's own
        title = _optional_str(record.get(title_key)) if title_key is not None else ""
        date = record.get(date_key) if date_key is not None else None
        date = None if date is None or date == "" else _optional_str(date)
        ids.append(art_id)
        texts.append(body)
        sources.append(_optional_str(record.get(source_key)) if source_key is not None else "")
        dates.append(date)
        keys.append((text_key, _key_of(record, title, title_key), _key_of(record, date, date_key)))
    if not rows or any(not row or row.isspace() for row in rows):
        return None
    parsed = Parsed(
        lines=list(range(block.first, block.first + len(rows))), ids=ids, sources=sources, dates=dates, times=_times(dates),
        lengths=np.array([len(t) for t in texts], dtype=np.int64), empty=np.array([not t.strip() for t in texts], dtype=bool),
        keys=keys, spans=np.stack([starts, ends], axis=1).astype(np.int64), bad=[], n_items=len(rows),
        whole=not (block.first == 1 and data.startswith(b"\xef\xbb\xbf")),
    )
    return parsed, texts


def _times(dates: list[str | None]) -> np.ndarray:
    return timestamps(dates)


class JsonlBlocks:
    """The articles of local JSONL files, cut into blocks of whole lines for workers to parse.

    :meth:`blocks` gives the blocks in order (to be parsed by
    :func:`parse_block` anywhere), :meth:`admit` takes each parsed block
    back in the same order. :attr:`bad` holds the records skipped with
    ``skip_bad``, as :class:`~dedup.io.readers.ArticleStream` would.
    """

    def __init__(self, paths: Sequence[str | Path], config: ReadConfig = ReadConfig(), spool: Any = None) -> None:
        for arg in paths:  # fail before reading anything
            if not Path(arg).exists():
                raise InputNotFoundError(f"{arg}: no such file or directory; check the path")
        self.paths = [str(p) for p in paths]
        self.config = config
        self.spool = spool
        self._collector = _Collector(config, keep_raw=spool is not None)
        self._sources: dict[str, _SourceState] = {}

    @staticmethod
    def usable(paths: Sequence[str | Path], config: ReadConfig) -> bool:
        """Whether every input is a local JSONL file (compressed or not), which blocks can be cut from."""
        if not paths or config.format not in ("auto", "jsonl"):
            return False
        for arg in paths:
            if not isinstance(arg, (str, Path)) or str(arg) == "-" or is_url(str(arg)) or not Path(arg).is_file():
                return False
            try:
                fmt = _guess_format(Path(arg), str(arg)) if config.format == "auto" else "jsonl"
            except InputFormatError:
                return False
            if fmt != "jsonl":
                return False
        return True

    def plain_bytes(self) -> int | None:
        """The input's size in bytes when no file of it is compressed (its text takes about as many); else None."""
        if any(file_compression(Path(p)) is not None for p in self.paths):
            return None
        return sum(Path(p).stat().st_size for p in self.paths)

    @property
    def bad(self) -> list[BadRecord]:
        """Records skipped so far (``skip_bad``)."""
        return self._collector.bad

    @property
    def count(self) -> int:
        """Articles admitted so far."""
        return self._collector.count

    def blocks(self, lines_per_block: int, max_bytes: int = 64 << 20) -> Iterator[Block]:
        """Every file's blocks in order, each of about ``lines_per_block`` lines; a file's end is a block of no lines.

        A block is read ``max_bytes`` at most, then completed to its last line's end.
        """
        for number, name in enumerate(self.paths):
            path = Path(name)
            compression = file_compression(path)
            try:
                stream = open_compressed(path, compression)
            except OSError as err:
                raise InputNotFoundError(f"{name}: cannot be read ({err.strerror}); check the path and its permissions") from None
            with stream:
                yield from _read_guard(self._file_blocks(name, stream, lines_per_block, max_bytes,
                                                         number if compression is None else None), name)
            yield Block(name, first=-1)  # the file ends here (a marker: admitting it closes the source)

    def _file_blocks(
        self, name: str, stream: IO[bytes], lines_per_block: int, max_bytes: int, number: int | None = None
    ) -> Iterator[Block]:
        """The blocks of one file; with ``number`` (a plain file's number among the inputs), each located in it."""
        source = self._collector.open_source(name)
        self._sources[name] = source
        limit = self.config.max_record_bytes
        # the first lines are read here, until the file's fields are known (from its first object)
        first: list[Article] = []
        line = 1
        for lineno, text, raw in _raw_lines(stream, name, limit):  # a UTF-16 or UTF-32 file is refused at its first line
            line = lineno + 1
            first.extend(self._collector.read_items(source, _jsonl_items([(lineno, text, raw)], name)))
            if source.fields is not None:
                break
        if first:
            yield Block(name, articles=tuple(first))
        if source.fields is None:  # the file ended before an object
            return
        low = min(1 << 16, max_bytes)
        size = min(max_bytes, max(low, 4096 * lines_per_block))  # bytes a block, until the lines read tell
        read_bytes = read_lines = 0
        while True:
            offset = stream.tell() if number is not None else -1
            data = stream.read(size)
            if not data:
                break
            cut = data.rfind(b"\n") + 1
            too_long = 0
            if cut < len(data):  # the last line goes on past the block: read the rest of it, up to the limit
                tail = len(data) - cut
                room = -1 if limit is None else max(0, limit + 1 - tail)
                rest = stream.readline(room) if room else b""
                if limit is not None and tail + len(rest) > limit and not rest.endswith(b"\n"):
                    too_long = tail + len(rest) + _skip_rest(stream)[0]  # skipped unread, as the line reader does
                    data = data[:cut]
                elif rest:
                    data += rest  # one copy of the block (not a slice, then the slice and the line's end joined)
            if data:
                # the line ends counted by NumPy (bytes.count goes a byte at a time: 0.23 s of a 100k feed's 350 MB)
                n_lines = int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == 10)) + (not data.endswith(b"\n"))
                yield Block(name, first=line, data=data, fields=source.fields,
                            at=(number, offset) if number is not None else None, size=len(data))
                line += n_lines
                read_bytes, read_lines = read_bytes + len(data), read_lines + n_lines
                size = max(low, min(max_bytes, read_bytes * lines_per_block // read_lines))
            if too_long:
                yield Block(name, first=line, too_long=too_long)
                line += 1

    def admit(self, block: Block, parsed: Parsed) -> np.ndarray:
        """Take a parsed block back, in order: the rows of ``parsed`` that join the feed (a repeated id does not).

        Bad records are noted (or raised, without ``skip_bad``) in their
        places, and the records of the rows that join are spooled.
        """
        col = self._collector
        source = self._sources[block.name]
        if block.first == -1:  # the file's end
            col.close_source(source)
            if block.name == self.paths[-1] and not col.count:
                raise InputFormatError(
                    f"no articles: every record was bad ({len(col.bad)} skipped); "
                    "fix the input (see the bad records) or check --text-field"
                )
            return np.zeros(0, dtype=np.int64)
        if block.articles:  # read and admitted here, spooled here
            if self.spool is not None:
                for _ in self.spool.tap(block.articles):
                    pass
            return np.arange(len(block.articles), dtype=np.int64)
        source.n_items += parsed.n_items
        if not parsed.bad and col.admit_ids(block.name, parsed.lines, parsed.ids):  # the usual block: all at once
            rows = np.arange(len(parsed.ids), dtype=np.int64)
            if self.spool is not None:
                self.spool.write_block(block.data, parsed.spans, parsed.whole, parsed.keys,
                                       None if block.at is None else (block.at[0], block.name, block.at[1]))
            return rows
        keep: list[int] = []
        bad = iter(parsed.bad)
        nxt = next(bad, None)
        for k, (line, art_id) in enumerate(zip(parsed.lines, parsed.ids)):
            while nxt is not None and nxt[0] <= k:
                col.reject(_Loc(block.name, nxt[1]), nxt[2])
                nxt = next(bad, None)
            admitted = col.admit_id(_Loc(block.name, line), art_id)
            if admitted is not None:
                col.count += 1
                keep.append(k)
                parsed.ids[k] = admitted
        while nxt is not None:
            col.reject(_Loc(block.name, nxt[1]), nxt[2])
            nxt = next(bad, None)
        rows = np.array(keep, dtype=np.int64)
        if self.spool is not None:
            self.spool.write_block(block.data, parsed.spans[rows], parsed.whole and len(rows) == len(parsed.ids),
                                   [parsed.keys[k] for k in keep], None if block.at is None else (block.at[0], block.name, block.at[1]))
        return rows
