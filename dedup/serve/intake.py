"""Records posted to the service → articles, with the same field rules as the file readers.

A request body is read the way a JSON file holding an array of records is
read (:mod:`dedup.io.readers.records`): fields are detected in the first
record (``id``/``url``, ``text``/``content``/``maintext``/``body``, ...), a
null or missing text, a repeated id or a lone surrogate is a bad record. Two
differences, both because a request is not a file:

* every record needs an id: decisions and lookups name articles by id, and a
  position would collide with the same position of the next request;
* the first bad record stops the request (there is no ``--skip-bad``): a
  request is added whole or not at all. :class:`RecordError` names the record
  by its index in the array (0-based) and its id when it has one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

from ..config import ReadConfig
from ..errors import InputFormatError
from ..types import Article, timestamp
from ..io.readers.records import FIELD_ALIASES, _Collector, _Fields, _Loc

__all__ = ["RecordError", "read_records", "warnings_of"]


class RecordError(InputFormatError):
    """A posted record cannot be read; ``index`` (0-based) and ``record_id`` (or None) name it."""

    def __init__(self, index: int, record_id: str | None, reason: str) -> None:
        self.index = index
        self.record_id = record_id
        named = f" (id {record_id!r})" if record_id is not None else ""
        super().__init__(f"records[{index}]{named}: {reason}")
        self.reason = reason


def _record_id(value: Any) -> str | None:
    """The id a record gives itself (first id field found, as the readers find it), for messages."""
    if not isinstance(value, dict):
        return None
    by_fold = {str(k).casefold(): k for k in reversed(list(value))}
    for alias in FIELD_ALIASES["id"]:
        raw = value.get(by_fold[alias]) if alias in by_fold else None
        if isinstance(raw, (str, int, float)) and not isinstance(raw, bool) and raw != "":
            return str(raw)
    return None


_CLI_ADVICE = re.compile(r"(,? or|,) (skip (it|this row|repeats) with --skip-bad|(choose another|name the) field with --id-field)")
_POSITION = re.compile(r"request:#(\d+)")


def _for_request(reason: str) -> str:
    """A reader's reason worded for a request: no advice to use options the service does not have (``--skip-bad``,
    ``--id-field``), and records named as ``records[K]`` (0-based, as :class:`RecordError` names them), not
    ``request:#K+1``.

    >>> _for_request("repeated id 'a': first at request:#1, again at request:#2; ids must be unique "
    ...              "(fix the input, choose another field with --id-field, or skip repeats with --skip-bad)")
    "repeated id 'a': first at records[0], again at records[1]; ids must be unique (fix the input)"
    >>> _for_request("not valid Unicode text; fix the producer of this file or skip it with --skip-bad")
    'not valid Unicode text; fix the producer of these records'
    """
    reason = _CLI_ADVICE.sub("", reason).replace("the producer of this file", "the producer of these records")
    return _POSITION.sub(lambda m: f"records[{int(m.group(1)) - 1}]", reason)


MAX_ID_CHARS = 2048  # as long as an address a browser takes (a percent-encoded Arabic id is six times as many bytes)


class _RequestCollector(_Collector):
    """The readers' collector, failing on the first bad record and requiring ids."""

    def reject(self, loc: _Loc, reason: str) -> None:
        raise RecordError(loc.line - 1, self._current_id, _for_request(reason))

    def _id(self, loc: _Loc, record: dict[str, Any], fields: _Fields, fallback: str | None = None) -> str | None:
        if fields.id is None:
            self.reject(loc, f"no id field ({' or '.join(FIELD_ALIASES['id'])}) in the first record; the service names "
                             "articles by id, so every record needs its own (a string or a number)")
        found = super()._id(loc, record, fields, fallback)
        if isinstance(found, str) and len(found) > MAX_ID_CHARS:  # GET /v1/articles/{id} could not be asked for it
            self.reject(loc, f"the id is {len(found)} characters long; the service takes ids of at most {MAX_ID_CHARS} "
                             "(an id is looked up in a URL: GET /v1/articles/{id})")
        return found

    _current_id: str | None = None


def warnings_of(article: Article) -> list[str]:
    """What the answer row of ``article`` should warn about: a date that could not be read (stored as undated, as
    ``dedup dedupe`` warns on stderr; a request has no stderr).

    >>> warnings_of(Article(id="a", text="x", date="yesterday"))
    ["the date 'yesterday' could not be read (ISO 8601 expected, e.g. 2024-03-01T09:00:00Z): the article is stored undated"]
    >>> warnings_of(Article(id="a", text="x", date="2024-03-01"))
    []
    """
    if article.date and math.isnan(timestamp(article.date)):
        return [f"the date {article.date!r} could not be read (ISO 8601 expected, e.g. 2024-03-01T09:00:00Z): "
                "the article is stored undated"]
    return []


def read_records(records: Sequence[Any], config: ReadConfig = ReadConfig()) -> list[Article]:
    """The articles of ``records`` (parsed JSON values), in order.

    >>> [a.id for a in read_records([{"url": "u1", "content": "some text"}, {"url": 2, "content": ""}])]
    ['u1', '2']
    >>> read_records([{"id": "a", "text": "x"}, {"id": "b", "title": "no text"}])
    Traceback (most recent call last):
    ...
    dedup.serve.intake.RecordError: records[1] (id 'b'): no 'text' field (the text) in this record; fields: id, title

    Raises:
        RecordError: the first bad record (see the module).
    """
    if not records:
        return []
    collector = _RequestCollector(config)
    at = [0]

    def items() -> Iterator[tuple[_Loc, Any]]:
        for k, value in enumerate(records):
            at[0] = k
            collector._current_id = _record_id(value)
            yield _Loc("request", k + 1, is_index=True), value

    try:
        return list(collector.read_source("request", items()))
    except RecordError:
        raise
    except InputFormatError as exc:  # raised about the file as a whole (no text field in the first record)
        reason = str(exc).removeprefix(f"{exc.path}: ") if exc.path else str(exc)
        reason = reason.split(". Name the field")[0] + "; send the body in one of those fields"
        raise RecordError(at[0], _record_id(records[at[0]]), reason) from None
