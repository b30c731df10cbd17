"""dedup.stories.score: the three pair features by hand, the logistic score, the template and slot penalties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from dedup.config import StoriesConfig
from dedup.stories.score import SCORE_FEATURES, score_features, story_scores
from dedup.stories.slots import Slots, slot_rows
from dedup.stories.vectors import number_sets, story_vectors, token_counts
from dedup.text.normalize import normalize

# Four unit rows in two dimensions: cos(0, 1) = 0.6, cos(0, 2) = 0, cos(0, 3) = -1.
VECTORS = sp.csr_matrix(np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-1.0, 0.0]]))
# Number sets over three number columns: row 0 {a, b}, row 1 {b, c}, rows 2 and 3 none.
NUMBERS = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
LENGTHS = np.array([9, 99, 0, 0])

FEATURE_TABLE = [
    # pair, (sqrt_cosine, length_ratio, shared_numbers) worked out by hand
    pytest.param((0, 1), (math.sqrt(0.6), math.log(10 / 100), 1 / 3), id="partial-overlap"),
    pytest.param((1, 0), (math.sqrt(0.6), math.log(10 / 100), 1 / 3), id="order-of-the-pair-does-not-matter"),
    pytest.param((0, 2), (0.0, math.log(1 / 10), 0.0), id="orthogonal-one-side-without-numbers"),
    pytest.param((2, 3), (0.0, 0.0, 0.0), id="neither-has-numbers-or-tokens"),
    pytest.param((0, 3), (0.0, math.log(1 / 10), 0.0), id="negative-cosine-clipped-to-zero"),
    pytest.param((1, 1), (1.0, 0.0, 1.0), id="a-row-with-itself"),
]


@pytest.mark.parametrize(("pair", "expected"), FEATURE_TABLE)
def test_score_features_table(pair, expected) -> None:
    got = score_features(VECTORS, NUMBERS, LENGTHS, np.array([pair]))
    assert got.shape == (1, len(SCORE_FEATURES))
    np.testing.assert_allclose(got[0], expected, atol=1e-12)


def test_score_features_of_no_pair() -> None:
    assert score_features(VECTORS, NUMBERS, LENGTHS, np.zeros((0, 2), dtype=np.int64)).shape == (0, 3)
    assert story_scores(VECTORS, NUMBERS, LENGTHS, np.zeros((0, 2), dtype=np.int64)).shape == (0,)


def test_feature_names_are_the_columns() -> None:
    assert SCORE_FEATURES == ("sqrt_cosine", "length_ratio", "shared_numbers")


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _expected_score(features, config: StoriesConfig) -> float:
    cos, ratio, shared = features
    z = config.score_intercept + config.score_cosine * cos + config.score_length * ratio + config.score_numbers * shared
    return _sigmoid(z)


@pytest.mark.parametrize(("pair", "features"), [p.values for p in FEATURE_TABLE])
def test_score_is_the_logistic_of_the_weighted_features(pair, features) -> None:
    # no row carries min_numbers (3) numbers: no template penalty anywhere in this table
    config = StoriesConfig()
    got = story_scores(VECTORS, NUMBERS, LENGTHS, np.array([pair]), config)
    assert got[0] == pytest.approx(_expected_score(features, config), rel=1e-12)
    assert 0.0 < got[0] < 1.0


def test_other_weights_give_another_score() -> None:
    config = StoriesConfig(score_intercept=0.0, score_cosine=1.0, score_length=0.0, score_numbers=0.0)
    got = story_scores(VECTORS, NUMBERS, LENGTHS, np.array([[0, 1], [0, 2]]), config)
    np.testing.assert_allclose(got, [_sigmoid(math.sqrt(0.6)), 0.5])


def _pair(cos: float, left: tuple[int, ...], right: tuple[int, ...], config: StoriesConfig, lengths=(50, 50)) -> float:
    """The score of one pair with this cosine and these number sets (number = column)."""
    x = sp.csr_matrix(np.array([[1.0, 0.0], [cos, math.sqrt(1.0 - cos * cos)]]))
    width = max((*left, *right), default=0) + 1
    nums = np.zeros((2, width))
    nums[0, list(left)] = 1.0
    nums[1, list(right)] = 1.0
    return float(story_scores(x, sp.csr_matrix(nums), np.array(lengths), np.array([[0, 1]]), config)[0])


TEMPLATE = StoriesConfig(min_numbers=3, template_cosine=0.5, number_penalty=0.3)
TEMPLATE_TABLE = [
    # cosine, numbers of each side, penalised?
    pytest.param(0.8, (1, 2, 3), (4, 5, 6), True, id="alike-wording-disjoint-numbers"),
    pytest.param(0.51, (1, 2, 3), (4, 5, 6), True, id="just-over-template-cosine"),
    pytest.param(0.49, (1, 2, 3), (4, 5, 6), False, id="just-under-template-cosine"),
    pytest.param(0.8, (1, 2, 3), (3, 5, 6), False, id="one-shared-number"),
    pytest.param(0.8, (1, 2), (4, 5, 6), False, id="one-side-under-min-numbers"),
    pytest.param(0.8, (1, 2, 3, 7, 8), (4, 5, 6), True, id="more-numbers-on-one-side-still-disjoint"),
    pytest.param(0.8, (), (), False, id="no-numbers"),
    pytest.param(1.0, (1, 2, 3), (4, 5, 6), True, id="identical-wording"),
]


@pytest.mark.parametrize(("cos", "left", "right", "penalised"), TEMPLATE_TABLE)
def test_template_rule_table(cos, left, right, penalised) -> None:
    neutral = StoriesConfig(min_numbers=3, template_cosine=0.5, number_penalty=1.0)
    base = _pair(cos, left, right, neutral)
    got = _pair(cos, left, right, TEMPLATE)
    assert got == pytest.approx(base * (0.3 if penalised else 1.0), rel=1e-12)


def test_min_numbers_and_penalty_come_from_the_config() -> None:
    left, right = (1, 2), (4, 5)
    neutral = StoriesConfig(number_penalty=1.0, min_numbers=2)
    assert _pair(0.9, left, right, StoriesConfig(min_numbers=2, number_penalty=0.1)) == pytest.approx(
        0.1 * _pair(0.9, left, right, neutral)
    )
    assert _pair(0.9, left, right, StoriesConfig(min_numbers=3, number_penalty=0.1)) == pytest.approx(
        _pair(0.9, left, right, neutral)
    )


def test_length_ratio_raises_the_score_of_a_short_report_inside_a_long_one() -> None:
    # the fitted length weight is negative and the ratio is <= 0: a shorter report at the same cosine scores higher
    config = StoriesConfig()
    assert config.score_length < 0
    same = _pair(0.4, (), (), config, lengths=(200, 200))
    short_in_long = _pair(0.4, (), (), config, lengths=(20, 200))
    assert short_in_long > same


# Slot rows of four reports on one template, filled with three countries (rows 0 and 3 with the same one).
_SLOT_TEXTS = [f"رييس جمهوريه {c} بمناسبه ذكري استقلال" for c in ["بنين", "النيجر", "موريشيوس", "بنين"]]
_SLOT_PAIRS = np.array([[0, 1], [0, 3], [1, 2]])  # template frames filled differently: 2, 0, 2


def _slot_inputs():
    x = sp.csr_matrix(np.eye(4))  # cosines 0: no template-number rule, the slot rule alone
    nums = sp.csr_matrix((4, 1))
    return x, nums, np.full(4, 6), Slots.learn(slot_rows(_SLOT_TEXTS, []), 3)


@pytest.mark.parametrize(
    ("slot_penalty", "min_conflicts", "factors"),
    [
        pytest.param(0.5, 1, [0.5, 1.0, 0.5], id="on"),
        pytest.param(0.5, 2, [0.5, 1.0, 0.5], id="at-min-conflicts"),
        pytest.param(0.5, 3, [1.0, 1.0, 1.0], id="under-min-conflicts"),
        pytest.param(1.0, 1, [1.0, 1.0, 1.0], id="off-by-default-penalty"),
    ],
)
def test_slot_rule_table(slot_penalty, min_conflicts, factors) -> None:
    x, nums, lengths, slots = _slot_inputs()
    base = story_scores(x, nums, lengths, _SLOT_PAIRS, StoriesConfig())
    got = story_scores(x, nums, lengths, _SLOT_PAIRS, StoriesConfig(slot_penalty=slot_penalty, slot_min_conflicts=min_conflicts), slots)
    np.testing.assert_allclose(got, base * np.array(factors), rtol=1e-12)


def test_without_slots_the_slot_penalty_does_nothing() -> None:
    x, nums, lengths, _ = _slot_inputs()
    config = StoriesConfig(slot_penalty=0.5)
    np.testing.assert_array_equal(
        story_scores(x, nums, lengths, _SLOT_PAIRS, config, None), story_scores(x, nums, lengths, _SLOT_PAIRS, StoriesConfig())
    )


def test_number_and_slot_penalties_multiply() -> None:
    # the same pair is a numbers template and fills a frame differently: both factors apply
    texts = [f"رييس جمهوريه {c} بمناسبه ذكري استقلال" for c in ["بنين", "النيجر", "موريشيوس"]]
    slots = Slots.learn(slot_rows(texts, []), 3)
    x = sp.csr_matrix(np.array([[1.0, 0.0], [0.9, math.sqrt(1 - 0.81)], [0.0, 1.0]]))
    nums = sp.csr_matrix(np.array([[1.0, 1.0, 1.0, 0, 0, 0], [0, 0, 0, 1.0, 1.0, 1.0], [0, 0, 0, 0, 0, 0]]))
    pair = np.array([[0, 1]])
    lengths = np.full(3, 6)
    plain = StoriesConfig(number_penalty=1.0)
    both = StoriesConfig(number_penalty=0.3, slot_penalty=0.5)
    assert story_scores(x, nums, lengths, pair, both, slots)[0] == pytest.approx(
        0.15 * story_scores(x, nums, lengths, pair, plain, slots)[0]
    )


def test_a_pair_scores_the_same_in_any_order_and_company() -> None:
    rng = np.random.default_rng(7)
    dense = rng.random((12, 30)) * (rng.random((12, 30)) < 0.4)
    dense /= np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-12)
    x = sp.csr_matrix(dense)
    nums = sp.csr_matrix((rng.random((12, 8)) < 0.4).astype(np.float64))
    lengths = rng.integers(0, 300, 12)
    pairs = np.array([(i, j) for i in range(12) for j in range(i + 1, 12)])
    scores = story_scores(x, nums, lengths, pairs)
    perm = rng.permutation(len(pairs))
    np.testing.assert_array_equal(story_scores(x, nums, lengths, pairs[perm]), scores[perm])
    np.testing.assert_allclose(story_scores(x, nums, lengths, pairs[:, ::-1]), scores, rtol=1e-12)
    assert np.all((scores > 0) & (scores < 1))


def test_arabic_reports_of_one_event_outscore_an_unrelated_pair_and_a_template_is_damped() -> None:
    raw = [
        "أعلنت وزارة الصحة السعودية اليوم تسجيل حالات جديدة من فيروس كورونا في الرياض وجدة",
        "سجلت وزارة الصحة في المملكة حالات جديدة بفيروس كورونا في مدينتي الرياض وجدة اليوم",
        "افتتح أمير المنطقة الشرقية معرض الكتاب الدولي في الدمام بمشاركة دور نشر عربية",
        "درجة الحرارة العظمى في الرياض اليوم 45 والصغرى 31 وسرعة الرياح 12",
        "درجة الحرارة العظمى في الرياض اليوم 43 والصغرى 29 وسرعة الرياح 18",
    ]
    texts = [normalize(t) for t in raw]
    config = StoriesConfig()
    x = story_vectors(texts, [""] * len(texts), config)
    nums, lengths = number_sets(texts), token_counts(texts)
    pairs = np.array([[0, 1], [0, 2], [3, 4]])
    s = story_scores(x, nums, lengths, pairs, config)
    assert s[0] > s[1]
    undamped = story_scores(x, nums, lengths, pairs, StoriesConfig(number_penalty=1.0))
    assert s[2] == pytest.approx(undamped[2] * config.number_penalty)
    np.testing.assert_array_equal(s[:2], undamped[:2])
