"""What a prune of a Redis history index must find of the removed rows, kept by row as they are added.

A prune removes a day's rows. Three things about them were found by reading
the whole index: which removed keepers articles left still name (every stored
record decoded), which edges name a removed row (every field of ``P:e``), and
which containment entries do (every field of ``P:in``). Two hashes, written
in each add's transaction, answer them by row:

* ``P:cp``: keeper row → the rows of the stored articles that name it as their
  keeper (not itself), 8 bytes each in the order added. A record's keeper never
  changes once stored (a stored skip decided anew names none; a keeper that comes
  to keep a group stays its own), so a field lists exactly the articles naming it;
* ``P:er``: row → the other end of each of its edges, 8 bytes each: ``b`` for the
  edge ``"row,b"``, ``~a`` (``-a - 1``) for ``"a,row"`` (an edge's two rows are in
  either order: a new article's row after a stored one's, or before).

``P:meta`` field ``rev`` says both cover every article and edge: it is set when
the index is made. An index made by an earlier version lacks it, and its prune
reads the whole index as before (:meth:`~.index_redis.RedisIndex.prune`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .index import ArticleRecord

__all__ = ["RedisReverse"]

_PER_CALL = 20_000  # fields per HMGET


def _rows(v: bytes | None) -> list[int]:
    return np.frombuffer(v, dtype="<i8").tolist() if v else []


def _pack(rows: list[int]) -> bytes:
    return np.array(rows, dtype="<i8").tobytes()


class RedisReverse:
    """``P:cp`` and ``P:er`` of the index under ``prefix`` on the client ``r``."""

    def __init__(self, r: Any, prefix: str) -> None:
        self.r, self.meta, self.cp, self.er, self.pruned = r, f"{prefix}:meta", f"{prefix}:cp", f"{prefix}:er", f"{prefix}:pruned"

    def mark_new(self) -> None:
        """Say the index (just made, empty) keeps both for every article and edge."""
        self.r.hset(self.meta, "rev", "1")

    def whole(self) -> bool:
        return bool(self.r.hexists(self.meta, "rev"))

    def added(self, articles: list[ArticleRecord], edges: list[list[int]]) -> list[tuple[str, str, bytes]]:
        """The ``(key, field, rows)`` appends that record a batch's new ``articles`` and ``edges`` (``[a, b]`` of each
        edge field ``"a,b"``), for the index's append script."""
        named: dict[int, list[int]] = {}
        for a in articles:
            if a.keeper >= 0 and a.keeper != a.row:
                named.setdefault(a.keeper, []).append(a.row)
        ends: dict[int, list[int]] = {}
        for a, b in edges:
            ends.setdefault(a, []).append(b)
            ends.setdefault(b, []).append(~a)
        return ([(self.cp, str(k), _pack(v)) for k, v in named.items()]
                + [(self.er, str(k), _pack(v)) for k, v in ends.items()])

    def _get(self, key: str, fields: list[int]) -> list[bytes | None]:
        out: list[bytes | None] = []
        for lo in range(0, len(fields), _PER_CALL):
            out += self.r.hmget(key, fields[lo : lo + _PER_CALL])
        return out

    def keepers(self, pipe: Any, gone: set[int], recs: list[ArticleRecord]) -> None:
        """Queue on ``pipe`` what :meth:`~.index_redis.RedisIndex.prune` keeps of the removed keepers (``P:pruned``: row →
        id of those articles left name) and drops (those no article names once ``gone`` go), ``recs`` the removed
        records; and take ``gone`` out of ``P:cp``. Only the fields of the removed rows and of their keepers can change."""
        touched = sorted(gone | {r.keeper for r in recs if r.keeper >= 0 and r.keeper != r.row})
        ids = {r.row: r.id for r in recs}
        keep, unnamed, emptied, shorter = {}, [], [], {}
        for f, v in zip(touched, self._get(self.cp, touched)):
            before = _rows(v)
            left = [x for x in before if x not in gone]
            if left and f in gone and f in ids:
                keep[f] = ids[f]
            elif not left and f not in gone:
                unnamed.append(f)  # its last copies went now (a keeper still stored is not in P:pruned: no-op)
            if v and not left:
                emptied.append(f)
            elif len(left) < len(before):
                shorter[f] = _pack(left)
        if keep:
            pipe.hset(self.pruned, mapping=keep)
        if unnamed:
            pipe.hdel(self.pruned, *unnamed)
        if emptied:
            pipe.hdel(self.cp, *emptied)
        if shorter:
            pipe.hset(self.cp, mapping=shorter)

    def edges(self, pipe: Any, gone: set[int]) -> tuple[list[str], list[int]]:
        """The ``P:e`` fields of the edges of the rows ``gone``, and the rows left at their other ends; queues on ``pipe``
        taking ``gone`` out of ``P:er``."""
        rows = sorted(gone)
        fields: set[str] = set()
        partners: set[int] = set()
        had = []
        for g, v in zip(rows, self._get(self.er, rows)):
            if v:
                had.append(g)
            for e in _rows(v):
                p = e if e >= 0 else ~e
                fields.add(f"{g},{p}" if e >= 0 else f"{p},{g}")
                if p not in gone:
                    partners.add(p)
        left_rows = sorted(partners)
        emptied, shorter = list(had), {}
        for p, v in zip(left_rows, self._get(self.er, left_rows)):
            before = _rows(v)
            left = [e for e in before if (e if e >= 0 else ~e) not in gone]
            if not left and v:
                emptied.append(p)
            elif len(left) < len(before):
                shorter[p] = _pack(left)
        if emptied:
            pipe.hdel(self.er, *emptied)
        if shorter:
            pipe.hset(self.er, mapping=shorter)
        return sorted(fields), left_rows
