"""``report.html`` of a dedupe run: each duplicate group, every copy beside its kept article, shared passages marked.

The page, top to bottom: the counts and the decision settings of the run;
a table of contents (each group shown: its size and headline, a link to
it); then the duplicate groups, largest first (up to ``max_groups``; the page
says how many are left out, and ``decisions.jsonl`` has every decision).
A group shows its kept article and each copy: id, source, date, relation,
scores and the reason of its decision row. A copy opens (``<details>``, no
script) on the two texts side by side, the passages they share
(:func:`dedup.text.align.align`) in ``<mark>``; an article whose decision
lists ``contained_in`` (a short item printed inside roundups) opens on
those longer articles too.

Feeds are untrusted input, and the page follows the rules of
:mod:`dedup.io.safe_html`: every feed string escaped (a marked text cut at
the passage bounds first, each piece escaped on its own), its direction
isolated, nothing loaded, a Content-Security-Policy.

Texts: a run keeps none, so they are read back from the records spooled
while the feed streamed by (:mod:`dedup.io.spool`), in one pass and only for
the articles the page shows. A budget bounds the memory and the page: at
most :data:`TEXT_CHARS` characters of one text (shown and aligned), at most
``page_chars`` characters of text on the page, shared out group by group,
one copy at a time, so that every group shown gets its first comparisons
before any group gets many; a copy past the budget is listed without its
text. An exact copy (the kept article's normalized text) is listed saying
so, with no side by side and nothing of the budget. An article of the history index (``--index``) has no text here: the
page shows its id, source and date and says it is from an earlier feed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np

from .. import __version__
from ..config import DedupConfig
from ..results import DUPLICATE, KEPT, SKIPPED, DedupResult
from ..text.mojibake import readable
from .dedupe_rows import KEEP_WORDS, decision_rows
from .safe_html import bdi, direction, esc, marked_paragraphs, page, short, shown_date
from .skipped import BAD_CSS, bad_records_html
from .spool import RecordSpool, ReportSpool, Shown, read_back
from .writers import atomic_open

# ReportSpool (from .spool) and marked_paragraphs (from .safe_html) are named here too, where callers found them
__all__ = [
    "MAX_GROUPS", "PAGE_CHARS", "TEXT_CHARS", "ReportSpool", "marked_paragraphs", "render_dedupe_report", "write_dedupe_report",
]

MAX_GROUPS = 100  #: groups shown, largest first (a page to browse; decisions.jsonl holds every group)
MAX_MEMBERS = 200  #: copies listed per group (the rest counted)
MAX_CONTAINERS = 3  #: longer articles an item is compared with (``contained_in``; the rest named)
TEXT_CHARS = 20_000  #: characters of one text shown and aligned
PAGE_CHARS = 2_000_000  #: characters of text on the page (~4 MB of Arabic: a page a browser opens at once)
_TITLE_CHARS = 160
_NAME_CHARS = 120  # of an id, a source or a date in a line of several (hostile feeds have megabyte names)
_INPUTS_SHOWN = 10
_TOC_CHARS = 60  # of a headline in the table of contents

_CSS = """
body{font-family:system-ui,'Noto Naskh Arabic','Segoe UI',sans-serif;margin:1.5rem auto;max-width:80rem;padding:0 1rem;color:#222;overflow-wrap:anywhere;line-height:1.45}
bdi{unicode-bidi:isolate}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin:.1rem 0}h3{font-size:1rem;margin:.2rem 0}
.meta{color:#555;font-size:.85rem}
.counts{display:flex;flex-wrap:wrap;gap:.4rem 1.4rem;margin:.6rem 0;padding:0}
.counts div{display:flex;flex-direction:column}.counts dt{color:#555;font-size:.8rem}.counts dd{margin:0;font-size:1.3rem;font-weight:600}
.settings{font-size:.9rem;margin:.4rem 0}.settings dt{font-weight:600;float:inline-start;margin-inline-end:.4rem}.settings dd{margin:0 0 .15rem}
.group{border:1px solid #ccc;border-radius:6px;padding:.6rem .9rem;margin:1rem 0}
.group>ol{padding-inline-start:1.4rem;margin:.4rem 0}.group li{margin:.35rem 0}
.keeper{background:#f4f8f4;border-inline-start:4px solid #3a8a4a;padding:.3rem .6rem;margin:.4rem 0}
.rel{display:inline-block;border-radius:3px;padding:0 .35rem;font-size:.8rem;font-weight:600;color:#fff;background:#777}
.rel-near{background:#3b6ea5}.rel-contained{background:#b0641c}.rel-kept{background:#3a8a4a}.rel-exact{background:#666}
.scores{color:#444;font-size:.85rem;display:block}
.reason{color:#444;font-size:.85rem;display:block}
.title{font-weight:600}
details{margin:.2rem 0}summary{cursor:pointer}
.fold>summary{color:#666;font-size:.85rem;font-style:italic}
.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:.8rem;margin:.5rem 0}
@media (max-width:48rem){.pair{grid-template-columns:minmax(0,1fr)}}
.side{border:1px solid #ddd;border-radius:4px;padding:.4rem .7rem;background:#fcfcfc;min-width:0}
.side h3{font-size:.95rem}
.text{max-height:40rem;overflow-y:auto}.text p{margin:.35rem 0}
mark{background:#ffe27a;color:inherit;padding:0}
.note{color:#666;font-size:.85rem;font-style:italic}
.also{margin-inline-start:1rem}
.toc{margin:.6rem 0}.toc>summary{font-weight:600}
.toc ol{columns:22rem;column-gap:2rem;margin:.3rem 0;padding-inline-start:2.2rem;font-size:.9rem}.toc li{break-inside:avoid}
.toc .copies{color:#555;white-space:nowrap}
"""

# --- what the page shows -------------------------------------------------------------


@dataclass(frozen=True)
class _Group:
    label: int
    keeper: int  # a position; >= n: an article of the history index
    members: tuple[int, ...]  # the copies listed, in input order
    size: int  # articles of the group (a stored keeper counted)


def _groups(result: DedupResult, max_groups: int) -> tuple[list[_Group], int, int]:
    """The ``max_groups`` largest groups (ties: input order), how many groups there are, and how many articles the rest hold."""
    n = len(result.table)
    members = np.flatnonzero(result.group >= 0)
    if not len(members):
        return [], 0, 0
    members = members[np.argsort(result.group[members], kind="stable")]  # by label, input order inside
    labels, starts, counts = np.unique(result.group[members], return_index=True, return_counts=True)
    keepers = result.keeper[members[starts]]
    sizes = counts + (keepers >= n)
    order = np.lexsort((labels, -sizes))
    shown = order[:max_groups]
    out = []
    for g in shown.tolist():
        k = int(keepers[g])
        copies = members[starts[g] : starts[g] + counts[g]]
        out.append(_Group(int(labels[g]), k, tuple(int(p) for p in copies if p != k), int(sizes[g])))
    return out, len(labels), int(sizes[order[max_groups:]].sum())


def _positions(names: Iterable[str], result: DedupResult) -> dict[str, int]:
    """Positions of articles named by id (feed, then history: ``n + k``), found in one scan of the ids."""
    wanted = set(names)
    found: dict[str, int] = {}
    if not wanted:
        return found
    for pos, aid in enumerate(result.table.ids):
        if aid in wanted:
            found.setdefault(aid, pos)
    if result.history is not None:
        n = len(result.table)
        for k, aid in enumerate(result.history.ids):
            if aid in wanted and aid not in found:
                found[aid] = n + k
    return found


@dataclass
class _Plan:
    groups: list[_Group]
    total_groups: int
    left_out_articles: int
    rows: dict[int, dict[str, Any]]  # decision rows of the keepers and copies listed
    containers: dict[int, list[int]]  # position → the longer articles its row lists (contained_in), by position
    compared: set[int]  # positions (keepers, copies) whose comparisons carry texts
    shown: dict[int, Shown]
    have_texts: bool  # whether the records were at hand


def _plan(result: DedupResult, records: RecordSpool | Sequence[Any] | None, max_groups: int, page_chars: int) -> _Plan:
    n = len(result.table)
    groups, total, left_out = _groups(result, max_groups)
    listed = {g.keeper for g in groups if g.keeper < n} | {m for g in groups for m in g.members[:MAX_MEMBERS]}
    mine = sorted(p for p in listed if p < n)
    rows = dict(zip(mine, decision_rows(result, mine)))  # the rows of the listed articles only, not all n
    named = {pos: list(row.get("contained_in") or ()) for pos, row in rows.items()}
    where = _positions((c for cs in named.values() for c in cs[:MAX_CONTAINERS]), result)
    containers = {pos: [where[c] for c in cs[:MAX_CONTAINERS] if c in where] for pos, cs in named.items() if cs}

    lengths = result.table.lengths

    def chars(pos: int) -> int:
        return min(int(lengths[pos]), TEXT_CHARS) if 0 <= pos < n else 0

    budget = page_chars if records is not None else 0
    compared: set[int] = set()
    entries = [[g.keeper, *g.members[:MAX_MEMBERS]] if g.keeper < n else list(g.members[:MAX_MEMBERS]) for g in groups]
    for r in range(1 + MAX_MEMBERS):  # one article of each group per round: every group gets its first comparisons
        more = False
        for g, entry in zip(groups, entries):
            if r >= len(entry):
                continue
            more = True
            pos = entry[r]
            if pos != g.keeper and rows.get(pos, {}).get("relation") == "exact":
                continue  # the kept article's text: said so, no side by side, nothing of the budget
            others = ([g.keeper] if pos != g.keeper else []) + [c for c in containers.get(pos, ()) if c != g.keeper]
            cost = sum(chars(pos) + chars(o) for o in others)  # each comparison shows both texts
            if others and cost <= budget:
                budget -= cost
                compared.add(pos)
        if not more:
            break
    wanted: dict[int, bool] = {pos: False for pos in listed}  # position → whether its text is shown (else title and date)
    for cs in containers.values():
        wanted.update({c: False for c in cs if c < n})
    for pos in compared:
        wanted[pos] = True
        for o in [int(result.keeper[pos]), *containers.get(pos, ())]:
            if 0 <= o < n:
                wanted[o] = True
    shown = read_back(records, wanted, lengths, TEXT_CHARS) if records is not None else {}
    return _Plan(groups, total, left_out, rows, containers, compared, shown, records is not None)


# --- HTML ----------------------------------------------------------------------------


def _count(k: int, noun: str, plural: str | None = None) -> str:
    return f"{k:,} {noun if k == 1 else plural or noun + 's'}"


class _Page:
    """The HTML of one plan, part by part (an article's facts come from the result, its title, date and text from the plan)."""

    def __init__(self, result: DedupResult, plan: _Plan) -> None:
        self.result, self.plan = result, plan
        self.n = len(result.table)

    # one article's facts

    def name(self, pos: int) -> str:
        return self.result.name(pos)

    def source(self, pos: int) -> str:
        if pos >= self.n:
            return self.result.history.sources[pos - self.n] or ""  # type: ignore[union-attr]
        return self.result.table.source_names[int(self.result.table.source_codes[pos])]

    def date(self, pos: int) -> str:
        if pos >= self.n:
            return shown_date(self.result.history.dates[pos - self.n])  # type: ignore[union-attr]
        shown = self.plan.shown.get(pos)
        return shown_date(shown.date) if shown else ""  # the one form of every page (shown_date); unreadable: not shown

    def title(self, pos: int) -> str:
        shown = self.plan.shown.get(pos)
        return short(readable(shown.title), _TITLE_CHARS) if shown else ""

    def meta(self, pos: int) -> str:
        """id · source · date, each isolated."""
        parts = [bdi(short(x, _NAME_CHARS)) for x in (self.name(pos), self.source(pos), self.date(pos)) if x]
        if pos >= self.n:
            parts.append("from an earlier feed")
        return " · ".join(parts)

    # the parts of the page

    def side(self, pos: int, label: str, spans: Sequence[tuple[int, int]] | None, share: float | None) -> str:
        head = f'<h3 dir="auto">{label} · {bdi(short(self.name(pos), _NAME_CHARS))}</h3>'
        title = self.title(pos)
        head += (f'<div class="title" dir="{direction(title)}">{esc(title)}</div>' if title else "") + f'<div class="meta">{self.meta(pos)}</div>'
        shown = self.plan.shown.get(pos)
        if pos >= self.n:
            return (f'<section class="side">{head}<p class="note">From an earlier feed (the history index): its text is '
                    "not part of this run's input.</p></section>")
        if shown is None or shown.text is None:
            return f'<section class="side">{head}<p class="note">Text not available.</p></section>'
        note = f'<p class="meta">shared passages: {share:.0%} of this text</p>' if share is not None else ""
        if shown.length > len(shown.text):
            cut = (f'<p class="note">First {len(shown.text):,} of {shown.length:,} characters shown '
                   "(and compared).</p>")
        else:
            cut = ""
        return (f'<section class="side">{head}{note}<div class="text">{marked_paragraphs(shown.text, spans or (), fold=True)}</div>'
                f"{cut}</section>")

    def pair(self, pos: int, other: int, label: str, other_label: str = "kept") -> str:
        """``other`` (the kept or the longer article) beside ``pos``, the passages they share marked in both."""
        a = self.plan.shown.get(pos)
        b = self.plan.shown.get(other) if other < self.n else None
        if a is not None and a.text is not None and b is not None and b.text is not None:
            from ..text.align import align

            al = align(b.text, a.text, normalize=self.result.config.normalize)
            left = self.side(other, other_label, al.spans_a, al.share_a)
            right = self.side(pos, label, al.spans_b, al.share_b)
        else:
            left, right = self.side(other, other_label, None, None), self.side(pos, label, None, None)
        return f'<div class="pair">{left}{right}</div>'

    def also(self, pos: int, keeper: int, label: str) -> str:
        """The longer articles ``pos`` is contained in (its row's ``contained_in``), other than its keeper."""
        row = self.plan.rows.get(pos, {})
        named = list(row.get("contained_in") or ())
        others = [c for c in self.plan.containers.get(pos, ()) if c != keeper]
        shown = {self.name(c) for c in others}
        parts = []
        compared = pos in self.plan.compared
        for c in others:
            what = f"also contained in {self.meta(c)}"
            if compared:
                parts.append(f'<details class="also"><summary>{what}</summary>{self.pair(pos, c, label, "longer")}</details>')
            else:
                parts.append(f'<div class="also">{what}</div>')
        rest = [c for c in named if c not in shown and c != self.name(keeper)]
        if rest:
            parts.append(f'<div class="also">also contained in {", ".join(bdi(short(c, _NAME_CHARS)) for c in rest)}</div>')
        return "".join(parts)

    def scores(self, row: Mapping[str, Any]) -> str:
        s = row.get("scores") or {}
        items = [f"{k} {esc(s[k])}" for k in ("jaccard", "containment", "cosine", "probability") if s.get(k) is not None]
        return f'<span class="scores">{" · ".join(items)}</span>' if items else ""

    def copy(self, pos: int, keeper: int) -> str:
        row = self.plan.rows.get(pos, {})
        rel = row.get("relation") or row.get("status") or ""
        title = self.title(pos)
        line = (f'<span class="rel rel-{esc(rel)}">{esc(rel)}</span> {self.meta(pos)}'
                + (f' — <span dir="{direction(title)}">{esc(title)}</span>' if title else "")
                + self.scores(row) + f'<span class="reason" dir="auto">{esc(row.get("reason", ""))}</span>')
        if rel == "exact":  # its text is the kept article's: a side by side would be marked from end to end
            return (f'<li>{line}<span class="note same">Its text is the kept article\'s after normalization '
                    "(case, diacritics, punctuation and spacing aside): nothing to compare side by side.</span>"
                    f'{self.also(pos, keeper, "this copy")}</li>')
        if pos not in self.plan.compared:
            why = "the page's size limit is reached" if self.plan.have_texts else "the texts are not available"
            return f'<li>{line}<span class="note">Text not shown: {why}; see decisions.jsonl.</span>{self.also(pos, keeper, "this copy")}</li>'
        return (f'<li><details><summary>{line}</summary>{self.pair(pos, keeper, "this copy")}'
                f'{self.also(pos, keeper, "this copy")}</details></li>')

    def keeper(self, g: _Group) -> str:
        k = g.keeper
        if k >= self.n:
            return (f'<div class="keeper"><span class="rel rel-kept">kept</span> {self.meta(k)}'
                    '<span class="reason">kept in an earlier feed, already in the history index: its text is not part '
                    "of this run's input</span></div>")
        row = self.plan.rows.get(k, {})
        title = self.title(k)
        line = (f'<span class="rel rel-kept">kept</span> {self.meta(k)}'
                + (f' — <span dir="{direction(title)}">{esc(title)}</span>' if title else "")
                + f'<span class="reason" dir="auto">{esc(row.get("reason", ""))}</span>')
        extra = self.also(k, k, "kept") if self.plan.containers.get(k) or row.get("contained_in") else ""
        return f'<div class="keeper">{line}{extra}</div>'

    def headline(self, g: _Group) -> str:
        """The group's headline: its kept article's title, else its id."""
        k = g.keeper
        head = self.title(k) if k < self.n else ""
        return head or short(self.name(k), _TITLE_CHARS)

    def contents(self, groups: Sequence[_Group]) -> str:
        """The table of contents: each group shown, its size and headline, linking to it (an anchor by its rank, not
        by a feed string)."""
        if not groups:
            return ""
        items = "".join(
            f'<li><a href="#group-{r}"><span class="copies">{_count(g.size, "article")}</span> · '
            f'<bdi dir="{direction(head)}">{esc(short(head, _TOC_CHARS))}</bdi></a></li>'
            for r, (g, head) in enumerate(((g, self.headline(g)) for g in groups), 1))
        return (f'<details class="toc" id="contents" open><summary>Contents: the {_count(len(groups), "group")} shown'
                f"</summary><ol>{items}</ol></details>")

    def group(self, g: _Group, rank: int) -> str:
        k = g.keeper
        head = self.headline(g)
        copies = "".join(self.copy(m, k) for m in g.members[:MAX_MEMBERS])
        more = len(g.members) - MAX_MEMBERS
        tail = f'<p class="note">…and {_count(more, "more copy", "more copies")}: see decisions.jsonl.</p>' if more > 0 else ""
        return (f'<section class="group" id="group-{rank}" data-group="{esc(self.result.group_name(g.label))}">'
                f'<h2><span class="copies">{_count(g.size, "article")}</span> · <span dir="{direction(head)}">{esc(head)}</span></h2>'
                f"{self.keeper(g)}<ol>{copies}</ol>{tail}</section>")


def _settings(config: DedupConfig, history: Mapping[str, Any]) -> str:
    v, c, sh = config.verify, config.cluster, config.shingle
    if v.decision == "model":
        model = f"the probability of the model in {bdi(v.model)}" if v.model else "the shipped model's probability"
        at = f"{v.min_probability} (--min-probability)" if v.min_probability else "its threshold"
        decision = f"learned (--decision model): a candidate pair is a copy when {model} reaches {at}"
    else:
        decision = (f"rule (--decision rule): near when jaccard ≥ {v.jaccard} and cosine ≥ {v.min_cosine}; "
                    f"contained when the shorter text's containment ≥ {v.containment}")
    keep = f"{KEEP_WORDS.get(c.keep, c.keep)} (--keep {esc(c.keep)})"
    if c.keep == "source-priority":
        keep += ": " + ", ".join(map(bdi, c.source_priority))
    grouping = ("star (--cluster star): every copy is verified against its kept article, and a group holds the copies "
                "of one text (a roundup keeps one item's copies; its other items group apart)" if c.method == "star"
                else "union (--cluster union): connected components of the verified pairs")
    items = [
        ("decision", decision),
        ("grouping", grouping),
        ("kept article", keep),
        ("compared", f"word {sh.k}-shingles of the normalized text (texts under {sh.min_tokens} tokens are skipped); "
                     f"LSH candidates from Jaccard {config.index.threshold}"),
    ]
    if history:
        items.append(("history index", f"{bdi(history.get('location', ''))}"
                      + (f", window {esc(history['window_days'])} days" if history.get("window_days") is not None else "")))
    items.append(("all settings", "summary.json"))
    return "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items)


def render_dedupe_report(
    result: DedupResult,
    records: RecordSpool | Sequence[Any] | None = None,
    inputs: Sequence[str] = (),
    *,
    max_groups: int = MAX_GROUPS,
    page_chars: int = PAGE_CHARS,
) -> str:
    """The HTML page of a dedupe run.

    Args:
        result: the run.
        records: where the texts are: the run's spool (a
            :class:`~dedup.io.spool.ReportSpool` knows each record's fields, a plain
            :class:`~dedup.io.spool.RecordSpool` has them guessed), or
            every input record in input order (dicts or JSON lines); None:
            no texts, the groups are listed without them.
        inputs: the input paths, named in the header.
        max_groups: groups shown, largest first.
        page_chars: characters of text the comparisons may show in all.

    Returns:
        The page, a self-contained HTML document.
    """
    if records is not None and not isinstance(records, (RecordSpool, Sequence)):
        records = None  # a one-pass iterable: unique.jsonl has read it already
    plan = _plan(result, records, max_groups, page_chars)
    view = _Page(result, plan)
    status = np.bincount(result.status, minlength=3)
    counts = [("articles", len(result.table)), ("kept", int(status[KEPT])), ("duplicates", int(status[DUPLICATE])),
              ("skipped", int(status[SKIPPED])), ("duplicate groups", plan.total_groups)]
    if result.bad_records:  # records the reader skipped: counted and listed, never left out of the page silently
        counts.insert(4, ("bad records skipped", len(result.bad_records)))
    count_html = "".join(f"<div><dt>{k}</dt><dd>{v:,}</dd></div>" for k, v in counts)
    names = ", ".join(map(bdi, inputs[:_INPUTS_SHOWN])) + (f" and {len(inputs) - _INPUTS_SHOWN} more" if len(inputs) > _INPUTS_SHOWN else "")
    shown = len(plan.groups)
    if plan.total_groups == 0:
        about = "No duplicate groups: every article was kept (or skipped)."
    else:
        about = (f"{_count(plan.total_groups, 'duplicate group')}, largest first. Each near or contained copy opens beside its kept "
                 "article, the passages they share <mark>marked</mark> in both; an exact copy says its text is the kept article's.")
        if shown < plan.total_groups:
            about += (f" Showing the {shown:,} largest; {_count(plan.total_groups - shown, 'group')} "
                      f"({_count(plan.left_out_articles, 'article')}) left out: decisions.jsonl has every decision.")
    body = "".join(view.group(g, r) for r, g in enumerate(plan.groups, 1))
    title = "dedup dedupe report"
    return page(
        title, _CSS + BAD_CSS,
        f'<header><h1>{title}</h1><p class="meta">dedup {esc(__version__)}'
        + (f" · inputs: {names}" if names else "") + "</p>"
        f'<dl class="counts" id="counts">{count_html}</dl>'
        f'<dl class="settings">{_settings(result.config, result.history_counts)}</dl>'
        f'<p id="about">{about}</p>{bad_records_html(result.bad_records, "decisions.jsonl")}'
        f"{view.contents(plan.groups)}</header>"
        f"<main>{body}</main>",
    )


def write_dedupe_report(
    path: str | PathLike[str],
    result: DedupResult,
    records: RecordSpool | Sequence[Any] | None = None,
    inputs: Sequence[str] = (),
    **limits: int,
) -> None:
    """Write :func:`render_dedupe_report` to ``path`` atomically (``limits``: ``max_groups``, ``page_chars``).

    Raises:
        OSError: the file cannot be written (the old one is kept).
    """
    html = render_dedupe_report(result, records, inputs, **limits)
    with atomic_open(path) as f:
        f.write(html)
