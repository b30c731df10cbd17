"""dedup.repeats.match: near repeats must be light edits (a table), and the work on list-like articles stays near linear."""

from __future__ import annotations

import pytest

from dedup.config import RepeatsConfig
from dedup.repeats import find_repeats
from dedup.repeats import match as match_module
from dedup.repeats.match import light_edit

from _repeats_texts import ARABIC_LONG, ARABIC_LONG_DIACRITICS, ARABIC_LONG_EDITED, LONG, LONG_EDITED, LONG_LIGHT, P1, check_case

NOT_REPEATS = [
    # A content word replaced (a name, a place, an adjective) or a negation is another statement, not a repeat.
    pytest.param(f"{LONG}\n{P1}\n{LONG_EDITED}", set(), None, id="near-content-word-replaced-is-not-a-repeat"),
    pytest.param(
        f"{ARABIC_LONG}\n{P1}\n{ARABIC_LONG_EDITED}", set(), None, id="near-arabic-content-word-replaced-is-not-a-repeat"
    ),
    pytest.param(
        "Health officials said the number of confirmed infections rose sharply in the province of Idlib on Monday.\n\n"
        "Health officials said the number of confirmed infections rose sharply in the province of Hama on Monday.\n\n"
        "Health officials said the number of confirmed infections rose sharply in the province of Aleppo on Monday.\n\n"
        "No new cases were reported elsewhere in the country, the ministry added in its statement.",
        set(),
        None,
        id="template-lines-with-another-place",
    ),
    pytest.param(
        "بعث خادم الحرمين الشريفين الملك سلمان بن عبدالعزيز آل سعود برقية عزاء ومواساة لرئيس جمهورية مصر العربية في ضحايا الفيضانات\n\n"
        "بعث خادم الحرمين الشريفين الملك سلمان بن عبدالعزيز آل سعود برقية عزاء ومواساة لرئيس جمهورية السودان في ضحايا الفيضانات\n\n"
        "وأعرب الملك في البرقيتين عن بالغ التعازي وصادق المواساة لأسر الضحايا وللشعبين الشقيقين.",
        set(),
        None,
        id="arabic-template-lines-with-another-country",
    ),
    pytest.param(
        "The spokesman said the government would accept the proposal put forward by the opposition parties last week.\n\n"
        "The spokesman said the government would not accept the proposal put forward by the opposition parties last week.",
        set(),
        None,
        id="negation-added-is-not-a-repeat",
    ),
    pytest.param(
        "The spokesman said the government would not accept the proposal put forward by the opposition parties last week.\n\n"
        "The spokesman said the government would accept the proposal put forward by the opposition parties last week.",
        set(),
        None,
        id="negation-dropped-is-not-a-repeat",
    ),
    pytest.param(
        "ومن جهته قال وزير حقوق الانسان عزالدين الاصبحي ان التمرد المسلح يشكل اعتداء مباشرا ومتواصلا على حق الشعوب في تقرير مصيرها\n"
        f"{P1}\n"
        "وأضاف اليامي إن التمرد المسلح يشكل اعتداء مباشرا ومتواصلا على حق الشعوب في تقرير مصيرها",
        set(),
        None,
        id="another-speaker-is-not-a-repeat",
    ),
    pytest.param(
        "The talks in round 3 ended in Doha on Monday without any agreement at all.\n"
        "The talks in round 4 ended in Doha on Monday without any agreement at all.",
        set(),
        None,
        id="near-needs-the-same-numbers",
    ),
]


@pytest.mark.parametrize(("text", "expected", "cleaned"), NOT_REPEATS)
def test_near_needs_a_light_edit(text: str, expected: set[tuple[int, int, str]], cleaned: str | None) -> None:
    check_case(text, expected, cleaned)


@pytest.mark.parametrize(
    ("earlier", "later", "expected"),
    [
        pytest.param(LONG, LONG_LIGHT, True, id="function-word-added"),
        pytest.param(LONG_LIGHT, LONG, True, id="function-word-dropped"),
        pytest.param(LONG, LONG_EDITED, False, id="content-word-replaced"),
        pytest.param(LONG, LONG + " Officials", False, id="content-word-added"),
        pytest.param(LONG + " Officials", LONG, True, id="content-word-dropped-the-earlier-says-more"),
        pytest.param(LONG, LONG.replace("met", "did not meet"), False, id="negation-added"),
        pytest.param("لم يلتق الوزيران في بكين يوم الثلاثاء", "التقى الوزيران في بكين يوم الثلاثاء", False, id="arabic-negation-dropped"),
        pytest.param(ARABIC_LONG, ARABIC_LONG_DIACRITICS, True, id="diacritics"),
        pytest.param("جرى استعراض الأوضاع الإقليمية والدولية", "جرى استعراض الأوضاع الإقليمية الدولية", True, id="clitic-dropped"),
        pytest.param("talks in round 3 ended", "talks in round 4 ended", False, id="number-replaced"),
    ],
)
def test_light_edit(earlier: str, later: str, expected: bool) -> None:
    assert light_edit(earlier, later) is expected


def test_light_edit_lets_numbers_differ_when_asked() -> None:
    config = RepeatsConfig(near_same_numbers=False)
    assert light_edit("talks in round 3 ended", "talks in round 4 ended", config)


# --------------------------------------------------------------------------- work on list-like articles
def _template_lines(n: int, numbered: bool) -> str:
    """``n`` lines of one template, each with its own member number or name (no line repeats another)."""
    names = [f"{a}{b}{c}" for a in "bcdfg" for b in "aeiou" for c in "klmnprstvz"]  # 250 made-up names (+ q: none a function word)
    label = (lambda k: str(k)) if numbered else (lambda k: names[k % 250] + "q" + "x" * (k // 250))
    return "\n".join(
        f"The committee member {label(k)} attended the annual general meeting of the association on the second day."
        for k in range(n)
    )


def test_near_candidates_on_a_list_of_one_template(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lines differing only in a name: the earlier line must hold the name, so none is compared (was every pair)."""
    calls = []

    class Counting(match_module.SequenceMatcher):
        def ratio(self) -> float:
            calls.append(1)
            return super().ratio()

    monkeypatch.setattr(match_module, "SequenceMatcher", Counting)
    n = 400
    assert find_repeats(_template_lines(n, numbered=False)).repeats == ()
    assert len(calls) <= n


def test_numbers_are_computed_once_per_paragraph(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    numbers = match_module._numbers
    monkeypatch.setattr(match_module, "_numbers", lambda tokens: calls.append(1) or numbers(tokens))
    n = 400
    assert find_repeats(_template_lines(n, numbered=True)).repeats == ()
    assert len(calls) <= n


def test_near_candidates_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A line sharing every word a light edit needs with all earlier lines is compared with a bounded number of them."""
    calls = []

    class Counting(match_module.SequenceMatcher):
        def ratio(self) -> float:
            calls.append(1)
            return super().ratio()

    monkeypatch.setattr(match_module, "SequenceMatcher", Counting)
    # the last line's name is a function word: every earlier line holds all its other words
    text = _template_lines(300, numbered=False) + "\nThe committee member for attended the annual general meeting of the association on the second day."
    result = find_repeats(text)
    assert len(calls) <= match_module._NEAR_CANDIDATES
    assert {r.in_ for r in result.repeats} == set(range(match_module._NEAR_CANDIDATES))  # the first ones, in text order
