from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory):
    """A redis-server of the test module's own on a free loopback port, nothing saved (skips when none can start)."""
    from _servers import start_redis

    proc, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(params=["sqlite", "redis"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A history index of the test's own: a SQLite file, or a fresh prefix on the module's redis-server."""
    if request.param == "sqlite":
        return str(tmp_path / "history.db")
    import uuid

    return f"{request.getfixturevalue('redis_url')}?prefix=t{uuid.uuid4().hex[:8]}"


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared evaluation data is not on this machine)")
    return path


# Property tests draw the same examples on every run (determinism is part of the
# API, and a CI run must not pass or fail by luck); a failing example found while
# developing is pinned with @example.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("dedup", derandomize=True, print_blob=True)
_hypothesis_settings.register_profile("explore", derandomize=False, max_examples=1000, print_blob=True)
_hypothesis_settings.load_profile(os.environ.get("DEDUP_HYPOTHESIS_PROFILE", "dedup"))  # "explore" hunts for new bugs
