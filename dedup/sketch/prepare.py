"""The per-chunk work the orchestrator hands to worker processes.

Kept apart from :mod:`dedup.flows.dedupe` so that a worker process imports only
NumPy and the text stages it runs (not scikit-learn, SciPy or datasketch,
which would cost a second per worker): the MinHash permutations are computed
once in the parent and passed in.

A feed passes through in two sweeps of chunks, so that no stage needs the
whole feed's text at once:

1. :func:`prepare_chunk`: (repeats →) normalize; the normalized texts go to a
   spill file, the parent gets back only the keys of short lines (to find
   boilerplate over the whole feed).
2. :func:`sketch_spilled`: read the spill back, strip the boilerplate, screen,
   and sketch: the parent gets signatures, anchors and verification features.

A chunk's normalized texts travel as one string per article, its lines
joined by line breaks, and are spilled as one UTF-16 string (for Arabic text
its encoding and decoding are little more than a copy), not pickled as lists
of lines (a Python object per line, twice).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xxhash

from ..text.boilerplate import line_keys_per_article, strip_boilerplate
from ..config import BoilerplateConfig, IndexConfig, MinHashConfig, NormalizeConfig, ReadConfig, RepeatsConfig, ShingleConfig
from ..candidates.anchors import anchor_grams
from ..text.normalize import normalize_batch, normalize_texts
from ..text.shingle import shingle, token_hashes
from .signatures import minhash_signatures
from .feature_store import Segment, write_segment
from .features import Features, row_index

__all__ = [
    "Prepared",
    "Sketched",
    "kept_rows",
    "normalize_chunk",
    "prepare_block",
    "prepare_chunk",
    "read_spill",
    "sketch_chunk",
    "sketch_spilled",
    "sketch_task",
    "write_spill",
]

_RECORD = "\x1e"  # between the texts of a spill: normalized texts never hold one


def write_spill(path: str, texts: Sequence[str]) -> None:
    """Write a chunk's normalized texts (lines joined by ``"\\n"``) to ``path``: their number, then the texts.

    UTF-16: Arabic takes two bytes a character as in UTF-8, and CPython
    encodes and decodes it several times faster.
    """
    with open(path, "wb") as out:
        out.write(len(texts).to_bytes(8, "little"))
        out.write(_RECORD.join(texts).encode("utf-16-le"))


def read_spill(path: str) -> list[str]:
    """Read back (and remove) what :func:`write_spill` wrote."""
    with open(path, "rb") as handle:
        data = handle.read()
    os.remove(path)
    if int.from_bytes(data[:8], "little") == 0:
        return []
    return data[8:].decode("utf-16-le").split(_RECORD)


def normalize_chunk(texts: Sequence[str], config: NormalizeConfig) -> list[list[str]]:
    """Normalized non-empty lines of each text."""
    return normalize_batch(texts, config)


def sketch_chunk(
    contents: Sequence[str],
    shingle_cfg: ShingleConfig,
    minhash_cfg: MinHashConfig,
    perms: tuple[np.ndarray, np.ndarray] | None = None,
    tokens: tuple[np.ndarray, np.ndarray] | None = None,
    compiled: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Token hashes, shingle hashes and signatures of normalized texts.

    ``tokens``: their :func:`~dedup.text.shingle.token_hashes`, when the caller has them.
    ``compiled``: the signatures come from the compiled kernel (:mod:`.compiled`: the same bits, faster).

    Returns:
        ``(token_hashes, token_offsets, shingle_hashes, shingle_offsets, signatures)``.
    """
    th, to = tokens if tokens is not None else token_hashes(contents)
    sh, so = shingle(contents, shingle_cfg, tokens=(th, to))
    if compiled:
        from . import compiled as kernels

        return th, to, sh, so, kernels.minhash_signatures(sh, so, minhash_cfg, perms)
    return th, to, sh, so, minhash_signatures(sh, so, minhash_cfg, perms)


@dataclass(frozen=True)
class Prepared:
    """What the parent keeps of a prepared chunk."""

    line_keys: np.ndarray  # uint64 keys of each article's distinct short lines
    keys_per_article: np.ndarray  # (n,) how many of ``line_keys`` belong to each article, in order
    repeat_counts: np.ndarray | None  # internally repeated paragraphs per article
    lines: list[str] | None = None  # the normalized texts (lines joined by "\n"), when there was no spill file


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
    normalized = normalize_texts(texts, normalize_cfg)
    lines = [text.split("\n") if text else [] for text in normalized]
    keys, per_article = line_keys_per_article(lines, sources, boilerplate_cfg)
    if spill is None:
        return Prepared(keys, per_article, counts, normalized)
    write_spill(spill, normalized)
    return Prepared(keys, per_article, counts)


def prepare_block(block: Any, spill: str | None, read_cfg: ReadConfig, **kwargs: Any) -> tuple[Any, Prepared]:
    """Parse a block of JSONL lines (:func:`dedup.io.readers.blocks.parse_block`) and prepare its texts (:func:`prepare_chunk`).

    Returns what the parse found (texts apart) and the prepared chunk.
    """
    from ..io.readers.blocks import parse_block  # here: only a feed read in blocks needs the reader in its workers

    parsed, texts = parse_block(block, read_cfg)
    return parsed, prepare_chunk(texts, parsed.sources, spill, **kwargs)


def kept_rows(prepared: Prepared, rows: np.ndarray, spill: str | None) -> Prepared:
    """The prepared chunk of the articles ``rows`` only (the others did not join the feed), its spill file rewritten."""
    per = prepared.keys_per_article
    keys = prepared.line_keys[np.repeat(np.isin(np.arange(len(per)), rows), per)]
    lines = None if prepared.lines is None else [prepared.lines[k] for k in rows.tolist()]
    if spill is not None:
        texts = read_spill(spill)
        write_spill(spill, [texts[k] for k in rows.tolist()])
    counts = None if prepared.repeat_counts is None else prepared.repeat_counts[rows]
    return Prepared(keys, per[rows], counts, lines)


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
    features: Features | Segment  # s rows (a Segment: written to the worker's own files of the feature store)
    anchor_grams: np.ndarray
    anchor_rows: np.ndarray
    boilerplate: dict[int, tuple[str, str]]  # key → (source, line) of the lines left out
    kept: list[str] | None = None  # the compared texts, when asked to keep them and no folder is shared


def sketch_spilled(
    spill: str | list[str],
    sources: Sequence[str],
    eligible: np.ndarray,
    boilerplate_keys: np.ndarray,
    max_tokens: int,
    shingle_cfg: ShingleConfig,
    minhash_cfg: MinHashConfig,
    index_cfg: IndexConfig,
    perms: tuple[np.ndarray, np.ndarray] | None = None,
    holds_boilerplate: np.ndarray | None = None,
    keep: tuple[str | None, int, np.ndarray] | None = None,
    segments: str | None = None,
    compiled: bool = False,
    kgrams: bool = True,
) -> Sketched:
    """Strip, screen and sketch the chunk spilled by :func:`prepare_chunk` (the spill is removed).

    Args:
        spill: the file :func:`prepare_chunk` wrote (or the texts themselves).
        sources: the articles' sources.
        eligible: ``(n,)`` bool, False for articles skipped on their raw text
            (empty, too long): they are not sketched.
        boilerplate_keys: keys of the feed's boilerplate lines (an array: a
            set would not survive joblib's Dask backend, which scatters the
            members of containers and resolves them only in lists and tuples).
        max_tokens: lines with this many tokens or more are never boilerplate.
        holds_boilerplate: ``(n,)`` bool, whether each article has a line
            among ``boilerplate_keys`` (the parent knows from the line keys);
            only those are stripped line by line. None: every article is.
        keep: ``(folder, base, days)`` to keep the compared texts for a later
            stage (stories): written to ``folder`` by day
            (:func:`dedup.store.days.put_texts`, the chunk's first position
            ``base``, its articles' day keys ``days``), or, with no folder,
            returned in :attr:`Sketched.kept`.
        segments: the feature store's folder, when this process may write
            its own files there (:func:`~dedup.sketch.features.write_segment`):
            the features stay on disk and only where they went comes back.
        compiled: token hashes and signatures come from the compiled kernels
            (:mod:`.compiled`: the same bits; worth numba's import on a large feed).
        kgrams: the features hold each article's k-gram sequence
            (:func:`~dedup.sketch.features.kgram_sequences`), which only passage
            alignment and a history index read: a run that needs neither
            makes none and stores none (4 bytes a token).
    """
    texts = read_spill(spill) if isinstance(spill, str) else spill
    keys = frozenset(np.asarray(boilerplate_keys, dtype=np.uint64).tolist())
    found: dict[int, tuple[str, str]] = {}
    contents = [text.replace("\n", " ") for text in texts]  # the lines joined: what an article without boilerplate compares
    removed = np.zeros(len(texts), dtype=np.int32)
    if keys:
        strip = range(len(texts)) if holds_boilerplate is None else np.flatnonzero(holds_boilerplate).tolist()
        for k in strip:
            contents[k], removed[k], stripped = strip_boilerplate(
                texts[k].split("\n") if texts[k] else [], sources[k], keys, max_tokens)
            found.update(stripped)
    del texts
    kept = None
    if keep is not None:
        folder, base, days = keep
        if folder is None:
            kept = contents
        else:
            from ..store.days import put_texts

            put_texts(folder, base, days, contents)
    digest = np.array([xxhash.xxh3_64_intdigest(c.encode()) for c in contents], dtype=np.uint64)
    # Tokens of every eligible article at once; their counts screen out the short ones.
    eligible = np.asarray(eligible, dtype=bool)
    candidates = np.flatnonzero(eligible)
    if compiled:
        from ..text.compiled import token_hashes as compiled_token_hashes

        th, to = compiled_token_hashes([contents[k] for k in candidates])
    else:
        th, to = token_hashes([contents[k] for k in candidates])
    n_tokens = np.zeros(len(contents), dtype=np.int64)
    n_tokens[candidates] = np.diff(to)
    for k in np.flatnonzero(~eligible).tolist():  # empty or too long: counted, never hashed
        n_tokens[k] = contents[k].count(" ") + 1 if contents[k] else 0
    long_enough = n_tokens[candidates] >= shingle_cfg.min_tokens
    sketched = candidates[long_enough]
    if not long_enough.all():
        idx, to = row_index(to, np.flatnonzero(long_enough))
        th = th[idx]
    th, to, sh, so, sigs = sketch_chunk([contents[k] for k in sketched], shingle_cfg, minhash_cfg, perms, tokens=(th, to),
                                        compiled=compiled)
    grams, rows = anchor_grams(th, to, index_cfg) if index_cfg.anchors else (np.zeros(0, np.uint64), np.zeros(0, np.int64))
    features = Features.from_hashes(sh, so, th, to, kgrams=kgrams)
    return Sketched(
        n_tokens=n_tokens,
        removed=removed,
        digest=digest,
        sketched=sketched,
        n_shingles=np.diff(so),
        signatures=sigs,
        features=features if segments is None else write_segment(segments, features),
        anchor_grams=grams,
        anchor_rows=rows,
        boilerplate=found,
        kept=kept,
    )


def sketch_task(
    spill: str | list[str], sources: Sequence[str], eligible: np.ndarray, holds_boilerplate: np.ndarray,
    keep: tuple[str | None, int, np.ndarray] | None = None, **settings: object
) -> Sketched:
    """:func:`sketch_spilled` in the form an executor maps: what differs per chunk first, the shared settings by name."""
    return sketch_spilled(spill, sources, eligible, holds_boilerplate=holds_boilerplate, keep=keep, **settings)  # type: ignore[arg-type]
