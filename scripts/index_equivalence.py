#!/usr/bin/env python3
"""Day by day through a history index vs one batch over all days: do the decisions agree?

Issue 13 asks that deduplicating day 2 against an index holding day 1 give the
same statuses for day-2 articles as one batch run over both days, and that any
difference be stated and explained. For each feed:

* the feed is cut into days (the SaudiNewsNet dev days: one per zip; the
  synthetic feed: consecutive slices, in its date order);
* ``dedup dedupe`` (the library call, default settings) runs once over all of
  it, and once per day against a fresh SQLite index (``--index``);
* every article's status and keeper are compared; each difference is listed
  with both decisions, so it can be read and explained.

Inputs: the dev zips in ``../shared/data`` (skipped when absent) and a
synthetic feed written by ``scripts/make_synthetic_feed.py`` (``--synthetic``).
Writes ``results/index_equivalence.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import run_info, saudinewsnet_dir, write_result  # noqa: E402

from dedup.config import DedupConfig  # noqa: E402
from dedup.flows.dedupe import dedupe  # noqa: E402
from dedup.io.dedupe_rows import decision_rows  # noqa: E402
from dedup.io.readers import read_articles  # noqa: E402
from dedup.runtime import Runtime  # noqa: E402
from dedup.store.history import open_index  # noqa: E402


def _decide(articles: list, config: DedupConfig, edges: set | None = None) -> dict[str, dict]:
    """The batch's decision rows by id; with ``edges``, its verified edges are added to it (as id pairs, both ways)."""
    res = dedupe(articles, config, runtime=Runtime(n_jobs=2))
    if edges is not None:
        ids = res.table.ids
        n = len(ids)
        for i, j in res.pairs.tolist():
            if i < n and j < n:
                edges.update({(ids[i], ids[j]), (ids[j], ids[i])})
    return {r["id"]: r for r in decision_rows(res)}


def _why(diffs: list[dict], articles: list, batch: dict[str, dict], daily: dict[str, dict], edges: set, today: set,
         config: DedupConfig) -> None:
    """Say of each difference no changed earlier decision explains what the batch over days 1..k made of the pair the
    two runs disagree on (``diffs[i]["pair_in_the_batch"]``): its learned probability there (the batch's boilerplate
    and IDF come from days 1..k, the day's run's from the day and the history), whether the batch verified it, and
    the other article's status in each run."""
    from dedup.flows.dedupe import pair_features
    from dedup.verify.decision import KNOWN, load_model

    todo = [d for d in diffs if not d["earlier_decision_changed_by_the_batch"]]
    if not todo:
        return
    pos = {a.id: k for k, a in enumerate(articles)}
    other = [d["index"]["duplicate_of"] or d["batch"]["duplicate_of"] for d in todo]
    pairs = [[pos[d["id"]], pos[o]] for d, o in zip(todo, other)]
    scores, x, compared = pair_features(articles, pairs, config)
    model = load_model(config.verify.model)
    prob = model.probability(x[:, [KNOWN.index(f) for f in model.features]])
    for d, o, p, ok, exact in zip(todo, other, prob.tolist(), compared.tolist(), scores.exact.tolist()):
        verified = (d["id"], o) in edges
        copy = bool(ok and (exact or p >= model.threshold))
        if d["index"]["status"] == "duplicate":  # the batch kept it apart
            kind = ("verified as copies in the batch, grouped otherwise there" if verified
                    else "copies by the batch's scores, not one of its candidates" if copy
                    else "under the threshold with the batch's scores")
        else:
            kind = "a pair within the day" if o in today else "verified in the batch, not by the day's run against the stored article"
        d["pair_in_the_batch"] = {"other": o, "probability": round(float(p), 4) if ok else None, "verified": verified,
                                  "kind": kind, "other_status": {"batch": batch[o]["status"], "index": daily[o]["status"]}}


def _entry(a_id: str, b: dict, x: dict) -> dict:
    keys = ("status", "duplicate_of", "relation", "scores")
    return {"id": a_id, "batch": {k: b[k] for k in keys}, "index": {k: x[k] for k in keys}}


def compare(days: list[list], name: str, tmp: Path) -> dict:
    """Day ``k`` through the index vs one batch over days ``1..k`` (the issue's comparison), for every k."""
    config = DedupConfig()
    loc = str(tmp / f"{name}.db")
    daily: dict[str, dict] = {}
    t0 = time.perf_counter()
    for d in days:
        idx = open_index(loc, config)
        try:
            daily.update({r["id"]: r for r in decision_rows(dedupe(d, config, runtime=Runtime(n_jobs=2), index=idx))})
        finally:
            idx.close()
    daily_s = time.perf_counter() - t0
    members_of: dict[str, list[str]] = {}  # the day-by-day groups: keeper -> its duplicates
    for i, r in daily.items():
        if r["duplicate_of"] is not None:
            members_of.setdefault(r["duplicate_of"], []).append(i)
    status_diff, keeper_diff, per_day = [], [], []
    for k in range(1, len(days)):
        upto = [a for d in days[: k + 1] for a in d]
        edges: set = set()
        batch = _decide(upto, config, edges)
        diffs = 0
        first_diff = len(status_diff)
        today = {y.id for y in days[k]}
        for a in days[k]:
            b, x = batch[a.id], daily[a.id]
            if b["status"] != x["status"]:
                # an earlier article involved (either run's keeper, or an earlier member of its group: the item
                # family a stored roundup keeps) whose stored decision the batch over days 1..k changed: a stored
                # decision never changes, so the day's follows
                keepers = {i for i in (b["duplicate_of"], x["duplicate_of"]) if i is not None and i not in today}
                involved = keepers | {m for i in keepers for m in members_of.get(i, ()) if m in batch and m not in today}
                changed = sorted(i for i in involved if batch[i]["status"] != daily[i]["status"]
                                 or batch[i]["duplicate_of"] != daily[i]["duplicate_of"])
                status_diff.append({"day": k + 1, **_entry(a.id, b, x), "earlier_decision_changed_by_the_batch": changed})
                diffs += 1
            elif b["duplicate_of"] != x["duplicate_of"]:
                keeper_diff.append({"day": k + 1, **_entry(a.id, b, x)})
        _why(status_diff[first_diff:], upto, batch, daily, edges, today, config)
        per_day.append({"day": k + 1, "articles": len(days[k]), "status_differences": diffs})
    # and against one batch over every day: later days can change an earlier day's decision there
    # (a later container takes in an earlier item), which no day-by-day run can foresee
    whole = _decide([a for d in days for a in d], config)
    day_of = {a.id: k for k, d in enumerate(days) for a in d}
    future = sum(1 for d in days for a in d
                 if whole[a.id]["status"] != daily[a.id]["status"]
                 and (whole[a.id]["duplicate_of"] is not None and day_of.get(whole[a.id]["duplicate_of"], -1) > day_of[a.id]))
    later = sum(len(d) for d in days[1:])
    return {
        "feed": name,
        "days": len(days),
        "articles": sum(len(d) for d in days),
        "articles_after_day_1": later,
        "comparison": "day k through the index vs one batch over days 1..k, for each k >= 2",
        "status_differences": len(status_diff),
        "explained_by_an_earlier_decision_the_batch_changed": sum(bool(d["earlier_decision_changed_by_the_batch"]) for d in status_diff),
        "the_others_by_what_the_batch_made_of_the_pair": dict(Counter(d["pair_in_the_batch"]["kind"] for d in status_diff
                                                                      if "pair_in_the_batch" in d)),
        "status_agreement": round(1 - len(status_diff) / later, 6) if later else None,
        "same_status_other_keeper": len(keeper_diff),
        "per_day": per_day,
        "against_one_batch_over_all_days": {
            "status_differences": sum(whole[i]["status"] != daily[i]["status"] for i in daily),
            "of_which_the_batch_keeper_is_from_a_later_day": future,
        },
        "day_by_day_seconds": round(daily_s, 1),
        "status_differences_listed": status_diff[:60],
        "keeper_differences_listed": keeper_diff[:30],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--synthetic", type=Path, help="a feed from scripts/make_synthetic_feed.py")
    parser.add_argument("--synthetic-articles", type=int, default=40_000, help="first N lines of it")
    parser.add_argument("--synthetic-days", type=int, default=4)
    args = parser.parse_args(argv)
    feeds = []
    with tempfile.TemporaryDirectory(prefix="dedup-equiv-") as tmp:
        folder = saudinewsnet_dir()
        if folder is not None:
            days = []
            for z in sorted(folder.glob("*.zip")):
                arts, _ = read_articles([str(z)])
                days.append(arts)
            feeds.append(compare(days, "saudinewsnet-dev-days", Path(tmp)))
            print(json.dumps({k: v for k, v in feeds[-1].items() if not k.endswith("_listed")}))
        else:
            print("SaudiNewsNet dev days absent: skipped", file=sys.stderr)
        if args.synthetic is not None:
            part = Path(tmp) / "synthetic.jsonl"
            with open(args.synthetic, encoding="utf-8") as src, open(part, "w", encoding="utf-8") as out:
                for k, line in enumerate(src):
                    if k >= args.synthetic_articles:
                        break
                    out.write(line)
            arts, _ = read_articles([str(part)])
            size = -(-len(arts) // args.synthetic_days)
            days = [arts[i : i + size] for i in range(0, len(arts), size)]
            feeds.append(compare(days, f"synthetic-{len(arts)}", Path(tmp)))
            print(json.dumps({k: v for k, v in feeds[-1].items() if not k.endswith("_listed")}))
    write_result("index_equivalence", {"run": run_info(), "feeds": feeds})
    return 0


if __name__ == "__main__":
    sys.exit(main())
