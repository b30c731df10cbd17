"""dedup.serve.texts: the service's store of posted titles and texts, beside the index (SQLite file or redis hash)."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
import zlib
from pathlib import Path

import pytest

from dedup.serve.texts import RedisTexts, SQLiteTexts, _pack, _unpack, open_texts
from dedup.store.index import HistoryError

LONG = "قال الوزير اليوم إن المشروع سيبدأ في الربيع. " * 200


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "sqlite":
        texts = open_texts(str(tmp_path / "history.db"))
    else:
        texts = open_texts(f"{request.getfixturevalue('redis_url')}?prefix=t{uuid.uuid4().hex[:8]}")
    yield texts
    texts.close()


@pytest.mark.parametrize(
    ("title", "text"),
    [("", ""), ("T", "x"), ("عنوان", LONG), ('quote " and \\ and \n', "\x00 nul"), ("emoji 🙂", "a\u200fb")],
    ids=["empty", "short", "arabic-long", "json-specials", "astral-and-bidi"],
)
def test_pack_round_trip(title: str, text: str) -> None:
    blob = _pack(title, text)
    assert _unpack(blob) == (title, text)
    assert json.loads(zlib.decompress(blob).decode("utf-8")) == [title, text]  # zlib-compressed JSON [title, text]


def test_pack_compresses_and_keeps_utf8() -> None:
    blob = _pack("t", LONG)
    assert len(blob) < len(LONG.encode("utf-8")) / 10
    assert "قال".encode() in zlib.decompress(blob)  # not \u escapes


def test_put_and_get(store) -> None:
    store.put([("a", "عنوان", LONG), ("b", "", "short"), ("7", "T", "")])
    assert store.get(["a", "b", "7"]) == {"a": ("عنوان", LONG), "b": ("", "short"), "7": ("T", "")}


def test_get_only_what_is_stored(store) -> None:
    store.put([("a", "T", "x")])
    assert store.get([]) == {}
    assert store.get(["missing"]) == {}
    assert store.get(["missing", "a", "a"]) == {"a": ("T", "x")}


def test_an_id_put_again_takes_its_new_text_and_the_first_of_one_call(store) -> None:
    # the service puts only articles it just added: an id put again was pruned from the index and posted anew
    store.put([("a", "first", "one")])
    store.put([("a", "second", "two"), ("b", "B", "b")])
    store.put([("c", "c1", "x"), ("c", "c2", "y")])  # twice in one call: the first, as the index keeps it
    assert store.get(["a", "b", "c"]) == {"a": ("second", "two"), "b": ("B", "b"), "c": ("c1", "x")}


def test_drop_texts_keeps_only_what_the_index_holds(store, tmp_path: Path) -> None:
    from dedup.serve.texts import drop_texts

    store.put([(f"id{k}", "T", f"text {k}") for k in range(25)])
    location = store.location[: -len(".texts")] if isinstance(store, SQLiteTexts) else store.location
    asked: list[list[str]] = []

    def in_index(ids: list[str]) -> list[str]:
        asked.append(ids)
        return [i for i in ids if int(i[2:]) % 5 == 0]

    assert drop_texts(location, in_index) == 20
    assert sorted(store.get([f"id{k}" for k in range(25)])) == ["id0", "id10", "id15", "id20", "id5"]
    assert sorted(i for batch in asked for i in batch) == sorted(f"id{k}" for k in range(25))
    assert drop_texts(str(tmp_path / "never-served.db"), in_index) == 0 and not (tmp_path / "never-served.db.texts").exists()


def test_an_empty_put(store) -> None:
    store.put([])
    assert store.get(["a"]) == {}


def test_open_texts_picks_the_store_by_location(tmp_path: Path) -> None:
    texts = open_texts(str(tmp_path / "idx.db"))
    try:
        assert isinstance(texts, SQLiteTexts) and texts.location == str(tmp_path / "idx.db") + ".texts"
        assert (tmp_path / "idx.db.texts").exists() and not (tmp_path / "idx.db").exists()
    finally:
        texts.close()
    for location in ("redis://127.0.0.1:1/0?prefix=p", "rediss://h:1/0"):
        remote = open_texts(location)  # no connection yet
        try:
            assert isinstance(remote, RedisTexts) and remote.location == location
        finally:
            remote.close()


def test_a_unix_socket_location() -> None:
    texts = open_texts("unix:///tmp/dedup-redis.sock?prefix=p")  # no connection yet
    try:
        assert isinstance(texts, RedisTexts) and texts.key == "p:texts"
        assert texts.r.connection_pool.connection_kwargs["path"] == "/tmp/dedup-redis.sock"
    finally:
        texts.close()


@pytest.mark.parametrize(("location", "key"), [("redis://h:1/0?prefix=news", "news:texts"), ("redis://h:1/0", "dedup:texts"),
                                               ("redis://h:1/2?prefix=a:b", "a:b:texts")])
def test_the_redis_hash_is_under_the_index_prefix(location: str, key: str) -> None:
    texts = RedisTexts(location)
    try:
        assert texts.key == key
    finally:
        texts.close()


def test_sqlite_texts_persist_across_openings(tmp_path: Path) -> None:
    first = open_texts(str(tmp_path / "h.db"))
    first.put([("a", "T", "x")])
    first.close()
    again = open_texts(str(tmp_path / "h.db"))
    try:
        assert again.get(["a"]) == {"a": ("T", "x")}
    finally:
        again.close()


def test_redis_texts_persist_across_connections(redis_url: str) -> None:
    location = f"{redis_url}?prefix=t{uuid.uuid4().hex[:8]}"
    first = open_texts(location)
    first.put([("a", "T", "x")])
    first.close()
    again = open_texts(location)
    other = open_texts(f"{redis_url}?prefix=other{uuid.uuid4().hex[:8]}")
    try:
        assert again.get(["a"]) == {"a": ("T", "x")} and other.get(["a"]) == {}  # prefixes do not share texts
    finally:
        again.close()
        other.close()


def test_a_file_that_is_not_sqlite_is_a_history_error(tmp_path: Path) -> None:
    (tmp_path / "h.db.texts").write_bytes(b"this is not a database, " * 100)
    with pytest.raises(HistoryError, match="h.db.texts: cannot open the service's text store as a SQLite database"):
        open_texts(str(tmp_path / "h.db"))


def test_a_failed_put_leaves_nothing(tmp_path: Path) -> None:
    texts = SQLiteTexts(str(tmp_path / "h.texts"))
    try:
        texts.put([("a", "T", "x")])
        with pytest.raises(sqlite3.Error):
            texts.put([("b", "T", "y"), (("not", "an", "id"), "T", "z")])  # type: ignore[list-item]  # fails on the second row
        assert texts.get(["a", "b"]) == {"a": ("T", "x")}
        texts.put([("c", "T", "z")])  # the store is usable after the failure
        assert texts.get(["c"]) == {"c": ("T", "z")}
    finally:
        texts.close()


def test_sqlite_texts_from_many_threads(tmp_path: Path) -> None:
    texts = SQLiteTexts(str(tmp_path / "h.texts"))
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for n in range(20):
                texts.put([(f"{k}-{n}", f"t{k}", f"text {k} {n}")])
                texts.get([f"{k}-{n}"])
        except BaseException as err:  # noqa: BLE001  (reported below)
            errors.append(err)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        got = texts.get([f"{k}-{n}" for k in range(4) for n in range(20)])
        assert len(got) == 80 and got["3-19"] == ("t3", "text 3 19")
    finally:
        texts.close()


def test_the_texts_live_where_the_index_does() -> None:
    """unix://...?db=N put the index in database N and the texts in database 0, shared with any other index of the
    prefix; an empty ?prefix= gave the index the prefix "" and the texts "dedup"."""
    from dedup.store.index import HistoryError

    texts = open_texts("unix:///tmp/dedup-redis.sock?db=5&prefix=p")  # no connection yet
    try:
        assert texts.key == "p:texts" and texts.r.connection_pool.connection_kwargs["db"] == 5
    finally:
        texts.close()
    with pytest.raises(HistoryError, match=r"\?prefix= needs a name"):
        open_texts("redis://127.0.0.1:6379/0?prefix=")
