"""Anchors: sampled word k-grams that find contained copies banding misses.

A short wire item inside a long roundup, or a teaser that is the start of the
full piece, has a low Jaccard with its container, so no LSH band matches; but
it shares long verbatim runs with it. Every word ``anchor_k``-gram whose hash
falls in a fixed 1-in-``anchor_sample`` slice of the hash space is an anchor
(content-defined, so both copies sample the same runs). An item with 40
verbatim k-grams in its container shares at least one anchor with probability
``1 - (1 - 1/8)**40 ≈ 0.995``.
"""

from __future__ import annotations

import numpy as np

from ..config import IndexConfig
from ..text.shingle import word_shingles
from .buckets import Mapper, bucket_keys, bucket_pairs

__all__ = ["anchor_grams", "anchor_keys", "anchor_pairs"]


def anchor_grams(token_hashes: np.ndarray, token_offsets: np.ndarray, config: IndexConfig) -> tuple[np.ndarray, np.ndarray]:
    """The anchors of each row: its word ``anchor_k``-grams in the sampled slice of the hash space.

    Returns:
        ``(grams, rows)``: anchor hashes and the row (0-based, as in the
        offsets) each belongs to, rows ascending.
    """
    grams, offsets = word_shingles(token_hashes, token_offsets, config.anchor_k)
    sample = config.anchor_sample
    high = grams >> np.uint64(40)
    if sample & (sample - 1) == 0:  # a power of two (the default 8): a mask, not a division
        high &= np.uint64(sample - 1)
    else:
        high %= np.uint64(sample)
    at = np.flatnonzero(high == 0)
    return grams[at], np.searchsorted(offsets, at, side="right") - 1


def anchor_pairs(grams: np.ndarray, owners: np.ndarray, config: IndexConfig) -> tuple[np.ndarray, int]:
    """Pairs of articles sharing an anchor (:func:`anchor_grams`); ``owners`` are article positions."""
    return bucket_pairs(grams, owners, config.max_bucket)


def anchor_keys(grams: np.ndarray, owners: np.ndarray, config: IndexConfig, each: Mapper = map) -> tuple[np.ndarray, int]:
    """:func:`anchor_pairs` as sorted unique pair keys (``i << 32 | j``: 8 bytes a pair, half the two columns).

    ``each``: how the parts of many anchors are mapped (:func:`~dedup.candidates.buckets.bucket_keys`).
    """
    return bucket_keys(grams, owners, config.max_bucket, each)
