"""The only place that imports joblib.

Work is cut into coarse chunks (thousands of articles) so that process start-up
and pickling stay small next to the work; workers receive plain data and
return compact NumPy arrays or lists. ``n_jobs == 1`` (or a single chunk) runs
in this process without joblib at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["chunked", "map_chunks"]

T = TypeVar("T")
R = TypeVar("R")


def chunked(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """Cut ``items`` into consecutive slices of at most ``size``.

    >>> [list(c) for c in chunked([1, 2, 3, 4, 5], 2)]
    [[1, 2], [3, 4], [5]]
    """
    return [items[i : i + size] for i in range(0, len(items), size)]


def map_chunks(
    func: Callable[..., R],
    items: Sequence[Any],
    *,
    n_jobs: int = 1,
    chunk_size: int = 2000,
    progress: Callable[[int], None] | None = None,
    **kwargs: Any,
) -> list[R]:
    """Apply ``func(chunk, **kwargs)`` to consecutive chunks of ``items``.

    Args:
        func: a picklable module-level function taking a chunk first.
        items: the sequence to cut.
        n_jobs: worker processes (``-1`` = all cores); 1 runs serially.
        chunk_size: items per chunk.
        progress: called with the number of items finished after each chunk.
        **kwargs: passed to every call (keep them small: they are pickled per task).

    Returns:
        The results per chunk, in input order.
    """
    chunks = chunked(items, chunk_size)
    results: list[R] = []
    if n_jobs == 1 or len(chunks) <= 1:
        for chunk in chunks:
            results.append(func(chunk, **kwargs))
            if progress is not None:
                progress(len(chunk))
        return results
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")
    for chunk, result in zip(chunks, parallel(delayed(func)(c, **kwargs) for c in chunks)):
        results.append(result)
        if progress is not None:
            progress(len(chunk))
    return results
