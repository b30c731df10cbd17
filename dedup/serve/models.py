"""Request and response bodies of the service (pydantic): they validate, and they are the OpenAPI description.

A posted article has the fields the file readers accept (``docs/inputs.md``):
the field names are matched case-insensitively, the first alias found in the
first record is used for the whole request. Only the types the readers
require are checked here; the rules on records (an id in every record, a
text, unique ids) are :mod:`.intake`'s, and their errors name the record.
"""

from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

__all__ = [
    "ArticleIn",
    "Decision",
    "ErrorOut",
    "GroupOut",
    "Health",
    "PairOut",
    "Scores",
    "SimilarityIn",
    "SimilarityOut",
    "StoredArticle",
]

Id = Optional[Union[StrictStr, StrictInt, StrictFloat]]
Scalar = Optional[Union[StrictStr, StrictInt, StrictFloat]]
Relation = Literal["exact", "near", "contained"]


class ArticleIn(BaseModel):
    """One article. Every record needs an id (``id`` or ``url``) and a text (``text``, ``content``, ``maintext`` or ``body``)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"examples": [{"id": "w1", "text": "Full text of the article…", "title": "Headline",
                                         "date": "2024-03-01T09:00:00Z", "source": "wire"}]},
    )

    id: Id = Field(None, description="The article's id (string or number); unique. Alias: url.")
    url: Id = None
    text: Optional[str] = Field(None, description="The body text. Aliases: content, maintext, body.")
    content: Optional[str] = None
    maintext: Optional[str] = None
    body: Optional[str] = None
    title: Scalar = Field(None, description="Headline. Alias: headline.")
    headline: Scalar = None
    date: Scalar = Field(None, description="ISO-8601 date or date-time (UTC when no zone). Aliases: published, date_publish, date_extracted.")
    published: Scalar = None
    date_publish: Scalar = None
    date_extracted: Scalar = None
    source: Scalar = Field(None, description="The outlet. Alias: source_domain.")
    source_domain: Scalar = None


class Scores(BaseModel):
    jaccard: Optional[float]
    containment: Optional[float]
    cosine: Optional[float]
    probability: Optional[float] = Field(None, description="Of being copies, under the learned decision (null under the rule, "
                                                           "and for articles an index stored before it kept them).")


class SeenBefore(BaseModel):
    """The stored keeper of an earlier batch or feed."""

    date: Optional[str] = Field(description="Its date (ISO-8601, UTC); null when it had none.")
    source: Optional[str] = Field(description="Its outlet; null when it had none.")


class Decision(BaseModel):
    """One line of ``decisions.jsonl``: what became of an article."""

    id: str
    status: Literal["kept", "duplicate", "skipped"]
    group: Optional[str] = Field(description="The group's name: the id of its first member; null when alone.")
    duplicate_of: Optional[str] = Field(description="The keeper this article copies (duplicates only).")
    relation: Optional[Relation]
    scores: Optional[Scores] = Field(description="Against the keeper (duplicates only).")
    reason: str
    contained_in: list[str] = Field(default_factory=list, description="Articles a verified edge says contain this one "
                                                                      "(a short item reprinted inside roundups).")
    seen_before: Optional[SeenBefore] = Field(None, description="When the keeper came from an earlier batch: its date and source "
                                                                "(each null when unknown); null otherwise (every decision has "
                                                                "the key, as every line of decisions.jsonl of a run with --index).")
    repeats: Optional[int] = Field(None, description="Paragraphs repeated inside the article (with clean_repeats).")
    warnings: Optional[list[str]] = Field(None, description="Present when something of the record was not used as "
                                                            "given: a date that could not be read (stored undated).")


class StoredArticle(BaseModel):
    """An article as the index holds it (no text there), with the text when this service stored it."""

    row: int
    id: str
    date: Optional[str] = Field(description="ISO-8601, UTC; null when undated.")
    source: Optional[str] = Field(description="The outlet; null when it had none.")
    length: int
    status: Literal["kept", "duplicate", "skipped"]
    group: Optional[str]
    keeper_row: Optional[int]
    duplicate_of: Optional[str] = Field(description="The id of the keeper it copies (duplicates only: null when kept or "
                                                    "skipped); of a keeper since pruned from the index (`dedup index "
                                                    "prune`), the id prune kept of it, with `keeper_pruned` true (null "
                                                    "when an index pruned by an earlier version kept no id); as "
                                                    "decisions.jsonl and `dedup index export` name it. Before this "
                                                    "version: `keeper`, its own id when kept.")
    keeper_pruned: bool = Field(False, description="Its keeper was pruned from the index (`dedup index prune`): "
                                                   "`duplicate_of` names it, nothing else of it is left.")
    relation: Optional[Relation]
    scores: Optional[Scores] = Field(description="Against the keeper (duplicates only).")
    reason: str = Field(description="Why it was skipped, or what it is, as `dedup index export` says it from what the "
                                    "index holds (\"near copy of ID\", \"kept: the keeper of group G\", \"no duplicate found\"); "
                                    "not the whole sentence the answer to its batch gave.")
    contained_in: list[str] = Field(default_factory=list, description="The stored articles a verified edge says contain "
                                    "this one's text (each container and its exact copies), as `dedup index export` "
                                    "names them: those of later batches too, where the answer to its batch named those "
                                    "known then.")
    title: Optional[str] = Field(description="When the article was posted to this service; null otherwise.")
    text: Optional[str] = Field(description="When the article was posted to this service; null otherwise.")
    event: Optional[str] = Field(None, description="The event `dedup stories --index` placed it in (the id of the "
                                                   "event's first report; GET /v1/events/{event}); null when not tracked "
                                                   "(yet: with --stories-every, until the next pass).")
    storyline: Optional[str] = Field(None, description="The storyline of that event (the id of its first event).")


class PairOut(BaseModel):
    """A verified edge between two members (``pairs.jsonl``'s fields)."""

    id1: str
    id2: str
    relation: Optional[Relation]
    jaccard: Optional[float]
    containment_1_in_2: Optional[float]
    containment_2_in_1: Optional[float]
    cosine: Optional[float]
    probability: Optional[float] = Field(None, description="Of being copies, under the learned decision (null under the rule).")


class GroupOut(BaseModel):
    group: str
    keeper: Optional[str] = Field(description="The id of its keeper; of a keeper since pruned from the index, the id "
                                              "prune kept of it (null when an index pruned by an earlier version kept none).")
    keeper_pruned: bool = Field(False, description="The group's keeper was pruned from the index (`dedup index prune`): "
                                                   "it is not among the members.")
    size: int
    members: list[StoredArticle] = Field(description="In the order they were read; texts left out (GET /v1/articles/{id} has them).")
    pairs: list[PairOut] = Field(description="The verified edges among the members, as stored (between distinct texts; "
                                             "an exact copy has its scores in its own record).")


class EventOut(BaseModel):
    """An event tracked by ``dedup stories --index``: reports of one happening."""

    event: str = Field(description="The id of its first report.")
    label: str = Field(description="The first report's headline.")
    size: int = Field(description="Tracked reports in it.")
    sources: list[str]
    first_date: Optional[str] = Field(description="Of its earliest report (ISO-8601, UTC); null when all are undated.")
    last_date: Optional[str]
    members: list[str] = Field(description="Report ids in time order, up to `limit`.")


class SimilarityIn(BaseModel):
    """Two texts; their dates and outlets, when given, are weighed by the learned decision as ``dedupe`` weighs them
    (the same outlet or two, the days between); a side without them is undated, its own outlet."""

    text1: str
    text2: str
    title1: str = ""
    title2: str = ""
    date1: Optional[str] = Field(None, description="ISO-8601 date of the first text.")
    date2: Optional[str] = Field(None, description="ISO-8601 date of the second text.")
    source1: Optional[str] = Field(None, description="The first text's outlet.")
    source2: Optional[str] = Field(None, description="The second text's outlet.")


class SimilarityOut(BaseModel):
    """The fields of ``dedup similarity``: scores are null when a text is too short to compare (verdict ``skipped``)."""

    jaccard: Optional[float]
    containment: Optional[float]
    cosine: Optional[float]
    story_score: Optional[float]
    probability: Optional[float] = Field(None, description="The learned decision's probability that the two are copies "
                                                             "(null under --decision rule, or when skipped).")
    verdict: Literal["duplicate", "same_event", "different", "skipped"]
    relation: Optional[Literal["exact", "near", "contained"]] = Field(None, description="Of a duplicate: how the two "
                                                                      "are copies (an exact copy is one whatever the probability).")
    reason: Optional[str] = Field(None, description="Why, where the verdict needs saying: too short to compare, or "
                                                    "dated further apart than the event window.")


class Health(BaseModel):
    status: Literal["ok"]
    location: str = Field(description="The index (a Redis password shown as ***), as `dedup index stats` names it. "
                                      "Before this version: `index`.")
    next_row: int = Field(description="The row number the next article will get (rows are never reused).")


class RecordRef(BaseModel):
    index: int = Field(description="0-based position in the posted array.")
    id: Optional[str]


class ErrorOut(BaseModel):
    """Every error: a short code, a message that says what to fix, and the record when one is at fault."""

    error: str
    message: str
    record: Optional[RecordRef] = None
