"""The history index on a Redis server (``--index redis://host:port/N``), for several writers or machines.

Keys, all under one prefix (``dedup`` by default, ``?prefix=NAME`` in the URL):

* ``P:meta`` hash: the sketch parameters, when it was created;
* ``P:next``: the next row number; ``P:ids`` hash: id → row;
* ``P:art`` hash: row → the article's record (JSON); ``P:t`` sorted set: rows by date;
* ``P:sk`` hash: row → its sketch (digest, size, signature, features, anchors; little-endian);
* ``P:dig`` hash: digest → first row with that text;
* ``P:b:N``, ``P:a:N``, ``P:l:N`` hashes: band keys, anchor grams and short-line keys,
  spread over 2^19 small hashes (``N``: high bits of the key) so each stays
  in Redis's compact encoding; a field is the 8-byte key, its value the rows
  (8 bytes each) or the count;
* ``P:e`` hash: ``"a,b"`` → a verified edge (JSON); ``P:in`` hash: the contained edges by the held row (:mod:`.contained_redis`);
* ``P:g:NAME`` set: the rows of the members of the group ``NAME``;
* ``P:pruned`` hash: row → id of a pruned keeper that stored articles still name;
* ``P:cp`` hash: keeper row → the rows naming it; ``P:er`` hash: row → the other ends of its edges: what a prune
  looks up of the rows it removes (:mod:`.reverse_redis`; an index made before they were kept is read whole);
* ``P:lock``: the writer lock (redis-py's ``Lock``, renewed while a run holds it: :mod:`.redis_lock`);
  ``P:stories-lock``: the same for a ``dedup stories`` run placing articles into events.

Each :meth:`RedisIndex.add` is one ``MULTI``/``EXEC`` transaction. Writers take
the lock for their whole run, so a band's rows can be read, extended and written
back without another writer in between.
"""

from __future__ import annotations

import json
import logging
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np

from ..errors import redact
from .index import (
    ArticleRecord, HistoryError, IndexBatch, Waiting, StoredGroup, StoredSketches, check_params, anchors_as_made, container_names, containers, features_blob, features_from_blobs, iso_time,
)
from .redis_address import redis_address
from .redis_lock import held
from .contained_redis import RedisContainers
from .prune_redis import RedisDrops
from .reverse_redis import RedisReverse
from .story_redis import RedisStories

__all__ = ["RedisIndex"]

_SPREAD = 19  # 2^19 hashes per kind of key
_HEAD = "<QqIIII"  # a sketch: digest, size, then the counts of shingles, tokens, anchors, k-grams
_PER_CALL = 20_000  # keys per script call
# Bulk work runs server-side, one call per many keys (a command per key costs ~30 µs in the client).
_HGET_MANY = "local out = {} for i = 1, #ARGV, 2 do out[#out + 1] = redis.call('HGET', ARGV[i], ARGV[i + 1]) end return out"
_APPEND_MANY = """for i = 1, #ARGV, 3 do
  local v = redis.call('HGET', ARGV[i], ARGV[i + 1])
  redis.call('HSET', ARGV[i], ARGV[i + 1], (v or '') .. ARGV[i + 2])
end return 1"""
_INCR_MANY = "for i = 1, #ARGV, 3 do redis.call('HINCRBY', ARGV[i], ARGV[i + 1], ARGV[i + 2]) end return 1"


def _bucket(key: int) -> int:
    return (key >> (64 - _SPREAD)) & ((1 << _SPREAD) - 1)


def _u64(values: np.ndarray) -> list[int]:
    return np.asarray(values, dtype=np.uint64).tolist()


def _field(key: int) -> bytes:
    return struct.pack("<Q", key)


def _record(raw: bytes | str) -> ArticleRecord:
    d = json.loads(raw)
    d["time"] = float("nan") if d["time"] is None else d["time"]
    d["scores"] = tuple(float("nan") if x is None else x for x in [*d["scores"], None][:4])  # 3 before probability was kept
    return ArticleRecord(**d)


def _json(a: ArticleRecord) -> str:
    d = dict(a.__dict__)
    d["time"] = None if a.time != a.time else a.time
    d["scores"] = [None if x != x else x for x in a.scores]
    return json.dumps(d, ensure_ascii=False)


class RedisIndex:
    """A :class:`~dedup.store.index.HistoryIndex` on a Redis server."""

    def __init__(self, location: str, params: dict[str, Any] | None, create: bool = True) -> None:
        try:
            import redis
        except ImportError:
            raise HistoryError(f"{location}: a Redis index needs redis-py: pip install 'dedup[redis]'") from None
        self.location = redact(location)  # what outputs and pages show: never the password
        url, self.prefix, db = redis_address(location)
        try:
            # a transaction of whole groups can keep the server busy for seconds: no read timeout
            self.r = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=None, **db)
            stored = self.r.hget(self._k("meta"), "params")
            if stored is None:
                if not create or params is None:
                    raise HistoryError(f"{location}: no dedup index under the prefix {self.prefix!r}")
                if self.r.hsetnx(self._k("meta"), "params", json.dumps(params, sort_keys=True)):
                    RedisReverse(self.r, self.prefix).mark_new()  # empty: its reverse indexes are whole from here on
                    # a new process cannot tell a first run from a history the server lost (a flush, a restart
                    # without persistence): it says what it does, so that a lost history does not pass unseen
                    logging.getLogger("dedup").warning(
                        "%s: no index under the prefix %r: a new, empty one is made (if an index was there, the server "
                        "lost it: a flush, or a restart without persistence; keep a history with appendonly yes)",
                        self.location, self.prefix)
                self.r.hsetnx(self._k("meta"), "created", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
                stored = self.r.hget(self._k("meta"), "params")
        except (redis.AuthenticationError, redis.AuthenticationWrongNumberOfArgsError) as exc:
            raise HistoryError(f"{location}: the Redis server refused the credentials ({exc}); give its password in the "
                               "URL, before the host (redis://:***@host:port/N, *** the password)") from None
        except redis.ResponseError as exc:  # it answered: e.g. "DB index is out of range"
            if "authenticat" in str(exc).lower() or "NOAUTH" in str(exc):
                raise HistoryError(f"{location}: the Redis server asks for a password ({exc}); give it in the URL, "
                                   "before the host (redis://:***@host:port/N, *** the password)") from None
            raise HistoryError(f"{location}: the Redis server refused ({exc})") from None
        except redis.RedisError as exc:
            raise HistoryError(f"{location}: cannot reach the Redis server ({exc})") from None
        except ValueError as exc:  # redis-py's reading of the URL: a port out of range, a host it cannot parse
            raise HistoryError(f"{location}: not a Redis URL dedup can use ({exc}); the form is "
                               "redis://host:port/N") from None
        first = self._first_sketches(64)
        self.params = anchors_as_made(json.loads(stored), lambda: len(first),
                                      lambda: sum(struct.unpack_from(_HEAD, raw, 0)[4] for raw in first))
        if params is not None:
            check_params(location, self.params, params)
        self._redis = redis
        self._hget_script = self.r.register_script(_HGET_MANY)
        self._append_script = self.r.register_script(_APPEND_MANY)
        self._incr_script = self.r.register_script(_INCR_MANY)
        self.stories = RedisStories(self.r, self.prefix, self.location, self._still_there)
        self._held = RedisContainers(self.r, self.prefix, self._contained_edges)
        self._reverse = RedisReverse(self.r, self.prefix)

    def _k(self, *parts: object) -> str:
        return ":".join([self.prefix, *map(str, parts)])

    @contextmanager
    def writer(self, on_wait: Waiting | None = None) -> Iterator[None]:
        with held(self.r, self._k("lock"), self.location, "another dedup run is adding to this index", on_wait, self._still_there):
            self._held.make()  # an index made before P:in was kept: made once
            yield

    def tracker(self, on_wait: Waiting | None = None) -> Any:
        return held(self.r, self._k("stories-lock"), self.location, "another dedup run is placing articles into this index's events",
                    on_wait, self._still_there)

    def article_count(self) -> int:
        return int(self.r.hlen(self._k("art")))

    def next_row(self) -> int:
        top = self.r.get(self._k("next"))
        if top is None:
            self._still_there()  # no row yet, or no index any more
        return int(top or 0)

    def _still_there(self) -> None:
        if not self.r.exists(self._k("meta")):  # flushed, or a server restarted without persistence: not a new history
            raise HistoryError(f"{self.location}: the index is gone from the Redis server (its meta key under the prefix {self.prefix!r} "
                               "is missing: the database was flushed, or the server restarted without persistence); nothing was "
                               "added. Start a new index deliberately: run `dedup dedupe FEED --index LOCATION` (a running process never makes a new one)")

    def known_ids(self, ids: list[str]) -> dict[str, ArticleRecord]:
        if not ids:
            return {}
        rows = self.r.hmget(self._k("ids"), ids)
        found = [(i, int(r)) for i, r in zip(ids, rows) if r is not None]
        if len(found) < len(ids):
            self._still_there()  # an id not found in a flushed index is not "unknown"
        recs = self.articles(np.array([r for _, r in found], dtype=np.int64))
        return {rec.id: rec for rec in recs}

    def _hget_many(self, kind: str, keys: list[int]) -> list[bytes | None]:
        out: list[bytes | None] = []
        for lo in range(0, len(keys), _PER_CALL):
            args: list[object] = []
            for key in keys[lo : lo + _PER_CALL]:
                args += [self._k(kind, _bucket(key)), _field(key)]
            got = self._hget_script(args=args)
            out += [None if v is None or v is False else v for v in got]
        return out

    def _many(self, pipe: Any, script: Any, triples: list[tuple[str, bytes, object]]) -> None:
        for lo in range(0, len(triples), _PER_CALL):
            script(args=[x for t in triples[lo : lo + _PER_CALL] for x in t], client=pipe)

    def line_counts(self, keys: np.ndarray) -> np.ndarray:
        vals = self._hget_many("l", _u64(keys))
        return np.array([int(v) if v is not None else 0 for v in vals], dtype=np.int64)

    def rows_by_digest(self, digests: np.ndarray) -> dict[int, int]:
        keys = _u64(digests)
        if not keys:
            return {}
        vals = self.r.hmget(self._k("dig"), [_field(k) for k in keys])
        return {k: int(v) for k, v in zip(keys, vals) if v is not None}

    def digests(self, rows: np.ndarray) -> dict[int, int]:
        rows = np.asarray(rows, dtype=np.int64).tolist()
        vals = self.r.hmget(self._k("sk"), rows) if rows else []
        return {r: struct.unpack_from(_HEAD, v, 0)[0] for r, v in zip(rows, vals) if v is not None}

    def rows_by_keys(self, kind: str, keys: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
        vals = self._hget_many({"band": "b", "anchor": "a"}[kind], _u64(keys))
        pos, rows = [], []
        for q, v in enumerate(vals):
            if v is None:
                continue
            got = np.frombuffer(v, dtype="<i8")
            if len(got) > limit:
                got = got[:1]  # a capped bucket answers its first row
            pos.append(np.full(len(got), q, dtype=np.int64))
            rows.append(got.astype(np.int64))
        if not pos:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(pos), np.concatenate(rows)

    def articles(self, rows: np.ndarray) -> list[ArticleRecord]:
        rows = np.asarray(rows, dtype=np.int64).tolist()
        if not rows:
            return []
        vals = self.r.hmget(self._k("art"), rows)
        return [_record(v) for v in vals if v is not None]

    def sketches(self, rows: np.ndarray) -> StoredSketches:
        rows = np.asarray(rows, dtype=np.int64)
        num_perm = int(self.params["num_perm"])
        vals = self.r.hmget(self._k("sk"), rows.tolist()) if len(rows) else []
        if any(v is None for v in vals):
            raise HistoryError(f"{self.location}: {sum(v is None for v in vals)} sketches missing from the index")
        digest, sizes, sigs, blobs = [], [], [], []
        for v in vals:
            d, size, nsh, ntok, nanc, nkg = struct.unpack_from(_HEAD, v, 0)
            o = struct.calcsize(_HEAD)
            sig = v[o : o + 4 * num_perm]
            o += 4 * num_perm
            sh = v[o : o + 4 * nsh]
            o += 4 * nsh
            tok = v[o : o + 4 * ntok]
            cnt = v[o + 4 * ntok : o + 8 * ntok]
            o += 8 * ntok + 8 * nanc
            kg = v[o : o + 4 * nkg]
            digest.append(d)
            sizes.append(size)
            sigs.append(sig)
            blobs.append((sh, tok, cnt, kg))
        return StoredSketches(
            rows=rows,
            digest=np.array(digest, dtype=np.uint64),
            sizes=np.array(sizes, dtype=np.int64),
            signatures=np.frombuffer(b"".join(sigs), dtype="<u4").reshape(-1, num_perm).astype(np.uint32),
            features=features_from_blobs(blobs),
        )

    def _first_sketches(self, n: int) -> list[bytes]:
        """Up to ``n`` stored sketches, whichever the server gives first (their anchor counts tell an index made
        without anchors)."""
        out: list[bytes] = []
        for _, raw in self.r.hscan_iter(self._k("sk"), count=n):
            out.append(raw)
            if len(out) >= n:
                break
        return out

    def _sketch_signature(self, raw: bytes) -> np.ndarray:
        o = struct.calcsize(_HEAD)
        return np.frombuffer(raw[o : o + 4 * int(self.params["num_perm"])], dtype="<u4").astype(np.uint32)

    def _sketch_anchors(self, raw: bytes) -> np.ndarray:
        num_perm = int(self.params["num_perm"])
        _, _, nsh, ntok, nanc, _ = struct.unpack_from(_HEAD, raw, 0)
        o = struct.calcsize(_HEAD) + 4 * num_perm + 4 * nsh + 8 * ntok
        return np.frombuffer(raw[o : o + 8 * nanc], dtype="<u8")

    def add(self, batch: IndexBatch, line_keys: np.ndarray) -> None:
        rows = batch.sketch_rows.tolist()
        band_add: dict[int, list[int]] = {}
        for row, keys in zip(rows, batch.band_keys):
            for key in _u64(keys):
                band_add.setdefault(key, []).append(row)
        anchor_add: dict[int, list[int]] = {}
        for row, grams in zip(rows, batch.anchors):
            for key in _u64(np.unique(grams)):
                anchor_add.setdefault(key, []).append(row)
        uniq, counts = np.unique(np.asarray(line_keys, dtype=np.uint64), return_counts=True)
        pipe = self.r.pipeline(transaction=True)
        for row in batch.replaced:  # a stored skip of an id decided anew: its record goes, the new one takes the id
            pipe.hdel(self._k("art"), row)
            pipe.zrem(self._k("t"), row)
        for a in batch.regrouped:  # a stored keeper that now keeps a group
            pipe.hset(self._k("art"), a.row, _json(a))
            pipe.sadd(self._k("g", a.group), a.row)
        if batch.articles:
            pipe.hset(self._k("art"), mapping={a.row: _json(a) for a in batch.articles})
            pipe.hset(self._k("ids"), mapping={a.id: a.row for a in batch.articles})
            dated = {a.row: a.time for a in batch.articles if a.time == a.time}
            if dated:
                pipe.zadd(self._k("t"), dated)
            groups: dict[str, list[int]] = {}
            for a in (a for a in batch.articles if a.group is not None):
                groups.setdefault(a.group, []).append(a.row)
            for name, members in groups.items():
                pipe.sadd(self._k("g", name), *members)
        sketches = {}
        for k, row in enumerate(rows):
            sh, tok, cnt, kg = features_blob(batch.features, k)
            anchors = np.unique(np.asarray(batch.anchors[k], dtype=np.uint64)).astype("<u8").tobytes()
            head = struct.pack(_HEAD, int(batch.digest[k]), int(batch.sizes[k]), len(sh) // 4, len(tok) // 4, len(anchors) // 8,
                               len(kg) // 4)
            sketches[row] = head + batch.signatures[k].astype("<u4").tobytes() + sh + tok + cnt + anchors + kg
            pipe.hsetnx(self._k("dig"), _field(int(batch.digest[k])), row)
        if sketches:
            pipe.hset(self._k("sk"), mapping=sketches)
        for kind, added in (("b", band_add), ("a", anchor_add)):
            self._many(pipe, self._append_script,
                       [(self._k(kind, _bucket(key)), _field(key), np.array(new_rows, dtype="<i8").tobytes()) for key, new_rows in added.items()])
        self._many(pipe, self._incr_script, [(self._k("l", _bucket(key)), _field(key), c) for key, c in zip(_u64(uniq), counts.tolist())])
        edges = {f"{a},{b}": json.dumps([r, *[None if x != x else x for x in s]])
                 for (a, b), r, s in zip(batch.edges.tolist(), batch.edge_relation.tolist(), batch.edge_scores.tolist())}
        if edges:
            pipe.hset(self._k("e"), mapping=edges)
        self._many(pipe, self._append_script, self._held.added(
            [(a, b, r, s[1], s[2]) for (a, b), r, s in zip(batch.edges.tolist(), batch.edge_relation.tolist(), batch.edge_scores.tolist())]))
        self._many(pipe, self._append_script, self._reverse.added(batch.articles, batch.edges.tolist()))
        top = max([a.row for a in batch.articles], default=-1) + 1
        pipe.eval("local v = tonumber(redis.call('GET', KEYS[1]) or '0'); if tonumber(ARGV[1]) > v then redis.call('SET', KEYS[1], ARGV[1]) end",
                  1, self._k("next"), top)
        pipe.execute()

    def stats(self) -> dict[str, Any]:
        from ..results import STATUS

        n = int(self.r.hlen(self._k("art")))
        by_status: dict[int, int] = {}
        for _, raw in self.r.hscan_iter(self._k("art"), count=5000):
            s = json.loads(raw)["status"]
            by_status[s] = by_status.get(s, 0) + 1
        oldest = self.r.zrange(self._k("t"), 0, 0, withscores=True)
        newest = self.r.zrange(self._k("t"), -1, -1, withscores=True)
        mem = self.r.info("memory").get("used_memory")
        return {
            "location": self.location,
            "kind": "redis",
            "articles": n,
            "by_status": {STATUS[k]: v for k, v in sorted(by_status.items())},  # kept, duplicate, skipped: as SQLite's
            "distinct_texts": int(self.r.hlen(self._k("sk"))),
            "undated": n - int(self.r.zcard(self._k("t"))),
            "oldest": iso_time(oldest[0][1]) if oldest else None,
            "newest": iso_time(newest[0][1]) if newest else None,
            "server_used_memory_bytes": mem,
            "created": (self.r.hget(self._k("meta"), "created") or b"").decode() or None,
            "stories": self.stories.stats(),
            "params": self.params,
        }

    def prune(self, before: float) -> int:
        self.stories.prune(before)  # the tracked stories of those dates go too
        from ..candidates import band_keys

        rows = [int(r) for r in self.r.zrangebyscore(self._k("t"), "-inf", f"({before}")]
        gone_rows = set(rows)
        fast = bool(rows) and self._reverse.whole()  # what the removed rows touch, looked up by row (reverse_redis)
        removed = None  # the removed records, read once (or a chunk at a time below)
        if fast:
            removed = {rec.row: rec for rec in self.articles(np.array(rows))}
            pipe = self.r.pipeline(transaction=True)
            self._reverse.keepers(pipe, gone_rows, list(removed.values()))
            pipe.execute()
        elif rows:  # an index made before P:cp and P:er were kept: every article read, every edge
            self._keep_pruned_keepers(gone_rows)
        bands, per_band = int(self.params["bands"]), int(self.params["rows"])
        drops = RedisDrops(self.r, self.prefix)
        held: dict[int, set[str | None]] = {}  # digest of each removed sketch -> the groups its rows were in (P:dig)
        for lo in range(0, len(rows), 2000):
            part = rows[lo : lo + 2000]
            recs = self.articles(np.array(part)) if removed is None else [removed[r] for r in part if r in removed]
            raw_sk = dict(zip(part, self.r.hmget(self._k("sk"), part)))
            have = [r for r in part if raw_sk[r] is not None]
            pipe = self.r.pipeline(transaction=True)
            group_of = {rec.row: rec.group for rec in recs}
            for r in have:
                held.setdefault(struct.unpack_from(_HEAD, raw_sk[r], 0)[0], set()).add(group_of.get(r))
            if have:
                sig = np.stack([self._sketch_signature(raw_sk[r]) for r in have])
                band = np.concatenate([band_keys(sig, np.arange(len(have)), b, per_band) for b in range(bands)])
                drops.rows_from_keys(pipe, "b", band, np.tile(np.array(have, dtype=np.int64), bands))
                anchors = [self._sketch_anchors(raw_sk[r]) for r in have]
                drops.rows_from_keys(pipe, "a", np.concatenate(anchors),
                                     np.repeat(np.array(have, dtype=np.int64), [len(a) for a in anchors]))
            drops.records(pipe, recs)
            pipe.execute()
        if rows:
            # the digests of the removed sketches, not a scan of every text's: P:dig names a row only with its sketch's
            fields = [_field(d) for d in sorted(held)]
            named = self.r.hmget(self._k("dig"), fields) if fields else []
            dig = [f for f, v in zip(fields, named) if v is not None and int(v) in gone_rows]
            among, left = None, []
            if fast:
                pipe = self.r.pipeline(transaction=True)
                edges, left = self._reverse.edges(pipe, gone_rows)
                among = sorted(gone_rows.union(left))  # P:in names a row only beside one it shares an edge with
                pipe.execute()
            else:
                edges = [f for f, _ in self.r.hscan_iter(self._k("e"), count=5000) if set(map(int, f.decode().split(","))) & gone_rows]
                left = sorted({int(x) for f in edges for x in f.decode().split(",")} - gone_rows)
            if dig:  # a text whose first row went is found under the first row left that holds it, as on SQLite
                drops.reassign_digests(self.r, {d: held[d] for d in (struct.unpack("<Q", f)[0] for f in dig)}, left, self.digests)
            if edges:
                self.r.hdel(self._k("e"), *edges)
            self._held.prune(gone_rows, among)
        return len(rows)

    def _keep_pruned_keepers(self, gone: set[int]) -> None:
        """Keep the ids of ``gone`` rows that articles left name as keeper (``P:pruned``), drop those none names now."""
        named = {_record(v).keeper for f, v in self.r.hscan_iter(self._k("art"), count=5000) if int(f) not in gone}
        keep = {r.row: r.id for r in self.articles(np.array(sorted(named & gone), dtype=np.int64))}
        pipe = self.r.pipeline(transaction=True)
        if keep:
            pipe.hset(self._k("pruned"), mapping=keep)
        if unnamed := [f for f in self.r.hkeys(self._k("pruned")) if int(f) not in named]:
            pipe.hdel(self._k("pruned"), *unnamed)
        pipe.execute()

    def pruned_keepers(self, rows: list[int]) -> dict[int, str]:
        rows = [int(r) for r in rows]
        return {r: v.decode() for r, v in zip(rows, self.r.hmget(self._k("pruned"), rows) if rows else []) if v}

    def _contained_edges(self) -> list[tuple[int, int, int, float, float]]:
        """Every stored ``contained`` edge, as :func:`~.index.containers` reads them (a scan of ``P:e``)."""
        from ..verify import CONTAINED

        edges = []
        for f, v in self.r.hscan_iter(self._k("e"), count=5000):
            rel, _, c_ab, c_ba = json.loads(v)[:4]  # a probability follows in edges stored since it was kept
            if rel == CONTAINED:
                a, b = map(int, f.decode().split(","))
                edges.append((a, b, rel, c_ab, c_ba))
        return edges

    def containers_of(self, reps: list[int]) -> dict[int, list[int]]:
        return self._held.of([int(r) for r in reps]) if len(reps) else {}

    def export(self) -> Iterator[dict[str, Any]]:
        from ..results import DUPLICATE

        named = container_names(self, containers(self._contained_edges()))
        top = self.next_row()
        for lo in range(0, top, 5000):
            recs = self.articles(np.arange(lo, min(top, lo + 5000)))
            keepers = {k.row: k.id for k in self.articles(np.array(sorted({r.keeper for r in recs if r.keeper >= 0}), dtype=np.int64))}
            gone = sorted({r.keeper for r in recs if r.status == DUPLICATE and r.keeper not in keepers})  # pruned
            keepers |= self.pruned_keepers(gone)
            for rec in recs:
                out = rec.status == DUPLICATE and rec.keeper in gone
                yield {**rec.to_json(keepers.get(rec.keeper), said=True, keeper_pruned=out), "keeper_pruned": out,
                       "contained_in": named.get(rec.rep, [])}

    def group(self, name: str, around: int | None = None) -> StoredGroup | None:
        rows = {int(r) for r in self.r.smembers(self._k("g", name))}
        if not rows:
            self._still_there()
            return None
        first = self.r.hget(self._k("ids"), name)  # the article the group is named after, maybe stored alone
        if first is not None:
            rows.add(int(first))
        members = [m for m in self.articles(np.array(sorted(rows), dtype=np.int64)) if m.group in (name, None)]
        ordered = [m.row for m in members]
        if around is None:
            fields = [f"{a},{b}" for k, a in enumerate(ordered) for b in ordered[k + 1 :]]
        else:
            fields = [f"{min(a, around)},{max(a, around)}" for a in ordered if a != around]
        found: list[tuple[int, int, list]] = []
        for lo in range(0, len(fields), _PER_CALL):
            part = fields[lo : lo + _PER_CALL]
            for f, v in zip(part, self.r.hmget(self._k("e"), part)):
                if v is not None:
                    a, b = map(int, f.split(","))
                    found.append((a, b, json.loads(v)))
        return StoredGroup(
            members=members,
            edges=np.array([(a, b) for a, b, _ in found], dtype=np.int64).reshape(-1, 2),
            edge_relation=np.array([v[0] for _, _, v in found], dtype=np.int8),
            edge_scores=np.array([[float("nan") if x is None else x for x in [*v[1:], None][:5]] for _, _, v in found],
                                 dtype=np.float64).reshape(-1, 5),
        )

    def snapshot(self) -> Any:  # Redis answers each command on its own: no snapshot across commands (reads as they were)
        return nullcontext()

    def close(self) -> None:
        self.r.close()
