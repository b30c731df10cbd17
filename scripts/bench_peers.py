#!/usr/bin/env python3
"""Benchmark: ``dedup dedupe`` against the near-duplicate pipelines people reach for, same feeds, same run.

Target (issue): on both feeds, ``dedup dedupe`` (``--jobs 1``) takes no more wall
time than rensa's MinHash + LSH at threshold 0.8; the ratio is reported whatever it is.

Installs (only for the peers; dedup brings datasketch, numpy and xxhash)::

    pip install rensa                         # Rust MinHash + LSH
    python -m venv /tmp/peers_venv && /tmp/peers_venv/bin/pip install text-dedup datatrove tokenizers orjson 'xxhash<4'
    # then: --peer-python /tmp/peers_venv/bin/python

text-dedup and datatrove go in a virtualenv of their own because they pull in
pyspark, datasets, pandas and pyarrow versions that dedup's environment should not
get. datatrove 0.10 also needs ``tokenizers`` and ``orjson`` (imported, not
declared) and an xxhash before 4.0 (its default hash passes ``str``, which
xxhash 4 refuses). A peer whose module does not import is recorded as
``skipped`` with the error, and nothing is measured for it.

**Feeds** (written to a temp directory, never the repository): ``dev``, the
20,329 SaudiNewsNet dev articles as JSONL (``_common.write_dev_jsonl``), and
``synthetic``, 100,000 lines from ``scripts/make_synthetic_feed.py --size 100000
--seed 0`` (real dev text, ~30% injected copies of known base). ``--quick``
uses the first 2,000 dev articles and a 2,000-line synthetic feed, one
repetition, and writes to a temp file instead of ``results/``.

**Tools**, each run as its own subprocess (interpreter start, imports, reading,
every stage and writing are in the wall time):

* ``dedup_j1`` / ``dedup_j2``: ``dedup dedupe FEED --out DIR -q --no-report
  --jobs 1|2``, the CLI as a user runs it (peers write no HTML, so the report is
  left out; ``dedup_j1_report`` runs once per feed with it, for reference).
* ``rensa_0.8`` / ``rensa_0.5``: ``RMinHash.from_token_sets`` (its batch API,
  128 permutations) then ``RMinHashDeduplicator(threshold, use_lsh=True)``,
  the dedup path its README documents (LSH candidates checked against the
  estimated Jaccard): ``add_pairs`` flags each duplicate,
  ``get_duplicate_sets`` names what it duplicates; union-find over those edges.
* ``datasketch_bulk_0.5``: ``MinHash.bulk`` + ``MinHashLSH(threshold=0.5)``
  (``insertion_session``), every query hit a duplicate, union-find.
* ``datasketch_update_0.8``: a ``MinHash`` and ``update`` per distinct shingle,
  ``MinHashLSH(threshold=0.8)``, every hit a duplicate, union-find (the
  baseline of ``scripts/bench_dedupe.py``, on this script's text prep).
* ``simhash``: 64-bit SimHash in numpy (xxh3-64 of each distinct shingle, one
  vote per shingle), Hamming distance <= 3 found exactly by the pigeonhole rule
  (four 16-bit blocks: a pair within 3 bits agrees on one block entirely),
  union-find.
* ``text_dedup_0.8``: ``text_dedup.minhash`` (its CLI, in process: Hugging Face
  ``datasets`` JSON loading, 128 permutations, word 3-grams, xxh3, its own
  union-find; ``--debug`` dumps the clusters), its own ``\\W`` tokenization.
* ``datatrove_0.8``: datatrove's four MinHash stages under
  ``LocalPipelineExecutor`` (signatures, buckets, clusters, filter with the
  cluster ids), word 3-grams of its ``simplify_text`` with a whitespace word
  tokenizer, bands and rows of datasketch's optimum for 0.8 and 128 (9 x 13).
  It writes id and cluster per document, not the texts.

Peer text prep (rensa, datasketch, simhash): the id is ``id``, else ``url``,
else the line number; the text the first of ``text``, ``content``, ``maintext``,
``body`` (the names dedup's reader detects, in its order); lowercased, split on
whitespace; articles with fewer than 8 tokens (dedup's ``--min-tokens``) are
left alone, as dedup skips them; shingles are word 3-grams joined by a space.
The feed is read and sketched in chunks of 4,096 articles, so no peer holds
every shingle string at once.

**Measured** per tool and feed: wall seconds from spawn to exit (median and
every run), CPU seconds (user + sys of the child and the children it reaped),
peak RSS as the child's own ``VmHWM`` written at exit (``ru_maxrss`` from
``wait4`` would carry this process's high-water mark, see
``scripts/bench_scale.py``) and the highest sampled RSS sum of its process tree
(worker processes of ``--jobs 2``, text-dedup's ``num_proc``), stage seconds
(dedup: ``summary.json``; peers: their own timers). Tools run round-robin,
``--repeat`` rounds (3), each round starting one tool later, so that a change
of the machine's load hits all alike; the load average is recorded before every
run. The slow peers (``--once``: datasketch per-shingle, text-dedup, datatrove,
minutes per run on 100k) run in the first round only: one run places them far
from the tools the target compares. A run past ``--timeout`` seconds (300) is
stopped and recorded as ``timeout``, and that tool is not run again on that feed.

**Quality**: on ``dev``, pairwise DUP precision/recall/F1 against the 1,040
labelled pairs of ``scripts/labels/`` (dev sample and hard sample, also each
alone): a pair is predicted a duplicate when both ids are in one cluster (for
dedup, one duplicate group of ``decisions.jsonl``), scored with
``dedup.eval.pairwise_prf``; for dedup the number is checked against
``dedup.eval.run.evaluate_run`` (what ``dedup eval`` prints). dedup's learned
decision was fitted on these labels, so its numbers here are in-sample (the
out-of-fold ones are in ``results/fit_decision.json``); ``dedup_j1_rule``
(``--decision rule``) runs once on dev for reference. On ``synthetic``, the
recall of the injected copies (copy and base in one cluster), by kind.

Writes ``results/peers.json``. Usage::

    python scripts/bench_peers.py [--quick] [--repeat 3] [--timeout 300] [--peer-python /tmp/peers_venv/bin/python]
                                  [--tools dedup_j1,rensa_0.8,...] [--feeds dev,synthetic] [--synthetic FILE]

The module imports only the standard library at the top: the same file runs
the peers as children (``--child TOOL``), some in the peers' virtualenv.
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ExitWatch, load_average, repo_root, run_info, saudinewsnet_dir, tree_rss_mib, write_dev_jsonl, write_result  # noqa: E402

NUM_PERM = 128
SHINGLE_K = 3
MIN_TOKENS = 8  # dedup's ShingleConfig().min_tokens
CHUNK = 4096  # articles read and sketched at a time by the peers
SEED = 1
SAMPLE_EVERY = 0.2  # seconds between RSS samples of a child's process tree
SYNTHETIC_SIZE = 100_000
QUICK_SIZE = 2_000
TARGET_TOOL, BASELINE_TOOL = "dedup_j1", "rensa_0.8"
ONCE = ("datasketch_update_0.8", "text_dedup_0.8", "datatrove_0.8")  # minutes per run on 100k: one run places them
ID_FIELDS = ("id", "url")
TEXT_FIELDS = ("text", "content", "maintext", "body")
LABEL_SETS = (("dev_sample", "saudinewsnet_dev_sample.jsonl", "saudinewsnet_dev_labels.jsonl"),
              ("hard_sample", "saudinewsnet_hard_sample.jsonl", "saudinewsnet_hard_labels.jsonl"))


# =========================================================================== the peers (child side)
class Clock:
    """Seconds per stage, summed over the calls of a stage (a chunked loop times each chunk)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._start = time.perf_counter()

    def add(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - since
        return now

    def table(self) -> dict[str, float]:
        out = {k: round(v, 3) for k, v in self.seconds.items()}
        out["total"] = round(time.perf_counter() - self._start, 3)
        return out


def detect_fields(record: dict) -> tuple[str | None, str]:
    """The id and text field of a feed, from its first record (the names dedup's reader detects)."""
    id_field = next((f for f in ID_FIELDS if f in record), None)
    text_field = next((f for f in TEXT_FIELDS if f in record), None)
    if text_field is None:
        raise SystemExit(f"no text field among {TEXT_FIELDS} in the first record")
    return id_field, text_field


def peer_chunks(feed: Path, clock: Clock, ids: list[str]) -> Iterator[tuple[list[int], list[list[str]]]]:
    """Positions and word 3-gram shingle lists of the feed, ``CHUNK`` articles at a time.

    Appends every article's id to ``ids`` (position order). Articles with fewer
    than ``MIN_TOKENS`` whitespace tokens of lowercased text get no shingles and
    are not yielded.
    """
    fields: tuple[str | None, str] | None = None
    with open(feed, encoding="utf-8") as f:
        while True:
            t = time.perf_counter()
            records = []
            for line in f:
                if line.strip():
                    records.append(json.loads(line))
                    if len(records) == CHUNK:
                        break
            if not records:
                clock.add("read", t)
                return
            if fields is None:
                fields = detect_fields(records[0])
            id_field, text_field = fields
            base = len(ids)
            ids.extend(str(r[id_field]) if id_field else str(base + k) for k, r in enumerate(records))
            t = clock.add("read", t)
            positions, shingles = [], []
            for k, r in enumerate(records):
                tok = (r.get(text_field) or "").lower().split()
                if len(tok) >= MIN_TOKENS:
                    positions.append(base + k)
                    shingles.append([f"{a} {b} {c}" for a, b, c in zip(tok, tok[1:], tok[2:])])
            clock.add("shingle", t)
            yield positions, shingles


def write_groups(out: Path, ids: list[str], edges: Iterator[tuple[int, int]], clock: Clock) -> dict[str, int]:
    """Union-find over ``edges`` (position pairs), then ``decisions.jsonl``: id and group per article.

    The group is the id of the smallest member position, ``null`` for an article
    alone, as in dedup's ``decisions.jsonl``.
    """
    import numpy as np

    from dedup.cluster.groups import UnionFind

    t = time.perf_counter()
    uf = UnionFind(len(ids))
    edge_count = 0
    for a, b in edges:
        uf.union(int(a), int(b))
        edge_count += 1
    labels = uf.labels()
    sizes = np.bincount(labels, minlength=len(ids))
    t = clock.add("cluster", t)
    with open(out / "decisions.jsonl", "w", encoding="utf-8") as f:
        for pos, root in enumerate(labels.tolist()):
            group = ids[root] if sizes[root] > 1 else None
            f.write(json.dumps({"id": ids[pos], "group": group}, ensure_ascii=False))
            f.write("\n")
    clock.add("write", t)
    in_groups = sizes[sizes > 1]
    return {"articles": len(ids), "edges": edge_count, "groups": int(len(in_groups)),
            "articles_in_groups": int(in_groups.sum()), "duplicates": int(in_groups.sum() - len(in_groups))}


def peer_rensa(feed: Path, out: Path, params: dict, clock: Clock) -> dict[str, Any]:
    from rensa import RMinHash, RMinHashDeduplicator

    threshold = params["threshold"]
    dedup = RMinHashDeduplicator(threshold=threshold, num_perm=NUM_PERM, use_lsh=True, seed=SEED)
    ids: list[str] = []
    edges: list[tuple[int, int]] = []
    sketched = 0
    for positions, shingles in peer_chunks(feed, clock, ids):
        t = time.perf_counter()
        sketches = RMinHash.from_token_sets(shingles, num_perm=NUM_PERM, seed=SEED)
        t = clock.add("sketch", t)
        keep = dedup.add_pairs((str(p), m) for p, m in zip(positions, sketches))
        dropped = [k for k, kept in enumerate(keep) if not kept]
        for k, dups in zip(dropped, dedup.get_duplicate_sets([sketches[k] for k in dropped])):
            edges.extend((positions[k], int(key)) for key in dups if int(key) != positions[k])
        clock.add("lsh", t)
        sketched += len(positions)
    counts = write_groups(out, ids, iter(edges), clock)
    return {**counts, "sketched": sketched}


def peer_datasketch_bulk(feed: Path, out: Path, params: dict, clock: Clock) -> dict[str, Any]:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=params["threshold"], num_perm=NUM_PERM)
    ids: list[str] = []
    keys: list[int] = []
    sketches: list[MinHash] = []
    for positions, shingles in peer_chunks(feed, clock, ids):
        t = time.perf_counter()
        chunk = MinHash.bulk(([s.encode("utf-8") for s in sh] for sh in shingles), num_perm=NUM_PERM, seed=SEED)
        t = clock.add("sketch", t)
        with lsh.insertion_session() as session:
            for p, m in zip(positions, chunk):
                session.insert(p, m, check_duplication=False)
        clock.add("lsh_insert", t)
        keys.extend(positions)
        sketches.extend(chunk)
    t = time.perf_counter()
    edges = [(k, o) for k, m in zip(keys, sketches) for o in lsh.query(m) if o != k]
    clock.add("lsh_query", t)
    counts = write_groups(out, ids, iter(edges), clock)
    return {**counts, "sketched": len(keys), "lsh_bands_rows": [lsh.b, lsh.r]}


def peer_datasketch_update(feed: Path, out: Path, params: dict, clock: Clock) -> dict[str, Any]:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=params["threshold"], num_perm=NUM_PERM)
    ids: list[str] = []
    keys: list[int] = []
    sketches: list[MinHash] = []
    for positions, shingles in peer_chunks(feed, clock, ids):
        t = time.perf_counter()
        for p, sh in zip(positions, shingles):
            m = MinHash(num_perm=NUM_PERM, seed=SEED)
            for s in set(sh):
                m.update(s.encode("utf-8"))
            keys.append(p)
            sketches.append(m)
        clock.add("sketch", t)
    t = time.perf_counter()
    for k, m in zip(keys, sketches):
        lsh.insert(k, m)
    t = clock.add("lsh_insert", t)
    edges = [(k, o) for k, m in zip(keys, sketches) for o in lsh.query(m) if o != k]
    clock.add("lsh_query", t)
    counts = write_groups(out, ids, iter(edges), clock)
    return {**counts, "sketched": len(keys), "lsh_bands_rows": [lsh.b, lsh.r]}


def simhash_pairs(fp, max_distance: int = 3):
    """Position pairs ``(m, 2)`` of 64-bit fingerprints within ``max_distance`` bits, exactly.

    Pigeonhole: split into ``max_distance + 1`` blocks; two fingerprints within
    the distance agree on at least one block, so the pairs sharing a block value
    are the only candidates, checked by the popcount of their XOR.
    """
    import numpy as np

    blocks = max_distance + 1
    width = 64 // blocks
    found = []
    for b in range(blocks):
        key = (fp >> np.uint64(b * width)) & np.uint64((1 << width) - 1)
        order = np.argsort(key, kind="stable")
        sk = key[order]
        starts = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]])
        sizes = np.diff(np.r_[starts, len(sk)])
        for s, n in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist()):
            members = order[s : s + n]
            i, j = np.triu_indices(n, k=1)
            found.append(np.stack([members[i], members[j]], axis=1))
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    cand = np.unique(np.sort(np.concatenate(found), axis=1), axis=0)
    xor = fp[cand[:, 0]] ^ fp[cand[:, 1]]
    dist = np.unpackbits(xor.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)
    return cand[dist <= max_distance]


def peer_simhash(feed: Path, out: Path, params: dict, clock: Clock) -> dict[str, Any]:
    import numpy as np
    import xxhash

    h64 = xxhash.xxh3_64_intdigest
    ids: list[str] = []
    keys: list[int] = []
    fps: list = []
    for positions, shingles in peer_chunks(feed, clock, ids):
        t = time.perf_counter()
        distinct = [set(sh) for sh in shingles]
        lengths = np.array([len(d) for d in distinct], dtype=np.int64)
        hashes = np.fromiter((h64(s.encode("utf-8")) for d in distinct for s in d), dtype=np.uint64, count=int(lengths.sum()))
        starts = np.r_[0, np.cumsum(lengths)[:-1]]
        as_bytes = hashes.view(np.uint8).reshape(-1, 8)
        ones = np.empty((len(distinct), 8), dtype=np.uint8)
        for byte in range(8):  # a byte at a time: the whole (shingles, 64) vote matrix would take 256 bytes per shingle
            bits = np.unpackbits(as_bytes[:, byte : byte + 1], axis=1, bitorder="little").astype(np.int32)
            votes = np.add.reduceat(bits, starts, axis=0)
            ones[:, byte] = np.packbits(2 * votes > lengths[:, None], axis=1, bitorder="little").ravel()
        fps.append(ones.view(np.uint64).ravel())
        keys.extend(positions)
        clock.add("sketch", t)
    t = time.perf_counter()
    fp = np.concatenate(fps) if fps else np.empty(0, dtype=np.uint64)
    pairs = simhash_pairs(fp, params["max_distance"])
    keys_arr = np.asarray(keys, dtype=np.int64)
    clock.add("pairs", t)
    counts = write_groups(out, ids, iter(keys_arr[pairs].tolist()), clock)
    return {**counts, "sketched": len(keys)}


def peer_text_dedup(feed: Path, out: Path, params: dict, clock: Clock) -> dict[str, Any]:
    import pickle

    t = time.perf_counter()
    with open(feed, encoding="utf-8") as f:
        id_field, text_field = detect_fields(json.loads(f.readline()))
    from text_dedup.minhash import main as minhash_main

    t = clock.add("import", t)
    args = ["--path", "json", "--data_files", str(feed), "--split", "train", "--cache_dir", str(out / "hf_cache"),
            "--output", str(out / "deduplicated"), "--column", text_field, "--idx_column", id_field,
            "--ngram", str(SHINGLE_K), "--min_length", str(MIN_TOKENS), "--num_perm", str(NUM_PERM),
            "--threshold", str(params["threshold"]), "--hash_func", "xxh3", "--debug"]
    minhash_main(args=args, standalone_mode=False)
    t = clock.add("text_dedup_minhash", t)
    with open(out / "deduplicated" / "uf.pkl", "rb") as f:
        uf = pickle.load(f)
    clustered = [(str(i), str(uf.find(i))) for i in list(uf.parent)]
    with open(out / "decisions.jsonl", "w", encoding="utf-8") as f:
        for i, root in clustered:
            f.write(json.dumps({"id": i, "group": root}, ensure_ascii=False) + "\n")
    clock.add("write", t)
    return {"articles_in_groups": len(clustered), "groups": len({r for _, r in clustered}),
            "note": "decisions.jsonl lists clustered articles only; the others are singletons"}


def _datatrove_cluster_row(self, document) -> dict:
    return {"id": document.id, "cluster": document.metadata.get("minhash_cluster_id", -1)}


def peer_datatrove(feed: Path, out: Path, params: dict, clock: Clock) -> dict[str, Any]:
    t = time.perf_counter()
    with open(feed, encoding="utf-8") as f:
        id_field, text_field = detect_fields(json.loads(f.readline()))
    from datatrove.executor.local import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.word_tokenizers import WordTokenizer

    class Whitespace(WordTokenizer):
        def word_tokenize(self, text: str) -> list[str]:
            return text.split()

        def sent_tokenize(self, text: str) -> list[str]:
            return [text]

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [(0, len(text))]

    t = clock.add("import", t)
    bands, rows = params["bands_rows"]
    config = MinhashConfig(n_grams=SHINGLE_K, num_buckets=bands, hashes_per_bucket=rows, seed=SEED)

    def reader() -> JsonlReader:
        return JsonlReader(str(feed.parent), glob_pattern=feed.name, text_key=text_field, id_key=id_field or "id",
                           compression=None)

    work, logs = out / "datatrove", out / "datatrove_logs"
    stages = [
        ("signatures", [reader(), MinhashDedupSignature(output_folder=str(work / "sigs"), config=config, language=Whitespace())], 1),
        ("buckets", [MinhashDedupBuckets(input_folder=str(work / "sigs"), output_folder=str(work / "buckets"), config=config)], bands),
        ("clusters", [MinhashDedupCluster(input_folder=str(work / "buckets"), output_folder=str(work / "remove"), config=config,
                                          save_cluster_id=True)], 1),
        ("filter", [reader(),
                    MinhashDedupFilter(input_folder=str(work / "remove"), load_cluster_ids=True,
                                       exclusion_writer=JsonlWriter(str(out / "removed"), compression=None, adapter=_datatrove_cluster_row)),
                    JsonlWriter(str(out / "kept"), compression=None, adapter=_datatrove_cluster_row)], 1),
    ]
    for name, pipeline, tasks in stages:
        LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=min(tasks, 2), logging_dir=str(logs / name)).run()
        t = clock.add(name, t)
    rows_out = []
    for part in ("kept", "removed"):
        for path in sorted((out / part).glob("*.jsonl")):
            rows_out.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line)
    with open(out / "decisions.jsonl", "w", encoding="utf-8") as f:
        for r in rows_out:
            group = None if r["cluster"] == -1 else f"c{r['cluster']}"
            f.write(json.dumps({"id": str(r["id"]), "group": group}, ensure_ascii=False) + "\n")
    clock.add("write", t)
    return {"articles_read": len(rows_out), "articles_in_groups": sum(1 for r in rows_out if r["cluster"] != -1),
            "groups": len({r["cluster"] for r in rows_out if r["cluster"] != -1})}


PEERS: dict[str, Callable[[Path, Path, dict, Clock], dict[str, Any]]] = {
    "rensa": peer_rensa,
    "datasketch_bulk": peer_datasketch_bulk,
    "datasketch_update": peer_datasketch_update,
    "simhash": peer_simhash,
    "text_dedup": peer_text_dedup,
    "datatrove": peer_datatrove,
}


def child_main(kind: str, feed: Path, out: Path, hwm: Path, params: dict) -> int:
    """Run one peer: ``out/decisions.jsonl``, ``out/summary.json``; its VmHWM to ``hwm`` at exit."""

    def _write_hwm() -> None:
        with open("/proc/self/status", encoding="ascii") as status:
            kib = next(line.split()[1] for line in status if line.startswith("VmHWM"))
        hwm.write_text(kib)

    atexit.register(_write_hwm)
    out.mkdir(parents=True, exist_ok=True)
    clock = Clock()
    counts = PEERS[kind](feed, out, params, clock)
    summary = {"tool": kind, "params": params, "timings_seconds": clock.table(), "counts": counts}
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


# =========================================================================== the parent: tools and runs
class Tool:
    """One thing to time: a dedup CLI setting or a peer pipeline, with the interpreter that runs it."""

    def __init__(self, name: str, describe: str, *, cli: tuple[str, ...] = (), peer: str | None = None,
                 params: dict | None = None, module: str | None = None, dist: str | None = None, venv: bool = False):
        self.name, self.describe, self.cli, self.peer = name, describe, cli, peer
        self.params = params or {}
        self.module, self.dist, self.venv = module, dist, venv
        self.python = sys.executable
        self.version: str | None = None
        self.skip_reason: str | None = None


def make_tools(peer_python: str | None) -> list[Tool]:
    from datasketch import MinHashLSH

    lsh08 = MinHashLSH(threshold=0.8, num_perm=NUM_PERM)
    tools = [
        Tool("dedup_j1", "dedup dedupe FEED --out DIR -q --no-report --jobs 1", cli=("--no-report", "--jobs", "1"),
             module="dedup", dist="dedup"),
        Tool("dedup_j2", "dedup dedupe FEED --out DIR -q --no-report --jobs 2", cli=("--no-report", "--jobs", "2"),
             module="dedup", dist="dedup"),
        Tool("rensa_0.8", "rensa RMinHash.from_token_sets + RMinHashDeduplicator(threshold=0.8, use_lsh=True) + union-find",
             peer="rensa", params={"threshold": 0.8}, module="rensa", dist="rensa"),
        Tool("rensa_0.5", "rensa RMinHash.from_token_sets + RMinHashDeduplicator(threshold=0.5, use_lsh=True) + union-find",
             peer="rensa", params={"threshold": 0.5}, module="rensa", dist="rensa"),
        Tool("datasketch_bulk_0.5", "datasketch MinHash.bulk + MinHashLSH(threshold=0.5), every hit a duplicate, union-find",
             peer="datasketch_bulk", params={"threshold": 0.5}, module="datasketch", dist="datasketch"),
        Tool("datasketch_update_0.8", "datasketch MinHash.update per distinct shingle + MinHashLSH(threshold=0.8), every hit a duplicate, union-find",
             peer="datasketch_update", params={"threshold": 0.8}, module="datasketch", dist="datasketch"),
        Tool("simhash", "64-bit SimHash (numpy, xxh3-64 per distinct shingle), Hamming <= 3 by 4 x 16-bit blocks, union-find",
             peer="simhash", params={"max_distance": 3}, module="xxhash", dist="xxhash"),
        Tool("text_dedup_0.8", "text_dedup.minhash (in process): ngram 3, num_perm 128, threshold 0.8, xxh3, min_length 8",
             peer="text_dedup", params={"threshold": 0.8}, module="text_dedup", dist="text-dedup", venv=True),
        Tool("datatrove_0.8", f"datatrove MinHash stages 1-4, LocalPipelineExecutor, word 3-grams, {lsh08.b} bands x {lsh08.r} rows",
             peer="datatrove", params={"bands_rows": [lsh08.b, lsh08.r]}, module="datatrove", dist="datatrove", venv=True),
    ]
    for tool in tools:
        if tool.venv and peer_python:
            tool.python = peer_python
        code = f"import {tool.module}; from importlib.metadata import version; print(version({tool.dist!r}))"
        try:
            proc = subprocess.run([tool.python, "-c", code], capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            tool.skip_reason = f"{tool.python}: {exc}"
            continue
        if proc.returncode == 0:
            tool.version = proc.stdout.strip()
        else:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1]
            hint = " (pass --peer-python with a virtualenv that has it)" if tool.venv else f" (pip install {tool.dist})"
            tool.skip_reason = f"not importable by {tool.python}: {last}{hint}"
    return tools


def run_tool(tool: Tool, feed: Path, out: Path, timeout: float, rss_guard_mib: float, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """One run of ``tool`` on ``feed`` as a child process: wall, CPU, peak RSS, stage seconds, status."""
    from bench_scale import _CHILD  # dedup's CLI, writing its VmHWM at exit

    hwm = out.parent / f"{out.name}.vmhwm"
    if tool.peer is None:
        cmd = [tool.python, "-c", _CHILD, str(hwm), "dedupe", str(feed), "--out", str(out), "-q", *tool.cli, *extra]
    else:
        cmd = [tool.python, str(Path(__file__).resolve()), "--child", tool.peer, "--feed", str(feed), "--out", str(out),
               "--hwm", str(hwm), "--params", json.dumps(tool.params)]
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}  # text-dedup: no hub look-ups
    err_path = out.parent / f"{out.name}.stderr"
    load = load_average()
    stopped: dict[str, Any] | None = None
    tree_peak = 0.0
    with open(err_path, "w", encoding="utf-8") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=str(out.parent), start_new_session=True)
        watch = ExitWatch(proc.pid)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            elapsed = time.perf_counter() - t0
            rss = tree_rss_mib(proc.pid)
            tree_peak = max(tree_peak, rss)
            if stopped is None and (elapsed > timeout or rss > rss_guard_mib):
                stopped = {"reason": "timeout" if elapsed > timeout else "rss_guard", "after_seconds": round(elapsed, 1),
                           "tree_rss_mib": round(rss, 1)}
                os.killpg(proc.pid, signal.SIGTERM)  # the child's own session: it and its workers
            elif stopped is not None and elapsed > stopped["after_seconds"] + 15:
                os.killpg(proc.pid, signal.SIGKILL)
            watch.sleep(SAMPLE_EVERY)  # ends early when the child does: the wall time is not rounded up to a sample
        wall = time.perf_counter() - t0
        watch.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if stopped is not None:
        try:  # workers left in the group after the leader exited
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    err_path.unlink()
    peak = float(hwm.read_text()) / 1024 if hwm.exists() else None
    hwm.unlink(missing_ok=True)
    result: dict[str, Any] = {
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": None if peak is None else round(peak, 1),
        "peak_rss_tree_sampled_mib": round(tree_peak, 1),
        "load_average_before": load,
    }
    if stopped is not None or proc.returncode != 0 or not (out / "summary.json").exists():
        result["status"] = stopped["reason"] if stopped else "error"
        result["failure"] = {**(stopped or {}), "exit_code": proc.returncode, "stderr_tail": stderr[-2000:]}
        return result
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    result["status"] = "ok"
    result["stage_seconds"] = summary.get("timings_seconds")
    result["counts"] = summary.get("counts")
    result["decisions_sha256"] = hashlib.sha256((out / "decisions.jsonl").read_bytes()).hexdigest()
    return result


# =========================================================================== quality
def write_gold(folder: Path) -> dict[str, Path]:
    """The labelled pairs as ``dedup eval`` gold files (``id1``, ``id2``, ``label``): each set and both."""
    labels_dir = repo_root() / "scripts" / "labels"
    files: dict[str, Path] = {}
    every: list[dict] = []
    for name, sample_file, label_file in LABEL_SETS:
        if not (labels_dir / label_file).exists():
            continue
        sample = {r["pair"]: r for r in map(json.loads, (labels_dir / sample_file).read_text(encoding="utf-8").splitlines())}
        rows = [{"id1": sample[lab["pair"]]["id1"], "id2": sample[lab["pair"]]["id2"], "label": lab["label"]}
                for lab in map(json.loads, (labels_dir / label_file).read_text(encoding="utf-8").splitlines())]
        every.extend(rows)
        files[name] = folder / f"gold_{name}.jsonl"
        files[name].write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    if every:
        files["all"] = folder / "gold_all.jsonl"
        files["all"].write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in every), encoding="utf-8")
    return files


def clusters_of(run_dir: Path, feed_ids: list[str]) -> dict[str, str]:
    """Cluster of every article of the feed: its group in ``decisions.jsonl``, else its own."""
    from dedup.io.gold import read_run

    run = read_run(run_dir, "group")
    return {i: (run.get(i) or f"\x00{i}") for i in feed_ids}


def dev_quality(run_dir: Path, feed_ids: list[str], gold: dict[str, Path], is_dedup: bool) -> dict[str, Any]:
    """Pairwise DUP precision / recall / F1 on each set of labelled pairs (``dedup.eval.pairwise_prf``)."""
    from dedup.eval import pairwise_prf
    from dedup.eval.run import evaluate_run
    from dedup.io.gold import read_gold

    cluster = clusters_of(run_dir, feed_ids)
    out: dict[str, Any] = {}
    for name, path in gold.items():
        _, pairs = read_gold(path, {"DUP"})
        known = [(a, b, s) for a, b, s in pairs if a in cluster and b in cluster]
        score = pairwise_prf([cluster[a] == cluster[b] for a, b, _ in known], [s for _, _, s in known])
        out[name] = {**score, "pairs": len(known), "pairs_not_in_feed": len(pairs) - len(known)}
        if is_dedup:  # the same number as `dedup eval RUN --gold GOLD`
            out[name]["same_as_dedup_eval"] = evaluate_run(run_dir, path)["pairwise"] == score
    return out


def synthetic_quality(run_dir: Path, feed_ids: list[str], truth: list[tuple[str, str, str]]) -> dict[str, Any]:
    """Recall of the injected copies: copy and base in one cluster, overall and by kind."""
    cluster = clusters_of(run_dir, feed_ids)
    by_kind: dict[str, list[int]] = {}
    for copy, base, kind in truth:
        hit = int(cluster.get(copy, copy) == cluster.get(base, base))
        by_kind.setdefault(kind, []).append(hit)
    found = sum(sum(v) for v in by_kind.values())
    total = sum(len(v) for v in by_kind.values())
    return {"injected_copies": total, "found": found, "recall": round(found / total, 4) if total else None,
            "recall_by_kind": {k: round(sum(v) / len(v), 4) for k, v in sorted(by_kind.items())}}


def feed_ids_and_truth(feed: Path) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Ids in feed order (dedup's rule: ``id``, else ``url``, else position) and the injected copies."""
    ids, truth = [], []
    id_field: str | None = None
    with open(feed, encoding="utf-8") as f:
        for n, line in enumerate(f):
            r = json.loads(line)
            if n == 0:
                id_field = next((k for k in ID_FIELDS if k in r), None)
            ids.append(str(r[id_field]) if id_field else str(n))
            if r.get("truth"):
                truth.append((ids[-1], str(r["truth"]["base"]), r["truth"]["kind"]))
    return ids, truth


# =========================================================================== the parent: feeds, rounds, summary
def make_feeds(tmp: Path, quick: bool, wanted: list[str], synthetic: Path | None, data: Path | None) -> dict[str, dict[str, Any]]:
    feeds: dict[str, dict[str, Any]] = {}
    if "dev" in wanted:
        dev = tmp / "dev.jsonl"
        n = write_dev_jsonl(dev, data)
        command = "python3 -c \"import sys; sys.path.insert(0,'scripts'); from _common import write_dev_jsonl; write_dev_jsonl('dev.jsonl')\""
        if quick:
            lines = dev.read_text(encoding="utf-8").splitlines(keepends=True)[:QUICK_SIZE]
            dev.write_text("".join(lines), encoding="utf-8")
            n, command = len(lines), command + f"  (first {QUICK_SIZE} lines)"
        feeds["dev"] = {"path": dev, "articles": n, "command": command}
    if "synthetic" in wanted:
        size = QUICK_SIZE if quick else SYNTHETIC_SIZE
        if synthetic is not None:
            feeds["synthetic"] = {"path": synthetic, "command": f"given: {synthetic} (--synthetic)"}
        else:
            path = tmp / f"synthetic_{size}.jsonl"
            cmd = [sys.executable, str(repo_root() / "scripts" / "make_synthetic_feed.py"), "--size", str(size), "--out", str(path), "--seed", "0"]
            if data is not None:
                cmd += ["--data", str(data)]
            print(f"writing the synthetic feed: {' '.join(cmd)}", flush=True)
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            feeds["synthetic"] = {"path": path, "command": f"python3 scripts/make_synthetic_feed.py --size {size} --out synthetic_{size}.jsonl --seed 0"}
    for feed in feeds.values():
        feed["ids"], feed["truth"] = feed_ids_and_truth(feed["path"])
        feed["articles"] = len(feed["ids"])
        feed["mib"] = round(feed["path"].stat().st_size / 2**20, 1)
    return feeds


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and every value of the runs of one tool on one feed."""
    ok = [r for r in runs if r["status"] == "ok"]
    out: dict[str, Any] = {"status": "ok" if len(ok) == len(runs) else runs[-1]["status"], "runs": len(runs), "runs_ok": len(ok)}
    if not ok:
        out["failure"] = runs[-1].get("failure")
        out["wall_seconds_at_stop"] = runs[-1]["wall_seconds"]
        return out
    for key in ("wall_seconds", "cpu_seconds", "peak_rss_mib", "peak_rss_tree_sampled_mib"):
        values = [r[key] for r in ok if r[key] is not None]
        out[f"{key}_median"] = round(statistics.median(values), 3) if values else None
        out[f"{key}_all"] = values
    out["load_average_before_each"] = [r["load_average_before"] for r in runs]
    stages = ok[0].get("stage_seconds") or {}
    out["stage_seconds_median"] = {s: round(statistics.median((r.get("stage_seconds") or {}).get(s, 0.0) for r in ok), 3) for s in stages}
    out["counts"] = ok[0].get("counts")
    out["same_output_every_run"] = len({r["decisions_sha256"] for r in ok}) == 1
    if len(ok) < len(runs):
        out["failure"] = runs[-1].get("failure")
    return out


def predicted_pairs(run_dir: Path) -> dict[str, int]:
    """Groups, articles in groups and same-group pairs of a finished run's ``decisions.jsonl``."""
    from collections import Counter

    from dedup.io.gold import read_run

    sizes = Counter(g for g in read_run(run_dir, "group").values() if g is not None)
    sizes = Counter({g: n for g, n in sizes.items() if n > 1})
    return {"groups": len(sizes), "articles_in_groups": sum(sizes.values()),
            "same_group_pairs": sum(n * (n - 1) // 2 for n in sizes.values())}


def compile_bytecode() -> str:
    """Compile the bytecode of dedup's package and of this script, as ``pip install .`` does at install time.

    dedup runs here from the work tree (an editable install); with
    ``PYTHONDONTWRITEBYTECODE`` set (as on the project's machines) no ``.pyc``
    is ever cached, and every run would compile its modules from source
    (~0.1-0.15 s of a dev-days run) where an installed dedup, like the peers'
    installed packages, reads them ready. The files go to the git-ignored
    ``__pycache__`` folders; a run with the variable set still reads them.
    """
    import compileall

    root = repo_root()
    ok = compileall.compile_dir(str(root / "dedup"), quiet=1) and compileall.compile_file(str(Path(__file__).resolve()), quiet=1)
    for name in ("_common.py", "bench_scale.py"):
        ok = compileall.compile_file(str(Path(__file__).resolve().parent / name), quiet=1) and ok
    return "compiled before the runs, as pip install does" if ok else "compiling failed: some modules compile on every run"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"smoke test: {QUICK_SIZE}-article feeds, one repetition, result to a temp file")
    ap.add_argument("--repeat", type=int, default=None, help="rounds over the tools (default 3; 1 with --quick); medians are reported")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds before a run is stopped and recorded as a timeout")
    ap.add_argument("--rss-guard-gib", type=float, default=12.0, help="stop a run whose process tree passes this RSS (shared machine)")
    ap.add_argument("--tools", default=None, help="comma-separated tool names (default: all)")
    ap.add_argument("--once", default=",".join(ONCE), help="tools run in the first round only (the slow ones; default: %(default)s)")
    ap.add_argument("--feeds", default="dev,synthetic", help="comma-separated: dev, synthetic")
    ap.add_argument("--synthetic", type=Path, default=None, help="use this synthetic feed instead of writing one")
    ap.add_argument("--peer-python", default=os.environ.get("PEERS_PYTHON"), help="interpreter with text-dedup and datatrove (default $PEERS_PYTHON)")
    ap.add_argument("--data", type=Path, default=None, help="folder of the SaudiNewsNet dev zips")
    ap.add_argument("--tmp", type=Path, default=None, help="parent folder of the temp directory (default $TMPDIR)")
    ap.add_argument("--result", type=Path, default=None, help="write here instead of results/peers.json (--quick: a temp file)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--feed", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--hwm", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child_main(args.child, args.feed, args.out, args.hwm, json.loads(args.params))

    folder = saudinewsnet_dir(args.data)
    if folder is None:
        print("bench_peers: SaudiNewsNet dev zips not found (../shared/data/saudinewsnet/dataset); nothing to do.")
        return 0
    repeat = args.repeat or (1 if args.quick else 3)
    tools = make_tools(args.peer_python)
    if args.tools:
        wanted = set(args.tools.split(","))
        unknown = wanted - {t.name for t in tools}
        if unknown:
            ap.error(f"unknown tools: {', '.join(sorted(unknown))}; known: {', '.join(t.name for t in tools)}")
        tools = [t for t in tools if t.name in wanted]
    for t in tools:
        print(f"{t.name}: {'version ' + t.version if t.version else 'SKIPPED: ' + str(t.skip_reason)}", flush=True)
    active = [t for t in tools if t.skip_reason is None]
    once = set(filter(None, args.once.split(",")))
    by_name = {t.name: t for t in tools}

    info = run_info()
    info["bytecode"] = compile_bytecode()
    load_start = load_average()
    with tempfile.TemporaryDirectory(prefix="dedup_peers_", dir=args.tmp) as tmpdir:
        tmp = Path(tmpdir)
        feeds = make_feeds(tmp, args.quick, args.feeds.split(","), args.synthetic, folder)
        gold = write_gold(tmp)
        results: dict[str, dict[str, Any]] = {}
        for feed_name, feed in feeds.items():
            print(f"== {feed_name}: {feed['articles']} articles, {feed['mib']} MiB; load {load_average()}", flush=True)
            runs: dict[str, list[dict[str, Any]]] = {t.name: [] for t in active}
            kept: dict[str, Path] = {}
            work = tmp / f"runs_{feed_name}"
            work.mkdir()
            for r in range(repeat):
                order = active[r % len(active):] + active[: r % len(active)] if active else []
                for tool in order:
                    if runs[tool.name] and (runs[tool.name][-1]["status"] != "ok" or tool.name in once):
                        continue  # run once by choice, or stopped or failed once on this feed: not again
                    out = work / f"{tool.name}.{r}"
                    res = run_tool(tool, feed["path"], out, args.timeout, args.rss_guard_gib * 1024)
                    runs[tool.name].append(res)
                    print(f"  [{r + 1}/{repeat}] {tool.name:<22} {res['status']:<8} {res['wall_seconds']:8.2f} s wall "
                          f"{res['cpu_seconds']:8.2f} s cpu  peak {res['peak_rss_mib']} MiB (tree {res['peak_rss_tree_sampled_mib']})"
                          f"  load {res['load_average_before']}", flush=True)
                    if res["status"] != "ok":
                        print("    " + res["failure"]["stderr_tail"][-600:].replace("\n", "\n    "), flush=True)
                    if res["status"] == "ok" and tool.name not in kept:
                        kept[tool.name] = out
                    else:
                        shutil.rmtree(out, ignore_errors=True)
            # reference runs, once: dedup with its report; on dev, dedup's rule decision
            references = [("dedup_j1_report", ())]
            if feed_name == "dev":
                references.append(("dedup_j1_rule", ("--decision", "rule")))
            if "dedup_j1" in {t.name for t in active}:
                for ref_name, extra in references:
                    base = by_name["dedup_j1"]
                    ref = Tool(ref_name, f"dedup dedupe FEED --out DIR -q --jobs 1 {' '.join(extra)}".strip(),
                               cli=("--jobs", "1"), module="dedup", dist="dedup")
                    ref.version = base.version
                    out = work / ref_name
                    res = run_tool(ref, feed["path"], out, args.timeout, args.rss_guard_gib * 1024, extra)
                    print(f"  [ref] {ref_name:<22} {res['status']:<8} {res['wall_seconds']:8.2f} s wall  peak {res['peak_rss_mib']} MiB", flush=True)
                    runs[ref_name] = [res]
                    by_name.setdefault(ref_name, ref)
                    if res["status"] == "ok":
                        kept[ref_name] = out
            feed_result: dict[str, Any] = {}
            for name, rs in runs.items():
                if not rs:
                    continue
                summary = summarize(rs)
                if name in kept:
                    summary["predicted"] = predicted_pairs(kept[name])
                    if feed_name == "dev" and gold:
                        summary["dup_pairs"] = dev_quality(kept[name], feed["ids"], gold, by_name[name].peer is None)
                    if feed["truth"]:
                        summary["injected_copies"] = synthetic_quality(kept[name], feed["ids"], feed["truth"])
                feed_result[name] = summary
            shutil.rmtree(work, ignore_errors=True)
            results[feed_name] = feed_result

    ratios: dict[str, Any] = {}
    for feed_name, feed_result in results.items():
        d, b = feed_result.get(TARGET_TOOL, {}), feed_result.get(BASELINE_TOOL, {})
        dw, bw = d.get("wall_seconds_median"), b.get("wall_seconds_median")
        ratios[feed_name] = {
            "dedup_j1_wall_seconds": dw,
            "rensa_0.8_wall_seconds": bw,
            "dedup_over_rensa_0.8_wall": round(dw / bw, 3) if dw and bw else None,
            "dedup_j2_over_rensa_0.8_wall": round(feed_result["dedup_j2"]["wall_seconds_median"] / bw, 3)
            if bw and feed_result.get("dedup_j2", {}).get("wall_seconds_median") else None,
            "dedup_over_rensa_0.8_peak_rss": round(d["peak_rss_mib_median"] / b["peak_rss_mib_median"], 3)
            if d.get("peak_rss_mib_median") and b.get("peak_rss_mib_median") else None,
            "target_met": (dw <= bw) if dw and bw else None,
        }
    payload = {
        "benchmark": "peers",
        "question": "wall time, peak RSS and DUP-pair quality of `dedup dedupe` against peer near-duplicate pipelines "
                    "(rensa, datasketch, SimHash, text-dedup, datatrove) on the same feeds, interleaved in one run",
        "target": {"dedup_wall_at_most_rensa_0.8_wall": True, "judged_on": f"{TARGET_TOOL} vs {BASELINE_TOOL}, median wall seconds, each feed"},
        "result": ratios,
        "feeds": {name: {k: v for k, v in f.items() if k in ("articles", "mib", "command")} | {"injected_copies": len(f["truth"])}
                  for name, f in feeds.items()},
        "tools": {t.name: {"pipeline": t.describe, "python": "peers virtualenv" if t.venv and t.python != sys.executable else "dedup's",
                           "version": t.version, **({"skipped": t.skip_reason} if t.skip_reason else {})} for t in by_name.values()},
        "runs": results,
        "notes": [
            "Wall time: from spawning the child to its exit (interpreter start, imports, reading the JSONL, every stage, writing). "
            "dedup writes unique.jsonl, decisions.jsonl, pairs.jsonl and summary.json (--no-report: no report.html; dedup_j1_report "
            "is the same with the report, once); the peers write an id and a group per article (text-dedup also saves its "
            "deduplicated dataset; datatrove writes id and cluster per document, not the texts).",
            "Peer text prep (rensa, datasketch, simhash): lowercased text split on whitespace, articles under 8 tokens left alone "
            "(as dedup skips them), word 3-gram shingle strings; read and sketched 4,096 articles at a time. dedup uses its own "
            "normalizer (Arabic folding, punctuation, digits), boilerplate removal and min_tokens 8. text-dedup splits on \\W after "
            "lowercasing; datatrove applies its simplify_text (lowercase, punctuation, digits, diacritics) and a whitespace tokenizer.",
            "LSH hits are taken as duplicates as they come for datasketch and text-dedup and datatrove (their buckets); rensa's "
            "deduplicator checks each candidate's estimated Jaccard against its threshold; dedup verifies every candidate with "
            "exact scores and its learned decision. Groups: union-find (connected components) for every peer; dedup's default "
            "--cluster star (no chains).",
            "Peak RSS: peak_rss_mib is the child's own VmHWM at exit (the main process only); peak_rss_tree_sampled_mib is the "
            "highest sum of VmRSS over the child and its descendants, sampled every 0.2 s (includes --jobs 2 workers and "
            "text-dedup's num_proc workers; short peaks can be missed). CPU seconds: user + sys of the child and the children it reaped.",
            "rensa may use several threads inside a call (Rayon); its cpu_seconds show how much. The machine has 2 cores shared "
            "with other work: the load average before each run is recorded; compare ratios within a feed rather than seconds across runs.",
            "dup_pairs: pairwise DUP precision/recall/F1 on the labelled pairs of scripts/labels (dedup.eval.pairwise_prf), a pair "
            "predicted a duplicate when both ids share a cluster. dedup's learned decision (the default) was fitted on these 1,040 "
            "labels: its numbers here are in-sample; results/fit_decision.json has the out-of-fold ones. dedup_j1_rule "
            "(--decision rule, thresholds chosen on the 240 dev-sample labels) is the reference without the model.",
            "injected_copies (synthetic feed): recall of the generator's injected copies (copy and its base in one cluster); "
            "precision on the synthetic feed is measured by scripts/bench_scale.py for dedup, not here.",
        ],
        "config": {"num_perm": NUM_PERM, "shingles": f"word {SHINGLE_K}-grams", "min_tokens": MIN_TOKENS, "seed": SEED,
                   "repeat": repeat, "timeout_seconds": args.timeout, "quick": args.quick, "peer_chunk_articles": CHUNK,
                   "order": "round-robin over the tools, each round starting one tool later; a tool stopped or failed on a feed is not run again there",
                   "run_once": sorted(once)},
        "load_average_before": load_start,
        "load_average_after": load_average(),
        "run": info,
    }
    if args.result is not None or args.quick:
        path = args.result or Path(tempfile.gettempdir()) / "peers_quick.json"
        path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path}")
    else:
        write_result("peers", payload)
    for feed_name, r in ratios.items():
        print(f"{feed_name}: dedup_j1 {r['dedup_j1_wall_seconds']} s vs rensa_0.8 {r['rensa_0.8_wall_seconds']} s wall: "
              f"ratio {r['dedup_over_rensa_0.8_wall']} (target <= 1: {'met' if r['target_met'] else 'NOT met' if r['target_met'] is False else 'n/a'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
