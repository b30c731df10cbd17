"""Pairs of items that share a key: the bucket step of both candidate paths.

Pairs are ``(m, 2)`` int64 positions with ``i < j``, sorted and unique. A
bucket with more than ``max_bucket`` members contributes a star (every member
with the bucket's first) instead of all pairs, so one boilerplate-heavy text
cannot make the work quadratic.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bucket_pairs", "empty_pairs", "normalize_pairs", "pair_keys", "from_keys"]


def empty_pairs() -> np.ndarray:
    return np.zeros((0, 2), dtype=np.int64)


_PAIRS_PER_BATCH = 1_000_000  # pairs expanded at once before they are deduplicated


def bucket_pairs(keys: np.ndarray, members: np.ndarray, max_bucket: int) -> tuple[np.ndarray, int]:
    """All pairs of members sharing a key (a star for buckets over ``max_bucket``), normalized.

    Memory stays near the size of the input: only the members of keys held
    by two or more are kept past the sort (most anchors are held by one
    article), and the buckets are expanded into pairs a batch at a time,
    each batch deduplicated before the next (two near copies share dozens of
    anchors, so the raw expansion repeats pairs many times).
    """
    if len(keys) < 2:
        return empty_pairs(), 0
    ordered = len(members) < 2 or bool(np.all(members[1:] >= members[:-1]))
    order = np.argsort(keys, kind="stable") if ordered else np.lexsort((members, keys))  # same order
    k = keys[order]
    new = np.ones(len(k), dtype=bool)
    np.not_equal(k[1:], k[:-1], out=new[1:])
    del k
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, len(new)))
    del new
    multi = sizes >= 2
    starts, sizes = starts[multi], sizes[multi]
    if len(starts) == 0:
        return empty_pairs(), 0
    m = members[order[_ranges(starts, sizes)]]  # members of shared keys only, bucket after bucket
    del order
    starts = np.cumsum(sizes) - sizes
    small = sizes <= max_bucket
    capped = int((~small).sum())
    keys_out: list[np.ndarray] = []
    # star for big buckets: every member with the bucket's first
    st, sz = starts[~small], sizes[~small]
    if len(st):
        left = np.repeat(st, sz - 1)
        keys_out.append(pair_keys(m[left], m[left + 1 + _ranges(np.zeros(len(sz), np.int64), sz - 1)]))
    # all pairs within small buckets, a batch of buckets at a time
    st, sz = starts[small], sizes[small]
    n_pairs = np.cumsum(sz * (sz - 1) // 2)
    lo = 0
    while lo < len(st):
        hi = int(np.searchsorted(n_pairs, (n_pairs[lo - 1] if lo else 0) + _PAIRS_PER_BATCH, side="right"))
        hi = max(hi, lo + 1)
        bst, bsz = st[lo:hi], sz[lo:hi]
        elem = _ranges(bst, bsz)
        after = np.repeat(bst + bsz, bsz) - elem - 1
        left = np.repeat(elem, after)
        right = left + 1 + _ranges(np.zeros(len(after), np.int64), after)
        keys_out.append(pair_keys(m[left], m[right]))
        lo = hi
    return from_keys(np.unique(np.concatenate(keys_out))), capped


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concat(arange(s, s + n) for s, n)``, vectorized."""
    total = int(lengths.sum())
    return np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(total)


_KEY_SHIFT = np.int64(32)  # pair key = i << 32 | j: positions below 2^31


def pair_keys(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sorted unique keys of the pairs ``(min, max)`` of ``a`` and ``b``, self-pairs dropped."""
    lo, hi = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    keep = lo != hi
    return np.unique((lo[keep] << _KEY_SHIFT) | hi[keep])


def from_keys(keys: np.ndarray) -> np.ndarray:
    return np.stack([keys >> _KEY_SHIFT, keys & np.int64(0xFFFFFFFF)], axis=1)


def normalize_pairs(pairs: np.ndarray) -> np.ndarray:
    """Order each pair (i < j), drop self-pairs and duplicates, sort."""
    if len(pairs) == 0:
        return empty_pairs()
    # One int64 key per pair: np.unique on 1-D keys is far faster than axis=0.
    return from_keys(pair_keys(pairs[:, 0], pairs[:, 1]))
