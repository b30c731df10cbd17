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
    with pytest.raises(InputFormatError, match="a dedupe run .*not a stories run: --level event .*use --level group"):
        read_run(dedupe_run, "event")
    with pytest.raises(InputFormatError, match="a stories run .*not a dedupe run: --level group .*use --level event or storyline"):
        read_run(stories_run, "group")
    assert read_run(dedupe_run, "group") == {"a": None} and read_run(stories_run, "storyline") == {"a": "a"}
