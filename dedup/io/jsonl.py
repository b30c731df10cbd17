"""JSON Lines of plain objects (gold labels, text pairs): one reader with clear errors.

Feeds go through :mod:`dedup.io.readers`; this small reader serves the side
inputs whose lines are not articles.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from ..config import ReadConfig
from ..errors import InputFormatError, InputNotFoundError, json_problem
from .remote import is_url, remote_file

__all__ = ["json_objects", "other_format"]


def json_objects(path: str | Path, storage_options: Sequence[tuple[str, Any]] = (),
                 bad: list[tuple[int, str]] | None = None, expects: str = "",
                 limit: int | None = ReadConfig.max_record_bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for each non-blank line; ``-`` reads stdin, a URL is streamed.

    ``bad``: a line that is not UTF-8, not JSON or not an object is noted there as ``(line number, why)`` and
    skipped, instead of raised. ``expects``: the objects the caller reads (``{"id1", "id2", "label"}``), named
    when the file is in another format (a CSV file, a JSON array). ``limit``: a line of more bytes than this (line
    end aside) is a bad line, read past a block at a time, never held whole, as a feed's record longer than
    ``--max-record-bytes`` is (the default is that option's default; None: no limit, for the files a run wrote).

    Raises:
        InputNotFoundError: the file cannot be opened.
        InputFormatError: a line is not UTF-8, not JSON, or not an object, or is longer than ``limit`` (file and line
            named; not with ``bad``), the file is UTF-16 or UTF-32, a Parquet file or a zip archive (also with
            ``bad``), or a compressed file cannot be decompressed.
    """
    for lineno, obj in _json_lines(path, storage_options, expects, limit):
        if isinstance(obj, InputFormatError):
            if bad is None:
                raise obj
            bad.append((lineno, obj.message))
            continue
        yield lineno, obj


def _json_lines(path: str | Path, storage_options: Sequence[tuple[str, Any]], expects: str = "",
                limit: int | None = None) -> Iterator[tuple[int, Any]]:
    """:func:`json_objects`'s lines: ``(line number, object)``, or ``(line number, the error of that line)``."""
    from .readers.compression import compression_errors, compression_of, decompressed_stdin, file_compression, open_compressed
    from .readers.lines import _not_utf8, _skip_rest, refuse_binary, refuse_wide, wide_start

    name = str(path)
    try:  # .gz, .zst, .xz, .bz2 decompressed as the feeds' readers do (a .gz was "not UTF-8, iconv it")
        if is_url(name):  # compressed as its name says, a query aside (a signed URL's ?sig=…), as a feed's URL
            remote = remote_file(name, storage_options)
            handle: IO[Any] = open_compressed(remote, compression_of(remote.name))  # type: ignore[arg-type]
        else:  # stdin as bytes when it has them (a text stream in tests, embedding: its lines as they are)
            handle = (decompressed_stdin(getattr(sys.stdin, "buffer", sys.stdin)) if name == "-"
                      else open_compressed(Path(name), file_compression(Path(name))))
    except InputNotFoundError:
        raise
    except OSError as exc:
        raise InputNotFoundError(f"{name}: cannot open the file ({exc.strerror or exc}); check the path") from None
    lineno = 0
    try:  # line by line in bytes, each decoded on its own: an undecodable byte is reported at its own line
        size = -1 if limit is None else limit + 1  # one more: a line of exactly `limit` plus its "\n" still fits
        for lineno, raw in enumerate(iter(lambda: handle.readline(size), b""), 1):
            if not raw:  # a text stream ends with "", not b""
                break
            if lineno == 1 and isinstance(raw, bytes) and (wide := wide_start(raw)) is not None:
                raise refuse_wide(wide, None if name == "-" else name)  # its lines are not split at its line ends
            if limit is not None and len(raw) > limit and raw[-1:] not in (b"\n", "\n"):
                # a line of hundreds of megabytes was read whole (and parsed): bounded as a feed's record is
                length = len(raw) + _skip_rest(handle)[0]
                unit = "characters" if isinstance(raw, str) else "bytes"
                yield lineno, InputFormatError(f"line too long: {length} {unit} > the limit of {limit} (--max-record-bytes); "
                                               "it was read past, not read whole: raise the limit if the line is meant",
                                               name, lineno)
                continue
            # a Parquet or zip file was reported as UTF-16, with an iconv command (checked before decoding: a zip's
            # first "line" can be valid UTF-8, when its header's time or CRC holds the byte 0x0A)
            binary = refuse_binary(raw, None if name == "-" else name, "this input is JSON Lines: write it as JSONL, "
                                   "one object per line") if lineno == 1 and isinstance(raw, bytes) else None
            if binary is not None:
                raise binary
            try:
                line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            except UnicodeDecodeError as exc:  # UTF-16 named as such, a cut-off file as cut off
                yield lineno, InputFormatError(_not_utf8(exc, None if name == "-" else name), name, lineno)
                continue
            if lineno == 1 and line.startswith("\ufeff"):  # a byte-order mark, as editors on Windows write
                line = line[1:]
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                other = other_format(name, line, expects) if lineno == 1 else None  # a CSV file given where JSONL is read
                obj = InputFormatError(other or f"malformed JSON ({json_problem(exc.msg)} at column {exc.colno}); each line "
                                       "must be one JSON object", name, lineno)
            except RecursionError:  # a value nested thousands deep exhausts the parser's stack
                obj = InputFormatError("JSON nested too deeply to read", name, lineno)
            if not isinstance(obj, (dict, InputFormatError)):
                other = other_format(name, line, expects) if lineno == 1 and isinstance(obj, list) else None
                obj = InputFormatError(other or f"each line must be a JSON object, not {_kind(obj)}", name, lineno)
            yield lineno, obj
    except (EOFError, *compression_errors()) as exc:  # gzip's OSError too: cut short, or not compressed as named
        raise InputFormatError(f"cannot decompress the file ({exc}); is it complete, and compressed as its name says?",
                               name, lineno + 1) from None
    except OSError as exc:
        decompressing = (handle is not getattr(sys.stdin, "buffer", sys.stdin)
                         and not isinstance(handle, io.BufferedReader)) if name == "-" else (
            compression_of(name) is not None or file_compression(Path(name)) is not None)
        if not decompressing:
            raise
        raise InputFormatError(f"cannot decompress the file ({exc}); is it complete, and compressed as its name says?",
                               name, lineno + 1) from None
    finally:
        if name != "-":
            handle.close()


def other_format(name: str, line: str, expects: str = "") -> str | None:
    """What a JSON Lines side input seems to be instead when its first ``line`` is not a JSON object, and what it must
    be (``expects``: the objects read); None when it looks like JSON Lines with a bad line.

    A CSV file given as gold labels or text pairs was "malformed JSON at line
    1", naming neither the format expected nor the one given.

    >>> other_format("gold.csv", "id1,id2,label", '{"id1", "id2", "label"}')
    'a CSV file (named .csv), not JSON Lines: this input is one JSON object per line, {"id1", "id2", "label"}; convert it to JSONL'
    >>> other_format("-", "id\\ttext1\\ttext2")
    'TSV (a first line of tab-separated names), not JSON Lines: this input is one JSON object per line; convert it to JSONL'
    >>> other_format("pairs.jsonl", '{"id": 1, "text1": "a" "text2": "b"}') is None
    True
    """
    from .readers.compression import compression_of

    start = line.strip()
    must = f"this input is one JSON object per line{', ' + expects if expects else ''}"
    if start.startswith("["):
        return f"a JSON array, not JSON Lines: {must}; write each object on its own line (jq -c '.[]' FILE.json > FILE.jsonl)"
    if start == "{":
        return f"a JSON document written over several lines, not JSON Lines: {must} (jq -c . FILE.json > FILE.jsonl)"
    plain = name.split("?", 1)[0]  # a URL's query is not part of its name
    plain = plain[: len(plain) - len(compression_of(plain) or "")].lower()
    named = next((k for k in ("csv", "tsv") if plain.endswith(f".{k}")), None)
    if named is not None:
        return f"a {named.upper()} file (named .{named}), not JSON Lines: {must}; convert it to JSONL"
    if not start.startswith("{") and ("," in start or "\t" in start):  # a header line under another name, or on stdin
        kind = ("TSV", "tab") if "\t" in start else ("CSV", "comma")
        return f"{kind[0]} (a first line of {kind[1]}-separated names), not JSON Lines: {must}; convert it to JSONL"
    return None


def _kind(value: Any) -> str:
    """The JSON kind of a parsed value that is not an object.

    >>> _kind([1]), _kind("a"), _kind(3.5), _kind(None), _kind(True)
    ('an array', 'a string', 'a number', 'null', 'a boolean')
    """
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return "null" if value is None else "a number"
