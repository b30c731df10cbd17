"""Executors: where chunks of work run. The only place that imports joblib and Dask.

A flow receives an :class:`Executor` and maps its chunks through it; a stage
never asks which one is running. Two implementations:

* :class:`~dedup.exec.local.LocalExecutor`: this process (``n_jobs == 1``) or
  joblib's loky processes;
* :class:`~dedup.exec.dask.DaskExecutor`: joblib's Dask backend for the chunks
  and Dask collections for the LSH banding, on a local or remote cluster.

Both give identical results (``tests/test_exec.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

import numpy as np

from ..runtime import Runtime
from .local import Beside, LocalExecutor, batches, chunked, imap_tasks, map_chunks, release_workers, stop_workers

__all__ = ["Beside", "Executor", "LocalExecutor", "batches", "chunked", "imap_tasks", "map_chunks", "open_executor", "release_workers", "stop_workers"]

R = TypeVar("R")
T = TypeVar("T")


class Executor(Protocol):
    """What a flow needs from an executor."""

    name: str
    shares_disk: bool  # workers see this machine's temporary files
    in_process: bool  # tasks run in this process: their arguments are not copied to a worker

    def map_chunks(self, func: Callable[..., R], items: Sequence[Any], *, chunk_size: int = 2000,
                   progress: Callable[[int], None] | None = None, **kwargs: Any) -> list[R]:
        """``func(chunk, **kwargs)`` per consecutive chunk of ``items``, results in order."""
        ...

    def imap(self, func: Callable[..., R], tasks: Iterable[tuple[Any, ...]], *, ahead: int | None = None,
             workers: int | None = None, **kwargs: Any) -> Iterator[R]:
        """``func(*task, **kwargs)`` per task of a stream, lazily, results in task order.

        ``ahead``: at most this many tasks started and not yet taken
        (default two per worker); fewer holds fewer large results waiting
        for a slow consumer. ``workers``: at most this many local worker
        processes (default: the executor's), each one's memory counted
        while it waits; a cluster's workers are what the cluster has.
        """
        ...

    def threads(self, func: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``map(func, items)`` in this process, on threads when the executor has several jobs; results in order."""
        ...

    def beside(self, calls: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]]) -> Beside:
        """Start each ``func(*args)`` of ``calls`` where it runs beside this process's own work.

        The callable returned waits until all are over, then returns their
        results in order or raises the first one's exception (with
        ``needed=False``, calls not yet started are not run: :class:`Beside`).
        """
        ...

    def beside_in_workers(self) -> bool:
        """Whether :meth:`beside` would run its calls in other processes now (else here, one after the other)."""
        ...

    def lsh_pairs(self, signatures: np.ndarray, members: np.ndarray, bands: int, rows: int,
                  max_bucket: int) -> tuple[np.ndarray, int]:
        """The LSH banding (:func:`dedup.candidates.banding.lsh_pairs`)."""
        ...

    def take_workers(self) -> int:
        """The most worker processes given tasks since the last call (0: all ran in this process); counts again from 0.

        What a run reports beside the ``n_jobs`` it was asked for (work that
        fits one task, a chunk or a call, runs in this process whatever ``n_jobs`` says):
        :class:`~dedup.flows.timer.StageTimer` asks at each stage's start and end.
        """
        ...


@contextmanager
def open_executor(runtime: Runtime, own_workers: bool = False) -> Iterator[Executor]:
    """The executor ``runtime`` asks for, started for the ``with`` block and shut down after it.

    Local worker processes are shared: joblib reuses them from block to
    block. With ``own_workers`` the block starts its own and stops them at
    its end (:func:`release_workers`): fresh processes hold only what the
    block's tasks import, and none idles, holding memory, after the block
    (the stories stage's days: ~0.1 GB less in the worker, ~0.2 GB less
    through the serial steps after it). Local workers are at most this
    machine's cores (:meth:`Runtime.local_jobs`): the work is CPU-bound.
    """
    if runtime.backend == "local":
        own = own_workers and runtime.n_jobs != 1
        if own:
            release_workers()
        try:
            yield LocalExecutor(runtime.local_jobs)
        except BaseException:  # an interrupt, an error: the workers are stopped at once, not waited for through their task
            if own:
                stop_workers()
                own = False
            raise
        finally:
            if own:
                release_workers()
        return
    from .dask import dask_executor

    workers = (runtime.n_jobs if runtime.dask_address else runtime.local_jobs) if runtime.n_jobs > 1 else (os.cpu_count() or 2)
    with dask_executor(runtime.dask_address, workers) as executor:
        yield executor
