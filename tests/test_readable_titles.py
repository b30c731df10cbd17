"""Headlines as scrapers leave them (HTML character references, tabs, line breaks) read as text on the pages and in
the labels, and an encoded tag stays text."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dedup.cli import app
from dedup.text.mojibake import readable
from dedup.types import Article, article_label

runner = CliRunner()
SEEDS = Path(__file__).resolve().parents[1] / "seeds"
TITLE = "بعد طرد الحوثيين .. هادي يعين &#8220;نايف البكري&#8221;\t\t\t محافظاً لعدن"
SHOWN = "بعد طرد الحوثيين .. هادي يعين “نايف البكري” محافظاً لعدن"
ENCODED_TAG = "&lt;script&gt;window.pwned=1&lt;/script&gt; عاجل"


def test_readable_repairs_references_and_whitespace() -> None:
    assert readable(TITLE) == SHOWN
    assert readable(ENCODED_TAG) == "<script>window.pwned=1</script> عاجل"  # text to escape, not markup
    assert readable("") == "" and readable("plain  words\n") == "plain words"
    assert article_label(Article("a", "body", TITLE)) == SHOWN
    assert article_label(Article("a", "&quot;body&quot;\n text")) == '"body" text'


def _feed(tmp_path: Path) -> Path:
    text = (SEEDS / "004_f4e2349ca1c8a4fa.txt").read_text(encoding="utf-8")
    rows = [{"id": "a", "title": TITLE, "text": text, "date": "2015-07-21 09:00"},
            {"id": "b", "title": ENCODED_TAG, "text": text + "\nشارك الخبر", "date": "2015-07-21 10:00"}]
    path = tmp_path / "feed.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_pages_and_labels_show_the_headline_as_it_reads(tmp_path: Path) -> None:
    feed = _feed(tmp_path)
    for command in ("dedupe", "stories"):
        result = runner.invoke(app, [command, str(feed), "--out", str(tmp_path / command), "--quiet"])
        assert result.exit_code == 0, result.output
        page = (tmp_path / command / "report.html").read_text(encoding="utf-8")
        assert SHOWN in page and "&amp;#8220;" not in page and "#8220" not in page
        assert "<script>" not in page and "&lt;script&gt;window.pwned=1&lt;/script&gt;" in page
    (event,) = json.loads((tmp_path / "stories" / "events.json").read_text(encoding="utf-8"))
    assert event["label"] == SHOWN
