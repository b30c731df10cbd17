"""One normalizer for every stage (Arabic- and Latin-script aware).

The order matters and is:

1. **NFKD**: compatibility decomposition. Arabic presentation forms (ﻻ) become
   plain letters, accented Latin letters split into base + combining mark, and
   hamza/madda carriers split off (أ → ا + ◌ٔ), which step 3 then removes.
2. **casefold**: after decomposition, so that its own outputs (e.g. İ → i̇)
   also lose their marks in step 3.
3. **one translation table**: delete combining marks (harakat, shadda,
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
from functools import lru_cache

from .config import NormalizeConfig

__all__ = ["normalize", "tokenize"]

_TATWEEL = "\u0640"


@lru_cache(maxsize=8)
def _table(fold_teh_marbuta: bool, fold_alef_maksura: bool) -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    # The Basic Multilingual Plane and plane 1 (emoji, symbols) hold every
    # character that needs a rule; scanning all 17 planes would cost ~0.5 s.
    for cp in range(0x20000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if cat in ("Mn", "Me", "Cf"):
            table[cp] = None
        elif cat == "Nd":
            table[cp] = str(unicodedata.decimal(ch))
        elif cat[0] in ("P", "S") or cat in ("Zs", "Zl", "Zp", "Cc"):
            table[cp] = " "
    for cp in range(0x30, 0x3A):  # ASCII digits map to themselves
        table.pop(cp, None)
    table[ord(_TATWEEL)] = None
    table[ord("\u0671")] = "\u0627"  # alef wasla → alef (أ إ آ decompose in NFKD)
    if fold_alef_maksura:
        table[ord("\u0649")] = "\u064a"  # ى → ي
    if fold_teh_marbuta:
        table[ord("\u0629")] = "\u0647"  # ة → ه
    for ws in "\t\n\r ":
        table.pop(ord(ws), None)
    return table


def normalize(text: str, config: NormalizeConfig = NormalizeConfig()) -> str:
    """Normalize ``text`` for comparison.

    Args:
        text: raw text in any script.
        config: which optional Arabic foldings to apply.

    Returns:
        The folded text: tokens separated by single spaces, no punctuation.

    >>> normalize("قالَ الرئيسُ: «أهلاً»، يوم ٣")
    'قال الرييس اهلا يوم 3'
    >>> normalize("Café CRÈME, déjà-vu!")
    'cafe creme deja vu'
    """
    if not text:
        return ""
    folded = unicodedata.normalize("NFKD", text).casefold()
    folded = folded.translate(_table(config.fold_teh_marbuta, config.fold_alef_maksura))
    return " ".join(folded.split())


def tokenize(text: str, config: NormalizeConfig = NormalizeConfig()) -> list[str]:
    """Normalize ``text`` and split it into tokens.

    >>> tokenize("وَقالَ: \u0627\u0644\u0640\u0640\u0631\u0626\u064a\u0633")
    ['وقال', 'الرييس']
    """
    return normalize(text, config).split()
