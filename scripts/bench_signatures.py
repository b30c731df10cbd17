#!/usr/bin/env python3
"""Benchmark: MinHash signatures of real articles, dedup vs datasketch, in one run.

Target (core issue): dedup's signature computation is at least 100x faster
than datasketch's per-shingle ``MinHash.update`` loop on the same documents,
measured in the same run (machines are noisy; only the ratio is compared).

Input: ``--docs`` SaudiNewsNet dev articles drawn at random (fixed seed) among
those with at least ``ShingleConfig().min_tokens`` tokens; the content is
normalized once with ``dedup.text.normalize.normalize`` and every variant starts
from the same normalized strings and ends with 128-permutation signatures:

  (a) ``datasketch_update``: per document, its set of word 3-shingle strings
      (``' '.join`` of 3 consecutive tokens), a new ``MinHash(num_perm=128,
      seed=1)`` and ``update(shingle.encode('utf-8'))`` per shingle: the
      baseline;
  (b) ``datasketch_bulk``: the same shingle sets through ``MinHash.bulk``
      (permutations shared by all documents);
  (c) ``dedup``: ``dedup.sketch.prepare.sketch_chunk`` on chunks of
      ``Runtime().chunk_size`` texts, as the pipeline calls it (token
      hashes, shingle hashes and signatures, vectorized);
  (d) ``floor_token_hashes``: ``dedup.text.shingle.token_hashes`` only (tokenize and
      hash, no shingles, no MinHash): the part of (c) no sketch can avoid.

Each variant runs ``--repeat`` times, round-robin over the variants so that a
change of the machine's load hits all alike, and the median is reported; a
fast variant is looped within a repeat until it has run ``--min-time``
seconds (like ``timeit``) so that its time is not timer noise. Wall and CPU (process)
time are both recorded: CPU time is less disturbed by other jobs on the
machine. One warm-up call of (c) and (d) runs first (it builds the cached
permutations); the baselines get the same warm-up.

Accuracy check: for ``--pairs`` document pairs, the exact Jaccard of the
shingle-string sets next to dedup's and datasketch's estimates (mean absolute
difference, overall and per Jaccard band). Random article pairs are almost
all near 0, so pairs are drawn per band of exact Jaccard (byte-identical
shingle sets, J = 1, are left out: every sketch gets those right), with the
shortfall of sparse bands filled by uniformly random pairs. Also checked: a
dedup signature equals datasketch's ``MinHash(hashfunc=identity)`` fed the
same 32-bit shingle hashes, bit for bit.

Writes ``results/bench_signatures.json``. Usage::

    python scripts/bench_signatures.py [--docs 2000] [--repeat 3] [--data DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_average, load_saudinewsnet, run_info, saudinewsnet_dir, write_result  # noqa: E402

from datasketch import MinHash  # noqa: E402

from dedup.config import MinHashConfig, ShingleConfig  # noqa: E402
from dedup.text.normalize import normalize  # noqa: E402
from dedup.exec.local import chunked  # noqa: E402
from dedup.runtime import Runtime  # noqa: E402
from dedup.sketch.prepare import sketch_chunk  # noqa: E402
from dedup.text.shingle import shingle, token_hashes  # noqa: E402
from dedup.sketch.signatures import minhash_signatures, to_uint32  # noqa: E402

TARGET = 100.0  # x datasketch per-shingle update
JACCARD_BANDS = [(0.0, 0.1), (0.1, 0.3), (0.3, 0.5), (0.5, 0.8), (0.8, 1.0)]  # [lo, hi); J = 1 left out


# --------------------------------------------------------------------------- variants
def shingle_set(text: str, k: int) -> set[str]:
    """Word k-shingle strings of a normalized text."""
    tok = text.split()
    return {" ".join(tok[i : i + k]) for i in range(len(tok) - k + 1)}


def datasketch_update(texts: Sequence[str], k: int, num_perm: int, seed: int) -> list[MinHash]:
    """(a) the baseline: a new MinHash per document, ``update`` per shingle."""
    out = []
    for text in texts:
        m = MinHash(num_perm=num_perm, seed=seed)
        for s in shingle_set(text, k):
            m.update(s.encode("utf-8"))
        out.append(m)
    return out


def datasketch_bulk(texts: Sequence[str], k: int, num_perm: int, seed: int) -> list[MinHash]:
    """(b) ``MinHash.bulk`` over the same shingle sets."""
    return MinHash.bulk(
        ([s.encode("utf-8") for s in shingle_set(t, k)] for t in texts), num_perm=num_perm, seed=seed
    )


def dedup_sketch(texts: Sequence[str], shingle_cfg: ShingleConfig, minhash_cfg: MinHashConfig, chunk: int) -> np.ndarray:
    """(c) dedup, chunked like the pipeline."""
    return np.concatenate([sketch_chunk(c, shingle_cfg, minhash_cfg)[4] for c in chunked(texts, chunk)])


def floor_token_hashes(texts: Sequence[str], chunk: int) -> int:
    """(d) tokenize + hash only."""
    return sum(len(token_hashes(c)[0]) for c in chunked(texts, chunk))


def precompute_parts(texts: Sequence[str], shingle_cfg: ShingleConfig, chunk: int) -> list[tuple]:
    """Per chunk: token hashes and shingle hashes, the inputs of the later parts of (c)."""
    out = []
    for c in chunked(texts, chunk):
        th, to = token_hashes(c)
        out.append(((th, to), shingle(c, shingle_cfg, tokens=(th, to))))
    return out


def part_shingles(texts: Sequence[str], parts: list[tuple], shingle_cfg: ShingleConfig, chunk: int) -> None:
    """(c) from token hashes to shingle hashes only."""
    for c, (tok, _) in zip(chunked(texts, chunk), parts):
        shingle(c, shingle_cfg, tokens=tok)


def part_minhash(parts: list[tuple], minhash_cfg: MinHashConfig) -> None:
    """(c) from shingle hashes to signatures only."""
    for _, (sh, so) in parts:
        minhash_signatures(sh, so, minhash_cfg)


def shingles_only(texts: Sequence[str], k: int) -> int:
    """The shingle-set building that (a) and (b) include, alone."""
    return sum(len(shingle_set(t, k)) for t in texts)


# --------------------------------------------------------------------------- timing
def run_once(fn: Callable[[], Any], min_time: float) -> tuple[float, float, int]:
    """Wall and CPU seconds per call of ``fn``, looped until ``min_time`` has passed."""
    loops = 0
    w0, c0 = time.perf_counter(), time.process_time()
    while True:
        fn()
        loops += 1
        if time.perf_counter() - w0 >= min_time:
            break
    return (time.perf_counter() - w0) / loops, (time.process_time() - c0) / loops, loops


def time_variants(variants: dict[str, Callable[[], Any]], repeat: int, min_time: float) -> dict[str, dict[str, Any]]:
    """Median wall and CPU seconds per call of each variant.

    The repeats go round-robin over the variants (a, b, c, d, a, b, ...), so
    that a change in the machine's load hits every variant alike.
    """
    raw: dict[str, list[tuple[float, float, int]]] = {name: [] for name in variants}
    loads: dict[str, list] = {name: [] for name in variants}
    for r in range(repeat):
        for name, fn in variants.items():
            loads[name].append(load_average())
            raw[name].append(run_once(fn, min_time))
            w, c, _ = raw[name][-1]
            print(f"  [{r + 1}/{repeat}] {name:20s} {w:9.4f} s wall  {c:9.4f} s cpu", flush=True)
    return {
        name: {
            "seconds_wall": statistics.median(x[0] for x in runs),
            "seconds_cpu": statistics.median(x[1] for x in runs),
            "seconds_wall_all": [round(x[0], 6) for x in runs],
            "seconds_cpu_all": [round(x[1], 6) for x in runs],
            "loops_per_repeat": [x[2] for x in runs],
            "load_average_before_each": loads[name],
        }
        for name, runs in raw.items()
    }


# --------------------------------------------------------------------------- accuracy
def exact_jaccard_matrix(sets: Sequence[set[str]]) -> np.ndarray:
    """All-pairs exact Jaccard of string sets, ``(n, n)``, via a sparse product."""
    import scipy.sparse as sp

    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, s in enumerate(sets):
        for x in s:
            cols.append(vocab.setdefault(x, len(vocab)))
            rows.append(i)
    x = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(sets), len(vocab)))
    inter = (x @ x.T).toarray().astype(np.float64)
    size = np.array([len(s) for s in sets], dtype=np.float64)
    union = size[:, None] + size[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def choose_pairs(jac: np.ndarray, n_pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
    """Pairs ``i < j`` drawn per band of exact Jaccard, the shortfall filled at random."""
    iu, ju = np.triu_indices(len(jac), k=1)
    values = jac[iu, ju]
    per_band = n_pairs // len(JACCARD_BANDS)
    chosen: list[int] = []
    bands = []
    for lo, hi in JACCARD_BANDS:
        idx = np.flatnonzero((values >= lo) & (values < hi))
        take = rng.choice(idx, size=min(per_band, len(idx)), replace=False) if len(idx) else idx
        chosen.extend(take.tolist())
        bands.append({"band": [lo, hi], "population": int(len(idx)), "drawn": int(len(take))})
    rest = np.setdiff1d(np.flatnonzero(values < 1.0), np.array(chosen, dtype=np.int64))
    fill = rng.choice(rest, size=min(n_pairs - len(chosen), len(rest)), replace=False)
    chosen.extend(fill.tolist())
    sel = np.array(chosen, dtype=np.int64)
    return np.stack([iu[sel], ju[sel]], axis=1), bands


def accuracy(pairs: np.ndarray, jac: np.ndarray, sigs: np.ndarray, mhs: list[MinHash]) -> dict[str, Any]:
    true = jac[pairs[:, 0], pairs[:, 1]]
    ours = (sigs[pairs[:, 0]] == sigs[pairs[:, 1]]).mean(axis=1)
    theirs = np.array([mhs[i].jaccard(mhs[j]) for i, j in pairs.tolist()])

    def stats(mask: np.ndarray) -> dict[str, Any]:
        if not mask.any():
            return {"pairs": 0}
        return {
            "pairs": int(mask.sum()),
            "mean_exact_jaccard": round(float(true[mask].mean()), 4),
            "dedup_mean_abs_error": round(float(np.abs(ours - true)[mask].mean()), 4),
            "datasketch_mean_abs_error": round(float(np.abs(theirs - true)[mask].mean()), 4),
            "dedup_mean_error": round(float((ours - true)[mask].mean()), 4),
            "datasketch_mean_error": round(float((theirs - true)[mask].mean()), 4),
        }

    out = {"all": stats(np.ones(len(true), dtype=bool))}
    for lo, hi in JACCARD_BANDS:
        out[f"[{lo}, {hi})"] = stats((true >= lo) & (true < hi))
    # Expected mean |error| of a 128-perm estimate: sqrt(2/pi) * sqrt(J(1-J)/P).
    p = sigs.shape[1]
    out["expected_mean_abs_error_of_an_unbiased_sketch"] = round(
        float(np.mean(np.sqrt(2 / np.pi) * np.sqrt(true * (1 - true) / p))), 4
    )
    return out


def bit_identical(texts: Sequence[str], shingle_cfg: ShingleConfig, minhash_cfg: MinHashConfig) -> bool:
    """dedup signature == datasketch MinHash(hashfunc=identity) fed the same 32-bit hashes."""
    *_, sh, so, sigs = sketch_chunk(texts, shingle_cfg, minhash_cfg)
    for row in range(len(texts)):
        m = MinHash(num_perm=minhash_cfg.num_perm, seed=minhash_cfg.seed, hashfunc=lambda x: x)
        for v in to_uint32(sh[so[row] : so[row + 1]]):
            m.update(int(v))
        if not np.array_equal(m.hashvalues, sigs[row]):
            return False
    return True


# --------------------------------------------------------------------------- main
def sample_texts(docs: list[dict], n: int, min_tokens: int, seed: int) -> list[str]:
    """``n`` normalized contents drawn at random among articles with >= min_tokens tokens."""
    rng = np.random.default_rng(seed)
    texts = []
    for i in rng.permutation(len(docs)).tolist():
        t = normalize(docs[i].get("content") or "")
        if t.count(" ") + 1 >= min_tokens and t:
            texts.append(t)
            if len(texts) == n:
                break
    return texts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="folder of the SaudiNewsNet dev zips (default: ../shared/data/saudinewsnet/dataset)")
    ap.add_argument("--docs", type=int, default=2000, help="articles to sign (the baseline is slow)")
    ap.add_argument("--repeat", type=int, default=3, help="repeats per variant; the median is reported")
    ap.add_argument("--min-time", type=float, default=0.5, help="a fast variant is looped within a repeat until it ran this long (s)")
    ap.add_argument("--pairs", type=int, default=200, help="pairs for the Jaccard accuracy check")
    ap.add_argument("--seed", type=int, default=0, help="seed of the article sample and the pair draw")
    args = ap.parse_args(argv)

    folder = saudinewsnet_dir(args.data)
    if folder is None:
        print(f"bench_signatures: SaudiNewsNet dev zips not found ({args.data or '../shared/data/saudinewsnet/dataset'}); nothing to do.")
        return 0

    info = run_info()
    shingle_cfg, minhash_cfg = ShingleConfig(), MinHashConfig()
    chunk = Runtime().chunk_size
    k, p, seed = shingle_cfg.k, minhash_cfg.num_perm, minhash_cfg.seed
    assert shingle_cfg.kind == "word"

    docs = load_saudinewsnet(folder)
    texts = sample_texts(docs, args.docs, shingle_cfg.min_tokens, args.seed)
    del docs
    n = len(texts)
    n_tokens = sum(t.count(" ") + 1 for t in texts)
    n_shingles = shingles_only(texts, k)
    print(f"{n} articles, {n_tokens} tokens, {n_shingles} distinct shingles; load {load_average()}", flush=True)

    # warm-up: cached permutations, first-call allocations
    dedup_sketch(texts[:50], shingle_cfg, minhash_cfg, chunk)
    floor_token_hashes(texts[:50], chunk)
    datasketch_update(texts[:5], k, p, seed)
    datasketch_bulk(texts[:5], k, p, seed)

    variants: dict[str, Callable[[], Any]] = {
        "datasketch_update": lambda: datasketch_update(texts, k, p, seed),
        "datasketch_bulk": lambda: datasketch_bulk(texts, k, p, seed),
        "dedup": lambda: dedup_sketch(texts, shingle_cfg, minhash_cfg, chunk),
        "floor_token_hashes": lambda: floor_token_hashes(texts, chunk),
        # parts, not alternatives: where the time of (a) and (c) goes
        "part_shingle_sets_of_baseline": lambda: shingles_only(texts, k),
        "part_dedup_shingles": lambda: part_shingles(texts, parts, shingle_cfg, chunk),
        "part_dedup_minhash": lambda: part_minhash(parts, minhash_cfg),
    }
    parts = precompute_parts(texts, shingle_cfg, chunk)
    timings = time_variants(variants, args.repeat, args.min_time)
    for name, t in timings.items():
        t["docs_per_s"] = round(n / t["seconds_wall"], 1)
        t["docs_per_s_cpu"] = round(n / t["seconds_cpu"], 1)
        print(f"  {name:20s} median {t['seconds_wall']:9.4f} s  {t['docs_per_s']:>10,.0f} docs/s  (cpu {t['seconds_cpu']:.4f} s)", flush=True)

    base = timings["datasketch_update"]
    for name, t in timings.items():
        if not name.startswith("part_"):
            t["x_datasketch_update"] = round(base["seconds_wall"] / t["seconds_wall"], 2)
            t["x_datasketch_update_cpu"] = round(base["seconds_cpu"] / t["seconds_cpu"], 2)
    # The baseline without its shingle-string building (its update loop alone).
    update_only = base["seconds_wall"] - timings["part_shingle_sets_of_baseline"]["seconds_wall"]
    ratio = timings["dedup"]["x_datasketch_update"]
    ours = timings["dedup"]["seconds_wall"]
    where = {
        "token_hashes": timings["floor_token_hashes"]["seconds_wall"],
        "shingles": timings["part_dedup_shingles"]["seconds_wall"],
        "minhash": timings["part_dedup_minhash"]["seconds_wall"],
    }
    where_share = {key: round(v / ours, 3) for key, v in where.items()}
    where_share["rest"] = round(1 - sum(where.values()) / ours, 3)

    # accuracy, on the signatures of one more run of each
    sigs = dedup_sketch(texts, shingle_cfg, minhash_cfg, chunk)
    mhs = datasketch_update(texts, k, p, seed)
    jac = exact_jaccard_matrix([shingle_set(t, k) for t in texts])
    pairs, bands = choose_pairs(jac, args.pairs, np.random.default_rng(args.seed))
    acc = accuracy(pairs, jac, sigs, mhs)
    acc["pair_draw"] = {
        "rule": f"up to {args.pairs // len(JACCARD_BANDS)} pairs per band of exact Jaccard among all pairs of the "
        f"{n} articles (J = 1 left out), the shortfall filled with uniformly random pairs (J < 1)",
        "bands": bands,
    }
    acc["bit_identical_to_datasketch_given_same_32bit_hashes"] = bit_identical(texts[:20], shingle_cfg, minhash_cfg)
    print(f"accuracy: {acc['all']}", flush=True)

    target_met = ratio >= TARGET
    payload = {
        "benchmark": "bench_signatures",
        "question": "signature computation >= 100x datasketch's per-shingle MinHash.update loop, same documents, same run",
        "target": {"x_datasketch_update": TARGET},
        "target_met": target_met,
        "result": {
            "x_datasketch_update": ratio,
            "x_datasketch_update_cpu": timings["dedup"]["x_datasketch_update_cpu"],
            "x_datasketch_update_loop_only": round(update_only / timings["dedup"]["seconds_wall"], 2),
            "dedup_docs_per_s": timings["dedup"]["docs_per_s"],
            "datasketch_update_docs_per_s": base["docs_per_s"],
            "datasketch_bulk_docs_per_s": timings["datasketch_bulk"]["docs_per_s"],
            "floor_docs_per_s": timings["floor_token_hashes"]["docs_per_s"],
            "dedup_time_shares": where_share,
            "x_needed_from_dedup_for_target": round(TARGET / ratio, 2),
        },
        "notes": [
            "All variants start from the same normalized texts (normalize once, not timed) and end with 128-permutation signatures.",
            "datasketch_update and datasketch_bulk include building each document's set of shingle strings "
            "(part_shingle_sets_of_baseline times that alone); x_datasketch_update_loop_only compares dedup with the update loop without it.",
            "dedup_time_shares: token hashing (= floor_token_hashes), word shingles from token hashes "
            "(part_dedup_shingles) and signatures from shingle hashes (part_dedup_minhash), each timed alone on the same chunks, "
            "as shares of dedup's median; rest = concatenation and overhead (can be slightly negative: separate runs).",
            "dedup = dedup.sketch.prepare.sketch_chunk per chunk of chunk_size texts: token hashes, word shingle hashes, signatures "
            "(it also returns the token and shingle hashes the pipeline keeps for verification).",
            "floor_token_hashes = dedup.text.shingle.token_hashes only: tokenizing and hashing, no shingles or MinHash.",
            "Ratios are of median wall seconds; *_cpu ratios use process CPU seconds (less sensitive to other jobs).",
        ],
        "config": {
            "docs": n,
            "tokens": n_tokens,
            "distinct_shingles": n_shingles,
            "sample": f"random articles (seed {args.seed}) with >= {shingle_cfg.min_tokens} normalized tokens",
            "normalizer": "dedup.text.normalize.normalize (default NormalizeConfig)",
            "shingles": f"word {k}-shingles",
            "num_perm": p,
            "seed": seed,
            "scheme": minhash_cfg.scheme,
            "chunk_size": chunk,
            "repeat": args.repeat,
            "min_time_s": args.min_time,
            "data": str(folder),
        },
        "timings": timings,
        "jaccard_accuracy": acc,
        "load_average_after": load_average(),
        "run": info,
    }
    write_result("bench_signatures", payload)
    print(
        f"dedup {ratio:.1f}x datasketch per-shingle update ({timings['dedup']['docs_per_s']:,.0f} vs "
        f"{base['docs_per_s']:,.0f} docs/s); target {TARGET:.0f}x {'met' if target_met else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
