"""dedup.stories.sums: the compiled merge of two sparse sums gives NumPy's sum bit for bit; dot products."""

from __future__ import annotations

import numpy as np
import pytest

from dedup.stories import sums


def _row(rng: np.random.Generator, n: int, width: int, itype, vtype) -> sums.Sum:  # noqa: ANN001
    cols = np.sort(rng.choice(width, size=min(n, width), replace=False)).astype(itype)
    return cols, rng.random(len(cols)).astype(vtype)


@pytest.mark.parametrize("itypes", [(np.int32, np.int32), (np.int64, np.int32), (np.int32, np.int64)])
@pytest.mark.parametrize("vtypes", [(np.float32, np.float32), (np.float64, np.float32), (np.float64, np.float64)])
def test_compiled_add_has_numpys_bits(itypes, vtypes) -> None:
    rng = np.random.default_rng(7)
    for sizes, width in [((0, 0), 10), ((0, 5), 10), ((5, 0), 10), ((40, 40), 50), ((3, 300), 400), ((500, 2), 600),
                         ((1000, 1000), 100_000), ((64, 64), 64)]:
        p = _row(rng, sizes[0], width, itypes[0], vtypes[0])
        q = _row(rng, sizes[1], width, itypes[1], vtypes[1])
        want = sums.add(p, q)
        got = sums.add(p, q, compiled=True)
        assert got[0].dtype == want[0].dtype and got[1].dtype == np.float64 == want[1].dtype
        assert np.array_equal(got[0], want[0]) and got[1].tobytes() == want[1].tobytes(), (sizes, width)
        assert np.all(np.diff(got[0]) > 0)
        dense = np.zeros(width)
        np.add.at(dense, p[0], p[1].astype(np.float64))
        np.add.at(dense, q[0], q[1].astype(np.float64))
        assert np.array_equal(np.flatnonzero(dense), got[0]) and np.array_equal(dense[got[0]], got[1])


def test_a_sum_is_not_a_view_of_a_larger_buffer() -> None:
    """Shared columns shrink the merge: the compiled sum is trimmed to its own arrays (no slack held by an event)."""
    p = (np.array([1, 2, 3]), np.ones(3))
    idx, val = sums.add(p, p, compiled=True)
    assert idx.tolist() == [1, 2, 3] and val.tolist() == [2.0, 2.0, 2.0]
    assert idx.base is None and val.base is None


def test_dot_looks_up_the_shorter_side() -> None:
    a = (np.array([0, 3, 9], dtype=np.int32), np.array([1.0, 2.0, 3.0], dtype=np.float32))
    b = (np.array([3, 4, 5, 9]), np.array([0.5, 7.0, 7.0, 1.0]))
    assert sums.dot(a, b) == sums.dot(b, a) == 4.0
    assert sums.dot((np.zeros(0, np.int64), np.zeros(0)), b) == 0.0


def test_compiled_dot_has_numpys_bits() -> None:
    """Galloping to the shared columns finds the same products as bisection, so the same sum to the bit."""
    rng = np.random.default_rng(11)
    for sizes, width in [((1, 1), 3), ((1, 500), 600), ((5, 5000), 6000), ((300, 300), 400), ((300, 300), 100_000),
                         ((2000, 1990), 2000), ((50, 60), 60)]:
        for itypes in ((np.int32, np.int64), (np.int64, np.int64)):
            p = _row(rng, sizes[0], width, itypes[0], np.float32)
            q = _row(rng, sizes[1], width, itypes[1], np.float64)
            want = sums.dot(p, q)
            assert sums.dot(p, q, compiled=True) == want == sums.dot(q, p, compiled=True), (sizes, width)
    lo = (np.arange(0, 10), np.ones(10))
    hi = (np.arange(10, 20), np.ones(10))
    assert sums.dot(lo, hi, compiled=True) == 0.0 == sums.dot(hi, lo, compiled=True)  # disjoint either way round
    from dedup.stories.sums_kernel import shared_columns

    ka, kb = shared_columns(np.array([2, 5, 9, 40]), np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 40, 41]))
    assert ka.tolist() == [0, 1, 3] and kb.tolist() == [2, 5, 9]


@pytest.mark.parametrize("vtype", [np.float32, np.float64])
def test_rows_dot_sums_adds_in_column_order_compiled_or_not(vtype) -> None:
    """Rows against their owners' sums: the products over shared columns, added one after the other (both paths)."""
    rng = np.random.default_rng(11)
    width = 300
    sums_ = [_row(rng, n, width, np.int32, np.float64) for n in (0, 1, 40, 250)]
    rows = [(int(rng.integers(len(sums_))), _row(rng, n, width, np.int32, vtype)) for n in (0, 1, 3, 30, 120, 200, 300) * 3]
    ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r[1][0]) for r in rows], out=ptr[1:])
    idx, val = np.concatenate([r[1][0] for r in rows]), np.concatenate([r[1][1] for r in rows])
    owner = np.array([r[0] for r in rows], dtype=np.int64)
    s_ptr = np.zeros(len(sums_) + 1, dtype=np.int64)
    np.cumsum([len(c) for c, _ in sums_], out=s_ptr[1:])
    s_idx, s_val = np.concatenate([c for c, _ in sums_]), np.concatenate([v for _, v in sums_])
    plain = sums.rows_dot_sums(ptr, idx, val, owner, s_ptr, s_idx, s_val)
    compiled = sums.rows_dot_sums(ptr, idx, val, owner, s_ptr, s_idx, s_val, compiled=True)
    assert plain.tobytes() == compiled.tobytes()
    for q, (e, (cols, vals)) in enumerate(rows):
        shared, a, b = np.intersect1d(cols, sums_[e][0], return_indices=True)
        expected = 0.0
        for x, y in zip(vals[a].astype(np.float64), sums_[e][1][b]):
            expected += float(x) * float(y)
        assert plain[q] == expected, q
    assert (plain > 0).sum() > 10 and (plain == 0).sum() > 0
