"""dedup.repeats.context: which repeats of short paragraphs count (a table of places), and complete sentences."""

from __future__ import annotations

import pytest

from dedup.config import RepeatsConfig
from dedup.repeats.context import complete_sentence, in_context
from dedup.repeats.match import find_relations
from dedup.repeats.segment import analyse

from _repeats_texts import HEADLINE, LEAD, LEAD_TRUNCATED, P1, P2, P3, check_case

SHORT = "A royal decree has been prepared for this."  # 8 words: under context_tokens
OTHER = "The cabinet approved the new law on protected areas and wildlife."
THIRD = "The cabinet also approved an agreement with the universal postal union."
LONG = (
    "The foreign ministers of both countries met in Beijing on Tuesday to prepare the summit of next month, "
    "officials said after the meeting."
)
LONG_2 = "Officials said the agenda would include trade, energy and security cooperation in the region over the coming years."


def _kept(text: str, config: RepeatsConfig = RepeatsConfig()) -> set[tuple[int, int, str]]:
    paragraphs = analyse(text, config.normalize)
    relations, matches = find_relations(paragraphs, config)
    kept, kept_matches = in_context(text, paragraphs, relations, matches, config)
    assert {(i, j) for i, j, _ in kept_matches} <= {(r.paragraph, r.in_) for r in kept}
    return {(r.paragraph, r.in_, r.kind) for r in kept}


CONTEXT_TABLE = [
    pytest.param([OTHER, SHORT, THIRD, SHORT], set(), id="formula-far-from-its-copy"),
    pytest.param([OTHER, SHORT, SHORT, THIRD], {(2, 1, "exact")}, id="next-to-its-copy"),
    pytest.param([OTHER, SHORT, "Loading...", SHORT], {(3, 1, "exact")}, id="only-boilerplate-between"),
    pytest.param([OTHER, SHORT, SHORT, THIRD, SHORT], {(2, 1, "exact")},
                 id="third-copy-far-from-the-second"),
    pytest.param([SHORT, OTHER, THIRD, SHORT], {(3, 0, "exact")}, id="copy-of-the-first-paragraph"),
    pytest.param([OTHER, SHORT, LONG, THIRD, SHORT, LONG], {(4, 1, "exact"), (5, 2, "exact")}, id="in-a-block-with-a-long-repeat"),
    pytest.param([OTHER, "We win on your ground or ours", "We sing for you all night long", THIRD, LONG_2,
                  "We win on your ground or ours", "We sing for you all night long"], set(), id="refrain-of-short-lines-is-no-block"),
    pytest.param([OTHER, LONG[:60], THIRD, LONG], {(1, 3, "contained")}, id="truncated-copy-of-a-long-paragraph"),
    pytest.param([OTHER, "The foreign ministers of both countries met in Beijing on Tuesday.", THIRD, LONG.replace(" to prepare", ". They prepared")],
                 set(), id="complete-sentence-beginning-a-long-paragraph"),
    pytest.param([OTHER, SHORT, THIRD, f"{LONG_2} {SHORT}", LONG_2], {(1, 3, "contained"), (4, 3, "contained")},
                 id="glued-into-a-run-on-line-with-a-long-paragraph"),
    pytest.param([OTHER, SHORT, THIRD, f"{LONG} {SHORT}"], set(), id="one-short-sentence-glued-into-a-long-paragraph"),
]


@pytest.mark.parametrize(("lines", "expected"), CONTEXT_TABLE)
def test_in_context_table(lines: list[str], expected: set[tuple[int, int, str]]) -> None:
    assert {r for r in _kept("\n".join(lines)) if r[2] != "boilerplate"} == expected


def test_long_repeats_and_boilerplate_always_count() -> None:
    text = "\n".join([LONG, "Loading...", OTHER, LONG_2, "Loading...", LONG])
    assert _kept(text) == {(4, 1, "boilerplate"), (5, 0, "exact")}


def test_context_tokens_sets_what_is_short() -> None:
    text = "\n".join([OTHER, SHORT, THIRD, SHORT])
    assert _kept(text) == set()
    assert _kept(text, RepeatsConfig(context_tokens=4)) == {(3, 1, "exact")}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("A royal decree has been prepared for this.", True, id="full-stop"),
        pytest.param("وقد أعد مرسوم ملكي بذلك .", True, id="arabic-space-before-stop"),
        pytest.param("أين القرآن الكريم من حياتنا؟", True, id="arabic-question-mark"),
        pytest.param("ويجيب عن هذا السؤال قسم التثقيف الصحي:", True, id="colon-introduces"),
        pytest.param('He said "yes."', True, id="closing-quote"),
        pytest.param("The finance ministry announced on", False, id="cut-without-mark"),
        pytest.param("The finance ministry announced...", False, id="three-dots"),
        pytest.param("«كل شيء في ضباب…", False, id="ellipsis"),
        pytest.param("وأنتَ في طوْقِ النجاةِ،", False, id="arabic-comma-continues"),
        pytest.param("", False, id="empty"),
    ],
)
def test_complete_sentence(text: str, expected: bool) -> None:
    assert complete_sentence(text) is expected


END_TO_END = [
    # Short lines an article legitimately repeats far from their copy (fewer than context_tokens words).
    pytest.param(
        f"{HEADLINE}\nأولا: الموافقة على نظام المناطق المحمية للحياة الفطرية.\nوقد أعد مرسوم ملكي بذلك.\n"
        "ثانيا: الموافقة على اتفاقية الاتحاد البريدي العالمي.\nوقد أُعد مرسوم ملكي بذلك .\n"
        "ثالثا: تفويض وزير الخارجية بالتباحث مع ساحل العاج.",
        set(),
        None,
        id="formula-after-each-cabinet-decision",
    ),
    pytest.param(
        "Spinach omelette - ingredients:\n\n- 1 teaspoon of ground cumin seeds.\n\n- 1 cup of fresh spinach leaves, chopped.\n\n"
        "Avocado toast - ingredients:\n\n- 1 slice of wholegrain toast bread.\n\n- 1 teaspoon of ground cumin.\n\n"
        "- 1 cup of fresh spinach leaves, chopped.",
        set(),
        None,
        id="ingredients-of-a-second-recipe",
    ),
    pytest.param(
        "تلقى ولي العهد اتصالا هاتفيا من رئيس وزراء بريطانيا بحثا خلاله العلاقات الثنائية.\n"
        "كما جرى استعراض مستجدات الأوضاع الإقليمية والدولية والأمور ذات الاهتمام المشترك.\n"
        "وتلقى ولي العهد اتصالا هاتفيا آخر من وزير الدفاع الأمريكي تناولا فيه التعاون العسكري.\n"
        "كما جرى استعراض مستجدات الأوضاع الإقليمية والدولية والأمور ذات الاهتمام المشترك.",
        set(),
        None,
        id="closing-formula-of-a-second-phone-call",
    ),
    pytest.param(
        "قصيدة الجماهير في ليلة الفوز الكبير بالبطولة\nفايز عليك فايز عليك\nفي ملعبي او ملعبك\nما دام قلبي معك يا نادي\n"
        "والليل يشهد والنجوم العالية\nفايز عليك فايز عليك\nفي ملعبي او ملعبك",
        set(),
        None,
        id="poem-refrain",
    ),
    pytest.param(
        "Top iPhone apps this week:\n1. Minecraft – Pocket Edition game\n2. Facebook Messenger for phones\n"
        "Top Android apps this week:\n1. Minecraft – Pocket Edition game\n2. WhatsApp Messenger for phones",
        set(),
        None,
        id="entries-of-a-second-chart",
    ),
    pytest.param(
        f"{HEADLINE}\n- ويجيب عن هذا السؤال أيضاً قسم التثقيف الصحي: النشاط الحركي يحقق للفرد حياة أفضل وفوائد صحية "
        f"عديدة من جوانب كثيرة وفي أي مرحلة من المراحل العمرية.\n{P1}\nويجيب عن هذا السؤال أيضاً قسم التثقيف الصحي:\n{P2}",
        set(),
        None,
        id="complete-short-sentence-is-not-a-truncated-copy",
    ),
    pytest.param(  # al-jazirah 2015-07-25 cu16: a verse line, then the next one beginning with it
        "وأختم بمقطع من قصيدة لا أقوله إلا لنفسي في مثل هذه الحالات من الالتباس بين المنطق والمقروء:\n"
        "فإن جمعتَ الكُلَّ في موجٍ عظيمٍ\nمن الرّوايةِ بالرّواةِ،\nوأنتَ في طوْقِ النجاةِ،\n"
        "وأنتَ في طوْقِ النجاةِ سترتبكْ.\nفإليكَ بكْ)!",
        set(),
        None,
        id="verse-line-ending-on-its-comma-next-to-the-longer-one",
    ),
    pytest.param(
        f"{P3}\nThe foreign ministers of both countries met,\nThe foreign ministers of both countries met in Beijing.\n{P1}",
        set(),
        None,
        id="short-line-ending-on-a-comma-is-no-cut",
    ),
    pytest.param(
        "وأختم بمقطع من قصيدة لا أقوله إلا لنفسي في مثل هذه الحالات من الالتباس بين المنطق والمقروء:\n"
        "وأنتَ في طوْقِ النجاةِ،\nوأنتَ في طوْقِ النجاةِ، سترتبكْ.\nفإليكَ بكْ)!",
        set(),
        None,
        id="verse-line-that-is-the-first-clause-of-the-next",
    ),
    # Short repeats where scrapers put them still count.
    pytest.param(
        f"{P3}\nThe foreign ministers of both countries met\nThe foreign ministers of both countries met. They agreed.\n{P1}",
        {(1, 2, "contained")},
        f"{P3}\nThe foreign ministers of both countries met. They agreed.\n{P1}",
        id="short-line-glued-to-the-start-of-the-next",
    ),
    pytest.param(
        f"{P3}\nThe foreign ministers of both countries met in\nThe foreign ministers of both countries met in Beijing.\n{P1}",
        {(1, 2, "contained")},
        f"{P3}\nThe foreign ministers of both countries met in Beijing.\n{P1}",
        id="short-cut-copy-next-to-the-full-line",
    ),
    pytest.param(
        f"{P3}\nThe foreign ministers of both countries met…\nThe foreign ministers of both countries met in Beijing.\n{P1}",
        {(1, 2, "contained")},
        f"{P3}\nThe foreign ministers of both countries met in Beijing.\n{P1}",
        id="short-copy-cut-with-an-ellipsis-next-to-the-full-line",
    ),
    pytest.param(
        f"{HEADLINE}\n{LEAD_TRUNCATED}\n{P1}\n{LEAD}",
        {(1, 3, "contained")},
        f"{HEADLINE}\n{P1}\n{LEAD}",
        id="short-truncated-copy-far-from-the-lead",
    ),
    pytest.param(
        f"{HEADLINE}\n{LEAD}\nOfficials react to the talks\n{LONG}\n{P1}\nOfficials react to the talks\n{LONG}",
        {(5, 2, "exact"), (6, 3, "exact")},
        f"{HEADLINE}\n{LEAD}\nOfficials react to the talks\n{LONG}\n{P1}",
        id="short-subheading-in-a-repeated-block",
    ),
    pytest.param(
        f"{HEADLINE}\n{P1}\n{P2}\n{HEADLINE}\n{P3}",
        {(3, 0, "exact")},
        f"{HEADLINE}\n{P1}\n{P2}\n{P3}",
        id="short-copy-of-the-headline",
    ),
    pytest.param(
        f"{P3}\n{P1}\n{P1}\n{P2}",
        {(2, 1, "exact")},
        f"{P3}\n{P1}\n{P2}",
        id="short-copy-next-to-its-copy",
    ),
]


@pytest.mark.parametrize(("text", "expected", "cleaned"), END_TO_END)
def test_short_repeats_end_to_end(text: str, expected: set[tuple[int, int, str]], cleaned: str | None) -> None:
    check_case(text, expected, cleaned)
