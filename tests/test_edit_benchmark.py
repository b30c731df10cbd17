"""The edit benchmark's generator (scripts/make_edit_benchmark.py) keeps its truth table honest.

Built from synthetic text (no shared data): every variant must be the edit its
pair says it is (a trimmed copy a prefix of its base, a template the same
wording with other numbers and names, ...), so that the benchmark cannot
silently start measuring something else.
"""

from __future__ import annotations

import difflib
import json
import random
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import make_edit_benchmark as meb  # noqa: E402

COMMON = ("the of and to in a said on for that with was as by it at from is will its has be after new were "
          "officials company report government market week year people city council plan members told").split()
NAMES = ("Alvarez Brennan Castillo Dunmore Ekholm Farrow Galindo Hartwell Ibsen Jovanovic Kessler Lindqvist "
         "Moravec Nakamura Okonkwo Pellegrini Quist Rasmussen Szabo Thorne Uribe Vasquez Whitcombe Yilmaz").split()
WORD = re.compile(r"\w+")
NUMBER = re.compile(r"\d+")


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(COMMON) for _ in range(rng.randint(8, 14))]
    words.insert(rng.randrange(1, len(words)), rng.choice(NAMES))
    words.insert(rng.randrange(1, len(words)), str(rng.randint(2, 9999)))
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def _text(rng: random.Random, paragraphs: int) -> str:
    return "\n\n".join(" ".join(_sentence(rng) for _ in range(rng.randint(1, 2))) for _ in range(paragraphs))


@pytest.fixture(scope="module")
def corpus() -> tuple[list[meb.Base], list[meb.Base], meb.Language]:
    rng = random.Random(7)
    day0 = datetime(2024, 5, 1, 8)
    sources = ("daily", "herald", "post")
    texts = [_text(rng, rng.randint(3, 6)) for _ in range(60)]
    first = texts[0].split("\n\n")[0]  # a human rewrite of one lead, as MSRP gives
    lang = meb.latin_language(texts, sources, {first: "In other words, " + first.lower()})
    docs = [meb.Base(f"x-{k:03d}", f"Headline {k}", t, sources[k % 3], day0 + timedelta(hours=7 * (k % 6)))
            for k, t in enumerate(texts)]
    return docs[:40], docs[40:], lang


@pytest.fixture(scope="module")
def feed(corpus) -> meb.Benchmark:
    bases, fillers, lang = corpus
    return meb.build(bases, fillers, lang, per_kind=6, seed=3)


def _articles(bm: meb.Benchmark) -> dict[str, dict]:
    return {a["id"]: a for a in bm.articles}


def _pairs(bm: meb.Benchmark, kind: str) -> list[tuple[dict, dict, dict]]:
    arts = _articles(bm)
    return [(p, arts[p["id1"]], arts[p["id2"]]) for p in bm.pairs if p["kind"] == kind]


def test_truth_table_is_consistent(feed):
    arts = _articles(feed)
    assert len(arts) == len(feed.articles), "article ids are unique"
    assert feed.counts == {k: 6 for k in meb.DUP_KINDS + meb.NOT_DUP_KINDS}
    variants = [p["id2"] for p in feed.pairs if p["kind"] in meb.DUP_KINDS + meb.VARIANT_NOT_DUP]
    assert len(variants) == len(set(variants)) == len(arts) - 40, "each variant is in exactly one pair"
    for p in feed.pairs:
        assert p["id1"] in arts and p["id2"] in arts and p["id1"] != p["id2"]
        assert p["dup"] is (p["kind"] in meb.DUP_KINDS)
        assert p["id1"] in arts[p["id2"]]["uses"] or p["kind"] in meb.PAIR_NOT_DUP
    keys = [(a["date"], a["id"]) for a in feed.articles]
    assert keys == sorted(keys), "the feed is in date order"


def _check_retitled(p, base, var):
    assert var["text"] == base["text"] and var["title"] != base["title"]


def _check_trimmed(p, base, var):
    assert base["text"].startswith(var["text"]) and len(var["text"]) < len(base["text"])
    assert 0.0 < p["share"] < 1.0


def _check_extended(p, base, var):
    assert var["text"].startswith(base["text"].rstrip()) and len(var["text"]) > len(base["text"])


def _check_reled(p, base, var):
    b, joiner = meb.units(base["text"])
    assert var["text"].endswith(joiner + joiner.join(b[1:])) and not var["text"].startswith(b[0])
    assert p["detail"] in ("other", "scramble", "paraphrase")
    assert p["share"] <= meb.MAX_UNIT_SHARE


def _check_mid_insert(p, base, var):
    b, j = meb.units(base["text"])
    assert any(var["text"].startswith(j.join(b[:k]) + j) and var["text"].endswith(j + j.join(b[k:]))
               and len(var["text"]) > len(base["text"]) for k in range(1, len(b)))


def _check_mid_drop(p, base, var):
    b, j = meb.units(base["text"])
    assert any(var["text"] == j.join(b[:k] + b[k + 1:]) for k in range(1, len(b) - 1))
    assert p["share"] <= meb.MAX_UNIT_SHARE


def _check_light_edit(p, base, var):
    ratio = difflib.SequenceMatcher(None, base["text"].split(), var["text"].split(), autojunk=False).ratio()
    assert ratio >= 0.85 and p["share"] <= 0.15


def _check_roundup(p, base, var):
    assert "\n\n".join(meb.units(base["text"])[0]) in var["text"]
    assert len(var["text"].split()) > 1.5 * len(base["text"].split()) and len(var["uses"]) >= 3


def _check_boilerplate(p, base, var):
    assert base["text"].strip() in var["text"]
    extra = var["text"].replace(base["text"].strip(), "").split("\n")
    assert all(len(line.split()) <= 12 for line in extra), "only short lines were added"
    if p["detail"] in ("byline", "both"):
        assert not var["text"].startswith(base["text"].strip())
    if p["detail"] in ("footer", "both"):
        assert not var["text"].endswith(base["text"].strip())


def _check_template(p, base, var):
    b, v = WORD.findall(base["text"]), WORD.findall(var["text"])
    assert len(b) == len(v), "one word for one word: the wording is kept"
    kept = sum(x == y for x, y in zip(b, v)) / len(b)
    assert kept >= 0.6 and p["share"] >= meb.MIN_TEMPLATE_CHANGE
    assert abs((1 - kept) - p["share"]) < 1e-3
    for x, y in zip(b, v):
        if NUMBER.fullmatch(x):
            assert NUMBER.fullmatch(y) and y != x and len(y) == len(x), "every number changes, keeping its digit count"
        if x in NAMES:
            assert y != x, "every name changes"
    mapping: dict[str, str] = {}
    for x, y in zip(b, v):
        if x in NAMES:
            assert mapping.setdefault(x, y) == y, "a name changes the same way everywhere"


def _check_same_source_day(p, base, other):
    assert base["source"] == other["source"] and base["date"][:10] == other["date"][:10]
    assert base["uses"] == [base["id"]] and other["uses"] == [other["id"]], "two bases"


def _check_random(p, base, other):
    assert base["uses"] == [base["id"]] and other["uses"] == [other["id"]] and base["id"] != other["id"]


CHECKS = {name.removeprefix("_check_"): f for name, f in dict(globals()).items() if name.startswith("_check_")}


@pytest.mark.parametrize("kind", meb.DUP_KINDS + meb.NOT_DUP_KINDS)
def test_each_edit_is_what_its_pair_says(feed, kind):
    pairs = _pairs(feed, kind)
    assert pairs
    for p, a, b in pairs:
        CHECKS[kind](p, a, b)


def test_every_kind_has_a_check():
    assert set(CHECKS) == set(meb.DUP_KINDS + meb.NOT_DUP_KINDS)


def test_a_known_paraphrase_is_used_for_the_lead(corpus):
    bases, fillers, lang = corpus
    text, share = meb.relead(bases[0].text, lang.paraphrase[bases[0].text.split("\n\n")[0]])
    assert text.startswith("In other words, ") and 0 < share < 1


def test_variants_take_their_outlet_and_date_from_one_distribution(feed):
    arts = _articles(feed)
    for p in feed.pairs:
        if p["kind"] in meb.PAIR_NOT_DUP:
            continue
        base, var = arts[p["id1"]], arts[p["id2"]]
        hours = (datetime.fromisoformat(var["date"]) - datetime.fromisoformat(base["date"])).total_seconds() / 3600
        assert 10 / 60 <= hours <= 36 and abs(hours - p["hours"]) < 0.01
        assert p["same_source"] is (var["source"] == base["source"])


def test_deterministic_for_a_seed(corpus):
    bases, fillers, lang = corpus

    def dump(seed: int) -> str:
        bm = meb.build(bases, fillers, lang, per_kind=4, seed=seed)
        return json.dumps([bm.articles, bm.pairs], ensure_ascii=False)

    assert dump(0) == dump(0)
    assert dump(0) != dump(1)


@pytest.mark.parametrize("text, digits", [("سجلت 2015 حالة", "0123456789"), ("سجلت ٢٠١٥ حالة", "٠١٢٣٤٥٦٧٨٩")],
                         ids=["ascii-digits", "arabic-indic-digits"])
def test_template_numbers_keep_their_script(corpus, text, digits):
    lang = corpus[2]
    out, share = meb.template_swap(text, random.Random(0), lang)
    number = out.split()[1]
    assert number != text.split()[1] and len(number) == 4 and set(number) <= set(digits)
    assert share == pytest.approx(1 / 3)


def test_mutually_unrelated_drops_reprints_both_ways():
    story = " ".join(f"w{k}" for k in range(60))
    other = " ".join(f"v{k}" for k in range(60))
    longer = "intro words here " + story + " and more " + " ".join(f"u{k}" for k in range(200))
    assert meb.mutually_unrelated([story, other, longer]) == [0, 1]  # a long text reprinting a kept one
    assert meb.mutually_unrelated([longer, story, other]) == [0, 2]  # a short reprint of a kept one


def test_generate_refuses_to_write_dataset_text_into_the_repository(tmp_path):
    with pytest.raises(ValueError, match="outside the repository"):
        meb.generate(meb.repo_root() / "results" / "x.jsonl", tmp_path / "p.jsonl", langs=())
