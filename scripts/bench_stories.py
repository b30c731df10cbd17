"""Time `stories` (dedupe + events + storylines) on the SaudiNewsNet dev days; writes results/bench_stories.json.

The target is clustering the ~20k dev articles in <= 60 s on this machine.
Timings are per stage, from the orchestrator; the baseline measured in the
same run is ``dedupe`` alone (the core), so the cost of stories is a ratio.

With ``--sizes`` it also runs ``dedup stories`` as a child process on
synthetic feeds of those sizes (``scripts/make_synthetic_feed.py``: real dev
text, ~30 % injected copies) and writes results/bench_stories_scale.json:
wall time, the child's own peak RSS (``VmHWM``), stage timings, and the
dev-day run of the same benchmark as the baseline (seconds per 1k articles
against the 20k dev run), so growth is a ratio measured in one run.

With ``--feeds`` it times ``dedup stories`` (a child process, ``--jobs``)
on given feed files instead, e.g. slices of a dense synthetic feed
(``make_synthetic_feed.py --period-days 1``: a million articles over seven
weeks, up to ~29k a day) and of a sparse one (the default 15 days a
generation, ~2k a day), and writes results/bench_stories_feeds.json: wall
time, peak RSS, stage timings, articles per day, and what the measured rate
per article would give for 1M articles (a projection, labelled so: the cost
per article of the event stage depends on how many articles a day holds,
not on the feed's length, since only the open window is held). ``--name``
gives the result another name, so that a feed of another kind (the large
copy families of ``make_synthetic_feed.py --families 10,100``, say) keeps
its own result beside the dense one.

Usage: ``python scripts/bench_stories.py [--data DIR] [--sizes 20000,50000,100000] [--feeds A.jsonl,B.jsonl --jobs 2]``
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_saudinewsnet, repo_root, run_info, saudinewsnet_dir, write_result  # noqa: E402
from bench_scale import run_cli  # noqa: E402
from make_synthetic_feed import DevCorpus, generate  # noqa: E402

from dedup.config import StoriesConfig  # noqa: E402
from dedup.flows.stories import stories  # noqa: E402
from dedup.types import Article  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="folder of SaudiNewsNet dev zips (default ../shared/data/saudinewsnet/dataset)")
    ap.add_argument("--sizes", default="", help="comma-separated synthetic feed sizes for the scale run (none by default)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before a scale run is stopped")
    ap.add_argument("--tmp", help="folder for the synthetic feeds (outside the repository; default: the system's)")
    ap.add_argument("--feeds", default="", help="comma-separated feed files to time instead (see the module docstring)")
    ap.add_argument("--jobs", type=int, default=2, help="--jobs of the timed runs on --feeds")
    ap.add_argument("--note", action="append", default=[], help="how a --feeds file was made (recorded with the result; repeatable)")
    ap.add_argument("--name", default="bench_stories_feeds", help="with --feeds: results/NAME.json (default: bench_stories_feeds), "
                    "so that a second kind of feed keeps its own result beside the first")
    args = ap.parse_args(argv)
    if args.feeds:
        feeds([Path(f) for f in args.feeds.split(",") if f.strip()], args)
        return
    folder = saudinewsnet_dir(args.data)
    if folder is None:
        print("SaudiNewsNet dev zips not found; nothing to benchmark")
        return
    docs = load_saudinewsnet(folder)
    arts = [Article(id=d["url"], text=d["content"], title=d["title"], date=d["date_extracted"], source=d["source"]) for d in docs]
    config = StoriesConfig()
    t = time.perf_counter()
    res = stories(arts, config)
    total = time.perf_counter() - t
    ev = np.bincount(res.event, minlength=len(arts))
    sl = np.bincount(res.storyline, minlength=len(arts))
    dedupe_s = sum(v for k, v in res.timings.items() if k.startswith("dedupe."))
    payload = {
        "run": run_info(),
        "articles": len(arts),
        "seconds_total": round(total, 2),
        "seconds_dedupe_baseline": round(dedupe_s, 2),
        "seconds_events_and_storylines": round(total - dedupe_s, 2),
        "ratio_total_to_dedupe": round(total / max(dedupe_s, 1e-9), 2),
        "target_seconds": 60,
        "meets_target": total <= 60,
        "timings": res.timings,
        "candidate_pairs": int(len(res.pairs)),
        "events": int((ev > 0).sum()),
        "multi_article_events": int((ev > 1).sum()),
        "largest_event": int(ev.max()) if len(ev) else 0,
        "storylines": int((sl > 0).sum()),
        "largest_storyline": int(sl.max()) if len(sl) else 0,
        "config": {k: v for k, v in config.__dict__.items() if k != "normalize"},
    }
    print({k: payload[k] for k in ("articles", "seconds_total", "seconds_dedupe_baseline", "events", "storylines")})
    write_result("bench_stories", payload)
    if args.sizes:
        scale(folder, sorted({int(x) for x in args.sizes.split(",") if x.strip()}), payload, args)


def scale(folder: Path, sizes: list[int], dev: dict, args: argparse.Namespace) -> None:
    """``dedup stories`` on synthetic feeds of ``sizes`` articles, each in a child process."""
    work = Path(tempfile.mkdtemp(prefix="bench_stories_", dir=args.tmp)).resolve()
    if repo_root() in work.parents:
        raise SystemExit("--tmp must be outside the repository (the feeds hold dev text)")
    corpus = DevCorpus(load_saudinewsnet(folder), 0)
    dev_per_1k = dev["seconds_total"] / (dev["articles"] / 1000)
    runs = []
    try:
        for size in sizes:
            feed, out = work / f"feed_{size}.jsonl", work / f"out_{size}"
            generate(size, feed, folder, 0, corpus=corpus)
            run = run_cli("stories", feed, out, args.timeout, rss_guard_mib=20 * 1024)
            run.pop("rss_timeline_mib", None)
            entry = {"size": size, **run}
            if run["status"] == "ok":
                entry["seconds_per_1k_articles"] = round(run["wall_seconds"] / (size / 1000), 3)
                entry["per_1k_ratio_to_dev_run"] = round(entry["seconds_per_1k_articles"] / dev_per_1k, 2)
            print(f"[{size}] {run['status']}: {run['wall_seconds']} s, peak RSS {run['peak_rss_mib']:.0f} MiB", flush=True)
            runs.append(entry)
            shutil.rmtree(out, ignore_errors=True)
            feed.unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ok = [r for r in runs if r["status"] == "ok"]
    growth = None
    if len(ok) >= 2:
        a, b = ok[0], ok[-1]
        growth = round(float(np.log(b["wall_seconds"] / a["wall_seconds"]) / np.log(b["size"] / a["size"])), 3)
    write_result("bench_stories_scale", {
        "run": run_info(),
        "question": "how `dedup stories` grows with the feed (it holds the feed in memory)",
        "baseline": {"dev_articles": dev["articles"], "dev_seconds_in_process": dev["seconds_total"],
                     "dev_seconds_per_1k_articles": round(dev_per_1k, 3)},
        "time_exponent_first_to_last": growth,
        "runs": runs,
        "notes": ["feeds: scripts/make_synthetic_feed.py, seed 0 (real dev text, ~30 % injected copies)",
                  "peak RSS: the child's VmHWM at exit; wall time includes start-up, reading and writing the four outputs"],
    })


def _days(feed: Path) -> dict[str, int]:
    """Articles per UTC day of a JSONL feed (its ``date`` field)."""
    import json
    from collections import Counter

    per: Counter[str] = Counter()
    with open(feed, encoding="utf-8") as f:
        for line in f:
            per[str(json.loads(line).get("date") or "")[:10]] += 1
    return dict(sorted(per.items()))


def feeds(paths: list[Path], args: argparse.Namespace) -> None:
    """``dedup stories`` on each feed file, in a child process; one result file for all."""
    runs = []
    work = Path(tempfile.mkdtemp(prefix="bench_stories_", dir=args.tmp)).resolve()
    try:
        for feed in paths:
            days = _days(feed)
            n = sum(days.values())
            out = work / f"out_{feed.stem}"
            run = run_cli("stories", feed, out, args.timeout, rss_guard_mib=20 * 1024, extra=("--jobs", str(args.jobs)))
            run.pop("rss_timeline_mib", None)
            entry = {"feed": feed.name, "articles": n, "days": len(days), "max_articles_a_day": max(days.values()),
                     "median_articles_a_day": int(np.median(list(days.values()))), "jobs": args.jobs, **run}
            if run["status"] == "ok":
                per = run["wall_seconds"] / n
                entry["seconds_per_1k_articles"] = round(1000 * per, 3)
                entry["memory_gib"] = round(max(run["peak_rss_mib"], run.get("tree_peak_pss_mib", 0.0)) / 1024, 2)
                if n >= 1_000_000:  # the target itself, measured: time, and memory with the workers counted
                    entry["meets_1m_target"] = {"seconds": run["wall_seconds"] <= 1200, "memory": entry["memory_gib"] <= 4}
                else:
                    entry["projected_seconds_for_1m_at_this_density"] = round(1_000_000 * per)
            print(f"[{feed.name}] {run['status']}: {run['wall_seconds']} s, peak RSS {run['peak_rss_mib']:.0f} MiB", flush=True)
            runs.append(entry)
            shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_result(args.name, {
        "run": run_info(),
        "question": "what `dedup stories` costs per article at the density of a sparse and of a dense feed",
        "targets": {"1m_seconds": 1200, "1m_peak_gib": 4},
        "runs": runs,
        "feeds_made_by": args.note,
        "notes": ["projected_seconds_for_1m_at_this_density is the measured rate times 1M, not a measurement; a feed of "
                  "1M articles or more is the target itself, measured (meets_1m_target)",
                  "peak RSS: the child's VmHWM at exit; tree_peak_pss_mib: the child and its workers, sampled; memory_gib: "
                  "the larger of the two; wall time includes start-up, reading and writing the four outputs"],
    })


if __name__ == "__main__":
    main()
