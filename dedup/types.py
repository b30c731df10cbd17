"""Records that flow through the pipeline.

An :class:`Article` is what a reader yields; everything after the readers works
on integer positions into the list of articles, and only ``io/`` maps positions
back to ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Article", "BadRecord"]


@dataclass(frozen=True, slots=True)
class Article:
    """One input article.

    Attributes:
        id: external id (from the input, or the position as a string).
        text: body text as given (never modified).
        title: headline, or "".
        date: ISO-8601 date/time string as given, or None.
        source: outlet / feed name, or "".
        record: the original record (written back unchanged to ``unique.jsonl``).
        origin: "file:line" where the article was read, for messages.
        text_key: the record field that holds the text (for writing cleaned copies).
    """

    id: str
    text: str
    title: str = ""
    date: str | None = None
    source: str = ""
    record: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    origin: str = ""
    text_key: str = "text"


@dataclass(frozen=True, slots=True)
class BadRecord:
    """An input line skipped with ``--skip-bad``: where it was and why."""

    path: str
    line: int
    reason: str
