"""The Dask backend gives exactly the local results (a local cluster of two workers)."""

from dataclasses import replace
from pathlib import Path

import pytest

from dedup.config import DedupConfig
from dedup.errors import ConfigError
from dedup.pipeline import dedupe
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


def test_unreachable_scheduler_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Dask scheduler"):
        dedupe(feed()[:2], DedupConfig(backend="dask", dask_address="tcp://127.0.0.1:1"))
