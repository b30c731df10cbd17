"""MinHash LSH banding: articles with an identical band of signature values are candidates.

The number of bands ``b`` and rows ``r`` for a Jaccard threshold come from
datasketch's ``MinHashLSH`` (its optimizer is not copied). :func:`lsh_pairs`
sorts band keys and pairs rows with equal keys; :func:`lsh_pairs_datasketch`
inserts ``LeanMinHash`` objects into a ``MinHashLSH`` and queries it: the same
candidates, and the fit for incremental, online use.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..config import MinHashConfig
from ..errors import ConfigError
from ..sketch.pinned import pinned_band_params
from ..text.shingle import fmix64
from .buckets import KeyUnion, Mapper, bucket_keys, empty_pairs, from_keys, normalize_pairs

__all__ = ["band_keys", "band_params", "lsh_error_rates", "lsh_pairs", "lsh_pairs_datasketch", "s_curve"]


@lru_cache(maxsize=32)
def band_params(threshold: float, num_perm: int, fp_weight: float = 0.5) -> tuple[int, int]:
    """``(bands, rows)`` that datasketch's ``MinHashLSH`` chooses for ``threshold``.

    Pinned settings (:mod:`dedup.sketch.pinned`) do not import datasketch.

    >>> band_params(0.5, 128)
    (25, 5)
    """
    pinned = pinned_band_params(threshold, num_perm, fp_weight)
    if pinned is not None:
        return pinned
    from datasketch import MinHashLSH

    try:
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(fp_weight, 1.0 - fp_weight))
    except ValueError as e:  # datasketch tunes fewer than 2 bands: a setting the user can change, not a crash
        raise ConfigError(f"no LSH banding for --lsh-threshold {threshold} with --num-perm {num_perm} and fp_weight {fp_weight} "
                          f"({e}): lower --lsh-threshold or raise --num-perm") from None
    return int(lsh.b), int(lsh.r)


def lsh_error_rates(threshold: float, bands: int, rows: int) -> tuple[float, float]:
    """datasketch's false-positive and false-negative weights: areas of the S-curve (not a pair's probabilities).

    The false-positive weight is the area under ``P(candidate)`` from 0 to ``threshold``, the false-negative
    weight the area over it (``1 - P``) from ``threshold`` to 1: what ``MinHashLSH`` weighs to choose the bands.
    """
    from datasketch.lsh import _false_negative_probability, _false_positive_probability

    return _false_positive_probability(threshold, bands, rows), _false_negative_probability(threshold, bands, rows)


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


def lsh_pairs(signatures: np.ndarray, members: np.ndarray, bands: int, rows: int, max_bucket: int,
              each: Mapper = map, at_once: int = 1) -> tuple[np.ndarray, int]:
    """Banding over signature rows ``members`` (positions); returns ``(pairs, capped buckets)``.

    ``each``: how the bands are mapped, ``map`` or the executor's threads
    (NumPy lets go of the GIL in a band's hashing and sorts), ``at_once``
    bands at a time (the threads' count): only that many bands' pairs wait
    beside the union. Their keys are added in band order: the answer is the
    same either way.
    """
    def one(band: int) -> tuple[np.ndarray, int]:
        return bucket_keys(band_keys(signatures, members, band, rows), members, max_bucket)

    found, capped = KeyUnion(), 0
    step = max(1, at_once)
    for lo in range(0, bands, step):
        for keys, c in each(one, range(lo, min(lo + step, bands))):
            found.add(keys)  # 8 bytes a pair, merged as the bands accumulate
            capped += c
    return from_keys(found.result()) if bands else empty_pairs(), capped


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
    return normalize_pairs(np.array(found, dtype=np.int64).reshape(-1, 2))


def s_curve(bands: int, rows: int, points: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)) -> list[tuple[float, float]]:
    """``(jaccard, probability of becoming a candidate)`` for the band layout: ``1 - (1 - s^r)^b``.

    >>> [(s, round(p, 3)) for s, p in s_curve(25, 5, (0.5,))]
    [(0.5, 0.548)]
    """
    return [(s, 1.0 - (1.0 - s**rows) ** bands) for s in points]
