"""The Dask backend gives exactly the local results (a local cluster of two workers)."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dedup.config import DedupConfig
from dedup.errors import ConfigError
from dedup.candidates.banding import band_params, lsh_pairs
from dedup.exec.local import backend, dask_active, lsh_pairs_dask
from dedup.flows.dedupe import dedupe
from dedup.types import Article

pytest.importorskip("distributed")

SEEDS = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))


def feed() -> list[Article]:
    texts = [p.read_text(encoding="utf-8") for p in SEEDS]
    arts = [Article(id=f"s{i}", text=t) for i, t in enumerate(texts)]
    arts += [Article(id=f"c{i}", text="عنوان آخر\n" + t) for i, t in enumerate(texts)]  # re-headlined copies
    arts += [Article(id=f"t{i}", text=" ".join(t.split()[:120])) for i, t in enumerate(texts)]  # teasers
    return arts


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning", "ignore::UserWarning")
def test_dask_backend_matches_local() -> None:
    config = DedupConfig(chunk_size=4)  # several chunks, so the work is really spread
    local = dedupe(feed(), config)
    remote = dedupe(feed(), replace(config, backend="dask", n_jobs=2))
    assert (local.group >= 0).sum() >= 10
    assert local.status.tolist() == remote.status.tolist()
    assert local.group.tolist() == remote.group.tolist()
    assert local.keeper.tolist() == remote.keeper.tolist()
    assert local.pairs.tolist() == remote.pairs.tolist()


def planted_signatures() -> tuple[np.ndarray, np.ndarray]:
    """Random signatures with near copies and one bucket of 80 (over a cap of 20)."""
    rng = np.random.default_rng(7)
    sig = rng.integers(0, 2**32, size=(600, 128), dtype=np.uint64).astype(np.uint32)
    sig[300:400] = sig[:100]  # near copies: every 9th value changed
    sig[300:400, ::9] = rng.integers(0, 2**32, size=(100, 15), dtype=np.uint64).astype(np.uint32)
    sig[450:530, :5] = 7  # 80 rows share the first band (rows=5 at 0.5, 128)
    members = rng.permutation(600)[:560]  # a subset, out of order
    return sig, members


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning", "ignore::UserWarning")
def test_dask_banding_matches_local() -> None:
    sig, members = planted_signatures()
    bands, rows = band_params(0.5, 128)
    assert rows == 5
    pairs, capped = lsh_pairs(sig, members, bands, rows, max_bucket=20)
    assert capped >= 1 and len(pairs) >= 100
    with backend("dask", None, 2):
        assert dask_active()
        for npartitions in (None, 1, 3, 7):
            theirs, their_capped = lsh_pairs_dask(sig, members, bands, rows, max_bucket=20, npartitions=npartitions)
            assert their_capped == capped
            assert theirs.tolist() == pairs.tolist()
    assert not dask_active()


def test_dask_banding_needs_a_client() -> None:
    sig, members = planted_signatures()
    with pytest.raises(ConfigError, match="backend"):
        lsh_pairs_dask(sig, members, 25, 5, max_bucket=20)


def test_unreachable_scheduler_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Dask scheduler"):
        dedupe(feed()[:2], DedupConfig(backend="dask", dask_address="tcp://127.0.0.1:1"))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning", "ignore::UserWarning")
def test_existing_cluster_by_address_matches_local() -> None:
    """With --dask-address the workers may be other machines: the normalized lines travel with the tasks."""
    from distributed import LocalCluster

    config = DedupConfig(chunk_size=4)
    local = dedupe(feed(), config)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = dedupe(feed(), replace(config, backend="dask", dask_address=cluster.scheduler_address))
    assert (local.group >= 0).sum() >= 10
    assert local.status.tolist() == remote.status.tolist()
    assert local.keeper.tolist() == remote.keeper.tolist()
    assert local.pairs.tolist() == remote.pairs.tolist()
