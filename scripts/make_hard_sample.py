#!/usr/bin/env python3
"""Draw a second, harder pair sample from the SaudiNewsNet dev days, for hand labelling.

The first sample (``make_dev_sample.py``, 240 pairs) is stratified by
containment alone, so the cases that decide whether a desk can trust the
duplicate decisions are thin in it. This one over-samples them, on the same
candidate pairs and the same features (it reuses ``make_dev_sample``'s steps
1-4, which do not depend on the ``dedup`` package), plus three more per pair:
the token-length ratio, the agreement of the numbers the two texts contain, and
whether the titles are equal.

Strata (each pair falls into the first that matches; c = containment of the
shorter article's word 3-grams, j = word 3-gram Jaccard, cos = TF-IDF cosine,
ratio = longer / shorter token count, numbers = Jaccard of the sets of digit
tokens, both non-empty):

  H1 rewritten lead    j < 0.35, 0.1 <= c < 0.6, cos >= 0.5
  H2 roundup           c >= 0.5, ratio >= 2.5
  H3 template          c >= 0.4, numbers < 0.5  (same wording, other figures)
  H4 parallel rewrite  0.15 <= c < 0.5, cos >= 0.4
  H5 boundary          0.5 <= c < 0.9
  H6 same event?       c < 0.15, 0.3 <= cos < 0.5
  H7 plain copy        c >= 0.9
  H8 random            uniformly random non-candidate pair

Pairs already in the first sample are excluded; an article is used in at most
two pairs of this sample; at most 5 byte-identical pairs. Strata are filled in
increasing order of population (as in the first sample); a stratum that runs
short hands the rest to the next stratum in the table.

Writes ``scripts/labels/saudinewsnet_hard_sample.jsonl`` (pair numbers start at
1001 so they never collide with the first sample), ``..._hard_strata.json``,
and renders the pairs for blind reading into ``/tmp/dedup_hard/partN.txt``
(no stratum, no numbers shown) with ``articles.jsonl`` there holding the full
texts of every sampled article (a labeller looks up a cut text by its url).
Article texts never enter the repository (licence).
"""
from __future__ import annotations

import argparse
import glob
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_dev_sample as base  # noqa: E402

DEFAULT_RENDER = Path("/tmp/dedup_hard")
FIRST_PAIR = 1001
PARTS = 5
RENDER_FULL, RENDER_HEAD, RENDER_TAIL = 6000, 4500, 1200
_DIGITS = re.compile(r"\d+")

# (name, description, predicate on a dict of feature arrays, sample size)
STRATA = [
    ("H1", "rewritten lead: jaccard < 0.35, 0.1 <= c < 0.6, cosine >= 0.5",
     lambda f: (f["jac"] < 0.35) & (f["cont"] >= 0.1) & (f["cont"] < 0.6) & (f["cos"] >= 0.5), 150),
    ("H2", "roundup: c >= 0.5, length ratio >= 2.5",
     lambda f: (f["cont"] >= 0.5) & (f["ratio"] >= 2.5), 130),
    ("H3", "template: c >= 0.4, numbers Jaccard < 0.5 (both have numbers)",
     lambda f: (f["cont"] >= 0.4) & (f["numbers"] < 0.5), 150),
    ("H4", "parallel rewrite: 0.15 <= c < 0.5, cosine >= 0.4",
     lambda f: (f["cont"] >= 0.15) & (f["cont"] < 0.5) & (f["cos"] >= 0.4), 130),
    ("H5", "boundary: 0.5 <= c < 0.9", lambda f: (f["cont"] >= 0.5) & (f["cont"] < 0.9), 120),
    ("H6", "same event?: c < 0.15, 0.3 <= cosine < 0.5",
     lambda f: (f["cont"] < 0.15) & (f["cos"] >= 0.3) & (f["cos"] < 0.5), 60),
    ("H7", "plain copy: c >= 0.9", lambda f: f["cont"] >= 0.9, 40),
]
H8 = ("H8", "uniformly random article pair that is not a candidate pair", 20)


def _numbers(text: str) -> frozenset[str]:
    return frozenset(_DIGITS.findall(text.translate(_ARABIC_DIGITS)))


_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def _set_jaccard(a: frozenset, b: frozenset) -> float:
    if not a or not b:
        return 1.0  # nothing to disagree on
    return len(a & b) / len(a | b)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=base.DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=base.DEFAULT_OUT)
    ap.add_argument("--render", type=Path, default=DEFAULT_RENDER)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--name", default="hard", help="the sample's name: writes saudinewsnet_NAME_sample.jsonl and _strata.json")
    ap.add_argument("--exclude", type=Path, action="append",
                    help="a sample file whose pairs are not drawn again (repeatable; default: the first sample)")
    ap.add_argument("--exclude-articles", action="store_true",
                    help="also leave out every article of the --exclude samples (a test set sharing no article with them)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every stratum's size by this (rounded)")
    ap.add_argument("--first-pair", type=int, default=FIRST_PAIR, help="number of the first pair")
    ap.add_argument("--parts", type=int, default=PARTS, help="files the pairs are rendered into")
    args = ap.parse_args(argv)
    if args.name != "hard" and args.out.resolve() == base.DEFAULT_OUT.resolve():
        ap.error("another sample than 'hard' goes to its own --out folder (the fitting scripts read every label file of scripts/labels)")
    if not args.data.is_dir() or not glob.glob(str(args.data / "*.zip")):
        print(f"make_hard_sample: data folder {args.data} is absent (or has no *.zip); nothing to do.")
        return 0
    t0 = time.time()
    log = lambda msg: print(f"[{time.time() - t0:6.1f}s] {msg}", flush=True)  # noqa: E731

    c = base.build_candidates(args.data, log)
    docs, urls, n = c.docs, c.urls, len(c.docs)
    I, J = c.I, c.J
    lengths = np.array([len(t) for t in c.token_ids], dtype=np.float64)
    nums = [_numbers(d["content"]) for d in docs]
    feats = {
        "jac": c.jac, "cont": c.cont, "cos": c.cos,
        "ratio": np.maximum(lengths[I], lengths[J]) / np.maximum(np.minimum(lengths[I], lengths[J]), 1),
        "numbers": np.array([_set_jaccard(nums[i], nums[j]) for i, j in zip(I.tolist(), J.tolist())]),
    }
    same_title = np.array([(docs[i].get("title") or "").strip() == (docs[j].get("title") or "").strip()
                           for i, j in zip(I.tolist(), J.tolist())])
    log("extra features computed")

    exclude = args.exclude or [base.DEFAULT_OUT / "saudinewsnet_dev_sample.jsonl"]
    first = [json.loads(line) for path in exclude for line in open(path, encoding="utf-8")]
    row_of = {u: k for k, u in enumerate(urls)}
    taken = {min(row_of[r["id1"]], row_of[r["id2"]]) * n + max(row_of[r["id1"]], row_of[r["id2"]])
             for r in first if r["id1"] in row_of and r["id2"] in row_of}
    excluded = np.isin(c.keys, np.fromiter(taken, dtype=np.int64))
    uses = np.zeros(n, dtype=np.int64)
    if args.exclude_articles:  # an article of an excluded pair is in no pair of this sample (random pairs included)
        seen = np.array(sorted({row_of[r[k]] for r in first for k in ("id1", "id2") if r[k] in row_of}), dtype=np.int64)
        excluded |= np.isin(I, seen) | np.isin(J, seen)
        uses[seen] = base.MAX_USES

    rng = np.random.default_rng(args.seed)
    assigned = excluded.copy()
    masks = {}
    for name, _desc, pred, _want in STRATA:
        masks[name] = pred(feats) & ~assigned
        assigned |= masks[name]
    perms = {name: rng.permutation(np.flatnonzero(m)) for name, m in masks.items()}
    target = {name: round(want * args.scale) for name, _d, _p, want in STRATA}
    got = dict.fromkeys(perms, 0)
    pos = dict.fromkeys(perms, 0)
    received = dict.fromkeys(perms, 0)
    n_identical = 0
    sample: list[dict] = []

    def fill(name: str) -> None:
        nonlocal n_identical
        perm = perms[name]
        while got[name] < target[name] and pos[name] < len(perm):
            p = perm[pos[name]]
            pos[name] += 1
            i, j = int(I[p]), int(J[p])
            if uses[i] >= base.MAX_USES or uses[j] >= base.MAX_USES:
                continue
            if c.identical[p]:
                if n_identical >= base.MAX_IDENTICAL:
                    continue
                n_identical += 1
            uses[i] += 1
            uses[j] += 1
            got[name] += 1
            sample.append(dict(stratum=name, i=i, j=j, jaccard=float(c.jac[p]), containment=float(c.cont[p]),
                               cosine=float(c.cos[p]), length_ratio=float(feats["ratio"][p]),
                               numbers_jaccard=float(feats["numbers"][p]), same_title=bool(same_title[p]),
                               days_apart=float(c.days[p])))

    order = [name for name, *_ in STRATA]
    for name in sorted(perms, key=lambda nm: (len(perms[nm]), nm)):
        fill(name)
    for k, name in enumerate(order[:-1]):  # shortfalls move down the table
        short = target[name] - got[name]
        if short > 0:
            nxt = order[k + 1]
            target[nxt] += short
            received[nxt] += short
            log(f"{name} short by {short}: moved to {nxt}")
            fill(nxt)

    name8, desc8, want8 = H8
    want8 = round(want8 * args.scale)
    cand_keys = set(c.keys.tolist())
    got8 = tries = 0
    while got8 < want8 and tries < 100_000:
        tries += 1
        i, j = sorted(int(v) for v in rng.choice(n, size=2, replace=False))
        if i * n + j in cand_keys or uses[i] >= base.MAX_USES or uses[j] >= base.MAX_USES:
            continue
        if docs[i]["content"] == docs[j]["content"]:
            continue
        cand_keys.add(i * n + j)
        uses[i] += 1
        uses[j] += 1
        got8 += 1
        sample.append(dict(stratum=name8, i=i, j=j, jaccard=0.0, containment=0.0, cosine=0.0,
                           length_ratio=float(max(lengths[i], lengths[j]) / max(min(lengths[i], lengths[j]), 1)),
                           numbers_jaccard=_set_jaccard(nums[i], nums[j]), same_title=False,
                           days_apart=float(abs(c.ts[i] - c.ts[j]) / 86400.0)))

    rows = []
    for k, o in enumerate(rng.permutation(len(sample)), start=args.first_pair):
        s = sample[o]
        i, j = (s["i"], s["j"]) if urls[s["i"]] < urls[s["j"]] else (s["j"], s["i"])
        rows.append(dict(pair=k, id1=urls[i], id2=urls[j], stratum=s["stratum"],
                         **{f: round(s[f], 4) if isinstance(s[f], float) else s[f]
                            for f in ("jaccard", "containment", "cosine", "length_ratio", "numbers_jaccard",
                                      "same_title", "days_apart")},
                         _i=i, _j=j))
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / f"saudinewsnet_{args.name}_sample.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({k: v for k, v in r.items() if not k.startswith("_")}, ensure_ascii=False) + "\n")
    strata_doc = dict(
        dataset="SaudiNewsNet dev split (dataset/*.zip, 2015-07-21..2015-08-04)",
        seed=args.seed, articles_kept=n, candidate_pairs=int(len(c.keys)),
        **(dict(excluded_first_sample=int(excluded.sum())) if args.name == "hard" else dict(
            excluded_candidate_pairs=int(excluded.sum()), excluded_samples=[p.name for p in exclude],
            excluded_articles=bool(args.exclude_articles), scale=args.scale)),
        extra_features=dict(
            length_ratio="longer / shorter whitespace-token count of the normalised text",
            numbers_jaccard="Jaccard of the sets of digit runs (Arabic-Indic digits folded); 1.0 if either has none",
            same_title="stripped titles equal"),
        constraints=dict(max_pairs_per_article=base.MAX_USES, max_byte_identical_pairs=base.MAX_IDENTICAL,
                         byte_identical_sampled=n_identical),
        strata=[dict(stratum=name, definition=desc, population=int(masks[name].sum()), target_planned=round(want * args.scale),
                     target=target[name], overflow_received=received[name], sampled=got[name])
                for name, desc, _p, want in STRATA]
        + [dict(stratum=name8, definition=desc8, population=n * (n - 1) // 2 - len(c.keys), target_planned=want8,
                target=want8, overflow_received=0, sampled=got8)],
        total_sampled=len(rows),
    )
    with open(args.out / f"saudinewsnet_{args.name}_strata.json", "w", encoding="utf-8") as f:
        json.dump(strata_doc, f, ensure_ascii=False, indent=2)
        f.write("\n")
    for st in strata_doc["strata"]:
        log(f"{st['stratum']}: population {st['population']}, sampled {st['sampled']}/{st['target']}")

    args.render.mkdir(parents=True, exist_ok=True)
    with open(args.render / "articles.jsonl", "w", encoding="utf-8") as f:
        for i in sorted({r["_i"] for r in rows} | {r["_j"] for r in rows}):
            d = docs[i]
            f.write(json.dumps({"url": d["url"], "source": d.get("source"), "date": d.get("date_extracted"),
                                "title": d.get("title"), "content": d["content"]}, ensure_ascii=False) + "\n")
    size = -(-len(rows) // args.parts)
    for part in range(args.parts):
        chunk = rows[part * size:(part + 1) * size]
        with open(args.render / f"part{part + 1}.txt", "w", encoding="utf-8") as f:
            for r in chunk:
                f.write(f"=== PAIR {r['pair']} ===\n\n")
                for tag, d in (("A", docs[r["_i"]]), ("B", docs[r["_j"]])):
                    text = d["content"].strip()
                    if len(text) > RENDER_FULL:
                        cut = len(text) - RENDER_HEAD - RENDER_TAIL
                        text = f"{text[:RENDER_HEAD]}\n[… {cut} chars cut: full text in articles.jsonl …]\n{text[-RENDER_TAIL:]}"
                    f.write(f"--- {tag} ---\nurl:    {d['url']}\nsource: {d.get('source', '')}\n"
                            f"date:   {d.get('date_extracted', '')}\ntitle:  {(d.get('title') or '').strip()}\n"
                            f"tokens: {len(d['content'].split())}\n\n{text}\n\n")
                f.write("\n")
    log(f"wrote {len(rows)} pairs; rendered {PARTS} parts into {args.render}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
