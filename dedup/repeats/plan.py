"""The entry point of the repeats stage: find an article's repeats and plan its cleaned copy.

:func:`find_repeats` runs the steps in order (segment the text, find the
relations, plan the removals) and returns an
:class:`~dedup.repeats.records.ArticleRepeats`; :func:`dedup.repeats.clean`
applies the plan. The cleaning rules are in ``docs/repeats.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..config import NormalizeConfig, RepeatsConfig
from ..text.normalize import normalize
from .context import in_context
from .match import Match, copy_span, find_relations
from .records import ArticleRepeats, Repeat
from .segment import Paragraph, analyse
from .within import self_repeats

__all__ = ["find_repeats", "find_repeats_batch"]

logger = logging.getLogger(__name__)


def _plan(
    paragraphs: list[Paragraph], relations: list[Repeat], matches: list[tuple[int, int, Match]]
) -> tuple[dict[int, int], dict[int, list[tuple[int, int, int]]]]:
    """Which paragraphs to remove whole, and which pieces of run-on lines to keep, and where.

    A piece of a run-on line that follows the glued copy of paragraph ``i``
    is placed after the paragraph that keeps ``i``'s text: in the run-on
    line it was read after ``i``, and the line itself often comes first
    (under the headline), where a tail glued from another story would pass
    for the lead. A piece before the first glued copy stays in place.

    Returns:
        ``target``: every paragraph removed whole, mapped to the paragraph
        that keeps its text; ``fragments``: every run-on line that is cut,
        mapped to the pieces between its glued copies (not yet stripped),
        each as ``(start, end, after)``: ``after`` is the paragraph it is
        written after, or the run-on line itself for a piece kept in place.
    """
    glued: dict[int, set[int]] = {}
    copies: dict[tuple[int, int], int] = {}
    for i, j, match in matches:
        if match.aligned:
            glued.setdefault(j, set()).add(i)
            copies[i, j] = copies.get((i, j), 0) + 1
    run_on = {j for j, members in glued.items() if len(members) >= 2}
    # a line holding one paragraph glued twice or more is cut too: one copy is enough
    glued_twice = {j for (_, j), n in copies.items() if n >= 2}

    target: dict[int, int] = {}

    def resolve(k: int) -> int:
        seen = set()
        while k in target and k not in seen:
            seen.add(k)
            k = target[k]
        return k

    order = {"exact": 0, "contained": 1, "near": 2}
    for r in sorted((r for r in relations if r.kind in order), key=lambda r: (order[r.kind], r.paragraph, r.in_)):
        i, j = r.paragraph, r.in_
        if i in target or (r.kind == "contained" and j in run_on):
            continue
        if resolve(j) == i:  # would close a cycle: i's text would be lost
            continue
        if r.kind == "near" and i in target.values():
            # i keeps the text of its exact copies; dropping it as an edited
            # copy of j would lose their sentences too (found by the property test)
            continue
        target[i] = j

    fragments: dict[int, list[tuple[int, int, int]]] = {}
    for j in sorted(run_on | glued_twice):
        if j in target:
            continue
        outer = paragraphs[j]
        cuts = []
        kept_here: set[int] = set()
        for i, _, match in sorted((m for m in matches if m[1] == j and m[2].aligned), key=lambda m: (m[2].first, m[0])):
            keeper = resolve(i)
            if keeper == j and i not in kept_here:  # i's text survives only here: its first copy stays
                kept_here.add(i)
                continue
            # after the keeper of i's text, unless that is a run-on line (maybe dropped whole) or this one: then in place
            cuts.append((*copy_span(outer, match), j if keeper in run_on or keeper == j else keeper))
        cuts.sort()
        pieces = []
        begin, after = outer.start, j
        for a, b, keeper in cuts:
            if a > begin:
                pieces.append((begin, a, after))
            if b > begin:
                begin, after = b, keeper
            elif b == begin and after == j:  # copies ending together: follow the one kept on its own line
                after = keeper
        pieces.append((begin, outer.end, after))
        fragments[j] = pieces
    return target, fragments


def _inside(paragraphs: list[Paragraph], matches: list[tuple[int, int, Match]], config: RepeatsConfig) -> list[Repeat]:
    """The runs of sentences a paragraph repeats within itself (:func:`~dedup.repeats.within.self_repeats`), except
    where the copy is another paragraph glued into that line twice: the run-on relations already say so."""
    glued: dict[int, list[tuple[int, int]]] = {}
    for _, j, match in matches:
        if match.aligned:
            glued.setdefault(j, []).append(copy_span(paragraphs[j], match))
    return [r for r in self_repeats(paragraphs, config)
            if not any(a < r.end and r.start < b for a, b in glued.get(r.paragraph, ()))]


def _cut_inside(paragraphs: list[Paragraph], target: dict[int, int], fragments: dict[int, list[tuple[int, int, int]]],
                inside: list[Repeat]) -> None:
    """Cut the later copies of :func:`_inside` out of their paragraphs' pieces (``fragments``, in place); a paragraph
    removed whole (``target``) keeps its text elsewhere."""
    for r in inside:
        j = r.paragraph
        if j in target:
            continue
        pieces = fragments.get(j, [(paragraphs[j].start, paragraphs[j].end, j)])
        cut = []
        for a, b, after in pieces:
            if a < r.start:
                cut.append((a, min(b, r.start), after))
            if b > r.end:
                cut.append((max(a, r.end), b, after))
        fragments[j] = cut


def _keepable(text: str, pieces: list[tuple[int, int]], config: NormalizeConfig) -> tuple[tuple[int, int], ...]:
    """Strip the pieces and drop those without a single token (bare punctuation)."""
    kept = []
    for a, b in pieces:
        piece = text[a:b]
        stripped = piece.strip()
        if not normalize(stripped, config):
            continue
        lead = len(piece) - len(piece.lstrip())
        kept.append((a + lead, a + lead + len(stripped)))
    return tuple(kept)


def find_repeats(text: str, config: RepeatsConfig = RepeatsConfig()) -> ArticleRepeats:
    """Find the paragraphs that ``text`` repeats, and plan a cleaned copy.

    Args:
        text: one article's body, as given (offsets refer to it).
        config: thresholds; see :class:`dedup.config.RepeatsConfig`.

    Returns:
        The relations (sorted by paragraph, then the paragraph holding the
        copy), summary numbers and the plan :func:`~dedup.repeats.clean` applies.

    >>> r = find_repeats("Ministers meet in Beijing today\\nOther news here, all new\\nMinisters meet in Beijing today")
    >>> [(x.paragraph, x.in_, x.kind) for x in r.repeats], r.drop
    ([(2, 0, 'exact')], (2,))
    >>> find_repeats("").n_paragraphs
    0
    """
    paragraphs = analyse(text, config.normalize)
    relations, matches = in_context(text, paragraphs, *find_relations(paragraphs, config), config)
    target, fragments = _plan(paragraphs, relations, matches)
    inside = _inside(paragraphs, matches, config)
    if inside:
        _cut_inside(paragraphs, target, fragments, inside)
        relations = sorted([*relations, *inside], key=lambda r: (r.paragraph, r.in_, r.in_start))

    kept_fragments: list[tuple[int, tuple[tuple[int, int], ...]]] = []
    moved: dict[int, list[tuple[int, int]]] = {}
    drop = set(target)
    redundant = 0
    for j, pieces in sorted(fragments.items()):
        in_place: list[tuple[int, int]] = []
        kept_chars = 0
        for a, b, after in pieces:
            for span in _keepable(text, [(a, b)], config.normalize):
                (in_place if after == j else moved.setdefault(after, [])).append(span)
                kept_chars += span[1] - span[0]
        if in_place:
            kept_fragments.append((j, tuple(in_place)))
        else:
            drop.add(j)
        redundant += paragraphs[j].end - paragraphs[j].start - kept_chars
    redundant += sum(paragraphs[k].end - paragraphs[k].start for k in target)
    total = sum(p.end - p.start for p in paragraphs)
    n_boilerplate = sum(1 for r in relations if r.kind == "boilerplate")
    return ArticleRepeats(
        repeats=tuple(relations),
        n_paragraphs=len(paragraphs),
        n_repeats=len(relations) - n_boilerplate,
        n_boilerplate=n_boilerplate,
        redundant_chars=redundant,
        redundant_share=round(redundant / total, 6) if total else 0.0,
        paragraphs=tuple((p.start, p.end) for p in paragraphs),
        drop=tuple(sorted(drop)),
        fragments=tuple(kept_fragments),
        moved=tuple((k, tuple(spans)) for k, spans in sorted(moved.items())),
        text_length=len(text),
    )


def find_repeats_batch(texts: Sequence[str], config: RepeatsConfig = RepeatsConfig()) -> list[ArticleRepeats]:
    """:func:`find_repeats` for every text, in input order.

    This function runs in the calling process; the orchestrator
    (:func:`dedup.flows.dedupe.find_repeats_feed`) spreads a whole feed over
    processes in coarse chunks and calls it once per chunk.
    """
    results = [find_repeats(t, config) for t in texts]
    logger.debug("repeats: %d texts, %d with content repeats", len(results), sum(1 for r in results if r.n_repeats))
    return results
