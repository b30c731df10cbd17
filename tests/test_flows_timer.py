"""dedup.flows.timer: seconds per stage in run order, kept when a stage fails, logged (on a fake clock: no timing)."""

from __future__ import annotations

import logging

import pytest

from dedup.flows import timer as timer_module
from dedup.flows.timer import StageTimer


class _Clock:
    """perf_counter stand-in: each reading advances by the next step."""

    def __init__(self, *steps: float) -> None:
        self.now, self.steps = 100.0, list(steps)

    def __call__(self) -> float:
        self.now += self.steps.pop(0) if self.steps else 0.0
        return self.now


@pytest.fixture
def clock(monkeypatch):
    def install(*steps: float) -> None:
        monkeypatch.setattr(timer_module.time, "perf_counter", _Clock(*steps))

    return install


def test_stages_in_the_order_they_ran(clock) -> None:
    clock(0.0, 1.5, 0.0, 0.25, 0.0, 2.0)  # start, end of each stage
    timer = StageTimer()
    for stage in ("read", "sketch", "verify"):
        with timer(stage):
            pass
    assert list(timer.seconds) == ["read", "sketch", "verify"]
    assert timer.seconds == {"read": 1.5, "sketch": 0.25, "verify": 2.0}


def test_seconds_are_rounded_to_four_places(clock) -> None:
    clock(0.0, 0.123456)
    timer = StageTimer()
    with timer("x"):
        pass
    assert timer.seconds == {"x": 0.1235}


def test_a_failing_stage_is_still_timed_and_the_error_passes(clock) -> None:
    clock(0.0, 3.0)
    timer = StageTimer()
    with pytest.raises(ValueError, match="bad input"), timer("read"):
        raise ValueError("bad input")
    assert timer.seconds == {"read": 3.0}


def test_a_stage_run_again_keeps_its_place_and_the_last_time(clock) -> None:
    clock(0.0, 1.0, 0.0, 2.0, 0.0, 4.0)
    timer = StageTimer()
    for stage in ("a", "b", "a"):
        with timer(stage):
            pass
    assert list(timer.seconds.items()) == [("a", 4.0), ("b", 2.0)]


def test_each_timer_has_its_own_record(clock) -> None:
    clock(0.0, 1.0)
    first, second = StageTimer(), StageTimer()
    with first("x"):
        pass
    assert second.seconds == {}


def test_each_stage_is_logged(clock, monkeypatch) -> None:
    # a handler of our own on the module's logger: the CLI may have routed the "dedup" logger elsewhere
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    log = logging.getLogger("dedup.flows.timer")
    monkeypatch.setattr(log, "handlers", [handler])
    monkeypatch.setattr(log, "propagate", False)
    level = log.level
    log.setLevel(logging.INFO)
    try:
        clock(0.0, 0.5)
        with StageTimer()("cluster"):
            pass
    finally:
        log.setLevel(level)
    assert [(r.levelno, r.getMessage()) for r in records] == [(logging.INFO, "stage cluster: 0.500 s")]


def test_each_stage_is_announced_to_the_progress_as_it_starts() -> None:
    """A progress bar showed `sketch N/N` all through candidates and verification: only stages that count articles
    told it anything."""
    heard: list[tuple[str, int, int]] = []
    timer = StageTimer(progress=lambda stage, k, of: heard.append((stage, k, of)))
    with timer("candidates"):
        assert heard == [("candidates", 0, 0)]
    with timer("verify"):
        pass
    assert heard == [("candidates", 0, 0), ("verify", 0, 0)] and list(timer.seconds) == ["candidates", "verify"]


class _Executor:
    """An executor's take_workers alone: ``sent(k)`` as if ``k`` workers had tasks."""

    def __init__(self) -> None:
        self.used = 0

    def sent(self, k: int) -> None:
        self.used = max(self.used, k)

    def take_workers(self) -> int:
        used, self.used = self.used, 0
        return used


def test_each_stage_records_the_worker_processes_it_gave_tasks_to() -> None:
    """summary.json gave the n_jobs asked for, not the processes used (a feed within one chunk runs in this process
    whatever --jobs says). Each stage records the most workers of its executor (0: none); what was sent between two
    stages is neither's; an executor opened inside a stage counts for that stage once watched."""
    executor, inner = _Executor(), _Executor()
    timer = StageTimer(executor=executor)
    with timer("normalize"):
        executor.sent(2)
    executor.sent(2)  # between stages (the IDF fitted beside the candidates): no stage's
    with timer("candidates"):
        pass
    inner.sent(1)  # before it was watched
    with timer("events"):
        timer.watch(inner)
        inner.sent(1)
    with timer("storylines"):
        inner.sent(1)  # no longer watched
    assert timer.workers == {"normalize": 2, "candidates": 0, "events": 1, "storylines": 0}
    assert list(timer.workers) == list(timer.seconds)
    with pytest.raises(RuntimeError, match="outside a stage"):
        timer.watch(inner)


def test_a_timer_without_executor_records_no_workers() -> None:
    timer = StageTimer()
    with timer("x"):
        pass
    assert timer.workers == {"x": 0}
