"""dedup.store.days: UTC day numbers, headlines put aside by day, compared texts written by chunk and day, read back a day at a time."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from dedup.store import days as days_module
from dedup.store.days import EXCERPT_CHARS, UNDATED, DaySpool, DayTexts, day_key, put_texts
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


def _compared(arts: list[Article]) -> list[str]:
    """Stand-ins for the texts dedupe compares (what its sketch stage writes)."""
    return [f"c:{a.text[:20]}" for a in arts]


def _teed(tmp_path: Path, arts: list[Article], raw_texts: bool = False, chunk: int = 2) -> DaySpool:
    """A spool the feed streamed through, with the compared texts written chunk by chunk as dedupe writes them."""
    spool = DaySpool(str(tmp_path), raw_texts=raw_texts)
    for _ in spool.tee(arts):
        pass
    for base in range(0, len(arts), chunk):
        put_texts(str(tmp_path), base, spool.days(base, min(len(arts), base + chunk)), _compared(arts[base : base + chunk]))
    return spool


def test_tee_yields_every_article_unchanged_in_order(tmp_path: Path) -> None:
    arts = _articles()
    spool = DaySpool(str(tmp_path))
    out = list(spool.tee(iter(arts)))
    assert [a is b for a, b in zip(out, arts)] == [True] * len(arts)
    assert [e.id for e in spool.excerpts()] == ["a", "b", "c", "d", "e"]
    assert spool.excerpts()[2].text == arts[2].text[:EXCERPT_CHARS] and len(arts[2].text) > EXCERPT_CHARS
    assert [(e.title, e.date, e.source) for e in spool.excerpts()] == [(a.title, a.date, a.source) for a in arts]
    day = _days_since_epoch(2015, 7, 21)
    assert sorted(os.listdir(tmp_path)) == sorted([f"day-{day}.pkl", f"day-{day + 1}.pkl", "day-undated.pkl", "excerpts.pkl"])
    assert spool.days(0, 5).tolist() == [day, UNDATED, day, day + 1, UNDATED]


@pytest.mark.parametrize("flush", [1, 2, 20_000], ids=["flush-every-article", "flush-every-two", "flush-at-the-end"])
@pytest.mark.parametrize("chunk", [1, 2, 5], ids=["chunk-1", "chunk-2", "one-chunk"])
def test_read_gives_a_days_texts_in_the_order_asked(tmp_path: Path, monkeypatch, flush: int, chunk: int) -> None:
    monkeypatch.setattr(days_module, "_FLUSH_RECORDS", flush)
    arts = _articles()
    spool = _teed(tmp_path, arts, chunk=chunk)
    c = _compared(arts)
    assert spool.read([2, 0]) == DayTexts([c[2], c[0]], ["عنوان", "t1"], None)
    assert spool.read([0]) == ([c[0]], ["t1"], None)  # read again: the files stay
    assert spool.read([4, 1]) == ([c[4], c[1]], ["", ""], None)
    assert spool.read([3]) == ([c[3]], ["t4"], None)
    assert spool.read([]) == ([], [], None)


def test_raw_texts_are_kept_only_when_asked(tmp_path: Path) -> None:
    arts = _articles()
    (tmp_path / "raw").mkdir()
    (tmp_path / "bare").mkdir()
    with_raw, bare = _teed(tmp_path / "raw", arts, raw_texts=True), _teed(tmp_path / "bare", arts)
    assert with_raw.read([2, 0]).raw == [arts[2].text, "x y"] and with_raw.read([]).raw == []
    assert bare.read([2, 0]).raw is None
    assert with_raw.read([2, 0])[:2] == bare.read([2, 0])[:2]
    assert os.path.getsize(tmp_path / "bare" / os.listdir(tmp_path / "bare")[0]) > 0
    assert sum(f.stat().st_size for f in (tmp_path / "bare").iterdir() if f.name.startswith("day-")) < sum(
        f.stat().st_size for f in (tmp_path / "raw").iterdir() if f.name.startswith("day-")) - len(arts[2].text)


def test_put_texts_writes_one_file_per_day_of_a_chunk(tmp_path: Path) -> None:
    put_texts(str(tmp_path), 10, np.array([3, UNDATED, 3, 4]), ["a", "b", "c", "d"])
    assert sorted(os.listdir(tmp_path)) == ["text-3-000000000010.pkl", "text-4-000000000010.pkl",
                                            "text-undated-000000000010.pkl"]


def test_a_position_whose_text_was_never_written_is_a_key_error(tmp_path: Path) -> None:
    spool = DaySpool(str(tmp_path))
    list(spool.tee(_articles()))
    put_texts(str(tmp_path), 0, spool.days(0, 1), ["only the first"])
    assert spool.read([0]).bodies == ["only the first"]
    with pytest.raises(KeyError):
        spool.read([2])


def test_headlines_can_be_read_while_the_feed_is_still_streaming(tmp_path: Path) -> None:
    spool = DaySpool(str(tmp_path))
    stream = spool.tee(_articles())
    next(stream), next(stream), next(stream)
    put_texts(str(tmp_path), 0, spool.days(0, 3), ["x", "z", "w"])
    assert spool.read([0, 2]).titles == ["t1", "عنوان"]  # what is held is written out before reading
    rest = list(stream)
    assert [a.id for a in rest] == ["d", "e"]


def test_two_spools_keep_to_their_folders(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one = _teed(tmp_path / "one", [Article("a", "first", "h1", "2015-07-21", "s")])
    two = _teed(tmp_path / "two", [Article("b", "second", "h2", "2015-07-21", "s")])
    assert one.read([0]) == (["c:first"], ["h1"], None) and two.read([0]) == (["c:second"], ["h2"], None)


@pytest.mark.parametrize("raw_texts", [False, True])
def test_a_day_ref_reads_back_what_the_spool_reads(tmp_path: Path, raw_texts: bool) -> None:
    """A worker given a DayRef (pickled, as it crosses to the process) reads what the spool reads itself."""
    import pickle

    from dedup.store.days import DayRef, read_day

    arts = _articles()
    spool = _teed(tmp_path, arts, raw_texts=raw_texts)
    for positions in ([0, 2], [2, 0], [1, 4], [3], []):
        ref = pickle.loads(pickle.dumps(spool.ref(positions)))
        assert isinstance(ref, DayRef) and ref.positions == positions
        assert read_day(ref) == spool.read(positions)
    assert read_day(spool.ref([2, 0])).bodies == [_compared(arts)[2], _compared(arts)[0]]
    day = _days_since_epoch(2015, 7, 21)
    assert spool.ref([0]).day == day and spool.ref([1]).day is None
    with pytest.raises(KeyError):  # a position of that day whose compared text was never written
        read_day(DayRef(str(tmp_path), day, [0, 3], raw_texts))


def test_a_parked_day_comes_back_whole_and_its_file_goes(tmp_path) -> None:
    """A worker's finished day waits on disk (park) and is read back once (unpark), the same arrays, the file removed."""
    import scipy.sparse as sp

    from dedup.config import StoriesConfig
    from dedup.stories.day import build_day
    from dedup.store.days import park, unpark

    day = build_day(["the cabinet approved a new airport plan today", "rain flooded the coastal road"], ["airports", ""],
                    np.array([0.0, 60.0]), np.array([-1, 3]), np.array([5, 6]), StoriesConfig())
    path = park(day, str(tmp_path))
    assert os.path.dirname(path) == str(tmp_path) and os.listdir(tmp_path) == [os.path.basename(path)]
    back = unpark(path)
    assert os.listdir(tmp_path) == []
    for field in ("arrival", "times", "lengths", "copies"):
        assert np.array_equal(getattr(back, field), getattr(day, field))
    for field in ("body_words", "title_words", "body_chars", "numbers"):
        a, b = getattr(back, field), getattr(day, field)
        assert sp.issparse(a) and a.dtype == b.dtype and (a != b).nnz == 0


@pytest.mark.parametrize("rows", [1, 2, 1000])
def test_a_day_whose_character_counts_were_spilled_comes_back_the_same(tmp_path, monkeypatch, rows: int) -> None:
    """Counts written a block at a time (SpilledRows) are read back by rows once unparked (DiskRows): the same rows as made in memory; files gone once let go."""
    import scipy.sparse as sp

    import dedup.stories.vectors as vectors
    from dedup.config import StoriesConfig
    from dedup.stories.day import build_day
    from dedup.store.days import DiskRows, SpilledRows, park, unpark

    texts = ["the cabinet approved a new airport plan today", "", "rain flooded the coastal road", "a"]
    args = (texts, ["airports", "", "", ""], np.zeros(4), np.full(4, -1), np.arange(4), StoriesConfig())
    monkeypatch.setattr(vectors, "_BLOCK_ROWS", rows)
    made = build_day(*args)
    spilled = build_day(*args, spill=str(tmp_path))
    assert isinstance(spilled.body_chars, SpilledRows) and sp.issparse(spilled.body_words)
    back = unpark(park(spilled, str(tmp_path)))
    assert len(os.listdir(tmp_path)) == 2  # the parked day is gone; the counts' two files are read from where they are
    disk, b = back.body_chars, made.body_chars
    assert isinstance(disk, DiskRows) and disk.shape == b.shape and disk.nnz == b.nnz
    assert np.array_equal(disk.column_counts(), np.bincount(b.indices, minlength=b.shape[1]))
    for lo, hi in [(0, 4), (0, 1), (1, 3), (2, 2), (3, 4)]:  # any range of rows, as made in memory
        a = disk[lo:hi]
        assert sp.isspmatrix_csr(a) and a.shape == b[lo:hi].shape and a.dtype == b.dtype == np.float32 and a.has_canonical_format
        assert np.array_equal(a.indptr, b[lo:hi].indptr) and np.array_equal(a.indices, b[lo:hi].indices)
        assert np.array_equal(a.data, b[lo:hi].data)
    with pytest.raises(TypeError, match="owns its files"):
        park(back, str(tmp_path))
    assert (back.body_words != made.body_words).nnz == 0
    del back, disk
    assert os.listdir(tmp_path) == []  # let go: the files are gone (and the day that could not be parked left none)


def test_spilled_rows_refuse_a_block_past_their_rows_and_a_short_file(tmp_path) -> None:
    import scipy.sparse as sp

    from dedup.store.days import SpilledRows

    rows = SpilledRows(str(tmp_path), 2, 8, np.float32)
    rows.append(sp.csr_matrix(np.eye(2, 8, dtype=np.float32)))
    with pytest.raises(ValueError, match="after 2 of 2 rows"):
        rows.append(sp.csr_matrix(np.eye(1, 8, dtype=np.float32)))
    rows.close()
    with open(rows.path + ".data", "ab") as f:
        f.write(b"\0" * 4)  # one value too many: a file that is not what was written
    with pytest.raises(OSError, match="for 2 entries"):
        rows.load()
    assert os.listdir(tmp_path) == []
