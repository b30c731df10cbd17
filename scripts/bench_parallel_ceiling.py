#!/usr/bin/env python3
"""Benchmark: what two cores can give ``dedup dedupe`` on this machine (issue 16's ``--jobs 2`` target).

The target: ``--jobs 2`` at least 1.7x as fast as ``--jobs 1`` at 100k
articles. Two processes on two cores only run at full speed when they do not
slow each other down (memory bandwidth, shared caches, a virtual machine's
neighbours). This measures that limit with dedup's own work: the same
``dedup dedupe --jobs 1`` run alone, and two copies of it at once on the same
feed. When two copies together each take ``s`` times as long as one alone,
no split of one run over two processes can be more than ``2 / s`` times as
fast as one process: that is the ceiling here. ``--jobs 2`` is run in the
same rounds, and its speedup over ``--jobs 1`` is reported against 1.7 and
against the ceiling.

Each round runs the three (alone, the pair, ``--jobs 2``) in a rotating
order; medians over ``--rounds`` rounds. Every run is a fresh process started
as a user starts it (``python -m dedup dedupe FEED --out DIR -q --no-report``).

Feeds (each skipped when ``../shared/data`` is absent): the 100k synthetic
feed (``scripts/make_synthetic_feed.py --size 100000 --seed 0``, or
``--synthetic FILE``) and the dev days (real SaudiNewsNet articles,
``_common.write_dev_jsonl``).

Writes ``results/parallel_ceiling.json``. Usage::

    python scripts/bench_parallel_ceiling.py [--rounds 3] [--synthetic FILE] [--feeds synthetic,dev]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_average, repo_root, run_info, saudinewsnet_dir, write_dev_jsonl, write_result  # noqa: E402

TARGET = 1.7
SYNTHETIC_SIZE = 100_000


def _command(feed: Path, out: Path, jobs: int) -> list[str]:
    return [sys.executable, "-m", "dedup", "dedupe", str(feed), "--out", str(out), "-q", "--no-report", "--jobs", str(jobs)]


def _run_together(commands: list[list[str]]) -> list[float]:
    """Start every command at once; the wall seconds of each, from the common start to its own end."""
    env = {**os.environ, "PYTHONPATH": str(repo_root())}
    start = time.perf_counter()
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for cmd in commands]
    walls: dict[int, float] = {}
    while len(walls) < len(procs):
        pid, status = os.wait()
        for k, p in enumerate(procs):
            if p.pid == pid:
                walls[k] = time.perf_counter() - start
                p.returncode = os.waitstatus_to_exitcode(status)
    for p, cmd in zip(procs, commands):
        err = p.stderr.read().decode(errors="replace") if p.stderr else ""
        if p.returncode != 0:
            raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{err}")
    return [walls[k] for k in range(len(procs))]


def measure(feed: Path, rounds: int, tmp: Path) -> dict[str, Any]:
    alone: list[float] = []
    pair: list[float] = []  # the slower of the two, each round
    pair_each: list[list[float]] = []
    jobs2: list[float] = []
    kinds = ["alone", "pair", "jobs2"]
    for r in range(rounds):
        order = kinds[r % 3:] + kinds[: r % 3]
        for kind in order:
            if kind == "alone":
                alone.extend(_run_together([_command(feed, tmp / "a", 1)]))
            elif kind == "pair":
                both = _run_together([_command(feed, tmp / "p1", 1), _command(feed, tmp / "p2", 1)])
                pair_each.append([round(x, 3) for x in both])
                pair.append(max(both))
            else:
                jobs2.extend(_run_together([_command(feed, tmp / "j2", 2)]))
            print(f"  round {r + 1} {kind}: {alone[-1] if kind == 'alone' else pair[-1] if kind == 'pair' else jobs2[-1]:.2f} s",
                  flush=True)
    t1, tp, t2 = statistics.median(alone), statistics.median(pair), statistics.median(jobs2)
    slowdown = tp / t1
    ceiling = 2 / slowdown
    speedup = t1 / t2
    return {
        "jobs1_alone_wall_seconds_median": round(t1, 3),
        "jobs1_alone_wall_seconds_all": [round(x, 3) for x in alone],
        "jobs1_two_at_once_wall_seconds_median": round(tp, 3),
        "jobs1_two_at_once_wall_seconds_all": pair_each,
        "two_at_once_slowdown": round(slowdown, 3),
        "ceiling_jobs2_over_jobs1": round(ceiling, 3),
        "jobs2_wall_seconds_median": round(t2, 3),
        "jobs2_wall_seconds_all": [round(x, 3) for x in jobs2],
        "jobs2_speedup_over_jobs1": round(speedup, 3),
        "speedup_share_of_ceiling": round(speedup / ceiling, 3),
        "target_speedup": TARGET,
        "target_met": speedup >= TARGET,
        "target_within_ceiling": ceiling >= TARGET,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--feeds", default="synthetic,dev", help="comma-separated: synthetic, dev")
    ap.add_argument("--synthetic", type=Path, default=None, help="a 100k synthetic feed already made (else made here)")
    ap.add_argument("--data", type=Path, default=None, help="the SaudiNewsNet folder (default ../shared/data/...)")
    args = ap.parse_args(argv)
    data = saudinewsnet_dir(args.data)
    if data is None:
        print("skipped: ../shared/data/saudinewsnet is absent (both feeds are built from it)")
        return 0
    result: dict[str, Any] = {
        "benchmark": "parallel_ceiling",
        "question": "how much faster two processes can make one dedupe run on this machine: two copies of the --jobs 1 run "
                    "at once, against one alone; and what --jobs 2 reaches of that",
        "load_average_before": load_average(),
        "feeds": {},
    }
    with tempfile.TemporaryDirectory(prefix="dedup-ceiling-") as tmp_name:
        tmp = Path(tmp_name)
        for name in [f.strip() for f in args.feeds.split(",") if f.strip()]:
            if name == "synthetic":
                feed = args.synthetic
                how = f"given: {feed}"
                if feed is None:
                    feed = tmp / "synthetic.jsonl"
                    how = f"python3 scripts/make_synthetic_feed.py --size {SYNTHETIC_SIZE} --seed 0 --out synthetic.jsonl"
                    subprocess.run([sys.executable, str(repo_root() / "scripts" / "make_synthetic_feed.py"), "--size",
                                    str(SYNTHETIC_SIZE), "--seed", "0", "--out", str(feed), "--data", str(data)], check=True)
            elif name == "dev":
                feed = tmp / "dev.jsonl"
                write_dev_jsonl(feed, data)
                how = "_common.write_dev_jsonl (the dev days of SaudiNewsNet)"
            else:
                raise SystemExit(f"unknown feed {name!r}: synthetic or dev")
            n = sum(1 for _ in open(feed, "rb"))
            print(f"{name}: {n} articles", flush=True)
            result["feeds"][name] = {"articles": n, "made_by": how, **measure(feed, args.rounds, tmp)}
    result["load_average_after"] = load_average()
    result["notes"] = (
        "two_at_once_slowdown: the median wall of the slower of two --jobs 1 runs started together, over the median "
        "wall of one alone; ceiling_jobs2_over_jobs1 = 2 / slowdown. The ceiling is of the machine as it was during "
        "the run (a virtual machine's neighbours weigh on it too), for dedup's own mix of work.")
    result["run"] = run_info()
    write_result("parallel_ceiling", result)
    for name, r in result["feeds"].items():
        print(f"{name}: --jobs 2 is {r['jobs2_speedup_over_jobs1']}x --jobs 1; two --jobs 1 runs at once are each "
              f"{r['two_at_once_slowdown']}x slower, so the ceiling is {r['ceiling_jobs2_over_jobs1']}x "
              f"(target {TARGET}x: {'met' if r['target_met'] else 'not met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
