"""Events and storylines: who reported the same happening, and which happenings belong together.

Two levels over article positions ``0..n-1``:

* an **event** groups articles about one specific happening (a meeting, an
  attack, a match), copies or independently written, within a time window;
* a **storyline** groups related events over any span of time.

The stage is a pure function, :func:`find_stories`, over normalized texts,
normalized headlines and timestamps (seconds, NaN when unknown):

1. **vectors** (:func:`story_vectors`): sublinear TF-IDF of word unigrams
   (and bigrams) and of character 4-grams, hashed into one sparse space (the
   same token hashes and hashing trick as :mod:`dedup.verify`); the headline
   is vectorized the same way and added with weight ``title_weight`` before
   the final L2 normalization, so headline words count more than body words.
   IDF is squared (``idf_power``), so that names and places carry the cosine,
   and counts ``idf_prior_documents`` background pseudo-documents
   (:mod:`dedup.store.background`), so that a handful of articles, or a single
   pair, still gets sensible weights.
2. **candidates** (:func:`neighbour_pairs`): each article's top-k cosine
   neighbours from sparse products in row chunks over word TF-IDF without
   frequent words (:func:`candidate_vectors`); pairs whose dates are both
   known and further apart than the window are never computed (rows taken
   in time order, each block against its own window: on 50k synthetic
   articles over seven weeks 21.6 s -> 8.9 s, the same pairs).
3. **score** (:func:`story_scores`): a logistic function of the root of the
   cosine, the length ratio and the shared numbers (:func:`score_features`),
   with weights fitted on human same-story ratings (SemEval-2022 Task 8,
   ``scripts/fit_story_score.py``), damped for templated reports (alike
   wording, disjoint numbers: weather, prices, results); this is the
   ``story_score`` of ``dedup similarity``, an estimate in (0, 1) of how
   alike readers find the two stories.
4. **events** (:func:`average_linkage`): candidate edges in decreasing score
   order merge two clusters only if the average cosine over *all* their cross
   pairs (exact, from the cluster sum vectors) reaches ``event_linkage`` and
   the merged cluster spans no more than the window. Copies found by the
   core are merged first (its duplicate groups joined along the verified copy
   edges, :func:`dedup.cluster.groups.copy_groups`; on the dev pairs event F1 0.907
   -> 0.919 over the keeper groups alone), so they nest inside events, window
   by window: a
   group is copied text, not one happening, and the same press release,
   weather template or roundup of wire items republished days later reports
   a later happening (on the dev days, forcing whole groups left 137 events,
   564 articles, spanning more than the window).
5. **storylines**: the same average linkage over the event centroids, by
   centroid cosine and without a time window.

Once built, the hashed vectors are narrowed to the columns in use
(:func:`_compact_columns`: same dot products, a few hundred thousand columns
instead of millions), so that :func:`pair_dots` can score each row's
candidates by gathering from one dense buffer. On the ~20k dev articles this
stage went from 80-81 s to 24-28 s (four benchmark runs) with identical events
and storylines.

Labels are the smallest member position, so outputs are deterministic.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer

from ..store.background import Kind, background_df
from ..config import StoriesConfig
from ..text.shingle import char_shingles, token_hashes, word_shingles
from ..verify import TOKEN_COLUMNS, hashed_rows

__all__ = [
    "SCORE_FEATURES",
    "Stories",
    "average_linkage",
    "candidate_vectors",
    "find_stories",
    "neighbour_pairs",
    "number_sets",
    "pair_dots",
    "score_features",
    "story_scores",
    "story_vectors",
    "token_counts",
]

log = logging.getLogger(__name__)

_DAY = 86_400.0
_BIGRAM_SALT = np.uint64(0x9E3779B97F4A7C15)  # keeps bigram columns apart from unigram columns
_NUMBER = re.compile(r"(?<!\S)\d+(?!\S)")
_YEAR = re.compile(r"(?:1[34]\d\d|19\d\d|20\d\d)")  # Hijri and Gregorian years: shared by every report


@dataclass(frozen=True)
class Stories:
    """Events and storylines by article position.

    Attributes:
        event: ``(n,)`` smallest member position of the article's event.
        storyline: ``(n,)`` smallest member position of the article's storyline.
        representative: ``(n,)`` for an event label ``e``, ``representative[e]``
            is the member closest to the event centroid (-1 for non-labels).
        pairs: ``(m, 2)`` candidate pairs ``i < j`` (within the window).
        scores: ``(m,)`` their story scores.
    """

    event: np.ndarray
    storyline: np.ndarray
    representative: np.ndarray
    pairs: np.ndarray
    scores: np.ndarray


Tick = Callable[[int], None] | None  # progress: called with how much more work is done
_TICK_EDGES = 10_000  # strong edges between two progress ticks of the linkage
_BLOCK_ROWS = 4096  # texts hashed at a time: the flat per-character arrays of a whole feed cost ~40 bytes a character


def _in_blocks(make, texts: Sequence[str], rows: int = _BLOCK_ROWS, tick: Tick = None) -> sp.csr_matrix:
    """``make(texts)`` (canonical CSR rows) computed ``rows`` texts at a time and stacked: the same matrix.

    Hashing a whole feed at once holds several arrays of one 8-byte value per
    character (codes, hashes, sort keys): ~4 GB for 100k articles. In blocks,
    only the counts of all texts stay.

    >>> _in_blocks(lambda t: _char_counts(t, 2), ["ab", "abc", ""], rows=2).nnz == _char_counts(["ab", "abc", ""], 2).nnz
    True
    """
    texts = list(texts)
    if len(texts) <= rows:
        m = make(texts)
        if tick is not None:
            tick(len(texts))
        return m
    blocks = []
    for lo in range(0, len(texts), rows):
        blocks.append(make(texts[lo : lo + rows]))
        if tick is not None:
            tick(len(blocks[-1].indptr) - 1)
    m = sp.vstack(blocks, format="csr")
    m.has_canonical_format = True  # each block is canonical and stacking keeps rows as they are
    return m


def _counts(texts: Sequence[str], bigrams: bool) -> sp.csr_matrix:
    return _in_blocks(lambda block: _block_counts(block, bigrams), texts)


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


def _l2(m: sp.csr_matrix, inplace: bool = False) -> sp.csr_matrix:
    """Rows scaled to unit length (all-zero rows stay zero), with sorted columns.

    Scales ``data`` directly rather than multiplying by a diagonal matrix:
    that product comes back with unsorted columns, and sorting them again
    cost seconds on the dev days. With ``inplace`` (a float64 CSR matrix the
    caller owns), ``m`` itself is scaled and returned: the character block of
    100k articles is ~2 GB, and each copy counts.
    """
    if not (inplace and sp.isspmatrix_csr(m) and m.dtype == np.float64):
        m = sp.csr_matrix(m)
        inplace = False
    m.sum_duplicates()  # sorts columns: the norm below sums in column order
    lengths = np.diff(m.indptr)
    sq = np.zeros(m.shape[0])
    nz = lengths > 0
    sq[nz] = np.add.reduceat(m.data**2, m.indptr[:-1][nz])
    norms = np.sqrt(sq)
    norms[norms == 0] = 1.0
    if inplace:
        m.data *= np.repeat(1.0 / norms, lengths)
        return m
    out = sp.csr_matrix((m.data * np.repeat(1.0 / norms, lengths), m.indices.copy(), m.indptr.copy()), shape=m.shape)
    out.has_canonical_format = True
    return out


def _compact_columns(m: sp.csr_matrix) -> sp.csr_matrix:
    """The same rows over only the columns used, renumbered in their order.

    Dot products, sums and the order of columns within a row are unchanged.
    Hashed rows use a few hundred thousand of their millions of columns, and
    the dense buffer of :func:`pair_dots` and scipy's products scale with
    the width.

    >>> _compact_columns(sp.csr_matrix(np.array([[0, 2.0, 0, 3.0], [0, 1.0, 0, 0]]))).toarray().tolist()
    [[2.0, 3.0], [1.0, 0.0]]
    """
    used = np.zeros(m.shape[1], dtype=bool)
    used[m.indices] = True
    remap = (np.cumsum(used) - 1).astype(np.int32)
    out = sp.csr_matrix((m.data, remap[m.indices], m.indptr), shape=(m.shape[0], int(used.sum())))
    out.has_sorted_indices = m.has_sorted_indices
    return out


def candidate_vectors(texts: Sequence[str], max_df: int) -> sp.csr_matrix:
    """Word TF-IDF rows without the words found in more than ``max_df`` texts, for finding neighbours.

    Frequent words add little to a cosine but make the sparse product
    ``X @ X.T`` nearly dense; without them the product only visits pairs that
    share a rarer word.
    """
    return _candidate_vectors(_counts(texts, bigrams=False), max_df)


def _candidate_vectors(counts: sp.csr_matrix, max_df: int) -> sp.csr_matrix:
    """:func:`candidate_vectors` from word unigram counts (shared with :func:`story_vectors`)."""
    if counts.shape[0] == 0:
        return counts
    x = TfidfTransformer(sublinear_tf=True).fit_transform(counts).tocsc()
    df = np.diff(x.indptr)
    x = x[:, np.flatnonzero((df > 0) & (df <= max_df))]
    return _l2(x.tocsr())


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


def _weighted(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear TF (``1 + ln count``) times ``idf``, rows L2-normalized (new values over ``counts``' structure)."""
    m = sp.csr_matrix(counts, dtype=np.float64)
    m.sum_duplicates()
    data = (1.0 + np.log(m.data)) * idf[m.indices]
    return _l2(sp.csr_matrix((data, m.indices, m.indptr), shape=m.shape), inplace=True)


def _tfidf_block(
    body: sp.csr_matrix, title: sp.csr_matrix | None, title_weight: float, idf: np.ndarray
) -> sp.csr_matrix:
    """Sublinear TF-IDF of the bodies plus the weighted headlines (same ``idf``), L2-normalized."""
    x = _weighted(body, idf)
    if title is not None and title_weight > 0:
        t = _weighted(title, idf)
        t.data *= title_weight
        x = x + t
    return _l2(x, inplace=True)


def _block_idf(body: sp.csr_matrix, kind: Kind, config: StoriesConfig) -> np.ndarray:
    """IDF of one block (``"word"`` or ``"char"``), fitted on the bodies with the background prior of ``config``."""
    prior = background_df(kind, config.char_k, config.normalize) if config.idf_prior_documents > 0 else None
    return _idf(body, config.idf_power, config.idf_prior_documents, prior)


def _char_counts(texts: Sequence[str], k: int, tick: Tick = None) -> sp.csr_matrix:
    def block(part: list[str]) -> sp.csr_matrix:
        h, o = char_shingles(part, k)
        return hashed_rows(h, o)

    return _in_blocks(block, texts, tick=tick)


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

    >>> x = story_vectors(["a b c", "a b d", ""], ["", "", ""])
    >>> x.shape[0], round(float(x[0].multiply(x[0]).sum()), 6), x[2].nnz
    (3, 1.0, 0)
    """
    if len(texts) != len(titles):
        raise ValueError(f"story_vectors: {len(texts)} texts but {len(titles)} titles")
    return _story_vectors(texts, titles, config, None)


def _story_vectors(
    texts: Sequence[str], titles: Sequence[str], config: StoriesConfig, body_words: sp.csr_matrix | None, tick: Tick = None
) -> sp.csr_matrix:
    """:func:`story_vectors`, optionally given the bodies' word counts ``_counts(texts, config.bigrams)``."""
    if len(texts) == 0:
        return sp.csr_matrix((0, TOKEN_COLUMNS))
    has_titles = any(titles)
    if body_words is None:
        body_words = _counts(texts, config.bigrams)
    word_idf = _block_idf(body_words, "word", config)  # bigram buckets are not in the table: unseen there
    word = _tfidf_block(body_words, _counts(titles, config.bigrams) if has_titles else None, config.title_weight, word_idf)
    if config.char_weight <= 0 or word.shape[0] == 0:
        return word
    char_body = _char_counts(texts, config.char_k, tick)
    char_idf = _block_idf(char_body, "char", config)
    char = _tfidf_block(char_body, _char_counts(titles, config.char_k) if has_titles else None, config.title_weight, char_idf)
    del char_body
    word.data *= np.sqrt(1.0 - config.char_weight)  # both blocks are this function's own
    char.data *= np.sqrt(config.char_weight)
    x = sp.hstack([word, char], format="csr")
    del word, char
    x = _l2(x, inplace=True)  # rows with an empty block (no text) stay unit length
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


SCORE_FEATURES = ("sqrt_cosine", "length_ratio", "shared_numbers")
"""The columns of :func:`score_features`, in order."""


def score_features(vectors: sp.csr_matrix, numbers: sp.csr_matrix, lengths: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """``(m, 3)`` features of each pair ``(m, 2)`` that :func:`story_scores` combines.

    * ``sqrt_cosine``: the square root of the cosine of the story vectors
      (the cosine's distribution is skewed towards 0; its root is closer to
      linear in how alike human readers find two stories);
    * ``length_ratio``: ``ln((1 + shorter) / (1 + longer))`` in tokens, <= 0
      (a short report of an event shares only part of a long one's words,
      which lowers the cosine without making the stories less alike);
    * ``shared_numbers``: Jaccard of the two number sets (0 when neither
      text carries a number).

    >>> x = sp.csr_matrix(np.array([[0.6, 0.8], [1.0, 0.0]]))
    >>> nums = sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 0.0]]))
    >>> score_features(x, nums, np.array([9, 99]), np.array([[0, 1]])).round(3).tolist()
    [[0.775, -2.303, 0.5]]
    """
    if len(pairs) == 0:
        return np.zeros((0, len(SCORE_FEATURES)))
    i, j = pairs[:, 0], pairs[:, 1]
    cos = np.clip(pair_dots(vectors, i, vectors, j), 0.0, 1.0)
    lengths = np.asarray(lengths, dtype=np.float64) + 1.0
    ratio = np.log(np.minimum(lengths[i], lengths[j]) / np.maximum(lengths[i], lengths[j]))
    shared = pair_dots(numbers, i, numbers, j)
    counts = numbers.getnnz(axis=1)
    union = counts[i] + counts[j] - shared
    jaccard = np.divide(shared, union, out=np.zeros(len(i)), where=union > 0)
    return np.stack([np.sqrt(cos), ratio, jaccard], axis=1)


def story_scores(
    vectors: sp.csr_matrix,
    numbers: sp.csr_matrix,
    lengths: np.ndarray,
    pairs: np.ndarray,
    config: StoriesConfig = StoriesConfig(),
) -> np.ndarray:
    """The story score of each pair ``(m, 2)``: how alike readers would find the two stories.

    A logistic function of :func:`score_features` with the weights of
    ``config`` (fitted by ``scripts/fit_story_score.py`` on SemEval-2022 Task 8
    pairs, the target being ``(4 - Overall) / 3``: 1 = same story, 0 =
    unrelated), times ``number_penalty`` for templated reports (weather,
    prices, results of different days): texts worded alike (cosine at least
    ``template_cosine``) that both carry at least ``min_numbers`` distinct
    numbers and share none of them.

    Args:
        vectors: ``(n, d)`` story vectors (:func:`story_vectors`).
        numbers: ``(n, k)`` number sets (:func:`number_sets`).
        lengths: ``(n,)`` token counts of the bodies (:func:`token_counts`).
        pairs: ``(m, 2)`` positions.
        config: the weights and the template rule.

    Returns:
        ``(m,)`` scores in (0, 1); higher = more alike.
    """
    if len(pairs) == 0:
        return np.zeros(0)
    f = score_features(vectors, numbers, lengths, pairs)
    z = config.score_intercept + f @ np.array([config.score_cosine, config.score_length, config.score_numbers])
    score = 1.0 / (1.0 + np.exp(-z))
    counts = numbers.getnnz(axis=1)
    i, j = pairs[:, 0], pairs[:, 1]
    template = (counts[i] >= config.min_numbers) & (counts[j] >= config.min_numbers) & (f[:, 2] == 0)
    template &= f[:, 0] ** 2 >= config.template_cosine  # worded alike: independent reports of one story differ in words too
    return np.where(template, score * config.number_penalty, score)


def neighbour_pairs(
    vectors: sp.csr_matrix,
    k: int,
    min_score: float,
    chunk_rows: int = 500,
    times: np.ndarray | None = None,
    window_seconds: float | None = None,
    tick: Tick = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` cosine neighbours of every row, as unique pairs ``i < j``.

    Sparse products ``X[chunk] @ X.T`` in chunks of ``chunk_rows`` rows keep
    memory bounded; nothing loops per pair in Python. With ``times`` and
    ``window_seconds``, pairs whose times are both known and further apart
    are dropped before the top-k cut, and are never computed: rows are taken
    in time order, in blocks, and each block is multiplied only with the
    rows dated within the window of it (and the undated ones), so a feed
    spanning months costs what its windows cost, not all pairs.

    Returns:
        ``(pairs (m, 2), cosines (m,))`` sorted by pair.

    >>> x = sp.csr_matrix(np.array([[1.0, 0.0], [0.8, 0.6], [1.0, 0.0]]))
    >>> day = 86_400.0
    >>> neighbour_pairs(x, 5, 0.1)[0].tolist()
    [[0, 1], [0, 2], [1, 2]]
    >>> neighbour_pairs(x, 5, 0.1, times=np.array([0.0, day, 9 * day]), window_seconds=3 * day)[0].tolist()
    [[0, 1]]
    """
    n = vectors.shape[0]
    vectors = sp.csr_matrix(vectors)
    windowed = times is not None and window_seconds is not None
    if windowed:
        times = np.asarray(times, dtype=np.float64)
        order = np.argsort(np.where(np.isnan(times), np.inf, times), kind="stable")  # dated by time, undated last
        dated = int((~np.isnan(times)).sum())
        sorted_times = times[order[:dated]]
        rows = vectors[order]
        block = max(chunk_rows, _WINDOW_BLOCK_ROWS)
    else:
        order, dated, rows, block = np.arange(n), 0, vectors, n
    found_i, found_j, found_s = [], [], []
    for blo in range(0, n, max(block, 1)):
        bhi = min(n, blo + block)
        if windowed and bhi <= dated:  # columns: rows dated within the window of this block, and the undated
            clo = int(np.searchsorted(sorted_times, sorted_times[blo] - window_seconds, side="left"))
            chi = int(np.searchsorted(sorted_times, sorted_times[bhi - 1] + window_seconds, side="right"))
            columns = np.r_[clo:chi, dated:n]
        else:
            columns = np.arange(n)
        xt = (rows[columns] if len(columns) < n else rows).T.tocsr()
        for lo in range(blo, bhi, chunk_rows):
            hi = min(bhi, lo + chunk_rows)
            prod = (rows[lo:hi] @ xt).tocoo()
            r, c, s = prod.row.astype(np.int64) + lo, prod.col.astype(np.int64), prod.data
            if windowed:  # back to positions
                r, c = order[r], order[columns[c]]
            keep = (s >= min_score) & (r != c)
            if windowed:
                dt = np.abs(times[r] - times[c])
                keep &= ~(dt > window_seconds)  # NaN (unknown date) keeps the pair
            r, c, s = r[keep], c[keep], s[keep]
            top_order = np.lexsort((c, -s, r))
            r, c, s = r[top_order], c[top_order], s[top_order]
            first = np.searchsorted(r, r, side="left")
            top = (np.arange(len(r)) - first) < k
            found_i.append(r[top])
            found_j.append(c[top])
            found_s.append(s[top])
            if tick is not None:
                tick(hi - lo)
    if not found_i:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    i, j, s = np.concatenate(found_i), np.concatenate(found_j), np.concatenate(found_s)
    if windowed:
        by_row = np.lexsort((j, -s, i))  # as if the rows had been taken in position order
        i, j, s = i[by_row], j[by_row], s[by_row]
    pairs = np.stack([np.minimum(i, j), np.maximum(i, j)], axis=1)
    pairs, first = np.unique(pairs, axis=0, return_index=True)
    return pairs.reshape(-1, 2), np.clip(s[first], 0.0, 1.0)


_WINDOW_BLOCK_ROWS = 2048  # rows sharing one column window in the windowed neighbour search


def _canonical(m: sp.csr_matrix) -> sp.csr_matrix:
    """``m`` as CSR with sorted, summed columns (a copy only when ``m`` is not already so)."""
    m = sp.csr_matrix(m)
    if not m.has_canonical_format:
        m = m.copy()
        m.sum_duplicates()
    return m


def pair_dots(a: sp.csr_matrix, i: np.ndarray, b: sp.csr_matrix, j: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """``a[i[k]] · b[j[k]]`` for every k.

    Pairs are grouped by ``i`` (top-k neighbour lists give each row many
    partners). Each distinct row of ``a`` is scattered once into a dense
    buffer and its partners' values are gathered from it; products and row
    sums are vectorized over ``chunk`` pairs at a time, whose rows of ``b``
    are copied out with one fancy index. Work is linear in the partners'
    nonzeros, with no sorting or searching, and Python steps once per
    distinct row of ``a``, never per pair. The buffer has one slot per
    column: pass matrices with millions of mostly unused hashed columns
    through :func:`_compact_columns` first (on the dev days: 3 s instead of
    21 s for the merge-by-search this replaced).

    >>> m = sp.csr_matrix(np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0]]))
    >>> pair_dots(m, np.array([0, 0]), m, np.array([1, 0])).tolist()
    [2.0, 5.0]
    """
    a, b = _canonical(a), _canonical(b)
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    m = len(i)
    out = np.zeros(m)
    if m == 0:
        return out
    order = np.argsort(i, kind="stable")
    si, sj = i[order], j[order]
    starts = np.flatnonzero(np.r_[True, si[1:] != si[:-1]])  # first pair of each distinct row
    ends = np.r_[starts[1:], m]
    # chunks of whole groups, about ``chunk`` pairs each
    bounds = np.unique(np.r_[starts[np.searchsorted(starts, np.arange(0, m, chunk), side="right") - 1], m])
    buf = np.zeros(max(a.shape[1], b.shape[1]))
    res = np.zeros(m)
    g = 0
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        rows = b[sj[lo:hi]]
        ptr, idx = rows.indptr, rows.indices
        gathered = np.empty(len(idx))
        g_end = int(np.searchsorted(starts, hi))
        for s, e, r in zip(starts[g:g_end].tolist(), ends[g:g_end].tolist(), si[starts[g:g_end]].tolist()):
            cols = a.indices[a.indptr[r] : a.indptr[r + 1]]
            buf[cols] = a.data[a.indptr[r] : a.indptr[r + 1]]
            np.take(buf, idx[ptr[s - lo] : ptr[e - lo]], out=gathered[ptr[s - lo] : ptr[e - lo]])
            buf[cols] = 0.0
        g = g_end
        gathered *= rows.data
        nz = np.flatnonzero(ptr[1:] > ptr[:-1])
        if len(nz):
            res[lo + nz] = np.add.reduceat(gathered, ptr[nz])
    out[order] = res
    return out


def _find(parent: np.ndarray, x: int) -> int:
    while parent[x] != x:  # iterative, with path halving
        parent[x] = parent[parent[x]]
        x = int(parent[x])
    return x


def average_linkage(
    vectors: sp.csr_matrix,
    pairs: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    linkage: float,
    initial: np.ndarray | None = None,
    times: np.ndarray | None = None,
    max_span_seconds: float | None = None,
    tick: Tick = None,
) -> np.ndarray:
    """Cluster rows along candidate edges with an average-linkage guard against chaining.

    Edges with ``scores >= threshold`` are taken in decreasing score order (ties
    by pair); an edge merges its two clusters only when the mean cosine over
    all cross pairs, ``(S_a · S_b) / (n_a n_b)`` with ``S`` the sum of the
    cluster's unit rows, is at least ``linkage``, and (with ``times``) the
    merged cluster spans at most ``max_span_seconds``.

    Args:
        vectors: ``(n, d)`` L2-normalized rows.
        pairs, scores: candidate edges ``(m, 2)`` and their scores ``(m,)``.
        threshold: minimum edge score.
        linkage: minimum average cross-cluster cosine.
        initial: ``(n,)`` labels merged first, without the score and linkage
            tests (duplicate groups): the members of a label in time order
            (unknown dates last), each joining the cluster of the one before
            unless that would span more than ``max_span_seconds``.
        times: ``(n,)`` seconds, NaN when unknown.
        max_span_seconds: the longest time span a cluster may cover.
        tick: called with how many strong edges were taken, now and then
            (progress: ``(scores >= threshold).sum()`` in all).

    Returns:
        ``(n,)`` labels = smallest member position.

    >>> import scipy.sparse as sp
    >>> x = sp.csr_matrix(np.array([[1.0, 0, 0], [0.8, 0.6, 0], [0, 0.6, 0.8], [0, 0, 1.0]]))
    >>> p = np.array([[0, 1], [1, 2], [2, 3]])
    >>> average_linkage(x, p, np.array([0.8, 0.36, 0.8]), 0.3, 0.5).tolist()
    [0, 0, 2, 2]
    """
    vectors = _canonical(vectors)
    n = vectors.shape[0]
    parent = np.arange(n, dtype=np.int64)
    size = np.ones(n, dtype=np.int64)
    t = np.full(n, np.nan) if times is None else np.asarray(times, dtype=np.float64)
    tmin, tmax = t.copy(), t.copy()
    # Cluster sums as (sorted column indices, values): scipy's binary ops on a
    # 1 × millions row cost O(columns) each, these cost O(nonzeros).
    indptr, indices, data = vectors.indptr, vectors.indices, vectors.data
    sums: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def vec(root: int) -> tuple[np.ndarray, np.ndarray]:
        if root in sums:
            return sums[root]
        lo, hi = indptr[root], indptr[root + 1]
        return indices[lo:hi], data[lo:hi]

    def dot(a: int, b: int) -> float:
        (ia, va), (ib, vb) = vec(a), vec(b)
        if len(ia) > len(ib):
            (ia, va), (ib, vb) = (ib, vb), (ia, va)
        if len(ia) == 0:
            return 0.0
        # look the shorter sorted columns up in the longer one: O(shorter · log longer)
        k = np.minimum(np.searchsorted(ib, ia), len(ib) - 1)
        hit = ib[k] == ia
        # einsum, not ``@``: OpenBLAS threads a mid-size dot and stalls when the
        # other core is busy (the dev storylines: 13 s with ``@``, 7 s with one BLAS thread)
        return float(np.einsum("i,i", va[hit], vb[k[hit]]))

    def merge(a: int, b: int) -> None:
        a, b = min(a, b), max(a, b)
        (ia, va), (ib, vb) = vec(a), vec(b)
        idx, val = np.concatenate([ia, ib]), np.concatenate([va, vb])
        order = np.argsort(idx, kind="stable")  # two sorted runs: timsort merges them in linear time
        idx, val = idx[order], val[order]
        dup = np.flatnonzero(idx[1:] == idx[:-1])  # a's entry, then b's
        val[dup] += val[dup + 1]
        keep = np.ones(len(idx), dtype=bool)
        keep[dup + 1] = False
        sums[a] = (idx[keep], val[keep])
        sums.pop(b, None)
        parent[b] = a
        size[a] += size[b]
        tmin[a] = np.fmin(tmin[a], tmin[b])
        tmax[a] = np.fmax(tmax[a], tmax[b])

    if initial is not None:
        # In time order, so that a group too long for the window is cut into consecutive runs.
        order = np.lexsort((np.arange(n), np.where(np.isnan(t), np.inf, t), initial))
        lab = initial[order]
        for k in np.flatnonzero(lab[1:] == lab[:-1]) + 1:
            a, b = _find(parent, int(order[k - 1])), _find(parent, int(order[k]))
            if a == b:
                continue
            if max_span_seconds is not None and np.fmax(tmax[a], tmax[b]) - np.fmin(tmin[a], tmin[b]) > max_span_seconds:
                continue  # False when a date is unknown
            merge(a, b)

    strong = np.flatnonzero(scores >= threshold)
    strong = strong[np.lexsort((pairs[strong, 1], pairs[strong, 0], -scores[strong]))]
    # A cluster only changes by growing, so (root, size) names its state: two clusters
    # that failed the linkage test fail it again until one of them grows. Many edges
    # join the same two clusters (dev storylines: 15 s -> 8 s, the same labels).
    rejected: set[tuple[int, int, int, int]] = set()
    for done, e in enumerate(strong.tolist(), start=1):
        if tick is not None and done % _TICK_EDGES == 0:
            tick(_TICK_EDGES)
        a, b = _find(parent, int(pairs[e, 0])), _find(parent, int(pairs[e, 1]))
        if a == b:
            continue
        if max_span_seconds is not None:
            lo, hi = np.fmin(tmin[a], tmin[b]), np.fmax(tmax[a], tmax[b])
            if hi - lo > max_span_seconds:  # False when a date is unknown
                continue
        state = (min(a, b), int(size[min(a, b)]), max(a, b), int(size[max(a, b)]))
        if state in rejected:
            continue
        if dot(a, b) / (size[a] * size[b]) < linkage:
            rejected.add(state)
            continue
        merge(a, b)
    if tick is not None and len(strong) % _TICK_EDGES:
        tick(len(strong) % _TICK_EDGES)
    roots = np.array([_find(parent, i) for i in range(n)], dtype=np.int64)
    return roots  # a root is always its cluster's smallest position (merge keeps the min)


def _representatives(vectors: sp.csr_matrix, labels: np.ndarray, inverse: np.ndarray, sums: sp.csr_matrix) -> np.ndarray:
    """Per label, the member with the largest dot product with the cluster sum (ties: smallest).

    ``inverse`` maps each row to its cluster's row in ``sums`` (the cluster sums of ``vectors``).
    """
    n = len(labels)
    rep = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return rep
    closeness = np.zeros(n)
    shared = np.flatnonzero(np.bincount(inverse)[inverse] > 1)  # a lone member is its own representative
    closeness[shared] = pair_dots(sums, inverse[shared], vectors, shared)
    # Rounded, so that equal closeness (both members of a pair: 1 + x_a · x_b) is a
    # tie decided by position, not by the last bits of two summation orders.
    order = np.lexsort((np.arange(n), -np.round(closeness, 9), labels))
    first = np.ones(n, dtype=bool)
    first[1:] = labels[order][1:] != labels[order][:-1]
    rep[labels[order][first]] = order[first]
    return rep


def _ticker(progress: Callable[[str, int, int], None] | None, stage: str, total: int) -> Tick:
    """``advance -> progress(stage, advance, total)``, or None without a progress callback."""
    if progress is None:
        return None
    return lambda advance: progress(stage, advance, total)


def find_stories(
    texts: Sequence[str],
    titles: Sequence[str],
    times: np.ndarray,
    config: StoriesConfig = StoriesConfig(),
    groups: np.ndarray | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Stories:
    """Cluster articles into events and events into storylines.

    Args:
        texts: normalized bodies (boilerplate removed), one per position.
        titles: normalized headlines ("" when unknown).
        times: ``(n,)`` POSIX seconds, NaN when the date is unknown.
        config: thresholds, window and vector settings.
        groups: ``(n,)`` copy labels (-1 = none; the pipeline passes
            :func:`dedup.cluster.groups.copy_groups`, which holds the duplicate
            groups whole); the members of
            a group within one window of each other end up inside one event
            (a group spanning more is cut in time order into window-long runs).
        progress: called with ``(stage, advance, total)`` as the long steps
            go: ``vectors`` and ``neighbours`` (articles), ``events`` (strong
            pairs), ``storylines`` (events) and ``linking`` (strong event pairs).

    Returns:
        :class:`Stories`.
    """
    n = len(texts)
    times = np.asarray(times, dtype=np.float64)
    if len(times) != n:
        raise ValueError(f"find_stories: {n} texts but {len(times)} times")
    words = _counts(texts, bigrams=False)  # shared by the story vectors and the candidate search
    x = _story_vectors(texts, titles, config, None if config.bigrams else words, _ticker(progress, "vectors", n))
    nums = number_sets(texts, titles)
    lengths = token_counts(texts)
    window = config.window_days * _DAY
    max_df = max(config.candidate_max_df, int(config.candidate_max_df_fraction * n))
    cand = _candidate_vectors(words, max_df)
    del words
    x, cand, nums = _compact_columns(x), _compact_columns(cand), _compact_columns(nums)
    pairs, _ = neighbour_pairs(cand, config.neighbours, config.min_word_cosine, config.chunk_rows, times, window,
                               _ticker(progress, "neighbours", n))
    scores = story_scores(x, nums, lengths, pairs, config)
    keep = scores >= config.min_candidate
    pairs, scores = pairs[keep], scores[keep]
    initial = None
    if groups is not None:
        initial = np.where(np.asarray(groups) >= 0, groups, np.arange(n))
    event = average_linkage(x, pairs, scores, config.event_threshold, config.event_linkage, initial, times, window,
                            _ticker(progress, "events", int((scores >= config.event_threshold).sum())))
    log.info("stories: %d candidate pairs, %d events", len(pairs), len(np.unique(event)))

    # Storylines: the same clustering over event centroids, no time window.
    labels, inverse = np.unique(event, return_inverse=True)
    member = sp.csr_matrix((np.ones(n), (inverse, np.arange(n))), shape=(len(labels), n))
    sums = sp.csr_matrix(member @ x)
    centroids = _l2(sums)
    epairs, _ = neighbour_pairs(_l2(member @ cand), config.neighbours, config.min_word_cosine, config.chunk_rows,
                                tick=_ticker(progress, "storylines", len(labels)))
    ecos = np.clip(pair_dots(centroids, epairs[:, 0], centroids, epairs[:, 1]), 0.0, 1.0) if len(epairs) else np.zeros(0)
    elab = average_linkage(centroids, epairs, ecos, config.storyline_threshold, config.storyline_linkage,
                           tick=_ticker(progress, "linking", int((ecos >= config.storyline_threshold).sum())))
    storyline = labels[elab][inverse]  # smallest event label = smallest article position
    return Stories(
        event=event,
        storyline=storyline,
        representative=_representatives(x, event, inverse, sums),
        pairs=pairs,
        scores=scores,
    )
