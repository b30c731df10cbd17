"""Records skipped with ``--skip-bad`` in the outputs: every input record gets its line.

The per-article output of each command (``decisions.jsonl``, ``stories.jsonl``,
``articles.jsonl`` of ``repeats``) has one line per input record, in input
order: an article's line, or for a record the reader could not turn into an
article (:class:`~dedup.types.BadRecord`) a line with ``"id": null``,
``"status": "skipped"``, the reason, and its ``file`` and ``line``; so the
lines of the file equal the input records. ``summary.json`` counts them all
but lists only the first :data:`LISTED` (300,000 bad lines must not make a
summary of tens of megabytes).

>>> bad = [BadRecord("f.jsonl", 1, "malformed JSON", position=0), BadRecord("f.jsonl", 4, "no text", position=2)]
>>> rows = with_skipped([{"id": "a", "group": "a"}, {"id": "b", "group": None}], bad, {"group": None})
>>> [(r["id"], r.get("line")) for r in rows]
[(None, 1), ('a', None), ('b', None), (None, 4)]
>>> summary_bad(bad, listed=1)["bad_records_not_listed"]
1
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from ..types import BadRecord

__all__ = ["LISTED", "skipped_row", "summary_bad", "with_skipped"]

_Row = TypeVar("_Row")

LISTED = 100  # bad records listed in summary.json; the rest are counted


def skipped_row(bad: BadRecord, blank: Mapping[str, Any]) -> dict[str, Any]:
    """The output line of a bad record: ``blank``'s keys (the other fields of an article's line, empty) and where it was.

    The id is null even when the record had one: a bad record's id may be the
    repeated id of another article, and two lines must not claim one id.
    """
    return {"id": None, "status": "skipped", **blank, "reason": f"skipped: bad record: {bad.reason}",
            "file": bad.path, "line": bad.line}


def with_skipped(
    rows: Iterable[_Row],
    bad: Sequence[BadRecord] | Callable[[], Sequence[BadRecord]],
    blank: Mapping[str, Any],
    start: int = 0,
    last: bool = True,
) -> Iterator[_Row | dict[str, Any]]:
    """The articles' ``rows`` (one per article, in input order; dicts, or lines made already) with a row for each bad record in its place.

    ``bad`` may be a callable that returns the list as it grows (a stream
    being read while its rows are written): the records read before article
    ``k`` are known when its row comes. A record without a ``position`` goes
    after the articles.

    A part of the file: ``rows`` are those of the articles from ``start`` on,
    and the bad records before article ``start`` belong to the part before;
    only the ``last`` part ends with the records after the articles. Parts
    that follow one another make the whole file's rows, in order.

    >>> bad = [BadRecord("f", 1, "x", position=0), BadRecord("f", 3, "y", position=1), BadRecord("f", 9, "z")]
    >>> [r.get("line", r.get("id")) for r in with_skipped([{"id": "a"}], bad, {}, last=False)]
    [1, 'a']
    >>> [r.get("line", r.get("id")) for r in with_skipped([{"id": "b"}], bad, {}, start=1)]
    [3, 'b', 9]
    """
    get = bad if callable(bad) else (lambda: bad)
    done = 0
    if start:
        current = get()
        while done < len(current) and current[done].position is not None and current[done].position < start:  # type: ignore[operator]
            done += 1
    for k, row in enumerate(rows, start):
        current = get()
        while done < len(current) and current[done].position is not None and current[done].position <= k:  # type: ignore[operator]
            yield skipped_row(current[done], blank)
            done += 1
        yield row
    if last:
        for b in get()[done:]:
            yield skipped_row(b, blank)


def summary_bad(bad: Sequence[BadRecord], listed: int = LISTED) -> dict[str, Any]:
    """The ``summary.json`` entries: the first ``listed`` bad records and how many more there are."""
    return {
        "bad_records": [{"path": b.path, "line": b.line, "reason": b.reason} for b in bad[:listed]],
        "bad_records_not_listed": max(0, len(bad) - listed),
    }
