"""Human-readable output on the terminal: progress bars, the run summary, library warnings."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["logging_to_stderr", "print_dedupe_summary", "progress_bar"]


def logging_to_stderr(quiet: bool) -> None:
    """Library warnings (e.g. skipped bad records) go to stderr; ``--quiet`` keeps only errors."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("dedup: %(levelname)s: %(message)s"))
    root = logging.getLogger("dedup")
    root.handlers[:] = [handler]
    root.setLevel(logging.ERROR if quiet else logging.WARNING)
    root.propagate = False


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
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or None)  # 0: not known (a stream)
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
        f"{c['articles']} articles: {c['kept']} kept, {c['duplicates']} duplicates "
        f"({rel['exact']} exact, {rel['near']} near, {rel['contained']} contained) in {c['duplicate_groups']} groups, "
        f"{c['skipped']} skipped" + (f", {c['bad_records']} bad records skipped" if c["bad_records"] else "")
    ]
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
