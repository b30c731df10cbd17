"""Story vectors: what each article is about, as sparse TF-IDF rows, plus its numbers and length.

An article's story vector mixes word and character n-gram TF-IDF of its
normalized body, with the headline weighted in, hashed into the column space
of :mod:`dedup.verify` (the same token hashes and hashing trick). IDF is
fitted on the batch plus background pseudo-documents
(:mod:`dedup.store.background`), so that a handful of articles, or a single
pair, still gets sensible weights; it is squared, so that names and places
carry the cosine. The number sets and token counts are the other two inputs
of the story score (:mod:`dedup.stories.score`). Design and measurements:
``docs/stories.md``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
from ..sparse import sp

from ..config import StoriesConfig
from ..store.background import Kind, background_df
from ..text.shingle import char_shingles, token_hashes, word_shingles
from ..verify import TOKEN_COLUMNS, Idf, hashed_rows
from .sparse import canonical, l2_rows

__all__ = [
    "candidate_vectors",
    "candidate_vectors_from_counts",
    "char_counts",
    "number_sets",
    "story_vectors",
    "story_vectors_from_counts",
    "token_counts",
    "word_counts",
]

_BIGRAM_SALT = np.uint64(0x9E3779B97F4A7C15)  # keeps bigram columns apart from unigram columns
_NUMBER = re.compile(r"(?<!\S)\d+(?!\S)")
_YEAR = re.compile(r"(?:1[34]\d\d|19\d\d|20\d\d)")  # Hijri and Gregorian years: shared by every report
_BLOCK_ROWS = 512  # texts hashed at a time: the flat per-character arrays cost ~40 bytes a character (a dense day of 29k texts: 4,096 rows 5.5 CPU-s and 0.55 GB at the peak, 512 rows 3.5 CPU-s and 0.32 GB)


def _in_blocks(make, texts: Sequence[str], rows: int = _BLOCK_ROWS, tick: Callable[[int], None] | None = None,
               dtype: type = np.float64, spill: str | None = None) -> sp.csr_matrix:
    """``make(texts)`` (canonical CSR rows) computed ``rows`` texts at a time, stacked as ``dtype``: the same matrix.

    Hashing a whole feed at once holds several arrays of one 8-byte value per
    character (codes, hashes, sort keys); in blocks, only the counts of all
    texts stay. Each block's entries are copied into arrays that grow in
    place (``ndarray.resize``: ``realloc``, which moves a large block's pages
    without copying them), so the counts are never held twice, as stacking
    the blocks at the end would hold them (a dense day's character counts:
    0.77 GB at the peak for a 0.25 GB result).

    With ``spill`` (a folder), each block is written there as it is made
    and a :class:`~dedup.store.days.SpilledRows` is returned instead: it
    becomes the same matrix where it is unpickled (a worker's day, parked).

    >>> _in_blocks(lambda t: char_counts(t, 2), ["ab", "abc", ""], rows=2).nnz == char_counts(["ab", "abc", ""], 2).nnz
    True
    """
    texts = list(texts)
    if spill is not None:
        from ..store.days import SpilledRows

        out = SpilledRows(spill, len(texts), TOKEN_COLUMNS, dtype)
        for lo in range(0, len(texts), rows):
            block = make(texts[lo : lo + rows])
            out.append(block)
            if tick is not None:
                tick(block.shape[0])
        return out.close()  # type: ignore[return-value]
    if len(texts) <= rows:
        m = make(texts)
        if tick is not None:
            tick(len(texts))
        return m if m.dtype == dtype else m.astype(dtype)
    indptr = np.zeros(len(texts) + 1, dtype=np.int64)
    data, indices = np.zeros(0, dtype=dtype), np.zeros(0, dtype=np.int32)
    nnz, width = 0, 0
    for lo in range(0, len(texts), rows):
        block = make(texts[lo : lo + rows])
        k, hi, width = block.nnz, lo + block.shape[0], block.shape[1]
        if nnz + k > len(data):  # a tenth to spare: a few reallocations a day
            cap = max(nnz + k, len(data) + len(data) // 10)
            data.resize(cap, refcheck=False)
            indices.resize(cap, refcheck=False)
        data[nnz : nnz + k] = block.data
        indices[nnz : nnz + k] = block.indices
        indptr[lo + 1 : hi + 1] = block.indptr[1:] + nnz
        nnz += k
        del block
        if tick is not None:
            tick(hi - lo)
    data.resize(nnz, refcheck=False)  # shrinks in place
    indices.resize(nnz, refcheck=False)
    m = sp.csr_matrix((data, indices, indptr), shape=(len(texts), width), copy=False)
    m.has_canonical_format = True  # each block is canonical and stacking keeps rows as they are
    return m


def word_counts(texts: Sequence[str], bigrams: bool, dtype: type = np.float64) -> sp.csr_matrix:
    """``(n, TOKEN_COLUMNS)`` hashed counts of the word unigrams (and bigrams) of normalized texts, as ``dtype``.

    >>> word_counts(["a b a", ""], bigrams=True).sum(axis=1).tolist()
    [[5.0], [0.0]]
    """
    return _in_blocks(lambda block: _block_counts(block, bigrams), texts, dtype=dtype)


def _block_counts(texts: Sequence[str], bigrams: bool) -> sp.csr_matrix:
    th, to = token_hashes(list(texts))
    counts = hashed_rows(th, to)
    if bigrams:
        lengths = np.diff(to)
        bh, bo = word_shingles(th, to, 2)
        # one-token texts get a one-token "shingle": drop it, the unigram is there
        keep = np.repeat(lengths >= 2, np.diff(bo))
        rows = np.repeat(np.arange(len(lengths)), np.diff(bo))[keep]
        bo2 = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(lengths)), out=bo2[1:])
        counts = counts + hashed_rows(bh[keep] ^ _BIGRAM_SALT, bo2)
    return counts.tocsr()


def char_counts(texts: Sequence[str], k: int, tick: Callable[[int], None] | None = None,
                dtype: type = np.float64, spill: str | None = None) -> sp.csr_matrix:
    """``(n, TOKEN_COLUMNS)`` hashed counts of the character ``k``-grams of normalized texts, as ``dtype``.

    ``spill``: written to that folder a block at a time (:func:`_in_blocks`).
    """

    def block(part: list[str]) -> sp.csr_matrix:
        h, o = char_shingles(part, k)
        return hashed_rows(h, o)

    return _in_blocks(block, texts, tick=tick, dtype=dtype, spill=spill)


def candidate_vectors(texts: Sequence[str], max_df: int) -> sp.csr_matrix:
    """Word TF-IDF rows without the words found in more than ``max_df`` texts, for finding neighbours.

    Frequent words add little to a cosine but make the sparse product
    ``X @ X.T`` nearly dense; without them the product only visits pairs that
    share a rarer word.
    """
    return candidate_vectors_from_counts(word_counts(texts, bigrams=False), max_df)


def candidate_vectors_from_counts(counts: sp.csr_matrix, max_df: int) -> sp.csr_matrix:
    """:func:`candidate_vectors` from word unigram counts (:func:`word_counts`), so they can be shared."""
    if counts.shape[0] == 0:
        return counts
    counts = canonical(counts)
    x = Idf(counts).transform(counts).tocsc()  # scikit-learn's TfidfTransformer(sublinear_tf=True), bit for bit, without importing it (~1 s)
    df = np.diff(x.indptr)
    x = x[:, np.flatnonzero((df > 0) & (df <= max_df))]
    return l2_rows(x.tocsr())


def _idf(body: sp.csr_matrix, power: float, prior_documents: float = 0.0, prior: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Smoothed IDF of the body columns with ``prior_documents`` background pseudo-documents, to the ``power``.

    ``(ln((1 + n + N0) / (1 + df + N0 · p)) + 1) ** power`` where ``p`` is
    the background share of documents holding the column (``prior`` =
    ``(columns, shares)``, 0 elsewhere; see :mod:`dedup.store.background`). With
    ``N0 = 0`` this is scikit-learn's ``smooth_idf``. The power sharpens it:
    with ``power = 2`` a word in 1 % of the articles weighs ~30 times a word
    in all of them instead of ~5.6 times, so names and places decide more of
    the cosine than the common vocabulary of the language.

    >>> _idf(sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 0.0]])), 1.0).round(3).tolist()
    [1.0, 1.405]
    >>> _idf(sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 0.0]])), 1.0, 100, (np.array([0]), np.array([1.0]))).round(3).tolist()
    [1.0, 4.942]
    """
    n = body.shape[0]
    df = np.bincount(body.indices, minlength=body.shape[1]).astype(np.float64)
    if prior is not None and prior_documents > 0:
        columns, shares = prior
        np.add.at(df, columns[columns < len(df)], prior_documents * shares[columns < len(df)])
    return (np.log((1.0 + n + prior_documents) / (1.0 + df)) + 1.0) ** power


def _block_idf(body: sp.csr_matrix, kind: Kind, config: StoriesConfig) -> np.ndarray:
    """IDF of one block (``"word"`` or ``"char"``), fitted on the bodies with the background prior of ``config``."""
    prior = background_df(kind, config.char_k, config.normalize) if config.idf_prior_documents > 0 else None
    return _idf(body, config.idf_power, config.idf_prior_documents, prior)


def _weighted(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear TF (``1 + ln count``) times ``idf``, rows L2-normalized (new values over ``counts``' structure)."""
    m = sp.csr_matrix(counts, dtype=np.float64)
    m.sum_duplicates()
    data = (1.0 + np.log(m.data)) * idf[m.indices]
    return l2_rows(sp.csr_matrix((data, m.indices, m.indptr), shape=m.shape), inplace=True)


def _tfidf_block(
    body: sp.csr_matrix, title: sp.csr_matrix | None, title_weight: float, idf: np.ndarray
) -> sp.csr_matrix:
    """Sublinear TF-IDF of the bodies plus the weighted headlines (same ``idf``), L2-normalized."""
    x = _weighted(body, idf)
    if title is not None and title_weight > 0:
        t = _weighted(title, idf)
        t.data *= title_weight
        x = x + t
    return l2_rows(x, inplace=True)


def story_vectors(texts: Sequence[str], titles: Sequence[str], config: StoriesConfig = StoriesConfig()) -> sp.csr_matrix:
    """L2-normalized TF-IDF rows of normalized bodies with their headlines weighted in.

    Two blocks, each its own L2-normalized TF-IDF (IDF fitted on the bodies of
    this batch plus ``idf_prior_documents`` background pseudo-documents,
    raised to ``idf_power``, applied to bodies and headlines alike; see
    :func:`_idf`): word unigrams (+ bigrams) and character ``char_k``-grams.
    They are stacked with weights
    ``sqrt(1 - char_weight)`` and ``sqrt(char_weight)``, so the cosine of two
    rows is ``(1 - char_weight) · word cosine + char_weight · char cosine``.
    Character n-grams see through Arabic clitics and spelling variants
    (وبكين / بكين, جينبينغ / جين بينغ). An empty text gives an all-zero row.

    Raises:
        ValueError: ``texts`` and ``titles`` differ in length.

    >>> x = story_vectors(["a b c", "a b d", ""], ["", "", ""])
    >>> x.shape[0], round(float(x[0].multiply(x[0]).sum()), 6), x[2].nnz
    (3, 1.0, 0)
    """
    if len(texts) != len(titles):
        raise ValueError(f"story_vectors: {len(texts)} texts but {len(titles)} titles")
    return story_vectors_from_counts(texts, titles, config)


def story_vectors_from_counts(
    texts: Sequence[str],
    titles: Sequence[str],
    config: StoriesConfig,
    body_words: sp.csr_matrix | None = None,
    tick: Callable[[int], None] | None = None,
) -> sp.csr_matrix:
    """:func:`story_vectors` without the length check, reusing the bodies' counts when given.

    Args:
        texts, titles: as for :func:`story_vectors`.
        config: vector settings.
        body_words: ``word_counts(texts, config.bigrams)`` when the caller
            already has them (None: counted here).
        tick: called with how many texts' character n-grams were counted.
    """
    if len(texts) == 0:
        return sp.csr_matrix((0, TOKEN_COLUMNS))
    has_titles = any(titles)
    if body_words is None:
        body_words = word_counts(texts, config.bigrams)
    word_idf = _block_idf(body_words, "word", config)  # bigram buckets are not in the table: unseen there
    word = _tfidf_block(body_words, word_counts(titles, config.bigrams) if has_titles else None, config.title_weight, word_idf)
    if config.char_weight <= 0 or word.shape[0] == 0:
        return word
    char_body = char_counts(texts, config.char_k, tick)
    char_idf = _block_idf(char_body, "char", config)
    char = _tfidf_block(char_body, char_counts(titles, config.char_k) if has_titles else None, config.title_weight, char_idf)
    del char_body
    word.data *= np.sqrt(1.0 - config.char_weight)  # both blocks are this function's own
    char.data *= np.sqrt(config.char_weight)
    x = sp.hstack([word, char], format="csr")
    del word, char
    x = l2_rows(x, inplace=True)  # rows with an empty block (no text) stay unit length
    x.sort_indices()
    return x


def number_sets(texts: Sequence[str], titles: Sequence[str] = ()) -> sp.csr_matrix:
    """Binary (n × numbers) matrix of the distinct numbers in each normalized text (+ headline).

    Years (13xx, 14xx, 19xx, 20xx) are left out: every report of a month shares them.

    >>> number_sets(["won 3 1 in 2015", "no numbers"]).getnnz(axis=1).tolist()
    [2, 0]
    """
    titles = list(titles) or [""] * len(texts)
    rows: list[int] = []
    cols: list[int] = []
    for i, (t, h) in enumerate(zip(texts, titles)):
        nums = {m for m in _NUMBER.findall(t + " " + h) if not _YEAR.fullmatch(m)}
        for num in nums:
            rows.append(i)
            cols.append(int(num[-15:]) % TOKEN_COLUMNS)
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), TOKEN_COLUMNS))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def token_counts(texts: Sequence[str]) -> np.ndarray:
    """``(n,)`` number of tokens of each normalized text (single spaces between tokens).

    >>> token_counts(["a b c", "", "d"]).tolist()
    [3, 0, 1]
    """
    return np.fromiter((t.count(" ") + 1 if t else 0 for t in texts), dtype=np.int64, count=len(texts))
