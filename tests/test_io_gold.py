"""dedup.io.gold: gold labels (pairs or a cluster per article) and a finished run's clusters, read for ``dedup eval``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dedup.errors import InputFormatError, InputNotFoundError
from dedup.io.gold import read_gold, read_run


def _jsonl(path: Path, *rows: object) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


# ------------------------------------------------------------------ read_gold


@pytest.mark.parametrize(
    ("label", "positive", "same"),
    [
        pytest.param("DUP", {"DUP"}, True, id="a-positive-name"),
        pytest.param("NO", {"DUP"}, False, id="another-name"),
        pytest.param("EVENT", {"DUP"}, False, id="event-not-positive-by-default"),
        pytest.param("EVENT", {"DUP", "EVENT"}, True, id="event-when-the-caller-says-so"),
        pytest.param(True, {"DUP"}, True, id="true"),
        pytest.param(False, {"DUP"}, False, id="false"),
        pytest.param(1, {"DUP"}, True, id="one"),
        pytest.param(0, {"DUP"}, False, id="zero"),
    ],
)
def test_pair_labels(tmp_path: Path, label: object, positive: set[str], same: bool) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", {"id1": "a", "id2": "b", "label": label})
    assert read_gold(gold, positive) == ("pairs", [("a", "b", same)])


def test_pairs_in_order_ids_as_strings_extra_fields_ignored(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl",
                  {"id1": "ب", "id2": "أ", "label": "DUP", "kind": "copy", "note": "x"},
                  "",
                  {"id1": 7, "id2": 8.5, "label": "TOPIC"})
    assert read_gold(str(gold), {"DUP"}) == ("pairs", [("ب", "أ", True), ("7", "8.5", False)])


def test_clusters(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", {"id": "a", "cluster": 1}, {"id": 2, "cluster": "x"}, {"id": "c", "cluster": 1})
    assert read_gold(gold, {"DUP"}) == ("clusters", {"a": "1", "2": "x", "c": "1"})


def test_a_line_with_both_shapes_is_read_as_pairs(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", {"id1": "a", "id2": "b", "label": 1, "id": "z", "cluster": 3})
    assert read_gold(gold, set())[0] == "pairs"


@pytest.mark.parametrize("content", ["", "\n\n"], ids=["empty", "blank-lines"])
def test_an_empty_gold_file(tmp_path: Path, content: str) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text(content, encoding="utf-8")
    with pytest.raises(InputFormatError, match="empty gold file"):
        read_gold(gold, {"DUP"})


@pytest.mark.parametrize(
    "first",
    [{"x": 1}, {"id1": "a", "id2": "b"}, {"id": "a"}, {"cluster": 1}],
    ids=["unknown", "pair-without-label", "id-without-cluster", "cluster-without-id"],
)
def test_a_first_line_of_neither_shape_names_its_fields(tmp_path: Path, first: dict) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", first)
    with pytest.raises(InputFormatError, match="id1, id2 and label.*id and cluster") as err:
        read_gold(gold, {"DUP"})
    assert err.value.line == 1 and err.value.path == str(gold)
    assert f"found fields: {', '.join(sorted(first))}" in str(err.value)


def test_a_missing_gold_file(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError):
        read_gold(tmp_path / "absent.jsonl", {"DUP"})


@pytest.mark.parametrize(("name", "first"), [
    pytest.param("gold.csv", "id1,id2,label", id="csv"),
    pytest.param("gold.jsonl", "id1\tid2\tlabel", id="tsv-named-jsonl"),
])
def test_a_csv_gold_file_is_named_so_with_the_lines_expected(tmp_path: Path, name: str, first: str) -> None:
    """A CSV gold file was "malformed JSON" at line 1: the error says what the file looks like and what is read."""
    gold = _jsonl(tmp_path / name, first, "a,b,DUP")
    with pytest.raises(InputFormatError, match=r"(CSV|TSV).*not JSON Lines: this input is one JSON object per line, "
                       r'\{"id1", "id2", "label"\} or \{"id", "cluster"\}; convert it to JSONL') as err:
        read_gold(gold, {"DUP"})
    assert err.value.line == 1 and "malformed JSON" not in str(err.value)


def test_a_malformed_line_is_located(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", {"id1": "a", "id2": "b", "label": 1}, "{oops")
    with pytest.raises(InputFormatError) as err:
        read_gold(gold, {"DUP"})
    assert err.value.line == 2


@pytest.mark.parametrize(
    "rows",
    [
        ({"id1": "a", "id2": "b", "label": "DUP"}, {"id1": "c", "label": "DUP"}),
        ({"id": "a", "cluster": 1}, {"id": "b"}),
    ],
    ids=["pairs", "clusters"],
)
def test_a_later_line_without_the_fields_is_located(tmp_path: Path, rows: tuple) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", *rows)
    with pytest.raises(InputFormatError) as err:
        read_gold(gold, {"DUP"})
    assert err.value.line == 2


# ------------------------------------------------------------------ read_run


def test_read_run_groups(tmp_path: Path) -> None:
    _jsonl(tmp_path / "decisions.jsonl",
           {"id": "a", "status": "kept", "group": "a"},
           {"id": "b", "status": "duplicate", "group": "a"},
           {"id": "c", "status": "kept", "group": None},
           {"id": 4, "status": "kept", "group": 4},  # numbers become strings
           {"id": None, "status": "skipped", "group": None},  # a bad record's line
           {"status": "skipped"},  # no id at all
           {"id": {"x": 1}, "group": "a"},  # not a string or number
           {"id": True, "group": "a"},  # a boolean is not an id
           {"id": 2.5},  # no group field: alone
           )
    assert read_run(tmp_path, "group") == {"a": "a", "b": "a", "c": None, "4": "4", "2.5": None}


@pytest.mark.parametrize("level", ["event", "storyline"])
def test_read_run_stories_levels(tmp_path: Path, level: str) -> None:
    _jsonl(tmp_path / "stories.jsonl",
           {"id": "a", "event": "e1", "storyline": "s1"},
           {"id": "b", "event": "e1", "storyline": "s1"},
           {"id": "c", "event": "e2", "storyline": "s1"})
    (tmp_path / "decisions.jsonl").write_text('{"id": "a", "group": "zzz"}\n', encoding="utf-8")  # not read
    expected = {"event": {"a": "e1", "b": "e1", "c": "e2"}, "storyline": {"a": "s1", "b": "s1", "c": "s1"}}[level]
    assert read_run(str(tmp_path), level) == expected


def test_read_run_parquet_when_there_is_no_jsonl(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({"id": ["a", "b", "c"], "group": ["a", "a", None], "status": ["kept", "duplicate", "kept"]})
    pq.write_table(table, tmp_path / "decisions.parquet")
    assert read_run(tmp_path, "group") == {"a": "a", "b": "a", "c": None}
    _jsonl(tmp_path / "decisions.jsonl", {"id": "x", "group": "y"})  # with both, the JSONL is read
    assert read_run(tmp_path, "group") == {"x": "y"}


def test_read_run_without_its_file(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="decisions.jsonl"):
        read_run(tmp_path, "group")
    with pytest.raises(InputNotFoundError, match="stories.jsonl"):
        read_run(tmp_path, "event")


def test_an_empty_run_file_is_not_called_a_gold_file(tmp_path: Path) -> None:
    (tmp_path / "decisions.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(InputFormatError) as err:
        read_run(tmp_path, "group")
    assert "gold" not in str(err.value)


def test_a_pair_of_an_article_with_itself_is_named(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", {"id1": "a", "id2": "b", "label": "DUP"}, {"id1": "c", "id2": "c", "label": "DUP"})
    with pytest.raises(InputFormatError, match=r"gold.jsonl:2: a pair of 'c' with itself"):
        read_gold(gold, {"DUP"})


def test_a_pair_labelled_twice_is_named_with_both_lines(tmp_path: Path) -> None:
    """Either way round, same label or not: it counted twice."""
    gold = _jsonl(tmp_path / "gold.jsonl", {"id1": "a", "id2": "b", "label": "DUP"}, {"id1": "x", "id2": "y", "label": "NO"},
                  {"id1": "b", "id2": "a", "label": "NO"})
    with pytest.raises(InputFormatError, match=r"gold.jsonl:3: the pair 'b', 'a' is labelled twice \(line 1 and here\)"):
        read_gold(gold, {"DUP"})


def test_a_byte_order_mark_is_passed_over(tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_bytes("\ufeff".encode("utf-8") + b'{"id1": "a", "id2": "b", "label": "DUP"}\n')
    assert read_gold(gold, {"DUP"}) == ("pairs", [("a", "b", True)])


# ------------------------------------------------------------------ side-input limits and numeric ids


def test_a_gold_line_longer_than_the_limit_is_refused_with_its_line(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", {"id1": "a", "id2": "b", "label": "DUP"},
                  {"id1": "a", "id2": "c", "label": "DUP", "note": "x" * 5000})
    with pytest.raises(InputFormatError, match=r"gold\.jsonl:2: line too long: \d+ bytes > the limit of 1000 "
                                               r"\(--max-record-bytes\)"):
        read_gold(gold, {"DUP"}, limit=1000)
    assert len(read_gold(gold, {"DUP"})[1]) == 2  # within the default limit


@pytest.mark.parametrize(
    ("given", "read"),
    [
        pytest.param(1, "1", id="an-integer"),
        pytest.param(1.0, "1", id="a-whole-float"),
        pytest.param(1e3, "1000", id="an-exponent"),
        pytest.param(2.5, "2.5", id="a-fraction-untouched"),
        pytest.param("1.0", "1.0", id="a-string-untouched"),
        pytest.param("007", "007", id="leading-zeros-of-a-string"),
    ],
)
def test_whole_number_ids_read_as_their_digits(tmp_path: Path, given: object, read: str) -> None:
    pairs = _jsonl(tmp_path / "pairs.jsonl", {"id1": given, "id2": "b", "label": "DUP"})
    assert read_gold(pairs, {"DUP"}) == ("pairs", [(read, "b", True)])
    clusters = _jsonl(tmp_path / "clusters.jsonl", {"id": given, "cluster": "c"})
    assert read_gold(clusters, {"DUP"}) == ("clusters", {read: "c"})


def test_one_and_one_point_zero_are_one_article_in_a_gold_file(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", {"id1": 1, "id2": 2, "label": "DUP"}, {"id1": 2.0, "id2": 1.0, "label": "DUP"})
    with pytest.raises(InputFormatError, match="labelled twice"):
        read_gold(gold, {"DUP"})
