#!/usr/bin/env python3
"""Benchmark: ``dedup dedupe`` on synthetic feeds of growing size — time, memory, recall.

Targets (reported, nothing is tuned to meet them): 1M articles end to end in
at most 10 minutes and at most 4 GiB peak RSS on a 2-core, 24 GiB machine,
with a cost close to linear in the number of articles; and the tighter
300 s and 3 GiB, on both generators.

Two differently built feeds (``--generators``, both by default), each at
every size (``--sizes``, default 10k and 100k; add 1000000 to try 1M):
``plain``, real dev articles with ~30% injected copies of seven kinds, and
``families`` (``make_synthetic_feed.py --families 10,100``), where every
original has 10 to 100 copies with 3% or 35% of their words replaced, so the
candidate and verification stages meet large copy families. ``dedup dedupe``
runs with ``--jobs 2`` (``--jobs``).

1. ``scripts/make_synthetic_feed.py`` writes a feed of that size into a temp
   directory (``--tmp``, default /tmp; never the repository): real
   SaudiNewsNet dev articles (relabelled beyond the first ~20k, see that
   script) with ~30% injected copies of known base and kind.
2. ``python -X faulthandler -m dedup dedupe FEED --out DIR -q --jobs 2`` runs as a
   subprocess (the ``dedup`` console script is the same entry point). Wall
   time is from start to exit: interpreter start, reading, every stage,
   writing the four outputs. Peak RSS is the child's own ``VmHWM``, which it
   writes at exit (``ru_maxrss`` from ``wait4`` is also recorded but is no
   good: Linux keeps the forking parent's high-water mark across exec, so a
   child of this large process reports at least the parent's RSS). Its RSS
   is also sampled from ``/proc`` every 0.5 s. A run is stopped with SIGABRT after ``--timeout`` seconds or when
   its RSS passes ``--rss-guard-gib`` (the machine is shared; the guard
   protects other processes from the OOM killer); ``faulthandler`` then
   prints the Python stack, from which the stage it was in is read.
3. The stage timings come from ``summary.json``; "read, write, startup" is
   the wall time minus their sum.
4. Quality from ``decisions.jsonl``:

   * **recall per kind**: an injected copy is found when it is in the same
     duplicate group as its base (``truth.base``); ``recall_with_edges``
     also counts it found when ``pairs.jsonl`` holds a verified edge between
     the two (issue 11's measure: a group holds the copies of one text, so a
     wire item inside a roundup of several items is linked to the roundup by
     its edge, not by a group).
   * **precision**, in two views: *same-group pairs* (every pair of articles
     in one duplicate group, as ``scripts/eval_dedupe_dev.py`` counts) and
     *edges* (each duplicate and the keeper it is reported a copy of, what
     ``decisions.jsonl`` asserts). A pair is *injected* (a true positive)
     when one is an injected copy of the other or both are copies of one
     base; *unrelated* (a false positive) when the two are unrelated by
     construction: their provenance (the side file of the generator: the
     generation ``g`` and dev position ``i`` of every article whose text went
     into each line) shares no ``(g, i)`` and no pair ``(g, i), (g, j)`` of dev
     articles that share a word 8-gram (after ``dedup.text.normalize``) occurring
     in at most 50 dev articles (real reprints, and anything sharing a
     sentence, are therefore never counted against dedup); else *related*
     (unknown: real reprints of the dev days, a copy and the donor of an
     appended paragraph, ...). Reported: ``injected / (injected + unrelated)``
     (the precision on pairs whose truth is known), and the bounds
     ``injected / all`` (every related pair wrong) and ``1 - unrelated / all``
     (every related pair right). Same-group false positives of two articles
     that are both *contained* in their keeper (two items of one digest or
     roundup) are counted apart.

Then one in-process run (``--breakdown-size``, default 100000 when that size
ran) records the RSS at the end and the peak RSS of each stage, to show
where the memory goes (the pipeline's stage log marks the stage ends; the
feed streams through the normalize stage, which therefore includes reading).

Large temp files are deleted after each size (``--keep`` keeps them).
Writes ``results/bench_scale.json``. Usage::

    python scripts/bench_scale.py [--sizes 10000,100000,1000000] [--timeout 1200] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ExitWatch, load_average, repo_root, run_info, saudinewsnet_dir, tree_rss_mib, write_result  # noqa: E402
from make_synthetic_feed import KINDS, DevCorpus, generate, load_dev, provenance_path  # noqa: E402

TARGET_SECONDS_1M = 600.0  # issue "copies a desk can trust": the speed holds
TARGET_RSS_GIB_1M = 4.0
FAST_SECONDS_1M = 300.0  # issue "faster than the fastest peer": on both generators
FAST_RSS_GIB_1M = 3.0
FAMILIES = (10, 100)  # copies per original in the large-family feed
GENERATORS = {
    "plain": "scripts/make_synthetic_feed.py: dev articles (relabelled beyond the first ~20k), ~30% injected copies of seven kinds",
    "families": "scripts/make_synthetic_feed.py --families 10,100: every original gets 10-100 copies with 3% or 35% of their words replaced",
}
RELATED_K = 8  # word n-gram shared by two dev articles that makes them related
RELATED_MAX_DF = 50  # ... unless it occurs in more dev articles than this (stock phrases)
SAMPLE_EVERY = 0.5  # seconds between RSS samples of the child
MAX_PAIRS = 5_000_000  # predicted pairs classified (a seeded sample beyond this)


# --------------------------------------------------------------------------- the child run
def _rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<func>\S+)')


def _stage_of(traceback: str) -> str | None:
    """The stage the innermost dedup frame of a faulthandler dump was in.

    The enclosing ``with timer("...")`` of the innermost ``flows/dedupe.py`` frame
    that has one (searched back to the start of its function); else read or
    write by the ``dedup/io`` module on the stack.
    """
    frames = [m.groupdict() for m in _FRAME.finditer(traceback)]  # innermost first
    pipeline = repo_root() / "dedup" / "flows" / "dedupe.py"
    source = pipeline.read_text(encoding="utf-8").splitlines() if pipeline.exists() else []
    for fr in frames:
        if Path(fr["file"]).resolve() != pipeline:
            continue
        for text in reversed(source[: int(fr["line"])]):
            m = re.search(r'timer\("(\w+)"\)', text)
            if m:
                return m.group(1)
            if re.match(r"\s*def ", text):
                break
    for fr in frames:
        if "/dedup/io/" in fr["file"]:
            return "read" if Path(fr["file"]).parent.name == "readers" else "write"
    return None


def _stack(stderr: str) -> str:
    """The frames of the faulthandler dump (without the list of extension modules)."""
    start = stderr.find("Current thread")
    if start < 0:
        return stderr[-3000:]
    end = stderr.find("\n\n", start)
    return stderr[start : end if end > 0 else None][:6000]


# The child: dedup's CLI, writing its own VmHWM (the high-water RSS of its
# address space, which starts afresh at exec) to a file at exit. ru_maxrss from
# wait4 is no good here: Linux carries the forking parent's high-water mark
# across exec, so every child of this (large) benchmark process would report
# at least the benchmark's own RSS.
_CHILD = """
import atexit, sys
_path = sys.argv.pop(1)
def _hwm():
    with open('/proc/self/status') as status:
        kib = next(line.split()[1] for line in status if line.startswith('VmHWM'))
    with open(_path, 'w') as out:
        out.write(kib)
atexit.register(_hwm)
from dedup.cli import app
app(prog_name='dedup')
"""


def run_cli(command: str, feed: Path, out: Path, timeout: float, rss_guard_mib: float, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run ``dedup COMMAND FEED --out OUT -q [EXTRA...]`` in a child; wall time, peak RSS, RSS timeline, failure.

    ``COMMAND`` is one that writes ``summary.json`` with ``timings_seconds``
    and ``counts`` (``dedupe``, ``stories``).
    """
    hwm_path = out.parent / f"{out.name}.vmhwm"
    cmd = [sys.executable, "-X", "faulthandler", "-c", _CHILD, str(hwm_path), command, str(feed), "--out", str(out), "-q", *extra]
    err_path = out.parent / f"{out.name}.stderr"
    load = load_average()
    with open(err_path, "w", encoding="utf-8") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        watch = ExitWatch(proc.pid)
        timeline: list[tuple[float, float]] = []
        tree_peak = tree_pss_peak = 0.0  # the child and its worker processes (--jobs 2), summed at each sample
        stopped = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            elapsed = time.perf_counter() - t0
            rss = _rss_mib(proc.pid)
            if rss is not None:
                timeline.append((round(elapsed, 1), round(rss, 1)))
            tree_peak = max(tree_peak, tree_rss_mib(proc.pid))
            tree_pss_peak = max(tree_pss_peak, tree_rss_mib(proc.pid, "Pss"))
            if stopped is None and (elapsed > timeout or (rss or 0) > rss_guard_mib):
                stopped = {
                    "reason": "timeout" if elapsed > timeout else "rss_guard",
                    "after_seconds": round(elapsed, 1),
                    "rss_mib": None if rss is None else round(rss, 1),
                }
                os.kill(proc.pid, signal.SIGABRT)  # faulthandler prints the stack, then the child dies
            elif stopped is not None and elapsed > stopped["after_seconds"] + 60:
                os.kill(proc.pid, signal.SIGKILL)
            watch.sleep(SAMPLE_EVERY)  # ends early when the child does: the wall time is not rounded up to a sample
        wall = time.perf_counter() - t0
        watch.close()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4; tell Popen
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    err_path.unlink()
    hwm = float(hwm_path.read_text()) / 1024 if hwm_path.exists() else None
    hwm_path.unlink(missing_ok=True)
    sampled = max((r for _, r in timeline), default=0.0)
    result: dict[str, Any] = {
        "command": f"dedup {command} FEED --out DIR -q  (as: python -X faulthandler -c <dedup's CLI, reporting VmHWM at exit>)",
        "exit_code": proc.returncode,
        "wall_seconds": round(wall, 2),
        "peak_rss_mib": round(hwm if hwm is not None else sampled, 1),
        "peak_rss_source": "VmHWM at exit" if hwm is not None else "highest 0.5 s sample (the child did not exit normally)",
        "ru_maxrss_mib": round(usage.ru_maxrss / 1024, 1),
        "tree_peak_rss_mib": round(tree_peak, 1),
        "tree_peak_pss_mib": round(tree_pss_peak, 1),
        "tree_peak_source": "highest 0.5 s sample of the RSS (a shared page counted in each process) and of the PSS "
                            "(each page once) summed over the child and its worker processes",
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "user_seconds": round(usage.ru_utime, 2),
        "system_seconds": round(usage.ru_stime, 2),
        "load_average_before": load,
        "rss_timeline_mib": _thin(timeline, 120),
    }
    if stopped is not None or proc.returncode != 0:
        result["status"] = stopped["reason"] if stopped else "error"
        result["failure"] = {
            **(stopped or {}),
            "stage": _stage_of(stderr),
            "python_stack": _stack(stderr),
        }
        return result
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    timings = dict(summary["timings_seconds"])
    result["status"] = "ok"
    result["stage_seconds"] = timings
    total = timings.get("total", sum(v for k, v in timings.items() if "." not in k))  # stories: top-level stages
    result["read_write_startup_seconds"] = round(wall - total, 2)
    result["counts"] = summary["counts"]
    return result


def _thin(points: list[tuple[float, float]], keep: int) -> list[tuple[float, float]]:
    if len(points) <= keep:
        return points
    step = math.ceil(len(points) / keep)
    return points[::step] + ([points[-1]] if (len(points) - 1) % step else [])


# --------------------------------------------------------------------------- truth and quality
def related_dev_pairs(docs: list[dict]) -> set[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, of dev articles sharing a word 8-gram found in at most 50 articles."""
    import xxhash

    from dedup.text.normalize import normalize

    hashes, owners = [], []
    for i, d in enumerate(docs):
        tok = normalize(d.get("content") or "").split()
        grams = {xxhash.xxh3_64_intdigest(" ".join(tok[j : j + RELATED_K]).encode()) for j in range(len(tok) - RELATED_K + 1)}
        hashes.append(np.fromiter(grams, dtype=np.uint64, count=len(grams)))
        owners.append(np.full(len(grams), i, dtype=np.int32))
    h, o = np.concatenate(hashes), np.concatenate(owners)
    order = np.argsort(h, kind="stable")
    h, o = h[order], o[order]
    cuts = np.flatnonzero(np.diff(h)) + 1
    starts, ends = np.r_[0, cuts], np.r_[cuts, len(h)]
    df = ends - starts
    pairs: set[tuple[int, int]] = set()
    for s, e in zip(starts[(df >= 2) & (df <= RELATED_MAX_DF)].tolist(), ends[(df >= 2) & (df <= RELATED_MAX_DF)].tolist()):
        members = sorted(o[s:e].tolist())
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                pairs.add((members[a], members[b]))
    return pairs


def read_truth(feed: Path) -> dict[str, tuple[str, str]]:
    """``copy id → (base id, kind)`` from the ``truth`` field (parsed from the end of each line)."""
    truth: dict[str, tuple[str, str]] = {}
    with open(feed, encoding="utf-8") as f:
        for line in f:
            head, _, tail = line.rpartition('"truth":')
            if tail.startswith("null"):
                continue
            t = json.loads(tail.rstrip()[:-1])  # drop the record's closing brace
            rid = json.loads(head[head.index(":") + 1 : head.index(",")])  # "id" is the first field
            truth[rid] = (t["base"], t["kind"])
    return truth


def read_provenance(feed: Path) -> dict[str, tuple[tuple[int, int], ...]]:
    prov: dict[str, tuple[tuple[int, int], ...]] = {}
    with open(provenance_path(feed), encoding="utf-8") as f:
        for line in f:
            rid, tids = line.rstrip("\n").split("\t")
            prov[rid] = tuple(tuple(map(int, t.split(":"))) for t in tids.split())
    return prov


def _linked_copies(pairs_file: Path, truth: dict[str, tuple[str, str]]) -> set[str]:
    """The injected copies that ``pairs.jsonl`` links to their base by a verified edge (either way round)."""
    linked: set[str] = set()
    if not pairs_file.exists():
        return linked
    with open(pairs_file, encoding="utf-8") as f:
        for line in f:
            e = json.loads(line)
            a, b = e["id1"], e["id2"]
            if a in truth and truth[a][0] == b:
                linked.add(a)
            elif b in truth and truth[b][0] == a:
                linked.add(b)
    return linked


def evaluate(feed: Path, out: Path, related: set[tuple[int, int]], seed: int, kinds: Iterable[str] = KINDS) -> dict[str, Any]:
    """Recall of injected copies per kind and the precision estimate (see the module docstring)."""
    truth = read_truth(feed)
    prov = read_provenance(feed)
    group: dict[str, str | None] = {}
    status: dict[str, str] = {}
    keeper_of: dict[str, str] = {}
    relation: dict[str, str] = {}
    with open(out / "decisions.jsonl", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            group[d["id"]] = d["group"]
            status[d["id"]] = d["status"]
            if d["duplicate_of"] is not None:
                keeper_of[d["id"]] = d["duplicate_of"]
                relation[d["id"]] = d["relation"]

    linked = _linked_copies(out / "pairs.jsonl", truth)
    found, with_edges, total, skipped = Counter(), Counter(), Counter(), Counter()
    for cid, (base, kind) in truth.items():
        total[kind] += 1
        g = group[cid]
        same = g is not None and g == group[base]
        found[kind] += same
        with_edges[kind] += same or cid in linked
        skipped[kind] += status[cid] == "skipped"

    def share(k: Counter, key: str | None) -> float | None:
        n = total[key] if key else sum(total.values())
        return round((k[key] if key else sum(k.values())) / n, 4) if n else None

    recall = {
        k: {"copies": total[k], "found": found[k], "recall": share(found, k), "found_with_edges": with_edges[k],
            "recall_with_edges": share(with_edges, k), "copy_skipped": skipped[k]}
        for k in kinds
    }
    all_copies = sum(total.values())
    recall["all"] = {"copies": all_copies, "found": sum(found.values()), "recall": share(found, None),
                     "found_with_edges": sum(with_edges.values()), "recall_with_edges": share(with_edges, None),
                     "copy_skipped": sum(skipped.values())}

    members: dict[str, list[str]] = defaultdict(list)
    for rid, g in group.items():
        if g is not None:
            members[g].append(rid)
    sizes = np.array([len(m) for m in members.values()], dtype=np.int64)
    n_pairs = int((sizes * (sizes - 1) // 2).sum())

    def classify(a: str, b: str) -> str:
        if (a in truth or b in truth) and (truth[a][0] if a in truth else a) == (truth[b][0] if b in truth else b):
            return "injected"
        return "related" if _related(prov[a], prov[b], related) else "unrelated"

    same_group = _precision(((a, b, classify(a, b)) for a, b in _predicted_pairs(list(members.values()), n_pairs, seed)), truth, n_pairs, relation)
    same_group["largest_group"] = int(sizes.max()) if len(sizes) else 0
    edges = [(rid, k) for rid, k in keeper_of.items()]
    precision = {
        "same_group_pairs": same_group,
        "duplicate_to_keeper_edges": _precision(((a, b, classify(a, b)) for a, b in edges), truth, len(edges)),
    }
    return {"recall": recall, "precision": precision}


def _precision(classified, truth: dict[str, tuple[str, str]], n_pairs: int, relation: dict[str, str] | None = None) -> dict[str, Any]:
    """Counts of ``(a, b, class)`` rows and the precision estimate with its bounds.

    With ``relation`` (id → relation to its keeper), unrelated pairs of two
    articles that are both contained in their keeper are counted apart: two
    different items inside one longer article (a digest, a roundup).
    """
    counts: Counter[str] = Counter()
    for a, b, cls in classified:
        counts[cls] += 1
        counts[f"{cls}_{'with_a_copy' if a in truth or b in truth else 'originals_only'}"] += 1
        if relation is not None and cls == "unrelated" and relation.get(a) == relation.get(b) == "contained":
            counts["unrelated_both_contained_in_their_keeper"] += 1
    tp, fp, rel = counts["injected"], counts["unrelated"], counts["related"]
    n = tp + fp + rel
    return {
        "predicted_pairs": n_pairs,
        "classified_pairs": n,
        "sampled": n < n_pairs,
        "injected": tp,
        "related_unknown": rel,
        "unrelated_false_positive": fp,
        "by_pair_type": {k: v for k, v in sorted(counts.items()) if k.endswith(("_with_a_copy", "_originals_only"))},
        **({"unrelated_both_contained_in_their_keeper": counts["unrelated_both_contained_in_their_keeper"]} if relation is not None else {}),
        "precision_known_pairs": round(tp / (tp + fp), 4) if tp + fp else None,
        "precision_lower_bound": round(tp / n, 4) if n else None,
        "precision_upper_bound": round(1 - fp / n, 4) if n else None,
    }


def _related(pa: tuple[tuple[int, int], ...], pb: tuple[tuple[int, int], ...], related: set[tuple[int, int]]) -> bool:
    for ga, ia in pa:
        for gb, ib in pb:
            if ga == gb and (ia == ib or (min(ia, ib), max(ia, ib)) in related):
                return True
    return False


def _predicted_pairs(groups: list[list[str]], n_pairs: int, seed: int):
    """Every within-group pair, or a seeded uniform sample of MAX_PAIRS of them."""
    if n_pairs <= MAX_PAIRS:
        for m in groups:
            for x in range(len(m)):
                for y in range(x + 1, len(m)):
                    yield m[x], m[y]
        return
    rng = np.random.default_rng(seed)
    weights = np.array([len(m) * (len(m) - 1) / 2 for m in groups], dtype=np.float64)
    picks = rng.choice(len(groups), size=MAX_PAIRS, p=weights / weights.sum())
    for gi in picks.tolist():
        x, y = rng.choice(len(groups[gi]), size=2, replace=False).tolist()
        yield groups[gi][x], groups[gi][y]


# --------------------------------------------------------------------------- memory breakdown
def breakdown_child(feed: str, out: str) -> None:
    """In this process: read, dedupe and write ``feed``; print RSS per step as JSON on stdout."""
    peak = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_mib(os.getpid()) or 0.0)
            stop.wait(0.05)

    steps: list[dict[str, Any]] = []
    mark = [time.perf_counter()]

    def record(step: str) -> None:
        now = _rss_mib(os.getpid()) or 0.0
        steps.append({"step": step, "seconds": round(time.perf_counter() - mark[0], 2), "rss_end_mib": round(now, 1), "peak_mib": round(max(peak[0], now), 1)})
        peak[0] = now
        mark[0] = time.perf_counter()

    class StageEnd(logging.Handler):
        def emit(self, rec: logging.LogRecord) -> None:
            if rec.msg.startswith("stage "):
                record(f"stage {rec.args[0]}")

    threading.Thread(target=sample, daemon=True).start()
    from dedup.config import DedupConfig, ReadConfig
    from dedup.io.readers import ArticleStream
    from dedup.io.dedupe_out import RecordSpool, write_dedupe_outputs
    from dedup.flows.dedupe import dedupe

    record("start and imports")
    # As the CLI runs it: the feed streams through once (reading is part of the normalize stage).
    stream = ArticleStream([feed], ReadConfig())
    spool = RecordSpool()
    mark[0] = time.perf_counter()
    log = logging.getLogger("dedup.flows.dedupe")
    log.setLevel(logging.INFO)
    log.addHandler(StageEnd())
    log.propagate = False
    result = dedupe(spool.tap(stream), DedupConfig(), bad_records=lambda: stream.bad)
    write_dedupe_outputs(out, result, [feed], spool.lines())
    spool.close()
    record("write")
    stop.set()
    n = len(result.table)
    for st in steps:
        st["rss_end_kib_per_article"] = round(st["rss_end_mib"] * 1024 / max(1, n), 2)
        st["peak_kib_per_article"] = round(st["peak_mib"] * 1024 / max(1, n), 2)
    print(json.dumps({"articles": n, "steps": steps}))


def run_breakdown(feed: Path, out: Path, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--breakdown-child", str(feed), str(out)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "timeout"}
    if proc.returncode != 0:
        return {"status": "error", "stderr_tail": proc.stderr[-2000:]}
    return {"status": "ok", **json.loads(proc.stdout.strip().splitlines()[-1])}


# --------------------------------------------------------------------------- main
def summarize(runs: list[dict[str, Any]], targets: tuple[float, float]) -> tuple[dict[str, Any] | None, str]:
    """The scaling between the smallest and the largest size run, and the 1M verdict against ``(seconds, GiB)``."""
    seconds_1m, gib_1m = targets
    ok = [r for r in runs if r.get("status") == "ok"]
    scaling = None
    if len(ok) >= 2:
        a, b = ok[0], ok[-1]
        scaling = {
            "from_size": a["size"],
            "to_size": b["size"],
            "seconds_per_1k_ratio": round(b["seconds_per_1k_articles"] / a["seconds_per_1k_articles"], 3),
            "time_exponent": round(math.log(b["wall_seconds"] / a["wall_seconds"]) / math.log(b["size"] / a["size"]), 3),
            "rss_exponent": round(math.log(b["peak_rss_mib"] / a["peak_rss_mib"]) / math.log(b["size"] / a["size"]), 3),
            "note": "exponent 1 = linear; ratios of one run each on a shared 2-core machine (±10–30%)",
        }
    if len(ok) >= 2 and ok[-1]["size"] < 1_000_000:
        a, b = ok[-2], ok[-1]
        per_article_s = (b["wall_seconds"] - a["wall_seconds"]) / (b["size"] - a["size"])
        per_article_mib = (b["peak_rss_mib"] - a["peak_rss_mib"]) / (b["size"] - a["size"])
        scaling = scaling or {}
        scaling["size_reached"] = b["size"]
        scaling["extrapolated_1m"] = {
            "wall_seconds": round(b["wall_seconds"] + per_article_s * (1_000_000 - b["size"])),
            "peak_rss_gib": round((b["peak_rss_mib"] + per_article_mib * (1_000_000 - b["size"])) / 1024, 1),
            "peak_rss_kib_per_article": round(per_article_mib * 1024, 1),
            "note": f"straight line through the {a['size']} and {b['size']} runs; an extrapolation, not a measurement",
        }
    one_m = next((r for r in runs if r["size"] == 1_000_000), None)
    if one_m is None:
        verdict = "1M not run (add 1000000 to --sizes)"
    elif one_m.get("status") != "ok":
        verdict = f"1M did not finish: {one_m.get('status')}"
    else:
        # the memory target holds for the whole run: the child and its workers together (the sampled tree
        # peak, each page counted once), and the child's own high-water mark (which no 0.5 s sample can miss)
        tree = one_m.get("tree_peak_pss_mib")
        peak = max(one_m["peak_rss_mib"], tree or 0.0)
        with_workers = f", {tree / 1024:.2f} GiB with its workers (PSS)" if tree is not None else " (workers not measured)"
        verdict = (
            f"1M: {one_m['wall_seconds']} s (target {seconds_1m:.0f}: {'met' if one_m['wall_seconds'] <= seconds_1m else 'not met'}), "
            f"{one_m['peak_rss_mib'] / 1024:.2f} GiB peak of the dedup process{with_workers} "
            f"(target {gib_1m}: {'met' if peak <= gib_1m * 1024 else 'not met'})"
        )
    return scaling, verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated feed sizes (add 1000000 to try 1M)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument("--data", type=Path, default=None, help="folder of SaudiNewsNet dev zips")
    parser.add_argument("--tmp", type=Path, default=Path(tempfile.gettempdir()), help="where feeds and outputs go (outside the repo)")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds before a dedupe run is stopped")
    parser.add_argument("--rss-guard-gib", type=float, default=12.0, help="stop a run whose RSS passes this (protects the shared machine)")
    parser.add_argument("--breakdown-size", type=int, default=100000, help="size of the in-process memory breakdown run (0: none)")
    parser.add_argument("--keep", action="store_true", help="keep the temp feeds and outputs")
    parser.add_argument("--generators", default="plain,families", help="feeds to build: plain (injected copies of seven kinds) "
                        "and/or families (large copy families); each at every size")
    parser.add_argument("--jobs", type=int, default=2, help="dedup dedupe --jobs (the targets are on two cores)")
    parser.add_argument("--breakdown-child", nargs=2, metavar=("FEED", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.breakdown_child:
        breakdown_child(*args.breakdown_child)
        return 0
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    generators = [g for g in dict.fromkeys(x.strip() for x in args.generators.split(",")) if g]
    if not generators or any(g not in GENERATORS for g in generators):
        parser.error(f"--generators takes some of {', '.join(GENERATORS)}")
    data = saudinewsnet_dir(args.data)
    if data is None:
        print(f"SaudiNewsNet dev zips not found ({args.data or 'shared/data/saudinewsnet/dataset'}); nothing measured")
        return 0
    args.tmp.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench_scale_", dir=args.tmp)).resolve()
    if repo_root() in work.parents:
        parser.error("--tmp must be outside the repository (the feeds hold dev text)")
    info = run_info()
    print(f"work dir {work}", flush=True)
    docs = load_dev(data)
    t = time.perf_counter()
    corpus = DevCorpus(docs, args.seed)
    corpus_seconds = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    related = related_dev_pairs(docs)
    related_seconds = round(time.perf_counter() - t, 2)
    print(f"dev corpus {len(docs)} articles ({corpus_seconds} s); {len(related)} related dev pairs ({related_seconds} s)", flush=True)

    runs: list[dict[str, Any]] = []
    breakdown = None
    failed_at = None
    try:
        for name, size in ((g, n) for g in generators for n in sizes):
            if size == sizes[0]:
                failed_at = None
            if failed_at is not None:
                runs.append({"generator": name, "size": size, "status": "not_run", "why": f"the {failed_at} run failed"})
                continue
            feed = work / f"feed_{name}_{size}.jsonl"
            out = work / f"out_{name}_{size}"
            stats = generate(size, feed, data, args.seed, corpus=corpus, families=FAMILIES if name == "families" else None)
            print(f"[{name} {size}] feed: {stats.originals} originals, {sum(stats.copies.values())} copies, {feed.stat().st_size / 2**20:.0f} MiB, {stats.seconds} s", flush=True)
            run = run_cli("dedupe", feed, out, args.timeout, args.rss_guard_gib * 1024, ("--jobs", str(args.jobs)))
            entry: dict[str, Any] = {
                "generator": name,
                "size": size,
                "feed": {"originals": stats.originals, "copies": stats.copies, "generations": stats.generations, "bytes": feed.stat().st_size, "generate_seconds": stats.seconds},
                **run,
            }
            if run["status"] == "ok":
                entry["seconds_per_1k_articles"] = round(run["wall_seconds"] / (size / 1000), 3)
                entry["articles_per_second"] = round(size / run["wall_seconds"], 1)
                t = time.perf_counter()
                entry["quality"] = evaluate(feed, out, related, args.seed, stats.copies)
                entry["quality"]["evaluate_seconds"] = round(time.perf_counter() - t, 2)
                q = entry["quality"]
                print(
                    f"[{name} {size}] {run['wall_seconds']} s wall ({entry['seconds_per_1k_articles']} s/1k), peak RSS {run['peak_rss_mib']:.0f} MiB "
                    f"({run.get('tree_peak_pss_mib', 0):.0f} MiB PSS with workers); "
                    f"recall {q['recall']['all']['recall']} (with edges {q['recall']['all']['recall_with_edges']}), precision on known pairs: same-group {q['precision']['same_group_pairs']['precision_known_pairs']}, "
                    f"edges {q['precision']['duplicate_to_keeper_edges']['precision_known_pairs']}",
                    flush=True,
                )
                if size == args.breakdown_size and name == generators[0]:
                    breakdown = {"generator": name, "size": size, **run_breakdown(feed, work / f"breakdown_{size}", args.timeout)}
                    print(f"[{name} {size}] memory breakdown: {breakdown.get('status')}", flush=True)
            else:
                failed_at = size
                print(f"[{name} {size}] {run['status']}: {run.get('failure')}", flush=True)
            runs.append(entry)
            if not args.keep:
                for p in (feed, provenance_path(feed)):
                    p.unlink(missing_ok=True)
                shutil.rmtree(out, ignore_errors=True)
                shutil.rmtree(work / f"breakdown_{size}", ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    feeds: dict[str, Any] = {}
    for name in generators:
        mine = [r for r in runs if r["generator"] == name]
        scaling, verdict = summarize(mine, (TARGET_SECONDS_1M, TARGET_RSS_GIB_1M))
        _, verdict_fast = summarize(mine, (FAST_SECONDS_1M, FAST_RSS_GIB_1M))
        feeds[name] = {"generator": GENERATORS[name], "verdict": verdict, "verdict_speed_issue": verdict_fast, "scaling": scaling}
    write_result("bench_scale", {
        "run": info,
        "config": {
            "sizes": sizes,
            "seed": args.seed,
            "timeout_seconds": args.timeout,
            "rss_guard_gib": args.rss_guard_gib,
            "generators": generators,
            "families": FAMILIES,
            "dedup_options": f"defaults (star, learned decision) with --jobs {args.jobs}",
            "related_dev_pairs": {"k": RELATED_K, "max_df": RELATED_MAX_DF, "pairs": len(related), "seconds": related_seconds},
        },
        "targets": {"seconds_1m": TARGET_SECONDS_1M, "peak_rss_gib_1m": TARGET_RSS_GIB_1M, "cost": "close to linear",
                    "speed_issue": {"seconds_1m": FAST_SECONDS_1M, "peak_rss_gib_1m": FAST_RSS_GIB_1M, "on": "both generators"}},
        "feeds": feeds,
        "runs": runs,
        "memory_breakdown": breakdown,
        "notes": [
            "feeds: see feeds.<generator>.generator; both from the dev articles (no other Arabic text is available here)",
            "precision: 'injected' pairs are true positives, 'unrelated' (disjoint provenance, no shared rare 8-gram between the dev sources) false positives, 'related' unknown",
            "peak RSS: the dedup child's VmHWM at exit (ru_maxrss from wait4 carries the benchmark parent's RSS across exec)",
        ],
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
