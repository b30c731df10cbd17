"""``HistoryIndex.group(name)``: members and edges of a stored group, on SQLite and on a real redis-server."""

from __future__ import annotations


import numpy as np

from _servers import batches
from dedup.config import DedupConfig
from dedup.flows.dedupe import dedupe
from dedup.io.dedupe_rows import decision_rows
from dedup.runtime import Runtime
from dedup.store.history import open_index


def _add(location: str, articles) -> dict[str, dict]:
    idx = open_index(location, DedupConfig())
    try:
        return {r["id"]: r for r in decision_rows(dedupe(articles, DedupConfig(), runtime=Runtime(chunk_size=4), index=idx))}
    finally:
        idx.close()


def _group(location: str, name: str):
    idx = open_index(location, create=False)
    try:
        return idx.group(name)
    finally:
        idx.close()


def test_group_holds_its_members_in_row_order_and_their_edges(location: str) -> None:
    d1, d2, d3 = batches()
    rows = _add(location, d1)
    assert rows["b2"]["group"] == "b1" and rows["lone"]["group"] is None
    g = _group(location, "b1")
    assert [m.id for m in g.members] == ["b1", "b2"] and [m.row for m in g.members] == sorted(m.row for m in g.members)
    assert g.edges.tolist() == [[g.members[0].row, g.members[1].row]]
    assert g.edge_scores.shape == (1, 5) and 0.5 < g.edge_scores[0, 0] <= 1 and 0.5 < g.edge_scores[0, 4] <= 1 and g.edge_relation.tolist() != [0]
    assert _group(location, "lone") is None and _group(location, "f0") is None and _group(location, "nothing") is None
    _add(location, d2)
    _add(location, d3)
    g = _group(location, "b1")
    assert [m.id for m in g.members] == ["b1", "b2", "b3", "b4"]
    assert {m.group for m in g.members} == {"b1"}
    member_rows = {m.row for m in g.members}
    assert len(g.edges) >= 2 and set(g.edges.ravel().tolist()) <= member_rows and (g.edges[:, 0] < g.edges[:, 1]).all()
    for m in g.members:  # around one member: its own edges only, the same rows and scores, in the same order
        idx = open_index(location, create=False)
        try:
            own = idx.group("b1", around=m.row)
        finally:
            idx.close()
        mine = (g.edges == m.row).any(axis=1)
        assert [x.id for x in own.members] == [x.id for x in g.members]
        assert own.edges.tolist() == g.edges[mine].tolist() and own.edge_relation.tolist() == g.edge_relation[mine].tolist()
        assert np.array_equal(own.edge_scores, g.edge_scores[mine], equal_nan=True)


def test_a_group_named_after_an_article_stored_alone_includes_it(location: str) -> None:
    d1, d2, _ = batches()
    _add(location, d1)
    rows = _add(location, d2)
    assert rows["lone-copy"]["duplicate_of"] == "lone" and rows["lone-copy"]["group"] == "lone"
    g = _group(location, "lone")
    # the stored decision never changes (kept, its own keeper); the group it now keeps is recorded (it read null ever after)
    assert [(m.id, m.group, m.status, m.keeper) for m in g.members] == [("lone", "lone", 0, g.members[0].row),
                                                                        ("lone-copy", "lone", 1, g.members[0].row)]
    assert g.edges.tolist() == [[g.members[0].row, g.members[1].row]]


def test_pruned_members_leave_their_group(location: str) -> None:
    d1, d2, d3 = batches()
    for d in (d1, d2, d3):
        _add(location, d)
    idx = open_index(location, create=False)
    try:
        with idx.writer():
            idx.prune(1714694400.0)  # 2024-05-03: days 1 and 2 go
        g = idx.group("b1")
        assert [m.id for m in g.members] == ["b4"] and len(g.edges) == 0
        assert idx.group("lone") is None
        if hasattr(idx, "r"):  # Redis: the group's set lost the pruned rows too (not only their records)
            assert idx.r.scard(idx._k("g", "b1")) == 1 and idx.r.scard(idx._k("g", "lone")) == 0
    finally:
        idx.close()


def _roundup_days():
    """Day 1: a roundup K of items X and Y (and a third), two copies of X (K keeps X's copies); day 2: a copy of Y
    alone; day 3: a new copy of X."""
    from pathlib import Path

    from dedup.types import Article

    words = [p.read_text(encoding="utf-8").split() for p in sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))]
    x, y, z = " ".join(words[0][:160]), " ".join(words[3][:90]), " ".join(words[4][:40])
    day1 = [Article(id="K", text=f"{x}\n{y}\n{z}", date="2024-01-01"),
            Article(id="X1", text="خبر عاجل\n" + x, date="2024-01-02"),
            Article(id="X2", text=" ".join(words[0][:150]), date="2024-01-02")]
    day2 = [Article(id="Y1", text="عنوان جديد للخبر\n" + y, date="2024-01-03")]
    day3 = [Article(id="X3", text=" ".join(words[0][5:160]), date="2024-01-04")]
    return day1, day2, day3


def test_a_stored_roundup_keeps_the_copies_of_its_one_item_when_new_copies_come(location: str) -> None:
    """A new copy of a stored roundup's other item is not a copy of the roundup's group (it joined it: the
    roundup rule held within a feed only); a new copy of the item its group holds joins it. As one batch."""
    day1, day2, day3 = _roundup_days()
    batch = {r["id"]: r for r in decision_rows(dedupe(day1 + day2 + day3, DedupConfig()))}
    assert batch["X1"]["duplicate_of"] == batch["X2"]["duplicate_of"] == batch["X3"]["duplicate_of"] == "K"
    assert batch["Y1"]["status"] == "kept" and batch["Y1"]["group"] is None and batch["Y1"]["contained_in"] == ["K"]
    assert _add(location, day1)["X1"]["duplicate_of"] == "K"
    y1 = _add(location, day2)["Y1"]
    assert (y1["status"], y1["group"], y1["contained_in"]) == ("kept", None, ["K"])
    x3 = _add(location, day3)["X3"]
    assert (x3["status"], x3["duplicate_of"], x3["group"]) == ("duplicate", "K", "K")
    assert [m.id for m in _group(location, "K").members] == ["K", "X1", "X2", "X3"]


def test_export_names_the_articles_that_contain_each_text(location: str) -> None:
    """`dedup index export` had no contained_in: the roundup a short item was kept apart from went unnamed."""
    day1, day2, day3 = _roundup_days()
    decided = {**_add(location, day1), **_add(location, day2), **_add(location, day3)}
    idx = open_index(location, create=False)
    try:
        rows = {r["id"]: r for r in idx.export()}
    finally:
        idx.close()
    assert rows["Y1"]["contained_in"] == ["K"] and rows["Y1"]["status"] == "kept"
    assert {i: r["contained_in"] for i, r in rows.items()} == {i: decided[i]["contained_in"] for i in rows}


def test_a_new_copy_of_a_stored_roundups_item_joins_it_though_no_stored_copy_is_met(location: str) -> None:
    """Outside --window-days the run meets the roundup but not the item's stored copies: the new copy was kept alone."""
    from pathlib import Path

    from dedup.types import Article

    day1, _, _ = _roundup_days()
    day1 = [Article(id=a.id, text=a.text, date="2024-01-01" if a.id == "K" else "2024-01-09") for a in day1]
    words = [p.read_text(encoding="utf-8").split() for p in sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))]
    late = [Article(id="X3", text=" ".join(words[0][5:160]), date="2023-12-28")]
    _add(location, day1)
    idx = open_index(location, DedupConfig())
    try:
        x3 = next(decision_rows(dedupe(late, DedupConfig(), runtime=Runtime(chunk_size=4), index=idx, window_days=5)))
    finally:
        idx.close()
    assert (x3["status"], x3["duplicate_of"], x3["group"]) == ("duplicate", "K", "K")


def test_a_new_text_covering_more_of_a_stored_roundup_than_its_item_joins_it(location: str) -> None:
    """K holds a short item's copy (X1); a new text holding most of K but not that item (a trimmed copy of K) was kept
    alone: one batch, choosing the family covering most of K, takes it in."""
    from pathlib import Path

    from dedup.types import Article

    words = [p.read_text(encoding="utf-8").split() for p in sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))]
    x, y = " ".join(words[0][:100]), " ".join(words[3][:200])
    day1 = [Article(id="K", text=f"{x}\n{y}", date="2024-01-01"), Article(id="X1", text="خبر عاجل\n" + x, date="2024-01-02")]
    day2 = [Article(id="T", text=f"{y}\n" + " ".join(words[4][:10]), date="2024-01-03")]
    assert _add(location, day1)["X1"]["duplicate_of"] == "K"
    t = _add(location, day2)["T"]
    assert (t["status"], t["duplicate_of"]) == ("duplicate", "K"), t


def _scores(rows: dict[str, dict]) -> dict[str, dict | None]:
    return {i: r["scores"] for i, r in rows.items()}


def test_export_and_the_group_edges_carry_the_probability_of_the_decisions(location: str) -> None:
    """The index kept jaccard, containment and cosine but not the learned decision's probability: `dedup index export`
    and the service's answers about stored articles lacked what decisions.jsonl says."""
    day1, day2, day3 = _roundup_days()
    decided = {**_add(location, day1), **_add(location, day2), **_add(location, day3)}
    assert any(s is not None and s["probability"] is not None for s in _scores(decided).values())
    idx = open_index(location, create=False)
    try:
        rows = {r["id"]: r for r in idx.export()}
        group = idx.group("K")
    finally:
        idx.close()
    assert _scores(rows) == _scores({i: decided[i] for i in rows})
    assert len(group.edges) and not np.isnan(group.edge_scores[:, 4]).any()
    assert ((group.edge_scores[:, 4] > 0) & (group.edge_scores[:, 4] <= 1)).all()


def test_an_index_made_before_the_probability_was_kept_reads_and_takes_it(tmp_path) -> None:
    """An index written by an earlier version lacks the columns: it is read with the probability null (export, also
    when the file cannot be written), and the next run that writes to it adds them."""
    import sqlite3

    location = str(tmp_path / "history.db")
    day1, day2, day3 = _roundup_days()
    _add(location, day1)
    with sqlite3.connect(location) as conn:
        for table in ("articles", "edges"):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN probability")
    idx = open_index(location, create=False)
    try:
        old = {r["id"]: r for r in idx.export()}
    finally:
        idx.close()
    assert {s["probability"] for s in _scores(old).values() if s is not None} == {None}
    assert any(s is not None for s in _scores(old).values())
    reader = open_index(location, create=False)  # opened before the column is added (the service's reader)
    decided = {**_add(location, day2), **_add(location, day3)}
    try:
        seen = {r["id"]: r for r in reader.export()}
    finally:
        reader.close()
    assert _scores({i: seen[i] for i in decided}) == _scores(decided)
    idx = open_index(location, create=False)
    try:
        rows = {r["id"]: r for r in idx.export()}
    finally:
        idx.close()
    assert _scores({i: rows[i] for i in old}) == _scores(old)
    assert _scores({i: rows[i] for i in decided}) == _scores(decided)
    assert any(s is not None and s["probability"] is not None for i, s in _scores(rows).items() if i in decided)
