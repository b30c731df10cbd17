"""Event quality against the time window (``window_days``), on the labelled dev pairs; writes results/event_window_sweep.json.

``window_days`` bounds an event in time: two reports whose dates are further
apart are never one event, and a copy group longer than the window is cut.
This measures, for each window, the event-level precision/recall/F1 (DUP or
EVENT positive) of ``dedup stories`` with every other setting at its default,
on the SaudiNewsNet dev days and the labelled pairs of ``scripts/labels/``
(the ``dev``, ``hard`` and ``story`` samples; never the held-out ``test``
labels), the templated pairs put in one event, and the misses by cause, so
that the default rests on a measurement that can be re-run.

Usage: ``python scripts/sweep_event_window.py [--windows 2 2.5 3 3.5 4 5 7]``
(about 15 s a window on two cores). Skipped, with a message, when the shared
data is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import run_info, write_result  # noqa: E402
from eval_stories import eval_saudinewsnet  # noqa: E402

from dedup.config import StoriesConfig  # noqa: E402

WINDOWS = (2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 7.0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--windows", type=float, nargs="+", default=list(WINDOWS), help="window_days values to measure")
    ap.add_argument("--data", help="folder of SaudiNewsNet zips (default: the shared dev days)")
    args = ap.parse_args(argv)
    default = StoriesConfig()
    rows = []
    for w in args.windows:
        t = time.perf_counter()
        res = eval_saudinewsnet(replace(default, window_days=w), args.data)
        if "skipped" in res:
            print(res["skipped"])
            return
        cluster = res["same_event_cluster"]
        rows.append({
            "window_days": w,
            "default": w == default.window_days,
            "same_event_cluster": {k: cluster[k] for k in ("dev", "hard", "dev+hard", "all") if k in cluster},
            "template_pairs_in_one_event": cluster.get("template_pairs_in_one_event"),
            "errors_by_cause": res.get("errors_by_cause", {}).get("dev+hard"),
            "seconds": round(time.perf_counter() - t, 1),
        })
        dh = rows[-1]["same_event_cluster"]["dev+hard"]
        print(f"window {w:g} days: dev+hard P {dh['precision']:.4f} R {dh['recall']:.4f} F1 {dh['f1']:.4f}")
    best = max(rows, key=lambda r: r["same_event_cluster"]["dev+hard"]["f1"])
    write_result("event_window_sweep", {
        "run": run_info(),
        "question": "which event time window (window_days) clusters the labelled dev pairs best, all else at its default",
        "labels": "scripts/labels/ dev, hard and story samples (event level: DUP or EVENT positive); held-out labels not used",
        "windows": rows,
        "best_dev_plus_hard_f1_window_days": best["window_days"],
        "default_window_days": default.window_days,
    })


if __name__ == "__main__":
    main()
