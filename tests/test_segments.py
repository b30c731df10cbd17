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
    store.merge(keep=lambda k, v: v % 2 == 0)  # drop the odd rows
    pos, vals = store.lookup(hot)
    assert (vals % 2 == 0).all()
    assert len(vals) == sum(1 for k in hot.tolist() for r in truth[k] if r % 2 == 0)
    assert len(store._segs()) == 1


def test_small_appends_rewrite_the_old_runs_only_when_as_many_pairs_came_after_them(store, monkeypatch) -> None:
    """Many small transactions (the service's batches): the newest runs merge among themselves; the whole index is
    rewritten a few times, not every eighth append."""
    merged: list[tuple[int, int]] = []  # (pairs merged, pairs stored then)
    real = store._merge

    def counting(segs, keep=None):
        sizes = dict(store._segs())
        merged.append((sum(sizes[s] for s in segs), store.pairs()))
        return real(segs, keep)

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
