"""JSON inputs: JSON Lines streamed line by line, and JSON documents read whole.

JSONL (``.jsonl``, ``.ndjson``, stdin): each non-blank line is one record; a
line that does not parse becomes a bad record located at its line and column.
JSON (``.json``): an array of records, or an object holding exactly one such
array; records are numbered (``file:#k``), and a document that does not parse
is a file-level error. (Not to be confused with :mod:`dedup.io.jsonl`, which
reads side inputs such as gold labels.)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

from ...errors import InputFormatError, json_problem
from .lines import _decode_document
from .records import _Bad, _Items, _Line, _Loc, _json_type

_TOO_DEEP = "JSON nested too deeply to read (thousands of brackets): not an article record"


def _jsonl_items(lines: Iterable[tuple[int, str | _Bad, bytes | str | None]], name: str) -> _Items:
    """One item per non-blank line: the parsed value with its raw line, or a ``_Bad`` locating the JSON error."""
    for lineno, text, raw in lines:
        loc = _Loc(name, lineno)
        if isinstance(text, _Bad):
            yield loc, text
            continue
        if not text or text.isspace():
            continue
        try:
            yield loc, _Line(json.loads(text), text if raw is None else raw)
        except json.JSONDecodeError as err:
            hint = "each line must be one complete JSON object"
            if lineno == 1 and text.lstrip().startswith("["):
                hint = "this looks like a JSON array: name the file .json or use --format json"
            elif _utf16_nuls(text):  # UTF-16 has a NUL beside every ASCII character (a space, a digit), all on one side
                hint = "the line holds NUL bytes: the file looks like UTF-16; convert it with iconv -f UTF-16 -t UTF-8"
            elif "\x00" in text:  # a stray one in UTF-8 text: a binary byte, not another encoding
                hint = (f"the line holds a NUL byte (column {text.index(chr(0)) + 1}), which is not text; "
                        "remove it (e.g. tr -d '\\000')")
            elif lineno == 1 and not text.lstrip().startswith("{") and ("," in text or "\t" in text):
                # a header line: CSV on stdin (or under another name) is read as JSONL unless told
                hint = "this looks like a CSV or TSV header: pass --format csv or --format tsv"
            column = min(err.pos, len(text.rstrip("\r\n"))) + 1  # past the end: just after the last character
            yield loc, _Bad(f"malformed JSON ({json_problem(err.msg)} at column {column}); {hint}")
        except RecursionError:  # a value nested thousands deep exhausts the parser's stack
            yield loc, _Bad(_TOO_DEEP)


def _utf16_nuls(text: str) -> bool:
    r"""Whether the NULs of a line read as UTF-8 look like UTF-16: two or more, all at even or all at odd positions.

    UTF-16 puts a NUL beside each ASCII character (spaces, digits, punctuation), on the same side of every two-byte
    unit; an Arabic or Cyrillic letter is two non-NUL bytes, so such a line has few NULs, but they keep to one side.
    A stray NUL in UTF-8 text is one, or falls anywhere.

    >>> _utf16_nuls('{\x00"\x00a\x00'), _utf16_nuls('{"id": "a\x00"}'), _utf16_nuls("a\x00b\x00\x00")
    (True, False, False)
    """
    at = [k for k, ch in enumerate(text) if ch == "\x00"]
    return len(at) >= 2 and len({k % 2 for k in at}) == 1


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
        one = "" if lists else "; a file holding one article (news-please's) is read with --format newsplease"
        raise InputFormatError(
            f"the top level is an object without exactly one list of records{keys}; "
            f"expected an array of objects, an object holding one, or JSONL (one object per line){one}",
            name,
        )
    raise InputFormatError(f"the top level is a JSON {_json_type(doc)}; expected an array of objects", name)


def _json_items(stream: IO[bytes] | IO[str], name: str, file: str | None) -> _Items:
    """The records of one JSON document, numbered from 1; nothing for a blank document."""
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
        raise InputFormatError(f"malformed JSON ({json_problem(err.msg)} at column {err.colno}); {hint}", name, err.lineno) from None
    except RecursionError:
        raise InputFormatError(_TOO_DEEP, name) from None
    for k, value in enumerate(_records_of(doc, name), 1):
        yield _Loc(name, k, is_index=True), value
