"""Verification: exact scores for every candidate pair, and the rule that decides.

Scores are computed once per pair, vectorized over all pairs, on the same
shingle sets the signatures were made from and on TF-IDF vectors of the same
normalized tokens:

* ``jaccard`` = |A∩B| / |A∪B| of the shingle sets;
* ``containment`` both ways: ``c_ij`` = |A∩B| / |A| (how much of i is in j)
  and ``c_ji``; the relation uses the larger one (the shorter article's);
* ``cosine`` of sublinear TF-IDF vectors (scikit-learn's ``TfidfTransformer``
  over token counts built from the shared token hashes).

The rule (:func:`decide`): identical normalized text is ``exact``; otherwise a
pair is ``near`` when its Jaccard is at least ``jaccard`` and its cosine at
least ``min_cosine``, else ``contained`` when the shorter article's
containment is at least ``containment`` (no cosine condition: a short item
inside a long roundup has a low cosine with it by construction); anything
else is not a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer

from .config import VerifyConfig

__all__ = [
    "CONTAINED",
    "EXACT",
    "NEAR",
    "NONE",
    "RELATIONS",
    "SHINGLE_COLUMNS",
    "TOKEN_COLUMNS",
    "PairScores",
    "Vectors",
    "decide",
    "hashed_rows",
    "score_pairs",
]

NONE, EXACT, NEAR, CONTAINED = 0, 1, 2, 3
RELATIONS = {NONE: None, EXACT: "exact", NEAR: "near", CONTAINED: "contained"}
_PAIR_CHUNK = 50_000


SHINGLE_COLUMNS = 1 << 26  # binary matrix: only the shape grows, nothing per column
TOKEN_COLUMNS = 1 << 22  # IDF is stored per column: 4M buckets, ~3% of a 300k vocabulary collides


def hashed_rows(hashes: np.ndarray, offsets: np.ndarray, columns: int = TOKEN_COLUMNS, binary: bool = False) -> sp.csr_matrix:
    """Counts (or 1s) per (row, hash bucket) as a canonical CSR matrix.

    Columns are the hash modulo ``columns`` (the hashing trick): no vocabulary
    to build. Two different shingles of one pair share a bucket with
    probability about ``|A| |B| / columns``, negligible at these widths. Built
    with one sort of packed ``row << log2(columns) | bucket`` keys instead of
    scipy's COO → CSR conversion and per-row sort (~2x faster).

    >>> m = hashed_rows(np.array([5, 2, 5, 2], dtype=np.uint64), np.array([0, 3, 4]), 4)
    >>> m.toarray().tolist()
    [[0.0, 2.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0]]
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
    counts = np.ones(len(starts)) if binary else np.diff(np.append(starts, len(keys))).astype(np.float64)
    keys = keys[starts]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys >> shift, minlength=n), out=indptr[1:])
    m = sp.csr_matrix((counts, (keys & (columns - 1)).astype(np.int32), indptr), shape=(n, columns))
    m.has_canonical_format = True
    return m


def _select_rows(hashes: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The flat values and offsets of the given rows only."""
    lengths = np.diff(offsets)[rows]
    new_offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    idx = np.repeat(offsets[rows] - new_offsets[:-1], lengths) + np.arange(int(new_offsets[-1]))
    return hashes[idx], new_offsets


@dataclass(frozen=True)
class Vectors:
    """What verification compares, for the articles that take part in pairs.

    ``shingles`` is a binary (rows × shingle buckets) matrix, ``tfidf`` an
    L2-normalized (rows × token buckets) matrix, ``sizes`` the shingle-set
    sizes; ``row_of`` maps an article position to its row (-1 when not
    built); ``digest`` hashes each article's normalized text (equal digests =
    exact copies).
    """

    shingles: sp.csr_matrix
    tfidf: sp.csr_matrix
    sizes: np.ndarray
    row_of: np.ndarray
    digest: np.ndarray

    @classmethod
    def build(
        cls,
        shingle_hashes: np.ndarray,
        shingle_offsets: np.ndarray,
        token_hashes: np.ndarray,
        token_offsets: np.ndarray,
        digest: np.ndarray,
        rows: np.ndarray | None = None,
        idf_sample: int = 5000,
    ) -> "Vectors":
        """Build the rows of the articles ``rows`` (default: all).

        The IDF weights are fitted on an evenly spaced sample of at most
        ``idf_sample`` articles of the whole batch (scikit-learn's
        ``TfidfTransformer``): a sample estimates document frequencies well,
        and only the rows verification needs are transformed.
        """
        n = len(shingle_offsets) - 1
        rows = np.arange(n) if rows is None else np.unique(np.asarray(rows, dtype=np.int64))
        row_of = np.full(n, -1, dtype=np.int64)
        row_of[rows] = np.arange(len(rows))
        shingles = hashed_rows(*_select_rows(shingle_hashes, shingle_offsets, rows), SHINGLE_COLUMNS, binary=True)
        counts = hashed_rows(*_select_rows(token_hashes, token_offsets, rows), TOKEN_COLUMNS)
        if counts.shape[0] == 0 or n == 0:
            tfidf = counts
        else:
            sample = np.unique(np.linspace(0, n - 1, min(n, idf_sample)).astype(np.int64))
            fit_on = hashed_rows(*_select_rows(token_hashes, token_offsets, sample), TOKEN_COLUMNS)
            tfidf = TfidfTransformer(sublinear_tf=True).fit(fit_on).transform(counts).tocsr()
        return cls(shingles, tfidf, np.diff(shingles.indptr).astype(np.int64), row_of, digest)


@dataclass(frozen=True)
class PairScores:
    """Scores of pairs ``(i, j)``, each array of shape ``(m,)``."""

    jaccard: np.ndarray
    contain_ij: np.ndarray  # share of i's shingles found in j
    contain_ji: np.ndarray
    cosine: np.ndarray
    exact: np.ndarray  # bool

    @property
    def containment(self) -> np.ndarray:
        """Containment of the shorter article in the longer."""
        return np.maximum(self.contain_ij, self.contain_ji)


def _rowwise_dot(m: sp.csr_matrix, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    out = np.empty(len(i), dtype=np.float64)
    for lo in range(0, len(i), _PAIR_CHUNK):
        hi = lo + _PAIR_CHUNK
        out[lo:hi] = np.asarray(m[i[lo:hi]].multiply(m[j[lo:hi]]).sum(axis=1)).ravel()
    return out


def score_pairs(vectors: Vectors, pairs: np.ndarray) -> PairScores:
    """Exact Jaccard, containment both ways and TF-IDF cosine for ``pairs`` (m, 2).

    Rows are article positions in ``vectors``. Pairs of empty sets score 0.
    """
    gi, gj = pairs[:, 0], pairs[:, 1]
    i, j = vectors.row_of[gi], vectors.row_of[gj]
    if len(i) and (i.min() < 0 or j.min() < 0):
        raise ValueError("score_pairs: a pair names an article whose vectors were not built")
    inter = _rowwise_dot(vectors.shingles, i, j)
    si, sj = vectors.sizes[i].astype(np.float64), vectors.sizes[j].astype(np.float64)
    union = si + sj - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        jac = np.where(union > 0, inter / union, 0.0)
        cij = np.where(si > 0, inter / si, 0.0)
        cji = np.where(sj > 0, inter / sj, 0.0)
    cos = np.clip(_rowwise_dot(vectors.tfidf, i, j), 0.0, 1.0)
    exact = vectors.digest[gi] == vectors.digest[gj]
    jac, cij, cji, cos = (np.where(exact, 1.0, x) for x in (jac, cij, cji, cos))
    return PairScores(jac, cij, cji, cos, exact)


def decide(scores: PairScores, config: VerifyConfig) -> np.ndarray:
    """The relation of each scored pair: ``EXACT``, ``NEAR``, ``CONTAINED`` or ``NONE``."""
    rel = np.full(len(scores.jaccard), NONE, dtype=np.int8)
    rel[scores.containment >= config.containment] = CONTAINED
    rel[(scores.jaccard >= config.jaccard) & (scores.cosine >= config.min_cosine)] = NEAR
    rel[scores.exact] = EXACT
    return rel
