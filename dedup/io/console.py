"""Human-readable output on the terminal: progress bars, the summary of each run, answers, library warnings."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["kept_warnings", "logging_to_stderr", "print_dedupe_summary", "print_json", "print_lsh_params", "print_repeats_summary", "print_run_warnings",
           "print_stories_summary", "progress_bar", "say"]


def say(message: str, err: bool = True) -> None:
    """One line on stderr (``err=False``: stdout), written as typer writes it.

    Through typer's click (``typer.echo``: typer 0.28 bundles click and does not
    install it), which writes UTF-8 even to a stream set up for ASCII, so an
    Arabic id or path never fails to print.
    """
    from typer import echo

    echo(message, err=err)


def print_json(obj: Any) -> None:
    """A command's JSON answer (``dedup eval``, ``dedup index stats``) on stdout, indented, non-ASCII kept."""
    import json

    say(json.dumps(obj, indent=2, ensure_ascii=False), err=False)


def logging_to_stderr(quiet: bool) -> None:
    """Library warnings (e.g. skipped bad records, files left out of a folder) go to stderr, with ``--quiet`` too.

    ``--quiet`` hides progress, tables and counts, not what a run lost or
    left out: a nightly job's stderr is where that must show. The warnings
    are also recorded for ``summary.json`` (:func:`kept_warnings`).
    """
    import logging

    class Lowercase(logging.Formatter):  # "dedup: warning: …", as the commands' own warning lines read
        def formatMessage(self, record: logging.LogRecord) -> str:
            return f"dedup: {record.levelname.lower()}: {record.message}"

    class ToStderr(logging.StreamHandler):  # sys.stderr as it is at each line, not as it was when the command started
        def __init__(self) -> None:
            logging.Handler.__init__(self)

        @property
        def stream(self) -> Any:  # type: ignore[override]
            return sys.stderr

    # A stream bound at the start outlived its command when the caller swapped sys.stderr for the run (click's
    # CliRunner, a test, a notebook): every later warning of the library was a "--- Logging error ---" traceback
    # about a closed file.
    handler = ToStderr()
    handler.setFormatter(Lowercase())
    handler.setLevel(logging.WARNING)
    root = logging.getLogger("dedup")
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    root.propagate = False


#: At most this many warnings are kept for ``summary.json`` (with their count, when there were more).
KEPT_WARNINGS = 100


@contextmanager
def kept_warnings() -> Iterator[list[str]]:
    """The library's warnings during the block (the ``dedup`` logger's, WARNING and up), for ``summary.json``.

    Whatever ``--quiet`` hides from stderr still lands in the run's summary:
    a file left out of a folder, an empty zip member, a bad record skipped.
    The list fills as the block runs; a summary written inside the block
    reads it as it then is. At most :data:`KEPT_WARNINGS` are kept, and then
    one more line says how many more there were.

    >>> import logging
    >>> with kept_warnings() as notes:
    ...     logging.getLogger("dedup.io.readers").warning("feed: %d file left out", 1)
    >>> notes
    ['feed: 1 file left out']
    """
    import logging

    kept: list[str] = []
    more = 0

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            nonlocal more
            if len(kept) < KEPT_WARNINGS:
                kept.append(record.getMessage())
                return
            more += 1
            kept[KEPT_WARNINGS:] = [f"... and {more} more warning{'' if more == 1 else 's'}"]

    logger = logging.getLogger("dedup")
    if logger.level == logging.NOTSET or logger.level > logging.WARNING:
        logger.setLevel(logging.WARNING)
    handler = _Keep(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield kept
    finally:
        logger.removeHandler(handler)


@contextmanager
def progress_bar(quiet: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A rich progress bar per long stage on stderr (nothing when quiet or not a terminal)."""
    logging_to_stderr(quiet)
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    tasks: dict[str, int] = {}
    with Progress(TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:

        def update(stage: str, advance: int, total: int) -> None:
            shown = {t.id: t for t in bar.tasks}
            if stage not in tasks:
                for name, task in list(tasks.items()):  # a new stage: the others are over
                    if task not in shown or shown[task].finished:
                        continue
                    if not shown[task].completed:  # announced, never counted (candidates, verify): gone from the bars
                        bar.remove_task(task)
                        del tasks[name]
                        continue
                    bar.update(task, total=shown[task].completed)  # counted: full, its clock stopped
                    bar.stop_task(task)
                tasks[stage] = bar.add_task(stage, total=total or None)  # 0: not known (a stream, or a stage announced)
            elif total and shown[tasks[stage]].total is None:
                bar.update(tasks[stage], total=total)  # announced before its size was known
            bar.advance(tasks[stage], advance)

        yield update


def print_dedupe_summary(info: dict[str, Any], out: str | Path, report: bool = True) -> None:
    """The stage timings and the counts of a dedupe run, on stderr.

    A rich table on a terminal; elsewhere (a log, a pipe) plain aligned lines,
    which read the same in a file and do not load rich (~60 ms of a small run).
    """
    c = info["counts"]
    rel = c["duplicates_by_relation"]
    lines = [
        f"{_count(c['articles'], 'article')}: {c['kept']} kept, {_count(c['duplicates'], 'duplicate')} "
        f"({rel['exact']} exact, {rel['near']} near, {rel['contained']} contained) in {_count(c['duplicate_groups'], 'group')}, "
        f"{c['skipped']} skipped{_why_skipped(c.get('skipped_by_reason', {}))}" + _bad_records(c)
    ]
    if c.get("dates_unreadable"):
        lines.append(_unreadable_dates(c["dates_unreadable"], info.get("dates_unreadable_ids", [])))
    hist = info.get("history")
    if hist:
        lines.append(
            f"history {hist['location']}: {hist['added']} added, {hist['already_indexed']} already there, "
            f"{hist['duplicates_of_history']} duplicates of stored articles ({hist['stored_articles_met']} stored articles compared)"
        )
    ext = info.get("output_format", "jsonl")
    lines.append(f"outputs in {out}/: unique.{ext} decisions.{ext} pairs.{ext}{' report.html' if report else ''} summary.json")
    timings = info["timings_seconds"]
    if not sys.stderr.isatty():
        width = max([len("stage"), *map(len, timings)])
        rows = [f"{'stage':<{width}}  seconds", *(f"{stage:<{width}}  {sec:7.2f}" for stage, sec in timings.items())]
        sys.stderr.write("\n".join(["stage timings", *rows, *lines]) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True)
    table = Table(title="stage timings", show_header=True)
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for stage, sec in timings.items():
        table.add_row(stage, f"{sec:.2f}")
    console.print(table)
    for line in lines:
        console.print(line)


def _why_skipped(by_reason: dict[str, int], shown: int = 3) -> str:
    """`` (236 empty text, 145 too short)``: the kinds of skip, most first; the rest counted as "other".

    >>> _why_skipped({"too short": 145, "empty text": 236})
    ' (236 empty text, 145 too short)'
    >>> _why_skipped({"a": 4, "b": 3, "c": 2, "d": 1, "e": 1}, shown=2)
    ' (4 a, 3 b, 4 other)'
    >>> _why_skipped({})
    ''
    """
    if not by_reason:
        return ""
    kinds = sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    parts = [f"{n} {kind}" for kind, n in kinds[:shown]]
    rest = sum(n for _, n in kinds[shown:])
    return " (" + ", ".join(parts + ([f"{rest} other"] if rest else [])) + ")"


def print_repeats_summary(info: dict[str, Any], out: str) -> None:
    """The counts of a repeats run, in one line on stderr.

    The kinds count repeats (relations), not articles, so they follow their own total; the characters are those the
    cleaned copies lose; boilerplate lines are reported only, never cut. On the seeds: ``5 articles, 2 with repeated
    paragraphs: 10 repeats (4 exact, 6 contained, 0 near), 1450 characters cut in cleaned.jsonl; 7 repeated
    boilerplate lines reported, not cut; outputs in DIR/``.
    """
    c, k = info["counts"], info["counts"]["by_kind"]
    content = k["exact"] + k["contained"] + k["near"]
    say(f"{_count(c['articles'], 'article')}, {c['articles_with_repeats']} with repeated paragraphs: "
        f"{_count(content, 'repeat')} ({k['exact']} exact, {k['contained']} contained, {k['near']} near), "
        f"{_count(c.get('redundant_chars', 0), 'character')} cut in cleaned.jsonl; "
        f"{_count(k['boilerplate'], 'repeated boilerplate line')} reported, not cut"
        + _bad_records(c) + f"; outputs in {out}/")


def _bad_records(counts: dict[str, Any]) -> str:
    """``; 3 bad records skipped; 12 records read``: the input records that are no article, and all the records read
    (the articles and these: a line each in the per-article output), so that the line accounts for every record.
    Nothing when no record was bad (the articles are then every record).

    >>> _bad_records({"records": 12, "articles": 9, "bad_records": 3})
    '; 3 bad records skipped; 12 records read'
    >>> _bad_records({"records": 9, "articles": 9, "bad_records": 0})
    ''
    """
    bad = counts.get("bad_records") or 0
    if not bad:
        return ""
    records = counts.get("records", counts.get("articles", 0) + bad)
    return f"; {_count(bad, 'bad record')} skipped; {_count(records, 'record')} read"


def _count(n: int, noun: str) -> str:
    """``n`` and the noun, plural but for one.

    >>> _count(1, "group"), _count(0, "group"), _count(2, "duplicate")
    ('1 group', '0 groups', '2 duplicates')
    """
    return f"{n} {noun}{'' if n == 1 else 's'}"


def print_run_warnings(info: dict[str, Any]) -> None:
    """What a run's summary lines warn of, alone (``--quiet`` prints no summary, but still the warnings)."""
    n = info.get("dates_unreadable") or info.get("counts", {}).get("dates_unreadable")
    if n:
        say(_unreadable_dates(n, info.get("dates_unreadable_ids", [])))


def _unreadable_dates(n: int, ids: list[str]) -> str:
    """The warning for articles whose date could not be read (they count as undated)."""
    return (f"dedup: warning: {n} article{'' if n == 1 else 's'} came with a date that could not be read (ISO 8601 expected), "
            f"taken as undated by --keep earliest, --window-days and the stories' window; first: {', '.join(ids)}")


def print_stories_summary(info: dict[str, Any], out: str) -> None:
    """The counts of a stories run (its summary), in one line on stderr (and a warning for unreadable dates)."""
    c = info["counts"]
    if c.get("dates_unreadable"):
        say(_unreadable_dates(c["dates_unreadable"], info.get("dates_unreadable_ids", [])))
    n, g = c["storylines"], c["duplicate_groups"]
    # articles already in an index keep the events it tracks for them (the history part of the line counts them)
    alone = {why: k for why, k in c.get("skipped_by_reason", {}).items() if why != "already in the index"}
    k = sum(alone.values())
    hist = info.get("history")
    # with an index the events are those that hold this feed's articles, earlier runs' too: "in", and what this run
    # did apart (it read as if the run had made them all: a rerun of a tracked feed "made" every event again)
    say(f"{_count(c['articles'], 'article')}{' in' if hist else ':'} {_count(c['events'], 'event')} ({c['multi_article_events']} with "
        f"more than one article), {_count(n, 'storyline')}, {_count(g, 'duplicate group')}"
        + (f", {k} not compared{_why_skipped(alone)} (each its own event)" if k else "")
        + _bad_records(c)
        + (_tracked(hist) if hist else "")
        + f"; outputs in {out}/: stories.jsonl events.json report.html summary.json")


def _tracked(hist: dict[str, Any]) -> str:
    """What a stories run did with its history index, apart from the events its feed's articles are in.

    >>> _tracked({"location": "h.db", "placed": 3, "new_events": 1, "continued_events": 1, "already_tracked": 2})
    '; history h.db: this run placed 3 (in 1 new event, 1 earlier event continued), 2 already tracked kept the events earlier runs gave them'
    >>> _tracked({"location": "h.db", "placed": 0, "new_events": 0, "continued_events": 0, "merged_events": 0, "already_tracked": 0})
    '; history h.db: this run placed 0 (in 0 new events, 0 earlier events continued)'
    """
    new = f"in {_count(hist['new_events'], 'new event')}, " if "new_events" in hist else ""
    merged = (f", {hist['merged_events']} merged into another (a report bridged them)" if hist.get("merged_events") else "")
    kept = (f", {hist['already_tracked']} already tracked kept the events earlier runs gave them"
            if hist.get("already_tracked") else "")
    return (f"; history {hist['location']}: this run placed {hist['placed']} ({new}"
            f"{_count(hist['continued_events'], 'earlier event')} continued{merged}){kept}")


def print_lsh_params(info: dict[str, Any]) -> None:
    """The bands and rows of ``dedup explain-params``, their error rates and the S-curve as a bar chart, on stdout."""
    threshold, num_perm, b, r = info["threshold"], info["num_perm"], info["bands"], info["rows"]
    say(f"threshold {threshold}, num_perm {num_perm}: bands b={b}, rows r={r} (b*r={b * r})", err=False)
    # datasketch's names for them; not probabilities of one pair: the areas it weighs to choose b and r
    say(f"false positive weight (area under P(candidate) below the threshold): {info['false_positive']:.4f}", err=False)
    say(f"false negative weight (area over P(candidate) above the threshold): {info['false_negative']:.4f}", err=False)
    # the bands are one of a run's two ways to candidates: a pair they miss may still be one (most contained copies are)
    say("P(candidate) is the bands' chance; a dedupe run also takes articles that share an anchor as candidates\n"
        "(contained copies; --no-anchors), and verifies only candidates whose estimated containment reaches\n"
        f"min_estimate ({info['min_estimate']}; dedupe.index table of --config)\n\njaccard  P(candidate)", err=False)
    for s, p in info["s_curve"]:
        say(f"{s:7.2f}  {p:12.4f}  {'#' * round(p * 40)}", err=False)
