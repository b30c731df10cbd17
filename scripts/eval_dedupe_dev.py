"""Pairwise precision, recall and F1 of `dedup dedupe` on the hand-labelled dev pairs.

Runs the dedupe pipeline over the SaudiNewsNet dev days (../shared/data), then
compares "same duplicate group" with the labels in
scripts/labels/saudinewsnet_dev_labels.jsonl (gold positive = DUP). Reports
plain counts over the 240 labelled pairs and stratum-weighted estimates
(each pair weighted by its stratum's population / sample size), and, for the
event level, DUP or EVENT as positive. With --sweep it also tabulates the
hand rule's thresholds (``--decision rule``: the learned decision, the
default, has no thresholds to sweep; ``scripts/fit_decision.py`` fits it)
and the grouping method on these dev labels (tuning is allowed on dev days
only; the rule's defaults were chosen from this table).

Writes results/eval_dedupe_dev.json. Skips cleanly when the data is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import repo_root, run_info, saudinewsnet_dir, write_result  # noqa: E402
from dedup.eval import pairwise_prf  # noqa: E402

LABELS = repo_root() / "scripts" / "labels"


def load_labels() -> list[dict]:
    sample = {}
    for line in (LABELS / "saudinewsnet_dev_sample.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        sample[row["pair"]] = row
    labels = []
    for line in (LABELS / "saudinewsnet_dev_labels.jsonl").read_text(encoding="utf-8").splitlines():
        lab = json.loads(line)
        labels.append({**sample[lab["pair"]], **lab})
    return labels


def weights(labels: list[dict]) -> np.ndarray:
    strata = json.loads((LABELS / "saudinewsnet_dev_strata.json").read_text(encoding="utf-8"))
    pop = {s["stratum"]: s["population"] for s in strata["strata"]}
    counts: dict[str, int] = {}
    for lab in labels:
        counts[lab["stratum"]] = counts.get(lab["stratum"], 0) + 1
    return np.array([pop[lab["stratum"]] / counts[lab["stratum"]] for lab in labels], dtype=np.float64)


def prf(pred: np.ndarray, gold: np.ndarray, w: np.ndarray | None = None) -> dict:
    """:func:`dedup.eval.pairwise_prf` with the counts rounded for the results file."""
    out = pairwise_prf(pred, gold, w)
    return {**out, **{k: round(out[k], 1) for k in ("tp", "fp", "fn")}}


def evaluate(result, labels: list[dict], w: np.ndarray) -> dict:
    pos = {a: i for i, a in enumerate(result.table.ids)}
    g = result.group
    same = np.array([g[pos[lab["id1"]]] >= 0 and g[pos[lab["id1"]]] == g[pos[lab["id2"]]] for lab in labels])
    dup = np.array([lab["label"] == "DUP" for lab in labels])
    event = np.array([lab["label"] in ("DUP", "EVENT") for lab in labels])
    errors = [
        {"pair": lab["pair"], "label": lab["label"], "predicted_same": bool(s), "stratum": lab["stratum"]}
        for lab, s, d in zip(labels, same, dup)
        if s != d
    ]
    return {
        "dup_pairs": prf(same, dup),
        "dup_pairs_stratum_weighted": prf(same, dup, w),
        "event_level_pairs": prf(same, event),
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="SaudiNewsNet dataset folder (default ../shared/data/saudinewsnet/dataset)")
    ap.add_argument("--sweep", action="store_true", help="also tabulate the verification thresholds")
    args = ap.parse_args(argv)
    data = saudinewsnet_dir(args.data)
    if data is None:
        print("SaudiNewsNet data is absent (../shared/data/saudinewsnet); nothing to evaluate.")
        return 0
    if not (LABELS / "saudinewsnet_dev_labels.jsonl").exists():
        print("no labels yet: scripts/labels/saudinewsnet_dev_labels.jsonl is missing")
        return 0

    from dedup.config import DedupConfig
    from dedup.io.readers import read_articles
    from dedup.flows.dedupe import dedupe

    labels = load_labels()
    w = weights(labels)
    articles, _ = read_articles(sorted(Path(data).glob("*.zip")))
    config = DedupConfig()
    start = time.perf_counter()
    result = dedupe(articles, config)
    seconds = time.perf_counter() - start
    payload = {
        "run": run_info(),
        "data": "SaudiNewsNet dev days 2015-07-21..2015-08-04",
        "labelled_pairs": len(labels),
        "label_counts": {k: sum(1 for lab in labels if lab["label"] == k) for k in ("DUP", "EVENT", "TOPIC", "NO")},
        "config": config.to_dict(),
        "pipeline_seconds": round(seconds, 2),
        "default": evaluate(result, labels, w),
    }
    if args.sweep:
        rows = []
        for method in ("union", "star"):
            for jac in (0.4, 0.5, 0.6):
                for cont in (0.5, 0.55, 0.6, 0.7):
                    cfg = replace(
                        config,
                        verify=replace(config.verify, decision="rule", jaccard=jac, containment=cont),
                        cluster=replace(config.cluster, method=method),
                    )
                    ev = evaluate(dedupe(articles, cfg), labels, w)
                    rows.append({"decision": "rule", "method": method, "jaccard": jac, "containment": cont, **{k: ev[k] for k in ("dup_pairs", "dup_pairs_stratum_weighted", "event_level_pairs")}})
                    print(method, jac, cont, ev["dup_pairs"], flush=True)
        payload["sweep"] = rows
    write_result("eval_dedupe_dev", payload)
    d = payload["default"]["dup_pairs"]
    print(f"DUP pairs: precision {d['precision']} recall {d['recall']} F1 {d['f1']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
