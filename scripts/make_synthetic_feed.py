#!/usr/bin/env python3
"""A synthetic news feed of any size, built from real SaudiNewsNet dev text, with known copies.

Each output line is one article::

    {"id", "title", "text", "date", "source", "truth"}

``truth`` is ``null`` for an original and ``{"base": <id of the original>,
"kind": <kind>}`` for an injected copy. About 30% of the lines are injected
copies (``--copy-rate``); the kinds, drawn uniformly:

==============  ============================================================
``retitled``    a new headline (another article's), the same body
``trimmed``     the last 10–40% of the paragraphs (sentences when the base
                has fewer than 3 paragraphs; words when it has one) cut off
``extended``    a paragraph of another article appended
``teaser``      the first 20–40% of the body's words, then "..."
``roundup``     a short base (40–200 words, a "wire item") placed as its own
                paragraphs inside a long text made of 1–3 paragraphs from
                each of 2–4 other articles
``light_edit``  3–10% of the words substituted (a random vocabulary word) or
                deleted, half and half
``boilerplate`` the body plus a per-source footer line ("تابعونا على تويتر
                …") and a share-bar line
==============  ============================================================

A copy takes another outlet as its ``source`` and a date 10 minutes to 36
hours after its base; its base is an original among the last
``--window`` originals (so copies follow their originals closely, as in a
real feed). Bases of every kind but ``roundup`` have at least 60 words.

**Large copy families** (``--families MIN,MAX``, e.g. ``10,100``): a second,
differently built feed. Every original starts a family of MIN to MAX copies
(log-uniform, so most are small and a few are large), and every copy is its
original with a share of its body words replaced (``--replace``, default 3%
or 35%, drawn per copy; a replacement is a dev vocabulary word, frequent
words more likely): ``truth.kind`` is ``replaced_3`` or ``replaced_35``. The
copies of about 200 open families are interleaved, each dated 10 minutes to
36 hours after its original. So almost every article (~97% with the default
sizes) is a copy, and copies come in families of tens to a hundred: the
candidate and verification stages meet every member against every other, as
wire copy reprinted by many outlets does. A 35% copy shares only about a
quarter of its word 3-grams with its original (and fewer with its 35%
siblings): a hard case, not necessarily a duplicate under the DUP
definition; recall is reported per kind.

**Originals.** The first ~20k originals are the dev articles themselves, in
the order of the dev files (chronological), unchanged: generation 0. Larger
feeds cycle through the dev articles again as generations 1, 2, …, each
with a fresh id and dates shifted by one dev period (15 days) per
generation (``--period-days`` less than 15 makes generations overlap in
time: a feed over a few weeks, with many more articles a day). A generation ``g >= 1`` article is the dev article *relabelled*:
every word (``\\w+`` run; digits, Latin and other words kept apart) is
replaced through a seeded bijection of the dev vocabulary that only
permutes words of similar corpus frequency (bands of ranks that double in
width), spaces and punctuation kept. So within a generation the text
statistics, the lengths, the paragraph structure and the natural reprints
of the dev days are exactly those of the real data (two relabelled reprints
are as similar as the real ones), while two generations share only chance
shingles. The text is no longer readable Arabic, which a shingle/MinHash
detector does not see, but a reader would.

Why not splice paragraphs of different dev articles into new originals:
at 1M articles (~700k originals from ~20k articles with ~4–5 paragraph or
sentence-group units each) every unit would appear in ~30 unrelated
originals. Every anchor and LSH bucket would then hold dozens of unrelated
articles sharing a quarter of their text, which makes the candidate and
verification stages far denser than in a real feed and leaves no way to
say whether two originals are unrelated.

**Provenance** (for the evaluation, not a feed field: it would cost every
reader memory per record) goes to a side file ``<out stem>.provenance.tsv``:
``id<TAB>g:i[ g:i ...]``, the generation and dev position of every article
whose text went into the line (the base and, for ``extended`` and
``roundup``, the other articles). Two lines whose provenance shares no
``(g, i)`` and no pair of reprinted dev articles of one generation are
unrelated by construction; ``scripts/bench_scale.py`` uses this to count
false positives.

The natural duplicates of the dev days (real reprints) are in the feed too
and are *not* in ``truth``.

Deterministic for a given ``--seed``; streams its output (memory is the dev
corpus and a window of recent originals, whatever ``--size``). Skips with a
message (exit 0) when the dev zips are absent. Usage::

    python scripts/make_synthetic_feed.py --size 100000 --out /tmp/feed.jsonl [--seed 0] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_saudinewsnet, repo_root, saudinewsnet_dir  # noqa: E402

__all__ = ["KINDS", "DevCorpus", "FeedStats", "generate", "load_dev", "main", "provenance_path"]

KINDS = ("retitled", "trimmed", "extended", "teaser", "roundup", "light_edit", "boilerplate")
REPLACE_RATES = (0.03, 0.35)
OPEN_FAMILIES = 200


def family_kind(rate: float) -> str:
    """The ``truth.kind`` of a family copy with ``rate`` of its words replaced: ``replaced_3``, ``replaced_35``."""
    return f"replaced_{round(rate * 100)}"
PERIOD_DAYS = 15  # the dev days span 2015-07-21 .. 2015-08-04
MIN_BASE_WORDS = 60
ROUNDUP_WORDS = (40, 200)
DATE_FMT = "%Y-%m-%d %H:%M:%S"

_WORD = re.compile(r"\w+")
_PARAS = re.compile(r"\s*\n\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+")
_SPACES = re.compile(r"(\s+)")

FOOTERS = (
    "تابعونا على تويتر @{handle}",
    "لمزيد من الأخبار تابعونا على تويتر وفيسبوك: {handle}",
    "حمّل تطبيق {handle} لمتابعة آخر الأخبار لحظة بلحظة",
    "جميع الحقوق محفوظة لصحيفة {handle}",
)
SHARE_BARS = (
    "شارك الخبر: فيسبوك | تويتر | واتساب | البريد الإلكتروني",
    "مشاركة: تويتر - فيسبوك - جوجل بلس - طباعة",
    "أرسل لصديق | طباعة | تويتر | فيسبوك",
)
ROUNDUP_TITLES = ("موجز الأخبار", "أبرز أخبار اليوم", "جولة في أخبار الصباح", "حصاد اليوم", "نشرة المساء")


def provenance_path(out: str | Path) -> Path:
    """The provenance side file of a feed: ``feed.jsonl`` → ``feed.provenance.tsv``."""
    out = Path(out)
    return out.with_name(out.name.removesuffix(".jsonl") + ".provenance.tsv")


def load_dev(data_dir: str | Path) -> list[dict]:
    """The dev articles in a fixed order (zip name, then file order)."""
    return load_saudinewsnet(data_dir)


@dataclass
class _Tokens:
    """A text as separators and word ids: ``seps[0] w0 seps[1] w1 ... seps[n]``."""

    seps: list[str]
    ids: np.ndarray  # int32 word ids

    def render(self, vocab: list[str], perm: np.ndarray | None) -> str:
        ids = self.ids if perm is None else perm[self.ids]
        words = [vocab[k] for k in ids.tolist()]
        parts = [None] * (len(self.seps) + len(words))
        parts[0::2] = self.seps
        parts[1::2] = words
        return "".join(parts)


class DevCorpus:
    """The dev articles, tokenized once, and the per-generation relabelling.

    ``article(g, i)`` is dev article ``i`` of generation ``g`` as ``(title, text)``;
    generation 0 is the real text.
    """

    def __init__(self, docs: list[dict], seed: int, period_days: float = PERIOD_DAYS) -> None:
        self.period_days = period_days
        self.docs = docs
        self.seed = seed
        counts: Counter[str] = Counter()
        for d in docs:
            counts.update(_WORD.findall(d.get("title") or ""))
            counts.update(_WORD.findall(d.get("content") or ""))
        # Vocabulary by class (digits / ASCII / other), each by frequency, so that a
        # number is replaced by a number and a frequent word by a frequent word.
        classes: dict[str, list[str]] = {"digit": [], "ascii": [], "other": []}
        for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            classes["digit" if w.isdigit() else "ascii" if w.isascii() else "other"].append(w)
        self.vocab: list[str] = []
        self.bands: list[np.ndarray] = []  # word ids that may be swapped for each other
        for words in classes.values():
            start, width = len(self.vocab), 8
            self.vocab.extend(words)
            pos = 0
            while pos < len(words):
                end = min(len(words), pos + width)
                self.bands.append(np.arange(start + pos, start + end, dtype=np.int32))
                pos, width = end, width * 2
        self.word_id = {w: k for k, w in enumerate(self.vocab)}
        self.class_ids = {c: np.array([self.word_id[w] for w in ws], dtype=np.int32) for c, ws in classes.items()}
        seps: dict[str, str] = {}
        self.tokens = [(self._tokenize(d.get("title") or "", seps), self._tokenize(d.get("content") or "", seps)) for d in docs]
        self.n_words = np.array([len(t.ids) for _, t in self.tokens], dtype=np.int64)
        self._perms: dict[int, np.ndarray] = {}

    def _tokenize(self, text: str, seps: dict[str, str]) -> _Tokens:
        parts = _WORD.split(text)
        words = _WORD.findall(text)
        return _Tokens([seps.setdefault(s, s) for s in parts], np.array([self.word_id[w] for w in words], dtype=np.int32))

    @staticmethod
    def _date(d: dict) -> datetime:
        return datetime.strptime(d["date_extracted"], DATE_FMT)

    def perm(self, g: int) -> np.ndarray:
        """The word bijection of generation ``g`` (identity for 0)."""
        if g not in self._perms:
            perm = np.arange(len(self.vocab), dtype=np.int32)
            if g:
                rng = np.random.default_rng([self.seed, g])
                for band in self.bands:
                    perm[band] = band[rng.permutation(len(band))]
            self._perms = {g: perm}  # one generation at a time is all a stream needs
        return self._perms[g]

    def article(self, g: int, i: int) -> tuple[str, str]:
        if g == 0:
            d = self.docs[i]
            return d.get("title") or "", d.get("content") or ""
        title, text = self.tokens[i]
        perm = self.perm(g)
        return title.render(self.vocab, perm), text.render(self.vocab, perm)

    def replaced(self, g: int, i: int, rate: float, rng: np.random.Generator) -> str:
        """The body of article ``(g, i)`` with a share ``rate`` of its words replaced by dev vocabulary words."""
        _, text = self.tokens[i]
        ids = self.perm(g)[text.ids]
        hit = rng.random(len(ids)) < rate
        others = self.class_ids["other"]
        ranks = np.minimum(len(others) - 1, np.floor(rng.pareto(0.6, int(hit.sum())))).astype(np.int64)  # as random_word
        ids[hit] = others[ranks]
        return _Tokens(text.seps, ids).render(self.vocab, None)

    def date(self, g: int, i: int) -> datetime:
        return self._date(self.docs[i]) + timedelta(days=self.period_days * g)

    def random_word(self, rng: random.Random) -> str:
        """A word of the dev vocabulary, frequent words more likely (Pareto over the ranks)."""
        ids = self.class_ids["other"]
        return self.vocab[int(ids[min(len(ids) - 1, int(rng.paretovariate(0.6)) - 1)])]


@dataclass
class _Original:
    id: str
    tid: str  # "g:i"
    title: str
    text: str
    date: datetime
    source: str
    words: int


@dataclass
class FeedStats:
    size: int
    originals: int
    copies: dict[str, int]
    generations: int
    seconds: float


# --------------------------------------------------------------------------- copy kinds
def _paragraphs(text: str) -> list[str]:
    return [p for p in _PARAS.split(text.strip()) if p]


def _units(text: str) -> tuple[list[str], str]:
    """Paragraphs when there are at least 3, else sentences; with the joiner to rebuild."""
    paras = _paragraphs(text)
    if len(paras) >= 3:
        return paras, "\n\n"
    sentences = [s for s in _SENTENCE_END.split(" ".join(paras)) if s]
    return sentences, " "


def _cut_words(text: str, keep: float) -> str:
    words = text.split()
    return " ".join(words[: max(1, round(len(words) * keep))])


def _trimmed(text: str, rng: random.Random) -> str:
    cut = rng.uniform(0.10, 0.40)
    units, joiner = _units(text)
    if len(units) < 2:
        return _cut_words(text, 1 - cut)
    keep = min(len(units) - 1, max(1, round(len(units) * (1 - cut))))
    return joiner.join(units[:keep])


def _teaser(text: str, rng: random.Random) -> str:
    return _cut_words(text, rng.uniform(0.20, 0.40)) + " ..."


def _light_edit(text: str, rng: random.Random, corpus: DevCorpus) -> str:
    rate = rng.uniform(0.03, 0.10)
    parts = _SPACES.split(text)  # words at even positions, whitespace at odd ones
    out: list[str] = []
    for k in range(0, len(parts), 2):
        word, space = parts[k], parts[k + 1] if k + 1 < len(parts) else ""
        if word and rng.random() < rate:
            if rng.random() < 0.5:
                continue  # deleted, with its following space
            word = corpus.random_word(rng)
        out.append(word + space)
    return "".join(out)


def _boilerplate(text: str, source: str) -> str:
    h = sum(map(ord, source))  # a fixed footer style per source
    footer = FOOTERS[h % len(FOOTERS)].format(handle=source)
    share = SHARE_BARS[h % len(SHARE_BARS)]
    return f"{text}\n\n{footer}\n{share}"


# --------------------------------------------------------------------------- the stream
def _records(size: int, corpus: DevCorpus, seed: int, copy_rate: float, window: int, stats: FeedStats) -> Iterator[tuple[dict, list[str]]]:
    """Yield ``(record, provenance)`` for ``size`` lines."""
    rng = random.Random(seed)
    n_dev = len(corpus.docs)
    sources = sorted({d.get("source") or "" for d in corpus.docs} - {""})
    recent: deque[_Original] = deque(maxlen=window)  # bases for most kinds
    short: deque[_Original] = deque(maxlen=window)  # wire items for roundups
    others: deque[_Original] = deque(maxlen=window)  # any original with text
    next_orig = 0
    for pos in range(size):
        rid = f"n{pos:08d}"
        if len(recent) >= 50 and len(short) >= 10 and rng.random() < copy_rate:
            kind = KINDS[rng.randrange(len(KINDS))]
            base = (short if kind == "roundup" else recent)[rng.randrange(len(short if kind == "roundup" else recent))]
            title, text, prov = base.title, base.text, [base.tid]
            if kind == "retitled":
                other = others[rng.randrange(len(others))]
                title = other.title if other.tid != base.tid else "عاجل: " + base.title
            elif kind == "trimmed":
                text = _trimmed(text, rng)
            elif kind == "extended":
                other = _other(others, base, rng)
                paras = _units(other.text)[0]
                text = f"{text}\n\n{paras[rng.randrange(len(paras))]}"
                prov.append(other.tid)
            elif kind == "teaser":
                text = _teaser(text, rng)
            elif kind == "roundup":
                blocks: list[str] = []
                for _ in range(rng.randint(2, 4)):
                    other = _other(others, base, rng)
                    paras = _paragraphs(other.text)
                    take = rng.randint(1, 3)
                    start = rng.randrange(max(1, len(paras) - take + 1))
                    blocks.append("\n\n".join(paras[start : start + take]))
                    prov.append(other.tid)
                blocks.insert(rng.randint(0, len(blocks)), "\n\n".join(_paragraphs(text)))
                text = "\n\n".join(blocks)
                title = ROUNDUP_TITLES[rng.randrange(len(ROUNDUP_TITLES))]
            elif kind == "light_edit":
                text = _light_edit(text, rng, corpus)
            source = rng.choice([s for s in sources if s != base.source] or sources)
            if kind == "boilerplate":
                text = _boilerplate(text, source)
            date = base.date + timedelta(seconds=rng.randint(600, 36 * 3600))
            stats.copies[kind] += 1
            record = {"id": rid, "title": title, "text": text, "date": date.strftime(DATE_FMT), "source": source, "truth": {"base": base.id, "kind": kind}}
            yield record, list(dict.fromkeys(prov))
            continue
        g, i = divmod(next_orig, n_dev)
        next_orig += 1
        title, text = corpus.article(g, i)
        d = corpus.docs[i]
        orig = _Original(rid, f"{g}:{i}", title, text, corpus.date(g, i), d.get("source") or "", int(corpus.n_words[i]))
        if text.strip():
            others.append(orig)
            if orig.words >= MIN_BASE_WORDS:
                recent.append(orig)
            if ROUNDUP_WORDS[0] <= orig.words <= ROUNDUP_WORDS[1]:
                short.append(orig)
        stats.originals += 1
        stats.generations = g + 1
        record = {"id": rid, "title": title, "text": text, "date": orig.date.strftime(DATE_FMT), "source": orig.source, "truth": None}
        yield record, [orig.tid]


@dataclass
class _Family:
    base: _Original
    left: int  # copies still to write


def _family_records(size: int, corpus: DevCorpus, seed: int, families: tuple[int, int], rates: tuple[float, ...],
                    stats: FeedStats) -> Iterator[tuple[dict, list[str]]]:
    """Yield ``(record, provenance)`` for ``size`` lines of large copy families (see the module doc)."""
    rng = random.Random(seed)
    nrng = np.random.default_rng([seed, 1 << 20])
    n_dev = len(corpus.docs)
    sources = sorted({d.get("source") or "" for d in corpus.docs} - {""})
    lo, hi = np.log(families[0]), np.log(families[1] + 1)
    open_: list[_Family] = []
    next_orig = 0
    for pos in range(size):
        rid = f"n{pos:08d}"
        if len(open_) >= OPEN_FAMILIES:
            k = rng.randrange(len(open_))
            fam = open_[k]
            base, rate = fam.base, rates[rng.randrange(len(rates))]
            kind = family_kind(rate)
            g, i = map(int, base.tid.split(":"))
            text = corpus.replaced(g, i, rate, nrng)
            source = rng.choice([s for s in sources if s != base.source] or sources)
            date = base.date + timedelta(seconds=rng.randint(600, 36 * 3600))
            fam.left -= 1
            if not fam.left:
                open_[k] = open_[-1]
                open_.pop()
            stats.copies[kind] = stats.copies.get(kind, 0) + 1
            yield ({"id": rid, "title": base.title, "text": text, "date": date.strftime(DATE_FMT), "source": source,
                    "truth": {"base": base.id, "kind": kind}}, [base.tid])
            continue
        while True:  # originals with enough words to copy; the others are skipped
            g, i = divmod(next_orig, n_dev)
            next_orig += 1
            if corpus.n_words[i] >= MIN_BASE_WORDS:
                break
        title, text = corpus.article(g, i)
        d = corpus.docs[i]
        orig = _Original(rid, f"{g}:{i}", title, text, corpus.date(g, i), d.get("source") or "", int(corpus.n_words[i]))
        open_.append(_Family(orig, int(np.exp(rng.uniform(lo, hi)))))
        stats.originals += 1
        stats.generations = g + 1
        yield ({"id": rid, "title": title, "text": text, "date": orig.date.strftime(DATE_FMT), "source": orig.source,
                "truth": None}, [orig.tid])


def _other(others: deque[_Original], base: _Original, rng: random.Random) -> _Original:
    for _ in range(20):
        other = others[rng.randrange(len(others))]
        if other.tid != base.tid:
            return other
    return other


def generate(
    size: int,
    out: str | Path,
    data_dir: str | Path,
    seed: int = 0,
    copy_rate: float = 0.30,
    window: int = 5000,
    corpus: DevCorpus | None = None,
    period_days: float = PERIOD_DAYS,
    families: tuple[int, int] | None = None,
    replace_rates: tuple[float, ...] = REPLACE_RATES,
) -> FeedStats:
    """Write a feed of ``size`` lines to ``out`` and its provenance side file.

    Args:
        size: number of lines.
        out: the JSONL path (should be outside the repository: dev text).
        data_dir: the folder of SaudiNewsNet dev zips.
        seed: all randomness (choices and relabelling).
        copy_rate: probability that a line is an injected copy.
        window: bases and other articles come from this many recent originals.
        corpus: a :class:`DevCorpus` to reuse across calls (must be built with ``seed``).
        period_days: days between the starts of two generations: 15 (one dev
            period) lays them end to end; less makes them overlap, so a
            million articles span a few weeks (denser days).

    Returns:
        The counts written.
    """
    out = Path(out).resolve()
    if repo_root() in out.parents:
        raise ValueError(f"{out}: the feed holds dev text, which may not be committed; write it outside the repository")
    t0 = time.perf_counter()
    if corpus is None:
        corpus = DevCorpus(load_dev(data_dir), seed, period_days)
    elif corpus.seed != seed or corpus.period_days != period_days:
        raise ValueError(f"corpus was built with seed {corpus.seed} and period {corpus.period_days}, not {seed} and {period_days}")
    kinds = [family_kind(r) for r in replace_rates] if families else KINDS
    stats = FeedStats(size, 0, {k: 0 for k in kinds}, 0, 0.0)
    records = (_family_records(size, corpus, seed, families, replace_rates, stats) if families
               else _records(size, corpus, seed, copy_rate, window, stats))
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as f, open(provenance_path(out), "w", encoding="utf-8") as p:
        for record, prov in records:
            f.write(encoder.encode(record))
            f.write("\n")
            p.write(f"{record['id']}\t{' '.join(prov)}\n")
    stats.seconds = round(time.perf_counter() - t0, 2)
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, required=True, help="number of lines to write")
    parser.add_argument("--out", type=Path, required=True, help="output FILE.jsonl (outside the repository)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=None, help="folder of SaudiNewsNet dev zips (default ../shared/data/...)")
    parser.add_argument("--copy-rate", type=float, default=0.30, help="share of lines that are injected copies")
    parser.add_argument("--window", type=int, default=5000, help="copies take their base among this many recent originals")
    parser.add_argument("--period-days", type=float, default=PERIOD_DAYS,
                        help="days between the starts of two generations (15: end to end; 1: 1M articles over ~7 weeks)")
    parser.add_argument("--families", default=None, metavar="MIN,MAX",
                        help="the large-family feed: every original gets MIN..MAX copies with words replaced (e.g. 10,100)")
    parser.add_argument("--replace", default=",".join(str(r) for r in REPLACE_RATES), metavar="R[,R...]",
                        help="with --families: shares of words a copy has replaced, one drawn per copy (default 0.03,0.35)")
    args = parser.parse_args(argv)
    families = rates = None
    try:
        if args.families:
            families = tuple(int(x) for x in args.families.split(","))
        rates = tuple(float(x) for x in args.replace.split(","))
    except ValueError:
        parser.error("--families takes MIN,MAX (integers) and --replace rates (numbers)")
    if families is not None and (len(families) != 2 or not 1 <= families[0] <= families[1]):
        parser.error("--families takes MIN,MAX with 1 <= MIN <= MAX")
    if not rates or not all(0 < r < 1 for r in rates):
        parser.error("--replace rates must be in (0, 1)")
    if args.size < 1:
        parser.error("--size must be >= 1")
    if not 0 <= args.copy_rate < 1:
        parser.error("--copy-rate must be in [0, 1)")
    data = saudinewsnet_dir(args.data)
    if data is None:
        print(f"SaudiNewsNet dev zips not found ({args.data or 'shared/data/saudinewsnet/dataset'}); nothing generated")
        return 0
    if args.period_days <= 0:
        parser.error("--period-days must be > 0")
    stats = generate(args.size, args.out, data, args.seed, args.copy_rate, args.window, period_days=args.period_days,
                     families=families, replace_rates=rates)
    print(
        f"wrote {stats.size} lines to {args.out} ({stats.originals} originals in {stats.generations} generation(s), "
        f"{sum(stats.copies.values())} injected copies {stats.copies}) and {provenance_path(args.out)} in {stats.seconds} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
