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

from ..errors import InputFormatError, InputNotFoundError, json_problem
from .remote import is_url, remote_file

__all__ = ["json_objects"]


def json_objects(path: str | Path, storage_options: Sequence[tuple[str, Any]] = (),
                 bad: list[tuple[int, str]] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for each non-blank line; ``-`` reads stdin, a URL is streamed.

    ``bad``: a line that is not UTF-8, not JSON or not an object is noted there as ``(line number, why)`` and
    skipped, instead of raised.

    Raises:
        InputNotFoundError: the file cannot be opened.
        InputFormatError: a line is not UTF-8, not JSON, or not an object (file and line named; not with ``bad``),
            the file is UTF-16 or UTF-32, a Parquet file or a zip archive (also with ``bad``), or a compressed file
            cannot be decompressed.
    """
    for lineno, obj in _json_lines(path, storage_options):
        if isinstance(obj, InputFormatError):
            if bad is None:
                raise obj
            bad.append((lineno, obj.message))
            continue
        yield lineno, obj


def _json_lines(path: str | Path, storage_options: Sequence[tuple[str, Any]]) -> Iterator[tuple[int, Any]]:
    """:func:`json_objects`'s lines: ``(line number, object)``, or ``(line number, the error of that line)``."""
    from .readers.compression import compression_errors, compression_of, decompressed_stdin, file_compression, open_compressed
    from .readers.lines import _not_utf8, refuse_binary, refuse_wide, wide_start

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
        for lineno, raw in enumerate(handle, 1):
            if lineno == 1 and isinstance(raw, bytes) and (wide := wide_start(raw)) is not None:
                raise refuse_wide(wide, None if name == "-" else name)  # its lines are not split at its line ends
            try:
                line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            except UnicodeDecodeError as exc:  # UTF-16 named as such, a cut-off file as cut off
                binary = refuse_binary(raw, None if name == "-" else name, "this input is JSON Lines: write it as JSONL, "
                                       "one object per line") if lineno == 1 else None
                if binary is not None:  # a Parquet or zip file was reported as UTF-16, with an iconv command
                    raise binary
                yield lineno, InputFormatError(_not_utf8(exc, None if name == "-" else name), name, lineno)
                continue
            if lineno == 1 and line.startswith("\ufeff"):  # a byte-order mark, as editors on Windows write
                line = line[1:]
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                obj = InputFormatError(f"malformed JSON ({json_problem(exc.msg)} at column {exc.colno}); each line must be one "
                                       "JSON object", name, lineno)
            except RecursionError:  # a value nested thousands deep exhausts the parser's stack
                obj = InputFormatError("JSON nested too deeply to read", name, lineno)
            if not isinstance(obj, (dict, InputFormatError)):
                obj = InputFormatError("each line must be a JSON object", name, lineno)
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
