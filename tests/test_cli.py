import gzip
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dedup import __version__
from dedup.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_version() -> None:
    r = run("--version")
    assert r.exit_code == 0 and __version__ in r.output


def test_dedupe_seeds_end_to_end(seeds_dir: Path, tmp_path: Path) -> None:
    r = run("dedupe", seeds_dir, "--out", tmp_path, "-q")
    assert r.exit_code == 0, r.output
    decisions = read_jsonl(tmp_path / "decisions.jsonl")
    assert [d["id"] for d in decisions] == sorted(p.stem for p in seeds_dir.glob("*.txt"))
    assert all(d["status"] in ("kept", "duplicate", "skipped") and d["reason"] for d in decisions)
    assert set(decisions[0]) >= {"id", "status", "group", "duplicate_of", "relation", "scores", "reason"}
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"]["articles"] == 5
    assert summary["sketch"]["scheme"] == "affine32"
    assert {"bands", "rows", "num_perm", "seed"} <= set(summary["sketch"])
    assert len(read_jsonl(tmp_path / "unique.jsonl")) == 5
    assert not list(tmp_path.glob(".*tmp*"))


def test_dedupe_duplicates_explained(tmp_path: Path, seeds_dir: Path) -> None:
    text = (seeds_dir / "004_f4e2349ca1c8a4fa.txt").read_text(encoding="utf-8")
    rows = [
        {"id": "w1", "text": text, "date": "2024-01-02", "source": "a"},
        {"id": "w2", "text": "عنوان جديد\n" + text, "date": "2024-01-01", "source": "b"},
        {"id": "w3", "text": (seeds_dir / "001_9eacc07b82d68d60.txt").read_text(encoding="utf-8"), "source": "c"},
        {"id": "w4", "text": "قصير"},
    ]
    src = tmp_path / "feed.jsonl.gz"
    with gzip.open(src, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    out = tmp_path / "out"
    r = run("dedupe", src, "--out", out, "-q")
    assert r.exit_code == 0, r.output
    d = {row["id"]: row for row in read_jsonl(out / "decisions.jsonl")}
    assert d["w2"]["status"] == "kept" and d["w1"]["status"] == "duplicate"
    assert d["w1"]["duplicate_of"] == "w2" and d["w1"]["group"] == d["w2"]["group"] == "w1"
    assert d["w1"]["relation"] in ("near", "contained") and d["w1"]["scores"]["jaccard"] > 0.5
    assert "--keep earliest" in d["w1"]["reason"]
    assert d["w4"]["status"] == "skipped" and "too short" in d["w4"]["reason"]
    assert [u["id"] for u in read_jsonl(out / "unique.jsonl")] == ["w2", "w3", "w4"]
    pairs = read_jsonl(out / "pairs.jsonl")
    assert {(p["id1"], p["id2"]) for p in pairs} == {("w1", "w2")}
    told = run("dedupe", src, "--out", tmp_path / "told")  # not quiet: the summary says why articles were skipped
    assert told.exit_code == 0, told.output
    assert "1 skipped (1 too short)" in told.output, told.output


@pytest.mark.parametrize(
    ("content", "suffix", "needle"),
    [
        pytest.param('{"id": 1, "text": "a"}\n{"id": 2, "text": \n', ".jsonl", ":2:", id="malformed-json"),
        pytest.param(b'{"id": 1, "text": "caf\xe9"}\n', ".jsonl", "UTF-8", id="undecodable"),
        pytest.param('{"id": 1, "words": "x"}\n', ".jsonl", "--text-field", id="missing-text-field"),
        pytest.param("", ".jsonl", "empty", id="empty-file"),
        pytest.param('{"id": 1, "text": "a b"}\n{"id": 1, "text": "c d"}\n', ".jsonl", "repeated id", id="repeated-id"),
        pytest.param('id,text\na,hello world\n', ".jsonl", "looks like a CSV or TSV header: pass --format csv", id="csv-as-jsonl"),
    ],
)
def test_bad_input_exits_1_with_one_line(tmp_path: Path, content, suffix: str, needle: str) -> None:
    src = tmp_path / f"in{suffix}"
    src.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    r = run("dedupe", src, "--out", tmp_path / "out", "-q")
    assert r.exit_code == 1
    assert needle in r.output and str(src.name) in r.output
    assert "Traceback" not in r.output
    assert not (tmp_path / "out" / "summary.json").exists()


def test_missing_path(tmp_path: Path) -> None:
    r = run("dedupe", tmp_path / "nope.jsonl", "--out", tmp_path / "out")
    assert r.exit_code == 1 and "nope.jsonl" in r.output and "Traceback" not in r.output


def test_skip_bad_reports(tmp_path: Path, seeds_dir: Path) -> None:
    text = (seeds_dir / "004_f4e2349ca1c8a4fa.txt").read_text(encoding="utf-8")
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": text}) + "\n{broken\n" + json.dumps({"id": "b", "text": text}) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    r = run("dedupe", src, "--out", out, "--skip-bad", "-q")
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"]["bad_records"] == 1 and summary["bad_records"][0]["line"] == 2
    decisions = read_jsonl(out / "decisions.jsonl")  # a line per input record, the bad one included (issue 15, item 8)
    assert [(d["id"], d["status"]) for d in decisions] == [("a", "kept"), (None, "skipped"), ("b", "duplicate")]
    assert (decisions[1]["file"], decisions[1]["line"]) == (str(src), 2) and "malformed JSON" in decisions[1]["reason"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        pytest.param(["--lsh-threshold", "1.5"], "threshold", id="threshold"),
        pytest.param(["--keep", "source-priority"], "source priority", id="priority-missing"),
        pytest.param(["--num-perm", "4"], "num_perm", id="num-perm"),
    ],
)
def test_bad_options_exit_1(seeds_dir: Path, tmp_path: Path, args, needle) -> None:
    r = run("dedupe", seeds_dir, "--out", tmp_path, *args)
    assert r.exit_code == 1 and needle in r.output and "Traceback" not in r.output


def test_explain_params() -> None:
    r = run("explain-params", "--threshold", "0.8", "--num-perm", "128")
    assert r.exit_code == 0
    assert "b=9, rows r=13" in r.output and "false positive" in r.output


def test_explain_params_says_the_bands_are_not_the_only_way_to_candidates() -> None:
    """P(candidate) read as a run's chance of comparing a pair; on the dev feed's first 300 articles the bands proposed
    3 candidate pairs and the anchors 30: the output now says what the curve leaves out, and the screen."""
    r = run("explain-params")
    assert r.exit_code == 0
    assert "P(candidate) is the bands' chance" in r.output and "share an anchor" in r.output
    assert "min_estimate (0.15; dedupe.index table of --config)" in r.output


def test_explain_params_reads_a_runs_config_file_and_the_options_win(seeds_dir: Path, tmp_path: Path) -> None:
    """A run set up by --config: explain-params reads the same file (it had no --config: the settings had to be copied
    into options by hand), and an option given beside it wins, as in the run commands."""
    config = tmp_path / "c.toml"
    config.write_text("[dedupe.index]\nthreshold = 0.5\nfp_weight = 0.2\n[dedupe.minhash]\nnum_perm = 256\n", encoding="utf-8")
    shown = run("explain-params", "--config", config)
    assert shown.exit_code == 0 and "threshold 0.5, num_perm 256" in shown.output
    b, r = map(int, re.search(r"bands b=(\d+), rows r=(\d+)", shown.output).groups())
    assert run("dedupe", seeds_dir, "--out", tmp_path / "out", "--config", config).exit_code == 0
    sketch = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))["sketch"]
    assert (sketch["bands"], sketch["rows"]) == (b, r)
    assert "threshold 0.3, num_perm 256" in run("explain-params", "--config", config, "--threshold", "0.3").output
    bad = tmp_path / "bad.toml"
    bad.write_text('[dedupe.index]\nthreshold = "x"\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["explain-params", "--config", str(bad)])
    assert res.exit_code == 1 and res.output.startswith(f"dedup: error: {bad}") and len(res.output.splitlines()) == 1


@pytest.mark.parametrize("args, config", [
    ((), ""), (("--threshold", "0.5", "--num-perm", "256"), ""), (("--fp-weight", "0.2"), "[dedupe.index]\nfp_weight = 0.2\n"),
], ids=["defaults", "threshold-and-perms", "fp-weight"])
def test_explain_params_is_what_a_run_uses(seeds_dir: Path, tmp_path: Path, args: tuple[str, ...], config: str) -> None:
    """The bands and rows it prints are those in a dedupe run's summary.json (sketch) for the same settings, and its
    curve is 1 - (1 - s^r)^b."""
    shown = run("explain-params", *args)
    b, r = map(int, re.search(r"bands b=(\d+), rows r=(\d+)", shown.output).groups())
    dedupe = [{"--threshold": "--lsh-threshold"}.get(a, a) for a in args if a != "--fp-weight" and a != "0.2"]
    if config:
        (tmp_path / "c.toml").write_text(config, encoding="utf-8")
        dedupe += ["--config", tmp_path / "c.toml"]
    assert run("dedupe", seeds_dir, "--out", tmp_path / "out", *dedupe).exit_code == 0
    sketch = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))["sketch"]
    assert (sketch["bands"], sketch["rows"]) == (b, r)
    curve = dict(re.findall(r"^\s+(0\.\d+)\s+(\d\.\d{4})", shown.output, re.M))
    assert len(curve) == 10 and all(abs(float(p) - (1 - (1 - float(s) ** r) ** b)) < 6e-5 for s, p in curve.items())


def test_repeats_command_on_seeds(seeds_dir: Path, tmp_path: Path) -> None:
    r = run("repeats", seeds_dir, "--out", tmp_path, "-q")
    assert r.exit_code == 0, r.output
    rel = read_jsonl(tmp_path / "repeats.jsonl")
    content = {(x["id"][:3], x["paragraph"], x["in"], x["kind"]) for x in rel if x["kind"] != "boilerplate"}
    assert content == {
        ("000", 2, 0, "exact"), ("000", 4, 0, "exact"), ("000", 11, 10, "exact"),
        ("003", 1, 0, "exact"), ("003", 2, 4, "contained"),
        ("003", 5, 3, "contained"), ("003", 6, 3, "contained"), ("003", 8, 3, "contained"),
        ("003", 10, 3, "contained"), ("003", 11, 3, "contained"),
    }
    assert {x["id"][:3] for x in rel if x["kind"] == "boilerplate"} == {"002"}
    text = (seeds_dir / "000_b8850f4b98589b0e.txt").read_text(encoding="utf-8")
    first = next(x for x in rel if x["id"].startswith("000"))
    assert text[first["start"] : first["end"]].strip() == text.splitlines()[0].strip()
    cleaned = {c["id"][:3]: c for c in read_jsonl(tmp_path / "cleaned.jsonl")}
    assert cleaned["000"]["repeats_removed"] and not cleaned["001"]["repeats_removed"]
    assert cleaned["000"]["text"].count(text.splitlines()[0].strip()) == 1
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"]["articles_with_repeats"] == 2
    assert len(read_jsonl(tmp_path / "articles.jsonl")) == 5


def test_dedupe_counts_and_cleans_repeats(seeds_dir: Path, tmp_path: Path) -> None:
    r = run("dedupe", seeds_dir, "--out", tmp_path, "--clean-repeats", "-q")
    assert r.exit_code == 0, r.output
    counts = {d["id"][:3]: d["repeats"] for d in read_jsonl(tmp_path / "decisions.jsonl")}
    assert counts == {"000": 3, "001": 0, "002": 0, "003": 7, "004": 0}
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert "repeats+normalize" in summary["timings_seconds"]


def test_unique_writes_jsonl_lines_back_unchanged(seeds_dir: Path, tmp_path: Path) -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))]
    lines = [json.dumps({"id": f"s{i}", "text": t}, ensure_ascii=True, indent=None) for i, t in enumerate(texts)]
    lines.insert(1, '{ "text" : ' + json.dumps(texts[0]) + ' ,  "id":"copy" }')  # an exact copy of s0, spaced oddly
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    r = run("dedupe", feed, "--out", tmp_path / "out", "-q")
    assert r.exit_code == 0, r.output
    unique = (tmp_path / "out" / "unique.jsonl").read_text(encoding="utf-8").split("\n")
    assert unique[:-1] == [lines[0]] + lines[2:] and unique[-1] == ""  # the copy dropped, lines as given, \n ends


@pytest.mark.parametrize("command", ["dedupe", "repeats", "stories", "similarity"])
def test_unwritable_out_is_one_line_before_any_work(tmp_path: Path, seeds_dir: Path, command: str) -> None:
    """A folder under a file cannot be created: one line naming it, exit 1, for every command (stories and similarity printed tracebacks)."""
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"id": 1, "text1": "a b c", "text2": "a b c"}) + "\n")
    args = [command, str(pairs if command == "similarity" else seeds_dir), "--out", str(blocker / "sub" / ("o.jsonl" if command == "similarity" else "out"))]
    res = CliRunner().invoke(app, args + ([] if command == "similarity" else ["--quiet"]))
    assert res.exit_code == 1 and "cannot write outputs there" in res.output
    assert "Traceback" not in res.output


def _names() -> list[str]:
    from typer.main import get_command_name

    return [get_command_name(c.name or c.callback.__name__) for c in app.registered_commands] + ["index"]


@pytest.mark.parametrize("name", _names())
def test_console_script_builds_only_the_command_asked_for(name: str) -> None:
    """`dedup NAME ...` builds NAME alone (start-up), and its help, usage and errors read as with the whole app."""
    from typer.main import get_command

    from dedup.cli import app_for

    one = app_for(name)
    assert list(get_command(one).commands) == [name]  # type: ignore[attr-defined]
    assert len(get_command(app).commands) > 5  # type: ignore[attr-defined]
    args = [name, "stats", "--help"] if name == "index" else [name, "--help"]
    whole, alone = runner.invoke(app, args, prog_name="dedup"), runner.invoke(one, args, prog_name="dedup")
    assert alone.exit_code == whole.exit_code == 0 and alone.output == whole.output
    bad = [name, "--no-such-option"]
    assert runner.invoke(one, bad, prog_name="dedup").output == runner.invoke(app, bad, prog_name="dedup").output


@pytest.mark.parametrize("asked", ["", "--help", "--version", "no-such-command"])
def test_console_script_gets_the_whole_app_when_no_command_is_named(asked: str) -> None:
    from dedup.cli import app_for

    assert app_for(asked) is app


def test_a_command_s_options_are_built_only_when_it_is_built() -> None:
    """Building `dedup dedupe` builds the options of dedupe alone (the other commands' cost ~20 ms a run)."""
    import subprocess
    import sys

    code = ("from typer.main import get_command\nfrom dedup.cli import app, app_for\n"
            "get_command(app_for('dedupe'))\n"
            "print(sorted(c.callback.__name__ for c in app.registered_commands if getattr(c.callback, '_built', None) is not None))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "['dedupe']"


def test_a_command_stops_the_workers_it_leaves_when_it_is_over(seeds_dir: Path, tmp_path: Path) -> None:
    import os

    from dedup.exec.local import imap_tasks, stop_workers

    assert os.getpid() not in set(imap_tasks(os.getpid, [()] * 4, n_jobs=2))  # workers running, as a stage leaves them
    r = run("dedupe", seeds_dir, "--out", tmp_path, "-q", "--jobs", "2")
    assert r.exit_code == 0, r.output
    assert len(read_jsonl(tmp_path / "decisions.jsonl")) == 5
    assert stop_workers() is False  # the command stopped them


@pytest.mark.parametrize("command", ["stories", "similarity"])
def test_help_keeps_square_brackets(command):
    """The help is rich markup: an extra's name in brackets is printed, not taken for a style and dropped."""
    res = runner.invoke(app, [command, "--help"], env={"COLUMNS": "250"})
    assert res.exit_code == 0
    assert "dedup[semantic]" in res.output


@pytest.mark.parametrize("args", [["dedupe", "SEEDS", "--out", "OUT", "-q", "--lsh-threshold", "0.99"],
                                  ["stories", "SEEDS", "--out", "OUT", "-q", "--lsh-threshold", "0.99"],
                                  ["explain-params", "--threshold", "0.99"]])
def test_an_lsh_setting_with_no_banding_is_one_line(tmp_path: Path, seeds_dir: Path, args: list[str]) -> None:
    """datasketch tunes fewer than two bands for these: a one-line error (it was datasketch's traceback), before any work."""
    args = [str(seeds_dir) if a == "SEEDS" else str(tmp_path / "out") if a == "OUT" else a for a in args]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 1, res.output
    assert "no LSH banding" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "out" / "summary.json").exists()
    flag = "--threshold" if args[0] == "explain-params" else "--lsh-threshold"  # the command's own option is named
    assert f"lower {flag} " in res.output and ("--lsh-threshold" in res.output) == (flag == "--lsh-threshold")


def test_an_fp_weight_of_one_is_refused_as_such() -> None:
    """At 1 no banding can ever be found: the advice to lower the threshold was wrong."""
    res = CliRunner().invoke(app, ["explain-params", "--fp-weight", "1"])
    assert res.exit_code == 1 and "fp_weight (--fp-weight) must be at least 0 and below 1" in res.output
    assert "lower --threshold" not in res.output
    assert CliRunner().invoke(app, ["explain-params", "--fp-weight", "0.99"]).exit_code == 0


@pytest.mark.parametrize(("args", "said"), [
    (["--threshold", "1.5"], "LSH threshold (--threshold) must be strictly between 0 and 1, got 1.5"),
    (["--num-perm", "3"], "num_perm (--num-perm) must be between 16 and 1024, got 3"),
    (["--fp-weight", "-0.5"], "fp_weight (--fp-weight) must be at least 0 and below 1"),
], ids=["threshold", "num-perm", "fp-weight"])
def test_explain_params_names_the_option_of_a_bad_value(args: list[str], said: str) -> None:
    """The configs' names (num_perm) were said alone: the option typed (--num-perm) is named beside them, as the run
    commands name theirs."""
    res = CliRunner().invoke(app, ["explain-params", *args])
    assert res.exit_code == 1 and res.output.startswith(f"dedup: error: {said}") and len(res.output.splitlines()) == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--max-chars", "0"], "max_chars (--max-chars) must be >= 1"),
    (["--jobs", "0"], "n_jobs (--jobs) must be a positive number"),
    (["--min-probability", "2"], "min_probability (--min-probability) must be between 0 and 1"),
])
def test_a_bad_value_names_the_option_that_set_it(tmp_path: Path, seeds_dir: Path, args: list[str], message: str) -> None:
    res = CliRunner().invoke(app, ["dedupe", str(seeds_dir), "--out", str(tmp_path / "out"), "-q", *args])
    assert res.exit_code == 1 and message in res.output and "Traceback" not in res.output


def test_a_skipped_records_reason_does_not_advise_skipping_it(tmp_path: Path) -> None:
    """Under --skip-bad the reason read "... or skip it with --skip-bad"; and json's "at" came twice ("at at column")."""
    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"id": "a", "text": "one two three four five six seven"}\n{"id": "b", "text": "tab\there"}\n'
                    '{"id": "a", "text": "a repeated id here"}\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "out"), "-q", "--skip-bad"])
    assert res.exit_code == 0, res.output
    reasons = [json.loads(line).get("reason", "") for line in (tmp_path / "out" / "decisions.jsonl").read_text(encoding="utf-8").splitlines()]
    skipped = [r for r in reasons if "malformed JSON" in r or "repeated id" in r]
    assert len(skipped) == 2 and not any("--skip-bad" in r for r in skipped), reasons
    assert any("Invalid control character at column" in r for r in skipped) and not any("at at" in r for r in reasons)
    res = CliRunner().invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "out2"), "-q"])
    assert res.exit_code == 1 and "Invalid control character at column" in res.output


@pytest.mark.parametrize("command", ["dedupe", "stories"])
def test_unreadable_dates_are_counted_and_said(tmp_path: Path, command: str) -> None:
    """A date that is not ISO 8601 made the article undated without a word (it changes --keep earliest and the windows)."""
    feed = tmp_path / "feed.jsonl"
    rows = [{"id": "a", "text": "one two three four five six seven eight", "date": "2015-07-01"},
            {"id": "b", "text": "other words here for this test article", "date": "yesterday-ish"},
            {"id": "c", "text": "more words for the third article of the feed", "date": "32/13/2015"},
            {"id": "d", "text": "an article without any date at all in it"}]
    feed.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    res = CliRunner().invoke(app, [command, str(feed), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "warning: 2 articles came with a date that could not be read" in res.output and "first: b, c" in res.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"]["dates_unreadable"] == 2 and summary["dates_unreadable_ids"] == ["b", "c"]


def test_a_failed_run_leaves_no_empty_folder_it_made(tmp_path: Path) -> None:
    feed = tmp_path / "bad.jsonl"
    feed.write_text('{"id": "a"}\n', encoding="utf-8")  # no text field: an error once the feed is read
    res = CliRunner().invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "new" / "out"), "-q"])
    assert res.exit_code == 1 and "no text field" in res.output
    assert not (tmp_path / "new").exists()  # the parent it made too
    (tmp_path / "mine").mkdir()  # a folder the user made stays
    res = CliRunner().invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "mine"), "-q"])
    assert res.exit_code == 1 and (tmp_path / "mine").is_dir()


def test_source_priority_without_its_keep_policy_is_a_warning(tmp_path: Path, seeds_dir: Path) -> None:
    res = CliRunner().invoke(app, ["dedupe", str(seeds_dir), "--out", str(tmp_path / "o"), "-q", "--source-priority", "aawsat"])
    assert res.exit_code == 0 and "--source-priority is read only with --keep source-priority" in res.output
    res = CliRunner().invoke(app, ["dedupe", str(seeds_dir), "--out", str(tmp_path / "o2"), "-q", "--source-priority", "aawsat",
                                   "--keep", "source-priority"])
    assert res.exit_code == 0 and "warning" not in res.output


@pytest.mark.parametrize("command", ["dedupe", "stories", "similarity", "serve", "repeats"])
def test_help_in_a_narrow_terminal_keeps_every_option_name_whole(command: str) -> None:
    """At 80 columns rich's boxes cut names short ("--max-record-b…", 14 of dedupe's): narrower than
    RICH_HELP_COLUMNS the console script prints click's plain help instead; wide, the boxes."""
    import os
    import subprocess
    import sys

    from typer.main import get_command

    from dedup.cli import RICH_HELP_COLUMNS, app_for

    names = [o for p in get_command(app_for(command)).commands[command].params for o in p.opts]  # type: ignore[attr-defined]
    for columns, boxed in ((80, False), (RICH_HELP_COLUMNS, True)):
        run = subprocess.run([sys.executable, "-m", "dedup", command, "--help"], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "COLUMNS": str(columns)})
        assert run.returncode == 0, run.stderr
        assert ("╭" in run.stdout) == boxed
        words = set(run.stdout.replace(",", " ").replace("/", " ").split())
        assert [n for n in names if n.startswith("--") and n not in words] == [], columns


@pytest.mark.parametrize(("command", "example"), [
    pytest.param(["similarity"], "dedup similarity pairs.jsonl --out scores.jsonl", id="similarity"),
    pytest.param(["eval"], "dedup eval out --gold gold.jsonl", id="eval"),
    pytest.param(["explain-params"], "dedup explain-params --threshold 0.5 --num-perm 256", id="explain-params"),
    pytest.param(["index", "stats"], "dedup index stats history.db", id="index-stats"),
    pytest.param(["index", "prune"], "dedup index prune history.db --before 2026-11-01", id="index-prune"),
    pytest.param(["index", "export"], "dedup index export history.db --out decisions.jsonl", id="index-export"),
])
def test_the_less_used_commands_help_shows_an_example_on_its_own_line(command: list[str], example: str) -> None:
    """similarity, eval, explain-params and the index commands said what they do but showed no command to start from;
    the example stays one line in click's plain help (a narrow terminal rewraps paragraphs) and in rich's."""
    import os
    import subprocess
    import sys

    from dedup.cli import RICH_HELP_COLUMNS

    for columns in (80, RICH_HELP_COLUMNS):
        run = subprocess.run([sys.executable, "-m", "dedup", *command, "--help"], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "COLUMNS": str(columns)}, check=False)
        assert run.returncode == 0, run.stderr
        assert example in [line.strip() for line in run.stdout.splitlines()], (columns, run.stdout)


def test_similarity_offers_only_the_settings_it_reads() -> None:
    """Windows, groups, the LSH and the keeper policy are settings of a feed: similarity listed them and ignored them."""
    from typer.main import get_command

    from dedup.cli import app_for

    names = {o for p in get_command(app_for("similarity")).commands["similarity"].params for o in p.opts}  # type: ignore[attr-defined]
    assert {"--event-threshold", "--title-weight", "--jaccard", "--min-tokens", "--decision", "--semantic",
            "--window-days", "--max-chars"} <= names  # the window: two dated reports too far apart are not one event
    assert not names & {"--neighbours", "--keep", "--source-priority", "--cluster", "--lsh-threshold",
                        "--num-perm", "--anchors", "--repeats", "--storyline-threshold", "--boilerplate"}


@pytest.mark.parametrize("command", ["dedupe", "stories", "repeats"])
def test_a_warning_quiet_hides_is_kept_in_the_summary(seeds_dir: Path, tmp_path: Path, command: str) -> None:
    """-q hid the warning naming a file left out of a folder, and no output said so; summary.json keeps it, and -q
    (no progress, no counts) no longer hides it from stderr."""
    feed = tmp_path / "feed"
    feed.mkdir()
    for path in sorted(seeds_dir.glob("*.txt")):
        (feed / path.name).write_bytes(path.read_bytes())
    (feed / "notes.md").write_text("how these were collected\n", encoding="utf-8")  # (a feed file beside them: refused)
    for quiet in (["-q"], []):
        out = tmp_path / f"out{len(quiet)}"
        res = run(command, feed, "--out", out, *quiet)
        assert res.exit_code == 0, res.output
        warnings = json.loads((out / "summary.json").read_text(encoding="utf-8"))["warnings"]
        assert len(warnings) == 1 and "1 file left out" in warnings[0] and "notes.md" in warnings[0]
        assert "notes.md" in res.stderr
    clean = tmp_path / "clean"
    assert run(command, seeds_dir, "--out", clean, "-q").exit_code == 0
    assert "warnings" not in json.loads((clean / "summary.json").read_text(encoding="utf-8"))


def test_kept_warnings_counts_what_it_does_not_keep() -> None:
    import logging

    from dedup.io.console import KEPT_WARNINGS, kept_warnings

    with kept_warnings() as notes:
        for k in range(KEPT_WARNINGS + 3):
            logging.getLogger("dedup.io.readers").warning("warning %d", k)
    assert len(notes) == KEPT_WARNINGS + 1
    assert notes[0] == "warning 0" and notes[KEPT_WARNINGS - 1] == f"warning {KEPT_WARNINGS - 1}"
    assert notes[-1] == "... and 3 more warnings"
    logging.getLogger("dedup.io.readers").warning("after the block")
    assert len(notes) == KEPT_WARNINGS + 1


def test_quiet_hides_the_counts_not_the_warnings(tmp_path: Path, seeds_dir: Path) -> None:
    """-q said "no progress bars or tables", and hid the warnings of records skipped and dates unread too."""
    text = (seeds_dir / "004_f4e2349ca1c8a4fa.txt").read_text(encoding="utf-8")
    feed = tmp_path / "in.jsonl"
    feed.write_text(json.dumps({"id": "a", "text": text, "date": "soon"}) + "\n{broken\n", encoding="utf-8")
    for command in ("dedupe", "stories"):
        res = CliRunner().invoke(app, [command, str(feed), "--out", str(tmp_path / command), "-q", "--skip-bad"])
        assert res.exit_code == 0, res.output
        assert "skipped 1 bad record" in res.output and "could not be read" in res.output, (command, res.output)
        assert "kept" not in res.output and "stage timings" not in res.output  # the counts and the table stay hidden


def test_warnings_after_a_command_go_to_stderr_as_it_is_then(tmp_path: Path, seeds_dir: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A command run in process (click's CliRunner, which swaps sys.stderr for the run and closes its stream after)
    left the library's warnings bound to that closed stream: each later one was a "--- Logging error ---" traceback."""
    import logging

    feed = tmp_path / "in.jsonl"
    text = (seeds_dir / "004_f4e2349ca1c8a4fa.txt").read_text(encoding="utf-8")
    feed.write_text(json.dumps({"id": "a", "text": text}) + "\n{broken\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "o"), "-q", "--skip-bad"])
    assert res.exit_code == 0 and "skipped 1 bad record" in res.output, res.output
    capsys.readouterr()
    logging.getLogger("dedup.io.readers").warning("a later warning")
    err = capsys.readouterr().err
    assert err == "dedup: warning: a later warning\n", err


def test_a_threshold_the_decision_does_not_read_is_a_warning(tmp_path: Path, seeds_dir: Path) -> None:
    res = CliRunner().invoke(app, ["dedupe", str(seeds_dir), "--out", str(tmp_path / "o"), "-q", "--jaccard", "0.9", "--min-cosine", "0.2"])
    assert res.exit_code == 0
    assert "--jaccard is read only with --decision rule" in res.output and "--min-cosine is read only" in res.output
    res = CliRunner().invoke(app, ["dedupe", str(seeds_dir), "--out", str(tmp_path / "o2"), "-q", "--jaccard", "0.9", "--decision", "rule"])
    assert res.exit_code == 0 and "warning" not in res.output
    res = CliRunner().invoke(app, ["dedupe", str(seeds_dir), "--out", str(tmp_path / "o3"), "-q", "--jaccard", "0.4",
                                   "--lsh-threshold", "0.9", "--decision", "rule"])
    assert res.exit_code == 0 and "--lsh-threshold 0.9 is above --jaccard 0.4" in res.output


def test_an_input_given_twice_is_said_at_once(tmp_path: Path, seeds_dir: Path) -> None:
    """The same file twice only met its own ids again ("repeated id 'A': first at f.jsonl:1, again at f.jsonl:1")."""
    feed = tmp_path / "f.jsonl"
    feed.write_text(json.dumps({"id": "A", "text": "one two three four five six seven eight"}) + "\n", encoding="utf-8")
    res = run("dedupe", feed, f"{tmp_path}/./f.jsonl", "--out", tmp_path / "o", "-q")
    assert res.exit_code == 1 and "is the same as" in res.output and "each input is read once" in res.output
    res = runner.invoke(app, ["dedupe", "-", "-", "--out", str(tmp_path / "o2"), "-q"], input=feed.read_text(encoding="utf-8"))
    assert res.exit_code == 1 and "standard input (-) is given twice" in res.output
    assert not (tmp_path / "o").exists() and not (tmp_path / "o2").exists()
    (tmp_path / "hard.jsonl").hardlink_to(feed)  # the same file by another name
    res = run("dedupe", feed, tmp_path / "hard.jsonl", "--out", tmp_path / "o3", "-q")
    assert res.exit_code == 1 and "hard.jsonl is the same as" in res.output


def test_a_write_failure_names_the_file(tmp_path: Path, seeds_dir: Path) -> None:
    (tmp_path / "o" / "report.html").mkdir(parents=True)  # a folder where the page goes
    res = run("dedupe", seeds_dir, "--out", tmp_path / "o", "-q")
    assert res.exit_code == 1 and f"Is a directory: {tmp_path / 'o' / 'report.html'}" in res.output


def test_the_summary_line_says_one_group_not_one_groups(tmp_path: Path) -> None:
    text = "one two three four five six seven eight nine ten eleven twelve"
    feed = tmp_path / "f.jsonl"
    feed.write_text("".join(json.dumps({"id": i, "text": text}) + "\n" for i in "ab"), encoding="utf-8")
    res = run("dedupe", feed, "--out", tmp_path / "o")
    assert res.exit_code == 0 and "2 articles: 1 kept, 1 duplicate (1 exact, 0 near, 0 contained) in 1 group," in res.output


def test_an_output_folder_inside_an_input_folder_is_refused(tmp_path: Path, seeds_dir: Path) -> None:
    """The next run read the outputs (summary.json as a news-please article, unique.jsonl as records) as input."""
    feed = tmp_path / "feed"
    feed.mkdir()
    for p in sorted(seeds_dir.glob("*.txt")):
        (feed / p.name).write_bytes(p.read_bytes())
    for out in (feed, feed / "out"):
        res = run("dedupe", feed, "--out", out, "-q")
        assert res.exit_code == 1 and "input folder" in res.output and "outside it" in res.output, res.output
    assert sorted(p.name for p in feed.iterdir()) == sorted(p.name for p in seeds_dir.glob("*.txt"))
    assert run("dedupe", feed, "--out", tmp_path / "out", "-q").exit_code == 0


ONE = {"id": "a", "text": "alpha beta gamma delta epsilon zeta eta theta iota kappa"}


@pytest.mark.parametrize("command", ["dedupe", "stories", "repeats"])
def test_out_dash_is_refused_where_the_outputs_are_a_folder(tmp_path: Path, command: str, monkeypatch) -> None:
    """`--out -` made a folder named "-" ("outputs in -/")."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f.jsonl").write_text(json.dumps(ONE) + "\n", encoding="utf-8")
    res = runner.invoke(app, [command, "f.jsonl", "--out", "-", "-q"])
    assert res.exit_code == 1 and "--out -" in res.output and "folder" in res.output, res.output
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize(("name", "content", "hint"), [
    ("arr.jsonl", json.dumps([ONE]) + "\n", "use --format json"),
    ("t.csv", "id\ttext\na\t" + ONE["text"] + "\n", "use --format tsv"),
    ("s.csv", "id;text\na;" + ONE["text"] + "\n", "another separator than the comma"),
])
def test_a_feed_in_another_shape_than_its_name_says_gets_a_hint(tmp_path: Path, name: str, content: str, hint: str) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    res = runner.invoke(app, ["dedupe", str(tmp_path / name), "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 1 and hint in res.output and "Traceback" not in res.output, res.output


def test_the_repeats_line_says_what_its_numbers_count(seeds_dir: Path, tmp_path: Path) -> None:
    """The line read "5 articles, 2 with repeated paragraphs (4 exact, 6 contained, 0 near; 7 boilerplate lines)": the
    kinds looked like a breakdown of the 2 articles (they count 10 repeats), nothing said what the cleaned copies lost,
    nor that the boilerplate lines stay in them."""
    res = run("repeats", seeds_dir, "--out", tmp_path)
    assert res.exit_code == 0, res.output
    assert ("5 articles, 2 with repeated paragraphs: 10 repeats (4 exact, 6 contained, 0 near), 1450 characters cut in "
            "cleaned.jsonl; 7 repeated boilerplate lines reported, not cut; outputs in ") in res.stderr, res.stderr
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"]["redundant_chars"] == 1450


def test_the_repeats_line_counts_the_bad_records_skipped(tmp_path: Path) -> None:
    (tmp_path / "f.jsonl").write_text(json.dumps(ONE) + "\nnot json\n", encoding="utf-8")
    res = runner.invoke(app, ["repeats", str(tmp_path / "f.jsonl"), "--out", str(tmp_path / "o"), "--skip-bad"])
    assert res.exit_code == 0 and "1 bad record skipped" in res.output, res.output


def test_library_warnings_read_as_the_commands_own(tmp_path: Path, seeds_dir: Path) -> None:
    """A run's stderr said "dedup: WARNING: skipped 1 bad record …" above "dedup: warning: 1 article came with a
    date that could not be read": one run, two spellings of its warnings (the library's came through logging's
    level name)."""
    text = (seeds_dir / "004_f4e2349ca1c8a4fa.txt").read_text(encoding="utf-8")
    feed = tmp_path / "in.jsonl"
    feed.write_text(json.dumps({"id": "a", "text": text, "date": "soon"}) + "\n{broken\n", encoding="utf-8")
    res = run("dedupe", feed, "--out", tmp_path / "out", "-q", "--skip-bad")
    assert res.exit_code == 0, res.output
    lines = res.stderr.splitlines()
    assert any(line.startswith("dedup: warning: skipped 1 bad record") for line in lines), lines
    assert any(line.startswith("dedup: warning: 1 article came with a date") for line in lines), lines
    assert "WARNING" not in res.stderr


def test_decision_help_names_only_what_the_shipped_model_weighs() -> None:
    """`--decision`'s help said the model is "a probability over scores, rare words, alignment, source and time";
    the shipped model has no alignment feature (measured, added nothing: README, "The decision")."""
    from dedup.verify.decision import ALIGNMENT, load_model

    assert not set(ALIGNMENT) & set(load_model().features)
    for command in ("dedupe", "stories", "similarity", "serve"):
        help_text = " ".join(runner.invoke(app, [command, "--help"], env={"COLUMNS": "400"}).output.split())
        assert "model: the learned decision (a probability over the scores, rare words, lengths, source and time" in help_text
        assert "alignment" not in help_text, command


@pytest.mark.parametrize(("args", "shown"), [(["dedupe"], "DIR"), (["stories"], "DIR"), (["repeats"], "DIR"),
                                             (["similarity"], "FILE"), (["index", "export"], "FILE")])
def test_out_says_what_it_takes(args: list[str], shown: str) -> None:
    """--out was shown as '--out <str>' everywhere: a folder for dedupe, stories and repeats, a file for similarity
    and index export (whose help also read 'Write to this file (default, or -: standard output)')."""
    res = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "400"})
    assert res.exit_code == 0
    text = " ".join(res.output.replace("│", " ").split())
    assert re.search(rf"(-o, --out|--out -o) {shown}\b", text), text  # plain help, or rich's table
