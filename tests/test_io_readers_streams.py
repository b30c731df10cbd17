"""dedup.io.readers.streams: the format dispatch for open streams, and low-level read failures turned into one clear error."""

from __future__ import annotations

import gzip
import io
import lzma
import zipfile
import zlib
from pathlib import Path

import pytest

from dedup.errors import ConfigError, InputFormatError, InputNotFoundError
from dedup.io.readers.records import _Bad, _Line, _Loc
from dedup.io.readers.streams import _file_items, _read_guard, _stream_items


def _failing(exc: BaseException):
    yield _Loc("f", 1), {"id": "a"}
    raise exc


@pytest.mark.parametrize(
    "exc",
    [OSError("disk"), EOFError("Compressed file ended"), zlib.error("bad data"), zipfile.BadZipFile("Bad CRC-32"),
     lzma.LZMAError("corrupt"), gzip.BadGzipFile("Not a gzipped file")],
    ids=["os-error", "eof", "zlib", "bad-zip", "lzma", "bad-gzip"],
)
def test_read_failures_become_one_error_naming_the_input(exc: BaseException) -> None:
    items = _read_guard(_failing(exc), "feed.jsonl.gz")
    assert next(items) == (_Loc("f", 1), {"id": "a"})  # what was read before the failure passes
    with pytest.raises(InputFormatError) as err:
        next(items)
    assert err.value.path == "feed.jsonl.gz"
    assert str(err.value) == f"feed.jsonl.gz: cannot read the file ({exc}); it may be truncated or corrupt, check it or download it again"


@pytest.mark.parametrize("exc", [InputFormatError("own message", "x.jsonl", 3), ConfigError("c"), ValueError("v"), KeyError("k")])
def test_other_errors_pass_unchanged(exc: BaseException) -> None:
    with pytest.raises(type(exc)) as err:
        list(_read_guard(_failing(exc), "feed"))
    assert err.value is exc


def _values(items) -> list:
    return [(loc.line, value.value if isinstance(value, _Line) else value.reason if isinstance(value, _Bad) else value)
            for loc, value in items]


@pytest.mark.parametrize(
    ("fmt", "data", "expected"),
    [
        pytest.param("jsonl", b'{"id": 1}\n\n{"id": 2}\n', [(1, {"id": 1}), (3, {"id": 2})], id="jsonl"),
        pytest.param("csv", b"id,text\na,x\n", [(2, {"id": "a", "text": "x"})], id="csv"),
        pytest.param("tsv", b"id\ttext\na\tx, y\n", [(2, {"id": "a", "text": "x, y"})], id="tsv"),
        pytest.param("json", b'[{"id": 1}, {"id": 2}]', [(1, {"id": 1}), (2, {"id": 2})], id="json"),
    ],
)
def test_stream_items_by_format(fmt: str, data: bytes, expected: list) -> None:
    assert _values(_stream_items(fmt, io.BytesIO(data), "name", "file")) == expected


@pytest.mark.parametrize("fmt", ["txt", "zip", "parquet", "newsplease"])
def test_formats_that_are_not_streamed(fmt: str) -> None:
    with pytest.raises(InputFormatError, match=f"format '{fmt}' cannot be read from a stream; use jsonl, json, csv or tsv"):
        _stream_items(fmt, io.BytesIO(b""), "name", None)


def test_the_record_limit_reaches_the_line_reader() -> None:
    got = _values(_stream_items("jsonl", io.BytesIO(b'{"id": 1}\n{"id": "' + b"x" * 100 + b'"}\n{"id": 3}\n'), "n", "f", 20))
    assert got[0] == (1, {"id": 1}) and got[2] == (3, {"id": 3})
    assert got[1][0] == 2 and got[1][1].startswith("record too long")


def test_the_file_goes_into_encoding_hints() -> None:
    got = _values(_stream_items("jsonl", io.BytesIO(b'{"t": "\xff"}\n'), "n", "/data/feed.jsonl"))
    assert "iconv -f WINDOWS-1256 -t UTF-8 /data/feed.jsonl" in got[0][1]
    got = _values(_stream_items("jsonl", io.BytesIO(b'{"t": "\xff"}\n'), "<stdin>", None))
    assert "pipe it through iconv" in got[0][1]


@pytest.mark.parametrize(
    ("name", "write"),
    [("feed.jsonl", lambda b: b), ("feed.jsonl.gz", gzip.compress), ("feed.JSONL.XZ", lzma.compress)],
    ids=["plain", "gzip", "xz-upper-case"],
)
def test_file_items_decompress_by_name(tmp_path: Path, name: str, write) -> None:
    path = tmp_path / name
    path.write_bytes(write(b'{"id": 1}\n{"id": 2}\n'))
    assert _values(_file_items(path, "jsonl", "shown-name")) == [(1, {"id": 1}), (2, {"id": 2})]


def test_file_items_of_a_truncated_file(tmp_path: Path) -> None:
    data = gzip.compress(b"".join(b'{"id": %d}\n' % k for k in range(5000)))
    path = tmp_path / "feed.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFormatError, match="shown-name: cannot read the file .*truncated or corrupt"):
        list(_file_items(path, "jsonl", "shown-name"))


def test_file_items_of_a_missing_file(tmp_path: Path) -> None:
    items = _file_items(tmp_path / "absent.jsonl", "jsonl", "shown-name")
    with pytest.raises(InputNotFoundError, match="shown-name: cannot be read .*check the path and its permissions"):
        next(items)


def test_file_items_close_the_file(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_bytes(b'{"id": 1}\n{"id": 2}\n')
    items = _file_items(path, "jsonl", "n")
    next(items)
    items.close()  # no ResourceWarning (warnings are errors in this suite)
