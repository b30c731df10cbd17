"""``dedup index``: look after a history index (stats, prune, export)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated, Optional

import typer

from .options import user_errors

index_app = typer.Typer(name="index", help="Look after a history index (made by `dedup dedupe FEED --index LOCATION`).",
                        no_args_is_help=True)

Location = Annotated[str, typer.Argument(metavar="LOCATION", help="The index: a SQLite file or redis://host:port/N.")]


@index_app.command()
def stats(location: Location) -> None:
    """Print what the index holds as JSON: articles, oldest and newest date, size, the fixed parameters."""
    from ..store.history import open_index

    with user_errors():
        idx = open_index(location, create=False)
        try:
            info = idx.stats()
        finally:
            idx.close()
    typer.echo(json.dumps(info, indent=2, ensure_ascii=False))


@index_app.command()
def prune(
    location: Location,
    before: Annotated[str, typer.Option("--before", metavar="DATE", help="Remove the articles dated before this ISO-8601 date (UTC when no zone).")],
) -> None:
    """Remove old history: every article dated before DATE (undated articles stay)."""
    from ..errors import ConfigError
    from ..store.history import open_index

    with user_errors():
        try:
            when = datetime.fromisoformat(before.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"--before {before!r}: not an ISO-8601 date (e.g. 2026-01-31)") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        idx = open_index(location, create=False)
        try:
            with idx.writer(lambda msg: typer.echo(msg, err=True)):
                removed = idx.prune(when.timestamp())
            left = idx.stats()["articles"]
        finally:
            idx.close()
    typer.echo(f"{removed} articles dated before {when.isoformat()} removed; {left} left in {location}", err=True)


@index_app.command()
def export(
    location: Location,
    out: Annotated[Optional[str], typer.Option("--out", "-o", help="Write to this file (default: standard output).")] = None,
) -> None:
    """Write every stored decision as JSON lines, in the order the articles were read."""
    from ..io.writers import write_jsonl
    from ..store.history import open_index

    with user_errors():
        idx = open_index(location, create=False)
        try:
            if out is None:
                for row in idx.export():
                    typer.echo(json.dumps(row, ensure_ascii=False))
            else:
                write_jsonl(out, idx.export())
        finally:
            idx.close()
