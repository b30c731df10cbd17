"""A prune of a SQLite index compacts the file (VACUUM) only when more than a quarter of it came free: rewriting the whole file was
most of a day's prune of a long history (65% of the prune of a day from 100k articles), a cost that grew with the
history kept, not with what was pruned. The freed pages are reused by the next adds; the index reads the same."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from test_index import _epoch, _export, _rows, _run, days

from dedup.config import DedupConfig
from dedup.store import prune_sqlite, segments
from dedup.store.history import open_index


def _pages(location: str) -> tuple[int, int]:
    conn = sqlite3.connect(location)
    try:
        return tuple(conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("freelist_count", "page_count"))  # type: ignore[return-value]
    finally:
        conn.close()


def _prune(location: str, before: str) -> int:
    idx = open_index(location, DedupConfig())
    try:
        with idx.writer():
            return idx.prune(_epoch(before))
    finally:
        idx.close()


def _stats(location: str) -> dict:
    idx = open_index(location, create=False, read_only=True)
    try:
        info = idx.stats()
    finally:
        idx.close()
    return {k: v for k, v in info.items() if k not in ("location", "bytes_on_disk", "bytes_per_article", "created")}


def test_a_small_prune_leaves_its_pages_for_the_next_adds_and_reads_as_a_compacted_one(tmp_path: Path,
                                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    d1, d2, d3 = days()
    kept, compacted = str(tmp_path / "kept.db"), str(tmp_path / "compacted.db")
    _run(d1 + d2, kept)
    shutil.copy(kept, compacted)
    assert _prune(kept, "2024-03-01T09:00:00") == 1  # one article of 74
    free, pages = _pages(kept)
    assert free > 0  # not rewritten: VACUUM leaves no free page
    assert free <= prune_sqlite.VACUUM_FREE * pages
    with monkeypatch.context() as m:
        m.setattr(prune_sqlite, "VACUUM_FREE", -1.0)  # always compact, as every prune did
        assert _prune(compacted, "2024-03-01T09:00:00") == 1
    assert _pages(compacted)[0] == 0
    assert _export(kept) == _export(compacted) and _stats(kept) == _stats(compacted)
    # the next day added onto the free pages decides and stores the same
    assert _rows(_run(d3, kept)) == _rows(_run(d3, compacted))
    assert _export(kept) == _export(compacted) and _stats(kept) == _stats(compacted)


def test_a_prune_that_frees_a_large_share_of_the_file_compacts_it(tmp_path: Path) -> None:
    d1, d2, _ = days()
    location = str(tmp_path / "h.db")
    _run(d1 + d2, location)
    pages = _pages(location)[1]
    assert _prune(location, "2024-03-02T00:00:00") == len(d1)
    free, after = _pages(location)
    assert free == 0 and after < pages
    assert [r["id"] for r in _export(location)] == [a.id for a in d2]


def _runs(location: str) -> list[tuple]:
    conn = sqlite3.connect(location)
    try:
        return conn.execute("SELECT seg, kind, pairs FROM segments WHERE kind IN ('band', 'anchor') ORDER BY seg").fetchall()
    finally:
        conn.close()


def test_a_prune_leaves_the_band_and_anchor_runs_and_reads_as_one_that_rewrote_them(tmp_path: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A prune rewrote every band and anchor run to drop the removed rows' pairs (~6.5M pairs for a day of 100k
    articles, ~60% of what was left of the prune, growing with the history). The runs stay now and the removed rows
    are left out of lookups and counts: the same export, stats and decisions as an index whose runs were rewritten."""
    d1, d2, d3 = days()
    lazy, rewritten = str(tmp_path / "lazy.db"), str(tmp_path / "rewritten.db")
    _run(d1 + d2, lazy)
    shutil.copy(lazy, rewritten)
    runs = _runs(lazy)
    assert _prune(lazy, "2024-03-01T10:00:00") > 1  # a few of day 1: under a quarter of the keys
    assert _runs(lazy) == runs  # not rewritten
    with monkeypatch.context() as m:
        m.setattr(segments, "DEAD_SHARE", -1.0)  # always rewritten, as every prune did
        assert _prune(rewritten, "2024-03-01T10:00:00") > 1
    assert _runs(rewritten) != runs
    assert _export(lazy) == _export(rewritten) and _stats(lazy) == _stats(rewritten)
    # the next day meets the same stored articles: the same candidates and decisions
    assert _rows(_run(d3, lazy)) == _rows(_run(d3, rewritten))
    assert _export(lazy) == _export(rewritten) and _stats(lazy) == _stats(rewritten)
    # a prune of the rest of day 1 (over a quarter now): every run rewritten, nothing of a removed row left
    assert _prune(lazy, "2024-03-02T00:00:00") > 0
    assert _prune(rewritten, "2024-03-02T00:00:00") > 0
    conn = sqlite3.connect(lazy)
    try:
        assert conn.execute("SELECT count(*) FROM dead_rows").fetchone()[0] == 0
    finally:
        conn.close()
    assert _export(lazy) == _export(rewritten) and _stats(lazy) == _stats(rewritten)
