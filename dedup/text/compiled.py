"""Compiled twins (numba) of the text stage's hot loops: folding a batch of texts, and hashing its tokens.

:func:`fold` does in one pass over the code points what
:func:`dedup.text.normalize._fold` does in several NumPy passes when a batch
needs no repair and every character folds to one code point or none: look
each character up in the folding table, then drop deleted characters and
collapse each run of white space (:func:`dedup.text.normalize._collapse`'s
rules). When the batch needs anything else (a repair, a character not met
yet, one that folds to several), it answers None and the NumPy path folds
the batch, so the output is always the NumPy path's.

:func:`token_hashes` gives what :func:`dedup.text.shingle.token_hashes` gives
(the same polynomial over each token's code points, modulo 2^64, its length
mixed in, then MurmurHash3's finalizer), in one pass instead of NumPy's
prefix sums over the whole batch.

Both are bit-identical to the NumPy path (tested). numba compiles them once
per machine (cached beside this module) and each process pays numba's import
and the cache load (~0.5 s), so the flow uses them only for a feed large
enough to repay it (:data:`dedup.flows.prepare.COMPILED_ARTICLES`); a small
feed never imports numba.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

import numpy as np

__all__ = ["fold", "token_hashes"]


@lru_cache(maxsize=1)
def _kernels() -> tuple[Callable[..., Any], Callable[..., Any]]:
    import numba  # here: importing numba costs ~0.3 s, paid only by a process that prepares a large feed

    from .normalize import _AMP, _LEAD_HI, _LEAD_LO, _NEWLINE, _SEP, _SLOW, _SPACE, _UNSET
    from .shingle import _M1, _M2, _PRIME, _S33

    @numba.njit(cache=True, nogil=True)
    def fold(raw, direct, starts, lengths, values, reorders, any_reorders, records, repair, out):  # type: ignore[no-untyped-def]
        """Folded and collapsed code points into ``out``; their number, or -1 when the NumPy path is needed."""
        m = 0
        run = False  # inside a run of white space
        run_at_start = True  # ... that began at the start of the text
        newline = space = False
        seps = 0
        expanded = reordering = False
        for c in raw:
            if repair and (c == _AMP or (c >= _LEAD_LO and c <= _LEAD_HI)):
                return -1  # a repair to try: the NumPy path
            v = direct[c]
            if v == _UNSET:  # a character not met yet: the NumPy path fills its entry
                return -1
            lo, hi = 0, 1
            if v == _SLOW:  # folds to several code points: their folding, when known
                if c >= len(starts) or starts[c] < 0:
                    return -1
                lo, hi = starts[c], starts[c] + lengths[c]
                expanded = True
            if any_reorders and c < len(reorders) and reorders[c]:
                reordering = True
            for k in range(lo, hi):
                w = v if v != _SLOW else values[k]
                if w <= _SPACE if records else (w == 0 or w == _SPACE or w == _NEWLINE):
                    if not run:
                        run = True
                        newline = space = False
                        seps = 0
                    if w == _NEWLINE:
                        newline = True
                    elif w == _SPACE:
                        space = True
                    elif records and w == _SEP:
                        seps += 1
                    continue
                if run:  # a run of white space between two characters: what it leaves
                    if seps:
                        for _ in range(seps):
                            out[m] = _SEP
                            m += 1
                    elif not run_at_start:
                        if newline:
                            out[m] = _NEWLINE
                            m += 1
                        elif space:
                            out[m] = _SPACE
                            m += 1
                    run = False
                run_at_start = False
                out[m] = w
                m += 1
        if expanded and reordering:  # marks NFKD could reorder across characters: the full path
            return -1
        if run:  # a run at the end leaves its separators only
            for _ in range(seps):
                out[m] = _SEP
                m += 1
        return m

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

    return fold, tokens


def fold(raw: np.ndarray, tables: Any, records: bool, repair: bool) -> np.ndarray | None:
    """The folded, collapsed code points of ``raw`` by the folding ``tables``; None when the NumPy path must fold them.

    ``tables``: :meth:`dedup.text.normalize._Tables.compiled` (the direct
    table, the known foldings of several code points, and which characters
    carry marks NFKD could reorder). ``repair``: a batch holding what a
    repair looks for goes to the NumPy path.
    """
    direct, starts, lengths, values, reorders, any_reorders, longest = tables
    out = np.empty(len(raw) * longest, dtype=np.uint32)  # never touched past what is written
    m = _kernels()[0](raw, direct, starts, lengths, values, reorders, any_reorders, records, repair, out)
    return None if m < 0 else out[:m]


def token_hashes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`dedup.text.shingle.token_hashes`, compiled: ``(hashes, offsets)`` of the texts' tokens."""
    if not texts:
        return np.zeros(0, dtype=np.uint64), np.zeros(1, dtype=np.int64)
    data = np.frombuffer("\n".join(texts).encode("utf-32-le"), dtype=np.uint32)
    return _kernels()[1](data, len(texts))
