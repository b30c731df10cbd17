#!/usr/bin/env python3
"""Stories feed by feed through a history index vs one batch over all feeds: do the events agree?

Issue 13 asks that ``dedup stories FEED --index LOCATION`` attach each feed's
reports to the events the index tracks, so that an event keeps one id from
its first report to its last. Here the feeds are the SaudiNewsNet dev days
(one per zip, in order; skipped when ``../shared/data`` is absent) and,
with ``--synthetic``, consecutive slices of a synthetic feed. Each feed runs
through ``dedup.flows.stories.stories(..., index=)`` on a fresh SQLite index;
the same articles run once as one batch. Compared per article: the id of its
event. Every difference is classified:

* ``late``: the article is dated before the newest article of an earlier feed
  (a batch places it in time order; a later feed can only place it after
  everything already seen);
* ``event_spans_feeds``: its batch event has members in more than one feed
  (copies of one group in two feeds reserve their span only within a feed:
  :func:`dedup.stories.events.copy_reach` sees one feed at a time);
* ``other``.

Also: pairwise precision/recall of the feed-by-feed events against the batch
events (``dedup.eval.metrics.pair_counts``), seconds, and the size of the
state the index carries. Writes ``results/stories_index_equivalence.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import run_info, saudinewsnet_dir, write_result  # noqa: E402

from dedup.config import DedupConfig, StoriesConfig  # noqa: E402
from dedup.eval.metrics import pair_counts, prf_counts  # noqa: E402
from dedup.flows.stories import stories  # noqa: E402
from dedup.io.readers import read_articles  # noqa: E402
from dedup.runtime import Runtime  # noqa: E402
from dedup.store.history import open_index  # noqa: E402
from dedup.types import timestamp  # noqa: E402


def _events(result) -> dict[str, str]:
    return {a.id: result.name(int(result.event[p])) for p, a in enumerate(result.articles)}


def compare(feeds: list[list], name: str, tmp: Path) -> dict:
    config, dcfg, runtime = StoriesConfig(), DedupConfig(), Runtime(n_jobs=2)
    t0 = time.perf_counter()
    batch = _events(stories([a for f in feeds for a in f], config, dcfg, runtime=runtime))
    batch_s = time.perf_counter() - t0
    loc = str(tmp / f"{name}.db")
    daily: dict[str, str] = {}
    per_feed, state_bytes = [], []
    t0 = time.perf_counter()
    for k, feed in enumerate(feeds):
        index = open_index(loc, dcfg)
        try:
            t1 = time.perf_counter()
            res = stories(feed, config, dcfg, runtime=runtime, index=index)
            daily.update(_events(res))
            _, blob = index.stories.load()
            state_bytes.append(len(blob or b""))
            per_feed.append({"feed": k + 1, "articles": len(feed), "seconds": round(time.perf_counter() - t1, 2),
                             **res.tracking, "state_bytes": len(blob or b"")})
        finally:
            index.close()
    daily_s = time.perf_counter() - t0
    feed_of = {a.id: k for k, f in enumerate(feeds) for a in f}
    newest_before, newest = [], float("-inf")
    for f in feeds:
        newest_before.append(newest)
        times = [timestamp(a.date) for a in f]
        newest = max([newest, *(t for t in times if t == t)])
    members: dict[str, set[int]] = {}
    for i, e in batch.items():
        members.setdefault(e, set()).add(feed_of[i])
    diffs = []
    for f_k, f in enumerate(feeds):
        for a in f:
            if batch[a.id] == daily[a.id]:
                continue
            t = timestamp(a.date)
            kind = ("late" if t == t and t < newest_before[f_k] else
                    "event_spans_feeds" if len(members[batch[a.id]]) > 1 or len(members.get(daily[a.id], ())) > 1 else "other")
            diffs.append({"id": a.id, "feed": f_k + 1, "batch_event": batch[a.id], "feed_event": daily[a.id], "kind": kind})
    tp, fp, fn = pair_counts(daily, batch)
    kinds: dict[str, int] = {}
    for d in diffs:
        kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
    n = len(batch)
    return {
        "feed": name,
        "feeds": len(feeds),
        "articles": n,
        "comparison": "each feed through one SQLite index (stories --index) vs one batch over all feeds",
        "event_id_differences": len(diffs),
        "event_id_agreement": round(1 - len(diffs) / n, 6) if n else None,
        "differences_by_kind": dict(sorted(kinds.items())),
        "late_articles": sum(1 for k, f in enumerate(feeds) for a in f
                             if (t := timestamp(a.date)) == t and t < newest_before[k]),
        "same_event_pairs_vs_batch": prf_counts(tp, fp, fn),
        "batch_seconds": round(batch_s, 1),
        "feed_by_feed_seconds": round(daily_s, 1),
        "largest_state_bytes": max(state_bytes, default=0),
        "per_feed": per_feed,
        "differences_listed": diffs[:60],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--synthetic", type=Path, help="a feed from scripts/make_synthetic_feed.py")
    parser.add_argument("--synthetic-articles", type=int, default=20_000, help="first N lines of it")
    parser.add_argument("--synthetic-feeds", type=int, default=4)
    args = parser.parse_args(argv)
    out = []
    with tempfile.TemporaryDirectory(prefix="dedup-stories-equiv-") as tmp:
        folder = saudinewsnet_dir()
        if folder is not None:
            feeds = [read_articles([str(z)])[0] for z in sorted(folder.glob("*.zip"))]
            out.append(compare(feeds, "saudinewsnet-dev-days", Path(tmp)))
            print(json.dumps({k: v for k, v in out[-1].items() if not k.endswith("_listed")}))
        else:
            print("SaudiNewsNet dev days absent: skipped", file=sys.stderr)
        if args.synthetic is not None:
            part = Path(tmp) / "synthetic.jsonl"
            with open(args.synthetic, encoding="utf-8") as src, open(part, "w", encoding="utf-8") as dst:
                for k, line in enumerate(src):
                    if k >= args.synthetic_articles:
                        break
                    dst.write(line)
            arts, _ = read_articles([str(part)])
            size = -(-len(arts) // args.synthetic_feeds)
            out.append(compare([arts[i:i + size] for i in range(0, len(arts), size)], f"synthetic-{len(arts)}", Path(tmp)))
            print(json.dumps({k: v for k, v in out[-1].items() if not k.endswith("_listed")}))
    if not out:
        return 0
    write_result("stories_index_equivalence", {"run": run_info(), "feeds": out})
    return 0


if __name__ == "__main__":
    sys.exit(main())
