#!/usr/bin/env python3
"""Latency of ``POST /v1/articles`` while ``dedup serve --stories-every`` places articles into events.

Question: does a batch posted while the service places articles into events
wait for the pass? Steps (loopback only; every server is stopped at the end):

1. An SQLite index is seeded with the first ``--seed-days`` dev days by
   ``dedup stories --index`` (so the tracker carries a real window: ~74 MB
   of state after three dev days).
2. For each server, on a fresh copy of that index: ``dedup serve
   --stories-every S`` (``--baseline-src DIR``: the package found there, e.g.
   ``git archive COMMIT dedup | tar -x -C DIR``, its commit in
   ``DIR/BASELINE_COMMIT``; then this tree; and this tree without
   ``--stories-every``, the latency of the batches alone). One client posts
   the next dev day in batches of ``--batch``, one after another with
   ``--pause`` seconds between them, so that passes run while batches arrive.
   Rounds alternate the servers (``--rounds``): the machine is shared.
3. Per server: every batch's latency (p50, p90, p99, max), and once the
   posting is over and one more pass has had time to run, how many of the
   posted articles ``GET /v1/articles/{id}`` names an event for.

Writes ``results/serve_placing.json``. Skips cleanly (exit 0) when the
SaudiNewsNet data is absent.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load_average, run_info, saudinewsnet_dir, write_dev_jsonl, write_result  # noqa: E402
from serve_load import Server, _id, _percentile  # noqa: E402


def _days(feed: Path) -> dict[str, list[dict]]:
    days: dict[str, list[dict]] = defaultdict(list)
    seen: set[str] = set()
    with open(feed, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if _id(rec) in seen:  # a repeated id in one batch fails the batch
                continue
            seen.add(_id(rec))
            days[str(rec.get("date_extracted") or rec.get("date") or "")[:10]].append(rec)
    return dict(sorted(days.items()))


def _post_day(server: Server, records: list[dict], batch: int, pause: float, settle: float) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    failed = 0
    with httpx.Client(headers=server.headers, timeout=300) as client:
        for lo in range(0, len(records), batch):
            t0 = time.perf_counter()
            r = client.post(server.url + "/v1/articles", json=records[lo:lo + batch])
            latencies.append(time.perf_counter() - t0)
            failed += r.status_code != 200
            time.sleep(pause)
        time.sleep(settle)  # the last articles' pass
        ids = [_id(r) for r in records]
        placed = sum(1 for i in ids if client.get(f"{server.url}/v1/articles/{quote(i, safe='/')}").json().get("event"))
    return {"batches": len(latencies), "failed": failed, "latencies": [round(x, 4) for x in latencies],
            "placed": placed, "articles": len(ids)}


def _summary(runs: list[dict]) -> dict[str, Any]:
    lat = [x for r in runs for x in r["latencies"]]
    return {"batches": len(lat), "failed": sum(r["failed"] for r in runs),
            "latency_seconds": {"p50": _percentile(lat, 0.5), "p90": _percentile(lat, 0.9), "p99": _percentile(lat, 0.99),
                                "max": round(max(lat), 4) if lat else None},
            "placed_of_posted": [f"{r['placed']}/{r['articles']}" for r in runs]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="folder of the SaudiNewsNet zips (default ../shared/data/saudinewsnet/dataset)")
    ap.add_argument("--seed-days", type=int, default=3, help="dev days tracked in the index before the service starts")
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--pause", type=float, default=0.2, help="seconds between one answer and the next post")
    ap.add_argument("--every", type=float, default=2.0, help="--stories-every of the servers")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--baseline-src", type=Path, default=None, help="a folder holding another version's `dedup` package")
    args = ap.parse_args(argv)
    if saudinewsnet_dir(args.data) is None:
        print("SaudiNewsNet data is absent (../shared/data/saudinewsnet); nothing to measure.")
        return 0
    servers: list[tuple[str, Path | None, list[str]]] = []
    if args.baseline_src is not None:
        servers.append(("baseline_placing", args.baseline_src.resolve(), ["--stories-every", str(args.every)]))
    servers += [("this_placing", None, ["--stories-every", str(args.every)]), ("this_without_placing", None, [])]
    baseline_commit = None
    if args.baseline_src is not None and (args.baseline_src / "BASELINE_COMMIT").exists():
        baseline_commit = (args.baseline_src / "BASELINE_COMMIT").read_text(encoding="utf-8").strip()
    with tempfile.TemporaryDirectory(prefix="dedup-placing-") as tmp:
        work = Path(tmp)
        feed = work / "dev.jsonl"
        write_dev_jsonl(str(feed), args.data)
        days = list(_days(feed).values())
        seeded, posted = [r for d in days[:args.seed_days] for r in d], days[args.seed_days]
        (work / "seed.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in seeded), encoding="utf-8")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "dedup", "stories", str(work / "seed.jsonl"), "--out", str(work / "seed-out"),
                        "--index", str(work / "seed.db"), "-q"], check=True)
        seed_seconds = time.perf_counter() - t0
        runs: dict[str, list[dict]] = defaultdict(list)
        for rnd in range(args.rounds):
            for name, src, options in servers:
                folder = work / f"{name}-{rnd}"
                folder.mkdir()
                shutil.copy(work / "seed.db", folder / "h.db")
                server = Server(folder / "h.db", "placing-token", folder, options, src)
                server.start()
                try:
                    run = _post_day(server, posted, args.batch, args.pause, settle=2 * args.every + 10 if options else 0)
                finally:
                    server.stop()
                run["load_average_after"] = load_average()
                runs[name].append(run)
                s = _summary([run])
                print(f"round {rnd} {name}: p50 {s['latency_seconds']['p50']} s, max {s['latency_seconds']['max']} s, "
                      f"placed {run['placed']}/{run['articles']}", flush=True)
    report = {
        "run": run_info(),
        "question": "does a batch posted while `dedup serve --stories-every` places articles into events wait for the pass?",
        "setup": {"seeded_days": args.seed_days, "seeded_articles": len(seeded), "seed_seconds": round(seed_seconds, 1),
                  "posted_articles": len(posted), "batch": args.batch, "pause_seconds": args.pause,
                  "stories_every_seconds": args.every, "rounds": args.rounds, "clients": 1,
                  "baseline_commit": baseline_commit},
        "servers": {name: _summary(rs) for name, rs in runs.items()},
        "runs": runs,
        "note": "placed_of_posted: articles whose stored record names an event after the posting and one more pass "
                "(without --stories-every none are placed). Latencies include HTTP on loopback.",
    }
    out = write_result("serve_placing", report)
    print(json.dumps(report["servers"], indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
