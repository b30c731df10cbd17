#!/usr/bin/env python3
"""Measure the shipped defaults on the test labels: pairs nobody fitted, tuned or chose a setting on.

The dev labels (``scripts/labels/saudinewsnet_{dev,hard,story}_labels.jsonl``)
fitted the learned duplicate decision, chose its threshold and the story
score's settings, so every number on them is in-sample or out of fold at best.
The test set (``scripts/labels/test/``) is a fourth sample of the same dev days,
drawn by ``make_hard_sample.py --name test`` with the hard sample's strata
(scaled to 300 pairs), sharing **no article** with the other three samples,
and labelled by reading with the same definitions
(``scripts/labels/test/labelling_brief.md``). The fitting scripts read only
``scripts/labels/*.jsonl`` and never this folder (a test checks it). Numbers
here are measured once per change of the defaults, never used to choose one.

What it reports, with the defaults of this checkout (no option given):

* **duplicates** (``dedup dedupe`` over the 12 dev days): a pair labelled DUP
  is found when both articles share a duplicate group or ``pairs.jsonl``
  holds a verified edge between them (the issue's held-out rule); P/R/F1
  overall, per stratum, per kind of pair, on the high-confidence labels alone;
  the hand rule that preceded the learned decision beside it (``--decision rule``);
* **events** (``dedup stories``): DUP or EVENT counts as the same event; a pair
  is predicted so when both articles are in one event (``eval_stories.py``'s
  measure).

The sample over-represents the hard classes (rewritten leads, roundups,
templates, parallel rewrites, the containment boundary) on purpose: these
are scores on hard pairs, not the share of a feed's copies found.

Usage: ``python scripts/eval_test_labels.py [--data DIR]``; writes
``results/eval_test_labels.json``. Skips cleanly when the data or the labels
are absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import repo_root, run_info, saudinewsnet_dir, write_result  # noqa: E402

TEST = repo_root() / "scripts" / "labels" / "test"
SAMPLE, LABELS = TEST / "saudinewsnet_test_sample.jsonl", TEST / "saudinewsnet_test_labels.jsonl"


def load_test_labels(sample: Path = SAMPLE, labels: Path = LABELS) -> list[dict]:
    """Each labelled test pair: its sample row (ids, stratum, numbers) with its label, kind, confidence and note."""
    rows = {r["pair"]: r for r in map(json.loads, sample.read_text(encoding="utf-8").splitlines())}
    out = []
    for lab in map(json.loads, labels.read_text(encoding="utf-8").splitlines()):
        out.append(rows[lab["pair"]] | {"label": str(lab["label"]).upper(), "kind": lab.get("kind", ""),
                                        "confidence": lab.get("confidence", ""), "note": lab.get("note", "")})
    return out


def prf(pred: np.ndarray, gold: np.ndarray) -> dict:
    tp, fp, fn = int((pred & gold).sum()), int((pred & ~gold).sum()), int((~pred & gold).sum())
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4),
            "tp": tp, "fp": fp, "fn": fn, "pairs": len(gold)}


def breakdown(pred: np.ndarray, gold: np.ndarray, rows: list[dict]) -> dict:
    """P/R/F1 overall, per stratum, per kind, and on the high-confidence labels."""
    strata = np.array([r["stratum"] for r in rows])
    kinds = np.array([r["kind"] or "unrecorded" for r in rows])
    high = np.array([r["confidence"] == "high" for r in rows])
    return {"overall": prf(pred, gold), "high_confidence": prf(pred[high], gold[high]),
            "by_stratum": {s: prf(pred[strata == s], gold[strata == s]) for s in sorted(set(strata.tolist()))},
            "by_kind": {k: prf(pred[kinds == k], gold[kinds == k]) for k in sorted(set(kinds.tolist()))}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="SaudiNewsNet dataset folder (default ../shared/data/saudinewsnet/dataset)")
    args = ap.parse_args(argv)
    data = saudinewsnet_dir(args.data)
    if data is None or not LABELS.exists():
        print("eval_test_labels: the SaudiNewsNet dev days or scripts/labels/test/ labels are absent; nothing to measure")
        return 0

    from eval_stories import eval_saudinewsnet

    from dedup.config import DedupConfig, StoriesConfig
    from dedup.flows.dedupe import dedupe
    from dedup.io.readers import read_articles

    rows = load_test_labels()
    articles, _ = read_articles(sorted(Path(data).glob("*.zip")))
    articles = list(articles)
    pos = {a.id: k for k, a in enumerate(articles)}
    missing = [r["pair"] for r in rows if r["id1"] not in pos or r["id2"] not in pos]
    rows = [r for r in rows if r["id1"] in pos and r["id2"] in pos]
    pairs = np.array([[pos[r["id1"]], pos[r["id2"]]] for r in rows], dtype=np.int64)
    gold = np.array([r["label"] == "DUP" for r in rows])

    def found(result) -> np.ndarray:
        g = result.group
        edges = {(min(a, b), max(a, b)) for a, b in result.pairs.tolist()}
        return np.array([bool(g[i] >= 0 and g[i] == g[j]) or (min(i, j), max(i, j)) in edges for i, j in pairs.tolist()])

    report: dict = {"run": run_info(), "labels": {
        "pairs": len(rows), "not_in_data": missing, "label_counts": dict(Counter(r["label"] for r in rows)),
        "kind_counts": dict(Counter(r["kind"] for r in rows)), "low_confidence": sum(r["confidence"] != "high" for r in rows),
        "files": [str(SAMPLE.relative_to(repo_root())), str(LABELS.relative_to(repo_root()))]}}
    base = DedupConfig()
    duplicates: dict = {}
    for name, config in (("shipped", base), ("rule", replace(base, verify=replace(base.verify, decision="rule")))):
        t = time.perf_counter()
        pred = found(dedupe(articles, config))
        duplicates[name] = breakdown(pred, gold, rows) | {"seconds": round(time.perf_counter() - t, 1)}
        if name == "shipped":
            duplicates[name]["errors"] = [  # ids and numbers only: the texts stay out of the repository
                {"pair": r["pair"], "error": "FP" if pred[k] else "FN", "label": r["label"], "kind": r["kind"],
                 "confidence": r["confidence"], "stratum": r["stratum"], "containment": r.get("containment"),
                 "cosine": r.get("cosine"), "note": r["note"]}
                for k, r in enumerate(rows) if pred[k] != gold[k]]
        print(f"duplicates, {name}: {json.dumps(duplicates[name]['overall'])}", flush=True)
    report["duplicates"] = duplicates
    events = eval_saudinewsnet(StoriesConfig(), args.data, str(SAMPLE), str(LABELS))
    events.pop("data", None)
    report["events"] = events
    print(f"events: {json.dumps(events.get('same_event_cluster', {}).get('all'))}", flush=True)
    report["targets"] = {
        "duplicates": {"target": "F1 >= 0.95 at precision >= 0.97 (issue 11, on held-out days)",
                       "here": duplicates["shipped"]["overall"]},
        "events": {"target": "F1 >= 0.93 at precision >= 0.93 (issue 12, on held-out days)",
                   "here": events.get("same_event_cluster", {}).get("all")},
        "note": "a test sample of the dev days, hard classes over-represented; the issues' targets are on later, held-out days",
    }
    write_result("eval_test_labels", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
