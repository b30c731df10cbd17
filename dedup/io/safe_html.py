"""Safe HTML from untrusted feed text: the rules both ``report.html`` pages follow, in one place.

Feeds are untrusted input. Every string from them goes through
:func:`html.escape` with ``quote=True`` (:func:`esc`), so no markup or script
from a feed can run or break out of an attribute; a text with marks is cut at
the mark bounds first and each piece escaped on its own, so a mark never
splits an entity or a tag (:func:`marked_paragraphs`). A page loads nothing
(inline CSS, no scripts, fonts or images) and carries a
Content-Security-Policy that forbids loading anything anyway (:func:`page`).
Every feed string sits in an element that isolates its direction
(``dir`` per paragraph by its letters, :func:`direction`, :func:`bdi` in a
line of several), so an
unclosed right-to-left override cannot reverse its neighbours; the pages'
CSS wraps unbroken strings anywhere (``overflow-wrap:anywhere``).

Used by :mod:`dedup.io.report` (stories) and :mod:`dedup.io.dedupe_report`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from itertools import groupby
from typing import Any

import numpy as np

__all__ = ["bdi", "direction", "esc", "marked_paragraphs", "page", "page_ends", "short", "shown_date", "shown_time"]


_SURROGATE = re.compile("[\ud800-\udfff]")
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")  # Hebrew, Arabic, Syriac, Thaana, N'Ko... and their forms
_LTR = re.compile("[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]")  # Latin, Greek, Cyrillic letters
# the same two classes as a table of the UTF-16 code units (1 right to left, 2 left to right): a long text is counted by
# NumPy in one pass (a regex findall built a list of its ~20k letters, ~1 ms a text, ~10k times a page); a character
# outside the BMP is two surrogates, in neither class, as the regexes have it
_CLASS = np.zeros(0x10000, dtype=np.uint8)
for _lo, _hi in ((0x0590, 0x08FF), (0xFB1D, 0xFDFF), (0xFE70, 0xFEFC)):
    _CLASS[_lo : _hi + 1] = 1
for _lo, _hi in ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF)):
    _CLASS[_lo : _hi + 1] = 2
_SHORT = 200  # below this many characters the regexes are faster than a NumPy call


def _units(text: str) -> np.ndarray:
    """The UTF-16 code units of ``text`` (a lone surrogate as itself)."""
    return np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype="<u2")


def _way(rtl: int, ltr: int, default: str) -> str:
    return "rtl" if rtl > ltr else "ltr" if ltr > rtl else default


def direction(text: str, default: str = "auto") -> str:
    """``"rtl"`` or ``"ltr"`` by the letters most of ``text`` is written in (``default`` when it has none).

    ``dir="auto"`` takes the first strong letter: an Arabic paragraph that
    opens with an agency tag, ``(CNN)`` or ``AFP -``, was laid out left to
    right, its words in the wrong order.

    >>> direction("(CNN) قال الرئيس إن المحادثات كانت مثمرة"), direction("Xi meets Lavrov"), direction("2015")
    ('rtl', 'ltr', 'auto')
    """
    if len(text) < _SHORT:
        return _way(len(_RTL.findall(text)), len(_LTR.findall(text)), default)
    counts = np.bincount(_CLASS[_units(text)], minlength=3)
    return _way(int(counts[1]), int(counts[2]), default)


def _line_directions(text: str) -> tuple[str, list[str]]:
    """:func:`direction` of ``text`` and of each of its lines (``text.split("\\n")``; a line without letters of either
    kind goes the whole text's way), counted in one pass over the text."""
    if len(text) < _SHORT:
        whole = direction(text)
        return whole, [direction(line, whole) for line in text.split("\n")]
    units = _units(text)
    cls = _CLASS[units]
    rtl = np.concatenate(([0], np.cumsum(cls == 1)))
    ltr = np.concatenate(([0], np.cumsum(cls == 2)))
    whole = _way(int(rtl[-1]), int(ltr[-1]), "auto")
    ends = np.flatnonzero(units == 10)  # the newlines (no surrogate is 10)
    starts = np.concatenate(([0], ends + 1))
    ends = np.concatenate((ends, [len(units)]))
    r, le = (rtl[ends] - rtl[starts]).tolist(), (ltr[ends] - ltr[starts]).tolist()
    return whole, [_way(a, b, whole) for a, b in zip(r, le)]


def esc(value: Any) -> str:
    """``value`` as HTML text, quotes escaped too (None: empty); a lone surrogate (not Unicode text, so not writable as UTF-8) as U+FFFD.

    >>> esc('<a href="x">') + esc(None)
    '&lt;a href=&quot;x&quot;&gt;'
    >>> esc("a" + chr(0xD800)) == "a" + chr(0xFFFD)
    True
    """
    text = "" if value is None else str(value)
    if _SURROGATE.search(text) is not None:  # (the readers refuse them; an Article made in code may hold one)
        text = _SURROGATE.sub("\ufffd", text)
    return escape(text, quote=True)


def bdi(value: Any) -> str:
    """A string from the feed in a line with others: escaped, its direction isolated from theirs.

    >>> bdi("a&b")
    '<bdi>a&amp;b</bdi>'
    """
    return f"<bdi>{esc(value)}</bdi>"


def short(text: str, limit: int) -> str:
    """``text`` on one line (runs of white space made one space), cut to ``limit`` characters with an ellipsis.

    >>> short("a  b\\n c", 10), short("abcdef", 4)
    ('a b c', 'abc…')
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def page(title: str, css: str, body: str) -> str:
    """A self-contained HTML document: ``title`` (escaped), inline ``css``, a policy that loads nothing, then ``body`` (HTML)."""
    start, end = page_ends(title, css)
    return f"{start}{body}{end}"


def page_ends(title: str, css: str) -> tuple[str, str]:
    """What :func:`page` puts before and after the body: a page written a piece at a time is the same document."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="und"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{css}</style></head><body>",
        "</body></html>\n",
    )


def marked_paragraphs(text: str, spans: Sequence[tuple[int, int]], fold: bool = False) -> str:
    """``text`` as one ``<p>`` per line, the character ``spans`` in ``<mark>``, each line set in its own :func:`direction`.

    The text is cut at the span bounds and at line ends first, then each
    piece is escaped on its own: markup in the text stays text, and a mark
    never lands inside an entity. With ``fold``, runs of two or more
    paragraphs that neither hold a mark nor border one are folded into a
    ``<details>`` (a short item inside a long roundup shows at once; the
    rest of the roundup is one click away).

    >>> marked_paragraphs('a <b> "c"\\nd e', [(2, 5), (10, 11)])
    '<p dir="ltr">a <mark>&lt;b&gt;</mark> &quot;c&quot;</p><p dir="ltr"><mark>d</mark> e</p>'
    """
    pieces: list[tuple[str, bool]] = []
    at = 0
    for s, e in spans:
        s = max(s, at)
        if e <= s:  # empty, or inside what is already marked: adds nothing
            continue
        if s > at:
            pieces.append((text[at:s], False))
        pieces.append((text[s:e], True))
        at = e
    if at < len(text):
        pieces.append((text[at:], False))
    paragraphs: list[list[str]] = [[]]
    marked = [False]
    for piece, mark in pieces:
        for k, line in enumerate(piece.split("\n")):
            if k:
                paragraphs.append([])
                marked.append(False)
            if line:
                paragraphs[-1].append(f"<mark>{esc(line)}</mark>" if mark else esc(line))
                marked[-1] = marked[-1] or mark
    _, ways = _line_directions(text)  # a paragraph without letters of either kind goes the article's way
    html = [f'<p dir="{way}">{"".join(p)}</p>' for way, p in zip(ways, paragraphs)]
    if not fold or not any(marked):
        return "".join(html)
    full = [k for k, p in enumerate(paragraphs) if p]  # the paragraphs with text (blank lines go with their neighbours)
    near = set()
    for r, k in enumerate(full):
        if marked[k]:
            near.update(full[max(r - 1, 0) : r + 2])
    far = [False] * len(paragraphs)
    prev = True  # before the first paragraph with text
    for r, k in enumerate(full):
        far[k] = k not in near
        after = far[k] and (r + 1 == len(full) or full[r + 1] not in near)
        for blank in range(full[r - 1] + 1 if r else 0, k):
            far[blank] = prev and far[k]
        prev = after
    out: list[str] = []
    for is_far, run in groupby(range(len(paragraphs)), key=far.__getitem__):
        ks = list(run)
        count = sum(1 for k in ks if paragraphs[k])
        body = "".join(html[k] for k in ks)
        if is_far and count >= 2:
            body = f'<details class="fold"><summary>{count} paragraphs without shared passages</summary>{body}</details>'
        out.append(body)
    return "".join(out)


def shown_date(value: str | None) -> str:
    """A date for people, the one form of every page (both ``report.html`` and the service's): the feed's date in UTC,
    to the minute, the zone said, ``2015-07-21 09:00 UTC``; "" when absent or unreadable (the run counts it undated:
    an epoch number or a free-text date is not shown as if it were one). JSON keeps ISO 8601 (``2015-07-21T09:00:00Z``).

    >>> shown_date("2015-07-21 12:00:00+03:00"), shown_date("2015-07-21T09:00:00Z"), shown_date("1394525728525"), shown_date(None)
    ('2015-07-21 09:00 UTC', '2015-07-21 09:00 UTC', '', '')
    >>> shown_date("2015-07-21"), shown_date("2015-07-21T00:00:00Z")
    ('2015-07-21', '2015-07-21')

    A date at midnight UTC is shown as the day alone (a feed of dates without times was given an invented 00:00).
    """
    from ..types import timestamp

    return shown_time(timestamp(value)) if value else ""


def shown_time(t: float | None) -> str:
    """:func:`shown_date` of epoch seconds (NaN or None: "").

    >>> shown_time(1437469200.0), shown_time(1437436800.0), shown_time(float("nan"))
    ('2015-07-21 09:00 UTC', '2015-07-21', '')
    """
    from ..types import iso_time

    shown = iso_time(t)
    if shown is None:
        return ""
    return shown[:10] if shown.endswith("T00:00:00Z") else f"{shown[:10]} {shown[11:16]} UTC"
