"""dedup.repeats.within: a paragraph that repeats a run of its own sentences (a text glued to itself on one line)."""

from __future__ import annotations

import pytest

from dedup.config import RepeatsConfig
from dedup.repeats import clean, find_repeats
from dedup.repeats.segment import located_tokens
from dedup.config import NormalizeConfig

S = [
    "قال الرئيس الروسي إن العلاقات مع الصين وصلت إلى مستوى غير مسبوق في التاريخ الحديث للبلدين.",
    "وأضاف أن البلدين سيواصلان التنسيق الوثيق في القضايا الدولية والإقليمية خلال الفترة المقبلة.",
    "وأشار إلى أن حجم التبادل التجاري بين البلدين تجاوز مئتي مليار دولار العام الماضي.",
    "ومن المقرر أن يزور الرئيس الصيني موسكو في الربيع المقبل لإجراء محادثات موسعة مع نظيره.",
]
LAST = "فقرة أخيرة مختلفة تماما عن كل ما سبق في هذا الخبر."


def _inside(text: str) -> list[tuple[str, str]]:
    """(first copy, later copy) of every relation of a paragraph with itself."""
    return [(text[r.in_start:r.in_end], text[r.start:r.end]) for r in find_repeats(text).repeats if r.paragraph == r.in_]


def test_a_text_glued_to_itself_is_found_and_cleaned_once() -> None:
    body = " ".join(S)
    text = f"عنوان\n{body} {body}\n{LAST}"
    assert _inside(text) == [(body, body)]
    r = find_repeats(text)
    assert r.n_repeats == 1 and r.redundant_chars == len(body) + 1  # the copy and the space before it
    assert clean(text, r) == f"عنوان\n{body}\n{LAST}"


LONG = S + [s.replace("البلدين", "الجانبين") for s in S]  # eight sentences, 114 words


def test_a_second_reading_cut_short_is_found() -> None:
    text = " ".join(LONG) + " " + " ".join(LONG[:6])
    assert _inside(text) == [(" ".join(LONG[:6]), " ".join(LONG[:6]))]
    assert clean(text, find_repeats(text)) == " ".join(LONG)
    # apart from its copy, a run counts from FAR_RUNS * context_tokens words (60): three sentences (41) do not
    text = " ".join(LONG) + " " + " ".join(LONG[:3])
    assert _inside(text) == []


def test_a_short_sentence_repeated_apart_is_the_writers() -> None:
    # a quote in the lead and again in the body, a decree's preamble: one sentence, apart from its copy
    text = " ".join([S[0], S[1], S[2], S[0], S[3]])
    assert _inside(text) == []
    assert clean(text, find_repeats(text)) == text


def test_a_sentence_repeated_right_after_itself_counts_from_context_tokens_words() -> None:
    text = " ".join([S[0], S[0], S[1]])
    assert _inside(text) == [(S[0], S[0])]
    assert find_repeats(text, RepeatsConfig(context_tokens=30)).repeats == ()  # 15 words: short of 30


def test_a_line_glued_twice_into_a_run_on_line_is_one_relation() -> None:
    # the relation between paragraphs already says it: not again as a repeat inside the run-on line
    para = " ".join(S[:2])
    text = f"{para}\n{S[3]}\n{para} {para} {S[2]}"
    r = find_repeats(text)
    assert [(x.paragraph, x.in_) for x in r.repeats if x.paragraph == x.in_] == []
    assert clean(text, r).count(S[0]) == 1


@pytest.mark.parametrize("word", ["dÃ¶vÃ¼Å\x9fÃ¼", "Ã\x9fe Ã¼ber"])
def test_mojibake_read_across_a_break_is_located_without_an_error(word: str) -> None:
    """An assertion stopped `dedup repeats` on a SemEval article: the repair of "Å\\x9f" read across the break."""
    tokens, starts, ends = located_tokens(f"كلمة {word} أخرى", NormalizeConfig())
    assert tokens[0] == "كلمه" and tokens[-1] == "اخري" and len(tokens) == len(starts) == len(ends)
    find_repeats(f"{word} {' '.join(S)}\n{word} {' '.join(S)}")


@pytest.mark.parametrize("copies", [3, 4])
def test_a_run_repeated_several_times_in_a_row_leaves_one_copy(copies: int) -> None:
    """The third copy was compared with the first only (no longer adjacent): two copies stayed, a second pass cut more."""
    text = " ".join([S[0]] * copies) + " " + S[1]
    r = find_repeats(text)
    assert 1 <= len([x for x in r.repeats if x.paragraph == x.in_]) <= copies - 1  # A A A A: A, then "A A" again
    cleaned = clean(text, r)
    assert cleaned.count(S[0]) == 1 and S[1] in cleaned
    assert find_repeats(cleaned).repeats == ()  # nothing left for a second pass
