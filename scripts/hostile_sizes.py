"""Peak memory of dedupe, repeats and stories on a feed with one hostile record (issue 15, item 9).

The feed: a few ordinary articles and one JSONL line of ``--mb`` MB (one
article whose text is that long). Each command runs in a child process
(``python -m dedup COMMAND FEED --out DIR -q --skip-bad``); its peak resident
memory is the child's ``ru_maxrss`` (``os.wait4``), so nothing of this
process is counted. With ``--baseline DIR`` the same runs are made with the
package found in ``DIR`` (e.g. ``git archive <commit> | tar -x -C DIR``, the
code before the change), in the same run, on the same feed. ``--at-limit-mb``
adds a record just under the reader's record limit, which is read and
processed: the worst a single record can cost now. A child that grows past
``--rss-guard-gib`` is killed (reported as such), so the baseline cannot take
the machine down.

    python scripts/hostile_sizes.py --mb 200 --baseline /tmp/before

Writes ``results/hostile_sizes.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import repo_root, run_info, write_result  # noqa: E402

COMMANDS = ("dedupe", "repeats", "stories")
WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau "
         "upsilon phi chi psi omega وزير خارجية الصين روسيا بكين قال إن الاجتماع كان مثمرا").split()


def write_feed(path: Path, record_mb: float, seed: int = 0) -> int:
    """A JSONL feed: five ordinary articles around one article of ``record_mb`` MB; returns that line's bytes."""
    rng = random.Random(seed)

    def para(n: int) -> str:
        return " ".join(rng.choices(WORDS, k=n))

    small = [{"id": f"s{k}", "text": "\n".join(para(60) for _ in range(4)), "source": f"src{k % 2}"} for k in range(5)]
    target = int(record_mb * 1e6)
    with open(path, "wb") as f:
        for rec in small[:3]:
            f.write(json.dumps(rec, ensure_ascii=False).encode() + b"\n")
        head = b'{"id": "huge", "source": "src0", "text": "'
        f.write(head)
        written = len(head)
        block = "\\n".join(para(80) for _ in range(200)).encode()  # paragraphs, written with JSON's \n escape
        while written + len(block) < target:
            f.write(block + b"\\n")
            written += len(block) + 2
        f.write(b'"}\n')
        line = written + 3
        for rec in small[3:]:
            f.write(json.dumps(rec, ensure_ascii=False).encode() + b"\n")
    return line


def run(command: str, feed: Path, out: Path, code: Path | None, guard_gib: float, extra: list[str]) -> dict[str, Any]:
    """Run one command in a child; exit code, wall time, peak RSS (ru_maxrss), and why it was stopped if it was."""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    cmd = [sys.executable, "-m", "dedup", command, str(feed), "--out", str(out), "-q", "--skip-bad", *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=str(code or repo_root()), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stopped = None
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        rss = _rss_gib(proc.pid)
        if stopped is None and rss is not None and rss > guard_gib:
            stopped = f"killed by the RSS guard at {rss:.1f} GiB > {guard_gib} GiB"
            os.kill(proc.pid, signal.SIGKILL)
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    summary = out / "summary.json"
    counts = json.loads(summary.read_text(encoding="utf-8")).get("counts") if summary.exists() else None
    return {
        "exit_code": proc.returncode,
        "wall_seconds": round(wall, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "stopped": stopped,
        "stderr_tail": stderr[-400:],
        "counts": counts,
    }


def _rss_gib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        return None
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=200.0, help="size of the hostile record (MB)")
    ap.add_argument("--at-limit-mb", type=float, default=15.0, help="size of a record just under the limit (MB; 0: none)")
    ap.add_argument("--baseline", type=Path, help="a source tree of the code before (its dedup/ package is run)")
    ap.add_argument("--rss-guard-gib", type=float, default=18.0, help="kill a child that grows past this")
    ap.add_argument("--commands", default=",".join(COMMANDS))
    args = ap.parse_args(argv)
    commands = [c for c in args.commands.split(",") if c]
    from dedup.config import ReadConfig

    payload: dict[str, Any] = {
        "what": "peak RSS of each command on a JSONL feed of 5 ordinary articles and one huge record, --skip-bad",
        "record_limit_bytes": ReadConfig.max_record_bytes,
        "run_info": run_info(),
        "runs": {},
    }
    with tempfile.TemporaryDirectory(prefix="dedup-hostile-") as tmp:
        tmpdir = Path(tmp)
        feeds = {"hostile": (args.mb, tmpdir / "hostile.jsonl")}
        if args.at_limit_mb:
            feeds["at_limit"] = (args.at_limit_mb, tmpdir / "at_limit.jsonl")
        sizes = {name: write_feed(path, mb) for name, (mb, path) in feeds.items()}
        payload["record_bytes"] = sizes
        versions = [("after", None)] + ([("before", args.baseline.resolve())] if args.baseline else [])
        for feed_name, (_, path) in feeds.items():
            for version, code in versions:
                if feed_name == "at_limit" and version == "before":
                    continue  # the point of this feed is the new bound
                for command in commands:
                    out = tmpdir / f"out-{feed_name}-{version}-{command}"
                    res = run(command, path, out, code, args.rss_guard_gib, [])
                    payload["runs"].setdefault(feed_name, {}).setdefault(version, {})[command] = res
                    print(f"{feed_name:9s} {version:6s} {command:8s} exit {res['exit_code']:3d}  "
                          f"{res['wall_seconds']:8.1f} s  {res['peak_rss_mib']:9.1f} MiB  {res['stopped'] or ''}", flush=True)
    hostile = payload["runs"]["hostile"]
    if "before" in hostile:
        payload["peak_rss_ratio_before_over_after"] = {
            c: round(hostile["before"][c]["peak_rss_mib"] / hostile["after"][c]["peak_rss_mib"], 1) for c in commands
        }
    write_result("hostile_sizes", payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
