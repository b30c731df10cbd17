"""Records to articles: the half of reading that every format shares.

A format reader (:mod:`.jsonl`, :mod:`.delimited`, :mod:`.plaintext`,
:mod:`.parquet`, :mod:`.newsplease`) yields *items*, ``(_Loc, value)`` pairs.
The value is a parsed record (a dict), a :class:`_Line` (a JSON value with
the line it came from), a :class:`_Named` record (one that falls back to an
id of its own, e.g. a news-please file's path), any other JSON value
(rejected: not an object), or a :class:`_Bad` that says why the record could
not be parsed. :class:`_Collector` turns the items of every input into
:class:`~dedup.types.Article` objects: it finds the fields in each file's
first record (:data:`FIELD_ALIASES`, or the names in ``ReadConfig``), gives
an article without an id its position, refuses repeated ids, and raises
:class:`~dedup.errors.InputFormatError` for a bad record or, with
``ReadConfig.skip_bad``, keeps it as a :class:`~dedup.types.BadRecord`.
The rules are spelled out in ``docs/inputs.md``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from itertools import repeat
from types import MappingProxyType
from typing import Any

from ...config import ReadConfig
from ...errors import InputFormatError
from ...types import Article, BadRecord, id_text

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

_JSON_TYPES = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


@dataclass(frozen=True, slots=True)
class _Loc:
    """Where a record was read: ``path`` and a 1-based line, or record number (``unit``: a JSON record, a Parquet row)."""

    path: str
    line: int
    is_index: bool = False
    unit: str = "record"

    def __str__(self) -> str:
        return f"{self.path}:#{self.line}" if self.is_index else f"{self.path}:{self.line}"

    def reason(self, message: str) -> str:
        return f"{self.unit} #{self.line}: {message}" if self.is_index else message

    def error(self, message: str) -> InputFormatError:
        if self.is_index:  # a record number is not a line: keep it out of InputFormatError.line
            return InputFormatError(self.reason(message), self.path)
        return InputFormatError(message, self.path, self.line)


@dataclass(frozen=True, slots=True)
class _Bad:
    """A record that could not be parsed; ``reason`` says why and how to fix it.

    A line skipped unread for its length also says how long it was (``size``) and how many double quotes it held
    (``quotes``): a CSV row of several lines continues past it when that number is odd.
    """

    reason: str
    size: int = 0
    quotes: int = 0


@dataclass(frozen=True, slots=True)
class _Line:
    """A JSON value parsed from one line, with the line itself (written back unchanged): its bytes, or a text stream's string."""

    value: Any
    raw: bytes | str


@dataclass(frozen=True, slots=True)
class _Named:
    """A record that takes ``fallback_id`` when it has no id of its own (a news-please file: its path)."""

    value: Any
    fallback_id: str


_Item = tuple[_Loc, Any]  # a parsed JSON value / CSV row dict, a _Line, a _Named, or a _Bad
_Items = Generator[_Item, None, None]
_Source = tuple[str, _Items]  # display name (file, zip member or <stdin>), its items


@dataclass(frozen=True, slots=True)
class _Fields:
    """The keys of one file's records that hold each article field (None: absent)."""

    id: str | None
    text: str
    title: str | None
    date: str | None
    source: str | None


_NUMBERED = re.compile(r"(record|row) #\d+: ")  # the reason of a bad record located by number (_Loc.reason), not by line
_SURROGATE = re.compile("[\ud800-\udfff]")  # JSON escapes can carry them; UTF-8 cannot encode them
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # a JSON line without one holds no surrogate: one search instead of five
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")  # the same in a raw line


#: The id of an article whose file has no ids, until it is given its position in the feed.
POSITION = "\x00position"


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
        other = next((sep for sep, name in (("\t", "tsv"), (";", "csv"), ("|", "csv")) if len(record) == 1
                      and any(sep in str(k) and any(a in str(k).casefold().split(sep) for a in FIELD_ALIASES["text"])
                              for k in record)), None)
        hint = (" (one field whose name holds tabs: a tab-separated file, use --format tsv)" if other == "\t" else
                f" (one field whose name holds {other!r}: another separator than the comma)" if other else "")
        raise InputFormatError(
            f"no text field in the first record (looked for {', '.join(FIELD_ALIASES['text'])}); "
            f"fields found: {found}{hint}. Name the field that holds the article body with --text-field",
            loc.path,
        )
    return _Fields(text=text, **chosen)


def own_key(record: dict[str, Any], name: str) -> str | None:
    """The key of an optional field (title, date, source) in a record whose file's first record had none of its names.

    Fields are found in a file's first record; an undated first record made
    every later date of the file unread, silently and for good in a history
    index. Exact names only (the first record's names are
    also matched regardless of case).

    >>> own_key({"text": "t", "published": "2020-01-01"}, "date"), own_key({"text": "t"}, "date")
    ('published', None)
    """
    return next((a for a in FIELD_ALIASES[name] if a in record), None)


def _optional_str(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


@dataclass(slots=True)
class _SourceState:
    """What is known of one source while it is read: its fields (from its first object), its items so far."""

    name: str
    fields: _Fields | None = None
    n_items: int = 0
    n_articles: int = 0  # articles read before this source
    n_bad: int = 0  # bad records before this source


class _Collector:
    """Turns records into articles across all inputs: ids, duplicates, bad records."""

    def __init__(self, config: ReadConfig, keep_raw: bool = False, needs_ids: str | None = None) -> None:
        self.config = config
        self.keep_raw = keep_raw
        self.needs_ids = needs_ids  # why every article must have an id of its own (a history index), or None
        self.count = 0
        self.bad: list[BadRecord] = []
        self._first_seen: dict[str, _Loc | tuple[str, int]] = {}  # where each id was first read (formatted only for a repeat)

    def forget_ids(self) -> None:
        """Every input is read: where each id was first read is needed no more (~170 bytes an article)."""
        self._first_seen = {}

    def reject(self, loc: _Loc, reason: str) -> None:
        if not self.config.skip_bad:
            raise loc.error(reason)
        self.bad.append(BadRecord(loc.path, loc.line, loc.reason(_skipped_reason(reason)), position=self.count))

    def read_source(self, name: str, items: _Items) -> Iterator[Article]:
        """Read one file (or zip member, or stdin); fields are detected from its first object."""
        source = self.open_source(name)
        with closing(items):
            yield from self.read_items(source, items)
        self.close_source(source)

    def open_source(self, name: str) -> _SourceState:
        """Start reading a source: what is known of it grows as its items are read."""
        return _SourceState(name, n_articles=self.count, n_bad=len(self.bad))

    def read_items(self, source: _SourceState, items: Iterable[_Item]) -> Iterator[Article]:
        """The articles of some items of ``source``, in order (its fields are detected from its first object)."""
        for loc, value in items:
            source.n_items += 1
            found = self.record_of(loc, value)
            if found is None:
                continue
            record, raw, fallback_id, escapes = found
            if source.fields is None:
                source.fields = _detect_fields(record, self.config, loc)
            article = self.admit(loc, self.parsed(loc, record, source.fields, raw, fallback_id, escapes))
            if article is not None:
                self.count += 1
                yield article

    def close_source(self, source: _SourceState) -> None:
        """Finish a source: it must have held a record; log what it gave."""
        if source.n_items == 0:
            raise InputFormatError("empty input: no records found; check that this is the file you meant", source.name)
        self.log_source(source.name, self.count - source.n_articles, len(self.bad) - source.n_bad)

    def record_of(self, loc: _Loc, value: Any) -> tuple[dict[str, Any], bytes | str | None, str | None, bool] | None:
        """``(record, raw line, fallback id, whether it may hold a lone surrogate)`` of an item; None: rejected."""
        raw = fallback_id = None
        escapes = True  # whether the record may hold a lone surrogate (only a JSON escape can make one)
        if isinstance(value, _Line):
            escape = _SURROGATE_ESCAPE_BYTES if isinstance(value.raw, bytes) else _SURROGATE_ESCAPE
            escapes = escape.search(value.raw) is not None  # type: ignore[arg-type]
            value, raw = value.value, (value.raw if self.keep_raw else None)
        elif isinstance(value, _Named):
            value, fallback_id = value.value, value.fallback_id
        if isinstance(value, _Bad):
            self.reject(loc, value.reason)
            return None
        if not isinstance(value, dict):
            what = "the record" if loc.is_index else "the line"
            hint = ("; a JSON array of records on one line: use --format json (or give each record its own line)"
                    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value) else "")
            self.reject(
                loc,
                f"{what} is a JSON {_json_type(value)}, not an object; "
                f"each record must be an object with a text field{hint}",
            )
            return None
        return value, raw, fallback_id, escapes

    def log_source(self, name: str, n_articles: int, n_bad: int) -> None:
        """Log what one source gave: its articles, and its bad records (the last ``n_bad`` of :attr:`bad`)."""
        logger.info("read %d articles from %s", n_articles, name)
        if n_bad:
            shown = self.bad[len(self.bad) - n_bad :][:3]
            where = "; ".join(b.reason if _NUMBERED.match(b.reason) else f"line {b.line}: {b.reason}" for b in shown) + (
                "; …" if n_bad > len(shown) else "")  # a record of a JSON document or Parquet file says its number itself
            logger.warning("skipped %d bad record%s in %s (%s)", n_bad, "" if n_bad == 1 else "s", name, where)

    def _id(self, loc: _Loc, record: dict[str, Any], fields: _Fields, fallback: str | None = None) -> str | None:
        """The article's id: the id field's string or number, else ``fallback``, else :data:`POSITION` when the file has no ids.

        None: the record was rejected.
        """
        key = fields.id
        if key is None:
            other = next((k for k in record if str(k).casefold() in FIELD_ALIASES["id"] and record[k] not in (None, "")), None)
            if other is None:
                return fallback if fallback is not None else POSITION
            if fallback is None:
                self.reject(loc, f"this record has an id ({other!r}) but the first record of the file had none, so ids are "
                                 "positions here; give every record an id, or name the field with --id-field")
                return None
            key = other  # a record with a fallback (one per file) may name itself
        raw_id = record.get(key)
        if raw_id is None or raw_id == "":
            if fallback is not None:
                return fallback
            self.reject(loc, f"the id field {key!r} is {'missing' if key not in record else 'null' if raw_id is None else 'empty'} in this record; "
                             "every record needs its own id (a position could collide with another record's id)")
            return None
        if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int, float)):
            self.reject(loc, f"the id field {key!r} is a JSON {_json_type(raw_id)}; ids must be strings or numbers")
            return None
        return id_text(raw_id)  # 1.0 and 1 name one article, as a gold file's 1 names it

    def admit(self, loc: _Loc, article: Article | None) -> Article | None:
        """The article as it joins the feed: a positional id is given its position; a repeated id is rejected."""
        if article is None:
            return None
        article_id = self.admit_id(loc, article.id)
        if article_id is None:
            return None
        return article if article_id is article.id else replace(article, id=article_id)

    def admit_ids(self, path: str, lines: Sequence[int], ids: Sequence[str]) -> bool:
        """Admit a block's articles at once when each has its own string id, met for the first time: whether it could.

        The usual block; otherwise nothing is admitted, and each article goes
        through :meth:`admit_id`, which finds and words the repeat. Where each
        id was read is kept as a plain ``(path, line)`` (made a :class:`_Loc`
        only for a repeat's message): a million articles of one feed went
        through :meth:`admit_id` and a ``_Loc`` each, ~6 s of the reading process.
        """
        seen = self._first_seen
        if POSITION in ids or len(set(ids)) != len(ids) or not seen.keys().isdisjoint(ids):
            return False
        seen.update(zip(ids, zip(repeat(path), lines)))
        self.count += len(ids)
        return True

    def admit_id(self, loc: _Loc, article_id: str) -> str | None:
        """The id an article read at ``loc`` joins the feed with (:data:`POSITION`: its position); None: a repeated id."""
        if article_id is POSITION:
            if self.needs_ids is not None:  # not a bad record to skip: every article of the file is without one
                raise loc.error(f"the article has no id: {self.needs_ids}; name the field that holds one with --id-field "
                                "(a url, say)")
            article_id = str(self.count)
        first = self._first_seen.get(article_id)
        if first is not None:
            if isinstance(first, tuple):  # admitted with its block (admit_ids)
                first = _Loc(*first)
            self.reject(
                loc,
                f"repeated id {article_id!r}: first at {first}, again at {loc}; ids must be unique "
                "(fix the input, choose another field with --id-field, or skip repeats with --skip-bad)",
            )
            return None
        self._first_seen[article_id] = loc
        return article_id

    def parsed(
        self, loc: _Loc, record: dict[str, Any], fields: _Fields, raw: bytes | str | None = None,
        fallback_id: str | None = None, escapes: bool = True,
    ) -> Article | None:
        """The article a record holds, checked on its own (not yet against the others: :meth:`admit`); None: rejected.

        An article without an id of its own has :data:`POSITION` for one.
        """
        if fields.text not in record:
            self.reject(
                loc,
                f"no {fields.text!r} field (the text) in this record; fields: {', '.join(map(str, record)) or 'none'}",
            )
            return None
        text = record[fields.text]
        if not isinstance(text, str):
            self.reject(loc, f"the text field {fields.text!r} is a JSON {_json_type(text)}, not a string")
            return None
        if None in (fields.title, fields.date, fields.source):  # the file's first record lacked one: this one may have it
            fields = replace(fields, **{n: own_key(record, n) for n in ("title", "date", "source") if getattr(fields, n) is None})
        undecodable = [k for k in getattr(record, "undecodable", ()) if k in (fields.text, fields.id, fields.title, fields.date, fields.source)]
        if undecodable:  # a Parquet binary column (ParquetRow): other columns are kept as base64, article fields must be text
            self.reject(loc, f"the column {undecodable[0]!r} holds bytes that are not UTF-8; store text as UTF-8 "
                             "(a string column), or skip this row with --skip-bad")
            return None
        article_id = self._id(loc, record, fields, fallback_id)
        if article_id is None:
            return None
        checked = (("text", text), ("id", article_id if article_id is not POSITION else ""),
                   *((n, record.get(getattr(fields, n))) for n in ("title", "source", "date")))
        for name, value in checked if escapes else ():
            bad = _SURROGATE.search(value) if isinstance(value, str) else None
            if bad is not None:
                self.reject(loc, f"the {name} holds a lone surrogate (\\u{ord(bad.group()):04x} at character {bad.start()}): "
                                 "not valid Unicode text; fix the producer of this file or skip it with --skip-bad")
                return None
        date = record.get(fields.date) if fields.date is not None else None
        return Article(
            id=article_id,
            text=text,
            title=_optional_str(record.get(fields.title)) if fields.title is not None else "",
            date=None if date is None or date == "" else _optional_str(date),
            source=_optional_str(record.get(fields.source)) if fields.source is not None else "",
            record=record,
            origin=str(loc),
            text_key=fields.text,
            raw=raw,
        )


_SKIP_ADVICE = re.compile(r"(,| or|;)? (or )?(skip (it|this row|repeats) with --skip-bad)(\))?$")  # at the end only


def _skipped_reason(reason: str) -> str:
    """A reason as a skipped record's: without the advice to skip it with ``--skip-bad`` (it was).

    >>> _skipped_reason("record too long: 9 bytes; raise the limit if it is an article, or skip it with --skip-bad")
    'record too long: 9 bytes; raise the limit if it is an article'
    >>> _skipped_reason("a repeated id (fix the input, choose another field with --id-field, or skip repeats with --skip-bad)")
    'a repeated id (fix the input, choose another field with --id-field)'
    """
    return _SKIP_ADVICE.sub(lambda m: ")" if m.group(5) else "", reason)
