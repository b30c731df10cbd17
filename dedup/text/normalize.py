"""One normalizer for every stage (Arabic- and Latin-script aware).

The order matters and is:

1. **NFKD**: compatibility decomposition. Arabic presentation forms (ﻻ) become
   plain letters, accented Latin letters split into base + combining mark, and
   hamza/madda carriers split off (أ → ا + ◌ٔ), which step 3 then removes.
2. **casefold**: after decomposition, so that its own outputs (e.g. İ → i̇)
   also lose their marks in step 3.
3. **one lookup table** (a NumPy gather over the code points): delete combining marks (harakat, shadda,
   Latin accents), format and bidi characters (ZWNJ, RLM, LRE…) and tatweel;
   fold alef wasla ٱ → ا, ى → ي and ة → ه (both configurable); map every
   decimal digit of any script (Arabic-Indic, Persian…) to ASCII; turn every
   punctuation or symbol character (including ، ؛ ؟ « ») into a space.
4. **whitespace**: split and join with single spaces.

Numbers are kept, not zeroed: "day 3" and "day 4" reports stay different.
Because step 3 runs before tokenizing, diacritics never split a word.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from ..config import NormalizeConfig

__all__ = ["normalize", "normalize_batch", "normalize_lines", "tokenize"]

_TATWEEL = "\u0640"


_SPACE, _NEWLINE = 32, 10
_LUT_SIZE = 0x20000  # the BMP and plane 1 hold every character that needs a rule


_BATCH = 32
_RECORD = "\x1e"  # separates texts of a batch; survives NFKD and casefold
_SLOW = np.uint32(0xFFFFFFFF)
_UNSET = np.uint32(0xFFFFFFFE)  # a table entry not computed yet


class _Tables:
    """Steps 1-3 as two tables over the code points below ``_LUT_SIZE``, filled as characters are met.

    ``lut``: code point → code point (0 = delete, 32 = space, 10 = line
    break). By Unicode category: marks (Mn, Me) and format characters (Cf)
    are deleted, decimal digits (Nd) become ASCII digits, punctuation,
    symbols, separators and controls become a space; tatweel is deleted and
    the Arabic foldings apply; every other code point maps to itself.
    Applying it is one NumPy gather instead of a dict lookup per character
    (``str.translate`` runs at ~130 ns per character).

    ``direct``: steps 1-3 at once, raw code point → folded code point. NFKD,
    casefold and the table act on each character independently (the only
    context-dependent part of NFKD, the reordering of combining marks, does
    not matter because marks are deleted), so most characters fold to one
    code point or none, and a text made only of those skips the ~1 s per 20k
    articles that ``unicodedata.normalize`` and ``str.casefold`` cost.
    Characters that fold to several (ligatures like ﻻ, ß, fractions) are
    ``_SLOW`` and send their batch down the full path.

    An entry is computed the first time its character is met (a few µs; a
    feed holds a few hundred distinct characters), never for all 2^17 code
    points up front: that took ~0.4 s per process, more than a run on a few
    articles spends on its work.
    """

    def __init__(self, fold_teh_marbuta: bool, fold_alef_maksura: bool) -> None:
        self.rules = {0x0A: _NEWLINE, 0x0D: _NEWLINE, ord(_RECORD): ord(_RECORD), ord(_TATWEEL): 0,
                      0x0671: 0x0627}  # alef wasla → alef (أ إ آ already decomposed by NFKD)
        if fold_alef_maksura:
            self.rules[0x0649] = 0x064A  # ى → ي
        if fold_teh_marbuta:
            self.rules[0x0629] = 0x0647  # ة → ه
        self._lut = np.full(_LUT_SIZE, _UNSET, dtype=np.uint32)
        self._direct = np.full(_LUT_SIZE, _UNSET, dtype=np.uint32)

    def lut(self, cps: np.ndarray) -> np.ndarray:
        """The table entries of ``cps`` (code points below ``_LUT_SIZE``)."""
        return self._take(self._lut, cps, self._lut_entry)

    def direct(self, cps: np.ndarray) -> np.ndarray:
        """The folded code point of each of ``cps`` (below ``_LUT_SIZE``), or ``_SLOW``."""
        return self._take(self._direct, cps, self._direct_entry)

    @staticmethod
    def _take(table: np.ndarray, cps: np.ndarray, entry: Callable[[int], int]) -> np.ndarray:
        out = table[cps]
        unset = out == _UNSET
        if unset.any():  # rewriting an entry with its own value is harmless: no lock needed
            new = np.unique(cps[unset])
            table[new] = [entry(cp) for cp in new.tolist()]
            out = table[cps]
        return out

    def _lut_entry(self, cp: int) -> int:
        if cp in self.rules:
            return self.rules[cp]
        if 0xD800 <= cp <= 0xDFFF:  # surrogates are not characters
            return cp
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if cat in ("Mn", "Me", "Cf"):
            return 0
        if cat == "Nd":
            return ord(str(unicodedata.decimal(ch)))
        if cat[0] in ("P", "S") or cat in ("Zs", "Zl", "Zp", "Cc"):
            return _SPACE
        return cp

    def _direct_entry(self, cp: int) -> int:
        if 0xD800 <= cp <= 0xDFFF:
            return int(_SLOW)
        folded = [self._lut_entry(ord(c)) if ord(c) < _LUT_SIZE else -1
                  for c in unicodedata.normalize("NFKD", chr(cp)).casefold()]
        folded = [c for c in folded if c != 0]
        if not folded:
            return 0
        return folded[0] if len(folded) == 1 and folded[0] >= 0 else int(_SLOW)


@lru_cache(maxsize=8)
def _tables(fold_teh_marbuta: bool, fold_alef_maksura: bool) -> _Tables:
    return _Tables(fold_teh_marbuta, fold_alef_maksura)


def _fold(text: str, config: NormalizeConfig) -> str:
    """Steps 1-4, keeping line breaks: one line per input line, words single-spaced.

    ``text`` may hold several texts joined by ``_RECORD``, which is kept.
    """
    tables = _tables(config.fold_teh_marbuta, config.fold_alef_maksura)
    raw = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    fast = None
    if not (raw >= _LUT_SIZE).any():
        fast = tables.direct(raw)
        if (fast == _SLOW).any():
            fast = None
    if fast is not None:
        a = fast
    else:
        decomposed = unicodedata.normalize("NFKD", text).casefold()
        a = np.frombuffer(decomposed.encode("utf-32-le"), dtype=np.uint32)
        small = a < _LUT_SIZE
        a = np.where(small, tables.lut(np.where(small, a, 0)), a)
    a = a[a != 0]
    ws = (a == _SPACE) | (a == _NEWLINE)
    if len(a) == 0:
        return ""
    # Collapse each run of white space to one character: a line break if the
    # run holds one, else a space.
    run_start = ws & ~np.concatenate(([False], ws[:-1]))
    run_id = np.cumsum(run_start) - 1
    has_nl = np.bincount(run_id[a == _NEWLINE], minlength=int(run_start.sum())) > 0
    out = a.copy()
    starts = np.flatnonzero(run_start)
    out[starts] = np.where(has_nl, _NEWLINE, _SPACE)
    return out[~ws | run_start].tobytes().decode("utf-32-le")


def normalize_lines(text: str, config: NormalizeConfig = NormalizeConfig()) -> list[str]:
    """Normalize ``text`` line by line; returns its non-empty normalized lines.

    >>> normalize_lines("  Hello,\\n\\n  WORLD!  \\nشُكراً")
    ['hello', 'world', 'شكرا']
    """
    if not text:
        return []
    lines = (line.strip() for line in _fold(text, config).split("\n"))
    return [line for line in lines if line]


def normalize_batch(texts: Sequence[str], config: NormalizeConfig = NormalizeConfig()) -> list[list[str]]:
    """:func:`normalize_lines` of many texts at once (one NumPy pass for all).

    >>> normalize_batch(["A,\\nB", "", "c"])
    [['a', 'b'], [], ['c']]
    """
    clean = [t.replace(_RECORD, " ") for t in texts]
    folded: list[str] = []
    for i in range(0, len(clean), _BATCH):  # ~100 texts keep the arrays in cache
        folded.extend(_fold(_RECORD.join(clean[i : i + _BATCH]), config).split(_RECORD))
    out = []
    for part in folded:
        lines = (line.strip() for line in part.split("\n"))
        out.append([line for line in lines if line])
    return out


def normalize(text: str, config: NormalizeConfig = NormalizeConfig()) -> str:
    """Normalize ``text`` for comparison.

    Args:
        text: raw text in any script.
        config: which optional Arabic foldings to apply.

    Returns:
        The folded text: tokens separated by single spaces, no punctuation,
        no line breaks.

    >>> normalize("قالَ الرئيسُ: «أهلاً»، يوم ٣")
    'قال الرييس اهلا يوم 3'
    >>> normalize("Café CRÈME, déjà-vu!")
    'cafe creme deja vu'
    """
    return " ".join(normalize_lines(text, config))


def tokenize(text: str, config: NormalizeConfig = NormalizeConfig()) -> list[str]:
    """Normalize ``text`` and split it into tokens.

    >>> tokenize("وَقالَ: \u0627\u0644\u0640\u0640\u0631\u0626\u064a\u0633")
    ['وقال', 'الرييس']
    """
    return normalize(text, config).split()
