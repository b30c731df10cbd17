"""Stories made a day at a time: the streamed flow equals the in-memory stage, and a later day changes no earlier event."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from dedup.config import StoriesConfig
from dedup.flows.stories import stories
from dedup.stories import find_stories
from dedup.stories.arrival import arrival_order, copy_reach, day_blocks
from dedup.cluster.groups import copy_groups
from dedup.text.normalize import normalize_batch
from dedup.types import Article, timestamp

WIRES = [
    "the ministry of health announced that new cases of the virus were recorded in riyadh and that the patients were taken to the central hospital where they receive care",
    "the football federation named a new coach for the national team after the board met in jeddah and approved a two year contract with the former club manager",
    "firefighters put out a blaze in a furniture warehouse in dammam industrial city after six hours and no injuries were reported the civil defence spokesman said",
    "the cabinet approved a plan to build three new airports in the northern regions financed by the public investment fund over the coming five years",
    "archaeologists uncovered ancient rock inscriptions near tabuk that they date to the first millennium before the common era the heritage commission said",
    "the stock market index closed higher led by banks and petrochemical shares as trading volume rose to its highest level in two months",
    "the education ministry extended the deadline for teachers transfer requests by one week after the online system was overloaded on its first day",
    "a sandstorm closed the highway between hail and qassim for several hours and the traffic police urged drivers to avoid travel until visibility improved",
]
MATCH = ("al hilal beat al nassr {a} {b} in the league derby at the king fahd stadium with a late goal from the "
         "captain who scored in the final minute after a long attack")
FILLER = [
    "the central bank kept its main interest rate unchanged and said inflation stayed within its target range",
    "heavy rain flooded streets in the coastal city and the civil defence rescued drivers trapped in their cars",
    "the university opened registration for the new academic year with places in medicine engineering and law",
    "a new desalination plant will supply water to half a million residents of the eastern province next year",
]


def _feed(days: int) -> list[Article]:
    """Copies, independent reports, templates of different days and filler over ``days`` days."""
    arts = []
    for d in range(days):
        date = f"2015-07-{21 + d:02d}"
        text = WIRES[d % len(WIRES)]
        for outlet in range(3):  # one wire text reprinted by three outlets, hours apart
            arts.append(Article(f"w{d}-{outlet}", text + (" more" * outlet), text[:30], f"{date} {8 + outlet:02d}:00", f"o{outlet}"))
        arts.append(Article(f"m{d}", MATCH.format(a=d % 3 + 1, b=d % 2), "derby", f"{date} 20:00", "sport"))
        arts.append(Article(f"f{d}", FILLER[d % len(FILLER)], "", f"{date} 12:00", "misc"))
    return arts


def _labels(ids: list[str], event: np.ndarray) -> dict[str, str]:
    return {ids[p]: ids[int(event[p])] for p in range(len(ids))}


def test_streamed_flow_equals_the_stage_in_memory(tmp_path) -> None:
    arts = _feed(6)[::-1]  # input order is not time order
    config = StoriesConfig()
    streamed = stories(iter(arts), config)
    texts = [" ".join(lines) for lines in normalize_batch([a.text for a in arts], config.normalize)]
    titles = [" ".join(lines) for lines in normalize_batch([a.title for a in arts], config.normalize)]
    times = np.array([timestamp(a.date) for a in arts])
    d = streamed.dedup
    copies = copy_groups(d.group, d.pairs, d.pair_relation, d.pair_scores.contain_ij, d.pair_scores.contain_ji)
    held = find_stories(texts, titles, times, config, groups=copies, dup_groups=d.group)
    assert streamed.event.tolist() == held.event.tolist()
    assert streamed.storyline.tolist() == held.storyline.tolist()
    assert np.array_equal(streamed.pairs, held.pairs) and np.allclose(streamed.scores, held.scores)


def test_a_later_day_changes_no_earlier_event_and_ids_stay() -> None:
    arts = _feed(8)
    five = [a for a in arts if a.date < "2015-07-26"]
    before = stories(five)
    after = stories(arts)
    first = _labels([a.id for a in five], before.event)
    again = _labels([a.id for a in arts], after.event)
    assert first == {k: again[k] for k in first}
    # the copies of each day are one event, named by their first report; the fillers stay alone
    assert again["w3-2"] == again["w3-0"] == "w3-0" and again["f3"] == "f3"


def test_chunk_size_does_not_change_events() -> None:
    arts = _feed(4)
    a = stories(arts, StoriesConfig(chunk_rows=1))
    b = stories(arts, replace(StoriesConfig(), chunk_rows=500))
    assert a.event.tolist() == b.event.tolist() and a.storyline.tolist() == b.storyline.tolist()


def test_days_and_arrival_order() -> None:
    day = 86_400.0
    t = np.array([2 * day + 5, np.nan, 10.0, 2 * day, 20.0])
    order = arrival_order(t)
    assert order.tolist() == [2, 4, 3, 0, 1]
    assert day_blocks(t[order]) == [(0, 2), (2, 4), (4, 5)]
    assert copy_reach(np.array([0, 0, 1, 0, 1]), t, 3 * day).tolist()[0] == 2 * day + 5


def test_cli_streams_and_writes_the_same_events(tmp_path) -> None:
    from typer.testing import CliRunner

    from dedup.cli import app

    feed = tmp_path / "feed.jsonl"
    with open(feed, "w", encoding="utf-8") as f:
        for a in _feed(3):
            f.write(json.dumps({"id": a.id, "title": a.title, "text": a.text, "date": a.date, "source": a.source}) + "\n")
    r = CliRunner().invoke(app, ["stories", str(feed), "--out", str(tmp_path / "out"), "-q"])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "out" / "stories.jsonl", encoding="utf-8") as f:
        lines = [json.loads(x) for x in f]
    by = {x["id"]: x["event"] for x in lines}
    assert by["w1-1"] == by["w1-0"] == "w1-0" and by["w0-0"] != by["w1-0"]


def test_events_read_the_texts_dedupe_compared_and_normalize_only_headlines(monkeypatch) -> None:
    """No body is normalized twice: events get dedupe's normalized text, its boilerplate left out."""
    from dedup.sketch import prepare as sketch_module
    from dedup.stories import day as day_module
    from dedup.text import normalize as normalize_module

    footer = "follow our channel for the latest news"
    arts = [replace(a, text=a.text + "\n" + footer) if a.source == "o1" else a for a in _feed(6)]
    seen_bodies: list[str] = []
    build_day = day_module.build_day
    monkeypatch.setattr(day_module, "build_day", lambda texts, *a, **k: seen_bodies.extend(texts) or build_day(texts, *a, **k))
    normalized: list[str] = []
    real = normalize_module.normalize_texts
    for module in (normalize_module, sketch_module):  # every caller: dedupe's sketch stage imports it by name
        monkeypatch.setattr(module, "normalize_texts", lambda texts, *a, **k: normalized.extend(texts) or real(texts, *a, **k))
    res = stories(arts)
    assert int((res.dedup.boilerplate_removed > 0).sum()) == 6, "the footer of o1 is boilerplate"
    assert sorted(normalized) == sorted([a.text for a in arts] + [a.title for a in arts]), \
        "each body normalized once (by dedupe), each headline once (for events)"
    assert sorted(seen_bodies) == sorted(" ".join(ls) for ls in normalize_batch([a.text for a in _feed(6)]))


def test_stories_and_dedupe_must_normalize_alike() -> None:
    from dedup.config import DedupConfig, NormalizeConfig
    from dedup.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[stories.normalize\].*must equal \[dedupe.normalize\]"):
        stories(_feed(1), StoriesConfig(normalize=NormalizeConfig(fold_teh_marbuta=False)), DedupConfig())
    alike = NormalizeConfig(fold_teh_marbuta=False)
    assert len(stories(_feed(1), StoriesConfig(normalize=alike), DedupConfig(normalize=alike)).event) == 5


@pytest.mark.parametrize("kernel_rows", [0, 10**9])
def test_threads_and_the_compiled_search_change_no_event(monkeypatch, kernel_rows) -> None:
    """Chunks searched and scored on other threads (and by the compiled kernel) while the tracker links in order."""
    from dedup.stories import events, neighbours, sparse
    from dedup.stories.day import build_day
    from dedup.stories.events import EventTracker

    arts = _feed(6)
    config = StoriesConfig(chunk_rows=2)
    texts = [" ".join(lines) for lines in normalize_batch([a.text for a in arts], config.normalize)]
    titles = [" ".join(lines) for lines in normalize_batch([a.title for a in arts], config.normalize)]
    times = np.array([timestamp(a.date) for a in arts])
    order = arrival_order(times)

    def track(threads: int):  # noqa: ANN202
        tracker = EventTracker(len(arts), config, threads=threads)
        for lo, hi in day_blocks(times[order]):
            pos = order[lo:hi]
            tracker.add_day(build_day([texts[p] for p in pos], [titles[p] for p in pos], times[pos],
                                      np.full(len(pos), -1), np.arange(lo, hi), config))
        return tracker.finish()

    one = track(1)
    monkeypatch.setattr(neighbours, "KERNEL_ROWS", kernel_rows)
    monkeypatch.setattr(sparse, "KERNEL_ROWS", kernel_rows)  # the compiled pair dots of the story scores
    monkeypatch.setattr(events, "KERNEL_ROWS", kernel_rows)  # the compiled merge of the events' sums
    two = track(2)
    for field in ("event", "representative", "labels", "pairs", "scores"):
        assert np.array_equal(getattr(one, field), getattr(two, field)), field
    assert (one.centroids != two.centroids).nnz == 0 and len(one.pairs) > 0


def _day_maker(days: int, config: StoriesConfig):  # noqa: ANN202
    """The arrival-ordered day blocks of ``_feed(days)`` and a maker of each block's DayInput (no copy groups)."""
    from dedup.stories.day import build_day

    arts = _feed(days)
    texts = [" ".join(lines) for lines in normalize_batch([a.text for a in arts], config.normalize)]
    titles = [" ".join(lines) for lines in normalize_batch([a.title for a in arts], config.normalize)]
    times = np.array([timestamp(a.date) for a in arts])
    order = arrival_order(times)

    def day(lo: int, hi: int):  # noqa: ANN202
        pos = order[lo:hi]
        return build_day([texts[p] for p in pos], [titles[p] for p in pos], times[pos], np.full(len(pos), -1),
                         np.arange(lo, hi), config)

    return len(arts), list(day_blocks(times[order])), day


def test_finish_lets_go_of_the_window_and_the_found_pairs() -> None:
    """After finish the tracker holds no window rows, sums or pairs; what it returns is whole and consistent."""
    from dedup.stories.events import EventTracker

    config = StoriesConfig()
    n, blocks, day = _day_maker(4, config)
    tracker = EventTracker(n, config)
    for lo, hi in blocks:
        tracker.add_day(day(lo, hi))
    # before: the last days' rows are held, pairs were found, events are still open
    assert tracker.rows.stacked() is not None and tracker.rows.x.tail > tracker.rows.x.head
    assert min(len(tracker.rows.x.data), len(tracker.rows.w.data), len(tracker.rows.nu.data)) > 0
    assert tracker.found.count > 0 and tracker.found.file is not None and tracker.open  # the pairs wait on disk

    done = tracker.finish()
    assert tracker.rows.stacked() is None and tracker.rows.x.tail == tracker.rows.x.head == 0
    assert tracker.rows.w.tail == tracker.rows.nu.tail == 0 and tracker.rows.blocks == []
    # the buffers themselves let go, not only their rows dropped (closing everything leaves them allocated)
    assert len(tracker.rows.x.data) == len(tracker.rows.w.data) == len(tracker.rows.nu.data) == 0
    assert tracker.found.count == 0 and tracker.found.file is None
    assert tracker.sums == {} and tracker.wsums == {} and tracker.members == {} and len(tracker.closed) == 0

    n_events = len(np.unique(done.event))
    assert np.all(done.event >= 0) and n_events < n  # every article placed, copies joined
    assert done.labels.tolist() == np.unique(done.event).tolist()  # one centroid per event, in label order
    assert done.centroids.shape[0] == done.word_centroids.shape[0] == len(done.labels) == n_events
    assert np.allclose(np.sqrt(done.centroids.multiply(done.centroids).sum(axis=1)), 1.0)
    assert np.all(done.representative[done.labels] >= 0)
    assert len(done.pairs) == len(done.scores) > 0 and np.all(done.pairs[:, 0] < done.pairs[:, 1])


def test_add_days_lets_each_day_go_before_its_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """Days handed to add_days are let go once their vectors are made (a dense day's counts are ~0.4 GB); the events are add_day's."""
    import weakref

    from dedup.stories import events
    from dedup.stories.events import EventTracker

    config = StoriesConfig()
    n, blocks, day = _day_maker(4, config)
    one = EventTracker(n, config)
    for lo, hi in blocks:
        one.add_day(day(lo, hi))
    alive: list[bool] = []
    made: list[weakref.ref] = []
    search = events.earlier_neighbours

    def watched(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        alive.append(made[-1]() is not None)
        return search(*args, **kwargs)

    monkeypatch.setattr(events, "earlier_neighbours", watched)

    def watched_day(lo: int, hi: int):  # noqa: ANN202
        d = day(lo, hi)
        made.append(weakref.ref(d))
        return d

    def stream():  # noqa: ANN202  (as the executor's stream: a day is yielded, not kept under a name)
        for lo, hi in blocks:
            yield watched_day(lo, hi)

    two = EventTracker(n, config)
    two.add_days(stream())
    assert len(made) == len(blocks) > 1 and alive and not any(alive)
    a, b = one.finish(), two.finish()
    for field in ("event", "representative", "labels", "pairs", "scores"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field


def test_undated_copies_of_a_dated_article_join_its_event_however_many() -> None:
    """Each undated copy joins the event of the copy before it: the dated article's, also through an undated one."""
    text = WIRES[0]
    arts = [Article("d1", text, "wire", "2015-07-21 08:00", "a"), Article("x", FILLER[0], "", "2015-07-21 09:00", "b")]
    arts += [Article(f"u{k}", text, "wire", None, f"o{k}") for k in range(1, 5)]
    result = stories(arts)
    labels = {a.id: (result.name(int(result.event[p])), result.name(int(result.storyline[p]))) for p, a in enumerate(result.articles)}
    assert {labels[f"u{k}"] for k in range(1, 5)} == {("d1", "d1")}, labels  # (was: u2 in "u1", u3 in "u2", storylines of no event)
    assert labels["x"] == ("x", "x")


@pytest.mark.parametrize(("terms", "batch"), [(4, 4096), (12, 3), (256, 1)])
def test_closing_all_events_at_once_picks_what_one_event_at_a_time_did(monkeypatch, terms, batch) -> None:
    """Representatives and story centroids of a closing step equal the per-event formulas, ties included.

    The closing step finds every member's closeness to its event's sum in one
    pass and keeps a centroid's largest weights before hashing its columns
    when the cut is not tied; here each result is checked against the formula
    one event at a time (the member's matched products added in order;
    ``top_entries`` of the whole vector in hashed columns).
    """
    from dedup.stories import closing, events
    from dedup.stories.day import build_day
    from dedup.stories.events import EventTracker
    from dedup.stories.sparse import top_entries

    seen = {"multi": 0, "cut": 0, "tied": 0}
    representatives_of, centroid_of = closing.representatives, closing.story_centroid

    def representatives(labels, members, summed, rows, compiled=False):  # noqa: ANN001, ANN202
        got = representatives_of(labels, members, summed, rows, compiled)
        for r, group, (cols, vals), rep in zip(labels, members, summed, got):
            if len(group) == 1:
                assert rep == r
                continue
            seen["multi"] += 1
            close = []
            for mbr in group:
                _, ix, vx = rows(np.array([mbr]))
                k = np.minimum(np.searchsorted(cols, ix), len(cols) - 1)
                hit = cols[k] == ix
                products = vx[hit].astype(np.float64) * vals[k[hit]].astype(np.float64, copy=False)
                close.append(sum(products.tolist()))  # added one after the other, in column order
            close = np.array(close)
            assert rep == group[int(np.flatnonzero(close >= close.max() - closing.TIE)[0])]
        return got

    def story_centroid(vec, m, hashed):  # noqa: ANN001, ANN202
        got = centroid_of(vec, m, hashed)
        expected = top_entries(hashed(vec), m)
        assert np.array_equal(got[0], expected[0]) and got[1].tobytes() == expected[1].tobytes()
        if len(vec[0]) > m:
            neg = np.sort(-np.asarray(vec[1], dtype=np.float64))
            seen["cut" if neg[m - 1] < neg[m] else "tied"] += 1
        return got

    monkeypatch.setattr(closing, "MEMBERS", batch)  # events in batches of about this many members: the same choices
    monkeypatch.setattr(closing, "representatives", representatives)
    monkeypatch.setattr(closing, "story_centroid", story_centroid)
    arts = _feed(6)
    config = StoriesConfig(centroid_terms=terms)
    texts = [" ".join(lines) for lines in normalize_batch([a.text for a in arts], config.normalize)]
    times = np.array([timestamp(a.date) for a in arts])
    order = arrival_order(times)
    copies = np.full(len(arts), -1)  # no copy groups: events made by the edges alone
    for compiled_from in (10**9, 0):  # the closeness pass in NumPy, then compiled
        seen["multi"] = 0
        monkeypatch.setattr(events, "KERNEL_ROWS", compiled_from)
        tracker = EventTracker(len(arts), config)
        for lo, hi in day_blocks(times[order]):
            pos = order[lo:hi]
            tracker.add_day(build_day([texts[p] for p in pos], [""] * len(pos), times[pos], copies[pos], np.arange(lo, hi), config))
        tracked = tracker.finish()
        assert seen["multi"] > 0 and len(tracked.labels) > 0
    if terms < 256:  # both ways of cutting a long centroid were taken
        assert seen["cut"] > 0 and seen["tied"] > 0


def _with_captions(arts: list[Article]) -> list[Article]:
    """``arts`` and short items dedupe skips as too short: the same caption under unrelated headlines, and the first
    words of a wire story (its text, but nothing to compare)."""
    date = arts[0].date
    captions = [Article(f"photo{k}", "Photo", title, date, f"p{k}") for k, title in
                enumerate(["Floods hit the north", "Election results announced", "Football final tonight"])]
    captions += [Article(f"suwar{k}", "صور", title, date, f"s{k}") for k, title in enumerate(["حريق في المصنع", "افتتاح معرض الكتاب"])]
    captions.append(Article("lede", " ".join(WIRES[0].split()[:6]), WIRES[0][:30], date, "x"))
    return arts + captions


def test_articles_dedupe_skipped_are_each_an_event_of_their_own_streamed_and_in_memory() -> None:
    """Short items with one text ("Photo", "صور") were put in one event (their texts were compared, though dedupe
    skipped them as too short); a skipped article was no evidence of anything, so each is an event of its own, the
    same in the streamed flow and in the stage held in memory, and the other articles' events are as without them."""
    arts = _with_captions(_feed(2))
    shorts = [a.id for a in arts[len(_feed(2)):]]
    config = StoriesConfig()
    streamed = stories(iter(arts), config)
    events = _labels([a.id for a in arts], streamed.event)
    storylines = _labels([a.id for a in arts], streamed.storyline)
    assert all(events[i] == storylines[i] == i for i in shorts), {i: events[i] for i in shorts}
    assert set(streamed.alone()) == {p for p, a in enumerate(arts) if a.id in shorts}
    assert {i: e for i, e in events.items() if i not in shorts} == _labels([a.id for a in _feed(2)], stories(_feed(2), config).event)

    texts = [" ".join(lines) for lines in normalize_batch([a.text for a in arts], config.normalize)]
    titles = [" ".join(lines) for lines in normalize_batch([a.title for a in arts], config.normalize)]
    times = np.array([timestamp(a.date) for a in arts])
    d = streamed.dedup
    copies = copy_groups(d.group, d.pairs, d.pair_relation, d.pair_scores.contain_ij, d.pair_scores.contain_ji)
    alone = np.isin(np.arange(len(arts)), list(d.not_compared()))
    held = find_stories(texts, titles, times, config, groups=copies, alone=alone)
    assert streamed.event.tolist() == held.event.tolist() and streamed.storyline.tolist() == held.storyline.tolist()
    compared = find_stories(texts, titles, times, config, groups=copies)  # their texts compared: one event of "Photo"s
    assert len({int(compared.event[p]) for p, a in enumerate(arts) if a.id.startswith("photo")}) == 1


def test_add_days_gives_each_day_s_freed_heap_back(monkeypatch) -> None:
    """A day's temporaries are freed into glibc's heaps (each under its mmap threshold, many on threads): kept, they
    raised a 1M feed's peak by ~0.2 GiB from one dense window to the next. The heap is handed back after every day."""
    from dedup.stories import events

    calls: list[int] = []
    config = StoriesConfig()
    n, blocks, day = _day_maker(4, config)
    tracker = events.EventTracker(n, config)
    monkeypatch.setattr(events, "release_heap", lambda: calls.append(len(tracker.open)) or True)
    tracker.add_days(day(lo, hi) for lo, hi in blocks)
    assert len(calls) == len(blocks) and calls[-1] > 0  # after each day, the window still open


DAY = 86_400.0


@pytest.mark.parametrize(
    ("days_later", "refilled", "joins"),
    [(5, False, True), (9, False, True), (2, False, True), (5, True, False)],
    ids=["reprint-5-days-later", "reprint-9-days-later", "within-window", "template-refilled"],
)
def test_a_late_reprint_joins_its_duplicate_group_s_event_as_it_stands(days_later: int, refilled: bool, joins: bool) -> None:
    # a wire text on day 0 (two outlets), reprinted days later by a third outlet; on the reprint's day another outlet
    # restates the wire closely (an edge to the reprint): it must not reach the old event through the reprint. A
    # template refilled with other numbers (a match of another day, taken by dedupe for a copy) is another happening.
    wire = MATCH.format(a=2, b=1) if refilled else WIRES[0]
    late = MATCH.format(a=0, b=3) if refilled else WIRES[0]
    texts = [normalize_batch([t], StoriesConfig().normalize)[0] for t in (wire, wire, late, "report " + late + " the spokesman added",
                                                                            *FILLER)]
    texts = [" ".join(t) for t in texts]
    times = np.array([0.0, 3600.0, days_later * DAY, days_later * DAY + 3600.0, *[k * DAY / 2 for k in range(len(FILLER))]])
    groups = np.array([0, 0, 0, -1, *[-1] * len(FILLER)])
    titles = [""] * len(texts)
    config = StoriesConfig()
    with_groups = find_stories(texts, titles, times, config, groups=groups, dup_groups=groups).event
    without = find_stories(texts, titles, times, config, groups=groups).event
    assert bool(with_groups[2] == with_groups[0]) is joins
    if days_later > config.window_days:
        assert without[2] != without[0]  # the copy group alone is cut at the window
        assert with_groups[3] != with_groups[0]  # nothing of the reprint's day joins the old event through it
    if not joins:
        assert with_groups.tolist() == without.tolist()
