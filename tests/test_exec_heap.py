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
