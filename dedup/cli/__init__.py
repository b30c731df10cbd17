"""The ``dedup`` command line: each command's options and help, and one call of its job (:mod:`dedup.jobs`).

Options of the settings come from the configs (:mod:`.options`); a user's error prints one line and exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer

from .. import __version__, jobs  # a job's module is imported when its command runs (dedup.jobs resolves names lazily)
from ..config import DedupConfig, IndexConfig, ReadConfig, MinHashConfig, RepeatsConfig, ServeConfig, StoriesConfig
from ..io.console import print_json, print_lsh_params
from ..runtime import Runtime
from ..errors import deaf_after_run, unwind_on_signals
from .options import Index, Inputs, Out, OutputFormat, Quiet, StorageOptions, WindowDays, settings_from, user_errors

app = typer.Typer(name="dedup", help="Find duplicate and near-duplicate news articles (Arabic- and Latin-script aware).",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dedup {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.", metavar="")] = False) -> None:
    """Find duplicate and near-duplicate news articles."""
    unwind_on_signals()


@app.command()
@settings_from(read=True, dedupe=DedupConfig, runtime=Runtime)
def dedupe(
    inputs: Inputs,
    out: Out,
    quiet: Quiet = False,
    output_format: OutputFormat = "jsonl",
    index: Index = None,
    window_days: WindowDays = None,
    report: Annotated[bool, typer.Option(
        "--report/--no-report", metavar="", help="Write report.html: the duplicate groups, each copy beside its kept article with "
        "the passages they share marked.")] = True,
    settings: Any = None,
) -> None:
    """Deduplicate a feed: keep one article per duplicate group, explain every drop.

    Writes unique.jsonl, decisions.jsonl (one line per input article), pairs.jsonl, report.html (the groups, copies
    side by side) and summary.json into --out (.parquet with --output-format parquet). The feed streams through:
    about 3 KB of memory per article, temporary files of twice its size under $TMPDIR while the run works.
    """
    with user_errors():
        jobs.run_dedupe(inputs, out, settings, quiet=quiet, output_format=output_format, index=index, window_days=window_days,
                        report=report)


@app.command("repeats")
@settings_from(read=True, repeats=RepeatsConfig, runtime=Runtime)
def repeats_cmd(inputs: Inputs, out: Out, quiet: Quiet = False, settings: Any = None) -> None:
    """Flag paragraphs repeated inside each article, and write cleaned copies.

    Writes repeats.jsonl (one line per relation, with character offsets), cleaned.jsonl (records with redundant
    copies removed), articles.jsonl (per article) and summary.json into --out. The feed streams through.
    """
    with user_errors():
        jobs.run_repeats(inputs, out, settings, quiet=quiet)


@app.command()
@settings_from(read=True, stories=StoriesConfig, dedupe=DedupConfig, runtime=Runtime)
def stories(inputs: Inputs, out: Out, quiet: Quiet = False, index: Index = None, settings: Any = None) -> None:
    """Group a feed into events (same happening, copies folded) and storylines (related events).

    Writes stories.jsonl (one line per input article: id, event, storyline, group), events.json, report.html
    (storylines holding their events) and summary.json into --out. Dedupe runs first (its settings, --jobs); events
    are made a day at a time in time order, holding only the open window. An event is named by its first report.
    """
    with user_errors():
        jobs.run_stories(inputs, out, settings, quiet=quiet, index=index)


@app.command()
@settings_from(stories=StoriesConfig, dedupe=DedupConfig, unused=(  # settings of feeds (windows, groups, LSH), not of pairs
    "stories.neighbours", "stories.event_linkage", "stories.storyline_threshold",
    "stories.storyline_linkage", "dedupe.boilerplate", "dedupe.minhash", "dedupe.index", "dedupe.cluster",
    "dedupe.count_repeats", "dedupe.clean_repeats"))
def similarity(
    pairs: Annotated[str, typer.Argument(metavar="PAIRS", help='JSONL file, one object per line: {"id", "text1", "text2"} (optional "title1", '
                                         '"title2"; "date1", "date2", "source1", "source2": the learned decision weighs '
                                         'the days between and one outlet or two, as dedupe does; a side without them is '
                                         'undated, its own outlet), - for stdin, or a URL (s3://…, https://…).', show_default=False)],
    out: Annotated[str, typer.Option("--out", "-o", metavar="FILE", help="Output JSONL file, one line per input pair (or s3://bucket/key.jsonl, or - for standard output).")],
    storage_option: StorageOptions = None,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="A bad line (not JSON, a text missing, a repeated id) gets an "
                                           "output line with the verdict skipped and the reason, instead of stopping the run.")] = False,
    max_record_bytes: Annotated[int, typer.Option("--max-record-bytes", metavar="BYTES", help="Lines longer than this are bad "
                                                  "lines, read past without being held whole (as a feed's records).")
                                ] = ReadConfig.max_record_bytes,
    settings: Any = None,
) -> None:
    """Score text pairs: jaccard, containment, cosine, story_score and a verdict.

    Reads PAIRS (JSON Lines, one pair a line) and writes one JSON line per pair, in their order, to --out: id,
    jaccard, containment, cosine, story_score, probability, verdict, relation and reason (see the README's Commands).

    The verdict is duplicate (as dedupe decides: the learned model by default, whose probability is given; its
    relation exact, near or contained), same_event (story_score at least --event-threshold, and when both dates are
    given, no further apart than --window-days), different, or skipped (a text too short to compare); a reason says
    why where the verdict needs one. story_score (0 to 1) is how alike readers find the two stories, the score
    `dedup stories` clusters by. IDF weights come from all texts of the file plus a background prior.

    \b
    Examples:
      dedup similarity pairs.jsonl --out scores.jsonl
      echo '{"id": "p1", "text1": "...", "text2": "..."}' | dedup similarity - --out -
    """
    with user_errors():
        from ..io.paths import parse_storage_options

        jobs.run_similarity(pairs, out, settings, parse_storage_options(storage_option), skip_bad=skip_bad,
                            max_record_bytes=max_record_bytes)


@app.command("eval")
@settings_from(read=True)
def evaluate(
    run: Annotated[str, typer.Argument(metavar="RUN", show_default=False, help="The --out folder of a dedupe or stories run "
                                       "(the folder holding its summary.json), or the URL its --out took: s3://bucket/prefix/, "
                                       "gs://…, https://… (its summary.json and the files scored are fetched).")],
    gold: Annotated[str, typer.Option("--gold", metavar="PATH|URL", help="Gold JSONL: labelled pairs {id1,id2,label} or clusters "
                                      "{id,cluster}; a file (also .gz/.zst/.xz/.bz2), - for stdin, or a URL as the feed inputs take.")],
    level: Annotated[Optional[Literal["group", "event", "storyline"]], typer.Option(
        help="Which clustering of the run to score.  [default: group for a dedupe run, event for a stories run]")] = None,
    positive: Annotated[str, typer.Option(help="Comma-separated label names that mean 'same' in a pair file.")] = "DUP",
    sweep: Annotated[Optional[Literal["jaccard", "containment", "cosine"]], typer.Option(help="Print the precision/recall curve of this score over the gold pairs, "
                                                         "measured with the run's settings (needs --input).")] = None,
    inputs: Annotated[Optional[list[str]], typer.Option("--input", help="The run's input feed (for --sweep); repeat for several files.")] = None,
    settings: Any = None,
) -> None:
    """Score a run against gold labels: pairwise P/R/F1, and B-cubed and ARI for clusters.

    Reads RUN's summary.json and its clustering (a dedupe run's decisions.jsonl, and pairs.jsonl for
    pairwise_with_edges; a stories run's stories.jsonl; the .parquet files alike) and the gold file. Writes no file:
    the report is JSON on standard output, its warnings also on stderr. Gold pairs or articles that are not in the run
    are left out of the scores, counted (pairs_not_in_run, articles_not_in_run) and warned of; those naming an article
    the run skipped count as apart, and are counted (pairs_with_skipped, articles_skipped) and warned of; articles of
    the run without a gold label are not scored; gold with nothing to find among what is scored is warned of. The
    report names the labels counted as same (positive), how many scored pairs are (pairs_same) or the gold clusters
    (gold_clusters), and the thresholds of the run's clustering (thresholds, from its summary.json). The reading options (--id-field, --format, ...) are for --input;
    --max-record-bytes also bounds the lines of the gold file.

    \b
    Examples:
      dedup eval out --gold gold.jsonl
      dedup eval s3://news/runs/2024-03-01/ --gold gold.jsonl --sweep jaccard --input feed.jsonl
    """
    labels = [s.strip() for s in positive.split(",") if s.strip()]
    with user_errors():
        report = jobs.run_eval(run, gold, settings, level=level, positive=labels, sweep=sweep, inputs=inputs or [])
        for warning in report["warnings"]:
            typer.echo(f"dedup eval: warning: {warning}", err=True)
        print_json(report)


@app.command("explain-params")
def explain_params(
    threshold: Annotated[Optional[float], typer.Option(
        help=f"Jaccard threshold for the LSH (default {IndexConfig.threshold}).", show_default=False)] = None,
    num_perm: Annotated[Optional[int], typer.Option(
        help=f"MinHash permutations (default {MinHashConfig.num_perm}).", show_default=False)] = None,
    fp_weight: Annotated[Optional[float], typer.Option(
        help="Weight of false positives against false negatives (datasketch's weights), from 0 up to (not including) 1 "
        f"(default {IndexConfig.fp_weight}).", show_default=False)] = None,
    config_file: Annotated[Optional[Path], typer.Option(
        "--config", dir_okay=False, help="TOML file of a dedupe run's settings: its [dedupe.index] threshold and fp_weight "
        "and [dedupe.minhash] num_perm are read; options given here win.")] = None,
) -> None:
    """Show the LSH bands and rows datasketch picks for a threshold, and the S-curve.

    Reads no feed and writes no file: prints, on standard output, the bands and rows a dedupe run with these
    settings uses (its --lsh-threshold, --num-perm, and fp_weight of the dedupe.index table of --config, a file this
    command reads too),
    datasketch's false positive and false negative weights (areas of the S-curve below and above the threshold, not
    probabilities of a pair), and the chance that the bands make a pair of each Jaccard similarity a candidate. The
    bands are not a run's only way to candidates: articles that share an anchor are candidates too (contained
    copies; --no-anchors), and every candidate is screened by its estimated containment (min_estimate).

    \b
    Examples:
      dedup explain-params --threshold 0.5 --num-perm 256
      dedup explain-params --config dedup.toml
    """
    with user_errors():
        from ..settings import build_settings

        dedupe = build_settings({"dedupe": DedupConfig}, [], {}, config_file)["dedupe"]  # the defaults, then the file's
        # then the options given (checked by the job, which names them)
        print_lsh_params(jobs.lsh_params(dedupe.index.threshold if threshold is None else threshold,
                                         dedupe.minhash.num_perm if num_perm is None else num_perm,
                                         dedupe.index.fp_weight if fp_weight is None else fp_weight))


index_app = typer.Typer(name="index", help="Look after a history index (made by `dedup dedupe FEED --index LOCATION`).",
                        no_args_is_help=True)

Location = Annotated[str, typer.Argument(metavar="LOCATION", help="The index: a SQLite file or redis://host:port/N.")]
Before = Annotated[str, typer.Option("--before", metavar="DATE", help="Remove the articles dated before this ISO-8601 date (UTC when no zone).")]
ExportTo = Annotated[Optional[str], typer.Option("--out", "-o", metavar="FILE", help="Write to this file (without --out, or with -: to standard output).")]


@index_app.command()
def stats(location: Location) -> None:
    """Print what the index holds as JSON: articles, oldest and newest date, size, the fixed parameters.

    \b
    Examples:
      dedup index stats history.db
      dedup index stats redis://localhost:6379/0
    """
    with user_errors():
        print_json(jobs.index_stats(location))


@index_app.command()
def prune(location: Location, before: Before) -> None:
    """Remove old history: every article dated before DATE (undated articles stay).

    Prints how many were removed and how many are left.

    \b
    Example:
      dedup index prune history.db --before 2026-11-01
    """
    with user_errors():
        jobs.prune_index(location, before)


@index_app.command()
def export(location: Location, out: ExportTo = None) -> None:
    """Write every stored decision as JSON lines, in the order the articles were read.

    A copy whose keeper was pruned still names it, with keeper_pruned true.

    \b
    Example:
      dedup index export history.db --out decisions.jsonl
    """
    with user_errors():
        jobs.export_index(location, out)


app.add_typer(index_app)


@app.command()
@settings_from(serve=ServeConfig, dedupe=DedupConfig, runtime=Runtime)
def serve(
    index: Annotated[str, typer.Option("--index", metavar="LOCATION", help="History index: a file (SQLite, created when "
                                       "absent) or redis://host:port/N, as for `dedup dedupe --index`.")],
    settings: Any = None,
) -> None:
    """Serve the history index over HTTP: POST /v1/articles decides a batch and adds it.

    Also GET /v1/articles/ID, GET /v1/groups/NAME, GET /v1/events/ID, POST /v1/similarity, /healthz, /metrics,
    /openapi.json, and a page at / (the latest groups and tracked events). Batches are decided first come first
    decided, as `dedup dedupe --index`; with --stories-every, what is added is also placed into events.
    """
    with user_errors():
        server = jobs.serve_app(index, settings)
    # outside user_errors: uvicorn answers Ctrl-C and SIGTERM
    jobs.run_server(server, index, settings["serve"].host, settings["serve"].port)


def app_for(asked: str) -> typer.Typer:
    """:data:`app` with only the command (or group) named ``asked`` in it; the whole app when ``asked`` names none.

    Typer builds the options of every command before it runs one, about 20 ms of
    each run (a third of a small feed's work); a process runs one command.
    """
    from copy import copy

    from typer.main import get_command_name

    commands = [c for c in app.registered_commands if get_command_name(c.name or c.callback.__name__) == asked]
    groups = [g for g in app.registered_groups if g.typer_instance.info.name == asked]
    if not commands and not groups:
        return app
    one = copy(app)
    one.registered_commands, one.registered_groups = commands, groups
    return one


def run() -> None:
    """The console script ``dedup`` (and ``python -m dedup``): :data:`app`, building only the command asked for.

    ``dedup``, ``dedup --help`` and anything that names no command get the whole app.
    """
    import shutil
    import sys

    asked = sys.argv[1] if len(sys.argv) > 1 else ""
    one = app_for(asked)
    command = any(c.name == asked or c.callback.__name__ == asked for c in one.registered_commands) and one is not app
    if command and shutil.get_terminal_size((80, 24)).columns < RICH_HELP_COLUMNS:  # boxes cut a command's option names short
        from . import options

        one.rich_markup_mode = None  # click's plain help: every name whole, the text wrapped under it
        options.HELP_MARKUP = False
    try:
        one(prog_name="dedup")
    finally:
        deaf_after_run()  # a Ctrl-C as the process shuts down would kill it with no word (dedup.errors)
        frozen_at_exit()


def frozen_at_exit() -> None:
    """The process ends now: the objects it holds are left out of the garbage collections of Python's shutdown.

    Those collections walked every object alive, mostly numba's type
    registries (~20k functions and classes once a compiled kernel ran): 0.35 s
    of a 100k-article run's exit, with its outputs already written
    (``docs/performance-log.md``). The exit handlers run as before (temporary
    folders, the worker pool's); what is left in memory goes with the process.
    """
    import gc

    gc.freeze()


# From this many columns a command's help is drawn in rich's boxes; narrower, their option names were cut short
# ("--max-record-b…": 14 of dedupe's at 80 columns, 3 at 120, none at 140). The list of commands (`dedup --help`,
# `dedup index --help`) stays in boxes, which wrap each summary whole where click's plain help cuts it.
RICH_HELP_COLUMNS = 140
