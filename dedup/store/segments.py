"""Sorted runs of ``(key, value)`` pairs in SQLite blocks: a small log-structured map.

The history index looks up hundreds of thousands of random 64-bit keys per
day (LSH band keys, anchor grams, boilerplate line keys) and adds as many. In
a B-tree keyed by such keys every insert lands on a random leaf: a day's
inserts dirty nearly every page of a million-article index, and building one
never finishes in useful time (measured: 37M random keys did not load in 15
minutes on this machine). Here each transaction instead *appends* its pairs
as a new sorted run (a segment: blocks of :data:`BLOCK` pairs, each one blob);
a lookup sorts the asked keys and reads the runs block by block, only the
blocks whose key range holds an asked key. When there are more than
:data:`MAX_SEGMENTS` runs of a kind, the newest two are merged into one
(streaming, block by block), together with each older run that holds no
more pairs than the merged ones: small runs are merged among themselves and
a large old run is rewritten only when as many pairs have arrived after it.
(Merging every run into one each time rewrote the whole index every eighth
transaction: a cost that grows with the index, paid by small transactions
such as the service's batches of 50; a few large appends, a day each, merge
as before.) Appends, merges and removals run inside the caller's
transaction, so they are as atomic as the rest of it.

Values are int64: a row number (bands, anchors) or a count (line keys: the
counts of a key are summed over the runs).

Removing rows (:meth:`Segments.bury`) does not rewrite the runs: a pruned
article's keys are spread over every block, so dropping them at once
rewrote every pair of the kind (~6.5M for 100k articles, most of a day's
prune, growing with the history). The rows are recorded as dead instead;
:meth:`Segments.lookup` leaves out their pairs, :meth:`Segments.pairs`
counts only the live ones, and a merge drops them from the runs it rewrites
anyway. When the dead pairs pass :data:`DEAD_SHARE` of the kind's pairs,
every run is merged into one without them; the set of dead rows is emptied
whenever every run of the kind has been merged (none of their pairs is left).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

import numpy as np

from .snapshot import read_snapshot

__all__ = ["BLOCK", "DEAD_SHARE", "MAX_SEGMENTS", "Segments"]

BLOCK = 32_768  # pairs per blob (512 KiB)
MAX_SEGMENTS = 8
# the share of a kind's stored pairs that may belong to dead (pruned) rows before every run is rewritten without them
DEAD_SHARE = 0.25

DEAD_SCHEMA = (  # made by the first prune of an index made before them
    # rows removed whose pairs may still be in the runs of a kind; how many such pairs the kind's runs hold
    "CREATE TABLE IF NOT EXISTS dead_rows(kind TEXT NOT NULL, row INTEGER NOT NULL, PRIMARY KEY(kind, row)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS dead_pairs(kind TEXT PRIMARY KEY, pairs INTEGER NOT NULL)",
)
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS segments(seg INTEGER PRIMARY KEY, kind TEXT NOT NULL, pairs INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS blocks(seg INTEGER NOT NULL, block INTEGER NOT NULL, first INTEGER NOT NULL, "
    "last INTEGER NOT NULL, keys BLOB NOT NULL, vals BLOB NOT NULL, PRIMARY KEY(seg, block)) WITHOUT ROWID",
    *DEAD_SCHEMA,
)


class Segments:
    """The runs of one ``kind`` of key in a SQLite database (see the module)."""

    def __init__(self, conn: sqlite3.Connection, kind: str) -> None:
        self.conn, self.kind = conn, kind

    def _has_dead(self) -> bool:  # an index made before dead rows were kept has no such table until its next prune
        return self.conn.execute("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dead_pairs')"
                                 ).fetchone()[0] == 1

    def _dead(self) -> np.ndarray:
        """The dead rows of this kind, sorted."""
        if not self._has_dead():
            return np.zeros(0, np.int64)
        return np.array([r for (r,) in self.conn.execute("SELECT row FROM dead_rows WHERE kind = ? ORDER BY row", (self.kind,))],
                        dtype=np.int64)

    def _dead_pairs(self) -> int:
        if not self._has_dead():
            return 0
        found = self.conn.execute("SELECT pairs FROM dead_pairs WHERE kind = ?", (self.kind,)).fetchone()
        return 0 if found is None else int(found[0])

    def _set_dead_pairs(self, pairs: int) -> None:
        self.conn.execute("INSERT OR REPLACE INTO dead_pairs VALUES (?, ?)", (self.kind, max(0, int(pairs))))

    def bury(self, rows: np.ndarray, pairs: int) -> None:
        """Leave out the pairs of ``rows`` (values) from now on, without rewriting the runs (inside the caller's
        transaction). ``pairs``: how many pairs of theirs the runs hold (what :meth:`pairs` stops counting)."""
        if len(rows) == 0:
            return
        for stmt in DEAD_SCHEMA:
            self.conn.execute(stmt)
        self.conn.executemany("INSERT OR IGNORE INTO dead_rows VALUES (?, ?)",
                              ((self.kind, int(r)) for r in np.unique(np.asarray(rows, dtype=np.int64)).tolist()))
        dead = self._dead_pairs() + int(pairs)
        self._set_dead_pairs(dead)
        if dead > DEAD_SHARE * self._stored():
            self.merge()

    def _segs(self) -> list[tuple[int, int]]:
        return self.conn.execute("SELECT seg, pairs FROM segments WHERE kind = ? ORDER BY seg", (self.kind,)).fetchall()

    def append(self, keys: np.ndarray, vals: np.ndarray) -> None:
        """Add pairs as a new run (inside the caller's transaction); merge when runs pile up."""
        if len(keys) == 0:
            return
        keys = np.asarray(keys, dtype=np.uint64).view(np.int64)
        vals = np.asarray(vals, dtype=np.int64)
        order = np.lexsort((vals, keys))
        self._write(_blocks(keys[order], vals[order]))
        segs = self._segs()
        if len(segs) > MAX_SEGMENTS:
            k, total = len(segs) - 2, segs[-1][1] + segs[-2][1]
            while k > 0 and segs[k - 1][1] <= total:
                k -= 1
                total += segs[k][1]
            self._merge([s for s, _ in segs[k:]])

    def _write(self, blocks: Iterator[tuple[np.ndarray, np.ndarray]]) -> tuple[int, int]:
        seg = self.conn.execute("SELECT coalesce(max(seg), -1) + 1 FROM segments").fetchone()[0]
        total = 0
        for b, (k, v) in enumerate(blocks):
            self.conn.execute("INSERT INTO blocks VALUES (?, ?, ?, ?, ?, ?)",
                              (seg, b, int(k[0]), int(k[-1]), k.astype("<i8").tobytes(), v.astype("<i8").tobytes()))
            total += len(k)
        self.conn.execute("INSERT INTO segments VALUES (?, ?, ?)", (seg, self.kind, total))
        return seg, total

    def _read(self, seg: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        cur = self.conn.execute("SELECT keys, vals FROM blocks WHERE seg = ? ORDER BY block", (seg,))
        for k, v in cur:
            yield np.frombuffer(k, dtype="<i8"), np.frombuffer(v, dtype="<i8")

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(positions in keys, values)`` of every stored pair whose key is asked, over all runs, a dead row's left out.

        The runs, their blocks and the dead rows are read in one read transaction (:func:`~.snapshot.read_snapshot`,
        held for this lookup only): a merge committed by another connection between the statements deleted runs
        listed but not yet read (their pairs were missed), and one emptying the dead rows after the runs were read
        answered the pairs of pruned rows."""
        with read_snapshot(self.conn):
            return self._lookup(keys)

    def _lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(keys, dtype=np.uint64).view(np.int64)
        order = np.argsort(q, kind="stable")
        sq = q[order]
        pos_parts, val_parts = [], []
        for seg, _ in self._segs():
            ranges = self.conn.execute("SELECT block, first, last FROM blocks WHERE seg = ? ORDER BY block", (seg,)).fetchall()
            if not ranges:
                continue
            first = np.array([r[1] for r in ranges], dtype=np.int64)
            last = np.array([r[2] for r in ranges], dtype=np.int64)
            lo = np.searchsorted(sq, first, side="left")
            hi = np.searchsorted(sq, last, side="right")
            for (block, _, _), a, b in zip(ranges, lo.tolist(), hi.tolist()):
                if a == b:
                    continue
                k, v = self.conn.execute("SELECT keys, vals FROM blocks WHERE seg = ? AND block = ?", (seg, block)).fetchone()
                bk, bv = np.frombuffer(k, dtype="<i8"), np.frombuffer(v, dtype="<i8")
                asked = sq[a:b]
                start = np.searchsorted(bk, asked, side="left")
                stop = np.searchsorted(bk, asked, side="right")
                n = stop - start
                hit = n > 0
                if not hit.any():
                    continue
                reps = n[hit]
                idx = np.repeat(start[hit] - np.concatenate([[0], np.cumsum(reps)[:-1]]), reps) + np.arange(int(reps.sum()))
                pos_parts.append(np.repeat(order[a:b][hit], reps))
                val_parts.append(bv[idx])
        if not pos_parts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        pos, vals = np.concatenate(pos_parts), np.concatenate(val_parts)
        dead = self._dead()
        if len(dead):
            live = ~np.isin(vals, dead)
            pos, vals = pos[live], vals[live]
        return pos, vals

    def merge(self) -> None:
        """Merge every run into one, streaming, without the pairs of dead rows (then none is left: the set is emptied)."""
        self._merge([s for s, _ in self._segs()])

    def _merge(self, segs: list[int]) -> None:
        if not segs:
            return
        every = len(segs) == len(self._segs())
        dead = self._dead()
        keep: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = (lambda k, v: ~np.isin(v, dead)) if len(dead) else None
        marks = ",".join("?" * len(segs))
        held = int(self.conn.execute(f"SELECT coalesce(sum(pairs), 0) FROM segments WHERE seg IN ({marks})", segs).fetchone()[0])
        readers = [self._read(s) for s in segs]
        _, written = self._write(_merged(readers, keep))
        self.conn.execute(f"DELETE FROM blocks WHERE seg IN ({marks})", segs)
        self.conn.execute(f"DELETE FROM segments WHERE seg IN ({marks})", segs)
        if len(dead):
            if every:  # no pair of a dead row is left anywhere
                self.conn.execute("DELETE FROM dead_rows WHERE kind = ?", (self.kind,))
                self._set_dead_pairs(0)
            else:
                self._set_dead_pairs(self._dead_pairs() - (held - written))

    def _stored(self) -> int:
        return int(self.conn.execute("SELECT coalesce(sum(pairs), 0) FROM segments WHERE kind = ?", (self.kind,)).fetchone()[0])

    def pairs(self) -> int:
        """The live pairs: those stored, less the dead rows' still in the runs (both counted on one snapshot)."""
        with read_snapshot(self.conn):
            return self._stored() - self._dead_pairs()


def _blocks(keys: np.ndarray, vals: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for lo in range(0, len(keys), BLOCK):
        yield keys[lo : lo + BLOCK], vals[lo : lo + BLOCK]


def _merged(readers: list[Iterator[tuple[np.ndarray, np.ndarray]]],
            keep: Callable[[np.ndarray, np.ndarray], np.ndarray] | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """A k-way merge of sorted runs, one block of each in memory at a time."""
    heads: list[tuple[np.ndarray, np.ndarray] | None] = [next(r, None) for r in readers]
    out_k: list[np.ndarray] = []
    out_v: list[np.ndarray] = []
    held = 0
    while any(h is not None for h in heads):
        live = [i for i, h in enumerate(heads) if h is not None]
        # everything up to the smallest last key among the loaded blocks can be emitted
        bound = min(int(heads[i][0][-1]) for i in live)  # type: ignore[index]
        ks, vs = [], []
        for i in live:
            k, v = heads[i]  # type: ignore[misc]
            cut = int(np.searchsorted(k, bound, side="right"))
            ks.append(k[:cut])
            vs.append(v[:cut])
            rest = (k[cut:], v[cut:])
            heads[i] = rest if len(rest[0]) else next(readers[i], None)
        k = np.concatenate(ks)
        v = np.concatenate(vs)
        order = np.lexsort((v, k))
        k, v = k[order], v[order]
        if keep is not None:
            mask = keep(k, v)
            k, v = k[mask], v[mask]
        out_k.append(k)
        out_v.append(v)
        held += len(k)
        while held >= BLOCK:
            ak, av = np.concatenate(out_k), np.concatenate(out_v)
            yield ak[:BLOCK], av[:BLOCK]
            out_k, out_v, held = [ak[BLOCK:]], [av[BLOCK:]], len(ak) - BLOCK
    if held:
        yield np.concatenate(out_k), np.concatenate(out_v)
