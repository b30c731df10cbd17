"""Candidate pairs: LSH banding plus anchors, screened by a MinHash estimate.

Both paths return integer pairs ``(m, 2)`` with ``i < j``, sorted. The
banding itself is a callable handed in by the flow (the executor's: local
NumPy or Dask collections), so this stage never asks which backend runs.
Candidates whose containment estimated from the signatures and the set sizes
is below ``min_estimate`` are screened out before the (costlier) exact
verification.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..config import IndexConfig, MinHashConfig
from .anchors import anchor_grams, anchor_keys, anchor_pairs
from .banding import band_keys, band_params, lsh_error_rates, lsh_pairs, lsh_pairs_datasketch
from .buckets import KeyUnion, Mapper, empty_pairs, from_keys

__all__ = [
    "Banding",
    "Candidates",
    "anchor_grams",
    "anchor_keys",
    "anchor_pairs",
    "band_keys",
    "band_params",
    "candidate_pairs",
    "estimated_containment",
    "lsh_error_rates",
    "lsh_pairs",
    "lsh_pairs_datasketch",
]

Banding = Callable[[np.ndarray, np.ndarray, int, int, int], "tuple[np.ndarray, int]"]
"""``banding(signatures, members, bands, rows, max_bucket) -> (pairs, capped buckets)``, pairs normalized (``i < j``, sorted, unique)."""


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
    from_both: int = 0  # pairs both paths proposed (from_lsh + from_anchors - from_both: the distinct pairs, before the screen)
    released: int = -1  # how many pairs there were, once ``pairs`` is let go (:meth:`release`); -1 while held

    def __len__(self) -> int:
        """How many candidate pairs (also after :meth:`release`)."""
        return len(self.pairs) if self.released < 0 else self.released

    def release(self) -> "Candidates":
        """These counts without the pairs: a flow lets them go once they are verified (at a million articles of large
        copy families, tens of millions of pairs, 16 bytes each)."""
        return replace(self, pairs=empty_pairs(), released=len(self))


def estimated_containment(signatures: np.ndarray, sizes: np.ndarray, pairs: np.ndarray, block: int = 50_000,
                          each: Mapper = map) -> np.ndarray:
    """Containment of the smaller set in the larger, estimated from MinHash and set sizes.

    With the Jaccard estimate ``J`` (share of equal signature values) and the
    sizes, ``|A∩B| ≈ J (|A| + |B|) / (1 + J)``. Pairs are compared ``block``
    at a time (two gathered signature rows per pair would otherwise be the
    largest arrays of the run); ``each`` maps the blocks (``map``, or the
    executor's threads: NumPy lets go of the GIL in the gathers and compares;
    a block's estimates are the same either way).
    """
    est = np.empty(len(pairs), dtype=np.float64)

    def one(lo: int) -> None:
        i, j = pairs[lo : lo + block, 0], pairs[lo : lo + block, 1]
        jac = np.count_nonzero(signatures[i] == signatures[j], axis=1) / signatures.shape[1]
        si, sj = sizes[i].astype(np.float64), sizes[j].astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            est[lo : lo + block] = np.nan_to_num(jac * (si + sj) / (1.0 + jac) / np.minimum(si, sj))

    for _ in each(one, range(0, len(pairs), block)):
        pass
    return est


def candidate_pairs(
    signatures: np.ndarray,
    members: np.ndarray,
    anchored: tuple[np.ndarray, int] | None,
    config: IndexConfig,
    minhash: MinHashConfig,
    sizes: np.ndarray | None = None,
    banding: Banding = lsh_pairs,
    each: Mapper = map,
) -> Candidates:
    """Union of the LSH and anchor candidates among ``members``.

    Args:
        signatures: ``(n, num_perm)`` signatures of all articles.
        members: positions of the articles to index (representatives).
        anchored: ``(pair keys, capped buckets)`` of :func:`anchor_keys` (None:
            no anchor path). The caller groups the anchors first and lets
            them go before the banding: at a million articles they are the
            largest arrays of the run.
        config: index settings; minhash: the signature settings.
        sizes: shingle counts per article; with ``config.min_estimate`` > 0,
            candidates whose MinHash-estimated containment is below it are
            dropped before the exact verification.
        banding: the band step (the executor's; :func:`lsh_pairs` by default).
        each: how the screen's blocks of pairs are mapped (``map``, or the executor's threads).

    Returns:
        :class:`Candidates` with pairs of article positions.
    """
    bands, rows = band_params(config.threshold, minhash.num_perm, config.fp_weight)
    if config.backend == "datasketch":
        lsh, capped = lsh_pairs_datasketch(signatures, members, config.threshold, minhash, config.fp_weight), 0
    else:
        lsh, capped = banding(signatures, members, bands, rows, config.max_bucket)
    # The union and the screen work on one int64 key a pair (8 bytes; the two columns are made once, at the end):
    # at a million articles of large copy families these are the run's largest arrays.
    union = KeyUnion()
    n_lsh = len(lsh)
    union.add((lsh[:, 0] << np.int64(32)) | lsh[:, 1])
    del lsh
    n_anchors = 0
    if config.anchors and anchored is not None:
        anchor_keys_, c2 = anchored
        capped += c2
        n_anchors = len(anchor_keys_)
        union.add(anchor_keys_)
    keys = union.result()
    del union
    both = n_lsh + n_anchors - len(keys)
    screened = 0
    if sizes is not None and config.min_estimate > 0 and len(keys):
        keep = np.empty(len(keys), dtype=bool)
        for lo in range(0, len(keys), _SCREEN_BLOCK):
            block = from_keys(keys[lo : lo + _SCREEN_BLOCK])
            keep[lo : lo + len(block)] = estimated_containment(signatures, sizes, block, each=each) >= config.min_estimate
        screened = int((~keep).sum())
        if screened:
            keys = keys[keep]
        del keep
    return Candidates(from_keys(keys) if len(keys) else empty_pairs(), n_lsh, n_anchors, capped, bands, rows, screened, both)


_SCREEN_BLOCK = 1_000_000  # candidate pairs screened at a time
