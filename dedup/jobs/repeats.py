"""The job of ``dedup repeats``: a feed in, its repeated paragraphs and cleaned records out, streaming."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..config import ReadConfig, RepeatsConfig
from ..io.console import kept_warnings, print_repeats_summary, progress_bar
from ..runtime import Runtime

__all__ = ["run_repeats"]


def run_repeats(inputs: Sequence[str], out: str, settings: Mapping[str, Any], *, quiet: bool = False) -> dict[str, Any]:
    """Find the paragraphs repeated inside each article of ``inputs`` and write the outputs into ``out``.

    The feed streams through the executor in chunks (each article on its own),
    so any size passes in about the memory of the chunks in flight.

    Args:
        inputs: files, folders, ``-`` or URLs, read in order.
        out: the output folder, or ``s3://bucket/prefix/``.
        settings: table name → config: ``"read"``, ``"repeats"``
            (:class:`~dedup.config.RepeatsConfig`), ``"runtime"``; a missing
            table takes the defaults.
        quiet: no progress bar or counts on stderr.

    Returns:
        The run's summary (what ``summary.json`` holds).
    """
    from ..exec import open_executor
    from ..flows.repeats import repeats_stream
    from ..store.spill import check_temp_dir
    from ..io.readers import ArticleStream
    from ..io.writers import staged_output
    from ..io.repeats_out import write_repeats_outputs
    from ..io.writers import check_output

    read, config = settings.get("read", ReadConfig()), settings.get("repeats", RepeatsConfig())
    runtime = settings.get("runtime", Runtime())
    check_temp_dir(runtime.temp_dir)  # before anything is made: no silent fallback to /tmp
    with (progress_bar(quiet) as progress, kept_warnings() as notes, open_executor(runtime) as executor,
          staged_output(out, read.storage_options, command="repeats", inputs=list(inputs)) as folder):
        check_output(folder)
        stream = ArticleStream(inputs, read)
        tick = None if progress is None else (lambda k: progress("repeats", k, 0))  # a stream: no total
        items = repeats_stream(stream, config, executor, runtime.chunk_size, tick)
        info = write_repeats_outputs(folder, items, config, list(inputs), lambda: stream.bad, read, notes,
                                     runtime=runtime.to_dict(), workers=executor.take_workers)
    if not quiet:
        print_repeats_summary(info, out.rstrip("/"))
    return info
