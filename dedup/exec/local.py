"""The local executor: this process, or joblib's loky processes on this machine.

Work is cut into coarse chunks (thousands of articles) so that process
start-up and pickling stay small next to the work; workers receive plain data
and return compact NumPy arrays or lists. ``n_jobs == 1`` (or a single chunk)
runs in this process without joblib at all, and so does a stream of a
single task.
"""

from __future__ import annotations

import contextlib
import sys
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, islice
from typing import Any, Protocol, TypeVar

__all__ = ["Beside", "LocalExecutor", "batches", "beside", "chunked", "imap_tasks", "map_chunks", "stop_workers"]

T = TypeVar("T")
R = TypeVar("R")


class Beside(Protocol):
    """What :func:`beside` returns: called, it waits until every call is over, then gives their results in order.

    ``needed=False``: the results will not be read. Calls already sent to a
    worker are still waited for (their files are released after them);
    calls that would run here, when asked, are not run: their results are None.
    """

    def __call__(self, needed: bool = True) -> list[Any]: ...


def chunked(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """Cut ``items`` into consecutive slices of at most ``size``.

    >>> [list(c) for c in chunked([1, 2, 3, 4, 5], 2)]
    [[1, 2], [3, 4], [5]]
    """
    return [items[i : i + size] for i in range(0, len(items), size)]


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items from a stream (read as they are asked for).

    >>> list(batches(iter("abcde"), 2))
    [['a', 'b'], ['c', 'd'], ['e']]
    """
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def map_chunks(
    func: Callable[..., R],
    items: Sequence[Any],
    *,
    n_jobs: int = 1,
    chunk_size: int = 2000,
    progress: Callable[[int], None] | None = None,
    backend: str | None = "loky",
    on_sent: Callable[[int], None] | None = None,
    **kwargs: Any,
) -> list[R]:
    """Apply ``func(chunk, **kwargs)`` to consecutive chunks of ``items``.

    Args:
        func: a picklable module-level function taking a chunk first.
        items: the sequence to cut.
        n_jobs: worker processes (``-1`` = all cores); 1 runs serially.
        chunk_size: items per chunk.
        progress: called with the number of items finished after each chunk.
        backend: joblib backend (None: the one active in ``joblib.parallel_config``).
        on_sent: told how many tasks went to worker processes (not called when all run here).
        **kwargs: passed to every call (keep them small: they are pickled per task).

    Returns:
        The results per chunk, in input order.
    """
    chunks = chunked(items, chunk_size)
    results: list[R] = []
    if n_jobs == 1 or len(chunks) <= 1:
        for chunk in chunks:
            results.append(func(chunk, **kwargs))
            if progress is not None:
                progress(len(chunk))
        return results
    if on_sent is not None:
        on_sent(len(chunks))
    if backend == "loky":  # the pool imap_tasks uses: one kind of worker pool in a run
        for chunk, result in zip(chunks, _bounded(func, ((c,) for c in chunks), n_jobs, kwargs)):
            results.append(result)
            if progress is not None:
                progress(len(chunk))
        return results
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=n_jobs, backend=backend, return_as="generator")
    _quiet_worker_restarts()
    for chunk, result in zip(chunks, parallel(delayed(func)(c, **kwargs) for c in chunks)):
        results.append(result)
        if progress is not None:
            progress(len(chunk))
    return results


def imap_tasks(
    func: Callable[..., R],
    tasks: Iterable[tuple[Any, ...]],
    *,
    n_jobs: int = 1,
    backend: str | None = "loky",
    ahead: int | None = None,
    workers: int | None = None,
    on_sent: Callable[[int], None] | None = None,
    **kwargs: Any,
) -> Iterator[R]:
    """``func(*task, **kwargs)`` for each task, lazily, results in task order.

    Unlike :func:`map_chunks` the tasks may come from a stream (a file being
    read): at most ``ahead`` (default ``2 * n_jobs``) tasks are in flight or
    waiting to be taken, so a feed larger than memory passes through in bounded
    memory however slow the consumer is (joblib's own generator dispatches a
    new task whenever one completes, taken or not, and so reads the whole
    stream ahead of a slow consumer). A stream of a single task (a feed
    within one chunk) runs in this process, as with ``n_jobs == 1``: starting
    workers would cost more than the task. ``backend=None`` uses joblib with
    the backend active in ``joblib.parallel_config`` (Dask). ``workers``
    (loky only): at most this many worker processes, even one, when tasks
    are few at a time and a waiting worker's memory counts (the stories
    stage's days: one is made while the tracker places the one before).
    ``on_sent`` is told how many tasks went to worker processes so far, as
    each is taken from ``tasks`` (not called when all run here).
    """
    it = iter(tasks)
    if n_jobs != 1:
        head = list(islice(it, 2))  # the first two tasks tell whether workers can help
        if len(head) > 1:
            sent = chain(head, it) if on_sent is None else _counted(chain(head, it), on_sent)
            if backend == "loky":
                yield from _bounded(func, sent, n_jobs if workers is None else min(workers, _pool_size(n_jobs)), kwargs, ahead)
                return
            from joblib import Parallel, delayed

            parallel = Parallel(n_jobs=n_jobs, backend=backend, return_as="generator",
                                pre_dispatch="2*n_jobs" if ahead is None else max(1, ahead))
            _quiet_worker_restarts()
            yield from parallel(delayed(func)(*task, **kwargs) for task in sent)
            return
        it = iter(head)
    for task in it:
        yield func(*task, **kwargs)


def _counted(tasks: Iterator[T], on_sent: Callable[[int], None]) -> Iterator[T]:
    """``tasks`` as they are taken, ``on_sent`` told how many so far.

    >>> seen = []
    >>> list(_counted(iter("ab"), seen.append)), seen
    (['a', 'b'], [1, 2])
    """
    for k, task in enumerate(tasks, 1):
        on_sent(k)
        yield task


def _bounded(func: Callable[..., R], tasks: Iterator[tuple[Any, ...]], n_jobs: int, kwargs: dict[str, Any],
             ahead: int | None = None) -> Iterator[R]:
    """Tasks on joblib's reusable loky pool, at most ``ahead`` (default ``2 * workers``) submitted and not yet taken.

    The pool is joblib's own (``get_memmapping_executor``, as ``Parallel``
    gets it), so joblib used elsewhere in the process finds it as it expects
    (a bare loky pool lacks the temporary-folder manager joblib attaches).
    """
    from collections import deque

    workers = _pool_size(n_jobs)
    pool, release = _pool(workers)
    limit = 2 * workers if ahead is None else max(1, ahead)
    pending: deque = deque()
    try:
        for task in tasks:
            pending.append(pool.submit(_in_worker, func, *task, **kwargs))
            if len(pending) >= limit:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:  # the consumer stopped early, or a task failed: drop what was not started
            future.cancel()
        release()


def _in_worker(func: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """``func(*args, **kwargs)`` in a worker process, set up as its parent (:func:`dedup.exec.heap.tune_gc`; idempotent)
    and kept through the growth it is meant to have (:func:`_keep_grown_worker`)."""
    from .heap import tune_gc

    tune_gc()
    _keep_grown_worker()
    return func(*args, **kwargs)


_WORKER_GROWTH = 2 << 30  # bytes of RSS a worker may gain over its size after its first task before loky replaces it


def _keep_grown_worker() -> None:
    """Raise loky's bound on a worker's growth, in this worker, from 300 MB to :data:`_WORKER_GROWTH`.

    loky measures a worker after its first task and replaces it, as leaking,
    once it is 300 MB larger. A dedup worker grows that much by design: it
    keeps its heap from run to run of verification (:func:`dedup.exec.heap.keep_heap`)
    and loads numba for the compiled text path (:mod:`dedup.sketch.compiled`).
    Replaced, it starts again mid-stage, imports and warms up again (100k
    synthetic articles, ``--jobs 2``, with the compiled text path: a worker
    replaced in verification, verify 2.8 -> 4.2 s). Where loky's private
    bound is not found, nothing changes.
    """
    try:
        from joblib.externals.loky import process_executor
    except ImportError:  # pragma: no cover - joblib without loky
        return
    if getattr(process_executor, "_MAX_MEMORY_LEAK_SIZE", _WORKER_GROWTH) < _WORKER_GROWTH:
        process_executor._MAX_MEMORY_LEAK_SIZE = _WORKER_GROWTH


def _pool(workers: int) -> tuple[Any, Callable[[], None]]:
    """joblib's reusable loky pool of ``workers`` processes, with a memory-mapping folder of the caller's own; and what releases that folder.

    Large arrays sent to the workers are memory-mapped into a folder of the
    caller's own; it is released when the caller is done, as joblib's
    Parallel does (left to the end of the process, they are reported as
    leaked files).
    """
    from joblib.executor import get_memmapping_executor

    _quiet_worker_restarts()
    with _deaf_to_the_terminal():  # the helper processes loky starts ignore the terminal's signals to the whole group
        _tracker_running()
        pool = get_memmapping_executor(workers)
        start = getattr(pool, "_ensure_executor_running", None)  # loky's private start, used where present
        if start is not None:
            start()
    manager = getattr(pool, "_temp_folder_manager", None)  # joblib's own (private) hooks: used only where present
    if manager is None or not (hasattr(manager, "set_current_context") and hasattr(manager, "_clean_temporary_resources")):
        return pool, lambda: None
    context = f"dedup-{uuid.uuid4().hex}"
    manager.set_current_context(context)
    return pool, lambda: manager._clean_temporary_resources(context_id=context, force=False)


def beside(calls: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]], n_jobs: int = 1,
           on_sent: Callable[[int], None] | None = None) -> Beside:
    """Start each ``func(*args)`` of ``calls`` in a worker of joblib's reusable loky pool; return what waits for them (:class:`Beside`).

    This process goes on with its own work meanwhile. The callable returned
    waits until every call is over, then returns their results in order, or
    raises the first one's exception. The calls go to workers that already
    run (a stage before started them): starting some for this would cost
    more than the calls (~1 s). With ``n_jobs == 1``, or no worker running,
    nothing starts: the calls run here, in order, when their results are
    asked for (and not at all if they are not needed). ``on_sent`` is told
    how many calls went to workers (not called when they run here).
    """
    if n_jobs == 1 or not _workers_running():
        def here(needed: bool = True) -> list[Any]:
            return [func(*args) for func, args in calls] if needed else [None] * len(calls)

        return here
    pool, release = _pool(_pool_size(n_jobs))  # one memory-mapping folder for all the calls: each is pickled as it is sent
    futures = [pool.submit(_in_worker, func, *args) for func, args in calls]
    if on_sent is not None:
        on_sent(len(futures))

    def results(needed: bool = True) -> list[Any]:
        try:
            done = [(f.exception(), f) for f in futures]  # every call over before anything is said
        finally:
            release()
        for exc, _ in done:
            if exc is not None:
                raise exc
        return [f.result() for _, f in done]

    return results


def _workers_running() -> bool:
    """Whether joblib's reusable loky pool has workers (loky's own, private, handle on the pool: where present)."""
    if "joblib" not in sys.modules:  # no stage used workers: not even joblib is loaded (nor is it loaded to know)
        return False
    from joblib.externals.loky import reusable_executor

    pool = getattr(reusable_executor, "_executor", None)
    return pool is not None and not getattr(getattr(pool, "_flags", None), "shutdown", True)


def release_workers() -> bool:
    """Stop joblib's reusable loky workers, if any run; whether some did.

    A flow whose last parallel stage is over calls this, so that idle workers
    (each holding its imports and what is left of its heap, ~0.2 GB in the
    stories stage) do not count in the run's memory through the serial steps
    after it. The next parallel stage starts them again (~1 s). loky's own
    (private) handle on the pool is used only where present.
    """
    from joblib.externals.loky import reusable_executor

    if not _workers_running():
        return False
    reusable_executor._executor.shutdown(wait=True)
    return True


def stop_workers() -> bool:
    """Stop joblib's reusable loky workers at once, if any run, without waiting for them to wind down; whether some did.

    For the end of a process's work (a command of the command line), when
    every task has returned: a worker left to exit on its own tears down its
    interpreter and heap while the process waits at exit (100k synthetic
    articles, ``--jobs 2``: ~0.35 s of the wall time, with both cores idle).
    The next parallel stage, if any, starts workers again.
    """
    if not _workers_running():
        return False
    from joblib.externals.loky import reusable_executor

    reusable_executor._executor.shutdown(wait=False, kill_workers=True)
    return True


def _threads(func: Callable[[T], R], items: Iterable[T], n: int) -> Iterator[R]:
    """``map(func, items)`` on ``n`` threads (``n == 1``: this thread), results in order."""
    if n <= 1:
        yield from map(func, items)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(n, thread_name_prefix="dedup") as pool:
        yield from pool.map(func, items)


def _pool_size(n_jobs: int) -> int:
    """Worker processes for joblib's ``n_jobs`` (negative: all cores but ``-n_jobs - 1``)."""
    if n_jobs > 0:
        return n_jobs  # joblib not imported for it (~0.12 s: a --jobs 1 run never loads joblib)
    from joblib import cpu_count

    return max(1, cpu_count() + 1 + n_jobs)


@contextlib.contextmanager
def _deaf_to_the_terminal() -> Iterator[None]:
    """SIGINT and SIGHUP ignored while loky starts its processes: its workers and its resource tracker.

    Ctrl-C on a terminal signals the whole process group, and so does the
    terminal closing (SIGHUP): a worker still importing NumPy at its start
    printed a traceback of its own (dozens of lines) under the parent's
    one-line "interrupted" message, and the resource tracker (which ignores
    SIGINT and SIGTERM itself, not SIGHUP) died, was started again by the
    parent knowing nothing of what the first one tracked, and printed a
    KeyError traceback for each semaphore and memory-mapping folder let go.
    The parent alone answers these signals (it stops the run, removes its
    temporary files, and loky ends the workers with it). An ignored signal
    stays ignored through fork and exec (a blocked one does not: loky's
    start clears the mask), so they are ignored here while the processes
    start, a few milliseconds (~20 ms the first time, when the tracker
    starts too; a Ctrl-C in exactly that moment is lost); only the main
    thread may do that, so elsewhere (the service's threads) the processes
    start as before, and so do the workers loky starts later on its own
    (replacing one grown past its bound, or idle 300 s): a Ctrl-C then may
    still print their tracebacks, never more.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    deaf = [signal.SIGINT] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    before = [signal.signal(s, signal.SIG_IGN) for s in deaf]
    try:
        yield
    finally:
        for s, handler in zip(deaf, before):
            signal.signal(s, handler)


def _tracker_running() -> None:
    """Start loky's resource tracker now, if it does not run (it would start on the pool's first semaphore)."""
    try:
        from joblib.externals.loky.backend.resource_tracker import ensure_running
    except ImportError:  # pragma: no cover - another joblib layout: the tracker starts where loky starts it
        return
    ensure_running()


def _quiet_worker_restarts() -> None:
    """Hide loky's warning that it restarted a worker.

    loky lets a worker go after 300 s without work (the parent busy between
    two stages) and warns when it starts one again for the next task: no task
    is lost, so the warning would only alarm the user.
    """
    warnings.filterwarnings("ignore", message="A worker stopped while some jobs were given", category=UserWarning)


# Members from which the LSH bands are made one at a time, in this thread, as before threads made them: on threads, each
# thread's band waits with its pairs beside the union, in that thread's own heap. A million articles of large copy
# families make several million pairs a band and hold the run's memory peak near its target; threads there are not
# measured. Below it, 100k synthetic articles, --jobs 2: banding 0.33 -> 0.26 s.
BANDS_ON_THREADS_BELOW = 250_000
BANDS_ON_THREADS_FROM = 20_000  # ... and below which they are made in this thread too


class LocalExecutor:
    """Runs chunks in this process (``n_jobs == 1``) or in ``n_jobs`` loky processes."""

    name = "local"
    shares_disk = True

    def __init__(self, n_jobs: int = 1) -> None:
        self.n_jobs = n_jobs
        self.in_process = n_jobs == 1
        self._workers = 0  # the most worker processes given tasks since take_workers last asked

    def take_workers(self) -> int:
        """The most worker processes this executor gave tasks to since it was last asked (0: every task ran in this
        process); the count starts again from 0.

        A call of ``k`` tasks in a pool of ``p`` workers counts ``min(k, p)``: the
        most that had work at once (a stream's tasks counted as they are sent).
        """
        used, self._workers = self._workers, 0
        return used

    def _sent_to(self, workers: int | None = None) -> Callable[[int], None]:
        """What notes ``k`` tasks sent to a pool of ``workers`` (None: the executor's own) processes."""
        def sent(k: int) -> None:
            pool = _pool_size(self.n_jobs) if workers is None else min(workers, _pool_size(self.n_jobs))
            self._workers = max(self._workers, min(k, pool))

        return sent

    def map_chunks(self, func: Callable[..., R], items: Sequence[Any], *, chunk_size: int = 2000,
                   progress: Callable[[int], None] | None = None, **kwargs: Any) -> list[R]:
        """:func:`map_chunks` over this executor's processes."""
        return map_chunks(func, items, n_jobs=self.n_jobs, chunk_size=chunk_size, progress=progress, on_sent=self._sent_to(), **kwargs)

    def imap(self, func: Callable[..., R], tasks: Iterable[tuple[Any, ...]], *, ahead: int | None = None,
             workers: int | None = None, **kwargs: Any) -> Iterator[R]:
        """:func:`imap_tasks` over this executor's processes (at most ``workers`` of them)."""
        return imap_tasks(func, tasks, n_jobs=self.n_jobs, ahead=ahead, workers=workers, on_sent=self._sent_to(workers), **kwargs)

    def beside(self, calls: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]]) -> Beside:
        """:func:`beside`: the calls in worker processes while this one works (with one job: here, when asked)."""
        return beside(calls, n_jobs=self.n_jobs, on_sent=self._sent_to())

    def beside_in_workers(self) -> bool:
        """Whether :meth:`beside` would run its calls in workers: several jobs, and workers already running."""
        return self.n_jobs != 1 and _workers_running()

    def threads(self, func: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``map(func, items)`` on as many threads of this process as the executor has jobs, results in order.

        For NumPy work that lets go of the GIL (sorts, gathers of large
        arrays) on data this process holds: nothing is copied to a worker.
        """
        return _threads(func, items, _pool_size(self.n_jobs))

    def lsh_pairs(self, signatures, members, bands: int, rows: int, max_bucket: int):  # noqa: ANN001, ANN201
        """The LSH banding in this process (NumPy sorts of band keys), on as many threads as the executor has jobs."""
        from ..candidates.banding import lsh_pairs  # here: flows without candidates (repeats) do not load them

        # (one job, or a small feed, whose bands take milliseconds: joblib, which counts the cores, is not even imported)
        on_threads = self.n_jobs != 1 and BANDS_ON_THREADS_FROM <= len(members) < BANDS_ON_THREADS_BELOW
        threads = _pool_size(self.n_jobs) if on_threads else 1
        if threads == 1:  # in this thread: a band made on another one takes its memory from that thread's own heap
            return lsh_pairs(signatures, members, bands, rows, max_bucket)
        return lsh_pairs(signatures, members, bands, rows, max_bucket, each=self.threads, at_once=threads)
