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
