"""Small helpers shared by the scripts in ``scripts/`` (benchmarks, calibrations).

Scripts import it with::

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import ...

Data lives outside the repository, in ``<repo>/../shared/data`` (licences do
not allow committing it); :func:`shared_data` returns ``None`` when it is
absent so that a script can print a message and exit 0. Temporary copies
(:func:`write_dev_jsonl`) go to a temp directory, never into the repo.
Results are written with :func:`write_result` to ``results/<name>.json``
together with :func:`run_info` (versions, git commit, machine, load).
"""

from __future__ import annotations

import json
import os
import platform
import select
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "ExitWatch",
    "SAUDINEWSNET",
    "tree_rss_mib",
    "load_average",
    "load_saudinewsnet",
    "repo_root",
    "run_info",
    "saudinewsnet_dir",
    "shared_data",
    "write_dev_jsonl",
    "write_result",
]

SAUDINEWSNET = ("saudinewsnet", "dataset")  # the dev days: 12 zips, 2015-07-21 .. 2015-08-04


def repo_root() -> Path:
    """The repository root (the parent of ``scripts/``)."""
    return Path(__file__).resolve().parent.parent


def shared_data(*parts: str) -> Path | None:
    """``<repo>/../shared/data/<parts>``, or ``None`` when it does not exist."""
    path = repo_root().parent.joinpath("shared", "data", *parts)
    return path if path.exists() else None


def saudinewsnet_dir(override: str | Path | None = None) -> Path | None:
    """The folder of SaudiNewsNet dev zips (``--data`` wins), or ``None`` if it has no zips."""
    path = Path(override) if override is not None else shared_data(*SAUDINEWSNET)
    if path is None or not path.is_dir() or not any(path.glob("*.zip")):
        return None
    return path


def load_saudinewsnet(data_dir: str | Path) -> list[dict]:
    """Every article of the dev zips, in zip-name then file order.

    Each zip holds one JSON array of records with the fields ``source``,
    ``url``, ``date_extracted``, ``title``, ``author``, ``content``.
    """
    docs: list[dict] = []
    for path in sorted(Path(data_dir).glob("*.zip")):
        with zipfile.ZipFile(path) as zf:
            for name in sorted(zf.namelist()):
                if name.endswith(".json"):
                    with zf.open(name) as f:
                        docs.extend(json.load(f))
    return docs


def write_dev_jsonl(path: str | Path, data_dir: str | Path | None = None) -> int:
    """Write the SaudiNewsNet dev days as one JSONL file (records unchanged).

    Meant for CLI runs; ``path`` should be in a temporary directory, never in
    the repository (the texts may not be committed). Returns the number of
    records written.

    Raises:
        FileNotFoundError: the data folder is absent.
    """
    folder = saudinewsnet_dir(data_dir)
    if folder is None:
        raise FileNotFoundError(f"SaudiNewsNet dev zips not found ({data_dir or 'shared/data'})")
    path = Path(path).resolve()
    if repo_root() in path.parents:
        raise ValueError(f"{path}: dataset copies must stay outside the repository (use a temp dir)")
    docs = load_saudinewsnet(folder)
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False))
            f.write("\n")
    return len(docs)


def tree_rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Sum of ``field`` over ``pid`` and its descendants, in MiB (0 for a process gone).

    ``VmRSS`` (from ``/proc/PID/status``) counts a page shared by two processes
    (libraries, memory-mapped files) in each; ``Pss`` (from
    ``/proc/PID/smaps_rollup``) counts each page once, shared out among the
    processes mapping it, so the sum is what the tree holds.
    """
    source = "smaps_rollup" if field == "Pss" else "status"
    total, todo, seen = 0.0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/{source}", encoding="ascii") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith(field + ":")), 0) / 1024
        except (OSError, ValueError):
            pass  # gone, or not readable: its children are still counted
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children", encoding="ascii") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return total


class ExitWatch:
    """Sleep until a time has passed or a child process has ended, whichever comes first.

    A benchmark that samples a child's memory between sleeps would otherwise
    see the child's end only at the next sample: its wall time rounded up to
    the sampling step (0.2 s: a sixth of a 3 s run). Linux tells through a
    pidfd; elsewhere this is a plain sleep.
    """

    def __init__(self, pid: int) -> None:
        try:
            self._fd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self._fd = None

    def sleep(self, seconds: float) -> None:
        if self._fd is None:
            time.sleep(seconds)
        else:
            select.select([self._fd], [], [], seconds)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (``None`` where unsupported)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=repo_root(), capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.rstrip("\n") if out.returncode == 0 else None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def run_info() -> dict[str, Any]:
    """Where and with what a result was produced.

    ``git.dirty`` says whether tracked files differ from the commit;
    ``git.dirty_library_files`` lists the files of ``dedup/`` that differ
    (including untracked ones): when it is empty, the measured code is
    exactly the commit's, whatever else is being edited in the work tree.
    """
    import dedup

    status = _git("status", "--porcelain", "--untracked-files=no")
    lib_status = _git("status", "--porcelain", "--", "dedup")
    mem = _memory_bytes()
    return {
        "dedup_version": dedup.__version__,
        "git": {
            "commit": _git("rev-parse", "HEAD"),
            "dirty": None if status is None else bool(status),
            "dirty_library_files": None if lib_status is None else sorted(line[3:] for line in lib_status.splitlines()),
        },
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "datasketch": _version("datasketch"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.machine(),
            "cpu_count": os.cpu_count(),
            "memory_gib": None if mem is None else round(mem / 2**30, 1),
        },
        "load_average_1_5_15": load_average(),
        "timestamp_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
    }


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Write ``results/<name>.json`` (indent 2, UTF-8, trailing newline) and print its path."""
    out = repo_root() / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(payload, f, ensure_ascii=False, indent=2)
        f.write("\n")
    os.replace(tmp, out)
    print(f"wrote {out}")
    return out
