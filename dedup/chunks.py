"""The per-chunk work the orchestrator hands to worker processes.

Kept apart from :mod:`dedup.pipeline` so that a worker process imports only
NumPy and the text stages it runs (not scikit-learn, SciPy or datasketch,
which would cost a second per worker): the MinHash permutations are computed
once in the parent and passed in.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .config import MinHashConfig, NormalizeConfig, ShingleConfig
from .normalize import normalize_batch
from .shingle import shingle, token_hashes
from .signatures import minhash_signatures

__all__ = ["normalize_chunk", "sketch_chunk"]


def normalize_chunk(texts: Sequence[str], config: NormalizeConfig) -> list[list[str]]:
    """Normalized non-empty lines of each text."""
    return normalize_batch(texts, config)


def sketch_chunk(
    contents: Sequence[str],
    shingle_cfg: ShingleConfig,
    minhash_cfg: MinHashConfig,
    perms: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Token hashes, shingle hashes and signatures of normalized texts.

    Returns:
        ``(token_hashes, token_offsets, shingle_hashes, shingle_offsets, signatures)``.
    """
    th, to = token_hashes(contents)
    sh, so = shingle(contents, shingle_cfg, tokens=(th, to))
    return th, to, sh, so, minhash_signatures(sh, so, minhash_cfg, perms)
