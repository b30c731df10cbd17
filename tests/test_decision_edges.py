"""Every article a decision names has its verified edge in pairs.jsonl (README, "Outputs"), and where it may not."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dedup.cli import app

SEEDS = [p.read_text(encoding="utf-8") for p in sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))]


def _run(tmp_path: Path, articles: list[tuple[str, str]], cluster: str) -> tuple[dict[str, dict], set[frozenset[str]]]:
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({"id": i, "text": t, "date": f"2024-03-01T1{k}:00:00"}, ensure_ascii=False) + "\n"
                            for k, (i, t) in enumerate(articles)), encoding="utf-8")
    out = tmp_path / cluster
    res = CliRunner().invoke(app, ["dedupe", str(feed), "--out", str(out), "-q", "--cluster", cluster])
    assert res.exit_code == 0, res.output
    decided = {d["id"]: d for d in map(json.loads, (out / "decisions.jsonl").read_text(encoding="utf-8").splitlines())}
    pairs = {frozenset((p["id1"], p["id2"]))
             for p in map(json.loads, (out / "pairs.jsonl").read_text(encoding="utf-8").splitlines())}
    return decided, pairs


@pytest.mark.parametrize("cluster", ["star", "union"])
def test_a_roundup_its_items_and_an_items_exact_copy_name_only_articles_with_an_edge(tmp_path: Path, cluster: str) -> None:
    """A roundup A holding items B and C, and B2 an exact copy of B: every contained_in and every non-exact
    duplicate_of a decision names has its line in pairs.jsonl (B2's containers through the edge carried to it)."""
    decided, pairs = _run(tmp_path, [("A", "\n".join(SEEDS[:3])), ("B", SEEDS[1]), ("C", SEEDS[2]), ("B2", SEEDS[1])],
                          cluster)
    assert decided["B"]["contained_in"] == decided["B2"]["contained_in"] == ["A"]
    for d in decided.values():
        named = d["contained_in"] + ([d["duplicate_of"]] if d["relation"] not in (None, "exact") else [])
        for other in named:
            assert frozenset((d["id"], other)) in pairs, (cluster, d["id"], other)


def _edited(words: list[str], lo: float, hi: float, rng: random.Random) -> list[str]:
    w = list(words)
    for k in range(int(len(w) * lo), int(len(w) * hi)):
        w[k] = f"بديل{rng.randrange(10**6)}"
    return w


def test_union_names_the_components_keeper_reached_through_a_path_of_edges(tmp_path: Path) -> None:
    """A chain: B is A with its first quarter rewritten, C is B with its last quarter rewritten; A-B and B-C verify,
    A-C does not. Star keeps C apart; union makes C a duplicate of the keeper A with no A-C line in pairs.jsonl, the
    path A-B-C inside the group instead, and scores measured against A (README, `--cluster union`)."""
    rng = random.Random(1)
    a = SEEDS[0].split()
    b = _edited(a, 0.0, 0.25, rng)
    c = _edited(b, 0.75, 1.0, rng)
    feed = [("A", " ".join(a)), ("B", " ".join(b)), ("C", " ".join(c))]
    star, star_pairs = _run(tmp_path, feed, "star")
    union, pairs = _run(tmp_path, feed, "union")
    assert pairs == star_pairs == {frozenset("AB"), frozenset("BC")}
    assert star["C"]["status"] == "kept" and star["B"]["duplicate_of"] == "A"
    assert union["C"]["status"] == "duplicate" and union["C"]["duplicate_of"] == "A"
    assert union["C"]["group"] == union["B"]["group"] == "A" and frozenset("AC") not in pairs
    assert union["C"]["scores"]["jaccard"] < union["B"]["scores"]["jaccard"]  # against A, not against B
    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8").split())
    assert "A member's `duplicate_of` is then its component's keeper, which it may reach only through other members" in readme
