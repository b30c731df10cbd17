"""``dedup serve --stories-every``: the articles the service adds are placed into events, a pass every few seconds.

A pass takes the articles added since the last one and runs the flow of
``dedup stories --index`` over them (:func:`dedup.flows.stories.stories`:
their dedupe finds them already indexed, and the event tracker resumes from
the state the index holds), on a thread and a connection to the index of its
own. Batches go on being decided meanwhile: a pass holds the index's writer
lock only while its dedupe looks its articles up (a fraction of a second; the
engine's batches hold it too), places them under the tracker's lock
(:meth:`~dedup.store.index.HistoryIndex.tracker`), which no batch takes, and
then saves the state in one transaction that a batch's commit waits for. With
local workers a pass runs in this process (:func:`pass_runtime`). The
state is loaded and saved once a pass, not once a batch. ``GET
/v1/articles/{id}`` and ``GET /v1/events/{event}`` then name an article's
event. A pass that fails is tried again with the next one (another ``stories``
run saved first, the index was down), at most :data:`MAX_FAILED_PASSES` times
in a row; a pass that cannot succeed (the index tracks stories with other
settings: :meth:`Placer.check` says so at start-up, and a ``dedup stories
--index`` run with other settings may save first later) is given up at once.
Articles given up, and those not yet placed when the service stops, are
placed by the next ``dedup stories --index`` over them (the index knows which
it tracks); the log says how many. A pass still waiting for another
process's lock when the service stops is called off (it has changed nothing):
the service does not wait for that other run to end.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import Protocol

from ..config import DedupConfig, StoriesConfig
from ..runtime import Runtime
from ..store.index import HistoryIndex, this_process
from ..types import Article

logger = logging.getLogger(__name__)

__all__ = ["MAX_FAILED_PASSES", "Placer", "pass_runtime"]

MAX_FAILED_PASSES = 5  # failed passes in a row after which the articles waiting are given up (see the module)


def pass_runtime(runtime: Runtime) -> Runtime:
    """How a pass runs: in this process with local workers (the engine's batches use the process's pool of workers,
    which the tracking, starting workers of its own, would shut down under a batch running meanwhile); on Dask as the
    service is told (a pass's cluster is its own)."""
    return replace(runtime, n_jobs=1) if runtime.backend == "local" else runtime




class Settings(Protocol):
    """What a placer needs of the engine (:class:`~.engine.Engine`): where the index is, and its settings."""

    location: str
    config: DedupConfig
    stories: StoriesConfig
    runtime: Runtime


class Placer:
    """Places what ``engine`` adds into events every ``every`` seconds, on a thread of its own (see the module)."""

    def __init__(self, engine: Settings, every: float) -> None:
        self.engine, self.every = engine, every
        self.placed = 0  # articles placed into events by this service
        self.given_up = 0  # articles given up (see the module)
        self._failed = 0  # passes failed in a row
        self._pending: list[Article] = []
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dedup-serve-stories", daemon=True)
        self._thread.start()

    def added(self, articles: list[Article]) -> None:
        """Articles just added to the index: placed by the next pass."""
        with self._lock:
            self._pending.extend(articles)

    def check(self) -> None:
        """Raise :class:`~dedup.errors.ConfigError` or :class:`~dedup.stories.carry.StateError` when the service
        cannot place articles into this index's events (every pass would fail): the stories and dedupe
        normalizations differ, or the index tracks stories with other settings."""
        from ..flows.stories import check_normalize
        from ..store.history import open_index

        check_normalize(self.engine.stories, self.engine.config)
        index = open_index(self.engine.opened_at, self.engine.config)
        try:
            self._check_state(index)
        finally:
            index.close()

    def _check_state(self, index: HistoryIndex) -> None:
        from ..stories.carry import check_state

        check_state(index.stories.load()[1], self.engine.stories)

    def _waiting(self, message: str) -> threading.Event | None:
        """A pass waits for a lock. Held by this service (its batches hold the writer's lock briefly): waited for, not
        worth a line. Held by another process's run (a stories run, a long dedupe, maybe for minutes): the log says so
        (for the stories lock, which keeps articles from their events), and the wait is called off when the service
        stops (:meth:`stop`)."""
        if f"({this_process()})" in message:
            logger.debug(message)
            return None
        (logger.warning if "placing articles into this index's events" in message else logger.debug)(message)
        return self._halt

    def stop(self) -> None:
        """No pass after this one; wait for a pass under way (one still waiting for another run's lock is called off);
        say how many articles are left unplaced."""
        self._halt.set()
        self._thread.join()
        with self._lock:
            left = len(self._pending)
        if left:
            logger.warning("%d articles added were not placed into events before the service stopped; "
                           "`dedup stories --index` over them places them", left)

    def place(self, index: HistoryIndex, articles: list[Article]) -> dict[str, int]:
        """Place ``articles`` (already in ``index``) into its events; the tracking counts of the run."""
        from ..flows.stories import stories

        e = self.engine
        self._check_state(index)  # said as such: stories() would say it as a HistoryError, like a passing failure
        result = stories(articles, e.stories, e.config, runtime=pass_runtime(e.runtime), index=index, on_wait=self._waiting)
        self.placed += result.tracking.get("placed", 0)
        logger.info("placed %d articles into events (%s)", len(articles), result.tracking)
        return result.tracking

    def _pass(self, batch: list[Article]) -> None:
        from ..store.history import open_index

        # a connection of the pass's own, closed after it: a SQLite connection keeps up to 256 MiB of pages, and a
        # pass reads the tracker's state (tens of MB) through it
        index = open_index(self.engine.opened_at, self.engine.config)
        try:
            self.place(index, batch)
        finally:
            index.close()

    def _loop(self) -> None:
        from ..errors import ConfigError
        from ..stories.carry import StateError
        from ..store.index import WaitCalledOff

        while not self._halt.wait(self.every):
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                continue
            try:
                self._pass(batch)
            except WaitCalledOff:  # the service stops: these are left unplaced, and counted as such
                with self._lock:
                    self._pending[:0] = batch
                return
            except (StateError, ConfigError) as exc:  # no pass can place these: a stories run with those settings can
                self._give_up(batch, str(exc))
                continue
            except Exception as exc:  # another stories run saved first, the index is down, ...: the next pass tries again
                self._failed += 1
                if self._failed == 1:
                    logger.exception("could not place %d articles into events; trying again in %s s", len(batch), self.every)
                else:
                    logger.warning("could not place %d articles into events (%d passes failed in a row): %s: %s",
                                   len(batch), self._failed, type(exc).__name__, exc)
                if self._failed >= MAX_FAILED_PASSES:
                    self._give_up(batch, f"{self._failed} passes failed in a row")
                    continue
                with self._lock:
                    self._pending[:0] = batch
            else:
                self._failed = 0

    def _give_up(self, batch: list[Article], why: str) -> None:
        self._failed = 0
        self.given_up += len(batch)
        logger.error("gave up placing %d articles into events (%s); `dedup stories --index` over them places them",
                     len(batch), why)
