"""Candidate pairs: MinHash LSH banding plus an anchor path for containment.

Two paths, both returning integer pairs ``(m, 2)`` with ``i < j``, sorted:

* **LSH** over the signatures. The number of bands ``b`` and rows ``r`` for
  the chosen Jaccard threshold come from datasketch's ``MinHashLSH`` (its
  optimizer is not copied). The batch backend ("numpy") sorts band keys and
  pairs articles with equal keys; the "datasketch" backend inserts
  ``LeanMinHash`` objects into a ``MinHashLSH`` and queries it, which finds the
  same candidates and is the fit for incremental, online use.
* **Anchors** for containment. A short wire item inside a long roundup, or a
  teaser that is the start of the full piece, has a low Jaccard with its
  container and no LSH band will match. But it shares long verbatim runs with
  it. Every word ``anchor_k``-gram whose hash falls in a fixed 1-in-
  ``anchor_sample`` slice of the hash space is an anchor (content-defined, so
  both copies sample the same runs); articles sharing an anchor are
  candidates. An item with 40 verbatim ``k``-grams in its container shares at
  least one anchor with probability ``1 - (1 - 1/8)**40 ≈ 0.995``.

Buckets (equal band keys or equal anchors) with more than ``max_bucket``
members contribute a star (every member with the bucket's first) instead of
all pairs, so a boilerplate-heavy text cannot make the work quadratic.
Finally, candidates whose containment estimated from the signatures and the
set sizes is below ``min_estimate`` are screened out before the (costlier)
exact verification.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .config import IndexConfig, MinHashConfig
from .shingle import fmix64, word_shingles

__all__ = [
    "Candidates",
    "anchor_grams",
    "anchor_pairs",
    "band_keys",
    "band_params",
    "candidate_pairs",
    "estimated_containment",
    "lsh_error_rates",
    "lsh_pairs",
    "lsh_pairs_datasketch",
]


@dataclass(frozen=True)
class Candidates:
    """Candidate pairs and where they came from."""

    pairs: np.ndarray  # (m, 2) int64, i < j, sorted, unique
    from_lsh: int
    from_anchors: int
    capped_buckets: int
    bands: int
    rows: int
    screened_out: int = 0


@lru_cache(maxsize=32)
def band_params(threshold: float, num_perm: int, fp_weight: float = 0.5) -> tuple[int, int]:
    """``(bands, rows)`` that datasketch's ``MinHashLSH`` chooses for ``threshold``.

    >>> band_params(0.5, 128)
    (25, 5)
    """
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(fp_weight, 1.0 - fp_weight))
    return int(lsh.b), int(lsh.r)


def lsh_error_rates(threshold: float, bands: int, rows: int) -> tuple[float, float]:
    """datasketch's false-positive and false-negative probabilities (integrated S-curve)."""
    from datasketch.lsh import _false_negative_probability, _false_positive_probability

    return _false_positive_probability(threshold, bands, rows), _false_negative_probability(threshold, bands, rows)


def _empty_pairs() -> np.ndarray:
    return np.zeros((0, 2), dtype=np.int64)


def _bucket_pairs(keys: np.ndarray, members: np.ndarray, max_bucket: int) -> tuple[np.ndarray, int]:
    """All pairs of members sharing a key (a star for buckets over ``max_bucket``)."""
    if len(keys) < 2:
        return _empty_pairs(), 0
    order = np.lexsort((members, keys))
    k, m = keys[order], members[order]
    new = np.ones(len(k), dtype=bool)
    new[1:] = k[1:] != k[:-1]
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, len(k)))
    multi = sizes >= 2
    starts, sizes = starts[multi], sizes[multi]
    small = sizes <= max_bucket
    parts = []
    # all pairs within small buckets, vectorized
    st, sz = starts[small], sizes[small]
    if len(st):
        elem = np.repeat(st, sz) + (np.arange(sz.sum()) - np.repeat(np.cumsum(sz) - sz, sz))
        after = np.repeat(st + sz, sz) - elem - 1
        left = np.repeat(elem, after)
        right = left + 1 + (np.arange(after.sum()) - np.repeat(np.cumsum(after) - after, after))
        parts.append(np.stack([m[left], m[right]], axis=1))
    # star for big buckets
    st, sz = starts[~small], sizes[~small]
    if len(st):
        left = np.repeat(st, sz - 1)
        right = left + 1 + (np.arange((sz - 1).sum()) - np.repeat(np.cumsum(sz - 1) - (sz - 1), sz - 1))
        parts.append(np.stack([m[left], m[right]], axis=1))
    if not parts:
        return _empty_pairs(), 0
    return np.concatenate(parts), int((~small).sum())


def _normalize_pairs(pairs: np.ndarray) -> np.ndarray:
    """Order each pair (i < j), drop self-pairs and duplicates, sort."""
    if len(pairs) == 0:
        return _empty_pairs()
    lo = np.minimum(pairs[:, 0], pairs[:, 1])
    hi = np.maximum(pairs[:, 0], pairs[:, 1])
    keep = lo != hi
    lo, hi = lo[keep], hi[keep]
    # One int64 key per pair: np.unique on 1-D keys is far faster than axis=0.
    width = np.int64(hi.max() + 1) if len(hi) else np.int64(1)
    key = np.unique(lo * width + hi)
    return np.stack([key // width, key % width], axis=1)


def band_keys(signatures: np.ndarray, members: np.ndarray, band: int, rows: int) -> np.ndarray:
    """One 64-bit key per row ``members`` for band ``band`` (columns ``band*rows`` to ``(band+1)*rows``).

    The chain starts from ``band + 1`` and mixes in one column at a time with
    :func:`fmix64`, so equal band values give equal keys in every process, and
    the same values in different bands almost surely do not.

    >>> sig = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [1, 3, 3, 4]], dtype=np.uint32)
    >>> k = band_keys(sig, np.arange(3), 0, 2)
    >>> bool(k[0] == k[1]), bool(k[0] == k[2])
    (True, False)
    """
    block = signatures[members, band * rows : (band + 1) * rows].astype(np.uint64)
    key = np.full(len(members), np.uint64(band + 1), dtype=np.uint64)
    for col in range(rows):
        key = fmix64(key * np.uint64(0x100000001B3) + block[:, col])
    return key


def lsh_pairs(signatures: np.ndarray, members: np.ndarray, bands: int, rows: int, max_bucket: int) -> tuple[np.ndarray, int]:
    """Banding over signature rows ``members`` (positions); returns ``(pairs, capped buckets)``."""
    parts, capped = [], 0
    for band in range(bands):
        p, c = _bucket_pairs(band_keys(signatures, members, band, rows), members, max_bucket)
        parts.append(p)
        capped += c
    return _normalize_pairs(np.concatenate(parts) if parts else _empty_pairs()), capped


def lsh_pairs_datasketch(signatures: np.ndarray, members: np.ndarray, threshold: float, minhash: MinHashConfig, fp_weight: float = 0.5) -> np.ndarray:
    """The same candidates through datasketch's ``MinHashLSH`` (insert, then query)."""
    from datasketch import MinHashLSH

    from .signatures import lean_minhash

    lsh = MinHashLSH(threshold=threshold, num_perm=minhash.num_perm, weights=(fp_weight, 1.0 - fp_weight))
    sketches = [lean_minhash(signatures[i], minhash) for i in members]
    with lsh.insertion_session() as session:
        for i, mh in zip(members, sketches):
            session.insert(int(i), mh, check_duplication=False)
    found = [(int(i), int(j)) for i, mh in zip(members, sketches) for j in lsh.query(mh) if j != i]
    return _normalize_pairs(np.array(found, dtype=np.int64).reshape(-1, 2))


def anchor_grams(token_hashes: np.ndarray, token_offsets: np.ndarray, config: IndexConfig) -> tuple[np.ndarray, np.ndarray]:
    """The anchors of each row: its word ``anchor_k``-grams in the sampled slice of the hash space.

    Returns:
        ``(grams, rows)``: anchor hashes and the row (0-based, as in the
        offsets) each belongs to, rows ascending.
    """
    grams, offsets = word_shingles(token_hashes, token_offsets, config.anchor_k)
    rows = np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))
    keep = (grams >> np.uint64(40)) % np.uint64(config.anchor_sample) == 0
    return grams[keep], rows[keep]


def anchor_pairs(grams: np.ndarray, owners: np.ndarray, config: IndexConfig) -> tuple[np.ndarray, int]:
    """Pairs of articles sharing an anchor (:func:`anchor_grams`); ``owners`` are article positions."""
    pairs, capped = _bucket_pairs(grams, owners, config.max_bucket)
    return _normalize_pairs(pairs), capped


def estimated_containment(signatures: np.ndarray, sizes: np.ndarray, pairs: np.ndarray, block: int = 50_000) -> np.ndarray:
    """Containment of the smaller set in the larger, estimated from MinHash and set sizes.

    With the Jaccard estimate ``J`` (share of equal signature values) and the
    sizes, ``|A∩B| ≈ J (|A| + |B|) / (1 + J)``. Pairs are compared ``block``
    at a time (two gathered signature rows per pair would otherwise be the
    largest arrays of the run).
    """
    i, j = pairs[:, 0], pairs[:, 1]
    est = np.empty(len(pairs), dtype=np.float64)
    for lo in range(0, len(pairs), block):
        hi = lo + block
        est[lo:hi] = (signatures[i[lo:hi]] == signatures[j[lo:hi]]).mean(axis=1)
    si, sj = sizes[i].astype(np.float64), sizes[j].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nan_to_num(est * (si + sj) / (1.0 + est) / np.minimum(si, sj))


def candidate_pairs(
    signatures: np.ndarray,
    members: np.ndarray,
    anchors: tuple[np.ndarray, np.ndarray] | None,
    config: IndexConfig,
    minhash: MinHashConfig,
    sizes: np.ndarray | None = None,
) -> Candidates:
    """Union of the LSH and anchor candidates among ``members``.

    Args:
        signatures: ``(n, num_perm)`` signatures of all articles.
        members: positions of the articles to index (representatives).
        anchors: ``(grams, owners)`` of :func:`anchor_grams`, owners being
            article positions (None: no anchor path).
        config: index settings; minhash: the signature settings.
        sizes: shingle counts per article; with ``config.min_estimate`` > 0,
            candidates whose MinHash-estimated containment is below it are
            dropped before the exact verification.

    Returns:
        :class:`Candidates` with pairs of article positions.
    """
    bands, rows = band_params(config.threshold, minhash.num_perm, config.fp_weight)
    if config.backend == "datasketch":
        lsh, capped = lsh_pairs_datasketch(signatures, members, config.threshold, minhash, config.fp_weight), 0
    else:
        from .parallel import dask_active, lsh_pairs_dask  # local: parallel imports this module

        lsh, capped = (lsh_pairs_dask if dask_active() else lsh_pairs)(signatures, members, bands, rows, config.max_bucket)
    parts = [lsh]
    from_anchors = _empty_pairs()
    if config.anchors and anchors is not None:
        from_anchors, c2 = anchor_pairs(*anchors, config)
        capped += c2
        parts.append(from_anchors)
    pairs = _normalize_pairs(np.concatenate(parts))
    screened = 0
    if sizes is not None and config.min_estimate > 0 and len(pairs):
        keep = estimated_containment(signatures, sizes, pairs) >= config.min_estimate
        screened = int((~keep).sum())
        pairs = pairs[keep]
    return Candidates(pairs, len(lsh), len(from_anchors), capped, bands, rows, screened)
