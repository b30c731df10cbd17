"""Open inputs to items: the format dispatch shared by files, zip members and stdin.

:func:`_stream_items` reads an open stream in one format; :func:`_file_items`
opens a path (decompressing ``.gz`` on the fly); :func:`_read_guard` turns
low-level read failures into one :class:`~dedup.errors.InputFormatError`
that names the input.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ...errors import DedupError, InputFormatError, InputNotFoundError
from .delimited import _csv_items
from .jsonl import _json_items, _jsonl_items
from .lines import _lines
from .records import _Item, _Items


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


def _stream_items(fmt: str, stream: IO[bytes] | IO[str], name: str, file: str | None) -> _Items:
    """The items of an open stream in ``fmt``; ``file`` (None for stdin) goes into encoding hints."""
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
