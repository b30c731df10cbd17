"""Stage timing for the flows; after each stage, its freed memory goes back to the system."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..exec.heap import release_heap

__all__ = ["StageTimer"]

log = logging.getLogger(__name__)


@dataclass
class StageTimer:
    """Wall-clock seconds per stage, in the order the stages ran.

    When a stage ends, the memory it freed is handed back to the system
    (:func:`~dedup.exec.heap.release_heap`, outside the timed span): the next
    stage starts without the last one's garbage in its peak.
    """

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = round(time.perf_counter() - start, 4)
            log.info("stage %s: %.3f s", stage, self.seconds[stage])
            release_heap()
