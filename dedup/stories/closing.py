"""What a closing event leaves behind: its representative member and its truncated story centroid.

The event tracker (:mod:`dedup.stories.events`) closes a day's worth of events
at once, when their first report leaves the window. For each it keeps the
member nearest the event's summed story vector (the report shown for it) and
the event's centroid cut to its largest weights, in hashed columns (what
storylines compare). Both are computed here for all the closing events
together: a dense day closes thousands, and one event at a time cost the
tracker's main thread about a quarter of its time on the dense 1M feed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import sums
from .sparse import top_entries

__all__ = ["MEMBERS", "TIE", "representatives", "story_centroid"]

TIE = 1e-6  # members whose closeness to their event's sum differs by less are equally close (float32 rows round at ~1e-7)
MEMBERS = 4096  # members whose rows are copied at once (~1,400 entries each: ~50 MB with their events' sums, not a day's ~0.5 GB)

Rows = tuple[np.ndarray, np.ndarray, np.ndarray]  # CSR (indptr, indices, data) of some story rows, in a given order


def representatives(labels: list[int], members: list[list[int]], summed: list[sums.Sum],
                    rows: Callable[[np.ndarray], Rows], compiled: bool = False) -> np.ndarray:
    """Each event's member nearest its summed story vector: the first (in ``members``' order) within :data:`TIE` of the nearest.

    A member's closeness is its row's dot product with its event's sum, the
    products over the shared columns added in column order
    (:func:`dedup.stories.sums.rows_dot_sums`, the events' members a batch of about :data:`MEMBERS` at a time).

    Args:
        labels: the events (their labels), one per entry of ``members`` and ``summed``.
        members: each event's members, sorted.
        summed: each event's summed story vector (a lone member's is its own row).
        rows: the story rows of an array of members (sorted columns), in its order.
        compiled: use the compiled pass (large feeds, where numba's import is already paid).

    Returns:
        ``(len(labels),)`` the representative of each event (a lone member is its own).
    """
    reps = np.asarray(labels, dtype=np.int64)
    multi = [i for i, g in enumerate(members) if len(g) > 1]
    lo = 0
    while lo < len(multi):  # events in batches of about MEMBERS members: their rows are copied together
        hi, held = lo, 0
        while hi < len(multi) and (hi == lo or held + len(members[multi[hi]]) <= MEMBERS):
            held += len(members[multi[hi]])
            hi += 1
        batch = multi[lo:hi]
        reps[batch] = _nearest([members[i] for i in batch], [summed[i] for i in batch], rows, compiled)
        lo = hi
    return reps


def _nearest(members: list[list[int]], summed: list[sums.Sum], rows: Callable[[np.ndarray], Rows], compiled: bool) -> np.ndarray:
    """:func:`representatives` of events of more than one member each."""
    sizes = np.array([len(g) for g in members])
    flat = np.concatenate(members)
    ptr, idx, val = rows(flat)
    s_ptr = np.zeros(len(members) + 1, dtype=np.int64)
    np.cumsum([len(c) for c, _ in summed], out=s_ptr[1:])
    s_idx = np.concatenate([c for c, _ in summed])
    s_val = np.concatenate([v for _, v in summed]).astype(np.float64, copy=False)
    owner = np.repeat(np.arange(len(members), dtype=np.int64), sizes)
    close = sums.rows_dot_sums(ptr, idx, val, owner, s_ptr, s_idx, s_val, compiled)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    near = np.flatnonzero(close >= np.repeat(np.maximum.reduceat(close, starts), sizes) - TIE)
    _, first = np.unique(owner[near], return_index=True)  # each event's first near member
    return flat[near[first]]


def story_centroid(vec: sums.Sum, m: int, hashed: Callable[[sums.Sum], sums.Sum]) -> tuple[np.ndarray, np.ndarray]:
    """``top_entries(hashed(vec), m)``: an event's summed story vector in hashed columns, cut to its ``m`` largest weights.

    When the ``m``-th largest weight is not tied with the next, the kept
    entries are the same whatever their order, so they are chosen in the
    window's dense columns and only they are hashed and sorted; a tie goes
    the long way (which of the tied entries stay depends on their order).

    Args:
        vec: ``(dense columns, values)``, columns sorted.
        m: the weights kept.
        hashed: dense columns to hashed ones, sorted by hashed column
            (:meth:`dedup.stories.window.Columns.hashed`).
    """
    cols, vals = vec
    if len(cols) > m:
        neg = np.partition(-vals, [m - 1, m])
        if neg[m - 1] < neg[m]:
            keep = np.flatnonzero(-vals <= neg[m - 1])
            return hashed((cols[keep], vals[keep].astype(np.float64)))
    return top_entries(hashed(vec), m)
