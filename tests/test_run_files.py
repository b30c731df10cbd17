"""dedup.io.run_files: which files a run owns in its output folder, and what a new run there removes first."""

from __future__ import annotations

import json
from pathlib import Path

from dedup.io.run_files import RUN_FILES, replaced_files, run_command, start_run


def _summary(folder: Path, **fields: object) -> None:
    (folder / "summary.json").write_text(json.dumps({"dedup_version": "0.1.0", **fields}), encoding="utf-8")


def test_a_run_removes_what_the_previous_summary_names_of_another_command(tmp_path: Path) -> None:
    for name in RUN_FILES["stories"]:
        (tmp_path / name).write_text("x", encoding="utf-8")
    _summary(tmp_path, command="stories")
    start_run(tmp_path, "dedupe")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]  # dedupe's own name: it writes it again


def test_a_summary_of_an_earlier_version_is_known_by_its_counts(tmp_path: Path) -> None:
    assert run_command({"dedup_version": "0.1.0", "counts": {"articles_with_repeats": 1}}) == "repeats"
    (tmp_path / "repeats.jsonl").write_text("x", encoding="utf-8")
    _summary(tmp_path, counts={"articles_with_repeats": 0})
    start_run(tmp_path, "stories")
    assert list(tmp_path.iterdir()) == []


def test_no_dedup_summary_no_removal_and_never_an_input(tmp_path: Path) -> None:
    (tmp_path / "events.json").write_text("[]", encoding="utf-8")  # a user's file: no summary says it is a run's
    start_run(tmp_path, "dedupe")
    assert (tmp_path / "events.json").exists()
    (tmp_path / "unique.jsonl").write_text("{}\n", encoding="utf-8")
    _summary(tmp_path, command="dedupe")
    start_run(tmp_path, "repeats", inputs=[str(tmp_path / "unique.jsonl")])  # repeats of the dedupe run's unique.jsonl
    assert (tmp_path / "unique.jsonl").exists() and not (tmp_path / "summary.json").exists()
    assert replaced_files({"command": "stories"}, "dedupe") == ()  # not a dedup summary: no dedup_version


def test_a_second_run_into_a_folder_another_run_holds_stops_at_once_and_touches_nothing(tmp_path: Path, seeds_dir: Path) -> None:
    """Two runs into one --out (a nightly job that overran its slot) both exited 0, and the folder's summary.json
    described one run while unique.jsonl was the other's."""
    import fcntl
    import os

    from typer.testing import CliRunner

    from dedup.cli import app

    runner = CliRunner()
    out = tmp_path / "out"
    assert runner.invoke(app, ["dedupe", str(seeds_dir), "--out", str(out), "-q"]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)  # what a run in progress holds
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        for cmd in ("dedupe", "stories", "repeats"):
            res = runner.invoke(app, [cmd, str(seeds_dir), "--out", str(out), "-q"])
            assert res.exit_code == 1 and "another dedup run is writing its outputs into this folder" in res.output, res.output
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    finally:
        os.close(fd)
    for cmd in ("stories", "dedupe"):  # the folder released, runs go on as before
        assert runner.invoke(app, [cmd, str(seeds_dir), "--out", str(out), "-q"]).exit_code == 0
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["command"] == "dedupe"
