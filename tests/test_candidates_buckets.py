"""dedup.candidates.buckets: all pairs per shared key against a brute-force reference, the star cap, pair keys."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from dedup.candidates import buckets as buckets_module
from dedup.candidates.buckets import (
    KeyUnion,
    bucket_keys,
    bucket_pairs,
    empty_pairs,
    from_keys,
    normalize_pairs,
    pair_keys,
)


def _reference(keys, members, max_bucket: int) -> tuple[list[list[int]], int]:
    """Group entries by key, each member once; all pairs within a bucket, or the first member with every other over the cap."""
    by_key: dict[int, list[int]] = {}
    for k, m in zip(keys, members):
        by_key.setdefault(int(k), []).append(int(m))
    found, capped = set(), 0
    for held in by_key.values():
        entries = sorted(set(held))
        if len(entries) < 2:
            continue
        if len(entries) > max_bucket:
            capped += 1
            found |= {(entries[0], other) for other in entries[1:]}
        else:
            found |= set(combinations(entries, 2))
    return sorted([a, b] for a, b in found if a != b), capped


TABLE = [
    # keys, members, cap, pairs, capped buckets
    pytest.param([], [], 5, [], 0, id="empty"),
    pytest.param([1], [0], 5, [], 0, id="one-entry"),
    pytest.param([1, 2, 3], [0, 1, 2], 5, [], 0, id="no-shared-key"),
    pytest.param([1, 1, 1], [0, 1, 2], 3, [[0, 1], [0, 2], [1, 2]], 0, id="bucket-at-the-cap"),
    pytest.param([1, 1, 1, 1], [0, 1, 2, 3], 3, [[0, 1], [0, 2], [0, 3]], 1, id="over-the-cap-a-star"),
    pytest.param([1, 1, 1, 1], [3, 2, 1, 0], 3, [[0, 1], [0, 2], [0, 3]], 1, id="star-centre-is-the-smallest"),
    pytest.param([4, 4, 9, 9], [0, 0, 1, 2], 5, [[1, 2]], 0, id="self-pairs-dropped"),
    pytest.param([7, 8, 7, 8], [0, 1, 1, 0], 5, [[0, 1]], 0, id="pair-found-twice-listed-once"),
    pytest.param([2**63 + 5, 2**63 + 5], [10, 2**31 - 1], 5, [[10, 2**31 - 1]], 0, id="large-keys-and-positions"),
]


@pytest.mark.parametrize(("keys", "members", "cap", "expected", "capped"), TABLE)
def test_bucket_pairs_table(keys, members, cap, expected, capped) -> None:
    pairs, n_capped = bucket_pairs(np.array(keys, dtype=np.uint64), np.array(members, dtype=np.int64), cap)
    assert pairs.tolist() == expected and n_capped == capped
    assert pairs.dtype == np.int64 and pairs.shape == (len(expected), 2)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("sorted_members", [True, False], ids=["members-ascending", "members-shuffled"])
@pytest.mark.parametrize("batch", [1_000_000, 3], ids=["one-batch", "many-batches"])
@pytest.mark.parametrize("part", [1 << 22, 40], ids=["one-part", "parts-by-key"])
@pytest.mark.parametrize("floor", [1 << 22, 2], ids=["merged-at-the-end", "merged-as-found"])
def test_bucket_pairs_match_the_reference(monkeypatch, seed, sorted_members, batch, part, floor) -> None:
    monkeypatch.setattr(buckets_module, "_PAIRS_PER_BATCH", batch)
    monkeypatch.setattr(buckets_module, "_UNION_FLOOR", floor)
    monkeypatch.setattr(buckets_module, "_KEYS_PER_PART", part)  # 300 keys in 8 parts by their top 3 bits
    rng = np.random.default_rng(seed)
    n = 300
    members = np.sort(rng.integers(0, 80, n)) if sorted_members else rng.integers(0, 80, n)
    keys = rng.integers(0, 60, n).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)  # spread over 64 bits
    pairs, capped = bucket_pairs(keys, members, 6)
    expected, expected_capped = _reference(keys.tolist(), members.tolist(), 6)
    assert pairs.tolist() == expected and capped == expected_capped
    assert capped > 0 and len(expected) > 50  # both kinds of bucket were met


@pytest.mark.parametrize("seed", range(3))
def test_parts_on_threads_give_the_keys_of_parts_in_turn(monkeypatch, seed) -> None:
    """The executor's threads map the parts; the keys, merged in part order, are the same whatever the job count."""
    from dedup.exec import LocalExecutor

    monkeypatch.setattr(buckets_module, "_KEYS_PER_PART", 40)
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 60, 300).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    members = rng.integers(0, 80, 300)
    seen: set[str] = set()

    def noting(func, items):  # the pool's map, noting the threads it ran on
        import threading

        def run(item):
            seen.add(threading.current_thread().name)
            return func(item)

        return LocalExecutor(2).threads(run, items)

    serial = bucket_keys(keys, members, 6)
    threaded = bucket_keys(keys, members, 6, noting)
    assert threaded[0].tolist() == serial[0].tolist() and threaded[1] == serial[1] and len(serial[0]) > 50
    assert seen and all(name.startswith("dedup") for name in seen)  # the parts ran on the pool's threads
    assert list(LocalExecutor(1).threads(lambda x: x * 2, range(5))) == [0, 2, 4, 6, 8]


def test_the_cap_counts_members_not_repeated_entries() -> None:
    """One article holding a key several times (a repeated paragraph's anchors) is one member of the bucket."""
    keys = np.full(7, 7, dtype=np.uint64)
    members = np.array([0, 0, 0, 0, 0, 1, 2])  # three members; member 0 holds the key five times
    pairs, capped = bucket_pairs(keys, members, 4)
    assert pairs.tolist() == [[0, 1], [0, 2], [1, 2]] and capped == 0
    alone, capped = bucket_pairs(np.full(4, 9, dtype=np.uint64), np.array([3, 3, 3, 3]), 2)
    assert alone.tolist() == [] and capped == 0  # a key held by one article only is no bucket


PAIR_TABLE = [
    # raw pairs -> ordered (i < j), no self-pairs, unique, sorted
    pytest.param([], [], id="none"),
    pytest.param([[3, 1], [1, 3], [2, 2], [0, 5]], [[0, 5], [1, 3]], id="flip-dedupe-drop-self"),
    pytest.param([[5, 5]], [], id="only-a-self-pair"),
    pytest.param([[2**31 - 1, 0], [1, 2**31 - 2]], [[0, 2**31 - 1], [1, 2**31 - 2]], id="largest-positions"),
    pytest.param([[9, 8], [1, 2], [8, 9], [0, 9]], [[0, 9], [1, 2], [8, 9]], id="sorted-by-i-then-j"),
]


@pytest.mark.parametrize(("raw", "expected"), PAIR_TABLE)
def test_normalize_pairs_table(raw, expected) -> None:
    out = normalize_pairs(np.array(raw, dtype=np.int64).reshape(-1, 2))
    assert out.tolist() == expected and out.shape == (len(expected), 2) and out.dtype == np.int64


def test_pair_keys_round_trip() -> None:
    a, b = np.array([4, 0, 7, 7, 2**31 - 1]), np.array([1, 9, 7, 3, 2**31 - 2])
    keys = pair_keys(a, b)
    assert np.all(np.diff(keys) > 0)  # sorted and unique
    assert from_keys(keys).tolist() == [[0, 9], [1, 4], [3, 7], [2**31 - 2, 2**31 - 1]]


def test_empty_pairs_shape() -> None:
    e = empty_pairs()
    assert e.shape == (0, 2) and e.dtype == np.int64


@pytest.mark.parametrize("floor", [1, 3, 1 << 22])
@pytest.mark.parametrize("seed", range(6))
def test_key_union_equals_one_sort_of_everything(seed, floor) -> None:
    """Merged as parts arrive (floor 1: after nearly every part) or once at the end, the union is the same."""
    rng = np.random.default_rng(seed)
    parts = [np.unique(rng.integers(0, 40, rng.integers(0, 30))).astype(np.int64) for _ in range(rng.integers(1, 12))]
    union = KeyUnion(floor=floor)
    for part in parts:
        union.add(part)
    expected = np.unique(np.concatenate(parts))
    got = union.result()
    assert got.dtype == np.int64 and got.tolist() == expected.tolist()


def test_key_union_holds_about_the_union_not_every_part() -> None:
    """A hundred repeats of one part never wait in full: what is held stays within twice the union."""
    part = np.arange(1000, dtype=np.int64)
    union = KeyUnion(floor=10)
    held = []
    for _ in range(100):
        union.add(part.copy())
        held.append(sum(len(p) for p in union._parts))
    assert max(held) <= 2 * len(part) + len(part)
    assert union.result().tolist() == part.tolist()


def test_key_union_of_nothing_is_empty() -> None:
    assert KeyUnion().result().tolist() == []


@pytest.mark.parametrize("seed", range(4))
def test_pair_keys_for_sorted_runs_equal_the_plain_sort(seed) -> None:
    """``runs=True`` only picks the sort that suits bucket-ordered keys: on any input the keys are the same."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 50, 400), rng.integers(0, 50, 400)
    assert pair_keys(a, b, runs=True).tolist() == pair_keys(a, b).tolist()
    order = np.lexsort((np.maximum(a, b), np.minimum(a, b)))  # in runs, as a bucket's pairs come
    assert pair_keys(a[order], b[order], runs=True).tolist() == pair_keys(a, b).tolist()
