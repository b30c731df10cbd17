"""dedup.io.readers.formats: a file's format from its name, a compression suffix aside."""

from __future__ import annotations

from pathlib import Path

import pytest

from dedup.errors import InputFormatError
from dedup.io.readers.compression import COMPRESSED_SUFFIXES
from dedup.io.readers.formats import _STREAMED, _format_of_name, _guess_format


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("feed.jsonl", "jsonl"),
        ("feed.ndjson", "jsonl"),
        ("feed.json", "json"),
        ("feed.csv", "csv"),
        ("feed.tsv", "tsv"),
        ("a.txt", "txt"),
        ("feeds.zip", "zip"),
        ("part-0.parquet", "parquet"),
        ("FEED.JSONL", "jsonl"),
        ("feed.2024-01.jsonl", "jsonl"),
        ("أخبار.csv", "csv"),
        ("feed.jsonl.gz", "jsonl"),
        ("feed.NDJSON.ZST", "jsonl"),
        ("feed.csv.xz", "csv"),
        ("feed.tsv.bz2", "tsv"),
        ("feed.zip.gz", "zip"),  # the name tells zip; whether it may be compressed is decided elsewhere
        ("feed.gz", None),
        ("feed.tar.gz", None),
        ("feed.jsonl.7z", None),
        ("feed.md", None),
        ("_SUCCESS", None),
        ("", None),
    ],
)
def test_format_of_name(name: str, expected: str | None) -> None:
    assert _format_of_name(name) == expected


def test_streamed_formats_are_the_line_and_document_formats() -> None:
    assert set(_STREAMED) == {"jsonl", "json", "csv", "tsv"}
    for fmt in _STREAMED:
        for suffix in COMPRESSED_SUFFIXES:
            assert _format_of_name(f"x.{fmt}{suffix}") == fmt


def test_guess_format_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl.gz"
    path.write_bytes(b"")
    assert _guess_format(path, str(path)) == "jsonl"


def test_a_directory_is_auto(tmp_path: Path) -> None:
    folder = tmp_path / "looks.jsonl"
    folder.mkdir()
    assert _guess_format(folder, str(folder)) == "auto"  # its files decide, whatever its name


def test_an_unknown_name_asks_for_format(tmp_path: Path) -> None:
    path = tmp_path / "feed.dat"
    path.write_bytes(b"")
    with pytest.raises(InputFormatError, match="cannot tell the format from the file name; use --format jsonl") as err:
        _guess_format(path, "the-name-given")
    assert err.value.path == "the-name-given"
