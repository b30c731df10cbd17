"""Command-line options: generated from the frozen configs (a field declared with :func:`dedup.config.opt`), plus
the shared ones. A command's settings: the defaults, then ``--config FILE``'s tables (the shape ``summary.json``
records), then the options given.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from dataclasses import MISSING
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer

from ..config import ReadConfig
from ..errors import ConfigError
from ..errors import one_line_errors as user_errors
from ..settings import build_settings, cli_fields

__all__ = ["Index", "Inputs", "Out", "OutputFormat", "Quiet", "StorageOptions", "WindowDays", "settings_from", "user_errors"]

Inputs = Annotated[list[str], typer.Argument(
    help="Input files or directories (.jsonl, .json, .csv, .tsv, each also .gz/.zst/.xz/.bz2; .zip; .parquet or a folder of them; "
         "a folder of .txt; a news-please tree of .json), - for JSONL on stdin, or URLs: s3://bucket/key, s3://bucket/prefix/ "
         "(a folder), https://host/feed.jsonl, gs://… (needs dedup's 'gcs' extra).",
    show_default=False)]
Out = Annotated[str, typer.Option("--out", "-o", metavar="DIR", help="Output directory (created if needed), or s3://bucket/prefix/: "
                                  "written locally, uploaded when complete (summary.json last).")]
StorageOptions = Annotated[Optional[list[str]], typer.Option(
    "--storage-option", metavar="KEY=VALUE", show_default=False,
    help="An option of the fsspec filesystem of s3://, gs://, https:// inputs and --out (repeat for several; "
         "a value is read as JSON when it parses), e.g. anon=true or endpoint_url=http://127.0.0.1:9000.")]
OutputFormat = Annotated[Literal["jsonl", "parquet"], typer.Option(
    "--output-format", help="Format of the unique, decisions and pairs files: jsonl, or parquet (needs pyarrow, "
    "dedup's 'parquet' extra; a Parquet input's kept rows are copied unchanged).")]
Index = Annotated[Optional[str], typer.Option(
    "--index", metavar="LOCATION", help="History index: a file (SQLite, created when absent) or redis://host:port/N. "
    "The feed is also compared with every article already in it, then added (stories: its reports join the events it tracks).")]
WindowDays = Annotated[Optional[float], typer.Option(
    "--window-days", min=0, metavar="DAYS", help="With --index: compare only with stored articles dated within this many days.")]
# metavar="": a flag takes no value (typer would show "<bool>" beside it, as if it took one)
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars, tables or counts on stderr (warnings and errors still show).", metavar="")]
_CONFIG = Annotated[Optional[Path], typer.Option(
    "--config", dir_okay=False, help="TOML file of settings (tables read, dedupe, stories, repeats, serve, runtime, as in summary.json); "
    "options given here win.")]


HELP_MARKUP = True  # the help is drawn by rich (markup read); False: click's plain help (dedup.cli.run, a narrow terminal)


def _option(flag: str, hint: Any, help: str, default: Any = None) -> tuple[str, Any]:
    decls = flag.split(" ")
    name = decls[0].split("/")[0].lstrip("-").replace("-", "_")
    kind = str if hint == tuple[str, ...] else hint  # a list option is written comma-separated
    shown = ",".join(default) if isinstance(default, tuple) else default
    text = help + ("" if shown in (None, "", ()) else f" (default: {str(shown).lower() if isinstance(shown, bool) else shown})")
    if HELP_MARKUP:  # the help is rich markup: "dedup[semantic]" would lose its "[semantic]"
        text = text.replace("[", "\\[")
    flag = {"metavar": ""} if kind is bool else {}
    return name, Annotated[Optional[kind], typer.Option(*decls, help=text, show_default=False, **flag)]


def settings_from(read: bool = False, unused: tuple[str, ...] = (), **sections: type) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the options of ``sections`` (table name → config class) and ``--config``.

    The command is called with ``settings``: table name → the built config
    (and, with ``read``, ``"read"`` → a :class:`~dedup.config.ReadConfig`,
    with the ``--storage-option`` values, which no file holds: they may be secrets).
    ``unused``: settings the command never reads, as ``"table.field"`` (a
    nested config's whole name: all its fields), left out of its options
    (a config file may still hold them).
    """
    sections = {"read": ReadConfig, **sections} if read else sections

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        return _Command(func, read, sections, unused)

    return decorate


class _Command:
    """A command given the options of its configs (:func:`settings_from`), built when typer first asks for them.

    Building a command's options (one per config field, each an ``Annotated``
    type) cost ~20 ms for all the commands at import; a run builds only the
    command it runs (:func:`dedup.cli.app_for`). typer reads the options
    through ``inspect.signature`` (:attr:`__signature__`) and
    ``typing.get_type_hints`` (:attr:`__annotations__`).
    """

    def __init__(self, func: Callable[..., Any], read: bool, sections: dict[str, type], unused: tuple[str, ...] = ()) -> None:
        self.func, self.read, self.sections, self.unused = func, read, sections, unused
        self.__name__, self.__qualname__, self.__doc__ = func.__name__, func.__qualname__, func.__doc__
        self.__module__ = func.__module__
        self._built: tuple[inspect.Signature, list[tuple[str, str, tuple[str, ...], bool]]] | None = None

    def _build(self) -> tuple[inspect.Signature, list[tuple[str, str, tuple[str, ...], bool]]]:
        if self._built is None:
            own = [p for p in inspect.signature(self.func, eval_str=True).parameters.values() if p.name != "settings"]
            options: list[tuple[str, Any]] = []
            specs: list[tuple[str, str, tuple[str, ...], bool]] = []
            for section, cls in self.sections.items():
                for path, f, hint in cli_fields(cls):
                    if _unused(section, path, self.unused):
                        continue
                    default = f.default if f.default is not MISSING else f.default_factory()
                    options.append(_option(f.metadata["cli"], hint, f.metadata["help"], default))
                    specs.append((options[-1][0], section, path, hint == tuple[str, ...]))
            options += [*([("storage_option", StorageOptions)] if self.read else []), ("config_file", _CONFIG)]
            extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=a) for name, a in options]
            self._built = inspect.Signature(own + extra), specs
        return self._built

    @property
    def __signature__(self) -> inspect.Signature:
        return self._build()[0]

    @property
    def __annotations__(self) -> dict[str, Any]:  # type: ignore[override]
        return {p.name: p.annotation for p in self.__signature__.parameters.values()}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        specs = self._build()[1]
        given = {name: kwargs.pop(name) for name, *_ in specs}
        config_file = kwargs.pop("config_file")
        storage = kwargs.pop("storage_option") if self.read else None
        with user_errors():
            try:
                settings = build_settings(self.sections, specs, given, config_file)
            except ConfigError as exc:  # "max_chars must be >= 1": the option the user typed is named too
                raise ConfigError(_named_option(str(exc), self.sections, self.unused)) from None
            if self.read:
                from dataclasses import replace

                from ..io.paths import parse_storage_options

                settings["read"] = replace(settings["read"], storage_options=parse_storage_options(storage))
            if self.read and kwargs.get("inputs"):
                from ..io.paths import check_inputs, check_output_outside

                check_inputs(kwargs["inputs"])
                if isinstance(kwargs.get("out"), str):
                    check_output_outside(kwargs["inputs"], kwargs["out"])
            _before_work(settings, self.unused)
        try:
            return self.func(*args, settings=settings, **kwargs)
        finally:
            if "joblib" in sys.modules:  # the command is the process's last work: its workers need not wind down (dedup.exec)
                from ..exec.local import stop_workers

                stop_workers()


def _unused(section: str, path: tuple[str, ...], unused: tuple[str, ...]) -> bool:
    """Whether the setting ``section.path`` is one of a command's ``unused`` (itself, or a config that holds it)."""
    return any(f"{section}.{'.'.join(path[:k])}" in unused for k in range(1, len(path) + 1))


def _before_work(settings: dict[str, Any], unused: tuple[str, ...] = ()) -> None:
    """What the settings of a run mean together, said before the feed is read: an error (no LSH banding for them),
    or a line on stderr (a setting that changes nothing, fewer processes than asked). Settings the command never
    reads (``unused``) are not checked."""
    from ..io.console import say

    dedupe = settings.get("dedupe")
    if dedupe is not None:
        if not _unused("dedupe", ("index",), unused) and not _unused("dedupe", ("minhash",), unused):
            from ..candidates.banding import band_params

            band_params(dedupe.index.threshold, dedupe.minhash.num_perm, dedupe.index.fp_weight)  # ConfigError when none
        if dedupe.cluster.source_priority and dedupe.cluster.keep != "source-priority" and not _unused("dedupe", ("cluster",), unused):
            say(f"dedup: warning: --source-priority is read only with --keep source-priority; with --keep "
                f"{dedupe.cluster.keep} it changes nothing")
        if not _unused("dedupe", ("verify",), unused):
            for option in _unread_decision_options(dedupe.verify):
                say(f"dedup: warning: {option} is read only with --decision "
                    f"{'rule' if dedupe.verify.decision == 'model' else 'model'}; with --decision {dedupe.verify.decision} it changes nothing")
            lsh = dedupe.index.threshold
            if dedupe.verify.decision == "rule" and not _unused("dedupe", ("index",), unused) and lsh > dedupe.verify.jaccard:
                say(f"dedup: warning: --lsh-threshold {lsh:g} is above --jaccard {dedupe.verify.jaccard:g}: pairs the rule "
                    "would accept are rarely made candidates, so many of them are never compared; keep it below")
    runtime = settings.get("runtime")
    if runtime is not None and runtime.dask_address is None and runtime.local_jobs < runtime.n_jobs:  # local, or a local Dask cluster
        say(f"dedup: --jobs {runtime.n_jobs}: this machine has {runtime.local_jobs} cores; running {runtime.local_jobs} processes")


def _unread_decision_options(verify: Any) -> list[str]:
    """The options set away from their defaults that the chosen decision does not read: the rule's thresholds under the
    learned model, the model's file and probability under the rule.

    >>> from dedup.config import VerifyConfig
    >>> _unread_decision_options(VerifyConfig(jaccard=0.9, min_probability=0.5))
    ['--jaccard']
    >>> _unread_decision_options(VerifyConfig(decision="rule", jaccard=0.9, min_probability=0.5))
    ['--min-probability']
    """
    from dataclasses import fields

    from ..config import VerifyConfig

    unread = {"model": ("jaccard", "containment", "min_cosine"), "rule": ("min_probability", "model")}[verify.decision]
    default = VerifyConfig()
    return [f.metadata.get("cli", f.name) for f in fields(verify) if f.name in unread and getattr(verify, f.name) != getattr(default, f.name)]


def _named_option(message: str, sections: dict[str, type], unused: tuple[str, ...] = ()) -> str:
    """A config error that starts with a setting's name, with the option that sets it named after it.

    >>> from dedup.runtime import Runtime
    >>> _named_option("n_jobs must be a positive number, got 0", {"runtime": Runtime})
    'n_jobs (--jobs) must be a positive number, got 0'
    >>> _named_option("options: [runtime]: n_jobs must be a whole number, got 1.5", {"runtime": Runtime})
    'n_jobs (--jobs) must be a whole number, got 1.5'
    """
    import re

    message = re.sub(r"^options: \[\w+\](\.\w+)*: ", "", message)  # a value typed as an option: its option names it
    name = message.split(" ", 1)[0]
    for section, cls in sections.items():
        for path, f, _ in cli_fields(cls):
            if path[-1] == name and not _unused(section, path, unused):
                flag = f.metadata["cli"].split(" ")[0].split("/")[0]
                return f"{name} ({flag}){message[len(name):]}"
    return message
