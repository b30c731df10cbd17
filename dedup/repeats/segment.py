"""Cut one article into paragraphs and sentences, and locate its tokens in the original text.

Everything the matcher compares is measured here once per text: a
:class:`Paragraph` holds the normalized tokens of one paragraph, the character
span each came from and the sentence it belongs to, so that a match found on
normalized tokens can be cut out of the raw text. The definitions of paragraph,
sentence and token are in ``docs/repeats.md``.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat

import numpy as np

from ..config import NormalizeConfig
from ..text.normalize import normalize

__all__ = ["LINE_BREAK_CHARS", "Paragraph", "analyse", "located_tokens", "paragraph_spans", "sentence_spans"]

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
LINE_BREAK_CHARS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # where str.splitlines cuts
_LINE_BREAKS = frozenset(LINE_BREAK_CHARS)


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
        body = line.rstrip(LINE_BREAK_CHARS)
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
class Paragraph:
    """A paragraph with its tokens located in the original text, built by :func:`analyse`.

    The matcher compares ``tokens`` (and ``vocabulary`` for its set filters);
    ``token_starts``/``token_ends`` and ``sentences`` map a match back to
    characters of the original text.
    """

    start: int
    end: int
    tokens: tuple[str, ...]
    token_starts: tuple[int, ...]
    token_ends: tuple[int, ...]
    sentence_of: tuple[int, ...]  # sentence number of every token
    sentences: tuple[tuple[int, int], ...]
    words: int  # tokens that are not pure numbers
    vocabulary: frozenset[str]


def located_tokens(text: str, config: NormalizeConfig) -> tuple[list[str], list[int], list[int]]:
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
        if len(run_tokens) != n:  # the repair of mojibake read across a break ("Å\x9f" is one letter): run by run
            run_tokens = [normalize(piece, config).split() for piece in pieces]
    tokens: list[str] = []
    tok_starts: list[int] = []
    tok_ends: list[int] = []
    for toks, a, b in zip(run_tokens, starts, ends):
        tokens.extend(toks)
        tok_starts.extend([a] * len(toks))
        tok_ends.extend([b] * len(toks))
    return tokens, tok_starts, tok_ends


def analyse(text: str, config: NormalizeConfig) -> list[Paragraph]:
    """Paragraphs with located tokens and sentences; one normalizer call per text."""
    tokens, starts, ends = located_tokens(text, config)
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
            Paragraph(
                start, end, toks, tok_starts, tuple(ends[k0:k1]), sentence_of, tuple(sentences), words, frozenset(toks)
            )
        )
    return paragraphs
