"""report.html: hostile text is escaped, Arabic is direction-aware, and a real browser renders it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dedup.io.stories_out import write_stories_outputs
from dedup.flows.stories import stories
from dedup.io.report import render_report
from dedup.types import Article, BadRecord

from _chromium import dump_dom, needs_chromium

HOSTILE = [
    '<script>document.title="pwned"</script>',
    '"><img src=x onerror=alert(1)>',
    "</li></ul></section><h1 id=injected>x</h1>",
    "<style>body{display:none}</style>",
]


def _event(aid: str, label: str) -> dict:
    return {"event": aid, "storyline": aid, "label": label, "size": 2, "sources": ['<b>src</b>'],
            "first_date": "2025-07-15", "last_date": "2025-07-16", "members": [aid, aid + "b"],
            "groups": [{"group": aid, "size": 2, "members": [aid, aid + "b"]}]}


@pytest.mark.parametrize("text", HOSTILE, ids=["script", "attribute-breakout", "structure-breakout", "style"])
def test_hostile_text_is_escaped(text: str) -> None:
    arts = {"1": Article(id="1", text=text, title=text, source=text), "1b": Article(id="1b", text=text, title=text)}
    page = render_report([_event("1", text)], arts)
    for needle in ("<script", "<img", "<style>body{display", "<h1 id=injected", "<b>src"):
        assert needle not in page.replace("<style>\nbody", "")


@pytest.mark.parametrize("text", HOSTILE, ids=["script", "attribute-breakout", "structure-breakout", "style"])
def test_bad_records_are_listed_escaped(text: str) -> None:
    arts = {"1": Article(id="1", text="x", title="t"), "1b": Article(id="1b", text="x", title="t")}
    page = render_report([_event("1", "t")], arts, bad=[BadRecord(f"f{text}.jsonl", 7, f"no text: {text}", position=0)])
    assert '<details class="bad" id="bad">' in page and "1 input record skipped as bad" in page and ":7: " in page
    for needle in ("<script", "<img", "<style>body{display", "<h1 id=injected"):
        assert needle not in page.replace("<style>\nbody", "")
    assert 'id="bad"' not in render_report([_event("1", "t")], arts)  # none skipped: no block


def test_arabic_text_is_direction_aware_and_page_self_contained() -> None:
    a = Article(id="1", text="قال الرئيس إن الاجتماع كان مثمرا", title="CNN: لقاء تاريخي بين الرئيسين")
    page = render_report([_event("1", a.title)], {"1": a, "1b": a})
    assert '<h2 dir="rtl">CNN: لقاء تاريخي بين الرئيسين</h2>' in page  # by its letters, not its first one
    assert "http://" not in page and "https://" not in page and "<script" not in page


def _articles() -> list[Article]:
    body = ("president xi told foreign minister lavrov in beijing that china and russia must strengthen mutual "
            "support and implement the consensus with putin xinhua reported on tuesday")
    arts = [
        Article(id="a", text=body, title="شي يلتقي لافروف", date="2025-07-15", source="s1"),
        Article(id="b", text=body, title="شي يلتقي لافروف", date="2025-07-15", source="s2"),
        Article(id="evil", text=HOSTILE[0] + " " + body, title=HOSTILE[1], date="2025-07-15", source=HOSTILE[2]),
    ]
    fill = ["central bank kept rates unchanged citing stable inflation", "heavy rain flooded roads in the north",
            "the club signed a young striker on a four year contract", "a new metro line will reach the airport"]
    return arts + [Article(id=f"f{k}", text=t) for k, t in enumerate(fill)]


def test_events_sit_inside_their_storyline_largest_first_long_storylines_folded() -> None:
    def ev(k: int, storyline: int, size: int) -> dict:
        return {"event": f"e{k}", "storyline": f"e{storyline}", "label": f"event {k}", "size": size, "sources": [],
                "first_date": None, "last_date": None, "members": [f"e{k}"], "groups": []}

    events = [ev(0, 0, 1), ev(1, 1, 3)] + [ev(k, 2, 2) for k in range(2, 10)]  # storyline e2: 8 events, 16 articles
    page = render_report(events, {})
    assert page.index('data-storyline="e2"') < page.index('data-event="e1"') < page.index('data-event="e0"')
    assert page.count('<section class="storyline"') == 1  # e0 and e1 are alone in theirs
    assert "3 more events</summary>" in page and page.count('<section class="event"') == 10
    assert "16 articles" in page and "1 storyline (" not in page and "3 storylines (1 linking" in page
    assert page.count('data-event="e0"') == 1 and render_report(events, {}, max_events=3).count('<section class="event"') == 3


def test_the_page_s_budget_shows_the_largest_events_and_says_what_it_leaves_out() -> None:
    """The budget went to whole storylines in order: one long storyline's single reports filled the page while events
    of 30 articles were left out, and a cut storyline's header counted only what was shown."""
    def ev(k: int, storyline: int, size: int) -> dict:
        return {"event": f"e{k}", "storyline": f"e{storyline}", "label": f"event {k}", "size": size, "sources": [],
                "first_date": None, "last_date": None, "members": [f"e{k}"], "groups": []}

    events = [ev(0, 0, 4)] + [ev(k, 0, 1) for k in range(1, 40)] + [ev(40, 40, 30), ev(41, 41, 2)]  # e0's: 43 articles
    page = render_report(events, {}, max_events=5)
    assert page.count('<section class="event"') == 5
    assert 'data-event="e40"' in page and 'data-event="e41"' in page and 'data-event="e0"' in page
    assert "storyline · 40 events · 43 articles · 3 shown here (events.json has all)" in page
    assert "showing 5 events" in page


def test_the_first_screen_says_what_the_page_shows_with_counts_as_summary_json_gives_them(tmp_path: Path) -> None:
    """On 20k articles the header read "20329 articles in 12003 events (2646 with ...)": no thousands separators (the
    dedupe page has them), nothing on what an event, a storyline or "N copies" is, and the articles not compared (381,
    each an event of its own, in summary.json's ``skipped``) counted among the events without a word."""
    import json

    result = stories(_articles())
    write_stories_outputs(tmp_path / "out", result, ["feed.jsonl"], [])
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())["counts"]
    assert summary["skipped"] >= 1  # the fill's seven-word line is too short to compare
    page = (tmp_path / "out" / "report.html").read_text()
    noun = "article" if summary["skipped"] == 1 else "articles"
    assert f"; {summary['skipped']} {noun} not compared, each an event of its own: empty, too short or too long)" in page
    assert f"in {summary['events']} events" in page and 'id="about"' in page and "a storyline links related events" in page

    def ev(k: int, size: int) -> dict:
        return {"event": f"e{k}", "storyline": f"e{k}", "label": f"event {k}", "size": size, "sources": [],
                "first_date": None, "last_date": None, "members": [f"e{k}"], "groups": []}

    big = render_report([ev(0, 12_003), ev(1, 8_326)], {}, max_events=1)
    assert "20,329 articles in 2 events (2 with more than one article), 2 storylines" in big
    assert "showing 1 event (the largest; events.json has all)." in big and "not compared" not in big


@needs_chromium
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    result = stories(_articles())
    write_stories_outputs(tmp_path / "out", result, ["feed.jsonl"], [BadRecord("feed.jsonl", 3, "malformed JSON <img src=x>")])
    dom = dump_dom(tmp_path / "out" / "report.html", tmp_path)
    assert '<details class="bad" id="bad">' in dom and "feed.jsonl</bdi>:3: " in dom and "&lt;img src=x&gt;" in dom
    assert 'id="summary"' in dom and "7 articles" in dom
    assert "شي يلتقي لافروف" in dom and 'dir="auto"' in dom
    assert "<details>" in dom and " copies</span>" in dom  # the folded duplicate group
    # the hostile strings arrive as text, not as elements
    assert "<script" not in dom and "<img" not in dom and "&lt;script&gt;" in dom
    assert np.unique(result.event).size < len(result.articles)


def test_a_group_cut_at_the_window_says_where_its_other_copies_are() -> None:
    """A fragment of a group split across events read "1 copies", with no word of the rest."""
    a = Article(id="1", text="x", title="t")
    ev = {"event": "1", "storyline": "1", "label": "t", "size": 1, "sources": [], "first_date": None, "last_date": None,
          "members": ["1"], "groups": [{"group": "g", "size": 1, "members": ["1"], "size_in_feed": 4}]}
    assert "1 of 4 copies (the others in other events)" in render_report([ev], {"1": a})
    ev["groups"][0]["size_in_feed"] = 2  # one copy elsewhere read "1 of 2 copies (the others in other events)"
    assert "1 of 2 copies (the other in another event)" in render_report([ev], {"1": a})


def test_an_excerpt_leaves_out_its_source_s_boilerplate_lines(tmp_path: Path) -> None:
    """A site's navigation line on every article ("Next Previous ...") led each excerpt of the page; dedupe leaves such
    lines out of the comparison, and the page now leaves them out of the excerpts too. The machine outputs keep the
    records as they came, and a line that only looks alike (another source's) stays."""
    from test_stories_stream import WIRES

    header = "Next | Previous  Site – Agency"
    arts = [Article(id=f"s{k}", text=f"{header}\n{w}", title=f"story {k}", date="2015-07-21 08:00", source="site")
            for k, w in enumerate(WIRES[:5])]
    arts.append(Article(id="o1", text=f"{header}\n{WIRES[5]}", title="other", date="2015-07-21 09:00", source="other"))
    result = stories(arts)
    assert len(result.dedup.boilerplate) >= 1
    write_stories_outputs(tmp_path / "out", result, ["feed.jsonl"])
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert page.count("Next | Previous") == 1  # the other source's line only
    for w in WIRES[:6]:
        assert w[:60] in page
    assert result.articles[0].text.startswith(header)  # the result (and stories.jsonl's records) unchanged


def test_the_page_is_written_in_pieces_and_prepares_only_the_articles_it_shows(tmp_path: Path, monkeypatch) -> None:
    """A large feed's page was joined whole (held two to three times over) after every excerpt of the feed had its
    boilerplate stripped: now only the shown events' members are prepared, and the page is the same."""
    from dedup.io import report
    from dedup.text import boilerplate

    events = [{**_event(str(k), f"event {k}"), "size": 2 + k} for k in range(4)]
    arts = {aid: Article(id=aid, text=f"text of {aid}", title=f"title {aid}") for e in events for aid in e["members"]}
    pieces = list(report.report_pieces(events, arts, max_events=2))
    assert len(pieces) == 4 and "".join(pieces) == render_report(events, arts, max_events=2)
    assert report.shown_ids(events, max_events=2) == {"3", "3b", "2", "2b"}  # the two largest events' members

    prepared: list[int] = []
    real = boilerplate.without_boilerplate
    monkeypatch.setattr(boilerplate, "without_boilerplate", lambda texts, *a, **k: prepared.append(len(texts)) or real(texts, *a, **k))
    monkeypatch.setattr(report, "_chosen", lambda evs, m: {id(e) for e in sorted(evs, key=lambda e: -int(e["size"]))[:1]})
    res = stories(_articles())
    write_stories_outputs(tmp_path, res, ["feed.jsonl"])
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</body></html>\n") and page.count("<section") >= 1
    assert prepared and prepared[-1] < len(res.articles)  # not every article of the feed: those of the one event shown
