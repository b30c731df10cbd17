#!/usr/bin/env python3
"""Benchmark: batch passage alignment of candidate pairs vs the existing verification scores.

Issue 11, item 1: passage alignment (:mod:`dedup.text.align`) as a
verification feature. What it costs next to :func:`dedup.verify.score_pairs`
(Jaccard, containment both ways, TF-IDF cosine), measured in the same run on
the same candidate pairs, and what it adds to the feature store.

Inputs, built differently:

* ``synthetic``: ``scripts/make_synthetic_feed.py --size N`` (real dev text
  with injected copies of known kinds), written to a temp directory;
* ``saudinewsnet``: the SaudiNewsNet dev days as they are (``write_dev_jsonl``);
  skipped, with a note in the result, when ``../shared/data`` is absent.

For each: the feed is prepared and its candidate pairs are found exactly as
``dedup dedupe`` does (:func:`dedup.flows.prepare.prepare_stream`, then
anchors and LSH banding via :func:`dedup.candidates.candidate_pairs`), with
one process. Then, on the feature store of that run, ``score_pairs`` (with
its IDF fitted as the flow fits it) and :func:`dedup.text.align.align_rows`
are timed alternately ``--repeat`` times each (medians; the order alternates
so that a change of the machine's load hits both alike). Reported: seconds,
microseconds per candidate pair, milliseconds per 1k articles, the ratio
align / score, the feature store's bytes per stored article by file (the
``kgrams`` file is the addition), the sketch stage's added work (making the
k-gram sequences, next to the token hashing they start from), and
``os.getloadavg()`` before and after.
For the synthetic feed, the aligned shares of the (original, injected copy)
candidate pairs by kind of copy, next to their Jaccard.

``sweep`` (needs the dev data and ``scripts/labels``): how the choice of
``k``, ``gap`` and ``min_tokens`` (:class:`dedup.text.align.AlignConfig`)
was made. One-dimensional slices around the defaults, each scored on: the
240 hand-labelled dev pairs (ROC AUC of the larger share, DUP vs the rest),
20k random pairs of unrelated dev articles of the same day (fraction with
any passage: chance passages), and 600 dev articles with 5/10/20% of their
words substituted by random words (mean share of the edited copy; 1 would
be all of it), plus a rewritten lead (first 30% of the words replaced: the
ideal share is 0.7).

Writes ``results/bench_align.json``. Usage::

    python scripts/bench_align.py [--size 5000] [--repeat 3] [--data DIR] [--no-sweep]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_average, load_saudinewsnet, run_info, saudinewsnet_dir, write_dev_jsonl, write_result  # noqa: E402

from dedup.candidates import anchor_keys, candidate_pairs  # noqa: E402
from dedup.config import DedupConfig  # noqa: E402
from dedup.exec import open_executor  # noqa: E402
from dedup.flows.prepare import prepare_stream, prepare_texts  # noqa: E402
from dedup.flows.timer import StageTimer  # noqa: E402
from dedup.io.readers import read_articles  # noqa: E402
from dedup.runtime import Runtime  # noqa: E402
from dedup.sketch.features import KGRAM_TOKENS, kgram_sequences  # noqa: E402
from dedup.store.spill import temporary_space  # noqa: E402
from dedup.text.align import AlignConfig, align_pairs, align_rows  # noqa: E402
from dedup.text.shingle import token_hashes  # noqa: E402
from dedup.verify import fit_idf, score_pairs  # noqa: E402

HERE = Path(__file__).resolve().parent
LABELS = HERE / "labels"


def _timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def bench_feed(jsonl: Path, repeat: int, truth: dict[str, dict] | None = None) -> dict[str, Any]:
    """Prepare ``jsonl`` as dedupe does, find its candidates, then time scoring vs alignment on them."""
    config, runtime = DedupConfig(), Runtime()
    articles, _ = read_articles(jsonl)
    load_before = load_average()
    with open_executor(runtime) as executor, temporary_space(runtime.temp_dir) as tmp:
        timer = StageTimer()
        feed = prepare_stream(articles, config, executor, tmp, runtime.chunk_size, timer)
        with timer("candidates"):
            anchored = anchor_keys(*feed.anchors, config.index) if config.index.anchors else None
            cands = candidate_pairs(feed.signatures, np.arange(len(feed.rep_pos)), anchored, config.index,
                                    config.minhash, sizes=feed.sizes, banding=executor.lsh_pairs)
        pairs = cands.pairs
        digest = feed.digest[feed.rep_pos]
        idf_s, idf = _timed(lambda: fit_idf(feed.store))
        score_pairs(feed.store, pairs[:200], digest, idf)  # warm up (imports, caches): not timed
        align_rows(feed.store, pairs[:200])
        score_s, align_s = [], []
        for r in range(repeat):  # alternate, so that a change of load hits both alike
            first, second = ("score", "align") if r % 2 == 0 else ("align", "score")
            for what in (first, second):
                if what == "score":
                    s, scores = _timed(lambda: score_pairs(feed.store, pairs, digest, idf))
                    score_s.append(s)
                else:
                    s, aligned = _timed(lambda: align_rows(feed.store, pairs))
                    align_s.append(s)
        store_files: dict[str, int] = {}  # by kind: the store's own files and any worker's ({prefix}.{kind}.u32)
        for p in Path(feed.store.directory).glob("*.u32"):
            kind = p.stem.rsplit(".", 1)[-1]
            store_files[kind] = store_files.get(kind, 0) + p.stat().st_size
        n_rows = len(feed.store)
        by_kind = _shares_by_kind(articles, feed.rep_pos, pairs, scores, aligned, truth) if truth else None
        feed.store.close()
    # The sketch stage's added work: the k-gram sequences, next to the token hashing they start from.
    with open_executor(runtime) as executor:
        contents, _, _ = prepare_texts([a.text for a in articles], [a.source for a in articles], config, executor)
    th_s, (th, to) = _timed(lambda: token_hashes(contents))
    kg_s, _ = _timed(lambda: kgram_sequences(th, to))
    load_after = load_average()
    n, m = len(articles), len(pairs)
    score_med, align_med = statistics.median(score_s), statistics.median(align_s)
    other = sum(v for k, v in store_files.items() if k != "kgrams")
    return {
        "input": str(jsonl.name),
        "articles": n,
        "stored_articles": n_rows,
        "candidate_pairs": m,
        "stage_seconds_prepare": {k: round(v, 3) for k, v in timer.seconds.items()},
        "fit_idf_seconds": round(idf_s, 4),
        "score_pairs_seconds": [round(x, 4) for x in score_s],
        "align_rows_seconds": [round(x, 4) for x in align_s],
        "score_pairs_us_per_pair": round(1e6 * score_med / max(m, 1), 3),
        "align_rows_us_per_pair": round(1e6 * align_med / max(m, 1), 3),
        "score_pairs_ms_per_1k_articles": round(1e6 * score_med / max(n, 1), 3),
        "align_rows_ms_per_1k_articles": round(1e6 * align_med / max(n, 1), 3),
        "ratio_align_over_score": round(align_med / score_med, 3) if score_med else None,
        "store_bytes_per_stored_article": {k: round(v / max(n_rows, 1), 1) for k, v in sorted(store_files.items())},
        "kgram_bytes_per_stored_article": round(store_files.get("kgrams", 0) / max(n_rows, 1), 1),
        "kgram_bytes_over_other_files": round(store_files.get("kgrams", 0) / other, 3) if other else None,
        "kgram_offsets_bytes_in_memory_per_stored_article": 8,
        "sketch_token_hashes_ms_per_1k_articles": round(1e6 * th_s / max(n, 1), 3),
        "sketch_kgram_sequences_ms_per_1k_articles": round(1e6 * kg_s / max(n, 1), 3),
        "pairs_with_any_passage": round(float((aligned.longest > 0).mean()), 4) if m else None,
        "shares_by_copy_kind": by_kind,
        "load_average_before": load_before,
        "load_average_after": load_after,
    }


def _shares_by_kind(articles: list, rep_pos: np.ndarray, pairs: np.ndarray, scores: Any, aligned: Any,
                    truth: dict[str, dict]) -> dict[str, Any]:
    """Median scores of the candidate pairs (original, injected copy), by kind of copy."""
    ids = [a.id for a in articles]
    a_id = np.array(ids, dtype=object)[rep_pos[pairs]] if len(pairs) else np.zeros((0, 2), dtype=object)
    rows: dict[str, list[tuple[float, float, float, float]]] = {}
    for p, (x, y) in enumerate(a_id.tolist()):
        for copy, base, c_side in ((x, y, 0), (y, x, 1)):
            t = truth.get(copy)
            if t and t.get("base") == base:
                share_copy = aligned.share_ij[p] if c_side == 0 else aligned.share_ji[p]
                share_base = aligned.share_ji[p] if c_side == 0 else aligned.share_ij[p]
                rows.setdefault(t["kind"], []).append(
                    (scores.jaccard[p], share_copy, share_base, float(aligned.longest[p])))
    out = {}
    for kind, vals in sorted(rows.items()):
        arr = np.array(vals)
        out[kind] = {
            "pairs": len(vals),
            "median_jaccard_word3": round(float(np.median(arr[:, 0])), 3),
            "median_share_of_copy": round(float(np.median(arr[:, 1])), 3),
            "median_share_of_original": round(float(np.median(arr[:, 2])), 3),
            "median_longest_tokens": float(np.median(arr[:, 3])),
        }
    return out


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """ROC AUC (ties count half)."""
    from scipy.stats import rankdata

    r = rankdata(np.concatenate([pos, neg]))
    return float((r[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def sweep(data_dir: Path) -> dict[str, Any]:
    """Slices of (k, gap, min_tokens) around the defaults, on labelled, unrelated and edited dev pairs."""
    t0 = time.perf_counter()
    docs = load_saudinewsnet(data_dir)
    pos = {d["url"]: i for i, d in enumerate(docs)}
    contents, _, _ = prepare_texts([d.get("content") or "" for d in docs], None, DedupConfig(), _serial())
    sample = {}
    for line in (LABELS / "saudinewsnet_dev_sample.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        sample[rec["pair"]] = rec
    labels = [json.loads(x) for x in (LABELS / "saudinewsnet_dev_labels.jsonl").read_text(encoding="utf-8").splitlines()]
    labelled = np.array([(pos[sample[x["pair"]]["id1"]], pos[sample[x["pair"]]["id2"]]) for x in labels])
    dup = np.array([x["label"] == "DUP" for x in labels])

    rng = np.random.default_rng(0)
    n_tok = np.array([c.count(" ") + 1 if c else 0 for c in contents])
    long_enough = np.flatnonzero(n_tok >= 100)
    day = np.array([(d.get("date_extracted") or "")[:10] for d in docs])
    unrelated: list[tuple[int, int]] = []
    while len(unrelated) < 20_000:  # random pairs of one day: almost all unrelated, same topics and stock phrases
        i, j = rng.choice(long_enough, 2, replace=False)
        if day[i] == day[j]:
            unrelated.append((min(i, j), max(i, j)))
    unrelated_arr = np.array(unrelated)
    base = rng.choice(long_enough, 600, replace=False)
    vocab = np.array(" ".join(contents[k] for k in rng.choice(long_enough, 300)).split())
    extra: list[str] = []
    rates = (0.05, 0.10, 0.20)
    for rate in rates:
        for b in base:
            words = np.array(contents[b].split())
            hit = rng.random(len(words)) < rate
            words[hit] = rng.choice(vocab, int(hit.sum()))
            extra.append(" ".join(words))
    for b in base:  # a rewritten lead: the first 30% of the words from another article
        words, other = contents[b].split(), contents[int(rng.choice(long_enough))].split()
        cut = int(0.3 * len(words))
        extra.append(" ".join(other[:cut] + words[cut:]))
    n0 = len(contents)
    th, to = token_hashes(contents + extra)

    d = AlignConfig()
    grid = [(k, d.gap, d.min_tokens) for k in range(3, 9)]
    grid += [(d.k, g, d.min_tokens) for g in (0, 1, 2, 3, 6, 8)]
    grid += [(d.k, d.gap, t) for t in (5, 8, 12, 15)]
    rows = []
    kgram_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for k, gap, min_tokens in grid:
        if k not in kgram_cache:
            kgram_cache[k] = kgram_sequences(th, to, k)
        kg, ko = kgram_cache[k]
        cfg = AlignConfig(k=k, gap=gap, min_tokens=min_tokens)
        lab = align_pairs(kg, ko, labelled, cfg)
        lab_max = np.maximum(lab.share_ij, lab.share_ji)
        unr = align_pairs(kg, ko, unrelated_arr, cfg)
        row: dict[str, Any] = {
            "k": k, "gap": gap, "min_tokens": min_tokens,
            "dev_labelled_auc_dup": round(_auc(lab_max[dup], lab_max[~dup]), 4),
            "unrelated_pairs_with_a_passage": round(float((unr.longest > 0).mean()), 5),
            "unrelated_mean_share": round(float(np.maximum(unr.share_ij, unr.share_ji).mean()), 5),
        }
        for r, rate in enumerate(rates):
            edit = align_pairs(kg, ko, np.stack([base, n0 + r * len(base) + np.arange(len(base))], axis=1), cfg)
            row[f"edited_{int(rate * 100)}pct_mean_share"] = round(float(edit.share_ji.mean()), 4)
        lead = align_pairs(kg, ko, np.stack([base, n0 + len(rates) * len(base) + np.arange(len(base))], axis=1), cfg)
        row["rewritten_lead_mean_share"] = round(float(lead.share_ji.mean()), 4)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return {
        "defaults": {"k": d.k, "gap": d.gap, "min_tokens": d.min_tokens, "stored_k": KGRAM_TOKENS},
        "labelled_pairs": len(labels), "dup_pairs": int(dup.sum()),
        "unrelated_pairs": len(unrelated_arr), "edited_copies_per_rate": len(base),
        "rows": rows,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _serial() -> Any:
    from dedup.exec import LocalExecutor

    return LocalExecutor(1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=5000, help="articles in the synthetic feed")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each scorer (median)")
    ap.add_argument("--data", default=None, help="folder of the SaudiNewsNet dev zips (default: ../shared/data)")
    ap.add_argument("--no-sweep", action="store_true", help="skip the parameter sweep")
    args = ap.parse_args(argv)

    result: dict[str, Any] = {
        "benchmark": "bench_align",
        "what": "batch passage alignment (align_rows) vs score_pairs on the pipeline's candidate pairs, same run",
        "align_config": vars(AlignConfig()) | {"stored_k": KGRAM_TOKENS},
        "repeat": args.repeat,
        "inputs": {},
    }
    data_dir = saudinewsnet_dir(args.data)
    with tempfile.TemporaryDirectory(prefix="bench_align_") as tmp:
        syn = Path(tmp) / f"synthetic_{args.size}.jsonl"
        subprocess.run([sys.executable, str(HERE / "make_synthetic_feed.py"), "--size", str(args.size), "--out", str(syn)],
                       check=True, capture_output=True)
        truth = {}
        with open(syn, encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                if rec.get("truth"):
                    truth[str(rec["id"])] = rec["truth"]
        print(f"synthetic feed of {args.size}: timing", flush=True)
        result["inputs"]["synthetic"] = bench_feed(syn, args.repeat, truth) | {"size_arg": args.size}
        if data_dir is None:
            result["inputs"]["saudinewsnet"] = {"skipped": "SaudiNewsNet dev zips not found (../shared/data/saudinewsnet/dataset)"}
            print("SaudiNewsNet dev data absent: skipped", flush=True)
        else:
            dev = Path(tmp) / "saudinewsnet_dev.jsonl"
            write_dev_jsonl(dev, data_dir)
            print("SaudiNewsNet dev days: timing", flush=True)
            result["inputs"]["saudinewsnet"] = bench_feed(dev, args.repeat)
    if args.no_sweep:
        result["sweep"] = {"skipped": "--no-sweep"}
    elif data_dir is None or not (LABELS / "saudinewsnet_dev_labels.jsonl").exists():
        result["sweep"] = {"skipped": "needs the SaudiNewsNet dev zips and scripts/labels/saudinewsnet_dev_labels.jsonl"}
    else:
        print("sweep of k, gap, min_tokens", flush=True)
        result["sweep"] = sweep(data_dir)
    result["run"] = run_info()
    write_result("bench_align", result)
    for name, r in result["inputs"].items():
        if "skipped" not in r:
            print(f"{name}: {r['articles']} articles, {r['candidate_pairs']} pairs; score {r['score_pairs_us_per_pair']} us/pair, "
                  f"align {r['align_rows_us_per_pair']} us/pair (x{r['ratio_align_over_score']}); "
                  f"+{r['kgram_bytes_per_stored_article']} B/article")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
