"""Stories tracked in a history index: a feed continues the events of the feeds before it, as one batch would."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pytest

from dedup.config import DedupConfig, StoriesConfig
from dedup.flows.stories import stories
from dedup.io.stories_out import write_stories_outputs
from dedup.stories.carry import StateError, carry, from_bytes, resume, to_bytes
from dedup.stories.arrival import arrival_order, copy_reach, day_blocks
from dedup.stories.day import build_day
from dedup.stories.events import EventTracker
from dedup.store.history import open_index
from dedup.store.index import HistoryError
from dedup.store.story_log import StoryConflict, StoryRow
from dedup.text.normalize import normalize_batch
from dedup.types import Article, timestamp

from _servers import start_redis
from test_stories_stream import WIRES, _feed

DAY = 86_400.0


@contextmanager
def _index(location: str):
    index = open_index(location, DedupConfig())
    try:
        yield index
    finally:
        index.close()


def _events(result) -> dict[str, str]:
    return {a.id: result.name(int(result.event[p])) for p, a in enumerate(result.articles)}


def _bridged_feed() -> list[Article]:
    """Eight days of copies and reports, plus a follow-up each day that restates the previous day's wire."""
    arts = _feed(8)
    for d in range(1, 8):
        text = WIRES[(d - 1) % len(WIRES)]
        arts.append(Article(f"u{d}", "follow up " + text + " officials added on the next day", "", f"2015-07-{21 + d:02d} 06:00", "late"))
    return arts


SPLIT = "2015-07-25"  # the first feed: days 0-3 of the bridged feed; the second: days 4-7


def across_feeds(batch: dict[str, str]) -> dict[str, str]:
    """One batch's events as the bridged feed split at :data:`SPLIT` gets them through an index: the same, but a late
    reprint of an event of the first feed that closed (the fillers ``f4``-``f7`` reprint ``f0``-``f3`` four days
    later) starts an event of its own across feeds (the carried state names no closed event: docs/stories.md)."""
    late = {f"f{d}" for d in range(4, 8)}
    assert all(batch[f] == f"f{int(f[1]) - 4}" for f in late), "the batch joins the late reprints to their events"
    return {a: (a if a in late else e) for a, e in batch.items()}


def _two_feeds_equal_one_batch(location: str) -> None:
    arts = _bridged_feed()
    first = [a for a in arts if a.date < SPLIT]
    second = [a for a in arts if a.date >= SPLIT]
    batch = across_feeds(_events(stories(arts)))
    with _index(location) as index:
        one = stories(first, index=index)
        two = stories(second, index=index)
        assert one.tracking == {"already_tracked": 0, "placed": len(first), "new_events": len(set(_events(one).values())),
                                "continued_events": 0, "merged_events": 0}
        assert two.tracking["placed"] == len(second) and two.tracking["continued_events"] >= 1
        # this run's events: those its reports began, and the earlier ones they joined
        began = {e for e in _events(two).values() if e in {a.id for a in second}}
        assert two.tracking["new_events"] == len(began) and len(set(_events(two).values())) == len(began) + two.tracking["continued_events"]
        assert _events(one) | _events(two) == batch
        continued = {e for a, e in _events(two).items() if e in {x.id for x in first}}
        assert continued  # the day-5 follow-up joins the day-4 wire's event, named by its first report
        again = stories(second, index=index)  # a rerun: every article already tracked, same answers, nothing saved
        assert again.tracking == {"already_tracked": len(second), "placed": 0, "new_events": 0, "continued_events": 0,
                                  "merged_events": 0}
        assert _events(again) == _events(two)
        stored = index.stories.lookup([a.id for a in arts])
        assert {i: r.event for i, r in stored.items()} == batch


def test_two_feeds_in_a_sqlite_index_equal_one_batch(tmp_path) -> None:
    _two_feeds_equal_one_batch(str(tmp_path / "history.db"))


def test_two_feeds_in_a_redis_index_equal_one_batch(tmp_path) -> None:
    proc, url = start_redis(tmp_path)
    try:
        _two_feeds_equal_one_batch(url)
    finally:
        proc.kill()
        proc.wait()


def _bridge_merges_two_stored_events(location: str, tmp_path) -> None:
    """Two wires on day 1 are two events; a report on day 2 that carries both merges them, as one batch does. The
    later event's stored members take the earlier id and its storyline, the run names the event it merged, and the
    merged id leaves the index's list of events."""
    a = Article("a", WIRES[0], "", "2015-07-21 06:00", "s1")
    b = Article("b", WIRES[3], "", "2015-07-21 07:00", "s2")
    c = Article("c", WIRES[0] + " and " + WIRES[3], "", "2015-07-22 06:00", "s3")
    assert _events(stories([a, b, c])) == {"a": "a", "b": "a", "c": "a"}
    with _index(location) as index:
        one = stories([a, b], index=index)
        assert _events(one) == {"a": "a", "b": "b"} and one.tracking["merged_events"] == 0
        two = stories([c], index=index)
        assert _events(two) == {"c": "a"}
        assert two.tracking == {"already_tracked": 0, "placed": 1, "new_events": 0, "continued_events": 1, "merged_events": 1}
        assert two.merged == {"a": ["b"]}
        stored = index.stories.lookup(["a", "b", "c"])
        assert {i: (r.event, r.storyline) for i, r in stored.items()} == {i: ("a", "a") for i in "abc"}
        assert [e["event"] for e in index.stories.recent(10)] == ["a"]
        assert index.stories.event("b") is None and index.stories.event("a")["size"] == 3
        assert index.stories.event("a")["sources"] == ["s1", "s2", "s3"]
        assert index.stories.stats()["events"] == 1
        write_stories_outputs(str(tmp_path / "out"), two, ["day2.jsonl"])
        (record,) = json.loads((tmp_path / "out" / "events.json").read_text(encoding="utf-8"))
        assert record["merged_events"] == ["b"] and record["earlier_members"] == ["a", "b"]
        page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
        assert "continues an event of earlier feeds (2 earlier reports)" in page
        assert "joined here with 1 earlier event (<bdi>b</bdi>)" in page


def test_a_bridging_report_merges_two_events_in_a_sqlite_index(tmp_path) -> None:
    _bridge_merges_two_stored_events(str(tmp_path / "history.db"), tmp_path)


def test_a_bridging_report_merges_two_events_in_a_redis_index(tmp_path) -> None:
    proc, url = start_redis(tmp_path)
    try:
        _bridge_merges_two_stored_events(url, tmp_path)
    finally:
        proc.kill()
        proc.wait()


def _days(arts: list[Article], config: StoriesConfig):
    texts = [" ".join(ls) for ls in normalize_batch([a.text for a in arts], config.normalize)]
    titles = [" ".join(ls) for ls in normalize_batch([a.title for a in arts], config.normalize)]
    times = np.array([timestamp(a.date) for a in arts])
    order = arrival_order(times)
    copies = np.full(len(arts), -1)
    until = copy_reach(copies, times, config.window_days * DAY)
    return [build_day([texts[p] for p in order[lo:hi]], [titles[p] for p in order[lo:hi]], times[order[lo:hi]],
                      copies[order[lo:hi]], np.arange(lo, hi), config, until[order[lo:hi]])
            for lo, hi in day_blocks(times[order])], order


@pytest.mark.parametrize("cut", [1, 3, 4, 6])
def test_a_carried_tracker_places_the_next_days_as_one_tracker(cut: int) -> None:
    config = StoriesConfig()
    arts = _bridged_feed()
    days, order = _days(arts, config)
    whole = EventTracker(len(arts), config)
    for d in days:
        whole.add_day(d)
    expected = whole.finish().event
    head = EventTracker(len(arts), config)
    for d in days[:cut]:
        head.add_day(d)
    limit = int(days[cut - 1].arrival[-1]) + 1
    ids = lambda a: [str(x) for x in a.tolist()]  # noqa: E731
    state = from_bytes(to_bytes(carry(head, limit, ids, np.zeros(limit), ids, ids, {})))
    base = limit - len(state)
    tail = resume(state, len(arts) - limit, config, {})
    for d in days[cut:]:
        tail.add_day(replace(d, arrival=d.arrival - base))
    got = tail.finish().event
    assert [int(s) + base for s in got[len(state):]] == expected[limit:].tolist()


def test_a_carried_state_keeps_the_embeddings_of_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    from dedup.stories import semantic

    monkeypatch.setattr(semantic, "available", lambda encoder=None: True)  # the extra need not be installed: no encoding here
    shipped = semantic.load_model()
    wide = replace(shipped, band=(0.3, 0.97))  # the follow-ups (0.36 to 0.61) are re-scored, so the embeddings count
    monkeypatch.setattr(semantic, "load_model", lambda path="": wide)
    config = StoriesConfig(semantic=True)
    arts = _bridged_feed()
    plain, order = _days(arts, config)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(arts), 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    days = [replace(d, embeddings=vectors[d.arrival]) for d in plain]  # arrival k holds row k
    whole = EventTracker(len(arts), config)
    for d in days:
        whole.add_day(d)
    expected = whole.finish()
    lexical = EventTracker(len(arts), StoriesConfig())
    for d in plain:
        lexical.add_day(d)
    assert expected.scores.tolist() != lexical.finish().scores.tolist(), "the embeddings change scores"
    cut = 4
    head = EventTracker(len(arts), config)
    for d in days[:cut]:
        head.add_day(d)
    limit = int(days[cut - 1].arrival[-1]) + 1
    ids = lambda a: [str(x) for x in a.tolist()]  # noqa: E731
    packed = carry(head, limit, ids, np.zeros(limit), ids, ids, {})
    assert packed.config["semantic"] is True and packed.config["semantic_encoder"].startswith(semantic.load_model().encoder)
    state = from_bytes(to_bytes(packed))
    base = limit - len(state)
    held = head.rows.stacked()[0]
    assert state.arrays["rows_emb"].dtype == np.float32
    assert np.array_equal(state.arrays["rows_emb"], vectors[held]), "the held rows' embeddings, bit for bit"
    tail = resume(state, len(arts) - limit, config, {})
    tail.rows.stacked()
    assert np.array_equal(tail.rows.embeddings(), vectors[held])
    for d in days[cut:]:
        tail.add_day(replace(d, arrival=d.arrival - base))
    got = tail.finish()
    assert [int(e) + base for e in got.event[len(state):]] == expected.event[limit:].tolist()
    later = got.pairs[:, 1] >= len(state)  # the pairs the tail scored (earlier, later), against carried rows too
    assert later.sum() and (got.pairs[later, 0] < len(state)).any()
    assert got.scores[later].tolist() == expected.scores[expected.pairs[:, 1] >= limit].tolist()
    with pytest.raises(StateError, match="other settings .*semantic"):  # no embeddings to go on with: refused
        resume(state, 1, StoriesConfig(), {})
    older = from_bytes(to_bytes(carry(head, limit, ids, np.zeros(limit), ids, ids, {})))
    older.config = {k: v for k, v in older.config.items() if not k.startswith("semantic")} | {"semantic": False}
    with pytest.raises(StateError, match="other settings .*semantic"):  # a state made without it
        resume(older, 1, config, {})


def test_a_state_from_before_the_semantic_setting_resumes_with_it_off() -> None:
    config = StoriesConfig()
    days, _ = _days(_feed(2), config)
    head = EventTracker(10, config)
    head.add_day(days[0])
    limit = int(days[0].arrival[-1]) + 1
    ids = lambda a: [str(x) for x in a.tolist()]  # noqa: E731
    state = from_bytes(to_bytes(carry(head, limit, ids, np.zeros(limit), ids, ids, {})))
    assert "rows_emb" not in state.arrays
    state.config = {k: v for k, v in state.config.items() if k != "semantic"}  # as written before the setting existed
    resume(state, 10 - limit, config, {})


def test_other_story_settings_are_a_one_line_error(tmp_path) -> None:
    arts = _feed(2)
    with _index(str(tmp_path / "h.db")) as index:
        stories(arts[:5], index=index)
        before = index.stats()["articles"]
        with pytest.raises(HistoryError, match="other settings .*window_days"):
            stories(arts[5:], StoriesConfig(window_days=5.0), index=index)
        assert index.stats()["articles"] == before  # refused before the feed went in (it went in, without events)
        stories(arts[5:], StoriesConfig(storyline_threshold=0.2), index=index)  # storyline settings may change


def test_other_story_settings_are_named_with_both_values_and_what_to_do(tmp_path) -> None:
    """The line named the settings that differ but neither value: which to give was guesswork (user audit)."""
    from typer.testing import CliRunner

    from dedup.cli import app

    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({"id": a.id, "text": a.text, "title": a.title, "date": a.date, "source": a.source},
                                       ensure_ascii=False) + "\n" for a in _feed(2)[:5]), encoding="utf-8")
    loc = str(tmp_path / "h.db")
    first = CliRunner().invoke(app, ["stories", str(feed), "--out", str(tmp_path / "o1"), "--index", loc, "-q"])
    assert first.exit_code == 0, first.output
    res = CliRunner().invoke(app, ["stories", str(feed), "--out", str(tmp_path / "o2"), "--index", loc, "-q",
                                   "--window-days", "5", "--event-threshold", "0.7"])
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    line = " ".join(res.output.split())
    assert "event_threshold (--event-threshold) is 0.8 in the index, 0.7 in this run" in line, line
    assert "window_days (--window-days) is 3.0 in the index, 5.0 in this run" in line, line
    assert "run with the index's values" in line and "or use a new index" in line


def test_a_save_after_another_run_saved_is_refused(tmp_path) -> None:
    with _index(str(tmp_path / "h.db")) as index:
        stories(_feed(1), index=index)
        version, _ = index.stories.load()
        index.stories.save(version, b"x", [])
        with pytest.raises(StoryConflict, match="run again"):
            index.stories.save(version, b"y", [StoryRow("a", "a", "a", 0.0, "s", "l")])
        assert index.stories.lookup(["a"]) == {}


def _sources_with_commas(location: str) -> None:
    with _index(location) as index:
        version, _ = index.stories.load()
        index.stories.save(version, b"state", [StoryRow("a", "a", "a", 1.0, "Reuters, London", "l"),
                                               StoryRow("b", "a", "a", 2.0, "AP", "l"), StoryRow("c", "a", "a", 3.0, "AP", "l")])
        assert index.stories.event("a")["sources"] == ["AP", "Reuters, London"]
        assert index.stories.recent(5)[0]["sources"] == ["AP", "Reuters, London"]


def test_an_events_sources_keep_their_commas_in_sqlite(tmp_path) -> None:
    """SQLite's list was a group_concat split on commas: "Reuters, London" came back as two sources."""
    _sources_with_commas(str(tmp_path / "h.db"))


def test_an_events_sources_keep_their_commas_in_redis(tmp_path) -> None:
    proc, url = start_redis(tmp_path)
    try:
        _sources_with_commas(url)
    finally:
        proc.kill()
        proc.wait()


def test_unreadable_state_is_a_one_line_error(tmp_path) -> None:
    with pytest.raises(StateError, match="cannot be read"):
        from_bytes(b'{"format": 1}\nnot an npz')
    with pytest.raises(StateError, match="format 9"):
        from_bytes(b'{"format": 9}\n')


def test_the_service_page_lists_the_tracked_events_escaped_in_chromium(tmp_path) -> None:
    import shutil

    import httpx

    from _chromium import dump_dom
    from _servers import free_port, start_serve, stop

    hostile = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"
    arts = _feed(2)
    arts.append(Article("ar-1", "التقى الرئيس الصيني شي جين بينغ وزير الخارجية الروسي سيرغي لافروف في بكين اليوم وبحثا العلاقات الثنائية",
                        hostile + " لقاء شي ولافروف", "2015-07-22 09:00", "وكالة"))
    arts.append(Article("ar-2", "بحث الرئيس الصيني شي جين بينغ مع وزير الخارجية الروسي سيرغي لافروف في بكين العلاقات الثنائية اليوم",
                        "شي يستقبل لافروف", "2015-07-22 11:00", "صحيفة"))
    loc = str(tmp_path / "h.db")
    with _index(loc) as index:
        res = stories(arts, index=index)
    assert _events(res)["ar-2"] == "ar-1"
    port = free_port()
    proc = start_serve(["--index", loc], port, log=tmp_path / "serve.log")
    try:
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=30).text
        article = httpx.get(f"http://127.0.0.1:{port}/v1/articles/ar-2", timeout=30).json()
        event = httpx.get(f"http://127.0.0.1:{port}/v1/events/ar-1", timeout=30).json()
        one = httpx.get(f"http://127.0.0.1:{port}/v1/events/ar-1?limit=1", timeout=30).json()
        missing = httpx.get(f"http://127.0.0.1:{port}/v1/events/ar-2", timeout=30)
        event_page = httpx.get(f"http://127.0.0.1:{port}/event", params={"e": "ar-1"}, timeout=30)
        no_page = httpx.get(f"http://127.0.0.1:{port}/event", params={"e": "ar-2"}, timeout=30)
    finally:
        stop(proc)
    assert event_page.status_code == 200 and no_page.status_code == 404 and "<script" not in no_page.text
    assert 'href="/pair?a=ar-1&amp;b=ar-2"' in event_page.text and "first report" in event_page.text
    assert "&lt;script&gt;" in event_page.text and "<script" not in event_page.text and "شي يستقبل لافروف" in event_page.text
    assert 'href="/event?e=ar-1"' in page
    assert (article["event"], article["storyline"]) == ("ar-1", res.name(int(res.storyline[[a.id for a in arts].index("ar-2")])))
    assert event["members"] == ["ar-1", "ar-2"] and event["size"] == 2 and event["sources"] == ["صحيفة", "وكالة"]
    assert event["label"].endswith("لقاء شي ولافروف") and event["first_date"] == "2015-07-22T09:00:00Z"
    assert one["members"] == ["ar-1"] and one["size"] == 2
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert 'data-event="ar-1"' in page and "latest events" in page and "&lt;script&gt;" in page and "<script" not in page
    assert 'href="/pair?a=ar-1&amp;b=ar-2"' in page
    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    (tmp_path / "home.html").write_text(page, encoding="utf-8")
    dom = dump_dom(tmp_path / "home.html", tmp_path)
    assert 'data-event="ar-1"' in dom and "<img" not in dom and "pwned" not in dom.split("</title>")[0]
    # each report of the event by its headline, not its id alone (user audit), right to left for Arabic
    probe = """<script>document.body.setAttribute('data-probe', JSON.stringify(Array.from(
      document.querySelectorAll('section.event[data-event="ar-1"] li bdi[dir=auto]')).map(
      b => [b.textContent, getComputedStyle(b).direction])));</script>"""
    (tmp_path / "probe.html").write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    import html

    dom = dump_dom(tmp_path / "probe.html", tmp_path)
    got = json.loads(html.unescape(dom.split('data-probe="')[1].split('"')[0]))
    assert got == [[hostile + " لقاء شي ولافروف", "ltr"], ["شي يستقبل لافروف", "rtl"]], got
    (tmp_path / "event.html").write_text(event_page.text, encoding="utf-8")
    dom = dump_dom(tmp_path / "event.html", tmp_path)
    assert 'data-event="ar-1"' in dom and "<img" not in dom and "pwned" not in dom.split("</title>")[0] and "ar-2" in dom


def _placed_by_the_service(location: str, tmp_path) -> None:
    import time

    import httpx

    from _servers import as_records, free_port, start_serve, stop

    arts = _bridged_feed()
    first = [a for a in arts if a.date < "2015-07-25"]
    second = [a for a in arts if a.date >= "2015-07-25"]
    port = free_port()
    proc = start_serve(["--index", location, "--stories-every", "0.5"], port, log=tmp_path / "serve.log")
    url = f"http://127.0.0.1:{port}"
    try:
        for batch in (first, second):
            assert httpx.post(f"{url}/v1/articles", json=as_records(batch), timeout=60).status_code == 200
        deadline, got = time.monotonic() + 60, {}
        while time.monotonic() < deadline and len(got) < len(arts):
            got = {a.id: e for a in arts if (e := httpx.get(f"{url}/v1/articles/{a.id}", timeout=30).json()["event"])}
            time.sleep(0.2)
        events = {e: httpx.get(f"{url}/v1/events/{e}", timeout=30).json() for e in set(got.values())}
        metrics = httpx.get(f"{url}/metrics", timeout=30).text
    finally:
        stop(proc)
    assert got == across_feeds(_events(stories(arts)))  # as one batch over both posts (and as dedup stories --index, feed by feed)
    assert all(sorted(ev["members"]) == sorted(i for i, e in got.items() if e == name) for name, ev in events.items())
    assert "could not place" not in (tmp_path / "serve.log").read_text(encoding="utf-8")
    assert f"dedup_events_placed_total {len(arts)}\n" in metrics and "dedup_events_given_up_total 0\n" in metrics


def test_the_service_places_what_it_adds_into_events_on_sqlite(tmp_path) -> None:
    _placed_by_the_service(str(tmp_path / "history.db"), tmp_path)


def test_the_service_places_what_it_adds_into_events_on_redis(tmp_path) -> None:
    proc, url = start_redis(tmp_path)
    try:
        _placed_by_the_service(url, tmp_path)
    finally:
        proc.kill()
        proc.wait()


def test_the_service_refuses_to_place_with_other_story_settings(tmp_path) -> None:
    from typer.testing import CliRunner

    from _servers import free_port
    from dedup.cli import app

    loc = str(tmp_path / "h.db")
    with _index(loc) as index:
        stories(_feed(2), StoriesConfig(window_days=2.0), index=index)
    res = CliRunner().invoke(app, ["serve", "--index", loc, "--port", str(free_port()), "--stories-every", "5"])
    assert res.exit_code == 1 and "other settings" in res.output and "Traceback" not in res.output, res.output


def test_stats_and_prune_cover_the_tracked_stories(tmp_path) -> None:
    arts = _feed(3)
    with _index(str(tmp_path / "h.db")) as index:
        stories(arts, index=index)
        st = index.stats()["stories"]
        assert st["tracked_articles"] == len(arts) and st["version"] == 1 and st["state_bytes"] > 0
        index.prune(timestamp("2015-07-22"))
        left = index.stories.lookup([a.id for a in arts])
        assert sorted(left) == sorted(a.id for a in arts if a.date >= "2015-07-22")


def _pruned_articles_stay_forgotten(location: str) -> None:
    """A prune forgot the tracked articles of its dates, and the next stories run wrote every one of them back (the
    carried window still holds them): stats counted them again and an event listed its pruned first report."""
    arts = _feed(3)
    with _index(location) as index:
        stories(arts, index=index)
        n_pruned = index.prune(timestamp("2015-07-22"))
        left = {a.id for a in arts if a.date >= "2015-07-22"}
        assert n_pruned == len(arts) - len(left) and index.stories.stats()["tracked_articles"] == len(left)
        text = WIRES[1]  # a fourth report of day 2's wire, whose event is named by its first report (pruned: no)
        two = stories([Article("late", text + " more more more", text[:30], "2015-07-23 22:00", "o9")], index=index)
        assert two.tracking["placed"] == 1
        assert index.stories.stats()["tracked_articles"] == len(left) + 1
        assert sorted(index.stories.lookup([a.id for a in arts] + ["late"])) == sorted(left | {"late"})
        gone = {a.id for a in arts if a.date < "2015-07-22"}
        events = sorted({r.event for r in index.stories.lookup([a.id for a in arts] + ["late"]).values()})
        assert not gone & {i for ms in index.stories.members(events, 1000).values() for i in ms}
        # an event whose first report was pruned keeps its name, labelled by the earliest report left
        arts2 = [Article("x1", WIRES[0], "first wire", "2015-07-25 06:00", "s1"),
                 Article("x2", WIRES[0] + " more", "second copy", "2015-07-26 06:00", "s2")]
        stories(arts2, index=index)
        assert index.stories.event("x1")["label"] and index.stories.lookup(["x2"])["x2"].event == "x1"
        index.prune(timestamp("2015-07-26"))
        assert index.stories.event("x1") == {**index.stories.event("x1"), "size": 1, "label": index.stories.lookup(["x2"])["x2"].label}


def test_pruned_articles_stay_forgotten_in_a_sqlite_index(tmp_path) -> None:
    _pruned_articles_stay_forgotten(str(tmp_path / "h.db"))


def test_pruned_articles_stay_forgotten_in_a_redis_index(tmp_path) -> None:
    proc, url = start_redis(tmp_path)
    try:
        _pruned_articles_stay_forgotten(url)
    finally:
        proc.kill()
        proc.wait()


# --- a real process killed while it tracks stories ------------------------------------------------

_CHILD = r"""
import os, signal, sys
from dedup.store import story_log
from dedup.config import DedupConfig
from dedup.flows.stories import stories
from dedup.io.stories_out import write_stories_outputs
from dedup.io.readers import read_articles
from dedup.store.history import open_index

kill_at = os.environ["KILL_AT"]
original = story_log.SQLiteStories.save
def save(self, version, state, rows):
    if kill_at == "before_save":  # the feed's dedupe decisions are committed, its stories are not
        os.kill(os.getpid(), signal.SIGKILL)
    real = self.conn
    class Conn:  # mid-transaction: the rows are written, the commit is not
        def execute(s, sql, *a):
            if sql == "COMMIT":
                os.kill(os.getpid(), signal.SIGKILL)
            return real.execute(sql, *a)
        def executemany(s, sql, *a):
            return real.executemany(sql, *a)
    self.conn = Conn()
    return original(self, version, state, rows)
story_log.SQLiteStories.save = save
index = open_index(sys.argv[2], DedupConfig())
stories(read_articles([sys.argv[1]])[0], index=index)
"""


@pytest.mark.parametrize("kill_at", ["before_save", "mid_commit"])
def test_kill_9_while_tracking_leaves_a_whole_index_and_a_rerun_completes(tmp_path, kill_at: str) -> None:
    import json
    import os
    import signal
    import subprocess
    import sys

    arts = _bridged_feed()
    first = [a for a in arts if a.date < "2015-07-25"]
    second = [a for a in arts if a.date >= "2015-07-25"]
    feed = tmp_path / "second.jsonl"
    feed.write_text("".join(json.dumps({"id": a.id, "text": a.text, "title": a.title, "date": a.date, "source": a.source}) + "\n"
                            for a in second), encoding="utf-8")
    loc = str(tmp_path / "h.db")
    with _index(loc) as index:
        stories(first, index=index)
        before = index.stories.load()
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(feed), loc], env={**os.environ, "KILL_AT": kill_at},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    with _index(loc) as index:
        assert index.stories.load() == before  # the state of the last whole run, nothing of the killed one
        assert set(index.stories.lookup([a.id for a in arts])) == {a.id for a in first}
        assert index.stats()["articles"] == len(arts)  # dedupe had committed the feed
        rerun = stories(second, index=index)  # every article already in the dedupe index, none tracked yet
        assert rerun.tracking["placed"] == len(second)
        assert _events(rerun) == {k: v for k, v in across_feeds(_events(stories(arts))).items() if k in {a.id for a in second}}
        assert len(index.stories.lookup([a.id for a in arts])) == len(arts)


def test_two_stories_runs_at_once_both_finish_and_track_everything_once(tmp_path) -> None:
    import json
    import subprocess
    import sys

    arts = _bridged_feed()
    halves = [arts[0::2], arts[1::2]]
    feeds = []
    for k, half in enumerate(halves):
        feed = tmp_path / f"f{k}.jsonl"
        feed.write_text("".join(json.dumps({"id": a.id, "text": a.text, "title": a.title, "date": a.date, "source": a.source}) + "\n"
                                for a in half), encoding="utf-8")
        feeds.append(feed)
    loc = str(tmp_path / "h.db")
    procs = [subprocess.Popen([sys.executable, "-m", "dedup", "stories", str(f), "--out", str(tmp_path / f"o{k}"), "--index", loc, "-q"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k, f in enumerate(feeds)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    with _index(loc) as index:
        tracked = index.stories.lookup([a.id for a in arts])
        assert sorted(tracked) == sorted(a.id for a in arts)  # every article once (ids are the table's key)
        assert index.stats()["articles"] == len(arts)
    lines = [json.loads(x) for k in range(2) for x in (tmp_path / f"o{k}" / "stories.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in lines) == sorted(a.id for a in arts)  # each run wrote its whole half
    assert {r["event"] for r in lines} <= {a.id for a in arts}  # events named by reports, of either run


def test_undated_feeds_through_the_index(tmp_path, seeds_dir) -> None:
    """The seeds carry no dates: nothing is carried between runs, and a rerun reports what was stored."""
    from typer.testing import CliRunner

    from dedup.cli import app

    loc = str(tmp_path / "h.db")
    for out in ("a", "b"):
        res = CliRunner().invoke(app, ["stories", str(seeds_dir), "--out", str(tmp_path / out), "--index", loc, "-q"])
        assert res.exit_code == 0, res.output
    assert (tmp_path / "a" / "stories.jsonl").read_text(encoding="utf-8") == (tmp_path / "b" / "stories.jsonl").read_text(encoding="utf-8")
    with _index(loc) as index:
        assert index.stats()["stories"]["tracked_articles"] == 5


def test_a_rerun_does_not_call_the_tracked_articles_their_own_events(tmp_path) -> None:
    """The summary line said articles already in the index were "not compared (each its own event)" while they kept
    the events the index tracks."""
    from typer.testing import CliRunner

    from dedup.cli import app

    feed = tmp_path / "f.jsonl"
    feed.write_text("".join(json.dumps({"id": a.id, "text": a.text, "date": a.date, "source": a.source}, ensure_ascii=False) + "\n"
                            for a in _feed(1)), encoding="utf-8")
    db = tmp_path / "h.db"
    assert CliRunner().invoke(app, ["stories", str(feed), "--out", str(tmp_path / "o1"), "--index", str(db)]).exit_code == 0
    res = CliRunner().invoke(app, ["stories", str(feed), "--out", str(tmp_path / "o2"), "--index", str(db)])
    assert res.exit_code == 0 and "already tracked" in res.output and "each its own event" not in res.output


def test_the_printed_line_of_a_stories_run_with_an_index_says_what_this_run_did(tmp_path) -> None:
    """A rerun of a tracked feed printed "N articles: E events …", as if it had made every event again; the line
    says the events hold the feed's articles and, apart, what this run did (placed, new events, continued, kept)."""
    from typer.testing import CliRunner

    from dedup.cli import app

    feed = tmp_path / "f.jsonl"
    arts = _feed(1)
    feed.write_text("".join(json.dumps({"id": a.id, "text": a.text, "date": a.date, "source": a.source}, ensure_ascii=False) + "\n"
                            for a in arts), encoding="utf-8")
    db = tmp_path / "h.db"
    res = CliRunner().invoke(app, ["stories", str(feed), "--out", str(tmp_path / "o1"), "--index", str(db)])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "o1" / "summary.json").read_text(encoding="utf-8"))
    events = summary["counts"]["events"]
    assert summary["history"]["new_events"] == events and summary["history"]["placed"] == len(arts)
    assert (f"{len(arts)} articles in {events} events" in res.output
            and f"history {db}: this run placed {len(arts)} (in {events} new events, 0 earlier events continued)" in res.output)
    res = CliRunner().invoke(app, ["stories", str(feed), "--out", str(tmp_path / "o2"), "--index", str(db)])
    assert res.exit_code == 0, res.output
    assert (f"this run placed 0 (in 0 new events, 0 earlier events continued), {len(arts)} already tracked kept the events "
            "earlier runs gave them" in res.output)
    assert json.loads((tmp_path / "o2" / "summary.json").read_text(encoding="utf-8"))["history"]["new_events"] == 0


def test_stories_after_dedupe_on_the_same_index_reports_the_groups_dedupe_stored(tmp_path) -> None:
    """The README's flow (dedupe the feed into the index, then its stories): the articles dedupe had decided were
    counted as skipped, the duplicate groups as 0 and events.json listed none, and the articles dedupe had not
    compared lost their "skipped" status."""
    from typer.testing import CliRunner

    from dedup.cli import app

    arts = _feed(2) + [Article("short1", "too short", "", "2015-07-21 08:00", "x")]
    feed = tmp_path / "f.jsonl"
    feed.write_text("".join(json.dumps({"id": a.id, "text": a.text, "date": a.date, "source": a.source}, ensure_ascii=False) + "\n"
                            for a in arts), encoding="utf-8")
    runner = CliRunner()
    plain = tmp_path / "plain"
    assert runner.invoke(app, ["stories", str(feed), "--out", str(plain), "-q"]).exit_code == 0
    db = str(tmp_path / "h.db")
    assert runner.invoke(app, ["dedupe", str(feed), "--out", str(tmp_path / "d"), "--index", db, "-q"]).exit_code == 0
    res = runner.invoke(app, ["stories", str(feed), "--out", str(tmp_path / "s"), "--index", db, "-q"])
    assert res.exit_code == 0, res.output

    def read(folder):
        counts = json.loads((folder / "summary.json").read_text(encoding="utf-8"))["counts"]
        lines = [json.loads(x) for x in (folder / "stories.jsonl").read_text(encoding="utf-8").splitlines()]
        groups = sorted((g["group"], tuple(g["members"])) for e in json.loads((folder / "events.json").read_text(encoding="utf-8"))
                        for g in e["groups"])
        return counts, lines, groups

    counts, lines, groups = read(tmp_path / "s")
    want_counts, want_lines, want_groups = read(plain)
    assert counts["duplicate_groups"] == want_counts["duplicate_groups"] > 0
    assert counts["skipped"] == want_counts["skipped"] == 1 and counts["decided_by_an_earlier_run"] == len(arts)
    assert groups == want_groups
    assert [(x["id"], x["group"], x.get("status")) for x in lines] == [(x["id"], x["group"], x.get("status")) for x in want_lines]


@pytest.mark.parametrize("dedupe_first", [False, True], ids=["stories-index", "after-dedupe-index"])
def test_articles_no_run_compared_are_each_an_event_of_their_own_in_an_index(location: str, dedupe_first: bool) -> None:
    """`stories --index` put the short items of one text ("Photo", "صور") in one event, and so after `dedupe --index`
    (which stored them as skipped, too short): each is an event of its own, as in a batch, and stays so in the index."""
    from dedup.flows.dedupe import dedupe
    from test_stories_stream import _with_captions

    arts = _with_captions(_feed(2))
    shorts = [a.id for a in arts[len(_feed(2)):]]
    batch = _events(stories(arts))
    with _index(location) as index:
        if dedupe_first:
            dedupe(arts, DedupConfig(), index=index)
        result = stories(arts, index=index)
        tracked = index.stories.lookup(shorts)
    assert {i: e for i, e in _events(result).items() if i in shorts} == {i: i for i in shorts}
    assert {p for p in result.alone()} == {p for p, a in enumerate(arts) if a.id in shorts}
    assert _events(result) == batch and {i: r.event for i, r in tracked.items()} == {i: i for i in shorts}
