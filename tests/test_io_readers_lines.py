"""dedup.io.readers.lines: strict UTF-8 line by line, documents decoded whole, over-long lines skipped unread."""

from __future__ import annotations

import codecs
import io

import pytest

import dedup.io.readers.lines as lines_module
from dedup.errors import InputFormatError
from dedup.io.readers.lines import (
    _decode_document,
    _lines,
    _not_utf8,
    _skip_rest,
    _too_long,
    _wide_encoding,
    wide_start,
)
from dedup.io.readers.records import _Bad


@pytest.mark.parametrize(
    ("data", "nul", "expected"),
    [
        pytest.param(codecs.BOM_UTF32_LE + b"a\x00\x00\x00", True, "UTF-32", id="utf32-le-bom-before-utf16"),
        pytest.param(codecs.BOM_UTF32_BE, True, "UTF-32", id="utf32-be-bom"),
        pytest.param(codecs.BOM_UTF16_LE + b"a\x00", False, "UTF-16", id="utf16-le-bom"),
        pytest.param(codecs.BOM_UTF16_BE + b"\x00a", False, "UTF-16", id="utf16-be-bom"),
        pytest.param(b"a\x00b\x00", True, "UTF-16", id="nul-bytes"),
        pytest.param(b"a\x00b\x00", False, None, id="nul-bytes-not-counted"),
        pytest.param(codecs.BOM_UTF8 + b"abc", True, None, id="utf8-bom"),
        pytest.param("قال".encode(), True, None, id="arabic-utf8"),
        pytest.param(b"", True, None, id="empty"),
    ],
)
def test_wide_encoding(data: bytes, nul: bool, expected: str | None) -> None:
    assert _wide_encoding(data, nul) == expected


def _decode_error(data: bytes) -> UnicodeDecodeError:
    with pytest.raises(UnicodeDecodeError) as err:
        data.decode("utf-8")
    return err.value


def test_not_utf8_names_the_bytes_the_column_and_the_command() -> None:
    message = _not_utf8(_decode_error(b"ab\xe4cd"), "/data/feeds/news.csv")
    assert "byte 0xE4 at column 3 is not valid UTF-8" in message
    assert "iconv -f WINDOWS-1256 -t UTF-8 /data/feeds/news.csv > utf8-news.csv" in message


def test_not_utf8_column_counts_from_the_line_start() -> None:
    message = _not_utf8(_decode_error(b"line one\nab\xff"), "f.txt", line_start=9)
    assert "at column 3" in message


def test_not_utf8_on_stdin_says_pipe() -> None:
    assert "pipe it through iconv -f WINDOWS-1256 -t UTF-8" in _not_utf8(_decode_error(b"\xff"), None)


def test_not_utf8_of_utf16_text_says_utf16() -> None:
    message = _not_utf8(_decode_error("ab\u00e9".encode("utf-16-le") + b"\xff\xfe"), "f.jsonl")
    assert "looks like UTF-16" in message and "iconv -f UTF-16 -t UTF-8 f.jsonl" in message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b"", "", id="empty"),
        pytest.param("قال\nالوزير".encode(), "قال\nالوزير", id="arabic"),
        pytest.param(codecs.BOM_UTF8 + b"abc", "abc", id="bom-dropped"),
        pytest.param(b"a\x00b", "a\x00b", id="nul-bytes-are-utf8"),
    ],
)
def test_decode_document(data: bytes, expected: str) -> None:
    assert _decode_document(data, "f.txt") == expected


@pytest.mark.parametrize(
    ("data", "line", "column"),
    [
        pytest.param(b"\xff", 1, 1, id="first-byte"),
        pytest.param(b"one\ntwo\nth\xe4ree", 3, 3, id="third-line"),
        pytest.param(codecs.BOM_UTF8 + b"ab\xe4", 1, 3, id="column-after-a-bom"),
        pytest.param(codecs.BOM_UTF8 + b"a\nbc\xe4", 2, 3, id="second-line-after-a-bom"),
    ],
)
def test_decode_document_locates_the_first_bad_byte(data: bytes, line: int, column: int) -> None:
    got = _decode_document(data, "f.txt")
    assert isinstance(got, tuple) and got[0] == line
    assert f"at column {column} " in got[1]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_decode_document_with_a_wide_bom(encoding: str) -> None:
    got = _decode_document("abc".encode(encoding), "f.txt")
    name = encoding.upper()
    message = (f"the file looks like {name} (a byte-order mark or NUL bytes), not UTF-8; "
               f"convert it, e.g. iconv -f {name} -t UTF-8 f.txt > utf8-f.txt")
    assert got == (1, message)


def test_too_long() -> None:
    bad = _too_long(120, 100)
    assert isinstance(bad, _Bad)
    assert bad.reason.startswith("record too long: 120 bytes > the limit of 100 (--max-record-bytes)")
    assert "120 characters" in _too_long(120, 100, "characters").reason


@pytest.mark.parametrize(
    ("rest", "length", "quotes", "after"),
    [
        pytest.param(b"abc\nnext\n", 3, 0, b"next\n", id="to-the-line-end"),
        pytest.param(b"\nnext", 0, 0, b"next", id="at-the-line-end"),
        pytest.param(b"abc", 3, 0, b"", id="to-the-end-of-the-file"),
        pytest.param(b"", 0, 0, b"", id="at-the-end-of-the-file"),
        pytest.param(b"x" * 10 + b"\nz", 10, 0, b"z", id="several-blocks"),
        pytest.param(b'a"b""c"' + b"x" * 5 + b'"\n"z"', 13, 5, b'"z"', id="quotes-of-the-line-only"),
    ],
)
def test_skip_rest(monkeypatch: pytest.MonkeyPatch, rest: bytes, length: int, quotes: int, after: bytes) -> None:
    monkeypatch.setattr(lines_module, "_BLOCK", 3)
    stream = io.BytesIO(rest)
    assert _skip_rest(stream) == (length, quotes)  # the quotes: a CSV row goes on past the line when they are odd
    assert stream.read() == after


def _read(data: bytes | str, limit: int | None = None, file: str | None = "f.jsonl") -> list[tuple[int, str | _Bad]]:
    stream = io.StringIO(data, newline="") if isinstance(data, str) else io.BytesIO(data)
    return list(_lines(stream, file, limit))


def test_lines_keep_their_ends_and_numbers() -> None:
    assert _read(b"a\r\n\nb") == [(1, "a\r\n"), (2, "\n"), (3, "b")]
    assert _read(b"") == []


def test_a_bom_is_dropped_on_the_first_line_only() -> None:
    assert _read(codecs.BOM_UTF8 + b"a\n" + codecs.BOM_UTF8 + b"b\n") == [(1, "a\n"), (2, "\ufeffb\n")]
    assert _read("\ufeffa\nb\n") == [(1, "a\n"), (2, "b\n")]  # a text stream too


def test_one_undecodable_line_costs_only_that_line() -> None:
    got = _read("قال\n".encode() + b"x\xffy\n" + b"ok\n")
    assert got[0] == (1, "قال\n") and got[2] == (3, "ok\n")
    assert got[1][0] == 2 and isinstance(got[1][1], _Bad) and "byte 0xFF at column 2" in got[1][1].reason


def test_a_nul_in_one_line_is_left_to_the_parser() -> None:
    assert _read(b'{"a": 1}\n{"b": "\x00"}\n') == [(1, '{"a": 1}\n'), (2, '{"b": "\x00"}\n')]


# U+010A and U+0A0A hold the byte 0x0A in UTF-16, and UTF-16's line end is two bytes: split at 0x0A, the two records
# of these lines were 4 or 5 bad lines, depending on the byte order
_WIDE_RECORDS = '{"id": "a", "text": "\u010a one"}\n{"id": "b", "text": "\u0a0a two \u0627"}\n'


@pytest.mark.parametrize(
    ("data", "name"),
    [
        pytest.param(_WIDE_RECORDS.encode("utf-16"), "UTF-16", id="utf16-bom"),
        pytest.param(codecs.BOM_UTF16_LE + _WIDE_RECORDS.encode("utf-16-le"), "UTF-16", id="utf16-le-bom"),
        pytest.param(codecs.BOM_UTF16_BE + _WIDE_RECORDS.encode("utf-16-be"), "UTF-16", id="utf16-be-bom"),
        pytest.param(_WIDE_RECORDS.encode("utf-16-le"), "UTF-16LE", id="utf16-le"),
        pytest.param(_WIDE_RECORDS.encode("utf-16-be"), "UTF-16BE", id="utf16-be"),
        pytest.param(_WIDE_RECORDS.encode("utf-32"), "UTF-32", id="utf32-bom"),
        pytest.param("id,text\na,\u010a\n".encode("utf-16"), "UTF-16", id="utf16-csv"),
    ],
)
def test_a_wide_file_is_refused_whole(data: bytes, name: str) -> None:
    """A UTF-16 file was read as lines split at the byte 0x0A: one bad record per piece, a wrong count (--skip-bad)."""
    with pytest.raises(InputFormatError) as got:
        _read(data)
    assert str(got.value) == (f"f.jsonl: the file is {name} ({'NUL bytes beside its ASCII characters' if name[-1] == 'E' else 'it starts with its byte-order mark'}), "
                              f"not UTF-8, and was not read; convert it to UTF-8, e.g. iconv -f {name} -t UTF-8 f.jsonl > utf8-f.jsonl")
    with pytest.raises(InputFormatError, match=r"^<stdin>: the file is .*pipe it through iconv -f UTF-"):
        _read(data, file=None)


@pytest.mark.parametrize(
    ("file", "how"),
    [
        pytest.param("d/f.jsonl.gz", "e.g. zcat d/f.jsonl.gz | iconv -f UTF-16 -t UTF-8 > utf8-f.jsonl", id="gz"),
        pytest.param("f.csv.ZST", "e.g. zstdcat f.csv.ZST | iconv -f UTF-16 -t UTF-8 > utf8-f.csv", id="zst"),
        pytest.param("f.jsonl", "e.g. iconv -f UTF-16 -t UTF-8 f.jsonl > utf8-f.jsonl", id="plain"),
    ],
)
def test_a_compressed_wide_file_is_decompressed_before_iconv(file: str, how: str) -> None:
    with pytest.raises(InputFormatError) as got:
        _read('{"a": 1}\n'.encode("utf-16"), file=file)
    assert str(got.value).endswith(how)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        pytest.param(b'{"id": "a\x00\x00"}\n', None, id="utf8-with-nuls"),
        pytest.param(b'{\x00"\x00a\x00"\x00:\x00\x00\n', None, id="nuls-on-both-sides"),
        pytest.param(b"\x00\x00\x00{", None, id="utf32-be-without-bom"),
        pytest.param(b"\xd8\x00\x00", None, id="not-ascii-first"),
        pytest.param(b"{\x00", None, id="too-short"),
        pytest.param("\u0627\u0644".encode("utf-16-le"), None, id="no-ascii-start"),
        pytest.param(codecs.BOM_UTF8 + b'{"a": 1}\n', None, id="utf8-bom"),
        pytest.param(b"", None, id="empty"),
        pytest.param('{"a": "\u0627"}\n'.encode("utf-16-le"), "UTF-16LE", id="le"),
        pytest.param('id,text\n'.encode("utf-16-be"), "UTF-16BE", id="be"),
    ],
)
def test_wide_start(head: bytes, expected: str | None) -> None:
    assert wide_start(head) == expected


@pytest.mark.parametrize(
    ("data", "limit", "expected"),
    [
        pytest.param(b"abcde\nxy\n", 5, [(1, "abcde\n"), (2, "xy\n")], id="exactly-the-limit-fits"),
        pytest.param(b"abcde", 5, [(1, "abcde")], id="exactly-the-limit-at-the-end"),
        pytest.param(b"abcdef\nxy\n", 5, [(1, 6), (2, "xy\n")], id="one-over"),
        pytest.param(b"abcdefgh", 5, [(1, 8)], id="over-at-the-end-without-a-newline"),
        pytest.param(b"x" * 50 + b"\n\n" + b"y" * 7, 5, [(1, 50), (2, "\n"), (3, 7)], id="several-long-lines"),
    ],
)
def test_lines_over_the_limit_are_bad_and_skipped(monkeypatch: pytest.MonkeyPatch, data: bytes, limit: int, expected: list) -> None:
    monkeypatch.setattr(lines_module, "_BLOCK", 4)  # the skipped rest is read in several blocks
    got = _read(data, limit)
    assert [n for n, _ in got] == [n for n, _ in expected]
    for (_, value), (_, want) in zip(got, expected):
        if isinstance(want, int):
            assert isinstance(value, _Bad) and value.reason.startswith(f"record too long: {want} bytes > the limit of {limit}")
        else:
            assert value == want


def test_a_text_stream_counts_characters() -> None:
    got = _read("ققققق\nقققققق\n", limit=5)
    assert got[0] == (1, "ققققق\n")  # five characters, ten bytes: fits
    assert isinstance(got[1][1], _Bad) and "6 characters > the limit of 5" in got[1][1].reason


def test_a_byte_stream_counts_bytes() -> None:
    got = _read("ققق\n".encode(), limit=5)
    assert isinstance(got[0][1], _Bad) and "6 bytes" in got[0][1].reason


def test_not_utf8_of_a_file_cut_inside_a_character_says_cut_off() -> None:
    """UTF-8 that stops inside a character was called another encoding, with an iconv command that would garble it."""
    cut = '{"text": "قال"}'.encode()[:-3]  # inside the last letter
    message = _not_utf8(_decode_error(cut), "f.jsonl")
    assert message.startswith("the line ends inside a character (byte 0xD9 at column 15): the file looks cut off")
    assert "iconv" not in message
    assert "is not valid UTF-8" in _not_utf8(_decode_error("قال".encode("cp1256") + b'"}'), "f.jsonl")  # another encoding
