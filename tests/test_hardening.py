"""Issue 15 (hardening), items 5, 8, 9, 10 and the rest of 11: each test fails on the code before the fix.

5   a CSV quote that is never closed is an error naming its line, not one article holding the rest of the file;
8   with --skip-bad every input record has its line in the per-article output; summary.json lists the first 100;
9   a record over the limit is skipped while it is read, never held whole (peak memory, in process and per command);
10  report.html: long unbroken names wrap, a right-to-left override stays inside its own name (headless Chromium);
11  a UTF-16 file gets the UTF-16 iconv hint; flags show no "<bool>" in --help; an empty zip member is skipped.
"""

from __future__ import annotations

import gzip
import html
import json
import re
import shutil
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dedup.cli import app
from dedup.config import ReadConfig
from dedup.errors import InputFormatError
from dedup.io.readers import read_articles
from dedup.io.report import render_report
from dedup.types import Article

runner = CliRunner()

BODY = ("president xi told foreign minister lavrov in beijing that china and russia must strengthen mutual "
        "support and implement the consensus reached with putin xinhua reported on tuesday")
OTHER = "heavy rain flooded roads in the north of the country and schools closed for two days while crews pumped water"


def _run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _jsonl(*rows: dict) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


# ------------------------------------------------------------------ item 5: unterminated CSV quote


@pytest.mark.parametrize("sep", [",", "\t"], ids=["csv", "tsv"])
def test_unterminated_quote_is_an_error_at_its_line_not_one_swallowing_row(tmp_path: Path, sep: str) -> None:
    path = tmp_path / ("feed.csv" if sep == "," else "feed.tsv")
    path.write_text(f'id{sep}text\na{sep}"{BODY}\nb{sep}{OTHER}\nc{sep}{BODY}\n', encoding="utf-8")
    for skip_bad in (False, True):  # broken quoting is file-level: nothing after it can be trusted
        with pytest.raises(InputFormatError, match=r"feed\.[ct]sv:2: a quote opened in this row is never closed"):
            read_articles([path], ReadConfig(skip_bad=skip_bad))
    r = _run("dedupe", path, "--out", tmp_path / "out", "-q", "--skip-bad")
    assert r.exit_code == 1 and "never closed" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1 and not (tmp_path / "out" / "summary.json").exists()


def test_closed_quotes_over_several_lines_still_read(tmp_path: Path) -> None:
    path = tmp_path / "feed.csv"
    path.write_text(f'id,text\na,"{BODY}\nsecond ""line"""\nb,{OTHER}\nc,"last, unterminated by a newline"', encoding="utf-8")
    articles, _ = read_articles([path])
    assert [(a.id, a.origin) for a in articles] == [("a", f"{path}:2"), ("b", f"{path}:4"), ("c", f"{path}:5")]
    assert articles[0].text.endswith('second "line"')


def test_quoted_row_past_the_record_limit_is_a_bad_record_not_held(tmp_path: Path) -> None:
    path = tmp_path / "feed.csv"
    path.write_text('id,text\na,"' + "word word word\n" * 200 + '"\nb,x\n', encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"feed\.csv:2: record too long: \d+ bytes > the limit of 1000"):
        read_articles([path], ReadConfig(max_record_bytes=1000))
    articles, bad = read_articles([path], ReadConfig(max_record_bytes=1000, skip_bad=True))
    assert [a.id for a in articles] == ["b"] and [(b.line, b.reason[:15]) for b in bad] == [(2, "record too long")]
    assert len(read_articles([path])[0]) == 2  # under the default limit it is one long quoted field


# ------------------------------------------------------------------ item 8: a decision line for every input record


def _feed_with_bad(path: Path, n_bad: int) -> int:
    """Three articles with ``n_bad`` malformed lines before, between and after them; returns the record count."""
    lines = ["{broken"] * (n_bad // 2)
    lines += [json.dumps({"id": "a", "text": BODY}), json.dumps({"id": "b", "text": BODY + " again"})]
    lines += ["[1, 2]"] + ['{"id": "a", "text": "a repeated id"}'] + ["{broken"] * (n_bad - n_bad // 2 - 2)
    lines += [json.dumps({"id": "c", "text": OTHER})]
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")  # a blank line is not a record
    return len(lines)


@pytest.mark.parametrize(
    ("command", "per_article"),
    [("dedupe", "decisions.jsonl"), ("stories", "stories.jsonl"), ("repeats", "articles.jsonl")],
)
def test_skip_bad_every_record_has_its_line_and_summary_lists_100(tmp_path: Path, command: str, per_article: str) -> None:
    feed = tmp_path / "feed.jsonl"
    n = _feed_with_bad(feed, 150)
    out = tmp_path / "out"
    r = _run(command, feed, "--out", out, "-q", "--skip-bad")
    assert r.exit_code == 0, r.output
    rows = _lines(out / per_article)
    assert len(rows) == n == 153
    ids = [row["id"] for row in rows]
    assert ids[75:77] == ["a", "b"] and ids[-1] == "c" and ids.count(None) == 150  # in input order
    bad = [row for row in rows if row["id"] is None]
    assert all(row["status"] == "skipped" and row["reason"].startswith("skipped: bad record: ") for row in bad)
    assert [row["line"] for row in bad][:3] == [1, 2, 3] and {row["file"] for row in bad} == {str(feed)}
    assert "repeated id 'a'" in rows[78]["reason"] and rows[78]["line"] == 79
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"]["bad_records"] == 150
    assert len(summary["bad_records"]) == 100 and summary["bad_records_not_listed"] == 50


def test_eval_reads_a_run_with_skipped_lines(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    _feed_with_bad(feed, 4)
    out = tmp_path / "out"
    assert _run("dedupe", feed, "--out", out, "-q", "--skip-bad").exit_code == 0
    lines = (out / "decisions.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    odd = iter(['{"status": "skipped", "reason": "hand-written, no id"}\n', '{"id": {"x": 1}, "status": "skipped"}\n'])
    # lines that name no article, in place of the bad records' lines (a line more than the run counts is refused)
    lines = [next(odd, line) if json.loads(line)["id"] is None else line for line in lines]
    (out / "decisions.jsonl").write_text("".join(lines), encoding="utf-8")
    assert '"reason": "hand-written, no id"' in "".join(lines) and '{"x": 1}' in "".join(lines)
    gold = tmp_path / "gold.jsonl"
    gold.write_text(_jsonl({"id": "a", "cluster": 1}, {"id": "b", "cluster": 1}, {"id": "c", "cluster": 2}), encoding="utf-8")
    r = _run("eval", out, "--gold", gold)
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["articles"] == 3 and report["ari"] == 1.0


@pytest.mark.parametrize("command", ["dedupe", "repeats", "stories"])
def test_lone_surrogates_the_reader_passes_through_are_written_escaped(tmp_path: Path, command: str) -> None:
    """Found by scripts/fuzz.py: a surrogate in a field dedup does not read (written back with the record), or in a
    key quoted by a bad record's reason, made the writers fail (UnicodeEncodeError) after the whole run."""
    doc = tmp_path / "feed.json"
    doc.write_text('[{"id": "a", "text": "%s", "extra": "x \\ud800 y"}]' % BODY, encoding="utf-8")
    feed = tmp_path / "feed.jsonl"
    feed.write_text(_jsonl({"id": "a", "text": BODY}) + '{"id": "b", "\\udfff": "no text"}\n', encoding="utf-8")
    for src, extra in ((doc, []), (feed, ["--skip-bad"])):
        out = tmp_path / f"out-{src.suffix}"
        r = _run(command, src, "--out", out, "-q", *extra)
        assert r.exit_code == 0 and r.exception is None, r.output
        for path in out.iterdir():
            path.read_bytes().decode("utf-8")  # every output is valid UTF-8
    records = {"dedupe": "unique.jsonl", "repeats": "cleaned.jsonl"}.get(command)  # stories writes no records
    if records is not None:
        assert '"x \\ud800 y"' in (tmp_path / "out-.json" / records).read_text(encoding="utf-8")  # its escape kept
    per_article = _lines(tmp_path / "out-.jsonl" / {"dedupe": "decisions.jsonl", "repeats": "articles.jsonl",
                                                    "stories": "stories.jsonl"}[command])
    assert per_article[1]["id"] is None and "\udfff" in per_article[1]["reason"]  # read back: the same key
    assert "\\udfff" in (tmp_path / "out-.jsonl" / "summary.json").read_text(encoding="utf-8")


# ------------------------------------------------------------------ item 9: bounded memory on hostile sizes


def _huge_line(path: Path, mb: int, compress: bool = False) -> None:
    """A feed of two articles around one record of ``mb`` MB (written in blocks, never held whole)."""
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write((json.dumps({"id": "a", "text": BODY}) + "\n").encode())
        f.write(b'{"id": "huge", "text": "')
        block = b"word " * 200_000
        for _ in range(mb):
            f.write(block)
        f.write(b'"}\n' + (json.dumps({"id": "b", "text": OTHER}) + "\n").encode())


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".csv"])
def test_over_long_record_is_skipped_while_read(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"feed{suffix}"
    if suffix == ".csv":
        path.write_text(f"id,text\na,{BODY}\nhuge,{'word ' * 8_000_000}\nb,{OTHER}\n", encoding="utf-8")
        size = len("huge,") + 40_000_000
    else:
        _huge_line(path, 40, compress=suffix.endswith(".gz"))
        size = len('{"id": "huge", "text": "') + 40_000_000 + 2
    limit = 2**20
    tracemalloc.start()
    try:
        articles, bad = read_articles([path], ReadConfig(skip_bad=True, max_record_bytes=limit))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [a.id for a in articles] == ["a", "b"]
    assert [(b.line, b.position) for b in bad] == [(3 if suffix == ".csv" else 2, 1)]
    assert bad[0].reason.startswith(f"record too long: {size} bytes > the limit of {limit}")
    assert peak < 6 * limit, f"reading held {peak / 2**20:.0f} MiB"  # the 40 MB line was never held, only blocks of it
    with pytest.raises(InputFormatError, match=r":[23]: record too long"):
        read_articles([path], ReadConfig(max_record_bytes=limit))
    with pytest.raises(InputFormatError, match=f"> the limit of {ReadConfig.max_record_bytes} "):
        read_articles([path])  # over the default limit (16 MiB) too


def test_over_long_txt_file_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(BODY, encoding="utf-8")
    (tmp_path / "b.txt").write_text(OTHER * 20, encoding="utf-8")
    articles, bad = read_articles([tmp_path], ReadConfig(skip_bad=True, max_record_bytes=1000))
    assert [a.id for a in articles] == ["a"] and bad[0].reason.startswith(f"record too long: {len(OTHER) * 20} bytes")


def test_record_limit_is_an_option(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text(_jsonl({"id": "a", "text": BODY}, {"id": "b", "text": OTHER}), encoding="utf-8")
    r = _run("dedupe", feed, "--out", tmp_path / "o", "-q", "--max-record-bytes", "150")
    assert r.exit_code == 1 and "feed.jsonl:1: record too long" in r.output and "--max-record-bytes" in r.output
    r = _run("dedupe", feed, "--out", tmp_path / "o", "-q", "--max-record-bytes", "0")
    assert r.exit_code == 1 and "max_record_bytes (--max-record-bytes) must be >= 1" in r.output


# The child reports its own high-water RSS (VmHWM, which starts afresh at exec). Not ru_maxrss from
# wait4: Linux starts a forked child's high-water mark at the forking process's RSS and carries it
# across exec, so a child of a large test process would report at least that process's RSS.
_CHILD_HWM = """
import atexit, sys
_path = sys.argv.pop(1)
def _hwm():
    with open('/proc/self/status') as status:
        kib = next(line.split()[1] for line in status if line.startswith('VmHWM'))
    with open(_path, 'w') as out:
        out.write(kib)
atexit.register(_hwm)
from dedup.cli import app
app(prog_name='dedup')
"""


@pytest.mark.slow
@pytest.mark.parametrize("command", ["dedupe", "repeats", "stories"])
def test_one_huge_record_does_not_take_the_memory_of_a_command(tmp_path: Path, command: str) -> None:
    """A child process on a feed with one 64 MB line: its peak RSS stays near a run on a small feed (was 2-4 GB)."""
    feed = tmp_path / "feed.jsonl"
    _huge_line(feed, 64)
    out = tmp_path / "out"
    hwm = tmp_path / "vmhwm"
    with open(tmp_path / "stderr", "wb") as err:
        proc = subprocess.run([sys.executable, "-c", _CHILD_HWM, str(hwm), command, str(feed), "--out", str(out), "-q", "--skip-bad"],
                              stdout=subprocess.DEVNULL, stderr=err, check=False)
    assert proc.returncode == 0, (tmp_path / "stderr").read_text()
    peak_kib = int(hwm.read_text())
    assert peak_kib < 600 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"]["bad_records"] == 1 and "record too long" in summary["bad_records"][0]["reason"]


# ------------------------------------------------------------------ item 10: report layout against hostile names

LONG_NAME = "x" * 100_000
RLO_NAME = "evil\u202eabc"  # a right-to-left override that is never closed (no U+202C)


def _hostile_report() -> str:
    arts = {"1": Article(id="1", text=BODY, title="Lavrov meets Xi in Beijing", source=RLO_NAME),
            "2": Article(id="2", text=BODY, title="Lavrov meets Xi in Beijing", source="NEIGHBOUR")}
    event = {"event": "1", "storyline": "1", "label": "Lavrov meets Xi", "size": 2,
             "sources": [LONG_NAME, RLO_NAME, "NEIGHBOUR"], "first_date": "2025-07-15", "last_date": "2025-07-16",
             "members": ["1", "2"], "groups": []}
    return render_report([event], arts)


def test_report_isolates_and_wraps_every_name() -> None:
    page = _hostile_report()
    assert "overflow-wrap:anywhere" in page
    assert f"<bdi>{RLO_NAME}</bdi>, <bdi>NEIGHBOUR</bdi>" in page  # each name in its own isolate
    assert f"<bdi>{LONG_NAME}</bdi>" in page and "<bdi>2025-07-15</bdi>" in page


_PROBE = """<script>
const r = {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth};
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
let node;
while ((node = walker.nextNode()) && !node.data.includes("NEIGHBOUR")) {}
const i = node.data.indexOf("NEIGHBOUR");
const x = (k) => { const g = document.createRange(); g.setStart(node, k); g.setEnd(node, k + 1); return g.getBoundingClientRect().left; };
r.first = x(i); r.last = x(i + 8);
document.body.setAttribute("data-probe", JSON.stringify(r));
</script>"""


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_report_layout_in_headless_chromium(tmp_path: Path) -> None:
    """Rendered: the page is no wider than the window, and the name after an unclosed override reads left to right."""
    page = _hostile_report()
    # The report forbids scripts (CSP); this copy of it, with the CSP left out, measures its own layout.
    probe = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page).replace("</body>", _PROBE + "</body>")
    path = tmp_path / "probe.html"
    path.write_text(probe, encoding="utf-8")
    proc = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1000,800",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", path.resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = re.search(r'data-probe="([^"]*)"', proc.stdout)
    assert found, proc.stdout[:2000]
    r = json.loads(html.unescape(found.group(1)))
    assert r["scrollWidth"] <= r["innerWidth"], r  # the 100,000-character name wraps
    assert r["first"] < r["last"], r  # "NEIGHBOUR" is not reversed by the override before it


# ------------------------------------------------------------------ item 11: UTF-16, flags in --help, empty zip member


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv"])
def test_utf16_file_gets_the_utf16_hint(tmp_path: Path, suffix: str) -> None:
    content = {".jsonl": _jsonl({"id": "a", "text": "قال الرئيس"}), ".json": json.dumps([{"id": "a", "text": "x"}]),
               ".csv": "id,text\na,x\n"}[suffix]
    path = tmp_path / f"feed{suffix}"
    path.write_bytes(content.encode("utf-16"))  # with its byte-order mark, as iconv -t UTF-16 and Windows write it
    r = _run("dedupe", path, "--out", tmp_path / "o", "-q")
    assert r.exit_code == 1 and f"feed{suffix}:" in r.output
    assert "UTF-16" in r.output and "iconv -f UTF-16 -t UTF-8" in r.output and "WINDOWS-1256" not in r.output


def test_one_stray_nul_byte_in_utf8_is_not_called_utf16(tmp_path: Path) -> None:
    """A UTF-8 line with one NUL byte was told to convert the file from UTF-16 (which would garble it)."""
    path = tmp_path / "feed.jsonl"
    path.write_bytes(b'{"id": "a", "te\x00xt": "x"}\n')
    r = _run("dedupe", path, "--out", tmp_path / "o", "-q")
    assert r.exit_code == 1 and "feed.jsonl:1:" in r.output and "UTF-16" not in r.output
    assert "holds a NUL byte (column 16)" in r.output
    path.write_bytes('{"id": "a", "text": "x"}\n'.encode("utf-16-le"))  # UTF-16 without a byte-order mark
    r = _run("dedupe", path, "--out", tmp_path / "o2", "-q")
    assert r.exit_code == 1 and "is UTF-16LE" in r.output


def test_utf16_without_bom_jsonl_gets_the_hint(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_bytes(_jsonl({"id": "a", "text": "hello"}).encode("utf-16-le"))
    r = _run("dedupe", path, "--out", tmp_path / "o", "-q")
    assert r.exit_code == 1 and "NUL bytes" in r.output and "iconv -f UTF-16LE -t UTF-8" in r.output


@pytest.mark.parametrize("command", ["dedupe", "repeats", "stories"])
def test_flags_take_no_value_in_help(command: str) -> None:
    r = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0
    flags = ("--quiet", "--skip-bad", "--repeats", "--boilerplate") if command == "dedupe" else ("--quiet", "--skip-bad")
    for flag in flags:
        line = next(line for line in r.output.splitlines() if f"{flag} " in line)
        assert "<bool>" not in line, line
    assert "<int>" in next(line for line in r.output.splitlines() if "--max-record-bytes" in line)
    assert "<bool>" not in next(line for line in runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).output.splitlines()
                                if "--version" in line)


def test_empty_zip_member_is_skipped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "feed.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.jsonl", _jsonl({"id": "a", "text": BODY}, {"id": "b", "text": OTHER}))
        zf.writestr("b-failed-export.jsonl", "")
        zf.writestr("c.json", json.dumps([{"id": "c", "text": BODY}]))
    articles, bad = read_articles([path])
    assert [a.id for a in articles] == ["a", "b", "c"] and bad == []
    r = _run("dedupe", path, "--out", tmp_path / "out", "-q")
    assert r.exit_code == 0, r.output
    assert len(_lines(tmp_path / "out" / "decisions.jsonl")) == 3
    only_empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(only_empty, "w") as zf:
        zf.writestr("a.jsonl", "")
    with pytest.raises(InputFormatError, match="holds only empty"):
        read_articles([only_empty])
