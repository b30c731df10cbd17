"""Paragraphs repeated inside one article: what repeats, where, and a cleaned copy.

A branch of the pipeline that works on one text at a time: :func:`find_repeats`
reports the ``exact``, ``contained``, ``near`` and ``boilerplate`` repeats of an
article and plans their removal; :func:`clean` applies that plan. The terms,
the relations and the cleaning rules are specified in ``docs/repeats.md``.

Modules, in the order the work is done:

- :mod:`~dedup.repeats.segment`: paragraphs, sentences, tokens located in the text;
- :mod:`~dedup.repeats.match`: which paragraph repeats which (the relations);
- :mod:`~dedup.repeats.context`: which repeats of short paragraphs count;
- :mod:`~dedup.repeats.plan`: :func:`find_repeats`, the relations plus the removal plan;
- :mod:`~dedup.repeats.cleaner`: :func:`clean`, the plan applied to the text;
- :mod:`~dedup.repeats.records`: :class:`Repeat` and :class:`ArticleRepeats`.
"""

from .cleaner import clean
from .match import light_edit, near_eligible, paragraph_similarity
from .plan import find_repeats, find_repeats_batch
from .records import KINDS, ArticleRepeats, Repeat
from .segment import paragraph_spans, sentence_spans

__all__ = [
    "KINDS",
    "ArticleRepeats",
    "Repeat",
    "clean",
    "find_repeats",
    "find_repeats_batch",
    "light_edit",
    "near_eligible",
    "paragraph_similarity",
    "paragraph_spans",
    "sentence_spans",
]
