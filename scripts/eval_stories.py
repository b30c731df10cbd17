"""Evaluate story_score and the event clustering on labelled data; writes results/eval_stories.json.

Parts (each skipped with a message when its data is absent):

* **semeval**: SemEval-2022 Task 8 training pairs (``../shared/data/semeval2022-task8-hfl-sample``),
  same-language pairs with original numeric ids (HFL's machine-translated
  augmentations left out), one row per ``pair_id``. Pearson of ``story_score``
  with ``Overall`` (1 = same story … 4 = different; reported negated so that
  higher is better), overall and per language. The score's weights are
  fitted on these pairs (``fit_story_score.py``), so the headline is
  cross-validated (10-fold by pair, 10 shuffles) and the in-sample figure is
  secondary; precision/recall/F1 of ``story_score >= event_threshold`` for
  "same story" = ``Overall <= 1.5`` (in-sample). Mojibake rows are repaired
  by dedup itself (ftfy), as in a real feed.
* **uci**: the UCI News Aggregator headline subset: events over headlines only
  (no dates, the subset spans 36 hours), ARI and B-cubed P/R/F1 against the
  silver STORY ids.
* **saudinewsnet**: the hand-labelled pairs of the dev days, event level (DUP
  or EVENT vs TOPIC or NO), from the three samples of ``scripts/labels/``
  (``dev`` 240, ``hard`` 800, ``story`` 300): precision/recall/F1 of "same
  event cluster" on each, on the first two together (``dev+hard``, 1,040) and
  on all; the pairs of kind ``template`` (different happenings on one
  template) put in one event; and the same numbers with the slot rule off
  (``slot_penalty = 1``, :mod:`dedup.stories.slots`), run on the same
  articles, under ``slots_off``. The misclustered pairs are listed under
  ``errors`` (pair id, FP/FN, label, stratum, days apart, story score, whether
  dedupe grouped them; no texts), with ``events_longer_than_window`` as a
  label-free check of the window.
* **slots_cv**: the slot rule's settings (:data:`SLOT_GRID`, the rule off
  among them) chosen on folds of the labelled pairs, measured on the held
  fold (5 folds, 10 shuffles): the cross-validated counterpart of the
  in-sample numbers above.

Usage: ``python scripts/eval_stories.py``

For other labelled days (the held-out later days, say), point it at their
zips and pair files (one sample; its set is called ``given``) and give the
result its own name, so the dev numbers are not overwritten::

    python scripts/eval_stories.py --only saudinewsnet --data DIR_OF_ZIPS \
        --sample PAIRS.jsonl --labels LABELS.jsonl --name eval_stories_heldout

``PAIRS.jsonl`` has ``{"pair", "id1", "id2"}`` per line (article urls) and
``LABELS.jsonl`` ``{"pair", "label"}`` with DUP, EVENT, TOPIC or NO, as in
``scripts/labels/``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_saudinewsnet, repo_root, run_info, saudinewsnet_dir, shared_data, write_result  # noqa: E402
from fit_story_score import cross_validated_pearson, semeval_pairs  # noqa: E402

from dedup.config import StoriesConfig  # noqa: E402
from dedup.eval import pairwise_prf  # noqa: E402
from dedup.flows.dedupe import dedupe  # noqa: E402
from dedup.flows.similarity import similarity  # noqa: E402
from dedup.flows.stories import stories  # noqa: E402
from dedup.types import Article  # noqa: E402


def _prf(pred: np.ndarray, gold: np.ndarray) -> dict:
    """:func:`dedup.eval.pairwise_prf` with the number of positives and pairs."""
    out = pairwise_prf(pred, gold)
    return {k: out[k] for k in ("precision", "recall", "f1")} | {"positives": int(gold.sum()), "n": int(len(gold))}


def _scrape_failures(data: dict) -> np.ndarray:
    """``(m,)`` pairs with a text that is not an article: a page copied (per ``dedupe``) into three or more pairs.

    The sample holds scraper failures (a site's landing page, an "unusual
    traffic from your IP" notice) standing in for different articles; the
    annotators rated the real articles. Reported as a diagnostic only.
    """
    m = len(data["text1"])
    texts = list(data["text1"]) + list(data["text2"])
    group = dedupe([Article(id=str(k), text=t) for k, t in enumerate(texts)]).group
    pair = np.arange(2 * m) % m
    bad_groups = [g for g in set(group[group >= 0].tolist()) if len(set(pair[group == g].tolist())) >= 3]
    bad_text = np.isin(group, bad_groups)
    return bad_text[:m] | bad_text[m:]


def eval_semeval(config: StoriesConfig) -> dict:
    data = semeval_pairs()
    if data is None:
        return {"skipped": "../shared/data/semeval2022-task8-hfl-sample is absent"}
    res = similarity(data["text1"], data["text2"], config, title1=data["title1"], title2=data["title2"])
    y, lang, s = data["overall"], data["lang"], res.story_score
    # the template penalty is a rule, not fitted: carried over to the out-of-fold scores
    z = config.score_intercept + res.story_features @ np.array([config.score_cosine, config.score_length, config.score_numbers])
    fitted = 1.0 / (1.0 + np.exp(-z))
    factor = np.where(np.isclose(s, fitted), 1.0, config.number_penalty)

    def pearson(mask: np.ndarray, score: np.ndarray) -> float:
        return round(float(-np.corrcoef(score[mask], y[mask])[0, 1]), 4)

    everything = np.ones(len(y), bool)
    langs = [str(v) for v in sorted(set(lang.tolist())) if (lang == v).sum() >= 10]
    cv = cross_validated_pearson(res.story_features, y, lang, factor)
    scrape = _scrape_failures(data)
    cv_clean = cross_validated_pearson(res.story_features[~scrape], y[~scrape], lang[~scrape], factor[~scrape])
    out = {
        "pairs": len(y),
        "note": "Pearson of story_score with -Overall (higher = better). The story-score weights are fitted on these "
        "pairs (scripts/fit_story_score.py), so 'pearson' is cross-validated (10-fold by pair, mean over 10 "
        "shuffles; sd in pearson_cv_sd) and pearson_in_sample is the score as shipped",
        "pearson": {k: v["mean"] for k, v in cv.items()},
        "pearson_cv_sd": {k: v["sd"] for k, v in cv.items()},
        "pearson_in_sample": {"all": pearson(everything, s)} | {v: pearson(lang == v, s) for v in langs},
        "pearson_plain_tfidf_cosine": {"all": pearson(everything, res.cosine)} | {v: pearson(lang == v, res.cosine) for v in langs},
        "per_language_pairs": {str(v): int((lang == v).sum()) for v in sorted(set(lang.tolist()))},
        "diagnostic_scrape_failures": {
            "pairs": int(scrape.sum()), "arabic_pairs": int((scrape & (lang == "ar")).sum()),
            "pearson_cv_without_them": {k: v["mean"] for k, v in cv_clean.items()},
            "note": "pairs where one text is a page copied into 3+ pairs (landing page, IP block notice); not used for fitting or tuning",
        },
    }
    gold = y <= 1.5
    out["same_story_at_overall_le_1.5"] = {"threshold": config.event_threshold, **_prf(s >= config.event_threshold, gold)}
    out["same_story_arabic"] = _prf((s >= config.event_threshold)[lang == "ar"], gold[lang == "ar"])
    return out


def _bcubed(pred: np.ndarray, gold: np.ndarray) -> dict:
    """B-cubed precision/recall/F1 (vectorized through the contingency counts)."""
    _, p = np.unique(pred, return_inverse=True)
    _, g = np.unique(gold, return_inverse=True)
    pair = p.astype(np.int64) * (g.max() + 1) + g
    _, inv, both = np.unique(pair, return_inverse=True, return_counts=True)
    inter = both[inv]
    prec = float(np.mean(inter / np.bincount(p)[p]))
    rec = float(np.mean(inter / np.bincount(g)[g]))
    return {"precision": round(prec, 4), "recall": round(rec, 4), "f1": round(2 * prec * rec / (prec + rec), 4)}


def eval_uci(config: StoriesConfig) -> dict:
    folder = shared_data("uci-news-aggregator-subset")
    if folder is None:
        return {"skipped": "../shared/data/uci-news-aggregator-subset is absent"}
    from sklearn.metrics import adjusted_rand_score

    with open(folder / "uci-news-aggregator-first6366.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    arts = [Article(id=r["ID"], text=r["TITLE"], title="", source=r["PUBLISHER"]) for r in rows]
    gold = np.array([r["STORY"] for r in rows])
    t = time.perf_counter()
    res = stories(arts, config)
    secs = time.perf_counter() - t
    out = {"articles": len(arts), "gold_stories": int(len(set(gold.tolist()))), "seconds": round(secs, 2),
           "note": "headlines only, as text; silver labels (Google News story ids)"}
    for level in ("event", "storyline"):
        pred = getattr(res, level)
        out[level] = {"clusters": int(len(np.unique(pred))), "ari": round(float(adjusted_rand_score(gold, pred)), 4),
                      "bcubed": _bcubed(pred, gold)}
    return out


def _events_longer_than(event: np.ndarray, times: np.ndarray, seconds: float) -> int:
    """How many events span more than ``seconds`` between their first and last known date (label-free check)."""
    known = ~np.isnan(times)
    if not known.any():
        return 0
    _, inv = np.unique(event[known], return_inverse=True)
    lo = np.full(inv.max() + 1, np.inf)
    hi = np.full(inv.max() + 1, -np.inf)
    np.minimum.at(lo, inv, times[known])
    np.maximum.at(hi, inv, times[known])
    return int((hi - lo > seconds).sum())


LABEL_SETS = ("dev", "hard", "story")  # scripts/labels/saudinewsnet_{set}_sample.jsonl and _labels.jsonl


def _labelled_pairs(sample: str | None, labels_file: str | None) -> tuple[list[dict], list[str]]:
    """Every labelled pair ``{set, pair, id1, id2, label, kind, stratum, days_apart}``, and the files read."""
    if labels_file or sample:
        if not (labels_file and sample):
            raise SystemExit("--sample and --labels go together")
        files = [("given", Path(sample), Path(labels_file))]
    else:
        folder = repo_root() / "scripts" / "labels"
        files = [(name, folder / f"saudinewsnet_{name}_sample.jsonl", folder / f"saudinewsnet_{name}_labels.jsonl") for name in LABEL_SETS]
    rows, names = [], []
    for name, sample_path, labels_path in files:
        if not (sample_path.exists() and labels_path.exists()):
            continue
        pairs = {r["pair"]: r for r in map(json.loads, sample_path.read_text(encoding="utf-8").splitlines())}
        for lab in map(json.loads, labels_path.read_text(encoding="utf-8").splitlines()):
            if lab["pair"] in pairs:
                rows.append(pairs[lab["pair"]] | {"set": name, "label": str(lab.get("label", "")).upper(), "kind": lab.get("kind")})
        names += [sample_path.name, labels_path.name]
    return rows, names


def _event_metrics(event: np.ndarray, i: np.ndarray, j: np.ndarray, rows: list[dict]) -> dict:
    """Same-event P/R/F1 of the event labels on the labelled pairs: all, per set, dev+hard, and the templates."""
    pred = event[i] == event[j]
    gold = np.array([r["label"] in ("DUP", "EVENT") for r in rows])
    sets = np.array([r["set"] for r in rows])
    kinds = np.array([str(r["kind"]) for r in rows])
    out = {"all": _prf(pred, gold)}
    for name in sorted(set(sets.tolist()), key=lambda v: (v not in LABEL_SETS, LABEL_SETS.index(v) if v in LABEL_SETS else 0)):
        out[name] = _prf(pred[sets == name], gold[sets == name])
    both = np.isin(sets, ("dev", "hard"))
    if both.any() and not both.all():
        out["dev+hard"] = _prf(pred[both], gold[both])
    tmpl = kinds == "template"
    out["template_pairs_in_one_event"] = {name: {"pairs": int((tmpl & (sets == name)).sum()), "together": int((pred & tmpl & (sets == name)).sum())}
                                          for name in sorted(set(sets[tmpl].tolist()))}
    return out


def eval_saudinewsnet(config: StoriesConfig, data: str | None = None, sample: str | None = None, labels_file: str | None = None) -> dict:
    rows, files = _labelled_pairs(sample, labels_file)
    if not rows:
        return {"skipped": "no labelled pairs (scripts/labels/ or --sample/--labels)"}
    folder = saudinewsnet_dir(data)
    if folder is None:
        return {"skipped": f"no SaudiNewsNet zips in {data or 'the shared data folder'}"}
    docs = load_saudinewsnet(folder)
    arts = [Article(id=d["url"], text=d["content"], title=d["title"], date=d["date_extracted"], source=d["source"]) for d in docs]
    t = time.perf_counter()
    res = stories(arts, config)
    seconds = time.perf_counter() - t
    pos = {a.id: k for k, a in enumerate(arts)}
    missing = sum(1 for r in rows if r["id1"] not in pos or r["id2"] not in pos)
    rows = [r for r in rows if r["id1"] in pos and r["id2"] in pos]
    if not rows:
        return {"skipped": f"none of the labelled pairs has both articles in {folder}"}
    i = np.array([pos[r["id1"]] for r in rows])
    j = np.array([pos[r["id2"]] for r in rows])
    sim = similarity([arts[k].text for k in i], [arts[k].text for k in j], config,
                     title1=[arts[k].title for k in i], title2=[arts[k].title for k in j])
    gold = np.array([r["label"] in ("DUP", "EVENT") for r in rows])
    pred_event = res.event[i] == res.event[j]
    label = np.array([r["label"] for r in rows])
    same_storyline = res.storyline[i] == res.storyline[j]
    group = res.dedup.group
    errors = [  # ids and numbers only: the texts stay out of the repository
        {"pair": r["pair"], "set": r["set"], "error": "FP" if pred_event[k] else "FN", "label": r["label"], "kind": r["kind"],
         "stratum": r.get("stratum"), "days_apart": r.get("days_apart"), "story_score": round(float(sim.story_score[k]), 3),
         "same_duplicate_group": bool(group[i[k]] >= 0 and group[i[k]] == group[j[k]])}
        for k, r in enumerate(rows) if pred_event[k] != gold[k]
    ]
    out = {"pairs": len(rows), "labelled_pairs_not_found": missing, "seconds": round(seconds, 1),
           "same_event_cluster": _event_metrics(res.event, i, j, rows),
           "pair_score_alone": _prf(sim.story_score >= config.event_threshold, gold)}
    if config.slot_penalty < 1.0:  # the same articles without the slot rule: what the rule changes
        off = replace(config, slot_penalty=1.0)
        t = time.perf_counter()
        res_off = stories(arts, off)
        out["slots_off"] = {"seconds": round(time.perf_counter() - t, 1), "same_event_cluster": _event_metrics(res_off.event, i, j, rows)}
    out |= {"share_in_one_storyline_by_label": {v: round(float(same_storyline[label == v].mean()), 4)
                                                for v in ("DUP", "EVENT", "TOPIC", "NO") if (label == v).any()},
            "largest_event": int(np.bincount(res.event).max()), "largest_storyline": int(np.bincount(res.storyline).max()),
            "events_longer_than_window": _events_longer_than(res.event, res.dedup.table.times, config.window_days * 86_400.0),
            "errors": errors,
            "data": {"zips": sorted(p.name for p in folder.glob("*.zip")), "labels": files},
            "note": "dev labels: tuned-on data, not the held-out target" if labels_file is None else "labels given on the command line"}
    return out


SLOT_GRID = [  # (slot_max_share, slot_penalty, slot_min_conflicts, template_fillers); slot_penalty 1 = off
    (0.005, 1.0, 1, 3), (0.005, 0.5, 1, 3), (0.005, 0.3, 1, 2), (0.02, 0.5, 1, 3), (0.02, 0.3, 1, 2), (0.05, 0.5, 1, 3), (0.05, 0.3, 1, 2),
]


def eval_slots_cv(config: StoriesConfig, data: str | None = None, folds: int = 5, shuffles: int = 10) -> dict:
    """The slot rule's settings chosen on folds of the labelled pairs and measured on the held fold.

    Every setting of :data:`SLOT_GRID` runs the whole stories flow once; for
    each shuffle, each fold takes the setting with the best same-event F1 on
    the other folds (ties: the rule off) and is measured with it. Reported for
    the 1,040 dev+hard pairs and for all 1,340.
    """
    rows, _ = _labelled_pairs(None, None)
    folder = saudinewsnet_dir(data)
    if not rows or folder is None:
        return {"skipped": "labelled pairs or SaudiNewsNet zips absent"}
    docs = load_saudinewsnet(folder)
    arts = [Article(id=d["url"], text=d["content"], title=d["title"], date=d["date_extracted"], source=d["source"]) for d in docs]
    pos = {a.id: k for k, a in enumerate(arts)}
    rows = [r for r in rows if r["id1"] in pos and r["id2"] in pos]
    i = np.array([pos[r["id1"]] for r in rows])
    j = np.array([pos[r["id2"]] for r in rows])
    gold = np.array([r["label"] in ("DUP", "EVENT") for r in rows])
    sets = np.array([r["set"] for r in rows])
    preds = {}
    for share, penalty, conflicts, fillers in SLOT_GRID:
        cfg = replace(config, slot_max_share=share, slot_penalty=penalty, slot_min_conflicts=conflicts, template_fillers=fillers)
        event = stories(arts, cfg).event
        preds[(share, penalty, conflicts, fillers)] = event[i] == event[j]
    off = next(k for k in preds if k[1] == 1.0)
    out = {"grid": [list(k) for k in preds], "grid_fields": ["slot_max_share", "slot_penalty", "slot_min_conflicts", "template_fillers"],
           "folds": folds, "shuffles": shuffles}
    for scope, mask in (("dev+hard", np.isin(sets, ("dev", "hard"))), ("all", np.ones(len(rows), bool))):
        idx = np.flatnonzero(mask)
        metrics, chosen = [], {}
        for seed in range(shuffles):
            fold = np.random.default_rng(seed).permutation(len(idx)) % folds
            pred = np.zeros(len(idx), bool)
            for f in range(folds):
                train, held = idx[fold != f], idx[fold == f]
                best = max(preds, key=lambda k: (pairwise_prf(preds[k][train], gold[train])["f1"], k == off))
                chosen[str(list(best))] = chosen.get(str(list(best)), 0) + 1
                pred[fold == f] = preds[best][held]
            metrics.append([pairwise_prf(pred, gold[idx])[m] for m in ("precision", "recall", "f1")])
        mean, sd = np.mean(metrics, axis=0), np.std(metrics, axis=0)
        out[scope] = {"cross_validated": {m: round(float(v), 4) for m, v in zip(("precision", "recall", "f1"), mean)},
                      "cross_validated_sd": {m: round(float(v), 4) for m, v in zip(("precision", "recall", "f1"), sd)},
                      "rule_off": _prf(preds[off][idx], gold[idx]),
                      "in_sample_by_setting": {str(list(k)): _prf(v[idx], gold[idx]) for k, v in preds.items()},
                      "chosen": chosen}
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=("semeval", "uci", "saudinewsnet", "slots_cv"), action="append", help="run only these parts (repeatable)")
    ap.add_argument("--data", help="folder of SaudiNewsNet zips (default: the shared dev days)")
    ap.add_argument("--sample", help="pairs file {pair, id1, id2} (default: the dev, hard and story samples of scripts/labels/)")
    ap.add_argument("--labels", help="labels file {pair, label} to go with --sample")
    ap.add_argument("--name", default="eval_stories", help="results/NAME.json (default: eval_stories)")
    args = ap.parse_args(argv)
    config = StoriesConfig()
    result = {"run": run_info(), "config": config.__dict__ | {"normalize": str(config.normalize)}}
    parts = {"semeval": lambda: eval_semeval(config), "uci": lambda: eval_uci(config),
             "saudinewsnet": lambda: eval_saudinewsnet(config, args.data, args.sample, args.labels),
             "slots_cv": lambda: eval_slots_cv(config, args.data) if not args.labels else {"skipped": "dev labels only"}}
    for name, fn in parts.items():
        if args.only and name not in args.only:
            continue
        t = time.perf_counter()
        result[name] = fn()
        print(name, json.dumps(result[name], ensure_ascii=False)[:600], f"({time.perf_counter() - t:.1f} s)")
    write_result(args.name, result)


if __name__ == "__main__":
    main()
