"""dedup.io.spool: records kept aside while the feed streams by, and the fields of wanted positions read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dedup.config import ReadConfig
from dedup.io.readers import ArticleStream
from dedup.io.readers.parquet import ParquetRow
from dedup.io.spool import RecordSpool, ReportSpool, Shown, read_back
from dedup.types import Article


def _parquet_row(values: dict, file: str, row: int) -> ParquetRow:
    rec = ParquetRow(values)
    rec.file, rec.row, rec.undecodable = file, row, ()
    return rec


# ------------------------------------------------------------------ RecordSpool


def test_tap_passes_the_articles_through_unchanged_and_in_order() -> None:
    arts = [Article(str(k), f"text {k}", record={"id": str(k)}) for k in range(5)]
    spool = RecordSpool()
    try:
        out = list(spool.tap(iter(arts)))
        assert all(a is b for a, b in zip(out, arts, strict=True))
        assert [json.loads(line) for line in spool.lines()] == [a.record for a in arts]
    finally:
        spool.close()


def test_tap_is_lazy() -> None:
    pulled = []

    def feed():
        for k in range(3):
            pulled.append(k)
            yield Article(str(k), "x", record={"id": str(k)})

    spool = RecordSpool()
    try:
        it = spool.tap(feed())
        assert pulled == []
        next(it)
        assert pulled == [0]
    finally:
        spool.close()


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        pytest.param('{"id": "a",  "text": "x"}\n', b'{"id": "a",  "text": "x"}\n', id="spacing-kept"),
        pytest.param('{"text":"x","id":"a"}', b'{"text":"x","id":"a"}\n', id="a-last-line-without-a-newline-gets-one"),
        pytest.param('{"id":"a","text":"x"}\r\n', b'{"id":"a","text":"x"}\n', id="crlf-becomes-lf"),
        pytest.param('{"text":"\\u0642"}\n', b'{"text":"\\u0642"}\n', id="escapes-kept"),
    ],
)
@pytest.mark.parametrize("as_bytes", [False, True], ids=["read-from-text", "read-as-bytes"])
def test_a_jsonl_line_is_kept_as_it_was(raw: str, stored: bytes, as_bytes: bool) -> None:
    spool = RecordSpool()
    try:
        list(spool.tap([Article("a", "x", record=json.loads(raw), raw=raw.encode() if as_bytes else raw)]))
        assert list(spool.lines()) == [stored]
    finally:
        spool.close()


def test_a_files_lines_are_spooled_byte_for_byte(tmp_path: Path) -> None:
    """A BOM is left out, line ends become one LF, everything else (escapes, spacing, Arabic) is the file's own bytes."""
    lines = ['{"id": "a", "text": "\u0642 قال"}\r\n', '{"id":"b","text":"x\\ud83d\\ude00 y"}\n', '{"id":"c","text":"z"}']
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(lines).encode())
    spool = RecordSpool()
    try:
        arts = list(spool.tap(ArticleStream([path], ReadConfig(), keep_raw=True)))
        assert [a.text for a in arts] == ["\u0642 قال", "x\U0001f600 y", "z"]
        assert list(spool.lines()) == [ln.rstrip("\r\n").encode() + b"\n" for ln in lines]
    finally:
        spool.close()


def test_a_lone_surrogate_escape_is_found_in_a_raw_line(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b'{"id":"a","text":"fine"}\n{"id":"b","text":"x \\uD800 y"}\n')
    stream = ArticleStream([path], ReadConfig(skip_bad=True), keep_raw=True)
    assert [a.id for a in stream] == ["a"]
    assert [(b.line, "lone surrogate" in b.reason) for b in stream.bad] == [(2, True)]


def test_other_records_are_written_as_compact_utf8_json() -> None:
    spool = RecordSpool()
    try:
        list(spool.tap([Article("a", "قال", record={"id": "a", "text": "قال", "n": 1})]))
        (line,) = spool.lines()
        assert line == '{"id":"a","text":"قال","n":1}\n'.encode()
    finally:
        spool.close()


def test_lines_can_be_read_again_and_an_empty_spool_has_none() -> None:
    spool = RecordSpool()
    try:
        assert list(spool.lines()) == []
        list(spool.tap([Article("a", "x", record={"id": "a"}), Article("b", "y", record={"id": "b"})]))
        first = list(spool.lines())
        assert first == list(spool.lines()) and len(first) == 2
    finally:
        spool.close()


def test_parquet_rows_locate_every_record_by_file_and_row() -> None:
    spool = RecordSpool()
    try:
        assert spool.parquet_rows() is None  # nothing read
        rows = [_parquet_row({"id": "a"}, "p1", 0), _parquet_row({"id": "b"}, "p2", 0), _parquet_row({"id": "c"}, "p1", 1)]
        list(spool.tap([Article(r["id"], "x", record=r) for r in rows]))
        files, file_no, row_no = spool.parquet_rows()
        assert files == ["p1", "p2"]  # numbered as first seen
        assert file_no.tolist() == [0, 1, 0] and row_no.tolist() == [0, 0, 1]
        assert file_no.dtype == np.int64 and row_no.dtype == np.int64
    finally:
        spool.close()


def test_parquet_rows_is_none_when_one_record_is_not_from_parquet() -> None:
    spool = RecordSpool()
    try:
        list(spool.tap([Article("a", "x", record=_parquet_row({"id": "a"}, "p1", 0)), Article("b", "x", record={"id": "b"})]))
        assert spool.parquet_rows() is None
    finally:
        spool.close()


# ------------------------------------------------------------------ ReportSpool


def test_report_spool_finds_the_readers_fields_by_identity() -> None:
    same = b"Minister meets envoy".decode()
    other = b"Minister meets envoy".decode()
    assert same == other and same is not other  # equal values: only identity tells the two keys apart
    date = "2024-01-02"
    record = {"id": "a", "title": other, "hed": same, "when": date, "body": "x y"}
    spool = ReportSpool()
    try:
        list(spool.tap([Article("a", "x y", title=same, date=date, record=record, text_key="body")]))
        assert spool.keys(0) == ("body", "hed", "when")
    finally:
        spool.close()


def test_report_spool_keys_per_position() -> None:
    arts = [
        Article("a", "t", title="T", record={"text": "t", "title": "T"}),
        Article("b", "t", record={"content": "t"}, text_key="content"),  # no title, no date
        Article("c", "t", title="T", record={"text": "t", "title": "T"}),
    ]
    arts[0] = Article("a", "t", title=arts[0].record["title"], record=arts[0].record)
    arts[2] = Article("c", "t", title=arts[2].record["title"], record=arts[2].record)
    spool = ReportSpool()
    try:
        list(spool.tap(arts))
        assert [spool.keys(k) for k in range(3)] == [("text", "title", None), ("content", None, None), ("text", "title", None)]
    finally:
        spool.close()


# ------------------------------------------------------------------ read_back


def test_read_back_nothing_wanted() -> None:
    assert read_back([{"text": "x"}], {}, np.array([1]), 10) == {}


def test_read_back_from_records_guesses_the_fields() -> None:
    records = [
        {"ID": "a", "Body": "xyz", "Headline": "T1", "Published": "2024-05-01"},  # aliases, any case
        {"id": "b", "text": "decoy", "story": "abcd", "title": "T2"},  # no alias of the length: any string of it
        '{"id": "c", "text": "uvw", "title": 7, "date": null}',  # a JSON line; a title that is not a string
        b'{"id": "d", "text": "qrs"}',  # bytes
    ]
    got = read_back(records, {0: True, 1: True, 2: True, 3: False}, np.array([3, 4, 3, 3]), 100)
    assert got == {
        0: Shown(title="T1", date="2024-05-01", text="xyz", length=3),
        1: Shown(title="T2", date="", text="abcd", length=4),
        2: Shown(title="", date="", text="uvw", length=3),  # a guessed title must be a string
        3: Shown(title="", date="", text=None, length=3),  # its text not wanted
    }


def test_read_back_the_first_key_of_a_folded_name_wins() -> None:
    records = [{"title": "first", "Title": "second", "text": "ab"}]
    assert read_back(records, {0: True}, np.array([2]), 10)[0].title == "first"


def test_read_back_leaves_out_what_is_not_an_object_and_what_is_not_wanted() -> None:
    records = ['{"text": "ab"}', "[1, 2]", "{not json", '"a string"', '{"text": "cd"}']
    got = read_back(records, {1: True, 2: True, 3: True, 4: True}, np.array([2] * 5), 10)
    assert list(got) == [4] and got[4].text == "cd"


def test_read_back_cuts_text_title_and_date() -> None:
    rec = {"text": "ق" * 50, "title": "t" * 2000, "date": "d" * 500}
    got = read_back([rec], {0: True}, np.array([50]), 7)[0]
    assert got.text == "ق" * 7 and len(got.title) == 1000 and len(got.date) == 100 and got.length == 50


def test_read_back_stops_after_the_last_wanted_position() -> None:
    seen = []

    def records():
        for k in range(100):
            seen.append(k)
            yield {"text": "ab"}

    read_back(records(), {3: True}, np.array([2] * 100), 10)
    assert max(seen) <= 4


def _feed(tmp_path: Path) -> Path:
    rows = [
        {"key": "a", "text": "decoy", "story": "أخبار", "hed": "عنوان", "when": "2024-01-01"},
        {"key": "b", "text": "other", "story": "news!", "hed": "Head", "when": "2024-01-02"},
        {"key": "c", "text": "third", "story": "plain", "hed": "", "when": ""},
    ]
    path = tmp_path / "feed.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_read_back_from_a_report_spool_takes_the_readers_fields(tmp_path: Path) -> None:
    """The decoy "text" has the story's length: only the noted keys find the reader's text."""
    config = ReadConfig(id_field="key", text_field="story", title_field="hed", date_field="when")
    spool = ReportSpool()
    try:
        arts = list(spool.tap(ArticleStream(_feed(tmp_path), config, keep_raw=True)))
        lengths = np.array([len(a.text) for a in arts])
        got = read_back(spool, {0: True, 1: False, 2: True}, lengths, 100)
        assert got == {
            0: Shown(title="عنوان", date="2024-01-01", text="أخبار", length=5),
            1: Shown(title="Head", date="2024-01-02", text=None, length=5),
            2: Shown(title="", date="", text="plain", length=5),
        }
        guessed = read_back(list(spool.lines()), {0: True}, lengths, 100)  # the same lines, the keys guessed
        assert guessed[0].text == "decoy"
    finally:
        spool.close()


def test_read_back_from_a_record_spool_guesses(tmp_path: Path) -> None:
    spool = RecordSpool()
    try:
        arts = list(spool.tap(ArticleStream(_feed(tmp_path), ReadConfig(id_field="key", text_field="story"), keep_raw=True)))
        got = read_back(spool, {1: True}, np.array([len(a.text) for a in arts]), 100)
        assert got == {1: Shown(title="", date="", text="other", length=5)}  # "text" is the first alias of the length
    finally:
        spool.close()
