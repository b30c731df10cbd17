"""Failure modes of the batch commands (user audit): each test fails on the code before its fix.

1  a UTF-16 feed or pairs file is refused whole, in one line naming it and its encoding, also with --skip-bad
   (its lines were split at the byte 0x0A: 6 records were "22 bad records", 21 in the other byte order);
4  a full disk (ENOSPC) while a run writes: the --out folder the run made is removed with the files it had written
   (stories left stories.jsonl alone in it, dedupe unique.jsonl, repeats its three files: outputs without a summary);
5  repeats stopped by a bad record late in its input left an earlier run's files without their summary.json (it
   removed it before reading): now the folder is as it was;
6  a TMPDIR that does not exist (or is not a folder) is one line and exit 1 before anything is made, not Python's
   silent fallback to /tmp; a [runtime] temp_dir that does not exist was a traceback.
"""

from __future__ import annotations

import builtins
import codecs
import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import dedup.io.writers as writers
from dedup.cli import app

runner = CliRunner()

# U+010A and U+0A0A hold the byte 0x0A in UTF-16; Arabic as in the feeds
TEXTS = ["قال الرئيس في مؤتمر صحفي إن المحادثات كانت مثمرة \u010a وإن الجانبين اتفقا على مواصلة الحوار",
         "heavy rain flooded roads in the north \u0a0a of the country and schools closed for two days",
         "president xi told foreign minister lavrov in beijing that china and russia must strengthen support"]


def _records(command: str) -> str:
    if command == "similarity":
        rows = [{"id": f"p{k}", "text1": t, "text2": t + " again"} for k, t in enumerate(TEXTS)]
    else:
        rows = [{"id": f"a{k}", "text": t, "date": "2024-03-01"} for k, t in enumerate(TEXTS * 2)]
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


@pytest.mark.parametrize("command", ["dedupe", "stories", "repeats", "similarity"])
@pytest.mark.parametrize(("bom", "codec"), [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")],
                         ids=["le", "be"])
def test_a_utf16_file_is_refused_in_one_line(tmp_path: Path, command: str, bom: bytes, codec: str) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(bom + _records(command).encode(codec))
    good = tmp_path / "good.jsonl"  # read first: the UTF-16 file is refused even after good records
    good.write_text(_records(command), encoding="utf-8")
    out = tmp_path / ("o.jsonl" if command == "similarity" else "out")
    inputs = [feed] if command == "similarity" else [good, feed]
    r = runner.invoke(app, [command, *map(str, inputs), "--out", str(out), "--skip-bad"])
    assert r.exit_code == 1, r.output
    assert r.output.splitlines() == [
        f"dedup: error: {feed}: the file is UTF-16 (it starts with its byte-order mark), not UTF-8, and was not read; "
        f"convert it to UTF-8, e.g. iconv -f UTF-16 -t UTF-8 {feed} > utf8-feed.jsonl"]
    assert not out.exists() or not (out / "summary.json").exists()


class _FullDisk:
    """A file whose writes fail with ENOSPC once more than ``room`` characters were written."""

    def __init__(self, handle: Any, room: int) -> None:
        self._handle, self._room = handle, room

    def write(self, data: Any) -> int:
        self._room -= len(data)
        if self._room < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self._handle.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> "_FullDisk":
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.__exit__(*exc)


def _disk_full_at(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The disk fills while ``name`` is written (through dedup.io.writers, as every output is)."""
    def full_open(path: Any, *args: Any, **kwargs: Any) -> Any:
        handle = builtins.open(path, *args, **kwargs)
        return _FullDisk(handle, 100) if os.path.basename(str(path)).startswith(f".{name}.tmp-") else handle

    monkeypatch.setattr(writers, "open", full_open, raising=False)


@pytest.mark.parametrize(("command", "name"), [
    ("stories", "events.json"), ("stories", "report.html"), ("stories", "summary.json"),
    ("dedupe", "decisions.jsonl"), ("dedupe", "summary.json"), ("repeats", "summary.json"),
])
def test_a_full_disk_leaves_no_folder_the_run_made(tmp_path: Path, seeds_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                    command: str, name: str) -> None:
    _disk_full_at(monkeypatch, name)
    out = tmp_path / "new" / "out"
    r = runner.invoke(app, [command, str(seeds_dir), "--out", str(out), "-q"])
    assert r.exit_code == 1, r.output
    assert r.output.splitlines() == [
        f"dedup: error: {out}: cannot write the outputs (No space left on device); check the path, its permissions and free space",
        f"dedup: {out}: removed with the files this run had written there (the run had made the folder)"]
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("command", ["stories", "dedupe"])
def test_a_full_disk_in_a_folder_that_was_there_leaves_whole_files_and_no_summary(
        tmp_path: Path, seeds_dir: Path, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    _disk_full_at(monkeypatch, "summary.json")
    r = runner.invoke(app, [command, str(seeds_dir), "--out", str(out), "-q"])
    assert r.exit_code == 1 and len(r.output.splitlines()) == 1, r.output
    left = sorted(p.name for p in out.iterdir())
    assert "summary.json" not in left and "notes.txt" in left and not [n for n in left if ".tmp-" in n]
    first = {"stories": "stories.jsonl", "dedupe": "decisions.jsonl"}[command]
    assert len((out / first).read_text(encoding="utf-8").splitlines()) == len(list(seeds_dir.glob("*.txt")))  # whole


def test_a_bad_record_late_in_repeats_input_leaves_the_earlier_run_as_it_was(tmp_path: Path) -> None:
    rows = [json.dumps({"id": f"a{k}", "text": f"{TEXTS[k % 3]}\n\n{TEXTS[k % 3]}\n\nparagraph {k}"}, ensure_ascii=False)
            for k in range(300)]
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text("\n".join(rows) + "\n", encoding="utf-8")
    rows[249] = '{"id": "broken", "text": "a quote never closed'
    bad.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert runner.invoke(app, ["repeats", str(good), "--out", str(out), "-q"]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) == {"repeats.jsonl", "cleaned.jsonl", "articles.jsonl", "summary.json"}
    r = runner.invoke(app, ["repeats", str(bad), "--out", str(out), "-q"])
    assert r.exit_code == 1
    assert r.output.splitlines() == [f"dedup: error: {bad}:250: malformed JSON (Invalid control character at column 47); "
                                     "each line must be one complete JSON object"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # summary.json too: the earlier run is still whole


@pytest.mark.parametrize("command", ["dedupe", "stories", "repeats"])
@pytest.mark.parametrize(("make", "problem"), [(None, "no such folder; create it, or set"), ("file", "not a folder; set")],
                         ids=["missing", "a-file"])
def test_a_tmpdir_that_cannot_be_used_is_one_line(tmp_path: Path, seeds_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                  command: str, make: str | None, problem: str) -> None:
    place = tmp_path / "scratch"
    if make == "file":
        place.write_text("x")
    monkeypatch.setenv("TMPDIR", str(place))
    out = tmp_path / "out"
    r = runner.invoke(app, [command, str(seeds_dir), "--out", str(out), "-q"])
    assert r.exit_code == 1
    assert r.output.splitlines() == [f"dedup: error: TMPDIR={place}: {problem} TMPDIR to a folder with room for the run's "
                                     "temporary files (about twice the feed's size)"]
    assert not out.exists()


def test_a_temp_dir_setting_that_does_not_exist_is_one_line(tmp_path: Path, seeds_dir: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text(f'[runtime]\ntemp_dir = "{tmp_path / "gone"}"\n')
    r = runner.invoke(app, ["dedupe", str(seeds_dir), "--out", str(tmp_path / "out"), "-q", "--config", str(config)])
    assert r.exit_code == 1 and r.output.startswith(f"dedup: error: temp_dir={tmp_path / 'gone'}: no such folder"), r.output
