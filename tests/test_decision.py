"""The learned decision: its features, the shipped model, and what it changes in a run's decisions."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dedup.cli import app
from dedup.config import DedupConfig
from dedup.errors import ConfigError
from dedup.flows.dedupe import dedupe, pair_features
from dedup.io.dedupe_out import decision_rows, pair_rows
from dedup.types import Article
from dedup.verify import CONTAINED, EXACT, NEAR, NONE, PairScores
from dedup.verify.decision import ALIGNMENT, FEATURES, KNOWN, DecisionModel, PairContext, feature_matrix, load_model, relations

_WORDS = "the of and to in a for on with by at from as that this was were has have will said its their over after".split()


def _para(n: int, seed: int) -> str:
    """Text with many distinct rare tokens (word + number), so overlaps are what the test builds."""
    r = random.Random(seed)
    return " ".join(r.choice(_WORDS) + str(r.randint(0, 99999)) if r.random() < 0.5 else r.choice(_WORDS) for _ in range(n))


_CABLE = (
    "The Custodian of the Two Holy Mosques King Salman bin Abdulaziz sent a cable of congratulations to President {n} "
    "of the Republic of {c} on the anniversary of the independence day of his country. The King expressed in the cable "
    "his sincerest congratulations and best wishes of good health and happiness to the President and steady progress "
    "and prosperity to the government and people of the friendly Republic of {c}. Crown Prince Mohammed bin Nayef also "
    "sent a similar cable to President {n} on the occasion."
)


def _config(decision: str) -> DedupConfig:
    base = DedupConfig()
    return replace(base, verify=replace(base.verify, decision=decision))


def _rows(articles: list[Article], decision: str) -> dict[str, dict]:
    return {r["id"]: r for r in decision_rows(dedupe(articles, _config(decision)))}


def test_the_shipped_model_loads_with_known_features_and_a_threshold() -> None:
    model = load_model()
    assert set(model.features) <= set(KNOWN) and len(model.coef) == len(model.features)
    assert model.features == FEATURES  # what the docs and feature_matrix's default call the shipped model's
    assert 0.5 <= model.threshold < 1.0
    assert model.fit["labelled_pairs"] >= 1000 and model.fit["cross_validated"]["precision"] >= 0.97
    again = DecisionModel.from_dict(json.loads(json.dumps(model.to_dict())))
    x = np.random.default_rng(0).random((5, len(model.features)))
    assert np.array_equal(again.probability(x), model.probability(x))


def test_a_template_filled_with_other_names_is_a_copy_by_the_rule_but_not_by_the_model() -> None:
    arts = [Article("t1", _CABLE.format(n="Jamal Ahmadov", c="Azerbaijan"), source="spa", date="2024-03-01"),
            Article("t2", _CABLE.format(n="Peter Mutharika", c="Malawi"), source="spa", date="2024-03-05")]
    assert _rows(arts, "rule")["t2"]["status"] == "duplicate"
    model = _rows(arts, "model")
    assert model["t2"]["status"] == "kept" and model["t1"]["status"] == "kept"


def test_a_copy_with_a_new_lead_is_found_with_its_probability() -> None:
    body = _para(180, 1)
    arts = [Article("a1", body, source="wire", date="2024-03-01"),
            Article("a2", _para(40, 2) + " " + body[300:], source="outlet", date="2024-03-01")]
    rows = _rows(arts, "model")
    assert rows["a2"]["duplicate_of"] == "a1" and rows["a2"]["scores"]["probability"] > load_model().threshold
    assert _rows(arts, "rule")["a2"]["scores"]["probability"] is None  # the rule has no probability


def test_a_short_item_in_two_roundups_names_both_and_keeps_them_apart() -> None:
    item = _para(70, 5)
    arts = [Article("item", item, source="wire", date="2024-03-01"),
            Article("r1", _para(200, 6) + " " + item + " " + _para(120, 7), source="p1", date="2024-03-01"),
            Article("r2", _para(150, 8) + " " + item + " " + _para(200, 10), source="p2", date="2024-03-01")]
    result = dedupe(arts, _config("model"))
    rows = {r["id"]: r for r in decision_rows(result)}
    assert rows["item"]["contained_in"] == ["r1", "r2"] and rows["item"]["relation"] == "contained"
    assert rows["r1"]["status"] == rows["r2"]["status"] == "kept"  # the shared item does not join the roundups
    assert rows["r1"]["contained_in"] == [] and rows["r1"]["group"] != rows["r2"]["group"]
    edges = list(pair_rows(result))
    assert {(e["id1"], e["id2"]) for e in edges} == {("item", "r1"), ("item", "r2")}
    all_rows = list(decision_rows(result))
    assert list(decision_rows(result, [2, 0])) == [all_rows[2], all_rows[0]]  # the rows of some positions, in their order
    assert all(e["probability"] > 0.9 and e["relation"] == "contained" for e in edges)


def test_a_roundup_of_two_items_keeps_the_copies_of_one_and_the_other_item_makes_its_own_group() -> None:
    # the roundup holds a long item (copied once more, with a new lead) and a short one (reprinted by two outlets)
    long_item, short_item = _para(160, 11), _para(60, 12)
    arts = [Article("roundup", long_item + " " + _para(200, 13) + " " + short_item, source="digest", date="2024-03-01"),
            Article("long", long_item, source="wire", date="2024-03-02"),
            Article("short1", short_item, source="wire", date="2024-03-02"),
            Article("short2", short_item + " " + _para(4, 14), source="outlet", date="2024-03-03"),
            Article("short1b", short_item, source="mirror", date="2024-03-04")]  # an exact copy of short1
    result = dedupe(arts, _config("model"))
    rows = {r["id"]: r for r in decision_rows(result)}
    # the roundup takes in the item covering most of it, not the copies of the other text through itself
    assert rows["long"]["duplicate_of"] == "roundup" and rows["roundup"]["status"] == "kept"
    assert rows["short2"]["duplicate_of"] == "short1" and rows["short1"]["status"] == "kept"
    assert rows["short1"]["group"] != rows["roundup"]["group"]
    assert rows["short1"]["contained_in"] == ["roundup"] and rows["short2"]["contained_in"] == ["roundup"]
    assert "also appears inside a longer article of another group (contained_in)" in rows["short1"]["reason"]
    # every copy edge is still in the graph: the short item is found inside the roundup both times
    edges = [(e["id1"], e["id2"]) for e in pair_rows(result)]
    assert {("roundup", "short1"), ("roundup", "short2"), ("roundup", "long"), ("short1", "short2")} <= set(edges)
    # the exact copy, verified once as its text, has the edge to the roundup it is apart from; inside its own
    # group (with short2) the group says it
    assert rows["short1b"]["duplicate_of"] == "short1" and rows["short1b"]["relation"] == "exact"
    assert ("roundup", "short1b") in edges and ("short1b", "short2") not in edges and len(edges) == len(set(edges))
    assert rows["short1b"]["contained_in"] == ["roundup"]


def test_relations_of_accepted_pairs() -> None:
    s = PairScores(np.array([0.9, 0.2, 0.9, 0.3]), np.array([0.95, 1.0, 0.9, 0.4]), np.array([0.9, 0.2, 0.9, 0.3]),
                   np.array([0.9, 0.5, 0.9, 0.6]), np.array([False, False, True, False]))
    assert relations(s, np.array([0.99, 0.99, 0.1, 0.99]), 0.8).tolist() == [NEAR, CONTAINED, EXACT, NEAR]
    assert relations(s, np.array([0.5, 0.5, 0.5, 0.5]), 0.8).tolist() == [NONE, NONE, EXACT, NONE]


def test_features_are_oriented_by_the_shorter_side_and_alignment_is_asked_for_explicitly() -> None:
    s = PairScores(np.array([0.2]), np.array([0.25]), np.array([0.9]), np.array([0.5]), np.array([False]),
                   size_i=np.array([400.0]), size_j=np.array([100.0]), rare_inter=np.array([10.0]),
                   rare_i=np.array([40.0]), rare_j=np.array([12.0]), words_inter=np.array([30.0]),
                   words_i=np.array([150.0]), words_j=np.array([40.0]))
    ctx = PairContext.of(np.array([0, 0]), np.array([0.0, 86400.0 * 3]), np.array([[0, 1]]))
    plain = tuple(f for f in KNOWN if f not in ALIGNMENT)
    x = dict(zip(plain, feature_matrix(s, ctx, None, plain)[0]))
    assert x["contain_short"] == 0.9 and x["contain_long"] == 0.25  # j is the shorter article
    assert x["rare_contain"] == pytest.approx(10 / 12) and x["rare_jaccard"] == pytest.approx(10 / 42)
    assert x["rare_none"] == 0.0
    assert x["contain_words"] == pytest.approx(30 / 40)  # of the shorter side's words (j), not of the longer's
    assert x["contain_x_log_size"] == pytest.approx(0.9 * np.log1p(100.0))  # the shorter side's containment and length
    assert x["same_source"] == 1.0 and x["log_days"] == pytest.approx(np.log1p(3.0)) and x["undated"] == 0.0
    with pytest.raises(ValueError, match="alignment"):
        feature_matrix(s, ctx, None, KNOWN)


def test_pair_features_give_every_known_feature_and_alignment_sees_a_verbatim_body() -> None:
    body = _para(180, 1)
    arts = [Article("a1", body), Article("a2", _para(40, 2) + " " + body[300:]), Article("x", _para(150, 9))]
    scores, x, compared = pair_features(arts, np.array([[0, 1], [0, 2]]))
    assert x.shape == (2, len(KNOWN)) and compared.all()
    f = dict(zip(KNOWN, x.T))
    assert f["aligned_short"][0] > 0.6 and f["aligned_short"][1] == 0.0
    assert scores.containment[0] > 0.6 and scores.containment[1] < 0.05


def test_a_model_file_of_ones_own_is_used_and_a_bad_one_is_one_line(tmp_path: Path, seeds_dir: Path) -> None:
    d = load_model().to_dict()
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({**d, "threshold": 0.999999}), encoding="utf-8")
    body = _para(180, 1)
    feed = tmp_path / "f.jsonl"
    feed.write_text("\n".join(json.dumps({"id": i, "text": t}) for i, t in
                              (("a1", body), ("a2", _para(40, 2) + " " + body[300:]))) + "\n", encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "o"), "--decision-model", str(strict), "-q"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in (tmp_path / "o" / "decisions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["status"] for r in rows] == ["kept", "kept"]  # nothing reaches that threshold
    (tmp_path / "bad.json").write_text('{"features": ["no_such_feature"]}', encoding="utf-8")
    for bad in (tmp_path / "bad.json", tmp_path / "missing.json"):
        res = runner.invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "o2"), "--decision-model", str(bad), "-q"])
        assert res.exit_code != 0 and "Traceback" not in res.output and "decision model" in res.output, res.output
    with pytest.raises(ConfigError):
        load_model(str(tmp_path / "missing.json"))


def test_stories_join_copies_through_the_edges_between_texts_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two roundups reprint one item that has two exact copies. The rows carried to exact copies are for people and
    for ``contained_in``; event tracking joins copies through the edges between texts only (a copy holding only some
    of its text's edges could choose another container than its twin, and join the roundups through them)."""
    from dedup.cluster.groups import copy_groups
    from dedup.flows import stories as stories_flow
    from dedup.flows import story_history
    from dedup.store.history import open_index

    item = _para(80, 1)
    arts = [Article("R1", _para(150, 2) + " " + item, date="2024-03-01"),
            Article("R2", _para(150, 3) + " " + item, date="2024-03-01"),
            Article("I1", item, date="2024-03-02"),
            Article("I2", item, date="2024-03-03")]
    result = dedupe(arts, _config("model"))
    assert result.copied_pairs > 0  # the item's second copy carries its edges
    pairs, rel, scores = result.text_edges()
    assert len(pairs) == len(result.pairs) - result.copied_pairs
    apart = copy_groups(result.group, pairs, rel, scores.contain_ij, scores.contain_ji)
    assert apart[0] != apart[1]

    seen: list[int] = []

    def spy(group, pairs, *rest):  # noqa: ANN001, ANN202
        seen.append(len(pairs))
        return copy_groups(group, pairs, *rest)

    monkeypatch.setattr(stories_flow, "copy_groups", spy)
    monkeypatch.setattr(story_history, "copy_groups", spy)
    stories_flow.stories(arts)
    index = open_index(str(tmp_path / "idx.sqlite"), DedupConfig())
    try:
        stories_flow.stories(arts, index=index)
    finally:
        index.close()
    assert seen == [len(pairs), len(pairs)]


@pytest.mark.parametrize("decision", ["model", "rule"])
def test_a_teaser_of_an_item_left_out_of_a_roundup_is_never_kept_over_the_item(decision: str) -> None:
    # W holds items U and V; C (the earliest) is the first 40 words of V. W keeps U's copies; V, kept apart, is
    # the keeper of C: a container is visited before what it holds, however deep (containment_depth)
    u, v = _para(150, 10), _para(110, 11)
    arts = [Article("W", u + " " + v + " " + _para(150, 12), date="2024-03-05"),
            Article("U", u, date="2024-03-04"),
            Article("V", v, date="2024-03-03"),
            Article("C", " ".join(v.split()[:40]), date="2024-03-01")]
    rows = {r["id"]: r for r in decision_rows(dedupe(arts, _config(decision)))}
    assert rows["U"]["duplicate_of"] == "W"
    assert rows["V"]["status"] == "kept" and rows["C"]["duplicate_of"] == "V"
    assert rows["V"]["contained_in"] == ["W"] and "of another group" in rows["V"]["reason"]
    assert sorted(rows["C"]["contained_in"]) == ["V", "W"] and rows["C"]["relation"] == "contained"


def test_a_kept_item_names_only_containers_of_other_groups_in_its_reason() -> None:
    # union grouping keeps by --keep alone: the earlier item keeps the roundup that holds it, in its own group
    item = _para(70, 20)
    arts = [Article("item", item, source="wire", date="2024-03-01"),
            Article("roundup", _para(200, 21) + " " + item + " " + _para(120, 22), source="p1", date="2024-03-02")]
    base = _config("model")
    rows = {r["id"]: r for r in decision_rows(dedupe(arts, replace(base, cluster=replace(base.cluster, method="union"))))}
    assert rows["item"]["status"] == "kept" and rows["roundup"]["duplicate_of"] == "item"
    assert rows["item"]["contained_in"] == ["roundup"] and "another group" not in rows["item"]["reason"]


def test_kgram_sequences_are_made_only_where_alignment_or_a_history_index_reads_them(tmp_path: Path,
                                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import dedup.sketch.features as features_module
    from dedup.store.history import open_index

    made: list[int] = []
    kgram_sequences = features_module.kgram_sequences

    def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        made.append(1)
        return kgram_sequences(*args, **kwargs)

    monkeypatch.setattr(features_module, "kgram_sequences", counted)
    body = _para(180, 1)
    arts = [Article("a1", body, date="2024-03-01"), Article("a2", _para(40, 2) + " " + body[300:], date="2024-03-01"),
            Article("x", _para(150, 9), date="2024-03-02"), Article("t", body[: len(body) // 2], date="2024-03-03")]
    plain = dedupe(arts, DedupConfig())
    assert not made  # the shipped model reads no alignment
    # the same model with an alignment feature of weight 0: the same probabilities, and the sequences are made
    d = load_model().to_dict()
    d = {**d, "features": d["features"] + ["aligned_short"], "mean": d["mean"] + [0.0], "scale": d["scale"] + [1.0],
         "coef": d["coef"] + [0.0]}
    path = tmp_path / "aligned.json"
    path.write_text(json.dumps(d), encoding="utf-8")
    aligned = dedupe(arts, replace(DedupConfig(), verify=replace(DedupConfig().verify, model=str(path))))
    assert made
    assert plain.status.tolist() == aligned.status.tolist() and plain.group.tolist() == aligned.group.tolist()
    assert plain.group.max() >= 0  # the feed has copies to decide
    made.clear()
    index = open_index(str(tmp_path / "idx.sqlite"), DedupConfig())
    try:
        dedupe(arts, DedupConfig(), index=index)
    finally:
        index.close()
    assert made  # an index stores them for later runs


def test_a_runs_summary_names_the_decision_model_it_used(tmp_path: Path, seeds_dir: Path) -> None:
    """Two runs with different model files wrote the same summary.json apart from their counts: nothing said which
    model (or threshold) decided."""
    import hashlib
    from importlib import resources

    shipped = resources.files("dedup").joinpath("data").joinpath("decision_model.json").read_bytes()
    own = tmp_path / "own.json"
    own.write_text(json.dumps({**load_model().to_dict(), "threshold": 0.9}), encoding="utf-8")
    runner = CliRunner()
    for cmd, extra, file, sha, threshold in (
            ("dedupe", [], "shipped", hashlib.sha256(shipped).hexdigest(), load_model().threshold),
            ("stories", [], "shipped", hashlib.sha256(shipped).hexdigest(), load_model().threshold),
            ("dedupe", ["--decision-model", str(own)], str(own), hashlib.sha256(own.read_bytes()).hexdigest(), 0.9)):
        out = tmp_path / f"o-{cmd}-{len(extra)}"
        assert runner.invoke(app, [cmd, str(seeds_dir), "--out", str(out), "-q", *extra]).exit_code == 0
        used = json.loads((out / "summary.json").read_text(encoding="utf-8"))["decision_model"]
        assert file in used["file"] and used["sha256"] == sha and used["threshold"] == used["min_probability"] == threshold
    out = tmp_path / "rule"
    assert runner.invoke(app, ["dedupe", str(seeds_dir), "--out", str(out), "-q", "--decision", "rule"]).exit_code == 0
    assert "decision_model" not in json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_a_copy_months_later_is_scored_as_at_the_longest_gap_the_labels_showed(tmp_path: Path) -> None:
    """The time gap's linear weight, carried past the two weeks the labelled pairs span, made a copy with three
    commas changed 'no duplicate found' 90 days later (probability 0.51; 0.97 at two weeks)."""
    model = load_model()
    assert set(model.upper) == {"log_days"} and 14 < np.expm1(model.upper["log_days"]) < 16
    body = _para(200, 40)
    edited = body.replace(" ", " and ", 3) + " the source added"
    probs = {}
    for days in (1, 14, 90, 400):
        later = (np.datetime64("2025-01-01") + np.timedelta64(days, "D")).astype(str)
        arts = [Article("a", body, source="wire", date="2025-01-01"), Article("b", edited, source="paper", date=later)]
        rows = {r["id"]: r for r in decision_rows(dedupe(arts, _config("model")))}
        assert rows["b"]["status"] == "duplicate" and rows["b"]["duplicate_of"] == "a", (days, rows["b"])
        probs[days] = rows["b"]["scores"]["probability"]
    assert probs[1] > probs[14] > probs[90] == probs[400]
    with pytest.raises(ValueError, match="upper"):
        DecisionModel.from_dict({**model.to_dict(), "upper": {"contain_words": 1.0}})
