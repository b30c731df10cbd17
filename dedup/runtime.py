"""How to run (processes, chunk size, executor, temporary folder), never what to compute.

A :class:`Runtime` changes how fast a run goes and where it works, never its
results: the same feed and :class:`~dedup.config.DedupConfig` give
byte-identical outputs with any runtime (tested for serial, two joblib
workers and a two-worker Dask cluster).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Literal

from .config import opt
from .errors import ConfigError

__all__ = ["Runtime", "usable_cores"]


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity where the system says (a container's limit of 2 of 64),
    else every core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Runtime:
    """Execution settings of a run.

    Attributes:
        n_jobs: worker processes (``-1`` = all cores; 1 = this process only).
        chunk_size: articles per task handed to a worker.
        backend: ``"local"`` (this machine's processes) or ``"dask"``.
        dask_address: scheduler of an existing Dask cluster (implies ``"dask"``);
            None with ``"dask"`` starts a local cluster of ``n_jobs`` workers.
        temp_dir: where the run's temporary files go (None: ``$TMPDIR``).
    """

    n_jobs: int = opt(1, "--jobs -j", "Worker processes (-1 = all cores).")
    chunk_size: int = 2000
    backend: Literal["local", "dask"] = opt(
        "local", "--backend", "local: this machine's processes (--jobs); dask: a Dask cluster (a local one of --jobs workers, or --dask-address).")
    dask_address: str | None = opt(None, "--dask-address", "Scheduler of an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (implies --backend dask).")
    temp_dir: str | None = None

    def __post_init__(self) -> None:
        if self.n_jobs == 0 or self.n_jobs < -1:
            raise ConfigError(f"n_jobs must be a positive number of processes or -1 (all cores), got {self.n_jobs}")
        if self.chunk_size < 1:
            raise ConfigError(f"chunk_size must be at least 1, got {self.chunk_size}")
        if self.backend not in ("local", "dask"):
            raise ConfigError(f"backend must be 'local' or 'dask', got {self.backend!r}")
        if self.dask_address is not None and self.backend != "dask":
            object.__setattr__(self, "backend", "dask")

    @property
    def threads(self) -> int:
        """Threads this process may give a compiled kernel that releases the GIL: ``n_jobs`` (-1: every core), at most the cores here."""
        return usable_cores() if self.n_jobs == -1 else max(1, min(self.n_jobs, usable_cores()))

    @property
    def local_jobs(self) -> int:
        """``n_jobs`` for this machine's processes: at most its cores (the work is CPU-bound; ``--jobs 1000`` on two
        cores would start a thousand interpreters), ``-1`` as it is."""
        return self.n_jobs if self.n_jobs <= 1 else min(self.n_jobs, usable_cores())

    @property
    def workers_share_disk(self) -> bool:
        """Whether workers see this machine's temporary files (not so on a remote Dask cluster)."""
        return self.backend == "local" or self.dask_address is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
