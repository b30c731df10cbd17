"""One day's story inputs: the counts, numbers, slots and copy labels of a block of arriving articles.

:func:`build_day` makes a :class:`DayInput` from the normalized texts of one
calendar day (or of the undated articles), in arrival order; a worker process
makes it while :class:`~dedup.stories.events.EventTracker` places the day before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import StoriesConfig
from ..sparse import sp
from ..store.days import DiskRows

__all__ = ["DayInput", "build_day"]


@dataclass(frozen=True)
class DayInput:
    """The story inputs of one block of arriving articles (one day, or the undated), in arrival order.

    Counts are hashed rows over ``TOKEN_COLUMNS`` columns
    (:func:`dedup.stories.vectors.word_counts` and friends); titles may be None
    when no article has a headline.
    """

    arrival: np.ndarray  # (b,) arrival indices, consecutive
    times: np.ndarray  # (b,) seconds, NaN = undated
    body_words: sp.csr_matrix
    title_words: sp.csr_matrix | None
    body_chars: sp.csr_matrix | DiskRows | None  # DiskRows: a parked day's, read from disk a block of rows at a time
    title_chars: sp.csr_matrix | None
    numbers: sp.csr_matrix
    lengths: np.ndarray
    copies: np.ndarray  # (b,) copy-group label (any integer id), -1 for none
    groups: np.ndarray | None = None  # (b,) dedupe's duplicate-group label, -1 for none; None: no late reprints joined
    until: np.ndarray | None = None  # (b,) the time the article's copies reach (:func:`copy_reach`); None: its own
    slots: sp.csr_matrix | None = None  # (b, ·) :func:`dedup.stories.slots.slot_rows`; None: no slot rule
    embeddings: np.ndarray | None = None  # (b, d) float32 unit rows (:func:`dedup.stories.semantic.embed`); None: no semantic score



def build_day(
    texts: list[str],
    titles: list[str],
    times: np.ndarray,
    copies: np.ndarray,
    arrival: np.ndarray,
    config: StoriesConfig,
    until: np.ndarray | None = None,
    embeddings: np.ndarray | None = None,
    spill: str | None = None,
    alone: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> DayInput:
    """The :class:`DayInput` of normalized bodies and headlines (one block of arriving articles).

    ``alone`` ``(b,)`` bool: the articles dedupe did not compare (too short...): given no words, numbers or embedding,
    each is an event of its own (a caption "Photo" shared by unrelated reports is no evidence of one happening).
    ``groups`` ``(b,)``: dedupe's duplicate groups (-1 for none), for late reprints
    (:class:`~dedup.stories.events.EventTracker`).

    ``embeddings`` ``(b, d)``: the articles' sentence embeddings, made from
    their raw texts by the caller (:func:`dedup.flows.stories.day_input`),
    needed when ``config.semantic`` is on. ``spill``: a folder the bodies'
    character counts are written to as they are made (a worker's day that is
    parked: :class:`~dedup.store.days.SpilledRows`; once unparked, a
    :class:`~dedup.store.days.DiskRows` the tracker reads a block of rows at a time).
    """
    from .slots import slot_rows
    from .vectors import char_counts, number_sets, token_counts, word_counts

    if alone is not None and np.any(alone):
        texts, titles = (["" if a else t for t, a in zip(x, np.asarray(alone).tolist())] for x in (texts, titles))
        if embeddings is not None:
            embeddings = np.where(np.asarray(alone, dtype=bool)[:, None], 0.0, embeddings)
    has_titles = any(titles)
    chars = config.char_weight > 0
    # counts as float32 (whole numbers, exact): a day in flight from a worker costs 8 bytes an entry, not 12
    return DayInput(
        arrival=np.asarray(arrival, dtype=np.int64),
        times=np.asarray(times, dtype=np.float64),
        body_words=word_counts(texts, config.bigrams, dtype=np.float32),
        title_words=word_counts(titles, config.bigrams, dtype=np.float32) if has_titles else None,
        body_chars=char_counts(texts, config.char_k, dtype=np.float32, spill=spill) if chars else None,
        title_chars=char_counts(titles, config.char_k, dtype=np.float32) if chars and has_titles else None,
        numbers=number_sets(texts, titles),
        lengths=token_counts(texts),
        copies=np.asarray(copies, dtype=np.int64),
        groups=None if groups is None else np.asarray(groups, dtype=np.int64),
        until=None if until is None else np.asarray(until, dtype=np.float64),
        slots=slot_rows(texts, titles, config) if config.slot_penalty < 1.0 else None,
        embeddings=None if embeddings is None else np.asarray(embeddings, dtype=np.float32),
    )
