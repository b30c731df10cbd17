"""Which paragraphs of one article repeat which: the repeat relations and their similarity.

:func:`find_relations` compares the paragraphs that :func:`dedup.repeats.segment.analyse`
measured and returns every :class:`~dedup.repeats.records.Repeat`, plus the
containment matches the cleaning plan needs. :func:`paragraph_similarity` and
:func:`near_eligible` expose the ``near`` rule on raw texts (for calibration).
The relations are defined in ``docs/repeats.md``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from ..config import NormalizeConfig, RepeatsConfig
from ..text.normalize import normalize
from .records import Repeat
from .segment import Paragraph

__all__ = ["Match", "copy_span", "find_relations", "light_edit", "near_eligible", "paragraph_similarity"]

_INDEX_FROM = 48  # content paragraphs from which candidate pairs come from an inverted index
# With the index, at most this many earlier paragraphs (the first ones) are compared with
# one paragraph for a near repeat: a bound on the work when a line shares everything a
# light edit needs with hundreds of others (only a contrived list reaches it).
_NEAR_CANDIDATES = 64


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
    :func:`~dedup.repeats.find_repeats` applies exactly this rule before comparing
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
# light edits: what a near copy may add or drop without saying something else

# Words whose presence or absence does not change what a paragraph states
# (articles, prepositions, conjunctions, auxiliaries). A similarity ratio alone
# cannot tell "rose in Idlib" from "rose in Hama" or "would accept" from "would
# not accept": one token apart either way. So a near copy may differ from the
# paragraph kept in its place only by these words and by clitic variants of
# the same word (``والدولية`` for ``الدولية``); a name, a place, a number or a
# negation added or replaced makes it another statement, not a repeat.
_FUNCTION_WORDS = (
    "في من على إلى الى عن أن إن ان و ف ب ل ك قد وقد فقد كما التي الذي الذين هذا هذه ذلك تلك ثم أو او مع عند حيث "
    "كان كانت أيضا ايضا به بها له لها فيه فيها منه منها عليه عليها "
    "the a an of to in on at for and or by with from as that this these those is are was were be been being "
    "has have had it its also which who whom then there their"
)
# Never trivial, even as a function word: adding or dropping one reverses the meaning.
_NEGATIONS = (
    "لا لم لن ليس ليست لست لسنا ليسوا غير ما دون بدون بلا عدم "
    "not no never nor none neither nothing nobody without cannot t"
)
# Arabic proclitics (conjunctions, prepositions, the article) written glued to a word.
_CLITICS = ("و", "ف", "ب", "ل", "ك", "ال", "وال", "فال", "بال", "كال", "لل", "ولل", "فلل")


@lru_cache(maxsize=8)
def _word_lists(config: NormalizeConfig) -> tuple[frozenset[str], frozenset[str]]:
    """The function words and negations above, through the normalizer (``إلى`` folds to ``الي``)."""

    def fold(words: str) -> frozenset[str]:
        return frozenset(normalize(words, config).split())

    negations = fold(_NEGATIONS)
    return fold(_FUNCTION_WORDS) - negations, negations


def _clitic_variant(token: str, vocabulary: frozenset[str] | set[str]) -> bool:
    """Whether ``token`` is a word of ``vocabulary`` with a proclitic added or removed."""
    for c in _CLITICS:
        if token.startswith(c) and len(token) - len(c) >= 2 and token[len(c) :] in vocabulary:
            return True
        if c + token in vocabulary:
            return True
    return False


def _clitic_forms(token: str) -> list[str]:
    """``token`` and every word that :func:`_clitic_variant` would take for it."""
    forms = [token]
    for c in _CLITICS:
        if token.startswith(c) and len(token) - len(c) >= 2:
            forms.append(token[len(c) :])
        forms.append(c + token)
    return forms


def _light_edit(earlier: Sequence[str], later: Sequence[str], config: RepeatsConfig) -> bool:
    """Whether ``later`` says nothing that ``earlier`` does not (tokens, any order).

    Every token ``later`` has more than ``earlier`` (as multisets) must be a
    function word or a clitic variant of a token of ``earlier``; a negation
    added or dropped on either side disqualifies; numbers count as content
    unless ``config.near_same_numbers`` is off. Tokens only ``earlier`` has
    are allowed: removing ``later`` loses nothing, ``earlier`` is the more
    complete version.
    """
    function_words, negations = _word_lists(config.normalize)
    count_earlier, count_later = Counter(earlier), Counter(later)
    added, dropped = count_later - count_earlier, count_earlier - count_later
    if any(t in negations for t in added) or any(t in negations for t in dropped):
        return False
    vocabulary = set(count_earlier)
    for token in added:
        if token in function_words or _clitic_variant(token, vocabulary):
            continue
        if token.isdigit() and not config.near_same_numbers:
            continue
        return False
    return True


def light_edit(earlier: str, later: str, config: RepeatsConfig = RepeatsConfig()) -> bool:
    """Whether ``later`` may be removed as a lightly edited copy of ``earlier``, on raw texts.

    Besides :func:`near_eligible` and the similarity threshold, a ``near``
    repeat needs this: every word ``later`` adds is a function word (``the``,
    ``في``) or the same word with a clitic (``والدولية``/``الدولية``), and no
    negation is added or dropped. A template line with another name, place
    or number, or with ``not`` inserted, is another statement.

    >>> light_edit("The talks ended in Doha on Monday without any agreement",
    ...            "The talks ended in Doha on Monday, without any agreement at all")
    False
    >>> light_edit("Prices rose sharply in the province of Idlib on Monday",
    ...            "Prices rose sharply in province of Idlib on Monday")
    True
    >>> light_edit("the government would accept the proposal", "the government would not accept the proposal")
    False
    """
    return _light_edit(normalize(earlier, config.normalize).split(), normalize(later, config.normalize).split(), config)


# ---------------------------------------------------------------------------
# detection


@dataclass(frozen=True, slots=True)
class Match:
    """Where the tokens of one paragraph occur inside another."""

    first: int  # first token index in the container
    last: int  # one past the last token index
    aligned: bool  # whole sentences of the container


def _containments(inner: Paragraph, outer: Paragraph) -> list[Match]:
    """Every admissible occurrence of ``inner``'s tokens inside ``outer``.

    Admissible: starting at a sentence start of ``outer`` and ending at a
    sentence end of it (a glued copy), or starting at ``outer``'s first token
    (a truncated copy; then its last token may be the beginning of ``outer``'s
    word, cut by the truncation: ``شنغ`` for ``شنغهاي``).
    """
    t_in, t_out, sent = inner.tokens, outer.tokens, outer.sentence_of
    n, m = len(t_in), len(t_out)
    matches: list[Match] = []
    last_in, last_out = t_in[-1], t_out[n - 1]
    if n >= 2 and last_out != last_in and last_out.startswith(last_in) and t_out[: n - 1] == t_in[:-1]:
        matches.append(Match(0, n, False))
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
            matches.append(Match(p, p + n, True))
        elif p == 0:
            matches.append(Match(0, n, False))


def copy_span(outer: Paragraph, match: Match) -> tuple[int, int]:
    """Characters of a match inside ``outer``: whole sentences when aligned."""
    if match.aligned:
        first_sentence = outer.sentences[outer.sentence_of[match.first]]
        last_sentence = outer.sentences[outer.sentence_of[match.last - 1]]
        return first_sentence[0], last_sentence[1]
    return outer.token_starts[match.first], outer.token_ends[match.last - 1]


def find_relations(paragraphs: list[Paragraph], config: RepeatsConfig) -> tuple[list[Repeat], list[tuple[int, int, Match]]]:
    """All repeat relations among ``paragraphs``, plus the containment matches the cleaning plan needs.

    Args:
        paragraphs: one article, as :func:`dedup.repeats.segment.analyse` measured it.
        config: thresholds; see :class:`dedup.config.RepeatsConfig`.

    Returns:
        The relations sorted by ``(paragraph, in_, in_start, kind)``, and one
        ``(inner, outer, match)`` triple for every ``contained`` relation.
    """
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
    matches: list[tuple[int, int, Match]] = []
    related: set[tuple[int, int]] = set()
    for i in reps:
        inner = paragraphs[i]
        outers = postings[min(inner.tokens[:-1] or inner.tokens, key=rarity.__getitem__)] if indexed else reps
        for j in outers:
            outer = paragraphs[j]
            if len(inner.tokens) >= len(outer.tokens):
                continue
            for match in _containments(inner, outer):
                a, b = copy_span(outer, match)
                relations.append(Repeat(i, j, "contained", 1.0, inner.start, inner.end, a, b))
                matches.append((i, j, match))
                related.add((min(i, j), max(i, j)))

    # Near. With the index, the earlier paragraph must hold the later one's
    # rarest token that a light edit may not add (not a function word), or a
    # clitic variant of it (_light_edit requires that), so only the paragraphs
    # listed under that token and its variants are candidates. On list-like
    # articles (every line the same template) the rarest such token is the
    # one that differs, so the candidates are few. Without such a token, a
    # prefix filter (as in set-similarity joins): similarity >= t needs
    # 2 * shared >= t * (n + m) with shared <= |A & B| + repeated tokens of A,
    # and the length bound m >= n * t / (2 - t); so A and B share at least
    # ``need`` distinct tokens and must meet in A's ``|A| - need + 1`` rarest.
    # Per-paragraph values (numbers, the token) are computed once.
    threshold = config.near
    eligible = [i for i in reps if paragraphs[i].words >= config.near_min_tokens]
    eligible_set = set(eligible)
    numbers = {i: _numbers(paragraphs[i].tokens) for i in eligible} if config.near_same_numbers else {}
    function_words = _word_lists(config.normalize)[0]
    for later in eligible:
        q = paragraphs[later]
        m = len(q.tokens)
        need = math.ceil(threshold * m / (2 - threshold) - (m - len(q.vocabulary)) - 1e-9)
        if not indexed:
            candidates: Sequence[int] = [e for e in eligible if e < later]
        else:
            required = [t for t in q.vocabulary if t not in function_words and (config.near_same_numbers or not t.isdigit())]
            if required:
                token = min(required, key=rarity.__getitem__)
                holders = {e for v in _clitic_forms(token) for e in postings.get(v, ())}
            elif need > 0:
                prefix = sorted(q.vocabulary, key=rarity.__getitem__)[: len(q.vocabulary) - need + 1]
                holders = {e for tok in prefix for e in postings[tok]}
            else:
                holders = eligible_set
            candidates = sorted(e for e in holders if e < later and e in eligible_set)[:_NEAR_CANDIDATES]
        matcher: SequenceMatcher[str] | None = None
        for earlier in candidates:
            p = paragraphs[earlier]
            n = len(p.tokens)
            if (earlier, later) in related or 2 * min(n, m) < threshold * (n + m):
                continue
            # Upper bound on the tokens the two can share, from set sizes (C speed):
            # the shared vocabulary plus the repeated tokens of either side.
            shared = len(p.vocabulary & q.vocabulary) + min(n - len(p.vocabulary), m - len(q.vocabulary))
            if 2 * shared < threshold * (n + m):
                continue
            if config.near_same_numbers and numbers[earlier] != numbers[later]:
                continue
            if matcher is None:
                matcher = SequenceMatcher(None, autojunk=False)
                matcher.set_seq2(q.tokens)
            matcher.set_seq1(p.tokens)
            similarity = matcher.ratio()
            if similarity >= threshold and _light_edit(p.tokens, q.tokens, config):
                relations.append(Repeat(later, earlier, "near", round(similarity, 4), q.start, q.end, p.start, p.end))
    relations.sort(key=lambda r: (r.paragraph, r.in_, r.in_start, r.kind))
    return relations, matches
