"""The compiled text path (dedup.text.compiled, dedup.sketch.compiled) gives the NumPy path's bits: token hashes,
signatures, decisions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.config import MinHashConfig, ShingleConfig
from dedup.results import DUPLICATE
from dedup.runtime import Runtime
from dedup.sketch import compiled as compiled_sketch
from dedup.sketch.signatures import minhash_signatures
from dedup.text import compiled as compiled_text
from dedup.text.normalize import normalize_texts
from dedup.text.shingle import shingle, token_hashes
from dedup.types import Article

SEEDS = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))

# normalized texts: tokens single-spaced, no line breaks; Arabic, Latin, digits, and code points past U+FFFF
_TOKEN = st.text(alphabet=st.sampled_from("abzé٣قالرئيسءآ\u0645\U0001f600\U0001d538\U0010fffd\uffff"), min_size=1, max_size=9)
_TEXT = st.lists(_TOKEN, max_size=40).map(" ".join)


@given(st.lists(_TEXT, max_size=12))
@settings(max_examples=150, deadline=None)
def test_token_hashes_equal_the_numpy_path(texts: list[str]) -> None:
    want, want_offsets = token_hashes(texts)
    got, got_offsets = compiled_text.token_hashes(texts)
    assert got.dtype == np.uint64 and got_offsets.dtype == np.int64
    assert np.array_equal(got, want) and np.array_equal(got_offsets, want_offsets)


def test_token_hashes_of_real_articles_equal_the_numpy_path() -> None:
    texts = [t.replace("\n", " ") for t in normalize_texts([p.read_text(encoding="utf-8") for p in SEEDS])] + ["", "x"]
    want, got = token_hashes(texts), compiled_text.token_hashes(texts)
    assert len(want[0]) > 1000 and all(np.array_equal(a, b) for a, b in zip(want, got))


@given(st.lists(st.integers(0, 300), max_size=20), st.integers(0, 2**32 - 1), st.sampled_from([16, 128, 256]))
@settings(max_examples=100, deadline=None)
def test_signatures_equal_the_numpy_path(lengths: list[int], seed: int, num_perm: int) -> None:
    rng = np.random.default_rng(seed)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    hashes = rng.integers(0, 2**64, int(offsets[-1]), dtype=np.uint64)
    config = MinHashConfig(num_perm=num_perm, seed=seed % 7)
    want = minhash_signatures(hashes, offsets, config)
    got = compiled_sketch.minhash_signatures(hashes, offsets, config)
    assert got.dtype == np.uint32 and np.array_equal(got, want)  # empty rows included (all EMPTY)


def test_signatures_of_real_shingles_equal_the_numpy_path() -> None:
    texts = [t.replace("\n", " ") for t in normalize_texts([p.read_text(encoding="utf-8") for p in SEEDS])]
    hashes, offsets = shingle(texts, ShingleConfig())
    config = MinHashConfig()
    assert np.array_equal(compiled_sketch.minhash_signatures(hashes, offsets, config), minhash_signatures(hashes, offsets, config))


def _feed() -> list[Article]:
    """The seeds, and copies of them edited the ways copies are (a new ending, a dropped paragraph, a new headline)."""
    arts = []
    for k, path in enumerate(SEEDS):
        text = path.read_text(encoding="utf-8")
        paras = [p for p in text.split("\n") if p.strip()]
        arts.append(Article(id=f"s{k}", text=text, source="a"))
        arts.append(Article(id=f"s{k}-trim", text="\n".join(paras[:-1]), source="b"))
        arts.append(Article(id=f"s{k}-more", text=text + "\nتابعونا على المنصات.", source="c"))
        arts.append(Article(id=f"s{k}-drop", text="\n".join(paras[:1] + paras[2:]), source="d"))
    return arts


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_feed_sketched_compiled_gets_the_same_decisions(monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    from dedup.flows import prepare
    from dedup.flows.dedupe import dedupe

    runtime = Runtime(n_jobs=jobs, chunk_size=7)
    want = dedupe(_feed(), runtime=runtime)
    monkeypatch.setattr(prepare, "COMPILED_ARTICLES", 0)
    calls = []
    real, tokens = compiled_sketch.minhash_signatures, compiled_text.token_hashes
    if jobs == 1:  # in this process: the compiled kernels are seen to run
        monkeypatch.setattr(compiled_sketch, "minhash_signatures", lambda *a, **k: calls.append(1) or real(*a, **k))
        monkeypatch.setattr(compiled_text, "token_hashes", lambda *a, **k: calls.append(2) or tokens(*a, **k))
    got = dedupe(_feed(), runtime=runtime)
    assert jobs == 2 or (calls.count(1) >= 3 and calls.count(2) >= 3)
    assert (want.status == DUPLICATE).sum() >= 10
    for field in ("status", "group", "keeper", "relation", "pairs", "pair_relation"):
        assert np.array_equal(getattr(got, field), getattr(want, field)), field
    assert np.array_equal(got.scores, want.scores, equal_nan=True)
