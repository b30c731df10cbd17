"""``dedup serve``: the history index behind HTTP (:mod:`dedup.serve`), run by uvicorn."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..config import DedupConfig, StoriesConfig
from ..errors import ConfigError
from ..runtime import Runtime
from .options import settings_from, user_errors

__all__ = ["serve"]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read_token(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the token file ({exc})") from None
    if not token or any(c.isspace() for c in token):
        raise ConfigError(f"{path}: the token file must hold one token (no spaces), e.g. from `openssl rand -hex 32`")
    return token


@settings_from(dedupe=DedupConfig, runtime=Runtime)
def serve(
    index: Annotated[str, typer.Option("--index", metavar="LOCATION", help="History index: a file (SQLite, created when "
                                       "absent) or redis://host:port/N, as for `dedup dedupe --index`.")],
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    token_file: Annotated[Optional[Path], typer.Option(
        "--token-file", dir_okay=False, help="File holding a token: every request then needs 'Authorization: Bearer <token>'.")] = None,
    max_body_mb: Annotated[float, typer.Option("--max-body-mb", min=0.001, help="Largest request body, in MiB (413 beyond).")] = 32.0,
    window_days: Annotated[Optional[float], typer.Option(
        "--window-days", min=0, help="Compare only with stored articles dated within this many days.")] = None,
    coalesce: Annotated[bool, typer.Option(
        "--coalesce", metavar="", help="Decide the batches that wait for the index together, in one run (up to 10 x chunk_size "
        "articles): one set of history lookups and one commit for all of them, more headroom under concurrent load. Each "
        "batch is still answered with its own decisions and added whole, and a batch that waits alone is a run of its own; "
        "but batches merged in a run are decided as one batch by `dedup dedupe --index` (a later one can change the keeper "
        "of an earlier one's copies, scores use the run's IDF), not batch by batch.")] = False,
    settings: Any = None,
) -> None:
    """Serve the history index over HTTP: POST /v1/articles decides a batch and adds it.

    Also GET /v1/articles/ID, GET /v1/groups/NAME, POST /v1/similarity,
    /healthz, /metrics (Prometheus), /openapi.json, and a page at / with the
    latest duplicate groups (each copy opens side by side with its keeper).
    Batches are decided one at a time, first come first decided, as `dedup
    dedupe --index` would decide them in the same order (see --coalesce).
    """
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError:
        typer.echo("dedup: error: dedup serve needs FastAPI and uvicorn: pip install 'dedup[serve]'", err=True)
        raise typer.Exit(code=1) from None
    from ..serve.app import create_app
    from ..serve.engine import Engine

    with user_errors():
        token = _read_token(token_file) if token_file is not None else None
        # the story score of /v1/similarity uses the default stories settings, as `dedup similarity` does by default
        engine = Engine(index, settings["dedupe"], StoriesConfig(), settings["runtime"], window_days, coalesce)
    if token is None and not _loopback(host):
        typer.echo(f"dedup serve: warning: listening on {host} without --token-file: anyone who reaches it can add articles", err=True)
    app = create_app(engine, token=token, max_body_bytes=int(max_body_mb * (1 << 20)))
    typer.echo(f"dedup serve: {index} on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=10)
