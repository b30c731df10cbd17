"""dedup.eval.run: a finished run scored against gold labels; every expected number below is worked out by hand."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from dedup.config import DedupConfig, VerifyConfig
from dedup.errors import ConfigError, InputFormatError, InputNotFoundError
from dedup.eval.run import evaluate_run, run_config

SEEDS = Path(__file__).resolve().parents[1] / "seeds"

#: The run: groups g1 = {a, b} and g2 = {d, e}; c and f alone.
RUN = {"a": "g1", "b": "g1", "c": None, "d": "g2", "e": "g2", "f": None}


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


DEFAULTS = DedupConfig()


def _run_dir(tmp_path: Path, config: DedupConfig | None = DEFAULTS, level: str = "group") -> Path:
    run = tmp_path / "run"
    run.mkdir()
    name = "decisions" if level == "group" else "stories"
    _jsonl(run / f"{name}.jsonl", [{"id": i, level: c} for i, c in RUN.items()] + [{"id": None, level: None, "status": "skipped"}])
    if config is not None:
        (run / "summary.json").write_text(json.dumps({"config": {"dedupe": config.to_dict(), "runtime": {}}}), encoding="utf-8")
    return run


# ------------------------------------------------------------------ labelled pairs


PAIRS = [
    {"id1": "a", "id2": "b", "label": "DUP"},  # same group, same story: TP
    {"id1": "a", "id2": "c", "label": "DUP"},  # c alone: FN
    {"id1": "d", "id2": "e", "label": "NO"},  # same group, different: FP
    {"id1": "c", "id2": "f", "label": "NO"},  # both alone: two clusters, not one (TN)
    {"id1": "e", "id2": "f", "label": "EVENT"},  # TN, or FN when EVENT counts as the same
    {"id1": "a", "id2": "zz", "label": "DUP"},  # zz is not in the run
]


@pytest.mark.parametrize(
    ("positive", "counts"),
    [(("DUP",), (1, 1, 1)), (("DUP", "EVENT"), (1, 1, 2))],
    ids=["dup", "dup-and-event"],
)
def test_pairs(tmp_path: Path, positive: tuple[str, ...], counts: tuple[int, int, int]) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", PAIRS)
    report = evaluate_run(_run_dir(tmp_path), gold, positive=positive)
    tp, fp, fn = counts
    p, r = tp / (tp + fp), tp / (tp + fn)
    assert report["kind"] == "pairs" and report["level"] == "group"
    assert report["pairs"] == 5 and report["pairs_not_in_run"] == 1
    pw = report["pairwise"]
    assert (pw["tp"], pw["fp"], pw["fn"]) == counts
    assert (pw["precision"], pw["recall"], pw["f1"]) == (round(p, 4), round(r, 4), round(2 * p * r / (p + r), 4))
    assert "sweep" not in report


def test_pairs_in_the_duplicate_graph_count_verified_edges_too(tmp_path: Path) -> None:
    """A pair is found in one group or through an edge of pairs.jsonl (written both ways round: either order counts)."""
    gold = _jsonl(tmp_path / "gold.jsonl", PAIRS)
    run = _run_dir(tmp_path)
    assert "pairwise_with_edges" not in evaluate_run(run, gold)  # a run without pairs.jsonl: clusters only
    (run / "pairs.jsonl").write_text("", encoding="utf-8")  # a run that verified no edge
    assert evaluate_run(run, gold)["pairwise_with_edges"] == evaluate_run(run, gold)["pairwise"]
    _jsonl(run / "pairs.jsonl", [{"id1": "c", "id2": "a", "relation": "contained"},  # a, c: the FN becomes a TP
                                 {"id1": "f", "id2": "c", "relation": "near"}])  # c, f labelled NO: now an FP
    report = evaluate_run(run, gold)
    pw, graph = report["pairwise"], report["pairwise_with_edges"]
    assert (pw["tp"], pw["fp"], pw["fn"]) == (1, 1, 1) and (graph["tp"], graph["fp"], graph["fn"]) == (2, 2, 0)
    assert graph["precision"] == 0.5 and graph["recall"] == 1.0
    events = _run_dir(tmp_path / "ev", level="event") if (tmp_path / "ev").mkdir() is None else None
    _jsonl(events / "pairs.jsonl", [{"id1": "c", "id2": "a"}])
    assert "pairwise_with_edges" not in evaluate_run(events, gold, level="event")  # edges are a dedupe run's


def test_singletons_are_never_one_cluster(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", [{"id1": "c", "id2": "f", "label": "DUP"}])
    pw = evaluate_run(_run_dir(tmp_path), gold)["pairwise"]
    assert (pw["tp"], pw["fp"], pw["fn"]) == (0, 0, 1)


def test_pairs_at_the_event_level(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", PAIRS)
    report = evaluate_run(_run_dir(tmp_path, level="event"), gold, level="event")
    assert report["level"] == "event" and report["pairwise"]["tp"] == 1 and report["pairs"] == 5


def test_no_gold_pair_in_the_run_is_an_error_not_a_perfect_score(tmp_path: Path) -> None:
    """Over no pair at all every score read 1.0: the wrong gold file, or another feed's run, is said instead."""
    gold = _jsonl(tmp_path / "gold.jsonl", [{"id1": "x", "id2": "y", "label": "DUP"}])
    with pytest.raises(InputFormatError, match="none of the 1 labelled pairs has both articles in the run"):
        evaluate_run(_run_dir(tmp_path), gold)


def test_no_gold_article_in_the_run_is_an_error(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", [{"id": "x", "cluster": "1"}, {"id": "y", "cluster": "1"}])
    with pytest.raises(InputFormatError, match="none of the 2 articles of the gold clusters is in the run"):
        evaluate_run(_run_dir(tmp_path), gold)


def test_no_positive_pair_is_a_warning(tmp_path: Path) -> None:
    """A --positive name no pair carries (a typo) scored precision 0 and recall 1 without a word."""
    run = _run_dir(tmp_path)
    gold = _jsonl(tmp_path / "gold.jsonl", PAIRS)
    assert evaluate_run(run, gold)["warnings"] == ["1 of the 6 labelled pairs names an article that is not in the run: "
                                                   "left out of the scores"]  # zz
    report = evaluate_run(run, gold, positive=("FOO",))
    assert len(report["warnings"]) == 2 and "--positive FOO" in report["warnings"][0]


def test_no_positive_pair_among_those_scored_is_a_warning(tmp_path: Path) -> None:
    """The only pair labelled same names an article not in the run: the gold file had a positive, so nothing was said,
    and precision, recall and F1 all read 1.0 over no copy to find (an analyst's gold for the seeds did this)."""
    gold = _jsonl(tmp_path / "gold.jsonl", [{"id1": "c", "id2": "f", "label": "NO"}, {"id1": "a", "id2": "zz", "label": "DUP"}])
    report = evaluate_run(_run_dir(tmp_path), gold)
    assert report["pairs"] == 1 and report["pairs_same"] == 0 and report["pairwise"]["f1"] == 1.0
    assert report["warnings"] == [
        "none of the 1 labelled pairs scored counts as same (--positive DUP): the 1 labelled same names an article not "
        "in the run; precision and recall here say nothing of the copies found",
        "1 of the 2 labelled pairs names an article that is not in the run: left out of the scores"]


def test_the_report_says_what_was_compared(tmp_path: Path) -> None:
    """The JSON said neither which labels counted as same, nor how many of the scored pairs were, nor the run's
    thresholds: a report read later could not tell what its scores measured."""
    gold = _jsonl(tmp_path / "gold.jsonl", PAIRS)
    report = evaluate_run(_run_dir(tmp_path), gold, positive=("DUP", "EVENT"))
    assert report["positive"] == ["DUP", "EVENT"] and report["pairs"] == 5 and report["pairs_same"] == 3
    assert report["pairs_same"] == report["pairwise"]["tp"] + report["pairwise"]["fn"]
    assert report["thresholds"] == {"lsh_threshold": 0.3, "decision": "model"}  # this summary has no decision_model
    run = _run_dir(tmp_path / "rule", replace(DEFAULTS, verify=VerifyConfig(decision="rule"))) if (tmp_path / "rule").mkdir() is None else None
    assert evaluate_run(run, gold)["thresholds"] == {"lsh_threshold": 0.3, "decision": "rule", "jaccard": 0.4,
                                                     "containment": 0.6, "min_cosine": 0.5}


def test_the_thresholds_of_a_real_run(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from dedup.cli import app

    out = tmp_path / "out"
    assert CliRunner().invoke(app, ["dedupe", str(SEEDS), "--out", str(out)]).exit_code == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    gold = _jsonl(tmp_path / "gold.jsonl", [{"id1": "000_b8850f4b98589b0e", "id2": "002_1f4e6ce772e1f267", "label": "DUP"}])
    assert evaluate_run(out, gold)["thresholds"] == {
        "lsh_threshold": 0.3, "bands": summary["sketch"]["bands"], "rows": summary["sketch"]["rows"], "decision": "model",
        "min_probability": summary["decision_model"]["min_probability"]}


# ------------------------------------------------------------------ a cluster per article


def test_clusters(tmp_path: Path) -> None:
    """Gold: {a, b}, {c, d}, {e}; zz is not in the run and f not in the gold.

    On a..e the run has {a, b}, {c}, {d, e}. Pairs: run (a,b), (d,e); gold (a,b), (c,d): TP 1, FP 1, FN 1.
    B-cubed precision (1 + 1 + 1 + 1/2 + 1/2) / 5 = 0.8, recall (1 + 1 + 1/2 + 1/2 + 1) / 5 = 0.8.
    ARI: contingency [[2,0,0],[0,1,0],[0,1,1]]: index 1, expected 2*2/10 = 0.4, max (2+2)/2 = 2: 0.6/1.6 = 0.375.
    """
    gold = _jsonl(tmp_path / "gold.jsonl", [{"id": "a", "cluster": 1}, {"id": "b", "cluster": 1}, {"id": "c", "cluster": 2},
                                            {"id": "d", "cluster": 2}, {"id": "e", "cluster": 3}, {"id": "zz", "cluster": 9}])
    report = evaluate_run(_run_dir(tmp_path), gold)
    assert report["kind"] == "clusters" and report["articles"] == 5
    assert {k: report["pairwise"][k] for k in ("tp", "fp", "fn", "precision", "recall", "f1")} == {
        "tp": 1, "fp": 1, "fn": 1, "precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert report["bcubed"] == {"precision": 0.8, "recall": 0.8, "f1": 0.8}
    assert report["ari"] == 0.375


def test_clusters_say_how_many_and_warn_in_the_singular(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", [{"id": "a", "cluster": 1}, {"id": "b", "cluster": 1}, {"id": "c", "cluster": 2},
                                            {"id": "zz", "cluster": 9}])
    report = evaluate_run(_run_dir(tmp_path), gold)
    assert report["articles"] == 3 and report["gold_clusters"] == 2
    assert report["warnings"] == ["1 of the 4 articles of the gold clusters is not in the run: left out of the scores"]


def test_gold_clusters_with_no_two_together_are_warned_of(tmp_path: Path) -> None:
    """Every article alone in its gold cluster: no pair to find, pairwise recall 1.0 without a word."""
    gold = _jsonl(tmp_path / "gold.jsonl", [{"id": i, "cluster": i} for i in "abcd"])
    report = evaluate_run(_run_dir(tmp_path), gold)
    assert report["pairwise"]["recall"] == 1.0 and report["gold_clusters"] == 4
    assert report["warnings"] == ["the gold clusters put no two of the 4 articles scored together: pairwise recall and "
                                  "B-cubed recall here say nothing of the copies found"]


def test_clusters_that_agree(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", [{"id": i, "cluster": c if c is not None else f"alone-{i}"} for i, c in RUN.items()])
    report = evaluate_run(_run_dir(tmp_path), gold)
    assert report["ari"] == 1.0 and report["bcubed"]["f1"] == 1.0 and report["pairwise"]["f1"] == 1.0


def test_gold_errors_come_through(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", [{"x": 1}])
    with pytest.raises(InputFormatError, match="gold.jsonl:1: gold lines need either"):
        evaluate_run(_run_dir(tmp_path), gold)


def test_a_run_without_its_file(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", PAIRS)
    with pytest.raises(InputFormatError, match="a dedupe run.*not a stories run"):
        evaluate_run(_run_dir(tmp_path), gold, level="storyline")  # a dedupe run has no stories
    (tmp_path / "gone").mkdir()
    run = _run_dir(tmp_path / "gone")
    (run / "decisions.jsonl").unlink()
    with pytest.raises(InputNotFoundError, match="decisions.jsonl"):
        evaluate_run(run, gold, level="group")  # its own file missing: named


# ------------------------------------------------------------------ run_config


def test_run_config_reads_the_runs_configuration(tmp_path: Path) -> None:
    config = replace(DedupConfig(), verify=VerifyConfig(jaccard=0.55, min_cosine=0.6), max_chars=5000)
    assert run_config(_run_dir(tmp_path, config)) == config


@pytest.mark.parametrize(
    "summary",
    [None, "not json", "[]", '{"config": {}}', '{"config": {"stories": {}}}', '{"config": null}'],
    ids=["no-summary", "not-json", "not-an-object", "no-dedupe-section", "a-stories-only-section", "null-config"],
)
def test_run_config_without_a_configuration(tmp_path: Path, summary: str | None) -> None:
    run = _run_dir(tmp_path, None)
    if summary is not None:
        (run / "summary.json").write_text(summary, encoding="utf-8")
    with pytest.raises(InputFormatError, match="no configuration of the run found .*rerun it with this version") as err:
        run_config(run)
    assert err.value.path == str(run / "summary.json")


def test_run_config_with_an_unknown_setting(tmp_path: Path) -> None:
    run = _run_dir(tmp_path, None)
    (run / "summary.json").write_text(json.dumps({"config": {"dedupe": {"verify": {"jacard": 0.5}}}}), encoding="utf-8")
    with pytest.raises(ConfigError, match="summary.json: config.dedupe.verify: unknown setting 'jacard'"):
        run_config(run)


# ------------------------------------------------------------------ the sweep


def _feed(tmp_path: Path) -> Path:
    """a and b exact copies (Jaccard 1), d a near copy of a (one line added), c English words (no shingle in common)."""
    text = (SEEDS / "004_f4e2349ca1c8a4fa.txt").read_text(encoding="utf-8")
    other = " ".join(["alpha beta gamma delta epsilon zeta eta theta iota kappa"] * 30)
    return _jsonl(tmp_path / "feed.jsonl", [{"id": "a", "text": text}, {"id": "b", "text": text}, {"id": "c", "text": other},
                                            {"id": "d", "text": text + "\nشارك الخبر"}])


SWEEP_PAIRS = [
    {"id1": "a", "id2": "b", "label": "DUP"},  # score 1
    {"id1": "a", "id2": "d", "label": "DUP"},  # a near copy: above every threshold (< 0.95 would need 5% new shingles)
    {"id1": "a", "id2": "c", "label": "NO"},  # score 0
    {"id1": "c", "id2": "d", "label": "DUP"},  # score 0: missed at every threshold
]


@pytest.mark.parametrize("score", ["jaccard", "containment", "cosine"])
def test_sweep(tmp_path: Path, score: str) -> None:
    run = _run_dir(tmp_path)
    gold = _jsonl(tmp_path / "gold.jsonl", SWEEP_PAIRS)
    report = evaluate_run(run, gold, sweep_score=score, inputs=[str(_feed(tmp_path))])
    sweep = report["sweep"]
    assert [row["threshold"] for row in sweep] == [round(0.05 * k, 2) for k in range(1, 20)]
    for row in sweep:  # TP 2, FP 0, FN 1 at every threshold
        assert (row["tp"], row["fp"], row["fn"], row["precision"], row["recall"], row["f1"]) == (2, 0, 1, 1.0, 0.6667, 0.8)


def test_sweep_measures_with_the_runs_configuration(tmp_path: Path) -> None:
    """A run whose articles were all too short to compare: every pair scores 0 under its configuration."""
    config = replace(DedupConfig(), shingle=replace(DedupConfig().shingle, min_tokens=100_000))
    run = _run_dir(tmp_path, config)
    gold = _jsonl(tmp_path / "gold.jsonl", SWEEP_PAIRS)
    sweep = evaluate_run(run, gold, sweep_score="jaccard", inputs=[str(_feed(tmp_path))])["sweep"]
    assert all((row["tp"], row["fp"], row["fn"]) == (0, 0, 3) for row in sweep)


def test_sweep_leaves_out_pairs_not_in_the_inputs(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    gold = _jsonl(tmp_path / "gold.jsonl", [*SWEEP_PAIRS, {"id1": "e", "id2": "a", "label": "DUP"}])  # e: in the run only
    report = evaluate_run(run, gold, sweep_score="jaccard", inputs=[str(_feed(tmp_path))])
    assert report["pairs"] == 5 and all(row["fn"] == 1 for row in report["sweep"])


def test_sweep_needs_the_inputs(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", SWEEP_PAIRS)
    with pytest.raises(ConfigError, match="--sweep needs the run's input feed: add --input FILE"):
        evaluate_run(_run_dir(tmp_path), gold, sweep_score="jaccard")


def test_no_sweep_for_clusters(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", [{"id": "a", "cluster": 1}, {"id": "b", "cluster": 1}])
    report = evaluate_run(_run_dir(tmp_path), gold, sweep_score="jaccard")  # no inputs needed: nothing to sweep
    assert "sweep" not in report
    # said: the sweep asked for was left out without a word
    assert report["warnings"] == [("--sweep jaccard: the gold file holds a cluster per article, not labelled pairs: no sweep "
                                   "(it scores labelled pairs)")]


def test_inputs_without_a_sweep_are_said_to_be_unread(tmp_path: Path) -> None:
    """--input is read by --sweep alone: given without it, it was left unread without a word."""
    gold = _jsonl(tmp_path / "gold.jsonl", SWEEP_PAIRS)
    report = evaluate_run(_run_dir(tmp_path), gold, inputs=["feed.jsonl"])
    assert "sweep" not in report and "--input (feed.jsonl) is read only with --sweep: left unread" in report["warnings"]


def test_sweep_over_an_input_without_the_labelled_articles_is_an_error(tmp_path: Path) -> None:
    """Another feed given as --input: every threshold read precision and recall 1.0 over no pair."""
    run = _run_dir(tmp_path)
    gold = _jsonl(tmp_path / "gold.jsonl", SWEEP_PAIRS)
    other = _jsonl(tmp_path / "other.jsonl", [{"id": "zz", "text": "words of another feed " * 20}])
    with pytest.raises(ConfigError, match="none of the 4 labelled pairs of the run has both articles in --input"):
        evaluate_run(run, gold, sweep_score="jaccard", inputs=[str(other)])


def test_a_run_without_its_summary_is_not_scored(tmp_path: Path) -> None:
    """summary.json is written last: a folder without it holds an interrupted run (or two runs' files mixed)."""
    run = _run_dir(tmp_path, None)
    gold = _jsonl(tmp_path / "gold.jsonl", PAIRS)
    with pytest.raises(InputFormatError, match="no summary.json: not a finished run of dedup dedupe or dedup stories"):
        evaluate_run(run, gold)


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_articles_the_run_skipped_are_counted_and_warned(tmp_path: Path, fmt: str) -> None:
    """An article the run skipped (too short, too long, ...) is alone in its cluster: a gold pair naming it counted as a
    miss, and recall fell, without a word. The pairs (and articles) it touches are now counted and said."""
    run = tmp_path / "run"
    run.mkdir()
    rows = [{"id": "a", "status": "kept", "group": "g"}, {"id": "b", "status": "duplicate", "group": "g"},
            {"id": "s", "status": "skipped", "group": None}, {"id": "c", "status": "kept", "group": None}]
    if fmt == "jsonl":
        _jsonl(run / "decisions.jsonl", rows)
    else:
        pa = pytest.importorskip("pyarrow")
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), run / "decisions.parquet")
    (run / "summary.json").write_text("{}", encoding="utf-8")
    pairs = _jsonl(tmp_path / "pairs.jsonl", [{"id1": "a", "id2": "b", "label": "DUP"}, {"id1": "a", "id2": "s", "label": "DUP"},
                                             {"id1": "s", "id2": "c", "label": "NO"}])
    report = evaluate_run(run, pairs)
    assert report["pairs"] == 3 and report["pairs_with_skipped"] == 2
    assert (report["pairwise"]["tp"], report["pairwise"]["fn"]) == (1, 1)  # the skipped article's pair: a miss, as before
    assert report["warnings"] == [("2 of the 3 labelled pairs scored name an article the run skipped (not compared: empty, "
                                   "too short, too long or already in its index; its reason says which): counted as apart, "
                                   "a miss when labelled same")]
    clusters = _jsonl(tmp_path / "clusters.jsonl", [{"id": i, "cluster": "x"} for i in "abs"] + [{"id": "c", "cluster": "y"}])
    report = evaluate_run(run, clusters)
    assert report["articles"] == 4 and report["articles_skipped"] == 1
    assert report["warnings"] == [("1 of the 4 articles scored was skipped by the run (not compared: empty, too short, too "
                                   "long or already in its index; its reason says which): alone in its cluster")]


def test_one_skipped_pair_is_said_in_the_singular() -> None:
    from dedup.eval.run import _skipped_warning

    assert _skipped_warning(1, 3, "pairs").startswith("1 of the 3 labelled pairs scored names an article the run skipped")
    assert _skipped_warning(2, 3, "pairs").startswith("2 of the 3 labelled pairs scored name an article the run skipped")
