"""Every input format in, a list of :class:`~dedup.types.Article` out.

Formats, chosen by ``ReadConfig.format`` or, with ``"auto"``, by the path:

============================  ============================================
path                          read as
============================  ============================================
``*.jsonl``, ``*.ndjson``     one JSON object per line (streamed)
``*.json``                    a JSON array of objects, or an object that
                              holds one such array
``*.csv``, ``*.tsv``          header row, then one record per row
``*.txt`` or a directory      one article per ``.txt`` file (sorted by
                              name): id = file stem, title = the first
                              headline-like line (:func:`text_headline`),
                              text = the whole file
``*.zip``                     its ``.json``/``.jsonl`` members, sorted
``-``                         JSONL on standard input
============================  ============================================

A ``.gz`` suffix on a JSONL, JSON, CSV or TSV file is decompressed on the
fly. Bytes are decoded strictly as UTF-8 (a leading BOM is dropped).

Fields are found in the first record of each file, case-insensitively, among
the names in :data:`FIELD_ALIASES` unless ``ReadConfig`` names them. Each
article's ``origin`` is ``"file:line"`` (``"file:#k"`` for the k-th record
of a JSON document, ``"archive.zip:member:line"`` inside a zip).

Two kinds of problems:

* **record-level** (malformed line, a line that is not an object, bytes that
  are not UTF-8, a text that is not a string, a CSV row with the wrong number
  of fields, a repeated id): raise :class:`~dedup.errors.InputFormatError`,
  or with ``ReadConfig.skip_bad`` become :class:`~dedup.types.BadRecord`
  entries while reading continues.
* **file-level** (missing path, empty file, no text field, a JSON document
  that does not parse, a broken gzip or zip): always raise.
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
import os
import sys
import zipfile
import zlib
from collections import Counter
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

from ..config import ReadConfig
from ..errors import DedupError, InputFormatError, InputNotFoundError
from ..text.normalize import normalize
from ..types import Article, BadRecord

__all__ = ["FIELD_ALIASES", "ArticleStream", "read_articles"]

logger = logging.getLogger(__name__)

#: Field names tried, in order and case-insensitively, for each article field.
FIELD_ALIASES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "id": ("id", "url"),
        "text": ("text", "content", "maintext", "body"),
        "title": ("title", "headline"),
        "date": ("date", "published", "date_publish", "date_extracted"),
        "source": ("source", "source_domain"),
    }
)

_SUFFIX_FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "txt",
    ".zip": "zip",
}
_ZIP_MEMBER_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
_STDIN = "<stdin>"
_JSON_TYPES = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class _Loc:
    """Where a record was read: ``path`` and a 1-based line, or record number for JSON documents."""

    path: str
    line: int
    is_index: bool = False

    def __str__(self) -> str:
        return f"{self.path}:#{self.line}" if self.is_index else f"{self.path}:{self.line}"

    def reason(self, message: str) -> str:
        return f"record #{self.line}: {message}" if self.is_index else message

    def error(self, message: str) -> InputFormatError:
        if self.is_index:  # a record number is not a line: keep it out of InputFormatError.line
            return InputFormatError(self.reason(message), self.path)
        return InputFormatError(message, self.path, self.line)


@dataclass(frozen=True, slots=True)
class _Bad:
    """A record that could not be parsed; ``reason`` says why and how to fix it."""

    reason: str


@dataclass(frozen=True, slots=True)
class _Line:
    """A JSON value parsed from one line, with the line itself (written back unchanged)."""

    value: Any
    raw: str


_Item = tuple[_Loc, Any]  # a parsed JSON value / CSV row dict, a _Line, or a _Bad
_Items = Generator[_Item, None, None]


@dataclass(frozen=True, slots=True)
class _Fields:
    """The keys of one file's records that hold each article field (None: absent)."""

    id: str | None
    text: str
    title: str | None
    date: str | None
    source: str | None


def _json_type(value: Any) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


def _detect_fields(record: dict[str, Any], config: ReadConfig, loc: _Loc) -> _Fields:
    """Map each article field to a key of ``record``; explicit names must exist."""
    by_fold: dict[str, str] = {}
    for key in record:
        by_fold.setdefault(str(key).casefold(), key)
    found = ", ".join(map(str, record)) or "none"
    chosen: dict[str, str | None] = {}
    for name, aliases in FIELD_ALIASES.items():
        wanted: str | None = getattr(config, f"{name}_field")
        if wanted is not None:
            key = wanted if wanted in record else by_fold.get(wanted.casefold())
            if key is None:
                raise InputFormatError(
                    f"the {name} field {wanted!r} (--{name}-field) is not in the first record; "
                    f"fields found: {found}. Check the spelling, or leave --{name}-field out to auto-detect",
                    loc.path,
                )
        else:
            key = next((by_fold[a] for a in aliases if a in by_fold), None)
        chosen[name] = key
    text = chosen.pop("text")
    if text is None:
        raise InputFormatError(
            f"no text field in the first record (looked for {', '.join(FIELD_ALIASES['text'])}); "
            f"fields found: {found}. Name the field that holds the article body with --text-field",
            loc.path,
        )
    return _Fields(text=text, **chosen)


def _optional_str(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


class _Collector:
    """Turns records into articles across all inputs: ids, duplicates, bad records."""

    def __init__(self, config: ReadConfig, keep_raw: bool = False) -> None:
        self.config = config
        self.keep_raw = keep_raw
        self.count = 0
        self.bad: list[BadRecord] = []
        self._first_seen: dict[str, str] = {}

    def reject(self, loc: _Loc, reason: str) -> None:
        if not self.config.skip_bad:
            raise loc.error(reason)
        self.bad.append(BadRecord(loc.path, loc.line, loc.reason(reason)))

    def read_source(self, name: str, items: _Items) -> Iterator[Article]:
        """Read one file (or zip member, or stdin); fields are detected from its first object."""
        fields: _Fields | None = None
        n_items = 0
        n_articles, n_bad = self.count, len(self.bad)
        with closing(items):
            for loc, value in items:
                n_items += 1
                raw = None
                if isinstance(value, _Line):
                    value, raw = value.value, (value.raw if self.keep_raw else None)
                if isinstance(value, _Bad):
                    self.reject(loc, value.reason)
                    continue
                if not isinstance(value, dict):
                    what = "the record" if loc.is_index else "the line"
                    self.reject(
                        loc,
                        f"{what} is a JSON {_json_type(value)}, not an object; "
                        "each record must be an object with a text field",
                    )
                    continue
                if fields is None:
                    fields = _detect_fields(value, self.config, loc)
                article = self._article(loc, value, fields, raw)
                if article is not None:
                    self.count += 1
                    yield article
        if n_items == 0:
            raise InputFormatError("empty input: no records found; check that this is the file you meant", name)
        n_bad = len(self.bad) - n_bad
        logger.info("read %d articles from %s", self.count - n_articles, name)
        if n_bad:
            shown = self.bad[len(self.bad) - n_bad :][:3]
            where = "; ".join(f"line {b.line}: {b.reason}" for b in shown) + ("; …" if n_bad > len(shown) else "")
            logger.warning("skipped %d bad record%s in %s (%s)", n_bad, "" if n_bad == 1 else "s", name, where)

    def _article(self, loc: _Loc, record: dict[str, Any], fields: _Fields, raw: str | None = None) -> Article | None:
        if fields.text not in record:
            self.reject(
                loc,
                f"no {fields.text!r} field (the text) in this record; fields: {', '.join(map(str, record)) or 'none'}",
            )
            return None
        text = record[fields.text]
        if text is None:
            text = ""
        elif not isinstance(text, str):
            self.reject(loc, f"the text field {fields.text!r} is a JSON {_json_type(text)}, not a string")
            return None
        raw_id = record.get(fields.id) if fields.id is not None else None
        article_id = str(self.count) if raw_id is None or raw_id == "" else str(raw_id)
        where = str(loc)
        first = self._first_seen.get(article_id)
        if first is not None:
            self.reject(
                loc,
                f"repeated id {article_id!r}: first at {first}, again at {where}; ids must be unique "
                "(fix the input, choose another field with --id-field, or skip repeats with --skip-bad)",
            )
            return None
        self._first_seen[article_id] = where
        date = record.get(fields.date) if fields.date is not None else None
        return Article(
            id=article_id,
            text=text,
            title=_optional_str(record.get(fields.title)) if fields.title is not None else "",
            date=None if date is None or date == "" else _optional_str(date),
            source=_optional_str(record.get(fields.source)) if fields.source is not None else "",
            record=record,
            origin=where,
            text_key=fields.text,
            raw=raw,
        )


# --------------------------------------------------------------------------- bytes → lines


def _not_utf8(err: UnicodeDecodeError, file: str | None, line_start: int = 0) -> str:
    """The message for undecodable bytes; ``file`` (None for stdin) goes into the iconv example."""
    bad = " ".join(f"0x{b:02X}" for b in err.object[err.start : err.end])
    if file is None:
        fix = "pipe it through iconv -f WINDOWS-1256 -t UTF-8"
    else:
        fix = f"e.g. iconv -f WINDOWS-1256 -t UTF-8 {file} > utf8-{os.path.basename(file)}"
    return (
        f"byte {bad} at column {err.start - line_start + 1} is not valid UTF-8: the file is not UTF-8; "
        f"convert it, {fix} (with the file's real encoding after -f)"
    )


def _decode_document(data: bytes, file: str | None) -> str | tuple[int, str]:
    """Decode a whole document strictly: the text, or ``(line, reason)`` for undecodable bytes."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        decoded = err.object  # without the BOM, which utf-8-sig removed first
        line_start = decoded.rfind(b"\n", 0, err.start) + 1
        return decoded.count(b"\n", 0, err.start) + 1, _not_utf8(err, file, line_start)


def _lines(stream: IO[bytes] | IO[str], file: str | None) -> Iterator[tuple[int, str | _Bad]]:
    """Yield ``(line number, text)`` for each line; a line that is not UTF-8 becomes a ``_Bad``."""
    for lineno, raw in enumerate(stream, 1):
        if isinstance(raw, str):  # a text stream (e.g. a replaced sys.stdin) is already decoded
            yield lineno, raw.removeprefix("\ufeff") if lineno == 1 else raw
            continue
        try:
            text: str | _Bad = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError as err:
            text = _Bad(_not_utf8(err, file))
        yield lineno, text


def _read_guard(items: Iterator[_Item], name: str) -> _Items:
    """Turn low-level read failures (truncated gzip, bad zip CRC, I/O errors) into one clear error."""
    try:
        yield from items
    except DedupError:
        raise
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as err:
        raise InputFormatError(
            f"cannot read the file ({err}); it may be truncated or corrupt, check it or download it again", name
        ) from None


# --------------------------------------------------------------------------- lines → items


def _jsonl_items(lines: Iterable[tuple[int, str | _Bad]], name: str) -> _Items:
    for lineno, text in lines:
        loc = _Loc(name, lineno)
        if isinstance(text, _Bad):
            yield loc, text
            continue
        if not text or text.isspace():
            continue
        try:
            yield loc, _Line(json.loads(text), text)
        except json.JSONDecodeError as err:
            hint = "each line must be one complete JSON object"
            if lineno == 1 and text.lstrip().startswith("["):
                hint = "this looks like a JSON array: name the file .json or use --format json"
            column = min(err.pos, len(text.rstrip("\r\n"))) + 1  # past the end: just after the last character
            yield loc, _Bad(f"malformed JSON ({err.msg} at column {column}); {hint}")


def _records_of(doc: Any, name: str) -> list[Any]:
    """The list of records in a JSON document: the array itself, or the one array an object holds."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        lists = {k: v for k, v in doc.items() if isinstance(v, list)}
        if len(lists) > 1:  # prefer the one list whose items are all objects
            lists = {k: v for k, v in lists.items() if v and all(isinstance(r, dict) for r in v)}
        if len(lists) == 1:
            return next(iter(lists.values()))
        keys = f" (several: {', '.join(map(repr, lists))})" if lists else ""
        raise InputFormatError(
            f"the top level is an object without exactly one list of records{keys}; "
            "expected an array of objects, an object holding one, or JSONL (one object per line)",
            name,
        )
    raise InputFormatError(f"the top level is a JSON {_json_type(doc)}; expected an array of objects", name)


def _json_items(stream: IO[bytes] | IO[str], name: str, file: str | None) -> _Items:
    data = stream.read()
    if isinstance(data, str):  # a text stream is already decoded
        text = data.removeprefix("\ufeff")
    else:
        decoded = _decode_document(data, file)
        if isinstance(decoded, tuple):
            raise InputFormatError(decoded[1], name, decoded[0])
        text = decoded
    if not text.strip():
        return
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        hint = "fix the JSON"
        if err.msg == "Extra data":
            hint = "if the file holds one object per line, name it .jsonl or use --format jsonl"
        raise InputFormatError(f"malformed JSON ({err.msg} at column {err.colno}); {hint}", name, err.lineno) from None
    for k, value in enumerate(_records_of(doc, name), 1):
        yield _Loc(name, k, is_index=True), value


def _csv_items(lines: Iterable[tuple[int, str | _Bad]], name: str, delimiter: str) -> _Items:
    """Rows as dicts keyed by the header; each row is located at its first physical line."""
    _raise_csv_field_limit()
    kind = "TSV" if delimiter == "\t" else "CSV"
    undecodable: list[_Item] = []
    row_start: list[int | None] = [None]

    def feed() -> Iterator[str]:  # csv pulls one physical line at a time, so row_start is exact
        for lineno, text in lines:
            if isinstance(text, _Bad):
                undecodable.append((_Loc(name, lineno), text))
                continue
            if row_start[0] is None:
                row_start[0] = lineno
            yield text

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


def _txt_items(files: Sequence[Path]) -> _Items:
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as err:
            raise InputNotFoundError(f"{path}: cannot be read ({err.strerror}); check its permissions") from None
        text = _decode_document(data, str(path))
        if isinstance(text, tuple):
            yield _Loc(str(path), text[0]), _Bad(text[1])
            continue
        yield _Loc(str(path), 1), {"id": path.stem, "title": text_headline(text), "text": text}


def text_headline(text: str, lines: int = 5) -> str:
    r"""The headline of a plain-text article: the first of its first ``lines`` non-empty lines that reads like one.

    Saved web pages often start with site chrome ("Get News Fast", a logo's
    alt text) before the headline. A line reads like a headline when it has
    at least three words (of two characters or more, normalized) and at
    least half of its distinct words recur in the lines after it: a headline
    announces what the body then tells. Failing that, the first non-empty
    line.

    >>> text_headline("Get News Fast\n\nLavrov meets Xi in Beijing\nXi met Lavrov in Beijing on Sunday.")
    'Lavrov meets Xi in Beijing'
    >>> text_headline("Short\nno body follows this line at all")
    'Short'
    """
    tokens = [normalize(line).split() for line in text.splitlines()]
    later = Counter(w for line in tokens for w in line)  # tokens after the line under test
    first, tried = "", 0
    for line, words in zip(text.splitlines(), tokens):
        later.subtract(words)
        if not line.strip():
            continue
        first = first or line.strip()
        distinct = {w for w in words if len(w) >= 2}
        if len(distinct) >= 3 and 2 * sum(later[w] > 0 for w in distinct) >= len(distinct):
            return line.strip()
        tried += 1
        if tried == lines:
            break
    return first


# --------------------------------------------------------------------------- paths → sources


_Source = tuple[str, _Items]  # display name, items


def _stream_items(fmt: str, stream: IO[bytes] | IO[str], name: str, file: str | None) -> _Items:
    if fmt == "jsonl":
        return _jsonl_items(_lines(stream, file), name)
    if fmt in ("csv", "tsv"):
        return _csv_items(_lines(stream, file), name, "\t" if fmt == "tsv" else ",")
    if fmt == "json":
        return _json_items(stream, name, file)
    raise InputFormatError(f"format {fmt!r} cannot be read from a stream; use jsonl, json, csv or tsv", name)


def _file_items(path: Path, fmt: str, name: str) -> _Items:
    try:
        stream: IO[bytes] = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")
    except OSError as err:
        raise InputNotFoundError(
            f"{name}: cannot be read ({err.strerror}); check the path and its permissions"
        ) from None
    with stream:
        yield from _read_guard(_stream_items(fmt, stream, name, name), name)


def _zip_sources(path: Path, name: str) -> Iterator[_Source]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InputFormatError("not a valid zip archive; check the file or use --format", name) from None
    except OSError as err:
        raise InputNotFoundError(
            f"{name}: cannot be read ({err.strerror}); check the path and its permissions"
        ) from None
    with archive:
        members = []
        for info in archive.infolist():
            base = info.filename.rsplit("/", 1)[-1]
            fmt = _ZIP_MEMBER_FORMATS.get(Path(base).suffix.lower())
            if info.is_dir() or fmt is None or base.startswith("._") or info.filename.startswith("__MACOSX/"):
                logger.debug("skipping zip member %s:%s", name, info.filename)
                continue
            members.append((info.filename, fmt))
        if not members:
            raise InputFormatError("empty input: the archive holds no .json, .jsonl or .ndjson files", name)
        for member, fmt in sorted(members):
            member_name = f"{name}:{member}"
            yield member_name, _zip_member_items(archive, member, fmt, member_name)


def _zip_member_items(archive: zipfile.ZipFile, member: str, fmt: str, name: str) -> _Items:
    try:
        stream = archive.open(member)
    except (RuntimeError, NotImplementedError) as err:  # encrypted, or an unsupported compression
        raise InputFormatError(
            f"cannot open this zip member ({err}); re-pack the archive without encryption", name
        ) from None
    with stream:
        yield from _read_guard(_stream_items(fmt, stream, name, member), name)


def _guess_format(path: Path, name: str) -> str:
    if path.is_dir():
        return "txt"
    base = path.name.lower().removesuffix(".gz")
    fmt = _SUFFIX_FORMATS.get(os.path.splitext(base)[1])
    if fmt is None:
        raise InputFormatError(
            "cannot tell the format from the file name; use --format jsonl, json, csv, tsv, txt or zip", name
        )
    return fmt


def _sources(arg: str | Path, config: ReadConfig) -> Iterator[_Source]:
    if isinstance(arg, str) and arg == "-":
        if sys.stdin is None:
            raise InputNotFoundError("-: there is no standard input to read; pass a file instead")
        stream = getattr(sys.stdin, "buffer", sys.stdin)  # bytes, so that decoding is strict
        fmt = "jsonl" if config.format == "auto" else config.format
        yield _STDIN, _read_guard(_stream_items(fmt, stream, _STDIN, None), _STDIN)
        return
    path = Path(arg)
    name = str(arg)
    fmt = _guess_format(path, name) if config.format == "auto" else config.format
    if fmt == "txt":
        files = [path]
        if path.is_dir():  # hidden files are editor and OS droppings, not articles
            files = [
                p for p in path.iterdir() if p.suffix.lower() == ".txt" and not p.name.startswith(".") and p.is_file()
            ]
            files.sort(key=lambda p: p.name)
        yield name, _txt_items(files)
    elif fmt == "zip":
        yield from _zip_sources(path, name)
    elif path.is_dir():
        raise InputFormatError(
            f"is a directory, not a {fmt} file; a directory is read as .txt files (--format txt)", name
        )
    else:
        yield name, _file_items(path, fmt, name)


# --------------------------------------------------------------------------- public API


class ArticleStream:
    """The articles of some inputs, read lazily as they are iterated (once).

    A feed larger than memory passes through this one record at a time.
    Missing paths are reported when the stream is made; every other problem
    (see the module docstring) while it is iterated. After iterating,
    :attr:`bad` holds the records skipped with ``skip_bad``. With
    ``keep_raw``, an article read from a JSONL line carries that line
    (``Article.raw``), so it can be written back unchanged.
    """

    def __init__(
        self, paths: Sequence[str | Path] | str | Path, config: ReadConfig = ReadConfig(), keep_raw: bool = False
    ) -> None:
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        if not paths:
            raise InputFormatError("no input paths were given; pass at least one file, directory or '-'")
        for arg in paths:  # fail before reading anything
            if not (isinstance(arg, str) and arg == "-") and not os.path.exists(arg):
                raise InputNotFoundError(f"{arg}: no such file or directory; check the path")
        self.paths = list(paths)
        self.config = config
        self._collector = _Collector(config, keep_raw)
        self._used = False

    @property
    def bad(self) -> list[BadRecord]:
        """Records skipped so far (``skip_bad``)."""
        return self._collector.bad

    def __iter__(self) -> Iterator[Article]:
        if self._used:
            raise RuntimeError("ArticleStream: a stream is read once")
        self._used = True
        collector = self._collector
        for arg in self.paths:
            for name, items in _sources(arg, self.config):
                yield from collector.read_source(name, items)
        if not collector.count:
            raise InputFormatError(
                f"no articles: every record was bad ({len(collector.bad)} skipped); "
                "fix the input (see the bad records) or check --text-field"
            )


def read_articles(
    paths: Sequence[str | Path] | str | Path, config: ReadConfig = ReadConfig()
) -> tuple[list[Article], list[BadRecord]]:
    """Read articles from files, directories, zip archives or ``-`` (stdin), in order.

    Args:
        paths: inputs, read in order and concatenated (a single path is accepted too).
        config: field names, format, and whether to skip bad records.

    Returns:
        ``(articles, bad_records)``. An article without an id gets its position
        in ``articles`` (0-based, across all paths) as its id. ``bad_records``
        is empty unless ``config.skip_bad``.

    Raises:
        InputNotFoundError: a path does not exist or cannot be read.
        InputFormatError: a record-level problem (without ``skip_bad``), a
            file-level problem (empty file, no text field, unreadable JSON
            document or archive), or no articles at all.
    """
    stream = ArticleStream(paths, config)
    articles = list(stream)
    return articles, stream.bad
