"""A read of the SQLite index made of several statements reads one snapshot, while another connection commits.

Writers take the index's file lock, readers (``dedup serve``, ``dedup index stats``) do not; in WAL mode each statement
outside a transaction reads the newest commit. Each test here pauses a reader between two of its statements (a method
monkeypatched to let a second connection to the same file commit a merge or a prune first) and checks that the reader
answers as of one commit: before each read was a read transaction, the lookups lost blocks or answered pruned rows,
``stats`` counted two states, and a group's edges were read after its members had gone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from test_index import _epoch, _run, days

from dedup.config import DedupConfig
from dedup.store import segments
from dedup.store.history import open_index
from dedup.store.segments import SCHEMA, Segments
from dedup.store.sqlite_file import connect


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A writer's and a reader's :class:`Segments` of one kind on two connections to one WAL file."""
    monkeypatch.setattr(segments, "BLOCK", 64)  # several blocks per run
    location = str(tmp_path / "runs.db")
    w, r = connect(location), connect(location)
    for stmt in SCHEMA:
        w.execute(stmt)
    yield Segments(w, "band"), Segments(r, "band")
    r.close()
    w.close()


def _commit(store: Segments, change) -> None:  # noqa: ANN001
    store.conn.execute("BEGIN IMMEDIATE")
    change()
    store.conn.execute("COMMIT")


def _fill(writer: Segments, runs: int = 3, per: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 2**63, size=runs * per, dtype=np.uint64)
    rows = np.arange(len(keys), dtype=np.int64)
    for k in range(runs):
        _commit(writer, lambda: writer.append(keys[k * per : (k + 1) * per], rows[k * per : (k + 1) * per]))
    return keys, rows


def test_a_merge_committed_while_a_lookup_reads_the_runs_loses_no_block(pair, monkeypatch) -> None:
    writer, reader = pair
    keys, rows = _fill(writer)
    listed = reader._segs

    def then_merged() -> list[tuple[int, int]]:  # the runs are listed; the other connection merges them before their blocks are read
        runs = listed()
        _commit(writer, writer.merge)
        return runs

    monkeypatch.setattr(reader, "_segs", then_merged)
    pos, vals = reader.lookup(keys)
    assert sorted(vals.tolist()) == rows.tolist()  # every pair (read from the runs listed: deleted by the merge without a snapshot)
    assert np.array_equal(rows[pos], vals)


def test_a_merge_emptying_the_dead_rows_while_a_lookup_reads_never_answers_a_dead_row(pair, monkeypatch) -> None:
    writer, reader = pair
    keys, rows = _fill(writer)
    dead = rows[:10]
    _commit(writer, lambda: writer.bury(dead, len(dead)))  # below DEAD_SHARE: left in the runs, recorded as dead
    assert len(writer._segs()) == 3
    read_dead = reader._dead

    def after_a_merge() -> np.ndarray:  # the runs (dead pairs in them) are read; a merge drops those pairs, empties the set
        _commit(writer, writer.merge)
        return read_dead()

    monkeypatch.setattr(reader, "_dead", after_a_merge)
    _, vals = reader.lookup(keys)
    assert not np.isin(vals, dead).any()
    assert sorted(vals.tolist()) == rows[10:].tolist()


def test_pairs_counts_one_state(pair, monkeypatch) -> None:
    writer, reader = pair
    _, rows = _fill(writer)
    _commit(writer, lambda: writer.bury(rows[:10], 10))
    stored = reader._stored

    def then_merged() -> int:  # the stored pairs counted with the dead ones; a merge removes them and empties their count
        n = stored()
        _commit(writer, writer.merge)
        return n

    monkeypatch.setattr(reader, "_stored", then_merged)
    assert reader.pairs() == len(rows) - 10


# --- the index: stats, groups, the service's answers --------------------------------------------


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    location = tmp_path_factory.mktemp("snap") / "h.db"
    d1, d2, d3 = days()
    _run(d1 + d2 + d3, str(location))
    return location


def _copy(made: Path, tmp_path: Path) -> str:
    location = tmp_path / "h.db"
    shutil.copy(made, location)
    return str(location)


def _prune_from(location: str, before: str):  # noqa: ANN202
    """A second connection that prunes when called (its checkpoint gives up at once on the paused reader's snapshot)."""
    writer = open_index(location, DedupConfig())
    writer.conn.execute("PRAGMA busy_timeout = 50")

    def prune() -> None:
        with writer.writer():
            assert writer.prune(_epoch(before)) > 0

    return writer, prune


def test_stats_count_one_state_while_a_prune_commits(made: Path, tmp_path: Path, monkeypatch) -> None:
    location = _copy(made, tmp_path)
    reader = open_index(location, create=False, read_only=True)
    writer, prune = _prune_from(location, "2024-03-02T00:00:00")
    try:
        before = reader.stats()
        band_pairs = reader._keys["band"].pairs

        def pruned_meanwhile() -> int:  # the articles are counted; a prune commits before the keys are
            prune()
            return band_pairs()

        monkeypatch.setattr(reader._keys["band"], "pairs", pruned_meanwhile)
        during = reader.stats()
        monkeypatch.undo()
        after = reader.stats()
    finally:
        writer.close()
        reader.close()
    bands = int(before["params"]["bands"])
    assert during["band_keys"] == during["distinct_texts"] * bands  # a key a band of each stored text
    assert {k: during[k] for k in ("articles", "distinct_texts", "band_keys", "anchor_keys")} == \
        {k: before[k] for k in ("articles", "distinct_texts", "band_keys", "anchor_keys")}
    assert after["articles"] < before["articles"]


def test_a_group_is_read_whole_while_a_prune_commits(made: Path, tmp_path: Path, monkeypatch) -> None:
    location = _copy(made, tmp_path)
    reader = open_index(location, create=False)
    writer, prune = _prune_from(location, "2024-03-02T00:00:00")  # removes s0, the first member of group s0
    try:
        whole = reader.group("s0")
        assert whole is not None and len(whole.edges) and "s0" in {m.id for m in whole.members}
        ask = reader._ask

        def pruned_meanwhile(values: list[int]) -> None:  # the members are read; a prune commits before their edges are
            prune()
            ask(values)

        monkeypatch.setattr(reader, "_ask", pruned_meanwhile)
        during = reader.group("s0")
    finally:
        writer.close()
        reader.close()
    assert during is not None
    assert [m.row for m in during.members] == [m.row for m in whole.members]
    assert during.edges.tolist() == whole.edges.tolist()


def test_the_service_answers_an_article_from_one_state_while_a_prune_commits(made: Path, tmp_path: Path, monkeypatch) -> None:
    from dedup.serve.engine import Engine

    location = _copy(made, tmp_path)
    engine = Engine(location)
    writer, prune = _prune_from(location, "2024-03-02T00:00:00")  # removes s0, the keeper of c0
    try:
        rec, keeper, pruned = engine.article("c0")
        assert (keeper, pruned) == ("s0", False)
        articles = engine._reader.articles

        def pruned_meanwhile(rows):  # noqa: ANN001, ANN202  (c0 is read; a prune commits before its keeper is)
            prune()
            return articles(rows)

        monkeypatch.setattr(engine._reader, "articles", pruned_meanwhile)
        during = engine.article("c0")
        monkeypatch.undo()
        after = engine.article("c0")
    finally:
        writer.close()
        engine.close()
    assert during is not None and during[1:] == ("s0", False)  # as the record read: its keeper still stored
    assert after is not None and after[1:] == ("s0", True)  # the next answer: pruned since


def test_read_snapshot_reads_one_commit_joins_an_open_transaction_and_writes_nothing(tmp_path: Path) -> None:
    """:func:`dedup.store.snapshot.read_snapshot` on two plain connections: a commit by the other one is not seen
    inside the block, is seen after it; inside a transaction already, the block joins it and ends nothing."""
    from dedup.store.snapshot import read_snapshot

    location = str(tmp_path / "plain.db")
    writer, reader = connect(location), connect(location)
    writer.execute("CREATE TABLE t(x INTEGER)")
    writer.execute("INSERT INTO t VALUES (1)")
    with read_snapshot(reader):
        assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == 1
        writer.execute("INSERT INTO t VALUES (2)")  # commits meanwhile (autocommit), not blocked by the reader
        assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == 1  # the same commit as the first statement
        reader.execute("CREATE TEMP TABLE IF NOT EXISTS ask(key INTEGER)")  # temporary tables may be written
        reader.execute("INSERT INTO temp.ask VALUES (7)")
    assert not reader.in_transaction
    assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == 2
    reader.execute("BEGIN")
    with read_snapshot(reader):  # joins the open one
        assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == 2
    assert reader.in_transaction  # and leaves it open for its owner
    reader.execute("COMMIT")
    writer.close()
    reader.close()
