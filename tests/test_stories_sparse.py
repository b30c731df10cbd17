"""dedup.stories.sparse: top_per_row picks each row's first k entries (the events tracker's neighbours) as a full sort would."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.stories.sparse import top_per_row


def _by_sorting(r: np.ndarray, col: np.ndarray, s: np.ndarray, k: int) -> np.ndarray:
    """The reference: sort every entry by (r, -s, col) and take each row's first k."""
    order = np.lexsort((col, -s, r))
    first = np.searchsorted(r[order], r[order], side="left")
    take = np.zeros(len(r), dtype=bool)
    take[order[(np.arange(len(r)) - first) < k]] = True
    return take


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.integers(0, 200), st.integers(1, 8))
def test_each_rows_first_k_as_a_full_sort_gives_them(seed: int, k: int, n: int, levels: int) -> None:
    rng = np.random.default_rng(seed)
    r = np.sort(rng.integers(0, 12, size=n))
    col = rng.permutation(10 * n + 1)[:n]  # distinct columns within a row, in any order
    s = rng.integers(0, levels, size=n) / levels  # few score levels: many ties
    assert top_per_row(r, col, s, k).tolist() == _by_sorting(r, col, s, k).tolist()


def test_rows_within_k_are_kept_whole_and_empty_input_is_fine() -> None:
    r, col, s = np.array([0, 0, 3]), np.array([1, 2, 0]), np.array([0.1, 0.2, 0.3])
    assert top_per_row(r, col, s, 2).tolist() == [True, True, True]
    assert top_per_row(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), 3).tolist() == []
