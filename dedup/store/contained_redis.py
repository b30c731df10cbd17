"""Which stored articles hold another's text, found by the held one, on a Redis history index (``P:in``).

``P:e`` keeps a verified edge under ``"a,b"``: it answers "the edge between
these two", and finding the articles that contain one article there reads
every edge. ``P:in`` answers that in one lookup: per representative row of a
held text, the rows a ``contained`` edge says hold it (8 bytes each, in the
order added). ``P:meta`` field ``in`` says it is whole. An index made before
it was kept has it made from its edges by its first writer of this version
(under the writer's lock, in one transaction with the mark); until then a
lookup reads every edge, as ``dedup index export`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .index import containers

__all__ = ["RedisContainers"]

Edge = tuple[int, int, int, float, float]  # (a, b, relation, containment of a in b, of b in a): containers' input


def _pack(rows: list[int]) -> bytes:
    return np.array(rows, dtype="<i8").tobytes()


class RedisContainers:
    """``P:in`` of the index under ``prefix``; ``edges`` reads every stored contained edge (a scan of ``P:e``)."""

    def __init__(self, r: Any, prefix: str, edges: Callable[[], list[Edge]]) -> None:
        self.r, self.key, self.meta, self.edges = r, f"{prefix}:in", f"{prefix}:meta", edges

    def whole(self) -> bool:
        return bool(self.r.hexists(self.meta, "in"))

    def make(self) -> None:
        """Make ``P:in`` from the stored edges, when an index made before it was kept lacks it (under the writer's lock)."""
        if self.whole():
            return
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(self.key)
        for inner, outer in containers(self.edges()).items():
            pipe.hset(self.key, inner, _pack(outer))
        pipe.hset(self.meta, "in", "1")
        pipe.execute()

    def added(self, edges: list[Edge]) -> list[tuple[str, str, bytes]]:
        """The ``(key, field, rows)`` appends that record a batch's new ``edges`` (for the index's append script)."""
        return [(self.key, str(inner), _pack(outer)) for inner, outer in containers(edges).items()]

    def of(self, reps: list[int]) -> dict[int, list[int]]:
        """:meth:`~.index.HistoryIndex.containers_of`."""
        if not self.whole():  # not made yet (no writer of this version since): the edges, read through
            held = containers(self.edges())
            return {r: held[r] for r in reps if r in held}
        return {r: sorted(set(np.frombuffer(v, dtype="<i8").tolist())) for r, v in zip(reps, self.r.hmget(self.key, reps)) if v}

    def prune(self, gone: set[int], among: list[int] | None = None) -> None:
        """Forget the rows ``gone`` (pruned), held or holding; ``among``: the only fields that can name them (the rows
        gone and those sharing an edge with one), else every field is read."""
        if among is None:
            found = ((int(f), v) for f, v in self.r.hscan_iter(self.key, count=5000))
        else:
            found = ((f, v) for lo in range(0, len(among), 20_000)
                     for f, v in zip(among[lo : lo + 20_000], self.r.hmget(self.key, among[lo : lo + 20_000])) if v)
        held = {f: np.frombuffer(v, dtype="<i8").tolist() for f, v in found}
        left = {f: [x for x in v if x not in gone] for f, v in held.items() if f not in gone}
        if emptied := [f for f in held if not left.get(f)]:
            self.r.hdel(self.key, *emptied)
        if shorter := {f: _pack(v) for f, v in left.items() if v and len(v) < len(held[f])}:
            self.r.hset(self.key, mapping=shorter)
