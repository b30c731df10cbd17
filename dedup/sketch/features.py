"""Per-article verification features: compact arrays, in memory or on disk.

Verification compares candidate pairs by their shingle sets and token counts.
Both are kept per article as sorted *buckets* (the hash modulo a power of two:
the hashing trick, no vocabulary) in flat ``uint32`` arrays with offsets,
:class:`Features`. These are exactly the rows of the sparse matrices
:mod:`dedup.verify` multiplies, so scores do not depend on where the features
were kept.

Passage alignment (:mod:`dedup.text.align`) needs the text's order, which
sets and counts forget: each article also keeps its word
:data:`KGRAM_TOKENS`-gram hashes *in text order* (repeats kept, 32 bits each,
:func:`kgram_sequences`), from the same token stream as the shingles.

A million articles' features (~3.5 KB each, plus 4 bytes per token of
k-grams) do not fit next to everything else in a few GiB, and verification
only needs the rows of one block of pairs at a time: :class:`FeatureStore`
appends each chunk's features to four flat files (offsets stay in memory, 24
bytes per article) and reads back only the rows asked for, with ``pread``
(:meth:`FeatureStore.gather` the three verification arrays,
:meth:`FeatureStore.gather_kgrams` the k-gram sequences), so the pages read
are not held by the process afterwards (the kernel's page cache keeps them
warm without counting them against it).

NumPy only: worker processes import this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import os
import weakref

import numpy as np

__all__ = [
    "KGRAM_TOKENS",
    "SHINGLE_COLUMNS",
    "TOKEN_COLUMNS",
    "FeatureStore",
    "Features",
    "bucket_rows",
    "kgram_sequences",
    "row_index",
]

SHINGLE_COLUMNS = 1 << 26  # binary matrix: only the shape grows, nothing per column
TOKEN_COLUMNS = 1 << 22  # IDF is stored per column: 4M buckets, ~3% of a 300k vocabulary collides
# Word k-grams of the stored ordered sequences (the seeds of passage alignment).
# Chosen by measurement (scripts/bench_align.py, "sweep"): see dedup/text/align.py.
KGRAM_TOKENS = 5
KGRAM_HASH = "fnv32-poly"  # the scheme of kgram_sequences' hashes (recorded with a history index's parameters)
_LOW32 = np.uint64(0xFFFFFFFF)
_P32 = np.uint32(0x01000193)  # the FNV-32 prime: odd, so every term keeps its token's information


def bucket_rows(hashes: np.ndarray, offsets: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's distinct buckets (hash modulo ``columns``), sorted, with their counts.

    Two different shingles of one pair share a bucket with probability about
    ``|A| |B| / columns``, negligible at these widths. One sort of packed
    ``row << log2(columns) | bucket`` keys (~2x faster than scipy's COO → CSR
    conversion with its per-row sort), in two steps (see :func:`_presort`).

    Returns:
        ``(buckets uint32, counts uint32, offsets int64)``.

    >>> b, c, o = bucket_rows(np.array([5, 2, 5, 2], dtype=np.uint64), np.array([0, 3, 4]), 4)
    >>> b.tolist(), c.tolist(), o.tolist()
    ([1, 2, 2], [2, 1, 1], [0, 2, 3])
    """
    assert columns & (columns - 1) == 0, "columns must be a power of two"
    n = len(offsets) - 1
    shift = columns.bit_length() - 1
    row = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
    keys = (np.asarray(hashes, dtype=np.uint64) & np.uint64(columns - 1)).view(np.int64)
    keys |= row << shift
    _presort(keys, row, shift)
    # The keys are now runs of _BLOCK sorted values (and rows come in order): NumPy's stable sort (timsort)
    # finds the runs and merges them in linear passes, galloping over the runs that do not overlap.
    keys.sort(kind="stable")
    first = np.ones(len(keys), dtype=bool)
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, len(keys))).astype(np.uint32)
    keys = keys[starts]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys >> shift, minlength=n), out=indptr[1:])
    return (keys & (columns - 1)).astype(np.uint32), counts, indptr


_BLOCK = 512  # values sorted together by _presort


def _presort(keys: np.ndarray, row: np.ndarray, shift: int) -> None:
    """Sort ``keys`` in place within consecutive blocks of :data:`_BLOCK` values.

    A block's keys less its first row's key fit 32 bits when it spans fewer
    than ``2 ** (32 - shift)`` rows; NumPy sorts the rows of a ``uint32``
    matrix this narrow with SIMD sorting networks, ~30x faster per value than
    a sort of the whole array, and the stable sort that follows only merges
    the sorted blocks (bucket_rows: ~2x faster on 2,000 news articles). Blocks
    that span more rows (rows of a few values) are left as they are.
    """
    full = len(keys) // _BLOCK * _BLOCK
    if full == 0 or shift >= 32:
        return
    base = row[:full:_BLOCK]
    fits = row[_BLOCK - 1 : full : _BLOCK] - base < (1 << (32 - shift))
    blocks = keys[:full].reshape(-1, _BLOCK)
    if not fits.all():
        blocks, base = blocks[fits], base[fits]  # a copy: written back below
    base = (base << shift)[:, None]
    rel = (blocks - base).astype(np.uint32)
    rel.sort(axis=1)
    if fits.all():
        np.add(rel, base, out=blocks)
    else:
        keys[:full].reshape(-1, _BLOCK)[fits] = rel + base


def kgram_sequences(
    token_hashes: np.ndarray, token_offsets: np.ndarray, k: int = KGRAM_TOKENS
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's word k-gram hashes in text order (repeats kept), 32 bits each.

    A k-gram's hash is a polynomial over the low 32 bits of its tokens'
    hashes (:func:`dedup.text.shingle.token_hashes`, already avalanched),
    in ``uint32`` arithmetic: ~4x faster than the shingler's 64-bit
    polynomial with its final mix, and as good here. Two different k-grams
    differ in some token, whose term is that token's (uniform) hash times an
    odd power of an odd prime, so their hashes collide with probability
    2^-32. Alignment only asks whether a k-gram of one article occurs in
    another (a few hundred k-grams): a false yes has a probability of
    ~1e-7 per k-gram, and moves one seed.

    Returns:
        ``(hashes uint32, offsets int64)``: row ``r`` of ``n`` tokens owns
        ``max(n - k + 1, 0)`` hashes, the one at ``t`` for tokens ``t .. t+k-1``.

    >>> h, o = kgram_sequences(np.arange(7, dtype=np.uint64), np.array([0, 2, 7]), 3)
    >>> o.tolist(), h.dtype.name
    ([0, 0, 3], 'uint32')
    >>> g, _ = kgram_sequences(np.array([5, 6, 7, 9, 5, 6, 7], dtype=np.uint64), np.array([0, 7]), 3)
    >>> bool(g[0] == g[4]), bool(g[0] != g[1])
    (True, True)
    """
    lengths = np.diff(token_offsets)
    counts = np.maximum(lengths - k + 1, 0)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    m = len(token_hashes) - k + 1
    if m <= 0 or offsets[-1] == 0:
        return np.zeros(0, dtype=np.uint32), offsets
    h = (token_hashes & _LOW32).astype(np.uint32)
    acc = h[:m].copy()  # every window of the flat array (contiguous slices, no gathers) ...
    for j in range(1, k):
        acc *= _P32
        acc += h[j : j + m]
    # ... less those that run past the end of their row (the last k - 1 of each row, or all of a short one)
    lo = np.maximum(token_offsets[:-1], token_offsets[1:] - k + 1)
    crossing = np.maximum(np.minimum(token_offsets[1:], m) - lo, 0)
    if crossing.any():
        inside = np.ones(m, dtype=bool)
        inside[np.repeat(lo - (np.cumsum(crossing) - crossing), crossing) + np.arange(int(crossing.sum()))] = False
        acc = acc[inside]
    return acc, offsets


def row_index(offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions of the given rows' values (in the order given), and their new offsets."""
    lengths = np.diff(offsets)[rows]
    new_offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    idx = np.repeat(offsets[rows] - new_offsets[:-1], lengths) + np.arange(int(new_offsets[-1]))
    return idx, new_offsets


def _inverse(order: np.ndarray) -> np.ndarray:
    """The permutation that undoes ``order``."""
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return back


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
    each sorted and distinct within the row. And, when built from hashes, its
    word k-gram hashes in text order (:func:`kgram_sequences`; ``None`` for
    features made otherwise, e.g. read back from a history index)."""

    shingles: np.ndarray  # uint32
    shingle_offsets: np.ndarray  # (n + 1,) int64
    tokens: np.ndarray  # uint32
    counts: np.ndarray  # uint32
    token_offsets: np.ndarray  # (n + 1,) int64
    kgrams: np.ndarray | None = None  # uint32, in text order, repeats kept
    kgram_offsets: np.ndarray | None = None  # (n + 1,) int64

    @classmethod
    def from_hashes(
        cls, shingle_hashes: np.ndarray, shingle_offsets: np.ndarray, token_hashes: np.ndarray, token_offsets: np.ndarray
    ) -> "Features":
        """Features of the rows whose shingle and token hashes (in text order) are given (flat + offsets)."""
        sh, _, so = bucket_rows(shingle_hashes, shingle_offsets, SHINGLE_COLUMNS)
        tok, counts, to = bucket_rows(token_hashes, token_offsets, TOKEN_COLUMNS)
        kg, ko = kgram_sequences(token_hashes, token_offsets)
        return cls(sh, so, tok, counts, to, kg, ko)

    @classmethod
    def empty(cls) -> "Features":
        z32, z64 = np.zeros(0, dtype=np.uint32), np.zeros(1, dtype=np.int64)
        return cls(z32, z64, z32, z32, z64, z32, z64)

    @classmethod
    def concat(cls, parts: Sequence["Features"]) -> "Features":
        """The rows of ``parts``, one part after another (k-grams only when every part has them)."""
        if not parts:
            return cls.empty()
        with_kgrams = all(p.kgrams is not None for p in parts)
        return cls(
            np.concatenate([p.shingles for p in parts]),
            _concat_offsets([p.shingle_offsets for p in parts]),
            np.concatenate([p.tokens for p in parts]),
            np.concatenate([p.counts for p in parts]),
            _concat_offsets([p.token_offsets for p in parts]),
            np.concatenate([p.kgrams for p in parts]) if with_kgrams else None,  # type: ignore[misc]
            _concat_offsets([p.kgram_offsets for p in parts]) if with_kgrams else None,  # type: ignore[misc]
        )

    def __len__(self) -> int:
        return len(self.shingle_offsets) - 1

    def gather(self, rows: np.ndarray) -> "Features":
        """The features of ``rows`` (positions), in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        sidx, so = row_index(self.shingle_offsets, rows)
        tidx, to = row_index(self.token_offsets, rows)
        kg = ko = None
        if self.kgrams is not None:
            kg, ko = self.gather_kgrams(rows)
        return Features(self.shingles[sidx], so, self.tokens[tidx], self.counts[tidx], to, kg, ko)

    def gather_kgrams(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The k-gram sequences of ``rows`` (positions), in that order: ``(flat uint32, offsets)``.

        Raises:
            ValueError: these features carry no k-gram sequences.
        """
        if self.kgrams is None or self.kgram_offsets is None:
            raise ValueError(
                "these features carry no k-gram sequences (made without Features.from_hashes, e.g. read from a "
                "history index): align only rows sketched in this run"
            )
        kidx, ko = row_index(self.kgram_offsets, np.asarray(rows, dtype=np.int64))
        return self.kgrams[kidx], ko


_FILES = ("shingles", "tokens", "counts", "kgrams")
_GAP = 4096  # values (16 KB): rows closer than this (and than their mean length) are read together
_MIN_GAP = 64


class FeatureStore:
    """Append-only, row-addressable :class:`Features` in files under ``directory``.

    :meth:`gather` reads the verification arrays (shingles, tokens, counts),
    :meth:`gather_kgrams` the ordered k-gram sequences, each only what it is
    asked for.

    >>> import tempfile
    >>> f = Features(np.array([1, 2, 3], np.uint32), np.array([0, 2, 3]),
    ...              np.array([5, 6], np.uint32), np.array([1, 2], np.uint32), np.array([0, 1, 2]),
    ...              np.array([7, 8, 9], np.uint32), np.array([0, 1, 3]))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     store = FeatureStore(d)
    ...     store.append(f); store.append(f)
    ...     g = store.gather(np.array([3, 0]))
    ...     k = store.gather_kgrams(np.array([3, 0]))
    ...     store.close()
    >>> len(store), g.shingles.tolist(), g.shingle_offsets.tolist(), g.counts.tolist()
    (4, [3, 1, 2], [0, 1, 3], [2, 1])
    >>> k[0].tolist(), k[1].tolist()
    ([8, 9, 7], [0, 2, 3])

    Once sealed (after the first read) a store pickles as its paths and
    offsets, so worker processes on this machine read the same files (each
    copy opens its own descriptors, closed when it is collected).
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._paths = {name: self.directory / f"{name}.u32" for name in _FILES}
        self._handles = {name: open(path, "wb") for name, path in self._paths.items()}
        self._lengths: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
        self._offsets: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._fds: dict[str, int] = {}
        self._kgrams_missing = False  # some appended rows came without k-grams

    def append(self, features: Features, rows: np.ndarray | None = None) -> None:
        """Add the rows of ``features`` (or only ``rows`` of them, ascending positions) after the rows already stored.

        Chosen rows are written as the slices of their runs of consecutive
        rows, not gathered into new arrays first (a chunk leaves out only its
        exact copies of earlier texts: a few runs).
        """
        if self._offsets is not None:
            raise RuntimeError("FeatureStore: append after gather")
        kinds = [("shingles", features.shingle_offsets), ("tokens", features.token_offsets),
                 ("counts", features.token_offsets)]
        has_kgrams = features.kgrams is not None and features.kgram_offsets is not None
        if has_kgrams:
            kinds.append(("kgrams", features.kgram_offsets))
        if rows is None:
            runs = [(0, len(features))]
        else:
            rows = np.asarray(rows, dtype=np.int64)
            cut = np.flatnonzero(np.diff(rows) != 1) + 1
            runs = list(zip(rows[np.r_[0, cut]].tolist(), (rows[np.r_[cut - 1, len(rows) - 1]] + 1).tolist())) if len(rows) else []
        for name, offsets in kinds:
            values = getattr(features, name)
            for lo, hi in runs:
                values[offsets[lo] : offsets[hi]].astype(np.uint32, copy=False).tofile(self._handles[name])
        chosen = slice(None) if rows is None else rows
        self._lengths[0].append(np.diff(features.shingle_offsets)[chosen])
        self._lengths[1].append(np.diff(features.token_offsets)[chosen])
        if has_kgrams:
            self._lengths[2].append(np.diff(features.kgram_offsets)[chosen])  # type: ignore[arg-type]
        else:
            self._kgrams_missing = True
            self._lengths[2].append(np.zeros(len(features) if rows is None else len(rows), dtype=np.int64))

    def __getstate__(self) -> dict:
        if self._offsets is None:
            raise TypeError(f"FeatureStore {self.directory}: only a sealed store (read from once) can be sent to a worker")
        return {"directory": self.directory, "paths": self._paths, "offsets": self._offsets, "kgrams_missing": self._kgrams_missing}

    def __setstate__(self, state: dict) -> None:
        self.directory, self._paths, self._offsets = state["directory"], state["paths"], state["offsets"]
        self._kgrams_missing = state["kgrams_missing"]
        self._handles, self._lengths = {}, ([], [], [])
        self._fds = {name: os.open(path, os.O_RDONLY) for name, path in self._paths.items()}
        weakref.finalize(self, _close_fds, self._fds)

    def _sealed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Offsets of every kind; the first call closes the files for writing and opens them for reading."""
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
            self._offsets = (offsets[0], offsets[1], offsets[2])
            self._lengths = ([], [], [])
        return self._offsets

    def __len__(self) -> int:
        if self._offsets is not None:
            return len(self._offsets[0]) - 1
        return sum(len(x) for x in self._lengths[0])

    def _read(self, name: str, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The values of rows given by ``starts`` (ascending) and ``lengths``: ``(flat, offsets)``.

        Rows closer than :data:`_GAP` values apart, and than the mean
        length of the rows asked for, are read with one ``pread`` (so at
        most about twice the values wanted are read: scattered rows of a
        large store are not read with everything between them); nothing is
        mapped, so only the values read are held.
        """
        offsets = np.zeros(len(starts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if offsets[-1] == 0:
            return np.zeros(0, dtype=np.uint32), offsets
        gap = min(_GAP, max(_MIN_GAP, int(offsets[-1]) // len(starts)))
        ends = starts + lengths
        new_run = np.ones(len(starts), dtype=bool)
        new_run[1:] = starts[1:] - np.maximum.accumulate(ends)[:-1] > gap
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
        total = int(offsets[-1])
        if total == len(data):  # the rows lie end to end in the file: nothing read between them
            return data, offsets
        if len(starts) > 1 and not bool((starts[1:] >= ends[:-1]).all()):  # a row asked twice: gathered by position
            idx = np.repeat(row_at - offsets[:-1], lengths) + np.arange(total)
            return data[idx], offsets
        # The values between the rows (read with them) are left out by a mask, a byte a value, rather than
        # gathered by an index of 8 bytes a value: a block of pairs reads tens of millions of values, and
        # each array of that size is fresh memory the kernel must zero (a third of a large verification's time).
        edge = np.zeros(len(data) + 1, dtype=np.int8)
        full = lengths > 0
        edge[row_at[full]] = 1
        edge[row_at[full] + lengths[full]] -= 1  # where one row ends and the next begins: 1 - 1, still inside
        inside = np.cumsum(edge[:-1], dtype=np.int8).view(bool)
        return data[inside], offsets

    def gather(self, rows: np.ndarray) -> Features:
        """The verification features of ``rows`` (positions in append order), in that order.

        The k-gram sequences are not read (``kgrams`` is None): scoring does
        not need them; :meth:`gather_kgrams` reads them.
        """
        shingle_offsets, token_offsets, _ = self._sealed()
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
        return feats.gather(_inverse(order))

    def gather_kgrams(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The k-gram sequences of ``rows`` (positions in append order), in that order: ``(flat uint32, offsets)``.

        Raises:
            ValueError: some rows were appended without k-gram sequences.
        """
        _, _, kgram_offsets = self._sealed()
        if self._kgrams_missing:
            raise ValueError(
                f"FeatureStore {self.directory}: some rows were appended without k-gram sequences "
                "(Features not made by Features.from_hashes): align only stores filled by the sketch stage"
            )
        rows = np.asarray(rows, dtype=np.int64)
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        kg, ko = self._read("kgrams", kgram_offsets[sorted_rows], np.diff(kgram_offsets)[sorted_rows])
        if np.all(order[1:] > order[:-1]):
            return kg, ko
        idx, new_offsets = row_index(ko, _inverse(order))
        return kg[idx], new_offsets

    def close(self) -> None:
        """Close the files (they go with their directory)."""
        for handle in self._handles.values():
            handle.close()
        _close_fds(self._fds)


def _close_fds(fds: dict[str, int]) -> None:
    """Close and forget the descriptors (the dict is the store's own: a second call finds nothing to close)."""
    for fd in fds.values():
        os.close(fd)
    fds.clear()
