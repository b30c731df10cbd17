"""Tokens, word/character shingles and their hashes, vectorized over a batch.

A batch of articles is held as one flat ``uint64`` array of hashes plus an
``offsets`` array of length ``n + 1`` (article ``i`` owns
``hashes[offsets[i]:offsets[i+1]]``), so that every later step is a NumPy
operation over the whole batch instead of a Python loop per shingle.

Token hashes are computed from the UTF-8 bytes of the normalized text with
NumPy (no Python call per token): stable across processes, runs and machines
(Python's ``hash()`` is salted per process).
Shingle hashes combine ``k`` consecutive token (or character) hashes with a
polynomial in ``uint64`` arithmetic and finish with the MurmurHash3 64-bit
finalizer so that every bit depends on every token.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..config import ShingleConfig

__all__ = [
    "char_shingles",
    "fmix64",
    "hash_tokens",
    "shingle",
    "token_hashes",
    "unique_per_row",
    "word_shingles",
]

_PRIME = np.uint64(0x100000001B3)  # FNV-64 prime, odd: the combination is a bijection per step
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer, a bijection that avalanches every bit (a new array)."""
    h = h ^ (h >> _S33)
    h *= _M1
    h ^= h >> _S33
    h *= _M2
    h ^= h >> _S33
    return h


_BATCH = 64
_PRIME_INV = np.uint64(pow(int(_PRIME), -1, 1 << 64))  # P is odd, so it has an inverse mod 2^64
_POWERS: list[np.ndarray] = [np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64)]


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``P^i`` and ``P^-i`` mod 2^64 for ``i < n`` (cached, grown by doubling)."""
    if len(_POWERS[0]) < n:
        size = max(n, 2 * len(_POWERS[0]))
        for k, base in enumerate((_PRIME, _PRIME_INV)):
            arr = np.full(size, base, dtype=np.uint64)
            arr[0] = 1
            _POWERS[k] = np.multiply.accumulate(arr)
    return _POWERS[0][:n], _POWERS[1][:n]


def token_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Hash the tokens of normalized texts, vectorized over the UTF-8 bytes.

    Tokens are the runs between single spaces (what :func:`normalize`
    produces). Each token's hash is a polynomial over its code points in ``uint64``
    arithmetic, finished with :func:`fmix64`: no Python call per token, and the
    same value in every process and run.

    Returns:
        ``(hashes, offsets)``: flat ``uint64`` token hashes and ``(n + 1,)`` offsets.

    >>> h, o = token_hashes(["a b", "", "b"])
    >>> o.tolist(), bool(h[1] == h[2]), bool(h[0] != h[1])
    ([0, 2, 2, 3], True, True)
    """
    if len(texts) > _BATCH:  # small batches keep the temporaries in cache (~3x faster)
        parts = [token_hashes(texts[i : i + _BATCH]) for i in range(0, len(texts), _BATCH)]
        offsets = [np.zeros(1, dtype=np.int64)]
        base = 0
        for h, o in parts:
            offsets.append(o[1:] + base)
            base += len(h)
        return np.concatenate([h for h, _ in parts]), np.concatenate(offsets)
    n = len(texts)
    offsets = np.zeros(n + 1, dtype=np.int64)
    if n == 0:
        return np.zeros(0, dtype=np.uint64), offsets
    data = np.frombuffer("\n".join(texts).encode("utf-32-le"), dtype=np.uint32)
    newline = data == 10
    inside = np.zeros(len(data) + 2, dtype=bool)  # inside a token, with a separator added at either end
    np.not_equal(data, 32, out=inside[1:-1])
    inside[1:-1] &= ~newline
    edges = np.flatnonzero(inside[1:] != inside[:-1])  # token starts and ends, alternately
    if len(edges) == 0:
        return np.zeros(0, dtype=np.uint64), offsets
    starts, ends = edges[0::2], edges[1::2]
    # Σ_k (c_k + 1)·P^k over a token = (prefix[end] - prefix[start]) · P^-start, with
    # prefix sums of (c_i + 1)·P^i over the whole batch: no per-token gathers. The
    # separators' terms fall outside every token's difference, so they need no zeroing.
    powers, inverse = _powers(len(data))
    terms = np.add(data, np.uint64(1), dtype=np.uint64)
    terms *= powers
    prefix = np.zeros(len(data) + 1, dtype=np.uint64)
    np.cumsum(terms, out=prefix[1:])
    del terms
    hashes = prefix[ends] - prefix[starts]
    hashes *= inverse[starts]
    hashes ^= (ends - starts).astype(np.uint64)
    offsets[1:-1] = np.searchsorted(starts, np.flatnonzero(newline))  # the tokens before each text's end
    offsets[-1] = len(starts)
    return fmix64(hashes), offsets


def hash_tokens(tokens: Sequence[str]) -> np.ndarray:
    """Hashes of single tokens, equal to the ones :func:`token_hashes` gives.

    >>> bool((hash_tokens(["x", "y"]) == token_hashes(["x y"])[0]).all())
    True
    """
    return token_hashes([" ".join(tokens)])[0]


def _poly(h: np.ndarray, k: int) -> np.ndarray:
    """``Σ_j h[p+j]·P^(k-1-j)`` for every window ``h[p:p+k]`` of a flat array (``uint64``, wrapping).

    Built by doubling (windows of ``k`` from two windows of ``k // 2``, one
    more token when ``k`` is odd): ~2·log2(k) passes over the array instead
    of ``k - 1``, the same values (ring arithmetic modulo 2^64). Contiguous
    slices, no gathers.
    """
    if k == 1:
        return h
    a = k // 2
    half = _poly(h, a)
    m = len(h) - 2 * a + 1
    acc = half[:m] * np.uint64(pow(int(_PRIME), a, 1 << 64))
    acc += half[a : a + m]
    if k % 2:
        acc = acc[: m - 1]
        acc *= _PRIME
        acc += h[2 * a :]
    return acc


def _rolling(h: np.ndarray, k: int) -> np.ndarray:
    """Polynomial combination of every window ``h[p:p+k]`` of a flat array, then fmix64."""
    return fmix64(_poly(h, k) ^ np.uint64(k))


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concat(arange(s, s + n) for s, n)``, vectorized."""
    return np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))


def word_shingles(hashes: np.ndarray, offsets: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Word k-gram hashes from token hashes, never crossing article boundaries.

    Args:
        hashes: flat ``uint64`` token hashes of a batch.
        offsets: ``(n + 1,)`` row offsets into ``hashes``.
        k: shingle size in tokens.

    Returns:
        ``(shingle_hashes, shingle_offsets)``; an article with fewer than
        ``k`` tokens gets one shingle made of all its tokens.

    >>> h, o = word_shingles(token_hashes(["a b c d"])[0], np.array([0, 4]), 3)
    >>> o.tolist(), len(h)
    ([0, 2], 2)
    """
    lengths = np.diff(offsets)
    counts = np.where(lengths >= k, lengths - k + 1, (lengths > 0).astype(np.int64))
    new_offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(counts, out=new_offsets[1:])
    total = int(new_offsets[-1])
    if total == 0:
        return np.empty(0, dtype=np.uint64), new_offsets
    short = np.flatnonzero((lengths > 0) & (lengths < k))  # rare: rows shorter than k
    if len(hashes) >= k:
        # every window of the flat array, less those that run past the end of their row
        windows = _rolling(hashes, k)
        lo = np.maximum(offsets[:-1], offsets[1:] - k + 1)
        crossing = np.minimum(offsets[1:], len(windows)) - lo
        if crossing.any():
            inside = np.ones(len(windows), dtype=bool)
            inside[_ranges(lo, np.maximum(crossing, 0))] = False
            windows = windows[inside]
        if len(short) == 0:
            return windows, new_offsets
        out = np.empty(total, dtype=np.uint64)
        out[np.repeat(lengths >= k, counts)] = windows
    else:
        out = np.empty(total, dtype=np.uint64)
    for row in short.tolist():
        s, w = int(offsets[row]), int(lengths[row])
        out[new_offsets[row]] = _rolling(hashes[s : s + w], w)[0]
    return out, new_offsets


def char_shingles(texts: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Character k-gram hashes of (already normalized) texts.

    >>> h, o = char_shingles(["abcd", ""], 3)
    >>> o.tolist()
    [0, 2, 2]
    """
    codes = [np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64) for t in texts]
    lengths = np.fromiter((len(c) for c in codes), dtype=np.int64, count=len(codes))
    offsets = np.zeros(len(codes) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.concatenate(codes) if codes else np.zeros(0, dtype=np.uint64)
    return word_shingles(fmix64(flat + np.uint64(1)), offsets, k)


def unique_per_row(hashes: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row and drop repeated values within it (sets of shingles)."""
    n = len(offsets) - 1
    row = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
    order = np.lexsort((hashes, row))
    h, r = hashes[order], row[order]
    keep = np.ones(len(h), dtype=bool)
    keep[1:] = (h[1:] != h[:-1]) | (r[1:] != r[:-1])
    h, r = h[keep], r[keep]
    new_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n), out=new_offsets[1:])
    return h, new_offsets


def shingle(
    normalized: Sequence[str], config: ShingleConfig, tokens: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes (in text order, repeats kept) for normalized texts.

    Args:
        normalized: texts already passed through :func:`dedup.text.normalize.normalize`.
        config: shingle kind and size.
        tokens: precomputed ``token_hashes`` of the same texts (word kind only).

    Returns:
        ``(hashes, offsets)`` of each article's shingle hashes; use
        :func:`unique_per_row` for sets.
    """
    if config.kind == "char":
        return char_shingles(normalized, config.k)
    th, to = tokens if tokens is not None else token_hashes(normalized)
    return word_shingles(th, to, config.k)
