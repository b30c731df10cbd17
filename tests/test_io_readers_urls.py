"""dedup.io.readers.urls: what a URL names (one object, a prefix read as a folder, a glob), resolved before reading.

The objects live in fsspec's in-memory filesystem (``memory://``): the same listing calls as S3, no network.
"""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from dedup.config import ReadConfig
from dedup.errors import InputFormatError, InputNotFoundError
from dedup.io.readers.urls import url_groups

fsspec = pytest.importorskip("fsspec")

ROOT = "/dedup-test-urls"
URL = f"memory://{ROOT.lstrip('/')}"


@pytest.fixture
def store():
    fs = fsspec.filesystem("memory")
    if fs.exists(ROOT):
        fs.rm(ROOT, recursive=True)

    def put(*keys: str) -> None:
        for key in keys:
            fs.pipe(f"{ROOT}/{key}", b'{"id": 1, "text": "x"}\n')

    yield put
    if fs.exists(ROOT):
        fs.rm(ROOT, recursive=True)


def _groups(url: str, **config) -> list[tuple[str, list[str], str, str]]:
    """Each group as (format, the keys of its files relative to the store, its root, its name)."""
    return [(fmt, [PurePosixPath(f.path).relative_to(ROOT).as_posix() for f in files], str(root), name)
            for fmt, files, root, name in url_groups(url, ReadConfig(**config))]


# ------------------------------------------------------------------ one object


@pytest.mark.parametrize(
    ("key", "config", "fmt"),
    [
        ("feed.jsonl", {}, "jsonl"),
        ("feed.csv.gz", {}, "csv"),
        ("feed.json.zst", {}, "json"),
        ("data.parquet", {}, "parquet"),
        ("feeds.zip", {}, "zip"),
        ("feed.dat", {"format": "jsonl"}, "jsonl"),
        ("part-0.json", {"format": "jsonl"}, "jsonl"),
    ],
)
def test_one_object(store, key: str, config: dict, fmt: str) -> None:
    store(key, "other.jsonl")
    ((got_fmt, files, root, name),) = _groups(f"{URL}/{key}", **config)
    assert (got_fmt, files, root, name) == (fmt, [key], ROOT, f"{URL}/{key}")


@pytest.mark.parametrize(
    ("key", "config", "pattern"),
    [
        ("feed.dat", {}, "cannot tell the format from the file name; use --format"),
        ("data.parquet.gz", {}, ".gz files are decompressed on the fly only for JSONL, JSON, CSV and TSV; decompress this parquet"),
        ("feeds.zip.xz", {}, "decompress this zip file first"),
        ("feed.jsonl.gz", {"format": "txt"}, "decompress this txt file first"),
    ],
)
def test_one_object_that_cannot_be_read_as_named(store, key: str, config: dict, pattern: str) -> None:
    store(key)
    with pytest.raises(InputFormatError, match=pattern):
        url_groups(f"{URL}/{key}", ReadConfig(**config))


def test_a_missing_object(store) -> None:
    store("feed.jsonl")
    with pytest.raises(InputNotFoundError, match=f"{URL}/absent.jsonl: "):
        url_groups(f"{URL}/absent.jsonl", ReadConfig())


# ------------------------------------------------------------------ globs


def test_a_glob_gives_the_matching_objects_in_key_order(store) -> None:
    store("2024-02/feed.jsonl", "2024-01/feed.jsonl", "2024-01/notes.txt", "2023-12/feed.csv", "2024-01/sub/feed.jsonl")
    got = _groups(f"{URL}/2024-*/feed.jsonl")
    assert [(fmt, files) for fmt, files, _, _ in got] == [("jsonl", ["2024-01/feed.jsonl"]), ("jsonl", ["2024-02/feed.jsonl"])]
    assert [root for _, _, root, _ in got] == [f"{ROOT}/2024-01", f"{ROOT}/2024-02"]  # each read as if named by itself


def test_a_glob_that_matches_nothing(store) -> None:
    store("feed.jsonl")
    with pytest.raises(InputNotFoundError, match="no object matches this pattern"):
        url_groups(f"{URL}/*.csv", ReadConfig())


# ------------------------------------------------------------------ prefixes


@pytest.mark.parametrize("slash", ["/", ""], ids=["with-slash", "without-slash"])
def test_a_prefix_of_feed_files_gives_one_input_per_file(store, slash: str) -> None:
    store("in/part-1.jsonl.gz", "in/part-0.jsonl.gz", "in/more/x.csv", "in/_SUCCESS", "in/.part-0.jsonl.gz.crc",
          "in/a.json.bz2", "in/pack.zip", "in/__MACOSX/part-9.jsonl", "in/.hidden/part-8.jsonl")
    got = _groups(f"{URL}/in{slash}")
    assert [(fmt, files) for fmt, files, _, _ in got] == [
        ("json", ["in/a.json.bz2"]), ("csv", ["in/more/x.csv"]), ("zip", ["in/pack.zip"]),
        ("jsonl", ["in/part-0.jsonl.gz"]), ("jsonl", ["in/part-1.jsonl.gz"]),
    ]
    assert {root for _, _, root, _ in got} == {f"{ROOT}/in"}


@pytest.mark.parametrize(
    ("keys", "fmt", "expected"),
    [
        pytest.param(["b.txt", "a.txt", "sub/c.txt", "x.txt.gz"], "txt", ["a.txt", "b.txt"], id="txt-top-level-only"),
        pytest.param(["site/2024/b.json", "site/a.json", "_SUCCESS"], "newsplease", ["site/2024/b.json", "site/a.json"], id="news-please"),
        pytest.param(["y=2/p.parquet", "y=1/p.parquet", "_SUCCESS"], "parquet", ["y=1/p.parquet", "y=2/p.parquet"], id="parquet"),
    ],
)
def test_a_prefix_of_one_folder_kind_is_one_input(store, keys: list[str], fmt: str, expected: list[str]) -> None:
    store(*(f"in/{k}" for k in keys))
    assert _groups(f"{URL}/in/") == [(fmt, [f"in/{k}" for k in expected], f"{ROOT}/in", f"{URL}/in/")]


def test_keys_are_sorted_part_by_part(store) -> None:
    store("in/a.json", "in/a-b.json", "in/a/b.json")
    assert _groups(f"{URL}/in/")[0][1] == ["in/a/b.json", "in/a-b.json", "in/a.json"]


def test_a_compressed_json_file_is_a_feed_file_not_a_news_please_article(store) -> None:
    store("in/site/a.json", "in/feed.json.gz")
    with pytest.raises(InputFormatError, match="1 .json, 1 feed"):
        url_groups(f"{URL}/in/", ReadConfig())


def test_a_prefix_of_several_kinds_is_refused_with_the_counts(store) -> None:
    store("in/a.txt", "in/b.json", "in/c.json", "in/d.jsonl")
    with pytest.raises(InputFormatError) as err:
        url_groups(f"{URL}/in/", ReadConfig())
    message = str(err.value)
    assert "the prefix holds several kinds of input (1 .txt, 2 .json, 1 feed (.jsonl, .csv, …) files)" in message
    assert "--format txt or --format newsplease or --format jsonl" in message


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        pytest.param("txt", [("txt", ["in/a.txt"])], id="txt"),
        pytest.param("newsplease", [("newsplease", ["in/b.json", "in/sub/c.json"])], id="news-please"),
        pytest.param("jsonl", [("jsonl", ["in/b.json"]), ("jsonl", ["in/d.jsonl"]), ("jsonl", ["in/e.csv.gz"]),
                               ("jsonl", ["in/sub/c.json"])], id="a-feed-format-reads-every-feed-file-in-it"),
        pytest.param("zip", [("zip", ["in/f.zip"])], id="zip-archives-uncompressed"),
    ],
)
def test_format_chooses_in_a_mixed_prefix(store, fmt: str, expected: list) -> None:
    store("in/a.txt", "in/b.json", "in/sub/c.json", "in/d.jsonl", "in/e.csv.gz", "in/f.zip", "in/g.zip.gz", "in/_SUCCESS")
    assert [(f, files) for f, files, _, _ in _groups(f"{URL}/in/", format=fmt)] == expected


@pytest.mark.parametrize(
    ("keys", "config", "pattern"),
    [
        pytest.param(["in/notes.md", "in/_SUCCESS"], {}, "empty input: the prefix holds no .txt files", id="nothing-readable"),
        pytest.param(["in/sub/a.txt"], {"format": "txt"}, "the prefix holds no .txt files at its top level", id="txt-at-depth"),
        pytest.param(["in/a.txt"], {"format": "parquet"}, "the prefix holds no .parquet files$", id="none-of-the-format"),
        pytest.param(["in/a.txt"], {"format": "csv"}, "holds no .jsonl, .ndjson, .json, .csv or .tsv files", id="no-feed-files"),
        pytest.param(["in/a.zip.gz"], {"format": "zip"}, "holds no .zip files", id="compressed-zip-is-not-read"),
    ],
)
def test_prefix_errors(store, keys: list[str], config: dict, pattern: str) -> None:
    store(*keys)
    with pytest.raises(InputFormatError, match=pattern) as err:
        url_groups(f"{URL}/in/", ReadConfig(**config))
    assert err.value.path == f"{URL}/in/"


def test_an_empty_prefix(store) -> None:
    store("elsewhere/a.jsonl")
    with pytest.raises(InputNotFoundError, match=f"{URL}/in/: no objects under this prefix"):
        url_groups(f"{URL}/in/", ReadConfig())


def test_an_http_folder_is_refused() -> None:
    pytest.importorskip("aiohttp")
    with pytest.raises(InputFormatError, match="an http\\(s\\) URL names one file, not a folder"):
        url_groups("http://127.0.0.1:9/feeds/", ReadConfig())  # refused before any request
