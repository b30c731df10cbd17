"""The run's temporary folder and the spill of normalized lines into it.

A run keeps about twice the feed's size here while it works; the folder
(``dedup-<pid>-…``) is removed when the run ends, however it ends, and the
next run removes the folders of runs whose process was killed outright.
"""

from __future__ import annotations

import errno
import os
import pickle
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..errors import DedupError, OutputError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["alive", "check_temp_dir", "park_arrays", "remove_stale_work", "spill", "temporary_space", "unpark_arrays", "unspill"]


def alive(pid: int) -> bool:
    """Whether a process with this id exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_work(parent: str) -> list[str]:
    """Remove the work folders (``dedup-<pid>-*``) of runs whose process is gone (killed with SIGKILL, a crash)."""
    import re
    import shutil

    removed = []
    try:
        names = os.listdir(parent)
    except OSError:
        return removed
    for name in names:
        m = re.fullmatch(r"dedup-(\d+)-\w+", name)
        if m and int(m.group(1)) != os.getpid() and not alive(int(m.group(1))):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
            removed.append(name)
    return removed


def check_temp_dir(parent: str | None = None) -> None:
    """Make sure the temporary folder a run was asked to use is one it can write to, before the run starts.

    ``parent`` (``Runtime.temp_dir``), else the first of ``TMPDIR``, ``TEMP``,
    ``TMP`` that is set (the order Python's ``tempfile`` reads them in); none
    set: the system's default, not checked. Python falls back to ``/tmp``
    (or the working folder) without a word when the folder named does not
    exist or cannot be written; but a run keeps about twice the feed's size
    there, and the place was named for that (a disk with room; a small
    ``/tmp`` filled up is what ``TMPDIR`` is set to avoid), so a place that
    cannot be used is an error instead.

    Raises:
        OutputError: the folder does not exist, is not a folder, or cannot be written (names the variable).
    """
    if parent is not None:
        name, where = "temp_dir", parent
    else:
        name, where = next(((v, os.environ[v]) for v in ("TMPDIR", "TEMP", "TMP") if os.environ.get(v)), ("", ""))
        if not name:
            return
    fix = f"set {name} to a folder with room for the run's temporary files (about twice the feed's size)"
    if not os.path.exists(where):
        raise OutputError(f"{name}={where}: no such folder; create it, or {fix}")
    if not os.path.isdir(where):
        raise OutputError(f"{name}={where}: not a folder; {fix}")
    if not os.access(where, os.W_OK | os.X_OK):
        raise OutputError(f"{name}={where}: cannot write there (permission denied); {fix}")


@contextmanager
def temporary_space(parent: str | None = None) -> Iterator[str]:
    """A temporary directory for the run; a full disk there becomes a clear :class:`OutputError`."""
    remove_stale_work(parent or tempfile.gettempdir())
    try:
        tmp = tempfile.mkdtemp(prefix=f"dedup-{os.getpid()}-", dir=parent)
        try:
            yield tmp
        finally:
            _remove_work(tmp)
    except DedupError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise OutputError(
            f"{parent or tempfile.gettempdir()}: no space left for temporary files ({exc.strerror}); a run keeps about "
            "twice the feed's size there while it works: set TMPDIR to a disk with room"
        ) from None


def _remove_work(tmp: str, tries: int = 40) -> None:
    """Remove the work folder, waiting a little for workers still writing into it (an interrupted run).

    ``TemporaryDirectory`` raised "Directory not empty" when a worker wrote a
    file while the folder was being removed (Ctrl-C with ``--jobs 2``): the
    error replaced the interrupt and a traceback was printed. What is still
    there after two seconds is left to the next run (:func:`remove_stale_work`).
    """
    import shutil
    import time

    for _ in range(tries):
        shutil.rmtree(tmp, ignore_errors=True)
        if not os.path.lexists(tmp):
            return
        time.sleep(0.05)


def spill(path: str, lines: list[list[str]]) -> None:
    """Write a chunk's normalized lines to ``path``."""
    with open(path, "wb") as out:
        pickle.dump(lines, out, protocol=pickle.HIGHEST_PROTOCOL)


def unspill(path: str) -> list[list[str]]:
    """Read back (and remove) what :func:`spill` wrote."""
    with open(path, "rb") as handle:
        lines = pickle.load(handle)
    os.remove(path)
    return lines


def park_arrays(folder: str, name: str, arrays: dict[str, "np.ndarray | None"]) -> str:
    """Write ``arrays`` (None: not kept) to ``folder/name.npz``, uncompressed, for :func:`unpark_arrays`; its path."""
    import numpy as np

    path = os.path.join(folder, f"{name}.npz")
    kept = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, __names__=np.array(list(arrays), dtype=str), **kept)
    return path


def unpark_arrays(path: str) -> dict[str, "np.ndarray | None"]:
    """Read back (and remove) what :func:`park_arrays` wrote: the same arrays, bit for bit, None where None was given."""
    import numpy as np

    with np.load(path, allow_pickle=False) as z:
        out = {str(k): (z[str(k)] if str(k) in z.files else None) for k in z["__names__"]}
    os.remove(path)
    return out
