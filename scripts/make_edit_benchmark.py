#!/usr/bin/env python3
"""A feed of real base articles and edited variants whose duplicate truth is known by construction.

A second check of the duplicate decision (issue 11, item 3), on data built
differently from the hand labels the learned decision was fitted on. Each base
article appears in the feed unchanged, followed by edited variants; every
(base, variant) pair, and some (base, base) pairs, is listed with its truth.

**Bases.** Arabic: SaudiNewsNet dev days (60-1,500 words), in a seeded order.
English: there are no English article bodies in ``shared/data`` (UCI has
headlines only, MSRP single sentences), so English bases are *pseudo-articles*:
the MSRP ``#1`` sentences in id order (each followed by its ``#2`` sentence
when the pair is labelled *not* a paraphrase, a related but different
sentence), 5-10 sentences an article, 1-3 sentences a paragraph. They read as
a column of unrelated news sentences, which a shingle detector does not
mind. Their titles are UCI headlines (unrelated to the body; ``dedupe`` does
not compare titles), their outlets the UCI top publishers, their dates
synthetic (2014-03-10..14). The MSRP ``#2`` sentence of a *paraphrase* pair
is kept aside as a human rewrite of its ``#1`` sentence, for ``reled``.
In each language, an article that shares more than 15% of its own, or of an
earlier kept article's, sampled word 3-grams (1 in 2) with that article (a natural
reprint or rewrite) is dropped first, so bases are mutually unrelated; the
rest are split into *bases* (in the feed) and *fillers* (never in the feed
whole: they lend titles, paragraphs, leads and roundup items to variants,
drawn without replacement until every one was used, so two variants of
different bases rarely share a filler).

**DUP edits** (truth ``dup: true``; "units" are paragraphs when the text has
3 or more, else sentences):

==============  ===============================================================
``retitled``    another article's title, the same body (an exact text copy)
``trimmed``     the last 20-50% of the units dropped (at least one kept)
``extended``    a filler paragraph appended: consecutive units of a filler from
                >= 25 words, cut at half the base's words (at least 25)
``reled``       the first unit (at most 40% of the words) replaced: ``other``
                the lead of a filler of the same day (cut at 1.5 times the old
                lead), ``scramble`` the lead's words shuffled and 25% of them
                replaced, ``paraphrase`` (English, when the lead holds an MSRP
                paraphrase-pair sentence) its human paraphrase
``mid_insert``  a filler paragraph (as for ``extended``) inserted between two
                units (not before the first or after the last)
``mid_drop``    one unit that is neither the first nor the last, at most 40% of
                the words, dropped
``light_edit``  2-6% of the words substituted (a corpus word, by frequency) or
                deleted, half and half
``roundup``     a short base (40-200 words, English 40-250) whole, as its own
                paragraphs, among 2-4 items under a roundup title; items are
                short fillers whole (Arabic) or, where those are too few for
                every roundup (English), filler paragraphs of 20+ words
``boilerplate`` the outlet's byline line on top (``byline``), its "follow us"
                line and share bar at the end (``footer``), or ``both``
==============  ===============================================================

**NOT-DUP pairs** (truth ``dup: false``):

===================  ==========================================================
``template``         a variant with every number replaced (same digit count,
                     another value) and every rare word replaced by another
                     article's (one mapping per text, so a name changes the same
                     way everywhere), the wording kept: the same template filled
                     with other news. Rare: Arabic, a word in at most 0.2% of
                     the pool's articles; English, a capitalized word whose
                     lower-case form is under 20% of its uses (names, places,
                     organisations). At least 8% of the words must change.
``same_source_day``  two bases of one outlet and one day (TOPIC-ish)
``random``           two bases drawn at random
===================  ==========================================================

Every variant (``template`` too) gets its outlet and date from one
distribution: the base's outlet with probability 0.25, else another; 10 min to
36 h after its base. So the metadata cannot tell a template from a copy; the
text must.

Outputs: ``--out`` (JSONL, one article a line: ``id``, ``title``, ``text``,
``date``, ``source``, ``lang``, ``uses`` = the base and filler ids whose text
went into it) sorted by date then id, and ``--pairs-out`` (JSONL: ``lang``,
``id1`` (base), ``id2``, ``dup``, ``kind``, ``detail``, ``share`` = the kind's
measure, ``same_source``, ``hours``). Both hold dataset text: they must be
written outside the repository. Deterministic for a ``--seed``. A language
whose data is absent is skipped with a message. Usage::

    python scripts/make_edit_benchmark.py --out /tmp/edit.jsonl --pairs-out /tmp/edit.pairs.jsonl
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import time
import unicodedata
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate, chain
from pathlib import Path

import xxhash

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_saudinewsnet, repo_root, saudinewsnet_dir, shared_data  # noqa: E402

__all__ = [
    "DUP_KINDS",
    "NOT_DUP_KINDS",
    "Base",
    "Benchmark",
    "Language",
    "boilerplate",
    "build",
    "drop_middle",
    "english_articles",
    "latin_language",
    "extend",
    "insert_middle",
    "join_units",
    "light_edit",
    "main",
    "mutually_unrelated",
    "relead",
    "roundup",
    "scramble",
    "template_swap",
    "trim_ending",
    "units",
]

DUP_KINDS = ("retitled", "trimmed", "extended", "reled", "mid_insert", "mid_drop", "light_edit", "roundup", "boilerplate")
VARIANT_NOT_DUP = ("template",)
PAIR_NOT_DUP = ("same_source_day", "random")
NOT_DUP_KINDS = VARIANT_NOT_DUP + PAIR_NOT_DUP
DATE_FMT = "%Y-%m-%d %H:%M:%S"
MIN_TEMPLATE_CHANGE = 0.08
MAX_UNIT_SHARE = 0.4  # a lead replaced or a unit dropped is at most this share of the words: else it is another text
SAME_SOURCE_P = 0.25

_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"[0-9\u0660-\u0669\u06f0-\u06f9]+")
_PARAS = re.compile(r"\s*\n\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?\u061f])\s+")
_SPACES = re.compile(r"(\s+)")
_DATE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
_TASHKEEL = re.compile(r"[\u064b-\u0652\u0640]")  # harakat and tatweel: dropped before the overlap check


# --------------------------------------------------------------------------- records
@dataclass(frozen=True)
class Base:
    """A source text: a base (goes into the feed) or a filler (lends parts)."""

    id: str
    title: str
    text: str
    source: str
    date: datetime

    @property
    def words(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True)
class Language:
    """What the edits of one language need besides the texts.

    ``vocabulary``/``weights``: words for substitution, drawn by corpus
    frequency. ``is_rare`` says which words a template replaces and
    ``rare_pool`` what they are replaced by (sorted, for determinism).
    ``paraphrase``: a human rewrite of a sentence, where one is known.
    """

    code: str
    sources: tuple[str, ...]
    vocabulary: tuple[str, ...]
    cum_weights: tuple[int, ...]
    is_rare: Callable[[str], bool]
    rare_pool: tuple[str, ...]
    bylines: tuple[str, ...]
    footers: tuple[str, ...]
    share_bars: tuple[str, ...]
    roundup_titles: tuple[str, ...]
    reporters: tuple[str, ...]
    roundup_words: tuple[int, int] = (40, 200)
    paraphrase: dict[str, str] = field(default_factory=dict)

    def random_word(self, rng: random.Random) -> str:
        return self.vocabulary[bisect(self.cum_weights, rng.random() * self.cum_weights[-1])]


@dataclass(frozen=True)
class Benchmark:
    """One language's feed records, its pairs with their truth, and how many pairs of each kind."""

    articles: list[dict]
    pairs: list[dict]
    counts: dict[str, int]


# --------------------------------------------------------------------------- text units
def units(text: str) -> tuple[list[str], str]:
    """Paragraphs when there are at least 3, else sentences; with the joiner that rebuilds the text.

    >>> units("One. Two! Three?")
    (['One.', 'Two!', 'Three?'], ' ')
    """
    paras = [p for p in _PARAS.split(text.strip()) if p]
    if len(paras) >= 3:
        return paras, "\n\n"
    return [s for s in _SENTENCE_END.split(" ".join(paras)) if s], " "


def join_units(parts: Sequence[str], joiner: str) -> str:
    return joiner.join(parts)


def _n_words(parts: Sequence[str]) -> int:
    return sum(len(p.split()) for p in parts)


def other_paragraph(text: str, rng: random.Random, min_words: int = 25, max_words: int | None = None) -> str:
    """Consecutive units of ``text`` from a random start until ``min_words`` words (or the end), cut at ``max_words``."""
    parts, _ = units(text)
    start = rng.randrange(len(parts))
    out: list[str] = []
    for p in parts[start:]:
        out.append(p)
        if _n_words(out) >= min_words:
            break
    words = " ".join(out).split()
    return " ".join(words[:max_words] if max_words else words)


# --------------------------------------------------------------------------- DUP edits (pure)
def trim_ending(text: str, rng: random.Random) -> tuple[str, float]:
    """Drop the last 20-50% of the units (at least one kept); returns the text and the share of words kept."""
    parts, joiner = units(text)
    cut = rng.uniform(0.20, 0.50)
    keep = min(len(parts) - 1, max(1, round(len(parts) * (1 - cut))))
    return join_units(parts[:keep], joiner), _n_words(parts[:keep]) / max(1, _n_words(parts))


def extend(text: str, paragraph: str) -> str:
    """The text with ``paragraph`` appended as its last paragraph."""
    return f"{text.rstrip()}\n\n{paragraph}"


def relead(text: str, lead: str) -> tuple[str, float]:
    """The first unit replaced by ``lead``; returns the text and the share of words of the replaced lead."""
    parts, joiner = units(text)
    return join_units([lead, *parts[1:]], joiner), len(parts[0].split()) / max(1, _n_words(parts))


def scramble(lead: str, rng: random.Random, lang: Language, replace: float = 0.25) -> str:
    """The words of ``lead`` shuffled, ``replace`` of them swapped for corpus words: a rewrite with the same vocabulary."""
    words = lead.split()
    rng.shuffle(words)
    return " ".join(lang.random_word(rng) if rng.random() < replace else w for w in words)


def insert_middle(text: str, paragraph: str, rng: random.Random) -> str:
    """``paragraph`` inserted between two units (never before the first or after the last)."""
    parts, joiner = units(text)
    at = rng.randint(1, len(parts) - 1)
    return join_units([*parts[:at], paragraph, *parts[at:]], joiner)


def drop_middle(text: str, rng: random.Random, max_share: float = MAX_UNIT_SHARE) -> tuple[str, float]:
    """One unit that is neither the first nor the last, nor more than ``max_share`` of the words, dropped.

    Returns the text and the share of words dropped.

    Raises:
        ValueError: no such unit.
    """
    parts, joiner = units(text)
    total = max(1, _n_words(parts))
    middle = [k for k in range(1, len(parts) - 1) if len(parts[k].split()) <= max_share * total]
    if not middle:
        raise ValueError("drop_middle: no middle unit small enough")
    at = middle[rng.randrange(len(middle))]
    return join_units(parts[:at] + parts[at + 1:], joiner), len(parts[at].split()) / max(1, _n_words(parts))


def light_edit(text: str, rng: random.Random, lang: Language) -> tuple[str, float]:
    """2-6% of the words substituted or deleted (half and half); returns the text and the share edited."""
    rate = rng.uniform(0.02, 0.06)
    tokens = _SPACES.split(text)  # words at even positions, whitespace at odd ones
    out: list[str] = []
    edited = words = 0
    for k in range(0, len(tokens), 2):
        word, space = tokens[k], tokens[k + 1] if k + 1 < len(tokens) else ""
        if word:
            words += 1
            if rng.random() < rate:
                edited += 1
                if rng.random() < 0.5:
                    continue  # deleted, with its following space
                word = lang.random_word(rng)
        out.append(word + space)
    return "".join(out), edited / max(1, words)


def roundup(text: str, items: Sequence[str], rng: random.Random) -> tuple[str, float]:
    """``text`` whole, as its own paragraphs, at a random place among ``items``; returns it and the base's share of words."""
    blocks = [join_units(units(t)[0], "\n\n") for t in items]
    mine = join_units(units(text)[0], "\n\n")
    blocks.insert(rng.randint(0, len(blocks)), mine)
    return "\n\n".join(blocks), len(mine.split()) / max(1, sum(len(b.split()) for b in blocks))


def boilerplate(text: str, source: str, how: str, rng: random.Random, lang: Language) -> str:
    """The outlet's byline on top (``byline``), its "follow us" line and share bar below (``footer``), or ``both``.

    One footer and share bar per outlet (so a feed repeats them, as a site
    does); the reporter of a byline is one of a few per outlet.
    """
    h = xxhash.xxh32_intdigest(source.encode())  # a fixed style per outlet (not hash(): it differs between processes)
    out = text.rstrip()
    if how in ("byline", "both"):
        reporter = lang.reporters[(h + rng.randrange(3)) % len(lang.reporters)]
        out = lang.bylines[h % len(lang.bylines)].format(name=reporter, source=source) + "\n\n" + out
    if how in ("footer", "both"):
        footer = lang.footers[h % len(lang.footers)].format(source=source)
        out = f"{out}\n\n{footer}\n{lang.share_bars[h % len(lang.share_bars)]}"
    return out


# --------------------------------------------------------------------------- NOT-DUP edit (pure)
def _new_number(digits: str, rng: random.Random) -> str:
    zero = chr(ord(digits[0]) - unicodedata.digit(digits[0]))  # the script's zero: ASCII, Arabic-Indic or Persian
    for _ in range(20):
        value = [rng.randrange(10) for _ in digits]
        if len(digits) > 1 and value[0] == 0:
            value[0] = rng.randrange(1, 10)
        new = "".join(chr(ord(zero) + v) for v in value)
        if new != digits:
            return new
    return new


def template_swap(text: str, rng: random.Random, lang: Language, mapping: dict[str, str] | None = None) -> tuple[str, float]:
    """Every number and every rare word of ``text`` replaced, the wording kept.

    Numbers get another value with the same number of digits (in the same
    script); rare words (``lang.is_rare``) another rare word of
    ``lang.rare_pool``, one mapping per text (pass ``mapping`` to share it
    with the title). Returns the text and the share of words changed.
    """
    mapping = {} if mapping is None else mapping
    changed = total = 0

    def word(m: re.Match) -> str:
        nonlocal changed, total
        w = m.group(0)
        total += 1
        if _DIGITS.search(w):
            changed += 1
            return _DIGITS.sub(lambda d: _new_number(d.group(0), rng), w)
        if lang.is_rare(w):
            if w not in mapping:
                new = w
                for _ in range(20):
                    new = lang.rare_pool[rng.randrange(len(lang.rare_pool))]
                    if new != w:
                        break
                mapping[w] = new
            changed += mapping[w] != w
            return mapping[w]
        return w

    out = _WORD.sub(word, text)
    return out, changed / max(1, total)


# --------------------------------------------------------------------------- bases
def _grams(text: str, n: int = 3, sample: int = 2) -> set[int]:
    words = _WORD.findall(_TASHKEEL.sub("", text).casefold())
    out = set()
    for k in range(len(words) - n + 1):
        h = xxhash.xxh64_intdigest(" ".join(words[k: k + n]).encode())
        if h % sample == 0:
            out.add(h)
    return out


def mutually_unrelated(texts: Sequence[str], max_shared: float = 0.15, limit: int | None = None) -> list[int]:
    """Positions of ``texts`` kept in order: each is dropped that shares more than ``max_shared`` of its own, or of a kept text's, sampled word 3-grams with that kept text.

    Both directions, so neither a short reprint of a kept text nor a long
    text that reprints a kept one passes. Stops once ``limit`` are kept.

    >>> mutually_unrelated(["a b c d e f g h i j", "x a b c d e f g h i j y", "k l m n o p q r s t"])
    [0, 2]
    """
    owner: dict[int, int] = {}  # gram → the kept text that had it first
    sizes: list[int] = []
    kept: list[int] = []
    for k, text in enumerate(texts):
        if limit is not None and len(kept) >= limit:
            break
        grams = _grams(text)
        shared = Counter(owner[g] for g in grams if g in owner)
        if any(c > max_shared * len(grams) or c > max_shared * sizes[o] for o, c in shared.items()):
            continue
        for g in grams:
            owner.setdefault(g, len(kept))
        sizes.append(len(grams))
        kept.append(k)
    return kept


def _vocabulary(texts: Sequence[str]) -> tuple[tuple[str, ...], tuple[int, ...], Counter]:
    counts = Counter(chain.from_iterable(t.split() for t in texts))
    df = Counter(chain.from_iterable(set(_WORD.findall(t)) for t in texts))
    vocab = sorted(counts, key=lambda w: (-counts[w], w))
    return tuple(vocab), tuple(accumulate(counts[w] for w in vocab)), df


ARABIC_STYLE = dict(
    bylines=("كتب: {name}", "{source} - {name}", "الرياض - {name}", "متابعة: {name}"),
    footers=("تابعونا على تويتر @{source}", "لمزيد من الأخبار تابعونا على تويتر وفيسبوك: {source}",
             "حمّل تطبيق {source} لمتابعة آخر الأخبار لحظة بلحظة", "جميع الحقوق محفوظة لصحيفة {source}"),
    share_bars=("شارك الخبر: فيسبوك | تويتر | واتساب | البريد الإلكتروني", "مشاركة: تويتر - فيسبوك - جوجل بلس - طباعة",
                "أرسل لصديق | طباعة | تويتر | فيسبوك"),
    roundup_titles=("موجز الأخبار", "أبرز أخبار اليوم", "جولة في أخبار الصباح", "حصاد اليوم", "نشرة المساء"),
    reporters=("محمد العتيبي", "عبدالله الشهري", "فهد القحطاني", "سارة الغامدي", "خالد الدوسري", "نورة الزهراني",
               "سعد الحربي", "ماجد المطيري", "ريم السبيعي", "تركي العنزي", "هند المالكي", "ناصر الشمري"),
)
ENGLISH_STYLE = dict(
    bylines=("By {name}", "By {name}, {source}", "{name} | {source} staff", "Reporting by {name}"),
    footers=("Follow {source} on Twitter and Facebook for the latest news.", "Copyright {source}. All rights reserved.",
             "Get the {source} app for breaking news alerts.", "Sign up for the {source} newsletter."),
    share_bars=("Share: Facebook | Twitter | Email | Print", "Share this story: Twitter - Facebook - LinkedIn",
                "Email | Print | Twitter | Facebook"),
    roundup_titles=("News in brief", "Today's top stories", "Morning briefing", "The day in review", "Evening roundup"),
    reporters=("John Smith", "Mary Johnson", "David Lee", "Sarah Brown", "Michael Davis", "Laura Wilson",
               "James Miller", "Anna Moore", "Robert Taylor", "Emily Clark", "Peter Walker", "Susan Hall"),
)


def arabic(data_dir: Path, seed: int, n_bases: int) -> tuple[list[Base], list[Base], Language]:
    """SaudiNewsNet dev articles: mutually unrelated bases (60-1,500 words) and fillers (the rest, >= 20 words)."""
    docs = [d for d in load_saudinewsnet(data_dir)
            if len((d.get("content") or "").split()) >= 20 and _DATE.fullmatch(d.get("date_extracted") or "")]
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    docs = [docs[k] for k in order]
    vocab, cum, df = _vocabulary([d["content"] for d in docs])  # over every dev article
    cutoff = max(2, int(0.002 * len(docs)))  # a word in at most 0.2% of the articles
    docs = [docs[k] for k in mutually_unrelated([d["content"] for d in docs], limit=int(2.5 * n_bases))]

    def is_rare(w: str) -> bool:
        return df[w] <= cutoff and not w.isascii()

    lang = Language("ar", tuple(sorted({d["source"] for d in docs})), vocab, cum, is_rare,
                    tuple(sorted(w for w in df if is_rare(w) and not _DIGITS.search(w))), **ARABIC_STYLE)
    bases: list[Base] = []
    fillers: list[Base] = []
    for k, d in enumerate(docs):
        item = Base("", d.get("title") or "", d["content"], d.get("source") or "", datetime.strptime(d["date_extracted"], DATE_FMT))
        if len(bases) < n_bases and 60 <= item.words <= 1500:
            bases.append(Base(f"ar-{len(bases):05d}", item.title, item.text, item.source, item.date))
        else:
            fillers.append(Base(f"ar-f{len(fillers):05d}", item.title, item.text, item.source, item.date))
    return bases, fillers, lang


def english_articles(rows: Sequence[Sequence[str]], titles: Sequence[str], rng: random.Random) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """MSRP rows ``(quality, id1, id2, s1, s2)`` → pseudo-articles ``(title, text)`` and the paraphrase of each ``s1`` that has one.

    Rows in ``id1`` order; each ``#1`` sentence, followed by its ``#2`` when
    the pair is *not* a paraphrase; 5-10 sentences an article, 1-3 a
    paragraph. ``titles`` are used in turn.
    """
    sentences: list[str] = []
    paraphrase: dict[str, str] = {}
    for q, _id1, _id2, s1, s2 in sorted(rows, key=lambda r: int(r[1])):
        sentences.append(s1.strip())
        if q == "1":
            paraphrase[s1.strip()] = s2.strip()
        else:
            sentences.append(s2.strip())
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(sentences):
        size = rng.randint(5, 10)
        chunk = sentences[pos: pos + size]
        pos += size
        if len(chunk) < 5:
            break
        paras, k = [], 0
        while k < len(chunk):
            step = rng.randint(1, 3)
            paras.append(" ".join(chunk[k: k + step]))
            k += step
        out.append((titles[len(out) % len(titles)], "\n\n".join(paras)))
    return out, paraphrase


def latin_language(texts: Sequence[str], sources: Sequence[str], paraphrase: dict[str, str] | None = None) -> Language:
    """The :class:`Language` of Latin-script texts: substitution words by frequency, names as the rare words.

    A name is a capitalized word whose lower-case form is under 20% of its
    uses (so "The" and "Police" at a sentence start are not names).
    """
    vocab, cum, _df = _vocabulary(texts)
    lower: Counter[str] = Counter()
    upper: Counter[str] = Counter()
    for t in texts:
        for w in _WORD.findall(t):
            (upper if w[:1].isupper() else lower)[w.lower()] += 1
    stop = {"i", "mr", "mrs", "ms", "dr", "st", "jr"}

    def is_rare(w: str) -> bool:
        k = w.lower()
        return len(w) >= 2 and w[:1].isupper() and k not in stop and lower[k] < 0.25 * upper[k]

    pool = tuple(sorted({w for t in texts for w in _WORD.findall(t) if is_rare(w) and not _DIGITS.search(w)}))
    return Language("en", tuple(sources), vocab, cum, is_rare, pool, roundup_words=(40, 250), paraphrase=dict(paraphrase or {}),
                    **ENGLISH_STYLE)


def english(msrp: Path, uci: Path | None, seed: int, n_bases: int) -> tuple[list[Base], list[Base], Language]:
    """MSRP pseudo-articles (see :func:`english_articles`), UCI headlines as titles and UCI publishers as outlets."""
    lines = msrp.read_text(encoding="utf-8-sig").replace("\r\n", "\n").split("\n")
    rows = [line.split("\t") for line in lines[1:] if line]
    titles: list[str] = []
    sources = ("Reuters", "Examiner.com", "San Francisco Chronicle", "Wall Street Journal", "Businessweek",
               "Huffington Post", "Forbes", "Los Angeles Times")
    if uci is not None:
        with open(uci, encoding="utf-8", newline="") as f:
            uci_rows = list(csv.DictReader(f))
        titles = sorted({r["TITLE"].strip() for r in uci_rows if r["TITLE"].strip()})
        top = Counter(r["PUBLISHER"] for r in uci_rows).most_common(8)
        sources = tuple(sorted(p for p, _ in top))
    rng = random.Random(seed)
    rng.shuffle(titles)
    articles, paraphrase = english_articles(rows, titles or [""], rng)
    texts = [t for _, t in articles]
    keep = mutually_unrelated(texts)
    articles = [articles[k] for k in keep]
    rng.shuffle(articles)
    lang = latin_language([t for _, t in articles], sources, paraphrase)
    day0 = datetime(2014, 3, 10, 6, 0, 0)
    bases: list[Base] = []
    fillers: list[Base] = []
    for title, text in articles:
        date = day0 + timedelta(days=rng.randrange(5), seconds=rng.randrange(16 * 3600))
        source = sources[rng.randrange(len(sources))]
        if len(bases) < n_bases:
            bases.append(Base(f"en-{len(bases):05d}", title, text, source, date))
        else:
            fillers.append(Base(f"en-f{len(fillers):05d}", title, text, source, date))
    return bases, fillers, lang


# --------------------------------------------------------------------------- the benchmark
class _Deck:
    """Items drawn in a seeded order without replacement, reshuffled when used up: an item is reused only once all were used."""

    def __init__(self, items: Sequence, rng: random.Random) -> None:
        if not items:
            raise ValueError("_Deck: no items")
        self.items, self.rng, self.order = list(items), rng, []

    def draw(self):
        if not self.order:
            self.order = list(range(len(self.items)))
            self.rng.shuffle(self.order)
        return self.items[self.order.pop()]


@dataclass
class _Fillers:
    """Decks of what fillers lend: whole fillers, fillers by day (re-led leads), roundup items ``(filler id, text)``."""

    any: _Deck
    by_day: dict[str, _Deck]
    items: _Deck

    @classmethod
    def of(cls, fillers: Sequence[Base], lang: Language, uses: int, rng: random.Random) -> "_Fillers":
        """Roundup items are the short fillers whole, or, when there are fewer than ``uses`` of them, every filler's paragraphs of 20+ words."""
        days: dict[str, list[Base]] = {}
        for f in fillers:
            days.setdefault(f.date.strftime("%Y-%m-%d"), []).append(f)
        lo, hi = lang.roundup_words
        items = [(f.id, f.text) for f in fillers if lo <= f.words <= hi]
        if len(items) < uses:
            items = [(f.id, p) for f in fillers for p in units(f.text)[0] if 20 <= len(p.split()) <= hi]
        return cls(_Deck(fillers, rng), {d: _Deck(fs, rng) for d, fs in sorted(days.items())}, _Deck(items or [(f.id, f.text) for f in fillers], rng))

def _eligible(kind: str, base: Base, lang: Language) -> bool:
    parts = units(base.text)[0]
    n_units, limit = len(parts), MAX_UNIT_SHARE * _n_words(parts)
    if kind == "trimmed":
        return n_units >= 3
    if kind == "reled":
        return n_units >= 3 and len(parts[0].split()) <= limit
    if kind == "mid_drop":
        return n_units >= 3 and any(len(p.split()) <= limit for p in parts[1:-1])
    if kind == "mid_insert":
        return n_units >= 2
    if kind == "roundup":
        return lang.roundup_words[0] <= base.words <= lang.roundup_words[1]
    return True


def _variant(kind: str, base: Base, fillers: _Fillers, rng: random.Random, lang: Language
             ) -> tuple[str, str, str, float | None, list[str]] | None:
    """``(title, text, detail, share, uses)`` of one edit of ``base``, or None when this base cannot take it."""
    filler = fillers.any.draw

    title, text, detail, share, uses = base.title, base.text, "", None, [base.id]
    if kind == "retitled":
        other = filler()
        title, uses = other.title or f"{base.title} (*)", uses + [other.id]
    elif kind == "trimmed":
        text, share = trim_ending(text, rng)
    elif kind == "extended":
        other = filler()
        para = other_paragraph(other.text, rng, max_words=max(25, base.words // 2))
        text, share, uses = extend(text, para), len(para.split()) / base.words, uses + [other.id]
    elif kind == "reled":
        lead = units(text)[0][0]
        rewrites = [s for s in lang.paraphrase if s in lead]  # English: MSRP sentences with a human paraphrase
        if rewrites:
            new, detail = lead, "paraphrase"
            for s in rewrites:
                new = new.replace(s, lang.paraphrase[s])
        elif rng.random() < 0.5:
            other = fillers.by_day.get(base.date.strftime("%Y-%m-%d"), fillers.any).draw()
            words = units(other.text)[0][0].split()[: max(15, round(1.5 * len(lead.split())))]
            new, detail, uses = " ".join(words), "other", uses + [other.id]
        else:
            new, detail = scramble(lead, rng, lang), "scramble"
        text, share = relead(text, new)
    elif kind == "mid_insert":
        other = filler()
        para = other_paragraph(other.text, rng, max_words=max(25, base.words // 2))
        text, share, uses = insert_middle(text, para, rng), len(para.split()) / base.words, uses + [other.id]
    elif kind == "mid_drop":
        text, share = drop_middle(text, rng)
    elif kind == "light_edit":
        text, share = light_edit(text, rng, lang)
    elif kind == "roundup":
        items = [fillers.items.draw() for _ in range(rng.randint(2, 4))]
        text, share = roundup(text, [t for _, t in items], rng)
        title, uses = lang.roundup_titles[rng.randrange(len(lang.roundup_titles))], uses + [i for i, _ in items]
    elif kind == "boilerplate":
        detail = ("byline", "footer", "both")[rng.randrange(3)]
        # the outlet is drawn before (see build); boilerplate belongs to the variant's outlet
    elif kind == "template":
        mapping: dict[str, str] = {}
        text, share = template_swap(text, rng, lang, mapping)
        title = template_swap(title, rng, lang, mapping)[0]
        if share < MIN_TEMPLATE_CHANGE:
            return None
    else:
        raise ValueError(f"unknown edit kind {kind!r}")
    return title, text, detail, share, uses


def _record(a: Base, lang: str, uses: list[str]) -> dict:
    return {"id": a.id, "title": a.title, "text": a.text, "date": a.date.strftime(DATE_FMT), "source": a.source,
            "lang": lang, "uses": uses}


def build(bases: Sequence[Base], fillers: Sequence[Base], lang: Language, per_kind: int, seed: int) -> Benchmark:
    """The feed and the truth table of one language.

    For each variant kind, ``per_kind`` bases that can take it (drawn without
    replacement; a base may get several kinds) get one variant; then
    ``per_kind`` pairs of bases of one outlet and day, and ``per_kind`` random
    pairs of bases. Deterministic for ``seed``.

    Raises:
        ValueError: fewer than 3 bases or no fillers.
    """
    if len(bases) < 3 or not fillers:
        raise ValueError(f"{lang.code}: need at least 3 bases and one filler, got {len(bases)} and {len(fillers)}")
    rng = random.Random(f"{seed}:{lang.code}")
    lend = _Fillers.of(fillers, lang, 3 * per_kind, rng)
    articles = [_record(b, lang.code, [b.id]) for b in bases]
    pairs: list[dict] = []
    counts: dict[str, int] = {}
    for kind in DUP_KINDS + VARIANT_NOT_DUP:
        eligible = [b for b in bases if _eligible(kind, b, lang)]
        rng.shuffle(eligible)
        made = 0
        for base in eligible:
            if made == per_kind:
                break
            same = rng.random() < SAME_SOURCE_P
            source = base.source if same else rng.choice([s for s in lang.sources if s != base.source] or [base.source])
            seconds = rng.randint(600, 36 * 3600)
            made_variant = _variant(kind, base, lend, rng, lang)
            if made_variant is None:
                continue
            title, text, detail, share, uses = made_variant
            if kind == "boilerplate":
                text = boilerplate(text, source, detail, rng, lang)
            vid = f"{base.id}-{kind}"
            articles.append(_record(Base(vid, title, text, source, base.date + timedelta(seconds=seconds)), lang.code, uses))
            pairs.append(_pair(lang.code, base.id, vid, kind, detail, share, same, seconds / 3600))
            made += 1
        counts[kind] = made
    # base-to-base negatives
    groups: dict[tuple[str, str], list[Base]] = {}
    for b in bases:
        groups.setdefault((b.source, b.date.strftime("%Y-%m-%d")), []).append(b)
    candidates = [(a, b) for g in sorted(groups) for i, a in enumerate(groups[g]) for b in groups[g][i + 1:]]
    chosen = rng.sample(candidates, min(per_kind, len(candidates)))
    for a, b in chosen:
        pairs.append(_pair(lang.code, a.id, b.id, "same_source_day", "", None, True, abs((b.date - a.date).total_seconds()) / 3600))
    counts["same_source_day"] = len(chosen)
    seen: set[tuple[str, str]] = set()
    while len(seen) < min(per_kind, len(bases) * (len(bases) - 1) // 2):
        a, b = sorted(rng.sample(range(len(bases)), 2))
        if (bases[a].id, bases[b].id) in seen:
            continue
        seen.add((bases[a].id, bases[b].id))
        x, y = bases[a], bases[b]
        pairs.append(_pair(lang.code, x.id, y.id, "random", "", None, x.source == y.source, abs((y.date - x.date).total_seconds()) / 3600))
    counts["random"] = len(seen)
    articles.sort(key=lambda r: (r["date"], r["id"]))
    return Benchmark(articles, pairs, counts)


def _pair(lang: str, id1: str, id2: str, kind: str, detail: str, share: float | None, same: bool, hours: float) -> dict:
    return {"lang": lang, "id1": id1, "id2": id2, "dup": kind in DUP_KINDS, "kind": kind, "detail": detail,
            "share": None if share is None else round(share, 4), "same_source": same, "hours": round(hours, 2)}


# --------------------------------------------------------------------------- CLI
def generate(out: Path, pairs_out: Path, seed: int = 0, source: str | None = None, langs: Sequence[str] = ("ar", "en"),
             bases: dict[str, int] | None = None, per_kind: dict[str, int] | None = None) -> dict:
    """Write the feed and the pairs of every language whose data is present; returns what was made."""
    for path in (out, pairs_out):
        if repo_root() in Path(path).resolve().parents:
            raise ValueError(f"{path}: the benchmark holds dataset text, which may not be committed; write it outside the repository")
    bases = {"ar": 3000, "en": 500, **(bases or {})}
    per_kind = {"ar": 400, "en": 200, **(per_kind or {})}
    made: dict[str, dict] = {}
    articles: list[dict] = []
    pairs: list[dict] = []
    for code in langs:
        t0 = time.perf_counter()
        if code == "ar":
            folder = saudinewsnet_dir(source)
            if folder is None:
                print(f"SaudiNewsNet dev zips absent ({source or 'shared/data/saudinewsnet/dataset'}): no Arabic benchmark")
                continue
            b, f, lang = arabic(folder, seed, bases["ar"])
            origin = f"SaudiNewsNet dev days ({folder.name})"
        else:
            msrp = shared_data("msrp", "msr_paraphrase_train.txt")
            if msrp is None:
                print("MSRP absent (shared/data/msrp): no English benchmark")
                continue
            uci = shared_data("uci-news-aggregator-subset", "uci-news-aggregator-first6366.csv")
            b, f, lang = english(msrp, uci, seed, bases["en"])
            origin = "MSRP train sentences as pseudo-articles, UCI headlines as titles" if uci else "MSRP train pseudo-articles"
        bench = build(b, f, lang, per_kind[code], seed)
        articles += bench.articles
        pairs += bench.pairs
        made[code] = {"origin": origin, "bases": len(b), "fillers": len(f), "articles": len(bench.articles),
                      "pairs": len(bench.pairs), "per_kind": bench.counts, "seconds": round(time.perf_counter() - t0, 2)}
    for path, rows in ((out, articles), (pairs_out, pairs)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return {"seed": seed, "languages": made}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="the feed (JSONL), outside the repository")
    ap.add_argument("--pairs-out", required=True, help="the pairs with their truth (JSONL)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--source", help="SaudiNewsNet dev zips folder (default ../shared/data/saudinewsnet/dataset)")
    ap.add_argument("--lang", choices=("ar", "en", "all"), default="all")
    ap.add_argument("--bases-ar", type=int, default=3000)
    ap.add_argument("--bases-en", type=int, default=500, help="MSRP makes about 700 pseudo-articles; the rest are fillers")
    ap.add_argument("--per-kind-ar", type=int, default=400)
    ap.add_argument("--per-kind-en", type=int, default=200)
    args = ap.parse_args(argv)
    langs = ("ar", "en") if args.lang == "all" else (args.lang,)
    made = generate(Path(args.out), Path(args.pairs_out), args.seed, args.source, langs,
                    {"ar": args.bases_ar, "en": args.bases_en}, {"ar": args.per_kind_ar, "en": args.per_kind_en})
    if not made["languages"]:
        print("no data for any language: nothing written but empty files")
    for code, m in made["languages"].items():
        print(f"{code}: {m['bases']} bases, {m['fillers']} fillers, {m['articles']} articles, {m['pairs']} pairs "
              f"({m['seconds']} s): {m['per_kind']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
