"""The job of ``dedup stories``: a feed in, its events and storylines out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..config import DedupConfig, ReadConfig, StoriesConfig
from ..io.console import kept_warnings, print_run_warnings, print_stories_summary, progress_bar
from ..runtime import Runtime

__all__ = ["run_stories"]


def run_stories(inputs: Sequence[str], out: str, settings: Mapping[str, Any], *, quiet: bool = False,
                index: str | None = None) -> dict[str, Any]:
    """Group the feed ``inputs`` into events and storylines and write the outputs into ``out``.

    The duplicate detection runs first with the ``"dedupe"`` settings; the
    flow then holds only the open window of days, so a feed larger than
    memory passes through.

    Args:
        inputs: files, folders, ``-`` or URLs, read in order.
        out: the output folder, or ``s3://bucket/prefix/``.
        settings: table name → config: ``"read"``, ``"stories"``
            (:class:`~dedup.config.StoriesConfig`), ``"dedupe"``, ``"runtime"``;
            a missing table takes the defaults.
        quiet: no progress bars or counts on stderr; warnings still show.
        index: a history index (SQLite file or ``redis://``): the feed is
            deduplicated against it and added, and its reports join the
            events it tracks (:mod:`dedup.flows.story_history`).

    Returns:
        The run's summary (what ``summary.json`` holds).
    """
    from ..flows.stories import stories
    from ..io.readers import ArticleStream
    from ..io.writers import staged_output
    from ..io.stories_out import write_stories_outputs
    from ..io.console import say
    from ..io.writers import check_output
    from ..store.spill import check_temp_dir
    from .index import NEEDS_IDS, history

    read = settings.get("read", ReadConfig())
    dedupe = settings.get("dedupe", DedupConfig())
    stories_config = settings.get("stories", StoriesConfig())
    check_temp_dir(settings.get("runtime", Runtime()).temp_dir)  # before anything is made: no silent fallback to /tmp
    if stories_config.semantic:  # before any output place is made
        from ..stories.semantic import require_encoder_for

        require_encoder_for(stories_config)
    with progress_bar(quiet) as progress, kept_warnings() as notes, staged_output(out, read.storage_options, command="stories", inputs=list(inputs)) as folder:
        check_output(folder)
        with history(index, dedupe) as store:
            stream = ArticleStream(inputs, read, needs_ids=NEEDS_IDS if store is not None else None)
            result = stories(stream, stories_config, dedupe, progress, settings.get("runtime", Runtime()),
                             index=store, on_wait=lambda msg: say(msg))
        info = write_stories_outputs(folder, result, list(inputs), stream.bad, read, notes)
    if not quiet:
        print_stories_summary(info, out.rstrip("/"))
    else:
        print_run_warnings(info)
    return info
