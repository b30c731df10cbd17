"""Start-up structure (issue 16): what each command imports, checked in fresh processes, not timed.

A command pays for every module it loads on every run; the heavy optional
libraries must stay out of the commands that do not use them. The times
themselves are measured by ``scripts/bench_startup.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from dedup.candidates.banding import band_params
from dedup.sketch import pinned
from dedup.sketch.signatures import permutations

REPO = Path(__file__).resolve().parents[1]

# Loaded by ``dedup dedupe seeds`` would mean a start-up cost for nothing: the
# service, the Dask backend, Parquet, the redis index, plots, the worker pool
# (a feed of one chunk runs in-process), datasketch with the SciPy integrators
# it imports (its answers for the default settings are pinned), SciPy's sparse
# matrices and scikit-learn (the seeds have no candidate pair to score), ftfy
# (stories only) and rich (tables and bars on a terminal only).
NEVER_FOR_A_SMALL_DEDUPE = ["dask", "distributed", "fastapi", "uvicorn", "redis", "pyarrow", "sklearn", "matplotlib",
                            "joblib", "datasketch", "scipy", "ftfy", "rich", "numba"]
# Smaller, but paid on every run all the same: numpy.ma (the first plain np.unique imports it, ~12 ms: dedup uses
# sorted_unique), importlib.metadata with the email parser (~20 ms: the datasketch version is read from its
# dist-info), the background table (~40 ms: the seeds have no pair to score), the other commands' jobs, the
# history index's flow, the passage alignment and the repeats stage; the object-storage layer and the readers of other
# kinds of input (~10 ms).
NOT_FOR_A_SMALL_DEDUPE = ["numpy.ma", "importlib.metadata", "email.parser", "dedup.store.background", "dedup.jobs.evaluate",
                          "dedup.jobs.params", "dedup.jobs.repeats", "dedup.jobs.serve", "dedup.jobs.similarity",
                          "dedup.jobs.stories", "dedup.flows.history", "dedup.text.align", "dedup.repeats",
                          # the object-storage layer and the readers of inputs the seeds are not (zip, URLs, news-please)
                          "dedup.io.remote", "dedup.io.readers.archive", "dedup.io.readers.urls", "dedup.io.readers.newsplease"]


def modules_after(*argv: str) -> set[str]:
    """The modules loaded by ``dedup ARGV`` in a fresh interpreter (and its exit code, which must be 0)."""
    code = (
        "import json, runpy, sys\n"
        f"sys.argv = ['dedup', *{list(argv)!r}]\n"
        "try:\n"
        "    runpy.run_module('dedup', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def loaded(modules: set[str], names: list[str]) -> list[str]:
    return sorted(n for n in names if n in modules)


@pytest.mark.parametrize("jobs", ["1", "2"], ids=["serial", "jobs-2"])
def test_dedupe_seeds_loads_no_optional_library(tmp_path: Path, jobs: str) -> None:
    modules = modules_after("dedupe", str(REPO / "seeds"), "--out", str(tmp_path), "-j", jobs)
    assert loaded(modules, NEVER_FOR_A_SMALL_DEDUPE) == []
    assert loaded(modules, NOT_FOR_A_SMALL_DEDUPE) == []
    if find_spec("typer._click") is not None:  # typer 0.28 bundles click: the separate package is only dead weight
        assert "click" not in modules
    assert (tmp_path / "decisions.jsonl").exists()


def test_a_verifying_run_loads_no_optional_numpy_part(tmp_path: Path) -> None:
    """A feed with pairs to verify loads SciPy's sparse matrices (:mod:`dedup.sparse`) without the NumPy submodules
    SciPy's array-API layer would clone (numpy.f2py, numpy.testing, numpy.ma...: ~80 ms), and without the report's
    module when ``--no-report`` asks for no page."""
    texts = [" ".join(f"t{k}w{i}" for i in range(60)) for k in range(4)]
    rows = [{"id": f"a{k}", "text": t} for k, t in enumerate(texts)] + [{"id": f"c{k}", "text": t + " tail"} for k, t in enumerate(texts)]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    modules = modules_after("dedupe", str(feed), "--out", str(tmp_path / "out"), "-q", "--no-report")
    assert "scipy.sparse" in modules  # it did verify pairs
    assert loaded(modules, ["numpy.f2py", "numpy.testing", "numpy.ma", "numpy.polynomial", "numpy.ctypeslib",
                            "dedup.io.dedupe_report", "sklearn", "numba"]) == []
    decisions = [json.loads(x) for x in (tmp_path / "out" / "decisions.jsonl").read_text().splitlines()]
    assert sum(d["status"] == "duplicate" for d in decisions) == 4
    import numpy

    assert {"f2py", "testing", "ma"} <= set(numpy.__all__) and "ma" in dir(numpy)  # NumPy's own namespace as it was


def test_stories_seeds_loads_no_scikit_learn(tmp_path: Path) -> None:
    """The stories stage's TF-IDF is :class:`dedup.verify.Idf` (scikit-learn's arithmetic, tested bit for bit), so
    scikit-learn, and the SciPy statistics it loads, stay out of a stories run (~1.5 s of a small feed's 3 s)."""
    modules = modules_after("stories", str(REPO / "seeds"), "--out", str(tmp_path), "-q")
    assert loaded(modules, ["sklearn", "scipy.stats", "dask", "fastapi", "redis", "pyarrow", "matplotlib"]) == []
    assert (tmp_path / "stories.jsonl").exists()


@pytest.mark.parametrize("argv", [["--help"], ["dedupe", "--help"]], ids=["help", "dedupe-help"])
def test_help_loads_no_stage(argv: list[str]) -> None:
    modules = modules_after(*argv)
    assert loaded(modules, ["numpy", "scipy", "datasketch", "xxhash"]) == []
    assert not [m for m in modules if m.startswith(("dedup.flows", "dedup.sketch", "dedup.candidates", "dedup.verify",
                                                    "dedup.jobs.", "dedup.io.remote"))]


def test_help_is_complete() -> None:
    out = subprocess.run([sys.executable, "-m", "dedup", "--help"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    for command in ("dedupe", "repeats", "stories", "similarity", "eval", "explain-params", "index", "serve"):
        assert command in out.stdout


def test_the_process_ends_without_collecting_what_it_holds(tmp_path: Path) -> None:
    """After the command, the objects alive are frozen (``gc.freeze``): Python's shutdown does not walk them (numba's
    type registries: ~0.35 s of a large run's exit). The exit handlers still run: with two workers started (a feed of
    more blocks than a run prepares alone), the run's temporary folder (under TMPDIR, here its own) is gone, and the
    outputs are whole."""
    import random

    temp = tmp_path / "temp"
    temp.mkdir()
    rng = random.Random(3)
    words = [w for p in sorted((REPO / "seeds").glob("*.txt")) for w in p.read_text(encoding="utf-8").split()]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({"id": f"a{i}", "text": " ".join(rng.choice(words) for _ in range(60))},
                                       ensure_ascii=False) + "\n" for i in range(1500)), encoding="utf-8")
    blocks = tmp_path / "blocks.toml"
    blocks.write_text("[runtime]\nchunk_size = 100\n", encoding="utf-8")
    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0, flush=True))\n"
        f"sys.argv = ['dedup', 'dedupe', {str(feed)!r}, '--out', {str(tmp_path / 'out')!r}, '-q', '--jobs', '2', "
        f"'--config', {str(blocks)!r}]\n"
        "from dedup.cli import run\n"
        "run()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "TMPDIR": str(temp)})
    assert out.returncode == 0, out.stderr[-3000:]
    assert "frozen at exit: True" in out.stdout
    assert list(temp.iterdir()) == []
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["processes"]["workers"] == 2
    assert summary["counts"]["records"] == 1500
    assert len((tmp_path / "out" / "decisions.jsonl").read_text(encoding="utf-8").splitlines()) == 1500


def test_pinned_answers_are_datasketchs() -> None:
    """Every pinned entry equals what the installed datasketch answers (rebuild with scripts/build_datasketch_pinned.py)."""
    from datasketch import MinHash, MinHashLSH

    table = pinned._table()
    assert table, "the pinned table does not match the installed datasketch: run scripts/build_datasketch_pinned.py"
    assert (128, 1) in table["permutations"] and (0.3, 128, 0.5) in table["band_params"]  # the defaults
    for (num_perm, seed), (a, b) in table["permutations"].items():
        da, db = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
        assert np.array_equal(np.array(a, np.uint64), da) and np.array_equal(np.array(b, np.uint64), db)
        pa, pb = permutations(num_perm, seed)
        assert pa.dtype == pb.dtype == np.uint32 and np.array_equal(pa, da) and np.array_equal(pb, db)
    for (threshold, num_perm, w), (b, r) in table["band_params"].items():
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(w, 1.0 - w))
        assert (lsh.b, lsh.r) == (b, r) == band_params(threshold, num_perm, w)


def test_datasketch_version_is_importlib_metadatas() -> None:
    """The version read from the dist-info (no importlib.metadata at start-up) is the one importlib.metadata reads."""
    from importlib import metadata

    assert pinned._dist_info_version() in (None, metadata.version("datasketch"))  # None: not a dist-info install
    assert pinned.datasketch_version() == metadata.version("datasketch")


def test_unpinned_settings_ask_datasketch() -> None:
    from datasketch import MinHash, MinHashLSH

    assert pinned.pinned_band_params(0.33, 100, 0.5) is None and pinned.pinned_permutations(100, 7) is None
    lsh = MinHashLSH(threshold=0.33, num_perm=100)
    assert band_params(0.33, 100, 0.5) == (lsh.b, lsh.r)
    a, b = permutations(100, 7)
    assert np.array_equal(a, MinHash(num_perm=100, seed=7).permutations[0])
