"""Repeated paragraphs inside one article: tables of constructed cases, the seeds, the cleaner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dedup.config import NormalizeConfig, RepeatsConfig
from dedup.repeats import match as match_module
from dedup.errors import ConfigError
from dedup.text.normalize import normalize, tokenize
from dedup.repeats.segment import located_tokens
from dedup.repeats import (
    KINDS,
    Repeat,
    clean,
    find_repeats,
    find_repeats_batch,
    near_eligible,
    paragraph_similarity,
    paragraph_spans,
    sentence_spans,
)

from _repeats_texts import (
    ARABIC_LONG,
    ARABIC_LONG_DIACRITICS,
    ARABIC_LONG_TRIMMED,
    FRAGMENT,
    HEADLINE,
    LEAD,
    LEAD_CUT_IN_WORD,
    LEAD_TRUNCATED,
    LONG,
    LONG_EDITED,
    LONG_LIGHT,
    P1,
    P2,
    P3,
    check_case,
    lost_sentences,
    rel,
)

REPO = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- constructed cases
CASES = [
    pytest.param("", set(), "", id="empty"),
    pytest.param(" \n\n\xa0\t\n", set(), " \n\n\xa0\t\n", id="whitespace-only"),
    pytest.param(f"{P1}\n{P2}\n{P3}", set(), f"{P1}\n{P2}\n{P3}", id="no-repeats"),
    pytest.param(f"{P1}\n\n{P2}\n\n{P1}\n", {(2, 0, "exact")}, f"{P1}\n\n{P2}\n", id="exact"),
    pytest.param(
        f"{HEADLINE}\n{P1}\n{HEADLINE}\n{P2}\n{HEADLINE}",
        {(2, 0, "exact"), (4, 0, "exact")},
        f"{HEADLINE}\n{P1}\n{P2}",
        id="exact-three-times-later-copies-point-at-first",
    ),
    pytest.param(
        f"{ARABIC_LONG}\n{P1}\n{ARABIC_LONG_DIACRITICS}",
        {(2, 0, "exact")},
        f"{ARABIC_LONG}\n{P1}",
        id="arabic-diacritics-only-is-exact",
    ),
    pytest.param(
        f"{LEAD_TRUNCATED}\n{LEAD}\n{P1}",
        {(0, 1, "contained")},
        f"{LEAD}\n{P1}",
        id="truncated-prefix",
    ),
    pytest.param(
        f"{LEAD_CUT_IN_WORD}...\n{LEAD}\n{P1}",
        {(0, 1, "contained")},
        f"{LEAD}\n{P1}",
        id="truncated-inside-a-word",
    ),
    pytest.param(
        f"{P1}{P2}{P3}{FRAGMENT}\n{P1}\n{P2}\n{P3}",
        {(1, 0, "contained"), (2, 0, "contained"), (3, 0, "contained")},
        f"{P1}\n{P2}\n{P3}\n{FRAGMENT}",  # the tail followed P3 in the run-on line: it still does
        id="glued-run-on-without-spaces",
    ),
    pytest.param(
        f"{HEADLINE}\n\n{P1} {P2} {P3} {FRAGMENT}\n\n{P1}\n\n{P2}\n\n{P3}",
        {(2, 1, "contained"), (3, 1, "contained"), (4, 1, "contained")},
        f"{HEADLINE}\n\n{P1}\n\n{P2}\n\n{P3}\n\n{FRAGMENT}",
        id="run-on-tail-is-not-moved-under-the-headline",
    ),
    pytest.param(
        f"{HEADLINE}\n{FRAGMENT}. {P1} {P2}\n{P1}\n{P3}\n{P2}",
        {(2, 1, "contained"), (4, 1, "contained")},
        f"{HEADLINE}\n{FRAGMENT}.\n{P1}\n{P3}\n{P2}",
        id="run-on-head-stays-in-place",
    ),
    pytest.param(
        f"{P1} {FRAGMENT}. {P2}\n{P1}\n{P3}\n{P2}\n",
        {(1, 0, "contained"), (3, 0, "contained")},
        f"{P1}\n{FRAGMENT}.\n{P3}\n{P2}\n",
        id="run-on-middle-piece-follows-the-paragraph-before-it",
    ),
    pytest.param(
        f"{P1} {P2}\n{P1}\n{P2}",
        {(1, 0, "contained"), (2, 0, "contained")},
        f"{P1}\n{P2}",
        id="run-on-of-only-copies-disappears",
    ),
    pytest.param(
        f"{P1} {FRAGMENT}.\n{P1}",
        {(1, 0, "contained")},
        f"{P1} {FRAGMENT}.",
        id="one-glued-copy-keeps-the-longer-line",
    ),
    pytest.param(
        f"{LONG}\n{P1}\n{LONG_LIGHT}",
        {(2, 0, "near")},
        f"{LONG}\n{P1}",
        id="near-function-word-added",
    ),
    pytest.param(
        f"{ARABIC_LONG}\n{P1}\n{ARABIC_LONG_TRIMMED}",
        {(2, 0, "near")},
        f"{ARABIC_LONG}\n{P1}",
        id="near-arabic-diacritics-and-a-word-dropped",
    ),
    pytest.param(
        "كما جرى استعراض مستجدات الأوضاع الإقليمية والدولية والأمور ذات الاهتمام المشترك.\n"
        f"{P1}\n"
        "كما جرى استعراض مستجدات الأوضاع الإقليمية الدولية والأمور ذات الاهتمام المشترك.",
        {(2, 0, "near")},
        "كما جرى استعراض مستجدات الأوضاع الإقليمية والدولية والأمور ذات الاهتمام المشترك.\n" + P1,
        id="near-clitic-variant",
    ),
    pytest.param(
        "الرغبة الأولى: علوم الحاسب في الكلية الجامعية\nالرغبة الثانية: علوم الحاسب في الكلية الجامعية",
        set(),
        None,
        id="short-lines-one-word-apart-are-not-near",
    ),
    pytest.param(
        f"Loading...\n{P1}\nLoading...\nالصين\n{P2}\nLoading...\nالصين",
        {(2, 0, "boilerplate"), (5, 0, "boilerplate"), (6, 3, "boilerplate")},
        None,
        id="short-boilerplate",
    ),
    pytest.param(
        "آسيا 15-07-2025 | 11:56\nالخبر الأول عن الاجتماع في بكين اليوم\nآسيا 15-07-2025 | 11:56",
        {(2, 0, "boilerplate")},
        None,
        id="dateline-is-short",
    ),
    pytest.param(
        f"the minister of foreign affairs said\nYesterday the minister of foreign affairs said that talks went well.\n{P1}",
        set(),
        None,
        id="mid-sentence-phrase-is-not-contained",
    ),
]


@pytest.mark.parametrize(("text", "expected", "cleaned"), CASES)
def test_constructed(text: str, expected: set[tuple[int, int, str]], cleaned: str | None) -> None:
    check_case(text, expected, cleaned)


def test_boilerplate_left_out_by_option() -> None:
    text = f"Loading...\n{P1}\nLoading..."
    assert rel(find_repeats(text, RepeatsConfig(report_boilerplate=False))) == set()
    assert rel(find_repeats(text)) == {(2, 0, "boilerplate")}


def test_min_tokens_turns_short_content_into_boilerplate() -> None:
    text = f"{HEADLINE}\n{P1}\n{HEADLINE}"
    assert rel(find_repeats(text)) == {(2, 0, "exact")}
    assert rel(find_repeats(text, RepeatsConfig(min_tokens=9, near_min_tokens=9))) == {(2, 0, "boilerplate")}


def test_positions_locate_paragraph_and_copy() -> None:
    text = f"{P1}{P2}{FRAGMENT}\n\n  {P1}\n{P2}\n{LEAD_TRUNCATED}\n{LEAD}"
    result = find_repeats(text)
    spans = paragraph_spans(text)
    assert rel(result) == {(1, 0, "contained"), (2, 0, "contained"), (3, 4, "contained")}
    for r in result.repeats:
        assert (r.start, r.end) == spans[r.paragraph]
        copy = normalize(text[r.in_start : r.in_end])
        assert copy == normalize(text[r.start : r.end])
        assert spans[r.in_][0] <= r.in_start < r.in_end <= spans[r.in_][1]
    glued = {r.paragraph: text[r.in_start : r.in_end] for r in result.repeats if r.in_ == 0}
    assert glued == {1: P1, 2: P2}  # whole sentences, punctuation included


def test_record_has_the_documented_keys() -> None:
    result = find_repeats(f"{P1}\n{P1}")
    (r,) = result.repeats
    assert r.as_record("a1") == {
        "id": "a1",
        "paragraph": 1,
        "in": 0,
        "kind": "exact",
        "similarity": 1.0,
        "start": len(P1) + 1,
        "end": 2 * len(P1) + 1,
        "in_start": 0,
        "in_end": len(P1),
    }
    assert set(result.summary()) == {"paragraphs", "repeats", "by_kind", "redundant_chars", "redundant_share"}
    assert set(result.by_kind()) == set(KINDS)
    assert result.redundant_chars == len(P1) and result.redundant_share == 0.5


# --------------------------------------------------------------------------- sentences, paragraphs, tokens
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [], id="empty"),
        pytest.param("بلا نهاية", ["بلا نهاية"], id="no-terminator"),
        pytest.param('مجموعة "بريكس".وحسب أوشاكوف', ['مجموعة "بريكس".', "وحسب أوشاكوف"], id="glued-after-quote-and-stop"),
        pytest.param("قال ذلك، ثم غادر؛ لماذا؟ لا أحد يعرف", ["قال ذلك،", "ثم غادر؛", "لماذا؟", "لا أحد يعرف"], id="arabic-punctuation"),
        pytest.param("Prices rose 2.5 percent. Then fell", ["Prices rose 2.5 percent.", "Then fell"], id="decimal-point"),
        pytest.param('He said "yes." Then left!', ['He said "yes."', "Then left!"], id="closing-quote"),
        pytest.param('انتهى."بوتين يقبل', ['انتهى.', '"بوتين يقبل'], id="opening-quote-after-stop"),
        pytest.param("Wait... what?! Fine", ["Wait...", "what?!", "Fine"], id="runs-of-marks"),
    ],
)
def test_sentence_spans(text: str, expected: list[str]) -> None:
    assert [text[a:b] for a, b in sentence_spans(text)] == expected


def test_sentence_spans_of_a_slice() -> None:
    text = "xx. One. Two. yy"
    assert [text[a:b] for a, b in sentence_spans(text, 4, 13)] == ["One.", "Two."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [], id="empty"),
        pytest.param("a\r\n\r\n  b  \n\xa0\nc", ["a", "b", "c"], id="crlf-nbsp-indent"),
        pytest.param("one\u2028two", ["one", "two"], id="line-separator"),
    ],
)
def test_paragraph_spans(text: str, expected: list[str]) -> None:
    assert [text[a:b] for a, b in paragraph_spans(text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("وَقالَ: الـــرئيس", id="harakat-tatweel"),
        pytest.param("ZWNJ\u200cinside and ½ and x\ue000y", id="format-fraction-private-use"),
        pytest.param("a\x1eb\nc\u2028d", id="record-and-line-separators"),
        pytest.param(" - ، . ", id="punctuation-only"),
    ],
)
def test_located_tokens_agree_with_tokenize(text: str) -> None:
    tokens, starts, ends = located_tokens(text, NormalizeConfig())
    expected = [t for line in text.splitlines() for t in tokenize(line)]
    assert tokens == expected
    assert all(0 <= a < b <= len(text) for a, b in zip(starts, ends))


def long_article() -> tuple[str, set[tuple[int, int, str]]]:
    """70 distinct paragraphs plus a truncated copy, a run-on line and a near copy (all long: context_tokens words)."""
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi".split()
    paras = [" ".join(f"{w}{k}" for w in words) + "." for k in range(70)]
    near = paras[20].replace(" eta20", "")  # a word dropped: the earlier paragraph says it all
    lines = paras + [" ".join(paras[5].split()[:6]), paras[10] + paras[11] + "Tail words of another story here.", near]
    expected = {(70, 5, "contained"), (10, 71, "contained"), (11, 71, "contained"), (72, 20, "near")}
    return "\n".join(lines), expected


def test_long_article_uses_the_index_and_finds_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    text, expected = long_article()
    indexed = find_repeats(text)
    assert rel(indexed) == expected
    monkeypatch.setattr(match_module, "_INDEX_FROM", 10**9)  # every pair, no index
    assert find_repeats(text) == indexed


# --------------------------------------------------------------------------- similarity and guards
def test_similarity_in_order() -> None:
    assert paragraph_similarity(LONG, LONG) == 1.0
    assert paragraph_similarity(ARABIC_LONG, ARABIC_LONG_DIACRITICS) == 1.0
    n = len(tokenize(LONG))
    assert paragraph_similarity(LONG, LONG_EDITED) == pytest.approx((n - 1) / n)
    words = LONG.split()
    swapped = " ".join(words[len(words) // 2 :] + words[: len(words) // 2])
    assert paragraph_similarity(LONG, swapped) < 0.6  # a reordered text is not a light edit


def test_near_eligible_guards() -> None:
    assert near_eligible(LONG, LONG_EDITED)
    assert not near_eligible("one two three four five", "one two three four five")
    assert not near_eligible("talks in round 3 ended in Doha without any agreement", "talks in round 4 ended in Doha without any agreement")
    assert near_eligible(
        "talks in round 3 ended in Doha without any agreement",
        "talks in round 4 ended in Doha without any agreement",
        RepeatsConfig(near_same_numbers=False),
    )


# --------------------------------------------------------------------------- seeds end to end
SEED_RELATIONS = {
    # headline three times, photo caption twice
    "000_b8850f4b98589b0e.txt": {(2, 0, "exact"), (4, 0, "exact"), (11, 10, "exact")},
    "001_9eacc07b82d68d60.txt": set(),
    # only short lines repeat: "Loading..." five times, the category label "الصين" four times
    "002_1f4e6ce772e1f267.txt": {
        (32, 4, "boilerplate"),
        (37, 4, "boilerplate"),
        (42, 4, "boilerplate"),
        (47, 4, "boilerplate"),
        (41, 36, "boilerplate"),
        (46, 36, "boilerplate"),
        (51, 36, "boilerplate"),
    },
    # title twice; truncated lead (2) above the full lead (4); run-on line 3 glues
    # paragraphs 5, 6, 8, 10 and 11 plus another story's headline
    "003_22720e8775c9177e.txt": {
        (1, 0, "exact"),
        (2, 4, "contained"),
        (5, 3, "contained"),
        (6, 3, "contained"),
        (8, 3, "contained"),
        (10, 3, "contained"),
        (11, 3, "contained"),
    },
    "004_f4e2349ca1c8a4fa.txt": set(),
}


def seed_text(name: str) -> str:
    return (REPO / "seeds" / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(SEED_RELATIONS))
def test_seed_relations(name: str) -> None:
    text = seed_text(name)
    result = find_repeats(text)
    assert rel(result) == SEED_RELATIONS[name]
    cleaned = clean(text, result)
    assert lost_sentences(text, result, cleaned) == []
    if result.n_repeats == 0:
        assert cleaned == text


def test_seed_003_cleaned() -> None:
    text = seed_text("003_22720e8775c9177e.txt")
    result = find_repeats(text)
    assert result.drop == (1, 2, 3)
    cleaned = clean(text, result)
    lines = cleaned.splitlines()
    spans = paragraph_spans(text)
    original = [text[a:b] for a, b in spans]
    # title once, then the full paragraphs; the glued headline of another story, last in the
    # run-on line after the copy of paragraph 11, comes after paragraph 11 (not under the title)
    (tail,) = [line for line in lines if line not in original]
    assert tail.startswith("بوتين يقبل دعوة شي جين بينغ") and tail.endswith("2026")
    assert result.moved == ((11, ((text.index(tail), text.index(tail) + len(tail)),)),)
    assert lines == [original[0], *original[4:12], tail, *original[12:]]
    assert find_repeats(cleaned).n_repeats == 0


def test_seed_003_records_locate_the_glued_copies() -> None:
    """repeats.jsonl says where, inside the run-on line, the copy the cleaner cuts is."""
    text = seed_text("003_22720e8775c9177e.txt")
    spans = paragraph_spans(text)
    records = [r.as_record("003") for r in find_repeats(text).repeats if r.in_ == 3]
    assert [x["paragraph"] for x in records] == [5, 6, 8, 10, 11]
    for x in records:
        assert spans[3][0] <= x["in_start"] < x["in_end"] <= spans[3][1]
        assert normalize(text[x["in_start"] : x["in_end"]]) == normalize(text[x["start"] : x["end"]])


def test_seed_000_cleaned_keeps_first_headline_and_caption() -> None:
    text = seed_text("000_b8850f4b98589b0e.txt")
    result = find_repeats(text)
    cleaned = clean(text, result)
    headline, caption = HEADLINE, "بكين تعتزم تعزيز الدعم المتبادل مع موسكو (وكالات)"
    assert cleaned.count(headline) == 1 and cleaned.index(headline) == 0
    assert cleaned.count(caption) == 1
    assert len(text) - len(cleaned) >= result.redundant_chars
    assert find_repeats(cleaned).n_repeats == 0


def test_batch_is_deterministic_and_matches_single() -> None:
    texts = [seed_text(n) for n in sorted(SEED_RELATIONS)] + ["", f"{P1}\n{P1}"]
    first = find_repeats_batch(texts)
    assert first == find_repeats_batch(texts) == [find_repeats(t) for t in texts]
    for result in first:
        keys = [(r.paragraph, r.in_, r.in_start) for r in result.repeats]
        assert keys == sorted(keys)


# --------------------------------------------------------------------------- errors and config
@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"min_tokens": 0}, id="min-tokens-zero"),
        pytest.param({"near": 0.3}, id="near-too-low"),
        pytest.param({"near": 1.5}, id="near-above-one"),
        pytest.param({"min_tokens": 6, "near_min_tokens": 5}, id="near-min-below-min"),
        pytest.param({"context_tokens": 3}, id="context-tokens-below-min"),
    ],
)
def test_config_rejects(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        RepeatsConfig(**kwargs)


def test_clean_rejects_another_text() -> None:
    result = find_repeats(f"{P1}\n{P1}")
    with pytest.raises(ValueError, match="different text"):
        clean(f"{P2}\n{P2}", result)


def test_default_near_is_the_calibrated_value() -> None:
    path = REPO / "results" / "repeats_calibration.json"
    if not path.exists():
        pytest.skip("results/repeats_calibration.json not generated (run scripts/calibrate_repeats.py)")
    assert json.loads(path.read_text(encoding="utf-8"))["chosen"] == RepeatsConfig().near


# --------------------------------------------------------------------------- the cleaner, as a property
POOL = [P1, P2, P3, LEAD, LONG, ARABIC_LONG, FRAGMENT + ".", "Loading...", "الصين", HEADLINE]


@st.composite
def articles(draw: st.DrawFn) -> str:
    """Articles built from the pool with exact copies, truncated copies and glued run-on lines."""
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["new", "copy", "truncate", "glue", "blank"]))
        para = draw(st.sampled_from(POOL))
        if op == "copy" and lines:
            para = draw(st.sampled_from(lines)) or para
        elif op == "truncate":
            words = para.split()
            para = " ".join(words[: draw(st.integers(1, len(words)))])
        elif op == "glue":
            k = draw(st.integers(2, 3))
            para = "".join(draw(st.sampled_from(POOL)) for _ in range(k))
        elif op == "blank":
            para = ""
        lines.append(para)
    return "\n".join(lines)


_GLUED = (
    "أفاد مساعد الرئيس الروسي يوري أوشاكوف، اليوم الأربعاء، بأن الرئيس فلاديمير بوتين ونظيره الصيني "
    "شي جين بينغ قد يجريان اتصالات خلال فعاليات منظمة شنغهاي للتعاون."
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(articles())
@example(text=f"الصين{_GLUED}Loading...\n{_GLUED}\n{_GLUED}")  # an exact pair whose first copy is a near copy of a glued line
def test_cleaner_never_loses_a_sentence(text: str) -> None:
    result = find_repeats(text)
    cleaned = clean(text, result)
    assert lost_sentences(text, result, cleaned) == []
    assert set(result.drop).isdisjoint(j for j, _ in result.fragments)
    if not result.drop and not result.fragments:
        assert cleaned == text
    for r in result.repeats:
        assert isinstance(r, Repeat) and r.kind in KINDS and 0.0 < r.similarity <= 1.0


WORDS = ["قال", "الوزير", "إن", "الاجتماع", "كان", "مثمرا", "في", "بكين", "اليوم", "مع", "نظيره", "الروسي", "3", "2025"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(WORDS), min_size=4, max_size=14), min_size=2, max_size=30))
def test_index_prefilters_lose_nothing(paragraphs: list[list[str]]) -> None:
    """With the inverted index forced on, the relations are those of the all-pairs path."""
    text = "\n".join(" ".join(words) + "." for words in paragraphs)
    saved = match_module._INDEX_FROM
    try:
        match_module._INDEX_FROM = 0
        indexed = find_repeats(text, RepeatsConfig(near=0.6, near_min_tokens=4))
        match_module._INDEX_FROM = 10**9
        assert find_repeats(text, RepeatsConfig(near=0.6, near_min_tokens=4)) == indexed
    finally:
        match_module._INDEX_FROM = saved
