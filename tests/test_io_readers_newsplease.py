"""dedup.io.readers.newsplease: one article object per .json file, ids falling back to the relative path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dedup.config import ReadConfig
from dedup.errors import InputNotFoundError
from dedup.io.readers.jsonl import _TOO_DEEP
from dedup.io.readers.newsplease import _newsplease_items
from dedup.io.readers.records import _Bad, _Collector, _Loc, _Named

ARTICLE = {
    "title": "عنوان الخبر",
    "maintext": "قال الوزير اليوم إن المشروع سيبدأ",
    "date_publish": "2024-03-01 09:00:00",
    "source_domain": "example.com",
    "url": "https://example.com/2024/a",
    "authors": ["x"],
    "language": "ar",
}


def _put(root: Path, rel: str, content: str | bytes | dict) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, dict):
        content = json.dumps(content, ensure_ascii=False, indent=2)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def test_each_file_is_one_named_record(tmp_path: Path) -> None:
    a = _put(tmp_path, "example.com/2024/a.json", ARTICLE)
    b = _put(tmp_path, "b.json", "\ufeff" + json.dumps({"maintext": "x"}))  # a byte-order mark is dropped
    assert list(_newsplease_items([a, b], tmp_path)) == [
        (_Loc(str(a), 1), _Named(ARTICLE, "example.com/2024/a.json")),
        (_Loc(str(b), 1), _Named({"maintext": "x"}, "b.json")),
    ]


@pytest.mark.parametrize(
    ("content", "line", "needle"),
    [
        pytest.param('{\n  "title": "x",\n  "maintext": \n}', 4, "malformed JSON (Expecting value at column 1)", id="malformed-at-its-line"),
        pytest.param("", 1, "malformed JSON", id="empty-file"),
        pytest.param("[]", 1, "holds a JSON array, not one article object", id="array"),
        pytest.param('"text"', 1, "holds a JSON string", id="string"),
        pytest.param("null", 1, "holds a JSON null", id="null"),
        pytest.param("[" * 100_000 + "]" * 100_000, 1, _TOO_DEEP, id="nested-too-deep"),
        pytest.param(b'{"maintext": "\xff"}', 1, "byte 0xFF at column 15", id="not-utf8"),
        pytest.param(b'{\n"maintext":\n"\xe4"}', 3, "byte 0xE4 at column 2", id="not-utf8-at-line-3"),
        pytest.param('{"maintext": "x"}'.encode("utf-16"), 1, "UTF-16", id="utf16"),
    ],
)
def test_bad_files_are_bad_records_at_their_line(tmp_path: Path, content: str | bytes, line: int, needle: str) -> None:
    path = _put(tmp_path, "a.json", content)
    ok = _put(tmp_path, "z.json", {"maintext": "fine"})
    items = list(_newsplease_items([path, ok], tmp_path))
    (loc, value), after = items
    assert loc == _Loc(str(path), line) and isinstance(value, _Bad) and needle in value.reason
    assert after[1] == _Named({"maintext": "fine"}, "z.json")  # one bad file costs only itself


def test_a_file_over_the_limit_is_bad_and_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = _put(tmp_path, "big.json", {"maintext": "x" * 200})
    read: list[str] = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or original(self))
    ((loc, value),) = list(_newsplease_items([big], tmp_path, limit=100))
    size = big.stat().st_size
    assert read == [] and loc == _Loc(str(big), 1)
    assert isinstance(value, _Bad) and value.reason.startswith(f"record too long: {size} bytes > the limit of 100")
    assert next(_newsplease_items([big], tmp_path, limit=size))[1].value["maintext"] == "x" * 200  # exactly the limit fits


def test_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="gone.json: cannot be read"):
        list(_newsplease_items([tmp_path / "gone.json"], tmp_path))


def test_collected_ids_are_the_url_else_the_relative_path(tmp_path: Path) -> None:
    """Through the collector, as a folder is read: the news-please fields are found by the usual aliases."""
    files = [
        _put(tmp_path, "example.com/a.json", ARTICLE),
        _put(tmp_path, "example.com/sub/b.json", {**ARTICLE, "url": ""}),
        _put(tmp_path, "c.json", {k: v for k, v in ARTICLE.items() if k != "url"}),
    ]
    collector = _Collector(ReadConfig())
    arts = list(collector.read_source(str(tmp_path), _newsplease_items(files, tmp_path)))
    assert [a.id for a in arts] == ["https://example.com/2024/a", "example.com/sub/b.json", "c.json"]
    first = arts[0]
    assert (first.text, first.title, first.date, first.source) == (
        ARTICLE["maintext"], ARTICLE["title"], ARTICLE["date_publish"], ARTICLE["source_domain"])
    assert first.text_key == "maintext" and first.origin == f"{files[0]}:1"
