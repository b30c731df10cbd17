"""dedup.store.spill: the run's work folder (made, removed however the run ends, stale ones swept) and the spill files."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dedup.errors import DedupError, OutputError
from dedup.store.spill import alive, park_arrays, remove_stale_work, spill, temporary_space, unpark_arrays, unspill


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the id names no process now
    return proc.pid


def test_alive() -> None:
    assert alive(os.getpid())
    assert not alive(_dead_pid())


def test_remove_stale_work_removes_only_the_folders_of_dead_runs(tmp_path: Path) -> None:
    dead = _dead_pid()
    names = {
        f"dedup-{dead}-abc123": False,  # the run's process is gone: swept
        f"dedup-{os.getpid()}-mine": True,  # this run
        f"dedup-{os.getppid()}-parent": True,  # a live process
        "dedup-notapid-x": True,
        f"dedup-{dead}-a.b": True,  # not a name this module makes
        f"other-{dead}-x": True,
    }
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "chunk-0.pkl").write_bytes(b"x")
    removed = remove_stale_work(str(tmp_path))
    assert removed == [f"dedup-{dead}-abc123"]
    assert {p.name for p in tmp_path.iterdir()} == {n for n, kept in names.items() if kept}


def test_remove_stale_work_of_a_missing_folder(tmp_path: Path) -> None:
    assert remove_stale_work(str(tmp_path / "absent")) == []


def test_temporary_space_is_made_and_removed(tmp_path: Path) -> None:
    with temporary_space(str(tmp_path)) as work:
        assert Path(work).is_dir() and Path(work).parent == tmp_path
        assert Path(work).name.startswith(f"dedup-{os.getpid()}-")
        (Path(work) / "spill").write_text("x")
    assert not Path(work).exists()


def test_temporary_space_is_removed_when_the_run_fails(tmp_path: Path) -> None:
    with pytest.raises(KeyError), temporary_space(str(tmp_path)) as work:
        raise KeyError("boom")
    assert not Path(work).exists() and list(tmp_path.iterdir()) == []


def test_temporary_space_sweeps_stale_folders_first(tmp_path: Path) -> None:
    stale = tmp_path / f"dedup-{_dead_pid()}-old"
    stale.mkdir()
    with temporary_space(str(tmp_path)):
        assert not stale.exists()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT], ids=["disk-full", "quota"])
def test_a_full_disk_becomes_a_clear_output_error(tmp_path: Path, code: int) -> None:
    with pytest.raises(OutputError, match="set TMPDIR") as info, temporary_space(str(tmp_path)):
        raise OSError(code, os.strerror(code))
    assert str(tmp_path) in str(info.value)
    assert isinstance(info.value, DedupError) and info.value.__cause__ is None


def test_other_errors_pass_through_unchanged(tmp_path: Path) -> None:
    with pytest.raises(PermissionError), temporary_space(str(tmp_path)):
        raise PermissionError(errno.EACCES, "denied")
    own = OutputError(errno.ENOSPC, "out.jsonl: no space left (the output's own message)")
    assert own.errno == errno.ENOSPC
    with pytest.raises(OutputError) as info, temporary_space(str(tmp_path)):
        raise own  # already a clear error: not rewritten as a temporary-folder one
    assert info.value is own


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param([], id="no-articles"),
        pytest.param([[]], id="an-article-without-lines"),
        pytest.param([["اقرا ايضا", "خبر عن الرياض"], ["second article"]], id="arabic-and-latin"),
    ],
)
def test_spill_round_trip_removes_the_file(tmp_path: Path, lines) -> None:
    path = tmp_path / "chunk-3.pkl"
    spill(str(path), lines)
    assert path.exists()
    assert unspill(str(path)) == lines
    assert not path.exists()


def test_an_interrupt_while_a_worker_still_writes_stays_an_interrupt(tmp_path: Path) -> None:
    """Ctrl-C with --jobs 2: a worker wrote into the work folder while it was removed, and "Directory not empty"
    replaced the interrupt (a traceback under the one-line message)."""
    import threading
    import time

    stop = threading.Event()

    def worker(folder: str) -> None:
        k = 0
        while not stop.is_set():
            for j in range(20):
                try:
                    Path(folder, f"part{k}-{j}").write_bytes(b"x")
                except OSError:
                    pass
            k += 1
        time.sleep(0)

    with pytest.raises(KeyboardInterrupt):
        with temporary_space(str(tmp_path)) as work:
            writer = threading.Thread(target=worker, args=(work,))
            writer.start()
            threading.Timer(0.3, stop.set).start()
            time.sleep(0.05)
            raise KeyboardInterrupt
    writer.join()
    assert not Path(work).exists()


def test_parked_arrays_come_back_bit_for_bit_and_the_file_goes(tmp_path: Path) -> None:
    import numpy as np

    arrays = {"pairs": np.array([[0, 5], [2, 9]], dtype=np.int64), "exact": np.array([True, False]),
              "score": np.array([np.nextafter(0.5, 1.0), np.nan], dtype=np.float64), "small": np.array([1.5], dtype=np.float32),
              "absent": None, "empty": np.zeros((0, 2), dtype=np.int32)}
    path = park_arrays(str(tmp_path), "x", arrays)
    assert os.path.exists(path)
    back = unpark_arrays(path)
    assert list(back) == list(arrays) and back["absent"] is None and not os.path.exists(path)
    for k, v in arrays.items():
        if v is not None:
            assert back[k].dtype == v.dtype and back[k].shape == v.shape and back[k].tobytes() == v.tobytes()
