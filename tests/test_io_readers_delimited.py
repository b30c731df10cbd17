"""dedup.io.readers.delimited: CSV and TSV rows located at their first line, broken quoting an error where it opened."""

from __future__ import annotations

import io

import pytest

from dedup.errors import InputFormatError
from dedup.io.readers.delimited import _csv_items
from dedup.io.readers.lines import _lines
from dedup.io.readers.records import _Bad, _Loc


def _items(text: str | bytes, delimiter: str = ",", limit: int | None = None) -> list:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return list(_csv_items(_lines(io.BytesIO(data), "f.csv", limit), "f.csv", delimiter, limit))


def _rows(items: list) -> list[tuple[int, object]]:
    return [(loc.line, value.reason if isinstance(value, _Bad) else value) for loc, value in items]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [], id="empty"),
        pytest.param("id,text\n", [], id="header-only"),
        pytest.param("id,text\na,x\nb,y\n", [(2, {"id": "a", "text": "x"}), (3, {"id": "b", "text": "y"})], id="plain"),
        pytest.param("id,text\na,x", [(2, {"id": "a", "text": "x"})], id="no-final-newline"),
        pytest.param("id,text\r\na,x\r\n", [(2, {"id": "a", "text": "x"})], id="crlf"),
        pytest.param("\n\nid,text\n\na,x\n\n", [(5, {"id": "a", "text": "x"})], id="blank-lines-skipped"),
        pytest.param('id,text\na,"one, two"\n', [(2, {"id": "a", "text": "one, two"})], id="quoted-delimiter"),
        pytest.param('id,text\na,"say ""hi"""\n', [(2, {"id": "a", "text": 'say "hi"'})], id="doubled-quotes"),
        pytest.param('id,text\na,"line 1\nline 2\n\nline 4"\nb,y\n',
                     [(2, {"id": "a", "text": "line 1\nline 2\n\nline 4"}), (6, {"id": "b", "text": "y"})],
                     id="a-row-over-several-lines-is-located-at-its-first"),
        pytest.param("المعرف,النص\nأ,قال الوزير\n", [(2, {"المعرف": "أ", "النص": "قال الوزير"})], id="arabic"),
        pytest.param("\ufeffid,text\na,x\n", [(2, {"id": "a", "text": "x"})], id="bom-not-in-the-first-name"),
        pytest.param("id,text\na,\n", [(2, {"id": "a", "text": ""})], id="empty-field"),
    ],
)
def test_rows(text: str, expected: list) -> None:
    assert _rows(_items(text)) == expected


def test_tsv() -> None:
    assert _rows(_items("id\ttext\na\tx, y\n", "\t")) == [(2, {"id": "a", "text": "x, y"})]


def test_locations_name_the_source() -> None:
    ((loc, _),) = _items("id,text\na,x\n")
    assert loc == _Loc("f.csv", 2)


@pytest.mark.parametrize(
    ("text", "delimiter", "line", "needle"),
    [
        pytest.param("id,text\na,x,extra\nb,y\n", ",", 2, "the row has 3 fields but the header has 2; quote fields that "
                     "contain a ',', a quote or a line break", id="too-many-fields"),
        pytest.param("id,text\na\nb,y\n", ",", 2, "the row has 1 fields but the header has 2", id="too-few-fields"),
        pytest.param("id\ttext\na\tb\tc\nb\ty\n", "\t", 2, "quote fields that contain a tab", id="tsv-says-tab"),
    ],
)
def test_a_row_of_the_wrong_width_is_a_bad_record(text: str, delimiter: str, line: int, needle: str) -> None:
    got = _rows(_items(text, delimiter))
    assert got[0][0] == line and needle in got[0][1]
    assert got[1] == (3, {"id": "b", "text": "y"})  # the next row is read


def test_undecodable_lines_are_bad_records_in_their_place() -> None:
    got = _rows(_items(b"id,text\na,x\nb,\xff\nc,z\nd,\xfe"))
    assert [line for line, _ in got] == [2, 3, 4, 5]
    assert got[0][1] == {"id": "a", "text": "x"} and got[2][1] == {"id": "c", "text": "z"}
    assert "byte 0xFF" in got[1][1] and "byte 0xFE" in got[3][1]


def test_an_undecodable_header_is_a_file_level_error() -> None:
    with pytest.raises(InputFormatError, match="the header row cannot be read: byte 0xFF") as err:
        _items(b"id,t\xffext\na,x\n")
    assert err.value.line == 1


def test_a_repeated_header_name_is_a_file_level_error() -> None:
    with pytest.raises(InputFormatError, match="the header names 'id', 'text' more than once; rename the columns") as err:
        _items("\nid,text,id,text,date\na,b,c,d,e\n")
    assert (err.value.path, err.value.line) == ("f.csv", 2)


def test_a_quote_never_closed_is_an_error_where_it_opened() -> None:
    text = 'id,text\na,x\nb,"opened here\nc,lost\nd,lost too\n'
    with pytest.raises(InputFormatError, match="a quote opened in this row is never closed") as err:
        _items(text)
    assert err.value.line == 3


def test_a_quote_never_closed_on_the_last_line() -> None:
    with pytest.raises(InputFormatError, match="never closed") as err:
        _items('id,text\na,"x')
    assert err.value.line == 2


def test_a_row_over_the_limit_across_lines_is_a_bad_record_where_it_started() -> None:
    """A quoted row of many short lines past the limit is skipped as a record too long (in bytes, as JSONL counts them),
    and the rows after it are read; it was a file-level error ("runs on for more than 50 characters")."""
    text = 'id,text\na,x\nb,"' + "\n".join(["كلمة " * 4] * 10) + '"\nc,y\n'
    got = _rows(_items(text, limit=100))
    assert got[0] == (2, {"id": "a", "text": "x"}) and got[2] == (13, {"id": "c", "text": "y"})
    assert got[1][0] == 3 and got[1][1].startswith("record too long: 3") and "bytes > the limit of 100" in got[1][1]
    assert len(_items(text, limit=500)) == 3  # under the limit the same rows are read
    # 10 lines of 20 characters: 200 characters, 390 bytes; a limit between the two skips it
    assert _rows(_items(text, limit=300))[1][1].startswith("record too long")


@pytest.mark.parametrize("quotes_in_long_line", [1, 3], ids=["closes-the-row", "closes-the-row-after-doubled-quotes"])
def test_a_line_too_long_inside_a_quoted_row_skips_the_row_not_the_file(quotes_in_long_line: int) -> None:
    """The line reader skips a line over the limit unread; inside a quoted row that lost the closing quote, and the
    rest of the file was "a quote opened in this row is never closed". Its quotes are counted as it is read past."""
    inner = '""' * (quotes_in_long_line // 2)
    text = 'id,text\na,"first\nsecond\n' + "x" * 200 + inner + '"\nc,y\n'
    got = _rows(_items(text, limit=100))
    assert got[0][0] == 2 and got[0][1].startswith("record too long") and got[1] == (5, {"id": "c", "text": "y"})


def test_a_line_too_long_that_opens_a_quoted_row_skips_the_whole_row() -> None:
    text = 'id,text\na,"' + "x" * 200 + '\nstill the same field\n"\nc,y\n'
    got = _rows(_items(text, limit=100))
    assert got[0][0] == 2 and got[0][1].startswith("record too long") and got[1] == (5, {"id": "c", "text": "y"})
    with pytest.raises(InputFormatError, match="never closed") as err:  # a row too long whose quote never closes
        _items('id,text\na,"' + "x" * 200 + "\nno closing quote\n", limit=100)
    assert err.value.line == 2


def test_one_line_over_the_limit_is_a_bad_record() -> None:
    got = _rows(_items("id,text\na," + "x" * 100 + "\nb,y\n", limit=50))
    assert got[0][0] == 2 and got[0][1].startswith("record too long")
    assert got[1] == (3, {"id": "b", "text": "y"})


def test_fields_longer_than_the_csv_default_limit() -> None:
    long = "ق" * 200_000  # csv's default field limit is 131,072 characters
    assert _rows(_items(f"id,text\na,{long}\n")) == [(2, {"id": "a", "text": long})]


def test_rows_are_read_lazily() -> None:
    pulled: list[int] = []

    def lines():
        for n, text in enumerate(["id,text\n", "a,x\n", "b,y\n", "c,z\n"], 1):
            pulled.append(n)
            yield n, text

    items = _csv_items(lines(), "f.csv", ",")
    assert next(items)[1] == {"id": "a", "text": "x"}
    assert max(pulled) <= 3
