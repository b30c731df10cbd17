"""One command's job, from settings already parsed: the place where a flow meets the files and the terminal.

A flow (:mod:`dedup.flows`) computes on articles and returns a results
record; the edge (:mod:`dedup.io`) reads feeds and writes files. A job joins
them for one command: it checks the output place, opens the history index,
streams the feed into the flow, writes the outputs whole and prints the
command's summary. The CLI parses its options into settings and calls one
job per command; a Python program can call the same jobs::

    from dedup.jobs import run_dedupe
    info = run_dedupe(["feed.jsonl"], "out", {}, quiet=True)  # {}: every setting at its default

``settings`` maps a table name (``"read"``, ``"dedupe"``, ``"stories"``,
``"repeats"``, ``"runtime"``, as in ``summary.json``) to its config; a missing
table takes the defaults. Jobs import the flows and the heavy libraries when
they run, and this package imports a job's module when its name is first asked
for (PEP 562), so that a command loads its own job only (and ``dedup --help`` none).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "export_index": "index",
    "history": "index",
    "index_stats": "index",
    "lsh_params": "params",
    "prune_index": "index",
    "run_dedupe": "dedupe",
    "run_eval": "evaluate",
    "run_repeats": "repeats",
    "run_server": "serve",
    "run_similarity": "similarity",
    "run_stories": "stories",
    "serve_app": "serve",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dedup.jobs' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
