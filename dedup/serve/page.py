"""The HTML of the service: ``/`` (the latest groups) and ``/pair`` (two articles side by side).

Articles are untrusted input. Every string from them (ids, sources, dates,
titles, texts, reasons) goes through :func:`html.escape` with ``quote=True``,
and ids in links are percent-encoded first. Direction: each paragraph of a
text and each title gets ``dir="auto"`` (Arabic right-to-left, Latin
left-to-right, by its first strong character); a string in a line or cell
with others sits in ``<bdi>``, so a stray right-to-left override (U+202E)
cannot reverse its neighbours. The pages load nothing: inline CSS, no
script, no font, no image (the app also sends a Content-Security-Policy
that forbids loading anything). Dates are written for people in the form of
both ``report.html`` pages (:func:`~dedup.io.safe_html.shown_date`:
``2024-05-01 09:00 UTC``); the JSON routes keep ISO 8601.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote

from ..io.safe_html import shown_date, shown_time
from ..results import STATUS
from ..store.index import ArticleRecord
from ..text.mojibake import readable
from ..verify import RELATIONS
from .views import GroupView, PairView

__all__ = ["MAX_LIMIT", "render_groups", "render_not_found", "render_pair", "render_pruned_keeper"]

_CSS = """
body{font-family:system-ui,'Noto Naskh Arabic','Segoe UI',sans-serif;margin:1.2rem auto;max-width:72rem;padding:0 1rem;color:#222;overflow-wrap:anywhere}
bdi{unicode-bidi:isolate}
h1{font-size:1.35rem}h2{font-size:1.05rem;margin:.2rem 0}
.meta{color:#555;font-size:.85rem}
.group{border:1px solid #ccc;border-radius:6px;padding:.5rem .8rem;margin:.8rem 0;overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.88rem}
th,td{text-align:start;padding:.2rem .4rem;border-bottom:1px solid #eee;vertical-align:top;overflow-wrap:normal}
tr.keeper td{font-weight:600}
td.nw,th{white-space:nowrap}
td.id{overflow-wrap:anywhere;min-width:12rem}
td.src{overflow-wrap:anywhere;min-width:7rem}
.scroll{overflow-x:auto}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
article{border:1px solid #ccc;border-radius:6px;padding:.5rem .8rem;min-width:0}
article p{margin:.4rem 0;line-height:1.55}
mark{background:#ffe58a}
.none{color:#777;font-style:italic}
"""


MAX_LIMIT = 200  #: the largest ?limit= of the page at /


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _i(value: Any) -> str:
    """A string from the feed beside others: escaped, its direction isolated."""
    return f"<bdi>{_e(value)}</bdi>"


def _id(value: Any) -> str:
    """An id, a group or event name, a date: isolated and left to right (an URL with an Arabic slug kept its segments
    in order only so: isolated alone, its parts were laid out right to left)."""
    return f'<bdi dir="ltr">{_e(value).replace("/", "/<wbr>")}</bdi>'  # a long URL id wraps after a slash, not mid-number


def _q(value: str) -> str:
    """An id in a URL query, then in an attribute."""
    return _e(quote(value, safe=""))


def _score(x: Any) -> str:
    return "–" if x is None or x != x else f"{float(x):.3f}"


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="und"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body>\n{body}\n</body></html>\n")


def _span(first: float | None, last: float | None) -> str:
    """From ``first`` to ``last`` (epoch seconds) as people read dates (:func:`~dedup.io.safe_html.shown_date`: the
    reports' form; the JSON keeps ISO 8601); one date when both show the same, "undated" when there is none."""
    a, b = shown_time(first), shown_time(last)
    return f"{a} – {b}" if a and b and a != b else (a or b or "undated")


def _pair_link(a: str, b: str) -> str:
    return f'<a href="/pair?a={_q(a)}&amp;b={_q(b)}">side by side</a>'


def _member_row(m: ArticleRecord, keeper: ArticleRecord | None, own: ArticleRecord | None,
                named: tuple[str | None, bool] = (None, False)) -> str:
    """A member's row: ``keeper`` the group's, ``own`` the article it was found a copy of (side by side with it);
    ``named``: the id of that article and whether it was pruned from the index (then it is named, with no link)."""
    is_keeper = keeper is not None and m.row == keeper.row
    j, c, cos = m.scores[:3]
    own = own if own is not None and own.row != m.row else None
    link = "" if is_keeper or own is None else _pair_link(own.id, m.id)
    if named[1]:
        link = (f'<span class="none">copy of {_id(named[0])}, pruned from the index</span>' if named[0] is not None else
                '<span class="none">its keeper was pruned from the index</span>')
    return (f'<tr class="{"keeper" if is_keeper else "copy"}"><td class="nw">{"keeper" if is_keeper else _e(STATUS[m.status])}</td>'
            f'<td class="id">{_id(m.id)}</td><td class="src">{_i(m.source)}</td><td class="nw">{_id(shown_date(m.date))}</td>'
            f'<td class="nw">{_e(RELATIONS[m.relation] or "")}</td><td class="nw">{_score(j)}</td><td class="nw">{_score(c)}</td>'
            f'<td class="nw">{_score(cos)}</td><td class="nw">{link}</td></tr>')


def _group_section(g: GroupView, titles: Mapping[str, str]) -> str:
    members = list(g.members)
    if g.keeper is not None and all(m.row != g.keeper.row for m in members):
        members.insert(0, g.keeper)
    members.sort(key=lambda m: (g.keeper is None or m.row != g.keeper.row, m.row))
    sources = sorted({m.source for m in members if m.source})
    times = sorted(m.time for m in members if m.time == m.time)
    when = _span(times[0], times[-1]) if times else "undated"
    title = titles.get(g.keeper.id, "") if g.keeper is not None else ""
    # the keeper's headline (or the start of its text); the index keeps neither, so say why there is none
    gone = "" if g.keeper_id is None else f" {_id(g.keeper_id)}"
    head = f'<h2 dir="auto">{_e(title)}</h2>' if title else (
        f'<p class="none">no headline: the keeper{gone} was pruned from the index (dedup index prune)</p>' if g.keeper is None else
        '<p class="none">no headline: the index keeps no titles or texts, and this keeper was not posted to this '
        "service (added by <code>dedup dedupe --index</code>)</p>")
    rows = "\n".join(_member_row(m, g.keeper, g.keeper_of(m), g.keeper_named(m)) for m in members)
    return (f'<section class="group" data-group="{_e(g.name)}">{head}'
            f'<p class="meta">group {_id(g.name)} · {len(members)} articles · sources: '
            f'{", ".join(_i(s) for s in sources) or "none"} · {_e(when)} · '
            f'<a href="/v1/groups/{_e(quote(g.name, safe=""))}">JSON</a></p>\n'
            "<table><tr><th>role</th><th>id</th><th>source</th><th>date</th><th>relation</th><th>jaccard</th>"
            f"<th>containment</th><th>cosine</th><th></th></tr>\n{rows}</table></section>")


def _event_section(e: Mapping[str, Any]) -> str:
    """One tracked event: its label (the first report's headline), size, sources, span, and its first members."""
    when = _span(e.get("first"), e.get("last"))
    labels = e.get("labels", {})  # each report's headline (or the start of its text), as dedup stories stored it
    anchor = _anchor(e["event"], e["members"])
    rows = "\n".join(f"<li>{_headline(labels.get(m))}{_id(m)}{'' if m == anchor else ' · ' + _pair_link(anchor, m)}</li>"
                     for m in e["members"])
    more = e["size"] - len(e["members"])
    return (f'<section class="group event" data-event="{_e(e["event"])}"><h2 dir="auto">'
            f'<a href="{_event_href(e["event"])}">{_e(e["label"])}</a></h2>'
            f'<p class="meta">event {_id(e["event"])} · {_reports(e["size"])} · sources: '
            f'{", ".join(_i(s) for s in e["sources"]) or "none"} · {_e(when)}</p>\n<ul>{rows}</ul>'
            + (f'<p class="meta">and {more} more: <a href="{_event_href(e["event"])}">every report</a></p>' if more > 0 else "")
            + "</section>")


def _anchor(event: str, ids: Sequence[str]) -> str:
    """The report the others open side by side with: the first (the event's name), or the earliest left when it was
    pruned from the index (a link to it said "not in the index" for every report)."""
    return event if event in ids or not ids else ids[0]


def _headline(label: str | None) -> str:
    """A report's headline before its id in a line: escaped, its direction its own (Arabic right to left)."""
    return f'<bdi dir="auto">{_e(label)}</bdi> · ' if label else ""


def _single_item(e: Mapping[str, Any]) -> str:
    """A one-report event on one line: its headline (linking to its page), outlet and date."""
    meta = " · ".join(x for x in (", ".join(_i(s) for s in e["sources"]), _e(shown_time(e.get("first")) or "undated")) if x)
    return (f'<li data-event="{_e(e["event"])}"><a href="{_event_href(e["event"])}" dir="auto">{_e(e["label"] or e["event"])}</a>'
            f' <span class="meta">· {meta}</span></li>')


def _reports(n: int) -> str:
    return "1 report" if n == 1 else f"{n} reports"


def _event_href(event: str) -> str:
    return f"/event?e={_q(event)}"


def render_event(e: Mapping[str, Any]) -> str:
    """The page at ``/event``: one tracked event, its reports in time order (id, source, date, headline), each
    opening side by side with the first report (the earliest left when it was pruned)."""
    when = _span(e.get("first"), e.get("last"))
    anchor = _anchor(e["event"], [r.id for r in e["reports"]])
    mark = "first report" if anchor == e["event"] else "earliest report left"
    rows = "\n".join(
        f'<tr><td class="id">{_id(r.id)}</td><td class="src">{_i(r.source)}</td><td class="nw">{_id(shown_time(r.time) or "undated")}</td>'
        f'<td dir="auto">{_e(r.label)}</td><td class="nw">{mark if r.id == anchor else _pair_link(anchor, r.id)}</td></tr>'
        for r in e["reports"])
    more = e["size"] - len(e["reports"])
    gone = "" if anchor == e["event"] else (f'<p class="meta">its first report, {_id(e["event"])}, was pruned from the index '
                                           "(<code>dedup index prune</code>): each report opens beside the earliest left</p>\n")
    body = (f'<h1 dir="auto">{_e(e["label"])}</h1>\n<p class="meta"><a href="/">latest groups and events</a> · '
            f'event {_id(e["event"])} · {_reports(e["size"])} · sources: {", ".join(_i(s) for s in e["sources"]) or "none"} · '
            f'{_e(when)} · <a href="/v1/events/{_e(quote(e["event"], safe=""))}">JSON</a></p>\n{gone}'
            f'<section class="group event" data-event="{_e(e["event"])}"><table><tr><th>id</th><th>source</th><th>date</th>'
            f"<th>headline</th><th></th></tr>\n{rows}</table>"
            + (f'<p class="meta">and {more} more (the first {len(e["reports"])} shown)</p>' if more > 0 else "") + "</section>")
    return _page(f"dedup · event {e['event']}", body)


def render_groups(groups: Sequence[GroupView], titles: Mapping[str, str], location: str, articles: int,
                  events: Sequence[Mapping[str, Any]] = (), boxes: int = 20) -> str:
    """The page at ``/``: the latest groups, newest first (``titles``: the keepers' known headlines, or the starts of
    their texts: :meth:`~.engine.Engine.headlines`), then the
    latest events when the index tracks stories (``dedup stories --index``): at most ``boxes`` of several reports, each
    in its box, then the single reports a line each."""
    sections = "\n".join(_group_section(g, titles) for g in groups)
    if not groups:
        sections = '<p class="none">No duplicate groups yet: post articles to /v1/articles.</p>'
    if events:
        # the events several outlets or reports carry first, each in its box; the single reports after them, a line
        # each (on a busy feed most of the latest events are single reports, and a box each buried the others)
        multi, single = [e for e in events if e["size"] > 1][:boxes], [e for e in events if e["size"] <= 1]
        sections += ("\n<h1 id=\"events\">latest events</h1>\n<p class=\"meta\">reports of one happening, tracked by "
                     "<code>dedup stories --index</code>; each report opens side by side with the first one</p>\n"
                     + "\n".join(_event_section(e) for e in multi))
        if single:
            sections += ('\n<section class="group singles"><h2>single reports</h2><ul>'
                         + "".join(_single_item(e) for e in single) + "</ul></section>")
    to_events = '<a href="#events">latest events</a> · ' if events else ""
    # what the page shows and how to see more: "latest" is the order articles were added in, not their dates
    shown = (f"{len(groups)} group{'' if len(groups) == 1 else 's'}, newest first (by the latest article added)"
             + (f' · <a href="/?limit={MAX_LIMIT}">the latest {MAX_LIMIT}</a>' if boxes <= len(groups) < MAX_LIMIT else "")
             + " · ") if groups else ""
    body = (f"<h1>dedup · latest duplicate groups</h1>\n<p class=\"meta\">index {_i(location)} · {articles:,} articles · "
            f"{shown}each copy opens side by side with its keeper · {to_events}"
            f"<a href=\"/metrics\">metrics</a> · <a href=\"/openapi.json\">OpenAPI</a></p>\n{sections}")
    return _page("dedup · latest groups", body)


def _highlighted(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` as ``<p dir="auto">`` paragraphs (one per line), ``spans`` in ``<mark>``, all escaped."""
    out, start = [], 0
    for line in text.split("\n"):
        end = start + len(line)
        pieces, at = [], start
        for s, e in spans:
            s, e = max(s, start), min(e, end)
            if s >= e:
                continue
            pieces.append(_e(text[at:s]) + f"<mark>{_e(text[s:e])}</mark>")
            at = e
        pieces.append(_e(text[at:end]))
        if line.strip():
            out.append(f'<p dir="auto">{"".join(pieces)}</p>')
        start = end + 1
    return "\n".join(out)


def _containment(s: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """The containment cell: both ways for an edge (``A in B`` and ``B in A``, the sides' letters), else the one number
    the decisions and ``dedup similarity`` give, the shorter text's in the longer: labelled, so the edge's first way
    and that maximum are not read as one quantity."""
    if "containment_1_in_2" in s:
        one, two = names.get(s["id1"], s["id1"]), names.get(s["id2"], s["id2"])
        return (f"{_score(s['containment_1_in_2'])} ({_id(one)} in {_id(two)}) · "
                f"{_score(s['containment_2_in_1'])} ({_id(two)} in {_id(one)})")
    return f"{_score(s.get('containment'))} (shorter in longer)"


def _side(rec: ArticleRecord, known: tuple[str, str] | None, spans: Sequence[tuple[int, int]], letter: str) -> str:
    head = (f'<p class="meta">{letter} · {_id(rec.id)} · {_i(rec.source)} · {_id(shown_date(rec.date) or "undated")} · '
            f"{_e(STATUS[rec.status])}{' in group ' + _id(rec.group) if rec.group else ''}</p>")
    if known is None:
        return (f'<article data-id="{_e(rec.id)}">{head}<p class="none">No text: the index keeps none, and this article '
                "was not posted to this service (added by <code>dedup dedupe --index</code>, or before the service kept "
                "texts). Scores only.</p></article>")
    title, text = readable(known[0]), known[1]
    return (f'<article data-id="{_e(rec.id)}">{head}' + (f'<h2 dir="auto">{_e(title)}</h2>' if title else "")
            + f'<div class="text">{_highlighted(text, spans)}</div></article>')


def render_pair(view: PairView, spans: tuple[Sequence[tuple[int, int]], Sequence[tuple[int, int]]]) -> str:
    """The page at ``/pair``: both articles, their stored scores and fresh ones, shared passages marked."""
    rows = []
    names = {view.a.id: "A", view.b.id: "B"}
    for what, s in view.stored:
        rows.append(f"<tr><td>{_i(what)}</td><td>{_e(s.get('relation') or '')}</td><td>{_score(s.get('jaccard'))}</td>"
                    f"<td>{_containment(s, names)}</td><td>{_score(s.get('cosine'))}</td><td>{_score(s.get('probability'))}</td>"
                    "<td></td></tr>")
    if view.measured is not None:
        m = view.measured
        rows.append(f"<tr><td>measured now on the two texts, with their dates and outlets (dedup similarity)</td><td>{_e(m['verdict'])}</td>"
                    f"<td>{_score(m['jaccard'])}</td><td>{_containment(m, names)}</td><td>{_score(m['cosine'])}</td>"
                    f"<td>{_score(m.get('probability'))}</td><td>{_score(m['story_score'])}</td></tr>")
    table = ('<div class="scroll"><table><tr><th>scores</th><th>relation / verdict</th><th>jaccard</th><th>containment</th>'
             "<th>cosine</th><th>probability</th><th>story score</th></tr>\n" + "\n".join(rows) + "</table></div>") if rows else \
        '<p class="none">No stored scores between these two: they are not in one group, and their texts are not both known.</p>'
    marked = "" if view.measured is None else " Passages both texts share are marked."
    body = (f'<h1>side by side</h1>\n<p class="meta"><a href="/">latest groups</a>.{marked}</p>\n{table}\n'
            f'<div class="pair">{_side(view.a, view.texts.get(view.a.id), spans[0], "A")}\n'
            f"{_side(view.b, view.texts.get(view.b.id), spans[1], 'B')}</div>")
    return _page("dedup · side by side", body)


def render_pruned_keeper(keeper: str, copy: ArticleRecord) -> str:
    """The page at ``/pair`` for a copy and its keeper since pruned from the index: what is left of the pair (the
    copy, its stored scores against the keeper), in place of a side by side that cannot be shown."""
    j, c, cos, prob = copy.scores
    scores = (f"jaccard {_score(j)} · containment {_score(c)} (shorter in longer) · cosine {_score(cos)} · "
              f"probability {_score(prob)}")
    group = f' · <a href="/v1/groups/{_q(copy.group)}">its group (JSON)</a>' if copy.group else ""
    body = (f"<h1>pruned from the index</h1>\n<p>{_id(keeper)} was pruned from the index (<code>dedup index prune</code>): "
            f"nothing of it is kept but its id, which its copy {_id(copy.id)} names as the article it was found a copy "
            "of. The two cannot be shown side by side.</p>\n"
            f'<p class="meta">{_id(copy.id)} · {_i(copy.source)} · {_id(shown_date(copy.date) or "undated")} · '
            f"{_e(RELATIONS[copy.relation] or '')} copy, scored against it when decided: {scores}</p>\n"
            f'<p><a href="/v1/articles/{_q(copy.id)}">the copy\'s record (JSON)</a>{group} · <a href="/">latest groups</a></p>')
    return _page("dedup · pruned from the index", body)


def render_not_found(message: str, heading: str = "not found") -> str:
    """A short page for a page that cannot be shown: ``heading`` ("not found", "bad address") and what to fix."""
    return _page(f"dedup · {heading}", f'<h1>{_e(heading)}</h1>\n<p>{_e(message)}</p>\n<p><a href="/">latest groups</a></p>')
