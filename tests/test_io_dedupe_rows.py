"""pairs.jsonl is written line by line without an encoder call per edge: the lines must be what the row encoder writes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dedup import Article, dedupe
from dedup.config import DedupConfig, VerifyConfig
from dedup.io.dedupe_rows import pair_lines, pair_rows
from dedup.io.writers import json_line

SEEDS = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))


def _result(ids: list[str], decision: str = "model"):
    texts = [p.read_text(encoding="utf-8") for p in SEEDS]
    base = texts[0]
    copies = [base, base + "\n\nفقرة مضافة في آخر الخبر.", base[: len(base) * 3 // 4], base.replace("،", ","), texts[1], texts[1] + " ."]
    arts = [Article(id=i, text=t, date=f"2015-08-0{k + 1}", source=f"s{k}") for k, (i, t) in enumerate(zip(ids, copies))]
    return dedupe(arts, DedupConfig(verify=VerifyConfig(decision=decision)))


def _same(result) -> None:
    assert len(result.pairs) >= 3
    assert "".join(pair_lines(result)) == "".join(json_line(r) for r in pair_rows(result))


@pytest.mark.parametrize("decision", ["model", "rule"])
def test_pair_lines_are_the_encoded_rows(decision: str) -> None:
    _same(_result(["a", "خبر-١", 'quote"and\\back', "tab\tid", "é", "z"], decision))


def test_an_id_with_a_lone_surrogate_is_escaped_as_the_encoder_escapes_it() -> None:
    result = _result(["a", "b\ud800", "خبر", "d", "e", "f"])
    _same(result)
    assert any("\\ud800" in line for line in pair_lines(result))


def test_missing_scores_are_null_and_blocks_join_seamlessly(monkeypatch: pytest.MonkeyPatch) -> None:
    import dedup.io.dedupe_rows as rows

    result = _result(["a", "b", "c", "d", "e", "f"])
    s = result.pair_scores
    nan_scores = replace(s, cosine=np.where(np.arange(len(s.cosine)) % 2 == 0, np.nan, s.cosine))
    result = replace(result, pair_scores=nan_scores)
    monkeypatch.setattr(rows, "_PAIR_BLOCK", 2)  # several blocks, one of them short
    _same(result)
    assert any('"cosine":null' in line for line in pair_lines(result))


def test_scores_are_formatted_as_json_writes_them_rounded() -> None:
    """The looked-up strings equal ``json(round(x, 4))`` for every kind of value, ties and edges included."""
    from dedup.io.dedupe_rows import _num, _nums

    rng = np.random.default_rng(0)
    ties = (np.arange(0, 10000) + 0.5) / 10000  # x·10^4 at (or a rounding away from) a half
    values = np.concatenate([rng.random(20000), ties, np.nextafter(ties, 0), np.nextafter(ties, 1),
                             [0.0, -0.0, 1.0, np.nan, 1.00005, 2.5, -0.3, 1e-9, 0.99995, 0.00005, np.inf]])
    assert _nums(values) == [_num(float(v)) for v in values]
    assert _nums(np.array([-0.0, np.nan, 0.12345]))[:2] == ["-0.0", "null"]
