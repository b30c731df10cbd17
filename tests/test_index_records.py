"""What the history index says of its records (a user audit): a stored keeper's unknown date and source, a copy
whose keeper was pruned, an id stored with an empty text and sent again with one — on SQLite and on a real
redis-server (skipped only where none can start)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from _servers import start_redis
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


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    proc, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(params=["sqlite", "redis"])
def location(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "history.db")
    return f"{request.getfixturevalue('redis_url')}?prefix=r{uuid.uuid4().hex[:8]}"


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
