#!/usr/bin/env python3
"""The duplicate decision (rule and learned model) on the synthetic edit benchmark, where the truth is known.

Builds the benchmark with ``make_edit_benchmark.py`` in a temporary folder
(or reads ``--feed``/``--pairs``), then, per language (Arabic, English, each
its own feed) and per ``--decision`` (rule, model), runs the dedupe flow
in-process on the whole feed and scores the listed pairs: a pair is *found*
when both articles are in one duplicate group (``result.group``, the same
label >= 0) or ``result.pairs`` holds a verified edge between them.

Reported per language and decision: pairwise precision / recall / F1 over the
listed pairs (DUP pairs positive; the NOT-DUP pairs are the only negatives,
so precision depends on their mix: 3 NOT-DUP kinds to 9 DUP kinds of
``per_kind`` pairs each); per kind the share found (recall for a DUP kind,
false-drop rate for a NOT-DUP kind), also by the kind's detail, by its
``share`` (how much the edit changed, see the generator), and by same/other
outlet; ``unlisted_false_links``: found pairs (edges or same group) between
articles that share no text by construction (no common base or filler); the
dedupe wall time and stage timings, with the load average.

``verification``: each listed pair scored directly as the flow scores a
candidate (``dedup.flows.dedupe.pair_features``: same preparation,
boilerplate, IDF), and what each decision says of it, so a miss can be put
down to candidate generation and grouping (found < accepted) or to the
decision (not accepted); with the median scores per kind.

Writes ``results/edit_benchmark.json``. Skips cleanly when no data is present.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_average, run_info, write_result  # noqa: E402
import make_edit_benchmark as bench  # noqa: E402

DECISIONS = ("rule", "model")
SHARE_BINS = (0.1, 0.2, 0.3, 0.5)  # bin edges of a pair's ``share``
WARM_UP = 300  # articles of an untimed first run per decision


def _share_bin(share: float | None) -> str:
    if share is None:
        return "n/a"
    lo = 0.0
    for hi in SHARE_BINS:
        if share < hi:
            return f"[{lo:g},{hi:g})"
        lo = hi
    return f">={lo:g}"


def _rate(found: list[bool]) -> dict:
    return {"n": len(found), "found": int(sum(found)), "rate": round(sum(found) / len(found), 4) if found else None}


def found_pairs(result, pos: np.ndarray) -> np.ndarray:
    """``(m,)`` whether each pair of article positions ``pos`` ``(m, 2)`` is in one duplicate group or a verified edge."""
    g = result.group
    same = (g[pos[:, 0]] >= 0) & (g[pos[:, 0]] == g[pos[:, 1]])
    edges = {(int(a), int(b)) for a, b in np.sort(result.pairs.reshape(-1, 2), axis=1)}
    lo, hi = np.minimum(pos[:, 0], pos[:, 1]), np.maximum(pos[:, 0], pos[:, 1])
    edge = np.array([(int(a), int(b)) in edges for a, b in zip(lo, hi)], dtype=bool)
    return same | edge


def unlisted_false_links(result, uses: list[frozenset[str]]) -> dict:
    """Found pairs (same group or verified edge) whose articles share no base or filler text: false by construction."""
    linked: set[tuple[int, int]] = {(int(a), int(b)) for a, b in np.sort(result.pairs.reshape(-1, 2), axis=1)}
    members: dict[int, list[int]] = defaultdict(list)
    for p, g in enumerate(result.group.tolist()):
        if g >= 0:
            members[g].append(p)
    for group in members.values():
        linked.update((a, b) for i, a in enumerate(group) for b in group[i + 1:])
    false = sorted((a, b) for a, b in linked if not (uses[a] & uses[b]))
    return {"linked_pairs": len(linked), "false": len(false),
            "examples": [[result.table.ids[a], result.table.ids[b]] for a, b in false[:10]]}


def score_decision(result, pairs: list[dict], pos: np.ndarray, uses: list[frozenset[str]]) -> dict:
    from dedup.eval import pairwise_prf

    found = found_pairs(result, pos)
    gold = np.array([p["dup"] for p in pairs], dtype=bool)
    overall = pairwise_prf(found, gold)
    by: dict[str, dict[str, list[bool]]] = {k: defaultdict(list) for k in ("kind", "detail", "share", "outlet")}
    for p, f in zip(pairs, found.tolist()):
        k = p["kind"]
        by["kind"][k].append(f)
        if p["detail"]:
            by["detail"][f"{k}:{p['detail']}"].append(f)
        if p["share"] is not None:
            by["share"][f"{k}:{_share_bin(p['share'])}"].append(f)
        if k in bench.DUP_KINDS + bench.VARIANT_NOT_DUP:
            by["outlet"][f"{k}:{'same' if p['same_source'] else 'other'}"].append(f)
    skipped = set(result.reason_skipped)
    return {
        "overall": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in overall.items()},
        "by_kind": {k: {**_rate(v), "measure": "recall" if k in bench.DUP_KINDS else "false_drop_rate"}
                    for k, v in sorted(by["kind"].items(), key=lambda kv: _kind_order(kv[0]))},
        "by_detail": {k: _rate(v) for k, v in sorted(by["detail"].items())},
        "by_share": {k: _rate(v) for k, v in sorted(by["share"].items())},
        "by_outlet": {k: _rate(v) for k, v in sorted(by["outlet"].items())},
        "pairs_with_a_skipped_article": int(sum(int(a) in skipped or int(b) in skipped for a, b in pos)),
        "unlisted_false_links": unlisted_false_links(result, uses),
    }


def _kind_order(kind: str) -> int:
    order = bench.DUP_KINDS + bench.NOT_DUP_KINDS
    return order.index(kind) if kind in order else len(order)


def verification(articles, pairs: list[dict], pos: np.ndarray, config) -> dict:
    """Each listed pair scored directly (as a candidate would be) and judged by the rule and by the model."""
    from dedup.flows.dedupe import pair_features
    from dedup.verify import NONE, decide
    from dedup.verify.decision import KNOWN, load_model, relations

    t0 = time.perf_counter()
    scores, x, compared = pair_features(articles, pos, replace(config, verify=replace(config.verify, decision="rule")))
    rule = (decide(scores, replace(config.verify, decision="rule")) != NONE) & compared
    model = load_model(config.verify.model)
    prob = model.probability(x[:, [KNOWN.index(f) for f in model.features]])
    threshold = config.verify.min_probability or model.threshold
    learned = (relations(scores, prob, threshold) != NONE) & compared
    size_i, size_j = scores.size_i, scores.size_j
    short = np.where(size_i <= size_j, scores.contain_ij, scores.contain_ji)
    out = {}
    for kind in bench.DUP_KINDS + bench.NOT_DUP_KINDS:
        idx = np.array([k for k, p in enumerate(pairs) if p["kind"] == kind], dtype=np.int64)
        if not len(idx):
            continue

        def med(a: np.ndarray) -> float:
            return round(float(np.median(a[idx])), 3)

        out[kind] = {"n": int(len(idx)), "compared": int(compared[idx].sum()),
                     "rule_accepts": round(float(rule[idx].mean()), 4), "model_accepts": round(float(learned[idx].mean()), 4),
                     "median_jaccard": med(scores.jaccard), "median_contain_short": med(short), "median_cosine": med(scores.cosine),
                     "median_probability": med(prob)}
    return {"seconds": round(time.perf_counter() - t0, 2), "model_threshold": threshold, "by_kind": out}


def evaluate_language(code: str, articles, pairs: list[dict]) -> dict:
    from dedup.config import DedupConfig
    from dedup.flows.dedupe import dedupe
    from dedup.results import DUPLICATE

    index = {a.id: k for k, a in enumerate(articles)}
    missing = [p for p in pairs if p["id1"] not in index or p["id2"] not in index]
    if missing:
        raise ValueError(f"{code}: {len(missing)} pairs name articles not in the feed (first: {missing[0]})")
    pos = np.array([[index[p["id1"]], index[p["id2"]]] for p in pairs], dtype=np.int64).reshape(-1, 2)
    uses = [frozenset(a.record.get("uses") or [a.id]) for a in articles]
    base = DedupConfig()
    out: dict = {"articles": len(articles), "pairs": len(pairs),
                 "pairs_per_kind": {k: sum(p["kind"] == k for p in pairs) for k in bench.DUP_KINDS + bench.NOT_DUP_KINDS}}
    for decision in DECISIONS:  # warm-up: imports, the model file, the background table; not timed
        dedupe(articles[:WARM_UP], replace(base, verify=replace(base.verify, decision=decision)))
    for decision in DECISIONS:
        cfg = replace(base, verify=replace(base.verify, decision=decision))
        load = load_average()
        t0 = time.perf_counter()
        result = dedupe(articles, cfg)
        seconds = time.perf_counter() - t0
        out[decision] = {"dedupe_seconds": round(seconds, 2), "load_average_before": load, "load_average_after": load_average(),
                         "timings": {k: round(v, 3) for k, v in result.timings.items()},
                         "duplicates": int((result.status == DUPLICATE).sum()),
                         **score_decision(result, pairs, pos, uses)}
        o = out[decision]["overall"]
        print(f"{code} {decision}: P {o['precision']:.3f} R {o['recall']:.3f} F1 {o['f1']:.3f} ({seconds:.1f} s)", flush=True)
    out["verification"] = verification(articles, pairs, pos, base)
    return out


def model_info(path: str = "") -> dict:
    """The decision model evaluated: its features, threshold and the SHA-256 of its file (it is refitted as labels grow)."""
    import hashlib
    from importlib import resources

    from dedup.verify.decision import load_model

    model = load_model(path)
    data = Path(path).read_bytes() if path else resources.files("dedup").joinpath("data", "decision_model.json").read_bytes()
    return {"file": path or "dedup/data/decision_model.json", "sha256": hashlib.sha256(data).hexdigest(),
            "features": list(model.features), "threshold": model.threshold,
            "cross_validated": model.fit.get("cross_validated")}


def table(languages: dict) -> list[dict]:
    """One row per language and kind: found rate under the rule and the model, and the direct verification view."""
    rows = []
    for code, lang in languages.items():
        ver = lang["verification"]["by_kind"]
        for kind in bench.DUP_KINDS + bench.NOT_DUP_KINDS:
            if kind not in lang["rule"]["by_kind"]:
                continue
            r, m = lang["rule"]["by_kind"][kind], lang["model"]["by_kind"][kind]
            rows.append({"lang": code, "kind": kind, "truth": "DUP" if kind in bench.DUP_KINDS else "NOT-DUP",
                         "measure": r["measure"], "n": r["n"], "rule": r["rate"], "model": m["rate"],
                         "rule_accepts_if_candidate": ver[kind]["rule_accepts"], "model_accepts_if_candidate": ver[kind]["model_accepts"]})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feed", help="a feed written by make_edit_benchmark.py (default: build one in a temporary folder)")
    ap.add_argument("--pairs", help="its pairs file (with --feed)")
    ap.add_argument("--seed", type=int, default=0, help="generator seed (when building)")
    ap.add_argument("--source", help="SaudiNewsNet dev zips folder (when building)")
    ap.add_argument("--lang", choices=("ar", "en", "all"), default="all")
    args = ap.parse_args(argv)
    if bool(args.feed) != bool(args.pairs):
        ap.error("--feed and --pairs go together")
    langs = ("ar", "en") if args.lang == "all" else (args.lang,)

    from dedup.io.readers import read_articles

    with tempfile.TemporaryDirectory(prefix="edit-benchmark-") as tmp:
        generator: dict = {"given": [args.feed, args.pairs]}
        feed, pairs_path = args.feed, args.pairs
        if feed is None:
            feed, pairs_path = os.path.join(tmp, "edit.jsonl"), os.path.join(tmp, "edit.pairs.jsonl")
            t0 = time.perf_counter()
            generator = bench.generate(Path(feed), Path(pairs_path), args.seed, args.source, langs)
            generator["seconds"] = round(time.perf_counter() - t0, 2)
        pairs = [json.loads(line) for line in Path(pairs_path).read_text(encoding="utf-8").splitlines() if line]
        if not pairs:
            print("the benchmark is empty (no SaudiNewsNet and no MSRP under ../shared/data): nothing to evaluate")
            return 0
        everything, _ = read_articles(feed)
    languages = {}
    for code in langs:
        articles = [a for a in everything if a.record.get("lang") == code]
        mine = [p for p in pairs if p["lang"] == code]
        if not mine:
            print(f"{code}: no pairs in the benchmark (its data is absent); skipped")
            continue
        languages[code] = evaluate_language(code, articles, mine)
    from dedup.config import DedupConfig

    payload = {
        "run": run_info(),
        "question": "which edits with known truth does each duplicate decision (rule, learned model) find, and which "
                    "template-like non-copies does it wrongly join (issue 11, item 3, second check)",
        "generator": generator,
        "config": DedupConfig().to_dict(),
        "decision_model": model_info(DedupConfig().verify.model),
        "timing": f"dedupe wall time of the whole feed per decision, in this process, after an untimed warm-up run on "
                  f"{WARM_UP} articles per decision (imports, model, background table); --jobs 1",
        "found_means": "both articles in one duplicate group (result.group >= 0, equal) or a verified edge between them (result.pairs)",
        "table": table(languages),
        "languages": languages,
    }
    write_result("edit_benchmark", payload)
    print(f"{'lang':4} {'kind':16} {'measure':16} {'n':>4} {'rule':>6} {'model':>6} | {'rule@cand':>9} {'model@cand':>10}")
    for r in payload["table"]:
        print(f"{r['lang']:4} {r['kind']:16} {r['measure']:16} {r['n']:4d} {r['rule']:6.3f} {r['model']:6.3f} | "
              f"{r['rule_accepts_if_candidate']:9.3f} {r['model_accepts_if_candidate']:10.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
