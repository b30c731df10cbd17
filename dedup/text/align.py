"""Passage alignment: which passages two texts share, and how much of each they cover.

Bag-of-shingles scores (Jaccard, containment, cosine) say how much two texts
have in common, not where, and they are diluted when a copy is partial: a
rewritten lead over a verbatim body has a word-3 Jaccard of 0.1-0.3. Text-reuse
and plagiarism-alignment systems align passages instead, by *seed and
extend* over word n-grams; so does this module.

The method, on the tokens of the one normalizer (diacritics, tatweel, letter
variants, case and punctuation never break a match):

1. **Seeds**: the word ``k``-grams both texts contain. One-to-one rule: the
   r-th occurrence of a k-gram in one text is a seed only when the other
   text holds it at least r times (a multiset intersection, occurrences
   paired in text order). A paragraph printed three times in one text and
   once in the other counts once on each side.
2. **Extend and merge**: a seed covers its ``k`` tokens; seeds whose covered
   tokens touch, or are separated by at most ``gap`` uncovered tokens, form
   one passage. A substituted word inside a copied sentence leaves exactly
   one uncovered token (every k-gram through it is lost, the ones on either
   side survive), so ``gap >= 1`` keeps the sentence whole; the bridged
   tokens count as aligned.
3. **Filter**: passages shorter than ``min_tokens`` tokens are dropped (stock
   phrases: "said in a statement on", "وقال في تصريح لوكالة الأنباء").

Each side is segmented on its own, so the passages of the two sides need not
pair up one for one (two passages of ``b`` printed next to each other in
``a`` make one passage of ``a``). An :class:`Alignment` reports the
**share** of each side (the fraction of its tokens inside passages, never
above 1), the **longest** passage (tokens, on either side), the number of
**passages** (on the side that has more) and the passages as character
spans of the original texts.

Two paths, one definition:

* :func:`align`: exact, for one pair (string k-grams; spans for
  highlighting);
* :func:`align_pairs` / :func:`align_rows`: vectorized over many pairs, for
  verification at scale, on the per-article *ordered* k-gram hash sequences
  the sketch stage stores (:func:`dedup.sketch.features.kgram_sequences`,
  32-bit hashes). Same seeds, same runs: the two agree exactly except where
  two different k-grams of a pair share a 32-bit hash (a k-gram of one
  article meets one of the ~500 of the other with probability ~1e-7), and
  then one seed is added, dropped or moved: a few tokens of share, or a
  passage just over ``min_tokens`` that appears or goes. The tests require
  exact agreement on hundreds of random pairs.

Why ``k = 5``, ``gap = 4``, ``min_tokens = 10``: measured by
``scripts/bench_align.py`` (``sweep`` in ``results/bench_align.json``) on the
240 hand-labelled SaudiNewsNet dev pairs (ROC AUC of the larger share, DUP
against the rest), 20k random pairs of unrelated dev articles of the same
day (chance passages) and dev articles with 5/10/20% of their words
substituted (the share recovered). Along k = 3..8 (gap 4, 10 tokens) the
unrelated pairs with a passage fall from 0.36% (k = 3) and 0.24% (k = 4) to
0.19% at k = 5, then hardly move (0.17% at k = 8), while the share
recovered from a 20%-edited copy falls with every step (0.83, 0.68, 0.57,
0.47, 0.40, 0.35: dense edits leave stretches shorter than k between them).
k = 5 is where chance passages stop paying for lost recall, and the
labelled pairs separate best there (AUC 0.979 vs 0.969-0.974). At k = 5
chance passages barely grow with the gap (bridging needs seeds on both
sides: 0.175% at gap 0, 0.195% at gap 8) while recovery does (0.29 to 0.69
at 20% edits); the labelled AUC peaks at gap 4. The commonest chance
passage between unrelated Saudi articles is the king's 9-token title
(خادم الحرمين الشريفين الملك سلمان بن عبدالعزيز ال سعود), so passages
need 10 tokens (5 tokens: 0.52% of unrelated pairs have one; 10: 0.19%).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..config import NormalizeConfig
from ..errors import ConfigError
from ..repeats.segment import located_tokens
from ..sketch.features import KGRAM_TOKENS, row_index

__all__ = [
    "AlignConfig",
    "Alignment",
    "KgramSource",
    "PairAlignment",
    "align",
    "align_pairs",
    "align_rows",
    "align_tokens",
]

_PAIR_BLOCK = 20_000  # pairs per gather, as in verification: bounds the rows held at once
_LOW32 = np.uint64(0xFFFFFFFF)


@dataclass(frozen=True)
class AlignConfig:
    """What counts as a shared passage.

    Attributes:
        k: seed size in tokens (word k-grams). The batch path reads the
            sequences the sketch stage stored, which are of
            :data:`~dedup.sketch.features.KGRAM_TOKENS` tokens.
        gap: at most this many unmatched tokens inside one passage (a
            changed word in a copied sentence does not split it).
        min_tokens: shorter passages are ignored (stock phrases).
    """

    k: int = KGRAM_TOKENS
    gap: int = 4
    min_tokens: int = 10

    def __post_init__(self) -> None:
        if not 1 <= self.k <= 32:
            raise ConfigError(f"align k must be between 1 and 32 tokens, got {self.k}")
        if self.gap < 0:
            raise ConfigError(f"align gap must be >= 0 tokens, got {self.gap}")
        if self.min_tokens < self.k:
            raise ConfigError(
                f"align min_tokens ({self.min_tokens}) must be >= k ({self.k}): a passage is at least one k-gram long"
            )


@dataclass(frozen=True)
class Alignment:
    """The passages two texts ``a`` and ``b`` share (built by :func:`align`).

    ``spans_a``/``spans_b`` are ``(start, end)`` character offsets into the
    texts as given (``a[start:end]`` is the passage as written), sorted and
    disjoint; ``share_a`` is the fraction of ``a``'s tokens inside them.
    """

    share_a: float
    share_b: float
    longest: int  # tokens of the longest passage, on either side
    passages: int  # number of passages, on the side with more
    spans_a: tuple[tuple[int, int], ...]
    spans_b: tuple[tuple[int, int], ...]
    tokens_a: int
    tokens_b: int


def _runs(
    pos: np.ndarray, seg: np.ndarray, config: AlignConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Passages from seeds: ``(segment, start, end)`` token ranges of the kept runs.

    ``pos`` are seed positions (a seed covers tokens ``pos .. pos+k-1``),
    ascending within each segment, segments ascending (``seg``). A new run
    starts at a new segment or when more than ``gap`` tokens lie uncovered
    since the previous seed's last token.
    """
    if len(pos) == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    new = np.ones(len(pos), dtype=bool)
    new[1:] = (seg[1:] != seg[:-1]) | (pos[1:] - pos[:-1] > config.k + config.gap)
    firsts = np.flatnonzero(new)
    lasts = np.append(firsts[1:], len(pos)) - 1
    start, end = pos[firsts], pos[lasts] + config.k
    keep = end - start >= config.min_tokens
    return seg[firsts][keep], start[keep], end[keep]


def _seeds(mine: Sequence[str], other: Sequence[str], k: int) -> np.ndarray:
    """Seed positions of ``mine``: its k-gram occurrences paired with one in ``other`` (the r-th with the r-th).

    Vectorized: each k-gram is a 64-bit polynomial of its tokens' hashes
    (two different k-grams agree with probability about 2^-64), and the r-th occurrence of a k-gram in ``mine`` is a
    seed when ``other`` holds that k-gram more than r times.

    >>> _seeds("a b a b a b".split(), "a b a b".split(), 2).tolist()
    [0, 1, 2]
    """
    n_mine, n_other = len(mine) - k + 1, len(other) - k + 1
    if n_mine <= 0 or n_other <= 0:
        return np.zeros(0, dtype=np.int64)
    # Python's string hash: salted per process, which is all a comparison within one call needs
    ids = np.fromiter(map(hash, (*mine, *other)), dtype=np.int64, count=len(mine) + len(other)).view(np.uint64)
    key = np.zeros(len(ids) - k + 1, dtype=np.uint64)
    for j in range(k):  # k is small: a loop over offsets, not over tokens
        key = key * _GRAM_PRIME + ids[j : len(ids) - k + 1 + j]
    g_mine, g_other = key[:n_mine], key[len(mine) : len(mine) + n_other]
    uniq, held = np.unique(g_other, return_counts=True)
    at = np.minimum(np.searchsorted(uniq, g_mine), len(uniq) - 1)
    count = np.where(uniq[at] == g_mine, held[at], 0)
    order = np.argsort(g_mine, kind="stable")  # equal k-grams stay in text order
    sorted_g = g_mine[order]
    first = np.ones(len(sorted_g), dtype=bool)
    first[1:] = sorted_g[1:] != sorted_g[:-1]
    pos = np.arange(len(sorted_g))
    rank = np.empty(len(sorted_g), dtype=np.int64)
    rank[order] = pos - np.maximum.accumulate(np.where(first, pos, 0))
    return np.flatnonzero(count > rank).astype(np.int64)


_GRAM_PRIME = np.uint64(0x9E3779B97F4A7C15)  # odd: the polynomial keeps every token's information


def align_tokens(
    tokens_a: Sequence[str], tokens_b: Sequence[str], config: AlignConfig = AlignConfig()
) -> tuple[np.ndarray, np.ndarray]:
    """The passages two token sequences share, as token ranges ``(r, 2)`` of each: ``[start, end)``.

    >>> ra, rb = align_tokens("x y a b c d e f g h i j z".split(), "a b c d e f g h i j".split())
    >>> ra.tolist(), rb.tolist()
    ([[2, 12]], [[0, 10]])
    """
    out = []
    for mine, other in ((tokens_a, tokens_b), (tokens_b, tokens_a)):
        pos = _seeds(mine, other, config.k)
        _, start, end = _runs(pos, np.zeros(len(pos), dtype=np.int64), config)
        out.append(np.stack([start, end], axis=1))
    return out[0], out[1]


@lru_cache(maxsize=8)
def _located(text: str, normalize: NormalizeConfig) -> tuple[list[str], list[int], list[int]]:
    """:func:`located_tokens`, remembered for the last few texts: a report aligns each kept article with all its copies."""
    return located_tokens(text, normalize)


def align(
    a: str, b: str, config: AlignConfig = AlignConfig(), normalize: NormalizeConfig = NormalizeConfig()
) -> Alignment:
    """Align the passages the texts ``a`` and ``b`` share (exact: the k-grams themselves are compared).

    Args:
        a, b: raw texts (any script; they are normalized here, and the spans
            returned point into them as given).
        config: seed size, gap and minimum passage length.
        normalize: the normalizer's settings (those of the run that compares).

    Returns:
        An :class:`Alignment`. A text with fewer than ``config.min_tokens``
        tokens shares no passage (exact copies are the digest's job).

    >>> a = "Breaking: the minister said on Monday that talks will resume next week."
    >>> b = "THE MINISTER said, on monday, that talks will resume next week (sources)."
    >>> al = align(a, b)
    >>> [a[s:e] for s, e in al.spans_a], [b[s:e] for s, e in al.spans_b]
    (['the minister said on Monday that talks will resume next week'], ['THE MINISTER said, on monday, that talks will resume next week'])
    >>> al.share_b, al.longest, al.passages
    (0.9166666666666666, 11, 1)
    >>> align("one two three", "four five six").share_a
    0.0
    """
    ta, sa, ea = _located(a, normalize)
    tb, sb, eb = _located(b, normalize)
    ra, rb = align_tokens(ta, tb, config)
    la, lb = ra[:, 1] - ra[:, 0], rb[:, 1] - rb[:, 0]
    return Alignment(
        share_a=float(la.sum() / len(ta)) if len(ta) else 0.0,
        share_b=float(lb.sum() / len(tb)) if len(tb) else 0.0,
        longest=int(max(la.max(initial=0), lb.max(initial=0))),
        passages=max(len(ra), len(rb)),
        spans_a=tuple((sa[s], ea[e - 1]) for s, e in ra.tolist()),
        spans_b=tuple((sb[s], eb[e - 1]) for s, e in rb.tolist()),
        tokens_a=len(ta),
        tokens_b=len(tb),
    )


# --- many pairs at once ------------------------------------------------------------


@dataclass(frozen=True)
class PairAlignment:
    """Alignment of pairs ``(i, j)``, each array of shape ``(m,)``."""

    share_ij: np.ndarray  # fraction of i's tokens in passages it shares with j
    share_ji: np.ndarray  # fraction of j's tokens in passages it shares with i
    longest: np.ndarray  # int64: tokens of the longest passage, on either side


def _covered(seed: np.ndarray, seg_off: np.ndarray, config: AlignConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per segment (a pair's side, k-grams in text order, flagged ``seed``): its share in passages, and its longest."""
    m = len(seg_off) - 1
    seeds = np.flatnonzero(seed)
    seg = np.searchsorted(seg_off, seeds, side="right") - 1
    run_seg, start, end = _runs(seeds - seg_off[seg], seg, config)
    length = end - start
    n_kgrams = np.diff(seg_off)
    n_tokens = np.where(n_kgrams > 0, n_kgrams + config.k - 1, 0)
    covered = np.bincount(run_seg, weights=length, minlength=m)
    longest = np.zeros(m, dtype=np.int64)
    np.maximum.at(longest, run_seg, length)
    return np.where(n_tokens > 0, covered / np.maximum(n_tokens, 1), 0.0), longest


def align_pairs(
    kgrams: np.ndarray, offsets: np.ndarray, pairs: np.ndarray, config: AlignConfig = AlignConfig()
) -> PairAlignment:
    """Shares and longest passage of every pair, vectorized (no loop per pair or per token).

    The rows are ordered k-gram hash sequences (flat + ``(n + 1,)``
    offsets, as :func:`~dedup.sketch.features.kgram_sequences` makes them
    with ``config.k``). How:

    1. every row's hashes are sorted once, keyed ``row << 32 | hash`` (text
       order breaks ties), with each occurrence's rank among its equals and
       each distinct key's count;
    2. each k-gram of ``i`` is looked up in ``j`` (one ``searchsorted``); it
       is a seed when ``j`` holds its hash more times than its rank (the
       one-to-one rule), and its partner, the occurrence of the same rank in
       ``j``, is a seed of ``j``: one lookup serves both sides;
    3. the seeds, put back in text order, make runs cut where the pair
       changes or the gap exceeds ``config.gap``, as :func:`align` does.

    Pairs are visited sorted by ``j``, and each row's k-grams in sorted
    order, so the lookups walk forward through memory (~3x faster than in
    text order).

    Args:
        kgrams: ``uint32`` hashes of the rows, in text order.
        offsets: ``(n + 1,)`` row offsets into ``kgrams``.
        pairs: ``(m, 2)`` row positions.
        config: ``k`` must be the size the sequences were made with.

    >>> from dedup.sketch.features import kgram_sequences
    >>> from dedup.text.shingle import token_hashes
    >>> th, to = token_hashes(["x y a b c d e f g h i j z", "a b c d e f g h i j", "p q r s t u v w x y"])
    >>> kg, ko = kgram_sequences(th, to, 5)
    >>> r = align_pairs(kg, ko, np.array([[0, 1], [0, 2]]))
    >>> r.share_ij.tolist(), r.share_ji.tolist(), r.longest.tolist()
    ([0.7692307692307693, 0.0], [1.0, 0.0], [10, 0])
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    offsets = np.asarray(offsets, dtype=np.int64)
    kgrams = np.asarray(kgrams, dtype=np.uint32)
    n, m = len(offsets) - 1, len(pairs)
    if n >= 1 << 32:
        raise ValueError(f"align_pairs: {n} rows; at most 2^32 per call (use align_rows, which works in blocks)")
    lengths = np.diff(offsets)
    # 1. sorted rows, ranks, counts
    keys = (np.repeat(np.arange(n, dtype=np.uint64), lengths) << np.uint64(32)) | kgrams.astype(np.uint64)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    del keys
    first = np.ones(len(sorted_keys), dtype=bool)
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=first[1:])
    at = np.arange(len(sorted_keys), dtype=np.int64)
    rank = at - np.maximum.accumulate(np.where(first, at, 0))  # occurrence number among equal keys
    starts = np.flatnonzero(first)
    held = np.zeros(len(sorted_keys), dtype=np.int64)  # at the first of equal keys: how many there are
    held[starts] = np.diff(np.append(starts, len(sorted_keys)))
    text_pos = order - np.repeat(offsets[:-1], lengths)  # each sorted k-gram's position in its row's text
    del order, at, first, starts
    # 2. look the k-grams of i up in j, in sorted order
    perm = np.lexsort((pairs[:, 0], pairs[:, 1]))
    mine, other = pairs[perm, 0], pairs[perm, 1]
    sidx, seg_i = row_index(offsets, mine)  # a row's block of sorted keys has the row's offsets
    per_pair = np.diff(seg_i)
    query = np.repeat(other.astype(np.uint64) << np.uint64(32), per_pair)
    query |= sorted_keys[sidx] & _LOW32
    found = np.searchsorted(sorted_keys, query)  # the first of the equal keys, when there are any
    np.minimum(found, max(len(sorted_keys) - 1, 0), out=found)
    r = rank[sidx]
    ok = np.flatnonzero((sorted_keys[found] == query) & (held[found] > r)) if len(query) else np.zeros(0, np.int64)
    del query
    seg = np.repeat(np.arange(m, dtype=np.int64), per_pair)[ok]
    seed_i = np.zeros(int(seg_i[-1]), dtype=bool)
    seed_i[text_pos[sidx[ok]] + seg_i[seg]] = True
    seg_j = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(lengths[other], out=seg_j[1:])
    seed_j = np.zeros(int(seg_j[-1]), dtype=bool)
    seed_j[text_pos[found[ok] + r[ok]] + seg_j[seg]] = True  # the partner: the same occurrence number in j
    # 3. passages
    share_i, long_i = _covered(seed_i, seg_i, config)
    share_j, long_j = _covered(seed_j, seg_j, config)
    share_ij, share_ji, longest = np.zeros(m), np.zeros(m), np.zeros(m, dtype=np.int64)
    share_ij[perm], share_ji[perm], longest[perm] = share_i, share_j, np.maximum(long_i, long_j)
    return PairAlignment(share_ij, share_ji, longest)


class KgramSource(Protocol):
    """Anything that hands out the ordered k-gram sequences of given rows
    (:class:`~dedup.sketch.features.Features`, :class:`~dedup.sketch.feature_store.FeatureStore`)."""

    def gather_kgrams(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


def align_rows(
    source: KgramSource, pairs: np.ndarray, config: AlignConfig = AlignConfig(), block: int = _PAIR_BLOCK
) -> PairAlignment:
    """:func:`align_pairs` for pairs of rows of a feature store: what the verify stage calls.

    Pairs are aligned ``block`` at a time, each block reading only the rows
    it names (as :func:`dedup.verify.score_pairs` does), so memory stays
    bounded however many pairs there are.

    Raises:
        ConfigError: ``config.k`` is not the size of the stored sequences.
        ValueError: the source holds rows without k-gram sequences.
    """
    if config.k != KGRAM_TOKENS:
        raise ConfigError(
            f"align k={config.k}, but the feature store holds word {KGRAM_TOKENS}-grams: "
            f"use AlignConfig(k={KGRAM_TOKENS}, ...) or align texts with align()"
        )
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    m = len(pairs)
    share_ij, share_ji, longest = np.zeros(m), np.zeros(m), np.zeros(m, dtype=np.int64)
    for lo in range(0, m, block):
        part = pairs[lo : lo + block]
        rows, local = np.unique(part.ravel(), return_inverse=True)
        kg, ko = source.gather_kgrams(rows)
        got = align_pairs(kg, ko, local.reshape(-1, 2), config)
        hi = lo + len(part)
        share_ij[lo:hi], share_ji[lo:hi], longest[lo:hi] = got.share_ij, got.share_ji, got.longest
    return PairAlignment(share_ij, share_ji, longest)
