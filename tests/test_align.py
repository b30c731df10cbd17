"""Passage alignment: spans into the original text, the shares, and the batch path against the exact one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dedup.config import DedupConfig, NormalizeConfig
from dedup.errors import ConfigError
from dedup.exec import LocalExecutor
from dedup.flows.prepare_held import prepare_texts
from dedup.repeats.segment import located_tokens
from dedup.serve.passages import shared_passages
from dedup.sketch.feature_store import FeatureStore
from dedup.sketch.features import KGRAM_TOKENS, Features, kgram_sequences
from dedup.text.align import AlignConfig, Alignment, PairAlignment, align, align_pairs, align_rows, align_tokens
from dedup.text.normalize import normalize
from dedup.text.shingle import token_hashes

BODY_AR = (
    "أعلنت وزارة الصحة اليوم عن افتتاح مستشفى جديد في مدينة جدة بسعة خمسمائة سرير ويضم المستشفى "
    "أقساما متخصصة في أمراض القلب والأورام وطب الأطفال ومن المتوقع أن يخدم أكثر من مليون نسمة "
    "من سكان المنطقة الغربية خلال السنوات المقبلة"
)
BODY_EN = (
    "The ministry of health opened a new hospital in Jeddah on Sunday with five hundred beds and "
    "specialised departments for heart disease, cancer and children, and expects it to serve more "
    "than a million people in the western region over the coming years"
)
UNRELATED_EN = (
    "Shares of technology companies rose sharply in early trading after the central bank left interest "
    "rates unchanged and signalled that it would wait for more data before deciding its next move"
)

# (id, a, b, the passage as written in a, the passage as written in b)
SPANS = [
    (
        "arabic-diacritics",
        "خبر عاجل: أعلنَتْ وزارةُ الصحةِ اليومَ عن افتتاحِ مستشفىً جديدٍ في مدينةِ جدةَ بسعةِ خمسمائةِ سريرٍ. تعليق",
        "قالت مصادر إن وزارة الصحة اليوم عن افتتاح مستشفى جديد في مدينة جدة بسعة خمسمائة سرير، وفق البيان",
        "وزارةُ الصحةِ اليومَ عن افتتاحِ مستشفىً جديدٍ في مدينةِ جدةَ بسعةِ خمسمائةِ سريرٍ",
        "وزارة الصحة اليوم عن افتتاح مستشفى جديد في مدينة جدة بسعة خمسمائة سرير",
    ),
    (
        "arabic-tatweel",
        "بيان: ومن المتوقـــع أن يخـــدم المستشفى أكثر من مليون نسمـة من سكان المنطقة الغربية.",
        "ومن المتوقع أن يخدم المستشفى أكثر من مليون نسمة من سكان المنطقة الغربية خلال السنوات",
        "ومن المتوقـــع أن يخـــدم المستشفى أكثر من مليون نسمـة من سكان المنطقة الغربية",
        "ومن المتوقع أن يخدم المستشفى أكثر من مليون نسمة من سكان المنطقة الغربية",
    ),
    (
        "alef-variants",
        "وأكد الأمير أن إدارة المشروع الجديد ستبدأ أعمالها في آخر الشهر المقبل بإشراف الهيئة العامة",
        "في الرياض، واكد الامير ان ادارة المشروع الجديد ستبدا اعمالها في اخر الشهر المقبل باشراف الهيئه",
        "وأكد الأمير أن إدارة المشروع الجديد ستبدأ أعمالها في آخر الشهر المقبل بإشراف الهيئة",
        "واكد الامير ان ادارة المشروع الجديد ستبدا اعمالها في اخر الشهر المقبل باشراف الهيئه",
    ),
    (
        "latin-case-punctuation",
        "BREAKING -- The Ministry of Health opened a NEW hospital in Jeddah, on Sunday, with 500 beds! More soon.",
        "Reuters: the ministry of health opened a new hospital in jeddah on sunday with 500 beds; officials said",
        "The Ministry of Health opened a NEW hospital in Jeddah, on Sunday, with 500 beds",
        "the ministry of health opened a new hospital in jeddah on sunday with 500 beds",
    ),
]


@pytest.mark.parametrize(("a", "b", "in_a", "in_b"), [s[1:] for s in SPANS], ids=[s[0] for s in SPANS])
def test_spans_point_into_the_original_texts(a: str, b: str, in_a: str, in_b: str) -> None:
    al = align(a, b)
    assert [a[s:e] for s, e in al.spans_a] == [in_a]
    assert [b[s:e] for s, e in al.spans_b] == [in_b]
    assert al.passages == 1
    assert normalize(in_a) == normalize(in_b)  # the same passage, written differently
    assert al.longest == len(normalize(in_a).split())


def test_rewritten_lead_verbatim_body_gives_a_high_share() -> None:
    lead_a = "وفي خطوة تهدف إلى تحسين الخدمات الصحية في البلاد قال مسؤول رفيع في تصريحات صحفية أمس"
    lead_b = "كشف متحدث رسمي خلال مؤتمر صحفي عقده مساء الأحد عن تفاصيل مشروع طبي ضخم طال انتظاره"
    a, b = f"{lead_a}\n{BODY_AR}", f"{lead_b}.\n\n{BODY_AR}\nالمصدر: واس"
    al = align(a, b)
    body_tokens = len(located_tokens(BODY_AR, NormalizeConfig())[0])
    assert [a[s:e] for s, e in al.spans_a] == [BODY_AR]
    assert [b[s:e] for s, e in al.spans_b] == [BODY_AR]
    assert al.longest == body_tokens
    assert al.share_b == pytest.approx(body_tokens / al.tokens_b) and al.share_b > 0.6
    assert al.share_a == pytest.approx(body_tokens / al.tokens_a)


@pytest.mark.parametrize(
    ("a", "b"),
    [(BODY_EN, UNRELATED_EN), (BODY_AR, UNRELATED_EN), ("", BODY_EN), ("one two", "one two")],
    ids=["latin", "arabic-vs-latin", "empty", "shorter-than-a-passage"],
)
def test_unrelated_or_too_short_shares_nothing(a: str, b: str) -> None:
    al = align(a, b)
    assert (al.share_a, al.share_b, al.longest, al.passages, al.spans_a, al.spans_b) == (0.0, 0.0, 0, 0, (), ())


def test_one_changed_word_does_not_split_a_passage() -> None:
    words = BODY_EN.split()
    edited = " ".join(words[:15] + ["yesterday"] + words[16:])
    al = align(BODY_EN, edited)
    assert al.passages == 1 and al.share_a == 1.0 and al.share_b == 1.0
    assert al.spans_a == ((0, len(BODY_EN)),) and al.spans_b == ((0, len(edited)),)
    # without the gap the same copy is two passages: the rule is what keeps it whole
    assert align(BODY_EN, edited, AlignConfig(gap=0)).passages == 2


def test_gap_is_bounded() -> None:
    words = BODY_EN.split()
    far = " ".join(words[:15] + ["x1", "x2", "x3", "x4", "x5", "x6"] + words[21:])  # 6 tokens replaced
    assert align(BODY_EN, far).passages == 2  # more than gap + 1 changed tokens split it


def test_a_repeated_paragraph_counts_once() -> None:
    a = f"{BODY_EN}\n{UNRELATED_EN}"
    b = f"{BODY_EN}\n{BODY_EN}\n{BODY_EN}"
    al = align(a, b)
    n_body = len(BODY_EN.split())
    assert al.share_b == pytest.approx(1 / 3)  # not 1: the other two copies have nothing left to pair with
    assert al.share_a == pytest.approx(n_body / al.tokens_a)
    assert al.spans_b == ((0, len(BODY_EN)),)
    back = align(b, a)
    assert (back.share_a, back.share_b) == (al.share_b, al.share_a)
    twice = align(f"{BODY_EN}\n{BODY_EN}", b)  # two copies pair with two copies
    assert twice.share_a == 1.0 and twice.share_b == pytest.approx(2 / 3)
    assert 0.0 <= min(al.share_a, al.share_b) and max(al.share_a, al.share_b) <= 1.0


def test_alignment_is_symmetric_and_deterministic() -> None:
    a, b = SPANS[0][1], SPANS[0][2]
    one, two = align(a, b), align(a, b)
    assert one == two and isinstance(one, Alignment)
    back = align(b, a)
    assert (back.spans_a, back.spans_b, back.share_a, back.share_b) == (one.spans_b, one.spans_a, one.share_b, one.share_a)
    assert (back.longest, back.passages) == (one.longest, one.passages)


def test_shared_passages_are_the_aligners() -> None:
    a, b = f"Intro words here.\n{BODY_EN}", f"{BODY_EN}\n{BODY_EN}"
    al = align(a, b)
    assert shared_passages(a, b) == (list(al.spans_a), list(al.spans_b))


@pytest.mark.parametrize(
    "kwargs", [{"k": 0}, {"gap": -1}, {"k": 6, "min_tokens": 5}], ids=["k-zero", "negative-gap", "passage-shorter-than-seed"]
)
def test_bad_config_is_refused(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        AlignConfig(**kwargs)


# --- the batch path ------------------------------------------------------------------------------------

# Sentences shared across texts (stock phrases among them), in both scripts.
_POOL_WORDS = (BODY_AR + " " + BODY_EN + " " + UNRELATED_EN).split()


def _corpus(rng: np.random.Generator, n: int) -> list[str]:
    """Texts made of pooled sentences (some repeated, some edited), filler words and punctuation."""
    sentences = []
    for _ in range(25):
        start = int(rng.integers(0, len(_POOL_WORDS) - 30))
        sentences.append(_POOL_WORDS[start : start + int(rng.integers(4, 30))])
    texts = []
    for _ in range(n):
        words: list[str] = []
        for _ in range(int(rng.integers(0, 9))):
            pick = rng.random()
            if pick < 0.6:
                s = list(sentences[int(rng.integers(0, len(sentences)))])
                if rng.random() < 0.4:  # an edit inside a copied sentence
                    s[int(rng.integers(0, len(s)))] = str(rng.choice(_POOL_WORDS))
                words.extend(s)
            else:
                words.extend(str(w) for w in rng.choice(_POOL_WORDS, int(rng.integers(1, 12))))
            words.append(str(rng.choice([".", ",", "،", "\n", "-"])))
        texts.append(" ".join(words))
    return texts


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], Features, np.ndarray]:
    rng = np.random.default_rng(7)
    texts = _corpus(rng, 120)
    contents, feats, _ = prepare_texts(texts, None, DedupConfig(), LocalExecutor(1))
    for text, content in zip(texts, contents):  # the pipeline's tokens are the aligner's tokens
        assert located_tokens(text, NormalizeConfig())[0] == content.split()
    pairs = np.unique(np.sort(rng.integers(0, len(texts), (600, 2)), axis=1), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return texts, feats, pairs


def test_batch_agrees_with_exact_on_random_pairs(corpus) -> None:
    texts, feats, pairs = corpus
    got = align_rows(feats, pairs)
    exact = [align(texts[i], texts[j]) for i, j in pairs.tolist()]
    want_ij = np.array([e.share_a for e in exact])
    want_ji = np.array([e.share_b for e in exact])
    want_long = np.array([e.longest for e in exact])
    partial = (want_ij > 0) & (want_ij < 1)
    assert partial.sum() > 100 and (want_ij == 0).sum() > 100  # the pairs are neither all alike nor all apart
    assert len({round(x, 3) for x in want_ij}) > 50
    # 32-bit k-gram hashes: a disagreement needs two different 5-grams with one hash (~1e-7 per k-gram);
    # on this seeded corpus there is none, so the two paths must agree exactly.
    assert np.array_equal(got.share_ij, want_ij)
    assert np.array_equal(got.share_ji, want_ji)
    assert np.array_equal(got.longest, want_long)


def test_batch_does_not_depend_on_blocks_order_or_store(corpus, tmp_path: Path) -> None:
    _, feats, pairs = corpus
    whole = align_rows(feats, pairs)
    store = FeatureStore(tmp_path)
    for lo in range(0, len(feats), 47):  # appended in chunks, as the sketch stage does
        store.append(feats.gather(np.arange(lo, min(lo + 47, len(feats)))))
    try:
        blocks = align_rows(store, pairs, block=13)
        perm = np.random.default_rng(1).permutation(len(pairs))
        swapped = align_rows(store, pairs[perm][:, ::-1], block=50)
    finally:
        store.close()
    for name in ("share_ij", "share_ji", "longest"):
        assert np.array_equal(getattr(whole, name), getattr(blocks, name)), name
    assert np.array_equal(swapped.share_ij, whole.share_ji[perm])
    assert np.array_equal(swapped.share_ji, whole.share_ij[perm])
    assert np.array_equal(swapped.longest, whole.longest[perm])


def test_batch_agrees_with_align_tokens_on_tiny_vocabularies() -> None:
    """Three-letter vocabularies repeat every k-gram many times: the one-to-one rule under stress."""
    rng = np.random.default_rng(3)
    seqs = [[str(w) for w in rng.choice(["a", "b", "c"], int(rng.integers(0, 60)))] for _ in range(60)]
    th, to = token_hashes([" ".join(s) for s in seqs])
    cfg = AlignConfig(k=4, gap=1, min_tokens=6)
    kg, ko = kgram_sequences(th, to, cfg.k)
    pairs = np.array([(i, j) for i in range(60) for j in range(60) if (i * 7 + j) % 5 == 0])
    got = align_pairs(kg, ko, pairs, cfg)
    for p, (i, j) in enumerate(pairs.tolist()):
        ra, rb = align_tokens(seqs[i], seqs[j], cfg)
        la, lb = ra[:, 1] - ra[:, 0], rb[:, 1] - rb[:, 0]
        assert got.share_ij[p] == (la.sum() / len(seqs[i]) if seqs[i] else 0.0)
        assert got.share_ji[p] == (lb.sum() / len(seqs[j]) if seqs[j] else 0.0)
        assert got.longest[p] == max(la.max(initial=0), lb.max(initial=0))
        assert got.share_ij[p] <= 1.0 and got.share_ji[p] <= 1.0


def test_batch_of_no_pairs() -> None:
    th, to = token_hashes(["a b c d e f g h i j k"])
    kg, ko = kgram_sequences(th, to)
    got = align_pairs(kg, ko, np.zeros((0, 2), dtype=np.int64))
    assert isinstance(got, PairAlignment) and len(got.share_ij) == len(got.share_ji) == len(got.longest) == 0


def test_stored_kgrams_are_the_sketch_streams_in_text_order() -> None:
    contents = ["a b c d e f g", "x y", "", "c d e f g h i a b c d e"]
    _, feats, _ = prepare_texts(contents, None, DedupConfig(), LocalExecutor(1))
    th, to = token_hashes(contents)
    kg, ko = kgram_sequences(th, to, KGRAM_TOKENS)
    assert feats.kgrams is not None and np.array_equal(feats.kgrams, kg) and np.array_equal(feats.kgram_offsets, ko)
    assert np.diff(ko).tolist() == [3, 0, 0, 8]  # n - k + 1 per row, none for rows shorter than k
    flat, offsets = feats.gather_kgrams(np.array([3, 0]))
    assert flat.tolist() == kg[3:11].tolist() + kg[0:3].tolist() and offsets.tolist() == [0, 8, 11]
    assert kg[3] == kg[2] and kg[10] == kg[0]  # "c d e f g" and "a b c d e" again, in text order


def test_features_without_kgrams_are_refused(tmp_path: Path) -> None:
    old = Features(np.array([1], np.uint32), np.array([0, 1]), np.array([2], np.uint32), np.array([1], np.uint32), np.array([0, 1]))
    with pytest.raises(ValueError, match="no k-gram sequences"):
        align_rows(old, np.array([[0, 0]]))
    store = FeatureStore(tmp_path)
    store.append(old)
    try:
        assert len(store.gather(np.array([0]))) == 1  # verification still reads it
        with pytest.raises(ValueError, match="without k-gram sequences"):
            align_rows(store, np.array([[0, 0]]))
    finally:
        store.close()
    with pytest.raises(ConfigError, match="KGRAM_TOKENS|holds word"):
        align_rows(old, np.array([[0, 0]]), AlignConfig(k=KGRAM_TOKENS + 1, min_tokens=20))
