import os
import subprocess
import sys

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.config import IndexConfig, MinHashConfig, ShingleConfig
from dedup.candidates.banding import band_params, lsh_pairs, lsh_pairs_datasketch
from dedup.candidates.buckets import bucket_pairs
from dedup.text.shingle import char_shingles, hash_tokens, token_hashes, unique_per_row, word_shingles
from dedup.sketch.signatures import lean_minhash, minhash_signatures, to_uint32


@pytest.mark.parametrize(
    ("text", "k", "count"),
    [
        pytest.param("", 3, 0, id="empty"),
        pytest.param("one", 3, 1, id="one-word"),
        pytest.param("a b", 3, 1, id="shorter-than-k"),
        pytest.param("a b c", 3, 1, id="exactly-k"),
        pytest.param("a b c d e", 3, 3, id="longer"),
        pytest.param("a a a a", 2, 3, id="repeated-tokens"),
    ],
)
def test_word_shingle_counts(text: str, k: int, count: int) -> None:
    h, o = word_shingles(*token_hashes([text]), k)
    assert o.tolist() == [0, count]
    assert len(h) == count


def test_shingles_never_cross_articles() -> None:
    h, o = word_shingles(*token_hashes(["a b c", "d e f"]), 3)
    together = set(h.tolist())
    alone = set(word_shingles(*token_hashes(["a b c"]), 3)[0].tolist()) | set(word_shingles(*token_hashes(["d e f"]), 3)[0].tolist())
    assert together == alone and o.tolist() == [0, 1, 2]


def test_shingle_order_matters_and_identical_texts_match() -> None:
    (h1, _), (h2, _), (h3, _) = (word_shingles(*token_hashes([t]), 2) for t in ("a b", "b a", "a b"))
    assert h1[0] != h2[0] and h1[0] == h3[0]


def test_char_shingles() -> None:
    h, o = char_shingles(["abcd", "", "ab"], 3)
    assert o.tolist() == [0, 2, 2, 3]


def test_token_hashes_match_single_hashes() -> None:
    assert (hash_tokens(["سلام", "x"]) == token_hashes(["سلام x"])[0]).all()


def _sigs(texts, num_perm=128, seed=1):
    h, o = unique_per_row(*word_shingles(*token_hashes(texts), 3))
    return minhash_signatures(h, o, MinHashConfig(num_perm=num_perm, seed=seed)), h, o


def test_signatures_equal_datasketch_bit_for_bit() -> None:
    words = [f"w{i}" for i in range(60)]
    sig, h, o = _sigs([" ".join(words), " ".join(words[:20])], num_perm=64, seed=7)
    for row in range(2):
        m = MinHash(num_perm=64, seed=7, hashfunc=lambda x: x)
        for v in to_uint32(h[o[row] : o[row + 1]]):
            m.update(int(v))
        assert (m.hashvalues == sig[row]).all()


@settings(max_examples=25, deadline=None)
@given(st.integers(20, 200), st.integers(0, 200), st.integers(0, 10_000))
def test_minhash_estimates_jaccard(shared: int, extra: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    base = [f"t{x}" for x in rng.integers(0, 10**9, shared + extra)]
    a, b = base[:shared], base[: shared // 2] + base[shared:]
    sig, h, o = _sigs([" ".join(a), " ".join(b)], num_perm=256)
    sa, sb = set(h[o[0] : o[1]].tolist()), set(h[o[1] : o[2]].tolist())
    true = len(sa & sb) / len(sa | sb)
    est = float((sig[0] == sig[1]).mean())
    # standard error of the estimate is sqrt(J(1-J)/P) <= 0.031 for P=256
    assert abs(est - true) < 0.13


def test_signatures_identical_across_processes() -> None:
    code = (
        "from dedup.text.shingle import *; from dedup.sketch.signatures import *; from dedup.config import MinHashConfig;"
        "h,o=unique_per_row(*word_shingles(*token_hashes(['الرئيس قال اليوم في بكين شيئا']),3));"
        "print(minhash_signatures(h,o,MinHashConfig()).tobytes().hex())"
    )
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout for _ in range(2)}
    local, _, _ = _sigs(["الرئيس قال اليوم في بكين شيئا"])
    assert outs == {local.tobytes().hex() + "\n"}


def test_lean_minhash_interoperates() -> None:
    sig, _, _ = _sigs(["a b c d e f g", "a b c d e f h"])
    cfg = MinHashConfig()
    l0, l1 = lean_minhash(sig[0], cfg), lean_minhash(sig[1], cfg)
    assert l0.jaccard(l1) == pytest.approx(float((sig[0] == sig[1]).mean()))
    lsh = MinHashLSH(threshold=0.5, num_perm=cfg.num_perm)
    lsh.insert("x", l0)
    assert lsh.query(l0) == ["x"]


def test_numpy_banding_equals_datasketch_lsh() -> None:
    rng = np.random.default_rng(3)
    vocab = [f"v{i}" for i in range(400)]
    texts = [" ".join(rng.choice(vocab, 40)) for _ in range(30)]
    texts += [t.rsplit(" ", 3)[0] + " x y z" for t in texts[:10]]  # near copies
    sig, _, _ = _sigs(texts)
    members = np.arange(len(texts))
    b, r = band_params(0.5, 128)
    ours, capped = lsh_pairs(sig, members, b, r, max_bucket=1000)
    theirs = lsh_pairs_datasketch(sig, members, 0.5, MinHashConfig())
    assert capped == 0 and len(ours) >= 10
    assert ours.tolist() == theirs.tolist()


@pytest.mark.parametrize(
    ("keys", "cap", "expected"),
    [
        pytest.param([1, 1, 1], 5, [[0, 1], [0, 2], [1, 2]], id="all-pairs"),
        pytest.param([1, 1, 1, 1], 3, [[0, 1], [0, 2], [0, 3]], id="capped-star"),
        pytest.param([1, 2, 3], 5, [], id="no-shared-key"),
    ],
)
def test_bucket_pairs(keys, cap, expected) -> None:
    pairs, _ = bucket_pairs(np.array(keys, dtype=np.uint64), np.arange(len(keys)), cap)
    assert sorted(map(list, pairs.tolist())) == expected


def test_configs_reject_bad_values() -> None:
    from dedup.errors import ConfigError

    with pytest.raises(ConfigError, match="threshold"):
        IndexConfig(threshold=1.5)
    with pytest.raises(ConfigError, match="kind"):
        ShingleConfig(kind="sentence")  # type: ignore[arg-type]


def test_estimated_containment_tracks_exact() -> None:
    from dedup.candidates import estimated_containment

    words = [f"w{i}" for i in range(400)]
    texts = [" ".join(words), " ".join(words[100:160]), " ".join(f"x{i}" for i in range(80))]
    sig, h, o = _sigs(texts, num_perm=256)
    est = estimated_containment(sig, np.diff(o), np.array([[0, 1], [0, 2]]))
    assert est[0] > 0.7 and est[1] < 0.1


def test_estimated_containment_on_threads_is_the_serial_estimate() -> None:
    """Blocks of pairs mapped on a thread pool (as the flow maps them) give the same estimates, in place."""
    from concurrent.futures import ThreadPoolExecutor

    from dedup.candidates import estimated_containment

    rng = np.random.default_rng(3)
    sig = rng.integers(0, 50, (300, 64), dtype=np.uint32)  # small values: many rows share some
    sizes = rng.integers(0, 40, 300)  # empty sets too
    pairs = np.sort(rng.integers(0, 300, (5000, 2)), axis=1)
    serial = estimated_containment(sig, sizes, pairs)
    jac, si, sj = (sig[pairs[:, 0]] == sig[pairs[:, 1]]).mean(axis=1), sizes[pairs[:, 0]], sizes[pairs[:, 1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.nan_to_num(jac * (si + sj) / (1 + jac) / np.minimum(si, sj).astype(float))
    np.testing.assert_array_equal(serial, expected)
    with ThreadPoolExecutor(2) as pool:
        threaded = estimated_containment(sig, sizes, pairs, block=333, each=pool.map)
    np.testing.assert_array_equal(threaded, serial)


def test_a_sealed_feature_store_pickles_as_its_files(tmp_path) -> None:
    """A worker gets the paths and offsets and reads the same rows; an unsealed store refuses to travel."""
    import pickle

    from dedup.sketch.feature_store import FeatureStore
    from dedup.sketch.features import Features

    f = Features(np.array([1, 2, 3], np.uint32), np.array([0, 2, 3]), np.array([5, 6], np.uint32),
                 np.array([1, 2], np.uint32), np.array([0, 1, 2]), np.array([7, 8, 9], np.uint32), np.array([0, 1, 3]))
    store = FeatureStore(tmp_path)
    store.append(f)
    store.append(f)
    with pytest.raises(TypeError, match="sealed"):
        pickle.dumps(store)
    want = store.gather(np.array([3, 0, 1]))
    copy = pickle.loads(pickle.dumps(store))
    got = copy.gather(np.array([3, 0, 1]))
    assert got.shingles.tolist() == want.shingles.tolist() and got.counts.tolist() == want.counts.tolist()
    assert copy.gather_kgrams(np.array([1]))[0].tolist() == [7, 8, 9][1:]
    fds = list(copy._fds.values())
    del copy, got
    import gc

    gc.collect()
    for fd in fds:  # the copy's own descriptors are closed with it (a number may be reused, never for the store's files)
        link = f"/proc/self/fd/{fd}"
        assert not (os.path.exists(link) and os.readlink(link).startswith(str(tmp_path)))
    assert store.gather(np.array([0])).shingles.tolist() == [1, 2]
    store.close()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 1500), max_size=40),
    st.sampled_from([2, 4, 1 << 22, 1 << 26, 1 << 31]),
    st.sampled_from([None, 3, 1 << 40]),
    st.integers(0, 2**32 - 1),
)
def test_bucket_rows_equals_a_per_row_unique(lengths: list[int], columns: int, modulo: int | None, seed: int) -> None:
    """The block presort and merge give each row's sorted distinct buckets and counts, whatever the row
    lengths (rows of a few values leave their blocks unsorted) and the column width."""
    from dedup.sketch.features import bucket_rows

    rng = np.random.default_rng(seed)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    hashes = rng.integers(0, 2**64 - 1, int(offsets[-1]), dtype=np.uint64)
    if modulo is not None:
        hashes %= np.uint64(modulo)
    buckets, counts, indptr = bucket_rows(hashes, offsets, columns)
    want_b, want_c, want_o = [], [], [0]
    for r in range(len(lengths)):
        b, c = np.unique(hashes[offsets[r] : offsets[r + 1]] % np.uint64(columns), return_counts=True)
        want_b += b.tolist()
        want_c += c.tolist()
        want_o.append(want_o[-1] + len(b))
    assert buckets.dtype == np.uint32 and counts.dtype == np.uint32 and indptr.dtype == np.int64
    assert buckets.tolist() == want_b and counts.tolist() == want_c and indptr.tolist() == want_o
    alone, none, offsets_alone = bucket_rows(hashes, offsets, columns, with_counts=False)
    assert none is None and alone.tolist() == want_b and offsets_alone.tolist() == want_o
