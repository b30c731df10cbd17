"""Quality metrics for duplicate groups and story clusters.

Pure functions over label arrays or boolean pair predictions:

* pairwise precision / recall / F1 of "same cluster" over labelled pairs;
* B-cubed precision / recall / F1 over a full cluster assignment;
* the adjusted Rand index (scikit-learn's).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["bcubed", "pairwise_prf", "prf_counts", "adjusted_rand", "sweep"]


def prf_counts(tp: float, fp: float, fn: float) -> dict[str, float]:
    """Precision, recall and F1 from counts (empty denominators give 1.0 / 0.0).

    >>> prf_counts(8, 2, 2)["f1"]
    0.8
    """
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "tp": tp, "fp": fp, "fn": fn}


def pairwise_prf(predicted: Sequence[bool], gold: Sequence[bool], weights: Sequence[float] | None = None) -> dict[str, float]:
    """Pairwise scores of predicted "same" against gold "same", optionally weighted.

    >>> pairwise_prf([True, True, False], [True, False, True])["precision"]
    0.5
    """
    pred = np.asarray(predicted, dtype=bool)
    true = np.asarray(gold, dtype=bool)
    if weights is None:  # counts of pairs: whole numbers
        return prf_counts(int((pred & true).sum()), int((pred & ~true).sum()), int((~pred & true).sum()))
    w = np.asarray(weights, dtype=np.float64)
    return prf_counts(float(w[pred & true].sum()), float(w[pred & ~true].sum()), float(w[~pred & true].sum()))


def bcubed(predicted: Sequence, gold: Sequence) -> dict[str, float]:
    """B-cubed precision, recall and F1 of two cluster assignments over the same items.

    >>> bcubed([0, 0, 1], [0, 0, 1])["f1"]
    1.0
    """
    pred = np.unique(np.asarray(predicted, dtype=object).astype(str), return_inverse=True)[1]
    true = np.unique(np.asarray(gold, dtype=object).astype(str), return_inverse=True)[1]
    n = len(pred)
    if n == 0:
        return {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    # contingency counts: items sharing both labels
    joint = pred.astype(np.int64) * (int(true.max()) + 1) + true
    _, jinv, jcount = np.unique(joint, return_inverse=True, return_counts=True)
    both = jcount[jinv].astype(np.float64)
    p = float(np.mean(both / np.bincount(pred)[pred]))
    r = float(np.mean(both / np.bincount(true)[true]))
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def adjusted_rand(predicted: Sequence, gold: Sequence) -> float:
    """scikit-learn's adjusted Rand index of two assignments."""
    from sklearn.metrics import adjusted_rand_score

    return round(float(adjusted_rand_score([str(x) for x in gold], [str(x) for x in predicted])), 4)


def sweep(scores: Sequence[float], gold: Sequence[bool], thresholds: Sequence[float]) -> list[dict[str, float]]:
    """Precision/recall/F1 of ``score >= t`` for each threshold ``t``.

    >>> [r["f1"] for r in sweep([0.9, 0.2], [True, False], [0.5, 0.95])]
    [1.0, 0.0]
    """
    s = np.asarray(scores, dtype=np.float64)
    return [{"threshold": float(t), **pairwise_prf(s >= t, gold)} for t in thresholds]


def pair_counts(pred: dict[str, str], gold: dict[str, str]) -> tuple[int, int, int]:
    """TP, FP, FN over all pairs of two assignments (id → cluster), from the contingency table.

    >>> pair_counts({"a": 1, "b": 1, "c": 2}, {"a": "x", "b": "y", "c": "y"})
    (0, 1, 1)
    """
    from collections import Counter

    ids = [i for i in gold if i in pred]

    def c2(k: int) -> int:
        return k * (k - 1) // 2

    both = sum(c2(k) for k in Counter((pred[i], gold[i]) for i in ids).values())
    p_pairs = sum(c2(k) for k in Counter(pred[i] for i in ids).values())
    g_pairs = sum(c2(k) for k in Counter(gold[i] for i in ids).values())
    return both, p_pairs - both, g_pairs - both
