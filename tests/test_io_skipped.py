"""dedup.io.skipped: a line for every input record, bad ones in their place; the summary lists the first few."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dedup.io.skipped import LISTED, skipped_row, summary_bad, with_skipped
from dedup.types import BadRecord

BLANK = {"group": None, "duplicate_of": None}


def _bad(line: int, position: int | None, reason: str = "malformed JSON") -> BadRecord:
    return BadRecord("feed.jsonl", line, reason, position=position)


def test_skipped_row() -> None:
    row = skipped_row(_bad(7, 0, "no text"), BLANK)
    assert row == {"id": None, "status": "skipped", "group": None, "duplicate_of": None,
                   "reason": "skipped: bad record: no text", "file": "feed.jsonl", "line": 7}
    assert list(row)[:2] == ["id", "status"] and list(row)[-3:] == ["reason", "file", "line"]


def test_skipped_row_has_no_id_even_when_blank_is_empty() -> None:
    assert skipped_row(_bad(1, 0), {})["id"] is None


def _ids(rows) -> list:
    return [r["id"] if r["id"] is not None else f"bad@{r['line']}" for r in rows]


@pytest.mark.parametrize(
    ("n_articles", "bad", "expected"),
    [
        pytest.param(0, [], [], id="nothing"),
        pytest.param(2, [], ["a0", "a1"], id="no-bad-records"),
        pytest.param(0, [_bad(1, 0), _bad(2, 0)], ["bad@1", "bad@2"], id="only-bad-records"),
        pytest.param(2, [_bad(1, 0)], ["bad@1", "a0", "a1"], id="before-the-first"),
        pytest.param(3, [_bad(3, 2)], ["a0", "a1", "bad@3", "a2"], id="before-article-2"),
        pytest.param(2, [_bad(3, 2)], ["a0", "a1", "bad@3"], id="after-the-last"),
        pytest.param(2, [_bad(2, 1), _bad(3, 1), _bad(5, 2)], ["a0", "bad@2", "bad@3", "a1", "bad@5"], id="several"),
        pytest.param(2, [_bad(1, 0), _bad(9, None)], ["bad@1", "a0", "a1", "bad@9"], id="no-position-goes-last"),
    ],
)
def test_with_skipped_table(n_articles: int, bad: list[BadRecord], expected: list[str]) -> None:
    rows = [{"id": f"a{k}", "group": None, "duplicate_of": None} for k in range(n_articles)]
    assert _ids(with_skipped(rows, bad, BLANK)) == expected


@given(st.lists(st.booleans(), max_size=30))
def test_with_skipped_restores_the_input_order(is_article: list[bool]) -> None:
    """Records in input order (True: an article); the bad ones know how many articles came before them."""
    rows, bad, expected = [], [], []
    for line, art in enumerate(is_article, 1):
        if art:
            rows.append({"id": f"a{line}"})
            expected.append(f"a{line}")
        else:
            bad.append(_bad(line, len(rows)))
            expected.append(f"bad@{line}")
    assert _ids(with_skipped(rows, bad, {})) == expected


def test_with_skipped_reads_a_growing_list_as_the_rows_come() -> None:
    """A stream: the bad records read before article k are in the list by the time its row is asked for."""
    bad: list[BadRecord] = []
    asked: list[int] = []
    events = ["bad", "art", "bad", "bad", "art", "art", "bad"]

    def rows():
        n = 0
        for line, what in enumerate(events, 1):
            if what == "bad":
                bad.append(_bad(line, n))
            else:
                n += 1
                yield {"id": f"a{line}"}

    def current() -> list[BadRecord]:
        asked.append(len(bad))
        return bad

    out = _ids(with_skipped(rows(), current, {}))
    assert out == ["bad@1", "a2", "bad@3", "bad@4", "a5", "a6", "bad@7"]
    assert asked[-1] == 4  # asked again at the end, when the last bad record is known


def test_with_skipped_is_lazy() -> None:
    pulled = []

    def rows():
        for k in range(3):
            pulled.append(k)
            yield {"id": str(k)}

    it = with_skipped(rows(), [], {})
    assert next(it)["id"] == "0" and pulled == [0]


@pytest.mark.parametrize(
    ("n_bad", "listed", "n_listed", "not_listed"),
    [(0, 100, 0, 0), (3, 100, 3, 0), (3, 2, 2, 1), (3, 3, 3, 0), (5, 0, 0, 5)],
)
def test_summary_bad(n_bad: int, listed: int, n_listed: int, not_listed: int) -> None:
    bad = [_bad(k + 1, k, f"reason {k}") for k in range(n_bad)]
    out = summary_bad(bad, listed=listed)
    assert out["bad_records_not_listed"] == not_listed
    assert out["bad_records"] == [{"file": "feed.jsonl", "line": k + 1, "reason": f"reason {k}"} for k in range(n_listed)]


def test_summary_bad_lists_the_first_hundred_by_default() -> None:
    bad = [_bad(k + 1, None) for k in range(LISTED + 50)]
    out = summary_bad(bad)
    assert LISTED == 100 and len(out["bad_records"]) == 100 and out["bad_records_not_listed"] == 50
    assert out["bad_records"][-1]["line"] == 100
