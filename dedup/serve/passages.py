"""The passages two texts share, as character spans of each original text (for highlighting).

A passage is a run of at least ``k`` tokens that appears, token for token, in
both texts. Tokens are those of the one normalizer (so diacritics, tatweel,
letter variants and punctuation do not break a match) and each keeps the
character span it came from (:func:`dedup.repeats.segment.located_tokens`),
so the spans point into the texts as given, ready to be wrapped in ``<mark>``.
"""

from __future__ import annotations

from ..config import NormalizeConfig
from ..repeats.segment import located_tokens

__all__ = ["PASSAGE_TOKENS", "shared_passages"]

PASSAGE_TOKENS = 6  # shorter runs are mostly stock phrases ("said in a statement on")


def _marked(tokens: list[str], other: set[tuple[str, ...]], k: int) -> list[bool]:
    mark = [False] * len(tokens)
    for i in range(len(tokens) - k + 1):
        if tuple(tokens[i : i + k]) in other:
            mark[i : i + k] = [True] * k
    return mark


def _spans(mark: list[bool], starts: list[int], ends: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for i, m in enumerate(mark):
        if not m:
            continue
        if out and i > 0 and mark[i - 1]:
            out[-1] = (out[-1][0], ends[i])
        else:
            out.append((starts[i], ends[i]))
    return out


def shared_passages(
    a: str, b: str, k: int = PASSAGE_TOKENS, config: NormalizeConfig = NormalizeConfig()
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Character spans ``(start, end)`` of ``a`` and of ``b`` covered by passages both share.

    >>> a = "Breaking: the minister said on Monday that talks will resume."
    >>> b = "The Minister said on monday that talks will resume, sources said."
    >>> sa, sb = shared_passages(a, b, k=4)
    >>> [a[s:e] for s, e in sa], [b[s:e] for s, e in sb]
    (['the minister said on Monday that talks will resume'], ['The Minister said on monday that talks will resume'])
    >>> shared_passages("one two three", "four five six", k=2)
    ([], [])
    """
    ta, sa, ea = located_tokens(a, config)
    tb, sb, eb = located_tokens(b, config)
    grams_a = {tuple(ta[i : i + k]) for i in range(len(ta) - k + 1)}
    grams_b = {tuple(tb[i : i + k]) for i in range(len(tb) - k + 1)}
    common = grams_a & grams_b
    if not common:
        return [], []
    return _spans(_marked(ta, common, k), sa, ea), _spans(_marked(tb, common, k), sb, eb)
