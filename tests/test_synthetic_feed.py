"""The large-family mode of scripts/make_synthetic_feed.py builds what it says (truth, family sizes, replaced shares).

Built from synthetic documents (no shared data), so the scale benchmark's
second feed cannot silently start measuring something else.
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import make_synthetic_feed as msf  # noqa: E402

WORD = re.compile(r"\w+")


def _docs(n: int = 40) -> list[dict]:
    rng = random.Random(3)
    vocab = [f"كلمة{k}" for k in range(3000)]  # words of the "other" (non-ASCII, non-digit) class
    docs = []
    for i in range(n):
        paras = [" ".join(rng.choice(vocab) for _ in range(rng.randint(30, 60))) for _ in range(3)]
        docs.append({"title": f"title {i}", "content": "\n\n".join(paras), "source": f"s{i % 4}",
                     "date_extracted": f"2015-07-{21 + i % 9:02d} 10:00:00"})
    docs.append({"title": "short", "content": "too few words here", "source": "s0", "date_extracted": "2015-07-22 10:00:00"})
    return docs


@pytest.fixture(scope="module")
def feed() -> tuple[list[dict], msf.FeedStats]:
    corpus = msf.DevCorpus(_docs(), seed=0)
    stats = msf.FeedStats(8000, 0, {}, 0, 0.0)
    rows = [r for r, _ in msf._family_records(8000, corpus, 0, (10, 20), (0.03, 0.35), stats)]
    return rows, stats


def test_every_copy_names_an_original_and_families_have_the_asked_sizes(feed) -> None:
    rows, stats = feed
    originals = {r["id"]: r for r in rows if r["truth"] is None}
    copies = [r for r in rows if r["truth"] is not None]
    assert stats.originals == len(originals) and sum(stats.copies.values()) == len(copies)
    assert set(stats.copies) == {"replaced_3", "replaced_35"}
    family = Counter(r["truth"]["base"] for r in copies)
    assert set(family) <= set(originals)
    assert max(family.values()) <= 20
    # families still open at the end of the feed are cut short; the first ones are complete
    first = [rid for rid in sorted(originals)[:50]]
    assert all(10 <= family[rid] <= 20 for rid in first)
    assert all("too few words" not in r["text"] for r in originals.values())  # a base has at least 60 words


def test_a_copy_has_about_its_share_of_words_replaced(feed) -> None:
    rows, _ = feed
    by_id = {r["id"]: r for r in rows}
    shares: dict[str, list[float]] = {"replaced_3": [], "replaced_35": []}
    for r in rows:
        if r["truth"] is None:
            continue
        base = by_id[r["truth"]["base"]]
        a, b = WORD.findall(base["text"]), WORD.findall(r["text"])
        assert len(a) == len(b)  # replaced, never inserted or deleted
        assert r["title"] == base["title"] and r["source"] != base["source"]
        shares[r["truth"]["kind"]].append(sum(x != y for x, y in zip(a, b)) / len(a))
    mean = {k: sum(v) / len(v) for k, v in shares.items()}
    assert 0.015 < mean["replaced_3"] < 0.045  # a replacement may draw the same word back
    assert 0.28 < mean["replaced_35"] < 0.37


def test_the_feed_is_deterministic_and_cli_checks_its_arguments(tmp_path: Path, capsys) -> None:
    corpus = msf.DevCorpus(_docs(), seed=0)
    outs = []
    for k in range(2):
        out = tmp_path / f"f{k}.jsonl"
        msf.generate(500, out, tmp_path, corpus=corpus, families=(10, 100))
        outs.append(out.read_bytes())
        assert msf.provenance_path(out).exists()
    assert outs[0] == outs[1]
    assert json.loads(outs[0].splitlines()[0])["truth"] is None
    for bad in (["--families", "5"], ["--families", "20,10"], ["--families", "1,2", "--replace", "1.5"]):
        with pytest.raises(SystemExit):
            msf.main(["--size", "10", "--out", str(tmp_path / "x.jsonl"), *bad])
