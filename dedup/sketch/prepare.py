"""The per-chunk work the orchestrator hands to worker processes.

Kept apart from :mod:`dedup.flows.dedupe` so that a worker process imports only
NumPy and the text stages it runs (not scikit-learn, SciPy or datasketch,
which would cost a second per worker): the MinHash permutations are computed
once in the parent and passed in.

A feed passes through in two sweeps of chunks, so that no stage needs the
whole feed's text at once:

1. :func:`prepare_chunk`: (repeats →) normalize; the normalized lines go to a
   spill file, the parent gets back only the keys of short lines (to find
   boilerplate over the whole feed).
2. :func:`sketch_spilled`: read the spill back, strip the boilerplate, screen,
   and sketch: the parent gets signatures, anchors and verification features.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xxhash

from ..text.boilerplate import line_keys_per_article, strip_boilerplate
from ..config import BoilerplateConfig, IndexConfig, MinHashConfig, NormalizeConfig, RepeatsConfig, ShingleConfig
from ..candidates.anchors import anchor_grams
from ..text.normalize import normalize_batch
from ..text.shingle import shingle, token_hashes
from .signatures import minhash_signatures
from .features import Features

__all__ = ["Prepared", "Sketched", "normalize_chunk", "prepare_chunk", "sketch_chunk", "sketch_spilled"]


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


@dataclass(frozen=True)
class Prepared:
    """What the parent keeps of a prepared chunk."""

    line_keys: np.ndarray  # uint64 keys of each article's distinct short lines
    keys_per_article: np.ndarray  # (n,) how many of ``line_keys`` belong to each article, in order
    repeat_counts: np.ndarray | None  # internally repeated paragraphs per article
    lines: list[list[str]] | None = None  # the normalized lines, when there was no spill file


def prepare_chunk(
    texts: Sequence[str],
    sources: Sequence[str],
    spill: str | None,
    normalize_cfg: NormalizeConfig,
    boilerplate_cfg: BoilerplateConfig,
    repeats_cfg: RepeatsConfig | None = None,
    clean_repeats: bool = False,
) -> Prepared:
    """Normalize a chunk of texts into ``spill``; return its line keys (and repeat counts).

    Without a ``spill`` path (workers on another machine) the lines travel
    back in the result instead.

    With ``repeats_cfg``, each text's internally repeated paragraphs are
    counted first, and with ``clean_repeats`` removed before normalizing.
    """
    counts = None
    if repeats_cfg is not None:
        from ..repeats import clean, find_repeats_batch  # here: a run that does not count repeats never loads that stage

        found = find_repeats_batch(texts, repeats_cfg)
        counts = np.array([r.n_repeats for r in found], dtype=np.int32)
        if clean_repeats:
            texts = [clean(t, r) if r.n_repeats else t for t, r in zip(texts, found)]
    lines = normalize_batch(texts, normalize_cfg)
    keys, per_article = line_keys_per_article(lines, sources, boilerplate_cfg)
    if spill is None:
        return Prepared(keys, per_article, counts, lines)
    with open(spill, "wb") as out:
        pickle.dump(lines, out, protocol=pickle.HIGHEST_PROTOCOL)
    return Prepared(keys, per_article, counts)


@dataclass(frozen=True)
class Sketched:
    """A sketched chunk: per article screening facts, per sketched article its sketch.

    ``sketched`` are the chunk positions that were eligible and long enough;
    ``signatures``, ``n_shingles`` and ``features`` have one row per sketched
    article and ``anchor_rows`` index those rows.
    """

    n_tokens: np.ndarray  # (n,) tokens left after boilerplate (0: none)
    removed: np.ndarray  # (n,) boilerplate lines left out
    digest: np.ndarray  # (n,) uint64 hash of the text compared
    sketched: np.ndarray  # (s,) chunk positions
    n_shingles: np.ndarray  # (s,) shingles (with repeats)
    signatures: np.ndarray  # (s, num_perm) uint32
    features: Features  # s rows
    anchor_grams: np.ndarray
    anchor_rows: np.ndarray
    boilerplate: dict[int, tuple[str, str]]  # key → (source, line) of the lines left out


def sketch_spilled(
    spill: str | list[list[str]],
    sources: Sequence[str],
    eligible: np.ndarray,
    boilerplate_keys: np.ndarray,
    max_tokens: int,
    shingle_cfg: ShingleConfig,
    minhash_cfg: MinHashConfig,
    index_cfg: IndexConfig,
    perms: tuple[np.ndarray, np.ndarray] | None = None,
) -> Sketched:
    """Strip, screen and sketch the chunk spilled by :func:`prepare_chunk` (the spill is removed).

    Args:
        spill: the file :func:`prepare_chunk` wrote (or the lines themselves).
        sources: the articles' sources.
        eligible: ``(n,)`` bool, False for articles skipped on their raw text
            (empty, too long): they are not sketched.
        boilerplate_keys: keys of the feed's boilerplate lines (an array: a
            set would not survive joblib's Dask backend, which scatters the
            members of containers and resolves them only in lists and tuples).
        max_tokens: lines with this many tokens or more are never boilerplate.
    """
    if isinstance(spill, str):
        with open(spill, "rb") as handle:
            lines: list[list[str]] = pickle.load(handle)
        os.remove(spill)
    else:
        lines = spill
    keys = frozenset(np.asarray(boilerplate_keys, dtype=np.uint64).tolist())
    found: dict[int, tuple[str, str]] = {}
    contents: list[str] = []
    removed = np.zeros(len(lines), dtype=np.int32)
    for k, (art_lines, src) in enumerate(zip(lines, sources)):
        content, removed[k], stripped = strip_boilerplate(art_lines, src, keys, max_tokens)
        contents.append(content)
        found.update(stripped)
    del lines
    n_tokens = np.array([c.count(" ") + 1 if c else 0 for c in contents], dtype=np.int64)
    digest = np.array([xxhash.xxh3_64_intdigest(c.encode()) for c in contents], dtype=np.uint64)
    sketched = np.flatnonzero(np.asarray(eligible, dtype=bool) & (n_tokens >= shingle_cfg.min_tokens))
    th, to, sh, so, sigs = sketch_chunk([contents[k] for k in sketched], shingle_cfg, minhash_cfg, perms)
    grams, rows = anchor_grams(th, to, index_cfg) if index_cfg.anchors else (np.zeros(0, np.uint64), np.zeros(0, np.int64))
    return Sketched(
        n_tokens=n_tokens,
        removed=removed,
        digest=digest,
        sketched=sketched,
        n_shingles=np.diff(so),
        signatures=sigs,
        features=Features.from_hashes(sh, so, th, to),
        anchor_grams=grams,
        anchor_rows=rows,
        boilerplate=found,
    )
