"""The only place that imports joblib (and Dask, for the ``dask`` backend).

Work is cut into coarse chunks (thousands of articles) so that process start-up
and pickling stay small next to the work; workers receive plain data and
return compact NumPy arrays or lists. ``n_jobs == 1`` (or a single chunk) runs
in this process without joblib at all.

Inside :func:`backend` ``("dask", ...)`` every :func:`map_chunks` call runs
through joblib's Dask backend on a ``distributed`` cluster: an existing one
(``address``) or a ``LocalCluster`` started for the run. Dask's nanny sets
``MALLOC_TRIM_THRESHOLD_=65536`` in its workers, which more than doubles their
CPU time on this workload; a local cluster is started without it. There, too,
:func:`dedup.candidates.banding.candidate_pairs` bands through :func:`lsh_pairs_dask`: band
keys per row block, a shuffle of the records by key over a ``dask.bag``, and
the bucket pairs per destination, with exactly the local results.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from operator import itemgetter
from typing import Any, TypeVar

import numpy as np

from ..errors import ConfigError

__all__ = ["backend", "chunked", "dask_active", "imap_tasks", "lsh_pairs_dask", "map_chunks"]

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


def imap_tasks(
    func: Callable[..., R],
    tasks: Iterable[tuple[Any, ...]],
    *,
    n_jobs: int = 1,
    **kwargs: Any,
) -> Iterator[R]:
    """``func(*task, **kwargs)`` for each task, lazily, results in task order.

    Unlike :func:`map_chunks` the tasks may come from a stream (a file being
    read): only a few are taken ahead of the results (``2 * n_jobs``), so a
    feed larger than memory passes through in bounded memory.
    """
    if not _DASK.get() and n_jobs == 1:
        for task in tasks:
            yield func(*task, **kwargs)
        return
    from joblib import Parallel, delayed

    workers = -1 if _DASK.get() else n_jobs
    parallel = Parallel(n_jobs=workers, backend=None if _DASK.get() else "loky", return_as="generator", pre_dispatch="2*n_jobs")
    yield from parallel(delayed(func)(*task, **kwargs) for task in tasks)


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


def dask_active() -> bool:
    """Whether this code runs inside :func:`backend` ``("dask", ...)``."""
    return _DASK.get()


def _band_blocks(part: tuple[np.ndarray, np.ndarray], bands: int, rows: int, nout: int) -> list[tuple[int, tuple[np.ndarray, ...]]]:
    """The ``(band, key, member)`` records of one row partition, split by destination.

    A record goes to destination ``key % nout``; the key depends on the band and
    the band's values only, so every record of a bucket meets in one destination.
    """
    from ..candidates.banding import band_keys

    sig, members = part
    local = np.arange(len(members))
    key = np.concatenate([band_keys(sig, local, b, rows) for b in range(bands)])
    band = np.repeat(np.arange(bands, dtype=np.int32), len(members))
    member = np.tile(members, bands)
    dest = (key % np.uint64(nout)).astype(np.int64)
    order = np.argsort(dest, kind="stable")
    bounds = np.searchsorted(dest[order], np.arange(nout + 1))
    blocks = []
    for d in range(nout):
        idx = order[bounds[d] : bounds[d + 1]]
        if len(idx):
            blocks.append((d, (band[idx], key[idx], member[idx])))
    return blocks


def _group_pairs(group: tuple[int, list[tuple[int, tuple[np.ndarray, ...]]]], max_bucket: int) -> tuple[np.ndarray, int]:
    """Pairs of one destination's buckets, band by band, by the rules of :func:`dedup.candidates.banding.lsh_pairs`."""
    from ..candidates.banding import _bucket_pairs, _empty_pairs

    _, blocks = group
    band, key, member = (np.concatenate(cols) for cols in zip(*(b for _, b in blocks)))
    order = np.argsort(band, kind="stable")
    band, key, member = band[order], key[order], member[order]
    starts = np.flatnonzero(np.r_[True, band[1:] != band[:-1]])
    parts, capped = [_empty_pairs()], 0
    for lo, hi in zip(starts, np.r_[starts[1:], len(band)]):
        p, c = _bucket_pairs(key[lo:hi], member[lo:hi], max_bucket)
        parts.append(p)
        capped += c
    return np.concatenate(parts), capped


def lsh_pairs_dask(
    signatures: np.ndarray,
    members: np.ndarray,
    bands: int,
    rows: int,
    max_bucket: int,
    npartitions: int | None = None,
) -> tuple[np.ndarray, int]:
    """:func:`dedup.candidates.banding.lsh_pairs` through Dask collections on the active Dask client.

    The signature rows of ``members`` are cut into ``npartitions`` row blocks
    and scattered to the workers. A ``dask.bag`` computes every band's keys per
    block and splits the ``(band, key, member)`` records by ``key % npartitions``;
    a task shuffle (``Bag.groupby``) brings each destination's records from all
    blocks together, so every bucket is whole in one place; there the pairs are
    formed per band with the same all-pairs / star rule as the local banding.
    Only the pairs come back, to be ordered and deduplicated here.

    Args:
        signatures: ``(n, num_perm)`` signatures.
        members: positions of the rows to band.
        bands, rows: the band layout (from :func:`dedup.candidates.banding.band_params`).
        max_bucket: buckets with more members contribute a star.
        npartitions: row blocks (and shuffle destinations); default two per
            worker thread, with at least 1000 rows per block.

    Returns:
        ``(pairs, capped buckets)``, identical to :func:`dedup.candidates.banding.lsh_pairs`.

    Raises:
        ConfigError: no Dask client is active (call it inside :func:`backend`).
    """
    from ..candidates.banding import _empty_pairs, _normalize_pairs

    try:
        import dask.bag as db
        from dask import delayed
        from distributed import get_client
    except ImportError:
        raise ConfigError("the dask backend needs dask and distributed: pip install 'dedup[dask]'") from None
    try:
        client = get_client()
    except ValueError:
        raise ConfigError("lsh_pairs_dask needs a Dask client: call it inside dedup.exec.local.backend('dask', ...)") from None
    members = np.asarray(members, dtype=np.int64)
    if len(members) < 2 or bands == 0:
        return _empty_pairs(), 0
    if npartitions is None:
        threads = sum(client.nthreads().values()) or 1
        npartitions = min(2 * threads, -(-len(members) // 1000))
    npartitions = max(1, min(npartitions, len(members)))
    sig = signatures[members, : bands * rows]
    cuts = np.linspace(0, len(members), npartitions + 1).astype(np.int64)
    blocks = client.scatter([(sig[a:b], members[a:b]) for a, b in zip(cuts[:-1], cuts[1:])])
    records = db.from_delayed([delayed(_band_blocks)(blk, bands, rows, npartitions) for blk in blocks])
    grouped = records.groupby(itemgetter(0), shuffle="tasks")
    results = grouped.map(_group_pairs, max_bucket=max_bucket).compute(scheduler=client)
    pairs = [p for p, _ in results]
    return _normalize_pairs(np.concatenate(pairs) if pairs else _empty_pairs()), sum(c for _, c in results)
