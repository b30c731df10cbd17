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

A feed's features wait on disk until verification, in a
:class:`~dedup.sketch.feature_store.FeatureStore`.

NumPy only: worker processes import this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "KGRAM_TOKENS",
    "SHINGLE_COLUMNS",
    "TOKEN_COLUMNS",
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


def bucket_rows(hashes: np.ndarray, offsets: np.ndarray, columns: int,
                with_counts: bool = True) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Each row's distinct buckets (hash modulo ``columns``), sorted, with their counts.

    Two different shingles of one pair share a bucket with probability about
    ``|A| |B| / columns``, negligible at these widths. One sort of packed
    ``row << log2(columns) | bucket`` keys (~2x faster than scipy's COO → CSR
    conversion with its per-row sort), in two steps (see :func:`_presort`).

    Returns:
        ``(buckets uint32, counts uint32, offsets int64)``; counts None
        without ``with_counts`` (a binary matrix needs none: ~1/3 faster).

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
    del row
    keys.sort(kind="stable")
    first = np.empty(len(keys), dtype=bool)
    if len(keys):
        first[0] = True
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
    counts = None
    if with_counts:
        starts = np.flatnonzero(first)
        counts = np.empty(len(starts), dtype=np.uint32)
        np.subtract(starts[1:], starts[:-1], out=counts[:-1], casting="unsafe")
        if len(starts):
            counts[-1] = len(keys) - starts[-1]
        keys = keys[starts]
    else:
        keys = keys[first]
    # the keys are sorted by row: each row's first key by binary search (n searches, no pass over the keys)
    indptr = np.searchsorted(keys, np.arange(n + 1, dtype=np.int64) << shift).astype(np.int64)
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
        cls, shingle_hashes: np.ndarray, shingle_offsets: np.ndarray, token_hashes: np.ndarray, token_offsets: np.ndarray,
        kgrams: bool = True,
    ) -> "Features":
        """Features of the rows whose shingle and token hashes (in text order) are given (flat + offsets).

        ``kgrams``: with the k-gram sequences (only passage alignment and a history index read them).
        """
        sh, _, so = bucket_rows(shingle_hashes, shingle_offsets, SHINGLE_COLUMNS, with_counts=False)
        tok, counts, to = bucket_rows(token_hashes, token_offsets, TOKEN_COLUMNS)
        if not kgrams:
            return cls(sh, so, tok, counts, to)
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
