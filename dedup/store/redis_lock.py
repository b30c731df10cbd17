"""The locks of a Redis index (``P:lock`` for writers, ``P:stories-lock`` for a stories run), held for a whole run.

A lock is redis-py's ``Lock`` with a short time to live, renewed by a thread
while the run holds it, so a killed run lets it lapse. Its value names the
holder (pid and host, :func:`~.index.this_process`): a run that waits is told
whom it waits for, and a service tells its own holds from another process's.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from .index import LOCK_POLL_SECONDS, HistoryError, WaitCalledOff, Waiting, this_process

__all__ = ["held"]

_LOCK_TTL = 10.0


@contextmanager
def held(r: Any, key: str, location: str, busy: str, on_wait: Waiting | None, still_there: Callable[[], None]) -> Iterator[None]:
    """The lock key ``key`` of the client ``r`` while the block runs, renewed while it runs (a second holder waits:
    ``on_wait`` is told ``busy``, and may call the wait off: :data:`~.index.Waiting`); ``still_there`` raises a
    :class:`~.index.HistoryError` when the index is gone from the server (checked once the lock is taken)."""
    import redis

    lock = r.lock(key, timeout=_LOCK_TTL, thread_local=False)
    token = f"{this_process()} {uuid.uuid4().hex}".encode()  # the holder, named to a run that waits for it
    if not lock.acquire(blocking=False, token=token):
        taken = r.get(key)
        holder = taken.decode(errors="replace").rsplit(" ", 1)[0] if taken else "another process"
        halt = on_wait(f"{location}: {busy} ({holder}); waiting for it to finish") if on_wait is not None else None
        if halt is None:
            lock.acquire(blocking=True, token=token)
        else:  # in slices of LOCK_POLL_SECONDS until it is free or the wait is called off
            while not lock.acquire(blocking=True, blocking_timeout=LOCK_POLL_SECONDS, token=token):
                if halt.is_set():
                    raise WaitCalledOff(f"{location}: stopped waiting for {holder} ({busy})")
    try:
        still_there()
    except HistoryError:
        with suppress(redis.exceptions.LockError):
            lock.release()
        raise
    done = threading.Event()

    def renew() -> None:  # a run may take longer than the lock's time to live; a killed one lets it lapse
        while not done.wait(_LOCK_TTL / 3):
            try:
                lock.reacquire()
            except redis.RedisError:
                return

    keeper = threading.Thread(target=renew, daemon=True)
    keeper.start()
    try:
        yield
    finally:
        done.set()
        keeper.join()
        try:
            lock.release()
        except redis.exceptions.LockError:
            pass
