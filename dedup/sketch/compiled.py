"""Compiled twins (numba) of the text path's two hottest loops: token hashes and MinHash signatures.

:func:`token_hashes` gives what :func:`dedup.text.shingle.token_hashes` gives
(the same polynomial over each token's code points, modulo 2^64, its length
mixed in, then MurmurHash3's finalizer), in one pass over the code points
instead of NumPy's prefix sums over the whole batch. :func:`minhash_signatures`
gives what :func:`dedup.sketch.signatures.minhash_signatures` gives
(datasketch's ``affine32``), each article's minimum taken as its shingles
stream by instead of through a ``(num_perm, shingles)`` product in memory.
Both are bit-identical to the NumPy path (tested) and about 2-3x faster on
news articles (``scripts/bench_text_path.py``).

numba compiles them once per machine (cached beside this module) and each
process pays numba's import and the cache load (~0.5 s), so the flow uses
them only for a feed large enough to repay it
(:data:`dedup.flows.prepare.COMPILED_ARTICLES`); a small feed never imports numba.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

import numpy as np

from ..config import MinHashConfig
from .signatures import EMPTY, fmix32, permutations, to_uint32

__all__ = ["minhash_signatures", "token_hashes"]


@lru_cache(maxsize=1)
def _kernels() -> tuple[Callable[..., Any], Callable[..., Any]]:
    import numba  # here: importing numba costs ~0.3 s, paid only by a process that sketches a large feed

    from ..text.shingle import _M1, _M2, _PRIME, _S33

    @numba.njit(cache=True, nogil=True)
    def tokens(data, n_texts):  # type: ignore[no-untyped-def]
        out = np.empty(len(data) // 2 + 1, dtype=np.uint64)  # a token and its separator: two code points at least
        offsets = np.zeros(n_texts + 1, dtype=np.int64)
        one = np.uint64(1)
        t = 0
        row = 0
        length = 0
        h = np.uint64(0)
        power = one
        for c in data:
            if c == 32 or c == 10:
                if length:
                    h ^= np.uint64(length)
                    h ^= h >> _S33
                    h *= _M1
                    h ^= h >> _S33
                    h *= _M2
                    h ^= h >> _S33
                    out[t] = h
                    t += 1
                    length = 0
                    h = np.uint64(0)
                    power = one
                if c == 10:  # the end of a text
                    row += 1
                    offsets[row] = t
            else:
                h += (np.uint64(c) + one) * power
                power *= _PRIME
                length += 1
        if length:
            h ^= np.uint64(length)
            h ^= h >> _S33
            h *= _M1
            h ^= h >> _S33
            h *= _M2
            h ^= h >> _S33
            out[t] = h
            t += 1
        offsets[n_texts] = t
        return out[:t].copy(), offsets

    @numba.njit(cache=True, nogil=True)
    def minhash(h32, offsets, a, b, out):  # type: ignore[no-untyped-def]
        perms = len(a)
        low = np.empty(perms, dtype=np.uint32)
        for r in range(len(offsets) - 1):
            lo, hi = offsets[r], offsets[r + 1]
            if lo == hi:
                continue  # an empty set keeps its row of EMPTY
            low[:] = np.uint32(0xFFFFFFFF)
            for s in range(lo, hi):
                h = h32[s]
                for k in range(perms):
                    low[k] = min(low[k], np.uint32(a[k] * h + b[k]))  # computed wider, kept modulo 2^32
            out[r, :] = low

    return tokens, minhash


def token_hashes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`dedup.text.shingle.token_hashes`, compiled: ``(hashes, offsets)`` of the texts' tokens."""
    if not texts:
        return np.zeros(0, dtype=np.uint64), np.zeros(1, dtype=np.int64)
    data = np.frombuffer("\n".join(texts).encode("utf-32-le"), dtype=np.uint32)
    return _kernels()[0](data, len(texts))


def minhash_signatures(
    hashes: np.ndarray, offsets: np.ndarray, config: MinHashConfig, perms: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """:func:`dedup.sketch.signatures.minhash_signatures`, compiled: ``(n, num_perm)`` ``uint32``."""
    a, b = perms if perms is not None else permutations(config.num_perm, config.seed)
    out = np.full((len(offsets) - 1, config.num_perm), EMPTY, dtype=np.uint32)
    if len(hashes):
        _kernels()[1](fmix32(to_uint32(hashes)), np.asarray(offsets, dtype=np.int64), a, b, out)
    return out
