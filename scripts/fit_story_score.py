"""Fit the story-score weights of ``StoriesConfig`` on the SemEval-2022 Task 8 sample; writes results/fit_story_score.json.

The story score is ``sigmoid(b + w · features)`` over the three columns of
:func:`dedup.stories.score_features` (square root of the story-vector cosine,
log length ratio, shared-number Jaccard). The target is the human
``Overall`` rating mapped to [0, 1], ``t = (4 - Overall) / 3`` (1 = same
story, 0 = unrelated). The fit is a *fractional* logistic regression
(Papke & Wooldridge 1996: the logistic log-likelihood with a target in
[0, 1] instead of 0/1), by Newton's method; four parameters, no
regularization.

Data: the same-language SemEval pairs with original numeric ids, one row per
``pair_id`` (:func:`semeval_pairs`, shared with ``eval_stories.py``). The
features come from :func:`dedup.flows.dedupe.similarity` with the current
``StoriesConfig`` (IDF fitted on the texts of all pairs, without labels).

Reported: Pearson of the score with ``-Overall``, cross-validated (10-fold
by pair, repeated 10 times with different shuffles; mean and standard
deviation over repeats; per language on the pooled out-of-fold predictions)
as the headline, and in-sample. The fitted constants are printed for
``StoriesConfig`` (they are copied there by hand; the test
``tests/test_stories.py::test_score_weights_match_the_fit`` compares).

Usage: ``python scripts/fit_story_score.py``
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import run_info, shared_data, write_result  # noqa: E402

from dedup.config import StoriesConfig  # noqa: E402
from dedup.flows.similarity import similarity  # noqa: E402
from dedup.stories import SCORE_FEATURES  # noqa: E402

FOLDS, REPEATS = 10, 10


def _split_title(text: str) -> tuple[str, str]:
    """HFL's texts start with the headline followed by two spaces (about a quarter of them do)."""
    text = text.strip()
    k = text.find("  ")
    return (text[:k], text[k:]) if 0 < k < 300 else ("", text)


def semeval_pairs() -> dict | None:
    """The same-language SemEval training pairs with original ids, one per ``pair_id`` (``None`` if absent).

    Returns ``{"text1", "title1", "text2", "title2", "overall", "lang", "pair_id"}``
    (lists, ``overall`` and ``lang`` as arrays). HFL's machine-translated
    augmentations (ids with a language tag) are left out.
    """
    folder = shared_data("semeval2022-task8-hfl-sample")
    if folder is None:
        return None
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
    return {
        "title1": [x[0] for x in a], "text1": [x[1] for x in a],
        "title2": [x[0] for x in b], "text2": [x[1] for x in b],
        "overall": np.array([float(r["Overall"]) for r in keep]),
        "lang": np.array([r["lang1"] for r in keep]),
        "pair_id": [r["pair_id"] for r in keep],
    }


def target(overall: np.ndarray) -> np.ndarray:
    """``Overall`` (1 = same story … 4 = unrelated) as a [0, 1] similarity."""
    return (4.0 - np.asarray(overall, dtype=np.float64)) / 3.0


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def fit_fractional_logit(x: np.ndarray, t: np.ndarray, iters: int = 100) -> tuple[float, np.ndarray]:
    """Maximize ``sum t log p + (1 - t) log(1 - p)``, ``p = sigmoid(b + x @ w)``, by Newton's method.

    Returns ``(b, w)``.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2000, 1))
    >>> b, w = fit_fractional_logit(x, _sigmoid(0.5 + 2.0 * x[:, 0]))
    >>> round(b, 3), w.round(3).tolist()
    (0.5, [2.0])
    """
    a = np.column_stack([np.ones(len(x)), x])
    beta = np.zeros(a.shape[1])
    for _ in range(iters):
        p = _sigmoid(a @ beta)
        grad = a.T @ (t - p)
        hess = (a * (p * (1 - p))[:, None]).T @ a
        step = np.linalg.solve(hess + 1e-9 * np.eye(len(beta)), grad)
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(beta[0]), beta[1:]


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def out_of_fold(x: np.ndarray, t: np.ndarray, seed: int, folds: int = FOLDS) -> np.ndarray:
    """Predictions for each row from a fit on the other folds (rows shuffled with ``seed``)."""
    order = np.random.default_rng(seed).permutation(len(t))
    pred = np.zeros(len(t))
    for test in np.array_split(order, folds):
        train = np.setdiff1d(order, test)
        b, w = fit_fractional_logit(x[train], t[train])
        pred[test] = _sigmoid(b + x[test] @ w)
    return pred


def cross_validated_pearson(
    x: np.ndarray, overall: np.ndarray, lang: np.ndarray, factor: np.ndarray | None = None, repeats: int = REPEATS
) -> dict:
    """Pearson of out-of-fold scores with ``-Overall``: mean and sd over ``repeats`` shuffles, overall and per language.

    ``factor`` ``(m,)`` multiplies the predictions (the template penalty of
    the story score, which is a rule and not fitted).
    """
    t = target(overall)
    factor = np.ones(len(t)) if factor is None else factor
    per: dict[str, list[float]] = {"all": []}
    langs = [str(v) for v in sorted(set(lang.tolist())) if (lang == v).sum() >= 10]
    for r in range(repeats):
        pred = out_of_fold(x, t, seed=r) * factor
        per["all"].append(_pearson(pred, -overall))
        for v in langs:
            per.setdefault(v, []).append(_pearson(pred[lang == v], -overall[lang == v]))
    return {k: {"mean": round(float(np.mean(v)), 4), "sd": round(float(np.std(v)), 4)} for k, v in per.items()}


def main() -> None:
    data = semeval_pairs()
    if data is None:
        print("../shared/data/semeval2022-task8-hfl-sample is absent; nothing to fit")
        return
    config = StoriesConfig()
    res = similarity(data["text1"], data["text2"], config, title1=data["title1"], title2=data["title2"])
    x, overall, lang = res.story_features, data["overall"], data["lang"]
    t = target(overall)
    b, w = fit_fractional_logit(x, t)
    fitted = {"score_intercept": round(b, 2)} | {k: round(float(v), 2) for k, v in zip(("score_cosine", "score_length", "score_numbers"), w)}
    in_sample = _sigmoid(b + x @ w)
    langs = [str(v) for v in sorted(set(lang.tolist())) if (lang == v).sum() >= 10]
    result = {
        "run": run_info(),
        "pairs": int(len(t)),
        "features": list(SCORE_FEATURES),
        "target": "(4 - Overall) / 3",
        "fitted": fitted,
        "config_in_use": {k: getattr(config, k) for k in fitted},
        "pearson_cv": cross_validated_pearson(x, overall, lang),
        "pearson_in_sample": {"all": round(_pearson(in_sample, -overall), 4)}
        | {v: round(_pearson(in_sample[lang == v], -overall[lang == v]), 4) for v in langs},
        "cv": f"{FOLDS}-fold by pair, {REPEATS} shuffles; per language on the pooled out-of-fold predictions",
        "note": "without the template penalty of story_score (see eval_stories.json for the score as used)",
    }
    print("fitted:", fitted)
    print("in StoriesConfig:", result["config_in_use"])
    print("Pearson CV:", result["pearson_cv"])
    print("Pearson in-sample:", result["pearson_in_sample"])
    write_result("fit_story_score", result)


if __name__ == "__main__":
    main()
