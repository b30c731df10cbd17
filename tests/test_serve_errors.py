"""``dedup serve`` when its index fails it: real servers (``python -m dedup serve``) on loopback ports, a real
redis-server stopped under them, read-only SQLite files.

What is checked is what an operator sees: the answer (a JSON 503, never a plain-text 500), the start-up line, and
the log: one line for an error the service understands, a traceback only for a bug.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from _servers import as_records, batches, free_port, start_redis, start_serve, stop

try:
    import fastapi  # noqa: F401
    import httpx
    import uvicorn  # noqa: F401
except ImportError:
    pytest.skip("dedup serve needs the serve extra (pip install 'dedup[serve]') and the tests httpx", allow_module_level=True)


def test_an_index_gone_away_is_a_503_and_one_log_line_without_a_traceback(tmp_path: Path) -> None:
    """The 503 was answered, then Starlette's outermost middleware re-raised the error: uvicorn logged
    'Exception in ASGI application' and ~100 lines of traceback for every request while Redis was down."""
    redis_proc, url = start_redis(tmp_path)
    port, log = free_port(), tmp_path / "serve.log"
    server = None
    try:
        server = start_serve(["--index", f"{url}?prefix=e{uuid.uuid4().hex[:6]}"], port, log=log)
        base = f"http://127.0.0.1:{port}"
        assert httpx.post(base + "/v1/articles", json=as_records(batches()[0]), timeout=60).status_code == 200
        redis_proc.terminate()
        redis_proc.wait(10)
        for _ in range(2):
            res = httpx.post(base + "/v1/articles", json=as_records(batches()[1]), timeout=60)
            assert res.status_code == 503 and res.json()["error"] == "index_unavailable", res.text
            health = httpx.get(base + "/healthz", timeout=60)
            assert health.status_code == 503 and health.json()["error"] == "index_unavailable", health.text
    finally:
        if server is not None:
            stop(server)
        if redis_proc.poll() is None:
            redis_proc.terminate()
            redis_proc.wait(10)
    said = log.read_text(encoding="utf-8", errors="replace")
    assert said.count("request failed: ConnectionError") == 4, said
    assert "Traceback" not in said and "Exception in ASGI application" not in said, said
