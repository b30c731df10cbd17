"""dedup.io.jsonl: the reader of side inputs (gold labels, text pairs), one JSON object a line, errors that locate."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from dedup.errors import InputFormatError, InputNotFoundError
from dedup.io.jsonl import json_objects


def _write(tmp_path: Path, content: str | bytes, name: str = "side.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def test_objects_with_their_line_numbers_blank_lines_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"a": 1}\n\n   \n{"b": "قال"}\r\n{"c": {"d": [1]}}')  # CRLF, no final newline
    assert list(json_objects(path)) == [(1, {"a": 1}), (4, {"b": "قال"}), (5, {"c": {"d": [1]}})]
    assert list(json_objects(str(path))) == list(json_objects(path))  # a str path too


def test_an_empty_file_yields_nothing(tmp_path: Path) -> None:
    assert list(json_objects(_write(tmp_path, ""))) == []
    assert list(json_objects(_write(tmp_path, "\n\n", "blank.jsonl"))) == []


def test_objects_are_read_lazily(tmp_path: Path) -> None:
    it = json_objects(_write(tmp_path, '{"a": 1}\nnot json\n'))
    assert next(it) == (1, {"a": 1})  # the bad line is reached only when asked for
    with pytest.raises(InputFormatError):
        next(it)


@pytest.mark.parametrize(
    ("content", "line", "needle"),
    [
        pytest.param('{"a": 1}\n{"a": \n', 2, "malformed JSON", id="malformed"),
        pytest.param('{"a": 1}\n\n[1, 2]\n', 3, "each line must be a JSON object", id="array"),
        pytest.param('"text"\n', 1, "each line must be a JSON object", id="string"),
        pytest.param("3\n", 1, "each line must be a JSON object", id="number"),
        pytest.param("null\n", 1, "each line must be a JSON object", id="null"),
        pytest.param("[" * 100_000 + "]" * 100_000 + "\n", 1, "nested too deeply", id="nested-too-deep"),
    ],
)
def test_bad_lines_raise_naming_file_and_line(tmp_path: Path, content: str, line: int, needle: str) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(InputFormatError, match=needle) as err:
        list(json_objects(path))
    assert err.value.path == str(path) and err.value.line == line
    assert str(err.value).startswith(f"{path}:{line}: ")


def test_not_utf8_says_how_to_convert(tmp_path: Path) -> None:
    path = _write(tmp_path, b'{"a": "\xe4"}\n')
    with pytest.raises(InputFormatError, match="not UTF-8.*iconv") as err:
        list(json_objects(path))
    assert err.value.path == str(path) and err.value.line == 1


def test_not_utf8_names_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    path = _write(tmp_path, b'{"a": 1}\n{"b": 2}\n{"c": "\xff"}\n')
    with pytest.raises(InputFormatError) as err:
        list(json_objects(path))
    assert err.value.line == 3


def test_a_missing_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(InputNotFoundError, match="nope.jsonl: cannot open the file .*check the path"):
        list(json_objects(missing))


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="cannot open the file"):
        list(json_objects(tmp_path))


def test_dash_reads_stdin_and_leaves_it_open(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = io.StringIO('{"id": 1}\n\n{"id": 2}\n')
    monkeypatch.setattr(sys, "stdin", stdin)
    assert list(json_objects("-")) == [(1, {"id": 1}), (3, {"id": 2})]
    assert not stdin.closed


def test_stdin_errors_are_located_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"id": 1}\n[]\n'))
    with pytest.raises(InputFormatError) as err:
        list(json_objects("-"))
    assert err.value.path == "-" and err.value.line == 2


@pytest.fixture
def memory_url():
    """A URL of fsspec's in-memory filesystem (no network): objects put there are read as remote files."""
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    root = "/dedup-test-io-jsonl"
    yield fs, root
    if fs.exists(root):
        fs.rm(root, recursive=True)


def test_a_url_is_streamed(memory_url) -> None:
    fs, root = memory_url
    fs.pipe(f"{root}/gold.jsonl", '{"id1": "a"}\n\n{"id1": "ب"}\n'.encode())
    assert list(json_objects(f"memory://{root}/gold.jsonl")) == [(1, {"id1": "a"}), (3, {"id1": "ب"})]


def test_a_missing_url_is_not_found(memory_url) -> None:
    _, root = memory_url
    with pytest.raises(InputNotFoundError, match="absent.jsonl"):
        list(json_objects(f"memory://{root}/absent.jsonl"))


def test_a_missing_url_says_why(memory_url) -> None:
    _, root = memory_url
    with pytest.raises(InputNotFoundError) as err:
        list(json_objects(f"memory://{root}/absent.jsonl"))
    assert "(None)" not in str(err.value)


def test_json_objects_pass_over_a_byte_order_mark_and_locate_a_bad_byte(tmp_path: Path) -> None:
    """Gold files and similarity pairs read like feeds: a BOM is no error, a non-UTF-8 byte is named with its column."""
    from dedup.io.jsonl import json_objects

    good = tmp_path / "bom.jsonl"
    good.write_bytes("\ufeff".encode("utf-8") + b'{"a": 1}\n{"a": 2}\n')
    assert [obj for _, obj in json_objects(good)] == [{"a": 1}, {"a": 2}]
    bad = tmp_path / "cp.jsonl"
    bad.write_bytes(b'{"a": 1}\n' + '{"t": "مصر"}\n'.encode("cp1256"))
    with pytest.raises(InputFormatError, match=r"cp.jsonl:2: byte 0x[0-9A-F]{2} at column 8 is not valid UTF-8: the file is not UTF-8"):
        list(json_objects(bad))


# ------------------------------------------------------------------ a line's length


def test_a_line_longer_than_the_limit_is_refused_not_read_whole(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"a": 1}\n{"b": "' + "x" * 5000 + '"}\n{"c": 3}\n')
    with pytest.raises(InputFormatError, match=r"side\.jsonl:2: line too long: 5009 bytes > the limit of 100 "
                                               r"\(--max-record-bytes\)"):
        list(json_objects(path, limit=100))
    bad: list[tuple[int, str]] = []  # read past, the lines after it read (--skip-bad)
    assert list(json_objects(path, bad=bad, limit=100)) == [(1, {"a": 1}), (3, {"c": 3})]
    assert [at for at, _ in bad] == [2] and "line too long" in bad[0][1]
    assert [at for at, _ in json_objects(path, limit=5009)] == [1, 2, 3]  # a line of the limit exactly fits
    assert [at for at, _ in json_objects(path, limit=None)] == [1, 2, 3]


def test_the_default_limit_is_the_feeds_max_record_bytes(tmp_path: Path) -> None:
    from dedup.config import ReadConfig

    big = 2 ** 24 + 10  # just past 16 MiB: once read whole and parsed
    path = _write(tmp_path, b'{"b": "' + b"x" * big + b'"}\n')
    assert ReadConfig.max_record_bytes < big
    with pytest.raises(InputFormatError, match=r":1: line too long"):
        list(json_objects(path))


def test_a_long_line_of_a_text_stream_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"a": "' + "y" * 300 + '"}\n{"b": 2}\n'))
    bad: list[tuple[int, str]] = []
    assert list(json_objects("-", bad=bad, limit=50)) == [(2, {"b": 2})]
    assert bad[0][0] == 1 and "309 characters > the limit of 50" in bad[0][1]
