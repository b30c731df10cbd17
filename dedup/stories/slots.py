"""Slots: the names, places and figures a templated report fills in, and the pairs that fill one template differently.

Casualty notices, congratulation cables, weather bulletins and market closes
are written on templates: the same wording around other names, places, days
and numbers. Their story vectors are alike, yet two of them are the same
event only when the filled-in slots agree. This module finds the slots and
counts, for a pair of articles, the template places they fill differently;
:func:`dedup.stories.score.story_scores` damps the pairs that disagree.

* A **slot token** is a number (not a year: every report of a month shares
  those) or a word rare in news at large: not in the background table
  (:mod:`dedup.store.background`, the words found in at least 0.5 % of the
  reference articles) or rarer than ``StoriesConfig.slot_max_share`` there.
* A **slot** is a run of one to ``SLOT_MAX_TOKENS`` slot tokens, of one kind
  (numbers, or names), with two ordinary words on each side: its **frame**.
* A frame is a **template frame** when the rows given fill it with at least
  ``template_fillers`` different fillers: the template is learned from the
  feed itself (in the event tracker: the open window), not from a list. The
  frame ``رئيس جمهورية _ بمناسبة ذكرى`` of the royal cables qualifies
  within a day; an edit inside one copied text does not.
* Two articles **disagree** on a template frame when both fill it, the fills
  differ, and neither article mentions the other's filler anywhere. Fillers
  are compared through their **match key**, which sees through the common
  spelling variants: proclitics and the article (البحرين, بالبحرين, والبحرين
  → بحرين; a number keeps its digits: و3, ال21, 100م → 3, 21, 100) and a
  consonant skeleton shared by the Arabic and Latin scripts (شيكاغو /
  شيكاجو, سوماروغا / سوماروجا, نتنياهو / نتانياهو; ``kerry`` / كيري for
  names of three consonants or more), with words written apart or together
  (عبد الله / عبدالله) both counted as mentioned.

Each article is one sparse row (:func:`slot_rows`): the mentions in the
first :data:`MENTION_COLUMNS` columns (value 1), one column per slot frame
after them, whose value packs the filler's fingerprint and the mention column
of its first token (exact in a float64). Rows stack, slice and travel between
processes like the other story inputs. :meth:`Slots.learn` finds the
template frames of a set of rows once (the tracker: once a day) and indexes
them; :func:`slot_conflicts` then joins the two rows of each pair with sorted
searches, no Python loop per pair.

``dedup similarity`` does not use slots: a few pairs are no feed to learn a
template from, and learning one from a batch of unrelated pairs (the
SemEval-2022 sample) lowered the story score's Pearson correlation with the
human ratings (0.7095 → 0.7008, Arabic 0.4285 → 0.4097).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from ..sparse import sp

from ..config import StoriesConfig
from ..sketch.features import TOKEN_COLUMNS
from ..store.background import background_df
from ..text.shingle import fmix64, hash_tokens, token_hashes

__all__ = ["MENTION_COLUMNS", "SLOT_MAX_TOKENS", "Slots", "match_key", "slot_conflicts", "slot_rows", "strip_clitics"]

MENTION_COLUMNS = 1 << 22  # a slot token falsely "mentioned" by a 600-word text: ~1.5e-4
_FRAME_COLUMNS = 1 << 30  # frame buckets after the mentions: int32 indices, nothing stored per column
_KEY_BITS = 22  # the packed value: fingerprint (30 bits) · 2^22 + mention column (22 bits) < 2^53, exact in float64
_FP_MASK = np.uint64((1 << 30) - 1)
SLOT_MAX_TOKENS = 3  # a slot holds a name of up to three words ("الباجي قائد السبسي") or a few figures
_CONTEXT = 2  # ordinary words each side that make a frame
_PRIME = np.uint64(0x100000001B3)
_NUMBER_KIND, _NAME_KIND = np.uint64(0x6E756D), np.uint64(0x6E616D)
_YEAR = re.compile(r"(?:1[34]\d\d|19\d\d|20\d\d)")  # Hijri and Gregorian years: shared by every report
_DIGITS = re.compile(r"\d+")
_PROCLITICS = frozenset("وفبلك")
# Consonant classes shared by the two scripts: long vowels, hamza seats, ع and the Latin vowels fall out, the
# letters that transcribe one sound share a class (ج غ ك ق and g j k c q: جينبينغ / جين بينج, انجليزي / انكليزي).
_SKELETON = str.maketrans(
    {**dict(zip("بتثجحخدذرزسشصضطظغفقكلمنه", "bttkhkddrzsssdtzkfkklmnh")),
     **dict(zip("bpcdfvgjkqlmnrstzxh", "bbkdffkkkklmnrstzsh")),
     **{ch: None for ch in "اويءعaeiouyw"}}
)
_REPEAT = re.compile(r"(.)\1+")
_PARTICLE_SHARE = 0.1  # a first word of a compound name is rarer than this in the background (not في, من, عن)
_MIN_SKELETON = 3  # shorter skeletons (بن, قطر → kr) would match unrelated words: those keep the exact key


@lru_cache(maxsize=1 << 18)
def strip_clitics(token: str) -> str:
    """A token without its proclitics and article, as long as three letters remain; a number keeps its digits.

    Stripping is repeated, so a name whose first letter looks like a
    proclitic loses it in every spelling alike (البحرين, بالبحرين, بحرين all
    give حرين): a key to compare by, not a word to show.

    >>> [strip_clitics(t) for t in ["البحرين", "بالبحرين", "بحرين", "وللمملكة", "مصر", "بمصر", "لاعب", "وبيروت"]]
    ['حرين', 'حرين', 'حرين', 'مملكة', 'مصر', 'مصر', 'لاعب', 'بيروت']
    >>> [strip_clitics(t) for t in ["و3", "ال21", "100م", "2015"]]
    ['3', '21', '100', '2015']
    """
    digits = _DIGITS.search(token)
    if digits is not None:
        return digits.group()
    while True:
        if token.startswith("ال") and len(token) >= 5:
            token = token[2:]
        elif token[:1] in _PROCLITICS and len(token) >= 4 and (token[1] not in "اوي" or token[1:3] == "ال"):
            token = token[1:]  # و ف ب ل ك before a consonant or the article; not the ب of بوتين, بيروت, the ل of ليبيا
        else:
            return token


def _skeleton(token: str) -> str:
    if token.isascii():
        token = _REPEAT.sub(r"\1", token)  # doubled Latin letters as one (kerry); Arabic writes a double letter once
    return token.translate(_SKELETON)


@lru_cache(maxsize=1 << 18)
def match_key(token: str) -> str:
    """What a slot token is compared by: the consonant skeleton of its clitic-free form, or that form when short.

    >>> [match_key(t) for t in ["شيكاغو", "شيكاجو", "بالبحرين", "البحرين", "بحرين", "نتنياهو", "نتانياهو", "و3"]]
    ['skk', 'skk', 'hrn', 'hrn', 'hrn', 'ntnh', 'ntnh', '3']
    >>> match_key("netanyahu"), match_key("بوتين"), match_key("putin"), match_key("علي")
    ('ntnh', 'btn', 'btn', '=علي')
    """
    key = strip_clitics(token)
    if key.isdigit():
        return key
    skeleton = _skeleton(key)
    return skeleton if len(skeleton) >= _MIN_SKELETON else "=" + key


@lru_cache(maxsize=1 << 18)
def _entry(word: str) -> tuple[str, str, int]:
    """``(clitic-free key, match key, 0 word / 1 number / 2 year)`` of one token (cached: words recur daily)."""
    key = strip_clitics(word)
    kind = 0 if not key.isdigit() else (2 if _YEAR.fullmatch(key) else 1)
    return key, match_key(word), kind


def _words_at(seqs: list[str], offsets: np.ndarray, at: np.ndarray) -> list[str]:
    """The tokens at flat positions ``at`` (as :func:`~dedup.text.shingle.token_hashes` counts them)."""
    order = np.argsort(at, kind="stable")
    pos = at[order]
    seq_of = np.searchsorted(offsets, pos, side="right") - 1
    found: list[str] = []
    last, parts = -1, []
    for s, k in zip(seq_of.tolist(), (pos - offsets[seq_of]).tolist()):
        if s != last:
            parts, last = seqs[s].split(), s
        found.append(parts[k])
    out = [""] * len(at)
    for o, w in zip(order.tolist(), found):
        out[o] = w
    return out


def _hashes(strings: list[str]) -> np.ndarray:
    """Stable uint64 hashes of strings (the token hash of :mod:`dedup.text.shingle`)."""
    if not strings:
        return np.zeros(0, dtype=np.uint64)
    out = hash_tokens([s.replace(" ", "_") for s in strings])
    assert len(out) == len(strings)
    return out


def _combine(columns: list[np.ndarray]) -> np.ndarray:
    acc = columns[0].copy()
    for c in columns[1:]:
        acc *= _PRIME
        acc += c
    return fmix64(acc ^ np.uint64(len(columns)))


def _rare_shares(raw: np.ndarray, config: StoriesConfig) -> np.ndarray:
    """The background share of each raw token hash (0 when the table lacks it or is not usable)."""
    table = background_df("word", config.char_k, config.normalize)
    if table is None:
        return np.zeros(len(raw))
    columns, shares = table
    order = np.argsort(columns)
    columns, shares = columns[order], shares[order]
    bucket = (raw % np.uint64(TOKEN_COLUMNS)).astype(np.int64)
    at = np.minimum(np.searchsorted(columns, bucket), len(columns) - 1)
    return np.where(columns[at] == bucket, shares[at], 0.0)


def slot_rows(texts: Sequence[str], titles: Sequence[str], config: StoriesConfig = StoriesConfig()) -> sp.csr_matrix:
    """One sparse row per article: its mentions and its slot frames (see the module docstring).

    Args:
        texts: normalized bodies.
        titles: normalized headlines ("" when unknown), or empty.
        config: ``slot_max_share`` and the normalization of the background table.

    Returns:
        ``(n, MENTION_COLUMNS + 2^30)`` canonical CSR matrix.

    >>> m = slot_rows(["رييس جمهوريه بنين بمناسبه ذكري", "رييس جمهوريه النيجر بمناسبه ذكري"], [])
    >>> m.shape[0], int((m.indices >= MENTION_COLUMNS).sum())
    (2, 2)
    """
    n = len(texts)
    titles = list(titles) or [""] * n
    if len(titles) != n:
        raise ValueError(f"slot_rows: {n} texts but {len(titles)} titles")
    seqs = list(texts) + titles  # bodies, then headlines: each a sequence of its own (no frame spans both)
    raw, offsets = token_hashes(seqs)
    if len(raw) == 0:
        return sp.csr_matrix((n, MENTION_COLUMNS + _FRAME_COLUMNS))
    seq_len = np.diff(offsets)
    owner = np.repeat(np.tile(np.arange(n), 2), seq_len)
    seq = np.repeat(np.arange(2 * n), seq_len)
    vocab, first, inverse = np.unique(raw, return_index=True, return_inverse=True)
    words = _words_at(seqs, offsets, first)
    entries = [_entry(w) for w in words]
    keys = [e[0] for e in entries]
    number = np.array([e[2] == 1 for e in entries], dtype=bool)
    digits = np.array([e[2] > 0 for e in entries], dtype=bool)
    shares = _rare_shares(vocab, config)
    rare = (shares < config.slot_max_share) & ~digits
    match = _hashes([e[1] for e in entries])
    key_hash = _hashes(keys)
    tok_match, tok_key = match[inverse], key_hash[inverse]
    slot = (number | rare)[inverse]
    is_num = number[inverse]

    # mentions: every token's match key, and pairs of neighbours that may also be written as one word
    nxt = np.flatnonzero(seq[1:] == seq[:-1])
    particle = np.array([len(w) <= 3 for w in words]) & (shares < _PARTICLE_SHARE) & ~digits  # عبد, ابو, عطا; not في, من
    joined = _joined(words, inverse, nxt[(slot[nxt] | slot[nxt + 1]) & particle[inverse][nxt] & ~is_num[nxt + 1]])
    mention_owner = np.concatenate([owner, owner[joined[0]]])
    mention_cols = np.concatenate([tok_match, joined[1]]) % np.uint64(MENTION_COLUMNS)

    # slots: maximal runs of slot tokens of one kind, up to SLOT_MAX_TOKENS, framed by two ordinary words each side
    frame_owner, frame_cols, values = _frames(seq, owner, slot, is_num, tok_key, tok_match)
    packed = np.sort(mention_owner.astype(np.int64) * MENTION_COLUMNS + mention_cols.astype(np.int64))
    packed = packed[np.r_[True, packed[1:] != packed[:-1]]]  # (np.unique hashes int64 in numpy 2: slower here)
    m_rows, m_cols = np.divmod(packed, MENTION_COLUMNS)
    order = np.lexsort((values, frame_cols, frame_owner))  # one value per (row, frame): the smallest
    f_rows, f_cols, f_vals = frame_owner[order], frame_cols[order], values[order]
    keep = np.ones(len(f_rows), dtype=bool)
    keep[1:] = (f_rows[1:] != f_rows[:-1]) | (f_cols[1:] != f_cols[:-1])
    f_rows, f_cols, f_vals = f_rows[keep], f_cols[keep], f_vals[keep]
    rows = np.concatenate([m_rows, f_rows])
    by_row = np.argsort(rows, kind="stable")  # each part sorted by (row, column); mention columns come first
    rows = rows[by_row]
    cols = np.concatenate([m_cols, f_cols])[by_row]
    data = np.concatenate([np.ones(len(m_rows)), f_vals])[by_row]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    m = sp.csr_matrix((data, cols.astype(np.int32), indptr), shape=(n, MENTION_COLUMNS + _FRAME_COLUMNS))
    m.has_canonical_format = True
    return m


def _joined(words: list[str], inverse: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(positions, match hashes)`` of the neighbour pairs at ``at`` written as one word (عطا الله, ابو ثنين).

    The caller keeps the pairs of a short, not too common first word (the
    particles compound names are built with) and a slot token: joining every
    pair of neighbours costs seconds per day of news.
    """
    if len(at) == 0:
        return at, np.zeros(0, dtype=np.uint64)
    code = inverse[at].astype(np.int64) * len(words) + inverse[at + 1]
    uniq, back = np.unique(code, return_inverse=True)
    left, right = np.divmod(uniq, len(words))
    pairs = [words[a] + words[b] for a, b in zip(left.tolist(), right.tolist())]
    return at, _hashes([match_key(p) for p in pairs])[back]


def _frames(seq, owner, slot, is_num, tok_key, tok_match) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each slot run's ``(owner, frame column, packed value)``, up to three frames a run; see :func:`slot_rows`.

    A run is framed by its two words on each side, and also by the two on
    its left alone and the two on its right alone: templates vary their
    wording too (رئيس جمهورية بنين الصديق / رئيس جمهورية النيجر الشقيق).
    """
    m = len(seq)
    start = slot & np.r_[True, ~slot[:-1] | (seq[1:] != seq[:-1])]
    starts = np.flatnonzero(start)
    run_id = np.cumsum(start) - 1
    ends = starts + np.bincount(run_id[slot], minlength=len(starts))  # a run stops at an ordinary word or its sequence's end
    length = ends - starts
    numbers = _run_sums(is_num, starts, ends)
    kind = np.where(numbers == length, _NUMBER_KIND, np.where(numbers == 0, _NAME_KIND, np.uint64(0)))
    ok = (length <= SLOT_MAX_TOKENS) & (kind != 0)  # a run mixing figures and names is not one slot
    starts, ends, length, kind = starts[ok], ends[ok], length[ok], kind[ok]
    seq_start = np.searchsorted(seq, seq[starts], side="left")
    seq_end = np.searchsorted(seq, seq[starts], side="right")
    left_ok, right_ok = starts - _CONTEXT >= seq_start, ends + _CONTEXT <= seq_end
    at = lambda k: tok_key[np.clip(k, 0, m - 1)]
    l3, l2, l1, r1, r2, r3 = at(starts - 3), at(starts - 2), at(starts - 1), at(ends), at(ends + 1), at(ends + 2)
    zero = np.zeros(len(starts), dtype=np.uint64)
    frames = [
        (left_ok & right_ok, _combine([l2, l1, r1, r2, kind])),
        (starts - 3 >= seq_start, _combine([l3, l2, l1, zero, kind ^ np.uint64(1)])),
        (ends + 3 <= seq_end, _combine([zero, r1, r2, r3, kind ^ np.uint64(2)])),
    ]
    fill_parts = [np.where(length > k, tok_match[np.minimum(starts + k, m - 1)], np.uint64(0)) for k in range(SLOT_MAX_TOKENS)]
    fill = _combine(fill_parts) & _FP_MASK
    value = ((fill << np.uint64(_KEY_BITS)) | (tok_match[starts] % np.uint64(MENTION_COLUMNS))).astype(np.float64)
    own = np.concatenate([owner[starts][valid] for valid, _ in frames])
    cols = np.concatenate([MENTION_COLUMNS + (frame[valid] % np.uint64(_FRAME_COLUMNS)).astype(np.int64) for valid, frame in frames])
    vals = np.concatenate([value[valid] for valid, _ in frames])
    return own, cols, vals


def _run_sums(flags: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    csum = np.r_[0, np.cumsum(flags)]
    return csum[ends] - csum[starts]


@dataclass(frozen=True)
class Slots:
    """The template frames of a set of slot rows, indexed for :func:`slot_conflicts` (learn once, look up per pair).

    Attributes:
        frames: sorted ``row · width + frame column`` of every template frame a row fills.
        fills: the filler fingerprint of each entry of ``frames``.
        firsts: the mention column of each filler's first token.
        mentions: sorted ``row · width + mention column`` of every row.
        templates: how many template frames were learned.
    """

    frames: np.ndarray
    fills: np.ndarray
    firsts: np.ndarray
    mentions: np.ndarray
    templates: int

    @classmethod
    def learn(cls, rows: sp.csr_matrix, fillers: int = 3) -> Slots:
        """The template frames of ``rows`` (:func:`slot_rows`): those filled with at least ``fillers`` different fillers.

        >>> Slots.learn(slot_rows(["رييس جمهوريه بنين بمناسبه ذكري"] * 2 + ["رييس جمهوريه النيجر بمناسبه ذكري"], []), 2).templates
        1
        """
        rows = sp.csr_matrix(rows)
        row_of = np.repeat(np.arange(rows.shape[0], dtype=np.int64), np.diff(rows.indptr))
        cols = rows.indices.astype(np.int64)
        is_frame = cols >= MENTION_COLUMNS
        f_row, f_col = row_of[is_frame], cols[is_frame]
        f_val = rows.data[is_frame].astype(np.uint64)
        f_fill = f_val >> np.uint64(_KEY_BITS)
        codes = np.sort(f_col.astype(np.uint64) << np.uint64(32) | (f_fill & np.uint64(0xFFFFFFFF)))
        codes = codes[np.r_[True, codes[1:] != codes[:-1]]] if len(codes) else codes  # distinct (frame, filler)
        frame_of = (codes >> np.uint64(32)).astype(np.int64)
        starts = np.flatnonzero(np.r_[True, frame_of[1:] != frame_of[:-1]]) if len(codes) else np.zeros(0, np.int64)
        distinct = np.diff(np.r_[starts, len(frame_of)])
        templates = frame_of[starts][distinct >= fillers]
        keep = _contains(templates, f_col)
        width = np.int64(MENTION_COLUMNS + _FRAME_COLUMNS)
        return cls(
            frames=f_row[keep] * width + f_col[keep],  # rows in order, columns sorted within a row: sorted
            fills=f_fill[keep],
            firsts=(f_val[keep] & np.uint64(MENTION_COLUMNS - 1)).astype(np.int64),
            mentions=row_of[~is_frame] * width + cols[~is_frame],
            templates=len(templates),
        )


def slot_conflicts(slots: Slots, pairs: np.ndarray) -> np.ndarray:
    """``(m,)`` how many template frames each pair ``(i, j)`` of rows fills differently (see the module docstring).

    >>> rows = slot_rows([f"رييس جمهوريه {c} بمناسبه ذكري استقلال" for c in ["بنين", "النيجر", "موريشيوس", "بنين"]], [])
    >>> slot_conflicts(Slots.learn(rows, 3), np.array([[0, 1], [0, 3], [1, 2]])).tolist()
    [2, 0, 2]
    """
    m = len(pairs)
    out = np.zeros(m, dtype=np.int64)
    if m == 0 or len(slots.frames) == 0:
        return out
    width = np.int64(MENTION_COLUMNS + _FRAME_COLUMNS)
    i, j = np.asarray(pairs[:, 0], dtype=np.int64), np.asarray(pairs[:, 1], dtype=np.int64)
    row_start = np.searchsorted(slots.frames, i * width)
    counts = np.searchsorted(slots.frames, (i + 1) * width) - row_start
    # every template frame of i, looked up in j
    pair_id = np.repeat(np.arange(m), counts)
    occ = np.repeat(row_start - (np.cumsum(counts) - counts), counts) + np.arange(int(counts.sum()))
    column = slots.frames[occ] % width
    target = j[pair_id] * width + column
    at = np.minimum(np.searchsorted(slots.frames, target), len(slots.frames) - 1)
    both = slots.frames[at] == target
    pair_id, occ, at = pair_id[both], occ[both], at[both]
    differ = slots.fills[occ] != slots.fills[at]
    pair_id, occ, at = pair_id[differ], occ[differ], at[differ]
    # neither mentions the other's filler anywhere
    a_in_b = _contains(slots.mentions, j[pair_id] * width + slots.firsts[occ])
    b_in_a = _contains(slots.mentions, i[pair_id] * width + slots.firsts[at])
    np.add.at(out, pair_id[~a_in_b & ~b_in_a], 1)
    return out


def _contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Whether each of ``keys`` is in ``sorted_keys``."""
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys
