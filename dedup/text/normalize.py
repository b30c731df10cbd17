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

Before step 1, with ``NormalizeConfig.repair`` (the default), mojibake and
HTML character references are repaired (:mod:`dedup.text.mojibake`): only
texts holding a ``&`` or a character in U+00C2..U+00F4 (the lead bytes of
UTF-8 read as Latin-1) are looked at, found with one NumPy comparison over
the code points the folding reads anyway.

Numbers are kept, not zeroed: "day 3" and "day 4" reports stay different.
Because step 3 runs before tokenizing, diacritics never split a word.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from ..config import NormalizeConfig

__all__ = ["normalize", "normalize_batch", "normalize_lines", "normalize_texts", "tokenize"]

_TATWEEL = "\u0640"


_SPACE, _NEWLINE = 32, 10
_LUT_SIZE = 0x20000  # the BMP and plane 1 hold every character that needs a rule
_CODE_POINTS = 0x110000


_BATCH = 32
_RECORD = "\x1e"  # separates texts of a batch; survives NFKD and casefold
_SEP = ord(_RECORD)
_AMP, _LEAD_LO, _LEAD_HI = 0x26, 0xC2, 0xF4  # what repair looks for: "&", and Ã..ô
_SLOW = np.uint32(0xFFFFFFFF)
_UNSET = np.uint32(0xFFFFFFFE)  # a table entry not computed yet


def _distinct(cps: np.ndarray) -> np.ndarray:
    """``np.unique(cps)`` by one sort: the first ``np.unique`` of a run imports ``numpy.ma`` (~12 ms; NumPy 2.4).

    >>> _distinct(np.array([0x62C, 0x627, 0x62C], dtype=np.uint32)).tolist()
    [1575, 1580]
    """
    out = np.sort(cps)
    return out[np.concatenate(([True], out[1:] != out[:-1]))] if len(out) > 1 else out


class _Tables:
    """Steps 1-3 as two tables over the code points, filled as characters are met.

    ``lut``: code point → code point (0 = delete, 32 = space, 10 = line
    break), below ``_LUT_SIZE``. By Unicode category: marks (Mn, Me) and format characters (Cf)
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
    Characters that fold to several (ligatures like ﻻ, the ellipsis, ß) are
    ``_SLOW`` here; :meth:`expand` puts in their foldings, so a batch
    holding them stays on the fast path too, unless it also holds a
    character that decomposes to a combining mark the folding keeps (U+0345,
    some Mc virama): only there could NFKD's reordering of marks across
    characters show, and such a batch takes the full path. Code points at
    or above ``_LUT_SIZE``, and foldings that reach there, are ``_SLOW``
    and send their batch down the full path.

    An entry is computed the first time its character is met (a few µs; a
    feed holds a few hundred distinct characters), never for all 2^17 code
    points up front: that took ~0.4 s per process, more than a run on a few
    articles spends on its work.
    """

    def __init__(self, fold_teh_marbuta: bool, fold_alef_maksura: bool) -> None:
        self.rules = {0x0A: _NEWLINE, 0x0D: _NEWLINE, _SEP: _SEP, ord(_TATWEEL): 0,
                      0x0671: 0x0627}  # alef wasla → alef (أ إ آ already decomposed by NFKD)
        if fold_alef_maksura:
            self.rules[0x0649] = 0x064A  # ى → ي
        if fold_teh_marbuta:
            self.rules[0x0629] = 0x0647  # ة → ه
        self._lut = np.full(_LUT_SIZE, _UNSET, dtype=np.uint32)
        self._direct = np.full(_CODE_POINTS, _UNSET, dtype=np.uint32)  # pages never met are never touched
        self._expansion: dict[int, np.ndarray | None] = {}  # code point → its folding of 2+ code points, or None
        self._reorders = np.zeros(_LUT_SIZE, dtype=bool)  # see _reorders_marks; set with each direct entry
        self._any_reorders = False  # whether any character met so far has such marks
        self._lock = threading.Lock()

    def lut(self, cps: np.ndarray) -> np.ndarray:
        """The table entries of ``cps`` (code points below ``_LUT_SIZE``)."""
        return self._take(self._lut, cps, self._lut_entry)

    def direct(self, cps: np.ndarray) -> np.ndarray:
        """The folded code point of each of ``cps``, or ``_SLOW``."""
        return self._take(self._direct, cps, self._direct_entry)

    @staticmethod
    def _take(table: np.ndarray, cps: np.ndarray, entry: Callable[[int], int]) -> np.ndarray:
        # take(mode="clip"): no index is out of range (code points < _CODE_POINTS, lut's < _LUT_SIZE), and this path
        # skips the bounds check of fancy indexing: ~2x faster a gather (100k synthetic articles: ~0.4 s)
        out = table.take(cps, mode="clip")
        if len(out) and out.max() >= _UNSET:  # one pass; rarely true once the feed's characters were met
            unset = out == _UNSET
            if unset.any():  # rewriting an entry with its own value is harmless: no lock needed
                new = _distinct(cps[unset])
                table[new] = [entry(cp) for cp in new.tolist()]
                out = table.take(cps, mode="clip")
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

    def _folding(self, cp: int) -> list[int] | None:
        """The code points ``cp`` folds to (deleted ones left out), or None when one is at or above ``_LUT_SIZE``."""
        if cp >= _LUT_SIZE or 0xD800 <= cp <= 0xDFFF:
            return None
        folded = [self._lut_entry(ord(c)) if ord(c) < _LUT_SIZE else -1
                  for c in unicodedata.normalize("NFKD", chr(cp)).casefold()]
        folded = [c for c in folded if c != 0]
        return None if any(c < 0 for c in folded) else folded

    def _direct_entry(self, cp: int) -> int:
        if cp < _LUT_SIZE and self._reorders_marks(cp):
            self._reorders[cp] = self._any_reorders = True
        folded = self._folding(cp)
        if folded is None:
            return int(_SLOW)
        if not folded:
            return 0
        return folded[0] if len(folded) == 1 else int(_SLOW)

    def _reorders_marks(self, cp: int) -> bool:
        """Whether ``cp`` decomposes to a combining mark (canonical class > 0) that survives folding."""
        if 0xD800 <= cp <= 0xDFFF:
            return False
        return any(
            unicodedata.combining(mark) and any(ord(c) >= _LUT_SIZE or self._lut_entry(ord(c)) != 0 for c in mark.casefold())
            for mark in unicodedata.normalize("NFKD", chr(cp))
        )

    def expand(self, raw: np.ndarray, folded: np.ndarray) -> np.ndarray | None:
        """``folded`` (:meth:`direct` of ``raw``) with each ``_SLOW`` entry replaced by its folding.

        None when some ``_SLOW`` character has no folding here (the full path
        is needed), or when the batch holds a character whose marks could be
        reordered (see the class docstring).
        """
        at = np.flatnonzero(folded == _SLOW)
        cps = raw[at]
        found = {}
        for cp in _distinct(cps).tolist():
            if cp not in self._expansion:
                f = self._folding(cp)
                with self._lock:
                    self._expansion[cp] = None if f is None else np.array(f, dtype=np.uint32)
            found[cp] = self._expansion[cp]
            if found[cp] is None:
                return None
        # every code point here is below _LUT_SIZE (the others have no folding), and met: its flag is set
        if self._any_reorders and self._reorders[raw].any():
            return None
        pieces, prev = [], 0
        for p, cp in zip(at.tolist(), cps.tolist()):
            pieces += [folded[prev:p], found[cp]]
            prev = p + 1
        pieces.append(folded[prev:])
        return np.concatenate(pieces)


@lru_cache(maxsize=8)
def _tables(fold_teh_marbuta: bool, fold_alef_maksura: bool) -> _Tables:
    return _Tables(fold_teh_marbuta, fold_alef_maksura)


def _fold(text: str, config: NormalizeConfig, records: bool = False) -> str:
    """Steps 1-4, keeping line breaks: one line per input line, words single-spaced.

    No line is empty, and none starts or ends with a space. With
    ``records``, ``text`` holds several texts joined by ``_RECORD`` (and no
    other): the separators are kept, and no line of a text reaches across one.
    """
    tables = _tables(config.fold_teh_marbuta, config.fold_alef_maksura)
    raw = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    if config.repair and _may_need_repair(raw):
        fixed = _repaired(text, raw) if records else _repair([text])[0]
        if fixed != text:
            text = fixed
            raw = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    a = tables.direct(raw)
    if len(a) and a.max() == _SLOW:
        a = tables.expand(raw, a)
    if a is None:
        decomposed = unicodedata.normalize("NFKD", text).casefold()
        a = np.frombuffer(decomposed.encode("utf-32-le"), dtype=np.uint32)
        small = a < _LUT_SIZE
        a = np.where(small, tables.lut(np.where(small, a, 0)), a)
    return _collapse(a, records).tobytes().decode("utf-32-le")


def _repair(texts: list[str]) -> list[str]:
    from .mojibake import repair_text  # here: a batch with nothing to repair never loads it

    return repair_text(texts)


def _repaired(text: str, raw: np.ndarray) -> str:
    """The texts joined by ``_RECORD`` in ``text`` (code points ``raw``), those that may need it repaired.

    Only the texts that hold an ``&`` or a Latin-1 lead byte go through
    :func:`~dedup.text.mojibake.repair_text`; it leaves any other text as it
    is, so the batch comes out the same, and a batch where one text has an
    ``&`` no longer runs the mojibake search over the other texts.
    """
    at = np.flatnonzero(((raw - np.uint32(_LEAD_LO)) <= np.uint32(_LEAD_HI - _LEAD_LO)) | (raw == _AMP))
    which = _distinct(np.searchsorted(np.flatnonzero(raw == _SEP), at)).tolist()  # the texts holding them (not np.unique: numpy.ma)
    parts = text.split(_RECORD)
    for k, fixed in zip(which, _repair([parts[k] for k in which])):
        parts[k] = fixed
    return _RECORD.join(parts)


def _may_need_repair(raw: np.ndarray) -> bool:
    """Whether code points ``raw`` hold an ``&`` or a Latin-1 view of a UTF-8 lead byte (U+00C2..U+00F4)."""
    return bool(np.count_nonzero((raw - np.uint32(_LEAD_LO)) <= np.uint32(_LEAD_HI - _LEAD_LO)) or np.count_nonzero(raw == _AMP))


def _collapse(a: np.ndarray, records: bool) -> np.ndarray:
    """Folded code points → the output: deleted ones (0) gone, each run of white space one character.

    A run of white space (spaces, line breaks and deleted characters between
    two words) becomes a line break if it holds one, else a space; a run at
    either end of the text, or of a record, is dropped, and record
    separators are all kept (an empty text is two separators in a row).

    Most white space is one space between two words: only the positions in
    longer runs, deleted characters, record separators and the ends
    (usually a few percent) are looked at one by one.
    """
    n = len(a)
    if n == 0:
        return a
    # with records the separator counts as white space: the only code points <= 32 left are 0, 10, 30 and 32
    white = a <= _SPACE if records else (a == 0) | (a == _SPACE) | (a == _NEWLINE)
    crowded = np.empty(n, dtype=bool)  # next to white space or an end
    crowded[0] = True
    crowded[1:] = white[:-1]
    crowded[:-1] |= white[1:]
    crowded[-1] = True
    crowded |= a == 0
    if records:
        crowded |= a == _SEP
    odd = np.flatnonzero(white & crowded)
    if len(odd) == 0:
        return a
    keep = np.ones(n, dtype=bool)
    keep[odd] = False
    v = a[odd]
    run_start = np.empty(len(odd), dtype=bool)
    run_start[0] = True
    np.not_equal(odd[1:], odd[:-1] + 1, out=run_start[1:])
    first = np.flatnonzero(run_start)
    last = np.append(first[1:], len(odd)) - 1
    has_nl = np.logical_or.reduceat(v == _NEWLINE, first)
    has_space = np.logical_or.reduceat(v == _SPACE, first)
    inner = (odd[first] > 0) & (odd[last] < n - 1)
    one = (has_nl | has_space) & inner
    if records:
        sep = v == _SEP
        keep[odd[sep]] = True
        one &= ~np.logical_or.reduceat(sep, first)
    at = odd[first[one]]
    keep[at] = True
    out = a.copy() if not a.flags.writeable else a
    out[at] = np.where(has_nl[one], _NEWLINE, _SPACE)
    return out[keep]


def normalize_lines(text: str, config: NormalizeConfig = NormalizeConfig()) -> list[str]:
    """Normalize ``text`` line by line; returns its non-empty normalized lines.

    >>> normalize_lines("  Hello,\\n\\n  WORLD!  \\nشُكراً")
    ['hello', 'world', 'شكرا']
    """
    if not text:
        return []
    lines = (line.strip() for line in _fold(text, config).split("\n"))  # strip: a _RECORD inside is kept here
    return [line for line in lines if line]


def normalize_texts(texts: Sequence[str], config: NormalizeConfig = NormalizeConfig()) -> list[str]:
    """Each text's :func:`normalize_lines` joined by ``"\\n"``, many texts in one NumPy pass.

    >>> normalize_texts(["A,\\nB", "", "c  d"])
    ['a\\nb', '', 'c d']
    >>> normalize_texts(["\\ufefb شيء\\u2026 Straße", "ﬁne \\u0345"])  # ligatures expanded; a kept mark: the full path
    ['لا شيء strasse', 'fine ι']
    """
    clean = [t.replace(_RECORD, " ") for t in texts]
    folded: list[str] = []
    for i in range(0, len(clean), _BATCH):  # ~100 texts keep the arrays in cache
        folded.extend(_fold(_RECORD.join(clean[i : i + _BATCH]), config, records=True).split(_RECORD))
    return folded


def normalize_batch(texts: Sequence[str], config: NormalizeConfig = NormalizeConfig()) -> list[list[str]]:
    """:func:`normalize_lines` of many texts at once (one NumPy pass for all).

    >>> normalize_batch(["A,\\nB", "", "c"])
    [['a', 'b'], [], ['c']]
    """
    return [part.split("\n") if part else [] for part in normalize_texts(texts, config)]


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
