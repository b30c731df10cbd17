"""What every command's outputs say, checked across the commands: the accounting of the records read, the
processes a run used beside the ones it was asked for, and one name for one thing in every output."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dedup.cli import app

PER_ARTICLE = {"dedupe": "decisions.jsonl", "stories": "stories.jsonl", "repeats": "articles.jsonl"}


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _feed(tmp_path: Path, seeds_dir: Path) -> Path:
    """Six records: three articles (one a copy of another), one too short to compare, two bad lines."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))[:2]]
    lines = [json.dumps({"id": "a", "text": texts[0]}, ensure_ascii=False), "{broken",
             json.dumps({"id": "b", "text": texts[1]}, ensure_ascii=False),
             json.dumps({"id": "copy", "text": texts[0]}, ensure_ascii=False),
             json.dumps({"id": "short", "text": "two words"}), json.dumps({"id": None, "text": "no id"})]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return feed


@pytest.mark.parametrize("command", ["dedupe", "stories", "repeats"])
def test_the_summary_and_its_line_account_for_every_record_read(tmp_path: Path, seeds_dir: Path, command: str) -> None:
    """counts.skipped is the articles skipped (empty, too short): the bad records skipped with --skip-bad were
    counted apart, and nothing said how many records the run read, so the counts did not add up to the input (user
    audit). counts.records is every record read, a line each in the per-article file; for dedupe
    kept + duplicates + skipped + bad_records == records; the printed line ends with the bad records and the total."""
    out = tmp_path / command
    res = CliRunner().invoke(app, [command, str(_feed(tmp_path, seeds_dir)), "--out", str(out), "--skip-bad"])
    assert res.exit_code == 0, res.output
    counts = json.loads((out / "summary.json").read_text(encoding="utf-8"))["counts"]
    rows = _lines(out / PER_ARTICLE[command])
    assert counts["records"] == len(rows) == 6
    assert counts["records"] == counts["articles"] + counts["bad_records"] and counts["bad_records"] == 2
    if command == "dedupe":
        assert (counts["kept"], counts["duplicates"], counts["skipped"]) == (2, 1, 1)
        assert counts["kept"] + counts["duplicates"] + counts["skipped"] + counts["bad_records"] == counts["records"]
        assert sum(r["status"] == "skipped" for r in rows) == counts["skipped"] + counts["bad_records"]
    assert "; 2 bad records skipped; 6 records read" in res.output, res.output


@pytest.mark.parametrize("command", ["dedupe", "stories", "repeats"])
def test_the_summary_says_the_processes_asked_for_and_those_used(tmp_path: Path, seeds_dir: Path, command: str) -> None:
    """summary.json recorded the n_jobs asked for (repeats not even that), not the processes used: the five seeds fit
    one chunk, so --jobs 2 runs them in this process. processes.n_jobs is what was asked, processes.workers the most
    worker processes a stage gave tasks to (0 here), per stage as in timings_seconds."""
    out = tmp_path / command
    res = CliRunner().invoke(app, [command, str(seeds_dir), "--out", str(out), "--jobs", "2", "-q"])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["config"]["runtime"]["n_jobs"] == 2
    stages = [s for s in summary.get("timings_seconds", {"repeats": 0}) if s != "total"]
    assert summary["processes"] == {"n_jobs": 2, "workers": 0, "workers_by_stage": dict.fromkeys(stages, 0)}


@pytest.mark.parametrize("jobs", ["2", "-1"])
def test_workers_that_ran_are_counted_per_stage_and_at_most_the_cores(tmp_path: Path, seeds_dir: Path, jobs: str) -> None:
    """A feed of more blocks than WORKERS_FROM_BLOCKS (1.2 MB, in blocks of 64 KiB): the text stages go to
    the workers, as many as the cores allow (-1: all of them) and the tasks need."""
    from dedup.flows.prepare import WORKERS_FROM_BLOCKS
    from dedup.runtime import usable_cores

    texts = [p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({"id": f"a{k}", "text": f"{texts[k % len(texts)]} {k}"}, ensure_ascii=False) + "\n"
                            for k in range(200)), encoding="utf-8")
    assert feed.stat().st_size > (WORKERS_FROM_BLOCKS + 2) << 16
    config = tmp_path / "small.toml"
    config.write_text("[runtime]\nchunk_size = 2\n", encoding="utf-8")  # blocks of 64 KiB, the least read at once
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["dedupe", str(feed), "--out", str(out), "--jobs", jobs, "--config", str(config), "-q"])
    assert res.exit_code == 0, res.output
    used = json.loads((out / "summary.json").read_text(encoding="utf-8"))["processes"]
    cores = usable_cores()
    expected = min(4, cores) if jobs == "-1" else (min(2, cores) if cores > 1 else 0)  # --jobs 2 on one core: this process
    assert used["n_jobs"] == int(jobs)
    assert used["workers"] == expected == max(used["workers_by_stage"].values())
    assert used["workers_by_stage"]["normalize"] == expected and used["workers_by_stage"]["cluster"] == 0


def test_a_small_jsonl_feed_is_prepared_here_whatever_jobs_asks(tmp_path: Path, seeds_dir: Path) -> None:
    """A JSONL feed of a few lines went to two workers with --jobs 2 (its first line, read here, and its end were
    tasks of their own): ~0.7 s of starting them for milliseconds of work; below WORKERS_FROM_BLOCKS blocks of lines
    it is prepared in this process, the outputs the same."""
    feed = _feed(tmp_path, seeds_dir)
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        res = CliRunner().invoke(app, ["dedupe", str(feed), "--out", str(out), "--jobs", jobs, "--skip-bad", "-q"])
        assert res.exit_code == 0, res.output
        assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["processes"]["workers"] == 0
        outs.append((out / "decisions.jsonl").read_bytes())
    assert outs[0] == outs[1]


def test_one_thing_has_one_name_in_every_output(tmp_path: Path, seeds_dir: Path) -> None:
    """The same thing had two names from one output to the next (user audit): a paragraph count `repeats` in
    decisions.jsonl and `n_repeats` in articles.jsonl; `seconds` in the repeats summary and `timings_seconds` in the
    others; a bad record's `file` in its line and `path` in summary.json; a stored article's keeper `keeper` in the
    service and `duplicate_of` in `dedup index export` and decisions.jsonl; the index `index` in /healthz and
    `location` in `dedup index stats`; the relations per kind `by_kind` per article and `relations_by_kind` summed."""
    pytest.importorskip("pydantic")
    from dedup.serve.models import Health, StoredArticle

    feed, db = _feed(tmp_path, seeds_dir), str(tmp_path / "h.db")
    runner = CliRunner()
    for command, extra in (("dedupe", ["--repeats", "--index", db]), ("repeats", []), ("stories", [])):
        res = runner.invoke(app, [command, str(feed), "--out", str(tmp_path / command), "--skip-bad", "-q", *extra])
        assert res.exit_code == 0, res.output
    summaries = {c: json.loads((tmp_path / c / "summary.json").read_text(encoding="utf-8")) for c in PER_ARTICLE}
    rows = {c: _lines(tmp_path / c / name) for c, name in PER_ARTICLE.items()}

    def by_id(command: str, key: str) -> dict:
        return {r["id"]: r[key] for r in rows[command] if r["id"] is not None}

    assert by_id("dedupe", "repeats") == by_id("repeats", "repeats") and any(by_id("repeats", "repeats").values())
    assert not any("n_repeats" in r for r in rows["repeats"])
    totals = {k: sum(r["by_kind"][k] for r in rows["repeats"] if r["id"] is not None) for k in ("exact", "contained", "near", "boilerplate")}
    assert summaries["repeats"]["counts"]["by_kind"] == totals
    for command, summary in summaries.items():
        assert "seconds" not in summary and isinstance(summary["timings_seconds"], dict), command
        assert list(summary["processes"]["workers_by_stage"]) == [s for s in summary["timings_seconds"] if s != "total"]
        bad = [{"file": r["file"], "line": r["line"], "reason": r["reason"].removeprefix("skipped: bad record: ")}
               for r in rows[command] if r["id"] is None]
        assert summary["bad_records"] == bad and len(bad) == 2, command

    export = [json.loads(line) for line in runner.invoke(app, ["index", "export", db]).stdout.splitlines()]
    stats = json.loads(runner.invoke(app, ["index", "stats", db]).stdout)
    copy = next(r for r in export if r["id"] == "copy")
    assert copy["duplicate_of"] == "a" == by_id("dedupe", "duplicate_of")["copy"]
    service_only = {"title", "text", "event", "storyline"}  # the service's own: what it stored beside the index
    assert set(StoredArticle.model_fields) - service_only <= set(copy) and "keeper" not in StoredArticle.model_fields
    assert "location" in stats and "location" in Health.model_fields and "index" not in Health.model_fields


LINE_KEYS = {  # the keys of every line of each per-article file, in order
    "dedupe": ["id", "status", "group", "duplicate_of", "relation", "scores", "reason", "contained_in", "file", "line"],
    "stories": ["id", "status", "event", "storyline", "group", "reason", "file", "line"],
    "repeats": ["id", "status", "paragraphs", "repeats", "by_kind", "redundant_chars", "redundant_share", "reason", "file", "line"],
}


@pytest.mark.parametrize("command", ["dedupe", "stories", "repeats"])
def test_every_line_of_a_per_article_file_has_the_same_keys_in_the_same_order(tmp_path: Path, seeds_dir: Path, command: str) -> None:
    """stories.jsonl gave `status`/`reason` to skipped lines only, after `group` for an article not compared and
    before `event` for a bad record; articles.jsonl gave `status` to bad records only; decisions.jsonl gave a bad
    record no `contained_in` and an article no `file`/`line` (user audit: a reader such as pandas or DuckDB takes its
    columns from the lines it samples). Every line now has the file's keys in one order, null where one does not
    apply: an article, a bad record, an article too short to compare (stories: an event of its own)."""
    out = tmp_path / command
    res = CliRunner().invoke(app, [command, str(_feed(tmp_path, seeds_dir)), "--out", str(out), "--skip-bad", "-q"])
    assert res.exit_code == 0, res.output
    rows = _lines(out / PER_ARTICLE[command])
    assert [list(r) for r in rows] == [LINE_KEYS[command]] * 6
    bad = [r for r in rows if r["id"] is None]
    assert len(bad) == 2 and all(r["status"] == "skipped" and r["file"] and r["line"] for r in bad)
    assert all(r["file"] is None and r["line"] is None for r in rows if r["id"] is not None)
    short = next(r for r in rows if r["id"] == "short")
    if command == "stories":  # not compared: an event of its own, and its line says why; the others have no status
        assert (short["status"], short["reason"]) == ("skipped", "skipped: too short: 2 tokens < min_tokens=8")
        assert all(r["status"] is None and r["reason"] is None for r in rows if r["id"] in ("a", "b", "copy"))
    if command == "repeats":  # every article is read for repeats: none is skipped
        assert all(r["status"] is None and r["reason"] is None for r in rows if r["id"] is not None)
        assert short["paragraphs"] == 1 and short["by_kind"]["boilerplate"] == 0


def test_every_line_of_similaritys_output_has_the_same_keys_in_the_same_order(tmp_path: Path) -> None:
    """similarity gave a bad line skipped with --skip-bad a `line` key (second) that no other line had."""
    body = "the council met on monday to discuss the new water plan for the eastern district of the city"
    src = tmp_path / "pairs.jsonl"
    src.write_text(json.dumps({"id": "p", "text1": body, "text2": body}) + "\n{broken\n"
                   + json.dumps({"id": "q", "text1": body, "text2": "another text altogether"}) + "\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    res = CliRunner().invoke(app, ["similarity", str(src), "--out", str(out), "--skip-bad"])
    assert res.exit_code == 0, res.output
    rows = _lines(out)
    keys = ["id", "jaccard", "containment", "cosine", "story_score", "probability", "verdict", "relation", "reason", "line"]
    assert [list(r) for r in rows] == [keys] * 3
    assert [r["line"] for r in rows] == [None, 2, None] and rows[1]["verdict"] == "skipped"


def test_decisions_have_the_keys_of_the_runs_options_on_every_line(tmp_path: Path, seeds_dir: Path) -> None:
    """With --index a copy of a stored article had `seen_before` (before `contained_in`), the other lines none: the
    keys of decisions.jsonl changed with the day's data. Every line has them now, in the order of decisions.parquet's
    columns, `seen_before` null but for a copy of a stored article."""
    feed, db, runner = _feed(tmp_path, seeds_dir), str(tmp_path / "h.db"), CliRunner()
    assert runner.invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "day1"), "--index", db, "--skip-bad", "-q"]).exit_code == 0
    texts = [p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))]
    day2 = tmp_path / "day2.jsonl"  # a copy of stored "a", a bad line, a new article
    day2.write_text("\n".join([json.dumps({"id": "again", "text": texts[0]}, ensure_ascii=False), "{broken",
                               json.dumps({"id": "c", "text": texts[2]}, ensure_ascii=False)]) + "\n", encoding="utf-8")
    res = runner.invoke(app, ["dedupe", str(day2), "--out", str(tmp_path / "day2"), "--index", db, "--repeats", "--skip-bad", "-q"])
    assert res.exit_code == 0, res.output
    rows = _lines(tmp_path / "day2" / "decisions.jsonl")
    keys = LINE_KEYS["dedupe"][:8] + ["seen_before", "repeats", "file", "line"]
    assert [list(r) for r in rows] == [keys] * 3
    assert rows[0]["duplicate_of"] == "a" and rows[0]["seen_before"] == {"date": None, "source": None}
    assert rows[1]["seen_before"] is None and rows[2]["seen_before"] is None and rows[1]["repeats"] is None
    assert rows[1]["contained_in"] is None and rows[2]["contained_in"] == []
    from dedup.io.dedupe_rows import decision_keys  # decisions.parquet's columns (dedup.io.parquet_out.decision_types)

    assert list(decision_keys(history=True, repeats=True)) == keys


def test_what_the_history_index_did_is_history_in_every_summary(tmp_path: Path, seeds_dir: Path) -> None:
    """The stories summary said `counts.index` (the events it tracked) and nothing of what its dedupe stage did with
    the index, while dedupe's said `history` (user audit). Both now say `history`, top level: the location and
    dedupe's counts in each, and the events' counts beside them in stories'; the printed lines read it."""
    feed, runner = _feed(tmp_path, seeds_dir), CliRunner()
    summaries, printed = {}, {}
    for command in ("dedupe", "stories"):
        db = str(tmp_path / f"{command}.db")
        res = runner.invoke(app, [command, str(feed), "--out", str(tmp_path / command), "--index", db, "--skip-bad"])
        assert res.exit_code == 0, res.output
        summaries[command] = json.loads((tmp_path / command / "summary.json").read_text(encoding="utf-8"))
        printed[command] = res.output
        assert summaries[command]["history"]["location"] == db and summaries[command]["history"]["added"] == 4
        assert f"history {db}: " in res.output, res.output
    dedupe_keys, stories_keys = list(summaries["dedupe"]["history"]), list(summaries["stories"]["history"])
    assert stories_keys == dedupe_keys + ["already_tracked", "placed", "new_events", "continued_events", "merged_events"]
    assert summaries["stories"]["history"]["placed"] == 4 and "index" not in summaries["stories"]["counts"]
    assert f"history {db}: this run placed 4 (in 3 new events, 0 earlier events continued)" in printed["stories"]


@pytest.mark.parametrize("command", ["dedupe", "stories", "repeats"])
def test_every_summary_has_a_total_and_one_rounding_of_its_timings(tmp_path: Path, seeds_dir: Path, command: str) -> None:
    """dedupe's timings_seconds had a total and 4 places, stories' no total and 3 places, repeats' one stage, 3 places
    (user audit). Each now ends with `total`, the sum of its stages (stories: of those that are no part of another,
    `dedupe` but not `dedupe.sketch`), every value at 4 places."""
    out = tmp_path / command
    res = CliRunner().invoke(app, [command, str(seeds_dir), "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    timings = json.loads((out / "summary.json").read_text(encoding="utf-8"))["timings_seconds"]
    assert list(timings)[-1] == "total" and all(v == round(v, 4) for v in timings.values())
    stages = {k: v for k, v in timings.items() if k != "total" and "." not in k}
    assert timings["total"] == round(sum(stages.values()), 4) and len(stages) > (0 if command == "repeats" else 1)
    if command == "stories":
        assert "dedupe.sketch" in timings and list(stages) == ["dedupe", "events", "storylines"]
