"""dedup.serve.models: the request and response bodies validate what the readers require, and say the readers' aliases."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dedup.io.readers.records import FIELD_ALIASES
from dedup.serve.guard import error_body
from dedup.serve.models import (
    ArticleIn,
    Decision,
    ErrorOut,
    Health,
    PairOut,
    SimilarityIn,
    SimilarityOut,
    StoredArticle,
)


def test_every_alias_the_readers_accept_is_a_field_of_a_posted_article() -> None:
    declared = set(ArticleIn.model_fields)
    aliases = {alias for names in FIELD_ALIASES.values() for alias in names}
    assert aliases <= declared
    assert declared == aliases  # and nothing else is declared (other fields pass as extras)


def test_the_schema_documents_each_field_and_its_aliases() -> None:
    props = ArticleIn.model_json_schema()["properties"]
    for field, names in FIELD_ALIASES.items():
        described = props[names[0]].get("description", "")
        for alias in names[1:]:
            assert alias in described, (field, alias)


@pytest.mark.parametrize(
    "record",
    [
        pytest.param({"id": "a", "text": "x"}, id="string-id"),
        pytest.param({"id": 7, "text": "x"}, id="integer-id"),
        pytest.param({"id": 7.5, "text": "x"}, id="float-id"),
        pytest.param({"url": "https://u", "maintext": "x"}, id="news-please-names"),
        pytest.param({"id": "a", "body": "x", "headline": "h", "published": "2024-01-01", "source_domain": "s"}, id="aliases"),
        pytest.param({"id": "a", "text": "x", "title": 3, "date": 20240101, "source": 1.5}, id="numbers-where-the-readers-take-them"),
        pytest.param({"id": "a", "text": None}, id="a-null-text-is-left-to-the-intake"),
        pytest.param({}, id="an-empty-object-too"),
        pytest.param({"id": "a", "text": "x", "tags": ["a"], "meta": {"k": 1}}, id="extra-fields-kept"),
        pytest.param({"ID": "a", "Text": "x"}, id="other-case-as-extras"),
    ],
)
def test_posted_articles_that_validate(record: dict) -> None:
    model = ArticleIn.model_validate(record)
    dumped = model.model_dump(exclude_unset=True)
    assert dumped == record  # nothing coerced, extras kept


@pytest.mark.parametrize(
    "record",
    [
        pytest.param({"id": True, "text": "x"}, id="boolean-id"),
        pytest.param({"id": ["a"], "text": "x"}, id="list-id"),
        pytest.param({"id": {"k": 1}, "text": "x"}, id="object-id"),
        pytest.param({"url": False, "text": "x"}, id="boolean-url"),
        pytest.param({"id": "a", "text": 5}, id="number-text"),
        pytest.param({"id": "a", "text": ["x"]}, id="list-text"),
        pytest.param({"id": "a", "body": 1}, id="number-body"),
        pytest.param({"id": "a", "text": "x", "title": True}, id="boolean-title"),
        pytest.param({"id": "a", "text": "x", "date": ["2024"]}, id="list-date"),
        pytest.param({"id": "a", "text": "x", "source": {"name": "s"}}, id="object-source"),
    ],
)
def test_posted_articles_of_the_wrong_types(record: dict) -> None:
    with pytest.raises(ValidationError):
        ArticleIn.model_validate(record)


def _decision(**kw) -> dict:
    row = {"id": "b", "status": "duplicate", "group": "a", "duplicate_of": "a", "relation": "near",
           "scores": {"jaccard": 0.9, "containment": 0.95, "cosine": 0.97, "probability": None}, "reason": "near copy"}
    row.update(kw)
    return row


def test_a_decision() -> None:
    d = Decision.model_validate(_decision())
    assert d.contained_in == [] and d.seen_before is None and d.repeats is None
    kept = Decision.model_validate(_decision(id="a", status="kept", duplicate_of=None, relation=None, scores=None, reason="kept"))
    assert kept.scores is None


@pytest.mark.parametrize(
    "change",
    [{"status": "removed"}, {"relation": "similar"}, {"scores": {"jaccard": "high"}}, {"group": 3}],
    ids=["unknown-status", "unknown-relation", "score-not-a-number", "group-not-a-string"],
)
def test_a_decision_out_of_its_vocabulary(change: dict) -> None:
    with pytest.raises(ValidationError):
        Decision.model_validate(_decision(**change))


@pytest.mark.parametrize("missing", ["group", "duplicate_of", "relation", "scores", "reason"])
def test_a_decision_states_every_field_even_when_null(missing: str) -> None:
    row = _decision()
    del row[missing]
    with pytest.raises(ValidationError):
        Decision.model_validate(row)


def test_a_stored_article_has_title_and_text_or_null() -> None:
    row = {"row": 0, "id": "a", "date": None, "source": "", "length": 10, "status": "kept", "group": None, "keeper_row": None,
           "duplicate_of": None, "relation": None, "scores": None, "reason": "kept", "title": None, "text": None}
    assert StoredArticle.model_validate(row).text is None
    del row["text"]
    with pytest.raises(ValidationError):
        StoredArticle.model_validate(row)


def test_a_pair() -> None:
    pair = PairOut(id1="a", id2="b", relation="contained", jaccard=0.3, containment_1_in_2=0.99, containment_2_in_1=0.3, cosine=None)
    assert pair.relation == "contained"


def test_similarity_bodies() -> None:
    assert SimilarityIn(text1="a", text2="b").title1 == "" and SimilarityIn(text1="a", text2="b").title2 == ""
    with pytest.raises(ValidationError):
        SimilarityIn(text1="a")  # type: ignore[call-arg]
    out = SimilarityOut(jaccard=None, containment=None, cosine=None, story_score=None, verdict="skipped")
    assert out.verdict == "skipped"
    with pytest.raises(ValidationError):
        SimilarityOut(jaccard=1.0, containment=1.0, cosine=1.0, story_score=1.0, verdict="same")


def test_health() -> None:
    assert Health(status="ok", location="h.db", next_row=3).next_row == 3
    with pytest.raises(ValidationError):
        Health(status="degraded", location="h.db", next_row=3)


def test_the_guards_error_body_is_an_error_out() -> None:
    assert ErrorOut.model_validate(error_body("too_large", "m")).model_dump() == {"error": "too_large", "message": "m", "record": None}
    with_record = ErrorOut.model_validate(error_body("invalid_record", "m", {"index": 3, "id": None}))
    assert with_record.record is not None and with_record.record.index == 3
    with pytest.raises(ValidationError):
        ErrorOut.model_validate(error_body("invalid_record", "m", {"id": "a"}))  # a record is named by its index


def test_an_unknown_date_and_source_are_null_in_the_schema() -> None:
    """The OpenAPI schema (made from these models) let ``seen_before.source`` and a stored article's source be a
    string only, where the answers now say null for an unknown one, as for its date."""
    seen = Decision.model_json_schema()["$defs"]["SeenBefore"]["properties"]
    stored = StoredArticle.model_json_schema()["properties"]
    for props in (seen, stored):
        for name in ("date", "source"):
            assert {"type": "null"} in props[name]["anyOf"], (name, props[name])
