"""The records of the repeats stage: one relation (:class:`Repeat`) and one article's result.

:class:`ArticleRepeats` carries both what :func:`dedup.repeats.find_repeats` found
and the plan :func:`dedup.repeats.clean` applies, so the two need not share
anything else. The kinds of relation are defined in ``docs/repeats.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["KINDS", "ArticleRepeats", "Kind", "Repeat"]

Kind = Literal["exact", "contained", "near", "boilerplate"]
KINDS: tuple[str, ...] = ("exact", "contained", "near", "boilerplate")


@dataclass(frozen=True, slots=True)
class Repeat:
    """One repeat relation: the text of paragraph ``paragraph`` is found again in ``in_``.

    Attributes:
        paragraph: number of the repeated paragraph (0-based, non-empty lines).
        in_: number of the paragraph where its text is found.
        kind: ``"exact"``, ``"contained"``, ``"near"`` or ``"boilerplate"``.
        similarity: 1.0 for exact, contained and boilerplate; the
            :func:`~dedup.repeats.paragraph_similarity` for near.
        start, end: character span of paragraph ``paragraph`` in the text.
        in_start, in_end: character span of the copy inside paragraph ``in_``
            (the whole paragraph for exact, near and boilerplate; for
            contained the matched sentences, or the matched beginning).
    """

    paragraph: int
    in_: int
    kind: Kind
    similarity: float
    start: int
    end: int
    in_start: int
    in_end: int

    def as_record(self, article_id: str) -> dict[str, Any]:
        """The ``repeats.jsonl`` line of this relation, keyed as documented.

        ``in_start``/``in_end`` locate the copy inside paragraph ``in``: for a
        paragraph glued into a run-on line, the piece the cleaner cuts (two
        copies glued into one line are two lines, told apart by these).

        >>> Repeat(2, 0, "exact", 1.0, 50, 96, 0, 46).as_record("a1")
        {'id': 'a1', 'paragraph': 2, 'in': 0, 'kind': 'exact', 'similarity': 1.0, 'start': 50, 'end': 96, 'in_start': 0, 'in_end': 46}
        """
        return {
            "id": article_id,
            "paragraph": self.paragraph,
            "in": self.in_,
            "kind": self.kind,
            "similarity": self.similarity,
            "start": self.start,
            "end": self.end,
            "in_start": self.in_start,
            "in_end": self.in_end,
        }


@dataclass(frozen=True, slots=True)
class ArticleRepeats:
    """Everything :func:`~dedup.repeats.find_repeats` learned about one article.

    Attributes:
        repeats: the relations, sorted by ``(paragraph, in_, in_start)``.
        n_paragraphs: number of paragraphs (non-empty lines).
        n_repeats: number of content relations (exact, contained, near).
        n_boilerplate: number of ``boilerplate`` relations.
        redundant_chars: characters the cleaner removes (paragraph text only,
            not the line breaks around it).
        redundant_share: ``redundant_chars`` over the characters of all
            paragraphs (0.0 for an empty article).
        paragraphs: ``(start, end)`` of every paragraph.
        drop: paragraphs the cleaner removes whole.
        fragments: for every run-on line the cleaner cuts and keeps, ``(paragraph,
            spans)`` where ``spans`` are the pieces it keeps in its place.
        text_length: ``len(text)``, checked by :func:`~dedup.repeats.clean`.
        moved: pieces of run-on lines written elsewhere, ``(paragraph,
            spans)``: each span on its own line right after paragraph
            ``paragraph`` (the kept copy of the paragraph the piece followed
            in its run-on line), in this order.
    """

    repeats: tuple[Repeat, ...]
    n_paragraphs: int
    n_repeats: int
    n_boilerplate: int
    redundant_chars: int
    redundant_share: float
    paragraphs: tuple[tuple[int, int], ...]
    drop: tuple[int, ...]
    fragments: tuple[tuple[int, tuple[tuple[int, int], ...]], ...]
    text_length: int
    moved: tuple[tuple[int, tuple[tuple[int, int], ...]], ...] = ()

    def by_kind(self) -> dict[str, int]:
        """Number of relations of each kind, every kind present as a key."""
        counts = dict.fromkeys(KINDS, 0)
        for r in self.repeats:
            counts[r.kind] += 1
        return counts

    def summary(self) -> dict[str, Any]:
        """Per-article numbers for reports (JSON-able, no text): the numbers of a line of ``articles.jsonl``.

        The count of content relations is ``repeats``, as ``decisions.jsonl``
        names it (``dedup dedupe --repeats``); the boilerplate lines are
        ``by_kind["boilerplate"]``, counted once (``n_boilerplate`` beside it
        before); the paragraphs are ``paragraphs`` (``n_paragraphs`` before),
        as ``repeats`` and ``by_kind`` carry no ``n_``.
        """
        return {
            "paragraphs": self.n_paragraphs,
            "repeats": self.n_repeats,
            "by_kind": self.by_kind(),
            "redundant_chars": self.redundant_chars,
            "redundant_share": self.redundant_share,
        }
