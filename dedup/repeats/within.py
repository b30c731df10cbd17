"""Runs of sentences that one paragraph repeats within itself: a text glued to itself on one line.

A scraper that reads a page twice can glue the two readings into one line:
``A. B. C. A. B. C.``, or a truncated second reading ``A. B. C. A. B.``.
No other paragraph holds the copy, so the relations between paragraphs
(:mod:`dedup.repeats.match`) cannot see it. :func:`self_repeats` finds, inside
each paragraph, a run of sentences whose normalized tokens come again,
sentence for sentence, later in the same paragraph, where a scraper puts it:

* right after the run it repeats (``A. B. A. B.``), the run at least
  ``config.context_tokens`` words;
* anywhere later, the run at least :data:`FAR_RUNS` times that (a passage of
  several sentences: the text read again, perhaps cut short, or a paragraph
  pasted twice).

Only exact runs count. A shorter run repeated apart from its copy is the
writer's: a quote given in the lead and again in the body, the preamble of
each decree of a cabinet session, a refrain. (Many scraped articles are one
line: a paragraph is then the whole text.)
"""

from __future__ import annotations

from ..config import RepeatsConfig
from .records import Repeat
from .segment import Paragraph

__all__ = ["FAR_RUNS", "self_repeats"]

# A run repeated apart from its copy counts from this many times config.context_tokens words (60 by default). On the
# dev days, runs of 15-45 words repeated apart were decree preambles, a quote in lead and body, an op-ed quoted then
# given whole; the runs of 60 words and more, a text read twice and a paragraph pasted again at the end.
FAR_RUNS = 4


def _sentences(p: Paragraph) -> tuple[list[int], list[tuple[str, ...]], list[int]]:
    """The sentences of ``p`` that hold tokens: their numbers, their tokens and their words (tokens not pure numbers)."""
    tokens: list[list[str]] = [[] for _ in p.sentences]
    for tok, s in zip(p.tokens, p.sentence_of):
        tokens[s].append(tok)
    numbers = [s for s, toks in enumerate(tokens) if toks]
    return numbers, [tuple(tokens[s]) for s in numbers], [len(tokens[s]) - sum(map(str.isdigit, tokens[s])) for s in numbers]


def self_repeats(paragraphs: list[Paragraph], config: RepeatsConfig) -> list[Repeat]:
    """Every later copy, inside its own paragraph, of a run of that paragraph's sentences.

    Each relation has ``paragraph == in_``; ``start``/``end`` locate the later
    copy and ``in_start``/``in_end`` the earlier one (which may be a copy
    itself: ``A A A`` is two copies, each of the one before). Copies are taken
    left to right, each as long as it goes (its sentences never overlap the
    run it repeats), and count only where a scraper puts them (see the module).

    >>> from dedup.repeats.segment import analyse
    >>> from dedup.config import NormalizeConfig
    >>> t = "Lead. " + "The ministers met in Beijing on Monday to discuss trade and security in the region. " * 2 + "End."
    >>> [(r.paragraph, r.in_, t[r.start:r.end] == t[r.in_start:r.in_end], r.start > r.in_end)
    ...  for r in self_repeats(analyse(t, NormalizeConfig()), RepeatsConfig())]
    [(0, 0, True, True)]
    """
    out: list[Repeat] = []
    for j, p in enumerate(paragraphs):
        if len(p.sentences) < 2 or p.words < 2 * config.context_tokens:  # two copies of a long run, at least
            continue
        numbers, keys, words = _sentences(p)
        at: dict[tuple[str, ...], list[int]] = {}
        for k, key in enumerate(keys):
            at.setdefault(key, []).append(k)
        b = 1
        while b < len(keys):
            best, best_len = -1, 0
            for a in at[keys[b]]:  # a source may itself be a later copy: A A A is two copies of A, each after the last
                if a >= b:
                    break
                n = 0
                while b + n < len(keys) and a + n < b and keys[a + n] == keys[b + n]:
                    n += 1
                need = config.context_tokens if a + n == b else FAR_RUNS * config.context_tokens
                if n > best_len and sum(words[a : a + n]) >= need:
                    best, best_len = a, n
            if best < 0:
                b += 1
                continue
            first, last = p.sentences[numbers[best]], p.sentences[numbers[best + best_len - 1]]
            again, again_last = p.sentences[numbers[b]], p.sentences[numbers[b + best_len - 1]]
            out.append(Repeat(j, j, "exact", 1.0, again[0], again_last[1], first[0], last[1]))
            b += best_len
    return out
