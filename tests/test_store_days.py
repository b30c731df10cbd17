"""dedup.store.days: UTC day numbers, and texts put aside by day and read back a day at a time."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from dedup.store import days as days_module
from dedup.store.days import EXCERPT_CHARS, DaySpool, day_key
from dedup.types import Article


def _days_since_epoch(y: int, m: int, d: int) -> int:
    return (date(y, m, d) - date(1970, 1, 1)).days


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, None, id="none"),
        pytest.param("", None, id="empty"),
        pytest.param("yesterday", None, id="unreadable"),
        pytest.param("1970-01-01", 0, id="epoch"),
        pytest.param("1970-01-01T23:59:59Z", 0, id="last-second-of-day-0"),
        pytest.param("1970-01-02T00:00:00", 1, id="midnight-starts-the-next-day"),
        pytest.param("1969-12-31T23:00:00", -1, id="before-the-epoch-rounds-down"),
        pytest.param("2015-07-21", _days_since_epoch(2015, 7, 21), id="a-date"),
        pytest.param("2015-07-21T01:00:00+03:00", _days_since_epoch(2015, 7, 20), id="riyadh-morning-is-the-previous-utc-day"),
        pytest.param(" 2015-07-21 23:30:00 ", _days_since_epoch(2015, 7, 21), id="spaces-and-a-space-separator"),
    ],
)
def test_day_key_table(value, expected) -> None:
    assert day_key(value) == expected


def _articles() -> list[Article]:
    long_text = "نص طويل " * 100
    return [
        Article("a", "x y", "t1", "2015-07-21", "sabq"),
        Article("b", "z", "", None, "okaz"),
        Article("c", long_text, "عنوان", "2015-07-21T10:00:00", "sabq"),
        Article("d", "w", "t4", "2015-07-22", ""),
        Article("e", "v", "", "", "okaz"),  # an empty date is undated
    ]


def test_tee_yields_every_article_unchanged_in_order(tmp_path: Path) -> None:
    arts = _articles()
    spool = DaySpool(str(tmp_path))
    out = list(spool.tee(iter(arts)))
    assert [a is b for a, b in zip(out, arts)] == [True] * len(arts)
    assert [e.id for e in spool.excerpts] == ["a", "b", "c", "d", "e"]
    assert spool.excerpts[2].text == arts[2].text[:EXCERPT_CHARS] and len(arts[2].text) > EXCERPT_CHARS
    assert [(e.title, e.date, e.source) for e in spool.excerpts] == [(a.title, a.date, a.source) for a in arts]
    day = _days_since_epoch(2015, 7, 21)
    assert sorted(os.listdir(tmp_path)) == sorted([f"day-{day}.pkl", f"day-{day + 1}.pkl", "day-undated.pkl"])


@pytest.mark.parametrize("flush", [1, 2, 20_000], ids=["flush-every-article", "flush-every-two", "flush-at-the-end"])
def test_read_gives_a_days_texts_in_the_order_asked(tmp_path: Path, monkeypatch, flush: int) -> None:
    monkeypatch.setattr(days_module, "_FLUSH_RECORDS", flush)
    arts = _articles()
    spool = DaySpool(str(tmp_path))
    for _ in spool.tee(arts):
        pass
    assert spool.read([2, 0]) == ([arts[2].text, "x y"], ["عنوان", "t1"], ["sabq", "sabq"])
    assert spool.read([0]) == (["x y"], ["t1"], ["sabq"])  # read again: the files stay
    assert spool.read([1, 4]) == (["z", "v"], ["", ""], ["okaz", "okaz"])
    assert spool.read([3]) == (["w"], ["t4"], [""])
    assert spool.read([]) == ([], [], [])


def test_read_while_the_feed_is_still_streaming(tmp_path: Path) -> None:
    spool = DaySpool(str(tmp_path))
    stream = spool.tee(_articles())
    next(stream), next(stream), next(stream)
    assert spool.read([0, 2])[0][0] == "x y"  # what is held is written out before reading
    rest = list(stream)
    assert [a.id for a in rest] == ["d", "e"]
    assert spool.read([0, 2])[1] == ["t1", "عنوان"] and spool.read([3]) == (["w"], ["t4"], [""])


def test_two_spools_keep_to_their_folders(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one, two = DaySpool(str(tmp_path / "one")), DaySpool(str(tmp_path / "two"))
    list(one.tee([Article("a", "first", "", "2015-07-21", "s")]))
    list(two.tee([Article("b", "second", "", "2015-07-21", "s")]))
    assert one.read([0])[0] == ["first"] and two.read([0])[0] == ["second"]
