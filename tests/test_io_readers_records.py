"""dedup.io.readers.records: items of every format to articles (fields, ids, bad records), the rules every reader shares."""

from __future__ import annotations

import logging

import pytest
from _logs import captured

from dedup.config import ReadConfig
from dedup.errors import InputFormatError
from dedup.io.readers.parquet import ParquetRow
from dedup.io.readers.records import (
    FIELD_ALIASES,
    _Bad,
    _Collector,
    _detect_fields,
    _Fields,
    _json_type,
    _Line,
    _Loc,
    _Named,
    _optional_str,
)
from dedup.types import Article, BadRecord

LOC = _Loc("f.jsonl", 1)


# ------------------------------------------------------------------ _Loc, _json_type, _optional_str


def test_a_line_location() -> None:
    loc = _Loc("f.jsonl", 7)
    assert str(loc) == "f.jsonl:7" and loc.reason("bad") == "bad"
    err = loc.error("bad")
    assert isinstance(err, InputFormatError) and (err.path, err.line) == ("f.jsonl", 7) and str(err) == "f.jsonl:7: bad"


def test_a_record_number_is_not_a_line() -> None:
    loc = _Loc("f.json", 3, is_index=True)
    assert str(loc) == "f.json:#3" and loc.reason("bad") == "record #3: bad"
    err = loc.error("bad")
    assert err.line is None and str(err) == "f.json: record #3: bad"
    assert _Loc("p.parquet", 0, True, "row").reason("x") == "row #0: x"


@pytest.mark.parametrize(
    ("value", "name"),
    [(None, "null"), ({}, "object"), ([], "array"), ("", "string"), (1, "number"), (1.5, "number"), (True, "boolean"),
     (b"x", "bytes")],
)
def test_json_type(value: object, name: str) -> None:
    assert _json_type(value) == name


@pytest.mark.parametrize(("value", "expected"), [(None, ""), ("", ""), ("x", "x"), (3, "3"), (2.5, "2.5"), (True, "True")])
def test_optional_str(value: object, expected: str) -> None:
    assert _optional_str(value) == expected


# ------------------------------------------------------------------ _detect_fields


@pytest.mark.parametrize(
    ("record", "fields"),
    [
        pytest.param({"id": 1, "text": "x"}, _Fields("id", "text", None, None, None), id="minimal"),
        pytest.param({"url": "u", "maintext": "x", "headline": "h", "date_publish": "d", "source_domain": "s"},
                     _Fields("url", "maintext", "headline", "date_publish", "source_domain"), id="news-please-names"),
        pytest.param({"ID": 1, "Body": "x", "TITLE": "t"}, _Fields("ID", "Body", "TITLE", None, None), id="any-case"),
        pytest.param({"url": "u", "id": 1, "body": "b", "text": "t", "headline": "h", "title": "t"},
                     _Fields("id", "text", "title", None, None), id="aliases-in-order"),
        pytest.param({"date_extracted": "e", "published": "p", "content": "x"}, _Fields(None, "content", None, "published", None),
                     id="date-aliases-in-order"),
        pytest.param({"Text": "a", "text": "b"}, _Fields(None, "Text", None, None, None), id="first-key-of-a-folded-name"),
    ],
)
def test_detect_fields(record: dict, fields: _Fields) -> None:
    assert _detect_fields(record, ReadConfig(), LOC) == fields


def test_detect_fields_by_name() -> None:
    record = {"key": 1, "Story": "x", "hed": "t", "when": "d", "outlet": "s", "text": "decoy"}
    config = ReadConfig(id_field="key", text_field="story", title_field="hed", date_field="WHEN", source_field="outlet")
    assert _detect_fields(record, config, LOC) == _Fields("key", "Story", "hed", "when", "outlet")


def test_a_named_field_that_is_absent_names_the_fields_found() -> None:
    with pytest.raises(InputFormatError) as err:
        _detect_fields({"id": 1, "text": "x"}, ReadConfig(title_field="hed"), LOC)
    assert str(err.value) == ("f.jsonl: the title field 'hed' (--title-field) is not in the first record; fields found: id, "
                              "text. Check the spelling, or leave --title-field out to auto-detect")


@pytest.mark.parametrize("record", [{"id": 1, "story": "x"}, {}], ids=["other-fields", "no-fields"])
def test_no_text_field(record: dict) -> None:
    with pytest.raises(InputFormatError, match="no text field in the first record \\(looked for text, content, maintext, body\\); "
                                               f"fields found: {', '.join(record) or 'none'}. Name the field"):
        _detect_fields(record, ReadConfig(), LOC)


def test_field_aliases_are_read_only() -> None:
    with pytest.raises(TypeError):
        FIELD_ALIASES["text"] = ("x",)  # type: ignore[index]


# ------------------------------------------------------------------ _Collector


def _items(*values: object, path: str = "f.jsonl"):
    for line, value in enumerate(values, 1):
        yield _Loc(path, line), value


DEFAULTS = ReadConfig()


def _read(*values: object, config: ReadConfig = DEFAULTS, keep_raw: bool = False, path: str = "f.jsonl") -> tuple[list[Article], list[BadRecord]]:
    collector = _Collector(config, keep_raw)
    arts = list(collector.read_source(path, _items(*values, path=path)))
    return arts, collector.bad


def test_articles_from_records() -> None:
    arts, bad = _read({"id": "a", "text": "x", "title": "T", "date": "2024-01-01", "source": "S", "extra": [1]},
                      {"id": 7, "text": "y", "title": None, "date": "", "source": 3})
    assert bad == []
    a, b = arts
    assert (a.id, a.text, a.title, a.date, a.source, a.origin, a.text_key) == ("a", "x", "T", "2024-01-01", "S", "f.jsonl:1", "text")
    assert a.record == {"id": "a", "text": "x", "title": "T", "date": "2024-01-01", "source": "S", "extra": [1]}
    assert (b.id, b.title, b.date, b.source) == ("7", "", None, "3")  # a null title is empty, an empty date is none


def test_fields_come_from_each_sources_first_record() -> None:
    collector = _Collector(ReadConfig())
    first = list(collector.read_source("a", _items({"id": "a", "text": "x", "body": "no"}, path="a")))
    second = list(collector.read_source("b", _items({"id": "b", "body": "y"}, path="b")))  # no "text" here
    assert [a.text for a in first + second] == ["x", "y"]


def test_a_jsonl_line_is_kept_only_when_asked() -> None:
    line = _Line({"id": "a", "text": "x"}, '{"id":"a", "text":"x"}\n')
    assert _read(line)[0][0].raw is None
    assert _read(line, keep_raw=True)[0][0].raw == '{"id":"a", "text":"x"}\n'


def test_ids_are_positions_across_sources_when_a_file_has_none() -> None:
    collector = _Collector(ReadConfig())
    ids = [a.id for a in collector.read_source("a", _items({"text": "x"}, {"text": "y"}, path="a"))]
    ids += [a.id for a in collector.read_source("b", _items({"text": "z"}, path="b"))]
    assert ids == ["0", "1", "2"] and collector.count == 3


def test_a_position_counts_articles_not_records() -> None:
    arts, bad = _read({"text": "x"}, _Bad("broken"), {"text": "y"}, config=ReadConfig(skip_bad=True))
    assert [a.id for a in arts] == ["0", "1"] and bad == [BadRecord("f.jsonl", 2, "broken", position=1)]


def test_a_fallback_id_is_used_when_a_record_has_none() -> None:
    arts, _ = _read(_Named({"maintext": "x"}, "a/1.json"), _Named({"maintext": "y", "url": "https://u"}, "a/2.json"),
                    _Named({"maintext": "z", "url": ""}, "a/3.json"))
    assert [a.id for a in arts] == ["a/1.json", "https://u", "a/3.json"]


BAD_CASES = [
    pytest.param(_Bad("malformed JSON"), "malformed JSON", id="bad-item"),
    pytest.param([1, 2], "the line is a JSON array, not an object; each record must be an object with a text field", id="array"),
    pytest.param({"id": "b", "body": "x"}, "no 'text' field (the text) in this record; fields: id, body", id="no-text"),
    pytest.param({}, "no 'text' field (the text) in this record; fields: none", id="empty-object"),
    pytest.param({"id": "b", "text": None}, "the text field 'text' is a JSON null, not a string", id="null-text"),
    pytest.param({"id": "b", "text": ["x"]}, "the text field 'text' is a JSON array, not a string", id="array-text"),
    pytest.param({"text": "x"}, "the id field 'id' is missing in this record", id="missing-id"),
    pytest.param({"id": "", "text": "x"}, "the id field 'id' is empty in this record", id="empty-id"),
    pytest.param({"id": None, "text": "x"}, "the id field 'id' is null in this record", id="null-id"),
    pytest.param({"id": True, "text": "x"}, "the id field 'id' is a JSON boolean; ids must be strings or numbers", id="boolean-id"),
    pytest.param({"id": {"k": 1}, "text": "x"}, "the id field 'id' is a JSON object", id="object-id"),
    pytest.param({"id": "a", "text": "y"}, "repeated id 'a': first at f.jsonl:1, again at f.jsonl:2", id="repeated-id"),
    pytest.param({"id": 1.0, "text": "y"}, None, id="a-float-id-is-its-string"),
    pytest.param({"id": "b", "text": "x \ud800"}, "the text holds a lone surrogate (\\ud800 at character 2)", id="surrogate-text"),
    pytest.param({"id": "b\udfff", "text": "x"}, "the id holds a lone surrogate (\\udfff at character 1)", id="surrogate-id"),
    pytest.param({"id": "b", "text": "x", "title": "\udc00"}, "the title holds a lone surrogate", id="surrogate-title"),
    pytest.param({"id": "b", "text": "x", "extra": "\ud800"}, None, id="a-surrogate-in-another-field-passes"),
]


@pytest.mark.parametrize(("second", "reason"), BAD_CASES)
def test_bad_records_raise_at_their_line(second: object, reason: str | None) -> None:
    first = {"id": "a", "text": "x", "title": "t"}
    if reason is None:
        arts, _ = _read(first, second)
        assert len(arts) == 2
        return
    with pytest.raises(InputFormatError) as err:
        _read(first, second)
    assert (err.value.path, err.value.line) == ("f.jsonl", 2) and reason in str(err.value)


@pytest.mark.parametrize(("second", "reason"), BAD_CASES)
def test_bad_records_are_kept_with_skip_bad(second: object, reason: str | None) -> None:
    arts, bad = _read({"id": "a", "text": "x", "title": "t"}, second, {"id": "c", "text": "z"}, config=ReadConfig(skip_bad=True))
    if reason is None:
        assert len(arts) == 3 and bad == []
        return
    assert [a.id for a in arts] == ["a", "c"]
    assert len(bad) == 1 and (bad[0].path, bad[0].line, bad[0].position) == ("f.jsonl", 2, 1) and reason in bad[0].reason


def test_a_repeated_id_across_sources_names_both_places() -> None:
    collector = _Collector(ReadConfig())
    list(collector.read_source("a", _items({"id": "x", "text": "1"}, path="a.jsonl")))
    with pytest.raises(InputFormatError, match="repeated id 'x': first at a.jsonl:1, again at b.jsonl:1"):
        list(collector.read_source("b", _items({"id": "x", "text": "2"}, path="b.jsonl")))


def test_numbers_and_strings_of_one_id_are_repeats() -> None:
    with pytest.raises(InputFormatError, match="repeated id '1'"):
        _read({"id": 1, "text": "x"}, {"id": "1", "text": "y"})


def test_a_record_with_an_id_where_the_first_had_none() -> None:
    with pytest.raises(InputFormatError, match="this record has an id \\('url'\\) but the first record of the file had none") as err:
        _read({"text": "x"}, {"url": "u", "text": "y"})
    assert err.value.line == 2
    arts, _ = _read({"text": "x"}, {"url": "", "text": "y"})  # an empty one is no id
    assert [a.id for a in arts] == ["0", "1"]


def test_records_numbered_in_a_document_say_record() -> None:
    collector = _Collector(ReadConfig())
    items = (item for item in [(_Loc("f.json", 1, True), {"id": "a", "text": "x"}), (_Loc("f.json", 2, True), "text")])
    with pytest.raises(InputFormatError) as err:
        list(collector.read_source("f.json", items))
    assert str(err.value) == "f.json: record #2: the record is a JSON string, not an object; each record must be an object with a text field"


def test_an_undecodable_parquet_column_of_an_article_field() -> None:
    row = ParquetRow({"id": "a", "text": "eA==", "blob": "eQ=="})
    row.file, row.row, row.undecodable = "p.parquet", 0, ("text",)
    with pytest.raises(InputFormatError, match="the column 'text' holds bytes that are not UTF-8"):
        _read(row)
    other = ParquetRow({"id": "a", "text": "x", "blob": "eQ=="})
    other.file, other.row, other.undecodable = "p.parquet", 0, ("blob",)  # not an article field: kept as base64
    assert _read(other)[0][0].record["blob"] == "eQ=="


def test_an_empty_source_is_an_error() -> None:
    with pytest.raises(InputFormatError, match="empty input: no records found") as err:
        _read()
    assert err.value.path == "f.jsonl"


def test_a_source_of_only_bad_records_is_not_empty() -> None:
    arts, bad = _read(_Bad("x"), _Bad("y"), config=ReadConfig(skip_bad=True))
    assert arts == [] and [b.line for b in bad] == [1, 2]


def test_the_items_are_closed_when_reading_stops() -> None:
    closed = []

    def items():
        try:
            yield LOC, {"id": "a", "text": "x"}
            yield _Loc("f.jsonl", 2), {"id": "b", "text": "y"}
        finally:
            closed.append(True)

    reader = _Collector(ReadConfig()).read_source("f.jsonl", items())
    next(reader)
    reader.close()
    assert closed == [True]


def test_skipped_records_are_logged_per_source(caplog: pytest.LogCaptureFixture) -> None:
    with captured("dedup.io.readers.records", logging.INFO, caplog):
        _read({"id": "a", "text": "x"}, _Bad("r1"), _Bad("r2"), _Bad("r3"), _Bad("r4"), config=ReadConfig(skip_bad=True))
    assert "read 1 articles from f.jsonl" in caplog.text
    assert "skipped 4 bad records in f.jsonl (line 2: r1; line 3: r2; line 4: r3; …)" in caplog.text


@pytest.mark.parametrize("escape", ["\\ud800", "\\uD800", "\\uDfFf", "\\udc00"])
def test_jsonl_lines_are_searched_for_surrogate_escapes_in_any_case(tmp_path, escape: str) -> None:
    """Only a JSON escape can make a lone surrogate: lines without one skip the per-field search, the others are checked."""
    from dedup.io.readers import read_articles

    path = tmp_path / "f.jsonl"
    path.write_text('{"id": "a", "text": "plain \\u0627 text", "title": ""}\n'
                    f'{{"id": "b", "text": "x", "title": "t {escape}"}}\n'
                    '{"id": "c", "text": "a pair \\ud83d\\ude00 is fine"}\n', encoding="utf-8")
    arts, bad = read_articles([path], ReadConfig(skip_bad=True))
    assert [a.id for a in arts] == ["a", "c"] and arts[1].text == "a pair \U0001f600 is fine"
    assert [(b.line, "the title holds a lone surrogate" in b.reason) for b in bad] == [(2, True)]
