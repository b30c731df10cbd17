"""The lines of ``pairs.jsonl`` for millions of edges, each copied together from a table of its parts by a compiled kernel (numba).

:func:`pair_blocks` writes exactly the bytes :func:`dedup.io.dedupe_rows.pair_lines`
does (tested, ties, NaN and lone surrogates included). A line there is one
Python f-string of nine values: ~3.5 µs an edge, ~46 s of the serial tail
of a million articles in large copy families (13M edges). Here every part of
a line is a number into one table: the nine literal pieces, the 10,001
scores at four places, the relations and the ids of the articles that have
an edge. A block's numbers are worked out with NumPy, and the kernel copies
the parts into one buffer (200k articles of large copy families, 2.7M edges,
in one process: 9.1 -> 3.2 s, the kernel ~1.3 s of it; a million articles,
13M edges: ~46 s -> 18 s with the file written).

What the table cannot say goes through the Python path, one part or one line
at a time: a score that is NaN, outside [0, 1] or within rounding of a tie
(:func:`~dedup.io.dedupe_rows._nums`' rule), and an edge whose id holds a
lone surrogate (its whole line is ASCII-escaped).

numba compiles the kernel once per machine (cached beside this module) and
each process pays its import and the cache load (~0.5-1 s), so the writer
uses it only for many edges (:data:`dedup.io.dedupe_out.PAIR_KERNEL_EDGES`).
"""

from __future__ import annotations

from collections.abc import Iterator
from json.encoder import encode_basestring

import numpy as np

from ..jit import numba
from ..results import DedupResult
from ..verify import RELATIONS
from .dedupe_rows import _SURROGATE, _TIES, _num, _pair_row

__all__ = ["pair_blocks"]

_BLOCK = 200_000  # edges a block: ~35 MB of output and a (block, 17) table of part numbers
# the literal pieces of a line, between its eight values
_PIECES = ('{"id1":', ',"id2":', ',"relation":', ',"jaccard":', ',"containment_1_in_2":', ',"containment_2_in_1":',
           ',"cosine":', ',"probability":', '}\n', "")
_EMPTY = len(_PIECES) - 1  # the empty part: the rest of a line given whole
_SCORES = len(_PIECES)  # part number of the score k / 10^4 is _SCORES + k
_NULL = _SCORES + 10001
_RELATION = _NULL + 1


@numba.njit(cache=True, nogil=True)
def _join(buf, start, length, parts):  # type: ignore[no-untyped-def]
    """The parts of each row, one after another: part ``s`` is ``buf[start[s]:start[s] + length[s]]``."""
    rows, width = parts.shape
    total = 0
    for r in range(rows):
        for c in range(width):
            total += length[parts[r, c]]
    out = np.empty(total, np.uint8)
    w = 0
    for r in range(rows):
        for c in range(width):
            s = parts[r, c]
            a, n = start[s], length[s]
            for b in range(n):
                out[w + b] = buf[a + b]
            w += n
    return out


def _table(parts: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The parts as one buffer, their starts and their lengths."""
    length = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    start = np.zeros(len(parts), dtype=np.int64)
    np.cumsum(length[:-1], out=start[1:])
    return np.frombuffer(b"".join(parts), dtype=np.uint8), start, length


def pair_blocks(result: DedupResult) -> Iterator[np.ndarray]:
    """The bytes of ``pairs.jsonl`` (:func:`~dedup.io.dedupe_rows.pair_lines`, UTF-8), a block of edges at a time."""
    pairs, s = result.pairs, result.pair_scores
    if not len(pairs):
        return
    has = np.zeros(int(pairs.max()) + 1, dtype=bool)
    has[pairs.ravel()] = True
    named = np.flatnonzero(has)  # the articles with an edge: the table holds their ids only
    slot = np.cumsum(has) - 1
    ids, lone = [], np.zeros(len(named), dtype=bool)
    for k, pos in enumerate(named.tolist()):
        name = result.name(pos)
        if _SURROGATE.search(name):
            lone[k] = True
            name = ""
        ids.append(encode_basestring(name).encode("utf-8"))
    relations = [(b"null" if RELATIONS.get(code) is None else encode_basestring(RELATIONS[code]).encode())
                 for code in range(max(RELATIONS) + 1)]
    scores = [repr(k / 10000).encode() for k in range(10001)]
    table = _table([p.encode() for p in _PIECES] + scores + [b"null"] + relations + ids)
    first_id = _RELATION + len(relations)
    columns = [s.jaccard, s.contain_ij, s.contain_ji, s.cosine]
    for lo in range(0, len(pairs), _BLOCK):
        hi = min(lo + _BLOCK, len(pairs))
        parts = np.empty((hi - lo, 2 * len(_PIECES) - 3), dtype=np.int32)  # piece, value, ..., value, closing piece
        parts[:, 0::2] = np.arange(len(_PIECES) - 1)
        at = slot[pairs[lo:hi]]
        parts[:, 1], parts[:, 3] = first_id + at[:, 0], first_id + at[:, 1]
        parts[:, 5] = _RELATION + result.pair_relation[lo:hi].astype(np.int64)
        extra: list[bytes] = []
        for c, col in enumerate(columns + [s.probability]):
            if col is None:  # no probability (the rule decided)
                parts[:, 7 + 2 * c] = _NULL
                continue
            x = np.asarray(col[lo:hi], dtype=np.float64)
            scaled = x * 10000.0
            with np.errstate(invalid="ignore"):
                ok = (x >= 0.0) & (x <= 1.0) & ~np.signbit(x) & (np.abs(scaled - np.floor(scaled) - 0.5) >= _TIES)
            parts[:, 7 + 2 * c] = _SCORES + np.rint(np.where(ok, scaled, 0.0)).astype(np.int64)
            for m in np.flatnonzero(~ok).tolist():  # the values the table cannot say: as _num says them
                parts[m, 7 + 2 * c] = len(table[1]) + len(extra)
                extra.append(_num(float(x[m])).encode())
        for m in np.flatnonzero(lone[at[:, 0]] | lone[at[:, 1]]).tolist():  # a lone surrogate: the whole line escaped
            i, j = pairs[lo + m].tolist()
            parts[m] = _EMPTY
            parts[m, 0] = len(table[1]) + len(extra)
            extra.append(_line(result, lo + m, i, j).encode("ascii"))
        if extra:  # this block's own parts after the table's
            more = _table(extra)
            yield _join(np.concatenate((table[0], more[0])), np.concatenate((table[1], more[1] + len(table[0]))),
                        np.concatenate((table[2], more[2])), parts)
        else:
            yield _join(*table, parts)


def _line(result: DedupResult, m: int, i: int, j: int) -> str:
    from .writers import json_line

    return json_line(_pair_row(result, m, i, j))
