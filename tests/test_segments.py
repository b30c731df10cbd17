"""The log-structured key store of the SQLite history index agrees with a plain dictionary."""

from __future__ import annotations

import collections
import sqlite3

import numpy as np
import pytest

from dedup.store import segments
from dedup.store.segments import SCHEMA, Segments


@pytest.fixture
def store(monkeypatch):
    monkeypatch.setattr(segments, "BLOCK", 64)  # many blocks per run, so block edges are crossed
    conn = sqlite3.connect(":memory:", isolation_level=None)
    for stmt in SCHEMA:
        conn.execute(stmt)
    yield Segments(conn, "band")
    conn.close()


def test_lookups_merges_and_removals_agree_with_a_dict(store) -> None:
    rng = np.random.default_rng(3)
    truth: dict[int, list[int]] = collections.defaultdict(list)
    hot = rng.integers(0, 2**64, size=40, dtype=np.uint64)  # keys repeated across runs and blocks
    row = 0
    for batch in range(segments.MAX_SEGMENTS * 2 + 3):  # enough runs to merge twice
        keys = np.concatenate([rng.integers(0, 2**64, size=300, dtype=np.uint64), rng.choice(hot, size=200)])
        rows = np.arange(row, row + len(keys), dtype=np.int64)
        row += len(keys)
        store.append(keys, rows)
        for k, r in zip(keys.tolist(), rows.tolist()):
            truth[k].append(r)
        assert len(store._segs()) <= segments.MAX_SEGMENTS
    asked = np.concatenate([hot, rng.integers(0, 2**64, size=50, dtype=np.uint64), np.array(list(truth)[:100], dtype=np.uint64)])
    pos, vals = store.lookup(asked)
    got: dict[int, list[int]] = collections.defaultdict(list)
    for p, v in zip(pos.tolist(), vals.tolist()):
        got[p].append(v)
    for p, k in enumerate(asked.tolist()):
        assert sorted(got.get(p, [])) == sorted(truth.get(k, []))
    assert store.pairs() == sum(len(v) for v in truth.values())
    odd = np.arange(1, row, 2)  # each row is one pair here
    store.bury(odd, len(odd))  # half the pairs dead: past DEAD_SHARE, every run is merged into one without them
    pos, vals = store.lookup(hot)
    assert (vals % 2 == 0).all()
    assert len(vals) == sum(1 for k in hot.tolist() for r in truth[k] if r % 2 == 0)
    assert len(store._segs()) == 1 and store._stored() == store.pairs() == row - len(odd)
    assert len(store._dead()) == 0  # none of their pairs is left: the set is emptied


def test_buried_rows_stay_in_the_runs_until_a_merge_and_are_never_answered(store) -> None:
    """A prune rewrote every band and anchor run to drop the removed rows' pairs (spread over every block), a cost that
    grew with the history; they are left in the runs now, left out of lookups and counts, and dropped by the merges."""
    rng = np.random.default_rng(11)
    truth: dict[int, list[int]] = collections.defaultdict(list)
    hot = rng.integers(0, 2**64, size=30, dtype=np.uint64)
    row, dead, lazy = 0, np.zeros(0, np.int64), 0

    def check() -> None:
        pos, vals = store.lookup(hot)
        got = collections.Counter(zip(hot[pos].tolist(), vals.tolist()))
        want = collections.Counter((k, r) for k in hot.tolist() for r in truth[k] if r not in set(dead.tolist()))
        assert got == want
        assert store.pairs() == sum(1 for rs in truth.values() for r in rs if r not in set(dead.tolist()))

    for batch in range(segments.MAX_SEGMENTS * 3):
        keys = np.concatenate([rng.integers(0, 2**64, size=50, dtype=np.uint64), rng.choice(hot, size=50)])
        rows = np.arange(row, row + len(keys), dtype=np.int64)
        row += len(keys)
        store.append(keys, rows)
        for k, r in zip(keys.tolist(), rows.tolist()):
            truth[k].append(r)
        if batch % 4 == 3:  # a prune of the oldest ~5% of what is left, below DEAD_SHARE: no run is rewritten
            alive = np.setdiff1d(np.arange(row), dead)
            gone = alive[: len(alive) // 20]
            before = store._segs()
            store.bury(gone, len(gone))
            dead = np.union1d(dead, gone)
            if store._dead_pairs() <= segments.DEAD_SHARE * store._stored():
                assert store._segs() == before and store._stored() > store.pairs()
                lazy += 1
        check()
    assert lazy >= 3
    store.merge()
    assert len(store._dead()) == 0 and store._stored() == store.pairs()
    check()


def test_small_appends_rewrite_the_old_runs_only_when_as_many_pairs_came_after_them(store, monkeypatch) -> None:
    """Many small transactions (the service's batches): the newest runs merge among themselves; the whole index is
    rewritten a few times, not every eighth append."""
    merged: list[tuple[int, int]] = []  # (pairs merged, pairs stored then)
    real = store._merge

    def counting(segs):
        sizes = dict(store._segs())
        merged.append((sum(sizes[s] for s in segs), store.pairs()))
        return real(segs)

    monkeypatch.setattr(store, "_merge", counting)
    rng = np.random.default_rng(5)
    appends, per = 256, 20
    for batch in range(appends):
        store.append(rng.integers(0, 2**64, size=per, dtype=np.uint64), np.arange(batch * per, (batch + 1) * per))
        assert len(store._segs()) <= segments.MAX_SEGMENTS
    whole = [m for m, total in merged if m == total]
    assert 1 <= len(whole) <= 4  # merging every run whenever there were nine did so 31 times
    assert sum(m for m, _ in merged) <= 3 * appends * per  # each pair rewritten ~2.6 times (15.6 times before)
    assert store.pairs() == appends * per
