"""The compiled pair dots give pair_dots' NumPy sums bit for bit (dedup.stories.dots_kernel)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from dedup.stories import sparse
from dedup.stories.dots_kernel import _pairwise, sorted_pair_dots
from dedup.stories.sparse import l2_rows, pair_dots


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 15, 16, 17, 127, 128, 129, 130, 255, 256, 1000, 4099])
def test_pairwise_is_numpys_segment_sum(n: int) -> None:
    x = np.random.default_rng(n).random(n) * 10.0 ** np.random.default_rng(n).integers(-3, 4, n)
    assert x[0] + _pairwise(x, 1, n - 1) == np.add.reduceat(x, [0])[0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", range(10))
def test_kernel_pair_dots_equal_numpy(monkeypatch: pytest.MonkeyPatch, seed: int, dtype: type) -> None:
    """Float64 rows, and float32 ones (the tracker's window) taken as they are: each value widened, then multiplied."""
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(1, 150)), int(rng.integers(1, 2000))
    a = l2_rows(sp.csr_matrix((rng.random((n, d)) < rng.uniform(0.002, 0.6)) * rng.random((n, d))))
    a = a.astype(dtype)
    m = int(rng.integers(0, 30_000))
    i, j = rng.integers(0, n, m), rng.integers(0, n, m)
    monkeypatch.setattr(sparse, "KERNEL_ROWS", 10**12)
    want = pair_dots(a, i, a, j)
    order = np.argsort(i, kind="stable")
    for threads in (1, 2, 3):
        got = np.zeros(m)
        got[order] = sorted_pair_dots(a, i[order], a, j[order], threads)
        assert np.array_equal(want, got)
    monkeypatch.setattr(sparse, "KERNEL_ROWS", 0)  # pair_dots itself takes the kernel from KERNEL_ROWS rows
    assert np.array_equal(want, pair_dots(a, i, a, j, threads=2))
