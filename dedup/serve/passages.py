"""The passages two texts share, as character spans of each original text (for highlighting).

A thin view of :func:`dedup.text.align.align`, the one passage aligner, so the
page marks exactly the passages the verification's aligned shares measure:
seeds of shared word k-grams, merged across a few changed words, each
occurrence used once, passages of at least ``k`` tokens. Tokens are those of
the one normalizer (so diacritics, tatweel, letter variants and punctuation
do not break a match) and each keeps the character span it came from
(:func:`dedup.repeats.segment.located_tokens`), so the spans point into the
texts as given, ready to be wrapped in ``<mark>``.
"""

from __future__ import annotations

from ..config import NormalizeConfig
from ..sketch.features import KGRAM_TOKENS
from ..text.align import AlignConfig, align

__all__ = ["PASSAGE_TOKENS", "shared_passages"]

PASSAGE_TOKENS = AlignConfig().min_tokens  # shorter runs are mostly stock phrases ("said in a statement on")


def shared_passages(
    a: str, b: str, k: int = PASSAGE_TOKENS, config: NormalizeConfig = NormalizeConfig()
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Character spans ``(start, end)`` of ``a`` and of ``b`` covered by passages both share.

    Args:
        a, b: the texts as given.
        k: the shortest passage marked, in tokens. With the default the
            passages are those :func:`~dedup.text.align.align` finds with its
            default :class:`~dedup.text.align.AlignConfig`; a shorter ``k``
            also seeds with ``k``-grams.
        config: the normalizer's settings.

    >>> a = "Breaking: the minister said on Monday that talks will resume."
    >>> b = "The Minister said on monday that talks will resume, sources said."
    >>> sa, sb = shared_passages(a, b, k=4)
    >>> [a[s:e] for s, e in sa], [b[s:e] for s, e in sb]
    (['the minister said on Monday that talks will resume'], ['The Minister said on monday that talks will resume'])
    >>> shared_passages("one two three", "four five six", k=2)
    ([], [])
    """
    found = align(a, b, AlignConfig(k=min(k, KGRAM_TOKENS), min_tokens=k), config)
    return list(found.spans_a), list(found.spans_b)
