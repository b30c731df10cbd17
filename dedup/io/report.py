"""A static, self-contained HTML report of storylines, their events, members and folded duplicate groups.

Feeds are untrusted input, and the page follows the rules of
:mod:`dedup.io.safe_html`: every piece of text from them (headlines, bodies,
ids, sources, dates) goes through :func:`html.escape` with ``quote=True``, so
no markup or script from a feed can run or break out of an attribute. The
page loads nothing (inline CSS, no scripts, no fonts, no images) and carries
a Content-Security-Policy that forbids loading anything anyway. Article text
gets ``dir="auto"`` so Arabic renders right-to-left and Latin text
left-to-right, each paragraph by its own first strong character.

Layout holds against hostile text too: every string from the feed sits in an
element of its own that isolates its direction (``dir="auto"``, or
``<bdi>`` inside a line that lists several: sources, date, id), so an
unterminated right-to-left override cannot reverse its neighbours; and long
unbroken strings wrap anywhere (``overflow-wrap:anywhere``) instead of
widening the page.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..text.mojibake import readable
from ..types import Article, BadRecord, article_label, timestamp
from .safe_html import bdi, direction, esc, page_ends, short, shown_date
from .skipped import BAD_CSS, bad_records_html

__all__ = ["MAX_EVENTS", "render_report", "report_pieces", "shown_ids"]

_CSS = """
body{font-family:system-ui,'Noto Naskh Arabic','Segoe UI',sans-serif;margin:1.5rem auto;max-width:60rem;padding:0 1rem;color:#222;overflow-wrap:anywhere}
bdi{unicode-bidi:isolate}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin:.2rem 0}h3{margin:.2rem 0}
.event{border:1px solid #ccc;border-radius:6px;padding:.6rem .9rem;margin:.8rem 0}
.meta{color:#555;font-size:.85rem}
ul{padding-inline-start:1.2rem}li{margin:.25rem 0}
.excerpt{color:#444;font-size:.9rem;display:block}
details{margin:.25rem 0}summary{cursor:pointer}
.copies{color:#a33;font-weight:600}
.storyline{border-inline-start:4px solid #4a7fb5;padding-inline-start:.8rem;margin:1.4rem 0}
.storyline>h2{font-size:1.2rem;color:#234}
.event h3{font-size:1.05rem;margin:.2rem 0}
"""

_EXCERPT = 280
MAX_EVENTS = 1000  # events a page shows (the largest): a large feed still gives a page a browser opens quickly
_OPEN_EVENTS = 5  # events of a storyline shown before the rest is folded
_EARLIER_SHOWN = 100  # earlier members events.json names per continued event (flows.story_history.EARLIER_SHOWN)
_MERGED_NAMED = 5  # merged earlier events named in an event's line


def _article_item(art: Article | None, aid: str) -> str:
    if art is None:
        return f'<li dir="auto">{esc(aid)}</li>'
    head = article_label(art)
    meta = " · ".join(bdi(x) for x in (art.source, shown_date(art.date), art.id) if x)
    return (
        f'<li dir="{direction(head)}"><span class="headline" dir="{direction(head)}">{esc(head)}</span> '
        f'<span class="meta" dir="auto">{meta}</span>'
        f'<span class="excerpt" dir="{direction(art.text[:2000])}">{esc(short(readable(art.text[:4 * _EXCERPT]), _EXCERPT))}</span></li>'
    )


def _event_section(event: Mapping[str, Any], articles: Mapping[str, Article], heading: str = "h2") -> str:
    grouped = {m for g in event["groups"] for m in g["members"]}
    items: list[str] = []
    for g in event["groups"]:
        first = articles.get(g["members"][0])
        head = article_label(first) if first else g["group"]
        inner = "".join(_article_item(articles.get(m), m) for m in g["members"])
        items.append(
            f'<li dir="{direction(head)}"><details><summary><span class="copies" dir="ltr">{_copies(g)}</span> '
            f'<span dir="{direction(head)}">{esc(head)}</span></summary><ul>{inner}</ul></details></li>'
        )
    items.extend(_article_item(articles.get(m), m) for m in event["members"] if m not in grouped)
    dates = bdi(shown_date(event["first_date"])) if event["first_date"] else ""
    if event["last_date"] and shown_date(event["last_date"]) != shown_date(event["first_date"]):
        dates += f" … {bdi(shown_date(event['last_date']))}"
    meta = _count(int(event["size"]), "article")
    if event["sources"]:
        meta += f" · {_count(len(event['sources']), 'source')} ({', '.join(map(bdi, event['sources']))})"
    if dates:
        meta += f" · {dates}"
    earlier, merged = event.get("earlier_members") or [], event.get("merged_events") or []
    if earlier:  # with an index: the event began in an earlier feed (events.json names up to EARLIER_SHOWN of them)
        meta += f" · continues an event of earlier feeds ({_count(len(earlier), 'earlier report')}" + (
            " or more" if len(earlier) >= _EARLIER_SHOWN else "") + ")"
    if merged:
        meta += f" · joined here with {_count(len(merged), 'earlier event')} ({', '.join(map(bdi, merged[:_MERGED_NAMED]))}" + (
            ", …" if len(merged) > _MERGED_NAMED else "") + ")"
    return (
        f'<section class="event" data-event="{esc(event["event"])}" data-storyline="{esc(event["storyline"])}">'
        f'<{heading} dir="{direction(event["label"])}">{esc(event["label"])}</{heading}><div class="meta" dir="auto">{meta}</div>'
        f"<ul>{''.join(items)}</ul></section>"
    )


def _copies(group: Mapping[str, Any]) -> str:
    """A group's copies in this event; a group cut at the window says where the rest are ("1 copies" said nothing).

    >>> _copies({"size": 3}), _copies({"size": 1, "size_in_feed": 4}), _copies({"size": 1, "size_in_feed": 2})
    ('3 copies', '1 of 4 copies (the others in other events)', '1 of 2 copies (the other in another event)')
    """
    size, whole = int(group["size"]), int(group.get("size_in_feed", group["size"]))
    if whole == size:
        return _count(size, "copy").replace("copys", "copies")
    elsewhere = "the other in another event" if whole - size == 1 else "the others in other events"  # one left: singular
    return f"{size:,} of {whole:,} copies ({elsewhere})"


def _count(k: int, noun: str) -> str:
    return f"{k:,} {noun}" + ("" if k == 1 else "s")


def _storyline_section(whole: Sequence[Mapping[str, Any]], articles: Mapping[str, Article],
                       events: Sequence[Mapping[str, Any]] | None = None) -> str:
    """A storyline of two or more events (``whole``): its label (its largest event's), size and span, then the events
    shown (``events``, default all; the header says when some are left out for the page's budget)."""
    events = whole if events is None else events
    first = min((e["first_date"] for e in whole if e["first_date"]), key=timestamp, default=None)  # by time, not text
    last = max((e["last_date"] for e in whole if e["last_date"]), key=timestamp, default=None)
    meta = f"storyline · {_count(len(whole), 'event')} · {_count(sum(int(e['size']) for e in whole), 'article')}"
    if first:
        meta += f" · {bdi(shown_date(first))}" + (f" … {bdi(shown_date(last))}" if last and shown_date(last) != shown_date(first) else "")
    if len(events) < len(whole):
        meta += f" · {len(events)} shown here (events.json has all)"
    inner = "".join(_event_section(e, articles, heading="h3") for e in events[:_OPEN_EVENTS])
    if len(events) > _OPEN_EVENTS:  # a long storyline stays one screen tall until asked
        rest = "".join(_event_section(e, articles, heading="h3") for e in events[_OPEN_EVENTS:])
        inner += f"<details><summary>{_count(len(events) - _OPEN_EVENTS, 'more event')}</summary>{rest}</details>"
    return (
        f'<section class="storyline" data-storyline="{esc(events[0]["storyline"])}">'
        f'<h2 dir="{direction(events[0]["label"])}">{esc(events[0]["label"])}</h2><div class="meta" dir="auto">{meta}</div>{inner}</section>'
    )


def render_report(
    events: Sequence[Mapping[str, Any]],
    articles: Mapping[str, Article],
    title: str = "dedup stories",
    max_events: int = MAX_EVENTS,
    bad: Sequence[BadRecord] = (),
    not_compared: int = 0,
) -> str:
    """The HTML page for ``events`` (as in ``events.json``), articles looked up by id; ``bad``: the input records skipped;
    ``not_compared``: how many articles were not compared (empty, too short, too long), each an event of its own.

    Events are shown inside their storyline: a storyline of two or more
    events is one section (labelled by its largest event) holding its events,
    largest first; an event alone in its storyline stands on its own.
    Storylines and lone events are ordered by how many articles they hold
    (ties: input order), so lone single-article events come last. The
    ``max_events`` largest events are shown, each in its storyline (whose
    header counts all its events and says how many are shown), the rest only
    counted, so a large feed still gives a page a browser opens quickly.
    The page is :func:`report_pieces` joined.

    >>> from dedup.types import Article
    >>> a = Article(id="1", text="<b>x</b>", title="<script>alert(1)</script>")
    >>> ev = [{"event": "1", "storyline": "1", "label": a.title, "size": 1, "sources": [],
    ...        "first_date": None, "last_date": None, "members": ["1"], "groups": []}]
    >>> page = render_report(ev, {"1": a}, max_events=5)
    >>> "<script>" in page, "&lt;script&gt;" in page
    (False, True)
    """
    return "".join(report_pieces(events, articles, title, max_events, bad, not_compared))


def _chosen(events: Sequence[Mapping[str, Any]], max_events: int) -> set[int]:
    """The events shown (by ``id()``): the feed's ``max_events`` largest (ties: input order)."""
    # the largest events of the feed are the ones shown (storylines taken whole, the page filled with the single
    # reports of a few long storylines and left out events of 30 articles), each in its storyline
    return {id(e) for e in sorted(events, key=lambda e: -int(e["size"]))[:max_events]}


def shown_ids(events: Sequence[Mapping[str, Any]], max_events: int = MAX_EVENTS) -> set[str]:
    """The ids of the articles the page of ``events`` shows: the members of the events :func:`render_report` shows
    (a caller then prepares only those articles)."""
    chosen = _chosen(events, max_events)
    ids: set[str] = set()
    for e in events:
        if id(e) in chosen:
            ids.update(e["members"])
            for g in e["groups"]:
                ids.update(g["members"])
    return ids


def report_pieces(
    events: Sequence[Mapping[str, Any]],
    articles: Mapping[str, Article],
    title: str = "dedup stories",
    max_events: int = MAX_EVENTS,
    bad: Sequence[BadRecord] = (),
    not_compared: int = 0,
) -> Iterator[str]:
    """:func:`render_report`'s page a piece at a time (a storyline or a lone event each), to be written as it is made:
    the page of a million-article feed is ~150 MB, and joined it was held two to three times over."""
    by_storyline: dict[str, list[Mapping[str, Any]]] = {}
    for e in events:
        by_storyline.setdefault(e["storyline"], []).append(e)
    blocks = sorted(by_storyline.values(), key=lambda es: -sum(int(e["size"]) for e in es))  # stable: input order on ties
    chosen = _chosen(events, max_events)
    picked_blocks: list[tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]] = []
    for block in blocks:
        block = sorted(block, key=lambda e: -int(e["size"]))
        picked = [e for e in block if id(e) in chosen]
        if picked:
            picked_blocks.append((block, picked))
    shown = sum(len(picked) for _, picked in picked_blocks)
    multi = sum(int(e["size"]) > 1 for e in events)
    n_articles = sum(int(e["size"]) for e in events)
    alone = f"; {_count(not_compared, 'article')} not compared, each an event of its own: empty, too short or too long" \
        if not_compared else ""
    summary = (
        f"{_count(n_articles, 'article')} in {_count(len(events), 'event')} ({multi:,} with more than one article{alone}), "
        f"{_count(len(by_storyline), 'storyline')} ({sum(len(b) > 1 for b in blocks):,} linking two or more events); "
        f"showing {_count(shown, 'event')}" + (" (the largest; events.json has all)." if shown < len(events) else ".")
    )
    # what the reader is looking at, before the first storyline fills the screen
    about = (f"An event holds the reports of one happening; a storyline links related events. Storylines and events "
             f"come largest first; a storyline opens on its {_OPEN_EVENTS} largest events, the rest folded; "
             "\u201cN copies\u201d opens on the copies of one text (a duplicate group) folded into the event.")
    head = (f'<h1 dir="auto">{esc(title)}</h1><p class="meta" id="summary">{esc(summary)}</p><p class="meta" id="about">{esc(about)}</p>'
            f'{bad_records_html(bad, "stories.jsonl")}')
    start, end = page_ends(title, _CSS + BAD_CSS)
    yield f"{start}{head}<main>"
    for block, picked in picked_blocks:
        yield _storyline_section(block, articles, picked) if len(block) > 1 else _event_section(block[0], articles)
    yield f"</main>{end}"
