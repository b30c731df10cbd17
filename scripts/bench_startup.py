#!/usr/bin/env python3
"""Benchmark: start-up of the ``dedup`` commands on the bundled seeds (issue 16).

Target: ``dedup dedupe seeds --out OUT`` takes at most 0.5 s wall on this
machine (five articles: nearly all of it is interpreter start-up and imports),
judged on dedup as the README's main command installs it: ``pip install .``
of this tree, into a temporary folder (``dedupe_installed``; pip compiles the
bytecode when it installs). The editable install of the test command is
measured too (``dedupe``).

Every command runs in a fresh process, ``--runs`` times, round-robin over the
commands so that a change of the machine's load hits all alike; the median is
reported, with the CPU time of the process (less disturbed by other jobs) and
the ratio to the baseline ``python -c "import numpy"`` measured in the same
run. The commands are started through the console script ``dedup`` of this
interpreter (``<prefix>/bin/dedup``, what ``pip install`` makes); a version
manager's shim in front of it (pyenv's is a bash script) is measured
separately, as ``shim_dedupe``, because it is not dedup's cost.

Two settings of this machine weigh on the numbers and are recorded:
``PYTHONDONTWRITEBYTECODE`` (set here: an editable install's modules are
compiled from source on every run, as no ``.pyc`` is cached; ~0.15 s of
``dedupe``) and the load
average (other jobs share the two cores). The variant
``dedupe_bytecode_cached`` runs the same command with a bytecode cache in a
temporary folder (``PYTHONPYCACHEPREFIX``; the work tree is not touched),
as an installed wheel runs.

Also recorded: the ten largest imports of ``dedup dedupe seeds`` (``python
-X importtime``: cumulative microseconds of the imports the run triggers
directly, the ten largest by own time, and own time summed per package),
which heavy libraries it loads at all, and the run's own stage timings (its
``summary.json``): what is start-up and what is work.

Writes ``results/bench_startup.json``. Usage::

    python scripts/bench_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_average, repo_root, run_info, write_result  # noqa: E402

TARGET_SECONDS = 0.5
HEAVY = ["numpy", "scipy", "scipy.sparse", "scipy.integrate", "sklearn", "datasketch", "joblib", "pydantic", "rich",
         "ftfy", "pyarrow", "dask", "fastapi", "uvicorn", "redis", "matplotlib"]


def console_script() -> list[str]:
    """The ``dedup`` console script of this interpreter (falls back to ``python -m dedup``)."""
    script = Path(sysconfig.get_path("scripts")) / "dedup"
    return [str(script)] if script.exists() else [sys.executable, "-m", "dedup"]


def install(site: Path) -> Path:
    """Install this tree into ``site`` as the README's main command installs it (``pip install .``, not editable):
    pip compiles the bytecode at install time, whatever ``PYTHONDONTWRITEBYTECODE`` says. Returns its ``dedup`` script."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                    str(repo_root())], check=True, capture_output=True)
    return site / "bin" / "dedup"


def commands(out: Path, installed: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """name → (argv, extra environment)."""
    seeds = str(repo_root() / "seeds")
    dedup = console_script()
    cmds: dict[str, tuple[list[str], dict[str, str]]] = {
        "python_baseline": ([sys.executable, "-c", "pass"], {}),
        "numpy_baseline": ([sys.executable, "-c", "import numpy"], {}),
        "dedupe_installed": ([str(installed), "dedupe", seeds, "--out", str(out / "dedupe_installed")],
                             {"PYTHONPATH": str(installed.parent.parent)}),
        "dedupe": ([*dedup, "dedupe", seeds, "--out", str(out / "dedupe")], {}),
        "dedupe_quiet": ([*dedup, "dedupe", seeds, "--out", str(out / "dedupe_q"), "-q"], {}),
        "help": ([*dedup, "--help"], {}),
        "dedupe_help": ([*dedup, "dedupe", "--help"], {}),
        "repeats": ([*dedup, "repeats", seeds, "--out", str(out / "repeats")], {}),
        "stories": ([*dedup, "stories", seeds, "--out", str(out / "stories")], {}),
        "dedupe_bytecode_cached": ([*dedup, "dedupe", seeds, "--out", str(out / "dedupe_pyc")],
                                   {"PYTHONPYCACHEPREFIX": str(out / "pycache"), "PYTHONDONTWRITEBYTECODE": ""}),
    }
    shim = path_shim(dedup[0])
    if shim is not None:
        cmds["shim_dedupe"] = ([shim, "dedupe", seeds, "--out", str(out / "dedupe_shim")], {})
    return cmds


def path_shim(script: str) -> str | None:
    """Another ``dedup`` on PATH in front of the console script (a version manager's shim), if any.

    pyenv puts the interpreter's own ``bin`` first on PATH for the processes it
    starts, so the shim a shell finds first is looked for among the later entries.
    """
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(folder) / "dedup"
        if candidate.is_file() and os.access(candidate, os.X_OK) and candidate.resolve() != Path(script).resolve():
            return str(candidate)
    return None


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh process (which must succeed)."""
    full_env = {**os.environ, **env}
    for key, value in env.items():
        if value == "":
            full_env.pop(key, None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=repo_root(), env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr.decode()[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_profile(argv: list[str]) -> dict[str, Any]:
    """``-X importtime`` of one run: the ten largest imports, and the heavy libraries loaded."""
    code = ("import runpy, sys\n"
            f"sys.argv = {['dedup', *argv]!r}\n"
            "try:\n    runpy.run_module('dedup', run_name='__main__', alter_sys=True)\n"
            "except SystemExit as exc:\n    assert not exc.code\n"
            f"sys.stderr.write('LOADED ' + ' '.join(m for m in {HEAVY!r} if m in sys.modules) + '\\n')\n")
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=repo_root(), capture_output=True, text=True)
    rows, loaded = [], []
    for line in done.stderr.splitlines():
        if line.startswith("LOADED"):
            loaded = line.split()[1:]
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line[len("import time:"):].split("|")
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        rows.append({"module": name.strip(), "depth": depth, "self_us": int(own), "cumulative_us": int(cumulative)})
    top = sorted((r for r in rows if r["depth"] == 0), key=lambda r: -r["cumulative_us"])[:10]
    by_self = sorted(rows, key=lambda r: -r["self_us"])[:10]
    by_package: dict[str, int] = {}
    for r in rows:
        package = r["module"].split(".")[0]
        by_package[package] = by_package.get(package, 0) + r["self_us"]
    return {
        "argv": ["dedup", *argv],
        "total_import_us": sum(r["self_us"] for r in rows),
        "import_us_by_package": dict(sorted(by_package.items(), key=lambda kv: -kv[1])[:12]),
        "top10_direct_imports_by_cumulative_us": [{k: r[k] for k in ("module", "cumulative_us")} for r in top],
        "top10_modules_by_self_us": [{k: r[k] for k in ("module", "self_us")} for r in by_self],
        "heavy_libraries_loaded": loaded,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="fresh processes per command")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="dedup-bench-startup-") as tmp:
        out = Path(tmp)
        cmds = commands(out, install(out / "site"))
        for argv_, env in cmds.values():  # warm-up: the page cache, and the bytecode cache of the cached variant
            run_once(argv_, env)
        walls: dict[str, list[float]] = {name: [] for name in cmds}
        cpus: dict[str, list[float]] = {name: [] for name in cmds}
        loads = [load_average()]
        for _ in range(args.runs):
            for name, (argv_, env) in cmds.items():
                wall, cpu = run_once(argv_, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
            loads.append(load_average())
        profile = import_profile(["dedupe", str(repo_root() / "seeds"), "--out", str(out / "profile")])
        summary = json.loads((out / "dedupe" / "summary.json").read_text(encoding="utf-8"))
        stage_seconds = summary.get("timings_seconds")  # of the last timed run: the work itself, next to the start-up

    numpy_median = statistics.median(walls["numpy_baseline"])
    timings = {
        name: {
            "wall_median_s": round(statistics.median(walls[name]), 4),
            "cpu_median_s": round(statistics.median(cpus[name]), 4),
            "wall_min_s": round(min(walls[name]), 4),
            "x_numpy_import": round(statistics.median(walls[name]) / numpy_median, 2),
            "wall_s": [round(w, 4) for w in walls[name]],
            "argv": [Path(a).name if a.startswith("/") else a for a in cmds[name][0]],
            "env": cmds[name][1],
        }
        for name in cmds
    }
    dedupe = timings["dedupe_installed"]["wall_median_s"]
    payload = {
        "benchmark": "startup",
        "target": {
            "command": "dedup dedupe seeds --out OUT",
            "as_installed_by": "the README's main command, `python3 -m pip install .` (bytecode compiled by pip): dedupe_installed",
            "max_wall_s": TARGET_SECONDS,
            "wall_median_s": dedupe,
            "met": dedupe <= TARGET_SECONDS,
            "editable_install_without_bytecode_wall_median_s": timings["dedupe"]["wall_median_s"],
        },
        "runs_per_command": args.runs,
        "timings": timings,
        "stage_seconds_dedupe": stage_seconds,
        "import_profile_dedupe": profile,
        "environment": {
            "python": sys.executable,
            "dont_write_bytecode": bool(os.environ.get("PYTHONDONTWRITEBYTECODE")),
            "load_average_per_round": loads,
        },
        "run": run_info(),
    }
    write_result("bench_startup", payload)
    verdict = "met" if payload["target"]["met"] else "NOT met"
    print(f"dedup dedupe seeds, installed: {dedupe:.3f} s median wall ({timings['dedupe_installed']['x_numpy_import']}x `import numpy`, "
          f"numpy alone {numpy_median:.3f} s); target {TARGET_SECONDS} s {verdict}; load {loads[-1]}")
    print(json.dumps({k: v["wall_median_s"] for k, v in timings.items()}, indent=1))


if __name__ == "__main__":
    main()
