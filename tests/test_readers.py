"""Tests for dedup.io.readers: every format, field detection, ids, and every bad-input case."""

from __future__ import annotations

import gzip
import io
import json
import re
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.config import ReadConfig
from dedup.errors import DedupError, InputFormatError, InputNotFoundError
from dedup.io.readers import FIELD_ALIASES, read_articles
from dedup.io.writers import write_json, write_jsonl
from dedup.types import BadRecord

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

RECORDS = [
    {"id": "a", "title": "First", "text": "one two three", "date": "2025-07-15", "source": "x.com"},
    {"id": "b", "title": "Second", "text": "four five six", "date": None, "source": "y.com"},
    {"id": "c", "title": "", "text": "seven eight", "date": "2025-07-16", "source": ""},
]
ARABIC = "قالَ الرئيسُ: «أهلاً»، يوم ٣ — الصين وروسيا"


def jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def delimited(records: list[dict], sep: str) -> str:
    keys = list(records[0])
    lines = [sep.join(keys)] + [sep.join("" if r[k] is None else str(r[k]) for k in keys) for r in records]
    return "\n".join(lines) + "\n"


def zipped(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return path


def put(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


# --------------------------------------------------------------------------- formats

FORMATS: list[tuple[str, Callable[[Path], Path], list[str]]] = [
    ("jsonl", lambda d: put(d / "in.jsonl", jsonl(RECORDS)), ["in.jsonl:1", "in.jsonl:2", "in.jsonl:3"]),
    ("ndjson", lambda d: put(d / "in.ndjson", jsonl(RECORDS)), ["in.ndjson:1", "in.ndjson:2", "in.ndjson:3"]),
    (
        "jsonl-gz",
        lambda d: put(d / "in.jsonl.gz", gzip.compress(jsonl(RECORDS).encode())),
        ["in.jsonl.gz:1", "in.jsonl.gz:2", "in.jsonl.gz:3"],
    ),
    (
        "jsonl-blank-lines-and-crlf",
        lambda d: put(d / "in.jsonl", "\r\n" + jsonl(RECORDS[:2]).replace("\n", "\r\n") + "  \n" + jsonl(RECORDS[2:])),
        ["in.jsonl:2", "in.jsonl:3", "in.jsonl:5"],
    ),
    ("jsonl-bom", lambda d: put(d / "in.jsonl", "\ufeff" + jsonl(RECORDS)), ["in.jsonl:1", "in.jsonl:2", "in.jsonl:3"]),
    (
        "json-array",
        lambda d: put(d / "in.json", json.dumps(RECORDS, indent=2)),
        ["in.json:#1", "in.json:#2", "in.json:#3"],
    ),
    (
        "json-object-with-list",
        lambda d: put(d / "in.json", json.dumps({"meta": {"n": 3}, "tags": ["x"], "articles": RECORDS})),
        ["in.json:#1", "in.json:#2", "in.json:#3"],
    ),
    (
        "json-gz",
        lambda d: put(d / "in.json.gz", gzip.compress(json.dumps(RECORDS).encode())),
        ["in.json.gz:#1", "in.json.gz:#2", "in.json.gz:#3"],
    ),
    ("csv", lambda d: put(d / "in.csv", delimited(RECORDS, ",")), ["in.csv:2", "in.csv:3", "in.csv:4"]),
    ("csv-bom", lambda d: put(d / "in.csv", "\ufeff" + delimited(RECORDS, ",")), ["in.csv:2", "in.csv:3", "in.csv:4"]),
    ("tsv", lambda d: put(d / "in.tsv", delimited(RECORDS, "\t")), ["in.tsv:2", "in.tsv:3", "in.tsv:4"]),
    (
        "zip-jsonl-and-json",
        # members are read in sorted order whatever the order in the archive; other files are ignored
        lambda d: zipped(
            d / "in.zip",
            {
                "b.json": json.dumps(RECORDS[1:]),
                "a.jsonl": jsonl(RECORDS[:1]),
                "notes.md": "hi",
                "__MACOSX/._a.jsonl": "\x00",
            },
        ),
        ["in.zip:a.jsonl:1", "in.zip:b.json:#1", "in.zip:b.json:#2"],
    ),
]


@pytest.mark.parametrize(("build", "origins"), [pytest.param(b, o, id=i) for i, b, o in FORMATS])
def test_every_format_reads_the_same_articles(
    tmp_path: Path, build: Callable[[Path], Path], origins: list[str]
) -> None:
    path = build(tmp_path)
    articles, bad = read_articles([path])
    assert bad == []
    assert [a.id for a in articles] == ["a", "b", "c"]
    assert [a.text for a in articles] == [r["text"] for r in RECORDS]
    assert [a.title for a in articles] == ["First", "Second", ""]
    assert [a.date for a in articles] == ["2025-07-15", None, "2025-07-16"]
    assert [a.source for a in articles] == ["x.com", "y.com", ""]
    assert [a.origin for a in articles] == [str(tmp_path / o) for o in origins]


def test_stdin_is_jsonl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(jsonl(RECORDS)))
    articles, bad = read_articles(["-"])
    assert [a.id for a in articles] == ["a", "b", "c"]
    assert [a.origin for a in articles] == ["<stdin>:1", "<stdin>:2", "<stdin>:3"]
    assert bad == []


def test_stdin_bytes_are_decoded_strictly(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = io.TextIOWrapper(io.BytesIO(b'{"text": "ok"}\n{"text": "caf\xe9"}\n'), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", raw)
    with pytest.raises(InputFormatError, match=r"^<stdin>:2: .*not UTF-8.*iconv"):
        read_articles(["-"])


def test_txt_directory_reads_the_seeds() -> None:
    articles, bad = read_articles([SEEDS])
    files = sorted(SEEDS.glob("*.txt"))
    assert len(articles) == len(files) == 5
    assert bad == []
    assert [a.id for a in articles] == [f.stem for f in files]
    for article, file in zip(articles, files, strict=True):
        text = file.read_text(encoding="utf-8")
        assert article.text == text
        assert article.title in [line.strip() for line in text.splitlines()[:8]]
        assert article.origin == f"{file}:1"
        assert article.record == {"id": file.stem, "title": article.title, "text": text}


def test_txt_title_skips_site_chrome_before_the_headline() -> None:
    # two seeds are saved pages that open with site chrome ("Get News Fast", a logo's alt text)
    titles = {a.id: a.title for a in read_articles([SEEDS])[0]}
    assert titles["001_9eacc07b82d68d60"].startswith("تأكيد الصين على التعاون مع روسيا")
    assert titles["002_1f4e6ce772e1f267"] == "لقاء تاريخي بين شي جين بينغ وسيرغي لافروف"
    assert titles["000_b8850f4b98589b0e"] == 'شي: يجب على موسكو وبكين "تعزيز الدعم المتبادل"'


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Get News Fast\n\nLavrov meets Xi in Beijing\nXi met Lavrov in Beijing.", "Lavrov meets Xi in Beijing"),
        ("Menu Home Sports\nNothing here repeats the first lines\nat all, really", "Menu Home Sports"),  # no line fits: the first
        ("\n\n  Only line  \n", "Only line"),
        ("", ""),
    ],
    ids=["chrome-first", "fallback-first-line", "one-line", "empty"],
)
def test_txt_title_rule(tmp_path: Path, text: str, title: str) -> None:
    put(tmp_path / "a.txt", text)
    articles, _ = read_articles([tmp_path])
    assert [a.title for a in articles] == [title]


def test_txt_directory_skips_other_and_hidden_files(tmp_path: Path) -> None:
    put(tmp_path / "b.txt", "\n\n  Title B  \nbody b\n")
    put(tmp_path / "a.TXT", "Title A\nbody a")
    put(tmp_path / ".hidden.txt", "not an article")
    put(tmp_path / "notes.md", "not an article")
    (tmp_path / "sub.txt").mkdir()
    articles, _ = read_articles([tmp_path])
    assert [(a.id, a.title) for a in articles] == [("a", "Title A"), ("b", "Title B")]


def test_several_paths_are_concatenated_in_order(tmp_path: Path) -> None:
    first = put(tmp_path / "1.jsonl", jsonl(RECORDS[2:]))
    second = put(tmp_path / "2.csv", delimited(RECORDS[:2], ","))
    articles, _ = read_articles([first, str(second)])
    assert [a.id for a in articles] == ["c", "a", "b"]


def test_a_single_path_is_accepted(tmp_path: Path) -> None:
    path = put(tmp_path / "in.jsonl", jsonl(RECORDS))
    assert [a.id for a in read_articles(path)[0]] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("fmt", "name", "content"),
    [
        pytest.param("jsonl", "data.txt", jsonl(RECORDS), id="jsonl-in-a-.txt-file"),
        pytest.param("json", "data.dat", json.dumps(RECORDS), id="json-in-a-.dat-file"),
        pytest.param("csv", "data", delimited(RECORDS, ","), id="csv-without-extension"),
    ],
)
def test_explicit_format_overrides_the_extension(tmp_path: Path, fmt: str, name: str, content: str) -> None:
    articles, _ = read_articles([put(tmp_path / name, content)], ReadConfig(format=fmt))
    assert [a.id for a in articles] == ["a", "b", "c"]


def test_unknown_extension_asks_for_format(tmp_path: Path) -> None:
    path = put(tmp_path / "data.dat", jsonl(RECORDS))
    with pytest.raises(InputFormatError, match=r"data\.dat: cannot tell the format.*--format"):
        read_articles([path])


# --------------------------------------------------------------------------- fields


@pytest.mark.parametrize(
    ("field", "key"),
    [pytest.param(field, key, id=f"{field}<-{key}") for field, keys in FIELD_ALIASES.items() for key in keys]
    + [
        pytest.param("id", "URL", id="id<-URL-uppercase"),
        pytest.param("text", "Content", id="text<-Content-capitalized"),
        pytest.param("title", "HEADLINE", id="title<-HEADLINE-uppercase"),
    ],
)
def test_each_alias_is_detected(tmp_path: Path, field: str, key: str) -> None:
    record = {"id": "x1", "text": "some words"}
    if field in ("id", "text"):  # keep the alias under test the only candidate for its field
        del record[field]
    record[key] = "VALUE"
    articles, _ = read_articles([put(tmp_path / "in.jsonl", jsonl([record]))])
    assert getattr(articles[0], field) == "VALUE"
    assert articles[0].record == record


def test_aliases_are_tried_in_order(tmp_path: Path) -> None:
    record = {"body": "from body", "content": "from content", "url": "u", "ID": 7}
    articles, _ = read_articles([put(tmp_path / "in.jsonl", jsonl([record]))])
    assert (articles[0].text, articles[0].id) == ("from content", "7")


def test_explicit_field_names(tmp_path: Path) -> None:
    record = {"guid": 42, "article_body": "the body", "text": "not this", "hed": "H", "when": "2020", "outlet": "O"}
    config = ReadConfig(
        id_field="guid", text_field="Article_Body", title_field="hed", date_field="when", source_field="outlet"
    )
    [article], _ = read_articles([put(tmp_path / "in.jsonl", jsonl([record]))], config)
    assert (article.id, article.text, article.title, article.date, article.source) == (
        "42",
        "the body",
        "H",
        "2020",
        "O",
    )


def test_missing_optional_fields_get_defaults(tmp_path: Path) -> None:
    [article], _ = read_articles([put(tmp_path / "in.jsonl", jsonl([{"text": "t"}]))])
    assert (article.id, article.title, article.date, article.source) == ("0", "", None, "")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("", "", id="empty-text"),
        pytest.param(ARABIC, ARABIC, id="arabic"),
        pytest.param("line\u2028separator", "line\u2028separator", id="u2028-stays-in-one-record"),
    ],
)
def test_text_values(tmp_path: Path, value: str | None, expected: str) -> None:
    [article], _ = read_articles([put(tmp_path / "in.jsonl", jsonl([{"id": 1, "text": value}]))])
    assert article.text == expected


def test_no_text_field_names_the_fields_found(tmp_path: Path) -> None:
    path = put(tmp_path / "in.jsonl", jsonl([{"id": 1, "headline": "h", "summary": "s"}]))
    with pytest.raises(
        InputFormatError, match=r"in\.jsonl: no text field.*fields found: id, headline, summary.*--text-field"
    ):
        read_articles([path])


def test_an_explicit_field_that_is_absent_is_an_error(tmp_path: Path) -> None:
    path = put(tmp_path / "in.jsonl", jsonl(RECORDS))
    with pytest.raises(
        InputFormatError, match=r"in\.jsonl: the text field 'body' \(--text-field\) is not in the first record"
    ):
        read_articles([path], ReadConfig(text_field="body"))


# --------------------------------------------------------------------------- ids


def test_files_without_ids_get_positions_across_paths(tmp_path: Path) -> None:
    first = put(tmp_path / "1.jsonl", jsonl([{"text": "a"}, {"text": "b"}]))
    second = put(tmp_path / "2.jsonl", jsonl([{"id": "k", "text": "c"}, {"id": "m", "text": "d"}]))
    articles, _ = read_articles([first, second])
    assert [a.id for a in articles] == ["0", "1", "k", "m"]


BAD_RECORDS = [  # records, the line that is bad, what the reason says
    ([{"id": "k", "text": "a"}, {"text": "b"}], 2, "'id' is missing"),
    ([{"id": "k", "text": "a"}, {"id": None, "text": "b"}], 2, "'id' is null"),
    ([{"id": "1", "text": "a"}, {"id": "", "text": "b"}], 2, "'id' is empty"),
    ([{"text": "a"}, {"id": "m", "text": "b"}], 2, "first record of the file had none"),
    ([{"id": True, "text": "a"}], 1, "JSON boolean"),
    ([{"id": {"x": 1}, "text": "a"}], 1, "JSON object"),
    ([{"id": "k", "text": None}], 1, "JSON null, not a string"),
    ([{"id": "k", "text": "abc \ud800 def"}], 1, "lone surrogate"),
    ([{"id": "k\udfff", "text": "abc"}], 1, "the id holds a lone surrogate"),
    ([{"id": "k", "text": "abc", "title": "t\ud800"}], 1, "the title holds a lone surrogate"),
    ([{"id": "k", "text": "abc", "source": "\udc80"}], 1, "the source holds a lone surrogate"),
]


@pytest.mark.parametrize(("records", "line", "reason"), BAD_RECORDS, ids=[r for *_, r in BAD_RECORDS])
def test_bad_ids_texts_and_surrogates_are_named_or_skipped(tmp_path: Path, records: list, line: int, reason: str) -> None:
    records = records + [{"id": "good", "text": "fine"}] if len(records) == 1 else records  # one good record at least
    text = "".join(json.dumps(r) + "\n" for r in records)  # ASCII escapes: the surrogates stay \uXXXX in the file
    path = put(tmp_path / "in.jsonl", text)
    with pytest.raises(InputFormatError, match=f":{line}: .*{re.escape(reason)}"):
        read_articles([path])
    articles, bad = read_articles([path], ReadConfig(skip_bad=True))
    assert [b.line for b in bad] == [line] and len(articles) == len(records) - 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [pytest.param(7, "7", id="int"), pytest.param(7.5, "7.5", id="float"), pytest.param("x", "x", id="str")],
)
def test_ids_become_strings(tmp_path: Path, value: object, expected: str) -> None:
    [article], _ = read_articles([put(tmp_path / "in.jsonl", jsonl([{"id": value, "text": "t"}]))])
    assert article.id == expected


def test_repeated_id_names_both_places(tmp_path: Path) -> None:
    path = put(tmp_path / "in.jsonl", jsonl([{"id": 1, "text": "a"}, {"id": 2, "text": "b"}, {"id": "1", "text": "c"}]))
    with pytest.raises(
        InputFormatError, match=r"in\.jsonl:3: repeated id '1': first at .*in\.jsonl:1, again at .*in\.jsonl:3"
    ):
        read_articles([path])


def test_repeated_id_across_files_and_the_same_file_twice(tmp_path: Path) -> None:
    path = put(tmp_path / "in.jsonl", jsonl(RECORDS))
    with pytest.raises(InputFormatError, match=r"repeated id 'a': first at .*in\.jsonl:1, again at .*in\.jsonl:1"):
        read_articles([path, path])


def test_a_stream_read_to_its_end_lets_its_ids_go_but_keeps_its_bad_records(tmp_path: Path) -> None:
    """The first place of each id serves only while reading: a flow that read the stream runs on without it."""
    from dedup.io.readers import ArticleStream

    path = put(tmp_path / "in.jsonl", jsonl([{"id": 1, "text": "a"}, {"id": 1, "text": "b"}, {"id": 2, "text": "c"}]))
    stream = ArticleStream([path, path], ReadConfig(skip_bad=True))
    it = iter(stream)
    assert next(it).id == "1" and stream._collector._first_seen  # still reading: repeats are caught against it
    assert [a.id for a in it] == ["2"]  # the second file is all repeats of the first
    assert stream._collector._first_seen == {}
    assert [(b.line, "repeated id" in b.reason) for b in stream.bad] == [(2, True), (1, True), (2, True), (3, True)]


def test_repeated_id_with_skip_bad_is_reported(tmp_path: Path) -> None:
    path = put(tmp_path / "in.jsonl", jsonl([{"id": 1, "text": "a"}, {"id": 1, "text": "b"}, {"id": 2, "text": "c"}]))
    articles, bad = read_articles([path], ReadConfig(skip_bad=True))
    assert [(a.id, a.text) for a in articles] == [("1", "a"), ("2", "c")]
    assert len(bad) == 1
    assert (bad[0].path, bad[0].line) == (str(path), 2)
    assert "repeated id '1'" in bad[0].reason
    assert "in.jsonl:1" in bad[0].reason


# --------------------------------------------------------------------------- bad input

GOOD = '{"id": "g1", "text": "good one"}\n'
GOOD2 = '{"id": "g2", "text": "good two"}\n'

# (file name, content, line that is bad, text the message must contain)
BAD_RECORDS = [
    (
        "in.jsonl",
        GOOD + '{"id": "x", "text": "no end"\n' + GOOD2,
        2,
        "malformed JSON (Expecting ',' delimiter at column 29)",
    ),
    ("in.jsonl", GOOD + "[1, 2]\n" + GOOD2, 2, "is a JSON array, not an object"),
    ("in.jsonl", GOOD + '"just a string"\n' + GOOD2, 2, "is a JSON string, not an object"),
    (
        "in.jsonl",
        GOOD + GOOD2 + '{"text": "caf\xe9"}\n'.encode("latin-1").decode("utf-8", "surrogateescape"),
        3,
        "not UTF-8",
    ),
    ("in.jsonl", GOOD + '{"id": "x", "text": 12}\n' + GOOD2, 2, "is a JSON number, not a string"),
    ("in.jsonl", GOOD + '{"id": "x", "text": ["a"]}\n' + GOOD2, 2, "is a JSON array, not a string"),
    ("in.jsonl", GOOD + '{"id": "x", "body": "wrong field"}\n' + GOOD2, 2, "no 'text' field"),
    ("in.csv", "id,text\ng1,good one\nx,too,many\ng2,good two\n", 3, "the row has 3 fields but the header has 2"),
    ("in.csv", 'id,text\ng1,good one\nx\ng2,"two\nlines"\n', 3, "the row has 1 fields but the header has 2"),
    ("in.tsv", "id\ttext\ng1\tgood one\nx\n" + "g2\tgood two\n", 3, "fields but the header has 2"),
    ("in.csv", "id,text\ng1,good one\nx,caf\udce9\ng2,good two\n", 3, "not UTF-8"),
    (
        "in.json",
        '[{"id": "g1", "text": "a"}, 5, {"id": "g2", "text": "b"}]',
        2,
        "record #2: the record is a JSON number",
    ),
]
BAD_IDS = [
    "jsonl-malformed",
    "jsonl-array-line",
    "jsonl-string-line",
    "jsonl-not-utf8",
    "text-is-number",
    "text-is-list",
    "text-field-missing",
    "csv-too-many-fields",
    "csv-too-few-fields",
    "tsv-too-few-fields",
    "csv-not-utf8",
    "json-array-item-not-object",
]


def _encode(content: str) -> bytes:
    return content.encode("utf-8", "surrogateescape")  # lone surrogates stand for raw non-UTF-8 bytes


@pytest.mark.parametrize(
    ("name", "content", "line", "needle"), [pytest.param(*c, id=i) for c, i in zip(BAD_RECORDS, BAD_IDS, strict=True)]
)
def test_bad_record_raises_with_file_and_line(tmp_path: Path, name: str, content: str, line: int, needle: str) -> None:
    path = put(tmp_path / name, _encode(content))
    where = f"{path}: record #{line}:" if name.endswith(".json") else f"{path}:{line}:"
    with pytest.raises(InputFormatError) as caught:
        read_articles([path])
    message = str(caught.value)
    assert message.startswith(where), message
    assert needle in message
    assert "\n" not in message
    assert caught.value.path == str(path)


@pytest.mark.parametrize(
    ("name", "content", "line", "needle"), [pytest.param(*c, id=i) for c, i in zip(BAD_RECORDS, BAD_IDS, strict=True)]
)
def test_bad_record_is_skipped_with_skip_bad(tmp_path: Path, name: str, content: str, line: int, needle: str) -> None:
    path = put(tmp_path / name, _encode(content))
    articles, bad = read_articles([path], ReadConfig(skip_bad=True))
    assert [a.id for a in articles] == ["g1", "g2"]
    assert [(b.path, b.line) for b in bad] == [(str(path), line)]
    assert needle in bad[0].reason


def test_not_utf8_message_says_how_to_convert(tmp_path: Path) -> None:
    path = put(tmp_path / "in.jsonl", b'{"text": "ok"}\n{"text": "\xc7\xe1\xd5\xed\xe4"}\n')  # windows-1256 Arabic
    with pytest.raises(InputFormatError) as caught:
        read_articles([path])
    assert str(caught.value) == (
        f"{path}:2: byte 0xC7 at column 11 is not valid UTF-8: the file is not UTF-8; convert it, "
        f"e.g. iconv -f WINDOWS-1256 -t UTF-8 {path} > utf8-in.jsonl (with the file's real encoding after -f)"
    )


def test_jsonl_that_is_really_a_json_array_gets_a_hint(tmp_path: Path) -> None:
    path = put(tmp_path / "in.jsonl", json.dumps(RECORDS, indent=2))
    with pytest.raises(InputFormatError, match=r"in\.jsonl:1: malformed JSON .*--format json"):
        read_articles([path])


@pytest.mark.parametrize(
    ("name", "content", "pattern"),
    [
        pytest.param("in.json", '[{"text": "a"},\n {"text": }]', r"in\.json:2: malformed JSON", id="json-syntax"),
        pytest.param(
            "in.json", jsonl(RECORDS), r"in\.json:2: malformed JSON \(Extra data.*--format jsonl", id="json-is-jsonl"
        ),
        pytest.param("in.json", b'[{"text": "\xe9"}]', r"in\.json:1: byte 0xE9 .*not UTF-8", id="json-not-utf8"),
        pytest.param("in.json", '"text"', r"in\.json: the top level is a JSON string", id="json-scalar"),
        pytest.param(
            "in.json", '{"a": [{"text": "x"}], "b": [{"text": "y"}]}', r"several: 'a', 'b'", id="json-two-lists"
        ),
        # one article object (a news-please file named alone) said nothing of --format newsplease, which reads it
        pytest.param("in.json", '{"text": "x"}', r"without exactly one list of records.*--format newsplease", id="json-single-object"),
        pytest.param(
            "in.jsonl.gz",
            gzip.compress(jsonl(RECORDS).encode())[:-12],
            r"in\.jsonl\.gz: cannot read the file",
            id="truncated-gzip",
        ),
        pytest.param("in.zip", b"PK not really a zip", r"in\.zip: not a valid zip archive", id="bad-zip"),
        pytest.param(
            "in.csv",
            "id,text,id\n1,a,b\n",
            r"in\.csv:1: the header names 'id' more than once",
            id="csv-repeated-column",
        ),
        pytest.param(
            "in.csv",
            b"id,t\xe9xt\n1,a\n",
            r"in\.csv:1: the header row cannot be read: .*not UTF-8",
            id="csv-header-not-utf8",
        ),
    ],
)
@pytest.mark.parametrize("skip_bad", [False, True], ids=["strict", "skip-bad"])
def test_file_level_problems_always_raise(
    tmp_path: Path, name: str, content: str | bytes, pattern: str, skip_bad: bool
) -> None:
    path = put(tmp_path / name, content)
    with pytest.raises(InputFormatError, match=pattern):
        read_articles([path], ReadConfig(skip_bad=skip_bad))


def test_bad_line_inside_a_zip_member(tmp_path: Path) -> None:
    path = zipped(tmp_path / "in.zip", {"day/m.jsonl": GOOD + "{oops\n" + GOOD2})
    with pytest.raises(InputFormatError, match=r"in\.zip:day/m\.jsonl:2: malformed JSON"):
        read_articles([path])
    articles, bad = read_articles([path], ReadConfig(skip_bad=True))
    assert [a.origin for a in articles] == [f"{path}:day/m.jsonl:1", f"{path}:day/m.jsonl:3"]
    assert [(b.path, b.line) for b in bad] == [(f"{path}:day/m.jsonl", 2)]


def test_undecodable_txt_file(tmp_path: Path) -> None:
    put(tmp_path / "a.txt", "fine\n")
    put(tmp_path / "b.txt", b"line one\nline \xff two\n")
    with pytest.raises(InputFormatError, match=r"b\.txt:2: byte 0xFF at column 6 is not valid UTF-8"):
        read_articles([tmp_path])
    articles, bad = read_articles([tmp_path], ReadConfig(skip_bad=True))
    assert [a.id for a in articles] == ["a"]
    assert [(b.path, b.line) for b in bad] == [(str(tmp_path / "b.txt"), 2)]


def test_csv_rows_are_located_at_their_first_line(tmp_path: Path) -> None:
    path = put(tmp_path / "in.csv", 'id,text\n1,"multi\nline\ntext"\n2,"x, y"\n')
    articles, _ = read_articles([path])
    assert [(a.id, a.text, a.origin) for a in articles] == [
        ("1", "multi\nline\ntext", f"{path}:2"),
        ("2", "x, y", f"{path}:5"),
    ]


def test_csv_fields_larger_than_the_default_limit(tmp_path: Path) -> None:
    big = "word " * 100_000  # 500 kB, beyond csv's default 128 KiB field limit
    [article], _ = read_articles([put(tmp_path / "in.csv", f'id,text\n1,"{big}"\n')])
    assert article.text == big


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("in.jsonl", "", id="jsonl-zero-bytes"),
        pytest.param("in.jsonl", "\n  \n\n", id="jsonl-blank-lines"),
        pytest.param("in.jsonl.gz", gzip.compress(b""), id="jsonl-gz-empty"),
        pytest.param("in.json", "[]", id="json-empty-array"),
        pytest.param("in.json", "  \n", id="json-blank"),
        pytest.param("in.csv", "", id="csv-zero-bytes"),
        pytest.param("in.csv", "id,text\n", id="csv-header-only"),
        pytest.param("in.tsv", "id\ttext\n\n", id="tsv-header-only"),
    ],
)
@pytest.mark.parametrize("skip_bad", [False, True], ids=["strict", "skip-bad"])
def test_empty_file(tmp_path: Path, name: str, content: str | bytes, skip_bad: bool) -> None:
    good = put(tmp_path / "good.jsonl", GOOD)
    path = put(tmp_path / name, content)
    with pytest.raises(InputFormatError, match=rf"^{path}: empty input"):
        read_articles([good, path], ReadConfig(skip_bad=skip_bad))


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda d: d, id="empty-directory"),
        pytest.param(lambda d: zipped(d / "in.zip", {"readme.md": "x"}), id="zip-without-json"),
        pytest.param(lambda d: zipped(d / "in.zip", {"a.jsonl": ""}), id="zip-empty-member"),
    ],
)
def test_empty_containers(tmp_path: Path, build: Callable[[Path], Path]) -> None:
    with pytest.raises(InputFormatError, match="empty input"):
        read_articles([build(tmp_path)])


@pytest.mark.parametrize("skip_bad", [False, True], ids=["strict", "skip-bad"])
def test_missing_path(tmp_path: Path, skip_bad: bool) -> None:
    good = put(tmp_path / "good.jsonl", GOOD)
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(InputNotFoundError, match=rf"^{missing}: no such file or directory") as caught:
        read_articles([good, missing], ReadConfig(skip_bad=skip_bad))
    assert isinstance(caught.value, FileNotFoundError)
    assert isinstance(caught.value, DedupError)


def test_no_paths() -> None:
    with pytest.raises(InputFormatError, match="no input paths"):
        read_articles([])


def test_only_bad_records_means_no_articles(tmp_path: Path) -> None:
    path = put(tmp_path / "in.jsonl", '{"text": 1}\n[2]\n')
    with pytest.raises(InputFormatError, match=r"^no articles: every record was bad \(2 skipped\)"):
        read_articles([path], ReadConfig(skip_bad=True))


def test_skip_bad_collects_every_problem_in_order(tmp_path: Path) -> None:
    path = put(tmp_path / "in.jsonl", GOOD + "{bad\n" + '{"id": "g1", "text": "again"}\n' + "7\n" + GOOD2)
    articles, bad = read_articles([path], ReadConfig(skip_bad=True))
    assert [a.id for a in articles] == ["g1", "g2"]
    assert [b.line for b in bad] == [2, 3, 4]
    assert all(isinstance(b, BadRecord) and b.path == str(path) for b in bad)


# --------------------------------------------------------------------------- round trip


def test_arabic_round_trip(tmp_path: Path) -> None:
    records = [
        {"id": "ع1", "title": "عنوان", "text": ARABIC, "source": "الرياض"},
        {"id": "ع2", "text": ARABIC + " ٢٠٢٥"},
    ]
    path = tmp_path / "in.jsonl"
    assert write_jsonl(path, records) == 2
    assert "عنوان" in path.read_text(encoding="utf-8")  # not \u-escaped
    articles, _ = read_articles([path])
    assert [a.record for a in articles] == records
    assert [(a.id, a.text, a.title, a.source) for a in articles] == [
        ("ع1", ARABIC, "عنوان", "الرياض"),
        ("ع2", ARABIC + " ٢٠٢٥", "", ""),
    ]
    out = tmp_path / "out.jsonl"
    write_jsonl(out, (a.record for a in articles))
    assert out.read_bytes() == path.read_bytes()


def test_not_utf8_line_and_column_after_a_bom(tmp_path: Path) -> None:
    put(tmp_path / "a.txt", b"\xef\xbb\xbftitle\nok\nab\xffc\n")
    with pytest.raises(InputFormatError, match=r"a\.txt:3: byte 0xFF at column 3 "):
        read_articles([tmp_path])


@settings(max_examples=50, deadline=None)
@given(
    texts=st.lists(st.text(st.characters(exclude_categories=("Cs",))), min_size=1, max_size=5),
    fmt=st.sampled_from(["jsonl", "json"]),
)
def test_any_text_round_trips(texts: list[str], fmt: str) -> None:
    records = [{"id": f"r{i}", "text": t} for i, t in enumerate(texts)]
    with tempfile.TemporaryDirectory() as tmp:  # not tmp_path: hypothesis reruns the body
        path = Path(tmp) / f"in.{fmt}"
        if fmt == "jsonl":
            write_jsonl(path, records)
        else:
            write_json(path, records)
        articles, bad = read_articles([path])
    assert bad == []
    assert [a.text for a in articles] == texts
    assert [a.record for a in articles] == records


def test_public_api() -> None:
    from dedup.io import readers, writers

    assert readers.__all__ == ["FIELD_ALIASES", "ArticleStream", "read_articles"]
    assert writers.__all__ == ["atomic_open", "json_line", "write_failure", "write_json", "write_jsonl", "write_lines"]


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_deeply_nested_json_is_a_bad_record_not_a_recursion_error(tmp_path: Path, suffix: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    if suffix == ".jsonl":
        path = put(tmp_path / "in.jsonl", '{"id": "a", "text": "fine"}\n{"id": "b", "text": "x", "z": ' + deep + "}\n")
        articles, bad = read_articles([path], ReadConfig(skip_bad=True))
        assert [a.id for a in articles] == ["a"] and [b.line for b in bad] == [2] and "nested too deeply" in bad[0].reason
    else:
        path = put(tmp_path / "in.json", '[{"id": "b", "text": "x", "z": ' + deep + "}]")
    with pytest.raises(InputFormatError, match="nested too deeply"):
        read_articles([path])


def test_whole_number_ids_read_as_their_digits_other_ids_as_written(tmp_path: Path) -> None:
    """A feed numbering its articles 1.0 matched no gold pair naming them 1 ("1.0" and "1"), nor a CSV file's "1"."""
    rows = [{"id": 1.0, "text": "a"}, {"id": 2, "text": "b"}, {"id": 3e1, "text": "c"}, {"id": 2.5, "text": "d"},
            {"id": "4.0", "text": "e"}, {"id": "007", "text": "f"}]
    path = tmp_path / "feed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    arts, _ = read_articles(path)
    assert [a.id for a in arts] == ["1", "2", "30", "2.5", "4.0", "007"]
    csv = tmp_path / "feed.csv"
    csv.write_text("id,text\n1,a\n2.0,b\n", encoding="utf-8")
    assert [a.id for a in read_articles(csv)[0]] == ["1", "2.0"]  # a CSV field is a string: as written
    path.write_text(json.dumps({"id": 1, "text": "a"}) + "\n" + json.dumps({"id": 1.0, "text": "b"}) + "\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="repeated id '1'"):
        read_articles(path)  # one number: one article
