#!/usr/bin/env python3
"""Benchmark: adding a day of articles to a history index that already holds a million.

Target (issue 13): adding a 10k-article day to an index holding 1M articles
takes at most 60 s on two cores with a peak RSS of at most 2 GiB, for SQLite;
Redis measured the same way; bytes on disk (or in the server) per article.

Steps, all with ``dedup dedupe`` in a child process (``scripts/bench_scale.py``'s
runner: wall time from start to exit, peak RSS from the child's ``VmHWM``):

1. A synthetic feed (``scripts/make_synthetic_feed.py``) is cut into the
   history (its first ``--history`` lines) and the day (the next ``--day``
   lines: copies of recent history among them, as in a real feed).
2. **Baseline, same run**: the day deduplicated alone, without an index.
3. Per backend: the history is added in one run (``--index``; set-up, timed
   and reported), then the day is added (**the target**), then a second,
   differently built day: the SaudiNewsNet dev days (real articles; the
   synthetic history holds them relabelled or unchanged, so they meet many
   stored copies), when ``../shared/data`` has them. SQLite index files are
   copied before each timed add, so every add meets the same million.
4. ``dedup index stats`` gives the size on disk (SQLite) or the server's
   memory (Redis, a ``redis-server`` this script starts on a loopback port).

Writes ``results/bench_index.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import run_info, saudinewsnet_dir, write_dev_jsonl, write_result  # noqa: E402
from bench_scale import run_cli  # noqa: E402

GIB = 1024.0


def _head(src: Path, dst: Path, start: int, count: int) -> int:
    n = 0
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        for k, line in enumerate(f):
            if k < start:
                continue
            if n >= count:
                break
            out.write(line)
            n += 1
    return n


def _stats(location: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "dedup", "index", "stats", location], capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    info.pop("params", None)
    return info


def _run(feed: Path, out: Path, extra: tuple[str, ...], timeout: float) -> dict[str, Any]:
    res = run_cli("dedupe", feed, out, timeout, 20 * 1024, extra)
    res.pop("rss_timeline_mib", None)
    if res.get("status") == "ok":
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        res["history"] = summary.get("history")
    shutil.rmtree(out, ignore_errors=True)
    return res


def _brief(r: dict[str, Any]) -> str:
    return f"{r.get('status')} wall {r.get('wall_seconds')} s, peak {r.get('peak_rss_mib')} MiB"


def _redis(tmp: Path) -> tuple[subprocess.Popen, str]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server not found (apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return proc, f"redis://127.0.0.1:{port}/0"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feed", type=Path, required=True, help="a feed from scripts/make_synthetic_feed.py with history + day lines")
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--day", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,redis")
    parser.add_argument("--redis-history", type=int, default=None, help="history size for Redis (default: --history)")
    parser.add_argument("--tmp", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--timeout", type=float, default=7200)
    parser.add_argument("--merge", action="store_true", help="keep the other backends' entries of an existing results/bench_index.json")
    parser.add_argument("--work", type=Path, default=None,
                        help="keep the work folder here; a SQLite history index already built there is reused (its build is not re-timed)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="dedup-bench-index-", dir=args.tmp))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"run": run_info(), "history_articles": args.history, "day_articles": args.day, "backends": {}}
    previous = Path(__file__).resolve().parents[1] / "results" / "bench_index.json"
    if args.merge and previous.exists():
        old = json.loads(previous.read_text(encoding="utf-8"))
        results["backends"] = {k: {**v, "run": old.get("run"), "baseline_day_without_index": old.get("baseline_day_without_index")}
                              for k, v in old.get("backends", {}).items()}
    try:
        hist, day = work / "history.jsonl", work / "day.jsonl"
        if not (hist.exists() and day.exists()):
            _head(args.feed, hist, 0, args.history)
            _head(args.feed, day, args.history, args.day)
        results["history_articles"] = sum(1 for _ in open(hist, encoding="utf-8"))
        results["day_articles"] = sum(1 for _ in open(day, encoding="utf-8"))
        dev = None
        if saudinewsnet_dir() is not None:
            dev = work / "dev-days.jsonl"
            results["dev_days_articles"] = write_dev_jsonl(dev)
        base = _run(day, work / "o-base", ("--jobs", "2"), args.timeout)
        results["baseline_day_without_index"] = base
        print("baseline (the day, no index):", _brief(base), flush=True)
        for backend in args.backends.split(","):
            rec: dict[str, Any] = {}
            server = None
            try:
                if backend == "sqlite":
                    loc = str(work / "history.db")
                    size = args.history
                else:
                    server, loc = _redis(work)
                    size = args.redis_history or args.history
                src = hist
                if size != args.history:
                    src = work / f"history-{size}.jsonl"
                    _head(hist, src, 0, size)
                rec["history_articles"] = size
                built = work / "build.json"
                if backend == "sqlite" and Path(loc).exists() and built.exists():
                    rec["build"] = {**json.loads(built.read_text()), "reused": True}
                else:
                    Path(loc).unlink(missing_ok=True) if backend == "sqlite" else None
                    rec["build"] = _run(src, work / "o-build", ("--jobs", "2", "--index", loc), args.timeout)
                    if backend == "sqlite" and rec["build"].get("status") == "ok":
                        built.write_text(json.dumps(rec["build"]))
                print(backend, "build:", _brief(rec["build"]), flush=True)
                rec["index_after_build"] = _stats(loc)
                inputs = [("day", day)] + ([("dev_days", dev)] if dev is not None else [])
                for name, feed in inputs:
                    target = loc
                    if backend == "sqlite":
                        target = str(work / f"trial-{name}.db")
                        shutil.copyfile(loc, target)
                    rec[f"add_{name}"] = _run(feed, work / f"o-{name}", ("--jobs", "2", "--index", target), args.timeout)
                    print(backend, f"add {name}:", _brief(rec[f"add_{name}"]), flush=True)
                    if backend == "sqlite":
                        Path(target).unlink()
                empty = str(work / "empty.db") if backend == "sqlite" else loc.replace("/0", "/1")
                rec["add_day_to_empty_index"] = _run(day, work / "o-empty", ("--jobs", "2", "--index", empty), args.timeout)
                add = rec["add_day"]
                rec["target"] = {
                    "wall_seconds_max": 60,
                    "peak_rss_gib_max": 2,
                    "wall_seconds": add.get("wall_seconds"),
                    "peak_rss_gib": round(add.get("peak_rss_mib", 0) / GIB, 3),
                    "met": size >= 1_000_000 and add.get("status") == "ok" and add["wall_seconds"] <= 60 and add["peak_rss_mib"] <= 2 * GIB,
                    "wall_ratio_to_baseline": round(add["wall_seconds"] / base["wall_seconds"], 2) if base.get("wall_seconds") else None,
                }
                print(backend, "target:", rec["target"], flush=True)
            finally:
                if server is not None:
                    server.terminate()
                    server.wait(30)
            results["backends"][backend] = rec
            write_result("bench_index", results)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    write_result("bench_index", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
