"""The benchmark scripts' shared helpers (scripts/_common.py) that their numbers rest on."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from _common import ExitWatch  # noqa: E402


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pidfd is Linux's")
def test_a_watched_child_ending_ends_the_sleep() -> None:
    """A benchmark's wall time is not rounded up to its memory-sampling step: the sleep ends with the child."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    watch = ExitWatch(child.pid)
    start = time.perf_counter()
    watch.sleep(30.0)
    slept = time.perf_counter() - start
    watch.close()
    assert child.wait(timeout=10) == 0
    assert slept < 10.0  # ended by the child's end, not by the 30 s


def test_without_a_child_ending_the_sleep_lasts() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        watch = ExitWatch(child.pid)
        start = time.perf_counter()
        watch.sleep(0.2)
        assert time.perf_counter() - start >= 0.19
        watch.close()
    finally:
        child.kill()
        child.wait(timeout=10)
