"""Build dedup/data/background_df.npz, the background document frequencies of small-batch IDF (see dedup/background.py).

Two reference corpora from ``../shared/data`` (tuning data; only numbers are
stored, no text):

* Arabic: the SaudiNewsNet dev days, 20,329 articles;
* English: the MSRP training sentences (news, 2004-2005), grouped in file
  order into pseudo-articles of ``--sentences`` distinct sentences, so that
  the common words of the language reach article-like shares.

Texts are normalized the way the stories stage does (mojibake repaired,
:func:`dedup.text.normalize.normalize_batch`). For word unigrams and character
``char_k``-grams, the share of a bucket is the largest over the corpora of
(documents holding it / documents); buckets with a share of at least
``--min-share`` are kept, the share quantized to 1/65535. The hashing scheme
is stored with them.

Usage: ``python scripts/build_background_df.py [--min-share 0.005] [--sentences 10]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_saudinewsnet, repo_root, saudinewsnet_dir, shared_data  # noqa: E402

from dedup.store.background import document_frequencies, scheme  # noqa: E402
from dedup.config import StoriesConfig  # noqa: E402
from dedup.text.mojibake import fix_mojibake  # noqa: E402
from dedup.text.normalize import normalize_batch  # noqa: E402


def msrp_pseudo_articles(per_article: int) -> list[str] | None:
    """MSRP training sentences (distinct, in file order) joined ``per_article`` at a time."""
    folder = shared_data("msrp")
    if folder is None:
        return None
    with open(folder / "msr_paraphrase_train.txt", encoding="utf-8-sig", newline="") as f:
        lines = f.read().split("\r\n")
    seen: dict[str, None] = {}
    for line in lines[1:]:
        if line:
            _, _, _, s1, s2 = line.split("\t")
            seen.setdefault(s1)
            seen.setdefault(s2)
    sentences = list(seen)
    return [" ".join(sentences[k : k + per_article]) for k in range(0, len(sentences), per_article)]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-share", type=float, default=0.005, help="keep buckets found in at least this share of a corpus")
    ap.add_argument("--sentences", type=int, default=10, help="MSRP sentences per pseudo-article")
    args = ap.parse_args(argv)
    config = StoriesConfig()
    corpora: dict[str, list[str]] = {}
    folder = saudinewsnet_dir()
    if folder is not None:
        corpora["saudinewsnet-dev"] = [d["content"] for d in load_saudinewsnet(folder)]
    msrp = msrp_pseudo_articles(args.sentences)
    if msrp is not None:
        corpora[f"msrp-train-{args.sentences}-sentence-pseudo-articles"] = msrp
    if not corpora:
        print("no reference corpus found under ../shared/data; nothing to build")
        return
    out: dict[str, np.ndarray] = {
        "corpora": np.array(list(corpora)),
        "documents": np.array([len(v) for v in corpora.values()]),
        "min_share": np.array(args.min_share),
    }
    out |= {k: np.array(v) for k, v in scheme(config.char_k, config.normalize).items()}
    normalized = {name: [" ".join(ls) for ls in normalize_batch(fix_mojibake(texts), config.normalize)] for name, texts in corpora.items()}
    for kind in ("word", "char"):
        share = np.zeros(0)
        for name, texts in normalized.items():
            s = document_frequencies(texts, kind, config.char_k) / len(texts)
            share = s if len(share) == 0 else np.maximum(share, s)
            print(f"{kind} {name}: {int((s >= args.min_share).sum())} buckets with a share >= {args.min_share} of {len(texts)} documents")
        cols = np.flatnonzero(share >= args.min_share)
        out[f"{kind}_columns"] = cols.astype(np.uint32)
        out[f"{kind}_share"] = np.round(share[cols] * 65535).astype(np.uint16)
    path = repo_root() / "dedup" / "data" / "background_df.npz"
    path.parent.mkdir(exist_ok=True)
    np.savez_compressed(path, **out)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
