#!/usr/bin/env python3
"""Build the stratified pair sample for the hand-labelled SaudiNewsNet dev set.

Sampling and rendering only; the labels are added later by people (see
scripts/labels/README.md).  This script is deliberately independent of the
``dedup`` package so that the evaluation sample does not depend on the code it
is meant to evaluate.

Steps
  1. load every article of the dev zips; drop those with < 30 whitespace tokens
  2. light Arabic normalisation (own implementation, see ``normalize``)
  3. candidate pairs, without all-pairs:
       (a) pairs sharing >= 1 word 5-gram (inverted index over 5-gram hashes,
           5-grams occurring in more than 50 articles are ignored)
       (b) TF-IDF (whitespace tokens, sublinear tf) top-10 cosine neighbours of
           every article, kept if cosine >= 0.2
  4. per candidate pair: Jaccard and containment on word 3-gram sets, TF-IDF
     cosine, date gap in days
  5. stratified sample with a fixed seed (see STRATA)
  6. writes scripts/labels/saudinewsnet_dev_sample.jsonl and
     scripts/labels/saudinewsnet_dev_strata.json (urls and numbers only)
  7. renders the pairs for blind reading into /tmp/dedup_pairs/part{1,2}.txt
     (article texts are never written into the repository: licence)
"""
from __future__ import annotations

import argparse
import glob
import json
import re
import sys
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "saudinewsnet" / "dataset"
DEFAULT_OUT = REPO / "scripts" / "labels"
DEFAULT_RENDER = Path("/tmp/dedup_pairs")

MIN_TOKENS = 30
SHINGLE_CAND = 5          # word n-gram size for candidate generation (a)
MAX_DF_CAND = 50          # 5-grams in more than this many articles are ignored
SHINGLE_SIM = 3           # word n-gram size for jaccard / containment
TFIDF_K = 10              # top-k cosine neighbours for candidate generation (b)
TFIDF_MIN_COS = 0.2
MAX_IDENTICAL = 5         # at most this many byte-identical pairs in the sample
MAX_USES = 2              # an article appears in at most this many sampled pairs
RENDER_FULL = 2500        # render the whole content up to this many characters
RENDER_HEAD, RENDER_TAIL = 2000, 400

# (name, description, predicate on (containment, cosine), sample size)
STRATA = [
    ("S1", "candidate, containment >= 0.9", lambda c, s: c >= 0.9, 30),
    ("S2", "candidate, 0.7 <= containment < 0.9", lambda c, s: (c >= 0.7) & (c < 0.9), 35),
    ("S3", "candidate, 0.5 <= containment < 0.7", lambda c, s: (c >= 0.5) & (c < 0.7), 40),
    ("S4", "candidate, 0.3 <= containment < 0.5", lambda c, s: (c >= 0.3) & (c < 0.5), 40),
    ("S5", "candidate, 0.1 <= containment < 0.3", lambda c, s: (c >= 0.1) & (c < 0.3), 35),
    ("S6", "candidate, containment < 0.1 and cosine >= 0.5", lambda c, s: (c < 0.1) & (s >= 0.5), 30),
    ("S7", "candidate, containment < 0.1 and 0.3 <= cosine < 0.5",
     lambda c, s: (c < 0.1) & (s >= 0.3) & (s < 0.5), 15),
]
S8 = ("S8", "uniformly random article pair that is not a candidate pair", 15)
# a stratum whose population cannot supply its target gives the shortfall to:
OVERFLOW = {"S6": "S7"}

# --------------------------------------------------------------------------- normalisation
_DIACRITICS = "".join(chr(c) for c in range(0x064B, 0x0660)) + "\u0670" + "\u0640"
_TABLE = str.maketrans({**{ch: None for ch in _DIACRITICS},
                        "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})
_NON_ALNUM = re.compile(r"[\W_]+")   # \W is Unicode-aware: letters and digits of any script survive


def normalize(text: str) -> str:
    """Remove diacritics (U+064B-U+065F, U+0670) and tatweel, fold alef forms,
    alef maqsura and teh marbuta, replace every non letter/digit by a space,
    lowercase."""
    text = text.translate(_TABLE)
    text = _NON_ALNUM.sub(" ", text)
    return text.lower()


# --------------------------------------------------------------------------- loading
def load_articles(data_dir: Path) -> list[dict]:
    docs = []
    for z in sorted(glob.glob(str(data_dir / "*.zip"))):
        with zipfile.ZipFile(z) as zf:
            for name in sorted(zf.namelist()):
                if name.endswith(".json"):
                    docs.extend(json.load(zf.open(name)))
    return docs


# --------------------------------------------------------------------------- n-grams
def ngram_matrix(token_ids: list[np.ndarray], n: int, exact: bool) -> sp.csr_matrix:
    """Binary doc x n-gram matrix (set semantics).

    ``exact``: pack n token ids into one int64 (needs n*bits <= 63), else a
    64-bit polynomial hash (collisions are negligible at this scale).
    """
    rows, keys = [], []
    bits = max(1, int(max(int(t.max()) if len(t) else 0 for t in token_ids)).bit_length())
    if exact and n * bits > 63:
        exact = False
    mult = np.uint64(0x9E3779B97F4A7C15)
    for d, ids in enumerate(token_ids):
        m = len(ids) - n + 1
        if m <= 0:
            continue
        if exact:
            k = np.zeros(m, dtype=np.int64)
            for o in range(n):
                k = (k << bits) | ids[o:o + m].astype(np.int64)
        else:
            k = np.zeros(m, dtype=np.uint64)
            with np.errstate(over="ignore"):
                for o in range(n):
                    k = k * mult + ids[o:o + m].astype(np.uint64) + np.uint64(1)
            k = k.view(np.int64)
        k = np.unique(k)
        keys.append(k)
        rows.append(np.full(len(k), d, dtype=np.int32))
    keys = np.concatenate(keys)
    rows = np.concatenate(rows)
    uniq, cols = np.unique(keys, return_inverse=True)
    mat = sp.csr_matrix((np.ones(len(keys), dtype=np.float32), (rows, cols.ravel())),
                        shape=(len(token_ids), len(uniq)))
    mat.sum_duplicates()
    mat.data[:] = 1.0
    return mat


def rowwise_dot(a: sp.csr_matrix, b: sp.csr_matrix, I: np.ndarray, J: np.ndarray,
                chunk: int = 200_000) -> np.ndarray:
    out = np.empty(len(I), dtype=np.float64)
    for s in range(0, len(I), chunk):
        e = s + chunk
        out[s:e] = np.asarray(a[I[s:e]].multiply(b[J[s:e]]).sum(axis=1)).ravel()
    return out


# --------------------------------------------------------------------------- candidates
def candidates_shared_5gram(g5: sp.csr_matrix) -> sp.csr_matrix:
    df = np.diff(g5.tocsc().indptr)
    keep = np.flatnonzero((df >= 2) & (df <= MAX_DF_CAND))
    x = g5[:, keep].tocsr()
    shared = (x @ x.T).tocsr()
    return sp.triu(shared, k=1).tocsr()


def candidates_tfidf(x: sp.csr_matrix, k: int, min_cos: float, chunk: int = 1000):
    n = x.shape[0]
    xt = x.T.tocsc()
    I, J = [], []
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        sims = (x[s:e] @ xt).toarray()
        sims[np.arange(e - s), np.arange(s, e)] = -1.0   # no self
        top = np.argpartition(-sims, k, axis=1)[:, :k]
        vals = np.take_along_axis(sims, top, axis=1)
        r, c = np.nonzero(vals >= min_cos)
        I.append(r + s)
        J.append(top[r, c])
    I = np.concatenate(I)
    J = np.concatenate(J)
    a, b = np.minimum(I, J), np.maximum(I, J)
    return a, b


# --------------------------------------------------------------------------- main
@dataclass
class Candidates:
    """The dev articles, the candidate pairs (I < J, rows of ``docs``) and their features."""
    docs: list[dict]
    urls: list[str]
    n_raw: int
    token_ids: list[np.ndarray]
    I: np.ndarray
    J: np.ndarray
    keys: np.ndarray
    jac: np.ndarray
    cont: np.ndarray
    cos: np.ndarray
    days: np.ndarray
    identical: np.ndarray
    same_source: np.ndarray
    g3: sp.csr_matrix
    size3: np.ndarray
    x: sp.csr_matrix
    ts: np.ndarray
    n_from_a: int
    n_from_b: int
    n_both: int


def build_candidates(data: Path, log) -> Candidates:
    """Steps 1-4: load, normalise, candidate pairs, per-pair features (also used by make_hard_sample.py)."""
    # 1. load ------------------------------------------------------------------
    raw = load_articles(data)
    n_raw = len(raw)
    docs = [d for d in raw if len((d.get("content") or "").split()) >= MIN_TOKENS]
    docs.sort(key=lambda d: d["url"])
    urls = [d["url"] for d in docs]
    assert len(set(urls)) == len(urls), "url is not unique"
    n = len(docs)
    log(f"loaded {n_raw} articles, {n} with >= {MIN_TOKENS} tokens")

    # 2. normalise + tokenise --------------------------------------------------
    norm = [normalize(d["content"]) for d in docs]
    vocab: dict[str, int] = {}
    token_ids = []
    for t in norm:
        toks = t.split()
        token_ids.append(np.fromiter((vocab.setdefault(w, len(vocab)) for w in toks),
                                     dtype=np.int64, count=len(toks)))
    log(f"normalised; vocabulary {len(vocab)}")

    # 3a. shared 5-gram candidates ---------------------------------------------
    g5 = ngram_matrix(token_ids, SHINGLE_CAND, exact=False)
    shared = candidates_shared_5gram(g5).tocoo()
    ca, cb = shared.row.astype(np.int64), shared.col.astype(np.int64)
    log(f"(a) shared-5-gram candidate pairs: {len(ca)}")

    # 3b. TF-IDF top-k ----------------------------------------------------------
    vec = TfidfVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False,
                          sublinear_tf=True)
    x = vec.fit_transform(norm).tocsr()
    ta, tb = candidates_tfidf(x, TFIDF_K, TFIDF_MIN_COS)
    log(f"(b) tf-idf top-{TFIDF_K} (cos >= {TFIDF_MIN_COS}) candidate pairs: "
        f"{len(np.unique(ta * n + tb))}")

    key_a = ca * n + cb
    key_b = ta * n + tb
    keys = np.union1d(key_a, key_b)
    I, J = keys // n, keys % n
    n_from_a = len(np.unique(key_a))
    n_from_b = len(np.unique(key_b))
    n_both = len(np.intersect1d(key_a, key_b))
    log(f"candidate pairs (union): {len(keys)} (both: {n_both})")

    # 4. features ---------------------------------------------------------------
    g3 = ngram_matrix(token_ids, SHINGLE_SIM, exact=True)
    size3 = np.diff(g3.indptr).astype(np.float64)
    inter = rowwise_dot(g3, g3, I, J)
    sa, sb = size3[I], size3[J]
    union = sa + sb - inter
    jac = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    cont = np.where(np.minimum(sa, sb) > 0, inter / np.maximum(np.minimum(sa, sb), 1), 0.0)
    cos = np.clip(rowwise_dot(x, x, I, J), 0.0, 1.0)
    ts = np.array([datetime.strptime(d["date_extracted"], "%Y-%m-%d %H:%M:%S").timestamp()
                   if d.get("date_extracted") else np.nan for d in docs])
    days = np.abs(ts[I] - ts[J]) / 86400.0
    content = [d["content"] for d in docs]
    identical = np.array([content[i] == content[j] for i, j in zip(I, J)], dtype=bool)
    same_source = np.array([docs[i]["source"] == docs[j]["source"] for i, j in zip(I, J)])
    log("features computed")
    return Candidates(docs=docs, urls=urls, n_raw=n_raw, token_ids=token_ids, I=I, J=J, keys=keys,
                      jac=jac, cont=cont, cos=cos, days=days, identical=identical, same_source=same_source,
                      g3=g3, size3=size3, x=x, ts=ts, n_from_a=n_from_a, n_from_b=n_from_b, n_both=n_both)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="folder with the SaudiNewsNet dev zips (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT,
                    help="folder for the sample/strata files (default: %(default)s)")
    ap.add_argument("--render", type=Path, default=DEFAULT_RENDER,
                    help="folder for the human-readable rendering (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    if not args.data.is_dir() or not glob.glob(str(args.data / "*.zip")):
        print(f"make_dev_sample: data folder {args.data} is absent (or has no *.zip); "
              f"nothing to do.")
        return 0

    t0 = time.time()
    log = lambda msg: print(f"[{time.time() - t0:6.1f}s] {msg}", flush=True)  # noqa: E731

    c = build_candidates(args.data, log)
    docs, urls, n_raw, n = c.docs, c.urls, c.n_raw, len(c.docs)
    I, J, keys, jac, cont, cos, days = c.I, c.J, c.keys, c.jac, c.cont, c.cos, c.days
    identical, same_source, g3, size3, x, ts = c.identical, c.same_source, c.g3, c.size3, c.x, c.ts
    n_from_a, n_from_b, n_both = c.n_from_a, c.n_from_b, c.n_both
    content = [d["content"] for d in docs]

    # 5. stratified sampling ----------------------------------------------------
    # Strata are filled in increasing order of population so that the article-use
    # cap does not starve the small ones; a stratum whose population cannot supply
    # its target hands the shortfall to its OVERFLOW stratum (filled afterwards).
    rng = np.random.default_rng(args.seed)
    uses = np.zeros(n, dtype=np.int64)
    n_identical = 0
    sample = []             # dicts
    assigned = np.zeros(len(I), dtype=bool)
    masks = {}
    for name, desc, pred, want in STRATA:
        masks[name] = pred(cont, cos) & ~assigned
        assigned |= masks[name]
    perms = {name: rng.permutation(np.flatnonzero(masks[name])) for name, *_ in STRATA}
    pos = {name: 0 for name in perms}
    got = {name: 0 for name in perms}
    target = {name: want for name, _, _, want in STRATA}
    received = {name: 0 for name in perms}

    def fill(name: str) -> None:
        nonlocal n_identical
        perm = perms[name]
        while got[name] < target[name] and pos[name] < len(perm):
            p = perm[pos[name]]
            pos[name] += 1
            i, j = int(I[p]), int(J[p])
            if uses[i] >= MAX_USES or uses[j] >= MAX_USES:
                continue
            if identical[p]:
                if n_identical >= MAX_IDENTICAL:
                    continue
                n_identical += 1
            uses[i] += 1
            uses[j] += 1
            got[name] += 1
            sample.append(dict(stratum=name, i=i, j=j, jaccard=float(jac[p]),
                               containment=float(cont[p]), cosine=float(cos[p]),
                               days_apart=float(days[p]), identical=bool(identical[p])))

    fill_order = sorted(perms, key=lambda nm: (len(perms[nm]), nm))
    for name in fill_order:
        fill(name)
    for src, dst in OVERFLOW.items():
        short = target[src] - got[src]
        if short > 0:
            target[dst] += short
            received[dst] += short
            log(f"{src} short by {short}: moved to {dst}")
            fill(dst)
    strata_info = []
    for name, desc, pred, want in STRATA:
        mask = masks[name]
        strata_info.append(dict(
            stratum=name, definition=desc, population=int(mask.sum()),
            population_byte_identical=int((mask & identical).sum()),
            population_same_source=int((mask & same_source).sum()),
            target_planned=want, target=target[name],
            overflow_received=received[name], overflow_to=OVERFLOW.get(name),
            sampled=got[name],
            sampled_byte_identical=sum(1 for s in sample if s["stratum"] == name and s["identical"]),
        ))
        log(f"{name}: population {int(mask.sum())}, sampled {got[name]}/{target[name]} "
            f"(planned {want})")

    # S8: uniformly random non-candidate pairs
    name, desc, want = S8
    cand_keys = set(keys.tolist())
    got8, tries = 0, 0
    while got8 < want and tries < 100_000:
        tries += 1
        i, j = sorted(int(v) for v in rng.choice(n, size=2, replace=False))
        if i * n + j in cand_keys or uses[i] >= MAX_USES or uses[j] >= MAX_USES:
            continue
        if content[i] == content[j]:
            continue
        cand_keys.add(i * n + j)            # no repeats
        uses[i] += 1
        uses[j] += 1
        got8 += 1
        ii = float(g3[i].multiply(g3[j]).sum())
        ua, ub = size3[i], size3[j]
        sample.append(dict(
            stratum=name, i=i, j=j,
            jaccard=ii / (ua + ub - ii) if ua + ub - ii > 0 else 0.0,
            containment=ii / min(ua, ub) if min(ua, ub) > 0 else 0.0,
            cosine=float(min(1.0, max(0.0, x[i].multiply(x[j]).sum()))),
            days_apart=float(abs(ts[i] - ts[j]) / 86400.0), identical=False))
    pop8 = n * (n - 1) // 2 - len(keys)
    strata_info.append(dict(stratum=name, definition=desc, population=pop8,
                            population_byte_identical=None, population_same_source=None,
                            target_planned=want, target=want, overflow_received=0,
                            overflow_to=None, sampled=got8, sampled_byte_identical=0))
    log(f"{name}: population {pop8}, sampled {got8}/{want}")

    # 6. shuffle, number, write --------------------------------------------------
    order = rng.permutation(len(sample))
    rows = []
    for k, o in enumerate(order, start=1):
        s = sample[o]
        i, j = s["i"], s["j"]
        if urls[i] > urls[j]:
            i, j = j, i
        rows.append(dict(pair=k, id1=urls[i], id2=urls[j], stratum=s["stratum"],
                         jaccard=round(s["jaccard"], 4), containment=round(s["containment"], 4),
                         cosine=round(s["cosine"], 4), days_apart=round(s["days_apart"], 3),
                         _i=i, _j=j))

    args.out.mkdir(parents=True, exist_ok=True)
    sample_path = args.out / "saudinewsnet_dev_sample.jsonl"
    with open(sample_path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({k: v for k, v in r.items() if not k.startswith("_")},
                               ensure_ascii=False) + "\n")
    n_unassigned = int((~assigned).sum())
    strata_doc = dict(
        dataset="SaudiNewsNet dev split (dataset/*.zip, 2015-07-21..2015-08-04)",
        seed=args.seed,
        articles_loaded=n_raw,
        articles_kept=n,
        min_tokens=MIN_TOKENS,
        normalization="remove U+064B-U+065F, U+0670, tatweel U+0640; fold أإآٱ->ا, ى->ي, ة->ه; "
                      "non letter/digit -> space; lowercase; whitespace tokens",
        candidates=dict(
            shared_5gram=dict(pairs=n_from_a, max_df=MAX_DF_CAND,
                              rule="share >= 1 word 5-gram occurring in <= 50 articles"),
            tfidf_topk=dict(pairs=n_from_b, k=TFIDF_K, min_cosine=TFIDF_MIN_COS,
                            rule="TfidfVectorizer(whitespace tokens, sublinear_tf) top-10 "
                                 "cosine neighbours of every article with cosine >= 0.2"),
            both=n_both,
            union=int(len(keys)),
            byte_identical=int(identical.sum()),
            same_source=int(same_source.sum()),
            in_no_stratum=n_unassigned,
            in_no_stratum_rule="containment < 0.1 and cosine < 0.3",
        ),
        features=dict(
            jaccard="|A∩B|/|A∪B| on word 3-gram sets of the normalised text",
            containment="|A∩B|/min(|A|,|B|) on word 3-gram sets",
            cosine="TF-IDF cosine (the vectorizer above)",
            days_apart="|date_extracted difference| in days (crawl time)",
        ),
        constraints=dict(max_byte_identical_pairs=MAX_IDENTICAL, max_pairs_per_article=MAX_USES,
                         byte_identical_sampled=n_identical),
        sampling=dict(
            within_stratum="uniform random order (numpy default_rng(seed).permutation); a pair is "
                           "skipped if one of its articles is already in 2 sampled pairs, or if it "
                           "is byte-identical and 5 byte-identical pairs are already in",
            fill_order=fill_order + ["S8"],
            overflow=OVERFLOW,
            s8="random i<j drawn uniformly among kept articles, rejected if a candidate pair, "
               "byte-identical, already drawn, or an article is used twice",
        ),
        population_note="population = number of candidate pairs that fall in the stratum "
                        "(S8: all non-candidate pairs of kept articles); a per-stratum estimate "
                        "is weighted by population / sampled. Candidate pairs with containment "
                        "< 0.1 and cosine < 0.3 are in no stratum and are not represented.",
        strata=strata_info,
        total_sampled=len(rows),
    )
    with open(args.out / "saudinewsnet_dev_strata.json", "w", encoding="utf-8") as f:
        json.dump(strata_doc, f, ensure_ascii=False, indent=2)
        f.write("\n")
    log(f"wrote {sample_path} ({len(rows)} pairs) and saudinewsnet_dev_strata.json")

    # 7. render (outside the repo) ----------------------------------------------
    args.render.mkdir(parents=True, exist_ok=True)
    half = (len(rows) + 1) // 2
    for part, chunk in ((1, rows[:half]), (2, rows[half:])):
        path = args.render / f"part{part}.txt"
        with open(path, "w", encoding="utf-8") as f:
            for r in chunk:
                f.write(f"=== PAIR {r['pair']} ===\n\n")
                for tag, d in (("A", docs[r["_i"]]), ("B", docs[r["_j"]])):
                    c = d["content"].strip()
                    if len(c) > RENDER_FULL:
                        cut = len(c) - RENDER_HEAD - RENDER_TAIL
                        c = f"{c[:RENDER_HEAD]}\n[… {cut} chars cut …]\n{c[-RENDER_TAIL:]}"
                    f.write(f"--- {tag} ---\n")
                    f.write(f"source: {d.get('source', '')}\n")
                    f.write(f"date:   {d.get('date_extracted', '')}\n")
                    f.write(f"title:  {(d.get('title') or '').strip()}\n")
                    f.write(f"tokens: {len(d['content'].split())}\n\n")
                    f.write(c + "\n\n")
                f.write("\n")
        log(f"rendered {path}")
    log("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
