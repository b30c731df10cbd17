"""Vectorized MinHash signatures, bit-compatible with datasketch's ``affine32``.

datasketch 2.x's default scheme pre-mixes each 32-bit input hash with the
MurmurHash3 32-bit finalizer and applies ``a_k * h + b_k mod 2^32`` per
permutation ``k``. The permutation parameters are taken from datasketch
itself (``MinHash(num_perm, seed).permutations``), so a signature row here
equals ``MinHash(num_perm, seed, hashfunc=identity)`` updated with the same
32-bit shingle hashes, and can be wrapped in a ``LeanMinHash`` for
``MinHashLSH``. The kernel works on the whole batch at once: one
``(shingles, num_perm)`` product per chunk and ``np.minimum.reduceat``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..config import MinHashConfig
from .pinned import pinned_permutations

__all__ = ["EMPTY", "fmix32", "lean_minhash", "minhash_signatures", "permutations", "to_uint32"]

EMPTY = np.uint32(0xFFFFFFFF)  # datasketch's "empty" value for affine32
_CHUNK = 1 << 13  # shingles per kernel call: 8k x 128 perms x 4 B = 4 MiB (measured fastest)

_C1, _C2 = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35)
_S16, _S13 = np.uint32(16), np.uint32(13)


@lru_cache(maxsize=16)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutation parameters ``(a, b)`` as uint32 arrays.

    Pinned settings (:mod:`dedup.sketch.pinned`) do not import datasketch.
    """
    pinned = pinned_permutations(num_perm, seed)
    if pinned is not None:
        return pinned
    from datasketch import MinHash  # imported here: worker processes never need datasketch

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (the affine32 pre-mix)."""
    h = h ^ (h >> _S16)
    h = h * _C1
    h = h ^ (h >> _S13)
    h = h * _C2
    return h ^ (h >> _S16)


def to_uint32(hashes: np.ndarray) -> np.ndarray:
    """The 32-bit input hashes MinHash sees: the low half of a 64-bit shingle hash."""
    return (hashes & np.uint64(0xFFFFFFFF)).astype(np.uint32)


def minhash_signatures(
    hashes: np.ndarray,
    offsets: np.ndarray,
    config: MinHashConfig,
    perms: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """MinHash signatures of a batch of shingle sets.

    Args:
        hashes: flat shingle hashes (``uint64``; the low 32 bits are used).
        offsets: ``(n + 1,)`` row offsets.
        config: ``num_perm`` and ``seed``.
        perms: :func:`permutations` for ``config``, when the caller has them
            (worker processes get them passed instead of importing datasketch).

    Returns:
        ``(n, num_perm)`` ``uint32`` array; rows of empty sets are all ``EMPTY``.
    """
    a, b = perms if perms is not None else permutations(config.num_perm, config.seed)
    n = len(offsets) - 1
    out = np.full((n, config.num_perm), EMPTY, dtype=np.uint32)
    h32 = fmix32(to_uint32(hashes))
    nonempty = np.flatnonzero(np.diff(offsets) > 0)
    ends = offsets[nonempty + 1]
    buf = np.empty((config.num_perm, _CHUNK), dtype=np.uint32)  # reused: no page faults per chunk
    i = 0
    while i < len(nonempty):
        # Take whole articles until the chunk holds about _CHUNK shingles.
        lo = int(offsets[nonempty[i]])
        j = max(int(np.searchsorted(ends, lo + _CHUNK, side="right")), i + 1)
        rows = nonempty[i:j]
        hi = int(ends[j - 1])
        # (perms, shingles) layout: reduceat along the contiguous axis is ~4x faster.
        if hi - lo > buf.shape[1]:  # one article longer than a chunk
            buf = np.empty((config.num_perm, hi - lo), dtype=np.uint32)
        phv = buf[:, : hi - lo]
        np.multiply(a[:, None], h32[None, lo:hi], out=phv)
        phv += b[:, None]
        out[rows] = np.minimum.reduceat(phv, offsets[rows] - lo, axis=1).T
        i = j
    return out


def lean_minhash(signature: np.ndarray, config: MinHashConfig):  # -> datasketch.LeanMinHash
    """Wrap one signature row as a datasketch ``LeanMinHash``."""
    from datasketch import LeanMinHash

    return LeanMinHash(seed=config.seed, hashvalues=signature, scheme="affine32")
