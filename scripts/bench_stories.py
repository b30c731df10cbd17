"""Time `stories` (dedupe + events + storylines) on the SaudiNewsNet dev days; writes results/bench_stories.json.

The target is clustering the ~20k dev articles in <= 60 s on this machine.
Timings are per stage, from the orchestrator; the baseline measured in the
same run is ``dedupe`` alone (the core), so the cost of stories is a ratio.

Usage: ``python scripts/bench_stories.py [--data DIR]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_saudinewsnet, run_info, saudinewsnet_dir, write_result  # noqa: E402

from dedup.config import StoriesConfig  # noqa: E402
from dedup.pipeline import stories  # noqa: E402
from dedup.types import Article  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="folder of SaudiNewsNet dev zips (default ../shared/data/saudinewsnet/dataset)")
    args = ap.parse_args(argv)
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


if __name__ == "__main__":
    main()
