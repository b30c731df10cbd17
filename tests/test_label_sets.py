"""The label sets: the test labels stay out of every fit, and each set is whole (one label per sampled pair)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
LABELS = SCRIPTS / "labels"
TEST = LABELS / "test"
sys.path.insert(0, str(SCRIPTS))


def _pairs(path: Path) -> set[int]:
    return {json.loads(line)["pair"] for line in path.read_text(encoding="utf-8").splitlines()}


def test_fitting_scripts_never_read_the_test_labels() -> None:
    """The decision (fit_decision.py) and the semantic score (fit_semantic.py) load their labels without a test pair."""
    import fit_decision
    import fit_semantic

    test = _pairs(TEST / "saudinewsnet_test_sample.jsonl")
    assert test and min(test) >= 3001
    fitted = {lab["pair"] for lab in fit_decision.load_labels()} | {lab["pair"] for lab in fit_semantic.load_dev_labels()}
    assert fitted and not fitted & test
    assert not list(LABELS.glob("saudinewsnet_test_*")), "the test set belongs in scripts/labels/test/, out of the fitting scripts' glob"


def test_test_sample_shares_no_article_with_the_fitted_samples() -> None:
    def ids(path: Path) -> set[str]:
        return {r[k] for r in map(json.loads, path.read_text(encoding="utf-8").splitlines()) for k in ("id1", "id2")}

    test = ids(TEST / "saudinewsnet_test_sample.jsonl")
    for name in ("dev", "hard", "story"):
        assert not test & ids(LABELS / f"saudinewsnet_{name}_sample.jsonl"), name


@pytest.mark.parametrize("name", ["test/saudinewsnet_test", "saudinewsnet_dev", "saudinewsnet_hard", "saudinewsnet_story"])
def test_every_sampled_pair_has_one_label_with_a_reason(name: str) -> None:
    labels_file = LABELS / f"{name}_labels.jsonl"
    if not labels_file.exists():
        pytest.skip(f"{labels_file.name} not written yet")
    rows = [json.loads(line) for line in labels_file.read_text(encoding="utf-8").splitlines()]
    assert [r["pair"] for r in rows] == sorted({r["pair"] for r in rows})  # once each, in order
    assert {r["pair"] for r in rows} == _pairs(LABELS / f"{name}_sample.jsonl")
    assert all(r["label"] in {"DUP", "EVENT", "TOPIC", "NO"} for r in rows)
    if name.startswith("test/"):
        assert all(r.get("note") and r.get("confidence") in {"high", "low"} and r.get("kind") for r in rows)
