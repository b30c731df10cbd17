"""The order articles arrive in: by time, a calendar day (UTC) at a time, the undated last; and how far a copy group reaches.

The event tracker (:mod:`dedup.stories.events`) takes a feed in this order;
the flows cut it into days with :func:`day_blocks` and make each day's input
at most :data:`DAYS_AHEAD` days ahead of the tracker, by at most
:data:`DAY_WORKERS` worker processes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DAYS_AHEAD", "DAY_WORKERS", "arrival_order", "copy_reach", "day_blocks"]

_DAY = 86_400.0
DAYS_AHEAD = 2  # day inputs made ahead of the tracker (one ready, one being made; ~0.3 GB each on a dense day)
# one worker makes the next day while the tracker places this one: a second would wait, holding ~0.15 GB
# (densest week, --jobs 2: one worker 157 s and 3.69 GiB with the workers, two 161 s and 3.87 GiB)
DAY_WORKERS = 1


def arrival_order(times: np.ndarray) -> np.ndarray:
    """Positions in arrival order: dated by time, then the undated, ties by position."""
    times = np.asarray(times, dtype=np.float64)
    return np.lexsort((np.arange(len(times)), np.where(np.isnan(times), 0.0, times), np.isnan(times)))


def copy_reach(copies: np.ndarray, times: np.ndarray, window_seconds: float) -> np.ndarray:
    """``(n,)`` the latest time among an article's copies that one event can hold with it (NaN: undated).

    A copy group is cut, in time order, into runs no longer than the window
    (a copy republished later starts a new run). Each article reaches to the
    end of its run: the tracker counts that time into its event's span from the
    first copy on, so that an early copy does not join an older event that its
    later copies could not follow.

    >>> day = 86_400.0
    >>> copy_reach(np.array([0, 0, 0, 1]), np.array([0.0, day, 5 * day, day]), 3 * day).tolist() == [day, day, 5 * day, day]
    True
    """
    copies = np.asarray(copies, dtype=np.int64)
    times = np.asarray(times, dtype=np.float64)
    reach = times.copy()
    dated = np.flatnonzero((copies >= 0) & ~np.isnan(times))
    if len(dated) == 0:
        return reach
    order = dated[np.lexsort((times[dated], copies[dated]))]
    g, t = copies[order], times[order]
    run_start = np.zeros(len(order), dtype=bool)
    run_start[0] = True
    start_t = t[0]
    for k in range(1, len(order)):  # runs restart where the group changes or the window is exceeded
        if g[k] != g[k - 1] or t[k] - start_t > window_seconds:
            run_start[k] = True
            start_t = t[k]
    run = np.cumsum(run_start) - 1
    ends = np.maximum.reduceat(t, np.flatnonzero(run_start))
    reach[order] = ends[run]
    return reach


def day_blocks(sorted_times: np.ndarray) -> list[tuple[int, int]]:
    """``[lo, hi)`` ranges of arrival indices sharing a UTC calendar day; the undated form the last block."""
    t = np.asarray(sorted_times, dtype=np.float64)
    dated = int((~np.isnan(t)).sum())
    days = np.floor(t[:dated] / _DAY)
    cuts = np.flatnonzero(days[1:] != days[:-1]) + 1
    bounds = np.r_[0, cuts, dated].astype(np.int64)
    blocks = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    if dated < len(t):
        blocks.append((dated, len(t)))
    return blocks
