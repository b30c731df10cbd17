"""Background document frequencies: how common a word or character n-gram is in news at large.

IDF fitted on a handful of articles is degenerate. With two texts, every
word they share gets the lowest weight and every word only one of them has
gets the highest, so IDF *lowers* the cosine of exactly the words that make
two texts alike; with five articles on one topic, the topic's names are in
all of them and weigh as little as "the". The stories stage therefore adds
``N0 = StoriesConfig.idf_prior_documents`` pseudo-documents to every batch,
whose document frequencies come from a reference corpus (``p(t)``, the
fraction of its articles holding ``t``, or 0 when ``t`` is not in the table):

    idf(t) = ln((1 + n + N0) / (1 + df(t) + N0 · p(t))) + 1

For a batch of thousands of articles the prior changes nothing that
matters; for a few articles the common words of the language still weigh
little and the shared names a lot. Without a table entry (another language,
a rarer word) the pseudo-documents only flatten the batch's own IDF, which
is the safe direction when ``n`` is tiny.

The bundled table ``data/background_df.npz`` is built by
``scripts/build_background_df.py`` from two reference corpora, the 20,329
SaudiNewsNet dev articles (Arabic, 14 Saudi outlets, July-August 2015) and
the MSRP training sentences (English news) grouped into pseudo-articles of
ten: the word unigrams and character 4-grams found in at least 0.5 % of the
documents of either, with the larger share. Columns are hash buckets, so
the table records the scheme it was built with (normalization flags, column
count, n-gram length and the buckets of two probe strings); a table whose
scheme differs from the running code is not used (:func:`background_df`
returns ``None``), never silently misread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Literal

import numpy as np

from ..config import NormalizeConfig
from ..sketch.features import TOKEN_COLUMNS
from ..text.shingle import char_shingles, token_hashes

__all__ = ["PROBE", "Kind", "background_df", "document_frequencies", "scheme"]

log = logging.getLogger(__name__)

Kind = Literal["word", "char"]
PROBE = "وزير الخارجية reported"  # hashed with the table: a changed hash or normalizer shows up as different buckets
_TABLE = "background_df.npz"


def scheme(char_k: int, normalize: NormalizeConfig) -> dict[str, int]:
    """What the table's columns depend on, as plain integers (stored with the table and compared on load).

    >>> s = scheme(4, NormalizeConfig())
    >>> sorted(s)
    ['char_k', 'fold_alef_maksura', 'fold_teh_marbuta', 'probe_char', 'probe_word', 'token_columns']
    """
    from ..text.normalize import normalize as fold

    probe = fold(PROBE, normalize)
    word, _ = token_hashes([probe])
    char, _ = char_shingles([probe], char_k)
    return {
        "token_columns": TOKEN_COLUMNS,
        "char_k": char_k,
        "fold_teh_marbuta": int(normalize.fold_teh_marbuta),
        "fold_alef_maksura": int(normalize.fold_alef_maksura),
        "probe_word": int(word[0] % np.uint64(TOKEN_COLUMNS)),
        "probe_char": int(char[0] % np.uint64(TOKEN_COLUMNS)),
    }


def document_frequencies(texts: Sequence[str], kind: Kind, char_k: int = 4) -> np.ndarray:
    """``(TOKEN_COLUMNS,)`` number of normalized texts holding each word (or character ``char_k``-gram) bucket."""
    from ..verify import hashed_rows

    if kind == "word":
        hashes, offsets = token_hashes(list(texts))
    else:
        hashes, offsets = char_shingles(list(texts), char_k)
    counts = hashed_rows(hashes, offsets)
    return np.bincount(counts.indices, minlength=TOKEN_COLUMNS)


@lru_cache(maxsize=1)
def _table() -> dict[str, np.ndarray] | None:
    try:
        with resources.files("dedup").joinpath("data").joinpath(_TABLE).open("rb") as f, np.load(f) as z:
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        log.warning("background table %s is missing: small batches use their own IDF only", _TABLE)
        return None


def background_df(kind: Kind, char_k: int, normalize: NormalizeConfig) -> tuple[np.ndarray, np.ndarray] | None:
    """``(columns, fractions)`` of the bundled table for ``kind``, or ``None`` if absent or built with another scheme.

    ``fractions[k]`` is the share of the reference articles holding a token of
    bucket ``columns[k]``.
    """
    table = _table()
    if table is None:
        return None
    current = scheme(char_k, normalize)
    for key, value in current.items():
        if kind == "word" and key in ("char_k", "probe_char"):
            continue
        if int(table[key]) != value:
            log.info("background table built with %s=%s, running with %s: not used", key, int(table[key]), value)
            return None
    return table[f"{kind}_columns"].astype(np.int64), table[f"{kind}_share"].astype(np.float64) / 65535.0
