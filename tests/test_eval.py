import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dedup.cli import app
from dedup.eval.metrics import adjusted_rand, bcubed, pairwise_prf, sweep

runner = CliRunner()


@pytest.mark.parametrize(
    ("pred", "gold", "expected"),
    [
        pytest.param([0, 0, 1, 1], [0, 0, 1, 1], (1.0, 1.0), id="identical"),
        pytest.param([0, 0, 0, 0], [0, 0, 1, 1], (0.5, 1.0), id="one-cluster"),
        pytest.param([0, 1, 2, 3], [0, 0, 1, 1], (1.0, 0.5), id="singletons"),
    ],
)
def test_bcubed(pred, gold, expected) -> None:
    b = bcubed(pred, gold)
    assert (b["precision"], b["recall"]) == expected


def test_ari_and_pairwise() -> None:
    assert adjusted_rand([1, 1, 2], ["a", "a", "b"]) == 1.0
    w = pairwise_prf([True, False], [True, True], weights=[3.0, 1.0])
    assert w["precision"] == 1.0 and w["recall"] == 0.75
    assert [r["recall"] for r in sweep([0.2, 0.8], [True, True], [0.1, 0.5, 0.9])] == [1.0, 0.5, 0.0]


@pytest.fixture
def run_dir(tmp_path: Path, seeds_dir: Path) -> tuple[Path, Path]:
    text = (seeds_dir / "004_f4e2349ca1c8a4fa.txt").read_text(encoding="utf-8")
    other = (seeds_dir / "001_9eacc07b82d68d60.txt").read_text(encoding="utf-8")
    feed = tmp_path / "feed.jsonl"
    rows = [{"id": "a", "text": text}, {"id": "b", "text": "عنوان\n" + text}, {"id": "c", "text": other}]
    feed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out"
    assert runner.invoke(app, ["dedupe", str(feed), "--out", str(out), "-q"]).exit_code == 0
    return out, feed


def test_eval_pairs_and_sweep(run_dir, tmp_path: Path) -> None:
    out, feed = run_dir
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"id1": "a", "id2": "b", "label": "DUP"}\n{"id1": "a", "id2": "c", "label": "NO"}\n', encoding="utf-8")
    r = runner.invoke(app, ["eval", str(out), "--gold", str(gold), "--sweep", "jaccard", "--input", str(feed)])
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["pairwise"]["f1"] == 1.0
    assert report["sweep"][0]["recall"] == 1.0 and len(report["sweep"]) == 19
    assert report["sweep_pairs"] == 2 and report["warnings"] == []


def test_a_sweep_over_another_feed_says_how_many_pairs_it_scored(run_dir, tmp_path: Path) -> None:
    """A sweep reads the articles from --input: a feed that is not the run's held one labelled pair of two, and the
    sweep counted one pair without a word."""
    out, feed = run_dir
    other = tmp_path / "other.jsonl"
    other.write_text("".join(line for line in feed.read_text(encoding="utf-8").splitlines(keepends=True) if '"id": "b"' not in line),
                     encoding="utf-8")
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"id1": "a", "id2": "b", "label": "DUP"}\n{"id1": "a", "id2": "c", "label": "NO"}\n', encoding="utf-8")
    r = runner.invoke(app, ["eval", str(out), "--gold", str(gold), "--sweep", "jaccard", "--input", str(other)])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["pairs"] == 2 and report["sweep_pairs"] == 1
    assert report["warnings"] == [f"--sweep: 1 of the 2 labelled pairs of the run has an article that is not in --input "
                                  f"({other}): the sweep scores the other 1 only; is --input the run's own feed?"]


def test_eval_clusters(run_dir, tmp_path: Path) -> None:
    out, _ = run_dir
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"id": "a", "cluster": 1}\n{"id": "b", "cluster": 1}\n{"id": "c", "cluster": 2}\n', encoding="utf-8")
    r = runner.invoke(app, ["eval", str(out), "--gold", str(gold)])
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["ari"] == 1.0 and report["bcubed"]["f1"] == 1.0 and report["pairwise"]["f1"] == 1.0


def test_eval_bad_gold(run_dir, tmp_path: Path) -> None:
    out, _ = run_dir
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"x": 1}\n', encoding="utf-8")
    r = runner.invoke(app, ["eval", str(out), "--gold", str(gold)])
    assert r.exit_code == 1 and "gold.jsonl:1" in r.output


def test_a_level_the_run_does_not_have_says_which_run_it_is(tmp_path: Path) -> None:
    """`eval` of a dedupe run at --level event said "stories.jsonl: cannot open the file"."""
    from dedup.errors import InputFormatError
    from dedup.io.gold import read_run

    dedupe_run, stories_run = tmp_path / "d", tmp_path / "s"
    dedupe_run.mkdir()
    stories_run.mkdir()
    (dedupe_run / "decisions.jsonl").write_text('{"id": "a", "group": null}\n', encoding="utf-8")
    (stories_run / "stories.jsonl").write_text('{"id": "a", "event": "a", "storyline": "a"}\n', encoding="utf-8")
    with pytest.raises(InputFormatError, match="a dedupe run.*not a stories run: --level event .*use --level group"):
        read_run(dedupe_run, "event")
    with pytest.raises(InputFormatError, match="a stories run.*not a dedupe run: --level group .*use --level event or storyline"):
        read_run(stories_run, "group")
    assert read_run(dedupe_run, "group") == {"a": None} and read_run(stories_run, "storyline") == {"a": "a"}


def test_without_level_a_stories_run_is_scored_by_its_events(tmp_path: Path, seeds_dir: Path) -> None:
    """`eval` of a stories run stopped with "--level group scores duplicate groups" unless --level was given."""
    out = tmp_path / "st"
    assert runner.invoke(app, ["stories", str(seeds_dir), "--out", str(out), "-q"]).exit_code == 0
    rows = [json.loads(x) for x in (out / "stories.jsonl").read_text(encoding="utf-8").splitlines()]
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps({"id": r["id"], "cluster": r["event"]}) + "\n" for r in rows), encoding="utf-8")
    r = runner.invoke(app, ["eval", str(out), "--gold", str(gold)])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["level"] == "event" and report["ari"] == 1.0 and report["articles"] == len(rows) == 5
    r = runner.invoke(app, ["eval", str(out), "--gold", str(gold), "--level", "group"])  # asked for: still refused
    assert r.exit_code == 1 and "use --level event or storyline" in r.output


def test_a_run_into_another_commands_folder_leaves_none_of_its_files(tmp_path: Path) -> None:
    """A dedupe run into a folder holding a stories run left stories.jsonl and events.json beside its summary.json,
    and `eval --level event` scored them as the run's; a repeats run after both left their files too."""
    seeds = Path(__file__).resolve().parents[1] / "seeds"
    out = tmp_path / "R"
    assert runner.invoke(app, ["stories", str(seeds), "--out", str(out), "-q"]).exit_code == 0
    assert runner.invoke(app, ["dedupe", str(seeds), "--out", str(out), "-q"]).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["decisions.jsonl", "pairs.jsonl", "report.html", "summary.json",
                                                    "unique.jsonl"]
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["command"] == "dedupe"
    ids = [json.loads(line)["id"] for line in (out / "decisions.jsonl").read_text(encoding="utf-8").splitlines()]
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id1": ids[0], "id2": ids[1], "label": "DUP"}) + "\n", encoding="utf-8")
    r = runner.invoke(app, ["eval", str(out), "--gold", str(gold), "--level", "event"])
    assert r.exit_code == 1 and "a dedupe run, not a stories run" in r.output
    assert runner.invoke(app, ["repeats", str(seeds), "--out", str(out), "-q"]).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["articles.jsonl", "cleaned.jsonl", "repeats.jsonl", "summary.json"]
    r = runner.invoke(app, ["eval", str(out), "--gold", str(gold)])
    assert r.exit_code == 1 and "a repeats run" in r.output and "cannot open" not in r.output


def test_eval_refuses_a_file_that_is_not_the_runs(run_dir, tmp_path: Path) -> None:
    """A decisions file cut short (or written by another run) no longer scores as the run's."""
    out, _ = run_dir
    cut = tmp_path / "cut"
    cut.mkdir()
    for name in ("summary.json", "pairs.jsonl"):
        (cut / name).write_bytes((out / name).read_bytes())
    lines = (out / "decisions.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (cut / "decisions.jsonl").write_text("".join(lines[:-1]), encoding="utf-8")
    ids = [json.loads(line)["id"] for line in lines]
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id1": ids[0], "id2": ids[1], "label": "DUP"}) + "\n", encoding="utf-8")
    r = runner.invoke(app, ["eval", str(cut), "--gold", str(gold)])
    assert r.exit_code == 1 and f"{len(lines) - 1} lines, but the run's summary.json counts {len(lines)} records" in r.output
    r = runner.invoke(app, ["eval", str(out), "--gold", str(gold)])
    assert r.exit_code == 0 and isinstance(json.loads(r.stdout)["pairwise"]["tp"], int)


@pytest.mark.parametrize("lines, says", [
    ([{"id1": "a", "id2": "b", "label": None}], "label null: a pair needs a label"),
    ([{"id1": "a", "id2": "b", "label": ""}], 'label "": a pair needs a label'),
    ([{"id": "a", "cluster": None}], "cluster null of 'a'"),
    ([{"id": "a", "cluster": ""}], "cluster \"\" of 'a'"),
    ([{"id": "a", "cluster": "x"}, {"id": "a", "cluster": "y"}], "'a' is listed twice (line 1 and here)"),
    ([{"id": None, "cluster": "x"}], "id null: each line names an article"),
    ([{"id1": "a", "id2": None, "label": "DUP"}], "id2 null: a pair names two articles"),
])
def test_gold_that_would_score_silently_wrong_is_refused(tmp_path: Path, lines: list[dict], says: str) -> None:
    """A null label counted as "not same"; null clusters made one gold cluster; an id listed twice: the last won."""
    from dedup.errors import InputFormatError
    from dedup.io.gold import read_gold

    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    with pytest.raises(InputFormatError) as err:
        read_gold(gold, {"DUP"})
    assert says in str(err.value) and f"gold.jsonl:{len(lines)}" in str(err.value)


def test_gold_articles_not_in_the_run_are_counted_and_warned(run_dir, tmp_path: Path) -> None:
    out, _ = run_dir
    ids = [json.loads(line)["id"] for line in (out / "decisions.jsonl").read_text(encoding="utf-8").splitlines()]
    gold = tmp_path / "clusters.jsonl"
    gold.write_text("".join(json.dumps({"id": i, "cluster": i}) + "\n" for i in [*ids, "nowhere1", "nowhere2"]),
                    encoding="utf-8")
    r = runner.invoke(app, ["eval", str(out), "--gold", str(gold)])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["articles_not_in_run"] == 2 and "2 of the" in report["warnings"][0]
    assert "warning: 2 of the" in r.stderr


def test_a_run_never_removes_its_own_input(tmp_path: Path) -> None:
    """`dedup dedupe feed --out o && dedup repeats o/unique.jsonl --out o` removed unique.jsonl before reading it; a
    feed named articles.jsonl in the output folder was removed by a stories run; a folder without a dedup summary
    loses nothing."""
    seeds = Path(__file__).resolve().parents[1] / "seeds"
    out = tmp_path / "o"
    assert runner.invoke(app, ["dedupe", str(seeds), "--out", str(out), "-q"]).exit_code == 0
    res = runner.invoke(app, ["repeats", str(out / "unique.jsonl"), "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["articles.jsonl", "cleaned.jsonl", "repeats.jsonl", "summary.json",
                                                    "unique.jsonl"]
    own = tmp_path / "mine"
    own.mkdir()
    (own / "events.json").write_text("[]", encoding="utf-8")  # a file of the user's, no dedup run here
    assert runner.invoke(app, ["dedupe", str(seeds), "--out", str(own), "-q"]).exit_code == 0
    assert (own / "events.json").read_text(encoding="utf-8") == "[]"


@pytest.mark.parametrize(("where", "said"), [
    pytest.param("absent", "{run}: no such folder; give the --out folder of a dedup dedupe or dedup stories run", id="missing"),
    pytest.param("out/decisions.jsonl", "{run}: a file, not a run's folder: give the --out folder of a dedup dedupe or "
                 "dedup stories run (its folder: {out})", id="a-file-of-the-run"),
    pytest.param("feed.jsonl", "{run}: a file, not a run's folder: give the --out folder of a dedup dedupe or dedup stories "
                 "run", id="another-file"),
    pytest.param("empty", "{run}: no summary.json: not a finished run of dedup dedupe or dedup stories (a run writes it "
                 "last; an interrupted run leaves none); give a run's --out folder, or run it again", id="not-a-run"),
])
def test_a_run_that_is_not_a_runs_folder_is_one_line(run_dir, tmp_path: Path, where: str, said: str) -> None:
    """RUN was checked by typer: a missing folder or a file was a usage box of four lines and exit 2, and a folder
    without summary.json was called an interrupted run. Each is one line, exit 1, saying what RUN must be."""
    out, _ = run_dir
    (tmp_path / "empty").mkdir()
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"id1": "a", "id2": "b", "label": "DUP"}\n', encoding="utf-8")
    r = runner.invoke(app, ["eval", str(tmp_path / where), "--gold", str(gold)])
    assert r.exit_code == 1 and r.output == f"dedup: error: {said.format(run=tmp_path / where, out=out)}\n"


def test_eval_matches_gold_ids_written_as_other_numbers_than_the_feeds(tmp_path: Path) -> None:
    """A feed's "id": 1.0 and a gold file's "id1": 1 name one article (they were "1.0" and "1": no pair matched)."""
    t1 = ("The central bank raised interest rates by half a point on Tuesday, citing persistent inflation in food and "
          "energy prices across the region, officials said in a statement.")
    t2 = ("A new museum of modern art opened downtown with works by local painters and sculptors, drawing large crowds "
          "on its first weekend despite the rain and cold weather.")
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in ((1.0, t1), (2.0, t1), (3.0, t2))),
                    encoding="utf-8")
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id1": 1, "id2": 2, "label": "DUP"}) + "\n" + json.dumps({"id1": 1, "id2": 3, "label": "NO"})
                    + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert runner.invoke(app, ["dedupe", str(feed), "--out", str(out), "--quiet", "--no-report"]).exit_code == 0
    ids = [json.loads(line)["id"] for line in (out / "decisions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert ids == ["1", "2", "3"]
    res = runner.invoke(app, ["eval", str(out), "--gold", str(gold)])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["pairs"] == 2 and report["pairs_not_in_run"] == 0 and report["pairwise"]["f1"] == 1.0
