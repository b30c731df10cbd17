"""HTTP inputs against a real server on loopback that misbehaves as real ones do: slow, stalled, cut short.

aiohttp (fsspec's HTTP filesystem) gives a session 300 s for a whole request
unless told otherwise; a feed is one response read as the run goes, so a
large feed took longer and failed part way. The tests shrink the clocks (the
default session limit, dedup's own read timeout) instead of waiting minutes.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

aiohttp = pytest.importorskip("aiohttp", reason="aiohttp is not installed: pip install -e '.[cloud]'")
pytest.importorskip("fsspec", reason="fsspec is not installed: pip install -e '.[cloud]'")

from test_formats import feed, jsonl_bytes  # noqa: E402

from dedup.cli import app  # noqa: E402
from dedup.io import remote  # noqa: E402

FEED = jsonl_bytes(feed())
PIECES = 6  # the slow feed comes in this many pieces, PAUSE apart
PAUSE = 0.25
stop = threading.Event()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        step = -(-len(FEED) // PIECES)
        if self.path.startswith("/slow/"):  # every piece sent, slowly
            for k in range(0, len(FEED), step):
                self.wfile.write(FEED[k:k + step])
                self.wfile.flush()
                time.sleep(PAUSE)
        else:  # /stall/: a first piece, then nothing until the test ends
            self.wfile.write(FEED[:step])
            self.wfile.flush()
            stop.wait(30)
        self.close_connection = True


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up mid-body (the run stopped): nothing for the test's output


@pytest.fixture
def server() -> Iterator[str]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    stop.clear()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def _run(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*map(str, args), "-q"])
    return result.exit_code, result.output


def test_a_feed_read_for_longer_than_the_session_limit_is_read_whole(server: str, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """aiohttp's default session limit (300 s, here 0.5 s) is not a limit on a feed that keeps coming (~1.5 s)."""
    monkeypatch.setattr(aiohttp.client, "DEFAULT_TIMEOUT", aiohttp.ClientTimeout(total=0.5))
    code, output = _run("dedupe", f"{server}/slow/feed.jsonl", "--out", tmp_path / "out")
    assert code == 0, output
    assert len((tmp_path / "out" / "decisions.jsonl").read_text(encoding="utf-8").splitlines()) == len(feed())


def test_a_server_that_stops_sending_is_one_line_naming_the_url(server: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote, "HTTP_READ_TIMEOUT", 0.5)
    url = f"{server}/stall/feed.jsonl"
    code, output = _run("dedupe", url, "--out", tmp_path / "out")
    assert code == 1
    assert output.strip().splitlines() == [
        f"dedup: error: {url}: reading stopped: the server sent nothing for 0.5 s; check the server, or try again"]
    assert not (tmp_path / "out").exists()


def test_storage_options_keep_their_own_client_settings() -> None:
    """``--storage-option client_kwargs=…`` still reaches aiohttp, with dedup's read timeout unless it sets one."""
    fs, _ = remote.filesystem("http://127.0.0.1:9/x.jsonl", [("client_kwargs", {"trust_env": True})])
    assert fs.client_kwargs["trust_env"] is True
    assert fs.client_kwargs["timeout"].total is None and fs.client_kwargs["timeout"].sock_read == remote.HTTP_READ_TIMEOUT
    mine = aiohttp.ClientTimeout(total=5)
    fs, _ = remote.filesystem("https://127.0.0.1:9/x.jsonl", [("client_kwargs", {"timeout": mine})])
    assert fs.client_kwargs["timeout"] is mine
