"""Records skipped with ``--skip-bad`` in the outputs: every input record gets its line.

The per-article output of each command (``decisions.jsonl``, ``stories.jsonl``,
``articles.jsonl`` of ``repeats``) has one line per input record, in input
order: an article's line, or for a record the reader could not turn into an
article (:class:`~dedup.types.BadRecord`) a line with ``"id": null``,
``"status": "skipped"``, the reason, and its ``file`` and ``line``; so the
lines of the file equal the input records. Every line of one file has the
same keys in the same order (the file's ``keys``), null where a key does not
apply: an article's line has ``"file": null``, a bad record's the article's
fields null, so a reader (pandas, DuckDB, pyarrow) sees one schema whichever
line it starts from. ``summary.json`` counts them all
but lists only the first :data:`LISTED` (300,000 bad lines must not make a
summary of tens of megabytes).

>>> bad = [BadRecord("f.jsonl", 1, "malformed JSON", position=0), BadRecord("f.jsonl", 4, "no text", position=2)]
>>> keys = ("id", "status", "group", "reason", "file", "line")
>>> row = dict.fromkeys(keys)
>>> rows = list(with_skipped([{**row, "id": "a", "group": "a"}, {**row, "id": "b"}], bad, keys))
>>> [(r["id"], r["line"]) for r in rows]
[(None, 1), ('a', None), ('b', None), (None, 4)]
>>> {tuple(r) for r in rows} == {keys}
True
>>> summary_bad(bad, listed=1)["bad_records_not_listed"]
1
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from ..types import BadRecord

__all__ = ["BAD_CSS", "LISTED", "bad_records_html", "skipped_row", "summary_bad", "with_skipped"]

_Row = TypeVar("_Row")

LISTED = 100  # bad records listed in summary.json and on a report page; the rest are counted
_NAME_CHARS, _REASON_CHARS = 120, 160  # of a file name and of a reason on a page (hostile feeds make long ones)

BAD_CSS = """
.bad{border:1px solid #e0b4b4;border-radius:6px;background:#fdf6f6;padding:.3rem .9rem;margin:.6rem 0}
.bad li{font-size:.85rem;margin:.15rem 0}.bad .note{color:#666;font-size:.85rem;font-style:italic}
"""
"""The style of :func:`bad_records_html`'s block, for a page's own CSS."""


def skipped_row(bad: BadRecord, keys: Iterable[str]) -> dict[str, Any]:
    """The output line of a bad record: the ``keys`` of the file's lines, in their order, null but for the bad record's own.

    ``keys``: every key of an article's line, in order (a mapping: its keys);
    ``id`` and ``status`` lead and ``reason``, ``file`` and ``line`` close
    where ``keys`` does not place them. The id is null even when the record had
    one: a bad record's id may be the repeated id of another article, and two
    lines must not claim one id.

    >>> list(skipped_row(BadRecord("f.jsonl", 3, "malformed JSON"), ("id", "status", "reason", "extra", "file", "line")))
    ['id', 'status', 'reason', 'extra', 'file', 'line']
    """
    row = dict.fromkeys(("id", "status", *keys, "reason", "file", "line"))  # a repeated key keeps its first place
    row.update(status="skipped", reason=f"skipped: bad record: {bad.reason}", file=bad.path, line=bad.line)
    return row


def with_skipped(
    rows: Iterable[_Row],
    bad: Sequence[BadRecord] | Callable[[], Sequence[BadRecord]],
    keys: Iterable[str],
    start: int = 0,
    last: bool = True,
) -> Iterator[_Row | dict[str, Any]]:
    """The articles' ``rows`` (one per article, in input order; dicts, or lines made already) with a row for each bad record in its place.

    ``keys``: the keys of the articles' rows, in order (:func:`skipped_row`).

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
    keys = tuple(keys)
    done = 0
    if start:
        current = get()
        while done < len(current) and current[done].position is not None and current[done].position < start:  # type: ignore[operator]
            done += 1
    for k, row in enumerate(rows, start):
        current = get()
        while done < len(current) and current[done].position is not None and current[done].position <= k:  # type: ignore[operator]
            yield skipped_row(current[done], keys)
            done += 1
        yield row
    if last:
        for b in get()[done:]:
            yield skipped_row(b, keys)


def summary_bad(bad: Sequence[BadRecord], listed: int = LISTED) -> dict[str, Any]:
    """The ``summary.json`` entries: the first ``listed`` bad records (``file``, ``line``, ``reason``: named as in
    their lines of the per-article file, :func:`skipped_row`) and how many more there are."""
    return {
        "bad_records": [{"file": b.path, "line": b.line, "reason": b.reason} for b in bad[:listed]],
        "bad_records_not_listed": max(0, len(bad) - listed),
    }


def bad_records_html(bad: Sequence[BadRecord], per_article: str) -> str:
    """A report page's block on the input records skipped as bad: folded, file, line and reason of the first :data:`LISTED`.

    ``per_article``: the output file with a line per input record (``decisions.jsonl``, ``stories.jsonl``).

    Every string is escaped and isolated (:mod:`dedup.io.safe_html`); no
    records skipped, no block.

    >>> bad_records_html([BadRecord("f.jsonl", 3, "malformed <JSON>")], "decisions.jsonl").count("<li>")
    1
    >>> bad_records_html([], "decisions.jsonl")
    ''
    """
    if not bad:
        return ""
    from .safe_html import bdi, short

    def count(k: int, noun: str) -> str:
        return f"{k:,} {noun if k == 1 else noun + 's'}"

    items = "".join(f"<li>{bdi(short(b.path, _NAME_CHARS))}:{b.line}: {bdi(short(b.reason, _REASON_CHARS))}</li>"
                    for b in bad[:LISTED])
    more = f'<p class="note">{count(len(bad) - LISTED, "more bad record")} not listed here.</p>' if len(bad) > LISTED else ""
    return (f'<details class="bad" id="bad"><summary>{count(len(bad), "input record")} skipped as bad (not articles, '
            f"so in none of the results): {per_article} has a line for each</summary>"
            f"<ol>{items}</ol>{more}</details>")
