"""The job of ``dedup serve``: the history index behind HTTP (:mod:`dedup.serve`), run by uvicorn.

Two steps, so that a caller can tell a mistake in the settings (a
:class:`~dedup.errors.DedupError` from :func:`serve_app`) from the server's
own end: uvicorn answers Ctrl-C and SIGTERM itself in :func:`run_server`.
"""

from __future__ import annotations

import errno
import ipaddress
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..config import DedupConfig, ServeConfig, StoriesConfig
from ..errors import ConfigError, redact
from ..io.console import say
from ..runtime import Runtime

__all__ = ["run_server", "serve_app"]


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


def serve_app(index: str, settings: Mapping[str, Any], *, echo: Callable[[str], None] = say) -> Any:
    """The FastAPI app of ``dedup serve`` over the history index ``index``, ready for :func:`run_server`.

    Args:
        index: a SQLite file (created when absent) or ``redis://host:port/N``.
        settings: table name → config: ``"serve"`` (:class:`~dedup.config.ServeConfig`: host, token file, body limit,
            window, coalescing), ``"dedupe"``, ``"runtime"``; a missing table takes the defaults. The story score of
            ``/v1/similarity`` uses the default stories settings, as ``dedup similarity`` does by default.
        echo: told when the address is not a loopback one and there is no token.

    Raises:
        ConfigError: FastAPI or uvicorn is missing, the token file or the decision model (``--decision-model``) is
            unusable, or nothing can listen on the address (a port in use): said before the index is opened or created.
        HistoryError: the index cannot be opened with these settings, or (a file) cannot be written.
    """
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise ConfigError("dedup serve needs FastAPI and uvicorn: pip install 'dedup[serve]'") from None
    from ..serve.app import create_app
    from ..serve.engine import Engine

    serve = settings.get("serve", ServeConfig())
    host, token_file, max_body_mb = serve.host, serve.token_file, serve.max_body_mb
    window_days, coalesce = serve.window_days, serve.coalesce
    token = _read_token(Path(token_file)) if token_file is not None else None
    dedupe = settings.get("dedupe", DedupConfig())
    if dedupe.verify.decision == "model":  # the engine loads it at start-up, after the index is opened and the port bound
        from ..verify.decision import load_model

        load_model(dedupe.verify.model)
    _check_listen(host, serve.port)
    # events compare the texts dedupe normalized (dedup stories asks [stories.normalize] = [dedupe.normalize])
    stories = StoriesConfig(normalize=dedupe.normalize)
    engine = Engine(index, dedupe, stories, settings.get("runtime", Runtime()), window_days, coalesce, serve.stories_every)
    try:
        _check_writable(index, stories=engine.placer is not None)
        if engine.placer is not None:
            engine.placer.check()
    except BaseException:
        engine.close()
        raise
    if token is None and not _loopback(host):
        echo(f"dedup serve: warning: listening on {host} without --token-file: anyone who reaches it can add articles")
    return create_app(engine, token=token, max_body_bytes=int(max_body_mb * (1 << 20)))


def _check_writable(index: str, stories: bool = False) -> None:
    """A one-line error now when the SQLite index, its lock file or the service's text store cannot be written (a
    read-only file or folder, an immutable file, a read-only mount): SQLite opens such a file read-only, and every
    POST would answer 503 "attempt to write a readonly database". A write that changes nothing (the header's
    ``user_version`` set to itself) in a transaction rolled back; a file held by another writer passes (it is being
    written). With ``stories`` (``--stories-every``) the stories lock file too, which every pass takes. A Redis
    index is probed by :func:`_check_redis_writable`."""
    import os
    import sqlite3

    from ..store.index import HistoryError

    if index.startswith(("redis://", "rediss://", "unix://")):
        _check_redis_writable(index)
        return
    fix = "dedup serve adds every batch posted to it: make the file and its folder writable, or serve a copy"
    # the writer lock, taken by every batch; the stories lock, by every pass placing articles into events
    for lock in (".lock", ".stories.lock") if stories else (".lock",):
        try:
            os.close(os.open(index + lock, os.O_RDWR | os.O_CREAT, 0o644))
        except OSError as exc:
            raise HistoryError(f"{index}: the index cannot be written (its lock file {index}{lock}: {exc.strerror}); {fix}") from None
    for path in (index, index + ".texts"):
        conn = sqlite3.connect(path, timeout=1, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            conn.execute(f"PRAGMA user_version = {int(version)}")
            conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                what = "" if path == index else f" (the service's text store {path})"
                raise HistoryError(f"{index}: the index cannot be written{what}: {exc}; {fix}") from None
        finally:
            conn.close()


def _check_redis_writable(index: str) -> None:
    """A one-line error now when the Redis server refuses writes (a read-only replica, a user without write
    permission): every POST would answer 503. The probe is a write that changes nothing: ``EXPIRE`` of a key the
    index never holds (refused as a write, a no-op where writes are allowed)."""
    import redis

    from ..store.index import HistoryError
    from ..store.redis_address import redis_address

    url, prefix, db = redis_address(index)
    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10, **db)
    try:
        client.expire(f"{prefix}:write-probe", 1)
    except redis.exceptions.ReadOnlyError as exc:
        raise HistoryError(f"{index}: the index cannot be written: the Redis server is a read-only replica ({exc}); "
                           "dedup serve adds every batch posted to it: point --index at the primary") from None
    except redis.exceptions.ResponseError as exc:  # e.g. NOPERM: the user may not write these keys
        raise HistoryError(f"{index}: the index cannot be written ({exc}); dedup serve adds every batch posted to it") from None
    finally:
        client.close()


def _check_listen(host: str, port: int) -> None:
    """A one-line error now when ``host:port`` cannot be listened on (uvicorn would say so in its log, after the index
    was opened or created, and exit 3). Every address the host resolves to is bound, as asyncio binds them (IPv6
    sockets IPv6 only), all at once; the sockets are let go at once: the server binds its own."""
    import socket
    from contextlib import ExitStack

    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"cannot listen on {shown}: {exc.strerror} (--host)") from None
    with ExitStack() as held:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = held.enter_context(socket.socket(family, kind, proto))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a port in TIME_WAIT is free
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                why = ("the port is in use (another server there? choose another --port)" if exc.errno == errno.EADDRINUSE
                       else exc.strerror)
                raise ConfigError(f"cannot listen on {shown}: {why}") from None


def _hang_up_as_before() -> None:
    """SIGHUP ends the server as it always has (its default action) rather than raising in the middle of uvicorn's loop,
    as the batch commands' handler (:func:`~dedup.errors.unwind_on_signals`) would: uvicorn answers SIGINT and SIGTERM
    only, and stops gracefully on them."""
    import signal

    from ..errors import _unwind

    if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is _unwind:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)


def run_server(app: Any, index: str, host: str = "127.0.0.1", port: int = 8000, echo: Callable[[str], None] = say,
               grace: float = 60.0) -> None:
    """Serve ``app`` (from :func:`serve_app` over ``index``) on ``host:port`` until Ctrl-C or SIGTERM.

    On the signal the engine stops at once (:meth:`~dedup.serve.engine.Engine.stop`): the batches waiting are answered
    503 and nothing of them is added, the one being decided is finished and answered. uvicorn waits up to ``grace``
    seconds for the answers (past that it cancels them: the batch is still committed whole, with its texts, before the
    index is closed); it used to wait 10 s while the queue went on being decided, then cancel the requests
    (plain-text 500s) and close the index under the batch being decided.
    """
    import uvicorn

    engine = app.state.engine

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            engine.stop()
            super().handle_exit(sig, frame)

    shown = f"[{host}]" if ":" in host else host  # an IPv6 address in a URL goes in brackets
    echo(f"dedup serve: {redact(index)} on http://{shown}:{port}/ (Ctrl-C stops)")
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=grace)
    server = Server(config)
    _hang_up_as_before()
    try:  # as uvicorn.run does
        server.run()
    except KeyboardInterrupt:
        pass
    if not server.started:  # the app's start-up failed (uvicorn said why)
        raise SystemExit(3)
