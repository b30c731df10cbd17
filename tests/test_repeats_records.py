"""dedup.repeats.records: the documented record of a relation, counts by kind, the per-article summary."""

from __future__ import annotations

import dataclasses
import json
import typing

import pytest

from dedup.repeats.records import KINDS, ArticleRepeats, Kind, Repeat


def _article(kinds: list[str], redundant: int = 0, share: float = 0.0) -> ArticleRepeats:
    reps = tuple(Repeat(k + 1, 0, kind, 1.0, 10 * k, 10 * k + 5, 0, 5) for k, kind in enumerate(kinds))  # type: ignore[arg-type]
    n_boiler = sum(1 for k in kinds if k == "boilerplate")
    return ArticleRepeats(
        repeats=reps, n_paragraphs=len(kinds) + 1, n_repeats=len(kinds) - n_boiler, n_boilerplate=n_boiler,
        redundant_chars=redundant, redundant_share=share, paragraphs=(), drop=(), fragments=(), text_length=0,
    )


def test_kinds_are_the_literal_of_kind() -> None:
    assert KINDS == typing.get_args(Kind) == ("exact", "contained", "near", "boilerplate")


@pytest.mark.parametrize(
    ("repeat", "record"),
    [
        pytest.param(Repeat(2, 0, "exact", 1.0, 50, 96, 0, 46), {"paragraph": 2, "in": 0, "kind": "exact", "similarity": 1.0,
                                                               "start": 50, "end": 96, "in_start": 0, "in_end": 46}, id="exact"),
        pytest.param(Repeat(3, 1, "near", 0.9123, 7, 9, 1, 3), {"paragraph": 3, "in": 1, "kind": "near", "similarity": 0.9123,
                                                               "start": 7, "end": 9, "in_start": 1, "in_end": 3},
                     id="near-keeps-its-similarity"),
        pytest.param(Repeat(5, 3, "contained", 1.0, 1661, 1907, 522, 768),
                     {"paragraph": 5, "in": 3, "kind": "contained", "similarity": 1.0, "start": 1661, "end": 1907,
                      "in_start": 522, "in_end": 768}, id="contained-locates-the-glued-copy"),
    ],
)
def test_as_record_has_the_documented_keys_and_the_copy_span(repeat, record) -> None:
    out = repeat.as_record("مقال-1")
    assert out == {"id": "مقال-1", **record}
    assert list(out) == ["id", "paragraph", "in", "kind", "similarity", "start", "end", "in_start", "in_end"]
    assert json.loads(json.dumps(out, ensure_ascii=False)) == out


def test_records_are_frozen_and_slotted() -> None:
    r = Repeat(1, 0, "exact", 1.0, 0, 1, 0, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.paragraph = 2  # type: ignore[misc]
    assert not hasattr(r, "__dict__")
    assert r == Repeat(1, 0, "exact", 1.0, 0, 1, 0, 1) and hash(r) == hash(Repeat(1, 0, "exact", 1.0, 0, 1, 0, 1))


@pytest.mark.parametrize(
    ("kinds", "counts"),
    [
        pytest.param([], {"exact": 0, "contained": 0, "near": 0, "boilerplate": 0}, id="none"),
        pytest.param(["exact", "exact", "near"], {"exact": 2, "contained": 0, "near": 1, "boilerplate": 0}, id="some"),
        pytest.param(["boilerplate", "contained", "boilerplate", "exact"], {"exact": 1, "contained": 1, "near": 0, "boilerplate": 2},
                     id="every-kind-but-near"),
    ],
)
def test_by_kind_names_every_kind(kinds, counts) -> None:
    by_kind = _article(kinds).by_kind()
    assert by_kind == counts and list(by_kind) == list(KINDS)


def test_summary_is_json_and_has_no_text() -> None:
    a = _article(["exact", "boilerplate"], redundant=42, share=0.125)
    assert a.summary() == {  # the boilerplate lines once, in by_kind (n_boilerplate beside it before)
        "paragraphs": 3,
        "repeats": 1,
        "by_kind": {"exact": 1, "contained": 0, "near": 0, "boilerplate": 1},
        "redundant_chars": 42,
        "redundant_share": 0.125,
    }
    assert json.loads(json.dumps(a.summary())) == a.summary()
