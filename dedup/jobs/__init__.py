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
they run, so that importing this package (as ``dedup --help`` does) stays cheap.
"""

from __future__ import annotations

from .dedupe import run_dedupe
from .evaluate import run_eval
from .index import export_index, history, index_stats, prune_index
from .params import lsh_params
from .repeats import run_repeats
from .serve import run_server, serve_app
from .similarity import run_similarity
from .stories import run_stories

__all__ = ["export_index", "history", "index_stats", "lsh_params", "prune_index", "run_dedupe", "run_eval", "run_repeats",
           "run_server", "run_similarity", "run_stories", "serve_app"]
