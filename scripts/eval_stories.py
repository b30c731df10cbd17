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
  (no dates, the subset spans 36 hours; compared from 3 tokens, a headline
  feed's ``--min-tokens``), ARI and B-cubed P/R/F1 against the silver STORY ids.
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
  label-free check of the window (late reprints, joined to their duplicate
  group's event past the window as they stand, make an event longer too).
* **slots_cv**: the slot rule's settings (:data:`SLOT_GRID`, the rule off
  among them) chosen on folds of the labelled pairs, measured on the held
  fold (5 folds, 10 shuffles): the cross-validated counterpart of the
  in-sample numbers above.
* **semantic**: the same event-level P/R/F1 on the same sets with the
  semantic story score on (``--semantic``, :mod:`dedup.stories.semantic`,
  needs the extra ``dedup[semantic]``) and off, in the same run, with the CPU
  seconds of both ``dedup stories`` runs on the dev feed. The shipped model
  (``dedup/data/semantic_model.json``) was fitted on the SemEval sample *and*
  these labels, so its numbers are **in sample**; the **out-of-fold** ones
  refit the model for each of 5 folds of the labelled pairs without the
  fold's labels (weight of the dev pairs, band and coefficients, by the rule
  of ``scripts/fit_semantic.py``) and measure the fold's pairs on the events
  of that model.

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
import hashlib
import json
import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_average, load_saudinewsnet, repo_root, run_info, saudinewsnet_dir, shared_data, write_result  # noqa: E402
from fit_story_score import cross_validated_pearson, semeval_pairs  # noqa: E402

from dedup.config import DedupConfig, ShingleConfig, StoriesConfig  # noqa: E402
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


UCI_MIN_TOKENS = 3  # a headline feed's setting (docs/stories.md: the 3 of a short headline), set when skipped articles became events of their own


def eval_uci(config: StoriesConfig) -> dict:
    folder = shared_data("uci-news-aggregator-subset")
    if folder is None:
        return {"skipped": "../shared/data/uci-news-aggregator-subset is absent"}
    from sklearn.metrics import adjusted_rand_score

    with open(folder / "uci-news-aggregator-first6366.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    arts = [Article(id=r["ID"], text=r["TITLE"], title="", source=r["PUBLISHER"]) for r in rows]
    gold = np.array([r["STORY"] for r in rows])
    # A feed of headlines: compared from 3 tokens (docs/stories.md), not the articles' default 8, under which
    # 1,468 of these headlines would not be compared at all and so be each an event of its own.
    dedup_config = DedupConfig(shingle=ShingleConfig(min_tokens=UCI_MIN_TOKENS))
    t = time.perf_counter()
    res = stories(arts, config, dedup_config)
    secs = time.perf_counter() - t
    out = {"articles": len(arts), "gold_stories": int(len(set(gold.tolist()))), "seconds": round(secs, 2),
           "min_tokens": UCI_MIN_TOKENS, "not_compared": len(res.alone()),
           "note": "headlines only, as text (compared from min_tokens tokens); silver labels (Google News story ids)"}
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
    return _pair_metrics(event[i] == event[j], rows)


def _pair_metrics(pred: np.ndarray, rows: list[dict]) -> dict:
    """:func:`_event_metrics` of ``pred`` ``(m,)``: whether each labelled pair is put in one event."""
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


ERROR_CAUSES = {  # why a labelled pair's events are wrong, from what the tracker found (StoriesResult.pairs / .scores)
    "FN": ("further apart than the window", "not a candidate within the window", "scored under the event threshold",
           "scored over the threshold, the merge refused (average linkage or span)"),
    "FP": ("scored over the event threshold", "joined through other reports"),
}


def _error_causes(res, i: np.ndarray, j: np.ndarray, pred: np.ndarray, gold: np.ndarray, config: StoriesConfig) -> list[str | None]:
    """For each labelled pair the events get wrong, the stage that made the error (:data:`ERROR_CAUSES`); None if right.

    A missed pair was never compared (further apart than ``window_days``, or
    not among each other's neighbours / under ``min_candidate``), was compared
    and scored under ``event_threshold``, or scored over it and the tracker
    refused the merge of the two events. A false pair scored over the threshold
    itself, or was put in one event through other reports.
    """
    n = len(res.event)
    key = res.pairs[:, 0].astype(np.int64) * n + res.pairs[:, 1]  # sorted: the pairs come ordered (i, j), i < j
    want = np.minimum(i, j).astype(np.int64) * n + np.maximum(i, j)
    at = np.minimum(np.searchsorted(key, want), max(len(key) - 1, 0))
    found = key[at] == want if len(key) else np.zeros(len(want), dtype=bool)
    score = np.where(found, res.scores[at], np.nan) if len(key) else np.full(len(want), np.nan)
    times = res.dedup.table.times
    apart = np.abs(times[i] - times[j]) > config.window_days * 86_400.0
    out: list[str | None] = []
    for k in range(len(i)):
        if pred[k] == gold[k]:
            out.append(None)
        elif gold[k]:
            out.append(ERROR_CAUSES["FN"][0] if not found[k] and apart[k] else ERROR_CAUSES["FN"][1] if not found[k]
                       else ERROR_CAUSES["FN"][2] if score[k] < config.event_threshold else ERROR_CAUSES["FN"][3])
        else:
            out.append(ERROR_CAUSES["FP"][0] if found[k] and score[k] >= config.event_threshold else ERROR_CAUSES["FP"][1])
    return out


def _causes_by_set(errors: list[dict]) -> dict:
    """How many errors of each set have each cause."""
    out: dict = {}
    for e in errors:
        for name in (e["set"], *(("dev+hard",) if e["set"] in ("dev", "hard") else ())):
            by = out.setdefault(name, {})
            by[e["cause"]] = by.get(e["cause"], 0) + 1
    return {name: dict(sorted(by.items(), key=lambda kv: -kv[1])) for name, by in out.items()}


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
    causes = _error_causes(res, i, j, pred_event, gold, config)
    errors = [  # ids and numbers only: the texts stay out of the repository
        {"pair": r["pair"], "set": r["set"], "error": "FP" if pred_event[k] else "FN", "label": r["label"], "kind": r["kind"],
         "stratum": r.get("stratum"), "days_apart": r.get("days_apart"), "story_score": round(float(sim.story_score[k]), 3),
         "same_duplicate_group": bool(group[i[k]] >= 0 and group[i[k]] == group[j[k]]), "cause": causes[k]}
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
            "errors_by_cause": _causes_by_set(errors),
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


SEMANTIC_FOLDS = 5


@contextmanager
def _semantic_model(model):
    """Within the block, ``dedup.stories.semantic.load_model()`` gives ``model`` (the flows load the shipped one)."""
    from dedup.stories import semantic

    shipped = semantic.load_model
    semantic.load_model = lambda path="": model
    try:
        yield
    finally:
        semantic.load_model = shipped


@contextmanager
def _embeddings_kept():
    """Within the block, an ``embed`` call with the texts of an earlier call gives that call's vectors.

    The out-of-fold runs embed the same days as the first run: they reuse its
    vectors (bit for bit: the batch is the same) instead of paying for them
    again. The flow runs in this process (one job), so the wrapper sees every call.
    """
    from dedup.stories import semantic

    encode, kept = semantic.embed, {}

    def embed(texts, model=None):
        model = model if model is not None else semantic.load_model()
        key = hashlib.sha256("\x00".join([model.encoder, str(model.max_chars), *texts]).encode("utf-8")).hexdigest()
        if key not in kept:
            kept[key] = encode(texts, model)
        return kept[key]

    semantic.embed = embed
    try:
        yield kept
    finally:
        semantic.embed = encode


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (worker processes count too)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def _timed_stories(arts: list[Article], config: StoriesConfig):
    before, cpu, wall = load_average(), _cpu_seconds(), time.perf_counter()
    res = stories(arts, config)
    cost = {"cpu_seconds": round(_cpu_seconds() - cpu, 1), "wall_seconds": round(time.perf_counter() - wall, 1),
            "load_average_before": before, "load_average_after": load_average()}
    return res, cost


def fit_semantic_model(x: np.ndarray, t: np.ndarray, factor: np.ndarray, m: int, gold: np.ndarray, d_score: np.ndarray,
                       s_score: np.ndarray, overall: np.ndarray, lang: np.ndarray, cand: tuple[np.ndarray, np.ndarray, int],
                       threshold: float):
    """The semantic model ``scripts/fit_semantic.py`` fits from these rows: dev weight and band by its rule, then the logit.

    ``x`` ``(m + k, 4)``, ``t``, ``factor``: the ``m`` SemEval pairs, then the
    ``k`` dev pairs (``gold``: same event, ``d_score``: lexical story score);
    ``cand``: the candidate pairs and scores of ``dedup stories`` on the dev
    feed and its number of articles (the band's cost).
    """
    import fit_semantic as fs

    from dedup.stories import semantic

    k = len(gold)
    lex_f1 = fs.f1(d_score >= threshold, gold)
    same_story = overall <= 1.5
    bands = []
    for w in fs.WEIGHTS:
        weights = np.concatenate([np.ones(m), np.full(k, w * m / k)])
        oof = fs.out_of_fold(x, t, weights, fs.DEV_REPEATS) * factor
        pearson = float(np.mean([fs._pearson_by_language(p[:m], overall, lang)["all"] for p in oof]))
        for low in fs.LOWS:
            for high in fs.HIGHS:
                top = high if high < 1.0 else np.inf
                in_s, in_d = (s_score >= low) & (s_score < top), (d_score >= low) & (d_score < top)
                share, _ = fs.band_share(cand[1], cand[0], cand[2], low, high)
                bands.append({"dev_weight": w, "band": (low, high), "pearson": round(pearson, 4),
                              "dev_f1": round(float(np.mean([fs.f1(np.where(in_d, p[m:], d_score) >= threshold, gold) for p in oof])), 4),
                              "same_story_f1": round(float(np.mean([fs.f1(np.where(in_s, p[:m], s_score) >= threshold, same_story)
                                                                    for p in oof])), 4),
                              "share": round(share, 4)})
    feasible = [b for b in bands if b["dev_f1"] >= round(lex_f1, 4) - fs.F1_TOLERANCE]
    if not feasible:
        top_f1 = max(b["dev_f1"] for b in bands)
        feasible = [b for b in bands if b["dev_f1"] == top_f1]
    best = max(feasible, key=lambda b: (b["pearson"], b["same_story_f1"], -b["share"]))
    weights = np.concatenate([np.ones(m), np.full(k, best["dev_weight"] * m / k)])
    intercept, coef = fs.fit_weighted_logit(x, t, weights)
    shipped = semantic.load_model()
    return semantic.SemanticModel(shipped.encoder, shipped.max_chars, semantic.FEATURES, coef, intercept, best["band"],
                                  {"dev_weight": best["dev_weight"]})


def eval_semantic(config: StoriesConfig, data: str | None = None, folds: int = SEMANTIC_FOLDS) -> dict:
    """Events with the semantic story score on and off on the labelled pairs: in sample, out of fold, and the cost."""
    from dedup.stories import semantic

    if not semantic.available():
        return {"skipped": "the extra dedup[semantic] is not installed (pip install 'dedup[semantic]')"}
    rows, _ = _labelled_pairs(None, None)
    folder = saudinewsnet_dir(data)
    sem = semeval_pairs()
    if not rows or folder is None or sem is None:
        return {"skipped": "labelled pairs, SaudiNewsNet zips or the SemEval sample absent"}
    from fit_semantic import DEV_TARGET
    from fit_story_score import target

    docs = load_saudinewsnet(folder)
    arts = [Article(id=d["url"], text=d["content"], title=d["title"], date=d["date_extracted"], source=d["source"]) for d in docs]
    pos = {a.id: k for k, a in enumerate(arts)}
    rows = [r for r in rows if r["id1"] in pos and r["id2"] in pos]
    i = np.array([pos[r["id1"]] for r in rows])
    j = np.array([pos[r["id2"]] for r in rows])
    gold = np.array([r["label"] in ("DUP", "EVENT") for r in rows])
    off_cfg, on_cfg = replace(config, semantic=False), replace(config, semantic=True)
    shipped = semantic.load_model()
    out: dict = {"pairs": len(rows), "articles": len(arts),
                 "model": {"encoder": shipped.encoder, "max_chars": shipped.max_chars, "band": list(shipped.band),
                           "dev_weight": shipped.fit.get("dev_weight")},
                 "note": "in_sample: the shipped model, fitted on the SemEval sample and on these labels; out_of_fold: the "
                         f"model refitted for each of {folds} folds of the labelled pairs (seed 0) without that fold's labels "
                         "(dev weight, band and weights by the rule of scripts/fit_semantic.py), each fold's pairs measured "
                         "on the events of its model. CPU seconds include worker processes; one job; the machine is shared"}
    with _embeddings_kept():
        res_off, cost_off = _timed_stories(arts, off_cfg)
        res_on, cost_on = _timed_stories(arts, on_cfg)  # nothing kept yet: the embedding cost is paid here
        out["off"] = {"same_event_cluster": _event_metrics(res_off.event, i, j, rows), **cost_off}
        out["in_sample"] = {"same_event_cluster": _event_metrics(res_on.event, i, j, rows), **cost_on}
        low, high = shipped.band
        out["cost"] = {"cpu_ratio_on_to_off": round(cost_on["cpu_seconds"] / max(cost_off["cpu_seconds"], 1e-9), 2),
                       "extra_cpu_seconds_per_1k_articles": round((cost_on["cpu_seconds"] - cost_off["cpu_seconds"]) * 1000 / len(arts), 2),
                       "candidate_pairs_off": len(res_off.scores),
                       "candidate_pairs_in_band_off": int(((res_off.scores >= low) & (res_off.scores < high)).sum())}

        # the fit's inputs, as scripts/fit_semantic.py makes them: lexical features per pair, cosines of raw texts
        s_res = similarity(sem["text1"], sem["text2"], off_cfg, title1=sem["title1"], title2=sem["title2"])
        m = len(sem["overall"])
        sv = semantic.embed([semantic.article_text(tt, b) for tt, b in zip(sem["title1"] + sem["title2"], sem["text1"] + sem["text2"])])
        s_cos = semantic.pair_cosines(sv, np.stack([np.arange(m), np.arange(m) + m], axis=1))
        d_res = similarity([arts[k].text for k in i], [arts[k].text for k in j], off_cfg,
                           title1=[arts[k].title for k in i], title2=[arts[k].title for k in j])
        d_rows = np.unique(np.concatenate([i, j]))
        dv = semantic.embed([semantic.article_text(arts[k].title, arts[k].text) for k in d_rows])
        d_cos = semantic.pair_cosines(dv, np.searchsorted(d_rows, np.stack([i, j], axis=1)))
        sim_on = similarity([arts[k].text for k in i], [arts[k].text for k in j], on_cfg,
                            title1=[arts[k].title for k in i], title2=[arts[k].title for k in j])
        out["pair_score_alone"] = {"off": _prf(d_res.story_score >= config.event_threshold, gold),
                                   "in_sample": _prf(sim_on.story_score >= config.event_threshold, gold)}
        x = np.vstack([np.column_stack([s_res.story_features, s_cos]), np.column_stack([d_res.story_features, d_cos])])
        t = np.concatenate([target(sem["overall"]), np.array([DEV_TARGET[r["label"]] for r in rows])])
        factor = np.concatenate([semantic.template_factor(s_res.story_features, s_res.story_score, off_cfg),
                                 semantic.template_factor(d_res.story_features, d_res.story_score, off_cfg)])
        cand = (np.asarray(res_off.pairs), np.asarray(res_off.scores), len(arts))

        def fit(train: np.ndarray):
            keep = np.concatenate([np.ones(m, bool), train])
            return fit_semantic_model(x[keep], t[keep], factor[keep], m, gold[train], d_res.story_score[train],
                                      s_res.story_score, sem["overall"], sem["lang"], cand, config.event_threshold)

        again = fit(np.ones(len(rows), bool))
        out["refit_on_every_label"] = {"band": list(again.band), "dev_weight": again.fit["dev_weight"],
                                       "max_abs_weight_difference_to_shipped": round(float(np.max(np.abs(
                                           np.r_[again.intercept, again.coef] - np.r_[shipped.intercept, shipped.coef]))), 4),
                                       "note": "the rule on every label, to check it is the shipped fit's"}
        fold = np.random.default_rng(0).permutation(len(rows)) % folds
        pred = np.zeros(len(rows), bool)
        per_fold = []
        pair_pred = np.zeros(len(rows), bool)
        for f in range(folds):
            model = fit(fold != f)
            with _semantic_model(model):
                event = stories(arts, on_cfg).event
                held = np.flatnonzero(fold == f)
                pred[held] = event[i[held]] == event[j[held]]
                which = semantic.pairs_to_rescore(d_res.story_score[held])
                score = semantic.rescore(d_res.story_score[held], which, d_res.story_features[held][which],
                                         d_cos[held][which], off_cfg)
                pair_pred[held] = score >= config.event_threshold
            per_fold.append({"pairs": len(held), "dev_weight": model.fit["dev_weight"], "band": list(model.band),
                             "coef": [round(float(c), 4) for c in model.coef], "intercept": round(float(model.intercept), 4),
                             "same_event_cluster": _prf(pred[held], gold[held])})
            print(f"semantic fold {f}: {json.dumps(per_fold[-1])}", flush=True)
        out["out_of_fold"] = {"folds": folds, "same_event_cluster": _pair_metrics(pred, rows), "per_fold": per_fold}
        out["pair_score_alone"]["out_of_fold"] = _prf(pair_pred, gold)
    return out



def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=("semeval", "uci", "saudinewsnet", "slots_cv", "semantic"), action="append",
                    help="run only these parts (repeatable)")
    ap.add_argument("--data", help="folder of SaudiNewsNet zips (default: the shared dev days)")
    ap.add_argument("--sample", help="pairs file {pair, id1, id2} (default: the dev, hard and story samples of scripts/labels/)")
    ap.add_argument("--labels", help="labels file {pair, label} to go with --sample")
    ap.add_argument("--name", default="eval_stories", help="results/NAME.json (default: eval_stories)")
    args = ap.parse_args(argv)
    config = StoriesConfig()
    result = {"run": run_info(), "config": config.__dict__ | {"normalize": str(config.normalize)}}
    parts = {"semeval": lambda: eval_semeval(config), "uci": lambda: eval_uci(config),
             "saudinewsnet": lambda: eval_saudinewsnet(config, args.data, args.sample, args.labels),
             "slots_cv": lambda: eval_slots_cv(config, args.data) if not args.labels else {"skipped": "dev labels only"},
             "semantic": lambda: eval_semantic(config, args.data) if not args.labels else {"skipped": "dev labels only"}}
    for name, fn in parts.items():
        if args.only and name not in args.only:
            continue
        t = time.perf_counter()
        result[name] = fn()
        print(name, json.dumps(result[name], ensure_ascii=False)[:600], f"({time.perf_counter() - t:.1f} s)")
    write_result(args.name, result)


if __name__ == "__main__":
    main()
