"""How a process manages its memory: freed memory handed back between stages (glibc's ``malloc_trim``), the heap's
thresholds, NumPy's huge-page advice (:func:`huge_pages`) and how often reference cycles are collected (:func:`tune_gc`).

NumPy takes its arrays from C's ``malloc``. glibc serves an allocation above a
threshold with its own ``mmap`` (returned whole when freed), but raises that
threshold to the size of any such block freed, up to 32 MiB: after the first
large temporaries of a stage, arrays of up to 32 MiB come from the heap, and
freed heap pages stay with the process. At a million articles that is
hundreds of MiB of freed memory still counted in the run's RSS when the next
stage starts. ``malloc_trim(0)`` gives the free pages back (~10 ms on a heap of
a few hundred MiB). Fixing the threshold instead (``mallopt``) gave the same
memory but cost 10-20 % more time: every mid-sized temporary then faults in
fresh pages.

Measured on 100k-article feeds, ``--jobs 2``, the process's peak RSS: plain
433 → 379 MiB, large copy families 628 → 517 MiB, wall time unchanged within
the noise of single runs.

A fresh process pays for that threshold's climb, though: until its first
large blocks are freed, every temporary above 128 KiB is mapped and
unmapped, each time faulting in zeroed pages (NumPy asks for huge pages
from 4 MiB, 2 MiB zeroed a fault). A worker's first run of verification
spent ~1 s in the kernel that way. :func:`tune_heap` starts a process (and
the workers it starts) where glibc's own thresholds end up in a long run:
32 MiB for ``mmap``, 64 MiB of free heap top kept. ``dedup dedupe --jobs 2``
with and without, alternating: on the 100k synthetic feed (five runs each)
12.6 → 12.3 s mean, kernel time 5.4 → 4.5 s, the process's peak RSS 379 →
432 MiB; on the dev days (three each) 3.6-4.1 → 3.4-3.5 s; on a 100k feed of
large copy families (three each) no difference (29-31 s both; its kernel
time, ~14 s, is mostly the verification's own page faults on fresh large
arrays). At 1M articles both scale targets still hold with it
(``results/bench_scale.json``). (Fixing a lower threshold instead cost 10-20 %
more time: every mid-sized temporary then faults in fresh pages.)

A run of a small feed (:func:`small_run_heap`) goes further: every block
comes from the heap and nothing freed goes back, so no stage faults in pages
an earlier one had. On the dev days (20k articles, 68 MB), ``--jobs 1``, seven
alternating runs each: wall 3.02 -> 2.82 s (medians), kernel time 0.5 -> 0.3 s,
peak RSS 195 -> 203 MiB. With it the flow holds the normalized texts in
memory between its two sweeps instead of spilling them (``HOLD_CHARS`` in
:mod:`dedup.flows.prepare`): 2.80 -> 2.71 s, peak RSS 202 -> 257 MiB. (Without
the kept heap, holding them gained nothing: the later stages faulted in fresh
pages for what the spill saved.) At 100k articles (333 MB) the same gave
``--jobs 1`` 7 % for 150 MiB more peak RSS and ``--jobs 2`` nothing, so larger
feeds keep the thresholds above.

Elsewhere than glibc (macOS, musl) this does nothing.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Callable

__all__ = ["GC_YOUNG", "HEAP_ENV", "SMALL_FEED", "heap_kept", "huge_pages", "keep_heap", "release_heap", "small_run_heap",
           "tune_gc", "tune_heap"]

_MMAP_THRESHOLD = 32 << 20  # glibc's ceiling for its own climbing threshold (64-bit)
_TRIM_THRESHOLD = 64 << 20  # twice it: what glibc sets along with it
_KEPT_FREE_TOP = 256 << 20  # keep_heap: free heap top kept at most (more is trimmed, as glibc trims past its threshold)
GC_YOUNG = 10_000  # container allocations between two collections of the young generation (CPython's default: 700)
HEAP_ENV = {"MALLOC_MMAP_THRESHOLD_": str(_MMAP_THRESHOLD), "MALLOC_TRIM_THRESHOLD_": str(_TRIM_THRESHOLD)}
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4  # mallopt's parameters (malloc.h)
SMALL_FEED = 256 << 20  # bytes of plain JSONL up to which a run keeps its whole heap (small_run_heap)
_WHOLE_HEAP = 1 << 30  # small_run_heap: mmap and trim thresholds (a C int: at most 2 GiB - 1)
_run_kept = False  # inside small_run_heap


@lru_cache(maxsize=1)
def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # here: a run that never ends a stage never loads it

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 (both, or this is not glibc)
        return libc
    except (OSError, AttributeError):  # not glibc
        return None


def _malloc_trim() -> Callable[[int], Any] | None:
    libc = _libc()
    return None if libc is None else libc.malloc_trim


def tune_heap() -> bool:
    """Set this process's heap thresholds where a long run's end up, and those of the workers it starts next.

    The workers (started after this) read :data:`HEAP_ENV` from the
    environment; this process, already running, is set with ``mallopt``.
    A threshold the user set in the environment is left as it is. Whether
    this platform can.
    """
    libc = _libc()
    if libc is None:
        return False
    for name, value in HEAP_ENV.items():
        if name not in os.environ:
            os.environ[name] = value
            libc.mallopt(_M_MMAP_THRESHOLD if "MMAP" in name else _M_TRIM_THRESHOLD, int(value))
    return True


@contextmanager
def small_run_heap(feed_bytes: int | None) -> Iterator[bool]:
    """While a run of a feed of at most :data:`SMALL_FEED` bytes works, this process takes every block from its heap
    and gives nothing back (:func:`release_heap` waits); yields whether it does.

    ``feed_bytes``: the size of the input (None: not known, e.g. standard
    input or a compressed file; then nothing changes). Nor does it where the
    user set glibc's thresholds in the environment (:data:`HEAP_ENV`'s names).
    The workers a run starts are not concerned: they keep :func:`tune_heap`'s
    thresholds. When the run ends, this process's thresholds are those of
    :func:`tune_heap` again and its free heap goes back to the system (~5 ms
    for 240 MB freed). See the module's notes for what it saves.
    """
    global _run_kept
    libc = _libc()
    if (libc is None or feed_bytes is None or feed_bytes > SMALL_FEED or _run_kept
            or any(name in os.environ and os.environ[name] != value for name, value in HEAP_ENV.items())):
        yield False
        return
    libc.mallopt(_M_MMAP_THRESHOLD, _WHOLE_HEAP)
    libc.mallopt(_M_TRIM_THRESHOLD, _WHOLE_HEAP)
    _run_kept = True
    try:
        yield True
    finally:
        _run_kept = False
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
        libc.malloc_trim(0)  # what the run freed goes back (a process that goes on: a notebook, a test run)


def heap_kept() -> bool:
    """Whether this process is inside :func:`small_run_heap` (what it frees stays for its next allocations)."""
    return _run_kept


def keep_heap() -> bool:
    """From now on, this process keeps what it frees for its next allocations; whether this platform can.

    No block gets a mapping of its own (``M_MMAP_MAX`` 0) and the heap's free
    top is trimmed only past 256 MiB (``M_TRIM_THRESHOLD``); :func:`release_heap`
    still gives the free pages back when asked. For a worker that runs the
    same large temporaries again and again: each run of pairs it verifies
    allocates arrays above glibc's ``mmap`` threshold (at most 32 MiB),
    mapped fresh and unmapped when freed, so every run faulted its pages in
    again. On the 100k synthetic feed, ``--jobs 2``, a run of 20k pairs made
    33-48k minor faults and took 0.28-0.42 s (0.08-0.14 s of it in the
    kernel); with the heap kept, ~2k faults and 0.21-0.28 s, as in the
    parent (which verifies with huge pages: 1-4k faults). The process's
    memory stays near its largest run's until it ends or is trimmed. Kept
    without a bound, the workers of 10k articles of large copy families
    held 1,098 MiB with the parent (715 before); trimmed past 256 MiB,
    785 and 875 MiB in two runs, as fast (``scripts/bench_scale.py``;
    ``results/bench_scale_small.json``).
    """
    libc = _libc()
    if libc is None:
        return False
    libc.mallopt(_M_MMAP_MAX, 0)
    libc.mallopt(_M_TRIM_THRESHOLD, _KEPT_FREE_TOP)
    return True


def huge_pages(enabled: bool) -> bool | None:
    """Whether NumPy advises the kernel to back its large arrays with huge pages, from now on; the setting before (None: no such setting).

    NumPy advises it for arrays from 4 MiB on Linux. Where the kernel
    honours the advice by compacting memory at the first touch of a page
    (``transparent_hugepage/defrag`` set to ``madvise``, as on this project's
    machines), a process that maps many fresh large arrays pays for it in
    kernel time: a worker verifying the 100k synthetic feed spent 0.3-0.6 s of
    kernel time on each of its first blocks of pairs with the advice, ~0.05 s
    without. The process that ran the whole feed gains from it instead
    (its verification at ``--jobs 1``: 2.4-2.7 s with, 2.8-3.0 s without),
    so only the verification blocks a worker runs go without (``_verify_chunk`` in :mod:`dedup.flows.dedupe`).
    """
    try:
        from numpy._core.multiarray import _set_madvise_hugepage  # NumPy >= 2 (documented in its "global state" page)
    except ImportError:
        try:
            from numpy.core.multiarray import _set_madvise_hugepage  # type: ignore[no-redef]
        except ImportError:
            return None
    return bool(_set_madvise_hugepage(enabled))


def tune_gc() -> None:
    """Collect reference cycles less often: the young generation after :data:`GC_YOUNG` container allocations, not 700.

    Reading a feed allocates a dict per record, and lists per text, that die
    young and hold no cycle; at CPython's default a 100k-article run (the
    synthetic feed, ``--jobs 1``) made ~750 collections that took 0.36 s,
    0.25 s of it in full collections walking every live object; at this
    threshold ~95 collections took 0.09 s (timed with ``gc.callbacks``). What
    waits for a collection meanwhile is at most that many young objects.
    The workers set it at their first task (:func:`dedup.exec.local.imap_tasks`).
    """
    young, middle, old = gc.get_threshold()
    if 0 < young < GC_YOUNG:  # 0: collection is off (a caller's choice): left so
        gc.set_threshold(GC_YOUNG, middle, old)


def release_heap() -> bool:
    """Give the heap's free pages back to the operating system; whether this platform can (and the run gives them:
    not inside :func:`small_run_heap`)."""
    trim = _malloc_trim()
    if trim is None or _run_kept:
        return False
    trim(0)
    return True
