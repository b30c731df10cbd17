"""The only place that imports joblib (and Dask, for the ``dask`` backend).

Work is cut into coarse chunks (thousands of articles) so that process start-up
and pickling stay small next to the work; workers receive plain data and
return compact NumPy arrays or lists. ``n_jobs == 1`` (or a single chunk) runs
in this process without joblib at all.

Inside :func:`backend` ``("dask", ...)`` every :func:`map_chunks` call runs
through joblib's Dask backend on a ``distributed`` cluster: an existing one
(``address``) or a ``LocalCluster`` started for the run. Dask's nanny sets
``MALLOC_TRIM_THRESHOLD_=65536`` in its workers, which more than doubles their
CPU time on this workload; a local cluster is started without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from .errors import ConfigError

__all__ = ["backend", "chunked", "map_chunks"]

_DASK = ContextVar("dedup_dask_active", default=False)

T = TypeVar("T")
R = TypeVar("R")


def chunked(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """Cut ``items`` into consecutive slices of at most ``size``.

    >>> [list(c) for c in chunked([1, 2, 3, 4, 5], 2)]
    [[1, 2], [3, 4], [5]]
    """
    return [items[i : i + size] for i in range(0, len(items), size)]


def map_chunks(
    func: Callable[..., R],
    items: Sequence[Any],
    *,
    n_jobs: int = 1,
    chunk_size: int = 2000,
    progress: Callable[[int], None] | None = None,
    **kwargs: Any,
) -> list[R]:
    """Apply ``func(chunk, **kwargs)`` to consecutive chunks of ``items``.

    Args:
        func: a picklable module-level function taking a chunk first.
        items: the sequence to cut.
        n_jobs: worker processes (``-1`` = all cores); 1 runs serially.
        chunk_size: items per chunk.
        progress: called with the number of items finished after each chunk.
        **kwargs: passed to every call (keep them small: they are pickled per task).

    Returns:
        The results per chunk, in input order.
    """
    chunks = chunked(items, chunk_size)
    results: list[R] = []
    if _DASK.get() and len(chunks) > 1:
        from joblib import Parallel, delayed

        for chunk, result in zip(chunks, Parallel(n_jobs=-1)(delayed(func)(c, **kwargs) for c in chunks)):
            results.append(result)
            if progress is not None:
                progress(len(chunk))
        return results
    if n_jobs == 1 or len(chunks) <= 1:
        for chunk in chunks:
            results.append(func(chunk, **kwargs))
            if progress is not None:
                progress(len(chunk))
        return results
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")
    for chunk, result in zip(chunks, parallel(delayed(func)(c, **kwargs) for c in chunks)):
        results.append(result)
        if progress is not None:
            progress(len(chunk))
    return results


@contextmanager
def backend(name: str = "local", address: str | None = None, n_workers: int = 2) -> Iterator[None]:
    """Run the :func:`map_chunks` calls inside on ``"local"`` processes or on ``"dask"``.

    Args:
        name: ``"local"`` (joblib's loky processes, per ``n_jobs``) or ``"dask"``.
        address: a ``distributed`` scheduler address (``tcp://host:8786``); None
            starts a ``LocalCluster`` of ``n_workers`` single-threaded processes.
        n_workers: workers of the local cluster.

    Raises:
        ConfigError: Dask is not installed, or the scheduler cannot be reached.
    """
    if name == "local":
        yield
        return
    try:
        import dask
        from distributed import Client, LocalCluster
        from joblib import parallel_config
    except ImportError:
        raise ConfigError("the dask backend needs dask and distributed: pip install 'dedup[dask]'") from None
    cluster = None
    try:
        if address is None:
            environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
            environ.pop("MALLOC_TRIM_THRESHOLD_", None)
            with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
                cluster = LocalCluster(n_workers=max(1, n_workers), threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(address, timeout=5)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise ConfigError(f"cannot reach the Dask scheduler {address!r} ({exc}); check --dask-address") from None
    token = _DASK.set(True)
    try:
        with parallel_config(backend="dask"):
            yield
    finally:
        _DASK.reset(token)
        client.close()
        if cluster is not None:
            cluster.close()
