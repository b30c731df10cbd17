"""Texts and checks shared by the tests of dedup.repeats (test_repeats*.py): constructed paragraphs, relation sets, lost sentences."""

from __future__ import annotations

from dedup.repeats import ArticleRepeats, clean, find_repeats, paragraph_spans, sentence_spans
from dedup.repeats.match import light_edit
from dedup.text.normalize import normalize

# Paragraphs of constructed articles (content: at least 4 non-numeric tokens).
LEAD = (
    "أفاد مساعد الرئيس الروسي يوري أوشاكوف، اليوم الأربعاء، بأن الرئيس فلاديمير بوتين "
    "ونظيره الصيني شي جين بينغ قد يجريان اتصالات خلال فعاليات منظمة شنغهاي للتعاون."
)
LEAD_TRUNCATED = "أفاد مساعد الرئيس الروسي يوري أوشاكوف، اليوم الأربعاء، بأن الرئيس فلاديمير بوتين"
LEAD_CUT_IN_WORD = "أفاد مساعد الرئيس الروسي يوري أوشاكوف، اليوم الأربعاء، بأن الرئيس فلاديمير بوت"
P1 = 'وأوضح أوشاكوف للصحفيين أن الاجتماعات ستعقد بالتزامن مع فعاليات مجموعة "بريكس".'
P2 = "وحسب أوشاكوف، ناقش الرئيسان الموضوعات التي طرحت في المشاورات الأخيرة بين البلدين."
P3 = "ووصل سكرتير مجلس الأمن الروسي إلى الصين في وقت سابق من الأسبوع الجاري."
FRAGMENT = "بوتين يقبل دعوة لزيارة الصين في النصف الأول من العام المقبل"
HEADLINE = 'شي: يجب على موسكو وبكين "تعزيز الدعم المتبادل"'
LONG = "The foreign ministers of both countries met in Beijing on Tuesday to prepare the summit of next month."
LONG_EDITED = "The foreign ministers of both countries met in Beijing on Tuesday to prepare the summit of next week."
LONG_LIGHT = "The foreign ministers of both countries met in Beijing on Tuesday to prepare for the summit of next month."
ARABIC_LONG = "وقال المتحدث الرسمي باسم وزارة الخارجية إن بكين وموسكو تحافظان على تنسيق وثيق في القضايا الأساسية للبلدين"
ARABIC_LONG_DIACRITICS = (
    "وَقالَ المُتَحَدِّثُ الرَّسْمِيُّ بِاسْمِ وِزارَةِ الخارِجِيَّةِ إِنَّ بَكِينَ وَمُوسكو تُحافِظانِ عَلى تَنْسِيقٍ "
    "وَثِيقٍ فِي القَضايا الأَساسِيَّةِ لِلْبَلَدَيْنِ"
)
ARABIC_LONG_TRIMMED = (  # diacritics added, one word (الرسمي) dropped
    "وَقالَ المُتَحَدِّثُ بِاسْمِ وِزارَةِ الخارِجِيَّةِ إِنَّ بَكِينَ وَمُوسكو تُحافِظانِ عَلى تَنْسِيقٍ "
    "وَثِيقٍ فِي القَضايا الأَساسِيَّةِ لِلْبَلَدَيْنِ"
)
ARABIC_LONG_EDITED = (
    "وَقالَ المُتَحَدِّثُ الرَّسْمِيُّ بِاسْمِ وِزارَةِ الخارِجِيَّةِ إِنَّ بَكِينَ وَمُوسكو تُحافِظانِ عَلى تَنْسِيقٍ "
    "قَوِيٍّ فِي القَضايا الأَساسِيَّةِ لِلْبَلَدَيْنِ"
)


def rel(result: ArticleRepeats) -> set[tuple[int, int, str]]:
    return {(r.paragraph, r.in_, r.kind) for r in result.repeats}


def lost_sentences(text: str, result: ArticleRepeats, cleaned: str) -> list[str]:
    """Sentences of ``text`` absent from ``cleaned``; a paragraph removed as a near copy must be a light edit of its target."""
    spans = paragraph_spans(text)
    near_removed = {r.paragraph: r.in_ for r in result.repeats if r.kind == "near" and r.paragraph in result.drop}
    haystack = " " + normalize(cleaned) + " "
    lost = []
    for k, (a, b) in enumerate(spans):
        if k in near_removed:
            if not light_edit(text[slice(*spans[near_removed[k]])], text[a:b]):
                lost.append(text[a:b])
            continue
        for s, e in sentence_spans(text, a, b):
            folded = normalize(text[s:e])
            if folded and " " + folded not in haystack:
                lost.append(text[s:e])
    return lost




def check_case(text: str, expected: set[tuple[int, int, str]], cleaned: str | None) -> None:
    """``text`` has the relations ``expected``, cleans to ``cleaned`` (unless None) and loses no sentence."""
    result = find_repeats(text)
    assert rel(result) == expected
    out = clean(text, result)
    if cleaned is not None:
        assert out == cleaned
    assert lost_sentences(text, result, out) == []
    assert result.n_repeats == sum(1 for r in result.repeats if r.kind != "boilerplate")
    if not result.n_repeats:
        assert out == text and result.redundant_chars == 0
