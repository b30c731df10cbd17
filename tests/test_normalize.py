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


@pytest.mark.parametrize("folds", [(True, True), (False, False)], ids=["default", "none"])
def test_tables_follow_their_per_character_definition(folds: tuple[bool, bool]) -> None:
    """Every entry of the on-demand tables, asked for all at once, is what the step-by-step definition gives."""
    import unicodedata

    import numpy as np

    from dedup.text import normalize as nz

    tables = nz._Tables(*folds)
    every = np.arange(nz._LUT_SIZE, dtype=np.uint32)
    lut, direct = tables.lut(every), tables.direct(every)
    want_lut = np.arange(nz._LUT_SIZE, dtype=np.uint32)
    want_direct = np.full(nz._LUT_SIZE, nz._SLOW, dtype=np.uint32)
    special = {0x0A: 10, 0x0D: 10, 0x1E: 0x1E, 0x0640: 0, 0x0671: 0x0627}
    special.update({0x0629: 0x0647} if folds[0] else {})
    special.update({0x0649: 0x064A} if folds[1] else {})
    for cp in range(nz._LUT_SIZE):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        cat = unicodedata.category(chr(cp))
        if cp in special:
            want_lut[cp] = special[cp]
        elif cat in ("Mn", "Me", "Cf"):
            want_lut[cp] = 0
        elif cat == "Nd":
            want_lut[cp] = ord(str(unicodedata.decimal(chr(cp))))
        elif cat[0] in ("P", "S") or cat in ("Zs", "Zl", "Zp", "Cc"):
            want_lut[cp] = 32
    for cp in range(nz._LUT_SIZE):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        folded = [int(want_lut[ord(c)]) if ord(c) < nz._LUT_SIZE else -1
                  for c in unicodedata.normalize("NFKD", chr(cp)).casefold()]
        folded = [c for c in folded if c != 0]
        if not folded:
            want_direct[cp] = 0
        elif len(folded) == 1 and folded[0] >= 0:
            want_direct[cp] = folded[0]
    assert np.array_equal(lut, want_lut)
    assert np.array_equal(direct, want_direct)


def test_tables_fill_only_the_characters_met() -> None:
    import numpy as np

    from dedup.text import normalize as nz

    tables = nz._Tables(True, True)
    text = np.frombuffer("مدرسةٌ، ﻻ".encode("utf-32-le"), dtype=np.uint32)
    folded = tables.direct(text)
    assert folded[4] == ord("ه") and folded[5] == 0 and folded[6] == 32 and folded[-1] == nz._SLOW  # ة folded, harakah deleted, ، a space, ﻻ slow
    assert int((tables._direct != nz._UNSET).sum()) == len(set(text.tolist()))
    assert np.array_equal(tables.direct(text), folded)  # asked again: the same entries



def test_repair_is_part_of_normalizing_and_can_be_turned_off() -> None:
    from dedup.text.normalize import normalize_texts

    arabic = "أعلنت وزارة الصحة في الرياض عن حالات جديدة"
    broken = arabic.encode("utf-8").decode("latin-1")  # UTF-8 read as Latin-1 somewhere upstream
    texts = ["&quot;" + arabic + "&quot;", broken, "Köln &amp; Bonn", "KÃ¶ln", arabic]
    assert normalize_texts(texts) == [normalize(arabic), normalize(arabic), "koln bonn", "koln", normalize(arabic)]
    assert normalize_lines(broken) == [normalize(arabic)] and tokenize("KÃ¶ln") == ["koln"]
    off = NormalizeConfig(repair=False)
    assert normalize_texts(["&quot;x&quot;", "KÃ¶ln"], off) == ["quot x quot", "ka ln"]


def test_a_mojibake_copy_is_a_duplicate_in_dedupe_only_with_repair() -> None:
    from dedup.config import DedupConfig
    from dedup.flows.dedupe import dedupe
    from dedup.results import DUPLICATE
    from dedup.types import Article

    text = "أعلنت وزارة الصحة في الرياض عن تسجيل حالات جديدة من الفيروس ونقل المصابين إلى المستشفى المركزي لتلقي العلاج"
    arts = [Article("a", text, "", None, "s"), Article("b", text.encode("utf-8").decode("latin-1"), "", None, "t")]
    on = dedupe(arts)
    assert int(on.status[1]) == DUPLICATE and int(on.keeper[1]) == 0
    off = dedupe(arts, DedupConfig(normalize=NormalizeConfig(repair=False)))
    assert int(off.status[1]) != DUPLICATE and int(off.keeper[1]) != 0


def test_a_batch_repairs_only_its_texts_that_need_it_and_gives_what_each_text_gives_alone() -> None:
    """Texts of a batch with an & or a Latin-1 lead byte are repaired; the others, beside them, come out as alone."""
    import random

    from dedup.text.mojibake import repair_text
    from dedup.text.normalize import normalize_texts

    arabic = "أعلنت وزارة الصحة في الرياض عن حالات جديدة"
    pool = [arabic, arabic.encode("utf-8").decode("latin-1"), "a &amp; b", "AT&T", "Ã", "é è ô", "plain words", "", "x\ny",
            "&#1605;&#1575;", "Â£5", "ô" * 3, "ÃƒÂ¶"]
    rng = random.Random(5)
    for _ in range(40):
        batch = [rng.choice(pool) for _ in range(rng.randint(1, 70))]
        got = normalize_texts(batch)
        assert got == [normalize_texts([t])[0] for t in batch]
        assert got == normalize_texts(repair_text(batch), NormalizeConfig(repair=False))  # every text repaired, then folded
