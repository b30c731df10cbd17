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
