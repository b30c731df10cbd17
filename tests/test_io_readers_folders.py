"""dedup.io.readers.folders: one format per folder, decided by its files, read in a stable order."""

from __future__ import annotations

from pathlib import Path

import pytest

from dedup.errors import InputFormatError
from dedup.io.readers.folders import FOLDER_FORMATS, _folder_files, _tree_files


def _make(root: Path, *names: str) -> Path:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}", encoding="utf-8")
    return root


def _rel(root: Path, files: list[Path]) -> list[str]:
    return [p.relative_to(root).as_posix() for p in files]


@pytest.mark.parametrize(
    ("names", "fmt", "expected"),
    [
        pytest.param(["b.txt", "a.TXT", "notes.md"], "txt", ["a.TXT", "b.txt"], id="txt"),
        pytest.param(["x/2.json", "1.json", "x/y/0.JSON"], "newsplease", ["1.json", "x/2.json", "x/y/0.JSON"], id="news-please-tree"),
        pytest.param(["year=2024/part-1.parquet", "year=2023/part-0.parquet", "_SUCCESS"], "parquet",
                     ["year=2023/part-0.parquet", "year=2024/part-1.parquet"], id="parquet-dataset"),
        pytest.param(["sub/a.txt", "b.json"], "newsplease", ["b.json"], id="nested-txt-is-not-a-kind"),
    ],
)
def test_auto_picks_the_one_kind(tmp_path: Path, names: list[str], fmt: str, expected: list[str]) -> None:
    got_fmt, files = _folder_files(_make(tmp_path, *names), "auto", "dir")
    assert got_fmt == fmt and _rel(tmp_path, files) == expected


def test_a_folder_of_several_kinds_is_refused_with_the_counts(tmp_path: Path) -> None:
    _make(tmp_path, "a.txt", "b.txt", "c.json", "d/e.parquet")
    with pytest.raises(InputFormatError) as err:
        _folder_files(tmp_path, "auto", "the-dir")
    message = str(err.value)
    assert message.startswith("the-dir: the folder holds several kinds of input (2 .txt, 1 .json, 1 .parquet files)")
    assert "--format txt or --format newsplease or --format parquet" in message


@pytest.mark.parametrize(("fmt", "expected"), [("txt", ["a.txt"]), ("newsplease", ["c.json"]), ("parquet", ["d/e.parquet"])])
def test_format_picks_one_kind_of_a_mixed_folder(tmp_path: Path, fmt: str, expected: list[str]) -> None:
    _make(tmp_path, "a.txt", "c.json", "d/e.parquet")
    got_fmt, files = _folder_files(tmp_path, fmt, "dir")
    assert got_fmt == fmt and _rel(tmp_path, files) == expected


@pytest.mark.parametrize(
    ("names", "fmt", "pattern"),
    [
        pytest.param([], "auto", "empty input: the folder holds no .txt files", id="empty-auto"),
        pytest.param(["notes.md", "feed.jsonl"], "auto", "pass other files by name", id="no-kind-auto"),
        pytest.param(["sub/a.txt"], "auto", "empty input", id="nested-txt-only"),
        pytest.param(["sub/a.txt"], "txt", "no .txt files at its top level", id="txt-at-depth-is-not-read"),
        pytest.param(["a.txt"], "parquet", "empty input: the folder holds no .parquet files$", id="none-of-the-format"),
        pytest.param(["a.txt"], "jsonl", "is a directory, not a jsonl file", id="not-a-folder-format"),
        pytest.param(["a.txt"], "zip", "--format txt, newsplease or parquet", id="zip-is-not-a-folder-format"),
    ],
)
def test_folder_errors(tmp_path: Path, names: list[str], fmt: str, pattern: str) -> None:
    _make(tmp_path, *names)
    with pytest.raises(InputFormatError, match=pattern) as err:
        _folder_files(tmp_path, fmt, "dir")
    assert err.value.path == "dir"


def test_hidden_files_and_folders_and_macos_droppings_are_skipped(tmp_path: Path) -> None:
    _make(tmp_path, "a.json", ".b.json", ".git/c.json", "__MACOSX/d.json", "sub/.e.json", "sub/f.json",
          "p.parquet", ".q.parquet")
    found = _tree_files(tmp_path)
    assert _rel(tmp_path, found["newsplease"]) == ["a.json", "sub/f.json"]
    assert _rel(tmp_path, found["parquet"]) == ["p.parquet"]


def test_files_are_sorted_folder_by_folder(tmp_path: Path) -> None:
    """By path parts: ``a/b.json`` (in folder ``a``) before ``a-b.json`` and ``a.json``, unlike a plain string sort."""
    _make(tmp_path, "a.json", "a-b.json", "a/b.json", "a/a/z.json", "B.json")
    files = _tree_files(tmp_path)["newsplease"]
    assert _rel(tmp_path, files) == ["B.json", "a/a/z.json", "a/b.json", "a-b.json", "a.json"]
    assert _folder_files(tmp_path, "auto", "dir") == ("newsplease", files)


def test_a_folder_named_like_a_file_is_not_one(tmp_path: Path) -> None:
    (tmp_path / "x.json").mkdir()
    _make(tmp_path, "x.json/inner.json")
    assert _rel(tmp_path, _tree_files(tmp_path)["newsplease"]) == ["x.json/inner.json"]


def test_an_empty_folder_finds_nothing(tmp_path: Path) -> None:
    assert _tree_files(tmp_path) == {"newsplease": [], "parquet": []}


def test_folder_formats() -> None:
    assert dict(FOLDER_FORMATS) == {"txt": ".txt", "newsplease": ".json", "parquet": ".parquet"}


def test_the_files_left_out_of_a_folder_are_counted_and_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A feed.jsonl beside .txt articles was left out without a word; hidden files and __MACOSX stay unmentioned."""
    import dedup.io.readers.folders as folders

    said: list[str] = []
    monkeypatch.setattr(folders.logger, "warning", lambda msg, *args: said.append(msg % args))  # the CLI's handler aside
    _make(tmp_path, "a.txt", "b.txt", "feed.jsonl", "notes.md", "sub/c.txt", ".hidden", "__MACOSX/x.txt")
    fmt, files = _folder_files(tmp_path, "txt", "dir")  # chosen: a feed beside the articles is a kind of its own (below)
    assert fmt == "txt" and _rel(tmp_path, files) == ["a.txt", "b.txt"]
    assert said == ["dir: 3 files left out (the folder is read as txt: its .txt files at its top level only): feed.jsonl, "
                    "notes.md, sub/c.txt; pass them by name to read them"]
    said.clear()
    (tmp_path / "feed.jsonl").unlink()
    fmt, files = _folder_files(tmp_path, "auto", "dir")
    assert fmt == "txt" and _rel(tmp_path, files) == ["a.txt", "b.txt"]
    assert said == ["dir: 2 files left out (the folder is read as txt: its .txt files at its top level only): notes.md, "
                    "sub/c.txt; pass them by name to read them"]
    said.clear()
    _folder_files(_make(tmp_path / "clean", "a.txt", "_SUCCESS"), "auto", "dir")
    assert said == []


def test_a_folder_of_record_files_is_read_file_by_file_as_if_named(tmp_path: Path) -> None:
    """A folder of daily dumps (.zip, .jsonl, ...) was "empty input", though a prefix of them in object storage is read."""
    import gzip
    import json
    import zipfile

    from dedup.config import ReadConfig
    from dedup.io.readers import ArticleStream
    from dedup.io.readers.folders import record_files

    def rows(tag: str, n: int) -> list[dict]:
        return [{"id": f"{tag}{k}", "text": f"text of {tag} {k}"} for k in range(n)]

    root = tmp_path / "dumps"
    root.mkdir()
    (root / "b.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows("b", 2)), encoding="utf-8")
    with gzip.open(root / "c.jsonl.gz", "wt", encoding="utf-8") as out:
        out.write("".join(json.dumps(r) + "\n" for r in rows("c", 2)))
    (root / "d.csv").write_text("id,text\n" + "".join(f"{r['id']},{r['text']}\n" for r in rows("d", 2)), encoding="utf-8")
    with zipfile.ZipFile(root / "a.zip", "w") as z:
        z.writestr("day.jsonl", "".join(json.dumps(r) + "\n" for r in rows("a", 2)))
    (root / "notes.md").write_text("not records", encoding="utf-8")
    (root / "_SUCCESS").write_text("", encoding="utf-8")
    assert [(f, p.name) for f, p in record_files(root)] == [("zip", "a.zip"), ("jsonl", "b.jsonl"), ("jsonl", "c.jsonl.gz"),
                                                              ("csv", "d.csv")]
    from dedup.io.console import kept_warnings

    with kept_warnings() as said:  # the dedup logger's warnings (it may not propagate to pytest's: the CLI's tests)
        got = [a.id for a in ArticleStream([root])]
    named = [a.id for a in ArticleStream([root / n for n in ("a.zip", "b.jsonl", "c.jsonl.gz", "d.csv")])]
    assert got == named == ["a0", "a1", "b0", "b1", "c0", "c1", "d0", "d1"]
    assert any("1 file left out" in m and "notes.md" in m for m in said), said
    (root / "e.txt").write_text("an article of its own, in a folder of .txt files", encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"several kinds of input \(1 \.txt, 4 feed"):  # not the .txt alone
        list(ArticleStream([root]))
    assert [a.id for a in ArticleStream([root], ReadConfig(format="txt"))] == ["e"]  # chosen: the feeds left out, said


@pytest.mark.parametrize("kind", ["a.txt", "sub/a.json", "sub/a.parquet"])
def test_feed_files_beside_another_kind_are_refused_as_in_a_prefix(tmp_path: Path, kind: str) -> None:
    """A feed.jsonl beside .txt articles (or a news-please tree, or Parquet files) was left out with a warning only,
    a whole feed unread in a run that went on; an object-storage prefix holding the same is refused with the counts."""
    _make(tmp_path, kind, "feed.jsonl", "day.csv.gz")
    with pytest.raises(InputFormatError) as err:
        _folder_files(tmp_path, "auto", "dir")
    message = str(err.value)
    suffix = Path(kind).suffix
    assert message.startswith(f"dir: the folder holds several kinds of input (1 {suffix}, 2 feed (.jsonl, .csv, …) files)")
    assert "--format jsonl (json, csv, tsv or zip: the feed files' format)" in message
