"""The semantic story score (dedup.stories.semantic): off the default path, the shipped model, the encoders' contract.

The encoder tests skip when the encoder package is absent (the extra
``dedup[semantic]`` is optional); the rest need no encoder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dedup.config import StoriesConfig
from dedup.errors import ConfigError
from dedup.stories import semantic

REPO = Path(__file__).resolve().parents[1]
ENCODER_MODULES = {"dedup.stories.semantic"} | {e.module for e in semantic.ENCODERS.values()}


def _modules_after(code: str) -> set[str]:
    """The modules loaded after running ``code`` in a fresh interpreter."""
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", script], check=False, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


# --- without the extra: nothing of it is loaded


def test_importing_dedup_and_the_stories_flow_loads_no_encoder() -> None:
    loaded = _modules_after("import dedup, dedup.stories, dedup.flows.stories")
    assert sorted(ENCODER_MODULES & loaded) == []


def test_dedup_stories_on_the_seeds_loads_no_encoder(tmp_path: Path) -> None:
    code = (
        "import runpy\n"
        f"sys.argv = ['dedup', 'stories', {str(REPO / 'seeds')!r}, '--out', {str(tmp_path)!r}]\n"
        "try:\n"
        "    runpy.run_module('dedup', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
    )
    loaded = _modules_after(code)
    assert sorted(ENCODER_MODULES & loaded) == []
    assert (tmp_path / "stories.jsonl").exists()


def test_available_imports_no_encoder() -> None:
    code = "from dedup.stories import semantic\nassert isinstance(semantic.available(), bool)"
    loaded = _modules_after(code)
    assert sorted({e.module for e in semantic.ENCODERS.values()} & loaded) == []


# --- the shipped model (plain numbers: no encoder needed)


def test_shipped_model_loads_and_fits_this_version() -> None:
    model = semantic.load_model()
    assert model.encoder in semantic.ENCODERS
    assert model.features == semantic.FEATURES
    assert model.coef.shape == (len(semantic.FEATURES),) and np.isfinite(model.coef).all()
    assert model.max_chars >= 1
    low, high = model.band
    assert low < StoriesConfig().event_threshold <= high, "the band is around the event threshold"
    assert model.fit["script"] == "scripts/fit_semantic.py"
    again = semantic.SemanticModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again.to_dict() == model.to_dict()


def test_shipped_file_is_json_without_pickle() -> None:
    raw = (REPO / "dedup" / "data" / "semantic_model.json").read_text(encoding="utf-8")
    d = json.loads(raw)
    assert set(d) == {"encoder", "max_chars", "features", "coef", "intercept", "band", "fit"}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"encoder": "word2vec"}, "unknown encoder"),
        ({"features": ["sqrt_cosine"]}, "features"),
        ({"coef": [1.0, 2.0]}, "weights"),
        ({"band": [0.9, 0.5]}, "band"),
        ({"max_chars": 0}, "max_chars"),
    ],
    ids=["encoder", "features", "coef-length", "band-order", "max-chars"],
)
def test_a_model_file_of_another_shape_is_refused(tmp_path: Path, change: dict, message: str) -> None:
    d = semantic.load_model().to_dict() | change
    path = tmp_path / "model.json"
    path.write_text(json.dumps(d), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        semantic.load_model(str(path))


@pytest.mark.parametrize("text", ["", "{", '{"encoder": "use"}'], ids=["empty", "not-json", "fields-missing"])
def test_a_broken_model_file_is_one_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "model.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="semantic model"):
        semantic.load_model(str(path))


def test_a_missing_model_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the semantic model"):
        semantic.load_model(str(tmp_path / "absent.json"))


def test_scores_are_the_logistic_of_the_features_and_the_cosine() -> None:
    model = semantic.load_model()
    rng = np.random.default_rng(0)
    feats = np.column_stack([rng.uniform(0, 1, 50), -rng.exponential(1.0, 50), rng.uniform(0, 1, 50)])
    cos = rng.uniform(-0.2, 1.0, 50)
    got = semantic.semantic_story_scores(feats, cos)
    z = model.intercept + np.column_stack([feats, cos]) @ model.coef
    np.testing.assert_allclose(got, 1.0 / (1.0 + np.exp(-z)))
    assert got.shape == (50,) and ((got > 0) & (got < 1)).all()
    assert semantic.semantic_story_scores(np.zeros((0, 3)), np.zeros(0)).shape == (0,)
    with pytest.raises(ValueError, match="cosines"):
        semantic.semantic_story_scores(feats, cos[:-1])


@pytest.mark.parametrize(
    "scores, expected",
    [
        ([], []),
        ([0.1, 0.2], []),
        ([0.5, 0.7, 0.8, 0.95], [1, 2]),
        ([0.6, np.nan, 0.6], [0, 2]),
        ([0.9, 0.9], []),
    ],
    ids=["empty", "all-below", "edges", "nan", "all-above"],
)
def test_pairs_to_rescore_take_the_band_low_inclusive_high_exclusive(scores: list, expected: list) -> None:
    model = semantic.SemanticModel("use", 500, semantic.FEATURES, np.zeros(4), 0.0, (0.6, 0.9), {})
    got = semantic.pairs_to_rescore(np.array(scores, dtype=float), model)
    assert got.dtype == np.int64 and got.tolist() == expected


def test_pairs_to_rescore_with_the_shipped_band() -> None:
    low, high = semantic.load_model().band
    scores = np.array([low - 1e-9, low, (low + high) / 2, high])
    assert semantic.pairs_to_rescore(scores).tolist() == ([1, 2] if high < 1.0 else [1, 2, 3])


def test_template_factor_recovers_the_story_score_penalty() -> None:
    from dedup.flows.similarity import similarity

    weather = [f"درجات الحرارة اليوم في الرياض {a} وفي جدة {b} وفي الدمام {c} "
               "مع رياح نشطة وأجواء مغبرة على المناطق الشرقية والوسطى" for a, b, c in ((41, 37, 44), (43, 36, 45))]
    other = ["وقع خادم الحرمين الشريفين اتفاقية تعاون مع الرئيس الفرنسي في قصر الإليزيه "
             "لتعزيز الاستثمار بين البلدين في مجالات الطاقة"] * 2
    res = similarity([weather[0], other[0]], [weather[1], other[1]])
    config = StoriesConfig()
    factor = semantic.template_factor(res.story_features, res.story_score, config)
    z = config.score_intercept + res.story_features @ np.array([config.score_cosine, config.score_length, config.score_numbers])
    np.testing.assert_allclose(res.story_score, factor / (1.0 + np.exp(-z)))
    assert factor[0] <= config.number_penalty + 1e-9, "the weather bulletins of two days are damped"
    assert factor[1] == 1.0, "a report set beside itself is not"


def test_pair_cosines_of_unit_rows() -> None:
    v = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)
    np.testing.assert_allclose(semantic.pair_cosines(v, np.array([[0, 1], [0, 2], [2, 2]])), [0.0, 0.6, 1.0], atol=1e-7)
    assert semantic.pair_cosines(v, np.zeros((0, 2), dtype=np.int64)).shape == (0,)


def test_a_missing_encoder_package_is_one_config_error_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = semantic.Encoder("use", "no_such_encoder_module", "no-such-encoder", 8)
    monkeypatch.setattr(semantic, "ENCODERS", {**semantic.ENCODERS, "use": fake})
    semantic._encoder.cache_clear()
    try:
        assert semantic.available("use") is False
        model = semantic.SemanticModel("use", 100, semantic.FEATURES, np.zeros(4), 0.0, (0.5, 0.9), {})
        with pytest.raises(ConfigError, match=r"no-such-encoder.*pip install 'dedup\[semantic\]'"):
            semantic.embed(["text"], model)
    finally:
        semantic._encoder.cache_clear()


# --- with the extra: the encoders' contract


def _model_for(encoder: str) -> semantic.SemanticModel:
    pytest.importorskip(semantic.ENCODERS[encoder].module)
    shipped = semantic.load_model()
    cut = shipped.max_chars if shipped.encoder == encoder else 500
    return semantic.SemanticModel(encoder, cut, semantic.FEATURES, shipped.coef, shipped.intercept, shipped.band, {})


TEXTS = [
    "انفجار في مصنع بالرياض يودي بحياة ثلاثة عمال وإصابة آخرين",
    "مقتل ثلاثة عمال وإصابة آخرين في انفجار داخل مصنع في الرياض",
    "المنتخب السعودي يفوز على نظيره الأردني في مباراة ودية",
    "Three workers killed in a factory explosion in Riyadh",
    "",
]


@pytest.mark.parametrize("encoder", sorted(semantic.ENCODERS))
def test_embeddings_are_float32_unit_rows_of_the_encoder_dimension(encoder: str) -> None:
    model = _model_for(encoder)
    v = semantic.embed(TEXTS, model)
    assert v.shape == (len(TEXTS), semantic.ENCODERS[encoder].dim) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v[:-1], axis=1), 1.0, atol=1e-5)
    assert np.isfinite(v).all()
    assert semantic.embed([], model).shape == (0, semantic.ENCODERS[encoder].dim)


@pytest.mark.parametrize("encoder", sorted(semantic.ENCODERS))
def test_embeddings_are_deterministic(encoder: str) -> None:
    model = _model_for(encoder)
    assert np.array_equal(semantic.embed(TEXTS, model), semantic.embed(TEXTS, model))


def test_embeddings_are_the_same_in_a_fresh_process() -> None:
    model = semantic.load_model()
    pytest.importorskip(semantic.ENCODERS[model.encoder].module)
    code = (
        "import hashlib, json, sys\n"
        "from dedup.stories import semantic\n"
        "texts = json.loads(sys.stdin.read())\n"
        "print(hashlib.sha256(semantic.embed(texts).tobytes()).hexdigest())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, input=json.dumps(TEXTS), cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    import hashlib

    assert out.stdout.strip() == hashlib.sha256(semantic.embed(TEXTS).tobytes()).hexdigest()


@pytest.mark.parametrize("encoder", sorted(semantic.ENCODERS))
def test_texts_are_cut_to_max_chars(encoder: str) -> None:
    model = _model_for(encoder)
    long = TEXTS[0] + " " + " ".join(TEXTS[2] for _ in range(200))
    assert len(long) > model.max_chars
    np.testing.assert_array_equal(semantic.embed([long], model), semantic.embed([long[: model.max_chars]], model))


@pytest.mark.parametrize("encoder", sorted(semantic.ENCODERS))
def test_a_reworded_report_is_nearer_than_another_story(encoder: str) -> None:
    model = _model_for(encoder)
    v = semantic.embed(TEXTS[:4], model)
    cos = semantic.pair_cosines(v, np.array([[0, 1], [0, 2], [0, 3], [2, 3]]))
    assert cos[0] > cos[1], "the same explosion, reworded, is nearer than a football match"
    assert cos[2] > cos[3], "the English report of the explosion is nearer to it than the match is"
