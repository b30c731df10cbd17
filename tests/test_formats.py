"""The formats data teams already have (issue 17): compressed JSONL/CSV, Parquet in and out, news-please trees.

One small feed (Arabic and Latin articles with exact, near and contained
copies) is written in every format; each must give the same decisions, byte
for byte, as the JSONL. Parquet written back keeps its rows and schema.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
import random
import re
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pc = pytest.importorskip("pyarrow.compute")
zstandard = pytest.importorskip("zstandard")

from dedup.cli import app  # noqa: E402
from dedup.config import ReadConfig  # noqa: E402
from dedup.errors import InputFormatError  # noqa: E402
from dedup.io.readers import read_articles  # noqa: E402

FIELDS = ("url", "title", "maintext", "date_publish", "source_domain")


# --------------------------------------------------------------------------- the feed


def _vocabulary(rng: random.Random, letters: list[str], n: int, size: tuple[int, int]) -> list[str]:
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(*size))))
    return sorted(words)


LATIN = _vocabulary(random.Random(1), ["ba", "ko", "ri", "tan", "mel", "sor", "vi", "den", "lu", "pra", "gen", "tol"], 400, (2, 3))
ARABIC = _vocabulary(random.Random(2), list("ابتثجحخدذرزسشصضطعغفقكلمنهوي"), 400, (3, 5))
TASHKEEL = "\u064e\u064f\u0650\u0651"


def _article(rng: random.Random, vocab: list[str], words: int = 150) -> str:
    body = [rng.choice(vocab) for _ in range(words)]
    third = words // 3
    return "\n\n".join(" ".join(body[k : k + third]) + "." for k in range(0, words, third))


def _edit(rng: random.Random, text: str, vocab: list[str], rate: float) -> str:
    words = text.split(" ")
    for k in rng.sample(range(len(words)), int(len(words) * rate)):
        words[k] = rng.choice(vocab)
    return " ".join(words)


def feed() -> list[dict]:
    """~30 news-please-style records: 16 originals (Arabic and Latin), then copies of every kind."""
    rng = random.Random(17)
    bases = [_article(rng, ARABIC if k % 2 else LATIN) for k in range(16)]
    rows = []

    def add(text: str, source: str, day: int | None, title: str = "") -> None:
        k = len(rows)
        date = None if day is None else f"2024-03-{day:02d} {8 + k % 10:02d}:30:00"
        rows.append({"url": f"https://{source}/news/{k:03d}", "title": title or f"headline {k}", "maintext": text,
                     "date_publish": date, "source_domain": source})

    for k, text in enumerate(bases):
        add(text, ["wire.example", "daily.example", "akhbar.example"][k % 3], 10 + k % 5, f"original {k}")
    add(bases[0], "copy.example", 20)  # exact copy (Latin)
    add(bases[1], "copy.example", 5)  # exact copy (Arabic), dated earlier: it is kept
    add(_edit(rng, bases[2], LATIN, 0.04), "near.example", 21)  # near copy
    add(_edit(rng, bases[3], ARABIC, 0.04), "near.example", None)  # near copy, undated
    add(bases[4] + "\n\n" + _article(rng, LATIN, 150), "long.example", 22)  # contains the original
    add(" ".join(bases[5].split(" ")[:40]) + " ...", "teaser.example", 23)  # a teaser, contained
    add("".join(c + (TASHKEEL[i % 4] if "\u0627" <= c <= "\u064a" and i % 3 == 0 else "") for i, c in enumerate(bases[7])),
        "vowelled.example", 24)  # Arabic with diacritics
    add(_edit(rng, bases[8], LATIN, 0.02), "near.example", 25)
    add(bases[8], "copy.example", 26)  # a third copy in the same group
    add(_edit(rng, bases[9], ARABIC, 0.03), "near.example", 27)
    add("too short to compare", "short.example", 28)
    add("", "empty.example", None)
    add(_article(rng, LATIN), "fresh.example", 28)
    add(_article(rng, ARABIC), "fresh.example", 29)
    return rows


def jsonl_bytes(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def csv_bytes(rows: list[dict], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
    return out.getvalue().encode("utf-8")


def parquet_table(rows: list[dict]) -> pa.Table:
    """The records as Arrow: dates as a real timestamp column, as data teams store them."""
    columns = {k: [r[k] for r in rows] for k in FIELDS}
    columns["date_publish"] = [None if d is None else datetime.fromisoformat(d) for d in columns["date_publish"]]
    schema = pa.schema([("url", pa.string()), ("title", pa.string()), ("maintext", pa.string()),
                        ("date_publish", pa.timestamp("us")), ("source_domain", pa.string())])
    return pa.table(columns, schema=schema)


def newsplease_tree(root: Path, rows: list[dict]) -> Path:
    """One .json file per article at several depths, named so that the sorted paths keep the feed order."""
    for k, row in enumerate(rows):
        sub, name = root / "2024" / ("03" if k < 20 else "04"), f"{k:03d}.json"
        if k % 4 == 0:  # a folder per article: 2024/03/000-wire_example/article.json sorts before 2024/03/001.json
            sub, name = sub / f"{k:03d}-{row['source_domain'].replace('.', '_')}", "article.json"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / name).write_text(json.dumps({**row, "language": "xx", "authors": []}, ensure_ascii=False, indent=1))
    return root


def _put(path: Path, data: bytes) -> list[Path]:
    path.write_bytes(data)
    return [path]


def _parquet_files(d: Path, rows: list[dict], cuts: tuple[int, ...]) -> list[Path]:
    table, paths = parquet_table(rows), []
    bounds = (0, *cuts, len(rows))
    for k in range(len(bounds) - 1):
        path = d / f"part-{k}.parquet"
        pq.write_table(table.slice(bounds[k], bounds[k + 1] - bounds[k]), path, row_group_size=7)
        paths.append(path)
    return paths


def _parquet_folder(d: Path, rows: list[dict]) -> list[Path]:
    (d / "ds").mkdir()
    for p in _parquet_files(d / "ds", rows, (10, 20)):
        p.rename(d / "ds" / p.name)
    (d / "ds" / "_SUCCESS").write_bytes(b"")
    (d / "ds" / ".part-0.parquet.crc").write_bytes(b"\x00")
    return [d / "ds"]


# name: how to write the feed in tmp_path, returning the input arguments
FORMATS: list[tuple[str, Callable[[Path, list[dict]], list[Path]]]] = [
    ("jsonl.gz", lambda d, r: _put(d / "f.jsonl.gz", gzip.compress(jsonl_bytes(r)))),
    ("jsonl.zst", lambda d, r: _put(d / "f.jsonl.zst", zstandard.ZstdCompressor().compress(jsonl_bytes(r)))),
    ("jsonl.zst-two-frames", lambda d, r: _put(
        d / "f.jsonl.zst", b"".join(zstandard.ZstdCompressor().compress(jsonl_bytes(part)) for part in (r[:11], r[11:])))),
    ("jsonl.xz", lambda d, r: _put(d / "f.jsonl.xz", lzma.compress(jsonl_bytes(r)))),
    ("jsonl.bz2", lambda d, r: _put(d / "f.jsonl.bz2", bz2.compress(jsonl_bytes(r)))),
    ("json.zst", lambda d, r: _put(d / "f.json.zst", zstandard.ZstdCompressor().compress(json.dumps(r).encode()))),
    ("csv", lambda d, r: _put(d / "f.csv", csv_bytes(r))),
    ("csv.zst", lambda d, r: _put(d / "f.csv.zst", zstandard.ZstdCompressor().compress(csv_bytes(r)))),
    ("csv.bz2", lambda d, r: _put(d / "f.csv.bz2", bz2.compress(csv_bytes(r)))),
    ("tsv.xz", lambda d, r: _put(d / "f.tsv.xz", lzma.compress(csv_bytes(r, "\t")))),
    ("parquet", lambda d, r: _parquet_files(d, r, ())),
    ("parquet-three-files", lambda d, r: _parquet_files(d, r, (5, 17))),
    ("parquet-folder", _parquet_folder),
    ("newsplease-tree", lambda d, r: [newsplease_tree(d / "np", r)]),
]

runner = CliRunner()


def dedupe(*args: object) -> tuple[int, str]:
    result = runner.invoke(app, ["dedupe", *map(str, args), "-q"])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """decisions.jsonl of the feed read as plain JSONL, checked to hold every kind of decision."""
    d = tmp_path_factory.mktemp("reference")
    (d / "f.jsonl").write_bytes(jsonl_bytes(feed()))
    code, output = dedupe(d / "f.jsonl", "--out", d / "out")
    assert code == 0, output
    data = (d / "out" / "decisions.jsonl").read_bytes()
    rows = [json.loads(line) for line in data.splitlines()]
    by_id = {r["id"]: r for r in rows}
    assert len(rows) == 30
    assert {r["relation"] for r in rows if r["status"] == "duplicate"} >= {"exact", "near", "contained"}
    assert {r["status"] for r in rows} == {"kept", "duplicate", "skipped"}
    # the Arabic copies are found too: the exact copy dated earlier is kept, the vowelled one is a copy
    assert by_id["https://daily.example/news/001"]["duplicate_of"] == "https://copy.example/news/017"
    assert by_id["https://vowelled.example/news/022"]["duplicate_of"] == "https://daily.example/news/007"
    return data


@pytest.mark.parametrize("build", [pytest.param(b, id=name) for name, b in FORMATS])
def test_every_format_gives_the_same_decisions(tmp_path: Path, reference: bytes, build: Callable) -> None:
    inputs = build(tmp_path, feed())
    code, output = dedupe(*inputs, "--out", tmp_path / "out")
    assert code == 0, output
    assert (tmp_path / "out" / "decisions.jsonl").read_bytes() == reference


def test_parquet_and_newsplease_records_read_like_json(tmp_path: Path) -> None:
    rows = feed()[:3]
    [path] = _parquet_files(tmp_path, rows, ())
    articles, bad = read_articles([path])
    assert bad == []
    assert [a.origin for a in articles] == [f"{path}:#{k}" for k in (1, 2, 3)]
    assert [(a.id, a.title, a.source, a.text) for a in articles] == [
        (r["url"], r["title"], r["source_domain"], r["maintext"]) for r in rows]
    assert articles[0].date == "2024-03-10T08:30:00"  # a timestamp column becomes ISO-8601 text
    assert articles[0].record == {**rows[0], "date_publish": "2024-03-10T08:30:00"}
    tree = newsplease_tree(tmp_path / "np", rows)
    articles, _ = read_articles([tree])
    assert [a.origin for a in articles] == [f"{tree}/2024/03/{p}.json:1" for p in ("000-wire_example/article", "001", "002")]
    assert [(a.id, a.date, a.text) for a in articles] == [(r["url"], r["date_publish"], r["maintext"]) for r in rows]


def test_parquet_field_options(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"guid": [7, 8], "body": ["a b", "c d"], "text": ["no", "no"], "outlet": ["x", "y"]}), path)
    articles, _ = read_articles([path], ReadConfig(id_field="guid", text_field="BODY", source_field="outlet"))
    assert [(a.id, a.text, a.source) for a in articles] == [("7", "a b", "x"), ("8", "c d", "y")]
    with pytest.raises(InputFormatError, match=r"in\.parquet: the title field 'hed' \(--title-field\) is not in the first record"):
        read_articles([path], ReadConfig(title_field="hed"))


# --------------------------------------------------------------------------- Parquet out


def rich_table(rows: list[dict]) -> pa.Table:
    """The feed with the column types a data team has: timestamps with a zone, ints, lists, structs, metadata."""
    n = len(rows)
    table = pa.table({
        "url": [r["url"] for r in rows],
        "maintext": pa.array([r["maintext"] for r in rows], pa.large_string()),
        "title": pa.array([r["title"] for r in rows]).dictionary_encode(),
        "date_publish": pa.array([None if r["date_publish"] is None else
                                  datetime.fromisoformat(r["date_publish"]).replace(tzinfo=timezone.utc) for r in rows],
                                 pa.timestamp("ms", tz="UTC")),
        "source_domain": [r["source_domain"] for r in rows],
        "words": pa.array([len(r["maintext"].split()) for r in rows], pa.int32()),
        "score": [k / 7 for k in range(n)],
        "authors": [[f"a{k}", "b"] if k % 3 else [] for k in range(n)],
        "meta": [{"lang": "ar" if k % 2 else "en", "rank": k} for k in range(n)],
        "raw": [bytes([k, 255]) for k in range(n)],  # not UTF-8: a column that is not an article field
    })
    return table.replace_schema_metadata({"producer": "newsroom-etl", "version": "3"})


@pytest.mark.parametrize("batch_rows", [1024, 4], ids=["one-batch", "batches-of-4"])
def test_parquet_round_trip_keeps_rows_and_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_rows: int) -> None:
    import dedup.io.parquet_out as parquet_out
    import dedup.io.readers.parquet as parquet_in

    monkeypatch.setattr(parquet_in, "BATCH_ROWS", batch_rows)  # rows kept across batch boundaries
    monkeypatch.setattr(parquet_out, "BATCH_ROWS", batch_rows)
    table = rich_table(feed())
    paths = [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    pq.write_table(table.slice(0, 12), paths[0], row_group_size=5)
    pq.write_table(table.slice(12), paths[1], row_group_size=5)
    code, output = dedupe(*paths, "--out", tmp_path / "out", "--output-format", "parquet")  # no bad rows: no --skip-bad
    assert code == 0, output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "decisions.parquet", "pairs.parquet", "report.html", "summary.json", "unique.parquet"]
    decisions = pq.read_table(tmp_path / "out" / "decisions.parquet").to_pylist()
    kept = [d["id"] for d in decisions if d["status"] != "duplicate"]
    assert 0 < len(kept) < len(decisions) == table.num_rows
    unique = pq.read_table(tmp_path / "out" / "unique.parquet")
    table = pa.concat_tables([pq.read_table(p) for p in paths])  # as Parquet stores it (a list's child is "element")
    expected = table.filter(pc.is_in(table["url"], pa.array(kept)))
    assert unique.schema.equals(table.schema, check_metadata=True)
    assert unique.schema.metadata == {b"producer": b"newsroom-etl", b"version": b"3"}
    assert unique.combine_chunks().equals(expected.combine_chunks())
    assert unique["url"].to_pylist() == kept  # input order


def test_parquet_decisions_and_pairs_hold_the_jsonl_rows(tmp_path: Path) -> None:
    (tmp_path / "f.jsonl").write_bytes(jsonl_bytes(feed()))
    out = tmp_path / "out"
    assert dedupe(tmp_path / "f.jsonl", "--out", out)[0] == 0
    lines = {name: [json.loads(x) for x in (out / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
             for name in ("decisions", "pairs", "unique")}
    code, output = dedupe(tmp_path / "f.jsonl", "--out", out, "--output-format", "parquet")
    assert code == 0, output
    assert not list(out.glob("*.jsonl"))  # the other format's files are gone: one run's outputs per folder
    absent = {"decisions": {"file": None, "line": None}}  # a bad record's keys: columns of every run, null here
    for name, rows in lines.items():
        assert pq.read_table(out / f"{name}.parquet").to_pylist() == [{**r, **absent.get(name, {})} for r in rows], name
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["output_format"] == "parquet"


def _schemas(out: Path) -> dict[str, object]:
    return {name: pq.read_schema(out / f"{name}.parquet") for name in ("decisions", "pairs")}


def test_parquet_decisions_have_one_schema_whatever_the_feed_held(tmp_path: Path) -> None:
    """A day's decisions.parquet and pairs.parquet have the columns of the settings, not of the day's data: a day with a
    bad record (file, line), a day of copies of stored articles (seen_before), a day of articles all too short (no
    pair) all give the schema of an ordinary day, so a folder of days reads as one table."""
    rows = feed()
    days = {"plain": jsonl_bytes(rows[:20]), "bad": jsonl_bytes(rows[20:25]) + b'{"url": "x", "maintext": null}\n',
            "short": jsonl_bytes([{"url": f"s{k}", "maintext": "too short"} for k in range(3)]),
            "copies": jsonl_bytes([{**r, "url": r["url"] + "-again"} for r in rows[:20]])}
    schemas = {}
    for history in (False, True):
        for day, data in days.items():
            (tmp_path / f"{day}.jsonl").write_bytes(data)
            out = tmp_path / f"{day}-{history}"
            code, output = dedupe(tmp_path / f"{day}.jsonl", "--out", out, "--output-format", "parquet", "--skip-bad",
                                  *(("--index", tmp_path / "history.db") if history else ()))
            assert code == 0, output
            schemas[day, history] = _schemas(out)
    seen = pq.read_table(tmp_path / "copies-True" / "decisions.parquet").column("seen_before").drop_null()
    assert len(seen) == 20  # the copies of stored articles say so
    for history in (False, True):
        assert schemas["plain", history] == schemas["bad", history] == schemas["short", history] == schemas["copies", history]
    assert schemas["plain", True]["decisions"].names == schemas["plain", False]["decisions"].names[:8] + [
        "seen_before", "file", "line"]
    assert schemas["plain", True]["decisions"].field("seen_before").type == pa.struct([("date", pa.string()), ("source", pa.string())])


def test_unique_parquet_from_records_of_mixed_types(tmp_path: Path) -> None:
    rows = [{"id": 1, "text": " ".join(LATIN[:30]), "extra": 5}, {"id": "two", "text": " ".join(LATIN[100:130])},
            {"id": 3, "text": " ".join(ARABIC[:30]), "extra": "five", "tags": ["x"]}]
    (tmp_path / "f.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, output = dedupe(tmp_path / "f.jsonl", "--out", tmp_path / "out", "--output-format", "parquet")
    assert code == 0, output
    unique = pq.read_table(tmp_path / "out" / "unique.parquet")
    assert unique.column_names == ["id", "text", "extra", "tags"]
    assert unique.to_pylist() == [  # values no Arrow type can share are JSON text; missing fields are null
        {"id": "1", "text": rows[0]["text"], "extra": "5", "tags": None},
        {"id": '"two"', "text": rows[1]["text"], "extra": None, "tags": None},
        {"id": "3", "text": rows[2]["text"], "extra": '"five"', "tags": ["x"]},
    ]


@pytest.mark.parametrize(("one", "two", "shown", "says"), [
    (pa.array(["a1", "a2"]), pa.array([1, 2], pa.int64()), ['"a1"', '"a2"', "1", "2"],
     r"column 'id' is string in \S+a\.parquet but int64 in \S+b\.parquet"),
    (pa.array([2**60 + 1, 2**60 + 3], pa.int64()), pa.array([1.5, 2.5]), [str(2**60 + 1), str(2**60 + 3), "1.5", "2.5"],
     r"column 'id' is int64 in \S+a\.parquet, and a value of it does not fit double"),
], ids=["types-that-cannot-merge", "a-value-that-does-not-fit-the-merged-type"])
def test_parquet_inputs_whose_rows_cannot_share_a_schema(tmp_path: Path, one, two, shown: list[str], says: str) -> None:
    """Two Parquet files, each readable, whose ``id`` columns cannot be one column: the run failed only when it wrote
    unique.parquet, after all its work (an OutputError that named no file; for a value beyond the merged type, a
    pyarrow traceback). Now unique.parquet holds the kept records as unique.jsonl has them, and a warning names the
    column and the files."""
    texts = [" ".join(LATIN[k * 40:(k + 1) * 40]) for k in range(4)]
    pq.write_table(pa.table({"id": one, "text": texts[:2]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"id": two, "text": texts[2:]}), tmp_path / "b.parquet")
    code, output = dedupe(tmp_path / "a.parquet", tmp_path / "b.parquet", "--out", tmp_path / "out", "--output-format", "parquet")
    assert code == 0, output
    assert re.search(r"unique\.parquet: the Parquet inputs' rows cannot share one schema \(" + says, output), output
    unique = pq.read_table(tmp_path / "out" / "unique.parquet")
    assert unique.column_names == ["id", "text"]
    assert unique.to_pylist() == [{"id": i, "text": t} for i, t in zip(shown, texts)]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert any("cannot share one schema" in w for w in summary["warnings"])


# --------------------------------------------------------------------------- bad rows, missing pyarrow


def test_bad_parquet_rows_are_named_by_file_and_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    table = pa.table({"id": ["a", None, "c", "d", "e", "a", "g"],
                      "text": pa.array([b"one two", b"three", b"four", None, b"caf\xe9", b"six", b"seven"]),  # binary text
                      "image": pa.array([b"\x89PNG\xff"] * 7)})  # bytes that are not text: kept (as base64 in JSON)
    pq.write_table(table, path)
    with pytest.raises(InputFormatError, match=rf"^{path}: row #2: the id field 'id' is null"):
        read_articles([path])
    articles, bad = read_articles([path], ReadConfig(skip_bad=True))
    assert [(a.id, a.text, a.record["image"]) for a in articles] == [
        ("a", "one two", "iVBOR/8="), ("c", "four", "iVBOR/8="), ("g", "seven", "iVBOR/8=")]
    assert [(b.path, b.line, b.reason.split(":")[0]) for b in bad] == [
        (str(path), 2, "row #2"), (str(path), 4, "row #4"), (str(path), 5, "row #5"), (str(path), 6, "row #6")]
    assert "the text field 'text' is a JSON null" in bad[1].reason
    assert "the column 'text' holds bytes that are not UTF-8" in bad[2].reason
    assert f"repeated id 'a': first at {path}:#1, again at {path}:#6" in bad[3].reason
    code, output = dedupe(path, "--out", tmp_path / "out")
    assert code == 1 and output.strip() == f"dedup: error: {path}: {bad[0].reason}"


@pytest.mark.parametrize(
    ("name", "content", "pattern"),
    [
        pytest.param("x.parquet", b"PAR1 not really", r"x\.parquet: not a valid Parquet file", id="not-parquet"),
        pytest.param("x.parquet", b"", r"x\.parquet: empty input", id="zero-bytes"),
        pytest.param("x.txt.zst", b"", r"\.zst files are decompressed on the fly only for JSONL, JSON, CSV and TSV", id="txt-zst"),
        pytest.param("x.parquet.gz", b"", r"decompress this parquet file first", id="parquet-gz"),
    ],
)
def test_file_level_problems(tmp_path: Path, name: str, content: bytes, pattern: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InputFormatError, match=pattern):
        read_articles([tmp_path / name], ReadConfig(skip_bad=True))


def _zip_of_feed(path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("feed.jsonl", jsonl_bytes(feed()))


def _zip_with_a_newline_in_its_header(path: Path) -> None:
    """A zip whose local header holds the byte 0x0A at its time field (12:00:20 is 0x600A in DOS time): its first
    "line" is 10 bytes of valid UTF-8. A zip written at such a second was read as text and named a NUL byte."""
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("feed.jsonl", date_time=(2015, 7, 21, 12, 0, 20)), jsonl_bytes(feed()),
                         compress_type=zipfile.ZIP_DEFLATED)
    first = path.read_bytes().split(b"\n")[0]
    assert first.startswith(b"PK\x03\x04") and len(first) == 10 and first.decode("utf-8")


@pytest.mark.parametrize(
    ("name", "write", "args", "advice"),
    [
        pytest.param("feed.jsonl", lambda p: pq.write_table(parquet_table(feed()), p), ["dedupe", "--skip-bad"],
                     "a Parquet file (it starts with PAR1), not text; read it with --format parquet", id="parquet-as-jsonl"),
        pytest.param("feed.parquet", lambda p: pq.write_table(parquet_table(feed()), p), ["dedupe", "--format", "csv"],
                     "a Parquet file (it starts with PAR1), not text; read it with --format parquet", id="parquet-as-csv"),
        pytest.param("feed.jsonl", _zip_of_feed, ["dedupe"],
                     "a zip archive (it starts with PK), not text; read it with --format zip", id="zip-as-jsonl"),
        pytest.param("feed.jsonl", _zip_with_a_newline_in_its_header, ["dedupe"],
                     "a zip archive (it starts with PK), not text; read it with --format zip", id="zip-first-line-utf8"),
        pytest.param("pairs.jsonl", _zip_with_a_newline_in_its_header, ["similarity"],
                     "a zip archive (it starts with PK), not text; this input is JSON Lines: write it as JSONL, one "
                     "object per line", id="zip-first-line-utf8-pairs"),
        pytest.param("pairs.parquet", lambda p: pq.write_table(parquet_table(feed()), p), ["similarity", "--skip-bad"],
                     "a Parquet file (it starts with PAR1), not text; this input is JSON Lines: write it as JSONL, one "
                     "object per line", id="similarity-pairs"),
    ],
)
def test_a_binary_file_read_as_text_is_named_not_called_utf16(tmp_path: Path, name: str, write: Callable, args: list[str],
                                                              advice: str) -> None:
    """A Parquet file or a zip archive given where text is read was 'looks like UTF-16 ... iconv -f UTF-16' (its NUL
    bytes), or with --skip-bad a run of bad lines; it is one line saying what the file is and what to do."""
    path = tmp_path / name
    write(path)
    command, *options = args
    result = runner.invoke(app, [command, str(path), "--out", str(tmp_path / "out"), *options])
    assert result.exit_code == 1
    assert result.output.strip() == f"dedup: error: {path}: the file is {advice}"


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [(".zst", lambda b: zstandard.ZstdCompressor().compress(b)), (".xz", lzma.compress), (".bz2", bz2.compress)],
    ids=["zst", "xz", "bz2"],
)
def test_compressed_files_keep_the_bad_record_guarantees(tmp_path: Path, suffix: str, compress: Callable) -> None:
    good = '{"id": "a", "text": "one"}\n'
    path = tmp_path / f"in.jsonl{suffix}"
    path.write_bytes(compress((good + "{oops\n" + good.replace('"a"', '"b"')).encode()))
    with pytest.raises(InputFormatError, match=rf"in\.jsonl\{suffix}:2: malformed JSON"):
        read_articles([path])
    articles, bad = read_articles([path], ReadConfig(skip_bad=True))
    assert [a.origin for a in articles] == [f"{path}:1", f"{path}:3"] and [(b.path, b.line) for b in bad] == [(str(path), 2)]
    whole = compress(jsonl_bytes(feed()))
    path.write_bytes(whole[: len(whole) // 2])  # a truncated download is an error, never a shorter feed
    with pytest.raises(InputFormatError, match=rf"in\.jsonl\{suffix}: cannot read the file .*truncated or corrupt"):
        read_articles([path], ReadConfig(skip_bad=True))


def test_missing_pyarrow_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [path] = _parquet_files(tmp_path, feed(), ())
    (tmp_path / "f.jsonl").write_bytes(jsonl_bytes(feed()))
    for module in [m for m in sys.modules if m == "pyarrow" or m.startswith("pyarrow.")]:
        monkeypatch.setitem(sys.modules, module, None)  # `import pyarrow` now raises ImportError
    for args in ([path], [tmp_path / "f.jsonl", "--output-format", "parquet"]):
        code, output = dedupe(*args, "--out", tmp_path / "out")
        assert code == 1
        assert output.strip().count("\n") == 0 and "Traceback" not in output
        assert "needs pyarrow, which is not installed; pip install 'dedup[parquet]'" in output
    assert not (tmp_path / "out" / "summary.json").exists()


# --------------------------------------------------------------------------- news-please trees and folders


def test_newsplease_ids_fall_back_to_the_relative_path(tmp_path: Path) -> None:
    root = tmp_path / "np"
    (root / "site" / "2024").mkdir(parents=True)
    (root / "a.json").write_text(json.dumps({"url": "https://x/1", "maintext": "one", "title": "t"}))
    (root / "site" / "2024" / "b.json").write_text(json.dumps({"url": None, "maintext": "two"}))
    (root / "site" / "c.json").write_text(json.dumps({"maintext": "three", "url": ""}))
    (root / "site" / "d.json").write_text(json.dumps({"maintext": None, "url": "https://x/4"}))  # extraction failed
    (root / "site" / "e.json").write_text(json.dumps([{"maintext": "an array"}]))
    (root / ".hidden.json").write_text("{}")
    articles, bad = read_articles([root], ReadConfig(skip_bad=True))
    assert [(a.id, a.text) for a in articles] == [("https://x/1", "one"), ("site/2024/b.json", "two"), ("site/c.json", "three")]
    assert [(Path(b.path).name, b.line) for b in bad] == [("d.json", 1), ("e.json", 1)]
    assert "is a JSON null" in bad[0].reason and "not one article object" in bad[1].reason


def test_a_folder_mixing_txt_and_json_is_refused_unless_format_chooses(tmp_path: Path) -> None:
    feed = tmp_path / "in"
    (feed / "crawl" / "example.com").mkdir(parents=True)
    (feed / "notes.txt").write_text("A note\nwith a body of words", encoding="utf-8")
    (feed / "crawl" / "example.com" / "x.json").write_text(json.dumps({"url": "https://example.com/x", "maintext": "crawled text"}),
                                                          encoding="utf-8")
    tmp_path = feed  # (the outputs go beside it: an output folder inside an input folder is refused)
    code, output = dedupe(tmp_path, "--out", tmp_path.parent / "out")
    assert code == 1 and output.strip().count("\n") == 0
    assert "holds several kinds of input (1 .txt, 1 .json files)" in output
    assert "--format txt or --format newsplease" in output
    assert [a.id for a in read_articles([tmp_path], ReadConfig(format="txt"))[0]] == ["notes"]
    assert [a.id for a in read_articles([tmp_path], ReadConfig(format="newsplease"))[0]] == ["https://example.com/x"]


@pytest.mark.parametrize(
    ("files", "fmt", "pattern"),
    [
        pytest.param({}, "auto", r"empty input: the folder holds no \.txt files \(top level\), no \.json", id="empty"),
        pytest.param({"notes.md": "x"}, "auto", r"empty input: .*no files of records .*pass other files by name", id="nothing-readable"),
        pytest.param({"a.jsonl": '{"id": "x"}'}, "auto", r"a\.jsonl: no text field in the first record", id="only-jsonl-is-read"),
        pytest.param({"a.txt": "x"}, "parquet", r"empty input: the folder holds no \.parquet files", id="parquet-none"),
        pytest.param({"a.txt": "x"}, "csv", r"is a directory, not a csv file.*--format txt, newsplease or parquet", id="csv"),
    ],
)
def test_folder_errors(tmp_path: Path, files: dict[str, str], fmt: str, pattern: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(InputFormatError, match=pattern):
        read_articles([tmp_path], ReadConfig(format=fmt))


def test_parquet_outputs_hold_lone_surrogates_as_replacement_characters(tmp_path) -> None:
    """JSON can carry a lone surrogate (a reason quoting a broken key, a record passed through); UTF-8 cannot."""
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from dedup.io.parquet_out import write_rows

    rows = [{"id": "a", "reason": "key \ud800 here", "x": {"k\udfff": 1}}, '{"id": "b", "reason": "\\uD83D alone"}\n']
    assert write_rows(tmp_path / "x.parquet", rows) == 2
    got = pq.read_table(tmp_path / "x.parquet").to_pylist()
    assert got[0]["reason"] == "key \ufffd here" and got[0]["x"] == {"k\ufffd": 1} and got[1]["reason"] == "\ufffd alone"


def test_eval_reads_a_run_written_as_parquet(tmp_path: Path) -> None:
    (tmp_path / "f.jsonl").write_bytes(jsonl_bytes(feed()))
    gold = tmp_path / "gold.jsonl"
    rows = feed()
    pairs = [(0, 16), (1, 17), (2, 18), (3, 19), (0, 1), (2, 3), (4, 5), (6, 7)]  # copies of the originals, then not
    gold.write_text("\n".join(json.dumps({"id1": rows[a]["url"], "id2": rows[b]["url"], "label": "DUP" if b >= 16 else "NO"})
                              for a, b in pairs) + "\n", encoding="utf-8")
    scores = []
    for fmt in ("jsonl", "parquet"):
        out = tmp_path / fmt
        assert dedupe(tmp_path / "f.jsonl", "--out", out, "--output-format", fmt)[0] == 0
        res = CliRunner().invoke(app, ["eval", str(out), "--gold", str(gold)])
        assert res.exit_code == 0, res.output
        report = json.loads(res.output)
        scores.append({k: v for k, v in report.items() if k not in ("run", "run_dir")})
    assert scores[0] == scores[1] and scores[0]["pairwise"]["tp"] == 4
    assert scores[0]["pairwise_with_edges"]["tp"] >= 4  # the verified edges, read from pairs.jsonl and from pairs.parquet


def test_the_warning_names_a_json_documents_bad_records_by_number(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A JSON array on one line: the warning said "line 2: record #2: ..." of a file with one line."""
    import logging

    monkeypatch.setattr(logging.getLogger("dedup"), "propagate", True)  # a CLI run in this process may have turned it off

    path = tmp_path / "feed.json"
    path.write_text(json.dumps([{"id": "a", "text": "one two three"}, "a string", None, {"id": "b", "text": "four five"}]),
                    encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="dedup"):
        articles, bad = read_articles([path], ReadConfig(skip_bad=True))
    assert [a.id for a in articles] == ["a", "b"] and [b.line for b in bad] == [2, 3]
    warning = next(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert f"skipped 2 bad records in {path} (record #2: the record is a JSON string" in warning
    assert "line 2" not in warning and "; record #3: the record is a JSON null" in warning
