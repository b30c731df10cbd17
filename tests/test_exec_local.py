"""dedup.exec.local: chunking, the serial fast paths, results in input order, lazy streams, real worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from dedup.exec import open_executor
from dedup.exec.local import LocalExecutor, batches, beside, chunked, imap_tasks, map_chunks, release_workers, stop_workers
from dedup.runtime import Runtime


@pytest.mark.parametrize(
    ("n", "size", "expected"),
    [
        (0, 3, []),
        (1, 3, [[0]]),
        (3, 3, [[0, 1, 2]]),
        (7, 3, [[0, 1, 2], [3, 4, 5], [6]]),
        (4, 1, [[0], [1], [2], [3]]),
    ],
)
def test_chunked_and_batches_cut_alike(n, size, expected) -> None:
    assert [list(c) for c in chunked(list(range(n)), size)] == expected
    assert list(batches(iter(range(n)), size)) == expected
    assert [list(c) for c in chunked(np.arange(n), size)] == expected  # any sequence: numpy slices too


def test_batches_read_the_stream_only_as_asked() -> None:
    pulled: list[int] = []

    def stream() -> Iterator[int]:
        for k in range(10):
            pulled.append(k)
            yield k

    it = batches(stream(), 3)
    assert next(it) == [0, 1, 2] and pulled == [0, 1, 2]
    assert next(it) == [3, 4, 5] and len(pulled) == 6


def _first_and_len(chunk, offset: int = 0) -> tuple[int, int]:
    return chunk[0] + offset, len(chunk)


@pytest.mark.parametrize(
    ("n_jobs", "backend"),
    [(1, "loky"), (2, "threading"), (-1, "threading")],
    ids=["serial", "two-threads", "all-cores-threads"],
)
@pytest.mark.parametrize("n", [0, 1, 5, 23])
def test_map_chunks_results_in_input_order_with_progress(n_jobs, backend, n) -> None:
    done: list[int] = []
    out = map_chunks(_first_and_len, list(range(n)), n_jobs=n_jobs, chunk_size=4, progress=done.append, backend=backend, offset=100)
    assert out == [(100 + k, min(4, n - k)) for k in range(0, n, 4)]
    assert done == [length for _, length in out] and sum(done) == n


def test_map_chunks_in_worker_processes() -> None:
    # loky processes (a builtin function: nothing of this module is imported there)
    out = map_chunks(sum, list(range(10)), n_jobs=2, chunk_size=3)
    assert out == [3, 12, 21, 9]


def test_serial_paths_run_in_this_process() -> None:
    assert map_chunks(lambda chunk: os.getpid(), [1, 2, 3], n_jobs=2, chunk_size=10) == [os.getpid()]  # one chunk
    assert list(imap_tasks(os.getpid, [()], n_jobs=2)) == [os.getpid()]  # one task
    assert set(imap_tasks(os.getpid, [(), (), ()], n_jobs=1)) == {os.getpid()}


def test_imap_tasks_in_worker_processes_keeps_task_order() -> None:
    tasks = [(2, k) for k in range(8)]
    assert list(imap_tasks(pow, tasks, n_jobs=2)) == [2**k for k in range(8)]
    pids = set(imap_tasks(os.getpid, [()] * 4, n_jobs=2))
    assert os.getpid() not in pids


def test_beside_runs_the_calls_in_running_workers_and_gives_their_results_in_order() -> None:
    list(imap_tasks(os.getpid, [()] * 4, n_jobs=2))  # a stage before started the workers
    results = beside([(os.getpid, ()), (pow, (2, 10))], n_jobs=2)()
    assert results[1] == 1024 and results[0] != os.getpid()
    assert LocalExecutor(n_jobs=2).beside([(pow, (3, 2))])() == [9]


def test_beside_starts_no_worker_for_its_calls() -> None:
    release_workers()
    assert beside([(os.getpid, ())], n_jobs=2)() == [os.getpid()]
    assert release_workers() is False  # none was started


def test_beside_says_whether_its_calls_would_run_in_workers() -> None:
    release_workers()
    assert not LocalExecutor(n_jobs=2).beside_in_workers()  # none running: they would run here
    list(imap_tasks(os.getpid, [()] * 4, n_jobs=2))
    assert LocalExecutor(n_jobs=2).beside_in_workers() and not LocalExecutor(n_jobs=1).beside_in_workers()
    assert LocalExecutor(n_jobs=2).beside([(os.getpid, ())])() != [os.getpid()]


def test_beside_with_one_job_runs_the_calls_here_when_asked() -> None:
    seen: list[int] = []
    wait = LocalExecutor(n_jobs=1).beside([(seen.append, (1,)), (os.getpid, ())])
    assert seen == []  # nothing ran yet
    assert wait() == [None, os.getpid()] and seen == [1]


def test_beside_calls_not_needed_are_not_run_here_but_are_waited_for_in_workers(tmp_path) -> None:
    seen: list[int] = []
    assert LocalExecutor(n_jobs=1).beside([(seen.append, (1,)), (os.getpid, ())])(needed=False) == [None, None]
    assert seen == []  # never run
    done = tmp_path / "done"
    list(imap_tasks(os.getpid, [()] * 4, n_jobs=2))  # workers running: the call is sent at once
    wait = beside([(subprocess.run, (["sh", "-c", f"sleep 0.3; touch {done}"],))], n_jobs=2)
    wait(needed=False)
    assert done.exists()  # over before the wait returned


def test_beside_raises_the_first_failure_once_every_call_is_over(tmp_path) -> None:
    done = tmp_path / "done"
    list(imap_tasks(os.getpid, [()] * 4, n_jobs=2))
    wait = beside([(pow, (0, -1)), (subprocess.run, (["sh", "-c", f"sleep 0.5; touch {done}"],))], n_jobs=2)
    with pytest.raises(ZeroDivisionError):
        wait()
    assert done.exists()  # the slow call was over before the fast one's failure was raised


@pytest.mark.parametrize("via", ["imap_tasks", "LocalExecutor.imap"])
def test_imap_with_one_worker_runs_every_task_in_one_other_process(via) -> None:
    """``workers=1``: a worker process still (the caller goes on meanwhile), only one; the pool grows back after."""
    tasks = [()] * 6
    if via == "imap_tasks":
        pids = list(imap_tasks(os.getpid, tasks, n_jobs=2, ahead=4, workers=1))
    else:
        pids = list(LocalExecutor(n_jobs=2).imap(os.getpid, tasks, ahead=4, workers=1))
    assert len(pids) == 6 and len(set(pids)) == 1 and os.getpid() not in pids
    assert list(imap_tasks(pow, [(2, k) for k in range(6)], n_jobs=2)) == [2**k for k in range(6)]


def _gone(pid: int, within: float = 10.0) -> bool:
    """Whether process ``pid`` has ended (a zombie counts: it holds no memory), waiting up to ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ")[-1].startswith("Z"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_released_workers_end_and_the_next_stage_starts_new_ones() -> None:
    first = set(imap_tasks(os.getpid, [()] * 4, n_jobs=2))
    assert release_workers() is True
    assert all(_gone(pid) for pid in first)
    assert release_workers() is False  # none left to stop
    again = set(imap_tasks(os.getpid, [()] * 4, n_jobs=2))
    assert again and not (again & first) and os.getpid() not in again


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_stopped_workers_end_at_once_and_the_next_stage_starts_new_ones() -> None:
    first = set(imap_tasks(os.getpid, [()] * 4, n_jobs=2))
    assert stop_workers() is True
    assert all(_gone(pid) for pid in first)
    assert stop_workers() is False and release_workers() is False  # none left to stop
    again = set(imap_tasks(os.getpid, [()] * 4, n_jobs=2))
    assert again and not (again & first) and os.getpid() not in again
    release_workers()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("own", [False, True])
def test_open_executor_with_its_own_workers_starts_fresh_ones_and_stops_them(own: bool) -> None:
    before = set(imap_tasks(os.getpid, [()] * 4, n_jobs=2))  # shared workers, left running
    with open_executor(Runtime(n_jobs=2), own_workers=own) as executor:
        pids = set(executor.imap(os.getpid, [()] * 4))
    assert bool(pids & before) is not own  # its own: none of the shared ones
    assert all(_gone(pid, within=10.0 if own else 1.0) for pid in pids | before) is own
    release_workers()


def test_imap_tasks_passes_keywords_and_handles_no_task() -> None:
    assert list(imap_tasks(int, [("10",), ("ff",)], n_jobs=1, base=16)) == [16, 255]
    assert list(imap_tasks(int, [("10",), ("ff",)], n_jobs=2, backend="threading", base=16)) == [16, 255]
    assert list(imap_tasks(pow, iter([]), n_jobs=2)) == []


def test_imap_tasks_serial_is_lazy() -> None:
    pulled: list[int] = []

    def tasks() -> Iterator[tuple[int, int]]:
        for k in range(100):
            pulled.append(k)
            yield (k, 2)

    it = imap_tasks(pow, tasks(), n_jobs=1)
    assert next(it) == 0 and pulled == [0]
    assert next(it) == 1 and pulled == [0, 1]


def _drawn_tasks(total: int, power: int, drawn: list[int]) -> Iterator[tuple[int, int]]:
    """Tasks ``(k, power)``, noting in ``drawn`` each one as it is read from the stream."""
    for k in range(total):
        drawn.append(k)
        yield (k, power)


def test_imap_tasks_parallel_reads_only_a_few_tasks_ahead_of_the_results() -> None:
    """A slow consumer: the stream is read only a few tasks ahead (joblib's generator would read it all)."""
    total = 400
    pulled: list[int] = []
    it = imap_tasks(pow, _drawn_tasks(total, 2, pulled), n_jobs=2)
    try:
        assert next(it) == 0
        deadline = time.monotonic() + 4.0  # give the workers time to ask for more (not a measurement)
        while len(pulled) < total and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(pulled) <= 2 * 2 + 1, len(pulled)  # one result taken: at most 2 * n_jobs tasks read ahead of it
    finally:
        assert list(it) == [k * k for k in range(1, total)]  # drained either way: results stay in order


def test_local_executor_delegates() -> None:
    ex = LocalExecutor(n_jobs=1)
    assert (ex.name, ex.shares_disk, ex.n_jobs) == ("local", True, 1)
    done: list[int] = []
    assert ex.map_chunks(_first_and_len, list(range(5)), chunk_size=2, progress=done.append, offset=1) == [(1, 2), (3, 2), (5, 1)]
    assert done == [2, 2, 1]
    assert list(ex.imap(divmod, [(7, 2), (9, 4)])) == [(3, 1), (2, 1)]


def test_local_executor_bands_as_the_banding_module() -> None:
    from dedup.candidates.banding import lsh_pairs

    rng = np.random.default_rng(1)
    sig = rng.integers(0, 4, (30, 8), dtype=np.uint64)  # few values: many shared bands
    members = np.arange(30)
    got = LocalExecutor().lsh_pairs(sig, members, 4, 2, 50)
    expected = lsh_pairs(sig, members, 4, 2, 50)
    assert got[0].tolist() == expected[0].tolist() and got[1] == expected[1] and len(got[0]) > 0


@pytest.mark.parametrize("n_jobs", [2, 3])
def test_banding_on_threads_adds_the_bands_in_order(n_jobs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bands mapped on threads, ``at_once`` at a time (3 does not divide 7 bands): the same pairs and capped buckets."""
    from dedup.candidates.banding import lsh_pairs

    rng = np.random.default_rng(2)
    sig = rng.integers(0, 3, (200, 14), dtype=np.uint64)  # few values: buckets over the cap too
    members = np.arange(200)
    expected = lsh_pairs(sig, members, 7, 2, 15)
    assert expected[1] > 0 and len(expected[0]) > 0
    import dedup.exec.local as local

    monkeypatch.setattr(local, "BANDS_ON_THREADS_FROM", 10)  # this small a feed would be banded in this thread
    made_on: set[str] = set()
    real = local._threads

    def spy(func, items, n):  # noqa: ANN001, ANN202
        return real(lambda band: made_on.add(threading.current_thread().name) or func(band), items, n)

    monkeypatch.setattr(local, "_threads", spy)
    got = LocalExecutor(n_jobs).lsh_pairs(sig, members, 7, 2, 15)
    assert got[0].tolist() == expected[0].tolist() and got[1] == expected[1]
    assert made_on and all(name.startswith("dedup") for name in made_on)  # the pool's threads made them
    seen: list[list[int]] = []

    def each(f, bands):  # noqa: ANN001, ANN202
        bands = list(bands)
        seen.append(bands)
        return map(f, bands)

    assert lsh_pairs(sig, members, 7, 2, 15, each=each, at_once=n_jobs)[0].tolist() == expected[0].tolist()
    assert [b for part in seen for b in part] == list(range(7)) and max(map(len, seen)) == n_jobs


def test_the_pool_is_joblibs_own_so_parallel_and_dedup_can_alternate() -> None:
    """A bare loky pool would lack the temporary-folder manager joblib attaches: its next Parallel would fail."""
    from joblib import Parallel, delayed

    assert list(imap_tasks(pow, [(2, k) for k in range(6)], n_jobs=2)) == [2**k for k in range(6)]
    assert Parallel(n_jobs=2)(delayed(pow)(2, k) for k in range(4)) == [1, 2, 4, 8]
    assert map_chunks(sum, list(range(10)), n_jobs=2, chunk_size=3) == [3, 12, 21, 9]
    assert Parallel(n_jobs=2)(delayed(pow)(3, k) for k in range(3)) == [1, 3, 9]


def test_arrays_sent_to_workers_are_released_when_the_call_ends(tmp_path) -> None:
    """Large arrays go to the workers memory-mapped; the files are gone when imap ends, and nothing is reported leaked at exit.

    Run in a child process: the leaked-files warning is printed by loky's
    resource tracker when the process shuts down.
    """
    code = f"""
import os, numpy as np
from dedup.exec.local import imap_tasks
os.environ["JOBLIB_TEMP_FOLDER"] = {str(tmp_path)!r}
big = np.arange(1 << 20, dtype=np.int64)  # 8 MB: over joblib's memory-mapping size
out = list(imap_tasks(np.sum, [(big,)] * 6, n_jobs=2))
assert out == [int(big.sum())] * 6, out
left = [f for _, _, files in os.walk({str(tmp_path)!r}) for f in files]
print("left", len(left))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "left 0" in done.stdout
    assert "leaked" not in done.stderr, done.stderr


@pytest.mark.parametrize("via", ["imap_tasks", "LocalExecutor.imap"])
@pytest.mark.parametrize("ahead", [1, 3])
def test_imap_ahead_bounds_the_tasks_drawn_before_each_result(ahead, via) -> None:
    """With loky, ``ahead=N``: results in order (as serial), and the stream read at most N tasks past the one taken.

    How far ahead is fixed by the main process alone (``_bounded`` draws a
    task only while fewer than ``limit = max(1, ahead)`` are pending; the
    workers' speed does not enter): when result ``k`` is handed over, tasks
    ``0 .. k + limit - 1`` have been drawn, and never fewer than the two that
    ``imap_tasks`` reads first to see whether workers can help. So the count
    is exactly ``min(total, max(k + ahead, 2))``: the constant beyond
    ``ahead`` is that head of two, which only ``ahead=1`` feels (one extra
    task, on the first result).
    """
    total = 12
    drawn: list[int] = []
    tasks = _drawn_tasks(total, 3, drawn)
    if via == "imap_tasks":
        it = imap_tasks(pow, tasks, n_jobs=2, ahead=ahead)
    else:
        it = LocalExecutor(n_jobs=2).imap(pow, tasks, ahead=ahead)
    got, seen = [], []
    for result in it:
        got.append(result)
        seen.append(len(drawn))  # the tasks drawn when this result arrived
    assert got == list(imap_tasks(pow, [(k, 3) for k in range(total)], n_jobs=1)) == [k**3 for k in range(total)]
    assert all(n - k <= max(ahead, 2) for k, n in enumerate(seen)), seen
    assert seen == [min(total, max(k + ahead, 2)) for k in range(total)], seen


def test_tune_heap_sets_the_thresholds_for_this_process_and_its_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """glibc's thresholds set here with mallopt, and in the environment the workers started next read."""
    from dedup.exec.heap import HEAP_ENV, tune_heap

    if not sys.platform.startswith("linux"):
        pytest.skip("glibc's heap only")
    for name in HEAP_ENV:
        monkeypatch.setenv(name, "0")  # recorded, so that the test's changes are undone after it
        monkeypatch.delenv(name)
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "12345")  # a user's own setting stays
    assert tune_heap() is True
    assert os.environ["MALLOC_MMAP_THRESHOLD_"] == HEAP_ENV["MALLOC_MMAP_THRESHOLD_"] == str(32 << 20)
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "12345"
    child = subprocess.run([sys.executable, "-c", "import os; print(os.environ['MALLOC_MMAP_THRESHOLD_'])"],
                           capture_output=True, text=True, check=True)
    assert child.stdout.strip() == str(32 << 20)


def _leak_bound() -> int:
    from joblib.externals.loky import process_executor

    return process_executor._MAX_MEMORY_LEAK_SIZE


def test_workers_are_not_replaced_for_the_growth_they_are_meant_to_have() -> None:
    """loky replaces a worker 300 MB larger than after its first task; dedup's workers keep heaps and load numba."""
    from dedup.exec.local import _WORKER_GROWTH

    bounds = set(imap_tasks(_leak_bound, [()] * 4, n_jobs=2))
    assert bounds == {_WORKER_GROWTH} and _WORKER_GROWTH >= 1 << 30


def test_the_executor_counts_the_worker_processes_it_gave_tasks_to() -> None:
    """summary.json said n_jobs as asked, also when every task ran here (one chunk, one task, one job): what the
    executor counts is what ran, 0 for this process alone, else the workers that had tasks (at most the tasks)."""
    serial, pool = LocalExecutor(n_jobs=1), LocalExecutor(n_jobs=2)
    serial.map_chunks(sum, list(range(10)), chunk_size=3)
    list(serial.imap(pow, [(2, k) for k in range(4)]))
    serial.beside([(pow, (2, 3))])()
    assert serial.take_workers() == 0
    pool.map_chunks(sum, list(range(10)), chunk_size=100)  # one chunk: here
    list(pool.imap(pow, [(2, 3)]))  # one task: here
    assert pool.take_workers() == 0
    pool.map_chunks(sum, list(range(10)), chunk_size=3)
    assert pool.take_workers() == 2  # 4 chunks, 2 workers
    assert pool.take_workers() == 0  # counted again from 0
    list(pool.imap(os.getpid, [()] * 4, workers=1))
    assert pool.take_workers() == 1  # a single worker (the stories' days)
    pool.beside([(pow, (2, 3))])()  # workers running (the stage before started them): sent to one
    assert pool.take_workers() == 1


def test_a_dask_executor_counts_the_cluster_workers_that_had_tasks() -> None:
    """Without a cluster: a client that says it has three workers."""
    from dedup.exec.dask import DaskExecutor

    class Client:
        def nthreads(self) -> dict[str, int]:
            return {"w1": 1, "w2": 1, "w3": 1}

    executor = DaskExecutor(Client(), shares_disk=True)
    assert executor.take_workers() == 0
    executor._sent(2)
    assert executor.take_workers() == 2 and executor.take_workers() == 0
    executor._sent(40)
    assert executor.take_workers() == 3
