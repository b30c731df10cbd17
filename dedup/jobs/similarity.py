"""The job of ``dedup similarity``: a file of text pairs in, their scores and verdicts out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..config import DedupConfig, ReadConfig, StoriesConfig
from ..io.console import logging_to_stderr

__all__ = ["run_similarity"]


def run_similarity(pairs: str, out: str, settings: Mapping[str, Any], storage_options: Sequence[tuple[str, Any]] = (),
                   skip_bad: bool = False, max_record_bytes: int = ReadConfig.max_record_bytes) -> int:
    """Score every pair of the JSONL file ``pairs`` and write one line per pair to the file ``out``; returns the count.

    Args:
        pairs: a JSONL file of ``{"id", "text1", "text2"}`` (optional
            ``"title1"``, ``"title2"``; ``"date1"``, ``"date2"``, ``"source1"``,
            ``"source2"`` for the learned decision), ``-`` for stdin, or a URL.
        out: the output JSONL file (or ``s3://bucket/key.jsonl``: staged, uploaded at the end; ``-``: standard output).
        settings: table name → config: ``"stories"``, ``"dedupe"``; a missing table takes the defaults.
        storage_options: options of the fsspec filesystem of URLs.
        skip_bad: a bad line is an output line with the verdict ``skipped`` and the reason (and a warning on
            stderr), not an error that stops the run.
        max_record_bytes: a line of more bytes than this is a bad line, read past without being held whole.
    """
    from ..io.writers import staged_output
    from ..io.stories_out import write_similarity
    from ..io.writers import check_output

    _not_the_input(pairs, out)
    if max_record_bytes < 1:
        from ..errors import ConfigError

        raise ConfigError(f"--max-record-bytes must be >= 1, got {max_record_bytes}")
    _plain_output(out)
    config = settings.get("stories", StoriesConfig())
    if config.semantic:  # before any output place is made
        from ..stories.semantic import require_encoder_for

        require_encoder_for(config)
    logging_to_stderr(False)
    if out == "-":  # standard output, as the pairs may come from standard input
        import sys

        from ..io.stories_out import similarity_rows
        from ..io.writers import json_line

        rows = _read(pairs, storage_options, skip_bad, max_record_bytes)
        res = _scored(rows, config, settings.get("dedupe", DedupConfig()))
        sys.stdout.flush()
        stream = getattr(sys.stdout, "buffer", None)  # UTF-8 bytes whatever the locale says (a text stream in tests)
        try:
            for line in similarity_rows(rows, res):
                if stream is not None:
                    stream.write(json_line(line).encode("utf-8"))
                else:
                    sys.stdout.write(json_line(line))
            sys.stdout.flush()
        except BrokenPipeError:  # the reader stopped (| head): what it read is what it wanted
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes at exit
        except OSError as exc:
            from ..errors import OutputError

            raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") from None
        return len(rows)
    with staged_output(out, storage_options, is_dir=False) as target:
        check_output(target, is_dir=False)
        rows = _read(pairs, storage_options, skip_bad, max_record_bytes)
        res = _scored(rows, config, settings.get("dedupe", DedupConfig()))
        return write_similarity(target, rows, res)


def _read(pairs: str, storage_options: Sequence[tuple[str, Any]], skip_bad: bool, limit: int) -> list[dict[str, Any]]:
    """The rows of the file of pairs, the bad lines said on stderr (as the feeds' readers say theirs)."""
    import logging

    from ..io.stories_out import read_text_pairs

    rows = read_text_pairs(pairs, storage_options, skip_bad, limit)
    bad = [r for r in rows if "bad" in r]
    if bad:
        shown = "; ".join(f"line {r['line']}: {r['bad']}" for r in bad[:3]) + ("; …" if len(bad) > 3 else "")
        logging.getLogger("dedup.jobs.similarity").warning("skipped %d bad line%s in %s (%s); their output lines say "
                                                           "\"skipped\" and why", len(bad), "" if len(bad) == 1 else "s", pairs, shown)
    return rows


def _scored(rows: list[dict[str, Any]], config: StoriesConfig, dedup_config: DedupConfig) -> Any:
    """:func:`~dedup.flows.similarity.similarity` of the pairs read (not the bad lines), with their titles, dates and
    outlets."""
    from ..flows.similarity import similarity
    from ..types import timestamps

    rows = [r for r in rows if "bad" not in r]

    return similarity([r["text1"] for r in rows], [r["text2"] for r in rows], config, dedup_config,
                      title1=[r["title1"] for r in rows], title2=[r["title2"] for r in rows],
                      time1=timestamps([r["date1"] for r in rows]), time2=timestamps([r["date2"] for r in rows]),
                      source1=[r["source1"] for r in rows], source2=[r["source2"] for r in rows])


def _plain_output(out: str) -> None:
    """Refuse an output named as compressed (``scores.jsonl.gz``): the lines are written plain, and a reader of the name
    would fail on them."""
    from ..errors import ConfigError
    from ..io.readers.compression import compression_of

    suffix = compression_of(out.split("?", 1)[0]) if out != "-" else None
    if suffix is not None:
        raise ConfigError(f"--out {out}: the scores are written as plain JSON lines, not {suffix}; name the file "
                          f"without {suffix} (or write to - and pipe through a compressor)")


def _not_the_input(pairs: str, out: str) -> None:
    """Refuse an output file that is the input file: the scores replaced the pairs, exit 0."""
    import os

    from ..errors import ConfigError
    from ..io.remote import is_url

    if "-" in (pairs, out) or is_url(pairs) or is_url(out) or not os.path.exists(out):
        return
    try:
        same = os.path.samefile(pairs, out)
    except OSError:  # the input is missing: reading it says so
        return
    if same:
        raise ConfigError(f"--out {out} is the input file {pairs}: the scores would replace the pairs; write them to another file")
