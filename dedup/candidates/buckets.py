"""Pairs of items that share a key: the bucket step of both candidate paths.

Pairs are ``(m, 2)`` int64 positions with ``i < j``, sorted and unique. A
bucket with more than ``max_bucket`` members contributes a star (every member
with the bucket's first) instead of all pairs, so one boilerplate-heavy text
cannot make the work quadratic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

Mapper = Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]]  # map, or a pool's map: results in order

__all__ = ["KeyUnion", "Mapper", "bucket_keys", "bucket_pairs", "empty_pairs", "from_keys", "normalize_pairs", "pair_keys", "sorted_unique", "stable_order"]


def empty_pairs() -> np.ndarray:
    return np.zeros((0, 2), dtype=np.int64)


def sorted_unique(keys: np.ndarray) -> np.ndarray:
    """``np.unique(keys)`` of a 1-D array: one sort, then the first of each run of equal values.

    NumPy 2.3+ answers a plain ``np.unique`` with a hash table and sorts its
    result afterwards: on millions of 64-bit pair keys that is many times
    slower than sorting once, and pair keys are deduplicated on every path
    to the candidates.

    >>> sorted_unique(np.array([5, 1, 5, 3, 1])).tolist()
    [1, 3, 5]
    """
    return _first_of_runs(np.sort(keys))


def _first_of_runs(out: np.ndarray) -> np.ndarray:
    """The first of each run of equal values of a sorted array."""
    if len(out) < 2:
        return out
    first = np.empty(len(out), dtype=bool)
    first[0] = True
    np.not_equal(out[1:], out[:-1], out=first[1:])
    return out[first]


def stable_order(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")``, for ``uint64`` keys by one plain sort.

    NumPy sorts 64-bit integers with SIMD but argsorts them with a scalar
    merge sort, several times slower. The high half of each key and its
    position are packed into one ``uint64`` and sorted: equal keys come out
    together in position order. Keys that differ only in their low half
    (rare: hashes) are put in order by a lexsort of their few positions.

    >>> keys = np.array([3 << 32 | 5, 1, 3 << 32 | 2, 1, 3 << 32 | 5], dtype=np.uint64)
    >>> stable_order(keys).tolist() == np.argsort(keys, kind="stable").tolist()
    True
    """
    n = len(keys)
    if keys.dtype != np.uint64 or n >= 1 << 32:
        return np.argsort(keys, kind="stable")
    packed = (keys >> np.uint64(32)) << np.uint64(32)
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    order = (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)
    high = packed >> np.uint64(32)
    in_order = keys[order]
    mixed = np.flatnonzero((high[1:] == high[:-1]) & (in_order[1:] != in_order[:-1]))
    if len(mixed):
        run_start = np.flatnonzero(np.concatenate(([True], high[1:] != high[:-1])))
        run_end = np.append(run_start[1:], n)
        for r in _first_of_runs(np.searchsorted(run_start, mixed, side="right") - 1).tolist():  # sorted: no np.unique (numpy.ma)
            a, b = int(run_start[r]), int(run_end[r])
            sub = order[a:b]
            order[a:b] = sub[np.lexsort((sub, keys[sub]))]
    return order


_UNION_FLOOR = 1 << 22  # keys a KeyUnion lets wait before its first merge


class KeyUnion:
    """The sorted union of sorted key arrays added one at a time, held near the size of the union.

    Pair keys repeat across the parts that find them (two copies share many
    bands and dozens of anchors; in a family of a hundred copies every band
    repeats thousands of pairs), so holding every part until the end costs
    many times the union. Parts are merged into the union whenever what
    waits exceeds the union held (and ``floor`` keys): each key is sorted a
    bounded number of times, and memory stays within a few times the union.
    The answer is the same as ``sorted_unique(np.concatenate(parts))``.

    >>> u = KeyUnion(floor=2)
    >>> for part in ([1, 3], [1, 2], [3], [5]):
    ...     u.add(np.array(part, dtype=np.int64))
    >>> u.result().tolist()
    [1, 2, 3, 5]
    """

    def __init__(self, floor: int | None = None) -> None:
        self._floor = _UNION_FLOOR if floor is None else floor
        self._parts: list[np.ndarray] = []
        self._union = 0  # keys in the merged union (the first part, once merged)
        self._waiting = 0  # keys in the parts added since

    def add(self, keys: np.ndarray) -> None:
        self._parts.append(keys)
        self._waiting += len(keys)
        if self._waiting > max(self._union, self._floor):
            self._merge()

    def _merge(self) -> None:
        merged = np.concatenate(self._parts) if len(self._parts) > 1 else self._parts[0].copy()
        self._parts = []
        merged.sort(kind="stable")  # sorted runs: NumPy's stable sort (timsort) merges them in linear passes
        self._parts = [_first_of_runs(merged)]
        self._union, self._waiting = len(self._parts[0]), 0

    def result(self) -> np.ndarray:
        if not self._parts:
            return np.zeros(0, dtype=np.int64)
        if self._waiting or len(self._parts) > 1:
            self._merge()
        return self._parts[0]


_PAIRS_PER_BATCH = 1_000_000  # pairs expanded at once before they are deduplicated
# Keys sorted at once: larger inputs are split by key (a hash) into parts of about this many. Measured on the
# 3.3M anchors of a 100k-article feed: one part 1.1-1.4 s, four parts of ~0.8M 0.47 s one after another and
# 0.26 s on two threads (scripts/bench_dedupe.py's stage times; the sorts and gathers of a part fit the caches).
_KEYS_PER_PART = 1 << 20


def bucket_pairs(keys: np.ndarray, members: np.ndarray, max_bucket: int) -> tuple[np.ndarray, int]:
    """All pairs of members sharing a key (a star for buckets over ``max_bucket``), normalized.

    The pairs of :func:`bucket_keys`, as ``(m, 2)`` positions.
    """
    found, capped = bucket_keys(keys, members, max_bucket)
    return from_keys(found), capped


def bucket_keys(keys: np.ndarray, members: np.ndarray, max_bucket: int, each: Mapper = map) -> tuple[np.ndarray, int]:
    """Sorted unique pair keys (:func:`pair_keys`) of the members sharing a key, and the capped buckets.

    Memory stays near the size of the input: only the members of keys held
    by two or more are kept past the sort (most anchors are held by one
    article), and the buckets are expanded into pairs a batch at a time,
    each batch deduplicated before the next (two near copies share dozens of
    anchors, so the raw expansion repeats pairs many times). More than
    :data:`_KEYS_PER_PART` keys (the anchors of a large feed: tens of
    millions) are split by their top bits, and each part is sorted on its
    own: a bucket lies in one part, so the pairs are the same, and the sort's
    working arrays are those of one part, not of every key.

    ``each``: how the parts are mapped, ``map`` or a pool's (the executor's
    threads: NumPy lets go of the GIL in a part's sorts and gathers). The
    parts' keys are merged in part order: the answer is the same either way.
    """
    if len(keys) < 2:
        return _NO_KEYS, 0
    parts = -(-len(keys) // _KEYS_PER_PART)
    if parts > 1 and keys.dtype == np.uint64:
        bits = int(parts - 1).bit_length()  # 2**bits parts by the top bits
        top = np.empty(len(keys), dtype=np.uint8 if bits <= 8 else np.uint16)  # a byte a key, filled a part's worth at a time
        for lo in range(0, len(keys), _KEYS_PER_PART):
            top[lo : lo + _KEYS_PER_PART] = keys[lo : lo + _KEYS_PER_PART] >> np.uint64(64 - bits)
        def one(part: int) -> tuple[np.ndarray, int]:
            at = np.flatnonzero(top == part)
            return _bucket_keys(keys[at], members[at], max_bucket)

        found, capped = KeyUnion(), 0
        for part_keys, c in each(one, range(1 << bits)):
            found.add(part_keys)
            capped += c
        del top
        return found.result(), capped
    return _bucket_keys(keys, members, max_bucket)


_NO_KEYS = np.zeros(0, dtype=np.int64)
_NO_KEYS.flags.writeable = False  # shared by every empty answer: nobody may sort it in place


def _bucket_keys(keys: np.ndarray, members: np.ndarray, max_bucket: int) -> tuple[np.ndarray, int]:
    if len(keys) < 2:
        return _NO_KEYS, 0
    ordered = len(members) < 2 or bool(np.all(members[1:] >= members[:-1]))
    order = stable_order(keys) if ordered else np.lexsort((members, keys))  # same order
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
        return _NO_KEYS, 0
    m = members[order[_ranges(starts, sizes)]]  # members of shared keys only, bucket after bucket
    del order
    m, sizes = _distinct_members(m, sizes)
    if len(sizes) == 0:
        return _NO_KEYS, 0
    starts = np.cumsum(sizes) - sizes
    small = sizes <= max_bucket
    capped = int((~small).sum())
    keys_out = KeyUnion()
    # star for big buckets: every member with the bucket's first
    st, sz = starts[~small], sizes[~small]
    if len(st):
        left = np.repeat(st, sz - 1)
        keys_out.add(pair_keys(m[left], m[left + 1 + _ranges(np.zeros(len(sz), np.int64), sz - 1)], runs=True))
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
        keys_out.add(pair_keys(m[left], m[right], runs=True))
        lo = hi
    return keys_out.result(), capped


def _distinct_members(m: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each bucket's members once (they come sorted within a bucket), and the buckets still shared by two.

    An article holding a key several times (the anchors of a repeated
    paragraph) is one member of its bucket: counted once, it neither makes a
    small bucket look big (a star instead of all its pairs) nor keeps a
    bucket of itself alone.

    >>> m, s = _distinct_members(np.array([0, 0, 0, 1, 2, 5, 5, 3, 4]), np.array([5, 2, 2]))
    >>> m.tolist(), s.tolist()
    ([0, 1, 2, 3, 4], [3, 2])
    """
    bucket = np.repeat(np.arange(len(sizes)), sizes)
    repeat = np.zeros(len(m), dtype=bool)
    repeat[1:] = (m[1:] == m[:-1]) & (bucket[1:] == bucket[:-1])
    if not repeat.any():
        return m, sizes
    m, bucket = m[~repeat], bucket[~repeat]
    sizes = np.bincount(bucket, minlength=len(sizes))
    shared = sizes >= 2
    return m[shared[bucket]], sizes[shared]


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concat(arange(s, s + n) for s, n)``, vectorized."""
    total = int(lengths.sum())
    return np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(total)


_KEY_SHIFT = np.int64(32)  # pair key = i << 32 | j: positions below 2^31


def pair_keys(a: np.ndarray, b: np.ndarray, runs: bool = False) -> np.ndarray:
    """Sorted unique keys of the pairs ``(min, max)`` of ``a`` and ``b``, self-pairs dropped.

    ``runs``: the keys come in long sorted runs (a bucket's pairs, its members
    ascending), which NumPy's stable sort merges in a few linear passes; it is
    slower than the default sort on keys in no order.
    """
    lo, hi = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    keep = lo != hi
    keys = (lo[keep] << _KEY_SHIFT) | hi[keep]
    if not runs:
        return sorted_unique(keys)
    keys.sort(kind="stable")
    return _first_of_runs(keys)


def from_keys(keys: np.ndarray) -> np.ndarray:
    return np.stack([keys >> _KEY_SHIFT, keys & np.int64(0xFFFFFFFF)], axis=1)


def normalize_pairs(pairs: np.ndarray) -> np.ndarray:
    """Order each pair (i < j), drop self-pairs and duplicates, sort."""
    if len(pairs) == 0:
        return empty_pairs()
    # One int64 key per pair: a unique of 1-D keys is far faster than np.unique(axis=0).
    return from_keys(pair_keys(pairs[:, 0], pairs[:, 1]))
