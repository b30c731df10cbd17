"""Fuzzing (issue 15): random feeds through every reader and through dedupe, repeats and stories, in process.

Each example writes one random input (:func:`fuzzing.make_feed`: JSONL with broken
lines, wrong types, surrogates, NUL bytes, huge and empty texts, over-long lines;
CSV/TSV with broken quoting; JSON documents; .txt folders; zips with empty members;
gzip, whole or cut; random bytes), reads it with and without ``skip_bad``, and runs
the three commands on it, with or without ``--skip-bad``. Properties: readers raise
only ``DedupError``; exit codes 0 or 1, never a traceback; with ``--skip-bad`` one
output line per input record; after exit 1 no ``summary.json``. The fast profile
here (30 examples) runs in the test suite; ``scripts/fuzz.py`` is the long run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from fuzzing import COMMANDS, Feed, Invoker, check_command, check_outcome, check_readers, jsonl_records, make_feed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_invoke: Invoker | None = None


def _invoker() -> Invoker:
    global _invoke
    if _invoke is None:
        _invoke = Invoker()
    return _invoke


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rng=st.randoms(use_true_random=False), skip_bad=st.booleans())
def test_fuzzed_feeds_through_readers_and_commands(rng, skip_bad: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="dedup-fuzz-") as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        feed = make_feed(rng, folder)
        failures = check_readers(feed)
        for command in COMMANDS:
            failures += check_command(_invoker(), feed, command, skip_bad, Path(tmp) / f"out-{command}")
        assert not failures, failures


@pytest.mark.parametrize(
    ("data", "limit", "records"),
    [
        pytest.param(b"", 100, 0, id="empty"),
        pytest.param(b'{"a":1}\n\n  \n{"b":2}', 100, 2, id="blank-lines-last-unterminated"),
        pytest.param(b'{"a":1}\r\n\r\n', 100, 1, id="crlf"),
        pytest.param(b"\xef\xbb\xbf \n{}\n", 100, 1, id="bom-then-blank"),
        pytest.param(b"\xff\n\x00\n", 100, 2, id="undecodable-and-nul"),
        pytest.param(b" " * 200 + b"\nx\n", 100, 2, id="over-long-blank-is-a-record"),
        pytest.param("\u3000\n\x1c\n".encode(), 100, 0, id="unicode-whitespace"),
    ],
)
def test_the_record_count_oracle(data: bytes, limit: int, records: int) -> None:
    """The harness counts JSONL records by the documented rules alone; the reader must agree."""
    assert jsonl_records(data, limit) == records
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.jsonl"
        path.write_bytes(data)
        assert check_readers(Feed(path, "jsonl", limit, records)) == []


def test_the_harness_sees_what_it_looks_for(tmp_path: Path) -> None:
    """The checks can fail: a lost decision line, a summary left after exit 1, an uncaught exception, exit code 2."""
    feed_path = tmp_path / "f.jsonl"
    feed_path.write_text('{"id": "a", "text": "one two three four five six seven eight nine"}\n{broken\n', encoding="utf-8")
    feed = Feed(feed_path, "jsonl", 1000, 2)
    out = tmp_path / "out"
    assert check_command(_invoker(), feed, "dedupe", True, out) == []
    decisions = out / "decisions.jsonl"
    decisions.write_text(decisions.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    assert [f["kind"] for f in check_outcome(feed, "dedupe", True, out, 0, "", None)] == ["miscounted"]
    assert [f["kind"] for f in check_outcome(feed, "dedupe", True, out, 1, "dedup: error: x", None)] == ["complete_after_failure"]
    assert [f["kind"] for f in check_outcome(feed, "dedupe", True, out, None, "", "Traceback ...")] == ["traceback"]
    assert [f["kind"] for f in check_outcome(feed, "dedupe", True, out, 2, "usage", None)] == ["exit_code"]
