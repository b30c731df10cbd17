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

from ..config import IndexConfig, MinHashConfig
from ..text.shingle import fmix64, word_shingles

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


_PAIRS_PER_BATCH = 1_000_000  # pairs expanded at once before they are deduplicated


def _bucket_pairs(keys: np.ndarray, members: np.ndarray, max_bucket: int) -> tuple[np.ndarray, int]:
    """All pairs of members sharing a key (a star for buckets over ``max_bucket``), normalized.

    Memory stays near the size of the input: only the members of keys held
    by two or more are kept past the sort (most anchors are held by one
    article), and the buckets are expanded into pairs a batch at a time,
    each batch deduplicated before the next (two near copies share dozens of
    anchors, so the raw expansion repeats pairs many times).
    """
    if len(keys) < 2:
        return _empty_pairs(), 0
    ordered = len(members) < 2 or bool(np.all(members[1:] >= members[:-1]))
    order = np.argsort(keys, kind="stable") if ordered else np.lexsort((members, keys))  # same order
    k = keys[order]
    new = np.ones(len(k), dtype=bool)
    np.not_equal(k[1:], k[:-1], out=new[1:])
    del k
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, len(new)))
    del new
    multi = sizes >= 2
    starts, sizes = starts[multi], sizes[multi]
    if len(starts) == 0:
        return _empty_pairs(), 0
    m = members[order[_ranges(starts, sizes)]]  # members of shared keys only, bucket after bucket
    del order
    starts = np.cumsum(sizes) - sizes
    small = sizes <= max_bucket
    capped = int((~small).sum())
    keys_out: list[np.ndarray] = []
    # star for big buckets: every member with the bucket's first
    st, sz = starts[~small], sizes[~small]
    if len(st):
        left = np.repeat(st, sz - 1)
        keys_out.append(_pair_keys(m[left], m[left + 1 + _ranges(np.zeros(len(sz), np.int64), sz - 1)]))
    # all pairs within small buckets, a batch of buckets at a time
    st, sz = starts[small], sizes[small]
    n_pairs = np.cumsum(sz * (sz - 1) // 2)
    lo = 0
    while lo < len(st):
        hi = int(np.searchsorted(n_pairs, (n_pairs[lo - 1] if lo else 0) + _PAIRS_PER_BATCH, side="right"))
        hi = max(hi, lo + 1)
        bst, bsz = st[lo:hi], sz[lo:hi]
        elem = _ranges(bst, bsz)
        after = np.repeat(bst + bsz, bsz) - elem - 1
        left = np.repeat(elem, after)
        right = left + 1 + _ranges(np.zeros(len(after), np.int64), after)
        keys_out.append(_pair_keys(m[left], m[right]))
        lo = hi
    return _from_keys(np.unique(np.concatenate(keys_out))), capped


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concat(arange(s, s + n) for s, n)``, vectorized."""
    total = int(lengths.sum())
    return np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(total)


_KEY_SHIFT = np.int64(32)  # pair key = i << 32 | j: positions below 2^31


def _pair_keys(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sorted unique keys of the pairs ``(min, max)`` of ``a`` and ``b``, self-pairs dropped."""
    lo, hi = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    keep = lo != hi
    return np.unique((lo[keep] << _KEY_SHIFT) | hi[keep])


def _from_keys(keys: np.ndarray) -> np.ndarray:
    return np.stack([keys >> _KEY_SHIFT, keys & np.int64(0xFFFFFFFF)], axis=1)


def _normalize_pairs(pairs: np.ndarray) -> np.ndarray:
    """Order each pair (i < j), drop self-pairs and duplicates, sort."""
    if len(pairs) == 0:
        return _empty_pairs()
    # One int64 key per pair: np.unique on 1-D keys is far faster than axis=0.
    return _from_keys(_pair_keys(pairs[:, 0], pairs[:, 1]))


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
        parts.append(_pair_keys(p[:, 0], p[:, 1]))  # 8 bytes a pair while the bands accumulate
        capped += c
    return _from_keys(np.unique(np.concatenate(parts))) if parts else _empty_pairs(), capped


def lsh_pairs_datasketch(signatures: np.ndarray, members: np.ndarray, threshold: float, minhash: MinHashConfig, fp_weight: float = 0.5) -> np.ndarray:
    """The same candidates through datasketch's ``MinHashLSH`` (insert, then query)."""
    from datasketch import MinHashLSH

    from ..sketch.signatures import lean_minhash

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
    return _bucket_pairs(grams, owners, config.max_bucket)


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
    anchored: tuple[np.ndarray, int] | None,
    config: IndexConfig,
    minhash: MinHashConfig,
    sizes: np.ndarray | None = None,
) -> Candidates:
    """Union of the LSH and anchor candidates among ``members``.

    Args:
        signatures: ``(n, num_perm)`` signatures of all articles.
        members: positions of the articles to index (representatives).
        anchored: ``(pairs, capped buckets)`` of :func:`anchor_pairs` (None:
            no anchor path). The caller groups the anchors first and lets
            them go before the banding: at a million articles they are the
            largest arrays of the run.
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
        from ..exec.local import dask_active, lsh_pairs_dask  # local: parallel imports this module

        lsh, capped = (lsh_pairs_dask if dask_active() else lsh_pairs)(signatures, members, bands, rows, config.max_bucket)
    parts = [lsh]
    from_anchors = _empty_pairs()
    if config.anchors and anchored is not None:
        from_anchors, c2 = anchored
        capped += c2
        parts.append(from_anchors)
    pairs = _normalize_pairs(np.concatenate(parts))
    screened = 0
    if sizes is not None and config.min_estimate > 0 and len(pairs):
        keep = estimated_containment(signatures, sizes, pairs) >= config.min_estimate
        screened = int((~keep).sum())
        pairs = pairs[keep]
    return Candidates(pairs, len(lsh), len(from_anchors), capped, bands, rows, screened)
