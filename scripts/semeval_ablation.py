"""How far word-overlap features go on SemEval-2022 Task 8; writes results/semeval_ablation.json.

The story score combines three features (``dedup.stories.score_features``).
This script asks whether *more* lexical evidence would close the gap to the
issue's targets (Pearson 0.75 overall, 0.80 Arabic): it adds, one at a time
and then all together, the cosine of

* ``headline_lead``: headline plus the first 60 words (news puts the event first),
* ``char_4grams``: character 4-grams of the whole text (morphology, spelling variants),
* ``capitalized``: capitalized tokens only (a stand-in for named entities
  in the Latin-script languages),

each as ``sqrt`` of a sublinear TF-IDF cosine (scikit-learn, fitted on the
texts of all pairs, no labels), and refits the fractional logistic
regression of ``fit_story_score.py`` with the same protocol: 10-fold by
pair, mean over shuffles, per language on the pooled out-of-fold
predictions. Nothing here changes the shipped score; it measures the
headroom of the approach.

Usage: ``python scripts/semeval_ablation.py``
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import run_info, write_result  # noqa: E402
from fit_story_score import cross_validated_pearson, semeval_pairs  # noqa: E402

from dedup.config import StoriesConfig  # noqa: E402
from dedup.flows.similarity import similarity  # noqa: E402

REPEATS = 5
_CAPITALIZED = re.compile(r"\b[^\W\d_a-z][^\W\d_]+")  # a capital letter, then letters (no Arabic: no case)


def _sqrt_cosine(a: list[str], b: list[str], **vectorizer) -> np.ndarray:
    v = TfidfVectorizer(sublinear_tf=True, **vectorizer).fit(a + b)
    cos = np.asarray(v.transform(a).multiply(v.transform(b)).sum(axis=1)).ravel()
    return np.sqrt(np.clip(cos, 0.0, 1.0))


def _lead(title: str, text: str, words: int = 60) -> str:
    return title + " " + " ".join(text.split()[:words])


def main() -> None:
    data = semeval_pairs()
    if data is None:
        print("../shared/data/semeval2022-task8-hfl-sample is absent; nothing to measure")
        return
    t1, t2 = data["text1"], data["text2"]
    base = similarity(t1, t2, StoriesConfig(), title1=data["title1"], title2=data["title2"]).story_features
    extra = {
        "headline_lead": _sqrt_cosine([_lead(h, t) for h, t in zip(data["title1"], t1)], [_lead(h, t) for h, t in zip(data["title2"], t2)]),
        "char_4grams": _sqrt_cosine(t1, t2, analyzer="char_wb", ngram_range=(4, 4)),
        "capitalized": _sqrt_cosine([" ".join(_CAPITALIZED.findall(t)) for t in t1], [" ".join(_CAPITALIZED.findall(t)) for t in t2],
                                    token_pattern=r"\S+", lowercase=False),
    }
    sets = {"shipped (3 features)": base} | {f"+ {k}": np.column_stack([base, v]) for k, v in extra.items()}
    sets["+ all three"] = np.column_stack([base, *extra.values()])
    pearson = {}
    for name, x in sets.items():
        cv = cross_validated_pearson(x, data["overall"], data["lang"], repeats=REPEATS)
        pearson[name] = {k: v["mean"] for k, v in cv.items()}
        print(f"{name:22s}", pearson[name])
    write_result("semeval_ablation", {
        "run": run_info(),
        "pairs": int(len(data["overall"])),
        "protocol": f"fractional logistic regression, 10-fold by pair, {REPEATS} shuffles, Pearson with -Overall",
        "pearson_cv": pearson,
        "targets": {"all": 0.75, "ar": 0.80},
        "note": "lexical features added to the shipped story score; none is used by dedup",
    })


if __name__ == "__main__":
    main()
