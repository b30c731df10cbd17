"""Evaluate story_score and the event clustering on labelled data; writes results/eval_stories.json.

Parts (each skipped with a message when its data is absent):

* **semeval**: SemEval-2022 Task 8 training pairs (``../shared/data/semeval2022-task8-hfl-sample``),
  same-language pairs with original numeric ids (HFL's machine-translated
  augmentations left out), one row per ``pair_id``. Pearson of ``story_score``
  with ``Overall`` (1 = same story … 4 = different; reported negated so that
  higher is better), overall and per language; precision/recall/F1 of
  ``story_score >= event_threshold`` for "same story" = ``Overall <= 1.5``.
  Mojibake rows are repaired by dedup itself (ftfy), as in a real feed.
* **uci**: the UCI News Aggregator headline subset: events over headlines only
  (no dates, the subset spans 36 hours), ARI and B-cubed P/R/F1 against the
  silver STORY ids.
* **saudinewsnet**: the hand-labelled dev pairs, event level (DUP or EVENT vs
  TOPIC or NO), from ``scripts/labels/saudinewsnet_dev_labels.jsonl``.

Usage: ``python scripts/eval_stories.py``
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_saudinewsnet, repo_root, run_info, saudinewsnet_dir, shared_data, write_result  # noqa: E402

from dedup.config import StoriesConfig  # noqa: E402
from dedup.pipeline import similarity, stories  # noqa: E402
from dedup.types import Article  # noqa: E402


def _prf(pred: np.ndarray, gold: np.ndarray) -> dict:
    tp = int((pred & gold).sum())
    p = tp / max(1, int(pred.sum()))
    r = tp / max(1, int(gold.sum()))
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / max(1e-12, p + r), 4),
            "positives": int(gold.sum()), "n": int(len(gold))}


def _split_title(text: str) -> tuple[str, str]:
    """HFL's texts start with the headline followed by two spaces."""
    text = text.strip()
    k = text.find("  ")
    return (text[:k], text[k:]) if 0 < k < 300 else ("", text)


def eval_semeval(config: StoriesConfig) -> dict:
    folder = shared_data("semeval2022-task8-hfl-sample")
    if folder is None:
        return {"skipped": "../shared/data/semeval2022-task8-hfl-sample is absent"}
    csv.field_size_limit(10**9)
    with open(folder / "training_set.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    seen, keep = set(), []
    for r in rows:
        pid = r["pair_id"]
        if pid in seen or r["lang1"] != r["lang2"] or not pid.replace("_", "").isdigit():
            continue
        seen.add(pid)
        keep.append(r)
    a = [_split_title(r["text1"]) for r in keep]
    b = [_split_title(r["text2"]) for r in keep]
    res = similarity([x[1] for x in a], [x[1] for x in b], config, title1=[x[0] for x in a], title2=[x[0] for x in b])
    y = np.array([float(r["Overall"]) for r in keep])
    lang = np.array([r["lang1"] for r in keep])
    s = res.story_score

    def pearson(mask: np.ndarray, score: np.ndarray) -> float:
        return round(float(-np.corrcoef(score[mask], y[mask])[0, 1]), 4)

    out = {"pairs": len(keep), "note": "Pearson of story_score with -Overall (higher = better)",
           "pearson": {"all": pearson(np.ones(len(y), bool), s)},
           "pearson_plain_tfidf_cosine": {"all": pearson(np.ones(len(y), bool), res.cosine)},
           "per_language_pairs": {}}
    for L in sorted(set(lang.tolist())):
        m = lang == L
        out["per_language_pairs"][L] = int(m.sum())
        if m.sum() >= 10:
            out["pearson"][L] = pearson(m, s)
            out["pearson_plain_tfidf_cosine"][L] = pearson(m, res.cosine)
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


def eval_saudinewsnet(config: StoriesConfig) -> dict:
    labels_path = repo_root() / "scripts" / "labels" / "saudinewsnet_dev_labels.jsonl"
    sample_path = repo_root() / "scripts" / "labels" / "saudinewsnet_dev_sample.jsonl"
    if not labels_path.exists():
        return {"skipped": f"{labels_path.relative_to(repo_root())} is not there yet (labels pending)"}
    folder = saudinewsnet_dir()
    if folder is None:
        return {"skipped": "SaudiNewsNet dev zips are absent"}
    sample = {r["pair"]: r for r in map(json.loads, sample_path.read_text(encoding="utf-8").splitlines())}
    labels = {r["pair"]: r for r in map(json.loads, labels_path.read_text(encoding="utf-8").splitlines())}
    docs = load_saudinewsnet(folder)
    arts = [Article(id=d["url"], text=d["content"], title=d["title"], date=d["date_extracted"], source=d["source"]) for d in docs]
    res = stories(arts, config)
    pos = {a.id: k for k, a in enumerate(arts)}
    gold, pred_event, pred_pair = [], [], []
    pairs = [p for p in sorted(labels) if p in sample]
    i = np.array([pos[sample[p]["id1"]] for p in pairs])
    j = np.array([pos[sample[p]["id2"]] for p in pairs])
    sim = similarity([arts[k].text for k in i], [arts[k].text for k in j], config,
                     title1=[arts[k].title for k in i], title2=[arts[k].title for k in j])
    for k, p in enumerate(pairs):
        lab = str(labels[p].get("label", "")).upper()
        gold.append(lab in ("DUP", "EVENT"))
        pred_event.append(bool(res.event[i[k]] == res.event[j[k]]))
        pred_pair.append(bool(sim.story_score[k] >= config.event_threshold))
    gold_a = np.array(gold)
    return {"pairs": len(pairs), "same_event_cluster": _prf(np.array(pred_event), gold_a),
            "pair_score_alone": _prf(np.array(pred_pair), gold_a),
            "note": "dev labels: tuned-on data, not the held-out target"}


def main() -> None:
    config = StoriesConfig()
    result = {"run": run_info(), "config": config.__dict__ | {"normalize": str(config.normalize)}}
    for name, fn in (("semeval", eval_semeval), ("uci", eval_uci), ("saudinewsnet", eval_saudinewsnet)):
        t = time.perf_counter()
        result[name] = fn(config)
        print(name, json.dumps(result[name], ensure_ascii=False)[:600], f"({time.perf_counter() - t:.1f} s)")
    write_result("eval_stories", result)


if __name__ == "__main__":
    main()
