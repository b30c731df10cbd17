"""Bytes to text: strict UTF-8, line by line, with a message that says how to convert.

A file is decoded one line at a time (:func:`_lines`), so one undecodable line
costs only that record; a document read whole (a JSON file, a ``.txt``
article) is decoded at once (:func:`_decode_document`) and its first bad byte
is located by line and column. A leading byte-order mark is dropped either
way. The message (:func:`_not_utf8`) names the bytes and the column, and
shows the ``iconv`` command that converts the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import IO

from .records import _Bad


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
