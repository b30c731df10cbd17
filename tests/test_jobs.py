"""The jobs (``dedup.jobs``) called from Python: the same outputs as the command, errors as exceptions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dedup.jobs
from dedup.cli import app
from dedup.config import DedupConfig, ShingleConfig
from dedup.errors import ConfigError
from dedup.jobs import history, lsh_params, prune_index, run_dedupe, run_repeats, run_similarity, run_stories

WIRE = ("The minister of health announced on Sunday a new plan to build twelve hospitals in the northern provinces "
        "over the next five years, with a budget of two billion riyals and four thousand new beds for patients.")


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    rows = [{"id": "a", "text": WIRE}, {"id": "b", "text": WIRE + " Read also: other news."},
            {"id": "c", "text": "A football club signed a young striker from a rival team for a record fee on Monday night."}]
    path = tmp_path / "feed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_the_public_names_are_pinned() -> None:
    assert sorted(dedup.jobs.__all__) == ["export_index", "history", "index_stats", "lsh_params", "prune_index", "run_dedupe",
                                          "run_eval", "run_repeats", "run_server", "run_similarity", "run_stories", "serve_app"]


def test_run_dedupe_writes_what_the_command_writes(feed: Path, tmp_path: Path) -> None:
    info = run_dedupe([str(feed)], str(tmp_path / "job"), {}, quiet=True)  # {}: every table at its defaults
    res = CliRunner().invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "cli"), "-q"])
    assert res.exit_code == 0, res.output
    assert info["counts"]["duplicates"] == 1
    for name in ("decisions.jsonl", "pairs.jsonl", "unique.jsonl", "report.html"):
        assert (tmp_path / "job" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name


def test_run_dedupe_uses_the_settings_given(feed: Path, tmp_path: Path) -> None:
    short = {"dedupe": DedupConfig(shingle=ShingleConfig(min_tokens=1000))}  # every article too short to compare
    info = run_dedupe([str(feed)], str(tmp_path), short, quiet=True, report=False)
    assert info["counts"]["skipped"] == 3 and not (tmp_path / "report.html").exists()


def test_window_days_without_an_index_is_refused_before_any_output(feed: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--window-days needs --index"):
        run_dedupe([str(feed)], str(tmp_path / "out"), {}, quiet=True, window_days=3)
    assert not (tmp_path / "out").exists()


def test_the_other_feed_jobs_return_their_summary(feed: Path, tmp_path: Path) -> None:
    """run_stories returned its counts (and unrounded timings), not the summary its docstring promised and the other
    jobs return: each returns what its summary.json holds."""
    for job, name in ((run_repeats, "r"), (run_stories, "s")):
        info = job([str(feed)], str(tmp_path / name), {}, quiet=True)
        assert info["counts"]["articles"] == 3
        assert json.loads(json.dumps(info)) == json.loads((tmp_path / name / "summary.json").read_text(encoding="utf-8"))
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"id": "p", "text1": WIRE, "text2": WIRE}) + "\n", encoding="utf-8")
    assert run_similarity(str(pairs), str(tmp_path / "sim.jsonl"), {}) == 1
    assert json.loads((tmp_path / "sim.jsonl").read_text(encoding="utf-8"))["verdict"] == "duplicate"


def test_history_opens_nothing_without_a_location_and_closes_what_it_opens(feed: Path, tmp_path: Path) -> None:
    with history(None) as index:
        assert index is None
    run_dedupe([str(feed)], str(tmp_path / "out"), {}, quiet=True, index=str(tmp_path / "h.db"))
    with history(str(tmp_path / "h.db"), create=False) as index:
        assert index is not None and index.stats()["articles"] == 3
    lines: list[str] = []
    assert prune_index(str(tmp_path / "h.db"), "2999-01-01", echo=lines.append) == 0  # undated articles stay
    assert lines and lines[-1].endswith(f"3 left in {tmp_path / 'h.db'}")
    with pytest.raises(ConfigError, match="not an ISO-8601 date"):
        prune_index(str(tmp_path / "h.db"), "yesterday")


@pytest.mark.parametrize("kwargs", [{"threshold": 1.5}, {"num_perm": 0}], ids=["threshold", "num_perm"])
def test_lsh_params_validates_as_a_run_does(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        lsh_params(**kwargs)


def test_lsh_params_reports_the_band_layout() -> None:
    info = lsh_params()
    assert info["bands"] * info["rows"] <= info["num_perm"]
    curve = [p for _, p in info["s_curve"]]
    assert curve == sorted(curve) and 0 <= info["false_positive"] <= 1 and 0 <= info["false_negative"] <= 1
