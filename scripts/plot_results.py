#!/usr/bin/env python3
"""Plots of the stored results: scale (throughput, peak RSS) and the dev precision/recall sweep.

Reads ``results/bench_scale.json`` (``scripts/bench_scale.py``) and
``results/eval_dedupe_dev.json`` (``scripts/eval_dedupe_dev.py --sweep``) and
writes into ``results/``:

* ``scale_throughput.png``: articles per second (wall, end to end) against
  feed size, log x; a run that did not finish is marked where it stopped.
* ``scale_peak_rss.png``: peak RSS against feed size, log x, with the 4 GiB
  target; a stopped run is drawn at the RSS it had reached.
* ``dev_precision_recall.png``: precision and recall of DUP pairs on the
  hand-labelled dev pairs for every setting of the sweep, by grouping
  method, the default setting circled.

Measures nothing; a missing results file skips its plots with a message.
matplotlib is needed only for these plots and is deliberately not a
dependency of the package (``pip install matplotlib``). Usage::

    python scripts/plot_results.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import repo_root  # noqa: E402

RESULTS = repo_root() / "results"


def _load(name: str) -> dict | None:
    path = RESULTS / name
    if not path.exists():
        print(f"{path} not found; its plots are skipped (run the script that writes it)")
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _save(fig, name: str) -> None:
    out = RESULTS / name
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


def plot_scale(plt, data: dict) -> None:
    runs = [r for r in data["runs"] if r.get("status") != "not_run"]
    ok = [r for r in runs if r.get("status") == "ok"]
    failed = [r for r in runs if r.get("status") != "ok"]
    commit = (data["run"]["git"]["commit"] or "")[:8]
    generators = list(dict.fromkeys(r.get("generator", "plain") for r in ok))

    def of(g: str) -> list[dict]:
        return [r for r in ok if r.get("generator", "plain") == g]

    fig, ax = plt.subplots(figsize=(6, 4))
    for g in generators:
        ax.plot([r["size"] for r in of(g)], [r["articles_per_second"] for r in of(g)], "o-", label=f"{g} feed")
    for r in ok:
        ax.annotate(f"{r['seconds_per_1k_articles']:.2f} s/1k", (r["size"], r["articles_per_second"]), textcoords="offset points", xytext=(4, 6), fontsize=8)
    for r in failed:
        stop = r["failure"].get("after_seconds") or r["wall_seconds"]
        ax.plot([r["size"]], [0], "x", color="red", markersize=10, label=f"{r['size']:,}: {r['status']} after {stop:.0f} s ({r['failure'].get('stage')})")
    target = data["targets"]["seconds_1m"]
    ax.axhline(1_000_000 / target, color="grey", linestyle="--", linewidth=1, label=f"target: 1M in {target / 60:.0f} min")
    ax.set_xscale("log")
    ax.set_xlabel("articles in the feed")
    ax.set_ylabel("articles per second (wall, end to end)")
    ax.set_title(f"dedup dedupe throughput (commit {commit})", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    _save(fig, "scale_throughput.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for g in generators:
        line, = ax.plot([r["size"] for r in of(g)], [r["peak_rss_mib"] / 1024 for r in of(g)], "o-", label=f"{g} feed (peak RSS of dedup)")
        tree = [r for r in of(g) if "tree_peak_pss_mib" in r]
        if tree:  # the run's worker processes too (--jobs 2), each page counted once
            ax.plot([r["size"] for r in tree], [r["tree_peak_pss_mib"] / 1024 for r in tree], "s--", color=line.get_color(),
                    label=f"{g} feed (with its workers, PSS)")
    for r in ok:
        ax.annotate(f"{r['peak_rss_mib'] / 1024:.1f} GiB", (r["size"], r["peak_rss_mib"] / 1024), textcoords="offset points", xytext=(4, -12), fontsize=8)
    for r in failed:
        rss = r["failure"].get("rss_mib") or r["peak_rss_mib"]
        ax.plot([r["size"]], [rss / 1024], "x", color="red", markersize=10, label=f"{r['size']:,}: {r['status']}, stopped at {rss / 1024:.1f} GiB in {r['failure'].get('stage')}")
    ax.axhline(data["targets"]["peak_rss_gib_1m"], color="grey", linestyle="--", linewidth=1, label=f"target at 1M: {data['targets']['peak_rss_gib_1m']} GiB")
    fast = data["targets"].get("speed_issue", {}).get("peak_rss_gib_1m")
    if fast:
        ax.axhline(fast, color="grey", linestyle=":", linewidth=1, label=f"tighter target at 1M: {fast} GiB")
    ax.set_xscale("log")
    ax.set_xlabel("articles in the feed")
    ax.set_ylabel("peak RSS (GiB)")
    ax.set_title(f"dedup dedupe memory (commit {commit})", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    _save(fig, "scale_peak_rss.png")
    plt.close(fig)


def plot_sweep(plt, data: dict) -> None:
    fig, ax = plt.subplots(figsize=(6, 4.5))
    markers = {"star": "o", "union": "s"}
    default = data.get("default", {}).get("dup_pairs") if isinstance(data.get("default"), dict) else None
    for method in sorted({row["method"] for row in data["sweep"]}):
        rows = [r for r in data["sweep"] if r["method"] == method]
        ax.scatter([r["dup_pairs"]["recall"] for r in rows], [r["dup_pairs"]["precision"] for r in rows], marker=markers.get(method, "^"), label=f"--cluster {method}", alpha=0.8)
        for r in rows:
            ax.annotate(f"J{r['jaccard']}/C{r['containment']}", (r["dup_pairs"]["recall"], r["dup_pairs"]["precision"]), textcoords="offset points", xytext=(3, 3), fontsize=6)
    if default:
        ax.scatter([default["recall"]], [default["precision"]], s=160, facecolors="none", edgecolors="black", label="default")
    ax.axhline(0.97, color="grey", linestyle="--", linewidth=1, label="precision 0.97")
    ax.set_xlabel("recall (DUP pairs in one group)")
    ax.set_ylabel("precision")
    ax.set_title(f"dev sweep: {data.get('labelled_pairs', '?')} labelled SaudiNewsNet pairs", fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    _save(fig, "dev_precision_recall.png")
    plt.close(fig)


def main() -> int:
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed (pip install matplotlib); it is needed only for these plots")
        return 1
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scale = _load("bench_scale.json")
    if scale is not None:
        plot_scale(plt, scale)
    dev = _load("eval_dedupe_dev.json")
    if dev is not None and dev.get("sweep"):
        plot_sweep(plt, dev)
    return 0


if __name__ == "__main__":
    sys.exit(main())
