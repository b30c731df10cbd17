"""The ``dedup`` command line: parse options into configs, call a flow, write the outputs.

Options of the stage settings are generated from the configs
(:mod:`dedup.cli.options`); errors a user can cause print one line and exit 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer

from .. import __version__
from ..config import DedupConfig, IndexConfig, MinHashConfig, RepeatsConfig, StoriesConfig
from ..runtime import Runtime
from ..io.console import logging_to_stderr, progress_bar
from ..io.writers import check_output
from .options import Inputs, Out, OutputFormat, Quiet, StorageOptions, Terminated, settings_from, user_errors

app = typer.Typer(name="dedup", help="Find duplicate and near-duplicate news articles (Arabic- and Latin-script aware).",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dedup {__version__}")
        raise typer.Exit()


def _terminated(signum: int, frame: object) -> None:
    raise Terminated  # unwinds like Ctrl-C: temporary files and folders are removed on the way out


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.", metavar="")] = False) -> None:
    """Find duplicate and near-duplicate news articles."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():  # the CLI called from a thread (tests, embedding) keeps its handlers
        signal.signal(signal.SIGTERM, _terminated)


@app.command()
@settings_from(read=True, dedupe=DedupConfig, runtime=Runtime)
def dedupe(
    inputs: Inputs,
    out: Out,
    quiet: Quiet = False,
    output_format: OutputFormat = "jsonl",
    index: Annotated[Optional[str], typer.Option(
        "--index", metavar="LOCATION", help="History index: a file (SQLite, created when absent) or redis://host:port/N. "
        "The feed is also compared with every article already in it, then added.")] = None,
    window_days: Annotated[Optional[float], typer.Option(
        "--window-days", min=0, metavar="DAYS", help="With --index: compare only with stored articles dated within this many days.")] = None,
    report: Annotated[bool, typer.Option(
        "--report/--no-report", metavar="", help="Write report.html: the duplicate groups, each copy beside its kept article with "
        "the passages they share marked.")] = True,
    settings: Any = None,
) -> None:
    """Deduplicate a feed: keep one article per duplicate group, explain every drop.

    Writes unique.jsonl, decisions.jsonl (one line per input article),
    pairs.jsonl, report.html (the groups, copies side by side) and
    summary.json into --out (.parquet files instead with
    --output-format parquet). The feed is read once, as a
    stream: memory grows by about 3 KB per article, and temporary files under
    $TMPDIR take about twice the feed's size while the run works. With
    --index, articles already in the index are reported as such, copies of
    stored articles name them, and the feed is added to the index.
    """
    from ..flows.dedupe import dedupe as run
    from ..io.dedupe_out import RecordSpool, stale_outputs, write_dedupe_outputs
    from ..io.dedupe_report import ReportSpool
    from ..io.readers import ArticleStream
    from ..io.remote import staged_output

    storage = settings["read"].storage_options
    stale = stale_outputs(output_format) + (() if report else ("report.html",))  # files this run's outputs replace
    with user_errors(), progress_bar(quiet) as progress, staged_output(out, storage, stale=stale) as folder:
        check_output(folder)
        if output_format == "parquet":  # before the run, not after it
            from ..io.parquet_out import check_pyarrow

            check_pyarrow()
        history = None
        if index is not None:
            from ..store.history import open_index

            history = open_index(index, settings["dedupe"])
        elif window_days is not None:
            raise typer.BadParameter("--window-days needs --index")
        try:
            stream = ArticleStream(inputs, settings["read"], keep_raw=True)
            spool = ReportSpool() if report else RecordSpool()  # the records, for unique.jsonl and report.html: the run keeps no text
            try:
                result = run(spool.tap(stream), settings["dedupe"], progress, lambda: stream.bad, settings["runtime"],
                             index=history, window_days=window_days, on_wait=lambda msg: typer.echo(msg, err=True))
                info = write_dedupe_outputs(folder, result, list(inputs), spool, output_format, report)
            finally:
                spool.close()
        finally:
            if history is not None:
                history.close()
    if not quiet:
        from ..io.console import print_dedupe_summary

        print_dedupe_summary(info, out.rstrip("/"), report)


@app.command("repeats")
@settings_from(read=True, repeats=RepeatsConfig, runtime=Runtime)
def repeats_cmd(inputs: Inputs, out: Out, quiet: Quiet = False, settings: Any = None) -> None:
    """Flag paragraphs repeated inside each article, and write cleaned copies.

    Writes repeats.jsonl (one line per relation, with character offsets),
    cleaned.jsonl (records with redundant copies removed), articles.jsonl
    (per-article summary) and summary.json into --out. The feed streams
    through: any size, in about the memory of the chunks in flight.
    """
    from ..exec import open_executor
    from ..flows.repeats import repeats_stream
    from ..io.readers import ArticleStream
    from ..io.remote import staged_output
    from ..io.repeats_out import write_repeats_outputs

    runtime = settings["runtime"]
    with (user_errors(), progress_bar(quiet) as progress, open_executor(runtime) as executor,
          staged_output(out, settings["read"].storage_options) as folder):
        check_output(folder)
        stream = ArticleStream(inputs, settings["read"])
        tick = None if progress is None else (lambda k: progress("repeats", k, 0))  # a stream: no total
        items = repeats_stream(stream, settings["repeats"], executor, runtime.chunk_size, tick)
        info = write_repeats_outputs(folder, items, settings["repeats"], list(inputs), lambda: stream.bad)
    if not quiet:
        c, k = info["counts"], info["counts"]["relations_by_kind"]
        typer.echo(f"{c['articles']} articles, {c['articles_with_repeats']} with repeated paragraphs ({k['exact']} exact, "
                   f"{k['contained']} contained, {k['near']} near; {k['boilerplate']} boilerplate lines); outputs in {out.rstrip('/')}/", err=True)


@app.command()
@settings_from(read=True, stories=StoriesConfig, dedupe=DedupConfig, runtime=Runtime)
def stories(inputs: Inputs, out: Out, quiet: Quiet = False, settings: Any = None) -> None:
    """Group a feed into events (same happening, copies folded) and storylines (related events).

    Writes stories.jsonl (one line per input article: id, event, storyline,
    group), events.json, a self-contained report.html (storylines holding
    their events) and summary.json into --out. The duplicate detection runs
    first with the dedupe settings (and --jobs); the feed streams through it
    while its texts are put aside by day, then events are made a day at a
    time in time order (--jobs prepares the days), holding only the open
    window: a feed larger than memory passes through.
    """
    from ..flows.stories import stories as run
    from ..io.readers import ArticleStream
    from ..io.remote import staged_output
    from ..io.stories_out import write_stories_outputs

    with user_errors(), progress_bar(quiet) as progress, staged_output(out, settings["read"].storage_options) as folder:
        check_output(folder)
        stream = ArticleStream(inputs, settings["read"])
        result = run(stream, settings["stories"], settings["dedupe"], progress, settings["runtime"])
        info = write_stories_outputs(folder, result, list(inputs), stream.bad)
    if not quiet:
        n = info["storylines"]
        typer.echo(f"{info['articles']} articles: {info['events']} events ({info['multi_article_events']} with more than one "
                   f"article), {n} storyline{'' if n == 1 else 's'}, {info['duplicate_groups']} duplicate groups"
                   + (f", {info['bad_records']} bad records skipped" if info["bad_records"] else "")
                   + f"; outputs in {out.rstrip('/')}/: stories.jsonl events.json report.html summary.json", err=True)


@app.command()
@settings_from(stories=StoriesConfig, dedupe=DedupConfig)
def similarity(
    pairs: Annotated[str, typer.Argument(help='JSONL file, one object per line: {"id", "text1", "text2"} (optional "title1", '
                                         '"title2"), - for stdin, or a URL (s3://…, https://…).', show_default=False)],
    out: Annotated[str, typer.Option("--out", "-o", help="Output JSONL file, one line per input pair (or s3://bucket/key.jsonl).")],
    storage_option: StorageOptions = None,
    settings: Any = None,
) -> None:
    """Score text pairs: jaccard, containment, cosine, story_score and a verdict.

    The verdict is duplicate (the dedupe rule), same_event (story_score at
    least --event-threshold), different, or skipped (a text too short for
    dedupe to compare, or empty: no scores). story_score (0 to 1) estimates how
    alike readers find the two stories and is the score the event clustering
    of `dedup stories` uses. IDF weights come from all texts of the file plus
    a background prior, so a single pair gets usable scores too; many pairs
    at once give the most stable ones.
    """
    from ..flows.similarity import similarity as run
    from ..io.remote import parse_storage_options, staged_output
    from ..io.stories_out import read_text_pairs, write_similarity

    logging_to_stderr(False)
    with user_errors():
        storage = parse_storage_options(storage_option)
        with staged_output(out, storage, is_dir=False) as target:
            check_output(target, is_dir=False)
            rows = read_text_pairs(pairs, storage)
            res = run([r["text1"] for r in rows], [r["text2"] for r in rows], settings["stories"], settings["dedupe"],
                      title1=[r["title1"] for r in rows], title2=[r["title2"] for r in rows])
            write_similarity(target, rows, res)


@app.command("eval")
@settings_from(read=True)
def evaluate(
    run: Annotated[Path, typer.Argument(help="Output directory of a dedupe (or stories) run.", exists=True, file_okay=False)],
    gold: Annotated[Path, typer.Option("--gold", help="Gold JSONL: labelled pairs {id1,id2,label} or clusters {id,cluster}.")],
    level: Annotated[Literal["group", "event", "storyline"], typer.Option(help="Which clustering of the run to score.")] = "group",
    positive: Annotated[str, typer.Option(help="Comma-separated label names that mean 'same' in a pair file.")] = "DUP",
    sweep: Annotated[Optional[Literal["jaccard", "containment", "cosine"]], typer.Option(help="Print the precision/recall curve of this score over the gold pairs, "
                                                         "measured with the run's settings (needs --input).")] = None,
    inputs: Annotated[Optional[list[str]], typer.Option("--input", help="The run's input feed (for --sweep); repeat for several files.")] = None,
    settings: Any = None,
) -> None:
    """Score a run against gold labels: pairwise P/R/F1, and B-cubed and ARI for clusters."""
    from ..eval.run import evaluate_run

    with user_errors():
        labels = [s.strip() for s in positive.split(",") if s.strip()]
        report = evaluate_run(run, gold, level, labels, sweep, inputs or [], settings["read"])
    typer.echo(json.dumps(report, indent=2, ensure_ascii=False))


@app.command("explain-params")
def explain_params(
    threshold: Annotated[float, typer.Option(help="Jaccard threshold for the LSH.")] = IndexConfig.threshold,
    num_perm: Annotated[int, typer.Option(help="MinHash permutations.")] = MinHashConfig.num_perm,
    fp_weight: Annotated[float, typer.Option(help="Weight of false positives against false negatives (datasketch's weights).")] = IndexConfig.fp_weight,
) -> None:
    """Show the LSH bands and rows datasketch picks for a threshold, and the S-curve."""
    from ..candidates.banding import band_params, lsh_error_rates, s_curve

    with user_errors():
        IndexConfig(threshold=threshold, fp_weight=fp_weight), MinHashConfig(num_perm=num_perm)
        b, r = band_params(threshold, num_perm, fp_weight)
        fp, fn = lsh_error_rates(threshold, b, r)
    typer.echo(f"threshold {threshold}, num_perm {num_perm}: bands b={b}, rows r={r} (b*r={b * r})")
    typer.echo(f"false positive probability (area below the threshold): {fp:.4f}")
    typer.echo(f"false negative probability (area above the threshold): {fn:.4f}\n\njaccard  P(candidate)")
    for s, p in s_curve(b, r):
        typer.echo(f"{s:7.2f}  {p:12.4f}  {'#' * round(p * 40)}")


from .index import index_app  # noqa: E402  (the `dedup index` commands)
from .serve import serve  # noqa: E402  (`dedup serve`: FastAPI and uvicorn are imported when it runs)

app.add_typer(index_app)
app.command("serve")(serve)
