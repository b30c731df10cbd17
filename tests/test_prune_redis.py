"""`dedup index prune` on a Redis index: what it removes from the band and anchor keys, and how many commands it sends
(on a real redis-server started on a loopback port, skipped only where none can start)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from dedup.config import DedupConfig
from dedup.flows.dedupe import dedupe
from dedup.runtime import Runtime
from dedup.store.history import open_index
from dedup.types import Article

SEEDS = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))
DAY2 = datetime(2024, 3, 2, tzinfo=UTC).timestamp()


def _feed() -> list[Article]:
    """Day 1's articles, each two pieces of seed text, then day 2's, each sharing one piece with one of day 1's (not
    copies: half of each is its own), so that fields hold rows of both days."""
    words = " ".join(p.read_text(encoding="utf-8") for p in SEEDS).split()
    pieces = [" ".join(words[k : k + 80]) for k in range(0, len(words) - 79, 80)]
    half = len(pieces) // 2
    out = [Article(id=f"a{k}", text=f"{pieces[k]}\n{pieces[half + k]}", source="s", date=f"2024-03-01T{k % 24:02d}:00:00")
           for k in range(0, half - 1, 2)]
    out += [Article(id=f"b{k}", text=f"{pieces[k]}\n{pieces[k + 1]}", source="s", date=f"2024-03-02T{k % 24:02d}:00:00")
            for k in range(0, half - 1, 4)]
    return out


def _band_and_anchor_fields(r, prefix: str) -> dict[tuple[bytes, bytes], list[int]]:
    out = {}
    for pattern in (f"{prefix}:b:*", f"{prefix}:a:*"):
        for key in r.scan_iter(match=pattern, count=10_000):
            for field, value in r.hgetall(key).items():
                out[key, field] = np.frombuffer(value, dtype="<i8").tolist()
    return out


def test_a_redis_prune_takes_the_rows_out_of_every_field_with_a_few_commands(redis_url: str, monkeypatch) -> None:
    """A prune sent one HGET, then one HSET or HDEL, per band key and anchor gram of each article it removed, and four
    or five commands more per article: ~540k commands for 3,980 articles (6.2 s, against 0.8 s on SQLite). Now the
    fields are rewritten by a script, 20,000 per call, and the records go by a command per key: the same fields
    left, each with its other rows in their order, with a few commands per 2,000 articles."""
    import redis

    prefix = f"t{uuid.uuid4().hex[:8]}"
    location = f"{redis_url}?prefix={prefix}"
    config = DedupConfig()
    idx = open_index(location, config)
    try:
        dedupe(_feed(), config, runtime=Runtime(chunk_size=8), index=idx)
        r = idx.r
        before_fields = _band_and_anchor_fields(r, prefix)
        day1 = [int(x) for x in r.zrangebyscore(f"{prefix}:t", "-inf", f"({DAY2}")]
        assert 0 < len(day1) < r.hlen(f"{prefix}:art")
        gone = set(day1)
        expected = {}
        for kf, rows in before_fields.items():
            if left := [x for x in rows if x not in gone]:
                expected[kf] = left
        assert len(expected) < len(before_fields)  # some fields go, others keep day 2's rows
        assert any(len(v) < len(before_fields[k]) for k, v in expected.items())

        sent = [0]
        plain, batched = redis.Redis.execute_command, redis.client.Pipeline.execute

        def one(self, *args, **options):
            sent[0] += 1
            return plain(self, *args, **options)

        def many(self, *args, **kwargs):
            sent[0] += len(self.command_stack)
            return batched(self, *args, **kwargs)

        monkeypatch.setattr(redis.Redis, "execute_command", one)
        monkeypatch.setattr(redis.client.Pipeline, "execute", many)
        with idx.writer():
            sent[0] = 0
            assert idx.prune(DAY2) == len(day1)
            commands = sent[0]
        monkeypatch.undo()
        touched = len(before_fields) - sum(v == expected.get(k) for k, v in before_fields.items())
        assert commands < 40 < touched, f"{commands} commands to prune {len(day1)} articles ({touched} fields)"  # 947 before
        assert _band_and_anchor_fields(r, prefix) == expected
        assert not r.zrangebyscore(f"{prefix}:t", "-inf", f"({DAY2}")
        assert r.hlen(f"{prefix}:art") == r.hlen(f"{prefix}:ids") == len(_feed()) - len(day1)
        assert not any(int(f) in gone for f in r.hkeys(f"{prefix}:sk"))
        for key in r.scan_iter(match=f"{prefix}:g:*"):
            assert not {int(x) for x in r.smembers(key)} & gone
    finally:
        idx.close()


@pytest.mark.parametrize(("keys", "rows", "expected"), [
    ([], [], ([], [], [])),
    ([5], [9], ([5], [1], [9])),
    ([7, 3, 7, 7], [2, 5, 1, 2], ([3, 7], [1, 2], [5, 1, 2])),
    ([2**64 - 1, 0, 2**64 - 1], [4, 4, 3], ([0, 2**64 - 1], [1, 2], [4, 3, 4])),
], ids=["empty", "one", "repeated", "extreme keys"])
def test_grouped_gives_each_key_its_distinct_rows(keys, rows, expected) -> None:
    from dedup.store.prune_redis import grouped

    k, n, r = grouped(np.array(keys, dtype=np.uint64), np.array(rows, dtype=np.int64))
    assert (k.tolist(), n.tolist(), r.tolist()) == expected


def test_a_redis_prune_reads_the_digests_of_the_removed_texts_and_counts_what_is_left_without_a_scan(
        redis_url: str, monkeypatch) -> None:
    """A prune walked every text's digest (``P:dig``) to find the removed rows', and `dedup index prune` then read
    every stored article (``stats``) to say how many were left: costs that grew with the history, not with what was
    pruned. Now it asks for the digests of the removed sketches and counts the articles; the digests left the same."""
    from dedup.jobs.index import prune_index
    from dedup.store.index_redis import RedisIndex

    prefix = f"t{uuid.uuid4().hex[:8]}"
    location = f"{redis_url}?prefix={prefix}"
    config = DedupConfig()
    feed = _feed()
    feed += [Article(id=f"copy-{a.id}", text=a.text, source="t", date="2024-03-02T12:00:00") for a in feed[:3]]  # exact
    idx = open_index(location, config)
    try:
        dedupe(feed, config, runtime=Runtime(chunk_size=8), index=idx)
        r = idx.r
        gone = {int(x) for x in r.zrangebyscore(f"{prefix}:t", "-inf", f"({DAY2}")}
        before = r.hgetall(f"{prefix}:dig")
        expected = {f: v for f, v in before.items() if int(v) not in gone}
        assert 0 < len(expected) < len(before)
    finally:
        idx.close()
    scanned = []
    scan = RedisIndex.__init__  # the client's hscan_iter, wrapped on each index opened

    def opened(self, *args, **kwargs):
        scan(self, *args, **kwargs)
        plain = self.r.hscan_iter
        self.r.hscan_iter = lambda name, *a, **k: (scanned.append(name), plain(name, *a, **k))[1]

    def no_stats(self):
        raise AssertionError("stats() read every stored article")

    monkeypatch.setattr(RedisIndex, "__init__", opened)
    monkeypatch.setattr(RedisIndex, "stats", no_stats)
    said = []
    assert prune_index(location, "2024-03-02", echo=said.append) == len(gone)
    monkeypatch.undo()
    assert f"{prefix}:dig" not in scanned
    assert said[-1].endswith(f"; {len(feed) - len(gone)} left in {location}")
    idx = open_index(location, create=False)
    try:
        assert idx.r.hgetall(f"{prefix}:dig") == expected
    finally:
        idx.close()


def _days() -> tuple[list[Article], list[Article]]:
    """Two runs: day 1's articles, then day 2's (some sharing a piece of day 1's texts, copies of them word for word, day 1's
    texts inside longer ones, texts inside day 1's; day 3's copies of day 2's), so that keepers, edges in either order and containments span the
    days."""
    day1 = [a for a in _feed() if a.id.startswith("a")]
    later = [a for a in _feed() if a.id.startswith("b")]
    later += [Article(id=f"copy-{a.id}", text=a.text, source="t", date="2024-03-02T12:00:00") for a in day1[:4]]
    later += [Article(id=f"long-{a.id}", text=f"{a.text}\n{later[k].text}", source="t", date="2024-03-02T13:00:00")
              for k, a in enumerate(day1[4:7])]
    day1 += [Article(id=f"early-{b.id}", text=f"{b.text}\n{_feed()[-1].text}\n{b.text[::-1]}", source="t",
                     date="2024-03-01T23:00:00") for b in later[2:4]]  # holding day 2's texts
    later += [Article(id=f"again-{a.id}", text=a.text, source="t", date="2024-03-03T08:00:00") for a in later[:3]]
    return day1, later


def _contents(r, prefix: str, leave: tuple[str, ...] = ()) -> dict[str, object]:
    """Every key under ``prefix`` (but ``leave``) → its value, whatever the key's type; ``P:meta`` without ``rev``."""
    out: dict[str, object] = {}
    for key in r.scan_iter(match=f"{prefix}:*", count=10_000):
        name = key.decode()[len(prefix) + 1 :]
        if name in leave:
            continue
        kind = r.type(key).decode()
        out[name] = {"hash": r.hgetall, "set": r.smembers, "string": r.get,
                     "zset": lambda k: r.zrange(k, 0, -1, withscores=True)}[kind](key)
    if "meta" in out:
        out["meta"] = {f: v for f, v in out["meta"].items() if f not in (b"rev", b"created")}
    return out


def test_a_redis_prune_reads_only_what_the_removed_rows_touch_and_leaves_the_index_as_a_whole_read_does(
        redis_url: str, monkeypatch) -> None:
    """A prune decoded every stored article (the removed keepers articles left still name), and read every edge
    (``P:e``) and every containment (``P:in``) to find those of the removed rows: costs that grew with the whole
    index. Now the keeper → copies (``P:cp``) and row → edges (``P:er``) hashes written at each add answer them by
    row. The index after two prunes is the same, key for key, as that of the whole reads (an index without them, as
    made before they were kept), and what is left of them is what is left of the articles and edges."""
    from dedup.store.index_redis import RedisIndex
    from dedup.store.reverse_redis import RedisReverse

    fast, old = (f"t{uuid.uuid4().hex[:8]}" for _ in range(2))
    config = DedupConfig()
    day1, later = _days()
    idx = open_index(f"{redis_url}?prefix={fast}", config)
    try:
        dedupe(day1, config, runtime=Runtime(chunk_size=8), index=idx)
        dedupe(later, config, runtime=Runtime(chunk_size=8), index=idx)
        r = idx.r
        assert r.hlen(f"{fast}:in") and r.hlen(f"{fast}:cp") and r.hexists(f"{fast}:meta", "rev")
        # an edge written with its later row first ("a,b", a > b: a new article's row and a stored one's), as add does
        last = idx.next_row() - 1
        r.hset(f"{fast}:e", f"{last},1", r.hget(f"{fast}:e", next(iter(r.hkeys(f"{fast}:e")))))
        for key, field, rows in RedisReverse(r, fast).added([], [[last, 1]]):
            r.hset(key, field, (r.hget(key, field) or b"") + rows)
        for key in r.scan_iter(match=f"{fast}:*", count=10_000):  # the same index, as made before P:cp and P:er
            r.copy(key, old + key.decode()[len(fast) :])
        r.delete(f"{old}:cp", f"{old}:er")
        r.hdel(f"{old}:meta", "rev")
    finally:
        idx.close()
    assert _contents(r, fast, ("cp", "er")) == _contents(r, old)
    scanned: list[bytes | str] = []
    opened = RedisIndex.__init__  # the client's hscan_iter, wrapped on each index opened

    def counted(self, *args, **kwargs):
        opened(self, *args, **kwargs)
        plain = self.r.hscan_iter
        self.r.hscan_iter = lambda name, *a, **k: (scanned.append(name), plain(name, *a, **k))[1]

    monkeypatch.setattr(RedisIndex, "__init__", counted)
    pruned = []
    for before in (DAY2, datetime(2024, 3, 2, 12, 30, tzinfo=UTC).timestamp()):
        for prefix in (fast, old):
            scanned.clear()
            idx = open_index(f"{redis_url}?prefix={prefix}", create=False)
            try:
                with idx.writer():
                    pruned.append(idx.prune(before))
                r = idx.r
                if prefix == fast:
                    assert not {f"{fast}:{k}" for k in ("art", "e", "in")} & set(scanned), scanned
                    assert r.hlen(f"{fast}:pruned")  # removed keepers that copies left name
                    rows = {int(x) for x in r.hkeys(f"{fast}:art")}
                    named: set[int] = set()
                    for f, v in r.hgetall(f"{fast}:cp").items():
                        copies = np.frombuffer(v, dtype="<i8").tolist()
                        assert set(copies) <= rows and copies
                        named.add(int(f))
                    assert {int(f) for f in r.hkeys(f"{fast}:pruned")} <= named
                    ends = {tuple(map(int, f.decode().split(","))) for f in r.hkeys(f"{fast}:e")}
                    by_row = {(int(f), e if e >= 0 else ~e) for f, v in r.hgetall(f"{fast}:er").items()
                              for e in np.frombuffer(v, dtype="<i8").tolist()}
                    assert by_row == {p for a, b in ends for p in ((a, b), (b, a))}
                else:
                    assert f"{old}:art" in scanned
            finally:
                idx.close()
        assert _contents(r, fast, ("cp", "er")) == _contents(r, old)
    assert pruned[0] == pruned[1] > 0 and pruned[2] == pruned[3] > 0
