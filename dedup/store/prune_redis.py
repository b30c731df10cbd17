"""Taking pruned rows out of a Redis history index (``dedup index prune``), in few round trips.

A prune removes a few thousand articles at a time: each one's rows under its
band keys and anchor grams (``P:b:N``, ``P:a:N``), and its record, id, date,
sketch and group membership. Sent as one command per field, that was ~540k
commands for 4k articles (each costs ~15-30 µs in redis-py, the server's work
is far less). Here the band and anchor fields are rewritten by a server-side
script, many fields per call, and the records go by one multi-field command
per key. The result is the same, field for field, as one command each.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["RedisDrops"]

_SPREAD = 19  # as the index's: 2^19 hashes per kind of key
_PER_CALL = 20_000  # fields per script call
# ARGV: the hashes' prefix ("P:b:"), then three blobs: the fields (8 bytes each), how many gone rows each has (4 bytes,
# little-endian), those rows (8 bytes each, field after field). A field's hash is the prefix and its top 19 bits (its
# last 3 bytes), as the index spreads them. A field keeps its other rows in their order, and goes when none is left,
# as a row list filtered in the client and written back would. Blobs, not an argument per field: packing ~800k
# arguments cost more than the server's work.
_DROP_MANY = """local pre, fields, counts, rows = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local at = 1
for i = 0, #fields / 8 - 1 do
  local f = string.sub(fields, 8 * i + 1, 8 * i + 8)
  local b6, b7, b8 = string.byte(f, 6, 8)
  local h = pre .. (b8 * 2048 + b7 * 8 + math.floor(b6 / 32))
  local c1, c2, c3, c4 = string.byte(counts, 4 * i + 1, 4 * i + 4)
  local stop = at + 8 * (c1 + c2 * 256 + c3 * 65536 + c4 * 16777216)
  local gone, left = {}, {}
  for k = at, stop - 1, 8 do gone[string.sub(rows, k, k + 7)] = true end
  at = stop
  local v = redis.call('HGET', h, f)
  if v then
    for k = 1, #v, 8 do
      local x = string.sub(v, k, k + 7)
      if not gone[x] then left[#left + 1] = x end
    end
  end
  if #left > 0 then redis.call('HSET', h, f, table.concat(left)) else redis.call('HDEL', h, f) end
end return 1"""


def grouped(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct ``keys`` (sorted), how many distinct ``rows`` are paired with each, and those rows, key after key.

    >>> k, n, r = grouped(np.array([7, 3, 7, 7], dtype=np.uint64), np.array([2, 5, 1, 2]))
    >>> k.tolist(), n.tolist(), r.tolist()
    ([3, 7], [1, 2], [5, 1, 2])
    """
    keys = np.asarray(keys, dtype=np.uint64)
    rows = np.asarray(rows, dtype=np.int64)
    order = np.lexsort((rows, keys))
    keys, rows = keys[order], rows[order]
    new = np.ones(len(keys), dtype=bool)
    new[1:] = (keys[1:] != keys[:-1]) | (rows[1:] != rows[:-1])
    keys, rows = keys[new], rows[new]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(first)
    return keys[starts], np.diff(np.r_[starts, len(keys)]), rows


class RedisDrops:
    """The pruning writes of the index under ``prefix`` on the client ``r``, queued on a pipeline."""

    def __init__(self, r: Any, prefix: str) -> None:
        self.prefix = prefix
        self.script = r.register_script(_DROP_MANY)

    def _k(self, *parts: object) -> str:
        return ":".join([self.prefix, *map(str, parts)])

    def rows_from_keys(self, pipe: Any, kind: str, keys: np.ndarray, rows: np.ndarray) -> None:
        """Take each row ``rows[i]`` out of the field of key ``keys[i]`` of ``kind`` (``"b"`` bands, ``"a"`` anchors);
        a field left without rows goes."""
        uniq, counts, gone = grouped(keys, rows)
        ends = np.cumsum(counts)
        for lo in range(0, len(uniq), _PER_CALL):
            hi = min(lo + _PER_CALL, len(uniq))
            first, last = (int(ends[lo - 1]) if lo else 0), int(ends[hi - 1])
            self.script(args=[self._k(kind, ""), uniq[lo:hi].astype("<u8").tobytes(), counts[lo:hi].astype("<u4").tobytes(),
                              gone[first:last].astype("<i8").tobytes()], client=pipe)

    def records(self, pipe: Any, recs: list[Any]) -> None:
        """Remove the stored ``recs`` (:class:`~.index.ArticleRecord`): record, id, date, sketch, group membership."""
        if not recs:
            return
        groups: dict[str, list[int]] = {}
        for rec in recs:
            if rec.group is not None:
                groups.setdefault(rec.group, []).append(rec.row)
        for name, members in groups.items():
            pipe.srem(self._k("g", name), *members)
        rows = [rec.row for rec in recs]
        pipe.hdel(self._k("art"), *rows)
        pipe.hdel(self._k("ids"), *[rec.id for rec in recs])
        pipe.zrem(self._k("t"), *rows)
        pipe.hdel(self._k("sk"), *rows)

    def reassign_digests(self, r: Any, lost: dict[int, set[str | None]], near: list[int],
                         digests_of: Callable[[np.ndarray], dict[int, int]]) -> None:
        """Point each digest of ``lost`` (a text whose row under ``P:dig`` was removed) at the first row left that holds
        that text, or drop it when none is found; called once the removed records went.

        ``P:dig`` names a text's first row only (a later run's exact copy stores a sketch of its own and leaves the
        field as it was): dropping the field when that row was pruned lost the text's copies left, which a SQLite
        index still finds by digest (its first sketch left). They are looked for where an exact copy goes: among the
        members left of the groups the removed rows of that text were in (``lost[d]``) and the rows ``near`` (the
        other ends of the removed rows' edges). ``digests_of``: row -> digest of the rows with a sketch."""
        candidates: set[int] = set(near)
        for name in sorted({g for groups in lost.values() for g in groups if g is not None}):
            candidates.update(int(m) for m in r.smembers(self._k("g", name)))
        found = digests_of(np.array(sorted(candidates), dtype=np.int64)) if candidates else {}
        first: dict[int, int] = {}
        for row, d in sorted(found.items()):
            if d in lost and d not in first:
                first[d] = row
        pipe = r.pipeline(transaction=True)
        if first:
            pipe.hset(self._k("dig"), mapping={struct.pack("<Q", d): row for d, row in first.items()})
        if gone := [struct.pack("<Q", d) for d in sorted(lost) if d not in first]:
            pipe.hdel(self._k("dig"), *gone)
        pipe.execute()
