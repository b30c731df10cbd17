"""The long fuzz run of issue 15: random feeds through every reader and the dedupe, repeats and stories commands.

Each case draws one random input with ``random.Random(seed, case)``
(``tests/fuzzing.py``: JSONL with broken lines, wrong types, surrogates, NUL
bytes, huge and empty texts, over-long lines; CSV/TSV with broken quoting;
JSON documents; .txt folders; zips with empty members; gzip, whole or cut;
random bytes), reads it with every reader in both modes (``skip_bad`` off and
on), and runs one command on it (``dedup dedupe``, ``repeats`` or ``stories``,
drawn with ``--weights``; ``--skip-bad`` in 70 % of the cases) through the
real command line, called in the worker process (building a process per case
would cost more than the case). The properties are those of
``tests/fuzzing.py``: exit code 0 or 1, no traceback, one output line per input
record, no ``summary.json`` after a failure, valid articles from the readers.

Cases run in ``--jobs`` worker processes, in chunks, until ``--cases`` are done
or ``--max-minutes`` have passed (then the count is what was run). Temporary
files go to /dev/shm when it exists (no disk syncs). Any failure is kept with
its case number; ``--replay CASE`` writes that case's input to a folder and
prints it, to reproduce it by hand.

    python scripts/fuzz.py --cases 1000            # measure the rate
    python scripts/fuzz.py --cases 100000 --jobs 2 --max-minutes 40

Writes ``results/fuzz.json`` (``--name`` to change).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _common import run_info, write_result  # noqa: E402

EXAMPLES_PER_KIND = 5
_STATE: dict[str, Any] = {}


def case_rng(seed: int, case: int) -> random.Random:
    return random.Random(f"dedup-fuzz:{seed}:{case}")


def _init(tmp_root: str) -> None:
    """Worker set-up: its own temporary root (the commands' work folders go there too) and command line."""
    os.environ["TMPDIR"] = tmp_root
    tempfile.tempdir = None  # re-read TMPDIR
    from fuzzing import Invoker

    _STATE["invoke"] = Invoker()


def _run_chunk(task: tuple[int, list[int], tuple[float, float, float], float]) -> dict[str, Any]:
    from fuzzing import check_command, check_readers, make_feed

    seed, cases, weights, deadline = task
    done: Counter[str] = Counter()
    failures: list[dict[str, Any]] = []
    for case in cases:
        if time.time() > deadline:
            break
        rng = case_rng(seed, case)
        with tempfile.TemporaryDirectory(prefix="dedup-fuzz-") as tmp:
            folder = Path(tmp) / "in"
            folder.mkdir()
            feed = make_feed(rng, folder)
            command = rng.choices(("dedupe", "repeats", "stories"), weights=weights)[0]
            skip_bad = rng.random() < 0.7
            try:
                found = check_readers(feed)
                found += check_command(_STATE["invoke"], feed, command, skip_bad, Path(tmp) / "out")
            except Exception:  # noqa: BLE001 - a check that cannot read an output is a finding, not the end of the run
                import traceback

                found = [{"kind": "harness_error", "where": command, "detail": traceback.format_exc()[-1500:]}]
            summary = Path(tmp) / "out" / "summary.json"
            outcome = "exit0" if summary.exists() else "exit1"
        done["cases"] += 1
        done[f"command:{command}"] += 1
        done[f"format:{feed.kind}"] += 1
        done[f"skip_bad:{skip_bad}"] += 1
        done[f"{command}:{outcome}"] += 1
        done["counted_against_oracle"] += feed.records is not None and outcome == "exit0"
        for f in found:
            failures.append({**f, "case": case})
    return {"done": dict(done), "failures": failures}


def replay(seed: int, case: int, folder: Path, weights: tuple[float, ...]) -> None:
    """Write the input of one case into ``folder`` and say how to run it."""
    from fuzzing import make_feed

    rng = case_rng(seed, case)
    folder.mkdir(parents=True, exist_ok=True)
    feed = make_feed(rng, folder)
    command = rng.choices(("dedupe", "repeats", "stories"), weights=weights)[0]
    skip_bad = rng.random() < 0.7
    print(f"dedup {command} {feed.path} --out OUT -q --max-record-bytes {feed.limit}" + (" --skip-bad" if skip_bad else ""))
    print(f"records by the documented rules: {feed.records}")



def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--max-minutes", type=float, default=40.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk", type=int, default=250, help="cases per task handed to a worker")
    ap.add_argument("--weights", default="0.5,0.46,0.04",
                    help="how often each command is drawn: dedupe,repeats,stories (stories takes ~10x a dedupe case)")
    ap.add_argument("--name", default="fuzz", help="results/<name>.json")
    ap.add_argument("--replay", type=int, metavar="CASE", help="write this case's input to ./fuzz-case-CASE and exit")
    args = ap.parse_args(argv)
    weights = tuple(float(w) for w in args.weights.split(","))
    if args.replay is not None:
        replay(args.seed, args.replay, Path(f"fuzz-case-{args.replay}"), weights)
        return 0

    started_on = run_info()  # workers are replaced as they go (fresh imports): note the code at both ends
    shm = Path("/dev/shm")
    tmp_root = Path(tempfile.mkdtemp(prefix="dedup-fuzz-", dir=shm if shm.is_dir() else None))
    start = time.time()
    deadline = start + args.max_minutes * 60
    chunks = [(args.seed, list(range(k, min(k + args.chunk, args.cases))), weights, deadline)
              for k in range(0, args.cases, args.chunk)]
    done: Counter[str] = Counter()
    failures: list[dict[str, Any]] = []
    try:
        ctx = multiprocessing.get_context("spawn")  # workers start clean (no state forked from this process)
        with ctx.Pool(args.jobs, initializer=_init, initargs=(str(tmp_root),), maxtasksperchild=20) as pool:
            for k, part in enumerate(pool.imap_unordered(_run_chunk, chunks), 1):
                done.update(part["done"])
                failures.extend(part["failures"])
                if k % 20 == 0 or k == len(chunks):
                    rate = done["cases"] / (time.time() - start)
                    print(f"{done['cases']:7d} cases, {len(failures)} failures, {rate:.1f} cases/s", flush=True)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    seconds = time.time() - start
    kinds = Counter(f["kind"] for f in failures)
    examples: dict[str, list[dict[str, Any]]] = {}
    for f in sorted(failures, key=lambda f: f["case"]):
        if len(examples.setdefault(f["kind"], [])) < EXAMPLES_PER_KIND:
            examples[f["kind"]].append(f)
    payload = {
        "what": "random feeds through every reader (skip_bad off and on) and one command each, in process",
        "cases_requested": args.cases,
        "cases_run": done["cases"],
        "stopped_by_time_limit": done["cases"] < args.cases,
        "seconds": round(seconds, 1),
        "cases_per_second": round(done["cases"] / seconds, 1),
        "jobs": args.jobs,
        "seed": args.seed,
        "command_weights": dict(zip(("dedupe", "repeats", "stories"), weights)),
        "tracebacks": kinds.get("traceback", 0),
        "miscounted_decisions": kinds.get("miscounted", 0),
        "failures_by_kind": dict(kinds),
        "runs_by_command": {k.split(":", 1)[1]: v for k, v in sorted(done.items()) if k.startswith("command:")},
        "outcomes_by_command": {k: v for k, v in sorted(done.items()) if k.split(":")[0] in ("dedupe", "repeats", "stories")},
        "cases_by_format": {k.split(":", 1)[1]: v for k, v in sorted(done.items()) if k.startswith("format:")},
        "cases_with_skip_bad": done["skip_bad:True"],
        "outputs_counted_against_the_documented_record_count": done["counted_against_oracle"],
        "properties": [
            "readers raise only DedupError (skip_bad off and on); articles hold strings without lone surrogates, ids unique",
            "exit code 0 or 1; no uncaught exception, no 'Traceback' in the output",
            "exit 0: per-article lines = articles + bad records (summary.json) = null-id lines + articles; "
            "for JSONL also = the records counted by docs/inputs.md's rules alone",
            "exit 1: no summary.json in the (fresh) output folder, an error line on stderr",
        ],
        "examples": examples,
        "all_failures": [{"case": f["case"], "kind": f["kind"], "where": f["where"],
                          "last_line": (f["detail"].strip().splitlines() or [""])[-1][:300]}
                         for f in sorted(failures, key=lambda f: f["case"])[:1000]],
        "reproduce": "python scripts/fuzz.py --seed SEED --replay CASE",
        "run_info_at_start": started_on,
        "run_info": run_info(),
    }
    write_result(args.name, payload)
    print(f"{done['cases']} cases in {seconds:.0f} s: {dict(kinds) or 'no failures'}")
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
