"""Stage timing for the flows; after each stage, its freed memory goes back to the system."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..exec.heap import release_heap

if TYPE_CHECKING:
    from ..exec import Executor
    from ..results import Progress

__all__ = ["StageTimer"]

log = logging.getLogger(__name__)

_TRIM_AFTER = 0.5  # seconds: stages at least this long hand their freed memory back when they end


@dataclass
class StageTimer:
    """Wall-clock seconds per stage, in the order the stages ran.

    When a stage of :data:`_TRIM_AFTER` seconds or more ends, the memory it
    freed is handed back to the system (:func:`~dedup.exec.heap.release_heap`,
    outside the timed span): the next stage starts without the last one's
    garbage in its peak. A shorter stage made little garbage, and a small run
    does not pay for loading ``ctypes``.

    With ``progress``, each stage is announced as it starts (``progress(stage,
    0, 0)``: a stage whose size is not known), so a progress bar shows the
    stage under way, the stages that count no articles (candidates,
    verification) too, and not the last one that did.

    With ``executor``, each stage also records in :attr:`workers` the most
    worker processes it gave tasks to (:meth:`~dedup.exec.Executor.take_workers`;
    0: it ran in this process alone), so that a run can say what ran beside
    the ``n_jobs`` it was asked for; an executor opened inside a stage is
    added with :meth:`watch`.
    """

    seconds: dict[str, float] = field(default_factory=dict)
    progress: Progress | None = None
    executor: Executor | None = None
    workers: dict[str, int] = field(default_factory=dict)
    _watched: list[list[Executor]] = field(default_factory=list, repr=False)  # per stage under way, innermost last

    def watch(self, executor: Executor) -> None:
        """Count the worker processes of ``executor`` too, for the stage under way (one opened inside it)."""
        if not self._watched:
            raise RuntimeError("StageTimer.watch outside a stage")
        executor.take_workers()  # what it did before this stage is not this stage's
        self._watched[-1].append(executor)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        if self.progress is not None:
            self.progress(stage, 0, 0)
        watched = [] if self.executor is None else [self.executor]
        for executor in watched:
            executor.take_workers()  # tasks sent between stages are none of this stage's
        self._watched.append(watched)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = round(time.perf_counter() - start, 4)
            self._watched.pop()
            self.workers[stage] = max([self.workers.get(stage, 0), *(e.take_workers() for e in watched)])
            log.info("stage %s: %.3f s", stage, self.seconds[stage])
            if self.seconds[stage] >= _TRIM_AFTER:
                release_heap()
