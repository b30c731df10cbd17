"""The ``dedup`` command line: parse options, build a config, call the library, write.

Errors a user can cause (``DedupError``) print one line and exit with code 1.
Progress bars and tables go to stderr; ``--quiet`` silences them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__
from .config import (
    BoilerplateConfig,
    ClusterConfig,
    DedupConfig,
    IndexConfig,
    MinHashConfig,
    ReadConfig,
    RepeatsConfig,
    ShingleConfig,
    StoriesConfig,
    VerifyConfig,
)
from .errors import DedupError

app = typer.Typer(
    name="dedup",
    help="Find duplicate and near-duplicate news articles (Arabic- and Latin-script aware).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Keep(str, Enum):
    earliest = "earliest"
    longest = "longest"
    first = "first"
    source_priority = "source-priority"


class Backend(str, Enum):
    local = "local"
    dask = "dask"


class Method(str, Enum):
    star = "star"
    union = "union"


class ShingleKind(str, Enum):
    word = "word"
    char = "char"


class Format(str, Enum):
    auto = "auto"
    jsonl = "jsonl"
    json = "json"
    csv = "csv"
    tsv = "tsv"
    txt = "txt"
    zip = "zip"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dedup {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Find duplicate and near-duplicate news articles."""


def _logging(quiet: bool) -> None:
    """Library warnings (e.g. skipped bad records) go to stderr; ``--quiet`` keeps only errors."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("dedup: %(levelname)s: %(message)s"))
    root = logging.getLogger("dedup")
    root.handlers[:] = [handler]
    root.setLevel(logging.ERROR if quiet else logging.WARNING)
    root.propagate = False


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn a user's mistake into one line on stderr and exit code 1."""
    try:
        yield
    except DedupError as exc:
        typer.echo(f"dedup: error: {exc}", err=True)
        raise typer.Exit(code=1) from None


# Shared input options -------------------------------------------------------
Inputs = Annotated[
    list[str],
    typer.Argument(help="Input files or directories (.jsonl[.gz], .json, .csv, .tsv, .zip, a directory of .txt), or - for JSONL on stdin.", show_default=False),
]
FormatOpt = Annotated[Format, typer.Option("--format", help="Input format; auto = by file name.")]
IdField = Annotated[Optional[str], typer.Option("--id-field", help="Field with the article id (default: id or url; else the position).")]
TextField = Annotated[Optional[str], typer.Option("--text-field", help="Field with the body text (default: text, content, maintext or body).")]
TitleField = Annotated[Optional[str], typer.Option("--title-field", help="Field with the headline (default: title or headline).")]
DateField = Annotated[Optional[str], typer.Option("--date-field", help="Field with the date (default: date, published, date_publish or date_extracted).")]
SourceField = Annotated[Optional[str], typer.Option("--source-field", help="Field with the outlet (default: source or source_domain).")]
SkipBad = Annotated[bool, typer.Option("--skip-bad", help="Skip malformed records and report them in summary.json instead of stopping.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or tables on stderr.")]
Jobs = Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (-1 = all cores).")]


def _stream(inputs: list[str], fmt: Format, id_field, text_field, title_field, date_field, source_field, skip_bad, keep_raw=False):
    """The inputs as an :class:`~dedup.io.readers.ArticleStream` (read lazily, once)."""
    from .io.readers import ArticleStream

    cfg = ReadConfig(
        id_field=id_field,
        text_field=text_field,
        title_field=title_field,
        date_field=date_field,
        source_field=source_field,
        format=fmt.value,
        skip_bad=skip_bad,
    )
    return ArticleStream(inputs, cfg, keep_raw=keep_raw)


def _read(inputs: list[str], fmt: Format, id_field, text_field, title_field, date_field, source_field, skip_bad):
    """All articles of the inputs in memory, and the bad records skipped."""
    stream = _stream(inputs, fmt, id_field, text_field, title_field, date_field, source_field, skip_bad)
    return list(stream), stream.bad


@app.command()
def dedupe(
    inputs: Inputs,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory (created if needed).", file_okay=False)],
    keep: Annotated[Keep, typer.Option(help="Which copy of a group to keep; ties go to the first in input order.")] = Keep.earliest,
    source_priority: Annotated[str, typer.Option(help="Comma-separated sources, best first (with --keep source-priority).")] = "",
    cluster: Annotated[Method, typer.Option(help="star: every copy verified against its keeper; union: connected components of verified pairs with the containment guard (more complete, less precise).")] = Method.star,
    shingle: Annotated[ShingleKind, typer.Option(help="Shingle kind: word k-grams or character k-grams.")] = ShingleKind.word,
    k: Annotated[Optional[int], typer.Option("-k", help="Shingle size (default 3 words or 5 characters).")] = None,
    min_tokens: Annotated[int, typer.Option(help="Articles with fewer tokens are skipped (reported, passed through).")] = ShingleConfig.min_tokens,
    num_perm: Annotated[int, typer.Option(help="MinHash permutations.")] = MinHashConfig.num_perm,
    seed: Annotated[int, typer.Option(help="MinHash seed.")] = MinHashConfig.seed,
    lsh_threshold: Annotated[float, typer.Option(help="Jaccard threshold the LSH bands are tuned for (keep it below --jaccard).")] = IndexConfig.threshold,
    jaccard: Annotated[float, typer.Option(help="Jaccard from which a pair is a near-duplicate.")] = VerifyConfig.jaccard,
    containment: Annotated[float, typer.Option(help="Containment of the shorter article from which it is a contained copy.")] = VerifyConfig.containment,
    min_cosine: Annotated[float, typer.Option(help="TF-IDF cosine a near-duplicate pair must also reach (contained copies are exempt: a short item has a low cosine with a long roundup).")] = VerifyConfig.min_cosine,
    anchors: Annotated[bool, typer.Option(help="Use the anchor index that finds contained copies.")] = True,
    repeats: Annotated[bool, typer.Option("--repeats", help="Count each article's internally repeated paragraphs into its decision (slower).")] = False,
    clean_repeats: Annotated[bool, typer.Option("--clean-repeats", help="Remove internally repeated paragraphs before comparing (implies --repeats).")] = False,
    boilerplate: Annotated[bool, typer.Option(help="Leave per-source boilerplate lines out of the comparison.")] = True,
    fmt: FormatOpt = Format.auto,
    id_field: IdField = None,
    text_field: TextField = None,
    title_field: TitleField = None,
    date_field: DateField = None,
    source_field: SourceField = None,
    skip_bad: SkipBad = False,
    jobs: Jobs = 1,
    backend: Annotated[Optional[Backend], typer.Option(help="local: this machine's processes (--jobs); dask: a Dask cluster (local one of --jobs workers, or --dask-address).")] = None,
    dask_address: Annotated[Optional[str], typer.Option(help="Scheduler of an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (implies --backend dask).")] = None,
    quiet: Quiet = False,
) -> None:
    """Deduplicate a feed: keep one article per duplicate group, explain every drop.

    Writes unique.jsonl, decisions.jsonl (one line per input article),
    pairs.jsonl and summary.json into --out.

    The feed is read once, as a stream: memory grows by about 3 KB per
    article, and temporary files under $TMPDIR take about twice the feed's
    size while the run works.
    """
    from .io.dedupe_out import RecordSpool, write_dedupe_outputs
    from .flows.dedupe import dedupe as run_dedupe

    _logging(quiet)
    with _user_errors():
        priority = tuple(s.strip() for s in source_priority.split(",") if s.strip())
        config = DedupConfig(
            shingle=ShingleConfig(kind=shingle.value, k=k if k is not None else (3 if shingle == ShingleKind.word else 5), min_tokens=min_tokens),
            minhash=MinHashConfig(num_perm=num_perm, seed=seed),
            index=IndexConfig(threshold=lsh_threshold, anchors=anchors),
            verify=VerifyConfig(jaccard=jaccard, containment=containment, min_cosine=min_cosine),
            cluster=ClusterConfig(keep=keep.value, source_priority=priority, method=cluster.value),
            boilerplate=BoilerplateConfig(enabled=boilerplate),
            count_repeats=repeats or clean_repeats,
            clean_repeats=clean_repeats,
            n_jobs=jobs,
            backend="dask" if dask_address or backend == Backend.dask else "local",
            dask_address=dask_address,
        )
        stream = _stream(inputs, fmt, id_field, text_field, title_field, date_field, source_field, skip_bad, keep_raw=True)
        spool = RecordSpool()  # the records, for unique.jsonl: the run itself keeps no text
        try:
            with _progress(quiet) as progress:
                result = run_dedupe(spool.tap(stream), config, progress=progress, bad_records=lambda: stream.bad)
            info = write_dedupe_outputs(out, result, [str(p) for p in inputs], spool.lines())
        finally:
            spool.close()
    if not quiet:
        _print_summary(info, out)


@contextmanager
def _progress(quiet: bool):
    """A rich progress bar per long stage on stderr (nothing when quiet or not a terminal)."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    tasks: dict[str, int] = {}
    with Progress(
        TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    ) as bar:

        def update(stage: str, advance: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or None)  # 0: not known (a stream)
            bar.advance(tasks[stage], advance)

        yield update


def _print_summary(info: dict, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True)
    c = info["counts"]
    table = Table(title="stage timings", show_header=True)
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for stage, sec in info["timings_seconds"].items():
        table.add_row(stage, f"{sec:.2f}")
    console.print(table)
    rel = c["duplicates_by_relation"]
    console.print(
        f"{c['articles']} articles: {c['kept']} kept, {c['duplicates']} duplicates "
        f"({rel['exact']} exact, {rel['near']} near, {rel['contained']} contained) in {c['duplicate_groups']} groups, "
        f"{c['skipped']} skipped" + (f", {c['bad_records']} bad records skipped" if c["bad_records"] else "")
    )
    console.print(f"outputs in {out}/: unique.jsonl decisions.jsonl pairs.jsonl summary.json")


@app.command("repeats")
def repeats_cmd(
    inputs: Inputs,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory (created if needed).", file_okay=False)],
    min_tokens: Annotated[int, typer.Option(help="Lines with fewer tokens are boilerplate, never repeated content.")] = RepeatsConfig.min_tokens,
    near: Annotated[float, typer.Option(help="Similarity from which two paragraphs are a lightly edited repeat (calibrated: results/repeats_calibration.json).")] = RepeatsConfig.near,
    boilerplate: Annotated[bool, typer.Option(help="Report repeated short lines with kind 'boilerplate' (--no-boilerplate leaves them out).")] = True,
    fmt: FormatOpt = Format.auto,
    id_field: IdField = None,
    text_field: TextField = None,
    title_field: TitleField = None,
    date_field: DateField = None,
    source_field: SourceField = None,
    skip_bad: SkipBad = False,
    jobs: Jobs = 1,
    quiet: Quiet = False,
) -> None:
    """Flag paragraphs repeated inside each article, and write cleaned copies.

    Writes repeats.jsonl (one line per relation, with character offsets),
    cleaned.jsonl (records with redundant copies removed), articles.jsonl
    (per-article summary) and summary.json into --out. The feed streams
    through: any size, in about the memory of the chunks in flight.
    """
    from .io.repeats_out import write_repeats_outputs
    from .flows.dedupe import repeats_stream

    _logging(quiet)
    with _user_errors():
        config = RepeatsConfig(min_tokens=min_tokens, near=near, report_boilerplate=boilerplate)
        stream = _stream(inputs, fmt, id_field, text_field, title_field, date_field, source_field, skip_bad)
        with _progress(quiet) as progress:
            tick = None if progress is None else (lambda k: progress("repeats", k, 0))  # a stream: no total
            items = repeats_stream(stream, config, jobs, 2000, tick)
            info = write_repeats_outputs(out, items, config, [str(p) for p in inputs], lambda: stream.bad)
    if not quiet:
        c = info["counts"]
        k = c["relations_by_kind"]
        typer.echo(
            f"{c['articles']} articles, {c['articles_with_repeats']} with repeated paragraphs "
            f"({k['exact']} exact, {k['contained']} contained, {k['near']} near; {k['boilerplate']} boilerplate lines); "
            f"outputs in {out}/",
            err=True,
        )


@app.command("explain-params")
def explain_params(
    threshold: Annotated[float, typer.Option(help="Jaccard threshold for the LSH.")] = IndexConfig.threshold,
    num_perm: Annotated[int, typer.Option(help="MinHash permutations.")] = MinHashConfig.num_perm,
    fp_weight: Annotated[float, typer.Option(help="Weight of false positives against false negatives (datasketch's weights).")] = IndexConfig.fp_weight,
) -> None:
    """Show the LSH bands and rows datasketch picks for a threshold, and the S-curve."""
    from .candidates.banding import band_params, lsh_error_rates

    with _user_errors():
        IndexConfig(threshold=threshold, fp_weight=fp_weight)
        MinHashConfig(num_perm=num_perm)
        b, r = band_params(threshold, num_perm, fp_weight)
        fp, fn = lsh_error_rates(threshold, b, r)
    typer.echo(f"threshold {threshold}, num_perm {num_perm}: bands b={b}, rows r={r} (b*r={b * r})")
    typer.echo(f"false positive probability (area below the threshold): {fp:.4f}")
    typer.echo(f"false negative probability (area above the threshold): {fn:.4f}")
    typer.echo("")
    typer.echo("jaccard  P(candidate)")
    for s in [i / 10 for i in range(1, 10)] + [0.95]:
        p = 1.0 - (1.0 - s**r) ** b
        typer.echo(f"{s:7.2f}  {p:12.4f}  {'#' * round(p * 40)}")


class Level(str, Enum):
    group = "group"
    event = "event"
    storyline = "storyline"


class SweepScore(str, Enum):
    jaccard = "jaccard"
    containment = "containment"
    cosine = "cosine"


def _pair_counts(pred: dict[str, str], gold: dict[str, str]) -> tuple[float, float, float]:
    """TP, FP, FN over all pairs of two assignments (from the contingency table)."""
    from collections import Counter

    ids = [i for i in gold if i in pred]
    c2 = lambda k: k * (k - 1) / 2  # noqa: E731
    both = sum(c2(k) for k in Counter((pred[i], gold[i]) for i in ids).values())
    p_pairs = sum(c2(k) for k in Counter(pred[i] for i in ids).values())
    g_pairs = sum(c2(k) for k in Counter(gold[i] for i in ids).values())
    return both, p_pairs - both, g_pairs - both


@app.command("eval")
def evaluate(
    run: Annotated[Path, typer.Argument(help="Output directory of a dedupe (or stories) run.", exists=True, file_okay=False)],
    gold: Annotated[Path, typer.Option("--gold", help="Gold JSONL: labelled pairs {id1,id2,label} or clusters {id,cluster}.")],
    level: Annotated[Level, typer.Option(help="Which clustering of the run to score.")] = Level.group,
    positive: Annotated[str, typer.Option(help="Comma-separated label names that mean 'same' in a pair file.")] = "DUP",
    sweep: Annotated[Optional[SweepScore], typer.Option(help="Print the precision/recall curve of this score over the gold pairs (needs --input).")] = None,
    inputs: Annotated[Optional[list[str]], typer.Option("--input", help="The run's input feed (for --sweep); repeat for several files.")] = None,
    fmt: FormatOpt = Format.auto,
    id_field: IdField = None,
    text_field: TextField = None,
) -> None:
    """Score a run against gold labels: pairwise P/R/F1, and B-cubed and ARI for clusters."""
    import json

    from .io.gold import read_gold, read_run
    from .eval.metrics import adjusted_rand, bcubed, pairwise_prf, prf_counts

    with _user_errors():
        kind, data = read_gold(gold, {s.strip() for s in positive.split(",") if s.strip()})
        pred = read_run(run, level.value)
        cluster = {i: (c if c is not None else f"\x00{i}") for i, c in pred.items()}  # singletons: own cluster
        report: dict = {"run": str(run), "gold": str(gold), "level": level.value, "kind": kind}
        if kind == "pairs":
            known = [(a, b, s) for a, b, s in data if a in cluster and b in cluster]  # type: ignore[union-attr]
            report["pairs"] = len(known)
            report["pairs_not_in_run"] = len(data) - len(known)
            report["pairwise"] = pairwise_prf([cluster[a] == cluster[b] for a, b, _ in known], [s for _, _, s in known])
            if sweep is not None:
                report["sweep"] = _sweep(known, sweep.value, inputs or [], fmt, id_field, text_field)
        else:
            ids = [i for i in data if i in cluster]  # type: ignore[union-attr]
            g = {i: data[i] for i in ids}  # type: ignore[index]
            report["articles"] = len(ids)
            report["pairwise"] = prf_counts(*_pair_counts(cluster, g))
            report["bcubed"] = bcubed([cluster[i] for i in ids], [g[i] for i in ids])
            report["ari"] = adjusted_rand([cluster[i] for i in ids], [g[i] for i in ids])
    typer.echo(json.dumps(report, indent=2, ensure_ascii=False))


def _sweep(known, score: str, inputs: list[str], fmt: Format, id_field, text_field) -> list[dict]:
    import numpy as np

    from .errors import ConfigError
    from .eval.metrics import sweep as prf_sweep
    from .flows.dedupe import score_articles

    if not inputs:
        raise ConfigError("--sweep needs the run's input feed: add --input FILE")
    articles, _ = _read(inputs, fmt, id_field, text_field, None, None, None, False)
    pos = {a.id: i for i, a in enumerate(articles)}
    pairs = [(pos[a], pos[b], s) for a, b, s in known if a in pos and b in pos]
    scores = score_articles(articles, np.array([[i, j] for i, j, _ in pairs], dtype=np.int64))
    values = getattr(scores, score)
    return prf_sweep(values, [s for _, _, s in pairs], [round(t, 2) for t in np.arange(0.05, 1.0, 0.05)])


@app.command()
def stories(
    inputs: Inputs,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory (created if needed).", file_okay=False)],
    window_days: Annotated[float, typer.Option(help="Articles with known dates further apart than this are never one event.")] = StoriesConfig.window_days,
    event_threshold: Annotated[float, typer.Option(help="Story score from which a pair may join two events.")] = StoriesConfig.event_threshold,
    event_linkage: Annotated[float, typer.Option(help="Average cosine over all cross pairs two events need to merge (the chaining guard).")] = StoriesConfig.event_linkage,
    storyline_threshold: Annotated[float, typer.Option(help="Centroid cosine from which two events may share a storyline.")] = StoriesConfig.storyline_threshold,
    storyline_linkage: Annotated[float, typer.Option(help="Average centroid cosine two storylines need to merge.")] = StoriesConfig.storyline_linkage,
    neighbours: Annotated[int, typer.Option(help="Candidate neighbours per article.")] = StoriesConfig.neighbours,
    title_weight: Annotated[float, typer.Option(help="Weight of the headline against the body.")] = StoriesConfig.title_weight,
    fmt: FormatOpt = Format.auto,
    id_field: IdField = None,
    text_field: TextField = None,
    title_field: TitleField = None,
    date_field: DateField = None,
    source_field: SourceField = None,
    skip_bad: SkipBad = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes for the duplicate detection that runs first (-1 = all cores); events and storylines run in this process.")] = 1,
    quiet: Quiet = False,
) -> None:
    """Group a feed into events (same happening, copies folded) and storylines (related events).

    Writes stories.jsonl (one line per input article: id, event, storyline,
    group), events.json, a self-contained report.html (storylines holding
    their events) and summary.json (counts, parameters, timings, skipped
    records) into --out. Holds the feed in memory: about 64 KiB per article.
    """
    from .io.stories_out import write_stories_outputs
    from .flows.dedupe import stories as run_stories

    _logging(quiet)
    with _user_errors():
        config = StoriesConfig(
            window_days=window_days,
            event_threshold=event_threshold,
            event_linkage=event_linkage,
            storyline_threshold=storyline_threshold,
            storyline_linkage=storyline_linkage,
            neighbours=neighbours,
            title_weight=title_weight,
        )
        dedup_config = DedupConfig(n_jobs=jobs)
        articles, bad = _read(inputs, fmt, id_field, text_field, title_field, date_field, source_field, skip_bad)
        with _progress(quiet) as progress:
            result = run_stories(articles, config, dedup_config, progress=progress)
        info = write_stories_outputs(out, result, [str(p) for p in inputs], bad)
    if not quiet:
        typer.echo(
            f"{info['articles']} articles: {info['events']} events ({info['multi_article_events']} with more than one article), "
            f"{info['storylines']} storyline{'' if info['storylines'] == 1 else 's'}, {info['duplicate_groups']} duplicate groups"
            + (f", {info['bad_records']} bad records skipped" if info["bad_records"] else "")
            + f"; outputs in {out}/: stories.jsonl events.json report.html summary.json",
            err=True,
        )


@app.command()
def similarity(
    pairs: Annotated[Path, typer.Argument(help="JSONL file, one object per line: {\"id\", \"text1\", \"text2\"} (optional \"title1\", \"title2\"), or - for stdin.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output JSONL file, one line per input pair.", dir_okay=False)],
    event_threshold: Annotated[float, typer.Option(help="Story score from which a pair is the same event.")] = StoriesConfig.event_threshold,
) -> None:
    """Score text pairs: jaccard, containment, cosine, story_score and a verdict.

    The verdict is duplicate (the dedupe rule), same_event (story_score at
    least --event-threshold) or different. story_score (0 to 1) estimates how
    alike readers find the two stories and is the score the event clustering
    of `dedup stories` uses. IDF weights come from all texts of the file plus
    a background prior, so a single pair gets usable scores too; many pairs
    at once give the most stable ones.
    """
    from .io.stories_out import read_text_pairs
    from .io.writers import write_jsonl
    from .flows.dedupe import similarity as run_similarity

    with _user_errors():
        config = StoriesConfig(event_threshold=event_threshold)
        rows = read_text_pairs(str(pairs))
        res = run_similarity(
            [r["text1"] for r in rows], [r["text2"] for r in rows], config,
            title1=[r["title1"] for r in rows], title2=[r["title2"] for r in rows],
        )
        write_jsonl(
            out,
            (
                {
                    "id": r["id"],
                    "jaccard": round(float(res.jaccard[k]), 4),
                    "containment": round(float(res.containment[k]), 4),
                    "cosine": round(float(res.cosine[k]), 4),
                    "story_score": round(float(res.story_score[k]), 4),
                    "verdict": res.verdict[k],
                }
                for k, r in enumerate(rows)
            ),
        )
