"""The job of ``dedup dedupe``: a feed in, the outputs of its duplicate detection out, with or without a history index."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..config import DedupConfig, ReadConfig
from ..errors import ConfigError
from ..io.console import kept_warnings, print_dedupe_summary, print_run_warnings, progress_bar, say
from ..runtime import Runtime
from .index import NEEDS_IDS, history

__all__ = ["run_dedupe"]


def run_dedupe(
    inputs: Sequence[str],
    out: str,
    settings: Mapping[str, Any],
    *,
    quiet: bool = False,
    output_format: str = "jsonl",
    index: str | None = None,
    window_days: float | None = None,
    report: bool = True,
    echo: Callable[[str], None] = say,
) -> dict[str, Any]:
    """Deduplicate the feed ``inputs`` and write the outputs into the folder ``out``, as ``dedup dedupe`` does.

    The folder is checked before any work and the files appear whole (a URL
    is staged locally and uploaded at the end). The input records are spooled
    aside while the feed streams through the flow, so the run holds no text.

    Args:
        inputs: files, folders, ``-`` or URLs, read in order.
        out: the output folder, or ``s3://bucket/prefix/``.
        settings: table name → config: ``"read"`` (:class:`~dedup.config.ReadConfig`),
            ``"dedupe"`` (:class:`~dedup.config.DedupConfig`), ``"runtime"``
            (:class:`~dedup.runtime.Runtime`); a missing table takes the defaults.
        quiet: no progress bars, stage timings or counts on stderr; warnings
            (records skipped, files left out, unreadable dates) still show.
        output_format: ``"jsonl"`` or ``"parquet"`` (needs pyarrow).
        index: a history index (SQLite file or ``redis://…``) the feed is also
            compared with, then added to.
        window_days: with ``index``, compare only with stored articles dated
            within this many days.
        report: write ``report.html``.
        echo: where one-line notices go (waiting for another writer of the index).

    Returns:
        The run's summary (what ``summary.json`` holds).

    Raises:
        DedupError: a bad input, setting or output place (one line says which).
    """
    from ..flows.dedupe import dedupe
    from ..io.dedupe_out import RecordSpool, stale_outputs, write_dedupe_outputs
    from ..io.spool import ReportSpool
    from ..io.readers import ArticleStream
    from ..io.readers.blocks import JsonlBlocks
    from ..io.writers import staged_output
    from ..io.writers import check_output
    from ..exec.heap import small_run_heap, tune_gc, tune_heap
    from ..exec.local import LocalExecutor
    from ..store.spill import check_temp_dir

    read, config = settings.get("read", ReadConfig()), settings.get("dedupe", DedupConfig())
    if window_days is not None and index is None:
        raise ConfigError("window_days needs a history index (--window-days needs --index)")
    if window_days is not None and not 0 <= window_days < float("inf"):  # nan passed the option's range, as no window
        raise ConfigError(f"window_days (--window-days) must be a finite number >= 0, got {window_days}")
    stale = stale_outputs(output_format) + (() if report else ("report.html",))
    check_temp_dir(settings.get("runtime", Runtime()).temp_dir)  # before anything is made: no silent fallback to /tmp
    tune_heap()  # this process and its workers start with the heap thresholds a long run reaches (dedup.exec.heap)
    tune_gc()  # reference cycles collected less often (dedup.exec.heap; its workers too)
    with (progress_bar(quiet) as progress, kept_warnings() as notes,
          staged_output(out, read.storage_options, stale=stale, command="dedupe", inputs=list(inputs)) as folder):
        check_output(folder)
        if output_format == "parquet":  # before the run, not after it
            from ..io.parquet_out import check_pyarrow

            check_pyarrow()
        with history(index, config) as stored:
            spool = ReportSpool() if report else RecordSpool()  # the records, for unique.jsonl and report.html: the run keeps no text
            try:
                feed: Any
                if stored is None and JsonlBlocks.usable(inputs, read):  # local JSONL files: the workers parse them too
                    feed = blocks = JsonlBlocks(inputs, read, spool)
                    size = blocks.plain_bytes()
                    bad: Callable[[], Any] = lambda: blocks.bad  # noqa: E731
                else:
                    stream = ArticleStream(inputs, read, keep_raw=True, needs_ids=NEEDS_IDS if stored is not None else None)
                    feed, bad = spool.tap(stream), lambda: stream.bad
                    size = None
                runtime = settings.get("runtime", Runtime())
                # a small feed's run keeps its heap whole, and its texts in memory (dedup.exec.heap)
                with small_run_heap(size):
                    try:
                        result = dedupe(feed, config, progress, bad, runtime, index=stored, window_days=window_days, on_wait=echo)
                    except KeyboardInterrupt as exc:  # before any output: what the folder held (an earlier run's) is untouched
                        exc.add_note(f"nothing was written to {out}; what it held before is as it was")
                        raise
                    # the run's local workers (joblib keeps them) write two of the files while this process writes the others
                    writers = LocalExecutor(runtime.local_jobs) if runtime.backend == "local" else None
                    try:
                        info = write_dedupe_outputs(folder, result, list(inputs), spool, output_format, report, read, writers, notes)
                    except BaseException as exc:  # the index holds the feed already: a rerun skips every article
                        if index is not None:
                            exc.add_note(f"the index {index} already holds this feed's articles (committed before the outputs): "
                                         f"`dedup index export {index}` lists their decisions; a rerun skips them and writes "
                                         "the kept ones to unique.jsonl again")
                        raise
            finally:
                spool.close()
    if not quiet:
        print_dedupe_summary(info, out.rstrip("/"), report)
    else:
        print_run_warnings(info)
    return info
