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
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

import numpy as np

__all__ = ["BLOCK", "MAX_SEGMENTS", "Segments"]

BLOCK = 32_768  # pairs per blob (512 KiB)
MAX_SEGMENTS = 8

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS segments(seg INTEGER PRIMARY KEY, kind TEXT NOT NULL, pairs INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS blocks(seg INTEGER NOT NULL, block INTEGER NOT NULL, first INTEGER NOT NULL, "
    "last INTEGER NOT NULL, keys BLOB NOT NULL, vals BLOB NOT NULL, PRIMARY KEY(seg, block)) WITHOUT ROWID",
)


class Segments:
    """The runs of one ``kind`` of key in a SQLite database (see the module)."""

    def __init__(self, conn: sqlite3.Connection, kind: str) -> None:
        self.conn, self.kind = conn, kind

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

    def _write(self, blocks: Iterator[tuple[np.ndarray, np.ndarray]]) -> int:
        seg = self.conn.execute("SELECT coalesce(max(seg), -1) + 1 FROM segments").fetchone()[0]
        total = 0
        for b, (k, v) in enumerate(blocks):
            self.conn.execute("INSERT INTO blocks VALUES (?, ?, ?, ?, ?, ?)",
                              (seg, b, int(k[0]), int(k[-1]), k.astype("<i8").tobytes(), v.astype("<i8").tobytes()))
            total += len(k)
        self.conn.execute("INSERT INTO segments VALUES (?, ?, ?)", (seg, self.kind, total))
        return seg

    def _read(self, seg: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        cur = self.conn.execute("SELECT keys, vals FROM blocks WHERE seg = ? ORDER BY block", (seg,))
        for k, v in cur:
            yield np.frombuffer(k, dtype="<i8"), np.frombuffer(v, dtype="<i8")

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(positions in keys, values)`` of every stored pair whose key is asked, over all runs."""
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
        return np.concatenate(pos_parts), np.concatenate(val_parts)

    def merge(self, keep: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> None:
        """Merge every run into one, streaming (``keep(keys, vals)`` → mask: pairs to keep)."""
        self._merge([s for s, _ in self._segs()], keep)

    def _merge(self, segs: list[int], keep: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> None:
        if not segs:
            return
        readers = [self._read(s) for s in segs]
        self._write(_merged(readers, keep))
        marks = ",".join("?" * len(segs))
        self.conn.execute(f"DELETE FROM blocks WHERE seg IN ({marks})", segs)
        self.conn.execute(f"DELETE FROM segments WHERE seg IN ({marks})", segs)

    def pairs(self) -> int:
        return int(self.conn.execute("SELECT coalesce(sum(pairs), 0) FROM segments WHERE kind = ?", (self.kind,)).fetchone()[0])


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
