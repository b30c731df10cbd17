"""dedup.exec.heap: freed memory goes back to the system after every stage; Candidates keep their count without pairs."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from dedup.candidates import Candidates
from dedup.exec import heap
from dedup.flows import timer as timer_module
from dedup.flows.timer import StageTimer


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_freed_heap_pages_go_back_to_the_system() -> None:
    if heap._malloc_trim() is None:
        pytest.skip("not glibc")
    # Many mid-sized blocks from the heap (below glibc's mmap threshold once it has risen), then freed:
    # glibc keeps the pages until they are trimmed.
    big = np.empty(16 << 20, dtype=np.uint8)
    del big  # freed, it raises glibc's dynamic mmap threshold to 16 MiB: later blocks below that come from the heap
    blocks = [np.ones(1 << 20, dtype=np.uint8) for _ in range(200)]
    keep = blocks[-1].copy()  # a live block at the top of the heap: freeing the others cannot shrink it by itself
    del blocks
    before = _rss_kib()
    assert heap.release_heap() is True
    after = _rss_kib()
    assert before - after > 100 * 1024, (before, after)  # most of the 200 MiB freed went back
    del keep


def test_every_long_stage_end_releases_the_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    timer = StageTimer()
    monkeypatch.setattr(timer_module, "release_heap", lambda: calls.append(len(timer.seconds)))
    monkeypatch.setattr(timer_module, "_TRIM_AFTER", 0.0)
    with timer("sketch"):
        assert calls == []
    with pytest.raises(RuntimeError):
        with timer("verify"):
            raise RuntimeError("a stage that fails still lets its memory go")
    assert calls == [1, 2] and set(timer.seconds) == {"sketch", "verify"}
    monkeypatch.setattr(timer_module, "_TRIM_AFTER", 3600.0)  # a short stage: nothing to hand back, ctypes not loaded
    with timer("cluster"):
        pass
    assert calls == [1, 2]


def test_released_candidates_keep_their_count() -> None:
    cands = Candidates(np.array([[0, 1], [2, 3], [2, 5]], dtype=np.int64), 2, 2, 0, 10, 3)
    released = cands.release()
    assert len(cands) == 3 and len(released) == 3
    assert released.pairs.shape == (0, 2) and released.from_lsh == 2 and released.bands == 10


def test_tune_gc_raises_the_young_threshold_only() -> None:
    import gc

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        heap.tune_gc()
        assert gc.get_threshold() == (heap.GC_YOUNG, 10, 10)
        gc.set_threshold(50_000, 5, 5)  # a caller's larger threshold is kept
        heap.tune_gc()
        assert gc.get_threshold() == (50_000, 5, 5)
        gc.set_threshold(0, 10, 10)  # collection off: left off
        heap.tune_gc()
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)


def test_workers_collect_cycles_at_the_raised_threshold() -> None:
    import gc

    from dedup.exec.local import beside, imap_tasks

    seen = set(imap_tasks(gc.get_threshold, [()] * 4, n_jobs=2))
    assert {t[0] for t in seen} == {heap.GC_YOUNG}
    assert beside([(gc.get_threshold, ())], n_jobs=2)()[0][0] == heap.GC_YOUNG


_SMALL_RUN_FAULTS = """
import resource, sys
import numpy as np
from dedup.exec import heap
heap.huge_pages(False)
size = None if sys.argv[1] == "none" else int(sys.argv[1])
with heap.small_run_heap(size) as kept:
    a = np.ones(8 << 20)  # 64 MiB: above every threshold glibc sets itself
    del a
    heap.release_heap()  # a stage's end: inside the small run, nothing goes back
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = np.ones(8 << 20)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
    inside = heap.heap_kept()
    more = [np.ones(8 << 20) for _ in range(4)]  # 256 MiB more, freed: kept in the heap until the run ends
    del a, more
rss = lambda: int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0])
print(kept, inside, heap.heap_kept(), faults, rss() < 150 * 1024)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's heap thresholds")
@pytest.mark.parametrize("size, kept", [(1 << 20, True), (heap.SMALL_FEED, True), (heap.SMALL_FEED + 1, False), ("none", False)])
def test_a_small_feeds_run_keeps_its_whole_heap_and_only_while_it_runs(size: object, kept: bool) -> None:
    """In a child process: inside small_run_heap (a feed of at most SMALL_FEED bytes) a freed 64 MiB array, handed
    back at a stage's end elsewhere, is served again without faulting its pages in; a larger or unknown feed, as before."""
    import subprocess

    if heap._libc() is None:
        pytest.skip("not glibc")
    run = subprocess.run([sys.executable, "-c", _SMALL_RUN_FAULTS, str(size)], capture_output=True, text=True, check=True)
    was_kept, inside, after, faults, small_after = run.stdout.split()
    assert (was_kept, inside, after, small_after) == (str(kept), str(kept), "False", "True")  # and the heap went back
    assert (int(faults) < 1000) if kept else (int(faults) > 8000), faults


def test_a_small_run_leaves_thresholds_the_user_set_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    if heap._libc() is None:
        pytest.skip("not glibc")
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    with heap.small_run_heap(1000) as kept:
        assert kept is False and heap.heap_kept() is False
