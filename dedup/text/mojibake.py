"""Repair of mojibake (UTF-8 text decoded as Latin-1 / Windows-1252 somewhere upstream) and of HTML entities.

Real feeds carry it (``KÃ¶ln`` for ``Köln``, ``Ø§Ù„`` for ``ال``): the bytes
are intact, only decoded with the wrong codec, so the repair is exact. A
repaired and an intact copy of one article must compare as copies, so the
normalizer repairs every text first (``NormalizeConfig.repair``, on by
default; :func:`dedup.text.normalize.normalize_texts` looks at a batch's code
points and calls :func:`repair_text` only for batches that hold a ``&`` or
a Latin-1 lead character). The input records themselves are never changed.

``ftfy.fix_encoding`` does the repair (it only reverses decodings it is
confident about, so correct text is left alone); texts with none of the
characters mojibake is made of skip it, which keeps the common case fast.

:func:`repair_text` also decodes HTML character references (``&quot;``,
``&amp;``, ``&#1605;``) that scrapers leave in headlines: left in, every
headline of an outlet that escapes its quotes shares the token ``quot``,
and on the dev days that alone chained 68 unrelated articles of one outlet
into one event.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

__all__ = ["fix_mojibake", "readable", "repair_text"]

# Lead bytes of 2-4 byte UTF-8 sequences as seen through Latin-1/cp1252: Ã Â Ø Ù Ð Ñ Å Ä etc.
_SUSPECT = re.compile("[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]")


def fix_mojibake(texts: Sequence[str]) -> list[str]:
    """Texts with UTF-8-read-as-Latin-1 mojibake repaired; other texts unchanged.

    >>> fix_mojibake(["KÃ¶ln", "Köln", "Ø§Ù„Ø±ÙŠØ§Ø¶", "plain"])
    ['Köln', 'Köln', 'الرياض', 'plain']
    """
    suspect = [bool(t) and _SUSPECT.search(t) is not None for t in texts]
    if not any(suspect):
        return list(texts)
    import ftfy  # here: loading it costs ~0.1 s, and most runs never meet mojibake

    return [ftfy.fix_encoding(t) if s else t for t, s in zip(texts, suspect)]


def repair_text(texts: Sequence[str]) -> list[str]:
    """:func:`fix_mojibake`, then HTML character references decoded (``html.unescape``).

    >>> repair_text(["&quot;سبق&quot; تؤكد", "Ã¶ &amp; ü", "a & b", "&#1605;"])
    ['"سبق" تؤكد', 'ö & ü', 'a & b', 'م']
    """
    return [html.unescape(t) if "&" in t else t for t in fix_mojibake(texts)]


def readable(text: str) -> str:
    """``text`` as a page or a label shows it: repaired (:func:`repair_text`) and on one line.

    For headlines and excerpts only: a text whose passages are marked by
    offsets is shown as it came.

    >>> readable("هادي يعين &#8220;نايف البكري&#8221;\\t\\t محافظاً")
    'هادي يعين “نايف البكري” محافظاً'
    """
    return " ".join(repair_text([text])[0].split()) if text else ""
