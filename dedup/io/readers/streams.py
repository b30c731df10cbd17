"""Open inputs to items: the format dispatch shared by files, zip members and stdin.

:func:`_stream_items` reads an open stream in one format; :func:`_file_items`
opens a path (decompressing ``.gz``, ``.zst``, ``.xz`` and ``.bz2`` on the fly,
:mod:`.compression`); :func:`_read_guard` turns low-level read failures into
one :class:`~dedup.errors.InputFormatError` that names the input.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ...errors import DedupError, InputFormatError, InputNotFoundError
from .compression import compression_errors, file_compression, open_compressed
from .delimited import _csv_items
from .jsonl import _json_items, _jsonl_items
from .lines import _lines, _raw_lines
from .records import _Item, _Items


def _bad_zip() -> type[Exception]:
    """zipfile's error for a corrupt member, imported only when an error is raised."""
    import zipfile

    return zipfile.BadZipFile


def _read_guard(items: Iterator[_Item], name: str) -> _Items:
    """Turn low-level read failures (truncated gzip, bad zip CRC, I/O errors) into one clear error."""
    try:
        yield from items
    except DedupError:
        raise
    except (OSError, EOFError, zlib.error, _bad_zip(), *compression_errors()) as err:
        raise InputFormatError(
            f"cannot read the file ({err}); it may be truncated or corrupt, check it or download it again", name
        ) from None


def _stream_items(fmt: str, stream: IO[bytes] | IO[str], name: str, file: str | None, limit: int | None = None) -> _Items:
    """The items of an open stream in ``fmt``; ``file`` (None for stdin) goes into encoding hints.

    A line of more than ``limit`` bytes is a bad record, skipped unread (``ReadConfig.max_record_bytes``).
    """
    if fmt == "jsonl":
        return _jsonl_items(_raw_lines(stream, file, limit), name)
    if fmt in ("csv", "tsv"):
        return _csv_items(_lines(stream, file, limit), name, "\t" if fmt == "tsv" else ",", limit)
    if fmt == "json":
        return _json_items(stream, name, file)
    raise InputFormatError(f"format {fmt!r} cannot be read from a stream; use jsonl, json, csv or tsv", name)


def _file_items(path: Path, fmt: str, name: str, limit: int | None = None) -> _Items:
    try:
        stream: IO[bytes] = open_compressed(path, file_compression(path))
    except OSError as err:
        raise InputNotFoundError(
            f"{name}: cannot be read ({err.strerror}); check the path and its permissions"
        ) from None
    with stream:
        yield from _read_guard(_stream_items(fmt, stream, name, name, limit), name)
