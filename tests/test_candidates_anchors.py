"""dedup.candidates.anchors: the sampled slice of word k-grams, and pairs of articles sharing one."""

from __future__ import annotations

import numpy as np
import pytest

from dedup.candidates.anchors import anchor_grams, anchor_pairs
from dedup.config import IndexConfig
from dedup.text.normalize import normalize
from dedup.text.shingle import token_hashes, word_shingles

RUN = (  # about 60 words of one wire item
    "وقال المتحدث باسم وزارة الخارجية إن المملكة تتابع باهتمام بالغ تطورات الأوضاع في المنطقة وتدعو جميع الأطراف "
    "إلى ضبط النفس والعودة إلى طاولة الحوار من أجل التوصل إلى حل سياسي شامل يحفظ أمن واستقرار الدول والشعوب "
    "وأضاف أن الاتصالات مستمرة مع الشركاء الإقليميين والدوليين لدعم جهود السلام وتخفيف المعاناة الإنسانية "
    "مشيرا إلى أن المساعدات الإغاثية ستصل خلال الأيام المقبلة إلى المناطق المتضررة عبر المنافذ البرية والجوية"
)
WORDS = RUN.split()
ROUNDUP = normalize("أخبار الصباح: ارتفاع أسعار النفط وافتتاح معرض الكتاب في جدة. " + RUN + " وفي الرياضة فاز الهلال على النصر")
TEASER = normalize(" ".join(WORDS[:30]))  # the first half of the item
OTHER = normalize("افتتح أمير المنطقة الشرقية معرض الكتاب الدولي في الدمام بمشاركة دور نشر عربية وأجنبية كثيرة هذا العام")


def _grams(texts, config):
    th, to = token_hashes(texts)
    return anchor_grams(th, to, config)


@pytest.mark.parametrize("sample", [1, 2, 8, 64])
def test_anchors_are_the_k_grams_in_the_sampled_slice(sample: int) -> None:
    config = IndexConfig(anchor_sample=sample)
    texts = [ROUNDUP, TEASER, OTHER, "", "قصير جدا"]
    th, to = token_hashes(texts)
    grams, rows = anchor_grams(th, to, config)
    every, offsets = word_shingles(th, to, config.anchor_k)
    owner = np.repeat(np.arange(len(texts)), np.diff(offsets))
    keep = [(int(g) >> 40) % sample == 0 for g in every]
    assert grams.tolist() == every[keep].tolist()
    assert rows.tolist() == owner[keep].tolist()
    assert np.all(np.diff(rows) >= 0) and rows.dtype == np.int64
    if sample == 1:
        assert len(grams) == len(every)  # everything, including the one gram of the short text


def test_a_shared_verbatim_run_shares_its_anchors() -> None:
    config = IndexConfig()
    grams, rows = _grams([ROUNDUP, TEASER, OTHER], config)
    per_row = [set(grams[rows == r].tolist()) for r in range(3)]
    # the anchors of the teaser all lie in the shared run: the roundup holds every one of them
    assert per_row[1] and per_row[1] <= per_row[0]
    assert not per_row[2] & (per_row[0] | per_row[1])


def test_anchor_pairs_find_the_contained_copy_and_nothing_else() -> None:
    config = IndexConfig()
    grams, rows = _grams([ROUNDUP, OTHER, TEASER], config)
    pairs, capped = anchor_pairs(grams, rows, config)
    assert pairs.tolist() == [[0, 2]] and capped == 0


def test_owners_are_article_positions_not_rows() -> None:
    config = IndexConfig()
    grams, rows = _grams([ROUNDUP, TEASER], config)
    owners = np.array([40, 17])[rows]  # rows of a chunk mapped to the articles' positions in the feed
    pairs, _ = anchor_pairs(grams, owners, config)
    assert pairs.tolist() == [[17, 40]]


def test_an_anchor_held_by_many_articles_is_a_star() -> None:
    config = IndexConfig(anchor_sample=1, max_bucket=3)
    texts = [TEASER] * 5  # five copies share every anchor
    grams, rows = _grams(texts, config)
    pairs, capped = anchor_pairs(grams, rows, config)
    assert pairs.tolist() == [[0, 1], [0, 2], [0, 3], [0, 4]]
    assert capped == len(set(grams.tolist()))


def test_no_text_no_anchor() -> None:
    grams, rows = _grams(["", ""], IndexConfig())
    assert len(grams) == len(rows) == 0
    pairs, capped = anchor_pairs(grams, rows, IndexConfig())
    assert pairs.shape == (0, 2) and capped == 0


def test_candidates_union_and_screen_as_keys_equal_the_pairwise_reference(monkeypatch) -> None:
    """LSH and anchor pairs joined and screened as one key a pair, in blocks: the pairs a pairwise union and screen give."""
    import dedup.candidates as candidates
    from dedup.candidates import anchor_keys, candidate_pairs, estimated_containment, lsh_pairs
    from dedup.candidates.buckets import normalize_pairs
    from dedup.config import MinHashConfig

    rng = np.random.default_rng(3)
    n = 60
    base = rng.integers(0, 50, size=(6, 128), dtype=np.uint32)
    sigs = base[rng.integers(0, 6, size=n)].copy()  # six families of near copies
    noise = rng.random(sigs.shape) < 0.4
    sigs[noise] = rng.integers(0, 1 << 30, size=int(noise.sum()), dtype=np.uint32)
    sizes = rng.integers(20, 400, size=n)
    grams = rng.integers(0, 40, size=300).astype(np.uint64)
    owners = np.sort(rng.integers(0, n, size=300))
    config = IndexConfig(min_estimate=0.3)
    minhash = MinHashConfig()
    keys, capped = anchor_keys(grams, owners, config)
    kept_keys = keys.copy()
    monkeypatch.setattr(candidates, "_SCREEN_BLOCK", 7)  # many blocks, one ending inside every run
    got = candidate_pairs(sigs, np.arange(n), (keys, capped), config, minhash, sizes=sizes)
    assert np.array_equal(keys, kept_keys)  # the caller's anchor keys are not touched

    bands, rows = candidates.band_params(config.threshold, minhash.num_perm, config.fp_weight)
    lsh, _ = lsh_pairs(sigs, np.arange(n), bands, rows, config.max_bucket)
    anchored, _ = anchor_pairs(grams, owners, config)
    union = normalize_pairs(np.concatenate([lsh, anchored]))
    want = union[estimated_containment(sigs, sizes, union) >= config.min_estimate]
    assert len(want) and got.screened_out == len(union) - len(want) > 0
    assert got.pairs.dtype == np.int64 and np.array_equal(got.pairs, want)
    assert (got.from_lsh, got.from_anchors, len(got)) == (len(lsh), len(anchored), len(want))
    both = len(lsh) + len(anchored) - len(union)  # the pairs both paths proposed: what makes the counts add up
    assert got.from_both == both > 0
    assert got.from_lsh + got.from_anchors - got.from_both == len(got) + got.screened_out
