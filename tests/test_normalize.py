import pytest

from dedup.config import NormalizeConfig
from dedup.text.normalize import normalize, normalize_batch, normalize_lines, tokenize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("", "", id="empty"),
        pytest.param("كلمة", "كلمه", id="one-word-teh-marbuta"),
        pytest.param("قَالَ الرَّئِيسُ", "قال الرييس", id="harakat-shadda"),
        pytest.param("أحمد إبراهيم آمن ٱلله", "احمد ابراهيم امن الله", id="alef-forms"),
        pytest.param("على مستشفى", "علي مستشفي", id="alef-maksura"),
        pytest.param("الســــلام", "السلام", id="tatweel"),
        pytest.param("يوم ٣ و ۴ و 5", "يوم 3 و 4 و 5", id="arabic-indic-persian-digits"),
        pytest.param("قال، ثم؛ لماذا؟ «نعم»", "قال ثم لماذا نعم", id="arabic-punctuation"),
        pytest.param("\u200fمرحبا\u200e \u202bعالم\u202c", "مرحبا عالم", id="bidi-marks"),
        pytest.param("\ufefb", "لا", id="presentation-form-lam-alef"),
        pytest.param("Café CRÈME déjà-vu", "cafe creme deja vu", id="latin-accents-case"),
        pytest.param("Straße", "strasse", id="casefold"),
        pytest.param('"بريكس".وحسب', "بريكس وحسب", id="glued-full-stop"),
        pytest.param("day 3\tday 4", "day 3 day 4", id="numbers-kept"),
        pytest.param("  spaced\n\n out  ", "spaced out", id="whitespace"),
    ],
)
def test_normalize_table(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_diacritics_do_not_split_words() -> None:
    assert tokenize("مُحَمَّدٌ رَسُولُ") == ["محمد", "رسول"]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param(NormalizeConfig(), "مدرسه علي", id="default-folds"),
        pytest.param(NormalizeConfig(fold_teh_marbuta=False, fold_alef_maksura=False), "مدرسة على", id="no-folds"),
    ],
)
def test_optional_foldings(config: NormalizeConfig, expected: str) -> None:
    assert normalize("مدرسة على", config) == expected


def test_lines_and_batch_agree(seeds_dir) -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))] + ["", "\x1e odd \x1e"]
    assert normalize_batch(texts) == [normalize_lines(t) for t in texts]
    assert all(normalize(t) == " ".join(normalize_lines(t)) for t in texts)
