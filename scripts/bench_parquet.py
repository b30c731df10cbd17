#!/usr/bin/env python3
"""Benchmark: ``dedup dedupe`` on one synthetic feed as JSONL and as Parquet — wall time, peak RSS, their ratio.

Issue 17 ("The formats data teams already have") reads Parquet in record
batches so that memory stays bounded like the JSONL path. This measures it:

1. ``scripts/make_synthetic_feed.py`` writes a feed of ``--n`` articles
   (default 1,000,000) as JSONL into a temp folder (``--tmp``; never the
   repository: it holds dev text). Skips with a message (exit 0) when the
   SaudiNewsNet dev zips are absent.
2. The same records are written to one Parquet file with pyarrow (columns
   ``id``, ``title``, ``text``, ``date``, ``source`` as strings and ``truth`` a
   struct, row groups of ``--row-group-rows`` rows, snappy compression:
   pyarrow's defaults apart from the row-group size).
3. ``dedup dedupe FEED --out DIR -q`` runs on each in a child process,
   measured by ``scripts/bench_scale.py``'s ``run_cli``: wall time from start
   to exit, and peak RSS as the child's own ``VmHWM`` (see that script for
   why ``ru_maxrss`` is no good). JSONL runs first, then Parquet; the
   machine's load average before each run is recorded.
4. The two ``decisions.jsonl`` must be byte-identical (the same articles,
   ids and decisions, whatever the format): ``decisions_identical``.

Writes ``results/parquet_read.json``: ``n``, both runs, and the ratios
Parquet / JSONL of wall time, CPU time, peak RSS and the normalize stage
(which includes reading the feed: it streams through it). Usage::

    python scripts/bench_parquet.py [--n 1000000] [--row-group-rows 65536] [--tmp /tmp] [--keep]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import repo_root, run_info, saudinewsnet_dir, write_result  # noqa: E402
from bench_scale import run_cli  # noqa: E402
from make_synthetic_feed import generate, provenance_path  # noqa: E402


def to_parquet(feed: Path, out: Path, row_group_rows: int) -> dict[str, Any]:
    """Write the records of a JSONL feed to one Parquet file, ``row_group_rows`` rows per row group."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    text = pa.string()
    schema = pa.schema([("id", text), ("title", text), ("text", text), ("date", text), ("source", text),
                        ("truth", pa.struct([("base", text), ("kind", text)]))])
    t0 = time.perf_counter()
    rows = 0
    with open(feed, encoding="utf-8") as f, pq.ParquetWriter(out, schema) as writer:
        chunk: list[dict[str, Any]] = []
        for line in f:
            chunk.append(json.loads(line))
            if len(chunk) == row_group_rows:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema), row_group_size=row_group_rows)
                rows += len(chunk)
                chunk = []
        if chunk:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema), row_group_size=row_group_rows)
            rows += len(chunk)
    meta = pq.ParquetFile(out).metadata
    return {"rows": rows, "bytes": out.stat().st_size, "row_groups": meta.num_row_groups, "row_group_rows": row_group_rows,
            "compression": meta.row_group(0).column(0).compression, "pyarrow": pa.__version__,
            "write_seconds": round(time.perf_counter() - t0, 2)}


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if not a or b is None else round(b / a, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="articles in the feed")
    parser.add_argument("--row-group-rows", type=int, default=65536, help="rows per Parquet row group")
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument("--data", type=Path, default=None, help="folder of SaudiNewsNet dev zips")
    parser.add_argument("--tmp", type=Path, default=Path(tempfile.gettempdir()), help="where the feeds and outputs go (outside the repo)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds before a dedupe run is stopped")
    parser.add_argument("--rss-guard-gib", type=float, default=12.0, help="stop a run whose RSS passes this (protects the shared machine)")
    parser.add_argument("--keep", action="store_true", help="keep the temp feeds and outputs")
    parser.add_argument("--name", default="parquet_read", help="results/<name>.json")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be >= 1")
    data = saudinewsnet_dir(args.data)
    if data is None:
        print(f"SaudiNewsNet dev zips not found ({args.data or 'shared/data/saudinewsnet/dataset'}); nothing measured")
        return 0
    work = Path(tempfile.mkdtemp(prefix="bench_parquet_", dir=args.tmp)).resolve()
    if repo_root() in work.parents:
        parser.error("--tmp must be outside the repository (the feeds hold dev text)")
    info = run_info()
    print(f"work dir {work}", flush=True)
    try:
        jsonl = work / "feed.jsonl"
        stats = generate(args.n, jsonl, data, args.seed)
        provenance_path(jsonl).unlink(missing_ok=True)  # only bench_scale's quality measure needs it
        print(f"feed: {args.n} articles, {jsonl.stat().st_size / 2**20:.0f} MiB JSONL in {stats.seconds} s", flush=True)
        parquet = work / "feed.parquet"
        pq_info = to_parquet(jsonl, parquet, args.row_group_rows)
        print(f"parquet: {pq_info['bytes'] / 2**20:.0f} MiB, {pq_info['row_groups']} row groups, {pq_info['write_seconds']} s", flush=True)
        runs: dict[str, dict[str, Any]] = {}
        for fmt, feed in (("jsonl", jsonl), ("parquet", parquet)):
            runs[fmt] = run_cli("dedupe", feed, work / f"out_{fmt}", args.timeout, args.rss_guard_gib * 1024)
            r = runs[fmt]
            print(f"[{fmt}] {r['status']}: {r['wall_seconds']} s wall, peak RSS {r['peak_rss_mib']:.0f} MiB", flush=True)
        ok = all(r["status"] == "ok" for r in runs.values())
        identical = ok and (work / "out_jsonl" / "decisions.jsonl").read_bytes() == (work / "out_parquet" / "decisions.jsonl").read_bytes()
        j, p = runs["jsonl"], runs["parquet"]
        payload = {
            "run": info,
            "n": args.n,
            "config": {"seed": args.seed, "row_group_rows": args.row_group_rows, "timeout_seconds": args.timeout,
                       "rss_guard_gib": args.rss_guard_gib, "dedup_options": "defaults (--jobs 1, --output-format jsonl)"},
            "feed": {"generator": "scripts/make_synthetic_feed.py", "jsonl_bytes": jsonl.stat().st_size,
                     "generate_seconds": stats.seconds, "parquet": pq_info},
            "jsonl": j,
            "parquet": p,
            "ratio_parquet_to_jsonl": {
                "wall_seconds": _ratio(j["wall_seconds"], p["wall_seconds"]),
                "cpu_seconds": _ratio(j["cpu_seconds"], p["cpu_seconds"]),
                "peak_rss_mib": _ratio(j["peak_rss_mib"], p["peak_rss_mib"]),
                "normalize_stage_seconds (includes reading)": _ratio(j.get("stage_seconds", {}).get("normalize"),
                                                                    p.get("stage_seconds", {}).get("normalize")),
            },
            "decisions_identical": identical,
            "notes": (
                "Wall time is sensitive to the machine's load (load_average_before of each run: other work on a "
                "shared 2-core machine slows both runs, not always equally); cpu_seconds (user + system of the "
                "child) is the steadier comparison. Peak RSS is the child's VmHWM; the Parquet run also holds "
                "the pyarrow library (~60 MiB) and its read buffers."
            ),
        }
        write_result(args.name, payload)
        print(json.dumps(payload["ratio_parquet_to_jsonl"]), f"decisions identical: {identical}", flush=True)
        return 0 if ok and identical else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
