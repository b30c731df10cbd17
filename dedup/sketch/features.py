"""Per-article verification features: compact arrays, in memory or on disk.

Verification compares candidate pairs by their shingle sets and token counts.
Both are kept per article as sorted *buckets* (the hash modulo a power of two:
the hashing trick, no vocabulary) in flat ``uint32`` arrays with offsets,
:class:`Features`. These are exactly the rows of the sparse matrices
:mod:`dedup.verify` multiplies, so scores do not depend on where the features
were kept.

A million articles' features (~3.5 KB each) do not fit next to everything
else in a few GiB, and verification only needs the rows of one block of pairs
at a time: :class:`FeatureStore` appends each chunk's features to three flat
files (offsets stay in memory, 16 bytes per article) and maps them only for
the duration of one :meth:`FeatureStore.gather`, so the pages read are not
held by the process afterwards (the kernel's page cache keeps them warm
without counting them against it).

NumPy only: worker processes import this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import os

import numpy as np

__all__ = ["SHINGLE_COLUMNS", "TOKEN_COLUMNS", "FeatureStore", "Features", "bucket_rows", "row_index"]

SHINGLE_COLUMNS = 1 << 26  # binary matrix: only the shape grows, nothing per column
TOKEN_COLUMNS = 1 << 22  # IDF is stored per column: 4M buckets, ~3% of a 300k vocabulary collides


def bucket_rows(hashes: np.ndarray, offsets: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's distinct buckets (hash modulo ``columns``), sorted, with their counts.

    Two different shingles of one pair share a bucket with probability about
    ``|A| |B| / columns``, negligible at these widths. One sort of packed
    ``row << log2(columns) | bucket`` keys (~2x faster than scipy's COO → CSR
    conversion with its per-row sort).

    Returns:
        ``(buckets uint32, counts uint32, offsets int64)``.

    >>> b, c, o = bucket_rows(np.array([5, 2, 5, 2], dtype=np.uint64), np.array([0, 3, 4]), 4)
    >>> b.tolist(), c.tolist(), o.tolist()
    ([1, 2, 2], [2, 1, 1], [0, 2, 3])
    """
    assert columns & (columns - 1) == 0, "columns must be a power of two"
    n = len(offsets) - 1
    shift = columns.bit_length() - 1
    keys = np.repeat(np.arange(n, dtype=np.int64) << shift, np.diff(offsets))
    keys |= (hashes & np.uint64(columns - 1)).astype(np.int64)
    keys.sort()
    first = np.ones(len(keys), dtype=bool)
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, len(keys))).astype(np.uint32)
    keys = keys[starts]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys >> shift, minlength=n), out=indptr[1:])
    return (keys & (columns - 1)).astype(np.uint32), counts, indptr


def row_index(offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions of the given rows' values (in the order given), and their new offsets."""
    lengths = np.diff(offsets)[rows]
    new_offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    idx = np.repeat(offsets[rows] - new_offsets[:-1], lengths) + np.arange(int(new_offsets[-1]))
    return idx, new_offsets


def _concat_offsets(offsets: Sequence[np.ndarray]) -> np.ndarray:
    out = [np.zeros(1, dtype=np.int64)]
    base = 0
    for off in offsets:
        out.append(off[1:] + base)
        base += int(off[-1])
    return np.concatenate(out)


@dataclass(frozen=True)
class Features:
    """Per row (article): its shingle buckets (modulo :data:`SHINGLE_COLUMNS`),
    and its token buckets (modulo :data:`TOKEN_COLUMNS`) with their counts;
    each sorted and distinct within the row."""

    shingles: np.ndarray  # uint32
    shingle_offsets: np.ndarray  # (n + 1,) int64
    tokens: np.ndarray  # uint32
    counts: np.ndarray  # uint32
    token_offsets: np.ndarray  # (n + 1,) int64

    @classmethod
    def from_hashes(
        cls, shingle_hashes: np.ndarray, shingle_offsets: np.ndarray, token_hashes: np.ndarray, token_offsets: np.ndarray
    ) -> "Features":
        """Features of the rows whose shingle and token hashes are given (flat + offsets)."""
        sh, _, so = bucket_rows(shingle_hashes, shingle_offsets, SHINGLE_COLUMNS)
        tok, counts, to = bucket_rows(token_hashes, token_offsets, TOKEN_COLUMNS)
        return cls(sh, so, tok, counts, to)

    @classmethod
    def empty(cls) -> "Features":
        z32, z64 = np.zeros(0, dtype=np.uint32), np.zeros(1, dtype=np.int64)
        return cls(z32, z64, z32, z32, z64)

    @classmethod
    def concat(cls, parts: Sequence["Features"]) -> "Features":
        """The rows of ``parts``, one part after another."""
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.shingles for p in parts]),
            _concat_offsets([p.shingle_offsets for p in parts]),
            np.concatenate([p.tokens for p in parts]),
            np.concatenate([p.counts for p in parts]),
            _concat_offsets([p.token_offsets for p in parts]),
        )

    def __len__(self) -> int:
        return len(self.shingle_offsets) - 1

    def gather(self, rows: np.ndarray) -> "Features":
        """The features of ``rows`` (positions), in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        sidx, so = row_index(self.shingle_offsets, rows)
        tidx, to = row_index(self.token_offsets, rows)
        return Features(self.shingles[sidx], so, self.tokens[tidx], self.counts[tidx], to)


_FILES = ("shingles", "tokens", "counts")
_GAP = 4096  # values (16 KB): rows closer than this are read together


class FeatureStore:
    """Append-only, row-addressable :class:`Features` in files under ``directory``.

    >>> import tempfile
    >>> f = Features(np.array([1, 2, 3], np.uint32), np.array([0, 2, 3]),
    ...              np.array([5, 6], np.uint32), np.array([1, 2], np.uint32), np.array([0, 1, 2]))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     store = FeatureStore(d)
    ...     store.append(f); store.append(f)
    ...     g = store.gather(np.array([3, 0]))
    ...     store.close()
    >>> len(store), g.shingles.tolist(), g.shingle_offsets.tolist(), g.counts.tolist()
    (4, [3, 1, 2], [0, 1, 3], [2, 1])
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._paths = {name: self.directory / f"{name}.u32" for name in _FILES}
        self._handles = {name: open(path, "wb") for name, path in self._paths.items()}
        self._lengths: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
        self._offsets: tuple[np.ndarray, np.ndarray] | None = None
        self._fds: dict[str, int] = {}

    def append(self, features: Features) -> None:
        """Add the rows of ``features`` after the rows already stored."""
        if self._offsets is not None:
            raise RuntimeError("FeatureStore: append after gather")
        for name in _FILES:
            getattr(features, name).astype(np.uint32, copy=False).tofile(self._handles[name])
        self._lengths[0].append(np.diff(features.shingle_offsets))
        self._lengths[1].append(np.diff(features.token_offsets))

    def _sealed(self) -> tuple[np.ndarray, np.ndarray]:
        """Offsets of both kinds; the first call closes the files for writing and opens them for reading."""
        if self._offsets is None:
            for handle in self._handles.values():
                handle.close()
            self._fds = {name: os.open(path, os.O_RDONLY) for name, path in self._paths.items()}
            offsets = []
            for lengths in self._lengths:
                off = np.zeros(sum(len(x) for x in lengths) + 1, dtype=np.int64)
                if lengths:
                    np.cumsum(np.concatenate(lengths), out=off[1:])
                offsets.append(off)
            self._offsets = (offsets[0], offsets[1])
            self._lengths = ([], [])
        return self._offsets

    def __len__(self) -> int:
        if self._offsets is not None:
            return len(self._offsets[0]) - 1
        return sum(len(x) for x in self._lengths[0])

    def _read(self, name: str, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The values of rows given by ``starts`` (ascending) and ``lengths``: ``(flat, offsets)``.

        Rows closer than :data:`_GAP` values apart are read with one
        ``pread``; nothing is mapped, so only the values read are held.
        """
        offsets = np.zeros(len(starts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if offsets[-1] == 0:
            return np.zeros(0, dtype=np.uint32), offsets
        ends = starts + lengths
        new_run = np.ones(len(starts), dtype=bool)
        new_run[1:] = starts[1:] - np.maximum.accumulate(ends)[:-1] > _GAP
        firsts = np.flatnonzero(new_run)
        run_start = starts[firsts]
        run_end = np.maximum.reduceat(ends, firsts)
        fd = self._fds[name]
        chunks = [
            np.frombuffer(os.pread(fd, int(b - a) * 4, int(a) * 4), dtype=np.uint32)
            for a, b in zip(run_start.tolist(), run_end.tolist())
        ]
        data = np.concatenate(chunks)
        run_base = np.zeros(len(chunks), dtype=np.int64)
        np.cumsum((run_end - run_start)[:-1], out=run_base[1:])
        run_of = np.cumsum(new_run) - 1
        row_at = starts - run_start[run_of] + run_base[run_of]  # where each row begins in ``data``
        idx = np.repeat(row_at - offsets[:-1], lengths) + np.arange(int(offsets[-1]))
        return data[idx], offsets

    def gather(self, rows: np.ndarray) -> Features:
        """The features of ``rows`` (positions in append order), in that order."""
        shingle_offsets, token_offsets = self._sealed()
        rows = np.asarray(rows, dtype=np.int64)
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        sh, so = self._read("shingles", shingle_offsets[sorted_rows], np.diff(shingle_offsets)[sorted_rows])
        tstart, tlen = token_offsets[sorted_rows], np.diff(token_offsets)[sorted_rows]
        tok, to = self._read("tokens", tstart, tlen)
        counts, _ = self._read("counts", tstart, tlen)
        feats = Features(sh, so, tok, counts, to)
        if np.all(order[1:] > order[:-1]):
            return feats
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        return feats.gather(back)

    def close(self) -> None:
        """Close the files (they go with their directory)."""
        for handle in self._handles.values():
            handle.close()
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}
