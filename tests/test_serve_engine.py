"""The engine of ``dedup serve`` under concurrent requests: turns, coalesced runs, failures, warm-up.

The engine is driven from threads in this process (no HTTP), with the first
run held until the other requests wait, so the order in which batches queue
and which of them share a run are known. The real server under a burst is
in :func:`test_a_bad_request_in_a_burst_fails_alone_and_the_others_are_answered`.
"""

from __future__ import annotations

import collections
import logging
import random
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import pytest

from _servers import SEEDS, as_records, batches, free_port, held_by_another_process, start_serve, stop

from dedup.config import DedupConfig
from dedup.flows.dedupe import dedupe
from dedup.io.dedupe_rows import decision_rows
from dedup.serve.engine import Engine
from dedup.store.history import open_index
from dedup.types import Article

ALREADY = "skipped: already in the index"


@pytest.fixture
def log_of():
    """``log_of(name, level)``: the records logger ``name`` emits from ``level`` up during the test, on a handler of its
    own (a CLI run in this process stops the `dedup` logger's propagation); detached, its level restored, after."""
    attached: list[tuple[logging.Logger, logging.Handler, int]] = []

    def attach(name: str, level: int = logging.NOTSET) -> list[logging.LogRecord]:
        records: list[logging.LogRecord] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                records.append(record)

        log, handler = logging.getLogger(name), Keep(level)
        attached.append((log, handler, log.level))
        log.addHandler(handler)
        if level and log.getEffectiveLevel() > level:
            log.setLevel(level)
        return records

    yield attach
    for log, handler, level in reversed(attached):
        log.removeHandler(handler)
        log.setLevel(level)


def _said(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records]


def _until_said(records: list[logging.LogRecord], text: str, seconds: float = 60) -> None:
    """Wait until a message of ``records`` holds ``text`` (or ``seconds`` have passed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not any(text in m for m in _said(records)):
        time.sleep(0.05)


class Held:
    """Posts batches to ``engine`` from threads, in a known order, the first run held until all the others wait.

    ``runs`` lists the ids of every run of the flow, in the order they ran;
    ``fail(ids)`` (optional) raises inside a run, after it added its batch
    when ``after_commit``.
    """

    def __init__(self, engine: Engine, monkeypatch, fail=None, after_commit: bool = False) -> None:
        self.engine, self.fail, self.after_commit = engine, fail, after_commit
        self.runs: list[list[str]] = []
        self.waiting = 0
        self.entered = threading.Event()
        real = engine._decide

        def deciding(articles: list[Article]) -> list[dict]:
            if not self.runs:
                self.entered.set()
                deadline = time.monotonic() + 60
                while len(engine._queue) < self.waiting and time.monotonic() < deadline:
                    time.sleep(0.01)
            ids = [a.id for a in articles]
            self.runs.append(ids)
            if self.fail is not None and self.fail(ids) and not self.after_commit:
                raise RuntimeError("the flow broke on this run")
            rows = real(articles)
            if self.fail is not None and self.fail(ids):
                raise RuntimeError("the flow broke after the commit")
            return rows

        monkeypatch.setattr(engine, "_decide", deciding)

    def post(self, posts: list[list[Article]]) -> tuple[dict[int, list[dict]], dict[int, BaseException]]:
        """Post ``posts[0]`` (held), then each other batch once the previous one queued; wait for every answer."""
        answers: dict[int, list[dict]] = {}
        errors: dict[int, BaseException] = {}
        self.waiting = len(posts) - 1

        def post(k: int) -> None:
            try:
                answers[k] = self.engine.add(posts[k])
            except Exception as exc:
                errors[k] = exc

        threads = [threading.Thread(target=post, args=(k,)) for k in range(len(posts))]
        threads[0].start()
        assert self.entered.wait(60)
        for k, t in enumerate(threads[1:], 1):
            t.start()
            deadline = time.monotonic() + 60
            while len(self.engine._queue) < k and time.monotonic() < deadline:
                time.sleep(0.005)
        for t in threads:
            t.join(120)
        return answers, errors


def _fresh(n: int, tag: str, seed: int) -> list[Article]:
    """``n`` unrelated articles of random seed words."""
    rng = random.Random(seed)
    words = sorted({w for p in SEEDS for w in p.read_text(encoding="utf-8").split() if len(w) > 2})
    return [Article(id=f"{tag}{k}", text=" ".join(rng.choice(words) for _ in range(80)), date="2024-04-30T09:00:00")
            for k in range(n)]


def _one_after_another(location: str, posts: list[list[Article]]) -> list[list[dict]]:
    """What ``dedup dedupe --index`` decides for ``posts``, one run each, in order, on a fresh index."""
    idx = open_index(location, DedupConfig())
    try:
        return [list(decision_rows(dedupe(p, DedupConfig(), index=idx))) for p in posts]
    finally:
        idx.close()


def _stored(location: str) -> collections.Counter[str]:
    idx = open_index(location, create=False)
    try:
        return collections.Counter(r["id"] for r in idx.export())
    finally:
        idx.close()


def test_batches_are_decided_in_the_order_they_arrived(tmp_path: Path, monkeypatch) -> None:
    """One run per batch, first come first decided (a plain lock hands the index to any waiting request)."""
    engine = Engine(str(tmp_path / "h.db"))
    held = Held(engine, monkeypatch)
    posts = [_fresh(3, f"p{k}-", k) for k in range(8)]
    try:
        answers, errors = held.post(posts)
    finally:
        engine.close()
    assert not errors
    assert held.runs == [[a.id for a in p] for p in posts]
    assert all([d["id"] for d in answers[k]] == [a.id for a in posts[k]] for k in range(8))
    assert (engine.runs, engine.batches) == (8, 8)


def test_coalesced_batches_get_their_own_decisions_those_of_one_run_over_them(tmp_path: Path, monkeypatch) -> None:
    """Copies across batches decided in one run: each request its own rows; equal to `dedupe --index` over the merged
    batches; against the batches one after another, the same status, keeper and relation for every article, and
    only the fields that say what came before differ (listed)."""
    engine = Engine(str(tmp_path / "h.db"), coalesce=True)
    held = Held(engine, monkeypatch)
    opener = _fresh(4, "open", 1)
    posts = [opener, *batches()]  # batches 2 and 3 hold copies of batch 1's articles (near, exact, of a lone one)
    try:
        answers, errors = held.post(posts)
    finally:
        engine.close()
    assert not errors
    assert held.runs == [[a.id for a in opener], [a.id for b in posts[1:] for a in b]]  # the three waiting ones: one run
    assert all([d["id"] for d in answers[k]] == [a.id for a in posts[k]] for k in range(4))
    assert (engine.runs, engine.batches) == (2, 4)

    merged = _one_after_another(str(tmp_path / "merged.db"), [opener, [a for b in posts[1:] for a in b]])
    assert [answers[0], [d for k in (1, 2, 3) for d in answers[k]]] == merged

    seq = {d["id"]: d for rows in _one_after_another(str(tmp_path / "seq.db"), posts) for d in rows}
    got = {d["id"]: d for k in range(4) for d in answers[k]}
    differ = {}
    for i, d in got.items():
        for key in ("status", "duplicate_of", "relation", "contained_in"):
            assert d.get(key) == seq[i].get(key), (i, key)
        fields = sorted(k for k in set(d) | set(seq[i]) if d.get(k) != seq[i].get(k))
        if fields:
            differ[i] = fields
    # lone: alone when its batch was decided by itself, the keeper of lone-copy's group within the run;
    # the copies: their keeper came in the same run, not from the index (no seen_before); and the cosine of a
    # pair is measured with the IDF of the articles decided together (the run, not the one batch)
    assert set(differ) <= {"lone", "b1", "b2", "lone-copy", "b3", "b4"}
    assert differ["lone"] == ["group", "reason"] and got["lone"]["group"] == "lone" and seq["lone"]["group"] is None
    for copy in ("lone-copy", "b3", "b4"):
        assert seq[copy]["seen_before"] is not None and got[copy]["seen_before"] is None
        assert set(differ[copy]) <= {"reason", "scores", "seen_before"}
        assert {k for k in got[copy]["scores"] if got[copy]["scores"][k] != seq[copy]["scores"][k]} <= {"cosine", "probability"}
    assert all(set(f) <= {"group", "reason", "scores"} for i, f in differ.items() if i in ("b1", "b2"))


def test_a_teaser_and_its_full_article_in_one_run_are_decided_as_one_batch_would(tmp_path: Path, monkeypatch) -> None:
    """The one change of status coalescing makes: a later batch of the run changes an earlier one's decision.

    One after another, the teaser is stored kept, and a stored decision never
    changes; the full article, which contains it, cannot be its copy: both
    stay kept. In one run the teaser is contained in the full article, as in
    `dedup dedupe` over both.
    """
    full = SEEDS[2].read_text(encoding="utf-8")
    teaser = " ".join(full.split()[: len(full.split()) // 3])
    posts = [_fresh(2, "open", 2), [Article(id="teaser", text=teaser, date="2024-05-01T08:00:00", source="wire")],
             [Article(id="full", text=full, date="2024-05-01T09:00:00", source="outlet")]]
    engine = Engine(str(tmp_path / "h.db"), coalesce=True)
    held = Held(engine, monkeypatch)
    try:
        answers, errors = held.post(posts)
    finally:
        engine.close()
    assert not errors and len(held.runs) == 2
    seq = [rows[0] for rows in _one_after_another(str(tmp_path / "seq.db"), posts)[1:]]
    assert [(d["status"], d["duplicate_of"]) for d in seq] == [("kept", None), ("kept", None)]
    got = [answers[1][0], answers[2][0]]
    assert [(d["status"], d["duplicate_of"], d["relation"]) for d in got] == [("duplicate", "full", "contained"), ("kept", None, None)]
    one_batch = list(decision_rows(dedupe([posts[1][0], posts[2][0]])))
    assert [(d["status"], d["duplicate_of"]) for d in one_batch] == [(d["status"], d["duplicate_of"]) for d in got]


def test_a_run_that_breaks_before_adding_anything_is_decided_again_batch_by_batch(tmp_path: Path, monkeypatch) -> None:
    engine = Engine(str(tmp_path / "h.db"), coalesce=True)
    held = Held(engine, monkeypatch, fail=lambda ids: "poison" in ids)
    posts = [_fresh(2, "open", 3), _fresh(3, "a", 4), [*_fresh(2, "b", 5), Article(id="poison", text="x " * 50)], _fresh(3, "c", 6)]
    try:
        answers, errors = held.post(posts)
    finally:
        engine.close()
    assert held.runs == [["open0", "open1"], ["a0", "a1", "a2", "b0", "b1", "poison", "c0", "c1", "c2"],
                         ["a0", "a1", "a2"], ["b0", "b1", "poison"], ["c0", "c1", "c2"]]
    assert set(answers) == {0, 1, 3} and set(errors) == {2} and "broke on this run" in str(errors[2])
    assert all(d["status"] == "kept" and not d["reason"].startswith(ALREADY) for k in (1, 3) for d in answers[k])
    assert _stored(str(tmp_path / "h.db")) == collections.Counter(["open0", "open1", "a0", "a1", "a2", "c0", "c1", "c2"])


def test_a_run_that_breaks_after_adding_its_batches_fails_them_all_without_deciding_again(tmp_path: Path, monkeypatch) -> None:
    """Decided again, its articles would be answered 'already in the index': every batch of the run gets the error."""
    engine = Engine(str(tmp_path / "h.db"), coalesce=True)
    held = Held(engine, monkeypatch, fail=lambda ids: "a0" in ids, after_commit=True)
    posts = [_fresh(2, "open", 3), _fresh(3, "a", 4), _fresh(3, "b", 5)]
    try:
        answers, errors = held.post(posts)
    finally:
        engine.close()
    assert len(held.runs) == 2 and set(answers) == {0} and set(errors) == {1, 2}
    assert all("after the commit" in str(e) for e in errors.values())
    assert set(_stored(str(tmp_path / "h.db"))) == {"open0", "open1", "a0", "a1", "a2", "b0", "b1", "b2"}


@pytest.mark.parametrize("coalesce", [False, True], ids=["one-run-per-batch", "coalesce"])
def test_stop_refuses_the_batches_not_started_and_finishes_those_of_the_run_under_way(tmp_path: Path, monkeypatch,
                                                                                      coalesce: bool) -> None:
    """SIGTERM calls stop() during a run. One run per batch: stopped in batch 0's run, batches 1-3 (waiting) are
    refused whole. Coalescing: stopped in the run of batches 1-3, which their three requests wait for, all are
    answered (refusing a batch another request is deciding would answer an error for a batch then committed)."""
    from dedup.serve.engine import Stopping

    engine = Engine(str(tmp_path / "h.db"), coalesce=coalesce)
    real, calls = engine._decide, []

    def deciding(articles: list[Article]) -> list[dict]:
        calls.append(len(articles))
        if len(calls) == (2 if coalesce else 1):
            engine.stop()
            time.sleep(0.2)  # the waiting requests wake meanwhile
        return real(articles)

    monkeypatch.setattr(engine, "_decide", deciding)
    held = Held(engine, monkeypatch)
    posts = [_fresh(3, f"s{k}-", k) for k in range(4)]
    try:
        answers, errors = held.post(posts)
        with pytest.raises(Stopping):
            engine.add(_fresh(2, "late-", 9))
    finally:
        engine.close()
    if coalesce:
        assert not errors and sorted(answers) == [0, 1, 2, 3] and calls == [3, 9]
    else:
        assert sorted(answers) == [0] and sorted(errors) == [1, 2, 3] and calls == [3]
        assert all(isinstance(e, Stopping) and "nothing of this batch was added" in str(e) for e in errors.values())
    assert set(_stored(str(tmp_path / "h.db"))) == {a.id for k in answers for a in posts[k]}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning", "ignore::UserWarning")  # Dask's own, as in test_exec
def test_with_dask_the_runs_share_one_cluster_and_decide_as_local_processes(tmp_path: Path, monkeypatch) -> None:
    """--backend dask opened a Dask cluster per batch (1.4-2.6 s each); the decisions do not depend on the backend."""
    pytest.importorskip("distributed")
    import dedup.exec as exec_module
    from dedup.runtime import Runtime

    opened = []
    real_open = exec_module.open_executor

    def counting(runtime, *args, **kwargs):
        opened.append(runtime.backend)
        return real_open(runtime, *args, **kwargs)

    monkeypatch.setattr(exec_module, "open_executor", counting)
    monkeypatch.setattr("dedup.flows.dedupe.open_executor", counting)
    posts = [_fresh(4, f"d{k}-", k) for k in range(3)]
    posts[2] += [Article(id="d-copy", text=posts[0][0].text + " وأضاف", date="2024-04-30T10:00:00")]
    answers = {}
    for backend in ("dask", "local"):
        engine = Engine(str(tmp_path / f"{backend}.db"), runtime=Runtime(backend=backend, n_jobs=2))
        try:
            engine.warm_up()
            answers[backend] = [engine.add(p) for p in posts]
        finally:
            engine.close()
    assert opened.count("dask") == 1 and opened.count("local") == 4  # dask: once for the warm-up and the 3 batches (was 4)
    assert answers["dask"] == answers["local"] and answers["dask"][2][-1]["duplicate_of"] == "d0-0"


def test_warm_up_runs_the_whole_decision_and_adds_nothing(tmp_path: Path) -> None:
    engine = Engine(str(tmp_path / "h.db"))
    try:
        assert engine.warm_up() == 1  # one pair verified: the model and the IDF ran
        assert engine.next_row() == 0 and engine.texts.get(["warm-1", "warm-2"]) == {}
        assert (engine.runs, engine.batches) == (0, 0)
    finally:
        engine.close()


def test_a_bad_request_in_a_burst_fails_alone_and_the_others_are_answered(tmp_path: Path) -> None:
    """A real `dedup serve --coalesce` gets eight posts at once: a bad record and malformed JSON among them."""
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("fastapi")
    port, token = free_port(), uuid.uuid4().hex
    (tmp_path / "token").write_text(token, encoding="utf-8")
    location = str(tmp_path / "h.db")
    proc = start_serve(["--index", location, "--token-file", str(tmp_path / "token"), "--coalesce"], port, token, tmp_path / "log")
    good = [as_records(b) for b in batches()] + [as_records(_fresh(5, f"x{k}-", 10 + k)) for k in range(3)]
    bad_record = as_records(_fresh(3, "bad", 20))
    bad_record[1]["text"] = None
    bodies = [("json", b) for b in good[:3]] + [("json", bad_record)] + [("json", b) for b in good[3:5]] + \
             [("raw", b'[{"id": "y", "text": "unterminated]')] + [("json", good[5])]
    results: dict[int, httpx.Response] = {}
    start = threading.Barrier(len(bodies))

    def post(k: int) -> None:
        kind, body = bodies[k]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
            start.wait()
            if kind == "json":
                results[k] = client.post("/v1/articles", json=body)
            else:
                results[k] = client.post("/v1/articles", content=body, headers={"Content-Type": "application/json"})

    try:
        threads = [threading.Thread(target=post, args=(k,)) for k in range(len(bodies))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30).text
    finally:
        stop(proc)
    assert results[3].status_code == 422 and results[3].json()["record"] == {"index": 1, "id": "bad1"}
    assert results[6].status_code == 400 and results[6].json()["error"] == "bad_json"
    for k, (kind, body) in enumerate(bodies):
        if k in (3, 6):
            continue
        assert results[k].status_code == 200, results[k].text
        assert [d["id"] for d in results[k].json()] == [r["id"] for r in body]
    stored = _stored(location)
    assert set(stored.values()) == {1} and set(stored) == {r["id"] for b in good for r in b}
    assert "dedup_index_run_batches_total 6" in metrics  # the two bad requests never queued
    runs = int(next(line.split()[1] for line in metrics.splitlines() if line.startswith("dedup_index_runs_total ")))
    assert 1 <= runs <= 6



def test_a_failed_placement_into_events_is_tried_again_by_the_next_pass(tmp_path: Path, monkeypatch) -> None:
    """--stories-every: a pass that fails (another stories run saved first, Redis down) loses nothing: its articles go
    back to the next pass; the batches posted meanwhile are decided as usual."""
    import dedup.flows.stories as flow

    real, calls = flow.stories, []

    def flaky(articles, *args, **kw):
        calls.append(len(articles))
        if len(calls) == 1:
            raise RuntimeError("a pass that fails")
        return real(articles, *args, **kw)

    monkeypatch.setattr(flow, "stories", flaky)
    loc = str(tmp_path / "h.db")
    engine = Engine(loc, DedupConfig(), stories_every=0.2)
    try:
        first, second = batches()[:2]
        engine.add(first)
        deadline = time.monotonic() + 30
        while not calls and time.monotonic() < deadline:
            time.sleep(0.05)
        engine.add(second)
        ids = [a.id for a in first + second]
        while time.monotonic() < deadline and len(engine._reader.stories.lookup(ids)) < len(ids):
            time.sleep(0.1)
        tracked = engine._reader.stories.lookup(ids)
    finally:
        engine.close()
    assert calls[0] == len(first) and sum(calls[1:]) == len(first) + len(second)
    assert sorted(tracked) == sorted(ids) and engine.placer is not None and engine.placer.placed == len(ids)


def test_placement_follows_the_dedupe_normalization_and_a_bad_pair_is_said_at_start(tmp_path: Path) -> None:
    """[dedupe.normalize] repair = false: stories compare the texts dedupe normalized, so the placer must normalize the
    same way (every pass failed, retried forever); a placer built otherwise is refused at start-up."""
    from dedup.config import NormalizeConfig, StoriesConfig
    from dedup.errors import ConfigError

    plain = DedupConfig(normalize=NormalizeConfig(repair=False))
    engine = Engine(str(tmp_path / "a.db"), plain, StoriesConfig(normalize=plain.normalize), stories_every=0.2)
    try:
        engine.placer.check()
        first = batches()[0]
        engine.add(first)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and engine.placer.placed < len(first):
            time.sleep(0.1)
    finally:
        engine.close()
    assert engine.placer.placed == len(first) and engine.placer.given_up == 0
    other = Engine(str(tmp_path / "b.db"), plain, StoriesConfig(), stories_every=5)
    try:
        with pytest.raises(ConfigError, match="normalize"):
            other.placer.check()
    finally:
        other.close()


def test_a_pass_that_cannot_succeed_is_given_up_at_once(tmp_path: Path, log_of) -> None:
    """A `dedup stories --index` run with other settings saved first (after the service started): no pass can place
    the articles; they were retried forever, each pass a traceback."""
    from dedup.config import StoriesConfig
    from dedup.flows.stories import stories

    records = log_of("dedup.serve.placer", logging.ERROR)
    loc = str(tmp_path / "h.db")
    engine = Engine(loc, DedupConfig(), stories_every=0.2)
    try:
        engine.placer.check()  # no story state yet: nothing to disagree with
        first, second = batches()[:2]
        index = open_index(loc, DedupConfig())
        try:
            stories(first, StoriesConfig(window_days=2.0), index=index)
        finally:
            index.close()
        engine.add(second)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and engine.placer.given_up < len(second):
            time.sleep(0.1)
        time.sleep(0.5)  # a pass more, were it retried
    finally:
        engine.close()
    assert engine.placer.given_up == len(second) and engine.placer.placed == 0
    gave_up = [r for r in records if "gave up placing" in r.getMessage()]
    assert len(gave_up) == 1 and "other settings" in gave_up[0].getMessage() and not gave_up[0].exc_info


def test_passes_that_keep_failing_are_given_up_after_five(tmp_path: Path, monkeypatch) -> None:
    """A backlog retried forever grows with every batch and holds the queue's turn each pass: after MAX_FAILED_PASSES
    failed passes in a row, the articles waiting are given up (placed later by `dedup stories --index`)."""
    import dedup.flows.stories as flow
    from dedup.serve.placer import MAX_FAILED_PASSES

    calls = []

    def broken(articles, *args, **kw):
        calls.append(len(articles))
        raise RuntimeError("the index is down")

    monkeypatch.setattr(flow, "stories", broken)
    engine = Engine(str(tmp_path / "h.db"), DedupConfig(), stories_every=0.1)
    try:
        first = batches()[0]
        engine.add(first)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and engine.placer.given_up < len(first):
            time.sleep(0.05)
        time.sleep(0.3)  # passes after it find nothing waiting
    finally:
        engine.close()
    assert calls == [len(first)] * MAX_FAILED_PASSES and engine.placer.given_up == len(first) and engine.placer.placed == 0


def test_articles_left_unplaced_at_stop_are_counted_in_the_log(tmp_path: Path, log_of) -> None:
    records = log_of("dedup.serve.placer", logging.WARNING)
    engine = Engine(str(tmp_path / "h.db"), DedupConfig(), stories_every=3600)  # no pass before the stop
    try:
        first = batches()[0]
        engine.add(first)
    finally:
        engine.close()
    assert _said(records) == [f"{len(first)} articles added were not placed into events before the service stopped; "
                    "`dedup stories --index` over them places them"]


def _placed(engine: Engine, ids: list[str], seconds: float) -> dict:
    """The stored story rows of ``ids`` once the service's passes have placed them all (or ``seconds`` have passed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(engine._reader.stories.lookup(ids)) < len(ids):
        time.sleep(0.1)
    return engine._reader.stories.lookup(ids)


def test_batches_are_decided_while_a_pass_places_articles_into_events(tmp_path: Path, monkeypatch) -> None:
    """--stories-every: a pass places its articles under the index's tracker lock, on a connection of its own, so a
    batch posted while it places is decided and answered at once, not after the pass; both are placed in the end."""
    import dedup.flows.story_history as story_history

    real, placing, go = story_history.track_with_index, threading.Event(), threading.Event()

    def held(*args, **kw):
        placing.set()
        assert go.wait(60)
        return real(*args, **kw)

    monkeypatch.setattr(story_history, "track_with_index", held)
    engine = Engine(str(tmp_path / "h.db"), DedupConfig(), stories_every=0.1)
    decided: list[list[dict]] = []
    try:
        first, second = batches()[:2]
        engine.add(first)
        assert placing.wait(60)  # the pass is placing the first batch, and stays there until `go`
        poster = threading.Thread(target=lambda: decided.append(engine.add(second)))
        poster.start()
        poster.join(60)
        during = bool(decided) and not go.is_set()
        go.set()
        ids = [a.id for a in first + second]
        tracked = _placed(engine, ids, 60)
    finally:
        go.set()
        engine.close()
    assert during, "the batch waited for the pass"
    assert [r["id"] for r in decided[0]] == [a.id for a in second]
    assert sorted(tracked) == sorted(ids) and engine.placer is not None and engine.placer.placed == len(ids)


def test_with_dask_the_passes_place_the_articles_as_local_processes(tmp_path: Path) -> None:
    """--backend dask with --stories-every: each pass runs the stories flow on Dask (a cluster of its own, started by
    the pass's thread, not the service's batches'), and the events are those of local processes."""
    pytest.importorskip("distributed")
    from dedup.runtime import Runtime

    posts = [_fresh(4, f"d{k}-", k) for k in range(2)]
    posts[1] += [Article(id="d-copy", text=posts[0][0].text + " وأضاف", date="2024-04-30T10:00:00")]
    ids = [a.id for p in posts for a in p]
    events = {}
    for backend in ("dask", "local"):
        engine = Engine(str(tmp_path / f"{backend}.db"), runtime=Runtime(backend=backend, n_jobs=2), stories_every=0.2)
        try:
            for p in posts:
                engine.add(p)
            events[backend] = {i: r.event for i, r in _placed(engine, ids, 180).items()}
        finally:
            engine.close()
        assert engine.placer is not None and engine.placer.given_up == 0
    assert sorted(events["dask"]) == sorted(ids) and events["dask"] == events["local"]
    assert events["dask"]["d-copy"] == events["dask"]["d0-0"]  # the copy joins its original's event


def test_with_local_workers_a_pass_runs_in_this_process_and_batches_meanwhile_all_succeed(tmp_path: Path, monkeypatch) -> None:
    """--jobs 2 --stories-every: the engine's batches use the process's pool of workers, and a pass whose tracking
    started workers of its own shut that pool down under a batch running meanwhile (ShutdownExecutorError: a failed
    POST). A pass now runs in this process with local workers (on Dask, on its own cluster); batches posted by two
    clients while passes run all succeed, and everything is placed."""
    import dedup.flows.stories as flow
    from dedup.runtime import Runtime
    from dedup.serve.placer import pass_runtime

    assert pass_runtime(Runtime(n_jobs=2)).n_jobs == 1 and pass_runtime(Runtime(n_jobs=2, backend="dask")).n_jobs == 2
    real, runtimes = flow.stories, []

    def seen(*args, **kw):
        runtimes.append(kw["runtime"])
        return real(*args, **kw)

    monkeypatch.setattr(flow, "stories", seen)
    engine = Engine(str(tmp_path / "h.db"), DedupConfig(), runtime=Runtime(n_jobs=2, chunk_size=20), stories_every=0.1)
    posts = [_fresh(30, f"c{c}b{b}-", 100 * c + b) for c in range(2) for b in range(4)]
    failures: list[BaseException] = []

    def client(mine: list[list[Article]]) -> None:
        for batch in mine:
            try:
                engine.add(batch)
            except BaseException as exc:  # noqa: BLE001  (what a POST would answer 500 for)
                failures.append(exc)
            time.sleep(0.05)

    try:
        threads = [threading.Thread(target=client, args=(posts[c * 4:(c + 1) * 4],)) for c in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        tracked = _placed(engine, [a.id for p in posts for a in p], 120)
        ids = [a.id for p in posts for a in p]
    finally:
        engine.close()
    assert failures == [] and sorted(tracked) == sorted(ids)
    assert runtimes and all(r.n_jobs == 1 for r in runtimes)


def test_a_pass_that_waits_for_another_stories_run_says_so_in_the_log(tmp_path: Path, log_of) -> None:
    """A `dedup stories --index` run of another process holds the stories lock: the pass waits for it, and the service's
    log says why no article is being placed, then the pass places them once the lock is free."""
    records = log_of("dedup.serve.placer")
    loc = str(tmp_path / "h.db")
    engine = Engine(loc, DedupConfig(), stories_every=0.1)
    try:
        first = batches()[0]
        with held_by_another_process(loc, "tracker"):
            engine.add(first)
            _until_said(records, "placing articles into this index's events")
            assert engine._reader.stories.lookup([a.id for a in first]) == {}
        tracked = _placed(engine, [a.id for a in first], 60)
    finally:
        engine.close()
    assert any("waiting for it to finish" in m for m in _said(records)), _said(records)
    assert sorted(tracked) == sorted(a.id for a in first)


def test_stopping_calls_off_a_pass_that_waits_for_another_stories_run(tmp_path: Path, log_of) -> None:
    """Another process's `dedup stories --index` holds the stories lock for long: the service stops at once (the pass
    waiting for it is called off, having changed nothing), and its log counts the articles left unplaced."""
    records = log_of("dedup.serve.placer", logging.WARNING)
    loc = str(tmp_path / "h.db")
    engine = Engine(loc, DedupConfig(), stories_every=0.1)
    closer = threading.Thread(target=engine.close)
    try:
        first = batches()[0]
        with held_by_another_process(loc, "tracker"):
            engine.add(first)
            _until_said(records, "placing articles into this index's events")
            closer.start()
            closer.join(30)
            stopped_while_held = not closer.is_alive()
    finally:
        _joined(closer)
    assert stopped_while_held, "the service waited for the other stories run to end"
    said = _said(records)
    assert said[-1] == (f"{len(first)} articles added were not placed into events before the service stopped; "
                        "`dedup stories --index` over them places them"), said
    index = open_index(loc, DedupConfig())
    try:
        assert index.stories.lookup([a.id for a in first]) == {}
    finally:
        index.close()


def _poster_and_closer(engine: Engine, batch: list[Article]) -> tuple[threading.Thread, threading.Thread, list]:
    """Two threads, not started: one posts ``batch`` (its rows, or its error, go into the list), one closes ``engine``."""
    outcome: list = []

    def post() -> None:
        try:
            outcome.append(engine.add(batch))
        except Exception as exc:
            outcome.append(exc)

    return threading.Thread(target=post), threading.Thread(target=engine.close), outcome


def _joined(*threads: threading.Thread) -> None:
    for t in threads:
        if t.is_alive():
            t.join(60)


def test_stopping_refuses_a_batch_that_waits_for_another_process_adding_to_the_index(tmp_path: Path, log_of) -> None:
    """A `dedup dedupe --index` run of another process holds the writer's lock: a batch posted meanwhile waits (the
    log says why), and when the service stops it is refused as not added (Stopping) instead of holding the stop
    until the other run ends; nothing of it is in the index."""
    from dedup.serve.engine import Stopping

    records = log_of("dedup.serve.engine", logging.INFO)
    loc = str(tmp_path / "h.db")
    engine = Engine(loc, DedupConfig())
    first = batches()[0]
    poster, closer, outcome = _poster_and_closer(engine, first)
    try:
        with held_by_another_process(loc, "writer"):
            poster.start()
            _until_said(records, "a batch waits:")
            closer.start()
            closer.join(30)
            poster.join(30)
            stopped_while_held = not closer.is_alive() and not poster.is_alive()
    finally:
        _joined(poster, closer)
    assert any("another dedup run is adding to this index" in m for m in _said(records)), _said(records)
    assert stopped_while_held, "the service waited for the other run to end"
    assert len(outcome) == 1 and isinstance(outcome[0], Stopping) and "nothing of this batch was added" in str(outcome[0])
    assert not set(_stored(loc)) & {a.id for a in first}


def test_the_pair_page_measures_two_stored_articles_with_their_dates_and_outlets(tmp_path: Path) -> None:
    """The pair page's "measured now" row scores the two stored texts as dedupe did: with the dates and outlets the
    index holds (one outlet, ten days apart weighs against a copy), not as two undated texts of two outlets."""
    from dedup.flows.similarity import similarity
    from dedup.types import timestamp

    text = SEEDS[0].read_text(encoding="utf-8")
    part = text[: len(text) // 2]
    engine = Engine(str(tmp_path / "h.db"), DedupConfig())
    try:
        engine.add([Article(id="full", text=text, source="wire", date="2024-03-01T09:00:00"),
                    Article(id="part", text=part, source="wire", date="2024-03-11T09:00:00")])
        view = engine.pair("full", "part")
    finally:
        engine.close()
    assert view is not None and view.measured is not None
    dated = similarity([text], [part], time1=[timestamp("2024-03-01T09:00:00")], time2=[timestamp("2024-03-11T09:00:00")],
                       source1=["wire"], source2=["wire"])
    alone = similarity([text], [part])
    assert view.measured["probability"] == round(float(dated.probability[0]), 4)
    assert dated.probability[0] < alone.probability[0]


def test_stopping_finishes_a_batch_that_waits_for_this_services_own_brief_hold(tmp_path: Path, log_of) -> None:
    """The writer's lock held by this service itself (its placement pass looks its articles up, briefly): a batch
    waiting for it when the service stops is not called off but finished and answered, as a run under way is; the
    log holds no warning for such a wait."""
    records = log_of("dedup.serve.engine", logging.DEBUG)
    loc = str(tmp_path / "h.db")
    engine = Engine(loc, DedupConfig())
    own = open_index(loc, DedupConfig())  # this process: as the service's own pass holds it
    first = batches()[0]
    poster, closer, outcome = _poster_and_closer(engine, first)
    try:
        with own.writer():
            poster.start()
            _until_said(records, "a batch waits:")
            closer.start()
            time.sleep(1.0)  # well past a poll: a wait that could be called off would be
            assert poster.is_alive() and closer.is_alive()
        poster.join(60)
        closer.join(60)
    finally:
        own.close()
        _joined(poster, closer)
    assert len(outcome) == 1 and isinstance(outcome[0], list) and len(outcome[0]) == len(first), outcome
    assert not [r for r in records if r.levelno >= logging.WARNING], _said(records)
    assert set(_stored(loc)) >= {a.id for a in first}


def test_a_coalesced_run_called_off_at_stop_is_refused_whole_without_deciding_its_batches_one_by_one(
        tmp_path: Path, monkeypatch, log_of) -> None:
    """A run of several batches waits for another process's hold on the index and is called off (the service stops):
    nothing was added, so each batch is refused (Stopping) at once; they are not decided again one by one (each would
    wait anew, and one might be added after the stop began)."""
    from dedup.serve.engine import Stopping, _Waiting

    records = log_of("dedup.serve.engine", logging.WARNING)
    loc = str(tmp_path / "h.db")
    engine = Engine(loc, DedupConfig(), coalesce=True)
    real, calls = engine._decide, []

    def deciding(articles: list[Article]) -> list[dict]:
        calls.append(len(articles))
        return real(articles)

    monkeypatch.setattr(engine, "_decide", deciding)
    run = [_Waiting(b, {a.id for a in b}) for b in batches()[:2]]
    try:
        with held_by_another_process(loc, "writer"):
            engine._halt.set()  # as stop() does
            engine._run(run)
    finally:
        engine.close()
    assert calls == [sum(len(w.articles) for w in run)]
    assert all(w.done and isinstance(w.error, Stopping) for w in run)
    assert not any("deciding them one by one" in m for m in _said(records)), _said(records)
    assert not set(_stored(loc)) & {a.id for w in run for a in w.articles}


def test_a_pruned_articles_text_goes_with_it_and_its_id_posted_again_shows_the_new_text(tmp_path: Path) -> None:
    """`dedup index prune` left the service's texts behind: a pruned article's text stayed on disk, and the same id
    posted again was shown (JSON and page) with the old, pruned text (the store kept the first text of an id)."""
    from dedup.jobs.index import prune_index

    location = str(tmp_path / "h.db")
    old, other = _fresh(2, "o", 3)
    old = Article(id="same-id", text=old.text, title="old title", date="2010-01-01T00:00:00")
    engine = Engine(location)
    try:
        engine.add([old, other])
    finally:
        engine.close()
    said: list[str] = []
    assert prune_index(location, "2011-01-01", echo=said.append) == 1
    assert "(and the texts the service kept of 1)" in said[-1]
    con = sqlite3.connect(location + ".texts")
    try:
        assert [i for (i,) in con.execute("SELECT id FROM texts ORDER BY id")] == [other.id]
    finally:
        con.close()
    new = Article(id="same-id", text=_fresh(1, "n", 4)[0].text, title="new title", date="2015-07-30T00:00:00")
    engine = Engine(location)
    try:
        assert engine.add([new])[0]["status"] == "kept"
        view = engine.pair("same-id", other.id)
    finally:
        engine.close()
    assert view is not None and view.texts["same-id"] == ("new title", new.text)


def test_the_placer_opens_a_redis_index_with_its_password_and_shows_none(tmp_path: Path) -> None:
    """The engine's location is shown redacted; the placer opened the index from it, with the password "***"."""
    from _servers import start_redis

    proc, url = start_redis(tmp_path, password="s3cr@t")
    try:
        loc = url.replace("redis://", "redis://:s3cr%40t@")
        engine = Engine(loc, DedupConfig(), stories_every=0.2)
        try:
            assert "s3cr" not in engine.location and "***" in engine.location
            first = batches()[0]
            engine.add(first)
            ids = [a.id for a in first]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(engine._reader.stories.lookup(ids)) < len(ids):
                time.sleep(0.1)
            assert sorted(engine._reader.stories.lookup(ids)) == sorted(ids)
        finally:
            engine.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_after_a_prune_a_group_names_each_members_own_keeper_and_none_for_the_pruned(tmp_path: Path) -> None:
    """The keeper K pruned, its copy D stays; N copies D. The group said keeper null and gave N "copy of row 1, no
    longer in the index (pruned)" (row 1 is D, still there), and the decision said D was "kept in an earlier feed"."""
    from dedup.jobs.index import prune_index
    from dedup.serve.views import GroupView

    text = ("The finance minister announced on Tuesday a new package of measures to support small businesses hit by "
            "rising energy prices across the country this winter.")
    loc = str(tmp_path / "h.db")
    engine = Engine(loc)
    try:
        engine.add([Article("K", text, date="2024-03-01")])
        engine.add([Article("D", text + " Reporting by Jane Doe.", date="2024-03-02")])
    finally:
        engine.close()
    prune_index(loc, "2024-03-02", echo=lambda _: None)
    engine = Engine(loc)
    try:
        [n] = engine.add([Article("N", text, date="2024-03-03")])
        view = engine.group("K")
    finally:
        engine.close()
    assert n["duplicate_of"] == "D" and "since pruned" in n["reason"] and "kept in an earlier feed" not in n["reason"]
    assert isinstance(view, GroupView) and view.keeper is None
    own = {m.id: (view.keeper_of(m).id if view.keeper_of(m) is not None else None) for m in view.members}
    assert own == {"D": None, "N": "D"}
    said = {m.id: m.to_json(own[m.id], said=True)["reason"] for m in view.members}
    assert "pruned" in said["D"] and said["N"] == "near copy of D"
    # the pruned keeper is named by the id prune kept of it, as the export names it
    assert {m.id: view.keeper_named(m) for m in view.members} == {"D": ("K", True), "N": ("D", False)}
    assert view.keeper_id == "K"


def test_a_copy_whose_keeper_an_earlier_version_pruned_says_pruned_without_an_id(tmp_path: Path) -> None:
    """An index pruned by a version that kept no ids of removed keepers (no table ``pruned_keepers``): the copy's
    keeper is unknown, yet it was pruned (not "no keeper"), as `dedup index export` says it."""
    from dedup.jobs.index import prune_index

    text = ("The finance minister announced on Tuesday a new package of measures to support small businesses hit by "
            "rising energy prices across the country this winter.")
    loc = str(tmp_path / "h.db")
    engine = Engine(loc)
    try:
        engine.add([Article("K", text, date="2024-03-01"), Article("D", text + " Reporting by Jane Doe.", date="2024-03-02")])
    finally:
        engine.close()
    prune_index(loc, "2024-03-02", echo=lambda _: None)
    con = sqlite3.connect(loc)
    try:
        con.execute("DROP TABLE pruned_keepers")  # as an earlier version left it
        con.commit()
    finally:
        con.close()
    engine = Engine(loc)
    try:
        found, view = engine.article("D"), engine.group("K")
    finally:
        engine.close()
    assert found is not None and found[1:] == (None, True)
    assert view is not None and view.keeper is None and view.keeper_id is None
    assert view.keeper_named(view.members[0]) == (None, True)
