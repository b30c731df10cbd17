#!/usr/bin/env python3
"""Draw an event-level pair sample from the candidate pairs of ``dedup stories``, for hand labelling.

The first two samples (``make_dev_sample.py``, ``make_hard_sample.py``) were
drawn from duplicate-detection candidates, found without the ``dedup``
package. The stories stage links reports of one happening, copies or not, and
fails in other places: templated reports of different happenings that its
score rates high, independent reports of one event with few words in common,
pairs near the event threshold. So this sample is drawn from the stage's own
candidate pairs (``StoriesResult.pairs``, with their story scores and the
events and duplicate groups of the output), by running the stories flow
in-process on the dev days with its default configuration. It depends on the
code it helps to evaluate on purpose: it over-samples where that code hesitates
or may be wrong, and each pair records the numbers it was drawn by, so that a
later version of the stage can be scored on the same pairs (the labels do not
depend on the run; only the strata do).

Per candidate pair (positions i < j of the feed; story cosine, length ratio
and shared numbers are the story score's own features, recomputed from the
same vectors; the recomputed score is checked against the flow's):

  score        story score (``event_threshold`` = 0.8 by default)
  cosine       cosine of the story vectors (TF-IDF of body and headline)
  shared_numbers  Jaccard of the number sets (years left out; 0 without numbers)
  rare_words   Jaccard of the sets of rare words (in at most RARE_DF articles of
               the feed: mostly names of people and places); 1.0 if either has none
  same_source, same_event, same_group (one duplicate group), same_storyline

Strata (a pair falls into the first that matches; they partition the
candidates, so a labelled pair stands for population / sampled of its stratum):

  S1 template      same source, score >= 0.7, and the numbers or the rare words
                   disagree (shared_numbers < 0.5 with numbers on both sides, or
                   rare_words < 0.3): one outlet's pattern filled with other facts
  S5 low cosine    different sources, same event, cosine < LOW_COSINE: independent
                   reports the stage linked on little shared wording (or linked
                   through other members)
  S2 boundary      |score - event_threshold| <= 0.1
  S3 event link    same event, not one duplicate group: linked as an event, not as copies
  S4 split         different events, score >= 0.7 (above the boundary band after S2:
                   pairs the linkage guard or the window kept apart)
  S6 random        every other candidate pair (a plain draw, for calibration)

Sizes (300 in all) and why: S2 65, the largest, because the threshold is what a
re-tuning moves and it needs pairs on both sides of it; S1 60, because templated
reports of one outlet are the errors the template penalty exists for and the
ones a desk notices first; S3 50, S4 45 and S5 45 test the linkage itself (links
that are not copies, high scores it kept apart, links made on little shared
wording) at about equal weight; S6 35, a plain draw from the bulk of the
candidates, so that estimates over all candidates have support everywhere.
Matching order S1, S5, S2, S3, S4, S6 keeps the narrow strata narrow: S5 before
S2 and S3, which would otherwise absorb it; S2 before S4, so that S4 holds the
refused pairs above the boundary band.

Excluded: pairs already in ``scripts/labels/*_sample.jsonl`` (by urls), pairs
with an article of fewer than 30 whitespace tokens (as in the other samples);
an article is used in at most two pairs, at most five byte-identical pairs.
Strata are filled in increasing order of population; a stratum that runs short
hands the rest to S6.

Writes ``scripts/labels/saudinewsnet_story_sample.jsonl`` (pairs 2001-2300;
``id1 < id2``; ``shown_first`` says which one the rendering shows as A, the
order being drawn with the seed) and ``saudinewsnet_story_strata.json``, and
renders the pairs blind (no stratum, no numbers, shuffled) into
``/tmp/dedup_story/part{1,2,3}.txt`` with ``articles.jsonl`` holding the full
texts (the rendering format of ``make_hard_sample.py``). Article texts never
enter the repository (licence). Deterministic for a given seed and code.

Usage: ``python scripts/make_story_sample.py [--data DIR] [--out DIR] [--render DIR] [--seed 2]``
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_dev_sample as base
import make_hard_sample as hard
from _common import load_saudinewsnet, run_info, saudinewsnet_dir

import dedup
from dedup.config import DedupConfig, StoriesConfig
from dedup.exec import LocalExecutor
from dedup.flows.prepare_held import normalized_lines, without_boilerplate
from dedup.flows.stories import stories
from dedup.stories import (
    number_sets,
    pair_dots,
    score_features,
    story_scores,
    token_counts,
)
from dedup.stories.vectors import story_vectors_from_counts, word_counts
from dedup.text.normalize import normalize_batch
from dedup.types import Article

DEFAULT_RENDER = Path("/tmp/dedup_story")
FIRST_PAIR = 2001
PARTS = 3
RARE_DF = 5          # a word in at most this many articles of the feed counts as rare (names, places)
LOW_COSINE = 0.2     # below this story cosine, two reports share little wording (the lowest ~7% of
                     # the same-event pairs of different sources on the dev days)

# (name, description, predicate on a dict of feature arrays, sample size)
STRATA = [
    ("S1", "template: same source, score >= 0.7, shared_numbers < 0.5 (numbers on both sides) or rare_words < 0.3",
     lambda f: f["same_source"] & (f["score"] >= 0.7)
     & (((f["shared_numbers"] < 0.5) & f["numbers_both"]) | (f["rare_words"] < 0.3)), 60),
    ("S5", f"low cosine: different sources, same event, cosine < {LOW_COSINE}",
     lambda f: ~f["same_source"] & f["same_event"] & (f["cosine"] < LOW_COSINE), 45),
    ("S2", "boundary: |score - event_threshold| <= 0.1",
     lambda f: np.abs(f["score"] - f["threshold"]) <= 0.1, 65),
    ("S3", "event link: same event, not one duplicate group",
     lambda f: f["same_event"] & ~f["same_group"], 50),
    ("S4", "split: different events, score >= 0.7",
     lambda f: ~f["same_event"] & (f["score"] >= 0.7), 45),
    ("S6", "random: every other candidate pair", lambda f: np.ones(len(f["score"]), bool), 35),
]
FALLBACK = "S6"
WHY = {
    "S1": "templated reports of one outlet with other facts: what the template penalty is for, first seen by a desk",
    "S5": "independent reports linked on little shared wording (or through other members): recall or chaining",
    "S2": "pairs the event threshold decides: what a re-tuning of the threshold needs on both sides",
    "S3": "event links that are not copies: the stage's own contribution beyond dedupe",
    "S4": "high-scoring pairs the linkage guard or the window kept apart: refused links",
    "S6": "plain draw from the rest of the candidates: support for estimates over all candidates",
}


def load_feed(data: Path) -> tuple[list[dict], list[Article]]:
    """The dev articles as the other scripts read them (``eval_stories.py``), and as :class:`Article` records."""
    docs = load_saudinewsnet(data)
    arts = [Article(id=d["url"], text=d["content"], title=d["title"], date=d["date_extracted"], source=d["source"])
            for d in docs]
    return docs, arts


def pair_features(arts: list[Article], res, config: StoriesConfig, dedup_config: DedupConfig) -> dict[str, np.ndarray]:
    """Per candidate pair of ``res`` (a :class:`dedup.results.StoriesResult`): the numbers the strata use.

    The story vectors are rebuilt the way the stories flow builds them (same
    normalisation and boilerplate removal), so that the score's features
    (cosine, shared numbers) are the stage's own; the score recomputed from
    them must equal the flow's, which is checked.
    """
    bodies = normalized_lines([a.text for a in arts], dedup_config.normalize, LocalExecutor(1), len(arts) or 1)
    texts, _, _ = without_boilerplate(bodies, [a.source for a in arts], dedup_config)
    titles = [" ".join(ls) for ls in normalize_batch([a.title for a in arts], dedup_config.normalize)]
    del bodies
    words = word_counts(texts, bigrams=False)
    x = story_vectors_from_counts(texts, titles, config, None if config.bigrams else words)
    nums, lengths = number_sets(texts, titles), token_counts(texts)
    pairs = res.pairs
    i, j = pairs[:, 0], pairs[:, 1]
    f = score_features(x, nums, lengths, pairs)
    again = story_scores(x, nums, lengths, pairs, config)
    if not np.allclose(again, res.scores, atol=1e-9):
        raise RuntimeError("recomputed story scores differ from the flow's: the vectors are not built the same way")
    present = (words > 0).astype(np.float64).tocsc()
    df = np.diff(present.indptr)
    rare = sp.csr_matrix(present[:, np.flatnonzero(df <= RARE_DF)])
    shared = pair_dots(rare, i, rare, j)
    cnt = rare.getnnz(axis=1)
    union = cnt[i] + cnt[j] - shared
    rare_j = np.divide(shared, union, out=np.ones(len(i)), where=(cnt[i] > 0) & (cnt[j] > 0))
    ncount = nums.getnnz(axis=1)
    sources = np.array([a.source for a in arts])
    group = res.dedup.group
    return {
        "score": np.asarray(res.scores, dtype=np.float64),
        "cosine": f[:, 0] ** 2,
        "length_ratio": np.exp(-f[:, 1]),  # longer / shorter, as (1 + tokens)
        "shared_numbers": f[:, 2],
        "numbers_both": (ncount[i] > 0) & (ncount[j] > 0),
        "rare_words": rare_j,
        "same_source": sources[i] == sources[j],
        "same_event": res.event[i] == res.event[j],
        "same_group": (group[i] >= 0) & (group[i] == group[j]),
        "same_storyline": res.storyline[i] == res.storyline[j],
        "threshold": np.full(len(i), config.event_threshold),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="folder of the dev zips (default: the shared data)")
    ap.add_argument("--out", type=Path, default=base.DEFAULT_OUT)
    ap.add_argument("--render", type=Path, default=DEFAULT_RENDER)
    ap.add_argument("--seed", type=int, default=2)
    args = ap.parse_args(argv)
    folder = saudinewsnet_dir(args.data)
    if folder is None:
        print(f"make_story_sample: no SaudiNewsNet zips in {args.data or 'the shared data folder'}; nothing to do.")
        return 0
    t0 = time.time()
    log = lambda msg: print(f"[{time.time() - t0:6.1f}s] {msg}", flush=True)

    docs, arts = load_feed(folder)
    config, dedup_config = StoriesConfig(), DedupConfig()
    res = stories(arts, config, dedup_config)
    log(f"stories: {len(arts)} articles, {len(res.pairs)} candidate pairs, {len(np.unique(res.event))} events")
    feats = pair_features(arts, res, config, dedup_config)
    log("pair features computed")
    I, J = res.pairs[:, 0].astype(np.int64), res.pairs[:, 1].astype(np.int64)
    urls = [d["url"] for d in docs]
    if len(set(urls)) != len(urls):
        raise RuntimeError("url is not unique in the feed")
    ntok = np.array([len((d.get("content") or "").split()) for d in docs])
    times = np.array([datetime.strptime(d["date_extracted"], "%Y-%m-%d %H:%M:%S").timestamp()
                      if d.get("date_extracted") else np.nan for d in docs])
    identical = np.array([docs[a]["content"] == docs[b]["content"] for a, b in zip(I.tolist(), J.tolist())])

    labelled = set()
    for path in sorted(args.out.glob("saudinewsnet_*_sample.jsonl")):
        if path.name == "saudinewsnet_story_sample.jsonl":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            labelled.add(frozenset((r["id1"], r["id2"])))
    already = np.array([frozenset((urls[a], urls[b])) in labelled for a, b in zip(I.tolist(), J.tolist())])
    short = (ntok[I] < base.MIN_TOKENS) | (ntok[J] < base.MIN_TOKENS)
    excluded = already | short
    log(f"excluded: {int(already.sum())} already labelled, {int((short & ~already).sum())} with a short article")

    rng = np.random.default_rng(args.seed)
    assigned = excluded.copy()
    masks = {}
    for name, _desc, pred, _want in STRATA:
        masks[name] = pred(feats) & ~assigned
        assigned |= masks[name]
    perms = {name: rng.permutation(np.flatnonzero(m)) for name, m in masks.items()}
    target = {name: want for name, _d, _p, want in STRATA}
    got = dict.fromkeys(perms, 0)
    pos = dict.fromkeys(perms, 0)
    received = dict.fromkeys(perms, 0)
    uses = np.zeros(len(docs), dtype=np.int64)
    n_identical = 0
    sample: list[dict] = []

    def fill(name: str) -> None:
        nonlocal n_identical
        perm = perms[name]
        while got[name] < target[name] and pos[name] < len(perm):
            p = int(perm[pos[name]])
            pos[name] += 1
            i, j = int(I[p]), int(J[p])
            if uses[i] >= base.MAX_USES or uses[j] >= base.MAX_USES:
                continue
            if identical[p]:
                if n_identical >= base.MAX_IDENTICAL:
                    continue
                n_identical += 1
            uses[i] += 1
            uses[j] += 1
            got[name] += 1
            sample.append({"stratum": name, "p": p, "i": i, "j": j})

    for name in sorted(perms, key=lambda nm: (len(perms[nm]), nm)):
        fill(name)
    for name, *_ in STRATA:
        short_by = target[name] - got[name]
        if short_by > 0 and name != FALLBACK:
            target[FALLBACK] += short_by
            received[FALLBACK] += short_by
            log(f"{name} short by {short_by}: moved to {FALLBACK}")
            fill(FALLBACK)

    rows = []
    for k, o in enumerate(rng.permutation(len(sample)), start=FIRST_PAIR):
        s = sample[o]
        p = s["p"]
        i, j = (s["i"], s["j"]) if urls[s["i"]] < urls[s["j"]] else (s["j"], s["i"])
        first = "id1" if rng.random() < 0.5 else "id2"
        rows.append(dict(
            pair=k, id1=urls[i], id2=urls[j], stratum=s["stratum"], shown_first=first,
            story_score=round(float(feats["score"][p]), 4), cosine=round(float(feats["cosine"][p]), 4),
            length_ratio=round(float(feats["length_ratio"][p]), 4),
            shared_numbers=round(float(feats["shared_numbers"][p]), 4),
            rare_words=round(float(feats["rare_words"][p]), 4),
            **{key: bool(feats[key][p]) for key in ("same_source", "same_event", "same_group", "same_storyline")},
            days_apart=round(float(abs(times[i] - times[j]) / 86400.0), 4),
            _a=i if first == "id1" else j, _b=j if first == "id1" else i))
    with open(args.out / "saudinewsnet_story_sample.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({k: v for k, v in r.items() if not k.startswith("_")}, ensure_ascii=False) + "\n")
    info = run_info()
    from_tree = base.REPO in Path(dedup.__file__).resolve().parents
    strata_doc = {
        "dataset": "SaudiNewsNet dev split (dataset/*.zip, 2015-07-21..2015-08-04)",
        "command": "python scripts/make_story_sample.py" + (f" --seed {args.seed}" if args.seed != 2 else ""),
        "code": {
            "git_commit": info["git"]["commit"], "dedup_version": info["dedup_version"],
            "dedup_from_work_tree": from_tree,
            "dedup_dirty_files": info["git"]["dirty_library_files"] if from_tree else None,
            "note": "the strata depend on the stories stage: redraw with the dedup package of git_commit "
                    "(e.g. git archive <commit> dedup into a folder put first on PYTHONPATH)"},
        "seed": args.seed, "articles": len(docs), "events": len(np.unique(res.event)),
        "candidate_pairs": len(res.pairs), "excluded_already_labelled": int(already.sum()),
        "excluded_short_article": int((short & ~already).sum()),
        "stories_config": {"event_threshold": config.event_threshold, "event_linkage": config.event_linkage,
                           "window_days": config.window_days, "neighbours": config.neighbours,
                           "min_candidate": config.min_candidate},
        "features": {
            "story_score": "the stories stage's score of the candidate pair (StoriesResult.scores)",
            "cosine": "cosine of the story vectors (body + headline TF-IDF, the score's first feature, squared back)",
            "length_ratio": "(1 + longer) / (1 + shorter) token count of the compared bodies",
            "shared_numbers": "Jaccard of the number sets (years left out); 0 when neither has numbers",
            "rare_words": f"Jaccard of the sets of words in at most {RARE_DF} articles of the feed; 1.0 if either has none",
            "same_event": "same event label in the output", "same_group": "same duplicate group (dedupe) in the output",
            "same_storyline": "same storyline label in the output",
            "days_apart": "difference of date_extracted (crawl time) in days",
            "shown_first": "which of id1/id2 the blind rendering shows as article A (drawn with the seed)"},
        "constraints": {"max_pairs_per_article": base.MAX_USES, "max_byte_identical_pairs": base.MAX_IDENTICAL,
                        "byte_identical_sampled": n_identical, "min_tokens": base.MIN_TOKENS},
        "order_of_matching": [name for name, *_ in STRATA],
        "strata": [{"stratum": name, "definition": desc, "why": WHY[name], "population": int(masks[name].sum()),
                    "target_planned": want, "target": target[name], "overflow_received": received[name],
                    "sampled": got[name]}
                   for name, desc, _p, want in STRATA],
        "total_sampled": len(rows),
    }
    with open(args.out / "saudinewsnet_story_strata.json", "w", encoding="utf-8") as f:
        json.dump(strata_doc, f, ensure_ascii=False, indent=2)
        f.write("\n")
    for st in strata_doc["strata"]:
        log(f"{st['stratum']}: population {st['population']}, sampled {st['sampled']}/{st['target']}")

    render(args.render, docs, rows)
    log(f"wrote {len(rows)} pairs; rendered {PARTS} parts into {args.render}")
    return 0


def render(folder: Path, docs: list[dict], rows: list[dict]) -> None:
    """Blind rendering in the format of ``make_hard_sample.py``: A and B in the drawn order, no numbers."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "articles.jsonl", "w", encoding="utf-8") as f:
        for i in sorted({r["_a"] for r in rows} | {r["_b"] for r in rows}, key=lambda k: docs[k]["url"]):
            d = docs[i]
            f.write(json.dumps({"url": d["url"], "source": d.get("source"), "date": d.get("date_extracted"),
                                "title": d.get("title"), "content": d["content"]}, ensure_ascii=False) + "\n")
    size = -(-len(rows) // PARTS)
    for part in range(PARTS):
        with open(folder / f"part{part + 1}.txt", "w", encoding="utf-8") as f:
            for r in rows[part * size:(part + 1) * size]:
                f.write(f"=== PAIR {r['pair']} ===\n\n")
                for tag, d in (("A", docs[r["_a"]]), ("B", docs[r["_b"]])):
                    text = d["content"].strip()
                    if len(text) > hard.RENDER_FULL:
                        cut = len(text) - hard.RENDER_HEAD - hard.RENDER_TAIL
                        text = (f"{text[:hard.RENDER_HEAD]}\n[… {cut} chars cut: full text in articles.jsonl …]\n"
                                f"{text[-hard.RENDER_TAIL:]}")
                    f.write(f"--- {tag} ---\nurl:    {d['url']}\nsource: {d.get('source', '')}\n"
                            f"date:   {d.get('date_extracted', '')}\ntitle:  {(d.get('title') or '').strip()}\n"
                            f"tokens: {len(d['content'].split())}\n\n{text}\n\n")
                f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
