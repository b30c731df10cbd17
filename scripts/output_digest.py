"""Run every command on the seeds and the dev days and digest their outputs.

Used to check that a refactor changes no output: run it on the code before
and after, then compare the two digest files (``--compare A B``)::

    python3 scripts/output_digest.py --out /tmp/before.json      # on the old code
    python3 scripts/output_digest.py --out /tmp/after.json       # on the new code
    python3 scripts/output_digest.py --compare /tmp/before.json /tmp/after.json

Each output file is digested (SHA-256) whole, except ``summary.json``, whose
timings, stage names and bookkeeping differ from run to run: only its counts
are digested. ``--keep DIR`` leaves the outputs there for ``cmp``/``diff``.
The dev days (``../shared/data``) are skipped with a message when absent.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_saudinewsnet, repo_root, run_info, saudinewsnet_dir, write_dev_jsonl  # noqa: E402

SUMMARY_KEYS = ("counts", "articles", "events", "storylines", "groups")


def _digest_file(path: Path) -> str:
    if path.name == "summary.json":
        data = json.loads(path.read_text(encoding="utf-8"))
        kept = {k: data[k] for k in SUMMARY_KEYS if k in data}
        return "summary:" + hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(args: list[str], out: Path) -> dict[str, str]:
    cmd = [sys.executable, "-m", "dedup", *args] + ([] if args[0] == "similarity" else ["--quiet"])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=repo_root())
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip()[-500:]}"}
    files = [out] if out.is_file() else sorted(p for p in out.iterdir() if p.is_file())
    return {p.name: _digest_file(p) for p in files}


def _similarity_pairs(path: Path) -> None:
    """The labelled dev sample as a ``dedup similarity`` input (texts from the dev days)."""
    docs = {d["url"]: d for d in load_saudinewsnet(saudinewsnet_dir())}
    sample = repo_root() / "scripts" / "labels" / "saudinewsnet_dev_sample.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        for line in sample.read_text(encoding="utf-8").splitlines():
            p = json.loads(line)
            a, b = docs[p["id1"]], docs[p["id2"]]
            rec = {"id": p["pair"], "text1": a["content"], "text2": b["content"], "title1": a["title"], "title2": b["title"]}
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write the digests here (JSON)")
    ap.add_argument("--keep", type=Path, help="leave the outputs in this folder")
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"), help="compare two digest files")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask runs")
    args = ap.parse_args(argv)
    if args.compare:
        a, b = (json.loads(p.read_text())["runs"] for p in args.compare)
        differ = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        for k in differ:
            print(f"DIFFERENT {k}: {a.get(k)} vs {b.get(k)}")
        print(f"{len(set(a) | set(b)) - len(differ)} runs identical, {len(differ)} different")
        return 1 if differ else 0
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="dedup-digest-"))
    work.mkdir(parents=True, exist_ok=True)
    seeds = str(repo_root() / "seeds")
    runs: dict[str, list[str]] = {
        "dedupe-seeds": ["dedupe", seeds],
        "repeats-seeds": ["repeats", seeds],
        "stories-seeds": ["stories", seeds],
    }
    if saudinewsnet_dir() is not None:
        dev = work / "dev.jsonl"
        write_dev_jsonl(dev)
        pairs = work / "pairs.jsonl"
        _similarity_pairs(pairs)
        runs |= {
            "dedupe-dev": ["dedupe", str(dev)],
            "dedupe-dev-jobs2": ["dedupe", str(dev), "--jobs", "2"],
            "dedupe-dev-union-repeats": ["dedupe", str(dev), "--cluster", "union", "--repeats", "--keep", "longest"],
            "repeats-dev": ["repeats", str(dev)],
            "stories-dev": ["stories", str(dev)],
            "similarity-dev": ["similarity", str(pairs)],
        }
        if not args.no_dask:
            runs["dedupe-dev-dask2"] = ["dedupe", str(dev), "--backend", "dask", "--jobs", "2"]
    else:
        print("../shared/data/saudinewsnet absent: seeds only")
    digests: dict[str, dict[str, str]] = {}
    for name, cmd in runs.items():
        target = work / (name + ".jsonl" if cmd[0] == "similarity" else name)
        digests[name] = _run([*cmd, "--out", str(target)], target)
        print(name, "error" if "error" in digests[name] else "ok", flush=True)
    if args.out:
        args.out.write_text(json.dumps({"run": run_info(), "runs": digests}, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
