"""Which repeats of short paragraphs count: a short line far from its copy is a formula, not a scraper's copy.

Articles legitimately repeat short lines: the formula «وقد أعد مرسوم ملكي
بذلك.» after each cabinet decision, the same ingredient in a second recipe,
the closing formula of a second phone call, a poem's refrain, an entry of a
second app chart. Scrapers repeat lines too, but in recognizable places: next
to the copy (a headline printed twice, a caption under its photo twice), at
the headline, as a block of paragraphs, glued into a run-on line, or as a
truncated copy of a long paragraph. :func:`in_context` keeps every repeat of
a paragraph of at least ``config.context_tokens`` words and a repeat of a
shorter one only in those places. The rule is specified in ``docs/repeats.md``.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left

from ..config import RepeatsConfig
from .match import Match
from .records import Repeat
from .segment import Paragraph

__all__ = ["complete_sentence", "ends_as_a_cut", "in_context"]

# A paragraph ending in one of these (then perhaps closing quotes or brackets)
# is a complete sentence, not a cut; an ellipsis (…, or two dots or more) marks a cut.
_FULL_STOPS = ".!?;:؟؛۔"
_CLOSERS = "\"'”’»)]}›"
_MARKS = ".!?;:,…؟؛،۔"


def complete_sentence(text: str) -> bool:
    """Whether ``text`` ends as a finished sentence (a full stop, not an ellipsis).

    >>> complete_sentence("- ملعقة صغيرة من الكمون."), complete_sentence("The finance ministry announced...")
    (True, False)
    >>> complete_sentence('He said "yes."'), complete_sentence("the ministry announced on")
    (True, False)
    """
    body = text.rstrip().rstrip(_CLOSERS).rstrip()
    return bool(body) and body[-1] in _FULL_STOPS and not body.endswith("..")


def ends_as_a_cut(text: str) -> bool:
    """Whether ``text`` ends where a truncation would leave it: on no punctuation mark, or on an ellipsis.

    A line that ends on a mark of its own (a full stop, a comma, ``،``…) was ended
    there by its writer: a verse or list line that the next line begins with is not
    a scraper's cut copy of it.

    >>> ends_as_a_cut("The foreign ministers met in"), ends_as_a_cut("The foreign ministers met…")
    (True, True)
    >>> ends_as_a_cut("وأنتَ في طوْقِ النجاةِ،"), ends_as_a_cut("The foreign ministers met.")
    (False, False)
    """
    body = text.rstrip().rstrip(_CLOSERS).rstrip()
    return not body or body.endswith(("…", "..")) or not (body[-1] in _MARKS or unicodedata.category(body[-1]).startswith("P"))


def in_context(
    text: str,
    paragraphs: list[Paragraph],
    relations: list[Repeat],
    matches: list[tuple[int, int, Match]],
    config: RepeatsConfig,
) -> tuple[list[Repeat], list[tuple[int, int, Match]]]:
    """The relations (and their containment matches) that are repeats in their context.

    A relation whose ``paragraph`` has ``config.context_tokens`` words or
    more always counts, and so does ``boilerplate`` (reported, never removed).
    A shorter paragraph's relation counts when

    - no content paragraph stands between it and its copy (for an exact
      copy: its nearest earlier copy), unless it is only the beginning of
      its copy and ends on a mark of its own (``ends_as_a_cut``): a verse
      line the next line begins with, or
    - it or its copy is the text's first paragraph (where a headline is), or
    - it is a truncated copy: the beginning of a long paragraph, not ending
      as a complete sentence (``complete_sentence``), or
    - it sits in a block of repeats: the paragraph before or after it repeats
      the paragraph before or after its copy and is long, or
    - it is glued (as whole sentences) into a run-on line: a line that glues
      another paragraph too.
    """
    if not relations:
        return relations, matches
    long = [p.words >= config.context_tokens for p in paragraphs]
    content_at = [k for k, p in enumerate(paragraphs) if p.words >= config.min_tokens]

    def adjacent(a: int, b: int) -> bool:
        lo, hi = min(a, b), max(a, b)
        k = bisect_left(content_at, lo + 1)
        return k == len(content_at) or content_at[k] >= hi

    previous_copy: dict[int, int] = {}
    last_seen: dict[tuple[str, ...], int] = {}
    for k, p in enumerate(paragraphs):
        if p.tokens in last_seen:
            previous_copy[k] = last_seen[p.tokens]
        last_seen[p.tokens] = k

    long_pairs = {(r.paragraph, r.in_) for r in relations if r.kind != "boilerplate" and long[r.paragraph]}
    glued: dict[int, set[int]] = {}
    for i, j, m in matches:
        if m.aligned:
            glued.setdefault(j, set()).add(i)
    run_on = {j for j, members in glued.items() if len(members) >= 2}
    truncated = {(i, j) for i, j, m in matches if not m.aligned and long[j]}
    beginnings = {(i, j) for i, j, m in matches if m.first == 0}  # copies that begin the line holding them

    def counts(r: Repeat) -> bool:
        i, j = r.paragraph, r.in_
        if r.kind == "boilerplate" or long[i]:
            return True
        if 0 in (i, j):
            return True
        # next to its copy; a beginning of the next line counts there only when it ends as a cut (not a verse line)
        if adjacent(i, previous_copy.get(i, j) if r.kind == "exact" else j) and (
            (i, j) not in beginnings or ends_as_a_cut(text[paragraphs[i].start : paragraphs[i].end])
        ):
            return True
        if (i, j) in truncated and not complete_sentence(text[paragraphs[i].start : paragraphs[i].end]):
            return True
        if (i - 1, j - 1) in long_pairs or (i + 1, j + 1) in long_pairs:
            return True
        return r.kind == "contained" and j in run_on and i in glued[j]

    kept = [r for r in relations if counts(r)]
    pairs = {(r.paragraph, r.in_) for r in kept if r.kind == "contained"}
    return kept, [(i, j, m) for i, j, m in matches if (i, j) in pairs]
