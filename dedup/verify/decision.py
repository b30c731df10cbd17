"""The learned decision: pair features → the probability that two articles are copies of one text.

A logistic regression over features a reader would weigh, fitted on pairs
labelled by reading (``scripts/fit_decision.py``; the labels and how they
were drawn are in ``scripts/labels/``). It ships as plain numbers
(``data/decision_model.json``: feature names, scaling, coefficients, the
threshold chosen by cross-validation for precision, and the fit's
cross-validated scores), so loading it needs no pickle and no scikit-learn.

The features of a pair ``(i, j)``, with the *short* side the article with
fewer shingles:

* ``jaccard``, ``contain_short`` (how much of the shorter is in the longer),
  ``contain_long``, ``cosine``: the exact scores of :mod:`.scores`;
* ``rare_jaccard``, ``rare_contain``: the same two over the *rare* words only
  (not common in news: names, places, figures): a template filled with other
  names shares its wording but not these; ``rare_none`` marks a shorter side
  with no rare word at all (then the two say nothing, rather than "none shared");
* ``contain_words``: the share of the shorter article's distinct words (all of
  them) that the longer one has. Word 3-shingles lose every shingle through an
  edited word, a clitic or a reordered phrase, so a lightly edited item
  inside a roundup can keep half its shingles and nearly all its words.
  Known and measured, but not in the shipped model: a template filled with
  other names keeps nearly all its words too, and more templates passed;
* ``log_size_ratio``, ``log_min_size``: how different the lengths are, and
  how long the shorter is (a short text shares a passage by chance less
  often than it seems);
* ``contain_x_log_size``: ``contain_short`` times ``log_min_size``. Half of a
  long article found in another is a long passage copied; half of a short
  one may be a few stock sentences: a product the linear model cannot form
  from the two alone. Known and measured, but not in the shipped model: over
  eight seeds of the folds it added out-of-fold F1 (0.912 -> 0.918) and
  passed more labelled templates (5.4 -> 5.8 of 177), the word containment's
  case; it was picked among nine candidate products on the same labels, so
  part of that gain may be the choice;
* ``same_source``, ``log_days``, ``undated``: whether one outlet published
  both, and how far apart (a recurring bulletin is days apart);
* ``aligned_short``, ``aligned_long``, ``longest_run``: the passage
  alignment (:mod:`dedup.text.align`): the share of each side inside shared
  passages and the longest passage in tokens (log). Known, and measured by the fitting
  script, but not in the shipped model: with containment and the rare words
  in, they added nothing out of fold, and aligning every candidate pair
  doubled the time of verification.

Exact copies (equal normalized text) are always copies, whatever the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from .scores import CONTAINED, EXACT, NEAR, NONE, PairScores

__all__ = ["ALIGNMENT", "FEATURES", "KNOWN", "Aligned", "DecisionModel", "PairContext", "copy_probability", "feature_matrix", "load_model",
           "model_identity", "relations"]

KNOWN = (
    "jaccard",
    "contain_short",
    "contain_long",
    "cosine",
    "rare_jaccard",
    "rare_contain",
    "rare_none",
    "contain_words",
    "log_size_ratio",
    "log_min_size",
    "contain_x_log_size",
    "same_source",
    "log_days",
    "undated",
    "aligned_short",
    "aligned_long",
    "longest_run",
)
ALIGNMENT = ("aligned_short", "aligned_long", "longest_run")
# the shipped model's: alignment added nothing, the word containment and the product passed more templates
# (results/fit_decision.json)
FEATURES = tuple(f for f in KNOWN if f not in ALIGNMENT and f not in ("contain_words", "contain_x_log_size"))
_MODEL = "decision_model.json"


@dataclass(frozen=True)
class PairContext:
    """What the article table says about each pair: same outlet, and the time between them (NaN: undated)."""

    same_source: np.ndarray  # bool (m,)
    days: np.ndarray  # float (m,), absolute

    @classmethod
    def of(cls, sources: np.ndarray, times: np.ndarray, pairs: np.ndarray) -> "PairContext":
        """From per-row source codes and times (seconds, NaN when undated) and pairs of rows."""
        i, j = pairs[:, 0], pairs[:, 1]
        return cls(sources[i] == sources[j], np.abs(times[i] - times[j]) / 86400.0)


@dataclass(frozen=True)
class Aligned:
    """Passage alignment of each pair, the short side first (see :mod:`dedup.text.align`)."""

    short: np.ndarray  # share of the shorter article's k-grams inside shared passages
    long: np.ndarray
    longest: np.ndarray  # longest shared passage, in tokens


def feature_matrix(scores: PairScores, context: PairContext, aligned: Aligned | None,
                   names: tuple[str, ...] = FEATURES) -> np.ndarray:
    """``(m, len(names))`` float64 features, in the order of ``names`` (any of :data:`KNOWN`).

    ``aligned`` is needed only when ``names`` holds an :data:`ALIGNMENT` feature.
    """
    assert scores.size_i is not None and scores.rare_inter is not None, "score_pairs keeps the decision's inputs"
    assert "contain_words" not in names or scores.words_inter is not None, "score_pairs keeps the shared words"
    i_short = scores.size_i <= scores.size_j
    short_size = np.minimum(scores.size_i, scores.size_j)
    long_size = np.maximum(scores.size_i, scores.size_j)
    r_short = np.where(i_short, scores.rare_i, scores.rare_j)
    r_union = scores.rare_i + scores.rare_j - scores.rare_inter
    with np.errstate(divide="ignore", invalid="ignore"):
        rare_jaccard = np.where(r_union > 0, scores.rare_inter / r_union, 0.0)
        rare_contain = np.where(r_short > 0, scores.rare_inter / r_short, 0.0)
        contain_words = None
        if scores.words_inter is not None:
            w_short = np.where(i_short, scores.words_i, scores.words_j)
            contain_words = np.where(w_short > 0, np.minimum(scores.words_inter / w_short, 1.0), 0.0)
    contain_short = np.where(i_short, scores.contain_ij, scores.contain_ji)
    contain_long = np.where(i_short, scores.contain_ji, scores.contain_ij)
    undated = np.isnan(context.days)
    cols = {
        "jaccard": scores.jaccard,
        "contain_short": contain_short,
        "contain_long": contain_long,
        "cosine": scores.cosine,
        "rare_jaccard": rare_jaccard,
        "rare_contain": rare_contain,
        "rare_none": (r_short == 0).astype(np.float64),
        "contain_words": contain_words,
        "log_size_ratio": np.log((long_size + 1.0) / (short_size + 1.0)),
        "log_min_size": np.log1p(short_size),
        "contain_x_log_size": contain_short * np.log1p(short_size),
        "same_source": context.same_source.astype(np.float64),
        "log_days": np.log1p(np.where(undated, 0.0, context.days)),
        "undated": undated.astype(np.float64),
    }
    if aligned is not None:
        cols.update(aligned_short=aligned.short, aligned_long=aligned.long, longest_run=np.log1p(aligned.longest))
    elif any(f in ALIGNMENT for f in names):
        raise ValueError("feature_matrix: alignment features asked for without an alignment")
    return np.column_stack([np.asarray(cols[f], dtype=np.float64) for f in names]) if len(scores.jaccard) \
        else np.zeros((0, len(names)))


@dataclass(frozen=True)
class DecisionModel:
    """A fitted logistic regression over standardized features (any of :data:`KNOWN`), and its threshold.

    ``upper``: for some features, the largest value the fit saw; a pair
    beyond it is scored as if it were at it. The labelled pairs are at most
    about two weeks apart, and a linear weight on the time between two
    articles, carried months out (a history index holds months), turned a
    copy with one comma changed into "no duplicate" at 90 days (0.51 where
    the same pair scored 0.97 two weeks apart): what the labels never showed,
    the model does not extrapolate.
    """

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float
    fit: dict[str, Any]
    upper: dict[str, float] = field(default_factory=dict)

    def probability(self, x: np.ndarray) -> np.ndarray:
        """Probability of being copies, per row of a :func:`feature_matrix`."""
        if self.upper:
            x = x.copy()
            for name, top in self.upper.items():
                col = self.features.index(name)
                np.minimum(x[:, col], top, out=x[:, col])
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "threshold": self.threshold,
            **({"upper": dict(self.upper)} if self.upper else {}),
            "fit": self.fit,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DecisionModel":
        unknown = [f for f in d["features"] if f not in KNOWN]
        if unknown:
            raise ValueError(f"decision model features {unknown} are not among this version's {list(KNOWN)}")
        upper = {str(k): float(v) for k, v in dict(d.get("upper") or {}).items()}
        if any(k not in d["features"] for k in upper):
            raise ValueError(f"upper names features {sorted(set(upper) - set(d['features']))} the model does not have")
        return cls(tuple(d["features"]), np.asarray(d["mean"], float), np.asarray(d["scale"], float),
                   np.asarray(d["coef"], float), float(d["intercept"]), float(d["threshold"]), dict(d.get("fit", {})), upper)


@lru_cache(maxsize=4)
def load_model(path: str = "") -> DecisionModel:
    """The model in ``path`` (written by ``scripts/fit_decision.py``), or the one shipped in the package.

    Raises:
        ConfigError: the file cannot be read or is not a model of this version.
    """
    from ..errors import ConfigError

    try:
        if path:
            with open(path, encoding="utf-8") as f:
                return DecisionModel.from_dict(json.load(f))
        with resources.files("dedup").joinpath("data").joinpath(_MODEL).open("r", encoding="utf-8") as f:
            return DecisionModel.from_dict(json.load(f))
    except OSError as exc:
        raise ConfigError(f"{path or _MODEL}: cannot read the decision model ({exc.strerror or exc})") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path or _MODEL}: not a decision model of this version ({exc})") from None


def model_identity(path: str = "") -> dict[str, Any]:
    """Which decision model a run used, for its ``summary.json``: the file (``""``: the one shipped in the package),
    the SHA-256 of its bytes, and its threshold, so two runs' decisions can be told apart by the model they used."""
    import hashlib

    if path:
        with open(path, "rb") as f:
            data = f.read()
    else:
        data = resources.files("dedup").joinpath("data").joinpath(_MODEL).read_bytes()
    return {"file": path or f"dedup/data/{_MODEL} (shipped)", "sha256": hashlib.sha256(data).hexdigest(),
            "threshold": load_model(path).threshold}


def copy_probability(scores: PairScores, probability: np.ndarray) -> np.ndarray:
    """The probability reported for each pair: the model's, and 1 for an exact copy (equal normalized texts).

    Exact copies within a feed share one text and are never put to the
    model (their edges carry 1); an exact copy met as a pair (a stored
    article and a new one, or ``dedup similarity``) was reported with the
    model's value, 0.05 for a short text: the same copy, other numbers.
    """
    return np.where(scores.exact, 1.0, probability)


def relations(scores: PairScores, probability: np.ndarray, threshold: float) -> np.ndarray:
    """The relation of each pair under the learned decision.

    ``EXACT`` for equal normalized texts; otherwise a pair at or above
    ``threshold`` is a copy: ``CONTAINED`` when the shorter article is
    inside a longer one that has much more besides (its Jaccard is under half
    the shorter's containment: a roundup, an extended version), else
    ``NEAR``. ``NONE`` below the threshold.
    """
    rel = np.full(len(probability), NONE, dtype=np.int8)
    copy = probability >= threshold
    rel[copy] = np.where(scores.jaccard[copy] < 0.5 * scores.containment[copy], CONTAINED, NEAR)
    rel[scores.exact] = EXACT
    return rel
