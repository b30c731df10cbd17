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

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..candidates.buckets import sorted_unique
from ..config import VerifyConfig
from ..sketch.features import SHINGLE_COLUMNS, TOKEN_COLUMNS, Features, bucket_rows

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = [
    "CONTAINED",
    "EXACT",
    "NEAR",
    "NONE",
    "RELATIONS",
    "SHINGLE_COLUMNS",
    "TOKEN_COLUMNS",
    "FeatureSource",
    "Idf",
    "PairScores",
    "decide",
    "fit_idf",
    "hashed_rows",
    "count_matrix",
    "score_pairs",
    "shingle_matrix",
]

NONE, EXACT, NEAR, CONTAINED = 0, 1, 2, 3
RELATIONS = {NONE: None, EXACT: "exact", NEAR: "near", CONTAINED: "contained"}
_PAIR_CHUNK = 2048  # pairs per sparse product: the gathered rows and their product (~35 MB) come from the heap
# again and again; 8192 pairs asked glibc for fresh mmaps (~140 MB) each time, faulted in page by page: the dev days'
# verification 0.51-0.96 -> 0.41-0.51 s, kernel time 0.46-1.08 -> 0.30-0.41 s (three runs each, one process)
_PAIR_BLOCK = 20_000  # pairs per gather: bounds the rows (and their matrices) held at once
_DENSE_FROM = 1 << 16  # values looked up at once from which a table of every column pays for itself


def hashed_rows(hashes: np.ndarray, offsets: np.ndarray, columns: int = TOKEN_COLUMNS, binary: bool = False) -> sp.csr_matrix:
    """Counts (or 1s) per (row, hash bucket) as a canonical CSR matrix (see :func:`~dedup.sketch.features.bucket_rows`).

    >>> m = hashed_rows(np.array([5, 2, 5, 2], dtype=np.uint64), np.array([0, 3, 4]), 4)
    >>> m.toarray().tolist()
    [[0.0, 2.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0]]
    """
    buckets, counts, indptr = bucket_rows(hashes, offsets, columns, with_counts=not binary)
    return _csr(buckets, np.ones(len(buckets)) if counts is None else counts.astype(np.float64), indptr, columns)


def _csr(indices: np.ndarray, data: np.ndarray, indptr: np.ndarray, columns: int) -> sp.csr_matrix:
    from ..sparse import sp  # here: ~0.25 s to import, and a run with no pair to score builds no matrix

    # Buckets are below 2^26 (2^22 for tokens): the uint32 features read as int32 as they are, not copied (a block of
    # a feed of large copy families holds tens of millions of them, next to the features they came from).
    as_int32 = indices.view(np.int32) if indices.dtype == np.uint32 and columns <= 1 << 31 else indices.astype(np.int32)
    m = sp.csr_matrix((data, as_int32, indptr), shape=(len(indptr) - 1, columns))
    m.has_canonical_format = True
    return m


def shingle_matrix(features: Features) -> sp.csr_matrix:
    """Binary (rows × :data:`SHINGLE_COLUMNS`) matrix of the shingle sets (float32: sums of ones stay exact)."""
    return _csr(features.shingles, np.ones(len(features.shingles), dtype=np.float32), features.shingle_offsets, SHINGLE_COLUMNS)


def count_matrix(features: Features) -> sp.csr_matrix:
    """Token counts (rows × :data:`TOKEN_COLUMNS`)."""
    return _csr(features.tokens, features.counts.astype(np.float64), features.token_offsets, TOKEN_COLUMNS)


class FeatureSource(Protocol):
    """Anything that hands out the :class:`Features` of given rows."""

    def __len__(self) -> int: ...

    def gather(self, rows: np.ndarray) -> Features: ...


class Idf:
    """scikit-learn's ``TfidfTransformer(sublinear_tf=True)`` (smoothed IDF, l2 rows), kept per column seen.

    The same arithmetic, operation for operation, so the weights and the
    vectors are bit-identical to ``TfidfTransformer``'s (tested); but the
    IDF is stored only for the columns of the fitted rows, and every other
    column gets the smoothed IDF of a document frequency of 0. The
    transformer allocates and takes the logarithm of a vector as long as the
    row (:data:`TOKEN_COLUMNS`, 4M buckets) on every fit: the largest fixed
    cost of a small batch (a service request of 50 articles).
    """

    def __init__(self, counts: sp.csr_matrix) -> None:
        self._dense: np.ndarray | None = None  # the weight of every column, once a block is large enough
        n = counts.shape[0]
        self.columns, df = np.unique(counts.indices, return_counts=True)  # canonical rows: each column once per row
        idf = np.full_like(df.astype(np.float64) + 1.0, fill_value=n + 1, dtype=np.float64)
        idf /= df.astype(np.float64) + 1.0
        np.log(idf, out=idf)
        idf += 1.0
        self.idf = idf
        unseen = np.array([float(n + 1)])
        np.log(unseen, out=unseen)
        self.unseen = float(unseen[0] + 1.0)

    def transform(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Sublinear TF times IDF, rows scaled to unit length (a new matrix)."""
        x = counts.astype(np.float64, copy=True).tocsr()
        np.log(x.data, x.data)
        x.data += 1.0
        x.data *= self._weights(x.indices)
        return _l2_rows(x)

    def _weights(self, columns: np.ndarray) -> np.ndarray:
        """The IDF of each of ``columns`` (the same values either way).

        A block of verification holds hundreds of thousands of values: one
        gather from a table of every column (32 MB, built once) instead of a
        binary search per value (some twenty dependent, cache-missing steps).
        A small batch (a service request) searches, and never builds the table.
        """
        if self._dense is None and len(columns) >= _DENSE_FROM:
            dense = np.full(TOKEN_COLUMNS, self.unseen, dtype=np.float64)
            dense[self.columns] = self.idf
            self._dense = dense
        if self._dense is not None:
            return self._dense.take(columns, mode="clip")  # columns < TOKEN_COLUMNS: no bounds check needed (faster)
        at = np.minimum(np.searchsorted(self.columns, columns), max(len(self.columns) - 1, 0))
        known = self.columns[at] == columns if len(self.columns) else np.zeros(len(columns), bool)
        return np.where(known, self.idf[at] if len(self.idf) else 0.0, self.unseen)


def _l2_rows(x: sp.csr_matrix) -> sp.csr_matrix:
    """Scale the rows of ``x`` to unit length in place, as ``sklearn.preprocessing.normalize(x, "l2")`` does.

    Bit for bit: each row's sum of squares is added in stored order, one
    product at a time (SciPy's sparse matrix-vector loop over a one-column
    matrix of the squares), as scikit-learn's loop does; NumPy's reductions
    add pairwise and round differently. Spares importing scikit-learn (about a
    second) in every run that verifies a pair.
    """
    from ..sparse import sp

    nnz = np.diff(x.indptr)
    squares = sp.csr_matrix((x.data * x.data, np.zeros(len(x.data), dtype=np.int32), x.indptr), shape=(x.shape[0], 1))
    norms = np.sqrt(squares @ np.ones(1))
    norms[norms == 0.0] = 1.0
    x.data /= np.repeat(norms, nnz)
    return x


def fit_idf(source: FeatureSource, sample: int = 5000) -> Idf | None:
    """IDF weights fitted on an evenly spaced sample of at most ``sample`` rows.

    Sublinear TF, smoothed IDF, as scikit-learn's ``TfidfTransformer``
    computes them (:class:`Idf`): a sample estimates document frequencies
    well, and only the rows verification needs are ever transformed. None
    for an empty source.
    """
    n = len(source)
    if n == 0:
        return None
    rows = sorted_unique(np.linspace(0, n - 1, min(n, sample)).astype(np.int64))  # not np.unique: numpy.ma (~10 ms)
    return Idf(count_matrix(source.gather(rows)))


@dataclass(frozen=True)
class PairScores:
    """Scores of pairs ``(i, j)``, each array of shape ``(m,)``."""

    jaccard: np.ndarray
    contain_ij: np.ndarray  # share of i's shingles found in j
    contain_ji: np.ndarray
    cosine: np.ndarray
    exact: np.ndarray  # bool
    # inputs of the learned decision (None where only the five scores above were kept)
    size_i: np.ndarray | None = None  # shingle-set sizes
    size_j: np.ndarray | None = None
    rare_inter: np.ndarray | None = None  # shared rare words (see :func:`rare_columns`)
    rare_i: np.ndarray | None = None  # rare words of i
    rare_j: np.ndarray | None = None
    words_inter: np.ndarray | None = None  # shared distinct words (all of them, common ones too)
    words_i: np.ndarray | None = None  # distinct words of i
    words_j: np.ndarray | None = None
    probability: np.ndarray | None = None  # of being copies, under the learned decision

    def with_probability(self, probability: np.ndarray) -> "PairScores":
        return replace(self, probability=probability)

    @classmethod
    def concat(cls, parts: Sequence["PairScores"]) -> "PairScores":
        """The scores of several runs of pairs, one after the other (a field is None when any part lacks it)."""
        def join(name: str) -> np.ndarray | None:
            arrays = [getattr(p, name) for p in parts]
            return None if any(a is None for a in arrays) else np.concatenate(arrays)

        return cls(*(join(f.name) for f in fields(cls)))

    def arrays(self) -> list[np.ndarray | None]:
        """The fields in order (None where not kept)."""
        return [getattr(self, f.name) for f in fields(self)]

    def take(self, keep: np.ndarray) -> "PairScores":
        """The scores of the pairs selected by ``keep`` (a mask or positions)."""
        return PairScores(*(None if x is None else x[keep] for x in (getattr(self, f.name) for f in fields(self))))

    @property
    def containment(self) -> np.ndarray:
        """Containment of the shorter article in the longer."""
        return np.maximum(self.contain_ij, self.contain_ji)


def _rowwise_dot(
    m: sp.csr_matrix, i: np.ndarray, j: np.ndarray, flagged: np.ndarray | None = None, binary: bool = False,
    compiled: bool = False,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """``m[i[k]] · m[j[k]]`` for every k; with ``flagged`` (a bool per column), also how many columns the two rows share
    among the flagged ones (else None); and how many columns they share.

    Row sums are taken over the stored products (``bincount``): scipy's
    ``sum(axis=1)`` multiplies by a dense vector of ones as long as the row
    (2^26 shingle buckets: 256 MB). The stored products are exactly the
    shared columns when every stored value is positive (counts, TF-IDF
    weights, the ones of a ``binary`` matrix), so a binary product is the
    number stored in each row, and the flagged columns are counted from the
    same product instead of a second one.

    ``compiled``: the same numbers from the compiled merge
    (:func:`dedup.verify.kernels.pair_dots`), for a verification of many pairs.
    """
    if compiled:
        from .kernels import pair_dots

        return pair_dots(m, i, j, flagged, binary)
    out = np.empty(len(i), dtype=np.float64)
    shared = None if flagged is None else np.empty(len(i), dtype=np.float64)
    common = np.empty(len(i), dtype=np.float64)
    for lo in range(0, len(i), _PAIR_CHUNK):
        hi = lo + _PAIR_CHUNK
        prod = m[i[lo:hi]].multiply(m[j[lo:hi]]).tocsr()
        per_row = np.diff(prod.indptr)
        common[lo:hi] = per_row
        if binary:
            out[lo:hi] = per_row
            continue
        rows = np.repeat(np.arange(prod.shape[0]), per_row)
        out[lo:hi] = np.bincount(rows, weights=prod.data, minlength=prod.shape[0])
        if shared is not None and flagged is not None:
            shared[lo:hi] = np.bincount(rows[flagged[prod.indices]], minlength=prod.shape[0])
    return out, shared, common


def score_pairs(
    source: FeatureSource,
    pairs: np.ndarray,
    digest: np.ndarray,
    idf: Idf | None,
    block: int = _PAIR_BLOCK,
    compiled: bool = False,
) -> PairScores:
    """Exact Jaccard, containment both ways and TF-IDF cosine for ``pairs`` (m, 2).

    Pairs name rows of ``source`` (and of ``digest``, the hash of each row's
    normalized text: equal digests are exact copies). Pairs are scored
    ``block`` at a time, each block gathering only the rows it names, so
    memory stays bounded however many pairs there are. Pairs of empty sets
    score 0. ``compiled``: rows are compared by the compiled merge (the same
    scores, faster on many pairs; see :mod:`dedup.verify.kernels`).
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    m = len(pairs)
    jac, cij, cji, cos, size_i, size_j, r_inter, r_i, r_j, w_inter, w_i, w_j = (np.zeros(m) for _ in range(12))
    lo = 0
    while lo < m:
        common = _common_mask()  # in the loop (cached): without a pair the background table is never loaded (~40 ms)
        part, rows, local = _pair_block(pairs, lo, block)
        feats = source.gather(rows)
        i, j = local.reshape(-1, 2).T
        shingles = shingle_matrix(feats)
        sizes = np.diff(feats.shingle_offsets).astype(np.float64)
        inter, _, _ = _rowwise_dot(shingles, i, j, binary=True, compiled=compiled)
        si, sj = sizes[i], sizes[j]
        union = si + sj - inter
        hi = lo + len(part)
        with np.errstate(divide="ignore", invalid="ignore"):
            jac[lo:hi] = np.where(union > 0, inter / union, 0.0)
            cij[lo:hi] = np.where(si > 0, inter / si, 0.0)
            cji[lo:hi] = np.where(sj > 0, inter / sj, 0.0)
        size_i[lo:hi], size_j[lo:hi] = si, sj
        counts = count_matrix(feats)
        tfidf = counts if idf is None else idf.transform(counts).tocsr()
        rare = ~common[counts.indices]  # the rare words (see common_columns) of every row
        dot, r_inter[lo:hi], w_inter[lo:hi] = _rowwise_dot(tfidf, i, j, flagged=~common, compiled=compiled)
        cos[lo:hi] = np.clip(dot, 0.0, 1.0)
        w_sizes = np.diff(counts.indptr)
        owner = np.repeat(np.arange(len(rows)), w_sizes)
        r_sizes = np.bincount(owner[rare], minlength=len(rows)).astype(np.float64)
        r_i[lo:hi], r_j[lo:hi] = r_sizes[i], r_sizes[j]
        w_i[lo:hi], w_j[lo:hi] = w_sizes[i], w_sizes[j]
        lo = hi
    exact = digest[pairs[:, 0]] == digest[pairs[:, 1]]
    jac, cij, cji, cos = (np.where(exact, 1.0, x) for x in (jac, cij, cji, cos))
    return PairScores(jac, cij, cji, cos, exact, size_i, size_j, r_inter, r_i, r_j, w_inter, w_i, w_j)


_BLOCK_STRETCH = 4  # a block of pairs holds up to this many times ``block`` pairs when they share rows


def _pair_block(pairs: np.ndarray, lo: int, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs scored together from ``lo``: ``(pairs, their distinct rows, each pair's two rows as positions in those)``.

    A block holds as many pairs as name at most ``2 * block`` distinct rows
    (what ``block`` pairs of distinct rows name: the rows gathered, and their
    matrices, are what a block holds), and at most ``_BLOCK_STRETCH * block``
    pairs. Pairs of a feed's copy families share their rows, so their blocks
    hold more pairs for the same rows: on a 100k feed of large families,
    blocks of 20k pairs took 18-19 s to verify, blocks of 60k 15.8 s (each
    block's fixed work: the gathers, the matrices, the weights). Each pair is
    scored on its own: blocks change no score.
    """
    part = pairs[lo : lo + _BLOCK_STRETCH * block]
    rows, first, local = np.unique(part.ravel(), return_index=True, return_inverse=True)
    if len(rows) > 2 * block:  # only the pairs whose rows, with those of the pairs before, stay within the bound
        new = np.zeros(2 * len(part), dtype=np.int64)
        new[first] = 1
        named = np.cumsum(new.reshape(-1, 2).sum(axis=1))  # distinct rows named by the pairs up to each
        take = max(1, int(np.searchsorted(named, 2 * block, side="right")))
        part = part[:take]
        rows, local = np.unique(part.ravel(), return_inverse=True)
    return part, rows, local.reshape(-1)


def common_columns() -> np.ndarray:
    """Sorted token buckets of the words common in news (the bundled background table's, in >= 0.5 % of articles).

    Every other word is *rare*: names of people and places, figures, the
    words that make one report a different piece of news than another on the
    same template. The table is fixed, so what is rare does not depend on the
    batch (a service request of three articles sees the same rare words as a
    feed of a million). Empty when the table is absent or of another scheme.
    """
    return _common_columns()


@lru_cache(maxsize=1)
def _common_columns() -> np.ndarray:
    from ..config import NormalizeConfig
    from ..store.background import background_df

    table = background_df("word", 4, NormalizeConfig())
    return np.zeros(0, np.int64) if table is None else np.sort(table[0])


def preload() -> None:
    """Load what scoring reads at its first pair (the common-word table), so that this process starts scoring warm."""
    _common_mask()


@lru_cache(maxsize=1)
def _common_mask() -> np.ndarray:
    """:func:`common_columns` as one flag per token column (4 MB): a gather instead of a search per value."""
    mask = np.zeros(TOKEN_COLUMNS, dtype=bool)
    mask[_common_columns()] = True
    return mask


def decide(scores: PairScores, config: VerifyConfig) -> np.ndarray:
    """The relation of each scored pair: ``EXACT``, ``NEAR``, ``CONTAINED`` or ``NONE``."""
    rel = np.full(len(scores.jaccard), NONE, dtype=np.int8)
    rel[scores.containment >= config.containment] = CONTAINED
    rel[(scores.jaccard >= config.jaccard) & (scores.cosine >= config.min_cosine)] = NEAR
    rel[scores.exact] = EXACT
    return rel
