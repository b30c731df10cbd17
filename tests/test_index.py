"""The history index (``--index``): day by day equals one batch, reruns change nothing,
a killed run leaves a whole index, two writers lose nothing — on SQLite files and on
a real ``redis-server`` started on a loopback port (skipped only where none can start).
"""

from __future__ import annotations

import collections
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dedup.cli import app
from dedup.config import DedupConfig, MinHashConfig
from dedup.flows.dedupe import dedupe
from dedup.io.dedupe_rows import decision_rows
from dedup.runtime import Runtime
from dedup.store.history import open_index
from dedup.store.index import HistoryError
from dedup.types import Article

SEEDS = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))
HEADER, FOOTER = "وكالة الأنباء الرياض", "تابعونا على تويتر وفيسبوك"


# --- a feed over three days: copy families, boilerplate, bad and short records ---------


def _vocabulary() -> list[str]:
    words = sorted({w for p in SEEDS for w in p.read_text(encoding="utf-8").split() if len(w) > 2})
    return words


def _filler(rng: random.Random, words: list[str], n: int = 160) -> str:
    paras = [" ".join(rng.choice(words) for _ in range(n // 4)) for _ in range(4)]
    return "\n".join(paras)


def days() -> list[list[Article]]:
    """Three days: originals, then re-headlined copies, teasers, exact copies, edits, fresh articles."""
    rng = random.Random(7)
    words = _vocabulary()
    seeds = [p.read_text(encoding="utf-8") for p in SEEDS]
    fillers = [_filler(rng, words) for _ in range(40)]

    def art(i: str, text: str, day: int, source: str, hour: int = 9) -> Article:
        return Article(id=i, text=text, source=source, date=f"2024-03-{day:02d}T{hour:02d}:00:00")

    d1 = [art(f"s{i}", f"{HEADER}\n{t}\n{FOOTER}", 1, "wire", 8 + i) for i, t in enumerate(seeds)]
    d1 += [art(f"f{i}", f"{HEADER}\n{t}\n{FOOTER}", 1, "wire", 10) for i, t in enumerate(fillers[:15])]
    d1 += [art("short1", "كلمتان فقط", 1, "wire")]
    d2 = [art(f"c{i}", f"عنوان آخر\n{t}\nشارك الخبر", 2, "outlet", 9 + i) for i, t in enumerate(seeds)]
    d2 += [art(f"t{i}", " ".join(t.split()[:110]), 2, "blog") for i, t in enumerate(seeds[:3])]
    d2 += [art("x1", fillers[0], 2, "outlet"), art("x2", fillers[1] + "\n" + fillers[20][:300], 2, "outlet")]
    d2 += [art(f"g{i}", f"{HEADER}\n{t}\n{FOOTER}", 2, "wire", 11) for i, t in enumerate(fillers[15:28])]
    edited = fillers[2].split()
    for k in range(0, len(edited), 25):
        edited[k] = rng.choice(words)
    d3 = [art("e1", " ".join(edited), 3, "agency"), art("c0b", f"{seeds[0]}\nشارك الخبر", 3, "agency")]
    d3 += [art(f"h{i}", f"{HEADER}\n{t}\n{FOOTER}", 3, "wire", 12) for i, t in enumerate(fillers[28:40])]
    d3 += [art("g0copy", fillers[15], 3, "outlet"), art("empty3", "   ", 3, "outlet")]
    return [d1, d2, d3]


def _rows(result) -> dict[str, dict]:
    return {r["id"]: r for r in decision_rows(result)}


def _verdicts(rows: dict[str, dict]) -> dict[str, tuple]:
    return {i: (r["status"], r["duplicate_of"]) for i, r in rows.items()}


def _write(path: Path, articles: list[Article]) -> Path:
    with open(path, "w", encoding="utf-8") as out:
        for a in articles:
            out.write(json.dumps({"id": a.id, "text": a.text, "source": a.source, "date": a.date}, ensure_ascii=False) + "\n")
    return path


# --- real servers ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(articles, location, config=DedupConfig(), **kw):
    idx = open_index(location, config)
    try:
        return dedupe(articles, config, runtime=Runtime(chunk_size=kw.pop("chunk_size", 8)), index=idx, **kw)
    finally:
        idx.close()


def _export(location: str) -> list[dict]:
    idx = open_index(location, create=False)
    try:
        return list(idx.export())
    finally:
        idx.close()


# --- properties ------------------------------------------------------------------------


def test_the_days_have_copies_across_days_and_boilerplate() -> None:
    batch = dedupe([a for d in days() for a in d], DedupConfig())
    rows = _rows(batch)
    assert sum(r["status"] == "duplicate" for r in rows.values()) >= 10
    assert (batch.boilerplate_removed > 0).sum() >= 20
    assert rows["c0b"]["status"] == "duplicate" and rows["x1"]["duplicate_of"] == "f0"


def test_day_by_day_equals_one_batch(location: str) -> None:
    feed = days()
    batch = _verdicts(_rows(dedupe([a for d in feed for a in d], DedupConfig())))
    for day in feed:
        got = _verdicts(_rows(_run(day, location)))
        assert got == {a.id: batch[a.id] for a in day}
    stored = _export(location)
    assert [r["id"] for r in stored] == [a.id for d in feed for a in d]  # rows in reading order


def test_a_copy_of_history_names_it_with_date_and_source(location: str) -> None:
    d1, d2, _ = days()
    _run(d1, location)
    rows = _rows(_run(d2, location))
    x1 = rows["x1"]
    assert x1["status"] == "duplicate" and x1["duplicate_of"] == "f0" and x1["relation"] == "exact"
    assert x1["seen_before"] == {"date": "2024-03-01T10:00:00Z", "source": "wire"}
    assert "seen before" in x1["reason"]
    c0 = rows["c0"]
    assert c0["duplicate_of"] == "s0" and c0["group"] == "s0" and c0["scores"]["jaccard"] > 0.5


def test_rerunning_a_feed_changes_nothing(location: str) -> None:
    d1, d2, _ = days()
    _run(d1, location)
    _run(d2, location)
    before = _export(location)
    again = _rows(_run(d2, location))
    assert all(r["status"] == "skipped" and "already in the index" in r["reason"] for r in again.values())
    assert _export(location) == before
    mixed = _rows(_run(d2[:3] + days()[2][:2], location))  # known and new in one feed
    assert [mixed[a.id]["status"] for a in d2[:3]] == ["skipped"] * 3
    assert mixed["c0b"]["status"] == "duplicate"
    assert len(_export(location)) == len(before) + 2


def test_the_summary_counts_the_articles_already_indexed_as_one_kind_of_skip(location: str) -> None:
    """Their reasons name the stored row and group (an id may hold ``:``, as a URL does); the summary counts the kind."""
    from dedup.io.dedupe_out import summary

    d1, _, _ = days()
    _run(d1, location)
    urls = [Article(id=f"https://news.example/{a.id}", text=a.text, source=a.source, date=a.date) for a in d1]
    _run(urls, location)
    counts = summary(_run(urls, location), ["feed"])["counts"]
    assert counts["skipped_by_reason"] == {"already in the index": len(d1)}


def test_other_sketch_settings_are_refused(location: str) -> None:
    _run(days()[0], location)
    with pytest.raises(HistoryError, match="num_perm=128 \\(this run: 64\\)"):
        open_index(location, DedupConfig(minhash=MinHashConfig(num_perm=64)))


def test_window_days_limits_what_history_is_compared(location: str) -> None:
    d1, _, _ = days()
    _run(d1, location)
    late = [Article(id="late", text=d1[0].text, source="x", date="2024-03-20T09:00:00")]
    result = _run(late, location, window_days=5)
    far = _rows(result)["late"]
    assert far["status"] == "kept"
    assert result.history_counts["window_days"] == 5  # in summary.json: the option is no config setting
    near = [Article(id="late2", text=d1[0].text, source="x", date="2024-03-04T09:00:00")]
    assert _rows(_run(near, location, window_days=5))["late2"]["duplicate_of"] == "s0"


def test_index_commands(location: str, tmp_path: Path) -> None:
    d1, d2, _ = days()
    _run(d1, location)
    _run(d2, location)
    runner = CliRunner()
    res = runner.invoke(app, ["index", "stats", location])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["articles"] == len(d1) + len(d2) and info["oldest"] == "2024-03-01T08:00:00Z"
    assert list(info["by_status"]) == ["kept", "duplicate", "skipped"]  # Redis's said duplicate, kept, skipped
    assert info["params"]["num_perm"] == 128
    res = runner.invoke(app, ["index", "export", location, "--out", str(tmp_path / "e.jsonl")])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in (tmp_path / "e.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == info["articles"] and {x["status"] for x in lines} == {"kept", "duplicate", "skipped"}
    by_id = {x["id"]: x for x in lines}
    assert by_id["x1"]["duplicate_of"] == "f0" and by_id["f0"]["duplicate_of"] is None  # the keeper named by its id
    for to in ([], ["--out", "-"]):  # standard output, the same bytes as the file ("-o -" wrote a file named "-")
        res = runner.invoke(app, ["index", "export", location, *to])
        assert res.exit_code == 0 and res.stdout == (tmp_path / "e.jsonl").read_text(encoding="utf-8")
    assert not Path("-").exists()
    res = runner.invoke(app, ["index", "prune", location, "--before", "2024-03-02"])
    assert res.exit_code == 0, res.output
    assert [x["id"] for x in _export(location)] == [a.id for a in d2]
    idx = open_index(location, create=False)
    try:  # what the service's page counts: the articles held, not the rows ever given
        assert idx.article_count() == len(d2) and idx.next_row() == len(d1) + len(d2)
    finally:
        idx.close()
    # pruned history is no longer met: a copy of day 1 is new again, a copy of day 2 is not
    f5 = next(a for a in d1 if a.id == "f5")
    rows = _rows(_run([Article("again-f5", f5.text, source="z", date="2024-03-03"),
                       Article("again-g1", d2[-1].text, source="z", date="2024-03-03")], location))
    assert rows["again-f5"]["status"] == "kept" and rows["again-g1"]["status"] == "duplicate"
    res = runner.invoke(app, ["index", "prune", location, "--before", "yesterday"])
    assert res.exit_code == 1 and "not an ISO-8601 date" in res.output


def test_a_prune_while_another_process_reads_the_index_leaves_no_log_as_large_as_it(tmp_path: Path) -> None:
    """While `dedup serve` kept the index open, a prune's VACUUM left the write-ahead log as large as the whole
    index (the desk's 210 MB index: 103 MB file and 103 MB log after the prune), for as long as the service ran."""
    location = str(tmp_path / "h.db")
    d1, d2, _ = days()
    _run(d1 + d2, location)
    reader = open_index(location, create=False)  # the service's connection, idle between requests
    try:
        assert reader.known_ids([d2[0].id])
        res = CliRunner().invoke(app, ["index", "prune", location, "--before", "2024-03-02"])
        assert res.exit_code == 0, res.output
        assert os.path.getsize(location + "-wal") == 0
        assert [r.id for r in reader.articles(np.arange(len(d1) + len(d2)))] == [a.id for a in d2]  # it reads on
    finally:
        reader.close()


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    feed = _write(tmp_path / "d1.jsonl", days()[0])
    runner = CliRunner()
    loc = str(tmp_path / "h.db")
    assert runner.invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "o"), "--index", loc, "-q"]).exit_code == 0
    res = runner.invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "o2"), "--index", loc, "--num-perm", "64", "-q"])
    assert res.exit_code == 1 and "Traceback" not in res.output and "other settings" in res.output
    res = runner.invoke(app, ["index", "stats", str(tmp_path / "nothing.db")])
    assert res.exit_code == 1 and "no index here" in res.output
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    res = runner.invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "o3"), "--index", str(tmp_path / "junk.db"), "-q"])
    assert res.exit_code == 1 and "cannot open the index" in res.output
    res = runner.invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "o4"), "--index", "redis://127.0.0.1:1/0", "-q"])
    assert res.exit_code == 1 and "cannot reach the Redis server" in res.output


def test_an_index_file_appears_only_whole(tmp_path: Path) -> None:
    """A first run killed while creating the index leaves no half-made file; an empty database reads as "no index yet"."""
    import sqlite3

    loc = tmp_path / "h.db"
    cfg = DedupConfig()
    (tmp_path / f".h.db.tmp-{2**22 + 12345}").write_bytes(b"left by a killed run")  # a pid that does not exist
    open_index(str(loc), cfg).close()
    assert loc.exists() and sorted(p.name for p in tmp_path.iterdir() if "tmp" in p.name) == []
    blank = tmp_path / "blank.db"
    sqlite3.connect(blank).execute("PRAGMA journal_mode=WAL").fetchall()  # what an older version left when killed early
    with pytest.raises(HistoryError, match="no index here yet"):
        open_index(str(blank), create=False)
    open_index(str(blank), cfg).close()  # a run fills it
    open_index(str(blank), create=False).close()
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t(x)")
    with pytest.raises(HistoryError, match="not a dedup index"):
        open_index(str(other), cfg)


# --- real processes: kill -9 and two writers ---------------------------------------------------

_CHILD = r"""
import os, signal, sys
from dedup.store import index_sqlite, index_redis
kill_at = int(os.environ["KILL_AT_COMMIT"])
seen = [0]
def dying(original):
    def add(self, batch, keys):
        if seen[0] == kill_at:  # mid-transaction: the inserts are made, the commit is not
            if isinstance(self, index_sqlite.SQLiteIndex):
                real = self.conn.execute
                class Conn:
                    def __getattr__(s, name): return getattr(self.conn_, name)
                    def execute(s, sql, *a):
                        if sql == "COMMIT":
                            os.kill(os.getpid(), signal.SIGKILL)
                        return real(sql, *a)
                self.conn_ = self.conn
                self.conn = Conn()
            else:
                os.kill(os.getpid(), signal.SIGKILL)
        seen[0] += 1
        return original(self, batch, keys)
    return add
index_sqlite.SQLiteIndex.add = dying(index_sqlite.SQLiteIndex.add)
index_redis.RedisIndex.add = dying(index_redis.RedisIndex.add)
from dedup.cli import app
app(sys.argv[1:])
"""


def _dedupe_cmd(feed: Path, out: Path, location: str) -> list[str]:
    """Small chunks (``[runtime] chunk_size``), so a run commits many transactions."""
    cfg = feed.parent / "small-chunks.toml"
    cfg.write_text("[runtime]\nchunk_size = 1\n", encoding="utf-8")
    return ["dedupe", str(feed), "--out", str(out), "--index", location, "--config", str(cfg), "-q"]


def _check_whole(location: str, expected_ids: list[str]) -> list[dict]:
    stored = _export(location)
    counts = collections.Counter(r["id"] for r in stored)
    assert all(c == 1 for c in counts.values())
    assert set(counts) <= set(expected_ids)
    rows = {r["row"]: r for r in stored}
    for r in stored:  # nothing points at an article that is not there
        assert r["keeper_row"] is None or r["keeper_row"] in rows
    return stored


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [0, 1, 3])
def test_kill_9_mid_commit_leaves_a_whole_index_and_a_rerun_completes(location: str, tmp_path: Path, kill_at: int) -> None:
    d1, d2, d3 = days()
    _run(d1, location)
    feed = _write(tmp_path / "d23.jsonl", d2 + d3)
    env = {**os.environ, "KILL_AT_COMMIT": str(kill_at)}
    proc = subprocess.run([sys.executable, "-c", _CHILD, *_dedupe_cmd(feed, tmp_path / "o", location)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not (tmp_path / "o" / "summary.json").exists()
    ids = [a.id for a in d1 + d2 + d3]
    partial = _check_whole(location, ids)
    assert len(d1) <= len(partial) < len(ids)
    res = CliRunner().invoke(app, _dedupe_cmd(feed, tmp_path / "o2", location))
    assert res.exit_code == 0, res.output
    stored = _check_whole(location, ids)
    assert sorted(r["id"] for r in stored) == sorted(ids)
    # the articles' decisions are those of a run never interrupted
    clean = str(tmp_path / "clean.db") if "://" not in location else location.replace("prefix=", "prefix=clean")
    _run(d1, clean)
    _run(d2 + d3, clean, chunk_size=6)
    assert {r["id"]: (r["status"], r["keeper_row"] is not None) for r in stored} == \
        {r["id"]: (r["status"], r["keeper_row"] is not None) for r in _export(clean)}


@pytest.mark.slow
def test_kill_9_at_random_moments(tmp_path: Path) -> None:
    d1, d2, d3 = days()
    location = str(tmp_path / "h.db")
    feed = _write(tmp_path / "all.jsonl", d1 + d2 + d3)
    ids = [a.id for a in d1 + d2 + d3]
    for delay in (0.2, 0.5, 0.6, 0.7, 0.9, 1.4, 1.8):  # 0.5-0.7 s: around the moment a first run creates the file
        proc = subprocess.Popen([sys.executable, "-m", "dedup", *_dedupe_cmd(feed, tmp_path / "o", location)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if os.path.exists(location):
            _check_whole(location, ids)
    res = CliRunner().invoke(app, _dedupe_cmd(feed, tmp_path / "o", location))
    assert res.exit_code == 0, res.output
    assert sorted(r["id"] for r in _check_whole(location, ids)) == sorted(ids)


@pytest.mark.slow
def test_two_writers_at_once_lose_nothing(location: str, tmp_path: Path) -> None:
    d1, d2, d3 = days()
    _run(d1, location)
    a = _write(tmp_path / "a.jsonl", d2)
    b = _write(tmp_path / "b.jsonl", d3)
    procs = [subprocess.Popen([sys.executable, "-m", "dedup", *_dedupe_cmd(f, tmp_path / f.stem, location)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in (a, b)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    stored = _check_whole(location, [x.id for x in d1 + d2 + d3])
    assert sorted(r["id"] for r in stored) == sorted(x.id for x in d1 + d2 + d3)
    by_id = {r["id"]: r for r in stored}
    # g0copy (day 3) copies f15... and e1 edits f2 (day 1): found whoever wrote first
    assert by_id["e1"]["status"] == "duplicate" and by_id["c0b"]["status"] == "duplicate"
    assert sum("waiting for it to finish" in err for _, err in outs) <= 1


def test_unique_jsonl_of_a_rerun_never_holds_a_stored_duplicate(tmp_path: Path) -> None:
    """A rerun wrote every stored article to unique.jsonl again, earlier duplicates included. A stored duplicate is never
    written out again; a stored kept article is (the index is committed before the outputs are written: it cannot
    tell whether that run delivered its unique.jsonl, and a run that failed after its commit must lose nothing)."""
    d1, d2, d3 = days()
    loc = str(tmp_path / "h.db")
    runner = CliRunner()

    def unique(feed: Path, out: str) -> list[str]:
        res = runner.invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / out), "--index", loc, "-q"])
        assert res.exit_code == 0, res.output
        return [json.loads(line)["id"] for line in (tmp_path / out / "unique.jsonl").read_text(encoding="utf-8").splitlines()]

    assert unique(_write(tmp_path / "d1.jsonl", d1), "o1") == [a.id for a in d1]  # the first day holds no copies of itself
    second = unique(_write(tmp_path / "d2.jsonl", d2), "o2")
    dropped = [a.id for a in d2 if a.id not in second]
    assert dropped, "day 2 copies day 1: some of it is dropped"
    assert unique(_write(tmp_path / "d2.jsonl", d2), "o3") == second  # a rerun: the stored kept again, no stored duplicate
    mixed = unique(_write(tmp_path / "mixed.jsonl", d2 + d3[:3]), "o4")
    decisions = {json.loads(r)["id"]: json.loads(r) for r in (tmp_path / "o4" / "decisions.jsonl").read_text(encoding="utf-8").splitlines()}
    assert mixed == second + [a.id for a in d3[:3] if decisions[a.id]["status"] != "duplicate"]
    assert not set(dropped) & set(mixed)


def test_a_run_that_fails_after_its_index_commit_loses_no_article(tmp_path: Path, monkeypatch) -> None:
    """The outputs fail (a full disk) after the index was committed: the rerun writes the kept articles out."""
    import dedup.io.dedupe_out as dedupe_out

    feed, loc = _write(tmp_path / "d1.jsonl", days()[0]), str(tmp_path / "h.db")
    real = dedupe_out.write_dedupe_outputs

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dedupe_out, "write_dedupe_outputs", full_disk)
    assert CliRunner().invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "o1"), "--index", loc, "-q"]).exit_code != 0
    monkeypatch.setattr(dedupe_out, "write_dedupe_outputs", real)
    res = CliRunner().invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "o2"), "--index", loc, "-q"])
    assert res.exit_code == 0, res.output
    written = [json.loads(line)["id"] for line in (tmp_path / "o2" / "unique.jsonl").read_text(encoding="utf-8").splitlines()]
    assert written == [a.id for a in days()[0]]


def test_an_interruption_after_the_index_commit_says_the_index_holds_the_feed(tmp_path: Path, monkeypatch) -> None:
    """Ctrl-C while the outputs are written: the index was committed already (a rerun skips every article), and the
    message says so and how to get the decisions back, instead of only "the outputs are incomplete"."""
    import dedup.io.dedupe_out as dedupe_out

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(dedupe_out, "write_dedupe_outputs", interrupted)
    feed, loc = _write(tmp_path / "d1.jsonl", days()[0]), str(tmp_path / "h.db")
    res = CliRunner().invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "o"), "--index", loc, "-q"])
    assert res.exit_code == 130, res.output
    assert "dedup: interrupted: the outputs of this run are incomplete" in res.output
    assert f"the index {loc} already holds this feed's articles" in res.output and f"dedup index export {loc}" in res.output
    assert len(_export(loc)) == len(days()[0])
    res = CliRunner().invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "o2"), "-q"])  # no index: no such note
    assert res.exit_code == 130 and "already holds" not in res.output


def test_an_interruption_before_the_outputs_says_nothing_was_written(tmp_path: Path, monkeypatch) -> None:
    """An earlier run's complete outputs stay in the folder: the message said this run's were incomplete, and no more."""
    import dedup.flows.dedupe as flow

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    feed = _write(tmp_path / "d1.jsonl", days()[0])
    assert CliRunner().invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "o"), "-q"]).exit_code == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "o").iterdir()}
    monkeypatch.setattr(flow, "dedupe", interrupted)
    res = CliRunner().invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 130 and f"nothing was written to {tmp_path / 'o'}" in res.output
    assert {p.name: p.read_bytes() for p in (tmp_path / "o").iterdir()} == before


@pytest.mark.parametrize("method", ["star", "union"])
@pytest.mark.parametrize("stored_date", [None, "2024-03-05T09:00:00"])
def test_a_copy_of_a_stored_keeper_the_policy_would_rank_first_is_its_duplicate(location: str, stored_date,
                                                                                  method: str) -> None:
    """A stored keeper undated or dated later than a new near copy: the copy opened its own group first (earliest
    kept first) and the stored keeper, decided for good, could no longer take it in: both kept
    (with --cluster union the new copy was the keeper of the stored one's group)."""
    from dedup.config import ClusterConfig

    config = DedupConfig(cluster=ClusterConfig(method=method))
    text = SEEDS[0].read_text(encoding="utf-8")
    words = text.split()
    _run([Article(id="orig", text=text, source="wire", date=stored_date)], location, config)
    near = Article(id="near", text="عنوان آخر\n" + " ".join(words[: int(len(words) * 0.8)]), source="outlet",
                   date="2024-03-01T09:00:00")
    exact = Article(id="exact", text=text, source="outlet", date="2024-03-02T09:00:00")
    rows = _rows(_run([exact, near], location, config))
    for row in rows.values():
        assert row["status"] == "duplicate" and row["duplicate_of"] == "orig" and row["group"] == "orig"
        assert "seen_before" in row
    assert _verdicts(_rows(_run([near], location, config))) == {"near": ("skipped", None)}  # and it stays decided


def test_a_new_article_holding_a_stored_teaser_is_not_dropped_for_it(location: str) -> None:
    """The longer text stays kept: a stored keeper goes first only among texts of its containment depth."""
    text = SEEDS[1].read_text(encoding="utf-8")
    teaser = " ".join(text.split()[:60])
    _run([Article(id="teaser", text=teaser, source="blog", date="2024-03-05T09:00:00")], location)
    row = _rows(_run([Article(id="full", text=text, source="wire", date="2024-03-06T09:00:00")], location))["full"]
    assert row["status"] == "kept"


def test_rows_of_pruned_articles_are_never_given_again(location: str) -> None:
    """SQLite numbered a new article past the highest row left: after the newest rows were pruned, a new article took a
    pruned keeper's row and that keeper's stored copies became its copies (Redis kept a counter)."""
    texts = [p.read_text(encoding="utf-8") for p in SEEDS]
    _run([Article(id="X", text=texts[0], source="a", date="2020-02-10T00:00:00")], location)
    _run([Article(id="O2", text=texts[1], source="a", date="2020-03-01T00:00:00"),
          Article(id="O", text=texts[1], source="b", date="2019-01-01T00:00:00")], location)
    idx = open_index(location, DedupConfig())
    try:
        with idx.writer():
            assert idx.prune(_epoch("2020-01-01T00:00:00")) == 1  # O, the highest row
    finally:
        idx.close()
    _run([Article(id="N", text=texts[2], source="a", date="2020-03-05T00:00:00")], location)
    rows = {r["id"]: r for r in _export(location)}
    assert rows["N"]["row"] == 3 and rows["O2"]["duplicate_of"] != "N"
    o3 = _rows(_run([Article(id="O3", text=texts[1], source="c", date="2020-03-06T00:00:00")], location))["O3"]
    assert o3["status"] == "duplicate" and o3["duplicate_of"] != "N" and o3["group"] != "N"


def _epoch(iso: str) -> float:
    from datetime import datetime, timezone

    return datetime.fromisoformat(iso).replace(tzinfo=timezone.utc).timestamp()


def test_an_index_that_cannot_be_written_is_one_line_before_the_run(tmp_path: Path, seeds_dir: Path) -> None:
    """A read-only index (here an immutable file, which root cannot write either) failed at the commit, after the
    whole run, with a sqlite3 traceback."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    db = tmp_path / "h.db"
    assert CliRunner().invoke(app, ["dedupe", str(seeds_dir), "--out", str(tmp_path / "o1"), "--index", str(db), "-q"]).exit_code == 0
    if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not allowed here (not root, or the file system has no immutable flag)")
    try:
        res = CliRunner().invoke(app, ["dedupe", str(seeds_dir), "--out", str(tmp_path / "o2"), "--index", str(db), "-q"])
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)
    assert res.exit_code == 1 and "the index cannot be written" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o2" / "summary.json").exists()


def test_a_redis_server_that_stops_during_the_run_is_one_line(tmp_path: Path, seeds_dir: Path, monkeypatch) -> None:
    """Redis stopped mid-run was ~180 lines of chained tracebacks (the lock's release failing too)."""
    from _servers import start_redis

    import dedup.flows.dedupe as flow

    proc, url = start_redis(tmp_path)
    import redis

    try:
        client = redis.Redis.from_url(url)
        real = flow._dedupe

        def stop_then_run(*args, **kwargs):
            with pytest.raises(redis.ConnectionError):
                client.shutdown(nosave=True)
            proc.wait(10)
            return real(*args, **kwargs)

        monkeypatch.setattr(flow, "_dedupe", stop_then_run)
        res = CliRunner().invoke(app, ["dedupe", str(seeds_dir), "--out", str(tmp_path / "o"), "-q", "--index", url])
        assert res.exit_code == 1, res.output
        assert "the Redis server failed during the run" in res.output and "Traceback" not in res.output
        assert len(res.output.strip().splitlines()) <= 3
    finally:
        proc.kill()
        proc.wait(10)


def test_an_interruption_while_the_index_is_added_to_says_it_may_hold_part_of_the_feed(tmp_path: Path, monkeypatch) -> None:
    """The message said only that nothing was written to the folder, while the index held 20,002 of 20,329 articles
    (they are added whole groups at a time)."""
    import dedup.flows.history as history

    real = history._commit

    def stopped(index, *args, **kwargs):
        real(index, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(history, "_commit", stopped)
    db = tmp_path / "h.db"
    res = CliRunner().invoke(app, ["dedupe", str(_write(tmp_path / "d1.jsonl", days()[0])), "--out", str(tmp_path / "o"),
                                   "-q", "--index", str(db)])
    assert res.exit_code == 130
    assert f"the index {db} may hold part of this feed already" in res.output and "a rerun skips what it holds" in res.output
    assert f"nothing was written to {tmp_path / 'o'}" in res.output


@pytest.mark.parametrize(("url", "message"), [
    ("redis://127.0.0.1:{port}/abc?prefix=x", "the path of a Redis URL is a database number"),
    ("redis://127.0.0.1:{port}/1/2", "the path of a Redis URL is a database number"),
    ("redis://127.0.0.1:{port}/0?prefx=typo", "unknown option 'prefx' in the URL"),
    ("redis://127.0.0.1:{port}/99", "the Redis server refused (DB index is out of range)"),
], ids=["path-not-a-number", "two-numbers", "query-typo", "db-out-of-range"])
def test_a_redis_url_mistake_is_named(redis_url: str, tmp_path: Path, seeds_dir: Path, url: str, message: str) -> None:
    """/abc wrote to db 0, /1/2 to db 12, ?prefx= under the default prefix; /99 was "cannot reach"."""
    port = redis_url.rsplit(":", 1)[1].split("/")[0]
    res = CliRunner().invoke(app, ["dedupe", str(seeds_dir), "--out", str(tmp_path / "o"), "-q", "--index", url.format(port=port)])
    assert res.exit_code == 1 and message in res.output and "Traceback" not in res.output


def test_an_id_sent_again_with_another_text_is_said(tmp_path: Path) -> None:
    """It was skipped as already indexed without a word, its new text written out as if decided. (A stored skip, whose
    text nothing was stored of, is decided again instead: tests/test_index_records.py.)"""
    db, old, text = tmp_path / "h.db", SEEDS[1].read_text(encoding="utf-8"), SEEDS[0].read_text(encoding="utf-8")
    first = _write(tmp_path / "e1.jsonl", [Article(id="X", text=old, source="a", date="2024-03-01T00:00:00")])
    again = _write(tmp_path / "e2.jsonl", [Article(id="X", text=text, source="a", date="2024-03-01T00:00:00")])
    assert CliRunner().invoke(app, ["dedupe", str(first), "--out", str(tmp_path / "o1"), "-q", "--index", str(db)]).exit_code == 0
    res = CliRunner().invoke(app, ["dedupe", str(again), "--out", str(tmp_path / "o2"), "--index", str(db)])
    assert res.exit_code == 0 and "1 article came again under an id the index holds, with another text" in res.output
    row = json.loads((tmp_path / "o2" / "decisions.jsonl").read_text(encoding="utf-8"))
    assert row["status"] == "skipped" and f"this text is not the stored one ({len(text)} characters, stored {len(old)})" in row["reason"]
    summary = json.loads((tmp_path / "o2" / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"]["skipped_by_reason"] == {"already in the index": 1}
    assert sum("came again" in w for w in summary["warnings"]) == 1


def test_a_keeper_stored_alone_keeps_the_group_its_later_copy_joins(location: str) -> None:
    """Its record said "group": null ever after, in export and in the service's answers."""
    text = SEEDS[0].read_text(encoding="utf-8")
    _run([Article(id="K", text=text, source="a", date="2024-03-01T00:00:00")], location)
    row = _rows(_run([Article(id="C", text=text + "\nشارك الخبر", source="b", date="2024-03-02T00:00:00")], location))["C"]
    assert row["status"] == "duplicate" and row["group"] == "K"
    stored = {r["id"]: r for r in _export(location)}
    assert stored["K"]["group"] == "K" and stored["C"]["group"] == "K"
    idx = open_index(location, create=False)
    try:
        assert sorted(m.id for m in idx.group("K").members) == ["C", "K"]
        assert {m.id: m.group for m in idx.group("K").members} == {"C": "K", "K": "K"}
    finally:
        idx.close()


def test_the_index_of_a_run_is_closed_however_the_run_ends(tmp_path: Path, monkeypatch) -> None:
    """An interruption left it open; a storage failure keeps the notes it had."""
    import sqlite3

    import dedup.store.history as store
    from dedup.jobs.index import history

    closed: list[bool] = []
    real = store.open_index

    def recording(*args, **kwargs):
        idx = real(*args, **kwargs)
        close = idx.close
        idx.close = lambda: (closed.append(True), close())  # type: ignore[method-assign]
        return idx

    monkeypatch.setattr(store, "open_index", recording)
    for raised in (KeyboardInterrupt(), ValueError("x")):
        with pytest.raises(type(raised)):
            with history(str(tmp_path / "h.db"), DedupConfig()):
                raise raised
    failure = sqlite3.OperationalError("disk I/O error")
    failure.add_note("the index may hold part of this feed already")
    with pytest.raises(HistoryError) as err:
        with history(str(tmp_path / "h.db"), DedupConfig()):
            raise failure
    assert closed == [True, True, True] and err.value.__notes__ == ["the index may hold part of this feed already"]


def test_ids_sent_again_with_other_texts_are_one_warning_a_run(tmp_path: Path) -> None:
    """The warning came once per chunk of the feed."""
    from dedup.io.console import kept_warnings

    db = str(tmp_path / "h.db")
    texts = [p.read_text(encoding="utf-8") for p in SEEDS]
    _run([Article(id=f"a{k}", text=texts[k % 5][: 500 + k]) for k in range(20)], db)
    with kept_warnings() as notes:
        _run([Article(id=f"a{k}", text=texts[k % 5][: 400 + k]) for k in range(20)], db, chunk_size=4)
    said = [w for w in notes if "came again" in w]
    assert said == ["20 articles came again under an id the index holds, with another text: skipped as already indexed "
                    "(their decisions say so)"]


def test_export_says_why_for_every_decision(location: str) -> None:
    """Kept and duplicate rows had reason "" (only skips store a reason); a copy whose keeper was pruned says so."""
    text = SEEDS[0].read_text(encoding="utf-8")
    _run([Article(id="K", text=text, source="a", date="2020-01-01T00:00:00"),
          Article(id="C", text=text, source="b", date="2021-01-01T00:00:00"),
          Article(id="L", text=SEEDS[1].read_text(encoding="utf-8"), source="a", date="2021-01-01T00:00:00")], location)
    rows = {r["id"]: r["reason"] for r in _export(location)}
    assert rows == {"K": "kept: the keeper of group K", "C": "exact copy of K", "L": "no duplicate found"}
    idx = open_index(location, create=False)
    try:
        with idx.writer():
            idx.prune(_epoch("2020-06-01T00:00:00"))
    finally:
        idx.close()
    assert {r["id"]: r["reason"] for r in _export(location)}["C"] == "exact copy of K (row 0), since pruned from the index"


def _until(done, seconds: float = 30) -> None:  # noqa: ANN001
    """Wait until ``done()`` (or ``seconds`` have passed)."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.parametrize("lock", ["writer", "tracker"])
def test_a_wait_for_another_runs_lock_can_be_called_off_and_takes_nothing(location, lock: str) -> None:
    """A waiter whose ``on_wait`` returns an event (the service's, set when it stops): setting the event ends the wait
    with WaitCalledOff, the lock never taken (the holder still holds it); left unset, the waiter takes the lock once
    the holder lets go, as a plain waiter does."""
    import threading

    from dedup.store.index import WaitCalledOff, this_process

    holder, other = open_index(location, DedupConfig()), open_index(location, DedupConfig())
    halt = threading.Event()
    said: list[str] = []
    outcome: list[object] = []

    def on_wait(message: str) -> threading.Event:
        said.append(message)
        return halt

    def wait_for_it() -> None:
        try:
            with getattr(other, lock)(on_wait):
                outcome.append("took it")
        except WaitCalledOff as exc:
            outcome.append(exc)

    def waiting() -> threading.Thread:
        waiter = threading.Thread(target=wait_for_it)
        waiter.start()
        _until(lambda: bool(said))
        assert said and said[0].endswith(f"({this_process()}); waiting for it to finish"), said  # the holder named
        return waiter

    try:
        with getattr(holder, lock)():
            waiter = waiting()
            halt.set()
            waiter.join(30)
            assert not waiter.is_alive() and len(outcome) == 1 and isinstance(outcome[0], WaitCalledOff), outcome
            assert "stopped waiting" in str(outcome[0])
            probe = open_index(location, DedupConfig())  # still the holder's: a third run is told to wait (and gives up)
            told: list[str] = []

            def give_up(message: str) -> threading.Event:
                told.append(message)
                gone = threading.Event()
                gone.set()
                return gone

            try:
                with pytest.raises(WaitCalledOff), getattr(probe, lock)(give_up):
                    outcome.append("the third took it")
            finally:
                probe.close()
            assert len(told) == 1 and len(outcome) == 1
        halt.clear()
        said.clear()
        outcome.clear()
        with getattr(holder, lock)():
            waiter = waiting()
            time.sleep(0.3)  # over a poll or so: still waiting
            assert outcome == []
        waiter.join(30)
        assert outcome == ["took it"]
    finally:
        holder.close()
        other.close()


def test_the_tracker_lock_keeps_one_stories_run_at_a_time_and_lets_writers_add(location) -> None:
    """A stories run places articles under the tracker's lock, not the writer's: a dedupe run adds to the index
    meanwhile (the service's batches), and a second tracker waits for the first, saying so."""
    import threading

    holder, other = open_index(location, DedupConfig()), open_index(location, DedupConfig())
    said: list[str] = []
    entered, added = threading.Event(), []
    try:
        with holder.tracker():
            adder = threading.Thread(target=lambda: added.append(_run([Article("t1", " ".join(f"w{k}" for k in range(40)))], location)))
            adder.start()
            adder.join(60)
            assert added and len(added[0].table) == 1  # not kept out by the tracker

            def second() -> None:
                with other.tracker(said.append):
                    entered.set()

            waiter = threading.Thread(target=second)
            waiter.start()
            _until(lambda: bool(said))
            assert said and "placing articles into this index's events" in said[0]
            assert not entered.is_set()
        waiter.join(30)
        assert entered.is_set()
    finally:
        holder.close()
        other.close()


def test_export_to_standard_output_is_utf8_whatever_the_locale(tmp_path: Path) -> None:
    """The export to stdout went through the locale's encoding: an Arabic id failed with a traceback under ASCII."""
    location = str(tmp_path / "h.db")
    _run([Article(id="مقال-1", text="كلمات عربية كثيرة في هذا النص الطويل بما يكفي للمقارنة", date="2024-03-01")], location)
    done = subprocess.run([sys.executable, "-m", "dedup", "index", "export", location], capture_output=True,
                          env={**os.environ, "PYTHONIOENCODING": "ascii"}, timeout=120)
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
    assert json.loads(done.stdout.decode("utf-8"))["id"] == "مقال-1"


def test_prune_says_what_it_removed_when_the_service_texts_cannot_be_touched(tmp_path: Path) -> None:
    """The prune is committed before the service's texts are removed: a broken text store failed the command (exit 1,
    no count) though the articles were gone."""
    location = str(tmp_path / "h.db")
    _run([Article(id="old", text="one two three four five six seven eight nine", date="2020-01-01")], location)
    Path(location + ".texts").write_text("not a database", encoding="utf-8")
    res = CliRunner().invoke(app, ["index", "prune", location, "--before", "2021-01-01"])
    assert res.exit_code == 0, res.output
    assert "could not be removed" in res.output and "1 article dated before" in res.output


def test_prune_names_its_date_as_the_outputs_do(tmp_path: Path) -> None:
    """`dedup index prune --before 2021-01-01` said "1 articles dated before 2021-01-01T00:00:00+00:00 removed" where
    `index stats`, `index export` and events.json write 2021-01-01T00:00:00Z."""
    location = str(tmp_path / "h.db")
    _run([Article(id="old", text="one two three four five six seven eight nine", date="2020-01-01"),
          Article(id="new", text="ten eleven twelve thirteen fourteen fifteen sixteen seventeen", date="2022-01-01")], location)
    res = CliRunner().invoke(app, ["index", "prune", location, "--before", "2021-01-01"])
    assert res.exit_code == 0, res.output
    assert f"1 article dated before 2021-01-01T00:00:00Z removed; 1 left in {location}" in res.output


def test_an_export_onto_the_index_or_a_folder_is_refused(tmp_path: Path) -> None:
    """`dedup index export X -o X` replaced the index with its own JSON lines and exited 0."""
    loc = str(tmp_path / "h.db")
    _run(days()[0], loc)
    before = Path(loc).read_bytes()
    runner = CliRunner()
    for out in (loc, f"{tmp_path}/./h.db", f"{loc}.texts", f"{loc}-wal"):
        res = runner.invoke(app, ["index", "export", loc, "-o", out])
        assert res.exit_code == 1 and "the export would replace it" in res.output, out
    assert Path(loc).read_bytes() == before
    for name in ("h.db.jsonl", "h.db-export.jsonl"):  # a name that merely starts like the index's
        assert runner.invoke(app, ["index", "export", loc, "-o", str(tmp_path / name)]).exit_code == 0, name
    (tmp_path / "folder").mkdir()
    res = runner.invoke(app, ["index", "export", loc, "-o", str(tmp_path / "folder")])
    assert res.exit_code == 1 and "is a folder" in res.output and "Traceback" not in res.output


def test_an_index_path_under_a_file_or_ending_in_a_slash_is_one_line_and_makes_nothing(tmp_path: Path, seeds_dir: Path) -> None:
    """A path under a regular file was a traceback (NotADirectoryError) in dedupe, stories and serve; one ending in a
    slash made a file of that name and then failed on its lock ("Not a directory")."""
    afile = tmp_path / "afile"
    afile.write_text("{}", encoding="utf-8")
    runner = CliRunner()
    for loc, says in ((f"{afile}/x.sqlite", "is a file, not a folder"), (f"{tmp_path}/trail.sqlite/", "is a folder")):
        for cmd in (["dedupe", str(seeds_dir), "--out", str(tmp_path / "o")], ["stories", str(seeds_dir), "--out", str(tmp_path / "s")],
                    ["serve", "--port", "1"]):
            res = runner.invoke(app, [*cmd, "--index", loc, "-q"] if cmd[0] != "serve" else [*cmd, "--index", loc])
            assert res.exit_code == 1 and says in res.output and "Traceback" not in res.output, (cmd, res.output)
    assert afile.read_text(encoding="utf-8") == "{}" and not (tmp_path / "trail.sqlite").exists()


def test_another_applications_database_is_refused_untouched(tmp_path: Path) -> None:
    """It was switched to WAL (its header rewritten, -wal and -shm files made) before the refusal."""
    import sqlite3

    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE users (id, name)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    with pytest.raises(HistoryError, match="not a dedup index"):
        open_index(str(other), DedupConfig())
    assert other.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_an_index_with_anchors_and_one_without_are_not_mixed(location: str) -> None:
    """One --no-anchors run on an anchored index left its long articles unfindable by later runs' anchors."""
    from dedup.config import IndexConfig

    _run(days()[0], location)
    with pytest.raises(HistoryError, match=r"anchors \(this run: --no-anchors\)"):
        open_index(location, DedupConfig(index=IndexConfig(anchors=False)))


def test_an_export_names_every_copy_of_a_container(location: str) -> None:
    """A short item inside a roundup reprinted word for word: decisions named both roundups, the export one."""
    d1 = days()[0]
    roundup = "\n".join(a.text for a in d1[:3])
    feed = [Article("L1", roundup, source="a", date="2024-03-01T10:00:00"),
            Article("L2", roundup, source="b", date="2024-03-01T11:00:00"),
            Article("T", d1[0].text, source="c", date="2024-03-01T12:00:00")]
    rows = _rows(_run(feed, location))
    exported = {x["id"]: x for x in _export(location)}
    assert rows["T"]["contained_in"] == ["L1", "L2"]
    assert exported["T"]["contained_in"] == rows["T"]["contained_in"]


def test_a_redis_password_never_reaches_outputs_or_messages(redis_url: str, tmp_path: Path) -> None:
    """The password of the index URL was in summary.json, the page, /healthz and every message."""
    from dedup.errors import redact

    secret = redis_url.replace("redis://", "redis://:s3cret@")  # the server takes any password when it sets none
    feed = _write(tmp_path / "d1.jsonl", days()[0])
    runner = CliRunner()
    res = runner.invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "o"), "--index", secret, "-q"])
    if res.exit_code != 0:  # redis-server 6+ refuses AUTH when it has no password: the message still hides it
        assert "s3cret" not in res.output and "***" in res.output, res.output
    else:
        assert "s3cret" not in (tmp_path / "o" / "summary.json").read_text(encoding="utf-8")
    assert redact(secret) == redis_url.replace("redis://", "redis://:***@")
    for bad in ("redis://127.0.0.1:99999/0", "redis://127.0.0.1:abc/0", "redis://[::1/0"):
        res = runner.invoke(app, ["index", "stats", bad])
        assert res.exit_code == 1 and "not a Redis URL dedup can use" in res.output and "Traceback" not in res.output


def test_a_redis_index_that_vanished_is_not_a_new_history(redis_url: str) -> None:
    """After FLUSHDB (or a restart without persistence) the service went on as if the history were empty: articles
    stored before came back "kept", into an index without its settings."""
    import redis

    location = f"{redis_url}?prefix=gone{uuid.uuid4().hex[:6]}"
    _run(days()[0], location)
    idx = open_index(location, DedupConfig())
    try:
        assert idx.next_row() == len(days()[0])
        client = redis.Redis.from_url(redis_url)
        client.delete(*client.keys(f"{location.rsplit('=', 1)[1]}:*"))
        with pytest.raises(HistoryError, match="the index is gone from the Redis server"):
            idx.next_row()
        with pytest.raises(HistoryError, match="the index is gone"):  # not "no such article" (the service's 404)
            idx.known_ids([days()[0][0].id])
        with pytest.raises(HistoryError, match="the index is gone"):
            idx.group(days()[0][0].id)
        with pytest.raises(HistoryError, match="the index is gone"):
            with idx.writer():
                pass
        assert client.keys(f"{location.rsplit('=', 1)[1]}:*") == []  # nothing written under the prefix
    finally:
        idx.close()


def test_an_export_names_a_later_exact_copy_of_a_container_too(location: str) -> None:
    d1 = days()[0]
    roundup = "\n".join(a.text for a in d1[:3])
    _run([Article("L1", roundup, source="a", date="2024-03-01T10:00:00"),
          Article("T", d1[0].text, source="c", date="2024-03-01T12:00:00")], location)
    _run([Article("L-late", roundup, source="b", date="2024-03-02T10:00:00")], location)
    exported = {x["id"]: x for x in _export(location)}
    assert exported["L-late"]["relation"] == "exact" and exported["L-late"]["duplicate_of"] == "L1"
    assert exported["T"]["contained_in"] == ["L1", "L-late"]


def test_a_decision_lists_its_containers_in_the_exports_order(location: str) -> None:
    """An item inside a stored roundup and inside the feed's exact copy of it: decisions.jsonl named the feed's copy
    first (["L-late", "L1"]), the export and the service by row (["L1", "L-late"])."""
    d1 = days()[0]
    roundup = "\n".join(a.text for a in d1[:3])
    _run([Article("L1", roundup, source="a", date="2024-03-01T10:00:00")], location)
    rows = _rows(_run([Article("L-late", roundup, source="b", date="2024-03-02T10:00:00"),
                       Article("U", d1[1].text, source="e", date="2024-03-02T12:00:00")], location))
    exported = {x["id"]: x for x in _export(location)}
    assert rows["U"]["contained_in"] == exported["U"]["contained_in"] == ["L1", "L-late"]



def _decided_after(location: str, tmp_path: Path, feeds: list[list[Article]]) -> dict[str, dict]:
    """Each feed through `dedup dedupe --index`: the last one's decisions.jsonl, by id."""
    runner = CliRunner()
    for k, feed in enumerate(feeds):
        res = runner.invoke(app, ["dedupe", str(_write(tmp_path / f"d{k}.jsonl", feed)), "--out", str(tmp_path / f"o{k}"),
                                  "--index", location, "-q"])
        assert res.exit_code == 0, res.output
    lines = (tmp_path / f"o{len(feeds) - 1}" / "decisions.jsonl").read_text(encoding="utf-8").splitlines()
    return {r["id"]: r for r in map(json.loads, lines)}


def test_a_decision_names_the_stored_exact_copies_of_its_container(location: str, tmp_path: Path) -> None:
    """An item inside a stored roundup R reprinted word for word (R2 in its run, R3 in a later one): decisions.jsonl
    named R and R3 (the texts the feed's edges reach) and left out R2 (it shares R's representative, so no edge
    reaches it), where `dedup index export` and the service name R, R2 and R3."""
    d1 = days()[0]
    roundup = "\n".join(a.text for a in d1[:3])
    decided = _decided_after(location, tmp_path, [
        [Article("R", roundup, source="a", date="2024-03-01T10:00:00"),
         Article("R2", roundup, source="b", date="2024-03-01T11:00:00")],
        [Article("R3", roundup, source="d", date="2024-03-02T10:00:00")],
        [Article("U", d1[1].text, source="e", date="2024-03-03T12:00:00")]])  # inside R
    exported = {x["id"]: x["contained_in"] for x in _export(location)}
    assert exported["U"] == _containers_named(location)["U"] == ["R", "R2", "R3"]  # the export, the service's lookup
    assert decided["U"]["contained_in"] == exported["U"], decided["U"]


def test_a_near_copy_of_a_stored_item_names_the_stored_exact_copies_of_its_container(location: str, tmp_path: Path) -> None:
    """The same for a near copy of a stored item X that the stored roundup R holds: decisions.jsonl named R and R3."""
    d1 = days()[0]
    roundup = "\n".join(a.text for a in d1[:3])
    words = d1[1].text.split(" ")
    words[len(words) // 2] = "تغيير"
    decided = _decided_after(location, tmp_path, [
        [Article("R", roundup, source="a", date="2024-03-01T10:00:00"),
         Article("R2", roundup, source="b", date="2024-03-01T11:00:00"),
         Article("X", d1[1].text, source="c", date="2024-03-01T12:00:00")],
        [Article("R3", roundup, source="d", date="2024-03-02T10:00:00")],
        [Article("X-edit", " ".join(words), source="e", date="2024-03-03T12:00:00")]])
    exported = {x["id"]: x["contained_in"] for x in _export(location)}
    assert exported["X"] == exported["X-edit"] == ["R", "R2", "R3"]
    assert decided["X-edit"]["contained_in"] == exported["X-edit"], decided["X-edit"]

def _pairs_after(tmp_path: Path, k: int) -> set[frozenset[str]]:
    lines = (tmp_path / f"o{k}" / "pairs.jsonl").read_text(encoding="utf-8").splitlines()
    return {frozenset((r["id1"], r["id2"])) for r in map(json.loads, lines)}


def test_pairs_name_every_container_a_decision_names_stored_exact_copies_too(location: str, tmp_path: Path) -> None:
    """Day 1: a roundup R and its exact copy R2 (one representative); day 2: an item I inside R and its exact copy I2.
    decisions.jsonl named R and R2 in I's and I2's contained_in, but pairs.jsonl had edges to R only: a reader joining
    the two found no edge for R2. Every container named has its line now, with the scores of the edge through R."""
    d1 = days()[0]
    roundup = "\n".join(a.text for a in d1[:3])
    decided = _decided_after(location, tmp_path, [
        [Article("R", roundup, source="a", date="2024-03-01T10:00:00"),
         Article("R2", roundup, source="b", date="2024-03-01T11:00:00")],
        [Article("I", d1[1].text, source="e", date="2024-03-02T12:00:00"),
         Article("I2", d1[1].text, source="f", date="2024-03-02T13:00:00")]])
    assert decided["I"]["contained_in"] == decided["I2"]["contained_in"] == ["R", "R2"]
    lines = [json.loads(x) for x in (tmp_path / "o1" / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {frozenset((r["id1"], r["id2"])) for r in lines} == {frozenset(p) for p in
                                                              [("R", "I"), ("R", "I2"), ("R2", "I"), ("R2", "I2")]}
    assert len(lines) == 4 and len({tuple(v for k, v in r.items() if k not in ("id1", "id2")) for r in lines}) == 1
    assert all(r["relation"] == "contained" and r["id1"] in ("R", "R2") for r in lines)  # the edge's orientation
    summary = json.loads((tmp_path / "o1" / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"]["pairs_of_exact_copies"] == 3
    for d in decided.values():  # every article a decision names has its edge
        for other in d["contained_in"] + ([d["duplicate_of"]] if d["relation"] not in (None, "exact") else []):
            assert frozenset((d["id"], other)) in _pairs_after(tmp_path, 1), (d["id"], other)


def test_pairs_name_the_stored_exact_copies_of_an_item_inside_a_new_roundup(location: str, tmp_path: Path) -> None:
    """The other way round: a stored item X and its exact copy X2, then a roundup N holding X. pairs.jsonl had X-N
    only, where one batch over both days lists X2-N as well (the export names N for both)."""
    d1 = days()[0]
    _decided_after(location, tmp_path, [
        [Article("X", d1[1].text, source="a", date="2024-03-01T10:00:00"),
         Article("X2", d1[1].text, source="b", date="2024-03-01T11:00:00")],
        [Article("N", "\n".join(a.text for a in d1[:3]), source="e", date="2024-03-02T12:00:00")]])
    assert _pairs_after(tmp_path, 1) == {frozenset(("X", "N")), frozenset(("X2", "N"))}
    exported = {x["id"]: x["contained_in"] for x in _export(location)}
    assert exported["X"] == exported["X2"] == ["N"]


def test_a_later_runs_exact_copy_met_alone_names_its_texts_earlier_copies(location: str, tmp_path: Path) -> None:
    """R and its exact copy R2 stored in run 1, R3 (an exact copy of R) in run 3; run 4's item I inside the roundup,
    with --window-days 3, meets R3 only. R3 is its run's own representative, so the exact-copies lookup found R3 alone:
    decisions.jsonl, pairs.jsonl and the export named R3, where R and R2 hold the same text. Now they name R, R2, R3,
    and every name a decision gives has its line in pairs.jsonl."""
    decided = _copies_met_through_a_window(location, tmp_path, ["I"])
    assert decided["I"]["contained_in"] == ["R", "R2", "R3"], decided["I"]
    assert _pairs_after(tmp_path, 3) == {frozenset(("I", r)) for r in ("R", "R2", "R3")}
    exported = {x["id"]: x["contained_in"] for x in _export(location)}
    assert exported["I"] == _containers_named(location)["I"] == ["R", "R2", "R3"]


def _copies_met_through_a_window(location: str, tmp_path: Path, last: list[str]) -> dict[str, dict]:
    """Four runs into ``location``: a roundup R and its exact copy R2; an unrelated Z; R3, another exact copy of R
    (dated 19 days later); then ``last`` (of I, an item inside the roundup, and R4, one more exact copy) with
    ``--window-days 3``, which meets R3 only. The last run's decisions by id."""
    d1 = days()[0]
    roundup = "\n".join(a.text for a in d1[:3])
    last_feed = {"R4": Article("R4", roundup, source="f", date="2024-03-21T11:00:00"),
                 "I": Article("I", d1[1].text, source="e", date="2024-03-21T12:00:00")}
    feeds = [[Article("R", roundup, source="a", date="2024-03-01T10:00:00"),
              Article("R2", roundup, source="b", date="2024-03-01T11:00:00")],
             [Article("Z", d1[5].text, source="z", date="2024-03-10T10:00:00")],
             [Article("R3", roundup, source="d", date="2024-03-20T10:00:00")],
             [last_feed[i] for i in last]]
    runner = CliRunner()
    for k, feed in enumerate(feeds):
        window = ["--window-days", "3"] if k == 3 else []
        res = runner.invoke(app, ["dedupe", str(_write(tmp_path / f"d{k}.jsonl", feed)), "--out", str(tmp_path / f"o{k}"),
                                  "--index", location, "-q", *window])
        assert res.exit_code == 0, res.output
    lines = (tmp_path / "o3" / "decisions.jsonl").read_text(encoding="utf-8").splitlines()
    return {r["id"]: r for r in map(json.loads, lines)}


@pytest.mark.parametrize("last", [["I"], ["R4", "I"]], ids=["stored-copy-met-alone", "feed-copy-too"])
def test_an_item_inside_an_exact_copy_of_a_stored_keeper_met_alone_joins_the_keepers_group(
        location: str, tmp_path: Path, last: list[str]) -> None:
    """R and its exact copy R2 in run 1, R3 (an exact copy of R, in R's group) in run 3; run 4's item I inside the
    roundup, with --window-days 3, meets R3 only (and, in the second case, the feed's own exact copy R4). A member of
    a stored group never takes a new text in, only its center does: I was kept, as no edge reached R. R3 holds R's
    very text, so I verified against R3 is verified against R's text: I is R's duplicate (contained), as without a
    window, whichever copy of the text the run met; the pairs, containers and the stored record follow."""
    decided = _copies_met_through_a_window(location, tmp_path, last)
    i = decided["I"]
    assert (i["status"], i["group"], i["duplicate_of"], i["relation"]) == ("duplicate", "R", "R", "contained"), i
    assert i["scores"]["containment"] == 1.0 and i["contained_in"] == ["R", "R2", "R3", *last[:-1]]
    assert _pairs_after(tmp_path, 3) >= {frozenset(("I", r)) for r in ("R", "R2", "R3")}
    exported = {x["id"]: x for x in _export(location)}
    assert exported["I"]["group"] == "R" and exported["I"]["status"] == "duplicate", exported["I"]
    assert exported["I"]["contained_in"] == _containers_named(location)["I"] == ["R", "R2", "R3", *last[:-1]]


def _containers_named(location: str) -> dict[str, list[str]]:
    """id → the containers of its text as :meth:`containers_of` finds them, one article at a time (the service's way)."""
    from dedup.store.index import container_names

    idx = open_index(location, create=False)
    try:
        recs = idx.articles(np.array([x["row"] for x in idx.export()], dtype=np.int64))
        return {r.id: container_names(idx, idx.containers_of([r.rep])).get(r.rep, []) if r.rep >= 0 else [] for r in recs}
    finally:
        idx.close()


def test_the_containers_of_one_stored_text_are_those_the_export_names(location: str) -> None:
    """The service had no way to name the articles containing one article (only the export, reading every edge): a
    lookup by the held text gives what the export gives, containers of later runs and their exact copies included,
    after a prune too, and on an index made before the lookup was kept (read through until a writer makes it)."""
    import redis as redis_client

    d1 = days()[0]
    roundup = "\n".join(a.text for a in d1[:3])
    _run([Article("T", d1[0].text, source="c", date="2024-03-01T12:00:00"),
          Article("alone", d1[4].text, source="c", date="2024-03-01T12:00:00")], location)
    _run([Article("L1", roundup, source="a", date="2024-03-02T10:00:00"),  # holds the stored T
          Article("L-late", roundup, source="b", date="2024-03-02T11:00:00")], location)
    _run([Article("U", d1[1].text, source="e", date="2024-03-03T12:00:00")], location)  # inside the stored L1
    exported = {x["id"]: x["contained_in"] for x in _export(location)}
    assert exported["T"] == exported["U"] == ["L1", "L-late"] and exported["alone"] == []
    assert _containers_named(location) == exported

    idx = open_index(location, create=False)  # an index made before: without the lookup's index or hash
    try:
        if location.startswith("redis://"):
            client, prefix = redis_client.Redis.from_url(location.split("?")[0]), location.rsplit("=", 1)[1]
            client.delete(f"{prefix}:in")
            client.hdel(f"{prefix}:meta", "in")
        else:
            idx.conn.execute("DROP INDEX edges_b")
    finally:
        idx.close()
    assert _containers_named(location) == exported  # read through every edge
    idx = open_index(location, create=False)
    try:
        with idx.writer():  # the first writer makes it
            pass
        if location.startswith("redis://"):
            assert client.hexists(f"{prefix}:meta", "in") and client.hlen(f"{prefix}:in") == 2  # T's text and U's
        else:
            assert idx.conn.execute("SELECT name FROM sqlite_master WHERE name = 'edges_b'").fetchone() is not None
    finally:
        idx.close()
    assert _containers_named(location) == exported
    idx = open_index(location, create=False)
    try:
        with idx.writer():
            idx.prune(_epoch("2024-03-02T00:00:00"))  # T and alone go: only U is held
    finally:
        idx.close()
    exported = {x["id"]: x["contained_in"] for x in _export(location)}
    assert set(exported) == {"L1", "L-late", "U"} and exported["U"] == ["L1", "L-late"]
    assert _containers_named(location) == exported
    if location.startswith("redis://"):
        assert client.hlen(f"{prefix}:in") == 1


def test_an_index_made_without_anchors_before_the_setting_was_recorded_is_known_by_its_keys(tmp_path: Path) -> None:
    """Such an index records the anchors' sizes as an anchored one does; it has no anchor key."""
    import sqlite3

    from dedup.config import IndexConfig

    loc = str(tmp_path / "h.db")
    no = DedupConfig(index=IndexConfig(anchors=False))
    _run(days()[0], loc, no)
    conn = sqlite3.connect(loc)  # as the version before wrote it: no "enabled"
    params = json.loads(conn.execute("SELECT value FROM meta WHERE key = 'params'").fetchone()[0])
    params["anchors"].pop("enabled")
    conn.execute("UPDATE meta SET value = ? WHERE key = 'params'", (json.dumps(params, sort_keys=True),))
    conn.commit()
    conn.close()
    open_index(loc, no).close()  # its own setting: opens
    with pytest.raises(HistoryError, match=r"--no-anchors \(this run: anchors\)"):
        open_index(loc, DedupConfig())


def test_an_anchored_index_of_short_texts_opens_again(location: str) -> None:
    """Headlines hold no sampled anchor k-gram: the index must not be taken for one made with --no-anchors."""
    texts = ["alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu",
             "nu xi omicron pi rho sigma tau upsilon phi chi psi omega one two"]
    _run([Article("a", texts[0], date="2024-03-01T10:00:00")], location)
    _run([Article("b", texts[1], date="2024-03-02T10:00:00"), Article("c", texts[0], date="2024-03-02T11:00:00")], location)
    exported = {x["id"]: x for x in _export(location)}
    assert exported["c"]["duplicate_of"] == "a"
    with pytest.raises(HistoryError, match=r"anchors \(this run: --no-anchors\)"):
        from dedup.config import IndexConfig

        open_index(location, DedupConfig(index=IndexConfig(anchors=False)))


def test_an_index_in_a_folder_this_user_cannot_write_is_read_by_stats_and_export(tmp_path: Path) -> None:
    """An archived index (a read-only folder): stats and export said "unable to open database file", as did a run,
    without saying why."""
    folder = tmp_path / "archive"
    folder.mkdir()
    loc = str(folder / "h.db")
    _run(days()[0], loc)
    folder.chmod(0o555)
    immutable = False
    try:
        if os.access(folder, os.W_OK):  # root: the mode does not stop it, the immutable flag does
            if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
                pytest.skip("cannot make a folder read-only here (root, and no chattr +i on this file system)")
            immutable = True
        before = sorted(p.name for p in folder.iterdir())
        runner = CliRunner()
        res = runner.invoke(app, ["index", "stats", loc])
        assert res.exit_code == 0 and json.loads(res.output)["articles"] == len(days()[0]), res.output
        out = tmp_path / "export.jsonl"
        res = runner.invoke(app, ["index", "export", loc, "-o", str(out)])
        assert res.exit_code == 0, res.output
        assert len(out.read_text(encoding="utf-8").splitlines()) == len(days()[0])
        feed = tmp_path / "day2.jsonl"
        feed.write_text("".join(json.dumps({"id": a.id + "-again", "text": a.text}) + "\n" for a in days()[1]), encoding="utf-8")
        res = runner.invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "o"), "--index", loc, "-q"])
        assert res.exit_code == 1 and "cannot be written" in res.output and "Traceback" not in res.output, res.output
        assert sorted(p.name for p in folder.iterdir()) == before  # nothing made beside the index
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


@pytest.mark.parametrize("command", ["dedupe", "stories"])
def test_a_feed_without_ids_is_refused_with_an_index(tmp_path: Path, command: str) -> None:
    """Positions were the ids: the next day's articles got the same ones and were all skipped as already stored."""
    feed = tmp_path / "day.jsonl"
    feed.write_text("".join(json.dumps({"text": a.text}) + "\n" for a in days()[0]), encoding="utf-8")
    res = CliRunner().invoke(app, [command, str(feed), "--out", str(tmp_path / "o"), "--index", str(tmp_path / "h.db"), "-q"])
    assert res.exit_code == 1 and f"{feed}:1: the article has no id" in res.output and "--id-field" in res.output, res.output
    assert not (tmp_path / "o").exists()
    res = CliRunner().invoke(app, [command, str(feed), "--out", str(tmp_path / "o"), "-q"])  # without an index: positions
    assert res.exit_code == 0, res.output


def test_an_exact_copy_of_a_stored_article_has_probability_1_as_in_one_batch(tmp_path: Path) -> None:
    """In one batch an exact copy's probability is 1; met in the history it was the model's (0.05 for a short text)."""
    text = "The finance minister announced on Tuesday a new package of measures to support small businesses."
    loc = str(tmp_path / "h.db")
    _run([Article("a", text, date="2024-03-01T10:00:00")], loc)
    rows = _rows(_run([Article("b", text, date="2024-03-02T10:00:00")], loc))
    assert rows["b"]["relation"] == "exact" and rows["b"]["scores"]["probability"] == 1.0, rows["b"]
    batch = _rows(dedupe([Article("a", text, date="2024-03-01T10:00:00"), Article("b", text, date="2024-03-02T10:00:00")],
                         DedupConfig()))
    assert batch["b"]["scores"] == rows["b"]["scores"]


@pytest.mark.parametrize("date", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+05:00"])
def test_a_date_out_of_the_years_in_utc_is_undated_not_a_crash(location: str, date: str) -> None:
    """It parsed, then its zone took it past year 9999 (or before year 1) in UTC: the index's date crashed the run."""
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu"
    rows = _rows(_run([Article("ok", "one two three four five six seven eight nine ten eleven", date="2015-07-25T10:00:00Z"),
                       Article("odd", text, date=date)], location))
    assert rows["odd"]["status"] == "kept"
    assert {x["id"]: x["date"] for x in _export(location)} == {"ok": "2015-07-25T10:00:00Z", "odd": None}


def test_a_new_redis_index_is_said_to_be_new(redis_url: str, tmp_path: Path) -> None:
    """A process cannot tell a first run from a history the server lost: a lost history passed without a word."""
    feed = _write(tmp_path / "d1.jsonl", days()[0])
    location = f"{redis_url}?prefix=new{uuid.uuid4().hex[:6]}"
    runner = CliRunner()
    res = runner.invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "o1"), "--index", location, "-q"])
    assert res.exit_code == 0 and "a new, empty one is made" in res.output, res.output
    res = runner.invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "o2"), "--index", location, "-q"])
    assert res.exit_code == 0 and "a new, empty one is made" not in res.output, res.output


def test_the_read_only_look_at_a_database_and_the_reading_of_a_redis_location(tmp_path: Path) -> None:
    import sqlite3

    from dedup.store.redis_address import redis_address
    from dedup.store.sqlite_file import dedup_or_blank

    blank = tmp_path / "blank.db"
    sqlite3.connect(blank).close()
    assert dedup_or_blank(str(blank))
    loc = str(tmp_path / "h.db")
    _run(days()[0], loc)
    assert dedup_or_blank(loc)
    assert redis_address("redis://:pw@h:6379/2?prefix=feeds") == ("redis://:pw@h:6379/2", "feeds", {})
    with pytest.raises(HistoryError, match="not a Redis URL dedup can use"):
        redis_address("redis://h:99999/0")


@pytest.mark.parametrize("command", [["index", "stats"], ["index", "export"], ["index", "prune", "--before", "2024-01-01"]])
def test_a_folder_given_to_an_index_command_names_no_option_it_lacks(tmp_path: Path, command: list[str]) -> None:
    """`dedup index stats FOLDER` said "--index takes a file path": those commands take LOCATION, no --index."""
    res = CliRunner().invoke(app, [*command[:2], str(tmp_path), *command[2:]])
    assert res.exit_code == 1 and res.output == (f"dedup: error: {tmp_path}: is a folder; an index is a SQLite file "
                                                 "(created when absent) or a redis:// URL\n")
