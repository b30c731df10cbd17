"""The semantic story score in `dedup stories` and `dedup similarity` (``--semantic``, extra ``dedup[semantic]``).

Off, nothing of it runs; on, only the pairs in the model's band are
re-scored, and events and verdicts follow the new score. Most tests put a
stand-in encoder in place of the real one (hashed words, no weights), so they
run without the extra; the Arabic tests use the real encoder and skip
without it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dedup.cli import app
from dedup.config import NormalizeConfig, StoriesConfig
from dedup.errors import ConfigError
from dedup.flows.similarity import similarity
from dedup.flows.stories import day_input, stories
from dedup.stories import semantic
from dedup.types import Article

from test_stories_index import _bridged_feed, across_feeds
from test_stories_stream import _feed

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()

# Two reports of one event, written independently (Arabic): few shared words, the same happening.
REWORDED = [
    ("أعلنت المديرية العامة للدفاع المدني أن حريقا اندلع صباح اليوم في مستودع للأثاث بالمنطقة الصناعية في الدمام، "
     "وتمكنت فرق الإطفاء من السيطرة عليه بعد ست ساعات دون تسجيل إصابات",
     "سيطرت فرق الدفاع المدني على حريق كبير شب في مستودع أثاث بالمدينة الصناعية بالدمام، واستمرت عمليات الإخماد ست "
     "ساعات، ولم يصب أحد"),
    ("وافق مجلس الوزراء في جلسته برئاسة خادم الحرمين الشريفين على خطة لإنشاء ثلاثة مطارات جديدة في المناطق الشمالية "
     "بتمويل من صندوق الاستثمارات العامة خلال السنوات الخمس المقبلة",
     "أقر مجلس الوزراء خطة لبناء ثلاثة مطارات في الشمال يمولها صندوق الاستثمارات العامة على مدى خمس سنوات، خلال "
     "الجلسة التي رأسها الملك"),
]
FILLER = [
    "أعلن البنك المركزي إبقاء سعر الفائدة الرئيسي دون تغيير وقال إن التضخم بقي ضمن النطاق المستهدف",
    "أغرقت الأمطار الغزيرة شوارع المدينة الساحلية وأنقذ الدفاع المدني سائقين علقوا في سياراتهم",
    "فتحت الجامعة باب التسجيل للعام الدراسي الجديد في تخصصات الطب والهندسة والقانون",
    "ستزود محطة تحلية جديدة نصف مليون من سكان المنطقة الشرقية بالمياه العام المقبل",
]


def _hashed_words(texts, model=None) -> np.ndarray:
    """A stand-in encoder: unit rows of hashed words (16 columns, signs from sha1), deterministic across processes."""
    out = np.zeros((len(texts), 16), dtype=np.float32)
    for k, text in enumerate(texts):
        for word in str(text).split():
            h = hashlib.sha1(word.encode("utf-8")).digest()
            out[k, h[0] % 16] += 1.0 if h[1] % 2 else -1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The extra counts as installed and :func:`semantic.embed` is the stand-in; the list counts the texts embedded."""
    calls: list[int] = []

    def embed(texts, model=None):
        calls.append(len(texts))
        return _hashed_words(texts)

    monkeypatch.setattr(semantic, "available", lambda encoder=None: True)
    monkeypatch.setattr(semantic, "embed", embed)
    return calls


def _with_band(monkeypatch: pytest.MonkeyPatch, low: float, high: float) -> semantic.SemanticModel:
    shipped = semantic.load_model()
    model = semantic.SemanticModel(shipped.encoder, shipped.max_chars, shipped.features, shipped.coef, shipped.intercept,
                                   (low, high), shipped.fit)
    monkeypatch.setattr(semantic, "load_model", lambda path="": model)
    return model


def _outcome(res) -> tuple:
    return (res.event.tolist(), res.storyline.tolist(), res.representative.tolist(), res.pairs.tolist(), res.scores.tolist())


# --- off: nothing of it runs


def test_off_embeds_nothing_and_days_carry_no_embeddings(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("embed called with --semantic off")

    monkeypatch.setattr(semantic, "embed", refuse)
    day = day_input(["a report of the day"], ["a headline"], None, np.array([0.0]), np.array([-1]), np.array([0.0]),
                    np.array([0]), normalize=NormalizeConfig(), config=StoriesConfig())
    assert day.embeddings is None
    res = stories(_feed(3))
    assert len(res.event) == len(_feed(3))


def test_on_with_an_empty_band_gives_the_result_of_off(stand_in: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    arts = _feed(5)
    off = stories(arts)
    _with_band(monkeypatch, 0.5, 0.5)  # no score lies in [0.5, 0.5): every pair keeps its lexical score
    on = stories(arts, StoriesConfig(semantic=True))
    assert sum(stand_in) == len(arts), "every article is embedded once, with its day"
    assert _outcome(on) == _outcome(off)


# --- on: the band is re-scored, and only the band


def test_only_the_pairs_in_the_band_change(stand_in: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    arts = _bridged_feed()  # follow-ups score 0.36 to 0.61 with the reports they restate; copies 0.96 and more
    off = stories(arts)
    low, high = _with_band(monkeypatch, 0.4, 0.97).band
    on = stories(arts, StoriesConfig(semantic=True))
    before = {tuple(p): s for p, s in zip(off.pairs.tolist(), off.scores.tolist())}
    after = {tuple(p): s for p, s in zip(on.pairs.tolist(), on.scores.tolist())}
    inside = {p for p, s in before.items() if low <= s < high}
    assert inside and set(before) - inside, "the feed has pairs inside and outside the band"
    assert all(after[p] == s for p, s in before.items() if p not in inside), "a pair outside the band keeps its score"
    assert {p for p in inside if p in after and after[p] != before[p]}, "pairs inside the band are re-scored"
    assert set(after) <= set(before), "re-scoring adds no candidate pair"


def test_feeds_through_an_index_with_semantic_equal_one_batch(stand_in: list[int], monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    from dedup.config import DedupConfig
    from dedup.store.history import open_index

    _with_band(monkeypatch, 0.3, 0.97)
    config = StoriesConfig(semantic=True)
    arts = _bridged_feed()
    batch = stories(arts, config)
    assert batch.scores.tolist() != stories(arts).scores.tolist(), "the stand-in embeddings change scores"
    names = lambda res: {a.id: res.name(int(res.event[p])) for p, a in enumerate(res.articles)}  # noqa: E731
    index = open_index(str(tmp_path / "h.db"), DedupConfig())
    try:
        one = stories([a for a in arts if a.date < "2015-07-25"], config, index=index)
        two = stories([a for a in arts if a.date >= "2015-07-25"], config, index=index)
        assert names(one) | names(two) == across_feeds(names(batch))
    finally:
        index.close()


def test_the_tracker_refuses_a_day_without_embeddings(stand_in: list[int]) -> None:
    from dedup.stories.day import build_day
    from dedup.stories.events import EventTracker

    config = StoriesConfig(semantic=True)
    day = build_day(["a report"], [""], np.array([0.0]), np.array([-1]), np.array([0]), config)
    with pytest.raises(ValueError, match="no embeddings"):
        EventTracker(1, config).add_day(day)


def test_similarity_verdict_follows_the_semantic_score(stand_in: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    a = "the cabinet approved a plan to build three new airports in the northern regions financed by the public fund"
    b = "three airports will be built in the north the cabinet decided with money from the public investment fund"
    off = similarity([a], [b])
    model = _with_band(monkeypatch, 0.0, 1.0)
    monkeypatch.setattr(semantic, "embed", lambda texts, model=None: np.ones((len(texts), 4), np.float32) / 2.0)  # cosine 1
    on = similarity([a], [b], StoriesConfig(semantic=True))
    expected = semantic.semantic_story_scores(off.story_features, np.array([1.0]), model)
    np.testing.assert_allclose(on.story_score, expected * semantic.template_factor(off.story_features, off.story_score, StoriesConfig()))
    assert on.story_score[0] != off.story_score[0]
    threshold = StoriesConfig().event_threshold
    assert on.verdict == ["same_event" if on.story_score[0] >= threshold else "different"]
    monkeypatch.setattr(semantic, "embed", lambda texts, model=None: np.eye(len(texts), 4, dtype=np.float32))  # cosine 0
    apart = similarity([a], [b], StoriesConfig(semantic=True))
    assert apart.story_score[0] < on.story_score[0]
    assert on.verdict == ["same_event"] and apart.verdict == ["different"]


def test_similarity_cli_semantic_option(stand_in: list[int], tmp_path: Path) -> None:
    a, b = REWORDED[1]
    src = tmp_path / "pairs.jsonl"
    src.write_text(json.dumps({"id": "p", "text1": a, "text2": b}, ensure_ascii=False) + "\n", encoding="utf-8")
    got = {}
    for flag in ([], ["--semantic"]):
        out = tmp_path / f"out{len(flag)}.jsonl"
        res = runner.invoke(app, ["similarity", str(src), "--out", str(out), *flag])
        assert res.exit_code == 0, res.output
        got[bool(flag)] = json.loads(out.read_text(encoding="utf-8"))["story_score"]
    lexical = similarity([a], [b]).story_score[0]
    semantic_score = similarity([a], [b], StoriesConfig(semantic=True)).story_score[0]
    assert semantic.pairs_to_rescore(np.array([lexical])).tolist() == [0], "the pair lies in the band"
    assert got[False] == pytest.approx(lexical, abs=1e-4) and got[True] == pytest.approx(semantic_score, abs=1e-4)
    assert got[True] != got[False]


# --- the extra absent


def test_without_the_extra_a_flow_is_one_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(semantic, "available", lambda encoder=None: False)
    config = StoriesConfig(semantic=True)  # a setting like any other; the flows check the encoder before they read
    with pytest.raises(ConfigError, match=r"pip install 'dedup\[semantic\]'"):
        stories(iter(()), config)
    with pytest.raises(ConfigError, match=r"pip install 'dedup\[semantic\]'"):
        similarity(["a b c"], ["a b d"], config)


@pytest.mark.parametrize("command", ["stories", "similarity"])
def test_without_the_extra_the_cli_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str) -> None:
    monkeypatch.setattr(semantic, "available", lambda encoder=None: False)
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "p", "text1": "a b c", "text2": "a b d", "text": "a b c"}) + "\n", encoding="utf-8")
    res = runner.invoke(app, [command, str(src), "--out", str(tmp_path / "out"), "--semantic"])
    assert res.exit_code == 1
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "pip install 'dedup[semantic]'" in lines[0], res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "out").exists()


# --- with the real encoder


def _encoder() -> None:
    pytest.importorskip(semantic.ENCODERS[semantic.load_model().encoder].module)


@pytest.mark.parametrize("pair", [0, 1], ids=["fire", "airports"])
def test_a_reworded_arabic_report_scores_higher_than_lexically(pair: int) -> None:
    _encoder()
    a, b = REWORDED[pair]
    off = similarity([a], [b])
    on = similarity([a], [b], StoriesConfig(semantic=True))
    assert semantic.pairs_to_rescore(off.story_score).tolist() == [0], f"lexical {off.story_score[0]:.3f} is in the band"
    assert on.story_score[0] > off.story_score[0] + 0.05
    assert off.verdict == ["different"] and on.verdict == ["same_event"]


@pytest.mark.parametrize("pair", [0, 1], ids=["fire", "airports"])
def test_a_reworded_arabic_report_joins_the_event_with_semantic(pair: int) -> None:
    _encoder()
    a, b = REWORDED[pair]
    arts = [Article("a", a, "", "2015-07-21 08:00", "one"), Article("b", b, "", "2015-07-21 14:00", "two")]
    arts += [Article(f"f{k}", f, "", "2015-07-21 10:00", "three") for k, f in enumerate(FILLER)]
    off = stories(arts)
    on = stories(arts, StoriesConfig(semantic=True))
    assert off.event[0] != off.event[1], "lexically, two events"
    assert on.event[0] == on.event[1], "with the encoder, one event"
    assert len(set(on.event[2:].tolist())) == len(FILLER) and not set(on.event[2:].tolist()) & {int(on.event[0])}
    assert on.pairs.tolist() == off.pairs.tolist() and on.scores[0] > off.scores[0]
