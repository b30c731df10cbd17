"""Command-line options: generated from the frozen configs, plus the ones every command shares.

A config field declared with :func:`dedup.config.opt` is an option of every
command that takes its config. A command's settings are the defaults, then
the tables of ``--config FILE`` (``[dedupe]``, ``[stories]``, ``[repeats]``,
``[runtime]``: the shape ``summary.json`` records), then the options given.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import MISSING
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer

from ..config import ReadConfig
from ..settings import build_settings, cli_fields
from ..errors import DedupError

__all__ = ["Inputs", "Out", "OutputFormat", "Quiet", "StorageOptions", "settings_from", "user_errors"]

Inputs = Annotated[list[str], typer.Argument(
    help="Input files or directories (.jsonl, .json, .csv, .tsv, each also .gz/.zst/.xz/.bz2; .zip; .parquet or a folder of them; "
         "a folder of .txt; a news-please tree of .json), - for JSONL on stdin, or URLs: s3://bucket/key, s3://bucket/prefix/ "
         "(a folder), https://host/feed.jsonl, gs://… (needs dedup's 'cloud' extra).",
    show_default=False)]
Out = Annotated[str, typer.Option("--out", "-o", help="Output directory (created if needed), or s3://bucket/prefix/: "
                                  "written locally, uploaded when complete (summary.json last).")]
StorageOptions = Annotated[Optional[list[str]], typer.Option(
    "--storage-option", metavar="KEY=VALUE", show_default=False,
    help="An option of the fsspec filesystem of s3://, gs://, https:// inputs and --out (repeat for several; "
         "a value is read as JSON when it parses), e.g. anon=true or endpoint_url=http://127.0.0.1:9000.")]
OutputFormat = Annotated[Literal["jsonl", "parquet"], typer.Option(
    "--output-format", help="Format of the unique, decisions and pairs files: jsonl, or parquet (needs pyarrow, "
    "dedup's 'parquet' extra; a Parquet input's kept rows are copied unchanged).")]
# metavar="": a flag takes no value (typer would show "<bool>" beside it, as if it took one)
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or tables on stderr.", metavar="")]
_READ = {  # name: (flags, help) of the reading options every feed command has
    "fmt": ("--format", "Input format: auto (by file name; a folder by its files), jsonl, json, csv, tsv, txt, zip, parquet or newsplease."),
    "id_field": ("--id-field", "Field with the article id (default: id or url; else the position)."),
    "text_field": ("--text-field", "Field with the body text (default: text, content, maintext or body)."),
    "title_field": ("--title-field", "Field with the headline (default: title or headline)."),
    "date_field": ("--date-field", "Field with the date (default: date, published, date_publish or date_extracted)."),
    "source_field": ("--source-field", "Field with the outlet (default: source or source_domain)."),
}
_FORMATS = Literal["auto", "jsonl", "json", "csv", "tsv", "txt", "zip", "parquet", "newsplease"]


def _option(flag: str, hint: Any, help: str, default: Any) -> tuple[str, Any]:
    decls = flag.split(" ")
    name = decls[0].split("/")[0].lstrip("-").replace("-", "_")
    kind = str if hint == tuple[str, ...] else hint  # a list option is written comma-separated
    shown = ",".join(default) if isinstance(default, tuple) else default
    text = help + ("" if shown in (None, "", ()) else f" (default: {str(shown).lower() if isinstance(shown, bool) else shown})")
    flag = {"metavar": ""} if kind is bool else {}
    return name, Annotated[Optional[kind], typer.Option(*decls, help=text, show_default=False, **flag)]


def settings_from(read: bool = False, **sections: type) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the options of ``sections`` (table name → config class) and ``--config``.

    The command is called with ``settings``: table name → the built config
    (and, with ``read``, ``"read"`` → a :class:`~dedup.config.ReadConfig`).
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        own = [p for p in inspect.signature(func, eval_str=True).parameters.values() if p.name != "settings"]
        extra: list[inspect.Parameter] = []
        specs: list[tuple[str, str, tuple[str, ...], bool]] = []
        for section, cls in sections.items():
            for path, f, hint in cli_fields(cls):
                default = f.default if f.default is not MISSING else f.default_factory()
                name, annotation = _option(f.metadata["cli"], hint, f.metadata["help"], default)
                extra.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation))
                specs.append((name, section, path, hint == tuple[str, ...]))
        if read:
            for name, (flag, text) in _READ.items():
                kind = _FORMATS if name == "fmt" else str
                extra.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                               annotation=Annotated[Optional[kind], typer.Option(flag, help=text)]))
            extra.append(inspect.Parameter("skip_bad", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[
                bool, typer.Option("--skip-bad", help="Skip malformed records and report them instead of stopping.", metavar="")]))
            extra.append(inspect.Parameter("storage_option", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=StorageOptions))
            extra.append(inspect.Parameter("max_record_bytes", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
                Optional[int], typer.Option("--max-record-bytes", show_default=False, help=(
                    "Records (a line of JSONL, CSV or TSV, a .txt file) longer than this are bad records, skipped without "
                    f"being read whole (default: {ReadConfig.max_record_bytes})."))]))
        extra.append(inspect.Parameter("config_file", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
            Optional[Path], typer.Option("--config", help="TOML file of settings (tables dedupe, stories, repeats, runtime, as in summary.json); "
                                         "options given here win.", dir_okay=False)]))

        def command(*args: Any, **kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name, *_ in specs}
            config_file = kwargs.pop("config_file")
            read_kw = {name: kwargs.pop(name) for name in (*_READ, "skip_bad", "max_record_bytes", "storage_option")} if read else {}
            with user_errors():
                settings = build_settings(sections, specs, given, config_file)
                if read:
                    from ..config import ReadConfig

                    from ..io.remote import parse_storage_options

                    read_kw["format"] = read_kw.pop("fmt") or "auto"
                    read_kw["storage_options"] = parse_storage_options(read_kw.pop("storage_option"))
                    if read_kw["max_record_bytes"] is None:
                        del read_kw["max_record_bytes"]
                    settings["read"] = ReadConfig(**read_kw)
            return func(*args, settings=settings, **kwargs)

        command.__name__, command.__doc__ = func.__name__, func.__doc__
        command.__signature__ = inspect.Signature(own + extra)  # type: ignore[attr-defined]
        return command

    return decorate


class Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, systemd, Kubernetes), raised where the run is so that it unwinds and cleans up."""


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a user's mistake into one line on stderr and exit code 1."""
    try:
        yield
    except DedupError as exc:
        typer.echo(f"dedup: error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (the CLI turns it into Terminated)
        what = "terminated" if isinstance(exc, Terminated) else "interrupted"
        typer.echo(f"dedup: {what}: the outputs of this run are incomplete (no summary.json); temporary files removed", err=True)
        raise typer.Exit(code=143 if isinstance(exc, Terminated) else 130) from None
