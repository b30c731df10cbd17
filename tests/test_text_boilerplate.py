"""dedup.text.boilerplate: line keys, the per-source count rule, stripping, and the report."""

from __future__ import annotations

import numpy as np
import pytest
import xxhash

from dedup.config import BoilerplateConfig
from dedup.text.boilerplate import (
    Boilerplate,
    find_boilerplate,
    line_key,
    line_keys,
    line_keys_per_article,
    strip_boilerplate,
)

READ_ALSO = "اقرا ايضا"  # normalized "اقرأ أيضاً"
SHARE = "شارك هذا الخبر"


def test_line_key_is_a_fixed_hash_of_source_and_line() -> None:
    # stable across processes and runs: history indexes store these keys
    assert line_key("sabq", READ_ALSO) == xxhash.xxh3_64_intdigest(f"sabq\x1f{READ_ALSO}".encode())
    assert line_key("sabq", READ_ALSO) == line_key("sabq", READ_ALSO)
    assert line_key("sabq", READ_ALSO) != line_key("okaz", READ_ALSO)  # boilerplate is per source
    assert line_key("ab", "c") != line_key("a", "bc")  # the separator keeps source and line apart


def _cfg(**kw) -> BoilerplateConfig:
    return BoilerplateConfig(**kw)


def test_keys_per_article_count_distinct_short_lines() -> None:
    cfg = _cfg(max_tokens=3)
    lines = [
        [READ_ALSO, READ_ALSO, SHARE],  # a line twice in one article counts once
        ["one two three four"],  # 4 tokens > max_tokens: never boilerplate
        [],
        ["one two three"],  # exactly max_tokens: may be boilerplate
    ]
    keys, counts = line_keys_per_article(lines, ["s", "s", "s", "s"], cfg)
    assert counts.tolist() == [2, 0, 0, 1]
    assert sorted(keys.tolist()) == sorted([line_key("s", READ_ALSO), line_key("s", SHARE), line_key("s", "one two three")])
    assert keys.dtype == np.uint64
    assert line_keys(lines, ["s"] * 4, cfg).tolist() == keys.tolist()


def test_disabled_gives_no_keys_but_a_count_per_article() -> None:
    keys, counts = line_keys_per_article([[READ_ALSO], [SHARE]], ["s", "s"], _cfg(enabled=False))
    assert len(keys) == 0 and counts.tolist() == [0, 0]
    assert len(find_boilerplate(np.array([1, 1, 1, 1, 1], dtype=np.uint64), _cfg(enabled=False, min_articles=2))) == 0


def _feed(n_with: int, source: str = "s", line: str = READ_ALSO) -> tuple[list[list[str]], list[str]]:
    """``n_with`` articles holding ``line`` plus their own content line, and two without it."""
    lines = [[line, f"content of article {k} about its own subject"] for k in range(n_with)]
    lines += [[f"another article {k} with different content"] for k in range(2)]
    return lines, [source] * len(lines)


@pytest.mark.parametrize(
    ("holders", "min_articles", "prior", "found"),
    [
        pytest.param(4, 4, 0, True, id="at-min-articles"),
        pytest.param(3, 4, 0, False, id="one-short"),
        pytest.param(3, 4, 1, True, id="history-tops-it-up"),
        pytest.param(1, 4, 2, False, id="history-not-enough"),
        pytest.param(2, 2, 0, True, id="lower-threshold"),
    ],
)
def test_count_rule_table(holders, min_articles, prior, found) -> None:
    cfg = _cfg(min_articles=min_articles)
    lines, sources = _feed(holders)
    key = line_key("s", READ_ALSO)
    history = (lambda uniq: np.where(uniq == np.uint64(key), prior, 0)) if prior else None
    bp = find_boilerplate(line_keys(lines, sources, cfg), cfg, history)
    assert (key in bp.key_set()) is found
    assert len(bp) == int(found)  # content lines are held by one article each
    if found:
        assert bp.counts.tolist() == [holders + prior]


def test_the_same_line_in_two_sources_is_counted_per_source() -> None:
    cfg = _cfg(min_articles=4)
    lines = [[SHARE]] * 6
    sources = ["a", "a", "a", "b", "b", "b"]
    assert len(find_boilerplate(line_keys(lines, sources, cfg), cfg)) == 0
    bp = find_boilerplate(line_keys(lines, ["a", "a", "a", "a", "b", "b"], cfg), cfg)
    assert bp.key_set() == {line_key("a", SHARE)}


def test_found_keys_are_sorted_with_int64_counts() -> None:
    cfg = _cfg(min_articles=2)
    keys = np.array([9, 3, 9, 3, 3, 5, 7, 7], dtype=np.uint64)
    bp = find_boilerplate(keys, cfg)
    assert bp.keys.tolist() == [3, 7, 9] and bp.counts.tolist() == [3, 2, 2]
    assert bp.counts.dtype == np.int64


@pytest.mark.parametrize("keys", [np.zeros(0, dtype=np.uint64)], ids=["no-keys"])
def test_no_keys_no_boilerplate(keys) -> None:
    bp = find_boilerplate(keys, _cfg())
    assert len(bp) == 0 and bp.key_set() == frozenset() and bp.report() == []


STRIP_TABLE = [
    # lines, source, boilerplate (source, line) pairs, max_tokens, kept text, removed
    pytest.param([READ_ALSO, "خبر عن الرياض", SHARE], "s", [("s", READ_ALSO), ("s", SHARE)], None, "خبر عن الرياض", 2,
                 id="arabic-navigation-stripped"),
    pytest.param([READ_ALSO, "خبر عن الرياض"], "t", [("s", READ_ALSO)], None, f"{READ_ALSO} خبر عن الرياض", 0,
                 id="another-source-keeps-it"),
    pytest.param(["a b c", "x"], "s", [("s", "a b c")], 2, "a b c x", 0, id="long-line-kept-without-hashing"),
    pytest.param(["a b c", "x"], "s", [("s", "a b c")], 3, "x", 1, id="at-max-tokens-stripped"),
    pytest.param([SHARE, SHARE], "s", [("s", SHARE)], None, f"{SHARE} {SHARE}", 0, id="every-line-kept-whole"),
    pytest.param([], "s", [("s", SHARE)], None, "", 0, id="no-lines"),
    pytest.param(["a", "b"], "s", [], None, "a b", 0, id="no-boilerplate"),
]


@pytest.mark.parametrize(("lines", "source", "bp", "max_tokens", "text", "removed"), STRIP_TABLE)
def test_strip_table(lines, source, bp, max_tokens, text, removed) -> None:
    keys = frozenset(line_key(s, line) for s, line in bp)
    content, n, found = strip_boilerplate(lines, source, keys, max_tokens)
    assert (content, n) == (text, removed)
    short = [line for line in lines if max_tokens is None or line.count(" ") < max_tokens]
    assert found == {line_key(source, line): (source, line) for line in short if (source, line) in bp and n}


def test_copies_of_a_short_flash_are_duplicates_not_boilerplate(tmp_path) -> None:
    """Six copies of a one-line item in a feed without sources: its line recurs in four articles or more, so it was
    taken for boilerplate, every copy stripped to nothing and skipped, and all six passed to unique.jsonl."""
    import json

    from typer.testing import CliRunner

    from dedup.cli import app

    flash = "عاجل: زلزال بقوة 5 درجات يضرب جنوب البلاد دون أنباء عن إصابات حتى الآن"
    feed = tmp_path / "f.jsonl"
    feed.write_text("".join(json.dumps({"id": f"x{k}", "text": flash}) + "\n" for k in range(6))
                    + json.dumps({"id": "other", "text": "خبر آخر تماما عن مباراة كرة القدم في الرياض مساء أمس"}) + "\n",
                    encoding="utf-8")
    res = CliRunner().invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in (tmp_path / "o" / "decisions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["status"] for r in rows] == ["kept"] + ["duplicate"] * 5 + ["kept"]
    assert len((tmp_path / "o" / "unique.jsonl").read_text(encoding="utf-8").splitlines()) == 2


def test_find_then_strip_end_to_end() -> None:
    cfg = _cfg(min_articles=3)
    lines, sources = _feed(3)
    bp = find_boilerplate(line_keys(lines, sources, cfg), cfg)
    stripped = [strip_boilerplate(art, src, bp.key_set(), cfg.max_tokens) for art, src in zip(lines, sources)]
    assert [s[0] for s in stripped[:3]] == [f"content of article {k} about its own subject" for k in range(3)]
    assert [s[1] for s in stripped] == [1, 1, 1, 0, 0]
    bp = bp.with_lines(s[2] for s in stripped)
    assert bp.report() == [{"source": "s", "line": READ_ALSO, "articles": 3}]
    assert bp.per_source() == {"s": 1}


def test_with_lines_keeps_the_first_text_of_a_key_and_the_counts() -> None:
    bp = Boilerplate(np.array([1, 2], dtype=np.uint64), np.array([5, 4], dtype=np.int64))
    out = bp.with_lines([{1: ("s", "first")}, {1: ("s", "second"), 2: ("t", "other")}])
    assert out.lines == {1: ("s", "first"), 2: ("t", "other")}
    assert out.keys is bp.keys and out.counts is bp.counts and bp.lines == {}


def test_report_is_most_frequent_first_then_source_then_line() -> None:
    bp = Boilerplate(
        np.array([1, 2, 3, 4], dtype=np.uint64),
        np.array([4, 9, 4, 4], dtype=np.int64),
        {1: ("b", "z"), 2: ("c", "y"), 3: ("a", "y"), 4: ("b", "a")},
    )
    assert [(r["source"], r["line"], r["articles"]) for r in bp.report()] == [
        ("c", "y", 9), ("a", "y", 4), ("b", "a", 4), ("b", "z", 4),
    ]
    assert bp.per_source() == {"b": 2, "c": 1, "a": 1}
    assert len(bp) == 4


def test_report_lists_only_lines_seen_while_stripping() -> None:
    bp = Boilerplate(np.array([1, 2], dtype=np.uint64), np.array([4, 4], dtype=np.int64), {2: ("s", "seen")})
    assert bp.report() == [{"source": "s", "line": "seen", "articles": 4}]
