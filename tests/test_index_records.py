"""What the history index says of its records (a user audit): a stored keeper's unknown date and source, a copy
whose keeper was pruned, an id stored with an empty text and sent again with one — on SQLite and on a real
redis-server (skipped only where none can start)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dedup.cli import app
from dedup.config import DedupConfig
from dedup.flows.dedupe import dedupe
from dedup.io.dedupe_rows import decision_rows
from dedup.runtime import Runtime
from dedup.serve.models import Decision, StoredArticle
from dedup.store.history import open_index
from dedup.types import Article

TEXT = ("The central bank raised interest rates by half a point on Tuesday, citing persistent inflation in food and "
        "energy prices, and signalled that further increases could follow in the coming months if wage growth does "
        "not slow. ") * 3
OTHER = ("Heavy rain flooded the coastal road overnight and the ferry service stopped until the harbour master "
         "judged the swell safe again, leaving hundreds of travellers waiting in the terminal with little food. ") * 3


def _run(articles: list[Article], location: str) -> dict[str, dict]:
    idx = open_index(location, DedupConfig())
    try:
        result = dedupe(articles, DedupConfig(), runtime=Runtime(chunk_size=8), index=idx)
    finally:
        idx.close()
    return {r["id"]: r for r in decision_rows(result)}


def _export(location: str) -> dict[str, dict]:
    idx = open_index(location, create=False)
    try:
        return {r["id"]: r for r in idx.export()}
    finally:
        idx.close()


def test_an_unknown_date_and_source_are_both_null(location: str) -> None:
    """A stored keeper without date and source: ``seen_before`` said ``date: null`` but ``source: ""``."""
    _run([Article(id="k", text=TEXT)], location)
    row = _run([Article(id="c", text=TEXT, source="paper", date="2026-03-01")], location)["c"]
    assert row["duplicate_of"] == "k" and row["seen_before"] == {"date": None, "source": None}
    Decision.model_validate(row)
    stored = _export(location)
    assert stored["k"]["date"] is None and stored["k"]["source"] is None
    assert stored["c"]["source"] == "paper"
    StoredArticle.model_validate({**stored["k"], "keeper": "k", "title": None, "text": None})


def _prune(location: str, before: str) -> None:
    res = CliRunner().invoke(app, ["index", "prune", location, "--before", before])
    assert res.exit_code == 0, res.output


def test_a_copy_whose_keeper_was_pruned_still_names_it_in_the_export(location: str) -> None:
    """After ``dedup index prune`` removed a keeper, its copy was exported with ``duplicate_of: null``, which reads as
    kept. The decision names its keeper still (prune keeps the id of a keeper a stored article names), and says it
    was pruned; once the copy goes too, so does the keeper's id."""
    _run([Article(id="k", text=TEXT, source="wire", date="2026-01-01"),
          Article(id="other", text=OTHER, source="wire", date="2026-01-01")], location)
    _run([Article(id="c", text=TEXT, source="paper", date="2026-03-01"),
          Article(id="later", text=OTHER, source="paper", date="2026-05-01")], location)
    before = _export(location)
    assert before["c"]["duplicate_of"] == "k" and before["c"]["keeper_pruned"] is False
    assert before["k"]["keeper_pruned"] is False and before["k"]["duplicate_of"] is None
    _prune(location, "2026-02-01")
    after = _export(location)
    assert set(after) == {"c", "later"}
    c = after["c"]
    assert c["status"] == "duplicate" and c["duplicate_of"] == "k" and c["keeper_row"] == 0
    assert c["keeper_pruned"] is True and "pruned" in c["reason"] and "k" in c["reason"], c
    assert {k: v for k, v in c.items() if k not in ("duplicate_of", "keeper_pruned", "reason")} == \
        {k: v for k, v in before["c"].items() if k not in ("duplicate_of", "keeper_pruned", "reason")}
    assert (after["later"]["duplicate_of"], after["later"]["keeper_pruned"]) == ("other", True)
    # a keeper's id goes with the last article that names it
    _prune(location, "2026-04-01")
    assert set(_export(location)) == {"later"} and _export(location)["later"]["duplicate_of"] == "other"
    idx = open_index(location, create=False)
    try:
        if location.startswith("redis://"):
            kept = {int(k): v.decode() for k, v in idx.r.hgetall(idx._k("pruned")).items()}
        else:
            kept = dict(idx.conn.execute("SELECT row, id FROM pruned_keepers").fetchall())
    finally:
        idx.close()
    assert kept == {1: "other"}


def test_an_index_pruned_before_keeper_ids_were_kept_says_the_keeper_was_pruned(tmp_path: Path) -> None:
    """An index pruned by an earlier version has no id of the keeper: ``duplicate_of`` null, ``keeper_pruned`` true."""
    location = str(tmp_path / "h.db")
    _run([Article(id="k", text=TEXT, date="2026-01-01")], location)
    _run([Article(id="c", text=TEXT, date="2026-03-01")], location)
    _prune(location, "2026-02-01")
    idx = open_index(location, create=False)
    try:
        idx.conn.execute("DROP TABLE pruned_keepers")  # as an earlier version left it
    finally:
        idx.close()
    c = _export(location)["c"]
    assert c["duplicate_of"] is None and c["keeper_pruned"] is True and "no longer in the index (pruned)" in c["reason"]


@pytest.mark.parametrize("first", ["", "   ", "two words"], ids=["empty", "blank", "too-short"])
def test_an_id_stored_as_a_skip_is_decided_when_its_text_comes(location: str, first: str) -> None:
    """An article first stored with no text to compare (skipped: empty, too short) and sent again with its text was
    "already in the index" for ever, though nothing of its text was stored: it is decided as a new article now, its
    record replaced (one record per id), and found by later copies. The same text again stays skipped."""
    assert _run([Article(id="x", text=first, date="2026-01-01")], location)["x"]["status"] == "skipped"
    again = _run([Article(id="x", text=first, date="2026-01-01")], location)["x"]
    assert again["status"] == "skipped" and "already in the index" in again["reason"]
    row = _run([Article(id="x", text=TEXT, title="Rates", source="wire", date="2026-01-01")], location)["x"]
    assert (row["status"], row["reason"]) == ("kept", "no duplicate found"), row
    stored = _export(location)
    assert list(stored) == ["x"] and stored["x"]["status"] == "kept" and stored["x"]["length"] == len(TEXT)
    later = _run([Article(id="x", text=TEXT, date="2026-01-01"), Article(id="y", text=TEXT, date="2026-01-02")], location)
    assert later["x"]["status"] == "skipped" and "already in the index" in later["x"]["reason"]
    assert later["y"]["duplicate_of"] == "x" and later["y"]["relation"] == "exact"
    idx = open_index(location, create=False)
    try:
        assert idx.article_count() == 2 and idx.known_ids(["x"])["x"].status == 0  # KEPT
    finally:
        idx.close()


def _by_digest(location: str, row: int) -> dict[int, int]:
    idx = open_index(location, create=False)
    try:
        digest = idx.digests(np.array([row]))[row]
        return idx.rows_by_digest(np.array([digest], dtype=np.uint64))
    finally:
        idx.close()


def test_a_text_whose_first_row_was_pruned_is_found_by_digest_under_its_copy_left(location: str) -> None:
    """Each run's exact copy of a stored text keeps a sketch of its own, but Redis named a text's first row only
    (``P:dig``), and a prune of that row dropped the name: the copy left was no longer found by its digest (a later
    run's exact copy met it only through the bands, and not at all where a bucket was over ``max_bucket``), while
    SQLite found it (its first sketch left). Both now answer the first row left that holds the text."""
    _run([Article(id="k", text=TEXT, source="wire", date="2026-01-01"),
          Article(id="gone", text=OTHER, source="wire", date="2026-01-01")], location)
    _run([Article(id="c", text=TEXT, source="paper", date="2026-03-01")], location)
    stored = _export(location)
    assert list(_by_digest(location, stored["c"]["row"]).values()) == [stored["k"]["row"]]  # the text's first row
    gone = _by_digest(location, stored["gone"]["row"])
    assert list(gone.values()) == [stored["gone"]["row"]]
    _prune(location, "2026-02-01")
    assert list(_by_digest(location, stored["c"]["row"]).values()) == [stored["c"]["row"]]
    idx = open_index(location, create=False)
    try:  # a text no row left holds is named by none
        assert idx.rows_by_digest(np.array(list(gone), dtype=np.uint64)) == {}
    finally:
        idx.close()
    row = _run([Article(id="d", text=TEXT, source="web", date="2026-04-01")], location)["d"]
    assert (row["status"], row["duplicate_of"], row["relation"]) == ("duplicate", "c", "exact")
