"""The Dask executor: chunks through joblib's Dask backend, banding over Dask collections.

An existing cluster (``address``) or a ``LocalCluster`` started for the run.
Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in its workers, which more
than doubles their CPU time on this workload; a local cluster is started
without it. Arguments travel as plain lists and arrays: joblib's Dask backend
scatters the members of containers into futures, and resolves them only in
lists, tuples and dicts (a ``frozenset`` arrived in the workers as a set of
unresolved futures). The chunks go through :func:`joblib_backend`, joblib's
backend made to tell joblib of a task the cluster gave up on (joblib's own
left the run waiting for it forever).

:func:`lsh_pairs_dask` is :func:`dedup.candidates.banding.lsh_pairs` over
Dask collections: band keys per row block, a shuffle of the records by key
over a ``dask.bag``, the bucket pairs per destination, with exactly the local
results.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any, TypeVar

import numpy as np

from ..candidates.banding import band_keys
from ..candidates.buckets import bucket_pairs, empty_pairs, normalize_pairs
from ..errors import ConfigError, DedupError
from .local import Beside, beside, imap_tasks, map_chunks

__all__ = ["ClusterLost", "DaskExecutor", "dask_executor", "joblib_backend", "lsh_pairs_dask"]

logger = logging.getLogger(__name__)

R = TypeVar("R")
T = TypeVar("T")


class ClusterLost(DedupError, RuntimeError):
    """The Dask cluster failed under a run: a worker died holding data of the run, the scheduler went away, a task
    killed every worker that ran it, or no worker was there to run the tasks."""


class DaskExecutor:
    """Runs chunks and the LSH banding on the Dask cluster of ``client`` (``address``: None for a local cluster)."""

    name = "dask"

    def __init__(self, client: Any, shares_disk: bool, address: str | None = None) -> None:
        self.client = client
        self.shares_disk = shares_disk
        self.in_process = False
        self.address = address
        self._tasks = 0  # the most tasks of one call sent to the cluster since take_workers last asked

    def take_workers(self) -> int:
        """The most cluster workers this executor gave tasks to since it was last asked (0: every task ran in this
        process: a single chunk is not sent); the count starts again from 0.

        A call of ``k`` tasks counts ``min(k, workers)``, the workers the
        cluster has when asked (one question to the scheduler per count, not
        per task).
        """
        tasks, self._tasks = self._tasks, 0
        if not tasks:
            return 0
        try:
            workers = len(self.client.nthreads())
        except Exception:  # noqa: BLE001 - a count for the summary, never a reason to fail the run
            workers = tasks
        return max(1, min(tasks, workers))

    def _sent(self, k: int) -> None:
        """``k`` tasks of one call sent to the cluster."""
        self._tasks = max(self._tasks, k)

    @contextmanager
    def _cluster_failures(self, work: Callable[..., Any]) -> Iterator[None]:
        """A failure of the cluster itself as :class:`ClusterLost`, one line, not the client's traceback.

        A worker killed (out of memory, ``kill -9``) with data scattered to it cancels the tasks that read it
        (``FutureCancelledError``: "already forgotten"); a scheduler gone fails the next call (``CommClosedError``,
        ``OSError`` "Timed out trying to connect", ``RuntimeError`` "ConnectionPool is closed" from the client closed
        after it); a task of ``work`` that killed every worker that ran it (``KilledWorker``: the scheduler gave up
        after ``distributed.scheduler.allowed-failures`` deaths more than one, 3 by default) says so, with what to
        check. A task's own exception, on a cluster still connected, passes through as it is.
        """
        from concurrent.futures import CancelledError

        from distributed.comm.core import CommClosedError
        from distributed.scheduler import (
            KilledWorker,
            NoValidWorkerError,
            NoWorkerError,
        )

        where = f"at {self.address}" if self.address else "started for this run"
        try:
            yield
        except DedupError:
            raise
        except KilledWorker as exc:
            times = getattr(exc, "allowed_failures", None)  # distributed's own count, where it has one
            times = f"{times + 1} times" if isinstance(times, int) else "each time it ran"
            memory = "dask worker --memory-limit" if self.address else "fewer --jobs give each worker more of this machine's"
            raise ClusterLost(f"a task of the run ({getattr(work, '__name__', work)}) killed its Dask worker {times} (the "
                              f"cluster {where}): not enough memory per worker ({memory})? an input that crashes a library "
                              "in the worker? the workers' logs say which; nothing of the run was kept") from None
        except (NoWorkerError, NoValidWorkerError) as exc:  # every worker gone, none back within the bounded wait
            waited = exc.timeout if isinstance(exc.timeout, (int, float)) else _NO_WORKERS_TIMEOUT
            raise ClusterLost(f"the Dask cluster {where} lost its workers and none came back within "
                              f"{waited:g} s (distributed.scheduler.no-workers-timeout): start some (dask worker "
                              "SCHEDULER-ADDRESS) and run it again; nothing of the run was kept") from None
        except TimeoutError:  # joblib's or scatter's, when the cluster has no worker (after a wait), or a task's own
            if self.client.status == "running" and not self._no_workers():
                raise
            raise ClusterLost(f"the Dask cluster {where} has no workers (none joined while the run waited): start "
                              "some (dask worker SCHEDULER-ADDRESS) and run it again; nothing of the run was kept") from None
        except (CancelledError, CommClosedError, OSError, RuntimeError, ValueError) as exc:
            lost = isinstance(exc, (CancelledError, CommClosedError)) or self.client.status != "running"
            if not lost:
                raise
            raise ClusterLost(f"the Dask cluster {where} failed under the run ({type(exc).__name__}: {exc}): a worker "
                              "died holding data of the run (out of memory? killed?), or the scheduler went away; nothing "
                              "of the run was kept: run it again (the workers' and the scheduler's logs say what happened)") from None

    def _no_workers(self) -> bool:
        """Whether the cluster has no worker thread now (or cannot say: its scheduler gone)."""
        try:
            return not any(self.client.nthreads().values())
        except Exception:  # noqa: BLE001 - whatever the client raises, it cannot reach a worker through its scheduler
            return True

    def map_chunks(self, func: Callable[..., R], items: Sequence[Any], *, chunk_size: int = 2000,
                   progress: Callable[[int], None] | None = None, **kwargs: Any) -> list[R]:
        from joblib import parallel_config

        with self._cluster_failures(func), parallel_config(backend=joblib_backend(self.client)):
            return map_chunks(func, items, n_jobs=-1, chunk_size=chunk_size, progress=progress, backend=None, on_sent=self._sent, **kwargs)

    def imap(self, func: Callable[..., R], tasks: Iterable[tuple[Any, ...]], *, ahead: int | None = None,
             workers: int | None = None, **kwargs: Any) -> Iterator[R]:
        from joblib import parallel_config
        # ``workers`` bounds local processes only: the cluster's workers are what the cluster has

        with self._cluster_failures(func), parallel_config(backend=joblib_backend(self.client)):
            yield from imap_tasks(func, tasks, n_jobs=-1, backend=None, ahead=ahead, on_sent=self._sent, **kwargs)

    def threads(self, func: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``map(func, items)`` here, in this thread: the cluster's cores are not this machine's."""
        return map(func, items)

    def beside(self, calls: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]]) -> Beside:
        """The calls here, when their results are asked for: a cluster's workers may not see this machine's files."""
        return beside(calls, n_jobs=1)

    def beside_in_workers(self) -> bool:
        return False

    def lsh_pairs(self, signatures, members, bands: int, rows: int, max_bucket: int):  # noqa: ANN001, ANN201
        with self._cluster_failures(lsh_pairs_dask):
            if len(members) >= 2 and bands:
                self._sent(-(-len(members) // 1000))  # lsh_pairs_dask's row blocks (at most two per worker thread)
            return lsh_pairs_dask(signatures, members, bands, rows, max_bucket, client=self.client)


def joblib_backend(client: Any) -> Any:
    """joblib's Dask backend on ``client``, which tells joblib of a task the cluster gave up on.

    joblib's backend hands joblib a batch's result, or the exception the batch
    raised in its worker, through a completion callback; a batch the cluster
    itself failed (``KilledWorker``: every worker that ran it died) only fails
    the future it returned, and joblib (1.4 to 1.6), which waits for the
    callback, waited forever: the run hung, its workers idle. This backend
    also calls the callback with that failure, which joblib then raises.
    Where joblib's backend is not found (another layout), joblib's own is used.
    """
    backend = _backend_class()
    return "dask" if backend is None else backend(client=client, wait_for_workers_timeout=_WAIT_FOR_WORKERS)


_WAIT_FOR_WORKERS = 10.0  # seconds a call waits for a worker when the cluster has none (joblib's default)


@functools.cache
def _backend_class() -> Any:
    """joblib's ``DaskDistributedBackend`` whose batches' failures reach joblib's callback (:func:`joblib_backend`)."""
    try:
        # joblib's private module: the class behind backend="dask"
        from joblib._dask import DaskDistributedBackend
    except ImportError:  # pragma: no cover - another joblib layout
        return None

    class Backend(DaskDistributedBackend):  # type: ignore[misc, valid-type]
        def effective_n_jobs(self, n_jobs: int) -> int:
            # a call with one job joblib runs here, in the calling process, task after task: a cluster of one worker
            # thread, or of two while one is being replaced (after a worker died), saw none of them, and a task that
            # kills its worker killed the client instead
            return max(2, super().effective_n_jobs(n_jobs))

        def submit(self, func: Any, callback: Any = None) -> Any:  # what joblib 1.6 calls
            return _failure_told(self, super().submit(func, callback=callback), callback)

        def apply_async(self, func: Any, callback: Any = None) -> Any:  # what joblib 1.4 and 1.5 call
            return _failure_told(self, super().apply_async(func, callback=callback), callback)

    return Backend


def _failure_told(backend: Any, future: Any, callback: Any) -> Any:
    """``future``, whose failure is also handed to ``callback`` (its result the backend hands on itself).

    Only where joblib takes a batch's outcome from the callback (``supports_retrieve_callback``, joblib 1.4 on);
    before, it asked the future itself, which raised.
    """
    if callback is not None and getattr(backend, "supports_retrieve_callback", False):
        def failed(done: Any) -> None:
            if not done.cancelled() and done.exception() is not None:
                callback(done.exception())  # joblib registers it as the batch's error, and raises it

        future.add_done_callback(failed)
    return future


_HANDSHAKE_SECONDS = 30.0


def _connect(client_class: Any, address: str) -> Any:
    """A client of the scheduler at ``address``, connected in a thread of its own: a port where something else listens
    (the dashboard's, a Redis server) accepts the connection and never answers the handshake, and the client waited
    for it with no end (its own timeout covers the connection, not the handshake).

    Raises:
        ConfigError: nothing answered as a scheduler within :data:`_HANDSHAKE_SECONDS`.
        OSError, ValueError: the client's own (unreachable, or not an address).
    """
    import threading

    box: dict[str, Any] = {}

    def connect() -> None:
        try:
            box["client"] = client_class(address, timeout=5)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=connect, name="dedup-dask-connect", daemon=True)
    thread.start()
    thread.join(_HANDSHAKE_SECONDS)
    if thread.is_alive():
        raise ConfigError(f"no Dask scheduler answered at {address!r} within {_HANDSHAKE_SECONDS:g} s: something listens "
                          "there, but not a scheduler (its dashboard, another service?); check --dask-address")
    if "error" in box:
        raise box["error"]
    return box["client"]


@contextmanager
def dask_executor(address: str | None = None, n_workers: int = 2) -> Iterator[DaskExecutor]:
    """A :class:`DaskExecutor` on the cluster at ``address``, or on a new local one of ``n_workers``.

    Raises:
        ConfigError: Dask is not installed, or the scheduler cannot be reached.
    """
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("the dask backend needs dask and distributed: pip install 'dedup[dask]'") from None
    cluster = None
    try:
        if address is None:
            environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
            environ.pop("MALLOC_TRIM_THRESHOLD_", None)
            with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
                # the dashboard on a free port (None meant 8787: a second cluster on this machine at once, such as a
                # serve --stories-every pass beside the service's own, warned of the port taken, an error under -W error)
                cluster = LocalCluster(n_workers=max(1, n_workers), threads_per_worker=1, processes=True, dashboard_address=":0")
            client = Client(cluster)
        else:
            client = _connect(Client, address)
    except ConfigError:
        raise
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise ConfigError(f"cannot reach the Dask scheduler {address!r} ({exc}); check --dask-address") from None
    except ValueError as exc:  # distributed's reading of the address: no port, a scheme it has no transport for
        if cluster is not None:
            cluster.close()
        raise ConfigError(f"--dask-address {address!r} is not a scheduler address ({exc}); the form is "
                          "tcp://host:port (the scheduler's port, 8786 by default, not its dashboard's)") from None
    bounded = _bound_no_workers_wait(client)
    try:
        yield DaskExecutor(client, shares_disk=address is None, address=address)
    finally:
        if bounded:
            _unbound_no_workers_wait(client)
        client.close()
        if cluster is not None:
            cluster.close()


# seconds the run's tasks may wait while the cluster has no worker at all (they all died or left mid-run) before the
# scheduler fails them: time for a nanny or an orchestrator to bring workers back, not a run waiting with no end
_NO_WORKERS_TIMEOUT = 300.0


def _bound_no_workers_wait(client: Any) -> bool:
    """Give the scheduler a ``no-workers-timeout`` of :data:`_NO_WORKERS_TIMEOUT` when it has none; whether it was set.

    Dask leaves ``distributed.scheduler.no-workers-timeout`` unset: a cluster
    that lost all its workers mid-run kept the run's tasks queued, and the run
    waited for them forever. Set on the scheduler itself (it reads the setting
    in its own process, a remote one its own config), for this run only
    (:func:`_unbound_no_workers_wait` gives it back); a value someone set is
    left as it is. A scheduler that refuses the call (``distributed.scheduler.pickle``
    off) keeps its own: the run goes on as before, and says so in the log.
    """
    seconds = _NO_WORKERS_TIMEOUT

    def bound(dask_scheduler: Any) -> bool:  # a local function: sent by value, the scheduler need not import dedup
        if getattr(dask_scheduler, "no_workers_timeout", 0) is not None:
            return False
        dask_scheduler.no_workers_timeout = seconds
        return True

    try:
        return bool(client.run_on_scheduler(bound))
    except Exception as exc:  # noqa: BLE001 - the bound is a safeguard, never a reason to fail the run
        logger.info("could not bound the Dask scheduler's wait for workers (%s): a cluster that loses all its workers "
                    "leaves the run waiting", exc)
        return False


def _unbound_no_workers_wait(client: Any) -> None:
    """The scheduler's ``no-workers-timeout`` unset again, as it was before the run (the cluster is not the run's)."""

    def unbound(dask_scheduler: Any) -> None:
        dask_scheduler.no_workers_timeout = None

    try:
        client.run_on_scheduler(unbound)
    except Exception:  # noqa: BLE001, S110 - the scheduler gone (the run's own error says so) or the client closed
        pass


def _band_blocks(part: tuple[np.ndarray, np.ndarray], bands: int, rows: int, nout: int) -> list[tuple[int, tuple[np.ndarray, ...]]]:
    """The ``(band, key, member)`` records of one row partition, split by destination.

    A record goes to destination ``key % nout``; the key depends on the band and
    the band's values only, so every record of a bucket meets in one destination.
    """
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
    _, blocks = group
    band, key, member = (np.concatenate(cols) for cols in zip(*(b for _, b in blocks)))
    order = np.argsort(band, kind="stable")
    band, key, member = band[order], key[order], member[order]
    starts = np.flatnonzero(np.r_[True, band[1:] != band[:-1]])
    parts, capped = [empty_pairs()], 0
    for lo, hi in zip(starts, np.r_[starts[1:], len(band)]):
        p, c = bucket_pairs(key[lo:hi], member[lo:hi], max_bucket)
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
    client: Any = None,
) -> tuple[np.ndarray, int]:
    """:func:`dedup.candidates.banding.lsh_pairs` through Dask collections on ``client`` (default: the active one).

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
        client: the ``distributed.Client`` to run on.

    Returns:
        ``(pairs, capped buckets)``, identical to :func:`dedup.candidates.banding.lsh_pairs`.

    Raises:
        ConfigError: no client given and none active.
    """
    try:
        import dask.bag as db
        from dask import delayed
        from distributed import get_client
    except ImportError:
        raise ConfigError("the dask backend needs dask and distributed: pip install 'dedup[dask]'") from None
    if client is None:
        try:
            client = get_client()
        except ValueError:
            raise ConfigError("lsh_pairs_dask needs a Dask client: pass client= or run it inside dask_executor()") from None
    members = np.asarray(members, dtype=np.int64)
    if len(members) < 2 or bands == 0:
        return empty_pairs(), 0
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
    return normalize_pairs(np.concatenate(pairs) if pairs else empty_pairs()), sum(c for _, c in results)
