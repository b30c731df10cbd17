"""dedup.text.mojibake: UTF-8 read as Latin-1 / Windows-1252 comes back exactly; correct text is left alone; entities."""

from __future__ import annotations

import pytest

from dedup.text.mojibake import fix_mojibake, repair_text

ORIGINALS = [
    pytest.param("Köln", id="german"),
    pytest.param("café crème, naïve façade", id="french"),
    pytest.param("الرياض", id="arabic"),
    pytest.param("وَقالَ المُتَحَدِّثُ الرَّسْمِيُّ", id="arabic-diacritics"),
    pytest.param("مرحبا بكم في جدة 2015\nسطر ثان", id="arabic-two-lines-and-digits"),
    pytest.param("Ünïcödé – “quotes” €5", id="punctuation-from-the-cp1252-range"),
    pytest.param("北京 😀", id="three-and-four-byte-sequences"),
    pytest.param("45° «high» ±1 km²", id="two-byte-signs-only"),
]


def _latin1(text: str) -> str:
    return text.encode("utf-8").decode("latin-1")


def _windows1252(text: str) -> str:
    """As a browser decodes Windows-1252: the five bytes it leaves undefined become the Latin-1 control characters."""
    out = []
    for byte in text.encode("utf-8"):
        try:
            out.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(chr(byte))
    return "".join(out)


@pytest.mark.parametrize("original", ORIGINALS)
@pytest.mark.parametrize("garble", [_latin1, _windows1252], ids=["latin-1", "windows-1252"])
def test_mojibake_is_repaired_exactly(original: str, garble) -> None:
    broken = garble(original)
    assert broken != original
    assert fix_mojibake([broken]) == [original]
    assert repair_text([broken]) == [original]


@pytest.mark.parametrize("original", ORIGINALS)
def test_correct_text_is_left_alone(original: str) -> None:
    assert fix_mojibake([original]) == [original]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("plain ascii, nothing to do", id="ascii"),
        pytest.param("São Paulo", id="one-accented-letter-then-ascii"),
        pytest.param("Ã la carte", id="capital-a-tilde-before-a-space"),
        pytest.param("Ø is a letter of the Danish alphabet", id="o-slash-alone"),
        pytest.param("Straße ¿Qué?", id="latin-1-letters-not-in-a-sequence"),
    ],
)
def test_text_that_only_looks_suspicious_stays(text: str) -> None:
    assert fix_mojibake([text]) == [text]


def test_many_texts_keep_their_order_and_count() -> None:
    texts = ["KÃ¶ln", "", "Köln", _latin1("جدة"), "plain"]
    assert fix_mojibake(texts) == ["Köln", "", "Köln", "جدة", "plain"]
    assert fix_mojibake(tuple(texts)) == fix_mojibake(texts)
    assert fix_mojibake([]) == [] and repair_text([]) == []


def test_repair_is_idempotent() -> None:
    texts = [_latin1("وزارة الصحة"), "KÃ¶ln &amp; Bonn", "&quot;x&quot;", "a & b"]
    once = repair_text(texts)
    assert fix_mojibake(once) == once
    assert repair_text(["KÃ¶ln"]) == repair_text(repair_text(["KÃ¶ln"]))


def test_a_mixed_text_is_repaired_where_broken() -> None:
    assert fix_mojibake(["الرياض KÃ¶ln"]) == ["الرياض Köln"]


ENTITIES = [
    # text, repaired
    pytest.param("&quot;سبق&quot; تؤكد", '"سبق" تؤكد', id="named-quotes-around-arabic"),
    pytest.param("&#1605;&#x645;", "مم", id="decimal-and-hex-references"),
    pytest.param("&lt;b&gt;", "<b>", id="angle-brackets-stay-text"),
    pytest.param("&amp;quot;", "&quot;", id="decoded-once"),
    pytest.param("AT&T and a & b", "AT&T and a & b", id="bare-ampersands"),
    pytest.param("&nbsp;", "\xa0", id="no-break-space"),
    pytest.param(_windows1252("الرياض") + " &quot;x&quot;", 'الرياض "x"', id="mojibake-and-entities"),
    pytest.param("no entity here", "no entity here", id="none"),
]


@pytest.mark.parametrize(("text", "expected"), ENTITIES)
def test_repair_text_decodes_character_references(text: str, expected: str) -> None:
    assert repair_text([text]) == [expected]


def test_fix_mojibake_leaves_entities() -> None:
    assert fix_mojibake(["&quot;a&quot;"]) == ["&quot;a&quot;"]
