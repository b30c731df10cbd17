"""Local JSONL files cut into blocks and parsed where they are sent: the same articles, bad records and errors as the line reader."""

from __future__ import annotations

import io
import json
import logging
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dedup.config import DedupConfig, ReadConfig
from dedup.errors import InputFormatError
from dedup.io.readers import ArticleStream
from dedup.io.readers.blocks import JsonlBlocks, parse_block
from dedup.io.spool import ReportSpool
from dedup.jobs.dedupe import run_dedupe
from dedup.runtime import Runtime
from dedup.types import timestamp

SKIP = ReadConfig(skip_bad=True)


def _by_lines(path: Path, config: ReadConfig) -> tuple[list[tuple[Any, ...]], list[Any], list[bytes], list[Any]]:
    spool = ReportSpool()
    try:
        stream = ArticleStream([path], config, keep_raw=True)
        arts = [(a.id, a.text, a.source, a.date, _time(timestamp(a.date)), len(a.text)) for a in spool.tap(stream)]
        return arts, [(b.path, b.line, b.reason, b.position) for b in stream.bad], _copied(spool), \
            [spool.keys(k) for k in range(len(arts))]
    finally:
        spool.close()


def _by_blocks(paths: list[Path], config: ReadConfig, lines_per_block: int,
               max_bytes: int = 64 << 20) -> tuple[list[tuple[Any, ...]], list[Any], list[bytes], list[Any]]:
    spool = ReportSpool()
    try:
        blocks = JsonlBlocks([str(p) for p in paths], config, spool)
        arts = []
        for block in blocks.blocks(lines_per_block, max_bytes):
            parsed, texts = parse_block(block, config)
            for k in blocks.admit(block, parsed).tolist():
                arts.append((parsed.ids[k], texts[k], parsed.sources[k], parsed.dates[k], _time(parsed.times[k]), int(parsed.lengths[k])))
        return arts, [(b.path, b.line, b.reason, b.position) for b in blocks.bad], _copied(spool), \
            [spool.keys(k) for k in range(len(arts))]
    finally:
        spool.close()


def _time(t: float) -> float | None:
    """A timestamp, comparable (NaN: None)."""
    return None if math.isnan(t) else float(t)


def _copied(spool: ReportSpool) -> list[bytes]:
    """The spool's lines, after checking that runs of them copied by offset (as unique.jsonl is written) are those lines."""
    import dedup.io.spool as spool_module

    lines = list(spool.lines())
    keep = np.arange(len(lines)) % 3 != 1  # runs of two, and a first and last record kept
    for stretch in (16 << 20, 1, 150):  # the whole spool in one read; a run a read; a few runs a read
        out = io.BytesIO()
        default, spool_module._COPY_BYTES = spool_module._COPY_BYTES, stretch
        try:
            spool.copy_lines(keep, out)
        finally:
            spool_module._COPY_BYTES = default
        assert out.getvalue() == b"".join(line for line, k in zip(lines, keep) if k)
    with tempfile.TemporaryFile() as real:  # a file: its runs copied file to file in the kernel
        real.write(b"before\n")
        spool.copy_lines(keep, real)
        real.write(b"after\n")  # the file object goes on where the copies ended
        real.seek(0)
        assert real.read() == b"before\n" + b"".join(line for line, k in zip(lines, keep) if k) + b"after\n"
    with pytest.raises(ValueError, match="records for the"):
        spool.copy_lines(np.ones(len(lines) + 1, dtype=bool), out)
    some = np.flatnonzero(keep).tolist() + [len(lines), len(lines) + 5]  # (positions past the records have none)
    for rows in (some, list(range(len(lines))), []):  # and each record read on its own, as the page reads its few
        assert list(spool.lines_of(rows)) == [(k, lines[k]) for k in rows if k < len(lines)]
    return lines


def _lines(*records: Any) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode()) + b"\n" for r in records)


ARABIC = "قال الوزير إن المحادثات كانت مثمرة وبناءة"
FEEDS = {
    "plain": _lines(*({"id": f"a{k}", "text": f"{ARABIC[:20]} {k}", "title": f"T{k}", "source": "s",
                       "date": ("2024-01-02", "2024-01-02T10:00+03:00", "no date", "2024-01-03Z")[k % 4]} for k in range(40))),
    "bom-crlf-blank-no-final-newline": b"\xef\xbb\xbf" + b"\r\n".join(
        [json.dumps({"id": k, "body": f"x {k}", "headline": 7 if k % 3 else "h"}).encode() for k in range(25)]
        + [b"", b"   "] + [json.dumps({"id": 99, "body": "last"}).encode()]),
    "bad-lines-among-good": _lines(
        b"not json", {"id": "a", "text": "one"}, [1, 2], {"id": "b"}, {"id": "c", "text": 5}, b"\xff\xfe bad utf8",
        {"id": "a", "text": "repeated"}, b'{"id": "d", "text": "x \\ud800 y"}',
        b'{"id": "e", "text": "lone \\udc00 escape"}', {"id": None, "text": "no id"}, {"id": "f", "text": "fine"},
        *({"id": f"g{k}", "text": f"good {k}"} for k in range(30)), {"id": "g3", "text": "again"}),
    "no-ids": _lines(*({"text": f"{ARABIC} {k}", "date": k} for k in range(33))),
    "first-lines-bad": _lines(b"{oops", b"[]", {"id": "z", "text": "first object"}, {"id": "y", "text": "second"}),
    "too-long-lines": _lines(*({"id": f"l{k}", "text": ("w " * (80 if k % 7 == 3 else 5)) + str(k)} for k in range(40))),
    "utf16-bom": "\ufeff".encode("utf-16-le") + '{"id": "a", "text": "x"}\n'.encode("utf-16-le"),
    "first-record-undated": _lines({"id": "a", "text": "first"}, *({"id": f"d{k}", "text": f"t {k}", "date": f"2020-01-{k + 1:02d}",
                                    "headline": "h", "source": "s"} for k in range(20)), {"id": "p", "text": "p", "published": "2019-05-01"}),
}


@pytest.mark.parametrize("feed", sorted(FEEDS))
@pytest.mark.parametrize(("lines_per_block", "max_bytes"), [(1, 1 << 20), (3, 1 << 20), (1000, 1 << 20), (1, 7), (5, 61), (9, 150)])
def test_blocks_give_what_the_line_reader_gives(tmp_path: Path, feed: str, lines_per_block: int, max_bytes: int) -> None:
    """Blocks of a line or a few, and blocks cut inside lines (shorter than, or around, the record limit)."""
    path = tmp_path / "f.jsonl"
    path.write_bytes(FEEDS[feed])
    config = ReadConfig(skip_bad=True, max_record_bytes=120)
    try:
        expected = _by_lines(path, config)
    except InputFormatError as err:
        with pytest.raises(InputFormatError) as got:
            _by_blocks([path], config, lines_per_block, max_bytes)
        assert str(got.value) == str(err)
        return
    assert _by_blocks([path], config, lines_per_block, max_bytes) == expected


@pytest.mark.parametrize("feed", ["bad-lines-among-good", "first-lines-bad", "too-long-lines", "utf16-bom"])
def test_without_skip_bad_the_same_first_error(tmp_path: Path, feed: str) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(FEEDS[feed])
    config = ReadConfig(max_record_bytes=120)
    with pytest.raises(InputFormatError) as err:
        _by_lines(path, config)
    with pytest.raises(InputFormatError) as got:
        _by_blocks([path], config, 2, 50)
    assert str(got.value) == str(err.value)


def test_several_files_positions_go_on_and_ids_are_checked_across_them(tmp_path: Path) -> None:
    one, two, empty = tmp_path / "1.jsonl", tmp_path / "2.jsonl", tmp_path / "3.jsonl"
    one.write_bytes(_lines(*({"text": f"t {k}"} for k in range(5))))
    two.write_bytes(_lines({"text": "u"}, {"id": "0", "text": "clash"}) + _lines(*({"text": f"v {k}"} for k in range(5))))
    stream = ArticleStream([one, two], SKIP)
    expected = [(a.id, a.text) for a in stream]
    got = _by_blocks([one, two], SKIP, 2)
    assert [(a[0], a[1]) for a in got[0]] == expected
    assert [b[:3] for b in got[1]] == [(b.path, b.line, b.reason) for b in stream.bad]
    empty.write_bytes(b"\n\n")
    with pytest.raises(InputFormatError, match="empty input"):
        _by_blocks([one, empty], SKIP, 2)


def test_a_file_of_only_bad_records_then_no_articles(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(_lines(b"nope", [1]))
    with pytest.raises(InputFormatError, match="no articles"):
        _by_blocks([path], SKIP, 2)


def test_usable_only_for_local_jsonl_files(tmp_path: Path) -> None:
    (tmp_path / "f.jsonl").write_text("{}\n")
    (tmp_path / "f.csv").write_text("id,text\n")
    assert JsonlBlocks.usable([str(tmp_path / "f.jsonl")], ReadConfig())
    assert not JsonlBlocks.usable([str(tmp_path / "f.csv")], ReadConfig())
    assert not JsonlBlocks.usable([str(tmp_path)], ReadConfig())  # a folder
    assert not JsonlBlocks.usable(["-"], ReadConfig())
    assert not JsonlBlocks.usable([str(tmp_path / "f.jsonl")], ReadConfig(format="csv"))


def _copies_feed(tmp_path: Path) -> Path:
    """Sixty articles over three sources with boilerplate, fifteen copies, bad records and repeated ids."""
    rng = np.random.default_rng(0)
    words = [f"w{k}" for k in range(400)]
    records: list[Any] = []
    for k in range(60):
        body = " ".join(rng.choice(words, 60))
        records.append({"id": f"s{k}", "text": body + "\nتابعونا على تويتر", "source": f"o{k % 3}", "date": f"2024-01-{1 + k % 9:02d}"})
        if k % 4 == 0:
            records.append({"id": f"c{k}", "text": "عاجل " + body, "source": "wire", "date": "2024-01-05"})
        if k % 13 == 0:
            records.append(b"{broken")
            records.append({"id": f"s{k}", "text": "a repeated id"})
    path = tmp_path / "feed.jsonl"
    path.write_bytes(_lines(*records))
    return path


@pytest.mark.parametrize("jobs", [1, 2])
def test_dedupe_outputs_are_those_of_the_line_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    """A feed with copies, boilerplate, bad records and a repeated id: every output byte for byte (with two jobs,
    parsed by the workers: a feed this small would be prepared here, WORKERS_FROM_BLOCKS)."""
    import dedup.flows.prepare as flow
    from dedup.runtime import usable_cores

    monkeypatch.setattr(flow, "WORKERS_FROM_BLOCKS", 1)
    path = _copies_feed(tmp_path)
    settings = {"read": SKIP, "dedupe": DedupConfig(), "runtime": Runtime(n_jobs=jobs, chunk_size=7)}
    run_dedupe([str(path)], str(tmp_path / "blocks"), settings, quiet=True)
    used = json.loads((tmp_path / "blocks" / "summary.json").read_text())["processes"]["workers_by_stage"]["normalize"]
    assert used == (min(jobs, usable_cores()) if jobs > 1 else 0)
    monkeypatch.setattr(JsonlBlocks, "usable", staticmethod(lambda paths, config: False))
    run_dedupe([str(path)], str(tmp_path / "lines"), settings, quiet=True)
    for name in ("decisions.jsonl", "pairs.jsonl", "unique.jsonl", "report.html"):
        assert (tmp_path / "blocks" / name).read_bytes() == (tmp_path / "lines" / name).read_bytes(), name
    rows = [json.loads(x) for x in (tmp_path / "blocks" / "decisions.jsonl").read_text().splitlines()]
    assert sum(r["status"] == "duplicate" for r in rows) >= 10 and sum(r["id"] is None for r in rows) == 10


def test_texts_held_in_memory_or_spilled_give_the_same_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small feed's run in one process keeps its heap and holds the first HOLD_CHARS of normalized text in memory,
    spilling the rest to files: wherever that line falls (every chunk spilled, some held, all held), and without the
    kept heap (every chunk spilled), every output byte for byte; and a small feed writes no spill."""
    import dedup.exec.heap as heap
    import dedup.flows.prepare as flow
    import dedup.sketch.prepare as chunks

    if heap._libc() is None:
        pytest.skip("not glibc: no heap kept, nothing held")
    path = _copies_feed(tmp_path)
    settings = {"read": SKIP, "dedupe": DedupConfig(), "runtime": Runtime(n_jobs=1, chunk_size=7)}
    spilled: list[str] = []

    def counted(write):  # type: ignore[no-untyped-def]
        return lambda spill, texts: (spilled.append(spill), write(spill, texts))[1]

    monkeypatch.setattr(flow, "write_spill", counted(flow.write_spill))
    monkeypatch.setattr(chunks, "write_spill", counted(chunks.write_spill))
    run_dedupe([str(path)], str(tmp_path / "held"), settings, quiet=True)
    assert spilled == []  # a feed this small is never written out and read back
    spills = []
    for name, hold, small in (("none", 0, heap.SMALL_FEED), ("some", 2000, heap.SMALL_FEED), ("large", 1 << 30, 0)):
        monkeypatch.setattr(flow, "HOLD_CHARS", hold)
        monkeypatch.setattr(heap, "SMALL_FEED", small)  # 0: this feed is too large to keep the heap
        run_dedupe([str(path)], str(tmp_path / name), settings, quiet=True)
        spills.append(len(set(spilled)))  # the chunks spilled (a chunk with a repeated id is written again)
        spilled.clear()
        for file in ("decisions.jsonl", "pairs.jsonl", "unique.jsonl", "summary.json"):
            if file == "summary.json":  # the same but for the timings
                a, b = (json.loads((tmp_path / d / file).read_text()) for d in ("held", name))
                assert {k: v for k, v in a.items() if k != "timings_seconds"} == {k: v for k, v in b.items() if k != "timings_seconds"}
                continue
            assert (tmp_path / "held" / file).read_bytes() == (tmp_path / name / file).read_bytes(), (name, file)
    assert spills[0] > spills[1] > 0 and spills[2] >= spills[0], spills  # hold 0 or no kept heap: every chunk; 2,000 characters: some


def test_warnings_name_the_bad_records_as_the_line_reader_does(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logging.getLogger("dedup"), "propagate", True)  # a CLI run in this process may have turned it off
    path = tmp_path / "f.jsonl"
    path.write_bytes(FEEDS["bad-lines-among-good"])
    with caplog.at_level(logging.WARNING, logger="dedup"):
        _by_lines(path, SKIP)
    expected = [r.getMessage() for r in caplog.records]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dedup"):
        _by_blocks([path], SKIP, 4)
    assert [r.getMessage() for r in caplog.records] == expected and expected


def _read_all(paths: list[Path], spool: ReportSpool, lines_per_block: int = 4) -> int:
    blocks = JsonlBlocks([str(p) for p in paths], SKIP, spool)
    n = 0
    for block in blocks.blocks(lines_per_block):
        parsed, _ = parse_block(block, SKIP)
        n += len(blocks.admit(block, parsed))
    return n


def test_a_plain_files_lines_are_located_not_copied(tmp_path: Path) -> None:
    import gzip

    data = FEEDS["plain"] + FEEDS["bad-lines-among-good"]
    plain, packed = tmp_path / "feed.jsonl", tmp_path / "feed.jsonl.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    expected = _by_lines(plain, SKIP)[2]
    for path, copied_all in ((plain, False), (packed, True)):
        spool = ReportSpool()
        try:
            _read_all([path], spool)
            assert _copied(spool) == expected
            written = spool._file.seek(0, 2)
            if copied_all:  # a compressed file cannot be read back by offset: every line is copied
                assert written == sum(len(x) for x in expected)
            else:  # only the first line (read before the fields were known) was copied
                assert written == len(expected[0])
        finally:
            spool.close()


def test_the_same_file_twice_is_located_twice(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_bytes(FEEDS["no-ids"])  # positions for ids: the second reading adds articles
    spool = ReportSpool()
    try:
        assert _read_all([path, path], spool) == 66
        lines = _copied(spool)
        assert lines == _by_lines(path, SKIP)[2] * 2
    finally:
        spool.close()


@pytest.mark.parametrize("into", ["memory", "file"])
def test_an_input_changed_before_the_outputs_are_written_is_refused(tmp_path: Path, into: str) -> None:
    from dedup.errors import InputError

    path = tmp_path / "feed.jsonl"
    path.write_bytes(FEEDS["plain"])
    spool = ReportSpool()
    try:
        n = _read_all([path], spool)
        with path.open("ab") as f:
            f.write(_lines({"id": "late", "text": "added while the run went on"}))
        with pytest.raises(InputError, match=r"feed\.jsonl: the file changed while dedup ran"), \
                (tempfile.TemporaryFile() if into == "file" else io.BytesIO()) as out:
            spool.copy_lines(np.ones(n, dtype=bool), out)
    finally:
        spool.close()


@pytest.mark.skipif(not hasattr(os, "copy_file_range"), reason="copy_file_range is Linux's")
@pytest.mark.parametrize("refused", [False, True])
def test_kept_records_are_copied_in_the_kernel_or_read_and_written_where_it_refuses(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused: bool) -> None:
    import errno

    path = tmp_path / "feed.jsonl"
    path.write_bytes(FEEDS["plain"])
    real, calls = os.copy_file_range, []

    def copy(*args):  # noqa: ANN002, ANN202
        calls.append(args)
        if refused:
            raise OSError(errno.EXDEV, "across file systems")
        return real(*args)

    monkeypatch.setattr(os, "copy_file_range", copy)
    spool = ReportSpool()
    try:
        n = _read_all([path], spool)
        keep = np.arange(n) % 2 == 0
        lines = list(spool.lines())
        with tempfile.TemporaryFile() as out:
            spool.copy_lines(keep, out)
            out.seek(0)
            assert out.read() == b"".join(line for line, k in zip(lines, keep) if k)
        assert len(calls) == (1 if refused else (n + 1) // 2)  # a call a run (here a line); refused: the first only
    finally:
        spool.close()


def test_dedupe_says_when_an_input_changed_under_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's one-line error, and no summary.json vouching for the outputs."""
    from typer.testing import CliRunner

    import dedup.io.dedupe_out as out_module
    from dedup.cli import app

    path = tmp_path / "feed.jsonl"
    path.write_bytes(FEEDS["plain"] * 1 + _lines(*({"id": f"b{k}", "text": f"{ARABIC} {k}"} for k in range(20))))
    write = out_module._write_unique

    def touch_then_write(*args: Any, **kwargs: Any) -> None:
        with path.open("ab") as f:
            f.write(_lines({"id": "late", "text": "added while the run went on"}))
        write(*args, **kwargs)

    monkeypatch.setattr(out_module, "_write_unique", touch_then_write)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["dedupe", str(path), "--out", str(out), "-q", "--jobs", "1"])
    assert result.exit_code == 1, result.output
    assert "the file changed while dedup ran" in result.output
    assert not (out / "summary.json").exists()


def test_a_located_block_is_parsed_from_the_file_itself(tmp_path: Path) -> None:
    """What a worker on this machine gets: the block's place in the file, not its bytes; it parses the same."""
    import gzip

    from dedup.errors import InputError

    data = FEEDS["plain"] + FEEDS["bad-lines-among-good"]
    plain, packed = tmp_path / "feed.jsonl", tmp_path / "feed.jsonl.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    located = 0
    for path in (plain, packed):
        blocks = JsonlBlocks([str(path)], SKIP)
        for block in blocks.blocks(4, max_bytes=300):
            light = block.located()
            if path == packed or not block.data:
                assert light is block  # a compressed file's bytes, and the parent's own articles, travel as they are
            else:
                assert light.data == b"" and light.size == len(block.data) and light.bytes() == block.data
                located += 1
            (p1, t1), (p2, t2) = parse_block(block, SKIP), parse_block(light, SKIP)
            assert (t1, p1.ids, p1.lines, p1.bad, p1.whole, p1.spans.tolist()) == (t2, p2.ids, p2.lines, p2.bad, p2.whole, p2.spans.tolist())
            blocks.admit(block, p1)
    assert located > 5
    last = next(b for b in reversed(list(JsonlBlocks([str(plain)], SKIP).blocks(4, max_bytes=300))) if b.data).located()
    plain.write_bytes(data[: len(data) // 2])  # cut short while the run goes on
    with pytest.raises(InputError, match=r"feed\.jsonl: the file changed while dedup ran"):
        parse_block(last, SKIP)


@pytest.mark.parametrize("feed", sorted(set(FEEDS) - {"utf16-bom"}))  # a UTF-16 file is refused whole: it has no blocks
def test_the_plain_path_reads_what_the_line_reader_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, feed: str) -> None:
    """A usual block takes the plain path (one loop, no per-line machinery); it gives what the general path gives,
    and any other block is left to the general path."""
    import dedup.io.readers.blocks as blocks_module

    path = tmp_path / "feed.jsonl"
    variants = {"as-is": FEEDS[feed],
                "numbers-for-titles": FEEDS[feed].replace(b'"title": "T1"', b'"title": 1').replace(b'"date": "no date"', b'"date": 7')}
    taken = 0
    for data in variants.values():
        path.write_bytes(data)
        for block in JsonlBlocks([str(path)], SKIP).blocks(3, max_bytes=200):
            if block.articles or not block.data:
                continue
            plain = blocks_module._plain_block(block.data, block, SKIP)
            with monkeypatch.context() as m:
                m.setattr(blocks_module, "_plain_block", lambda *a: None)
                parsed, texts = parse_block(block, SKIP)
            if plain is None:
                continue
            taken += 1
            p, t = plain
            assert t == texts
            for name in ("lines", "ids", "sources", "dates", "keys", "bad", "n_items", "whole"):
                assert getattr(p, name) == getattr(parsed, name), name
            for name in ("lengths", "empty", "spans"):
                assert getattr(p, name).tolist() == getattr(parsed, name).tolist(), name
            assert np.array_equal(p.times, parsed.times, equal_nan=True)
    if feed in ("plain", "no-ids", "too-long-lines"):
        assert taken > 3


@pytest.mark.parametrize("line", [
    '{"id": "a", "a": "x", "title": "x", "text": "t t", "date": "2024-01-01"}',  # one character: a shared object, found first under "a"
    '{"id": "a", "headline": "ab", "title": "ab", "text": "t t"}',  # longer: an object of its own, under "title"
    '{"id": "a", "title": 7, "text": "t t", "date": ""}',  # not a string: no key holds the string read
    '{"id": "a", "text": "t t"}',
])
def test_the_keys_of_the_title_and_date_are_found_as_the_record_scan_finds_them(line: str) -> None:
    from dedup.io.readers.blocks import _key_of, record_keys

    record = json.loads(line)
    title = record.get("title")
    title = "" if title is None else title if isinstance(title, str) else str(title)
    date = record.get("date") or None
    assert (record.get("text") and "text", _key_of(record, title, "title"), _key_of(record, date, "date")) == \
        record_keys(record, "text", title, date)


def test_timestamps_of_a_block_equal_each_date_read_alone() -> None:
    """The plain dates NumPy parses at once give what timestamp gives each one, and every other value goes its own way."""
    import random

    import numpy as np

    from dedup.types import timestamp, timestamps

    odd = ["0000-01-01", "2015-07-21 24:00:00", "2015-07-21 23:59:60", "2015-02-29", "2016-02-29 12:00:00", " 2015-07-21",
           "2015-07-21Z", "2015-07-21T02:51:32Z", "2015-07-21 02:51:32+03:00", "2015-07-21 02:51", "2015-7-21", "", None,
           "yesterday", "2015-07-21 02:51:32.5", "1969-12-31 23:59:59", "9999-12-31 23:59:59", "2015-13-01", "2015-00-10"]
    rng = random.Random(3)
    plain = [f"{rng.randint(1, 9999):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 31):02d}"
             + (f"{rng.choice(' T')}{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}" if rng.random() < .7 else "")
             for _ in range(300)]
    # each odd value also beside valid plain dates only (a block NumPy then parses whole)
    blocks = [plain, odd, plain + odd, [v for v in plain if v[8:10] <= "28"], [], [None]] + [[v, "2015-07-21"] for v in odd]
    for values in blocks:
        want = np.array([timestamp(v) for v in values], dtype=np.float64)
        assert np.array_equal(timestamps(values), want, equal_nan=True), values


def test_a_later_record_s_date_is_read_when_the_first_record_had_none(tmp_path: Path) -> None:
    """Fields were found in the first record only: an undated first record left every later date unread, silently
    (and for good in a history index). Both readers read each record's own."""
    path = tmp_path / "f.jsonl"
    path.write_bytes(FEEDS["first-record-undated"])
    dates = [a[3] for a in _by_lines(path, SKIP)[0]]
    assert dates[0] is None and dates[1] == "2020-01-01" and dates[-1] == "2019-05-01"
    assert [a[3] for a in _by_blocks([path], SKIP, 4)[0]] == dates
    assert [a.title for a in ArticleStream([path], SKIP)][1] == "h"
