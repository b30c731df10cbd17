"""dedup.verify.scores: hashed rows, the IDF, exact pair scores against set arithmetic, the decision table."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from dedup.config import VerifyConfig
from dedup.sketch.features import Features
from dedup.verify.scores import (
    CONTAINED,
    EXACT,
    NEAR,
    NONE,
    RELATIONS,
    SHINGLE_COLUMNS,
    TOKEN_COLUMNS,
    Idf,
    PairScores,
    common_columns,
    count_matrix,
    decide,
    fit_idf,
    hashed_rows,
    score_pairs,
    shingle_matrix,
)


@pytest.mark.parametrize("binary", [False, True])
def test_hashed_rows_count_hash_buckets_per_row(binary: bool) -> None:
    hashes = np.array([5, 13, 2, 7, 7, 7, 1 << 40], dtype=np.uint64)
    offsets = np.array([0, 3, 3, 7])  # the middle row is empty
    m = hashed_rows(hashes, offsets, 8, binary)
    expected = np.zeros((3, 8))
    for row in range(3):
        for h in hashes[offsets[row] : offsets[row + 1]]:
            expected[row, int(h) % 8] += 1
    if binary:
        expected = (expected > 0).astype(float)
    assert m.shape == (3, 8) and m.has_canonical_format
    np.testing.assert_array_equal(m.toarray(), expected)


def test_feature_matrices_have_the_documented_widths() -> None:
    feats = Features.from_hashes(np.array([3, 4, 4], dtype=np.uint64), np.array([0, 3]), np.array([9, 9, 1], dtype=np.uint64), np.array([0, 3]))
    sh, counts = shingle_matrix(feats), count_matrix(feats)
    assert sh.shape == (1, SHINGLE_COLUMNS) and counts.shape == (1, TOKEN_COLUMNS)
    assert sh.dtype == np.float32 and sh.indices.tolist() == [3, 4] and sh.data.tolist() == [1.0, 1.0]
    assert dict(zip(counts.indices.tolist(), counts.data.tolist())) == {1: 1.0, 9: 2.0}


def _rows(*rows: dict[int, int]) -> sp.csr_matrix:
    m = sp.lil_matrix((len(rows), TOKEN_COLUMNS))
    for r, row in enumerate(rows):
        for c, v in row.items():
            m[r, c] = v
    out = m.tocsr()
    out.sum_duplicates()
    return out


def test_idf_by_hand_including_an_unseen_column() -> None:
    # fitted on 3 rows: column 1 in all three, column 2 in one; column 7 never seen
    idf = Idf(_rows({1: 1, 2: 4}, {1: 2}, {1: 1}))
    w1, w2, w7 = math.log(4 / 4) + 1, math.log(4 / 2) + 1, math.log(4 / 1) + 1
    np.testing.assert_allclose(idf.idf, [w1, w2])
    assert idf.unseen == pytest.approx(w7)
    x = idf.transform(_rows({1: 1, 2: math.e, 7: 1}))  # sublinear: 1 + ln(e) = 2
    raw = np.array([1 * w1, 2 * w2, 1 * w7])
    np.testing.assert_allclose(x.data, raw / np.linalg.norm(raw), rtol=1e-12)


def test_idf_fitted_on_nothing_weighs_every_column_alike() -> None:
    idf = Idf(sp.csr_matrix((0, TOKEN_COLUMNS)))
    assert idf.unseen == pytest.approx(1.0)  # ln(1) + 1
    x = idf.transform(_rows({3: 1, 4: 1}, {}))
    np.testing.assert_allclose(x.toarray()[0, [3, 4]], [1 / math.sqrt(2)] * 2)
    assert x[1].nnz == 0


def test_idf_of_a_large_block_equals_the_idf_row_by_row() -> None:
    # a verification block holds hundreds of thousands of values, a service request a few: the same weights
    rng = np.random.default_rng(2)
    rows, per_row = 800, 100
    cols = rng.integers(0, 3000, (rows, per_row))
    cols[500:, :50] += 3000  # half the words of the rows not fitted on were never seen
    cols = cols * 1009 % TOKEN_COLUMNS  # spread over the width
    counts = sp.csr_matrix((rng.integers(1, 5, rows * per_row).astype(float), (np.repeat(np.arange(rows), per_row), cols.ravel())),
                           shape=(rows, TOKEN_COLUMNS))
    counts.sum_duplicates()
    fit = counts[:500]
    idf = Idf(fit)
    big = idf.transform(counts)
    assert big.nnz > 70_000
    df = np.bincount(fit.indices, minlength=TOKEN_COLUMNS)
    weight = np.where(df > 0, np.log((500 + 1) / (df + 1.0)) + 1.0, math.log(501) + 1.0)
    raw = (1.0 + np.log(counts.data)) * weight[counts.indices]
    norms = np.sqrt(np.add.reduceat(raw**2, counts.indptr[:-1]))
    np.testing.assert_allclose(big.data, raw / np.repeat(norms, np.diff(counts.indptr)), rtol=1e-12)
    assert not np.isin(counts[500:].indices, fit.indices).all()
    for lo in (0, 450, 790):  # rows fitted on, and rows with unseen columns, a few at a time
        small = idf.transform(counts[lo : lo + 10])
        assert np.array_equal(small.data, big[lo : lo + 10].data)


class _Source:
    """A feature source that records which rows it was asked for."""

    def __init__(self, features: Features) -> None:
        self.features, self.asked = features, []

    def __len__(self) -> int:
        return len(self.features)

    def gather(self, rows: np.ndarray) -> Features:
        self.asked.append(rows.tolist())
        return self.features.gather(rows)


def _features(sets: list[list[int]], tokens: list[list[int]]) -> Features:
    sh = np.array([h for s in sets for h in s], dtype=np.uint64)
    so = np.cumsum([0] + [len(s) for s in sets])
    th = np.array([h for t in tokens for h in t], dtype=np.uint64)
    to = np.cumsum([0] + [len(t) for t in tokens])
    return Features.from_hashes(sh, so, th, to)


@pytest.mark.parametrize(("n", "sample", "rows"), [(10, 4, [0, 3, 6, 9]), (3, 5000, [0, 1, 2]), (5, 1, [0]), (1, 3, [0])])
def test_fit_idf_samples_evenly_spaced_rows(n, sample, rows) -> None:
    source = _Source(_features([[k] for k in range(n)], [[k, 100] for k in range(n)]))
    idf = fit_idf(source, sample)
    assert source.asked == [rows]
    assert idf is not None and idf.columns.tolist() == sorted({*rows, 100})


def test_fit_idf_of_an_empty_source_is_none() -> None:
    assert fit_idf(_Source(Features.empty())) is None


def _rare_and_common() -> tuple[list[int], list[int]]:
    common = common_columns()
    assert len(common) > 100 and np.all(np.diff(common) > 0)
    common_set = set(common.tolist())
    rare = [c for c in range(1, 5000) if c not in common_set][:40]
    return rare, common[:40].tolist()


def _reference(sets, tokens, digest, i, j, idf: Idf, common: set[int]) -> dict[str, float]:
    a, b = set(sets[i]), set(sets[j])
    inter, union = len(a & b), len(a | b)

    def vector(row):
        counts: dict[int, int] = {}
        for t in tokens[row]:
            counts[t] = counts.get(t, 0) + 1
        cols = dict(zip(idf.columns.tolist(), idf.idf.tolist()))
        v = {t: (1 + math.log(c)) * cols.get(t, idf.unseen) for t, c in counts.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {t: x / norm for t, x in v.items()}

    vi, vj = vector(i), vector(j)
    ri, rj = set(tokens[i]) - common, set(tokens[j]) - common
    exact = digest[i] == digest[j]
    return {
        "jaccard": 1.0 if exact else (inter / union if union else 0.0),
        "contain_ij": 1.0 if exact else (inter / len(a) if a else 0.0),
        "contain_ji": 1.0 if exact else (inter / len(b) if b else 0.0),
        "cosine": 1.0 if exact else min(1.0, max(0.0, sum(x * vj.get(t, 0.0) for t, x in vi.items()))),
        "exact": exact,
        "size_i": len(a),
        "size_j": len(b),
        "rare_inter": len(ri & rj),
        "rare_i": len(ri),
        "rare_j": len(rj),
        "words_inter": len(set(tokens[i]) & set(tokens[j])),
        "words_i": len(set(tokens[i])),
        "words_j": len(set(tokens[j])),
    }


@pytest.mark.parametrize("block", [1, 3, 20_000])
def test_scores_match_set_arithmetic(block: int) -> None:
    rng = np.random.default_rng(11)
    rare, common = _rare_and_common()
    n = 12
    sets = [sorted(set(rng.integers(0, 30, rng.integers(0, 15)).tolist())) for _ in range(n)]
    sets[3] = []  # an empty shingle set
    tokens = [rng.choice(rare[:15] + common[:10], rng.integers(1, 12)).tolist() for _ in range(n)]
    sets[7], tokens[7] = sets[6], tokens[6]
    digest = np.arange(n, dtype=np.uint64)
    digest[7] = digest[6]  # an exact copy
    feats = _features(sets, tokens)
    idf = Idf(count_matrix(feats))
    pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)])
    got = score_pairs(feats, pairs, digest, idf, block=block)
    for k, (i, j) in enumerate(pairs.tolist()):
        ref = _reference(sets, tokens, digest, i, j, idf, set(common_columns().tolist()))
        for name, value in ref.items():
            assert getattr(got, name)[k] == pytest.approx(value, abs=1e-9), (i, j, name)
    assert got.probability is None


def test_the_compiled_merge_scores_bit_for_bit_as_scipy() -> None:
    """Real rows (long, overlapping shingle sets; Arabic and Latin tokens), pairs in any order, empty rows and self-pairs."""
    rng = np.random.default_rng(5)
    rare, common = _rare_and_common()
    base = [sorted(set(rng.integers(0, 5000, 700).tolist())) for _ in range(6)]
    sets, tokens = [], []
    for k in range(60):
        own = base[k % 6]
        keep = rng.random(len(own)) < rng.uniform(0.3, 1.0)
        sets.append(sorted({*np.array(own)[keep].tolist(), *rng.integers(0, 1 << 26, rng.integers(0, 200)).tolist()}))
        tokens.append(rng.choice(rare + common, rng.integers(1, 300)).tolist())
    sets[9], tokens[9] = [], []
    feats = _features(sets, tokens)
    idf = Idf(count_matrix(feats))
    pairs = rng.integers(0, 60, (3000, 2))
    pairs[:5] = [[9, 9], [9, 1], [1, 1], [59, 0], [0, 59]]
    digest = np.arange(60, dtype=np.uint64)
    ref = score_pairs(feats, pairs, digest, idf)
    got = score_pairs(feats, pairs, digest, idf, compiled=True)
    for f in ("jaccard", "contain_ij", "contain_ji", "cosine", "size_i", "size_j", "rare_inter", "rare_i", "rare_j",
              "words_inter", "words_i", "words_j"):
        assert np.array_equal(getattr(got, f), getattr(ref, f)), f
    assert 0 < ref.cosine[5:].mean() < 1 and 0 < ref.jaccard[5:].mean() < 1


@pytest.mark.parametrize("binary", [False, True])
def test_the_row_tables_score_bit_for_bit_as_the_merge_and_scipy(binary: bool) -> None:
    """Pairs sorted by their first row (runs of one row against many: how candidates come), scored by the row's tables,
    by the merge alone, by tables whose every build fails part-way (the run falls back to the merge), and by SciPy."""
    from dedup.verify.kernels import pair_dots
    from dedup.verify.scores import _rowwise_dot

    rng = np.random.default_rng(11)
    base = [np.unique(rng.integers(0, 1 << 26, 600)) for _ in range(4)]
    rows = []
    for k in range(80):
        own = base[k % 4][rng.random(len(base[k % 4])) < rng.uniform(0.2, 1.0)]
        rows.append(np.unique(np.concatenate([own, rng.integers(0, 1 << 26, rng.integers(0, 300))])))
    rows[7] = rows[7][:0]  # an empty row, first and second
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    values = np.ones(indptr[-1]) if binary else rng.uniform(0.01, 3.0, indptr[-1])
    m = sp.csr_matrix((values, np.concatenate(rows).astype(np.int32), indptr), shape=(80, 1 << 26))
    flagged = None if binary else rng.random(1 << 26) < 0.4
    pairs = np.unique(rng.integers(0, 80, (4000, 2)), axis=0)  # sorted: ~50 pairs a first row
    pairs = np.concatenate([pairs, [[7, 7], [7, 3], [3, 7], [5, 5]]])
    i, j = pairs.T
    ref = _rowwise_dot(m, i, j, flagged=flagged, binary=binary)
    for min_run, kicks in ((1, 64), (10**9, 64), (1, 0), (1, 1)):
        got = pair_dots(m, i, j, flagged, binary, min_run=min_run, kicks=kicks)
        for g, r in zip(got, ref):
            assert (g is None and r is None) or np.array_equal(g, r), (min_run, kicks)
    assert 0 < ref[2].mean() < 600


def test_pairs_of_empty_sets_score_zero() -> None:
    feats = _features([[], [], [1, 2]], [[], [], [5]])
    s = score_pairs(feats, np.array([[0, 1], [0, 2]]), np.array([1, 2, 3], dtype=np.uint64), Idf(count_matrix(feats)))
    for name in ("jaccard", "contain_ij", "contain_ji", "cosine"):
        assert getattr(s, name).tolist() == [0.0, 0.0], name
    assert s.exact.tolist() == [False, False]


def test_no_pairs() -> None:
    feats = _features([[1]], [[1]])
    s = score_pairs(feats, np.zeros((0, 2), dtype=np.int64), np.zeros(1, dtype=np.uint64), None)
    assert all(len(getattr(s, name)) == 0 for name in ("jaccard", "contain_ij", "contain_ji", "cosine", "exact"))


def test_a_pair_scores_the_same_in_either_order_with_containment_swapped() -> None:
    feats = _features([[1, 2, 3, 4], [3, 4, 5]], [[1, 2, 3], [3, 4]])
    idf = Idf(count_matrix(feats))
    digest = np.array([1, 2], dtype=np.uint64)
    ab, ba = (score_pairs(feats, np.array([p]), digest, idf) for p in ([0, 1], [1, 0]))
    assert ab.jaccard.tolist() == ba.jaccard.tolist() == [0.4]
    assert (ab.contain_ij[0], ab.contain_ji[0]) == (ba.contain_ji[0], ba.contain_ij[0]) == (0.5, pytest.approx(2 / 3))
    assert ab.cosine[0] == pytest.approx(ba.cosine[0])
    assert ab.containment[0] == pytest.approx(2 / 3)  # the shorter article's


def _scores(jac, cij, cji, cos, exact) -> PairScores:
    return PairScores(*(np.array(v, dtype=float) for v in (jac, cij, cji, cos)), np.array(exact, dtype=bool))


def test_take_keeps_the_selected_pairs_and_leaves_absent_fields_absent() -> None:
    s = _scores([0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9], [0.0, 0.5, 1.0], [False, True, False])
    by_mask = s.take(np.array([True, False, True]))
    by_position = s.take(np.array([2, 0]))
    assert by_mask.jaccard.tolist() == [0.1, 0.3] and by_mask.exact.tolist() == [False, False]
    assert by_position.cosine.tolist() == [1.0, 0.0] and by_position.contain_ji.tolist() == [0.9, 0.7]
    assert by_mask.size_i is None and by_mask.probability is None
    p = s.with_probability(np.array([0.9, 0.1, 0.5]))
    assert p.take(np.array([1])).probability.tolist() == [0.1] and s.probability is None


# defaults: jaccard 0.4, containment 0.6, min_cosine 0.5
DECISION = [
    # jaccard, c_ij, c_ji, cosine, exact -> relation
    pytest.param(0.0, 0.0, 0.0, 0.0, True, EXACT, id="exact-whatever-the-scores"),
    pytest.param(0.4, 0.0, 0.0, 0.5, False, NEAR, id="near-at-both-thresholds"),
    pytest.param(0.4, 0.0, 0.0, 0.4999, False, NONE, id="near-needs-the-cosine"),
    pytest.param(0.3999, 0.0, 0.0, 1.0, False, NONE, id="near-needs-the-jaccard"),
    pytest.param(0.9, 0.95, 0.9, 0.9, False, NEAR, id="near-wins-over-contained"),
    pytest.param(0.1, 0.0, 0.6, 0.0, False, CONTAINED, id="contained-either-way-at-threshold"),
    pytest.param(0.1, 0.6, 0.0, 0.0, False, CONTAINED, id="contained-the-other-way"),
    pytest.param(0.1, 0.5999, 0.5999, 1.0, False, NONE, id="contained-just-under"),
    pytest.param(0.45, 0.7, 0.2, 0.2, False, CONTAINED, id="alike-but-low-cosine-falls-back-to-contained"),
]


@pytest.mark.parametrize(("jac", "cij", "cji", "cos", "exact", "expected"), DECISION)
def test_decision_table(jac, cij, cji, cos, exact, expected) -> None:
    assert decide(_scores([jac], [cij], [cji], [cos], [exact]), VerifyConfig()).tolist() == [expected]


def test_decision_of_many_pairs_and_of_none() -> None:
    rows = [p.values[:5] for p in DECISION]
    s = _scores(*(list(col) for col in zip(*rows)))
    got = decide(s, VerifyConfig())
    assert got.dtype == np.int8 and got.tolist() == [p.values[5] for p in DECISION]
    assert decide(_scores([], [], [], [], []), VerifyConfig()).tolist() == []
    assert RELATIONS == {NONE: None, EXACT: "exact", NEAR: "near", CONTAINED: "contained"}


@pytest.mark.parametrize("decision", ["model", "rule"])
def test_ready_to_verify_loads_what_scoring_reads_and_fits_the_idf_when_asked(decision: str) -> None:
    """What the workers run beside the candidate stage: the common-word table (and the model) loaded, the IDF fitted as ``fit_idf`` fits it."""
    from dataclasses import replace

    from dedup.config import DedupConfig
    from dedup.flows.dedupe import _ready_to_verify
    from dedup.verify.decision import load_model
    from dedup.verify.scores import _common_mask

    config = DedupConfig()
    config = replace(config, verify=replace(config.verify, decision=decision))
    _common_mask.cache_clear()
    load_model.cache_clear()
    source = _Source(_features([[k] for k in range(6)], [[k, 100] for k in range(6)]))
    assert _ready_to_verify(None, config, False) is None and _ready_to_verify(source, config, False) is None
    assert source.asked == []  # nothing read unless the IDF is asked for
    assert _common_mask.cache_info().currsize == 1
    assert load_model.cache_info().currsize == (1 if decision == "model" else 0)
    idf, expected = _ready_to_verify(source, config, True), fit_idf(_Source(source.features))
    assert idf is not None and expected is not None
    assert idf.columns.tolist() == expected.columns.tolist() and idf.idf.tolist() == expected.idf.tolist()
