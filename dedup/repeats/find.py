"""Paragraphs repeated inside one article: what repeats, where, and a cleaned copy.

Scrapers and CMSs make articles repeat themselves: the headline printed three
times, a photo caption twice, a truncated copy of the lead above the full lead,
or several paragraphs glued into one run-on line that is followed by the same
paragraphs again. This stage finds those repeats in a single article and plans
their removal; it is a branch of the pipeline that works on one text at a time.

Terms
-----
**Paragraph**: a non-empty line of the text after stripping (lines as
:meth:`str.splitlines` cuts them), numbered from 0 in text order. Offsets are
character offsets into the original text.

**Sentence**: a piece of a paragraph ending in ``. ! ? ; … ۔`` or the Arabic
``؟ ؛ ،``, also when no space follows (scraped Arabic often reads
``"بريكس".وحسب``); a point between two digits (``2.5``) ends nothing. See
:func:`sentence_spans`.

**Tokens**: the tokens of :func:`dedup.text.normalize.tokenize` (the one normalizer of
every stage), each tied to the characters it came from, so that a match on
normalized text can be located in the original. A paragraph is *content* when
it has at least ``min_tokens`` tokens that are not pure numbers; shorter lines
("Loading...", a category label, a dateline such as ``آسيا 15-07-2025 | 11:56``)
are not content.

Relations
---------
A :class:`Repeat` says: *the text of paragraph* ``paragraph`` *is found again
in paragraph* ``in_``. ``start``/``end`` locate paragraph ``paragraph``;
``in_start``/``in_end`` locate the copy inside paragraph ``in_``.

- ``exact``: the same tokens (so diacritics, letter forms, punctuation and case
  do not matter). Every later copy points at the *first* occurrence
  (headline at paragraphs 0, 2, 4 gives ``2 → 0`` and ``4 → 0``).
- ``contained``: the tokens of the shorter paragraph occur, in order and
  contiguously, inside the longer one, either as whole sentences of it (a
  paragraph glued into a run-on line) or as its beginning (a truncated copy
  of the lead; the last word may be cut, ``شنغ`` for ``شنغهاي``). The
  direction is forced: ``paragraph`` is the shorter one.
- ``near``: a lightly edited copy: :func:`paragraph_similarity` of the two is
  at least ``config.near`` (calibrated on MSRP and Arabic cases by
  ``scripts/calibrate_repeats.py``), both have ``near_min_tokens`` tokens and,
  by default, the same numbers (:func:`near_eligible`). The later paragraph
  points at the earlier.
- ``boilerplate``: a short, non-content line repeated exactly (``Loading...``
  five times). Reported so callers can see it, never as repeated content, and
  never removed by the cleaner; ``report_boilerplate=False`` leaves it out.

Only the first occurrence of an exact group takes part in ``contained`` and
``near`` relations; its later copies are already tied to it.

Cleaning
--------
:func:`find_repeats` also plans what :func:`clean` removes, keeping the most
complete version of every repeated text:

- an ``exact`` or ``near`` copy is removed and the first occurrence kept;
- a paragraph ``contained`` in a longer one is removed (the truncated lead
  goes, the full lead stays), unless the longer one is a *run-on line*: a
  paragraph that holds whole-sentence copies of two or more other paragraphs.
  From a run-on line only the glued copies are cut; the separate paragraphs
  stay, and a glued fragment that repeats nothing is kept on its own line.

A removal is planned only when the removed text stays in the output (its
target is kept, following chains of removals), so the cleaner never loses a
sentence that was not repeated.
"""

from __future__ import annotations

import logging
import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import repeat
from typing import Any, Literal

import numpy as np

from ..config import NormalizeConfig, RepeatsConfig
from ..text.normalize import normalize

__all__ = [
    "KINDS",
    "ArticleRepeats",
    "Repeat",
    "clean",
    "find_repeats",
    "find_repeats_batch",
    "near_eligible",
    "paragraph_similarity",
    "paragraph_spans",
    "sentence_spans",
]

logger = logging.getLogger(__name__)

Kind = Literal["exact", "contained", "near", "boilerplate"]
KINDS: tuple[str, ...] = ("exact", "contained", "near", "boilerplate")

# Sentence ends. The Arabic comma and semicolon are included on purpose: Arabic
# news runs long chains of clauses joined by ، and scraped run-on lines glue
# paragraphs at any of these marks.
_TERMINATORS = ".!?;…۔؟؛،"
_SENTENCE_END = re.compile("[" + re.escape(_TERMINATORS) + "]+")
# Closing quotes and brackets that belong to the sentence they follow, when
# whitespace (or the end) comes after them: `قال: "نعم." ثم`. Directly before a
# letter the same quote opens the next sentence: `الإقليمي."بوتين`.
_CLOSERS = "\"'”’»)]}›"
_DECIMAL_POINTS = ".,،٫"
_SENTINEL = "\ue000"  # private use: survives normalize() unchanged, marks run ends
_LINE_BREAK_CHARS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # where str.splitlines cuts
_LINE_BREAKS = frozenset(_LINE_BREAK_CHARS)
_INDEX_FROM = 48  # content paragraphs from which candidate pairs come from an inverted index


# ---------------------------------------------------------------------------
# records


@dataclass(frozen=True, slots=True)
class Repeat:
    """One repeat relation: the text of paragraph ``paragraph`` is found again in ``in_``.

    Attributes:
        paragraph: number of the repeated paragraph (0-based, non-empty lines).
        in_: number of the paragraph where its text is found.
        kind: ``"exact"``, ``"contained"``, ``"near"`` or ``"boilerplate"``.
        similarity: 1.0 for exact, contained and boilerplate; the
            :func:`paragraph_similarity` for near.
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

        >>> Repeat(2, 0, "exact", 1.0, 50, 96, 0, 46).as_record("a1")
        {'id': 'a1', 'paragraph': 2, 'in': 0, 'kind': 'exact', 'similarity': 1.0, 'start': 50, 'end': 96}
        """
        return {
            "id": article_id,
            "paragraph": self.paragraph,
            "in": self.in_,
            "kind": self.kind,
            "similarity": self.similarity,
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True, slots=True)
class ArticleRepeats:
    """Everything :func:`find_repeats` learned about one article.

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
        fragments: for every run-on line the cleaner cuts, ``(paragraph,
            spans)`` where ``spans`` are the pieces it keeps.
        text_length: ``len(text)``, checked by :func:`clean`.
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

    def by_kind(self) -> dict[str, int]:
        """Number of relations of each kind, every kind present as a key."""
        counts = dict.fromkeys(KINDS, 0)
        for r in self.repeats:
            counts[r.kind] += 1
        return counts

    def summary(self) -> dict[str, Any]:
        """Per-article numbers for reports (JSON-able, no text)."""
        return {
            "n_paragraphs": self.n_paragraphs,
            "n_repeats": self.n_repeats,
            "n_boilerplate": self.n_boilerplate,
            "by_kind": self.by_kind(),
            "redundant_chars": self.redundant_chars,
            "redundant_share": self.redundant_share,
        }


# ---------------------------------------------------------------------------
# paragraphs, sentences, located tokens


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the paragraphs of ``text``: its non-empty lines, stripped.

    Lines are cut as :meth:`str.splitlines` cuts them (``\\n``, ``\\r\\n``,
    ``\\u2028``…); a line that is only whitespace (including no-break spaces)
    is not a paragraph.

    >>> paragraph_spans("Title\\n\\n  Body text. \\r\\nEnd")
    [(0, 5), (9, 19), (22, 25)]
    """
    spans = []
    offset = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip(_LINE_BREAK_CHARS)
        stripped = body.strip()
        if stripped:
            lead = len(body) - len(body.lstrip())
            spans.append((offset + lead, offset + lead + len(stripped)))
        offset += len(line)
    return spans


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text[start:end]`` (offsets into ``text``).

    A sentence ends after a run of ``. ! ? ; … ۔ ؟ ؛ ،``, whether or not a space
    follows, plus the closing quotes or brackets right after it when whitespace
    or the end comes next. A single ``.`` or ``،`` between two digits is a
    decimal point. Spans are stripped of surrounding whitespace.

    >>> t = 'قال "بريكس".وحسب أوشاكوف، انتهى'
    >>> [t[a:b] for a, b in sentence_spans(t)]
    ['قال "بريكس".', 'وحسب أوشاكوف،', 'انتهى']
    >>> t = 'Up 2.5 percent. "Yes." he said'
    >>> [t[a:b] for a, b in sentence_spans(t)]
    ['Up 2.5 percent.', '"Yes."', 'he said']
    """
    stop = len(text) if end is None else end
    cuts = []
    for m in _SENTENCE_END.finditer(text, start, stop):
        a, b = m.span()
        if (
            b - a == 1
            and text[a] in _DECIMAL_POINTS
            and a > start
            and b < stop
            and text[a - 1].isdigit()
            and text[b].isdigit()
        ):
            continue
        while b < stop and text[b] in _CLOSERS and (b + 1 == stop or text[b + 1].isspace() or text[b + 1] in _CLOSERS):
            b += 1
        cuts.append(b)
    cuts.append(stop)
    spans = []
    begin = start
    for cut in cuts:
        if cut <= begin:
            continue
        piece = text[begin:cut]
        stripped = piece.strip()
        if stripped:
            lead = len(piece) - len(piece.lstrip())
            spans.append((begin + lead, begin + lead + len(stripped)))
        begin = cut
    return spans


@lru_cache(maxsize=1 << 16)
def _is_separator(ch: str) -> bool:
    """Whether the normalizer turns ``ch`` into a token break (punctuation, space…).

    Asked of the normalizer itself, so the located tokens below can never
    disagree with :func:`dedup.text.normalize.tokenize`. Marks, tatweel and format
    characters are deleted inside a word, so they are not separators.
    """
    return normalize("a" + ch + "a") == "a a"


@dataclass(frozen=True, slots=True)
class _Paragraph:
    """A paragraph with its tokens located in the original text."""

    start: int
    end: int
    tokens: tuple[str, ...]
    token_starts: tuple[int, ...]
    token_ends: tuple[int, ...]
    sentence_of: tuple[int, ...]  # sentence number of every token
    sentences: tuple[tuple[int, int], ...]
    words: int  # tokens that are not pure numbers
    vocabulary: frozenset[str]


def _located_tokens(text: str, config: NormalizeConfig) -> tuple[list[str], list[int], list[int]]:
    """The tokens of ``text`` with the character span each came from.

    The text is cut into runs of characters the normalizer does not turn into
    a break (line breaks always break: paragraphs never share a token). All
    runs go through the normalizer in one call, joined by a sentinel token.
    Almost always each run gives exactly one token; a run that gives several
    (``½`` → ``1 2``) or none is still attributed correctly by walking the
    sentinels. Concatenated, the tokens equal ``tokenize(text)``.
    """
    table = {ord(c): " " for c in set(text) if c in _LINE_BREAKS or _is_separator(c)}
    flat = text.translate(table)
    codes = np.frombuffer(flat.encode("utf-32-le"), dtype=np.uint32)
    inside = codes != 32
    edges = np.diff(np.concatenate(([False], inside, [False])).astype(np.int8))
    starts: list[int] = np.flatnonzero(edges == 1).tolist()
    ends: list[int] = np.flatnonzero(edges == -1).tolist()
    if not starts:
        return [], [], []
    pieces = [w for w in flat.split(" ") if w]
    assert len(pieces) == len(starts), "runs found by NumPy and by split must agree"
    n = len(pieces)
    if _SENTINEL in text:  # cannot use the sentinel: normalize run by run
        run_tokens = [normalize(piece, config).split() for piece in pieces]
    else:
        parts = normalize(f" {_SENTINEL} ".join(pieces), config).split(" ")
        # one token per run: tokens and sentinels alternate exactly
        alternating = len(parts) == 2 * n - 1 and parts[1::2].count(_SENTINEL) == parts.count(_SENTINEL) == n - 1
        if alternating and "" not in parts:
            return parts[0::2], starts, ends
        run_tokens = [[]]
        for tok in parts:
            if tok == _SENTINEL:
                run_tokens.append([])
            elif tok:
                run_tokens[-1].append(tok)
        assert len(run_tokens) == n, "sentinel count must match the number of runs"
    tokens: list[str] = []
    tok_starts: list[int] = []
    tok_ends: list[int] = []
    for toks, a, b in zip(run_tokens, starts, ends):
        tokens.extend(toks)
        tok_starts.extend([a] * len(toks))
        tok_ends.extend([b] * len(toks))
    return tokens, tok_starts, tok_ends


def _analyse(text: str, config: NormalizeConfig) -> list[_Paragraph]:
    """Paragraphs with located tokens and sentences; one normalizer call per text."""
    tokens, starts, ends = _located_tokens(text, config)
    paragraphs = []
    for start, end in paragraph_spans(text):
        k0, k1 = bisect_left(starts, start), bisect_left(starts, end)
        toks, tok_starts = tuple(tokens[k0:k1]), tuple(starts[k0:k1])
        sentences = sentence_spans(text, start, end)
        if len(sentences) == 1:
            sentence_of: tuple[int, ...] = (0,) * len(toks)
        else:
            later_starts = [a for a, _ in sentences[1:]]  # tokens before the 2nd sentence are in the 1st
            sentence_of = tuple(map(bisect_right, repeat(later_starts), tok_starts))
        words = len(toks) - sum(map(str.isdigit, toks))
        paragraphs.append(
            _Paragraph(
                start, end, toks, tok_starts, tuple(ends[k0:k1]), sentence_of, tuple(sentences), words, frozenset(toks)
            )
        )
    return paragraphs


# ---------------------------------------------------------------------------
# similarity


def _similarity(earlier: Sequence[str], later: Sequence[str]) -> float:
    """Ratcliff/Obershelp similarity of two token sequences (``difflib``).

    ``2 * matched / (len(a) + len(b))``, matched tokens counted in order, so a
    reordered rewording scores lower than the same words in the same order: a
    repeat keeps its order. One word replaced in an ``n``-token paragraph
    gives ``(n - 1) / n``.
    """
    if not earlier and not later:
        return 1.0
    return SequenceMatcher(None, earlier, later, autojunk=False).ratio()


def paragraph_similarity(a: str, b: str, config: NormalizeConfig = NormalizeConfig()) -> float:
    """The similarity used for ``near`` repeats, on two raw texts.

    Both texts are tokenized by the shared normalizer, then compared in order
    (Ratcliff/Obershelp, ``difflib.SequenceMatcher.ratio`` over tokens). Pass
    the earlier paragraph first: the measure is computed in that direction.

    Args:
        a: the earlier paragraph (any script).
        b: the later paragraph.
        config: the normalizer's folding options.

    Returns:
        A value in [0, 1]; 1.0 when both normalize to the same tokens.

    >>> paragraph_similarity("قالَ الرئيسُ إنّ الاجتماع كان مثمراً جداً", "قال الرئيس إن الاجتماع كان مثمرا للغاية")
    0.8571428571428571
    """
    return _similarity(normalize(a, config).split(), normalize(b, config).split())


def _numbers(tokens: Sequence[str]) -> list[str]:
    return [t for t in tokens if t.isdigit()]


def near_eligible(a: str, b: str, config: RepeatsConfig = RepeatsConfig()) -> bool:
    """Whether two paragraphs may form a ``near`` repeat at all, whatever their similarity.

    Both need ``config.near_min_tokens`` tokens that are not pure numbers and,
    with ``config.near_same_numbers``, the same numbers in the same order.
    :func:`find_repeats` applies exactly this rule before comparing
    :func:`paragraph_similarity` with ``config.near``.

    >>> near_eligible("Round 3 of the talks ended in Doha without a deal",
    ...               "Round 4 of the talks ended in Doha without a deal")
    False
    >>> near_eligible("one two three", "one two three")
    False
    """
    ta, tb = normalize(a, config.normalize).split(), normalize(b, config.normalize).split()
    words_a = len(ta) - len(_numbers(ta))
    words_b = len(tb) - len(_numbers(tb))
    if min(words_a, words_b) < config.near_min_tokens:
        return False
    return not config.near_same_numbers or _numbers(ta) == _numbers(tb)


# ---------------------------------------------------------------------------
# detection


@dataclass(frozen=True, slots=True)
class _Match:
    """Where the tokens of one paragraph occur inside another."""

    first: int  # first token index in the container
    last: int  # one past the last token index
    aligned: bool  # whole sentences of the container


def _containments(inner: _Paragraph, outer: _Paragraph) -> list[_Match]:
    """Every admissible occurrence of ``inner``'s tokens inside ``outer``.

    Admissible: starting at a sentence start of ``outer`` and ending at a
    sentence end of it (a glued copy), or starting at ``outer``'s first token
    (a truncated copy; then its last token may be the beginning of ``outer``'s
    word, cut by the truncation: ``شنغ`` for ``شنغهاي``).
    """
    t_in, t_out, sent = inner.tokens, outer.tokens, outer.sentence_of
    n, m = len(t_in), len(t_out)
    matches: list[_Match] = []
    last_in, last_out = t_in[-1], t_out[n - 1]
    if n >= 2 and last_out != last_in and last_out.startswith(last_in) and t_out[: n - 1] == t_in[:-1]:
        matches.append(_Match(0, n, False))
    if not inner.vocabulary <= outer.vocabulary:
        return matches
    first = t_in[0]
    p = -1
    while True:
        try:
            p = t_out.index(first, p + 1, m - n + 1)
        except ValueError:
            return matches
        if t_out[p : p + n] != t_in:
            continue
        starts_sentence = p == 0 or sent[p] != sent[p - 1]
        ends_sentence = p + n == m or sent[p + n] != sent[p + n - 1]
        if starts_sentence and ends_sentence:
            matches.append(_Match(p, p + n, True))
        elif p == 0:
            matches.append(_Match(0, n, False))


def _copy_span(outer: _Paragraph, match: _Match) -> tuple[int, int]:
    """Characters of a match inside ``outer``: whole sentences when aligned."""
    if match.aligned:
        first_sentence = outer.sentences[outer.sentence_of[match.first]]
        last_sentence = outer.sentences[outer.sentence_of[match.last - 1]]
        return first_sentence[0], last_sentence[1]
    return outer.token_starts[match.first], outer.token_ends[match.last - 1]


def _relations(paragraphs: list[_Paragraph], config: RepeatsConfig) -> tuple[list[Repeat], list[tuple[int, int, _Match]]]:
    """All relations, plus the containment matches the cleaner needs."""
    relations: list[Repeat] = []
    first_of: dict[tuple[str, ...], int] = {}
    content = [p.words >= config.min_tokens for p in paragraphs]
    for i, p in enumerate(paragraphs):
        j = first_of.setdefault(p.tokens, i)
        if j == i:
            continue
        q = paragraphs[j]
        if content[i]:
            relations.append(Repeat(i, j, "exact", 1.0, p.start, p.end, q.start, q.end))
        elif config.report_boilerplate:
            relations.append(Repeat(i, j, "boilerplate", 1.0, p.start, p.end, q.start, q.end))

    reps = [i for i, p in enumerate(paragraphs) if content[i] and first_of[p.tokens] == i]
    # Small articles (nearly all) compare every pair; long ones go through an
    # inverted index so that hundreds of lines stay near linear.
    indexed = len(reps) > _INDEX_FROM
    postings: dict[str, list[int]] = {}
    if indexed:
        for i in reps:
            for tok in paragraphs[i].vocabulary:
                postings.setdefault(tok, []).append(i)
    rarity = {tok: (len(ps), tok) for tok, ps in postings.items()}

    # Containment: every token of the inner paragraph (but a cut last one) is
    # in the outer one, so only paragraphs holding its rarest such token can
    # contain it.
    matches: list[tuple[int, int, _Match]] = []
    related: set[tuple[int, int]] = set()
    for i in reps:
        inner = paragraphs[i]
        outers = postings[min(inner.tokens[:-1] or inner.tokens, key=rarity.__getitem__)] if indexed else reps
        for j in outers:
            outer = paragraphs[j]
            if len(inner.tokens) >= len(outer.tokens):
                continue
            for match in _containments(inner, outer):
                a, b = _copy_span(outer, match)
                relations.append(Repeat(i, j, "contained", 1.0, inner.start, inner.end, a, b))
                matches.append((i, j, match))
                related.add((min(i, j), max(i, j)))

    # Near: a prefix filter (as in set-similarity joins). Similarity >= t needs
    # 2 * shared >= t * (n + m) with shared <= |A & B| + repeated tokens of A,
    # and the length bound m >= n * t / (2 - t); so A and B share at least
    # ``need`` distinct tokens and must meet in A's ``|A| - need + 1`` rarest.
    threshold = config.near
    eligible = [i for i in reps if paragraphs[i].words >= config.near_min_tokens]
    eligible_set = set(eligible)
    for later in eligible:
        q = paragraphs[later]
        m = len(q.tokens)
        need = math.ceil(threshold * m / (2 - threshold) - (m - len(q.vocabulary)) - 1e-9)
        if not indexed or need <= 0:
            candidates = {e for e in eligible if e < later}
        else:
            prefix = sorted(q.vocabulary, key=rarity.__getitem__)[: len(q.vocabulary) - need + 1]
            candidates = {e for tok in prefix for e in postings[tok] if e < later and e in eligible_set}
        matcher: SequenceMatcher[str] | None = None
        for earlier in sorted(candidates):
            p = paragraphs[earlier]
            n = len(p.tokens)
            if (earlier, later) in related or 2 * min(n, m) < threshold * (n + m):
                continue
            # Upper bound on the tokens the two can share, from set sizes (C speed):
            # the shared vocabulary plus the repeated tokens of either side.
            shared = len(p.vocabulary & q.vocabulary) + min(n - len(p.vocabulary), m - len(q.vocabulary))
            if 2 * shared < threshold * (n + m):
                continue
            if config.near_same_numbers and _numbers(p.tokens) != _numbers(q.tokens):
                continue
            if matcher is None:
                matcher = SequenceMatcher(None, autojunk=False)
                matcher.set_seq2(q.tokens)
            matcher.set_seq1(p.tokens)
            similarity = matcher.ratio()
            if similarity >= threshold:
                relations.append(Repeat(later, earlier, "near", round(similarity, 4), q.start, q.end, p.start, p.end))
    relations.sort(key=lambda r: (r.paragraph, r.in_, r.in_start, r.kind))
    return relations, matches


# ---------------------------------------------------------------------------
# the cleaning plan


def _plan(
    paragraphs: list[_Paragraph], relations: list[Repeat], matches: list[tuple[int, int, _Match]]
) -> tuple[dict[int, int], dict[int, list[tuple[int, int]]]]:
    """Which paragraphs to remove whole (with the paragraph that keeps their
    text) and which pieces of run-on lines to keep."""
    glued: dict[int, set[int]] = {}
    for i, j, match in matches:
        if match.aligned:
            glued.setdefault(j, set()).add(i)
    run_on = {j for j, members in glued.items() if len(members) >= 2}

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

    fragments: dict[int, list[tuple[int, int]]] = {}
    for j in sorted(run_on):
        if j in target:
            continue
        outer = paragraphs[j]
        cuts = []
        for i, jj, match in matches:
            if jj != j or not match.aligned:
                continue
            if resolve(i) == j:  # i's text survives only here
                continue
            cuts.append(_copy_span(outer, match))
        cuts.sort()
        pieces = []
        begin = outer.start
        for a, b in cuts:
            if a > begin:
                pieces.append((begin, a))
            begin = max(begin, b)
        pieces.append((begin, outer.end))
        fragments[j] = pieces
    return target, fragments


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
        copy), summary numbers and the plan :func:`clean` applies.

    >>> r = find_repeats("Ministers meet in Beijing today\\nOther news here, all new\\nMinisters meet in Beijing today")
    >>> [(x.paragraph, x.in_, x.kind) for x in r.repeats], r.drop
    ([(2, 0, 'exact')], (2,))
    >>> find_repeats("").n_paragraphs
    0
    """
    paragraphs = _analyse(text, config.normalize)
    relations, matches = _relations(paragraphs, config)
    target, fragments = _plan(paragraphs, relations, matches)

    kept_fragments: list[tuple[int, tuple[tuple[int, int], ...]]] = []
    drop = set(target)
    for j, pieces in sorted(fragments.items()):
        kept = _keepable(text, pieces, config.normalize)
        if kept:
            kept_fragments.append((j, kept))
        else:
            drop.add(j)
    redundant = sum(paragraphs[k].end - paragraphs[k].start for k in drop)
    for j, kept in kept_fragments:
        redundant += paragraphs[j].end - paragraphs[j].start - sum(b - a for a, b in kept)
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


# ---------------------------------------------------------------------------
# cleaning


def clean(text: str, repeats: ArticleRepeats) -> str:
    """``text`` with the redundant copies planned by :func:`find_repeats` removed.

    A removed paragraph takes its line and the blank lines after it (after
    the last kept paragraph, the blank lines before it), so the spacing
    between kept paragraphs stays as it was. A run-on line is replaced by the
    pieces it keeps, one per line. Everything else is kept byte for byte; an
    article without repeats comes back unchanged.

    Args:
        text: the same text that was given to :func:`find_repeats`.
        repeats: its result.

    Returns:
        The cleaned text.

    Raises:
        ValueError: ``repeats`` was computed for a different text.

    >>> t = "Ministers meet in Beijing today\\n\\nOther news here, all new\\n\\nMinisters meet in Beijing today\\n"
    >>> clean(t, find_repeats(t))
    'Ministers meet in Beijing today\\n\\nOther news here, all new\\n'
    """
    if len(text) != repeats.text_length or paragraph_spans(text) != list(repeats.paragraphs):
        raise ValueError(
            "these repeats were computed for a different text "
            f"({repeats.text_length} characters, {repeats.n_paragraphs} paragraphs; got {len(text)} characters): "
            "call find_repeats(text) on the text you clean"
        )
    if not repeats.drop and not repeats.fragments:
        return text
    drop = set(repeats.drop)
    fragments = dict(repeats.fragments)
    lines = text.splitlines(keepends=True)
    starts = []
    offset = 0
    for line in lines:
        starts.append(offset)
        offset += len(line)
    # paragraph number of every line (None for blank lines)
    para_of: list[int | None] = [None] * len(lines)
    k = 0
    for n, line in enumerate(lines):
        if k < len(repeats.paragraphs) and starts[n] <= repeats.paragraphs[k][0] < starts[n] + len(line):
            para_of[n] = k
            k += 1
    last_kept_line = max((n for n, p in enumerate(para_of) if p is not None and p not in drop), default=-1)

    remove = [False] * len(lines)
    for n, p in enumerate(para_of):
        if p is None or p not in drop:
            continue
        remove[n] = True
        if n > last_kept_line:  # trailing: take the blank lines before it
            b = n - 1
            while b >= 0 and para_of[b] is None and not remove[b]:
                remove[b] = True
                b -= 1
        else:
            f = n + 1
            while f < len(lines) and para_of[f] is None:
                remove[f] = True
                f += 1

    out = []
    for n, line in enumerate(lines):
        if remove[n]:
            continue
        p = para_of[n]
        if p is not None and p in fragments:
            body = line.rstrip(_LINE_BREAK_CHARS)
            ending = line[len(body) :]
            s, e = repeats.paragraphs[p]
            sep = ending or "\n"
            pieces = sep.join(text[a:b] for a, b in fragments[p])
            out.append(text[starts[n] : s] + pieces + text[e : starts[n] + len(body)] + ending)
        else:
            out.append(line)
    cleaned = "".join(out)
    if not text.endswith(("\n", "\r")) and cleaned.endswith(("\n", "\r")) and last_kept_line < len(lines) - 1:
        cleaned = cleaned.rstrip("\r\n")
    return cleaned
