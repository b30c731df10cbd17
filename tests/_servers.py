"""Real servers for tests (a redis-server, a `dedup serve`) on free loopback ports, and a small feed in batches."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dedup.types import Article

SEEDS = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))


@contextmanager
def held_by_another_process(location: str, lock: str) -> Iterator[subprocess.Popen]:
    """Another process (a real one: a service tells its own holds from others') holds the index's ``lock``
    (``"writer"`` or ``"tracker"``) as a long `dedup dedupe --index` or `dedup stories --index` run would, until the
    block ends."""
    code = ("import sys\nfrom dedup.config import DedupConfig\nfrom dedup.store.history import open_index\n"
            f"index = open_index({location!r}, DedupConfig())\n"
            f"with index.{lock}():\n    print('held', flush=True)\n    sys.stdin.read()\nindex.close()\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held", "the other process took no lock"
        yield proc
    finally:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        proc.wait(60)
        proc.stdout.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(work: Path, password: str | None = None) -> tuple[subprocess.Popen, str]:
    """A redis-server on a free loopback port, nothing saved (with ``password`` required); skips the test when none
    can start. The URL returned carries no password."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (.ci/run installs Debian's redis-server)")
    import redis

    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(work), *(("--requirepass", password) if password else ())],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with redis.Redis(host="127.0.0.1", port=port, password=password) as client:
        for _ in range(100):
            try:
                client.ping()
                return proc, f"redis://127.0.0.1:{port}/0"
            except redis.ConnectionError:
                time.sleep(0.05)
    proc.kill()
    pytest.skip("redis-server did not start on a loopback port")


def start_serve(args: list[str], port: int, token: str | None = None, log: Path | None = None,
                timeout: float = 90.0) -> subprocess.Popen:
    """``python -m dedup serve ARGS --port PORT`` (its output to ``log``), returned once /healthz answers 200."""
    import httpx

    log = log if log is not None else Path(os.devnull)
    with open(log, "wb") as out:  # the child keeps its own descriptor
        proc = subprocess.Popen([sys.executable, "-m", "dedup", "serve", *args, "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = log.read_text(encoding="utf-8", errors="replace")[-3000:] if log.is_file() else ""
            raise AssertionError(f"dedup serve exited with {proc.returncode}: {said}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", headers=headers, timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise AssertionError(f"dedup serve did not answer /healthz within {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _words() -> list[str]:
    return sorted({w for p in SEEDS for w in p.read_text(encoding="utf-8").split() if len(w) > 2})


def batches() -> list[list[Article]]:
    """Three batches: copies within a batch, copies of earlier batches (of a lone article too), exact copies, fresh ones.

    * batch 1: ``lone`` (alone), ``b1`` and its near copy ``b2`` (group ``b1``), fresh ``f*``, a too short ``short1``;
    * batch 2: ``lone-copy`` (a near copy of ``lone``: group ``lone``), ``b3`` (an exact copy of ``b1``), fresh ones;
    * batch 3: ``b4`` (a near copy of ``b2``), fresh ones, an empty text.
    """
    rng = random.Random(11)
    words = _words()

    def text(n: int = 150) -> str:
        return "\n".join(" ".join(rng.choice(words) for _ in range(n // 3)) for _ in range(3))

    def edit(t: str, every: int) -> str:
        toks = t.split(" ")
        for k in range(0, len(toks), every):
            toks[k] = rng.choice(words)
        return " ".join(toks)

    def art(i: str, t: str, day: int, source: str, title: str = "") -> Article:
        return Article(id=i, text=t, title=title, source=source, date=f"2024-05-{day:02d}T09:00:00")

    seeds = [p.read_text(encoding="utf-8") for p in SEEDS]
    lone, b = seeds[0], seeds[1]
    d1 = [art("lone", lone, 1, "wire", "شي يلتقي لافروف"), art("b1", b, 1, "wire"), art("b2", b + "\nشارك الخبر", 1, "outlet")]
    d1 += [art(f"f{k}", text(), 1, "wire") for k in range(6)] + [art("short1", "كلمتان فقط", 1, "wire")]
    d2 = [art("lone-copy", edit(lone, 40), 2, "agency"), art("b3", b, 2, "blog")]
    d2 += [art(f"g{k}", text(), 2, "outlet") for k in range(6)]
    d3 = [art("b4", b + "\nشارك الخبر\nتابعونا", 3, "agency")] + [art(f"h{k}", text(), 3, "wire") for k in range(5)]
    d3 += [art("empty3", "   ", 3, "outlet")]
    return [d1, d2, d3]


def as_records(articles: list[Article]) -> list[dict]:
    return [{"id": a.id, "text": a.text, "title": a.title, "source": a.source, "date": a.date} for a in articles]
