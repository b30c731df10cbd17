"""``dedup serve`` when its index fails it: real servers (``python -m dedup serve``) on loopback ports, a real
redis-server stopped under them, read-only SQLite files.

What is checked is what an operator sees: the answer (a JSON 503, never a plain-text 500), the start-up line, and
the log: one line for an error the service understands, a traceback only for a bug.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from contextlib import contextmanager
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
        page = httpx.get(base + "/", timeout=60)  # an editor's browser gets a page saying so, not a JSON body
        assert page.status_code == 503 and page.headers["content-type"].startswith("text/html"), page.text
        assert "index unavailable" in page.text and "reload the page" in page.text
    finally:
        if server is not None:
            stop(server)
        if redis_proc.poll() is None:
            redis_proc.terminate()
            redis_proc.wait(10)
    said = log.read_text(encoding="utf-8", errors="replace")
    assert said.count("request failed: ConnectionError") == 5, said
    assert "Traceback" not in said and "Exception in ASGI application" not in said, said


def test_an_index_flushed_under_the_service_is_a_503_not_a_404(tmp_path: Path) -> None:
    """After FLUSHDB the lookups found nothing and answered 404 "no such article": a client took its articles for
    never sent."""
    import redis

    redis_proc, url = start_redis(tmp_path)
    port = free_port()
    server = None
    try:
        server = start_serve(["--index", f"{url}?prefix=f{uuid.uuid4().hex[:6]}"], port)
        base = f"http://127.0.0.1:{port}"
        sent = as_records(batches()[0])
        assert httpx.post(base + "/v1/articles", json=sent, timeout=60).status_code == 200
        assert httpx.get(base + "/v1/articles/" + sent[0]["id"], timeout=60).status_code == 200
        assert httpx.get(base + "/v1/articles/no-such-id", timeout=60).status_code == 404
        redis.Redis.from_url(url).flushdb()
        # an event's lookups (the route and its page) answered 404 "no event ... in the index": an editor following
        # a link from the page was told the event never existed
        for path in ("/v1/articles/" + sent[0]["id"], "/v1/groups/" + sent[0]["id"], "/v1/events/" + sent[0]["id"]):
            res = httpx.get(base + path, timeout=60)
            assert res.status_code == 503 and res.json()["error"] == "index_unavailable", (path, res.text)
            assert "the index is gone" in res.text, res.text
        page = httpx.get(base + "/event", params={"e": sent[0]["id"]}, timeout=60)
        assert page.status_code == 503 and "index unavailable" in page.text, page.text
    finally:
        if server is not None:
            stop(server)
        redis_proc.terminate()
        redis_proc.wait(10)


@contextmanager
def _read_only(path: Path):
    """``path`` made read-only: its mode (enough for a user), else (root writes whatever the mode says) the immutable
    flag; skips when neither holds."""
    mode = path.stat().st_mode
    path.chmod(0o444)
    immutable = False
    try:
        if os.access(path, os.W_OK):  # root
            path.chmod(mode)
            if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
                pytest.skip("cannot make a file read-only here (root, and no chattr +i on this file system)")
            immutable = True
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(mode)


@pytest.mark.parametrize("which", ["index", "texts"])
def test_an_index_that_cannot_be_written_is_one_line_at_start_up(tmp_path: Path, which: str) -> None:
    """It was accepted, then every POST answered 503 "attempt to write a readonly database"."""
    db = tmp_path / "h.db"
    port = free_port()
    server = start_serve(["--index", str(db)], port)  # makes the index and its text store, adds a batch
    try:
        assert httpx.post(f"http://127.0.0.1:{port}/v1/articles", json=as_records(batches()[0]), timeout=60).status_code == 200
    finally:
        stop(server)
    rows = db.stat().st_size
    with _read_only(db if which == "index" else tmp_path / "h.db.texts"):
        try:  # a process of its own: it served (and would serve on) before
            res = subprocess.run([sys.executable, "-m", "dedup", "serve", "--index", str(db), "--port", str(free_port())],
                                 capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"dedup serve started on an index it cannot write: {exc.stderr}") from None
    said = res.stdout + res.stderr
    assert res.returncode == 1 and f"{db}: the index cannot be written" in said, said
    assert "readonly database" in said and ("h.db.texts" in said) == (which == "texts")
    assert "Traceback" not in said and len(said.strip().splitlines()) == 1
    assert db.stat().st_size == rows
    # writable again, it serves
    server = start_serve(["--index", str(db)], port)
    stop(server)


def _stored_with_texts(location: str) -> tuple[set[str], set[str]]:
    from dedup.serve.texts import open_texts
    from dedup.store.history import open_index

    idx = open_index(location, create=False)
    try:
        ids = {r["id"] for r in idx.export()}
    finally:
        idx.close()
    texts = open_texts(location)
    try:
        return ids, set(texts.get(sorted(ids)))
    finally:
        texts.close()


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_sigterm_under_load_refuses_the_waiting_batches_and_finishes_the_one_being_decided(tmp_path: Path, kind: str) -> None:
    """16 batches posted at once, SIGTERM as the first is answered. It was: uvicorn waited 10 s while the queue went on
    being decided, then cancelled the requests (plain-text 500s, CancelledError tracebacks) and closed the index under
    the batch being decided: a batch committed but answered 500, its texts lost ('Cannot operate on a closed
    database'); on Redis batches went on being decided after their requests were answered."""
    import random
    import signal
    import threading
    import time

    redis_proc = None
    if kind == "redis":
        redis_proc, url = start_redis(tmp_path)
        location = f"{url}?prefix=t{uuid.uuid4().hex[:6]}"
    else:
        location = str(tmp_path / "h.db")
    port, log = free_port(), tmp_path / "serve.log"
    rng = random.Random(7)
    words = sorted({w for d in batches() for a in d for w in a.text.split()})
    posts = [[{"id": f"t{t}-{k}", "text": " ".join(rng.choice(words) for _ in range(80))} for k in range(150)] for t in range(16)]
    answers: dict[int, httpx.Response] = {}
    failures: list[str] = []
    first = threading.Event()

    def post(t: int) -> None:
        try:
            answers[t] = httpx.post(f"http://127.0.0.1:{port}/v1/articles", json=posts[t], timeout=120)
            first.set()
        except httpx.HTTPError as exc:
            failures.append(f"batch {t}: {type(exc).__name__}: {exc}")

    server = start_serve(["--index", location], port, log=log)
    try:
        threads = [threading.Thread(target=post, args=(t,)) for t in range(len(posts))]
        for t in threads:
            t.start()
        assert first.wait(120)
        server.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        for t in threads:
            t.join(120)
        server.wait(60)
        took = time.monotonic() - stopped
        stored, with_texts = _stored_with_texts(location)
    finally:
        stop(server)
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)
    said = log.read_text(encoding="utf-8", errors="replace")
    assert not failures and len(answers) == len(posts), failures
    statuses = {t: r.status_code for t, r in answers.items()}
    assert set(statuses.values()) == {200, 503}, statuses  # some answered, the waiting ones refused
    for r in answers.values():
        assert r.status_code == 200 or (r.json()["error"] == "stopping" and "nothing of this batch was added" in r.json()["message"])
    answered = {r["id"] for t, code in statuses.items() if code == 200 for r in posts[t]}
    assert stored == answered and with_texts == answered  # every answered batch whole with its texts, nothing refused
    assert took < 30 and "Traceback" not in said and "CancelledError" not in said and "Exception in ASGI" not in said, said


def _start_replica(work: Path, primary: str) -> tuple[subprocess.Popen, str]:
    """A second real redis-server on a free loopback port, a read-only replica of ``primary``, synced."""
    import time

    import redis

    host_port = primary.split("//", 1)[1].split("/", 1)[0]
    port = free_port()
    proc = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(work), "--replicaof", *host_port.split(":")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with redis.Redis(host="127.0.0.1", port=port) as client:
        for _ in range(200):
            try:
                if client.info("replication").get("master_link_status") == "up":
                    return proc, f"redis://127.0.0.1:{port}/0"
            except redis.ConnectionError:
                pass
            time.sleep(0.05)
    proc.kill()
    pytest.skip("the Redis replica did not sync on loopback")


def test_a_read_only_redis_replica_is_one_line_at_start_up_and_in_dedupe(tmp_path: Path) -> None:
    """serve started on a replica, then answered 503 to every POST; dedupe --index said "failed during the run ...
    a rerun completes the feed", which no rerun would."""
    (tmp_path / "primary").mkdir()
    (tmp_path / "replica").mkdir()
    primary, url = start_redis(tmp_path / "primary")
    replica = None
    try:
        prefix = f"?prefix=r{uuid.uuid4().hex[:6]}"
        seeds = str(Path(__file__).resolve().parents[1] / "seeds")
        made = subprocess.run([sys.executable, "-m", "dedup", "dedupe", seeds, "--out", str(tmp_path / "o1"), "-q",
                               "--index", url + prefix], capture_output=True, text=True, timeout=120)
        assert made.returncode == 0, made.stderr
        replica, copy = _start_replica(tmp_path / "replica", url)
        for args in (["serve", "--index", copy + prefix, "--port", str(free_port())],
                     ["dedupe", seeds, "--out", str(tmp_path / "o2"), "-q", "--index", copy + prefix]):
            try:
                res = subprocess.run([sys.executable, "-m", "dedup", *args], capture_output=True, text=True, timeout=60)
            except subprocess.TimeoutExpired as exc:
                raise AssertionError(f"dedup {args[0]} ran on a read-only replica: {exc.stderr}") from None
            said = res.stdout + res.stderr
            assert res.returncode == 1 and f"{copy + prefix}: the index cannot be written" in said, said
            assert "read-only replica" in said and "point" in said and "rerun" not in said, said
            assert "Traceback" not in said and len(said.strip().splitlines()) == 1, said
        # the primary still serves
        port = free_port()
        stop(start_serve(["--index", url + prefix], port))
    finally:
        for proc in (replica, primary):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(10)


def test_a_stories_lock_that_cannot_be_opened_is_one_line_at_start_up_with_stories_every(tmp_path: Path) -> None:
    """--stories-every: every pass takes LOCATION.stories.lock; one that cannot be opened (here a folder in its place)
    made every pass fail and its articles be given up, in the log only. Now the start says so; without the option the
    service starts (no pass takes it)."""
    db = tmp_path / "h.db"
    (tmp_path / "h.db.stories.lock").mkdir()
    res = subprocess.run([sys.executable, "-m", "dedup", "serve", "--index", str(db), "--port", str(free_port()),
                          "--stories-every", "5"], capture_output=True, text=True, timeout=60)
    said = res.stdout + res.stderr
    assert res.returncode == 1 and f"{db}: the index cannot be written (its lock file {db}.stories.lock" in said, said
    assert "Traceback" not in said and len(said.strip().splitlines()) == 1
    port = free_port()
    server = start_serve(["--index", str(db)], port)
    try:
        assert httpx.post(f"http://127.0.0.1:{port}/v1/articles", json=as_records(batches()[0]), timeout=60).status_code == 200
    finally:
        stop(server)
