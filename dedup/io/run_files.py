"""Which files a run owns in its output folder, and what a new run there removes first.

A folder with a ``summary.json`` holds one complete run: a run removes the
previous summary before its first file, and the files of another command's run
that its summary names (never an input of the new run), so no file of an
earlier run sits beside the new summary.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["RUN_FILES", "replaced_files", "run_command", "start_run"]

# The files each command writes into its --out folder, beside the summary.json it writes last. A folder with a
# summary.json holds one complete run, so a run replacing another command's run removes that run's files (a stories
# run's events.json left beside a dedupe run's summary was scored by ``dedup eval`` as its own): only what the
# previous summary.json says was written, and never an input of the run.
RUN_FILES: dict[str, tuple[str, ...]] = {
    "dedupe": ("unique.jsonl", "decisions.jsonl", "pairs.jsonl", "unique.parquet", "decisions.parquet", "pairs.parquet",
               "report.html"),
    "stories": ("stories.jsonl", "events.json", "report.html"),
    "repeats": ("repeats.jsonl", "cleaned.jsonl", "articles.jsonl"),
}


def run_command(summary: Any) -> str | None:
    """The command whose run a ``summary.json`` (parsed) describes; None for anything else (no dedup summary).

    A summary of an earlier version has no ``command``: its counts tell.

    >>> run_command({"dedup_version": "0.1.0", "command": "stories"}), run_command({"dedup_version": "0", "counts": {"kept": 1}})
    ('stories', 'dedupe')
    >>> run_command({"counts": {"kept": 1}}), run_command([1])
    (None, None)
    """
    if not isinstance(summary, dict) or "dedup_version" not in summary:
        return None
    if summary.get("command") in RUN_FILES:
        return summary["command"]
    counts = summary.get("counts") if isinstance(summary.get("counts"), dict) else {}
    return next((c for key, c in (("kept", "dedupe"), ("events", "stories"), ("articles_with_repeats", "repeats"))
                 if key in counts), None)


def replaced_files(previous: Any, command: str) -> tuple[str, ...]:
    """The files of the run a ``summary.json`` (``previous``, parsed; None: none) describes that a run of ``command``
    does not write over: another command's run, whose files must not sit beside this run's summary.

    >>> replaced_files({"dedup_version": "0.1.0", "command": "stories"}, "dedupe")
    ('stories.jsonl', 'events.json')
    >>> replaced_files(None, "dedupe"), replaced_files({"dedup_version": "0.1.0", "command": "dedupe"}, "dedupe")
    ((), ())
    """
    before = run_command(previous)
    if before is None or before == command:
        return ()
    return tuple(n for n in RUN_FILES[before] if n not in RUN_FILES[command])


def start_run(out: str | os.PathLike[str], command: str, also: Sequence[str] = (),
              inputs: Sequence[str | os.PathLike[str]] = ()) -> None:
    """Before a run of ``command`` writes into ``out``: remove the previous ``summary.json`` (it must not vouch for
    the new files), then, when it described another command's run, that run's files (:func:`replaced_files`), and
    the names in ``also`` (this command's files that this run replaces under another name or leaves out); a file that
    is one of the run's ``inputs`` (``dedup repeats out/unique.jsonl --out out``) stays.

    Raises:
        OSError: a file cannot be removed.
    """
    folder = Path(out)
    try:
        previous = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        previous = None
    (folder / "summary.json").unlink(missing_ok=True)
    for name in (*replaced_files(previous, command), *also):
        path = folder / name
        if path.exists() and not _is_input(path, inputs):
            path.unlink(missing_ok=True)


def _is_input(path: Path, inputs: Sequence[str | os.PathLike[str]]) -> bool:
    for given in inputs:
        try:
            if os.path.samefile(path, given):
                return True
        except (OSError, ValueError, TypeError):  # "-", a URL, a file gone
            continue
    return False
