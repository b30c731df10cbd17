"""dedup.io.safe_html: every feed string escaped, marks cut before escaping, folding of the paragraphs far from a mark."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dedup.io.safe_html import bdi, direction, esc, marked_paragraphs, page, short

_P = '<p dir="auto">'


def _fold(count: int, body: str) -> str:
    return f'<details class="fold"><summary>{count} paragraphs without shared passages</summary>{body}</details>'


def _p(*parts: str) -> str:
    return _P + "".join(parts) + "</p>"


# ------------------------------------------------------------------ esc, bdi


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, "", id="none-is-empty"),
        pytest.param("", "", id="empty"),
        pytest.param("<script>", "&lt;script&gt;", id="tag"),
        pytest.param("a & b", "a &amp; b", id="ampersand"),
        pytest.param('say "hi"', "say &quot;hi&quot;", id="double-quote"),
        pytest.param("it's", "it&#x27;s", id="single-quote"),
        pytest.param("&amp;", "&amp;amp;", id="an-entity-stays-text"),
        pytest.param(42, "42", id="number"),
        pytest.param("قال الوزير", "قال الوزير", id="arabic-unchanged"),
        pytest.param("\u202eevil", "\u202eevil", id="rtl-override-kept-as-text"),
    ],
)
def test_esc(value: object, expected: str) -> None:
    assert esc(value) == expected


@pytest.mark.parametrize("value", ['" onmouseover="x', "' onload='x"])
def test_esc_cannot_break_out_of_an_attribute(value: str) -> None:
    assert '"' not in esc(value) and "'" not in esc(value)


def test_bdi_isolates_an_escaped_string() -> None:
    assert bdi("<b>") == "<bdi>&lt;b&gt;</bdi>"
    assert bdi(None) == "<bdi></bdi>"
    assert bdi("مصدر") == "<bdi>مصدر</bdi>"


# ------------------------------------------------------------------ short


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        pytest.param("", 5, "", id="empty"),
        pytest.param("abc", 3, "abc", id="exactly-the-limit"),
        pytest.param("abcd", 3, "ab…", id="one-over"),
        pytest.param("ab cd", 4, "ab…", id="space-before-the-cut-dropped"),
        pytest.param("  a \t b\n\n c  ", 20, "a b c", id="white-space-runs-flattened"),
        pytest.param("a\u00a0\u00a0b", 20, "a b", id="no-break-space-is-white-space"),
        pytest.param("x", 1, "x", id="one-character"),
        pytest.param("xy", 1, "…", id="limit-one"),
        pytest.param("قال الوزير اليوم", 5, "قال…", id="arabic"),
    ],
)
def test_short(text: str, limit: int, expected: str) -> None:
    assert short(text, limit) == expected


@given(st.text(max_size=60), st.integers(1, 40))
def test_short_is_one_line_within_the_limit(text: str, limit: int) -> None:
    out = short(text, limit)
    assert len(out) <= limit
    assert "\n" not in out and "  " not in out
    flat = " ".join(text.split())
    if len(flat) <= limit:
        assert out == flat
    else:
        assert out.endswith("…") and flat.startswith(out[:-1])


# ------------------------------------------------------------------ page


def test_page_loads_nothing_and_escapes_its_title() -> None:
    doc = page('</title><script>alert("x")</script>', "p{color:red}", "<p>body</p>")
    assert doc.startswith("<!DOCTYPE html>\n") and doc.endswith("</body></html>\n")
    assert "<script" not in doc
    assert "<title>&lt;/title&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</title>" in doc
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', doc)
    assert policy is not None and "default-src 'none'" in policy.group(1)
    assert "script-src" not in policy.group(1)  # nothing re-allows scripts
    assert "<style>p{color:red}</style>" in doc and "<body><p>body</p></body>" in doc
    assert '<meta charset="utf-8">' in doc
    assert not re.search(r"\b(src|href)=", doc)  # nothing loaded, nothing linked


# ------------------------------------------------------------------ marked_paragraphs


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        pytest.param("", [], _p(), id="empty-text"),
        pytest.param("abc", [], _p("abc"), id="no-marks"),
        pytest.param("abc", [(0, 3)], _p("<mark>abc</mark>"), id="all-marked"),
        pytest.param("a&b", [(1, 2)], _p("a<mark>&amp;</mark>b"), id="a-mark-never-splits-an-entity"),
        pytest.param("<b>x</b>", [(3, 4)], _p("&lt;b&gt;<mark>x</mark>&lt;/b&gt;"), id="markup-stays-text"),
        pytest.param("ab\ncd", [(1, 4)], _p("a<mark>b</mark>") + _p("<mark>c</mark>d"), id="a-mark-across-a-line-end"),
        pytest.param("a\n\nb", [], _p("a") + _p() + _p("b"), id="a-blank-line-is-an-empty-paragraph"),
        pytest.param("abcdef", [(0, 3), (2, 5)], _p("<mark>abc</mark><mark>de</mark>f"), id="overlap-starts-after-the-last"),
        pytest.param("abcdef", [(1, 5), (2, 3)], _p("a<mark>bcde</mark>f"), id="a-span-inside-another-adds-nothing"),
        pytest.param("abc", [(1, 1)], _p("abc"), id="empty-span"),
        pytest.param("abc", [(0, 0), (1, 2)], _p("a<mark>b</mark>c"), id="empty-span-at-the-start"),
        pytest.param("قال الوزير", [(4, 10)], _p("قال <mark>الوزير</mark>"), id="arabic"),
    ],
)
def test_marked_paragraphs(text: str, spans: list[tuple[int, int]], expected: str) -> None:
    assert _any_dir(marked_paragraphs(text, spans)) == expected


def _any_dir(out: str) -> str:
    """The paragraphs' directions set aside (test_a_paragraph_goes_the_way_of_its_letters checks them)."""
    return re.sub(r'<p dir="(?:ltr|rtl|auto)">', '<p dir="auto">', out)


def test_a_paragraph_goes_the_way_of_its_letters() -> None:
    """dir="auto" took the first letter: an Arabic paragraph opening with (CNN) was laid out left to right."""
    out = marked_paragraphs("(CNN) قال الرئيس إن المحادثات مثمرة\n2015\nThe minister said so.", [])
    assert out == '<p dir="rtl">(CNN) قال الرئيس إن المحادثات مثمرة</p><p dir="rtl">2015</p><p dir="ltr">The minister said so.</p>'


def _read_back(out: str) -> list[list[tuple[str, bool]]]:
    """Per paragraph, its runs of (unescaped text, marked): the only tags are the ones the function writes."""
    paragraphs = re.findall(r'<p dir="(?:ltr|rtl|auto)">(.*?)</p>', out)
    runs = []
    for p in paragraphs:
        pieces = re.split(r"(<mark>.*?</mark>)", p)
        run = []
        for piece in pieces:
            if piece.startswith("<mark>"):
                inner = piece[len("<mark>") : -len("</mark>")]
                assert inner, "an empty mark"
                run.append((html.unescape(inner), True))
            elif piece:
                run.append((html.unescape(piece), False))
        runs.append(run)
    return runs


@st.composite
def _text_and_spans(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]]]:
    """A text and spans sorted by start, each non-empty, possibly overlapping (as alignments give them)."""
    text = draw(st.text(alphabet=st.sampled_from(list("ab <>&\"'\nقل")), max_size=30))
    if not text:
        return text, []
    starts = sorted(draw(st.lists(st.integers(0, len(text) - 1), max_size=4)))
    return text, [(s, min(len(text), s + draw(st.integers(1, 6)))) for s in starts]


@given(_text_and_spans())
def test_marked_paragraphs_keeps_the_text_and_marks_exactly_the_spans(case: tuple[str, list[tuple[int, int]]]) -> None:
    text, spans = case
    out = marked_paragraphs(text, spans)
    assert "<" not in re.sub(r'</?(p|mark)( dir="(ltr|rtl|auto)")?>', "", out)  # no tag of the text survives as a tag
    flags = [False] * len(text)
    for s, e in spans:
        for k in range(s, e):
            flags[k] = True
    expected, at = [], 0
    for line in text.split("\n"):  # each line's characters with their flags
        expected.append([(c, flags[at + k]) for k, c in enumerate(line)])
        at += len(line) + 1
    got = [[(c, mark) for piece, mark in run for c in piece] for run in _read_back(out)]
    assert got == expected


@given(_text_and_spans())
def test_folding_only_wraps_paragraphs(case: tuple[str, list[tuple[int, int]]]) -> None:
    text, spans = case
    folded = marked_paragraphs(text, spans, fold=True)
    unwrapped = re.sub(r'<details class="fold"><summary>\d+ paragraphs without shared passages</summary>|</details>', "", folded)
    assert unwrapped == marked_paragraphs(text, spans)


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        pytest.param("a\nb\nc\nd\ne", [(8, 9)], _fold(3, _p("a") + _p("b") + _p("c")) + _p("d") + _p("<mark>e</mark>"),
                     id="far-run-before-the-mark"),
        pytest.param("a\nb\nc\nd\ne\nf\ng", [(6, 7)],
                     _fold(2, _p("a") + _p("b")) + _p("c") + _p("<mark>d</mark>") + _p("e") + _fold(2, _p("f") + _p("g")),
                     id="far-runs-on-both-sides"),
        pytest.param("a\nb\nc", [(4, 5)], _p("a") + _p("b") + _p("<mark>c</mark>"), id="one-far-paragraph-is-not-folded"),
        pytest.param("a\nb\nc\nd", [], _p("a") + _p("b") + _p("c") + _p("d"), id="no-mark-nothing-folded"),
        pytest.param("a\n\nb\nc\nd", [(7, 8)], _fold(2, _p("a") + _p() + _p("b")) + _p("c") + _p("<mark>d</mark>"),
                     id="a-blank-line-between-far-paragraphs-goes-with-them"),
        pytest.param("a\nb\nc\n\nd\ne", [(9, 10)], _fold(3, _p("a") + _p("b") + _p("c")) + _p() + _p("d") + _p("<mark>e</mark>"),
                     id="a-blank-line-before-a-near-paragraph-stays-out"),
        pytest.param("x\n\ny", [(0, 1)], _p("<mark>x</mark>") + _p() + _p("y"), id="blank-lines-do-not-break-adjacency"),
    ],
)
def test_fold_table(text: str, spans: list[tuple[int, int]], expected: str) -> None:
    assert _any_dir(marked_paragraphs(text, spans, fold=True)) == expected


# ------------------------------------------------------------------ direction: counted without a regex over long texts

_RTL_REF = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_LTR_REF = re.compile("[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]")


def _direction_ref(text: str, default: str = "auto") -> str:
    """The rule as first written: a regex findall of each kind of letter over the whole text."""
    rtl, ltr = len(_RTL_REF.findall(text)), len(_LTR_REF.findall(text))
    return "rtl" if rtl > ltr else "ltr" if ltr > rtl else default


_AR = "قال الرئيس إن المحادثات كانت مثمرة"
_EN = "The minister said the talks were useful"
_DIRECTION_TEXTS = {
    "empty": "",
    "digits-only": "2015 1394525728525",
    "long-digits-only": "0123456789 " * 100,
    "arabic": _AR,
    "long-arabic": (_AR + "\n") * 400,
    "latin": _EN,
    "long-latin": (_EN + "\n") * 400,
    "mixed-arabic-wins": "(CNN) AFP - " + _AR,
    "long-mixed-tie": ("ab" + "قل") * 200,
    "long-mixed-latin-wins": (_EN + " " + _AR + "\n") * 100,
    "arabic-presentation-forms": "\ufb1d\ufdff\ufe70\ufefc\ufefd" * 60,
    "bounds-of-the-classes": "".join(map(chr, (0x58F, 0x590, 0x8FF, 0x900, 0x40, 0x41, 0x5A, 0x5B, 0x60, 0x61, 0x7A, 0x7B,
                                              0xBF, 0xC0, 0xD7, 0xF7, 0x24F, 0x250, 0x36F, 0x370, 0x4FF, 0x500))) * 20,
    "astral-and-lone-surrogates": ("\U0001f600\U0001d400 " + chr(0xD800) + "a" + chr(0xDFFF) + "ب") * 80,
    "greek-and-cyrillic": ("Αθήνα Москва " + _AR[:8]) * 30,
}


@pytest.mark.parametrize("text", list(_DIRECTION_TEXTS.values()), ids=list(_DIRECTION_TEXTS))
@pytest.mark.parametrize("default", ["auto", "rtl"])
def test_direction_gives_the_answers_of_the_regex_rule(text: str, default: str) -> None:
    assert direction(text, default) == _direction_ref(text, default)


@pytest.mark.parametrize("text", list(_DIRECTION_TEXTS.values()), ids=list(_DIRECTION_TEXTS))
def test_each_paragraph_goes_the_way_the_regex_rule_says(text: str) -> None:
    whole = _direction_ref(text)
    want = [_direction_ref(line, whole) for line in text.split("\n")]
    assert re.findall(r'<p dir="(ltr|rtl|auto)">', marked_paragraphs(text, [])) == want


@given(st.text(alphabet=st.sampled_from(list("ab1 \nقلΩж\ufe70\u00d7") + ["\U0001f600"]), max_size=600))
def test_direction_matches_the_regex_rule_on_any_text(text: str) -> None:
    assert direction(text) == _direction_ref(text)
    whole = _direction_ref(text)
    assert re.findall(r'<p dir="(ltr|rtl|auto)">', marked_paragraphs(text, [])) == [_direction_ref(x, whole) for x in text.split("\n")]


class _Spy:
    """A compiled pattern that records the length of every text it is asked to search."""

    def __init__(self, pattern: re.Pattern[str], seen: list[int]) -> None:
        self.pattern, self.seen = pattern, seen

    def findall(self, text: str) -> list[str]:
        self.seen.append(len(text))
        return self.pattern.findall(text)


def test_a_long_text_is_not_searched_letter_by_letter(monkeypatch: pytest.MonkeyPatch) -> None:
    """A page ran a regex findall over each whole text (up to 20k characters) about 10k times: ~0.2 s of a 0.75 s
    render on a 100k feed. A long text is now counted in one NumPy pass; the regexes see only short strings."""
    from dedup.io import safe_html

    seen: list[int] = []
    monkeypatch.setattr(safe_html, "_RTL", _Spy(safe_html._RTL, seen))
    monkeypatch.setattr(safe_html, "_LTR", _Spy(safe_html._LTR, seen))
    text = ("(CNN) " + _AR + "\n") * 500  # ~20k characters, short lines
    assert direction(text) == "rtl"
    marked_paragraphs(text, [(0, 40)], fold=True)
    assert max(seen, default=0) < 1000
