"""Preparation of texts held in memory (``similarity``, scripts): normalize, boilerplate, sketch.

The same per-chunk stage functions of :mod:`dedup.sketch.prepare` as the
streamed preparation of a feed (:func:`dedup.flows.prepare.prepare_stream`),
for texts that are all at hand: no spill, no feature store.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xxhash

from ..config import DedupConfig, NormalizeConfig
from ..exec import Executor
from ..sketch.features import Features
from ..sketch.prepare import normalize_chunk, sketch_chunk
from ..sketch.signatures import permutations
from ..text.boilerplate import Boilerplate, find_boilerplate, line_keys, strip_boilerplate

__all__ = ["normalized_lines", "prepare_texts", "sketches", "without_boilerplate"]

def normalized_lines(
    texts: Sequence[str], config: NormalizeConfig, executor: Executor, chunk_size: int = 2000
) -> list[list[str]]:
    """Normalized non-empty lines of every text, in chunks through ``executor``."""
    chunks = executor.map_chunks(normalize_chunk, texts, chunk_size=chunk_size, config=config)
    return [art_lines for chunk in chunks for art_lines in chunk]


def without_boilerplate(
    lines: Sequence[Sequence[str]], sources: Sequence[str], config: DedupConfig
) -> tuple[list[str], Boilerplate, np.ndarray]:
    """Each article's text to compare (boilerplate left out), the boilerplate, and how many lines it removed."""
    bp = find_boilerplate(line_keys(lines, sources, config.boilerplate), config.boilerplate)
    keys = bp.key_set()
    stripped = [strip_boilerplate(ls, s, keys, config.boilerplate.max_tokens) for ls, s in zip(lines, sources)]
    bp = bp.with_lines(found for _, _, found in stripped)
    return [c for c, _, _ in stripped], bp, np.array([r for _, r, _ in stripped], dtype=np.int64)


def sketches(
    contents: Sequence[str], config: DedupConfig, executor: Executor, chunk_size: int = 2000
) -> tuple[np.ndarray, Features]:
    """Signatures and verification features of normalized texts, in chunks through ``executor``."""
    perms = permutations(config.minhash.num_perm, config.minhash.seed)
    parts = executor.map_chunks(
        sketch_chunk, contents, chunk_size=chunk_size, shingle_cfg=config.shingle, minhash_cfg=config.minhash, perms=perms,
    )
    sigs = np.concatenate([p[4] for p in parts]) if parts else np.zeros((0, config.minhash.num_perm), dtype=np.uint32)
    return sigs, Features.concat([Features.from_hashes(p[2], p[3], p[0], p[1]) for p in parts])


def prepare_texts(
    texts: Sequence[str], sources: Sequence[str] | None, config: DedupConfig, executor: Executor, chunk_size: int = 2000
) -> tuple[list[str], Features, np.ndarray]:
    """Texts held in memory, prepared like a feed: ``(contents, features, digests)``.

    ``contents`` are the normalized texts compared (with ``sources``, each
    source's boilerplate lines left out; without, the lines are only joined),
    ``features`` their verification features, ``digests`` the hash of each
    content (equal digests: exact copies).
    """
    lines = normalized_lines(texts, config.normalize, executor, chunk_size)
    if sources is None:
        contents = [" ".join(ls) for ls in lines]
    else:
        contents, _, _ = without_boilerplate(lines, sources, config)
    del lines
    _, feats = sketches(contents, config, executor, chunk_size)
    digest = np.array([xxhash.xxh3_64_intdigest(c.encode()) for c in contents], dtype=np.uint64)
    return contents, feats, digest
