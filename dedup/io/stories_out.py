"""Outputs of ``dedup stories``: positions mapped back to ids.

* ``stories.jsonl``: one line per input record, in input order, every line
  with the keys of :data:`STORY_KEYS` in that order: ``event``, ``storyline``
  and ``group`` are named by the id of their first member in input order
  (``group`` is ``null`` for an article that is in no duplicate group);
  ``status`` and ``reason`` are null but for an article not compared
  (``"skipped"`` and why: an event of its own); a record skipped with
  ``--skip-bad`` has ``"id": null``, ``"status": "skipped"``, the reason, its
  ``file`` and ``line`` (null on every other line: :mod:`dedup.io.skipped`),
  so the lines equal the input records;
* ``events.json``: one entry per event, largest first, with a label (the
  headline of the member nearest the event centroid), size, sources, first
  and last date, members, and its duplicate groups;
* ``report.html``: see :mod:`dedup.io.report`;
* ``summary.json``: counts, the parameters used, stage timings and the
  first 100 input records skipped with ``--skip-bad`` (file, line, reason).

All files are written atomically.
"""

from __future__ import annotations

from collections import Counter

from dataclasses import asdict

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..config import ReadConfig
from ..errors import InputError, InputFormatError, OutputError
from ..results import SimilarityResult, StoriesResult
from ..types import Article, BadRecord, article_label, id_text, iso_time, timestamp
from .jsonl import json_objects
from .readers.records import _SURROGATE
from .skipped import summary_bad, with_skipped
from .run_files import start_run
from .writers import atomic_open, write_failure, write_json, write_jsonl

__all__ = ["STORY_KEYS", "article_label", "event_records", "read_text_pairs", "write_stories_outputs"]

#: The keys of every line of ``stories.jsonl``, in order (null where one does not apply: ``status`` and ``reason``
#: but for an article not compared or a bad record, ``file`` and ``line`` but for a bad record).
STORY_KEYS = ("id", "status", "event", "storyline", "group", "reason", "file", "line")


def event_records(result: StoriesResult) -> list[dict[str, Any]]:
    """One plain record per event (positions resolved to ids), largest events first.

    With an index, an event continued from earlier feeds also lists its
    ``earlier_members`` (ids) and the stored events this feed's reports merged
    into it (``merged_events``, ids: their members now carry this event's id);
    ``size`` and ``members`` count this feed's.
    """
    arts = result.articles
    everyone = arts + result.history  # positions n + k: articles of earlier feeds (id, source, label)
    n = len(arts)
    if n == 0:
        return []
    order = np.argsort(result.event, kind="stable")
    labels, starts = np.unique(result.event[order], return_index=True)
    members_of = np.split(order, starts[1:])
    group_of = [result.group_of(p) for p in range(n)]  # this run's groups, and the stored ones of articles decided before
    in_feed = Counter(g for g in group_of if g is not None)  # a group's members in the feed
    times = result.dedup.table.times
    tracked = bool(result.tracking)
    records = []
    for e, members in zip(labels.tolist(), members_of):
        members = np.sort(members)
        # by time, readable dates only: sorted as strings, "2024-3-5" came after "2024-03-06" and zones were ignored
        dated = sorted((times[m], m) for m in members.tolist() if times[m] == times[m])
        dates = [iso_time(t) for t, _ in dated]  # one form, UTC (the feed's own strings mixed forms and zones)
        groups: dict[str, list[int]] = {}
        for m in members.tolist():
            if group_of[m] is not None:
                groups.setdefault(group_of[m], []).append(m)
        rep = int(result.representative[e]) if e < len(result.representative) else -1
        record = {
            "event": everyone[e].id,
            "storyline": everyone[int(result.storyline[members[0]])].id,
            "label": article_label(everyone[rep if rep >= 0 else e]),
            "size": len(members),
            "sources": sorted({arts[m].source for m in members.tolist() if arts[m].source}),
            "first_date": dates[0] if dates else None,
            "last_date": dates[-1] if dates else None,
            "members": [arts[m].id for m in members.tolist()],
            "groups": [
                {"group": g, "size": len(ms), "members": [arts[m].id for m in ms],
                 **({"size_in_feed": in_feed[g]} if in_feed[g] != len(ms) else {})}  # a group cut at the window
                for g, ms in sorted(groups.items(), key=lambda kv: kv[1][0])  # in order of first member
            ],
        }
        if tracked:
            record["earlier_members"] = result.earlier.get(everyone[e].id, [])
            record["merged_events"] = result.merged.get(everyone[e].id, [])
        records.append(record)
    records.sort(key=lambda r: -r["size"])  # stable: ties stay in order of first member
    return records


PAIR_FIELDS = '{"id", "text1", "text2"}'  # a line of ``dedup similarity``'s input, as its errors name it


def read_text_pairs(path: str, storage_options: Sequence[tuple[str, Any]] = (), skip_bad: bool = False,
                    limit: int | None = ReadConfig.max_record_bytes) -> list[dict[str, Any]]:
    """Read ``dedup similarity`` input: JSONL objects with ``id``, ``text1``, ``text2``.

    ``title1``/``title2`` are optional (empty when absent), and so are
    ``date1``/``date2`` and ``source1``/``source2`` (None when absent: the
    learned decision then reads the sides as undated, of two outlets);
    ``id`` defaults to the line number.
    ``-`` reads standard input; a URL is streamed (with ``storage_options``).
    With ``skip_bad``, a bad line is a row ``{"id", "line", "bad": why}`` in its
    place (its id when it gives a readable one no line before it claimed, else
    None: two rows never carry one id), not an error. A line of more than
    ``limit`` bytes (``--max-record-bytes``) is a bad line, never read whole.
    An id that is a whole number reads as its digits (``1.0`` is ``"1"``,
    :func:`~dedup.types.id_text`).

    Raises:
        InputNotFoundError: the file does not exist.
        InputFormatError: a line is not a JSON object with string texts (a lone
            surrogate in a text or title is not text) or is longer than ``limit``, an id repeats (not with
            ``skip_bad``), or there is no pair at all.
    """
    rows: list[dict[str, Any]] = []
    bad: list[tuple[int, str]] = []
    seen: dict[str, int | None] = {}  # id → the line whose number stands in for it (None: the line gave it)
    for lineno, obj in json_objects(path, storage_options, bad if skip_bad else None, expects=PAIR_FIELDS, limit=limit):
        rows += [{"id": None, "line": at, "bad": why} for at, why in bad]
        bad.clear()
        try:
            rows.append(_text_pair(path, lineno, obj, seen))
        except InputFormatError as err:
            if not skip_bad:
                raise
            given = obj.get("id")
            readable = given != "" and not isinstance(given, bool) and isinstance(given, (str, int, float))
            claimed = readable and id_text(given) not in seen  # two output lines never carry one id: a repeat's is None
            if claimed:
                seen[id_text(given)] = None  # a later line with this id is the repeat
            rows.append({"id": id_text(given) if claimed else None, "line": lineno, "bad": err.message})
    rows += [{"id": None, "line": at, "bad": why} for at, why in bad]
    if all("bad" in r for r in rows):
        raise InputFormatError('empty input: no pairs found; each line must be {"id", "text1", "text2"}'
                               + (f" ({len(rows)} bad line{'' if len(rows) == 1 else 's'} skipped; line {rows[0]['line']}: "
                                  f"{rows[0]['bad']})" if rows else ""), path)
    return rows


def _text_pair(path: str, lineno: int, obj: dict[str, Any], seen: dict[str, int | None]) -> dict[str, Any]:
    """The row of one line of ``dedup similarity`` input (:func:`read_text_pairs`); ``seen``: the ids before it (updated)."""
    given = obj.get("id", lineno)
    if given is None or given == "" or isinstance(given, bool) or not isinstance(given, (str, int, float)):
        raise InputFormatError(f'field "id" is {"empty" if given == "" else "a boolean" if isinstance(given, bool) else _json_kind(given)}: ids must be strings or '
                               "numbers (leave the field out to number the line by its position)", path, lineno)
    row: dict[str, Any] = {"id": id_text(given)}  # 1.0 and 1: one id, as the feeds read it
    for key in ("text1", "text2", "title1", "title2"):
        if key not in obj and not key.startswith("title"):
            raise InputFormatError(f'no field "{key}": each line must be {{"id", "text1", "text2"}} (this one has: '
                                   f'{", ".join(sorted(obj)) or "no field"})', path, lineno)
        value = obj.get(key, "")
        if not isinstance(value, str):
            raise InputFormatError(f'field "{key}" must be a string, got {_json_kind(value)}', path, lineno)
        bad = _SURROGATE.search(value)
        if bad is not None:  # a JSON escape such as \ud800: no text can be made of it (the normalizer would fail)
            raise InputFormatError(f'field "{key}" holds a lone surrogate (\\u{ord(bad.group()):04x} at character '
                                   f"{bad.start()}): not valid Unicode text; fix the producer of this file", path, lineno)
        row[key] = value
    for key in ("date1", "date2", "source1", "source2"):
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            raise InputFormatError(f'field "{key}" must be a string or null, got {_json_kind(value)}', path, lineno)
        if key.startswith("date") and value and timestamp(value) != timestamp(value):
            raise InputFormatError(f'field "{key}" is not an ISO-8601 date ({value[:40]!r}); give e.g. '
                                   '"2024-03-01" or "2024-03-01T09:00:00Z", or leave it out', path, lineno)
        row[key] = value
    if row["id"] in seen:
        at = lineno if "id" not in obj else seen[row["id"]]
        stands_in = "" if at is None else f" (line {at} has no id: its line number stands in; give every line an id)"
        raise InputFormatError(f"repeated id {row['id']!r}: ids must be unique{stands_in}", path, lineno)
    seen[row["id"]] = None if "id" in obj else lineno
    return row


def write_stories_outputs(
    out_dir: str | os.PathLike[str], result: StoriesResult, inputs: list[str], bad_records: list[BadRecord] | tuple = (),
    read: ReadConfig | None = None, warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """Write stories.jsonl, events.json, report.html and summary.json into ``out_dir``.

    ``warnings``: the run's warnings (:func:`dedup.io.console.kept_warnings`), recorded in the summary.

    ``summary.json`` goes last and is removed first, so a directory with a
    stale or missing summary is recognizably incomplete.

    Returns:
        The summary (what ``summary.json`` holds), for the CLI to print.
    """
    from .report import report_pieces, shown_ids

    out = Path(out_dir)
    arts = result.articles

    from .dedupe_out import decision_used, processes_used, skip_kind, timings_used

    # an article not compared (empty, too short, too long) is an event of its own: its line says so, and why, as
    # dedupe's decision does; one an earlier run decided (already in the index) is placed as any other, unless that
    # run did not compare it either (its stored reason)
    alone = result.alone()  # each placed in an event of its own (dedup.stories.day.build_day)
    decided_before = sorted(result.dedup.reason_skipped.keys() - result.dedup.not_compared().keys())
    group_of = [result.group_of(p) for p in range(len(arts))]

    def lines():
        for pos, art in enumerate(arts):
            skipped = pos in alone
            yield {
                "id": art.id,
                "status": "skipped" if skipped else None,
                "event": result.name(int(result.event[pos])),
                "storyline": result.name(int(result.storyline[pos])),
                "group": group_of[pos],
                "reason": f"skipped: {alone[pos]}" if skipped else None,
                "file": None,
                "line": None,
            }

    try:
        start_run(out, "stories", inputs=inputs)
        write_jsonl(out / "stories.jsonl", with_skipped(lines(), bad_records, STORY_KEYS))
        events = event_records(result)
        write_json(out / "events.json", events)
        # only the articles the page shows are prepared, and the page is written as it is made (a million articles:
        # ~150 MB of page, held whole two to three times over, beside every excerpt stripped of its boilerplate)
        shown = _shown(result, shown_ids(events))
        with atomic_open(out / "report.html") as f:
            for piece in report_pieces(events, shown, title=f"dedup stories: {', '.join(inputs)}", bad=bad_records,
                                       not_compared=len(alone)):
                f.write(piece)
        del shown
        sizes = [e["size"] for e in events]
        n_bad_dates, bad_date_ids = result.dedup.table.unreadable_dates()
        skipped: dict[str, int] = {}  # not compared (too short, empty, too long): each its own event
        for why in alone.values():
            skipped[skip_kind(why)] = skipped.get(skip_kind(why), 0) + 1
        counts = {
            "records": len(arts) + len(bad_records),  # every input record: the articles and the bad records
            "articles": len(arts),
            "skipped": sum(skipped.values()),
            "skipped_by_reason": skipped,
            **({"decided_by_an_earlier_run": len(decided_before)} if decided_before else {}),
            "events": len(events),
            "multi_article_events": sum(s > 1 for s in sizes),
            "storylines": len({e["storyline"] for e in events}),
            "duplicate_groups": len({g for g in group_of if g is not None}),
            "bad_records": len(bad_records),
            "dates_unreadable": n_bad_dates,
        }
        config = result.config
        # what the history index did: dedupe's part (added, already there, copies of stored articles) and the events'
        # (placed, already tracked, continued, merged), under one name as in dedupe's summary
        history = {**result.dedup.history_counts, **result.tracking}
        info = {
            "dedup_version": __version__,
            "command": "stories",
            "inputs": inputs,
            "counts": counts,
            **({"dates_unreadable_ids": bad_date_ids} if n_bad_dates else {}),
            "config": {**({"read": read.to_table()} if read is not None else {}), "stories": asdict(config), "dedupe": result.dedup.config.to_dict(), "runtime": result.dedup.runtime},
            **decision_used(result.dedup.config.verify),
            **({"history": history} if history else {}),
            **timings_used(result.timings),
            **processes_used(result.dedup.runtime, result.workers),
            **summary_bad(bad_records),
            **({"warnings": list(warnings)} if warnings else {}),
        }
        write_json(out / "summary.json", info)
    except InputError:  # reading the input went wrong (it streams by as the files are written): said as such
        raise
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the outputs ({write_failure(exc)}); check the path, its permissions and free space") from exc
    return info


def _score(x: float) -> float | None:
    return None if np.isnan(x) else round(float(x), 4)


def _shown(result: StoriesResult, ids: set[str]) -> dict[str, Article]:
    """The articles ``ids`` as the page shows them, by id: each excerpt without its source's boilerplate lines (a
    site's navigation, a byline), which dedupe left out of the comparison too."""
    from dataclasses import replace

    from ..text.boilerplate import without_boilerplate

    arts, cfg = [a for a in result.articles if a.id in ids], result.dedup.config
    texts = without_boilerplate([a.text for a in arts], [a.source for a in arts], result.dedup.boilerplate.key_set(),
                                cfg.normalize, cfg.boilerplate.max_tokens)
    return {a.id: (a if t == a.text else replace(a, text=t.lstrip("\n"))) for a, t in zip(arts, texts)}


def similarity_rows(rows: list[dict[str, Any]], result: SimilarityResult) -> Iterator[dict[str, Any]]:
    """One output line per input line: ``id``, the scores, the learned decision's probability (null under
    ``--decision rule``), the verdict, the ``relation`` of a duplicate (``exact``, ``near``, ``contained``: an exact
    copy is one whatever the probability) and the ``reason`` where the verdict needs one (null elsewhere); a bad line skipped (``--skip-bad``) gives its ``line``, the verdict
    ``skipped`` and the ``reason``, and no scores. ``result`` holds the scores of the other rows, in order. Every
    line has the same keys in one order (``line`` null but for a bad line), as every per-article file has."""
    k = -1
    for r in rows:
        if "bad" in r:
            yield {"id": r["id"], "jaccard": None, "containment": None, "cosine": None, "story_score": None,
                   "probability": None, "verdict": "skipped", "relation": None, "reason": r["bad"], "line": r["line"]}
            continue
        k += 1
        yield {
            "id": r["id"],
            "jaccard": _score(result.jaccard[k]),
            "containment": _score(result.containment[k]),
            "cosine": _score(result.cosine[k]),
            "story_score": _score(result.story_score[k]),
            "probability": None if result.probability is None else _score(result.probability[k]),
            "verdict": result.verdict[k],
            "relation": None if result.relation is None else result.relation[k],
            "reason": None if result.reason is None else result.reason[k],
            "line": None,
        }


def write_similarity(out: str | os.PathLike[str], rows: list[dict[str, Any]], result: SimilarityResult) -> int:
    """Write :func:`similarity_rows` to the file ``out``; returns the number of lines.

    Raises:
        OutputError: the file cannot be written (the disk full, say).
    """
    try:
        return write_jsonl(out, similarity_rows(rows, result))
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the output ({write_failure(exc)}); check the path, its permissions and "
                          "free space") from exc


def _json_kind(value: Any) -> str:
    """What a JSON value is, as its reader would say it."""
    return {type(None): "null", bool: "true or false", int: "a number", float: "a number", list: "an array",
            dict: "an object"}.get(type(value), type(value).__name__)
