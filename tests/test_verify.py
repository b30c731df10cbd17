"""The verification rule as a table, and exact scores on small known sets."""

from __future__ import annotations

import numpy as np
import pytest

from dedup.config import VerifyConfig
from dedup.sketch.features import Features
from dedup.verify import CONTAINED, EXACT, NEAR, NONE, PairScores, decide, score_pairs

RULE = [  # jaccard, containment (shorter in longer), cosine, exact -> relation (defaults 0.4 / 0.6 / 0.5)
    (1.0, 1.0, 1.0, True, EXACT),
    (0.4, 0.5, 0.5, False, NEAR),  # at both near thresholds
    (0.9, 0.95, 0.49, False, CONTAINED),  # alike but the cosine fails near: contained still holds
    (0.39, 0.59, 0.9, False, NONE),  # just under both
    (0.1, 0.6, 0.1, False, CONTAINED),  # a short item in a long roundup: no cosine condition
    (0.45, 0.7, 0.2, False, CONTAINED),
    (0.0, 0.0, 0.0, False, NONE),
    (0.2, 0.3, 0.99, False, NONE),  # same topic words, little shared text
]


@pytest.mark.parametrize(("jac", "cont", "cos", "exact", "expected"), RULE, ids=[f"row{i}" for i in range(len(RULE))])
def test_decision_rule(jac: float, cont: float, cos: float, exact: bool, expected: int) -> None:
    scores = PairScores(np.array([jac]), np.array([cont]), np.array([cont * 0.5]), np.array([cos]), np.array([exact]))
    assert decide(scores, VerifyConfig()).tolist() == [expected]


def test_thresholds_move_the_rule() -> None:
    scores = PairScores(np.array([0.5]), np.array([0.65]), np.array([0.3]), np.array([0.6]), np.array([False]))
    assert decide(scores, VerifyConfig()).tolist() == [NEAR]
    assert decide(scores, VerifyConfig(jaccard=0.6)).tolist() == [CONTAINED]
    assert decide(scores, VerifyConfig(jaccard=0.6, containment=0.7)).tolist() == [NONE]


def test_exact_scores_of_known_sets() -> None:
    """Row 0 = {1,2,3,4}, row 1 = {3,4,5}, row 2 = {1,2,3,4} with the same digest as row 0."""
    shingles = np.array([1, 2, 3, 4, 3, 4, 5, 1, 2, 3, 4], dtype=np.uint64)
    offsets = np.array([0, 4, 7, 11])
    feats = Features.from_hashes(shingles, offsets, shingles, offsets)
    digest = np.array([7, 8, 7], dtype=np.uint64)
    s = score_pairs(feats, np.array([[0, 1], [0, 2]]), digest, None)
    assert s.jaccard.round(4).tolist() == [0.4, 1.0]
    assert s.contain_ij.round(4).tolist() == [0.5, 1.0] and s.contain_ji.round(4).tolist() == [0.6667, 1.0]
    assert s.exact.tolist() == [False, True]


def test_idf_is_bit_identical_to_scikit_learns_transformer() -> None:
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfTransformer

    from dedup.verify import TOKEN_COLUMNS, Idf

    rng = np.random.default_rng(5)

    def counts(rows: int) -> sp.csr_matrix:
        m = sp.random(rows, TOKEN_COLUMNS, density=40 / TOKEN_COLUMNS, format="csr", random_state=rng)
        m.data = np.ceil(m.data * 5)
        m.sum_duplicates()
        return m

    fitted, other = counts(300), counts(120)  # ``other`` has columns the fit never saw
    ours, theirs = Idf(fitted), TfidfTransformer(sublinear_tf=True).fit(fitted)
    a, b = ours.transform(other), theirs.transform(other).tocsr()
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert np.array_equal(a.data, b.data)  # bit for bit, not approximately
    assert np.array_equal(ours.transform(fitted).data, theirs.transform(fitted).tocsr().data)
    empty_row = sp.vstack([other, sp.csr_matrix((1, TOKEN_COLUMNS))]).tocsr()  # a row with nothing stays empty
    assert np.array_equal(ours.transform(empty_row).data, theirs.transform(empty_row).tocsr().data)
