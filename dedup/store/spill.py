"""The run's temporary folder and the spill of normalized lines into it.

A run keeps about twice the feed's size here while it works; the folder is
removed when the run ends, however it ends.
"""

from __future__ import annotations

import errno
import os
import pickle
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import DedupError, OutputError

__all__ = ["spill", "temporary_space", "unspill"]


@contextmanager
def temporary_space(parent: str | None = None) -> Iterator[str]:
    """A temporary directory for the run; a full disk there becomes a clear :class:`OutputError`."""
    try:
        with tempfile.TemporaryDirectory(prefix="dedup-", dir=parent) as tmp:
            yield tmp
    except DedupError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise OutputError(
            f"{parent or tempfile.gettempdir()}: no space left for temporary files ({exc.strerror}); a run keeps about "
            "twice the feed's size there while it works: set TMPDIR to a disk with room"
        ) from None


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
