from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.cluster.groups import UnionFind, choose_keepers, duplicate_groups
from dedup.config import ClusterConfig, DedupConfig
from dedup.flows.dedupe import dedupe
from dedup.results import DUPLICATE, KEPT, SKIPPED
from dedup.types import Article
from dedup.verify import CONTAINED, NEAR, RELATIONS

SEEDS = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))
TEXT = [p.read_text(encoding="utf-8") for p in SEEDS]


def body(i: int) -> str:
    """A seed's content lines (long ones), without its scraped extras."""
    return "\n".join(line for line in TEXT[i].splitlines() if len(line) > 60)


def arts(*texts: str, dates=None, sources=None) -> list[Article]:
    return [
        Article(id=f"a{i}", text=t, date=(dates or [None] * len(texts))[i], source=(sources or [""] * len(texts))[i])
        for i, t in enumerate(texts)
    ]


def by_id(result):
    return {a: i for i, a in enumerate(result.table.ids)}


def test_seeds_one_decision_each_and_no_false_duplicates() -> None:
    r = dedupe([Article(id=p.stem, text=t) for p, t in zip(SEEDS, TEXT)])
    assert len(r.status) == 5 and (r.status == KEPT).all()


def test_exact_copy() -> None:
    r = dedupe(arts(body(4), body(4), body(1)))
    assert r.status.tolist() == [KEPT, DUPLICATE, KEPT]
    assert RELATIONS[int(r.relation[1])] == "exact" and r.keeper[1] == 0


def test_reheadlined_copy_with_trimmed_end() -> None:
    lines = body(4).splitlines()
    copy = "عنوان مختلف تماما عن الخبر\n" + "\n".join(lines[:-1])
    r = dedupe(arts(body(4), copy))
    assert r.status.tolist() == [KEPT, DUPLICATE]
    assert RELATIONS[int(r.relation[1])] in ("near", "contained")


def test_teaser_prefix_is_contained() -> None:
    words = body(4).split()
    teaser = " ".join(words[: len(words) // 4])
    r = dedupe(arts(body(4), teaser), config=DedupConfig(cluster=ClusterConfig(keep="longest")))
    assert r.status.tolist() == [KEPT, DUPLICATE]
    assert RELATIONS[int(r.relation[1])] == "contained"
    assert r.scores[1, 1] > 0.95  # containment of the teaser in the full piece


def test_full_piece_kept_over_earlier_teaser() -> None:
    words = body(4).split()
    teaser = " ".join(words[: len(words) // 3])
    r = dedupe(arts(teaser, body(4), dates=["2024-01-01", "2024-01-02"]))  # keep=earliest by default
    assert r.status.tolist() == [DUPLICATE, KEPT] and r.keeper[0] == 1


@pytest.mark.parametrize("method", ["union", "star"])
@pytest.mark.parametrize("keep", ["longest", "first"])
def test_wire_item_inside_two_roundups_does_not_glue_them(method: str, keep: str) -> None:
    wire = "\n".join(body(3).splitlines()[6:9])  # a short item, three paragraphs
    roundup1 = body(1) + "\n" + wire
    roundup2 = body(2) + "\n" + wire
    r = dedupe(arts(wire, roundup1, roundup2), config=DedupConfig(cluster=ClusterConfig(keep=keep, method=method)))
    g = r.group
    assert g[0] >= 0, "the wire item joins a roundup"
    assert g[1] != g[2] or g[1] == -1, "two different roundups are not copies of each other"
    assert (g[0] == g[1]) != (g[0] == g[2]), "the item joins exactly one container"


def test_different_articles_not_grouped() -> None:
    r = dedupe(arts(body(0), body(1), body(2), body(3), body(4)))
    assert (r.group == -1).all()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("", "empty text", id="empty"),
        pytest.param("   \n ", "empty text", id="whitespace"),
        pytest.param("خبر قصير", "too short", id="short"),
    ],
)
def test_short_and_empty_are_skipped_with_reason(text: str, reason: str) -> None:
    r = dedupe(arts(body(1), text, text))
    assert r.status[1] == SKIPPED and r.status[2] == SKIPPED
    assert r.reason_skipped[1].startswith(reason)
    assert r.group[1] == -1 and r.group[2] == -1  # never one giant bucket


def test_huge_article_skipped() -> None:
    r = dedupe(arts(body(1), "x " * 50, body(2)), config=DedupConfig(max_chars=80))
    assert r.status[1] == SKIPPED and "too long" in r.reason_skipped[1]


@pytest.mark.parametrize(
    ("keep", "dates", "sources", "expected_keeper"),
    [
        pytest.param("first", None, None, 0, id="first"),
        pytest.param("earliest", ["2024-01-03", "2024-01-01", "2024-01-02"], None, 1, id="earliest"),
        pytest.param("earliest", [None, "2024-01-05", None], None, 1, id="earliest-missing-dates-last"),
        pytest.param("earliest", ["2024-01-01", "2024-01-01", "2024-01-01"], None, 0, id="earliest-tie-first"),
        pytest.param("longest", None, None, 2, id="longest"),
        pytest.param("source-priority", None, ["c", "b", "a"], 2, id="source-priority"),
    ],
)
@pytest.mark.parametrize("method", ["union", "star"])
def test_keeper_policies(keep, dates, sources, expected_keeper, method) -> None:
    base = body(4)
    texts = [base, base, base + "\nفقرة اضافية قصيرة في نهاية الخبر"]
    priority = ("a", "b") if keep == "source-priority" else ()
    cfg = DedupConfig(cluster=ClusterConfig(keep=keep, source_priority=priority, method=method))
    r = dedupe(arts(*texts, dates=dates, sources=sources), config=cfg)
    assert (r.group >= 0).all()
    assert set(r.keeper.tolist()) == {expected_keeper}
    assert r.status[expected_keeper] == KEPT and (r.status == DUPLICATE).sum() == 2


def test_union_find_long_chain_is_iterative() -> None:
    n = 200_000
    uf = UnionFind(n)
    for i in range(n - 1, 0, -1):
        uf.union(i, i - 1)
    assert set(uf.labels().tolist()) == {0}


def test_chaining_guard_unit() -> None:
    # item 0 is contained in 1 (0.9) and in 2 (0.8); 1 and 2 share nothing else
    pairs = np.array([[0, 1], [0, 2]])
    labels = duplicate_groups(3, pairs, np.array([CONTAINED, CONTAINED]), np.array([0.9, 0.8]), np.array([0.1, 0.1]))
    assert labels.tolist() == [0, 0, 2]
    # near edges still merge transitively
    labels = duplicate_groups(3, pairs, np.array([NEAR, NEAR]), np.zeros(2), np.zeros(2))
    assert labels.tolist() == [0, 0, 0]


def test_star_groups_no_chain() -> None:
    from dedup.cluster.groups import star_groups

    # 0-1 and 1-2 verified, 0-2 not: keeper 0 takes 1, 2 stays alone
    pairs = np.array([[0, 1], [1, 2]])
    rel = np.array([NEAR, NEAR])
    one = np.ones(2)
    assert star_groups(3, pairs, rel, one, one, one, np.array([0.0, 1.0, 2.0])).tolist() == [0, 0, 2]
    assert duplicate_groups(3, pairs, rel, one, one).tolist() == [0, 0, 0]


def test_choose_keepers_tie_break() -> None:
    assert choose_keepers(np.array([0, 0, 0]), np.array([np.nan, 1.0, 1.0])).tolist() == [1, 1, 1]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from([0, 1, 2, 3, 4, 5, 6]), min_size=1, max_size=12))
def test_every_article_gets_exactly_one_decision(choices) -> None:
    pool = [body(0), body(1), body(4), "", "قصير", body(4) + "\nذيل مضاف", " ".join(body(1).split()[:40])]
    r = dedupe(arts(*(pool[c] for c in choices)))
    n = len(choices)
    assert len(r.status) == n and set(r.status.tolist()) <= {KEPT, DUPLICATE, SKIPPED}
    dup = r.status == DUPLICATE
    assert (r.keeper[dup] >= 0).all() and (r.status[r.keeper[dup]] == KEPT).all()
    assert (r.group[dup] == r.group[r.keeper[dup]]).all()


def test_deterministic() -> None:
    a = dedupe(arts(*(TEXT * 2)))
    b = dedupe(arts(*(TEXT * 2)))
    assert a.status.tolist() == b.status.tolist() and a.group.tolist() == b.group.tolist()
    assert a.pairs.tolist() == b.pairs.tolist()
