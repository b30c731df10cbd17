#!/usr/bin/env python3
"""Load test of ``dedup serve``: a real feed from 8 concurrent clients, a ``kill -9`` mid-load, a restart.

Goal (issue 14): at least 500 articles/s sustained on two cores, p99 at most
1 s per batch of 50, no acknowledged article lost.

Steps (loopback only; bounded by ``--max-seconds`` and the feed's size; the
server is always stopped at the end):

1. A server (``python -m dedup serve``, a token file, an SQLite index in a
   temporary folder) is started and waited for (``/healthz``).
2. **Phase A**: ``--clients`` threads take batches of ``--batch`` records from
   one queue and post them (``POST /v1/articles``), timing each. A batch is
   *acknowledged* when its answer is 200 with one decision per record.
3. When ``--kill-at`` of the batches are acknowledged, the server gets
   ``SIGKILL`` while requests are in flight; the clients stop taking batches.
4. The server is restarted. Checks on the index (read directly): every
   acknowledged article is there exactly once, no id twice, and every batch
   that was in flight is there whole or not at all.
5. **Phase B**: the batches in flight and those never sent are posted again
   the same way; then every article of the feed must be in the index exactly once.
Steps 1-5 run once per ``--modes`` entry, each on a fresh index: ``batch-by-batch``
(the server as it starts by default: one run of the flow per request, first come
first decided, decisions equal to ``dedup dedupe --index`` batch by batch) and
``coalesce`` (``dedup serve --coalesce``: the batches waiting for the index
decided together, one run and one commit for all of them). Each mode's runs and
the batches they decided come from the server's ``/metrics``, read just before
the kill. With ``--baseline-src DIR`` (another version of the package, e.g.
``git archive HEAD dedup | tar -x -C DIR``, its commit in ``DIR/BASELINE_COMMIT``)
each mode is run first with that server, then with this one, and the ratios
are recorded: the machine is shared, so only a comparison made in the same run
says what changed.

6. **Profile**: the same flow in this process on a sample of batches
   (``dedupe(..., index=...)`` against an index already holding part of the
   feed), its stage timings, and the share of the IDF fit, to say where a
   request's time goes; then the same sample merged ``--clients`` batches at a
   time, as a coalesced run decides them.
7. **Coalesced vs batch by batch** (``--equivalence``): the feed in this
   process through two fresh indexes, one batch per run and ``--clients``
   consecutive batches per run (what coalescing does when every client
   waits), and every difference between the two sets of decisions, by kind.

The feed: ``--feed FILE`` (JSONL), else the SaudiNewsNet dev days from
``../shared/data`` (skipped cleanly, exit 0, when absent). Writes
``results/serve_load.json`` (with the machine's load average: it is shared).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load_average, run_info, saudinewsnet_dir, write_dev_jsonl, write_result  # noqa: E402

HOST = "127.0.0.1"  # loopback only


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 4)


def _read_feed(path: Path, limit: int | None) -> tuple[list[dict], int]:
    """The records (first occurrence of each id: a repeated id in one batch would fail the batch), and how many repeats were dropped."""
    from dedup.io.readers.records import FIELD_ALIASES

    seen: set[str] = set()
    records, dropped = [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            key = next((k for a in FIELD_ALIASES["id"] for k in rec if k.casefold() == a), None)
            rid = str(rec.get(key)) if key else None
            if rid is None or rid in seen:
                dropped += 1
                continue
            seen.add(rid)
            records.append(rec)
            if limit is not None and len(records) >= limit:
                break
    return records, dropped


def _id(rec: dict) -> str:
    from dedup.io.readers.records import FIELD_ALIASES

    return str(next(rec[k] for a in FIELD_ALIASES["id"] for k in rec if k.casefold() == a))


class Server:
    def __init__(self, index: Path, token: str, work: Path, options: list[str], src: Path | None = None) -> None:
        self.index, self.token, self.work, self.options, self.src = index, token, work, options, src
        self.port = _free_port()
        self.url = f"http://{HOST}:{self.port}"
        (work / "token").write_text(token, encoding="utf-8")
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 120.0) -> float:
        import httpx

        t0 = time.perf_counter()
        with open(self.work / f"serve{self.starts}.log", "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "dedup", "serve", "--index", str(self.index), "--host", HOST,
                                          "--port", str(self.port), "--token-file", str(self.work / "token"), *self.options],
                                         stdout=log, stderr=subprocess.STDOUT, env=self._env(),
                                         cwd=self.src)  # `python -m` puts the working folder first on the path
        self.starts += 1
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dedup serve exited with {self.proc.returncode}; see {self.work}")
            try:
                if httpx.get(self.url + "/healthz", headers=self.headers, timeout=2).status_code == 200:
                    return time.perf_counter() - t0
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"dedup serve did not answer within {timeout} s")

    def _env(self) -> dict[str, str] | None:
        """The environment of the server: with ``src``, the ``dedup`` package found there comes first."""
        if self.src is None:
            return None
        return {**os.environ, "PYTHONPATH": os.pathsep.join([str(self.src), *filter(None, [os.environ.get("PYTHONPATH")])])}

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the server process so far (Linux ``/proc``; None elsewhere)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()  # type: ignore[union-attr]
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError, AttributeError):
            return None

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _phase(server: Server, batches: dict[int, list[dict]], order: list[int], clients: int, deadline: float,
           kill_after: int | None = None, seed: int = 14) -> dict[str, Any]:
    """Post ``order``'s batches from ``clients`` threads.

    With ``kill_after``: once that many batches are acknowledged, a random
    0–0.5 s later (so that a batch may be mid-decision or mid-commit), the
    server gets SIGKILL and the clients stop taking batches.
    """
    import random

    import httpx

    todo: queue.Queue[int] = queue.Queue()
    for b in order:
        todo.put(b)
    stop = threading.Event()
    lock = threading.Lock()
    acked: dict[int, list[dict]] = {}
    latency: list[float] = []
    errors: collections.Counter[str] = collections.Counter()
    unacked: set[int] = set()
    killed_at: list[float] = []
    runs: dict[str, Any] = {}

    def client() -> None:
        with httpx.Client(base_url=server.url, headers=server.headers, timeout=120) as http:
            while not stop.is_set() and time.perf_counter() < deadline:
                try:
                    b = todo.get_nowait()
                except queue.Empty:
                    return
                t0 = time.perf_counter()
                try:
                    res = http.post("/v1/articles", json=batches[b])
                    ok = res.status_code == 200 and len(res.json()) == len(batches[b])
                    why = None if ok else f"http {res.status_code}"
                except httpx.HTTPError as exc:
                    ok, why = False, type(exc).__name__
                took = time.perf_counter() - t0
                with lock:
                    if ok:
                        acked[b] = res.json()
                        latency.append(took)
                        if kill_after is not None and len(acked) >= kill_after:
                            enough.set()
                    else:
                        unacked.add(b)
                        errors[why] += 1  # type: ignore[index]

    enough = threading.Event()
    delay = random.Random(seed).uniform(0.0, 0.5)

    def killer() -> None:
        while not enough.wait(0.05):
            if done.is_set():
                return
        time.sleep(delay)
        try:
            runs.update(_runs(httpx.get(server.url + "/metrics", headers=server.headers, timeout=5).text))
        except httpx.HTTPError:
            pass
        cpu_end.append(server.cpu_seconds())
        with lock:
            stop.set()
            killed_at.append(time.perf_counter())
        server.kill9()  # requests of other clients are in flight now

    done = threading.Event()
    cpu_end: list[float | None] = []
    cpu_start = server.cpu_seconds()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    if kill_after is not None:
        threads.append(threading.Thread(target=killer))
    for t in threads:
        t.start()
    for t in threads[:clients]:
        t.join()
    done.set()
    for t in threads[clients:]:
        t.join()
    end = killed_at[0] if killed_at else time.perf_counter()
    if not killed_at:
        cpu_end.append(server.cpu_seconds())
    cpu = cpu_end[0] - cpu_start if cpu_end and cpu_end[0] is not None and cpu_start is not None else None
    seconds = end - t0
    articles = sum(len(batches[b]) for b in acked)
    never_sent = []
    while not todo.empty():
        never_sent.append(todo.get_nowait())
    return {
        "acked": acked,
        "unacked": sorted(unacked),
        "never_sent": sorted(never_sent),
        "summary": {
            "batches_acknowledged": len(acked),
            "articles_acknowledged": articles,
            "seconds": round(seconds, 2),
            "articles_per_s": round(articles / seconds, 1) if seconds > 0 else None,
            "batch_latency_s": {"p50": _percentile(latency, 0.5), "p90": _percentile(latency, 0.9),
                                "p99": _percentile(latency, 0.99), "max": _percentile(latency, 1.0)},
            "errors": dict(errors),
            "killed": bool(killed_at),
            "kill_delay_after_the_share_s": round(delay, 3) if kill_after is not None else None,
            "load_average_after": load_average(),
            # what the load of the machine does not change much: the server's own CPU time per batch acknowledged
            "server_cpu_seconds": round(cpu, 2) if cpu is not None else None,
            "server_cpu_seconds_per_batch": round(cpu / len(acked), 4) if cpu is not None and acked else None,
            **({"server_runs_until_the_kill": runs} if runs else {}),
        },
    }


def _runs(metrics: str) -> dict[str, Any]:
    """Runs of the flow and the batches they decided, from the server's /metrics."""
    got = {}
    for line in metrics.splitlines():
        name, _, value = line.partition(" ")
        if name in ("dedup_index_runs_total", "dedup_index_run_batches_total"):
            got[name] = int(float(value))
    runs, batches = got.get("dedup_index_runs_total"), got.get("dedup_index_run_batches_total")
    if not runs or batches is None:
        return {}
    return {"runs": runs, "batches": batches, "batches_per_run": round(batches / runs, 2)}


def _baseline(src: Path) -> dict[str, Any]:
    """What the baseline server runs: its folder, and the commit it says it was taken from (``BASELINE_COMMIT`` in it)."""
    if not (src / "dedup" / "__init__.py").is_file():
        raise SystemExit(f"serve_load: --baseline-src {src}: no dedup package there (expected {src / 'dedup' / '__init__.py'})")
    commit = src / "BASELINE_COMMIT"
    return {"src": str(src), "commit": commit.read_text(encoding="utf-8").strip() if commit.is_file() else None}


def _stored(index: Path) -> collections.Counter[str]:
    from dedup.store.history import open_index

    idx = open_index(str(index), create=False)
    try:
        return collections.Counter(r["id"] for r in idx.export())
    finally:
        idx.close()


def _profile(records: list[dict], batch: int, warm: int, sample: int, merge: int, work: Path) -> dict[str, Any]:
    """Where a request's time goes: the flow in this process, per stage, on ``sample`` batches after ``warm`` articles.

    Once one batch per run, once ``merge`` batches per run (``sample`` a multiple of ``merge``).
    """
    import cProfile
    import pstats

    from dedup.config import DedupConfig
    from dedup.flows.dedupe import dedupe
    from dedup.runtime import Runtime
    from dedup.serve.intake import read_records
    from dedup.store.history import open_index

    arts = read_records(records[: warm + sample * batch])
    out: dict[str, Any] = {}
    for run, name in ((batch, "one_batch_per_run"), (batch * merge, f"{merge}_batches_per_run")):
        idx = open_index(str(work / f"profile-{run}.db"), DedupConfig())
        try:
            for lo in range(0, warm, 2000):
                dedupe(arts[lo : min(warm, lo + 2000)], DedupConfig(), runtime=Runtime(), index=idx)
            prof = cProfile.Profile()
            stages: collections.Counter[str] = collections.Counter()
            took = []
            for lo in range(warm, warm + sample * batch, run):
                t0 = time.perf_counter()
                prof.enable()
                result = dedupe(arts[lo : lo + run], DedupConfig(), runtime=Runtime(), index=idx)
                prof.disable()
                took.append(time.perf_counter() - t0)
                stages.update(result.timings)
        finally:
            idx.close()
        stats = pstats.Stats(prof)
        fit = sum(v[3] for k, v in stats.stats.items() if k[2] == "fit_idf")  # type: ignore[attr-defined]
        per_batch = sum(took) / sample
        out[name] = {
            "what": f"dedupe(runs of {run} articles, index=...) in this process: {sample} batches of {batch} after {warm} "
                    "articles were indexed",
            "seconds_per_batch": round(per_batch, 4),
            "articles_per_s_serial": round(batch / per_batch, 1),
            "stage_seconds_per_batch": {k: round(v / sample, 4) for k, v in stages.most_common()},
            "fit_idf_seconds_per_batch": round(fit / sample, 4),
            "fit_idf_share": round(fit / sum(took), 3),
        }
    out["load_average_after"] = load_average()
    return out


def _equivalence(records: list[dict], batch: int, merge: int, work: Path) -> dict[str, Any]:
    """Step 7: the feed batch by batch vs ``merge`` consecutive batches per run, every difference by kind."""
    from dedup.config import DedupConfig
    from dedup.flows.dedupe import dedupe
    from dedup.io.dedupe_rows import decision_rows
    from dedup.runtime import Runtime
    from dedup.serve.intake import read_records
    from dedup.store.history import open_index

    arts = read_records(records)
    decided: list[dict[str, dict]] = []
    seconds = []
    for run in (batch, batch * merge):
        idx = open_index(str(work / f"equivalence-{run}.db"), DedupConfig())
        rows: dict[str, dict] = {}
        t0 = time.perf_counter()
        try:
            for lo in range(0, len(arts), run):
                for r in decision_rows(dedupe(arts[lo : lo + run], DedupConfig(), runtime=Runtime(), index=idx)):
                    rows[r["id"]] = r
        finally:
            idx.close()
        seconds.append(round(time.perf_counter() - t0, 1))
        decided.append(rows)
    one, merged = decided
    at = {a.id: k for k, a in enumerate(arts)}
    run_of = {i: k // (batch * merge) for i, k in at.items()}
    kinds: collections.Counter[str] = collections.Counter()
    fields: collections.Counter[str] = collections.Counter()
    cosine, probability = [], []
    examples: dict[str, list[dict]] = collections.defaultdict(list)
    for i, a in one.items():
        b = merged[i]
        if a == b:
            kinds["identical"] += 1
            continue
        if (a["status"], a.get("duplicate_of")) != (b["status"], b.get("duplicate_of")):
            # Within one run (the article and a keeper named on either side decided together) the run is one
            # batch: --keep and the containment guard choose over its members, and a later batch of the run can
            # change an earlier one's decision, which one after another is stored and never changes. Otherwise
            # the keepers are stored ones of earlier runs, whose groups were decided differently.
            keepers = {x for x in (a.get("duplicate_of"), b.get("duplicate_of")) if x is not None}
            together = any(run_of.get(k) == run_of[i] for k in keepers)
            kind = ("status" if a["status"] != b["status"] else "keeper") + (
                ": decided within one run, as one batch" if together else ": the keeper is from an earlier run, decided differently")
            kinds[kind] += 1
            if len(examples[kind]) < 3:
                examples[kind].append({"id": i, "batch_by_batch": {k: a.get(k) for k in ("status", "duplicate_of", "scores", "reason")},
                                       "coalesced": {k: b.get(k) for k in ("status", "duplicate_of", "scores", "reason")}})
            continue
        kinds["same status and keeper, other fields"] += 1
        fields[",".join(sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k)))] += 1
        if a.get("scores") and b.get("scores"):
            for name, out in (("cosine", cosine), ("probability", probability)):
                x, y = a["scores"].get(name), b["scores"].get(name)
                if x is not None and y is not None:
                    out.append(abs(x - y))
    return {
        "what": f"the feed in this process through a fresh index twice: one batch of {batch} per run, and {merge} consecutive "
                f"batches per run (a coalesced run when every client waits); each article's decision compared",
        "articles": len(one),
        "seconds": {"batch_by_batch": seconds[0], "coalesced": seconds[1]},
        "by_kind": dict(kinds.most_common()),
        "other_fields_that_differ": dict(fields.most_common()),
        "score_differences_same_decision": {
            "cosine": {"median": _percentile(cosine, 0.5), "max": _percentile(cosine, 1.0)},
            "probability": {"median": _percentile(probability, 0.5), "max": _percentile(probability, 1.0)},
        },
        "examples": dict(examples),
        "load_average_after": load_average(),
    }


def _run_mode(records: list[dict], batches: dict[int, list[dict]], args: argparse.Namespace, coalesce: bool,
              work: Path, src: Path | None = None) -> dict[str, Any]:
    """Steps 1-5 with a fresh index: phase A, kill -9, restart and checks, phase B, final checks (``src``: the baseline's code)."""
    import httpx

    feed_ids = [_id(r) for r in records]
    started = time.perf_counter()
    index = work / "index.db"
    options = ["--coalesce"] if coalesce else []
    server = Server(index, os.urandom(16).hex(), work, options, src)
    load_before = load_average()
    try:
        startup = server.start()
        kill_after = max(1, int(args.kill_at * len(batches)))
        a = _phase(server, batches, sorted(batches), args.clients, started + args.max_seconds / 2, kill_after)
        print(f"phase A: {a['summary']}")
        in_flight = sorted(set(a["unacked"]))  # failed when the server died: committed whole, or not at all
        restart = server.start()
        stored = _stored(index)
        acked_ids = [d["id"] for b in a["acked"] for d in a["acked"][b]]
        whole = [b for b in in_flight if all(stored[_id(r)] == 1 for r in batches[b])]
        absent = [b for b in in_flight if not any(stored[_id(r)] for r in batches[b])]
        after_kill = {
            "acknowledged_articles": len(acked_ids),
            "acknowledged_lost": sum(stored[i] == 0 for i in acked_ids),
            "ids_stored_more_than_once": sum(c > 1 for c in stored.values()),
            "ids_stored_not_in_feed": len(set(stored) - set(feed_ids)),
            "batches_in_flight_at_the_kill": len(in_flight),
            "in_flight_committed_whole": len(whole),
            "in_flight_absent": len(absent),
            "in_flight_partly_stored": len(in_flight) - len(whole) - len(absent),
            "restart_seconds": round(restart, 2),
        }
        print(f"after kill -9 and restart: {after_kill}")
        b = _phase(server, batches, in_flight + a["never_sent"], args.clients, started + args.max_seconds)
        print(f"phase B: {b['summary']}")
        final = _stored(index)
        reposted = [d for k in in_flight if k in b["acked"] for d in b["acked"][k]]
        metrics = httpx.get(server.url + "/metrics", headers=server.headers, timeout=30).text
    finally:
        server.stop()
    complete = {
        "feed_articles": len(feed_ids),
        "stored_exactly_once": sum(final[i] == 1 for i in feed_ids),
        "missing": sum(final[i] == 0 for i in feed_ids),
        "stored_more_than_once": sum(c > 1 for c in final.values()),
        "reposted_in_flight_answered_already_in_index": sum(d["reason"].startswith("skipped: already in the index") for d in reposted),
        "batches_not_posted_in_time": len(b["never_sent"]),
    }
    print(f"final: {complete}")
    sustained = a["summary"]["articles_per_s"]
    p99 = a["summary"]["batch_latency_s"]["p99"]
    lost = after_kill["acknowledged_lost"] + complete["missing"]
    return {
        "server": "python -m dedup serve " + " ".join(options) + ", SQLite index in a temporary folder, "
                  "--token-file, defaults otherwise (chunk_size 2000: up to 20,000 articles per transaction; "
                  + ("the batches waiting at a run's turn decided together)" if coalesce else "one run per batch, first come first decided)"),
        "met": {"articles_per_s": bool(sustained and sustained >= 500), "p99_batch_seconds": bool(p99 is not None and p99 <= 1.0),
                "acknowledged_lost": lost == 0 and after_kill["in_flight_partly_stored"] == 0},
        "startup_seconds": round(startup, 2),
        "load_average_before": load_before,
        "phase_a_until_kill": a["summary"],
        "after_kill_and_restart": after_kill,
        "phase_b_reposts_and_rest": b["summary"],
        "final": complete,
        "server_metrics_at_the_end": [line for line in metrics.splitlines()
                                      if line.startswith(("dedup_articles_indexed_total", "dedup_decisions_total", "dedup_errors_total",
                                                          "dedup_index_run",
                                                          'dedup_http_request_duration_seconds_bucket{endpoint="/v1/articles"'))],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feed", type=Path, help="JSONL feed (default: the SaudiNewsNet dev days from ../shared/data)")
    ap.add_argument("--data", help="folder of the SaudiNewsNet zips (default ../shared/data/saudinewsnet/dataset)")
    ap.add_argument("--max-articles", type=int, default=None, help="post at most this many articles")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--kill-at", type=float, default=0.5, help="SIGKILL the server once this share of batches is acknowledged")
    ap.add_argument("--max-seconds", type=float, default=900.0, help="per mode: stop posting after this long")
    ap.add_argument("--modes", default="batch-by-batch,coalesce",
                    help="comma list: batch-by-batch (the default server), coalesce (dedup serve --coalesce)")
    ap.add_argument("--profile-batches", type=int, default=24, help="batches timed in this process for the profile (0: none)")
    ap.add_argument("--baseline-src", type=Path, default=None,
                    help="a folder holding another version of the dedup package (e.g. `git archive COMMIT | tar -x -C DIR`): "
                         "each mode is also run with that server, just before, for ratios measured in the same run")
    ap.add_argument("--equivalence", action=argparse.BooleanOptionalAction, default=True,
                    help="step 7: decisions of coalesced runs vs batch by batch, in this process (a few minutes)")
    args = ap.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not set(modes) <= {"batch-by-batch", "coalesce"}:
        ap.error(f"--modes: batch-by-batch or coalesce, got {args.modes!r}")

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        work = Path(tmp)
        feed = args.feed
        if feed is None:
            if saudinewsnet_dir(args.data) is None:
                print("serve_load: no --feed and no SaudiNewsNet dev days in ../shared/data: nothing to do")
                return 0
            feed = work / "dev.jsonl"
            write_dev_jsonl(feed, args.data)
        records, dropped = _read_feed(feed, args.max_articles)
        batches = {k: records[lo : lo + args.batch] for k, lo in enumerate(range(0, len(records), args.batch))}
        print(f"serve_load: {len(records)} articles in {len(batches)} batches of {args.batch}, {args.clients} clients")
        baseline = _baseline(args.baseline_src) if args.baseline_src else None
        for mode in modes:
            for src, name in ([(args.baseline_src, f"{mode} (baseline)")] if baseline else []) + [(None, mode)]:
                print(f"--- {name}")
                (work / name).mkdir()
                results[name] = _run_mode(records, batches, args, mode == "coalesce", work / name, src)
            if baseline:
                new, old = results[mode]["phase_a_until_kill"], results[f"{mode} (baseline)"]["phase_a_until_kill"]
                results[mode]["against_the_baseline"] = {
                    "articles_per_s_ratio": round(new["articles_per_s"] / old["articles_per_s"], 2),
                    "p99_batch_seconds_ratio": round(new["batch_latency_s"]["p99"] / old["batch_latency_s"]["p99"], 2),
                }
        sample = args.profile_batches - args.profile_batches % args.clients
        profile = _profile(records, args.batch, min(4000, len(records) // 2), sample, args.clients, work) \
            if sample > 0 and len(records) >= 2 * args.batch * sample else None
        if profile:
            print(f"profile: {profile}")
        equivalence = _equivalence(records, args.batch, args.clients, work) if args.equivalence else None
        if equivalence:
            print(f"coalesced vs batch by batch: {equivalence['by_kind']}")

    payload = {
        "run": run_info(),
        "goal": {"articles_per_s": 500, "p99_batch_seconds": 1.0, "acknowledged_lost": 0,
                 "measured_on": "phase A (from the first post to the kill), the server as given in each mode"},
        "setup": {"feed": str(args.feed or "saudinewsnet dev days"), "articles": len(records), "repeated_ids_dropped": dropped,
                  "batch": args.batch, "clients": args.clients, "batches": len(batches), "kill_at_share": args.kill_at},
        "baseline": baseline,
        "modes": results,
        "profile": profile,
        "coalesced_vs_batch_by_batch": equivalence,
    }
    write_result("serve_load", payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
