#!/usr/bin/env python3
"""Stories feed by feed through a history index vs one batch over all feeds: do the events agree?

Issue 13 asks that ``dedup stories FEED --index LOCATION`` attach each feed's
reports to the events the index tracks, so that an event keeps one id from
its first report to its last. Here the feeds are the SaudiNewsNet dev days
(one per zip, in order; skipped when ``../shared/data`` is absent) and,
with ``--synthetic``, consecutive slices of a synthetic feed. Each feed runs
through ``dedup.flows.stories.stories(..., index=)`` on a fresh SQLite index;
at checkpoints k, feed k's articles are compared with one batch over feeds
1..k (what was known when feed k came: a batch over all feeds also knows the
copies and boilerplate of later feeds, which no feed-by-feed run can), and
every feed with one batch over all of them. Compared per article: the id of
its event. Every difference is classified:

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


def _classify(a, batch_event: str, feed_event: str, members: dict[str, set[int]], newest_before: float) -> str:
    t = timestamp(a.date)
    if t == t and t < newest_before:
        return "late"
    if len(members.get(batch_event, ())) > 1 or len(members.get(feed_event, ())) > 1:
        return "event_spans_feeds"
    return "other"


def compare(feeds: list[list], name: str, tmp: Path, checkpoints: list[int]) -> dict:
    """Feed k through the index vs one batch over feeds 1..k (what was known when feed k came), at ``checkpoints``;
    and every feed against one batch over all of them (which also knows the future: copies and boilerplate of later
    feeds)."""
    config, dcfg, runtime = StoriesConfig(), DedupConfig(), Runtime(n_jobs=2)
    loc = str(tmp / f"{name}.db")
    daily: dict[str, str] = {}
    per_feed = []
    t0 = time.perf_counter()
    for k, feed in enumerate(feeds):
        index = open_index(loc, dcfg)
        try:
            t1 = time.perf_counter()
            res = stories(feed, config, dcfg, runtime=runtime, index=index)
            daily.update(_events(res))
            _, blob = index.stories.load()
            per_feed.append({"feed": k + 1, "articles": len(feed), "seconds": round(time.perf_counter() - t1, 2),
                             **res.tracking, "state_bytes": len(blob or b"")})
        finally:
            index.close()
    daily_s = time.perf_counter() - t0
    feed_of = {a.id: k for k, f in enumerate(feeds) for a in f}
    newest_before, newest = [], float("-inf")
    for f in feeds:
        newest_before.append(newest)
        newest = max([newest, *(t for t in (timestamp(a.date) for a in f) if t == t)])

    def against(batch: dict[str, str], which: list[int]) -> tuple[dict, list[dict]]:
        members: dict[str, set[int]] = {}
        for i, e in batch.items():
            members.setdefault(e, set()).add(feed_of[i])
        diffs = [{"id": a.id, "feed": k + 1, "batch_event": batch[a.id], "feed_event": daily[a.id],
                  "kind": _classify(a, batch[a.id], daily[a.id], members, newest_before[k])}
                 for k in which for a in feeds[k] if batch[a.id] != daily[a.id]]
        ids = {a.id for k in which for a in feeds[k]}
        tp, fp, fn = pair_counts({i: daily[i] for i in ids}, {i: batch[i] for i in ids})
        kinds: dict[str, int] = {}
        for d in diffs:
            kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
        n = len(ids)
        return {"articles": n, "event_id_differences": len(diffs), "event_id_agreement": round(1 - len(diffs) / n, 6) if n else None,
                "differences_by_kind": dict(sorted(kinds.items())), "same_event_pairs": prf_counts(tp, fp, fn)}, diffs

    known, listed = [], []
    t0 = time.perf_counter()
    for k in checkpoints:
        batch = _events(stories([a for f in feeds[:k] for a in f], config, dcfg, runtime=runtime))
        summary, diffs = against(batch, [k - 1])
        known.append({"feed": k, **summary})
        listed += diffs[:10]
    known_s = time.perf_counter() - t0
    whole, _ = against(_events(stories([a for f in feeds for a in f], config, dcfg, runtime=runtime)), list(range(len(feeds))))
    total = {key: sum(c[key] for c in known) for key in ("articles", "event_id_differences")}
    return {
        "feed": name,
        "feeds": len(feeds),
        "articles": sum(len(f) for f in feeds),
        "late_articles": sum(1 for k, f in enumerate(feeds) for a in f if (t := timestamp(a.date)) == t and t < newest_before[k]),
        "comparison": "feed k through one SQLite index (stories --index) vs one batch over feeds 1..k, for the checkpoint k",
        "at_checkpoints": {**total, "event_id_agreement": round(1 - total["event_id_differences"] / total["articles"], 6)
                           if total["articles"] else None},
        "per_checkpoint": known,
        "against_one_batch_over_all_feeds": whole,
        "feed_by_feed_seconds": round(daily_s, 1),
        "checkpoint_batches_seconds": round(known_s, 1),
        "largest_state_bytes": max((p["state_bytes"] for p in per_feed), default=0),
        "per_feed": per_feed,
        "differences_listed": listed[:60],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--synthetic", type=Path, help="a feed from scripts/make_synthetic_feed.py")
    parser.add_argument("--synthetic-articles", type=int, default=20_000, help="first N lines of it")
    parser.add_argument("--synthetic-feeds", type=int, default=4)
    parser.add_argument("--checkpoints", type=int, nargs="*", help="dev feeds k compared with a batch over feeds 1..k")
    args = parser.parse_args(argv)
    out = []
    with tempfile.TemporaryDirectory(prefix="dedup-stories-equiv-") as tmp:
        folder = saudinewsnet_dir()
        if folder is not None:
            feeds = [read_articles([str(z)])[0] for z in sorted(folder.glob("*.zip"))]
            out.append(compare(feeds, "saudinewsnet-dev-days", Path(tmp), args.checkpoints or [2, 3, 5, 8, 12]))
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
            arts.sort(key=lambda a: timestamp(a.date))  # a desk's feeds come day by day: slices in date order
            size = -(-len(arts) // args.synthetic_feeds)
            feeds = [arts[i:i + size] for i in range(0, len(arts), size)]
            out.append(compare(feeds, f"synthetic-{len(arts)}", Path(tmp), list(range(2, len(feeds) + 1))))
            print(json.dumps({k: v for k, v in out[-1].items() if not k.endswith("_listed")}))
    if not out:
        return 0
    write_result("stories_index_equivalence", {"run": run_info(), "feeds": out})
    return 0


if __name__ == "__main__":
    sys.exit(main())
