#!/usr/bin/env python3
"""Benchmark: CPU seconds per stage of ``dedupe`` (one process), this code against a baseline commit.

Question: how much CPU does each stage of ``dedup dedupe --jobs 1`` take,
now and at a baseline commit (``--before-ref``, by default the commit before
the text-path work), on the same feeds, in the same run, and are the
decisions unchanged?

The machine is shared and loaded, so wall time is noise: each stage is timed
in CPU seconds of the process (``time.process_time``), which other processes
do not inflate much. Each measurement is one subprocess that imports ``dedup``
from one tree (``PYTHONPATH``: this repository, or the baseline's files
extracted with ``git archive`` into a temporary folder, or ``--before DIR``),
reads the feed into memory (timed apart: reading is not a stage of the text
path), runs :func:`dedup.flows.dedupe.dedupe` with the default settings and
``Runtime(n_jobs=1)``, with the stage timer's clock set to CPU time, and
prints its stage times and a SHA-256 of the decisions (status, group,
keeper, relation and the scores of every duplicate, every verified edge with
its relation and scores; the candidate pairs are let go once verified, so
only their count is in the summary).

Feeds: the SaudiNewsNet dev days (20,329 articles) and a synthetic feed
(``--synthetic FILE``, or written by ``scripts/make_synthetic_feed.py
--size --synthetic-size``, 100,000 by default). Runs are interleaved:
``--repeat`` rounds, each round running both trees on both feeds, the order
of the two trees alternating from round to round; medians per stage. The
load average is recorded before and after every run. Writes
``results/bench_text_path.json``. Usage::

    python scripts/bench_text_path.py [--repeat 3] [--before-ref REF | --before DIR] [--synthetic FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

BASELINE_REF = "e97fd10"  # the last commit before the text path was reworked (issue 16)
STAGES = ("normalize", "boilerplate", "sketch", "candidates", "verify", "cluster", "explain")


# --------------------------------------------------------------------------- the measured process
def child(feed: str) -> None:
    """Run in the subprocess: read ``feed``, dedupe it with stage CPU times, print one JSON line."""
    import types

    import numpy as np

    import dedup
    import dedup.flows.timer as timer
    from dedup.config import DedupConfig, ReadConfig
    from dedup.flows.dedupe import dedupe
    from dedup.io.readers import read_articles
    from dedup.runtime import Runtime

    timer.time = types.SimpleNamespace(perf_counter=time.process_time)  # the stage timer now counts CPU seconds
    t0 = time.process_time()
    articles, _ = read_articles([feed], ReadConfig())
    read_cpu = time.process_time() - t0
    t1, w1 = time.process_time(), time.perf_counter()
    result = dedupe(articles, DedupConfig(), runtime=Runtime(n_jobs=1))
    total_cpu, wall = time.process_time() - t1, time.perf_counter() - w1

    digest = hashlib.sha256()
    arrays = [result.status, result.group, result.keeper, result.relation, result.scores, result.pairs,
              result.pair_relation]
    ps = result.pair_scores
    arrays += [getattr(ps, name) for name in sorted(vars(ps)) if isinstance(getattr(ps, name), np.ndarray)]
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(f"{a.dtype}{a.shape}".encode())
        digest.update(a.tobytes())
    print(json.dumps({
        "dedup_file": dedup.__file__,
        "read_cpu": round(read_cpu, 3),
        "total_cpu": round(total_cpu, 3),
        "wall": round(wall, 3),
        "stages_cpu": result.timings,
        "articles": len(result.status),
        "verified_pairs": len(result.pairs) - result.copied_pairs,
        "decisions_sha256": digest.hexdigest(),
    }))


# --------------------------------------------------------------------------- the parent
def run_child(tree: Path, feed: Path) -> dict[str, Any]:
    from _common import load_average

    env = dict(os.environ, PYTHONPATH=str(tree))
    before = load_average()
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(feed)],
                          capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    if proc.returncode != 0:
        raise SystemExit(f"bench_text_path: the run on {feed} with {tree} failed:\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if not out["dedup_file"].startswith(str(tree)):
        raise SystemExit(f"bench_text_path: {tree} was asked for but {out['dedup_file']} was imported")
    out["load_average_before"], out["load_average_after"] = before, load_average()
    return out


def extract(ref: str, into: Path) -> Path:
    """The files of ``ref`` (``git archive``: the repository's state is not touched) under ``into``."""
    from _common import repo_root

    archive = into / "before.tar"
    with open(archive, "wb") as handle:
        proc = subprocess.run(["git", "archive", ref, "dedup"], cwd=repo_root(), stdout=handle, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"bench_text_path: cannot extract {ref!r} ({proc.stderr.strip()}); fetch it, or give a tree with --before DIR")
    with tarfile.open(archive) as tar:
        tar.extractall(into / "tree", filter="data")
    return into / "tree"


def median_stages(runs: list[dict[str, Any]]) -> dict[str, float]:
    keys = [s for s in STAGES if all(s in r["stages_cpu"] for r in runs)]
    out = {s: round(statistics.median(r["stages_cpu"][s] for r in runs), 3) for s in keys}
    out["text_path"] = round(sum(out[s] for s in ("normalize", "boilerplate", "sketch") if s in out), 3)
    out["total"] = round(statistics.median(r["total_cpu"] for r in runs), 3)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="rounds; medians are reported")
    ap.add_argument("--before-ref", default=BASELINE_REF, help="the baseline commit (default: %(default)s)")
    ap.add_argument("--before", type=Path, help="a tree holding the baseline's dedup/ (instead of --before-ref)")
    ap.add_argument("--synthetic", type=Path, help="a synthetic feed (default: written by make_synthetic_feed.py)")
    ap.add_argument("--synthetic-size", type=int, default=100_000)
    ap.add_argument("--no-dev", action="store_true", help="skip the dev days")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child)
        return 0

    from _common import repo_root, run_info, saudinewsnet_dir, write_dev_jsonl, write_result

    with tempfile.TemporaryDirectory(prefix="bench_text_path_") as tmpdir:
        tmp = Path(tmpdir)
        before = args.before.resolve() if args.before else extract(args.before_ref, tmp)
        trees = {"before": before, "after": repo_root()}
        feeds: dict[str, Path] = {}
        if not args.no_dev:
            if saudinewsnet_dir() is None:
                print("bench_text_path: SaudiNewsNet dev zips absent: the dev days are skipped")
            else:
                feeds["dev"] = tmp / "dev.jsonl"
                write_dev_jsonl(feeds["dev"])
        if args.synthetic:
            feeds["synthetic"] = args.synthetic
        elif saudinewsnet_dir() is not None:
            feeds["synthetic"] = tmp / "synthetic.jsonl"
            subprocess.run([sys.executable, str(repo_root() / "scripts" / "make_synthetic_feed.py"), "--size",
                            str(args.synthetic_size), "--out", str(feeds["synthetic"])], check=True)
        if not feeds:
            print("bench_text_path: no feed to measure; nothing written")
            return 0

        info = run_info()
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {f: {t: [] for t in trees} for f in feeds}
        for r in range(args.repeat):
            order = list(trees) if r % 2 == 0 else list(reversed(trees))
            for feed, path in feeds.items():
                for name in order:
                    res = run_child(trees[name], path)
                    runs[feed][name].append(res)
                    print(f"[{r + 1}/{args.repeat}] {feed} {name}: {res['total_cpu']:.2f} CPU-s "
                          f"(text path {sum(res['stages_cpu'].get(s, 0) for s in ('normalize', 'boilerplate', 'sketch')):.2f}), "
                          f"load {res['load_average_before']}", flush=True)

    results: dict[str, Any] = {}
    for feed in feeds:
        med = {name: median_stages(runs[feed][name]) for name in trees}
        digests = {r["decisions_sha256"] for name in trees for r in runs[feed][name]}
        results[feed] = {
            "articles": runs[feed]["after"][0]["articles"],
            "verified_pairs": runs[feed]["after"][0]["verified_pairs"],
            "decisions_identical": len(digests) == 1,
            "cpu_seconds_median": med,
            "after_over_before": {s: round(med["after"][s] / med["before"][s], 3)
                                  for s in med["after"] if med["before"].get(s)},
            "read_cpu_seconds_median": {name: round(statistics.median(r["read_cpu"] for r in runs[feed][name]), 3)
                                        for name in trees},
        }
    payload = {
        "benchmark": "bench_text_path",
        "question": "CPU seconds per stage of dedupe --jobs 1, this code vs the baseline commit, same run; decisions identical?",
        "config": {"repeat": args.repeat, "before": args.before_ref if args.before is None else str(args.before),
                   "synthetic_size": None if args.synthetic else args.synthetic_size,
                   "synthetic_file": str(args.synthetic) if args.synthetic else None,
                   "clock": "time.process_time of the one dedupe process; reading the feed timed apart"},
        "results": results,
        "runs": runs,
        "load_average_before": info["load_average_1_5_15"],
        "run": dict(info, load_average_after=run_info()["load_average_1_5_15"]),
    }
    write_result("bench_text_path", payload)
    for feed, res in results.items():
        print(feed, "identical decisions:", res["decisions_identical"], "after/before:", res["after_over_before"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
