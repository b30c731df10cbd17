"""Turn a :class:`~dedup.flows.dedupe.DedupResult` into the files of ``--out DIR``.

This is where positions become ids again. Files:

* ``unique.jsonl``: the original records of every article that is not a
  duplicate (kept and skipped ones, but not those a history index already
  holds: an earlier run decided them), in input order (a record read from a
  JSONL line is that line, unchanged);
* ``decisions.jsonl``: exactly one line per input record, in input order, each
  with the keys of :func:`~dedup.io.dedupe_rows.decision_keys` in that order (a
  record skipped with ``--skip-bad`` has ``"id": null``, ``"status": "skipped"``,
  its ``file`` and ``line``, null on an article's line: :mod:`dedup.io.skipped`);
* ``pairs.jsonl``: every verified duplicate edge with its scores;
* ``summary.json``: counts, every parameter, stage timings, the first 100 skipped records;
* ``report.html`` (unless ``report=False``): the groups, each copy beside its
  kept article (:mod:`dedup.io.dedupe_report`).

Every file is written atomically, ``summary.json`` last: a directory with a
``summary.json`` from this run holds complete outputs.

A run keeps no article text, so ``unique.jsonl`` is written from the records
as they streamed by: a :class:`~dedup.io.spool.RecordSpool` serializes each
record into a temporary file while the feed is read, and the kept ones are
copied out once the decisions are known. The rows of ``decisions.jsonl`` and
``pairs.jsonl`` are made by :mod:`dedup.io.dedupe_rows`.

With ``output_format="parquet"`` the three files are ``unique.parquet``,
``decisions.parquet`` and ``pairs.parquet`` (:mod:`dedup.io.parquet_out`;
the spool remembers the file and row of each Parquet record, so that the
original rows can be copied), and the other format's three files are removed
from the folder, so that it never holds the outputs of two runs (nor do the
files of the other commands stay: `dedup.io.run_files.start_run`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import __version__
from ..candidates.buckets import sorted_unique  # not np.unique: its first call imports numpy.ma (~12 ms of a small run)
from ..config import ReadConfig
from ..errors import ConfigError, InputError, OutputError
from ..results import DUPLICATE, KEPT, SKIPPED, DedupResult
from ..verify import RELATIONS
from .dedupe_rows import decision_keys, decision_lines, decision_rows, pair_lines, pair_rows
from .skipped import summary_bad, with_skipped
from .spool import RecordSpool
from .run_files import start_run
from .writers import atomic_open, join_parts, json_line, part_path, write_failure, write_json, write_lines, write_part

if TYPE_CHECKING:
    from ..exec import Executor

# RecordSpool, decision_rows and pair_rows live in .spool and .dedupe_rows; named here too, where callers found them
__all__ = ["RecordSpool", "decision_rows", "pair_rows", "processes_used", "stale_outputs", "summary", "timings_used",
           "write_dedupe_outputs"]

# From this many articles the outputs are written in this process only (on its threads): a worker writing decisions.jsonl
# or pairs.jsonl gets its own copy of the result (the edges of a million articles of large copy families: ~0.4 GB).
BESIDE_MAX_ARTICLES = 250_000
# From this many articles, with workers, two of them make one half of decisions.jsonl each (100k articles: the
# longest output, ~1.2 s, which this process waited for when it had no page to make); below, one file is as fast.
SPLIT_DECISIONS_FROM = 20_000
# From this many edges, pairs.jsonl is copied together by a compiled kernel (dedup.io.pair_kernel): 2.7M edges 9.1 -> 3.2 s,
# for numba's import and cache load (~0.5-1 s a process)
PAIR_KERNEL_EDGES = 500_000


def skip_kind(why: str) -> str:
    """The kind of a skip reason, what the summary counts: the reason without its particulars (after ``:`` or `` (``).

    >>> skip_kind("too short: 3 tokens < min_tokens=20")
    'too short'
    >>> skip_kind("already in the index (row 2, a duplicate in group http://a.example/1)")
    'already in the index'
    """
    cut = [k for k in (why.find(":"), why.find(" (")) if k >= 0]
    return why[: min(cut)] if cut else why


def decision_used(verify: Any) -> dict[str, Any]:
    """``{"decision_model": …}`` (:func:`dedup.verify.decision.model_identity`, the probability a pair needs beside
    it) for a run with the learned decision; nothing for the rule."""
    if verify.decision != "model":
        return {}
    from ..verify.decision import model_identity

    used = model_identity(verify.model)
    return {"decision_model": {**used, "min_probability": verify.min_probability or used["threshold"]}}


#: Places of a second in ``timings_seconds`` (every summary: the stage timer's, :class:`~dedup.flows.timer.StageTimer`).
TIMING_PLACES = 4


def timings_used(seconds: Mapping[str, float]) -> dict[str, Any]:
    """``{"timings_seconds": …}`` for ``summary.json``: seconds per stage, in the order they ran, and their ``total``.

    Every value is rounded to :data:`TIMING_PLACES` places. A stage named
    ``part.stage`` is one of the stages of ``part`` (``dedup stories`` times
    ``dedupe`` and, inside it, ``dedupe.normalize`` …): the total adds the
    stages that are no part of another, so it counts each second once.

    >>> timings_used({"dedupe.sketch": 0.5, "dedupe": 0.61234, "events": 1.2})
    {'timings_seconds': {'dedupe.sketch': 0.5, 'dedupe': 0.6123, 'events': 1.2, 'total': 1.8123}}
    """
    rounded = {stage: round(s, TIMING_PLACES) for stage, s in seconds.items()}
    total = round(sum(s for stage, s in rounded.items() if "." not in stage), TIMING_PLACES)
    return {"timings_seconds": {**rounded, "total": total}}


def processes_used(runtime: Mapping[str, Any], workers: Mapping[str, int]) -> dict[str, Any]:
    """``{"processes": …}`` for ``summary.json``: the processes a run was asked for and those it used.

    ``n_jobs`` as asked (``config.runtime`` has it too: ``-1`` for all cores);
    ``workers``, the most worker processes a stage gave tasks to (0: the
    whole run in this process, as work that fits one task runs whatever
    ``n_jobs`` says; at most the cores it may use); ``workers_by_stage``, per
    stage of ``timings_seconds``.

    >>> processes_used({"n_jobs": 2}, {"normalize": 0, "verify": 2})
    {'processes': {'n_jobs': 2, 'workers': 2, 'workers_by_stage': {'normalize': 0, 'verify': 2}}}
    """
    return {"processes": {"n_jobs": runtime.get("n_jobs"), "workers": max(workers.values(), default=0),
                          "workers_by_stage": dict(workers)}}


def summary(result: DedupResult, inputs: list[str], read: ReadConfig | None = None,
            warnings: Sequence[str] = ()) -> dict[str, Any]:
    """Counts, parameters and timings of a run (and the warnings it gave, :func:`dedup.io.console.kept_warnings`)."""
    from ..sketch.pinned import datasketch_version  # the version without importing datasketch (~0.4 s)

    status = np.bincount(result.status, minlength=3)
    rel = np.bincount(result.relation[result.status == DUPLICATE], minlength=4)
    groups = sorted_unique(result.group[result.group >= 0])
    skipped: dict[str, int] = {}
    for why in result.reason_skipped.values():
        key = skip_kind(why)
        skipped[key] = skipped.get(key, 0) + 1
    cfg = result.config.to_dict()
    cand = result.candidates
    n_bad_dates, bad_date_ids = result.table.unreadable_dates()
    return {
        "dedup_version": __version__,
        "command": "dedupe",
        "inputs": inputs,
        "counts": {
            "records": len(result.table) + len(result.bad_records),  # every input record: kept + duplicates + skipped + bad_records
            "articles": len(result.table),
            "kept": int(status[KEPT]),
            "duplicates": int(status[DUPLICATE]),
            "skipped": int(status[SKIPPED]),
            "skipped_by_reason": skipped,
            "duplicate_groups": len(groups),
            "duplicates_by_relation": {RELATIONS[k]: int(rel[k]) for k in (1, 2, 3)},
            "candidate_pairs": len(cand),
            "candidate_pairs_from_lsh": cand.from_lsh,
            "candidate_pairs_from_anchors": cand.from_anchors,
            "candidate_pairs_from_both": cand.from_both,
            "capped_buckets": cand.capped_buckets,
            "candidate_pairs_screened_out": cand.screened_out,
            "verified_pairs": len(result.pairs) - result.copied_pairs,
            "pairs_of_exact_copies": result.copied_pairs,
            "boilerplate_lines": len(result.boilerplate),
            "articles_with_boilerplate": int((result.boilerplate_removed > 0).sum()),
            "bad_records": len(result.bad_records),
            "dates_unreadable": n_bad_dates,
            **(
                {"articles_with_repeats": int((result.repeat_counts > 0).sum())}
                if result.repeat_counts is not None
                else {}
            ),
        },
        "config": {**({"read": read.to_table()} if read is not None else {}), "dedupe": cfg, "runtime": result.runtime},
        **decision_used(result.config.verify),
        "sketch": {
            "library": "datasketch",
            "datasketch_version": datasketch_version(),
            "scheme": result.config.minhash.scheme,
            "num_perm": result.config.minhash.num_perm,
            "seed": result.config.minhash.seed,
            "bands": cand.bands,
            "rows": cand.rows,
        },
        **({"dates_unreadable_ids": bad_date_ids} if n_bad_dates else {}),
        **({"history": result.history_counts} if result.history_counts else {}),
        **timings_used(result.timings),
        **processes_used(result.runtime, result.workers),
        **summary_bad(result.bad_records),
        "boilerplate": result.boilerplate.report()[:100],
        **({"warnings": list(warnings)} if warnings else {}),
    }


def stale_outputs(output_format: str) -> tuple[str, ...]:
    """The files of the other output format, which a run removes from its folder.

    >>> stale_outputs("parquet")
    ('unique.jsonl', 'decisions.jsonl', 'pairs.jsonl')
    """
    other = "jsonl" if output_format == "parquet" else "parquet"
    return tuple(f"{name}.{other}" for name in ("unique", "decisions", "pairs"))


def write_dedupe_outputs(
    out_dir: str | Path, result: DedupResult, inputs: list[str], records: Iterable[dict[str, Any] | str | bytes] | RecordSpool,
    output_format: str = "jsonl", report: bool = True, read: ReadConfig | None = None, executor: Executor | None = None,
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """Write the output files atomically (``report.html`` too unless ``report`` is False); returns the summary.

    Args:
        out_dir: the output directory (created if needed).
        result: the run.
        inputs: the input paths, for the summary.
        records: every input record in input order (one per article of the
            run), as objects or as JSON lines (str, or UTF-8 bytes as
            :meth:`~dedup.io.spool.RecordSpool.lines` gives them), or the spool itself (which
            lets ``unique.parquet`` copy the rows of Parquet inputs).
        output_format: ``"jsonl"`` or ``"parquet"`` (needs pyarrow).
        report: write ``report.html`` (its texts are read back from
            ``records``: a spool, or a list); else remove an old one.
        read: how the inputs were read, recorded in ``summary.json``.
        warnings: the run's warnings so far, recorded in ``summary.json`` (read
            when it is written).
        executor: where ``decisions.jsonl`` and ``pairs.jsonl`` may be written
            beside this process's own work (its workers, when it has some and
            the feed has fewer than :data:`BESIDE_MAX_ARTICLES` articles), while
            this process copies the records and makes the page, on two of its
            threads (100k articles: 2.97 -> 2.68 s, median of four); from
            :data:`SPLIT_DECISIONS_FROM` articles, with workers running, two of
            them make one half of ``decisions.jsonl`` each and, with no page to
            make, this process writes ``pairs.jsonl``. A larger feed's files
            are written here, on the executor's threads (two, with several
            jobs): ``decisions.jsonl`` then ``unique.jsonl`` on one, ``pairs.jsonl``
            then the page on the other (a million articles of large copy
            families: 55 s one after the other; the run's time outside
            its stages 60 -> 40 s). None: all here, one after the other.

    Raises:
        OutputError: a file cannot be written.
        ConfigError: ``"parquet"`` without pyarrow.
    """
    if output_format not in ("jsonl", "parquet"):
        raise ConfigError(f"output format must be jsonl or parquet, got {output_format!r}")
    out = Path(out_dir)
    try:
        start_run(out, "dedupe", also=stale_outputs(output_format) + (() if report else ("report.html",)), inputs=inputs)
        blank = decision_keys(result.history is not None, result.repeat_counts is not None)  # a bad record's line: these keys
        beside = output_format == "jsonl" and executor is not None and len(result.table) < BESIDE_MAX_ARTICLES
        if output_format == "parquet":
            from .parquet_out import write_parquet_outputs

            decisions = with_skipped(decision_rows(result), result.bad_records, blank)
            write_parquet_outputs(out, records, result.unique(), decisions, pair_rows(result),
                                  history=result.history is not None, repeats=result.repeat_counts is not None)
        elif not beside:  # on two threads of this process when the run has several jobs: two of the four files each
            def records_and_decisions() -> None:
                _write_decisions(out / "decisions.jsonl", result, blank)
                _write_unique(out / "unique.jsonl", records, result.unique())  # copied by the kernel, without the GIL

            def edges_and_page() -> None:
                _write_pairs(out / "pairs.jsonl", result)  # many edges: a compiled kernel's, without the GIL
                if report:
                    write_dedupe_report(out / "report.html", result, records, inputs)

            mine = (records_and_decisions, edges_and_page)
            list(map(_call, mine) if executor is None else executor.threads(_call, mine))
        else:  # decisions.jsonl and pairs.jsonl need the result only: workers write them while this process copies the records
            decisions_path = out / "decisions.jsonl"
            # two workers make one half of decisions.jsonl each; with no page to make, this process writes pairs.jsonl
            split = len(result.table) >= SPLIT_DECISIONS_FROM and executor.beside_in_workers()  # type: ignore[union-attr]
            parts = [part_path(decisions_path, k) for k in range(2)] if split else []
            half = len(result.table) // 2
            calls: list[tuple[Any, tuple[Any, ...]]] = (
                [(_write_decision_part, (parts[0], result, blank, 0, half)), (_write_decision_part, (parts[1], result, blank, half, None))]
                if split else [(_write_decisions, (decisions_path, result, blank))])
            pairs_here = split and not report
            if not pairs_here:
                calls.append((_write_pairs, (out / "pairs.jsonl", result)))
            try:
                written = executor.beside(calls)  # type: ignore[union-attr]

                def copy_records() -> None:  # file to file in the kernel, without the GIL
                    _write_unique(out / "unique.jsonl", records, result.unique())

                def page_or_edges() -> None:
                    if report:
                        write_dedupe_report(out / "report.html", result, records, inputs)
                    if pairs_here:
                        _write_pairs(out / "pairs.jsonl", result)

                try:  # this process's two files on two of its threads with the decisions split (workers run); else in order
                    mine = (copy_records, page_or_edges)
                    list(executor.threads(_call, mine) if split else map(_call, mine))  # type: ignore[union-attr]
                except BaseException:
                    with suppress(BaseException):  # theirs over too (those not started here are not run): no file is written after this returns
                        written(needed=False)
                    raise
                written()
                if parts:
                    join_parts(decisions_path, parts)
            finally:
                for part in parts:  # (join_parts removes them; a failure before it leaves them here)
                    with suppress(OSError):
                        part.unlink(missing_ok=True)
        if report and output_format == "parquet":
            write_dedupe_report(out / "report.html", result, records, inputs)
        info = summary(result, inputs, read, warnings)
        info["output_format"] = output_format
        write_json(out / "summary.json", info)
    except OutputError:
        raise
    except InputError:  # reading the input went wrong (it streams by as the files are written): said as such
        raise
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the outputs ({write_failure(exc)}); check the path, its permissions and free space") from exc
    return info


def write_dedupe_report(path: Path, result: DedupResult, records: Any, inputs: list[str]) -> None:
    """:func:`dedup.io.dedupe_report.write_dedupe_report`, imported when a run makes the page (~25 ms of a run without it)."""
    from .dedupe_report import write_dedupe_report as write

    write(path, result, records, inputs)


def _call(func: Callable[[], None]) -> None:
    func()


def _write_decisions(path: Path, result: DedupResult, blank: tuple[str, ...]) -> None:
    """``decisions.jsonl``: an article's line, or a bad record's row, in input order."""
    lines = with_skipped(decision_lines(result), result.bad_records, blank)
    write_lines(path, (x if isinstance(x, str) else json_line(x) for x in lines))


def _write_decision_part(path: Path, result: DedupResult, blank: tuple[str, ...], start: int, stop: int | None) -> None:
    """The lines of ``decisions.jsonl`` for the articles ``start..stop-1`` (``stop`` None: to the end, with the trailing bad records), into a part file."""
    lines = with_skipped(decision_lines(result, start, stop), result.bad_records, blank, start=start, last=stop is None)
    write_part(path, (x if isinstance(x, str) else json_line(x) for x in lines))


def _write_pairs(path: Path, result: DedupResult) -> None:
    """``pairs.jsonl``: every verified duplicate edge (from :data:`PAIR_KERNEL_EDGES` edges, copied together by a kernel)."""
    if len(result.pairs) < PAIR_KERNEL_EDGES:
        write_lines(path, pair_lines(result))
        return
    from .pair_kernel import pair_blocks

    with atomic_open(path, "wb") as out:
        for block in pair_blocks(result):
            out.write(block)


def _write_unique(path: Path, records: Iterable[dict[str, Any] | str | bytes] | RecordSpool, unique: np.ndarray) -> None:
    """Copy the records of the articles ``unique`` (:meth:`DedupResult.unique`) marks."""
    n = 0
    with atomic_open(path, "wb") as out:
        if isinstance(records, RecordSpool):
            try:
                records.copy_lines(unique, out)
            except ValueError as exc:
                raise ValueError(f"write_dedupe_outputs: {exc}") from None
            return
        for pos, rec in enumerate(records):
            if pos >= len(unique):
                raise ValueError(f"write_dedupe_outputs: more records than the {len(unique)} articles of the run")
            if unique[pos]:
                if isinstance(rec, dict):
                    rec = json_line(rec)
                out.write(rec.encode("utf-8") if isinstance(rec, str) else rec)
            n += 1
        if n != len(unique):
            raise ValueError(f"write_dedupe_outputs: {n} records for the {len(unique)} articles of the run")
