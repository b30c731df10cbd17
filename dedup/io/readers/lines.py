"""Bytes to text: strict UTF-8, line by line, with a message that says how to convert.

A file is decoded one line at a time (:func:`_lines`), so one undecodable line
costs only that record; a document read whole (a JSON file, a ``.txt``
article) is decoded at once (:func:`_decode_document`) and its first bad byte
is located by line and column. A leading byte-order mark is dropped either
way. The message (:func:`_not_utf8`) names the bytes and the column, and
shows the ``iconv`` command that converts the file (from UTF-16 when the
file starts with a UTF-16 byte-order mark or holds NUL bytes, which UTF-8
text never does). A file read line by line whose start shows it is UTF-16 or
UTF-32 is refused whole (:func:`wide_start`): its lines cannot be found by
their UTF-8 line ends, so counting them as bad records would count wrong.
So is a Parquet file or a zip archive read as text (:func:`refuse_binary`):
its undecodable bytes were reported as UTF-16, with an ``iconv`` command.
A line longer than the record limit is skipped while it is read, in blocks,
and never held whole.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from typing import IO

from ...errors import InputFormatError
from .records import _Bad

_BLOCK = 1 << 20  # an over-long line is skipped this many bytes at a time
_UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)  # checked first: FF FE 00 00 also starts with FF FE
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_CATS = {".gz": "zcat", ".zst": "zstdcat", ".xz": "xzcat", ".bz2": "bzcat"}  # what decompresses to stdout, by suffix
#: The first bytes of the binary inputs dedup reads (Parquet's magic, then the 0x15 that starts the thrift header after
#: it; a zip's local file header), and their format: a text reader given one names it.
_BINARY = (("PAR1", b"PAR1\x15", "parquet", "a Parquet file"), ("PK", b"PK\x03\x04", "zip", "a zip archive"))


def refuse_binary(first_line: bytes, file: str | None, hint: str | None = None) -> InputFormatError | None:
    r"""The error that refuses a whole file read as text whose undecodable first line starts as a Parquet file or a
    zip archive does, or None; ``hint`` says what to do (default: name its format with ``--format``).

    >>> print(refuse_binary(b"PAR1\x15\x04\x15\xa0", "feed.jsonl"))
    feed.jsonl: the file is a Parquet file (it starts with PAR1), not text; read it with --format parquet
    >>> refuse_binary(b"PAR1,PAR2,caf\xe9", "feed.csv") is None  # a header of Latin-1 text that starts so
    True
    """
    for shown, magic, fmt, what in _BINARY:
        if first_line.startswith(magic):
            return InputFormatError(f"the file is {what} (it starts with {shown}), not text; "
                                    f"{hint or f'read it with --format {fmt}'}", file or "<stdin>")
    return None


def _wide_encoding(data: bytes, nul: bool = True) -> str | None:
    """``"UTF-16"`` or ``"UTF-32"`` when ``data`` starts with their byte-order mark (or, with ``nul``, holds NUL bytes), else None."""
    if data.startswith(_UTF32_BOMS):
        return "UTF-32"
    if data.startswith(_UTF16_BOMS) or (nul and b"\x00" in data):
        return "UTF-16"
    return None


def wide_start(head: bytes) -> str | None:
    r"""The encoding a file read line by line is in when its first line shows UTF-16 or UTF-32, else None.

    A byte-order mark says it (``"UTF-16"``, ``"UTF-32"``: iconv reads the
    byte order from it); without one, UTF-16 text of records starts with an
    ASCII character and a NUL (``"UTF-16LE"``) or a NUL and an ASCII
    character (``"UTF-16BE"``), and every NUL of the line falls on that side.
    UTF-8 text holds no NUL (a stray one is one bad line, left to the parser).

    >>> wide_start(b"\xff\xfe{\x00"), wide_start('{"a"\n'.encode("utf-16-le")), wide_start('{"a"'.encode("utf-16-be"))
    ('UTF-16', 'UTF-16LE', 'UTF-16BE')
    >>> wide_start(b'{"a": 1}\n'), wide_start(b'{"a\x00": "\x00"}\n'), wide_start(b"\xef\xbb\xbf{}")
    (None, None, None)
    """
    if head.startswith(_UTF32_BOMS):
        return "UTF-32"
    if head.startswith(_UTF16_BOMS):
        return "UTF-16"
    if len(head) < 4 or (head[0] == 0) == (head[1] == 0) or max(head[:2]) >= 0x80:
        return None
    side = 0 if head[0] == 0 else 1
    nuls = [k for k, b in enumerate(head) if b == 0]
    if len(nuls) >= 2 and all(k % 2 == side for k in nuls):
        return "UTF-16BE" if side == 0 else "UTF-16LE"
    return None


def refuse_wide(encoding: str, file: str | None) -> InputFormatError:
    """The error that refuses a whole file in ``encoding`` (see :func:`wide_start`); ``file`` None is stdin."""
    why = "it starts with its byte-order mark" if encoding in ("UTF-16", "UTF-32") else "NUL bytes beside its ASCII characters"
    how = _convert(file, encoding)
    suffix = next((s for s in _CATS if file is not None and file.lower().endswith(s)), None)
    if suffix is not None:  # the text inside the compression is what needs converting
        how = f"e.g. {_CATS[suffix]} {file} | iconv -f {encoding} -t UTF-8 > utf8-{os.path.basename(str(file))[: -len(suffix)]}"
    return InputFormatError(f"the file is {encoding} ({why}), not UTF-8, and was not read; convert it to UTF-8, {how}",
                            file or "<stdin>")


def _convert(file: str | None, source: str) -> str:
    """The ``iconv`` command that converts ``file`` (None: stdin) from ``source`` to UTF-8."""
    if file is None:
        return f"pipe it through iconv -f {source} -t UTF-8"
    return f"e.g. iconv -f {source} -t UTF-8 {file} > utf8-{os.path.basename(file)}"


def _not_wide(encoding: str, file: str | None) -> str:
    return (f"the file looks like {encoding} (a byte-order mark or NUL bytes), not UTF-8; "
            f"convert it, {_convert(file, encoding)}")


def _not_utf8(err: UnicodeDecodeError, file: str | None, line_start: int = 0) -> str:
    """The message for undecodable bytes; ``file`` (None for stdin) goes into the iconv example."""
    wide = _wide_encoding(err.object)
    if wide is not None:
        return _not_wide(wide, file)
    bad = " ".join(f"0x{b:02X}" for b in err.object[err.start : err.end])
    head = err.object[line_start : err.start]
    if err.reason == "unexpected end of data" and not err.object[err.end :].strip(b"\r\n") and max(head, default=0) >= 0x80:
        # valid UTF-8 letters, then bytes that stop inside one: UTF-8 cut short (a truncated download or copy)
        return (f"the line ends inside a character (byte {bad} at column {err.start - line_start + 1}): the file looks cut "
                "off (an interrupted download or copy?); take a complete copy, or drop the last line")
    return (
        f"byte {bad} at column {err.start - line_start + 1} is not valid UTF-8: the file is not UTF-8; "
        f"convert it, {_convert(file, 'WINDOWS-1256')} (with the file's real encoding after -f)"
    )


def _decode_document(data: bytes, file: str | None) -> str | tuple[int, str]:
    """Decode a whole document strictly: the text, or ``(line, reason)`` for undecodable bytes."""
    wide = _wide_encoding(data[:4], nul=False)  # a BOM: NUL bytes alone are valid UTF-8, left to the parser
    if wide is not None:
        return 1, _not_wide(wide, file)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        decoded = err.object  # without the BOM, which utf-8-sig removed first
        line_start = decoded.rfind(b"\n", 0, err.start) + 1
        return decoded.count(b"\n", 0, err.start) + 1, _not_utf8(err, file, line_start)


def _too_long(length: int, limit: int, unit: str = "bytes", quotes: int = 0, what: str = "record") -> _Bad:
    return _Bad(
        f"{what} too long: {length} {unit} > the limit of {limit} (--max-record-bytes); it was skipped unread: "
        "raise the limit if it is an article, or skip it with --skip-bad",
        length, quotes,
    )


def _skip_rest(stream: IO[bytes] | IO[str]) -> tuple[int, int]:
    """Read past the rest of the current line, a block at a time; returns its length without the line end, and the
    double quotes it held."""
    n = quotes = 0
    while True:
        block = stream.readline(_BLOCK)
        if not block:
            return n, quotes
        quotes += block.count(b'"' if isinstance(block, bytes) else '"')
        if block[-1:] in (b"\n", "\n"):
            return n + len(block) - 1, quotes
        n += len(block)


def _lines(
    stream: IO[bytes] | IO[str], file: str | None, limit: int | None = None
) -> Iterator[tuple[int, str | _Bad]]:
    """Yield ``(line number, text)`` for each line; a line that is not UTF-8 becomes a ``_Bad``.

    The same as :func:`_raw_lines` without the raw line.
    """
    for lineno, text, _ in _raw_lines(stream, file, limit):
        yield lineno, text


def _raw_lines(
    stream: IO[bytes] | IO[str], file: str | None, limit: int | None = None, first: int = 1
) -> Iterator[tuple[int, str | _Bad, bytes | str | None]]:
    """Yield ``(line number, text, raw line)`` for each line; a line that is not UTF-8 becomes a ``_Bad``.

    The raw line is the bytes read (a byte-order mark left out; the text
    stream's own string for a text stream), kept so that a record can be
    written back byte for byte without encoding its text again; None for a
    line skipped unread.

    A line of more than ``limit`` bytes (line end aside; characters for a
    text stream) becomes a ``_Bad`` without being held whole. A stream that
    starts inside a file (a block of its lines) gives its first line number
    as ``first``.

    Raises:
        InputFormatError: the file's first line shows UTF-16 or UTF-32 (:func:`wide_start`): split at the byte
            0x0A its lines are not its records (UTF-16's line end is two bytes, and 0x0A is a byte of other
            characters), so it is refused whole, with or without ``skip_bad``, instead of read as bad lines.
    """
    size = -1 if limit is None else limit + 1  # one more: a line of exactly `limit` plus its "\n" still fits
    for lineno, raw in enumerate(iter(lambda: stream.readline(size), b""), first):
        if not raw:  # a text stream ends with "", not b""
            return
        if lineno == 1 and isinstance(raw, bytes) and (wide := wide_start(raw)) is not None:
            raise refuse_wide(wide, file)
        # before decoding: a zip's header whose time or CRC holds the byte 0x0A is a short first "line" of valid UTF-8
        if lineno == 1 and isinstance(raw, bytes) and (binary := refuse_binary(raw, file)) is not None:
            raise binary
        if limit is not None and len(raw) > limit and raw[-1:] not in (b"\n", "\n"):
            is_text = isinstance(raw, str)
            rest, quotes = _skip_rest(stream)
            yield lineno, _too_long(len(raw) + rest, limit, "characters" if is_text else "bytes",
                                    raw.count('"' if is_text else b'"') + quotes), None
            continue
        if isinstance(raw, str):  # a text stream (e.g. a replaced sys.stdin) is already decoded
            text = raw.removeprefix("\ufeff") if lineno == 1 else raw
            yield lineno, text, text
            continue
        if lineno == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            text: str | _Bad = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            text = _Bad(_not_utf8(err, file))
        yield lineno, text, raw
