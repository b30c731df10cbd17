"""Write the outputs of ``dedup repeats``: relations, cleaned copies, per-article summaries.

* ``repeats.jsonl``: one line per repeat relation (paragraph ``i`` appears again in ``in``);
* ``cleaned.jsonl``: every article's original record with its text field replaced by
  the cleaned text (unchanged when nothing repeats), plus ``"repeats_removed"``;
* ``articles.jsonl``: per article, its paragraphs, how many repeats of each kind and how much text is
  redundant; one line per input record, each with the keys of :data:`ARTICLE_KEYS` in that order: a
  record skipped with ``--skip-bad`` has ``"id": null``, ``"status": "skipped"``, the reason, its
  ``file`` and ``line`` (:mod:`dedup.io.skipped`), null on an article's line, as are its numbers on its own;
* ``summary.json``: totals, parameters and timings, the first 100 skipped records (written last).

The names are those of the other commands' outputs for the same thing: ``repeats`` as ``decisions.jsonl``
(``dedup dedupe --repeats``), ``timings_seconds`` and ``processes`` as every ``summary.json``.
"""

from __future__ import annotations

from dataclasses import asdict

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import ReadConfig, RepeatsConfig
from ..errors import InputError, OutputError
from ..repeats import KINDS, ArticleRepeats, clean
from ..types import Article, BadRecord
from .skipped import summary_bad, with_skipped
from .run_files import start_run
from .writers import atomic_open, json_line, write_failure, write_json

__all__ = ["ARTICLE_KEYS", "write_repeats_outputs"]

#: The keys of every line of ``articles.jsonl``, in order: ``status``, ``reason``, ``file`` and ``line`` are null but
#: for a bad record (every article is read for repeats: none is skipped), its numbers null for a bad record.
ARTICLE_KEYS = ("id", "status", "paragraphs", "repeats", "by_kind", "redundant_chars", "redundant_share", "reason", "file", "line")


def write_repeats_outputs(
    out_dir: str | Path,
    items: Iterable[tuple[Article, ArticleRepeats]],
    config: RepeatsConfig,
    inputs: list[str],
    bad_records: Callable[[], Sequence[BadRecord]] = tuple,
    read: ReadConfig | None = None,
    warnings: Sequence[str] = (),
    runtime: Mapping[str, Any] | None = None,
    workers: Callable[[], int] | None = None,
) -> dict[str, Any]:
    """Write the four files from ``(article, repeats)`` pairs as they stream by; returns the summary.

    The three JSONL files are written side by side, each to a temporary file
    renamed into place only when the stream has ended without error;
    ``summary.json`` is removed then, before the first rename, and written
    last, so a directory without it is recognizably incomplete, and a run
    whose input fails on the way (a bad record on line 5,000) leaves the
    folder as it was, an earlier run's summary and files together. ``bad_records`` gives the records
    skipped so far, asked as the stream goes by (each gets its line of
    ``articles.jsonl`` in input order) and once more at its end. ``warnings``:
    the run's warnings (:func:`dedup.io.console.kept_warnings`), recorded in the summary,
    as are ``runtime`` (:class:`~dedup.runtime.Runtime` as data: how the run was asked to
    execute) and ``workers`` (asked once the stream has ended: the most worker processes
    its articles went to, :meth:`~dedup.exec.Executor.take_workers`).
    """
    out = Path(out_dir)
    start = time.perf_counter()
    by_kind = dict.fromkeys(KINDS, 0)
    articles = with_repeats = redundant = 0
    try:
        with ExitStack() as stack:
            rel_f, clean_f, art_f = (stack.enter_context(atomic_open(out / name)) for name in ("repeats.jsonl", "cleaned.jsonl", "articles.jsonl"))

            def article_rows() -> Iterator[dict[str, Any]]:
                nonlocal articles, with_repeats, redundant
                for art, res in items:
                    articles += 1
                    for rep in res.repeats:
                        rel_f.write(json_line(rep.as_record(art.id)))
                    record = dict(art.record)
                    if res.n_repeats:
                        record[art.text_key] = clean(art.text, res)
                        with_repeats += 1
                    record["repeats_removed"] = bool(res.n_repeats)
                    clean_f.write(json_line(record))
                    for k, v in res.by_kind().items():
                        by_kind[k] += v
                    redundant += res.redundant_chars
                    yield {"id": art.id, "status": None, **res.summary(), "reason": None, "file": None, "line": None}

            for row in with_skipped(article_rows(), bad_records, ARTICLE_KEYS):
                art_f.write(json_line(row))
            start_run(out, "repeats", inputs=inputs)  # the input read whole: now the files replace the earlier run's
        from .dedupe_out import processes_used, timings_used  # here: the repeats command loads no more of dedupe's outputs than these

        bad = list(bad_records())
        info = {
            "dedup_version": __version__,
            "command": "repeats",
            "inputs": inputs,
            "counts": {
                "records": articles + len(bad),  # every input record: the articles and the bad records
                "articles": articles,
                "articles_with_repeats": with_repeats,
                "by_kind": by_kind,  # articles.jsonl's by_kind, summed
                "redundant_chars": redundant,
                "bad_records": len(bad),
            },
            "config": {**({"read": read.to_table()} if read is not None else {}), "repeats": asdict(config),
                       **({"runtime": dict(runtime)} if runtime is not None else {})},
            **timings_used({"repeats": time.perf_counter() - start}),  # one stage: read, find, write
            **processes_used(runtime or {}, {"repeats": workers() if workers is not None else 0}),
            **summary_bad(bad),
            **({"warnings": list(warnings)} if warnings else {}),
        }
        write_json(out / "summary.json", info)
    except InputError:  # reading the input went wrong (it streams by as the files are written): said as such
        raise
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the outputs ({write_failure(exc)}); check the path, its permissions and free space") from exc
    return info
