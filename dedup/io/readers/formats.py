"""Which format a file holds, from its name: the suffix, after a compression suffix (``feed.jsonl.zst``)."""

from __future__ import annotations

import os
from pathlib import Path

from ...errors import InputFormatError
from .compression import compression_of

_SUFFIX_FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "txt",
    ".zip": "zip",
    ".parquet": "parquet",
}
_STREAMED = ("jsonl", "json", "csv", "tsv")  # the formats that may be compressed


def _format_of_name(name: str) -> str | None:
    """The format a file name tells (a compression suffix aside), or None.

    >>> _format_of_name("feed.NDJSON.gz"), _format_of_name("part-0.parquet"), _format_of_name("_SUCCESS")
    ('jsonl', 'parquet', None)
    """
    base = name.lower().removesuffix(compression_of(name) or "")
    return _SUFFIX_FORMATS.get(os.path.splitext(base)[1])


def _guess_format(path: Path, name: str) -> str:
    """The format of ``path`` from its suffix (a compression suffix aside); a directory is ``auto`` (its files decide)."""
    if path.is_dir():
        return "auto"
    fmt = _format_of_name(path.name)
    if fmt is None:
        raise InputFormatError(
            "cannot tell the format from the file name; use --format jsonl, json, csv, tsv, txt, zip, parquet "
            "or newsplease", name
        )
    return fmt
