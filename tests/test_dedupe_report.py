"""report.html of `dedup dedupe`: groups and copies side by side, shared passages marked, hostile text inert."""

from __future__ import annotations

import html
import json
import random
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dedup.cli import app
from dedup.config import NormalizeConfig
from dedup.flows.dedupe import dedupe
from dedup.io.dedupe_report import ReportSpool, marked_paragraphs, render_dedupe_report
from dedup.text.align import align
from dedup.types import Article

from _chromium import dump_dom, needs_chromium

runner = CliRunner()

_SYLLABLES = ["ba", "ko", "ri", "tan", "mel", "sor", "vi", "den", "lu", "pra", "gen", "tol", "mis", "ur", "fe"]
_LETTERS = "ابتثجحخدذرزسشصضطعغفقكلمنهوي"
TASHKEEL = "\u064e\u064f\u0650\u0651"  # fatha, damma, kasra, shadda
RLO = "\u202e"
LONG = "x" * 5000
HOSTILE = f'<script>document.title="pwned";window.pwned=1</script> </details></section></li> "quoted" \'single\' {RLO}evil {LONG}'


def _words(rng: random.Random, parts: list[str] | str, n: int, size: tuple[int, int]) -> list[str]:
    return ["".join(rng.choice(parts) for _ in range(rng.randint(*size))) for _ in range(n)]


def _para(rng: random.Random, vocab: list[str], n: int) -> str:
    return " ".join(rng.choice(vocab) for _ in range(n)) + "."


def _diacritize(text: str) -> str:
    """Harakat after every second Arabic letter: the normalizer removes them, the page shows them."""
    out, k = [], 0
    for ch in text:
        out.append(ch)
        if "\u0621" <= ch <= "\u064a":
            k += 1
            if k % 2 == 0:
                out.append(TASHKEEL[k % len(TASHKEEL)])
    return "".join(out)


def feed_rows() -> list[dict]:
    """Copy families (Latin; Arabic with diacritics), two roundups holding one short item, a hostile pair, fillers."""
    rng = random.Random(11)
    latin = _words(rng, _SYLLABLES, 600, (2, 4))
    arabic = _words(rng, _LETTERS, 600, (3, 5))
    lat = "\n\n".join(_para(rng, latin, 30) for _ in range(3))
    ara = "\n\n".join(_para(rng, arabic, 30) for _ in range(3))
    item = _para(rng, latin, 45)
    rows = [
        {"id": "lat-1", "title": "Minister meets envoy", "text": lat, "date": "2025-07-01T08:00", "source": "wire"},
        {"id": "lat-2", "title": "Envoy met", "text": "Updated. " + lat.replace(lat.split()[7], "zzq"), "date": "2025-07-01T09:00",
         "source": "daily"},
        {"id": "lat-3", "title": "Minister meets envoy", "text": lat, "date": "2025-07-01T10:00", "source": "copycat"},
        {"id": "ara-1", "title": "لقاء تاريخي", "text": ara, "date": "2025-07-02T08:00", "source": "وكالة"},
        {"id": "ara-2", "title": "لقاء تاريخي", "text": _diacritize(ara), "date": "2025-07-02T09:00", "source": "صحيفة"},
        # a paragraph more, under a fifth of the text: the policy keeps the earliest (a longer one would be kept over it)
        {"id": "ara-3", "title": "لقاء", "text": _diacritize(ara) + "\n\n" + _para(rng, arabic, 15), "date": "2025-07-02T11:00", "source": "موقع"},
        {"id": "item", "title": "Short item", "text": item, "date": "2025-07-03T08:00", "source": "wire"},
        {"id": "roundup-1", "title": "Morning roundup", "text": "\n\n".join([_para(rng, latin, 40), item, _para(rng, latin, 40)]),
         "date": "2025-07-03T12:00", "source": "digest"},
        {"id": "roundup-2", "title": "Evening roundup", "text": "\n\n".join([_para(rng, latin, 35), _para(rng, latin, 35), item]),
         "date": "2025-07-03T18:00", "source": "digest2"},
    ]
    hostile_body = _para(rng, latin, 40) + "\n" + HOSTILE + "\n" + _para(rng, latin, 40)
    rows += [
        {"id": '"><b id=injected>h1', "title": "<script>alert(1)</script>", "text": hostile_body, "date": "2025-07-04",
         "source": f"{RLO}evil source"},
        {"id": "h2</details>", "title": "</summary><img src=x onerror=alert(2)>", "text": hostile_body + " more",
         "date": "2025-07-05", "source": "<i>src</i>" + LONG},
    ]
    rows += [{"id": f"f{k}", "text": "\n\n".join(_para(rng, latin if k % 2 else arabic, 30) for _ in range(2))} for k in range(8)]
    return rows


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("dedupe-report")
    src = tmp / "feed.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in feed_rows()), encoding="utf-8")
    r = runner.invoke(app, ["dedupe", str(src), "--out", str(tmp / "out"), "-q"])
    assert r.exit_code == 0, r.output
    return tmp / "out"


def _decisions(out: Path) -> dict[str, dict]:
    return {d["id"]: d for d in map(json.loads, (out / "decisions.jsonl").read_text(encoding="utf-8").splitlines())}


# --- the page parsed back ---------------------------------------------------------------

_VOID = {"meta", "br", "hr", "img", "input", "link"}
_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "main", "h1", "h2", "h3", "p", "div", "span", "bdi",
         "section", "dl", "dt", "dd", "ol", "li", "details", "summary", "mark", "a"}
_ATTRS = {"lang", "charset", "http-equiv", "content", "name", "class", "dir", "id", "data-group", "href", "open"}


class _Page(HTMLParser):
    """Checks every tag against the page's own vocabulary and nesting; collects the sides of each comparison."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, set[str]]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.sides: list[dict] = []  # per side: "label", "id", "paragraphs": [[(text, marked), ...], ...]
        self.groups: dict[str, str] = {}  # data-group → its text
        self._group: str | None = None

    def classes(self) -> set[str]:
        return set().union(*(c for _, c in self.stack)) if self.stack else set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        cls = set((a.get("class") or "").split())
        if tag == "section" and "group" in cls:
            self._group = a["data-group"] or ""
            self.groups[self._group] = ""
        if tag == "section" and "side" in cls:
            self.sides.append({"label": "", "id": None, "paragraphs": [], "in_h3": False})
        if tag == "p" and "text" in self.classes():
            self.sides[-1]["paragraphs"].append([])
        if tag not in _VOID:
            self.stack.append((tag, cls))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1][0] == tag, f"</{tag}> closes {self.stack[-1:]}"
        _, cls = self.stack.pop()
        if tag == "section" and "group" in cls:
            self._group = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._group is not None:
            self.groups[self._group] += data
        tags = [t for t, _ in self.stack]
        inside = self.classes()
        if "side" in inside and "h3" in tags:
            side = self.sides[-1]
            if "bdi" in tags and side["id"] is None:
                side["id"] = data
            elif "bdi" not in tags:
                side["label"] += data
        if "text" in inside and "p" in tags and "summary" not in tags:
            self.sides[-1]["paragraphs"][-1].append((data, "mark" in tags))


def parse(page: str) -> _Page:
    p = _Page()
    p.feed(page)
    p.close()
    assert not p.stack, p.stack
    return p


def _pairs(p: _Page) -> list[tuple[dict, dict]]:
    assert len(p.sides) % 2 == 0
    return list(zip(p.sides[::2], p.sides[1::2]))


def _shown(side: dict) -> tuple[str, set[int]]:
    """The side's text as the page holds it (paragraphs joined by line ends) and the offsets inside marks."""
    text, marked = "", set()
    for k, para in enumerate(side["paragraphs"]):
        if k:
            text += "\n"
        for piece, mark in para:
            if mark:
                marked.update(range(len(text), len(text) + len(piece)))
            text += piece
    return text, marked


# --- tests --------------------------------------------------------------------------------


def test_page_is_written_with_the_outputs(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "overflow-wrap:anywhere" in page and "<script" not in page and "http://" not in page and "https://" not in page
    assert not list(run_dir.glob(".*tmp*"))


def test_hostile_text_makes_no_element(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    p = parse(page)  # and every end tag closes the element the page opened (a feed's </details> is text)
    for tag, attrs in p.tags:
        assert tag in _TAGS, tag
        assert set(attrs) <= _ATTRS, attrs
    assert not any(a.get("id") == "injected" for _, a in p.tags)
    text = "".join(p.text)
    for needle in ('<script>document.title="pwned";window.pwned=1</script>', "</details></section></li>", '"quoted"',
                   "'single'", f"{RLO}evil", LONG, '"><b id=injected>h1', "h2</details>", "<i>src</i>",
                   "</summary><img src=x onerror=alert(2)>", "<script>alert(1)</script>"):
        assert needle in text, needle  # shown as text, whole
    assert f"<bdi>{RLO}evil source</bdi>" in page  # an unclosed override stays inside its own isolate
    assert {a["href"] for t, a in p.tags if t == "a"} <= {f"#group-{r}" for r in range(1, 101)}  # no link of the feed's


def test_a_table_of_contents_links_every_group_shown(run_dir: Path) -> None:
    """The page had no table of contents: 100 groups to scroll through. It now lists each group shown, in the page's
    order: its size and headline (escaped, its direction isolated), linking to the group's anchor."""
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    p = parse(page)
    sections = [a for t, a in p.tags if t == "section" and "group" in (a.get("class") or "").split()]
    assert [a["id"] for a in sections] == [f"group-{r}" for r in range(1, len(sections) + 1)] and len(sections) >= 4
    toc = re.search(r'<details class="toc" id="contents" open><summary>Contents: the (\d+) groups shown</summary><ol>(.*?)</ol>'
                    r"</details></header>", page)
    assert toc and int(toc.group(1)) == len(sections)
    items = re.findall(r'<li><a href="#group-(\d+)"><span class="copies">(\d+) articles?</span> · <bdi dir="(rtl|ltr|auto)">'
                       r"(.*?)</bdi></a></li>", toc.group(2))
    assert [int(r) for r, *_ in items] == list(range(1, len(sections) + 1))
    heads = {html.unescape(h): (int(size), way) for _, size, way, h in items}
    assert heads["Minister meets envoy"] == (3, "ltr") and heads["لقاء تاريخي"] == (3, "rtl")
    assert heads["<script>alert(1)</script>"][0] == 2  # the hostile title, as text
    for (_, size, _, h), section in zip(items, re.findall(r'<section class="group" id="group-\d+".*?</h2>', page)):
        assert f'<span class="copies">{size} article' in section and h in section  # the group's own size and headline


def test_every_group_and_member_is_on_the_page(run_dir: Path) -> None:
    d = _decisions(run_dir)
    p = parse((run_dir / "report.html").read_text(encoding="utf-8"))
    groups: dict[str, list[str]] = {}
    for aid, row in d.items():
        if row["group"] is not None:
            groups.setdefault(row["group"], []).append(aid)
    assert len(groups) >= 4 and set(p.groups) == set(groups)
    for g, members in groups.items():
        for aid in members:
            assert aid in p.groups[g], (g, aid)
            row = d[aid]
            assert row["reason"] in p.groups[g]
            for k, v in (row["scores"] or {}).items():
                assert f"{k} {v}" in p.groups[g], (aid, k)
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["counts"]
    counts = dict(re.findall(r"<dt>([a-z ]+)</dt><dd>([\d,]+)</dd>", (run_dir / "report.html").read_text(encoding="utf-8")))
    assert counts == {"articles": str(summary["articles"]), "kept": str(summary["kept"]),
                      "duplicates": str(summary["duplicates"]), "skipped": str(summary["skipped"]),
                      "duplicate groups": str(summary["duplicate_groups"])}


def test_the_families_are_found_as_expected(run_dir: Path) -> None:
    d = _decisions(run_dir)
    assert d["lat-3"]["relation"] == "exact" and d["lat-3"]["duplicate_of"] == "lat-1"
    assert d["ara-2"]["relation"] == "exact" and d["ara-2"]["duplicate_of"] == "ara-1"  # the harakat do not count
    assert d["ara-3"]["duplicate_of"] == "ara-1" and d["lat-2"]["duplicate_of"] == "lat-1"
    assert d["item"]["relation"] == "contained" and sorted(d["item"]["contained_in"]) == ["roundup-1", "roundup-2"]


def test_marks_cover_exactly_the_shared_passages(run_dir: Path) -> None:
    texts = {r["id"]: r["text"] for r in feed_rows()}
    p = parse((run_dir / "report.html").read_text(encoding="utf-8"))
    pairs = _pairs(p)
    assert len(pairs) >= 5
    for left, right in pairs:
        a, b = texts[left["id"]], texts[right["id"]]
        shown_a, marked_a = _shown(left)
        shown_b, marked_b = _shown(right)
        assert (shown_a, shown_b) == (a, b)  # the texts as given, diacritics and all
        al = align(a, b, normalize=NormalizeConfig())
        for text, marked, spans in ((a, marked_a, al.spans_a), (b, marked_b, al.spans_b)):
            want = {i for s, e in spans for i in range(s, e) if text[i] != "\n"}  # a mark stops at a line end
            assert marked == want, (left["id"], right["id"])
    by_ids = {(l["id"], r["id"]): (l, r) for l, r in pairs}
    # the exact copies (one with harakat) are not shown side by side: all of them would be marked
    assert not {"ara-2", "lat-3"} & {r["id"] for _, r in pairs}
    # a near copy with harakat: shown as given, its passages marked across them
    text, marked = _shown(by_ids[("ara-1", "ara-3")][1])
    assert any(ch in text for ch in TASHKEEL) and len(marked) > len(text) * 0.7
    # the short item inside each roundup: what is marked there is the item
    item = texts["item"]
    for roundup in ("roundup-1", "roundup-2"):
        longer = next(l if l["id"] == roundup else r for (x, y), (l, r) in by_ids.items() if {x, y} == {"item", roundup})
        text, marked = _shown(longer)
        assert text[min(marked) : max(marked) + 1] == item.rstrip(".")


def test_roundups_holding_an_item_are_shown_with_it(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    d = _decisions(run_dir)
    other = next(c for c in d["item"]["contained_in"] if c != d["item"]["duplicate_of"])
    assert f"also contained in <bdi>{other}</bdi>" in page
    assert "longer · <bdi>" + other in page  # and opens beside it


def test_marked_paragraphs_escapes_each_piece() -> None:
    text = 'a<b>&amp;</b>\n"c" d'
    out = marked_paragraphs(text, [(1, 9), (14, 17)])
    assert out == ('<p dir="ltr">a<mark>&lt;b&gt;&amp;amp;</mark>&lt;/b&gt;</p>'
                   '<p dir="ltr"><mark>&quot;c&quot;</mark> d</p>')
    folded = marked_paragraphs("one\ntwo\nthree\nfour\nfive", [(19, 23)], fold=True)
    assert folded.startswith('<details class="fold"><summary>3 paragraphs without shared passages</summary>')
    assert folded.endswith('<p dir="ltr">four</p><p dir="ltr"><mark>five</mark></p>')


def _result(rows: list[dict]) -> tuple[object, ReportSpool]:
    spool = ReportSpool()
    arts = [Article(r["id"], r["text"], title=r.get("title", ""), date=r.get("date"), source=r.get("source", ""), record=r)
            for r in rows]
    return dedupe(spool.tap(arts)), spool


def _exact_copy_entry(page: str, aid: str) -> str:
    found = re.search(rf"<li>(?:<details><summary>)?<span class=\"rel rel-exact\">exact</span> <bdi>{aid}</bdi>.*?</li>", page)
    assert found, aid
    return found.group(0)


def test_an_exact_copy_says_its_text_is_the_kept_articles_and_spends_nothing_of_the_budget() -> None:
    """An exact copy was shown side by side with its kept article, marked from end to end, and spent the page's text
    budget that near and contained copies then went without (20k dev articles: 13 of 21 exact copies took texts)."""
    from dedup.io.dedupe_report import TEXT_CHARS
    from dedup.io.dedupe_rows import decision_rows

    result, spool = _result(feed_rows())
    try:
        rows = {d["id"]: d for d in decision_rows(result)}
        ids, lengths = list(result.table.ids), result.table.lengths
        chars = {aid: min(int(lengths[k]), TEXT_CHARS) for k, aid in enumerate(ids)}
        # what the near and contained copies' comparisons cost: each shows both texts
        need = 0
        for aid, d in rows.items():
            if d["status"] == "duplicate" and d["relation"] != "exact":
                others = [d["duplicate_of"], *(c for c in d.get("contained_in") or () if c != d["duplicate_of"])]
                need += sum(chars[aid] + chars[o] for o in others)
        exact = [aid for aid, d in rows.items() if d["relation"] == "exact"]
        assert sorted(exact) == ["ara-2", "lat-3"]
        page = render_dedupe_report(result, spool, page_chars=need)
        p = parse(page)
        shown = {r["id"] for _, r in _pairs(p)}
        want = {aid for aid, d in rows.items() if d["status"] == "duplicate" and d["relation"] != "exact"}
        assert want <= shown and not shown & set(exact)  # every near and contained copy has its texts, in that budget
        assert "Text not shown" not in page
        for aid in exact:
            entry = _exact_copy_entry(page, aid)
            assert "<details>" not in entry and "Text not shown" not in entry
            assert "Its text is the kept article's after normalization" in entry
    finally:
        spool.close()


def test_limits_are_said_on_the_page() -> None:
    result, spool = _result(feed_rows())
    try:
        small = render_dedupe_report(result, spool, ["feed.jsonl"], max_groups=1, page_chars=0)
        assert small.count('<section class="group"') == 1 and "left out: decisions.jsonl has every decision" in small
        assert "Text not shown: the page's size limit is reached" in small and "<mark>" not in small.split("<main>")[1]
        bare = render_dedupe_report(result, None)
        assert "the texts are not available" in bare and bare.count('<section class="group"') >= 4
    finally:
        spool.close()


def test_fields_named_on_the_command_line_are_read_back(tmp_path: Path) -> None:
    rows = [{"key": r["id"], "story": r["text"], "hed": r.get("title", ""), "text": "decoy"} for r in feed_rows()]
    src = tmp_path / "feed.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    r = runner.invoke(app, ["dedupe", str(src), "--out", str(tmp_path / "out"), "-q", "--id-field", "key",
                            "--text-field", "story", "--title-field", "hed"])
    assert r.exit_code == 0, r.output
    page = parse((tmp_path / "out" / "report.html").read_text(encoding="utf-8"))
    texts = {r["key"]: r["story"] for r in rows}
    assert _pairs(page) and all(_shown(s)[0] == texts[s["id"]] for s in page.sides)
    assert "Minister meets envoy" in "".join(page.text)


def test_no_report_writes_none_and_removes_an_old_one(tmp_path: Path, run_dir: Path) -> None:
    src = tmp_path / "feed.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in feed_rows()), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("stale", encoding="utf-8")
    r = runner.invoke(app, ["dedupe", str(src), "--out", str(out), "--no-report"])
    assert r.exit_code == 0, r.output
    assert not (out / "report.html").exists() and (out / "summary.json").exists()
    assert "report.html" not in r.output and "summary.json" in r.output


def test_parquet_output_writes_the_report_too(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    src = tmp_path / "feed.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in feed_rows()), encoding="utf-8")
    r = runner.invoke(app, ["dedupe", str(src), "--out", str(tmp_path / "out"), "--output-format", "parquet", "-q"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "decisions.parquet", "pairs.parquet", "report.html", "summary.json", "unique.parquet"]
    assert "<mark>" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_an_article_of_an_earlier_feed_is_named_without_text(tmp_path: Path) -> None:
    rows = feed_rows()
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(json.dumps(rows[0]) + "\n" + json.dumps(rows[-1]) + "\n", encoding="utf-8")
    copy = dict(rows[1], id="late-copy", date="2025-07-09")  # a near copy: shown beside what is known of its keeper
    same = dict(rows[2], id="late-same", date="2025-07-09")  # an exact copy: said to be the kept article's text
    second.write_text("".join(json.dumps(r) + "\n" for r in (copy, same, rows[-2])), encoding="utf-8")
    index = tmp_path / "history.db"
    for feed, out in ((first, "o1"), (second, "o2")):
        r = runner.invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / out), "--index", str(index), "-q"])
        assert r.exit_code == 0, r.output
    assert _decisions(tmp_path / "o2")["late-copy"]["duplicate_of"] == "lat-1"
    page = (tmp_path / "o2" / "report.html").read_text(encoding="utf-8")
    assert re.search(r"<bdi>lat-1</bdi> · <bdi>wire</bdi> · <bdi>2025-07-01 08:00 UTC</bdi> · from an earlier feed", page)
    assert "From an earlier feed (the history index)" in page and "late-copy" in page
    assert _decisions(tmp_path / "o2")["late-same"]["relation"] == "exact"
    assert re.search(r"<bdi>late-same</bdi>.*?<span class=\"note same\">Its text is the kept article's", page)


_PROBE = """<script>
document.querySelectorAll("details").forEach((d) => { d.open = true; });
const arabic = /^[\\s\\d\\p{P}]*[\\u0600-\\u06ff]/u;
const paras = [...document.querySelectorAll(".text p")].filter((p) => arabic.test(p.textContent));
const r = {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
           arabic: paras.length, rtl: paras.filter((p) => getComputedStyle(p).direction === "rtl").length,
           title: document.title, pwned: window.pwned === 1,
           toc: [...document.querySelectorAll("#contents a")].map((a) => document.querySelector(a.getAttribute("href")) !== null),
           tocRtl: [...document.querySelectorAll("#contents bdi")].filter((b) => getComputedStyle(b).direction === "rtl").length,
           widest: Math.max(...[...document.querySelectorAll("section, .text, li")].map((e) => e.scrollWidth - e.clientWidth))};
document.body.setAttribute("data-probe", JSON.stringify(r));
</script>"""


@needs_chromium
def test_page_renders_in_headless_chromium(run_dir: Path, tmp_path: Path) -> None:
    page = run_dir / "report.html"
    dom = dump_dom(page, tmp_path)  # as written: the CSP forbids every script anyway
    assert "<script" not in dom and "&lt;script&gt;" in dom and "<title>dedup dedupe report</title>" in dom
    assert 'id="injected"' not in dom
    # A copy without the CSP, every <details> opened, measures its own layout; a script of the feed would run here too.
    text = page.read_text(encoding="utf-8")
    probe = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text).replace("</body>", _PROBE + "</body>")
    path = tmp_path / "probe.html"
    path.write_text(probe, encoding="utf-8")
    found = re.search(r'data-probe="([^"]*)"', dump_dom(path, tmp_path))
    assert found
    r = json.loads(html.unescape(found.group(1)))
    assert r["scrollWidth"] <= r["innerWidth"], r  # the 5,000-character string wraps, in a column of its own
    assert r["widest"] <= 0, r  # nor does any box scroll sideways
    assert r["arabic"] >= 4 and r["rtl"] == r["arabic"], r
    assert r["title"] == "dedup dedupe report" and not r["pwned"], r
    assert len(r["toc"]) >= 4 and all(r["toc"]) and r["tocRtl"] >= 1, r  # every link of the contents leads to its group


def test_a_page_of_articles_made_in_code_with_lone_surrogates_is_written_with_replacement_characters(tmp_path: Path) -> None:
    """The readers refuse lone surrogates, but an Article made in code may hold one: the page shows U+FFFD, not a traceback."""
    from dedup.io.dedupe_out import write_dedupe_outputs

    text = " ".join(f"كلمة{k}" for k in range(80))
    arts = [Article(id="a\ud800", title="عنوان\udc00", text=text, date="2015-08-01"),
            Article(id="b", title="آخر", text=text + " ذيل", date="2015-08-02")]
    result = dedupe(arts)
    assert result.group[0] == result.group[1] >= 0
    write_dedupe_outputs(tmp_path, result, ["x"], [{"id": a.id, "title": a.title, "text": a.text} for a in arts])
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "a\ufffd" in page and "عنوان\ufffd" in page
    assert '"a\\ud800"' in (tmp_path / "decisions.jsonl").read_text(encoding="utf-8")  # the lines keep it, escaped


def test_bad_records_are_counted_and_listed_escaped_on_the_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dedup.io.skipped as skipped

    lines = [json.dumps(r, ensure_ascii=False) for r in feed_rows()]
    lines.insert(2, "not json <script>alert(1)</script>")
    lines.insert(5, json.dumps({"id": "zz", "<img src=x onerror=alert(2)>": "a record without its text"}))
    src = tmp_path / "feed<i>x.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for shown, out in ((skipped.LISTED, tmp_path / "out"), (1, tmp_path / "out1")):
        monkeypatch.setattr(skipped, "LISTED", shown)
        r = runner.invoke(app, ["dedupe", str(src), "--out", str(out), "-q", "--skip-bad"])
        assert r.exit_code == 0, r.output
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    p = parse(page)
    for tag, attrs in p.tags:
        assert tag in _TAGS and set(attrs) <= _ATTRS, (tag, attrs)
    assert "<img" not in page and "<script>alert" not in page and "<i>x" not in page
    text = "".join(p.text)
    assert "bad records skipped2" in text  # the count beside the others (dt, then dd)
    assert "2 input records skipped as bad" in text
    assert f"{src.name}:3: malformed JSON" in text and f"{src.name}:6: " in text and "<img src=x onerror=alert(2)>" in text
    assert "not listed here" not in text
    one = "".join(parse((tmp_path / "out1" / "report.html").read_text(encoding="utf-8")).text)
    assert f"{src.name}:3: " in one and f"{src.name}:6: " not in one and "1 more bad record not listed here." in one
    clean = (tmp_path / "clean.jsonl")
    clean.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in feed_rows()), encoding="utf-8")
    assert runner.invoke(app, ["dedupe", str(clean), "--out", str(tmp_path / "c"), "-q"]).exit_code == 0
    plain = (tmp_path / "c" / "report.html").read_text(encoding="utf-8")
    assert 'id="bad"' not in plain and "bad records skipped" not in plain  # nothing said when nothing was skipped


@needs_chromium
def test_bad_records_render_in_headless_chromium(tmp_path: Path) -> None:
    lines = [json.dumps(r, ensure_ascii=False) for r in feed_rows()]
    lines.insert(1, json.dumps({"id": "zz", "<img id=injected src=x>": "a record without its text"}))
    src = tmp_path / "feed.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert runner.invoke(app, ["dedupe", str(src), "--out", str(tmp_path / "out"), "-q", "--skip-bad"]).exit_code == 0
    dom = dump_dom(tmp_path / "out" / "report.html", tmp_path)
    assert '<details class="bad" id="bad">' in dom and "1 input record skipped as bad" in dom
    assert "feed.jsonl</bdi>:2: " in dom and "&lt;img id=injected src=x&gt;" in dom and 'id="injected"' not in dom
