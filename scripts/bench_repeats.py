#!/usr/bin/env python3
"""Benchmark: ``dedup.repeats`` over the SaudiNewsNet dev days (speed, what it finds).

Input: every article of the dev zips (``../shared/data/saudinewsnet/dataset``,
2015-07-21..08-04, ~20k articles); ``content`` is the text, ``url`` the id.

Timed, in one run:

  (a) ``serial``: :func:`dedup.repeats.find_repeats_batch` over all texts in
      this process (median of ``--repeat`` runs; wall and CPU time, the
      latter less disturbed by other jobs on a shared machine);
  (b) ``parallel``: the same through :func:`dedup.exec.local.map_chunks` with
      ``--jobs`` processes and chunks of ``--chunk-size`` articles, as the
      orchestrator runs it (one run; includes process start-up and pickling);
  (c) ``naive`` baseline on the first ``--naive-docs`` articles: what one
      would write first, every pair of paragraphs of an article through
      ``difflib.SequenceMatcher.ratio`` on normalized tokens plus a substring
      test on the normalized strings, no prefilter. Reported as the ratio of
      per-article times, (c) over (a) on the same articles.
  (d) ``clean``: :func:`dedup.repeats.clean` of every article with repeats.

Measured: share of articles with content repeats (exact, contained, near),
per kind and per source; redundant characters; how many content relations
concern short paragraphs (< 6 tokens: poem refrains, recipe lines, legal
formulae, which are real textual repeats but intentional); a check that the
cleaner never loses a sentence that was not repeated (every sentence of the
original, outside paragraphs removed as ``near`` copies, must occur in the
cleaned text after normalization); and a diagnostic of what the exact token
matching cannot see: pairs of content paragraphs where >= 80% of one's word
3-grams occur in the other and no relation links them (edited glued copies).

Examples (a few urls per kind with their relations) carry snippets of at most
80 characters; no other article text is written (licence).

Writes ``results/bench_repeats.json``. Usage::

    python scripts/bench_repeats.py [--jobs 4] [--repeat 3] [--data DIR]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_average, load_saudinewsnet, run_info, saudinewsnet_dir, write_result  # noqa: E402

from dedup.config import RepeatsConfig  # noqa: E402
from dedup.text.normalize import normalize, tokenize  # noqa: E402
from dedup.exec.local import map_chunks  # noqa: E402
from dedup.repeats import ArticleRepeats, clean, find_repeats_batch, paragraph_spans, sentence_spans  # noqa: E402

logger = logging.getLogger("bench_repeats")

SNIPPET = 80
SHORT = 6  # tokens: content relations on shorter paragraphs are reported separately
EXAMPLES_PER_KIND = 4


def snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…"


def naive(texts: Sequence[str], near: float) -> int:
    """All pairs of paragraphs through difflib plus a substring test; returns the pairs found."""
    found = 0
    for text in texts:
        paras = [normalize(text[a:b]) for a, b in paragraph_spans(text)]
        toks = [p.split() for p in paras]
        for i in range(len(paras)):
            for j in range(i + 1, len(paras)):
                if not paras[i] or not paras[j]:
                    continue
                if paras[i] in paras[j] or paras[j] in paras[i]:
                    found += 1
                elif SequenceMatcher(None, toks[i], toks[j], autojunk=False).ratio() >= near:
                    found += 1
    return found


def lost_sentences(text: str, result: ArticleRepeats, cleaned: str) -> int:
    """Sentences of ``text`` missing from ``cleaned`` (outside paragraphs removed as near copies)."""
    near_removed = {r.paragraph for r in result.repeats if r.kind == "near"} & set(result.drop)
    haystack = " " + normalize(cleaned) + " "
    lost = 0
    for k, (a, b) in enumerate(result.paragraphs):
        if k in near_removed:
            continue
        for s, e in sentence_spans(text, a, b):
            folded = normalize(text[s:e])
            if folded and (" " + folded) not in haystack:
                lost += 1
    return lost


def unlinked_overlaps(text: str, result: ArticleRepeats, config: RepeatsConfig) -> int:
    """Pairs of content paragraphs with >= 80% word-3-gram containment and no relation."""
    related = {frozenset((r.paragraph, r.in_)) for r in result.repeats}
    grams = []
    for a, b in result.paragraphs:
        toks = tokenize(text[a:b], config.normalize)
        grams.append({tuple(toks[i : i + 3]) for i in range(len(toks) - 2)} if len(toks) >= 2 * config.min_tokens else set())
    count = 0
    for i, gi in enumerate(grams):
        if not gi:
            continue
        for j, gj in enumerate(grams):
            if i != j and gj and len(gi) <= len(gj) and frozenset((i, j)) not in related:
                if len(gi & gj) >= 0.8 * len(gi):
                    count += 1
    return count


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="SaudiNewsNet dev zips (default: ../shared/data/saudinewsnet/dataset)")
    ap.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1))
    ap.add_argument("--chunk-size", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--naive-docs", type=int, default=2000)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    data_dir = saudinewsnet_dir(args.data)
    if data_dir is None:
        print("SaudiNewsNet dev zips not found (../shared/data/saudinewsnet/dataset): nothing to benchmark")
        return 0
    docs = load_saudinewsnet(data_dir)
    texts = [d.get("content") or "" for d in docs]
    urls = [d.get("url") or str(i) for i, d in enumerate(docs)]
    sources = [d.get("source") or "" for d in docs]
    config = RepeatsConfig()
    n = len(texts)
    logger.info("%d articles from %s", n, data_dir)

    find_repeats_batch(texts[:200], config)  # warm-up: normalizer table, separator cache
    serial_times, serial_cpu = [], []
    results: list[ArticleRepeats] = []
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        results = find_repeats_batch(texts, config)
        serial_times.append(time.perf_counter() - t0)
        serial_cpu.append(time.process_time() - c0)
    serial = statistics.median(serial_times)
    cpu = statistics.median(serial_cpu)
    logger.info("serial: %.2f s (%.0f articles/s)", serial, n / serial)

    t0 = time.perf_counter()
    chunks = map_chunks(find_repeats_batch, texts, n_jobs=args.jobs, chunk_size=args.chunk_size, config=config)
    parallel = time.perf_counter() - t0
    parallel_results = [r for chunk in chunks for r in chunk]
    assert parallel_results == results, "parallel chunks must give the serial result"
    logger.info("parallel (%d jobs): %.2f s", args.jobs, parallel)

    sample = texts[: args.naive_docs]
    t0 = time.perf_counter()
    find_repeats_batch(sample, config)
    ours_sample = time.perf_counter() - t0
    t0 = time.perf_counter()
    naive_pairs = naive(sample, config.near)
    naive_time = time.perf_counter() - t0
    logger.info("naive on %d articles: %.2f s vs %.2f s", len(sample), naive_time, ours_sample)

    affected = [k for k, r in enumerate(results) if r.repeats]
    t0 = time.perf_counter()
    cleaned = {k: clean(texts[k], results[k]) for k in affected}
    clean_time = time.perf_counter() - t0
    lost = sum(lost_sentences(texts[k], results[k], cleaned[k]) for k in affected)
    changed = sum(1 for k in affected if cleaned[k] != texts[k])

    kinds = ("exact", "contained", "near", "boilerplate")
    relations = Counter(r.kind for res in results for r in res.repeats)
    articles_by_kind = {kind: sum(1 for res in results if any(r.kind == kind for r in res.repeats)) for kind in kinds}
    with_content = [k for k, r in enumerate(results) if r.n_repeats]
    short = sum(
        1
        for k in with_content
        for r in results[k].repeats
        if r.kind != "boilerplate" and len(tokenize(texts[k][r.start : r.end])) < SHORT
    )
    per_source: dict[str, dict[str, Any]] = {}
    for src in sorted(set(sources)):
        idx = [k for k, s in enumerate(sources) if s == src]
        hit = sum(1 for k in idx if results[k].n_repeats)
        per_source[src or "(none)"] = {"articles": len(idx), "with_repeats": hit, "share": round(hit / len(idx), 4)}
    shares = sorted(results[k].redundant_share for k in with_content)
    unlinked = {k: unlinked_overlaps(texts[k], results[k], config) for k in range(n)}
    unlinked_articles = [k for k, c in unlinked.items() if c]

    examples: dict[str, list[dict[str, Any]]] = {}
    for kind in kinds:
        picked = []
        for k in range(n):
            if any(r.kind == kind for r in results[k].repeats):
                text = texts[k]
                picked.append(
                    {
                        "id": urls[k],
                        "source": sources[k],
                        "n_paragraphs": results[k].n_paragraphs,
                        "redundant_share": results[k].redundant_share,
                        "relations": [
                            {
                                "paragraph": r.paragraph,
                                "in": r.in_,
                                "kind": r.kind,
                                "similarity": r.similarity,
                                "paragraph_snippet": snippet(text[r.start : r.end]),
                                "copy_snippet": snippet(text[r.in_start : r.in_end]),
                            }
                            for r in results[k].repeats
                            if r.kind == kind
                        ][:3],
                    }
                )
                if len(picked) == EXAMPLES_PER_KIND:
                    break
        examples[kind] = picked
    examples["unlinked_overlap"] = [{"id": urls[k], "pairs": unlinked[k]} for k in unlinked_articles[:EXAMPLES_PER_KIND]]

    payload = {
        "name": "bench_repeats",
        "run": run_info(),
        "config": asdict(config),
        "input": {
            "data": "SaudiNewsNet dev days (zips in ../shared/data/saudinewsnet/dataset)",
            "articles": n,
            "empty": sum(1 for t in texts if not t.strip()),
            "paragraphs": sum(r.n_paragraphs for r in results),
        },
        "timings": {
            "serial_seconds": round(serial, 3),
            "serial_runs": [round(t, 3) for t in serial_times],
            "serial_articles_per_second": round(n / serial, 1),
            "serial_cpu_seconds": round(cpu, 3),
            "serial_articles_per_cpu_second": round(n / cpu, 1),
            "parallel_jobs": args.jobs,
            "parallel_chunk_size": args.chunk_size,
            "parallel_seconds": round(parallel, 3),
            "parallel_articles_per_second": round(n / parallel, 1),
            "parallel_speedup_vs_serial": round(serial / parallel, 2),
            "naive_baseline": {
                "articles": len(sample),
                "seconds": round(naive_time, 3),
                "dedup_seconds_same_articles": round(ours_sample, 3),
                "ratio_naive_over_dedup": round(naive_time / ours_sample, 2),
                "pairs_found_by_naive": naive_pairs,
            },
            "clean_seconds": round(clean_time, 3),
            "load_average_1_5_15": load_average(),
        },
        "findings": {
            "articles_with_content_repeats": len(with_content),
            "share_with_content_repeats": round(len(with_content) / n, 5),
            "articles_with_kind": articles_by_kind,
            "share_with_kind": {k: round(v / n, 5) for k, v in articles_by_kind.items()},
            "relations": {k: relations.get(k, 0) for k in kinds},
            "content_relations_on_short_paragraphs": {"tokens_below": SHORT, "relations": short},
            "redundant_chars": sum(r.redundant_chars for r in results),
            "redundant_share_of_all_paragraph_text": round(
                sum(r.redundant_chars for r in results)
                / max(1, sum(b - a for r in results for a, b in r.paragraphs)),
                6,
            ),
            "redundant_share_in_affected_articles": {
                "median": round(statistics.median(shares), 4) if shares else None,
                "p90": round(shares[int(0.9 * (len(shares) - 1))], 4) if shares else None,
                "max": shares[-1] if shares else None,
            },
            "run_on_lines_cut": sum(len(r.fragments) for r in results),
            "per_source": per_source,
        },
        "cleaner": {
            "articles_cleaned": len(affected),
            "articles_changed": changed,
            "sentences_lost": lost,
        },
        "diagnostic_unlinked_overlaps": {
            "rule": "content paragraphs (>= 2*min_tokens tokens) with >= 80% of word 3-grams inside another, no relation",
            "articles": len(unlinked_articles),
            "pairs": sum(unlinked.values()),
        },
        "examples": examples,
    }
    write_result("bench_repeats", payload)
    print(
        f"{n} articles: serial {n / serial:.0f}/s, parallel({args.jobs}) {n / parallel:.0f}/s; "
        f"{len(with_content)} with content repeats ({100 * len(with_content) / n:.2f}%); sentences lost by the cleaner: {lost}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
