"""Executors change how fast a run goes, never what it decides.

The same feed (copies in families, per-source boilerplate, skips) gives the
same decision lines serially, in two joblib processes, and on a two-worker
Dask cluster (local, and reached by address). The feed has boilerplate on
purpose: the Dask backend once stripped none (joblib's Dask backend turned
the members of the boilerplate key set into unresolved futures).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dedup.candidates.banding import band_params, lsh_pairs
from dedup.config import DedupConfig
from dedup.errors import ConfigError, DedupError, OutputError
from dedup.exec import LocalExecutor, open_executor
from dedup.flows.dedupe import dedupe
from dedup.io.dedupe_out import write_dedupe_outputs
from dedup.io.dedupe_rows import decision_rows, pair_rows
from dedup.runtime import Runtime
from dedup.types import Article

SEEDS = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))
DASK_WARNINGS = ("ignore::DeprecationWarning", "ignore::ResourceWarning", "ignore::UserWarning")


def feed() -> list[Article]:
    """Seeds, their re-headlined copies and teasers, all with their outlet's header and footer lines."""
    texts = [p.read_text(encoding="utf-8") for p in SEEDS]
    header, footer = "وكالة الأنباء الرياض", "تابعونا على تويتر وفيسبوك"
    arts = [Article(id=f"s{i}", text=f"{header}\n{t}\n{footer}", source="wire") for i, t in enumerate(texts)]
    arts += [Article(id=f"c{i}", text=f"عنوان آخر\n{t}\n{footer}", source="outlet", date=f"2024-01-0{i + 1}") for i, t in enumerate(texts)]
    arts += [Article(id=f"t{i}", text=f"{header}\n" + " ".join(t.split()[:120]), source="wire") for i, t in enumerate(texts)]
    arts += [Article(id="e", text="  "), Article(id="short", text="كلمتان فقط")]
    return arts


@pytest.fixture(autouse=True)
def small_verify_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Candidate pairs verified 3 at a time, so that workers verify too (a real feed: 100k pairs a chunk)."""
    import dedup.flows.dedupe as flow

    monkeypatch.setattr(flow, "_VERIFY_CHUNK", 3)


def decisions(runtime: Runtime) -> tuple[list[dict], list[dict], np.ndarray]:
    result = dedupe(feed(), DedupConfig(), runtime=runtime)
    return list(decision_rows(result)), list(pair_rows(result)), result.boilerplate_removed


def test_the_feed_has_boilerplate_and_copies() -> None:
    rows, pairs, removed = decisions(Runtime(chunk_size=4))
    assert (removed > 0).sum() >= 10
    assert sum(r["status"] == "duplicate" for r in rows) >= 8 and len(pairs) >= 5
    assert {r["status"] for r in rows} == {"kept", "duplicate", "skipped"}


def test_two_joblib_workers_decide_as_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    rows, pairs, removed = decisions(Runtime(chunk_size=4))
    tasks: list[int] = []
    real = LocalExecutor.imap

    def spy(self, func, items, **kwargs):  # noqa: ANN001, ANN202
        if func.__name__ == "_verify_chunk":
            items = list(items)
            tasks.append(len(items))
        return real(self, func, items, **kwargs)

    monkeypatch.setattr(LocalExecutor, "imap", spy)
    j_rows, j_pairs, j_removed = decisions(Runtime(chunk_size=4, n_jobs=2))
    assert tasks and max(tasks) > 1  # the pairs went to the workers in several runs
    assert j_removed.tolist() == removed.tolist()
    assert j_rows == rows and j_pairs == pairs


OUTPUTS = ("unique.jsonl", "decisions.jsonl", "pairs.jsonl", "report.html")


def test_outputs_written_beside_by_workers_are_the_files_written_here(tmp_path: Path) -> None:
    arts = feed()
    result = dedupe(arts, DedupConfig(), runtime=Runtime(chunk_size=4))
    records = [{"id": a.id, "text": a.text} for a in arts]
    here = write_dedupe_outputs(tmp_path / "here", result, ["x"], records)
    dedupe(arts, DedupConfig(), runtime=Runtime(chunk_size=4, n_jobs=2))  # a run with workers: they stay for its outputs
    there = write_dedupe_outputs(tmp_path / "there", result, ["x"], records, executor=LocalExecutor(2))
    assert here == there
    for name in OUTPUTS:
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name


@pytest.mark.parametrize("report", [True, False])
def test_decisions_made_in_two_halves_by_the_workers_are_the_file_written_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                               report: bool) -> None:
    import dedup.io.dedupe_out as dedupe_out
    from dedup.types import BadRecord

    arts = feed()
    n, half = len(arts), len(arts) // 2
    bad = [BadRecord("f.jsonl", 1, "malformed JSON", position=0), BadRecord("f.jsonl", 9, "no text", position=half - 1),
           BadRecord("f.jsonl", 10, "no text", position=half), BadRecord("f.jsonl", 11, "no text", position=half),
           BadRecord("f.jsonl", 40, "malformed JSON", position=n), BadRecord("g.jsonl", 2, "not UTF-8")]
    result = dedupe(arts, DedupConfig(), runtime=Runtime(chunk_size=4), bad_records=bad)
    records = [{"id": a.id, "text": a.text} for a in arts]
    here = write_dedupe_outputs(tmp_path / "here", result, ["x"], records, report=report)
    dedupe(arts, DedupConfig(), runtime=Runtime(chunk_size=4, n_jobs=2))  # a run with workers: they stay for its outputs
    monkeypatch.setattr(dedupe_out, "SPLIT_DECISIONS_FROM", 1)
    joined: list[int] = []
    real = dedupe_out.join_parts
    monkeypatch.setattr(dedupe_out, "join_parts", lambda path, parts: joined.append(len(parts)) or real(path, parts))
    there = write_dedupe_outputs(tmp_path / "there", result, ["x"], records, report=report, executor=LocalExecutor(2))
    assert joined == [2]  # the file was made in two parts
    assert here == there
    for name in OUTPUTS if report else OUTPUTS[:3]:
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name
    lines = (tmp_path / "there" / "decisions.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == n + len(bad) and sorted(p.name for p in (tmp_path / "there").iterdir()) == sorted(OUTPUTS[:3] + ("summary.json",) + (("report.html",) if report else ()))


def test_with_no_worker_running_a_failed_output_runs_none_of_the_calls_left(tmp_path: Path) -> None:
    from dedup.exec.local import release_workers

    arts = feed()
    result = dedupe(arts, DedupConfig(), runtime=Runtime(chunk_size=4))
    release_workers()
    (tmp_path / "unique.jsonl").mkdir()  # this process's own file fails first
    with pytest.raises(OutputError, match="cannot write the outputs"):
        write_dedupe_outputs(tmp_path, result, ["x"], [{"id": a.id, "text": a.text} for a in arts], executor=LocalExecutor(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unique.jsonl"]  # nor were the others made after it


def test_a_half_of_the_decisions_a_worker_cannot_write_fails_the_outputs_and_leaves_no_part(tmp_path: Path,
                                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import dedup.io.dedupe_out as dedupe_out
    from dedup.io.writers import part_path

    arts = feed()
    result = dedupe(arts, DedupConfig(), runtime=Runtime(chunk_size=4))
    dedupe(arts, DedupConfig(), runtime=Runtime(chunk_size=4, n_jobs=2))
    monkeypatch.setattr(dedupe_out, "SPLIT_DECISIONS_FROM", 1)
    part_path(tmp_path / "decisions.jsonl", 1).mkdir()  # the second half cannot be written where a folder is
    with pytest.raises(OutputError, match="cannot write the outputs"):
        write_dedupe_outputs(tmp_path, result, ["x"], [{"id": a.id, "text": a.text} for a in arts], report=False,
                             executor=LocalExecutor(2))
    assert not (tmp_path / "summary.json").exists() and not (tmp_path / "decisions.jsonl").exists()
    assert not part_path(tmp_path / "decisions.jsonl", 0).exists()  # the half that was made is removed
    assert (tmp_path / "pairs.jsonl").exists() and (tmp_path / "unique.jsonl").exists()


def test_a_file_a_worker_cannot_write_fails_the_outputs_after_the_others_are_over(tmp_path: Path) -> None:
    arts = feed()
    result = dedupe(arts, DedupConfig(), runtime=Runtime(chunk_size=4))
    dedupe(arts, DedupConfig(), runtime=Runtime(chunk_size=4, n_jobs=2))
    (tmp_path / "decisions.jsonl").mkdir()  # the worker's file cannot replace a folder
    with pytest.raises(OutputError, match="cannot write the outputs"):
        write_dedupe_outputs(tmp_path, result, ["x"], [{"id": a.id, "text": a.text} for a in arts], executor=LocalExecutor(2))
    assert not (tmp_path / "summary.json").exists()  # nothing vouches for the files
    assert (tmp_path / "pairs.jsonl").exists() and (tmp_path / "unique.jsonl").exists()  # the other calls ran to their end


@pytest.mark.parametrize("report", [True, False])
def test_a_large_feeds_files_written_on_two_threads_are_the_files_written_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                               report: bool) -> None:
    """From BESIDE_MAX_ARTICLES articles the files are written in this process, on the executor's threads; pairs.jsonl by the kernel."""
    import threading

    import dedup.io.dedupe_out as dedupe_out

    arts = feed()
    result = dedupe(arts, DedupConfig(), runtime=Runtime(chunk_size=4))
    records = [{"id": a.id, "text": a.text} for a in arts]
    here = write_dedupe_outputs(tmp_path / "here", result, ["x"], records, report=report)
    monkeypatch.setattr(dedupe_out, "BESIDE_MAX_ARTICLES", 1)
    monkeypatch.setattr(dedupe_out, "PAIR_KERNEL_EDGES", 1)
    where: dict[str, str] = {}
    for name in ("_write_unique", "_write_decisions", "_write_pairs"):
        real = getattr(dedupe_out, name)

        def spy(*args, _real=real, _name=name):  # noqa: ANN002, ANN202
            where[_name] = threading.current_thread().name
            return _real(*args)

        monkeypatch.setattr(dedupe_out, name, spy)
    there = write_dedupe_outputs(tmp_path / "there", result, ["x"], records, report=report, executor=LocalExecutor(2))
    assert here == there
    assert where["_write_decisions"] == where["_write_unique"] != where["_write_pairs"]  # two threads, two files each
    assert threading.main_thread().name not in where.values()
    for name in OUTPUTS if report else OUTPUTS[:3]:
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name
    assert (tmp_path / "there" / "report.html").exists() == report


def test_a_file_a_thread_cannot_write_fails_the_outputs_after_the_other_thread_is_over(tmp_path: Path,
                                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import dedup.io.dedupe_out as dedupe_out

    arts = feed()
    result = dedupe(arts, DedupConfig(), runtime=Runtime(chunk_size=4))
    monkeypatch.setattr(dedupe_out, "BESIDE_MAX_ARTICLES", 1)
    (tmp_path / "decisions.jsonl").mkdir()  # the first thread's first file cannot replace a folder
    with pytest.raises(OutputError, match="cannot write the outputs"):
        write_dedupe_outputs(tmp_path, result, ["x"], [{"id": a.id, "text": a.text} for a in arts], executor=LocalExecutor(2))
    assert not (tmp_path / "summary.json").exists()  # nothing vouches for the files
    assert not (tmp_path / "unique.jsonl").exists()  # that thread stopped at its failure
    assert (tmp_path / "pairs.jsonl").exists() and (tmp_path / "report.html").exists()  # the other thread ran to its end


def test_a_worker_verifies_from_a_kept_heap_without_numpys_huge_page_advice_and_gives_the_advice_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import dedup.flows.dedupe as flow
    from dedup.exec import heap

    seen: list[bool] = []
    kept: list[bool] = []
    real = flow.score_pairs

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen.append(heap.huge_pages(True))  # the setting while scoring (then put back as it was)
        heap.huge_pages(seen[-1])
        return real(*args, **kwargs)

    monkeypatch.setattr(flow, "score_pairs", spy)
    monkeypatch.setattr(heap, "keep_heap", lambda: kept.append(True) or True)  # not this test process's heap
    before = heap.huge_pages(True)
    flow._verify_chunk(np.zeros((0, 2), np.int64), source=None, digest=np.zeros(0, np.uint64), idf=None,
                       judge=lambda pairs, scores: (pairs, scores), in_worker=True, keep_heap=True)
    assert kept == [True]
    flow._verify_chunk(np.zeros((0, 2), np.int64), source=None, digest=np.zeros(0, np.uint64), idf=None,
                       judge=lambda pairs, scores: (pairs, scores), in_worker=True)  # a large verification's worker
    assert kept == [True]
    flow._verify_chunk(np.zeros((0, 2), np.int64), source=None, digest=np.zeros(0, np.uint64), idf=None,
                       judge=lambda pairs, scores: (pairs, scores))
    assert seen == [False, False, True] and heap.huge_pages(before) is True and kept == [True]


@pytest.mark.parametrize(("kept_below", "kept"), [(1_000_000, True), (2, False)])
def test_workers_keep_their_heaps_only_for_a_verification_below_the_size(monkeypatch: pytest.MonkeyPatch, kept_below: int,
                                                                          kept: bool) -> None:
    import dedup.flows.dedupe as flow

    asked: list[bool] = []
    real = LocalExecutor.imap

    def spy(self, func, tasks, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if func is flow._verify_chunk:
            asked.append(kwargs["keep_heap"])
        return real(self, func, tasks, **kwargs)

    monkeypatch.setattr(LocalExecutor, "imap", spy)
    monkeypatch.setattr(flow, "_KEPT_HEAP_PAIRS", kept_below)
    dedupe(feed(), DedupConfig(), runtime=Runtime(chunk_size=4, n_jobs=2))
    assert asked == [kept]


_FAULTS_OF_A_SECOND_ARRAY = """
import resource, sys
import numpy as np
from dedup.exec.heap import huge_pages, keep_heap
huge_pages(False)
if sys.argv[1] == "keep" and not keep_heap():
    print("cannot")
    raise SystemExit
a = np.ones(8 << 20)  # 64 MiB: above glibc's largest mmap threshold
del a
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
a = np.ones(8 << 20)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""


def test_a_kept_heap_serves_a_freed_large_array_again_without_faulting_its_pages_in() -> None:
    """In a child process: a freed 64 MiB array is mapped afresh (16k pages faulted in) unless the heap is kept."""
    def faults(mode: str) -> str:
        run = subprocess.run([sys.executable, "-c", _FAULTS_OF_A_SECOND_ARRAY, mode], capture_output=True, text=True, check=True)
        return run.stdout.strip()

    kept = faults("keep")
    if kept == "cannot":
        pytest.skip("not glibc: the heap's thresholds cannot be set")
    assert int(faults("default")) > 8000 and int(kept) < 1000


@pytest.mark.slow
@pytest.mark.filterwarnings(*DASK_WARNINGS)
def test_dask_local_cluster_decides_as_local() -> None:
    pytest.importorskip("distributed")
    rows, pairs, removed = decisions(Runtime(chunk_size=4))
    d_rows, d_pairs, d_removed = decisions(Runtime(chunk_size=4, backend="dask", n_jobs=2))
    assert d_removed.tolist() == removed.tolist()  # boilerplate stripped on the workers too
    assert d_rows == rows and d_pairs == pairs


@pytest.mark.slow
@pytest.mark.filterwarnings(*DASK_WARNINGS)
def test_existing_cluster_by_address_decides_as_local() -> None:
    """With an address the workers may be other machines: the normalized lines travel with the tasks."""
    distributed = pytest.importorskip("distributed")
    rows, pairs, _ = decisions(Runtime(chunk_size=4))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        d_rows, d_pairs, _ = decisions(Runtime(chunk_size=4, dask_address=cluster.scheduler_address))
    assert d_rows == rows and d_pairs == pairs


def planted_signatures() -> tuple[np.ndarray, np.ndarray]:
    """Random signatures with near copies and one bucket of 80 (over a cap of 20)."""
    rng = np.random.default_rng(7)
    sig = rng.integers(0, 2**32, size=(600, 128), dtype=np.uint64).astype(np.uint32)
    sig[300:400] = sig[:100]  # near copies: every 9th value changed
    sig[300:400, ::9] = rng.integers(0, 2**32, size=(100, 15), dtype=np.uint64).astype(np.uint32)
    sig[450:530, :5] = 7  # 80 rows share the first band (rows=5 at 0.5, 128)
    members = rng.permutation(600)[:560]  # a subset, out of order
    return sig, members


@pytest.mark.filterwarnings(*DASK_WARNINGS)
def test_dask_banding_matches_local() -> None:
    pytest.importorskip("distributed")
    from dedup.exec.dask import lsh_pairs_dask

    sig, members = planted_signatures()
    bands, rows = band_params(0.5, 128)
    pairs, capped = lsh_pairs(sig, members, bands, rows, max_bucket=20)
    assert capped >= 1 and len(pairs) >= 100
    from concurrent.futures import CancelledError

    for attempt in (1, 2):  # a local cluster that loses its scheduler under a loaded CI machine is tried once more
        try:
            with open_executor(Runtime(backend="dask", n_jobs=2)) as executor:
                assert executor.lsh_pairs(sig, members, bands, rows, 20)[0].tolist() == pairs.tolist()
                for npartitions in (1, 3, 7):
                    theirs, their_capped = lsh_pairs_dask(sig, members, bands, rows, 20, npartitions=npartitions,
                                                          client=executor.client)
                    assert their_capped == capped
                    assert theirs.tolist() == pairs.tolist()
            return
        except (CancelledError, DedupError) as exc:  # the cluster lost (FutureCancelledError "lost dependencies", once)
            if attempt == 2 or "lost" not in str(exc):
                raise


def test_local_executor_bands_with_numpy() -> None:
    sig, members = planted_signatures()
    assert LocalExecutor(1).lsh_pairs(sig, members, 25, 5, 20)[0].tolist() == lsh_pairs(sig, members, 25, 5, 20)[0].tolist()


def test_unreachable_scheduler_is_a_config_error() -> None:
    pytest.importorskip("distributed")
    with pytest.raises(ConfigError, match="Dask scheduler"):
        dedupe(feed()[:2], DedupConfig(), runtime=Runtime(dask_address="tcp://127.0.0.1:1"))


@pytest.mark.filterwarnings(*DASK_WARNINGS)
def test_a_cluster_gone_under_the_run_is_one_error_and_a_tasks_own_error_is_its_own() -> None:
    """A scheduler gone mid-run (or a worker killed with data of the run) ended `dedup dedupe --dask-address` with
    the Dask client's traceback (OSError "Timed out trying to connect", CommClosedError, FutureCancelledError)."""
    distributed = pytest.importorskip("distributed")
    from dedup.errors import DedupError
    from dedup.exec.dask import dask_executor

    sig, members = planted_signatures()
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    try:
        with dask_executor(cluster.scheduler_address) as executor:
            with pytest.raises(FileNotFoundError):  # the task's own error, the cluster still there
                list(executor.imap(Path.stat, [(Path("/nonexistent/a"),), (Path("/nonexistent/b"),)]))
            cluster.close()
            calls = {"banding": lambda: executor.lsh_pairs(sig, members, 25, 5, 20),
                     "stream": lambda: list(executor.imap(len, [([1, 2],), ([3],)])),
                     "chunks": lambda: executor.map_chunks(len, [1, 2, 3], chunk_size=1)}
            for what, call in calls.items():
                with pytest.raises(DedupError, match=f"the Dask cluster at {cluster.scheduler_address} failed under the run") as err:
                    call()
                assert "run it again" in str(err.value), what
    finally:
        cluster.close()


# Imported by the Dask workers (on their PYTHONPATH): a task that kills the worker running it; the client runs the real
# prepare_chunk (so a run is replaced in the client only: the workers unpickle the function by this module's name)
_KILLER = """
import os

from dedup.flows import prepare

real_prepare_chunk = prepare.prepare_chunk


def in_worker():
    try:
        from distributed import get_worker

        get_worker()
    except ValueError:
        return False
    return True


def prepare_chunk(*args, **kwargs):
    if in_worker():
        os._exit(1)  # as the kernel's OOM killer or a segfault in a library would end it: no exception, no word
    return real_prepare_chunk(*args, **kwargs)


def length(items):
    if in_worker() and items == [3]:
        os._exit(1)
    return len(items)
"""

_LIBRARY_RUN = """
from dedup.errors import DedupError
from dedup.exec.dask import dask_executor
from killer import length

if __name__ == "__main__":  # the workers start by importing this file (multiprocessing's spawn)
    with dask_executor(None, 2) as executor:
        for call in (lambda: executor.map_chunks(length, [1, 2, 3, 4], chunk_size=1),
                     lambda: list(executor.imap(length, [([1],), ([2],), ([3],), ([4],)]))):
            try:
                call()
            except DedupError as exc:
                print("error:", type(exc).__name__, exc, flush=True)
        print("after:", list(executor.imap(length, [([1, 2],), ([4],), ([5, 6, 7],)])), flush=True)
"""

_CLI_RUN = """
import sys

if __name__ == "__main__":  # the workers start by importing this file (multiprocessing's spawn): not a second run
    import killer
    from dedup.cli import run
    from dedup.flows import prepare

    prepare.prepare_chunk = killer.prepare_chunk
    sys.argv = ["dedup", *sys.argv[1:]]
    run()
"""


def _guarded(args: list[str], where: Path, timeout: float = 120.0, **env: str) -> subprocess.CompletedProcess:
    """``args`` run in a child process with :data:`_KILLER` importable (by the child and its Dask workers), stopped after
    ``timeout`` seconds (SIGTERM: the run unwinds and closes its cluster; then SIGKILL) so that a hang fails the test."""
    import os

    (where / "killer.py").write_text(_KILLER, encoding="utf-8")
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(filter(None, [str(where), root, os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(args, cwd=where, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        pytest.fail(f"hung: no end after {timeout:g} s; its stderr ended with:\n{err[-3000:]}")
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def test_a_task_that_kills_its_dask_worker_is_one_error_not_a_hang(tmp_path: Path) -> None:
    """A task that killed every worker that ran it (out of memory, a crash in a library) hung the run forever: the
    scheduler gave up on it (KilledWorker) but joblib's Dask backend, told of a batch's end only when it returned,
    waited for it. Both joblib paths (map_chunks, imap) now stop with ClusterLost naming the task and the count, and
    the cluster, its workers replaced, runs the next call to the right results. In a child process, under a timeout."""
    pytest.importorskip("distributed")
    (tmp_path / "run.py").write_text(_LIBRARY_RUN, encoding="utf-8")
    # the scheduler gives up on a task after 1 + allowed-failures deaths (default 3): 1 here, so 2, and faster
    done = _guarded([sys.executable, "run.py"], tmp_path, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="1")
    assert done.returncode == 0, done.stderr[-3000:]
    errors = [line for line in done.stdout.splitlines() if line.startswith("error:")]
    assert len(errors) == 2, done.stdout
    for line in errors:
        assert line.startswith("error: ClusterLost a task of the run (length) killed its Dask worker 2 times"), line
        assert "not enough memory per worker" in line
    assert "after: [2, 1, 3]" in done.stdout  # the workers replaced, the cluster runs on, to the same results


def test_a_dedupe_run_whose_task_kills_its_dask_worker_exits_1_with_one_line_and_no_outputs(tmp_path: Path) -> None:
    """`dedup dedupe --backend dask` whose sketching task kills its worker each time: exit 1 after one line (the
    scheduler's and nannies' own log lines aside), no output folder; before, the run hung (killed here by the timeout)."""
    pytest.importorskip("distributed")
    (tmp_path / "run.py").write_text(_CLI_RUN, encoding="utf-8")
    (tmp_path / "dedup.toml").write_text('[runtime]\nbackend = "dask"\nn_jobs = 2\nchunk_size = 2\n', encoding="utf-8")
    out = tmp_path / "out"
    done = _guarded([sys.executable, "run.py", "dedupe", str(SEEDS[0].parent), "--out", str(out), "--config", "dedup.toml",
                     "-q"], tmp_path)
    ours = [line for line in done.stderr.splitlines() if line.startswith("dedup")]
    assert done.returncode == 1, done.stderr[-3000:]
    assert ours == [ours[0]] and ours[0].startswith("dedup: error: a task of the run (prepare_chunk) killed its Dask "
                                                    "worker 4 times (the cluster started for this run)"), ours
    assert "nothing of the run was kept" in ours[0]
    assert not out.exists()


@pytest.mark.filterwarnings(*DASK_WARNINGS)
def test_a_cluster_of_one_worker_thread_runs_the_tasks_not_the_client() -> None:
    """joblib runs a call whose backend counts one job in the calling process: on a cluster of one worker thread (or
    of two while one is being replaced) the chunks ran in the client, and a task that killed its worker killed it."""
    import os

    distributed = pytest.importorskip("distributed")
    from dedup.exec.dask import dask_executor

    with (distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
          dask_executor(cluster.scheduler_address) as executor):
        workers = set(executor.client.run(os.getpid).values())
        ran = set(executor.imap(os.getpid, [(), (), ()]))
    assert os.getpid() not in ran and ran <= workers


@pytest.mark.filterwarnings(*DASK_WARNINGS)
def test_a_cluster_without_workers_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cluster reached by address with no worker: joblib's TimeoutError and its advice on parallel_config, or the
    banding's scatter's "No valid workers found", a traceback at the command line; now ClusterLost, one line."""
    distributed = pytest.importorskip("distributed")
    import dedup.exec.dask as dask_exec

    monkeypatch.setattr(dask_exec, "_WAIT_FOR_WORKERS", 0.5)
    with (distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster,
          dask_exec.dask_executor(cluster.scheduler_address) as executor):
        sig, members = planted_signatures()
        for call in (lambda: executor.map_chunks(len, [1, 2, 3], chunk_size=1), lambda: list(executor.imap(len, [([1],), ([2],)])),
                     lambda: executor.lsh_pairs(sig, members, 25, 5, 20)):
            with pytest.raises(DedupError, match=f"the Dask cluster at {cluster.scheduler_address} has no workers "
                                                 r"\(none joined while the run waited\): start some"):
                call()


@pytest.mark.parametrize("kwargs", [{"n_jobs": 0}, {"n_jobs": -2}, {"chunk_size": 0}, {"backend": "spark"}], ids=str)
def test_runtime_checks(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        Runtime(**kwargs)


def _stories(runtime: Runtime):  # noqa: ANN202
    from dedup.config import StoriesConfig
    from dedup.flows.stories import stories

    dated = [replace(a, date=f"2015-07-{21 + k % 3:02d} {k % 24:02d}:00") for k, a in enumerate(feed())]
    res = stories(dated, StoriesConfig(), runtime=runtime)
    return res.event.tolist(), res.storyline.tolist(), res.dedup.boilerplate_removed.tolist()


@pytest.mark.slow
@pytest.mark.filterwarnings(*DASK_WARNINGS)
def test_stories_on_an_existing_cluster_equal_local() -> None:
    """Workers elsewhere cannot write the compared texts into this machine's spool: they come back with the sketches."""
    distributed = pytest.importorskip("distributed")
    local = _stories(Runtime(chunk_size=4))
    assert sum(r > 0 for r in local[2]) >= 10, "the feed has boilerplate that events must not see"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = _stories(Runtime(chunk_size=4, dask_address=cluster.scheduler_address))
    assert remote == local
    assert _stories(Runtime(chunk_size=4, n_jobs=2)) == local


def test_verification_on_workers_with_a_history_index_decides_as_one_process(tmp_path: Path) -> None:
    """With an index the pairs name stored and new articles together (one joined source): workers read both."""
    from dedup.store.history import open_index

    arts = feed()
    runs = []
    for jobs in (1, 2):
        location = str(tmp_path / f"h{jobs}.db")
        for part in (arts[:7], arts[7:]):  # the second feed meets the first one's copies in the index
            idx = open_index(location, DedupConfig())
            try:
                result = dedupe(part, DedupConfig(), runtime=Runtime(chunk_size=4, n_jobs=jobs), index=idx)
            finally:
                idx.close()
        runs.append((list(decision_rows(result)), list(pair_rows(result))))
    assert runs[0] == runs[1]
    assert sum(r["status"] == "duplicate" for r in runs[0][0]) >= 3


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_edges_gathered_in_the_candidates_array_are_the_edges(monkeypatch: pytest.MonkeyPatch, n_jobs: int) -> None:
    """The flow lets verified_edges gather the edges at the front of the candidate pairs (consume); the
    edges, and every decision, are those of a separate array, in one process and in several runs on workers."""
    import dedup.flows.dedupe as flow

    runtime = Runtime(chunk_size=4, n_jobs=n_jobs)
    seen: list[bool] = []
    real = flow.verified_edges

    def spy(*args, consume=False, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen.append(consume)
        return real(*args, consume=consume, **kwargs)

    monkeypatch.setattr(flow, "verified_edges", spy)
    rows, pairs, _ = decisions(runtime)
    monkeypatch.setattr(flow, "verified_edges", lambda *a, consume=False, **k: real(*a, consume=False, **k))
    plain_rows, plain_pairs, _ = decisions(runtime)
    assert seen == [True]
    assert len(pairs) >= 5 and pairs == plain_pairs and rows == plain_rows


@pytest.mark.parametrize(("n_jobs", "chunk", "backend"), [
    (1, 3, "local"), (2, 3, "local"), (2, 10**9, "local"),
    pytest.param(2, 3, "dask", marks=[pytest.mark.slow, pytest.mark.filterwarnings(*DASK_WARNINGS)]),
])
def test_verifying_family_by_family_decides_the_same(monkeypatch: pytest.MonkeyPatch, n_jobs: int, chunk: int,
                                                     backend: str) -> None:
    """From _FAMILY_ORDER_PAIRS pairs the candidates are verified in component order and the edges put back in
    input order: the same edges, scores and decisions as in the pairs' own order, in one process, on workers, in
    one piece (as a run that does not share the disk with its workers verifies), and with the Dask backend. The
    feed interleaves the copies of four texts, so the two orders differ."""
    if backend == "dask":
        pytest.importorskip("distributed")
    import dedup.flows.dedupe as flow
    from dedup.verify import family_order

    monkeypatch.setattr(flow, "_VERIFY_CHUNK", chunk)

    texts = [p.read_text(encoding="utf-8") for p in SEEDS[:4]]
    arts = [Article(id=f"v{k}-{i}", text=f"نسخة رقم {k}\n{t}\nانتهى {k}") for k in range(4) for i, t in enumerate(texts)]
    arts += feed()

    def run() -> tuple[list[dict], list[dict]]:
        result = dedupe(arts, DedupConfig(), runtime=Runtime(chunk_size=4, n_jobs=n_jobs, backend=backend))
        return list(decision_rows(result)), list(pair_rows(result))

    rows, pairs = run()
    made: list[bool] = []
    real = family_order.FamilyOrder.__init__

    def spy(self, p):  # noqa: ANN001, ANN202
        real(self, p)
        made.append(not (np.diff(self.positions(0, len(p))) == 1).all())

    monkeypatch.setattr(family_order.FamilyOrder, "__init__", spy)
    monkeypatch.setattr(flow, "_FAMILY_ORDER_PAIRS", 0)
    o_rows, o_pairs = run()
    assert made == [True]  # the family order was used, and differs from the pairs' own
    assert len(pairs) >= 20 and o_pairs == pairs and o_rows == rows


def test_more_jobs_than_cores_start_one_process_a_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """The work is CPU-bound: ``--jobs 1000`` on two cores once started ~740 interpreters and ran the machine out of memory."""
    import dedup.runtime

    monkeypatch.setattr(dedup.runtime, "usable_cores", lambda: 2)
    assert Runtime(n_jobs=1000).local_jobs == 2
    assert Runtime(n_jobs=2).local_jobs == 2
    assert Runtime(n_jobs=1).local_jobs == 1
    assert Runtime(n_jobs=-1).local_jobs == -1  # all cores, as it was
    with open_executor(Runtime(n_jobs=1000)) as executor:
        assert isinstance(executor, LocalExecutor) and executor.n_jobs == 2


def test_the_cli_says_when_it_runs_fewer_processes_than_asked(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join('{"id": "%d", "text": "word %d and more words here for the test"}\n' % (k, k) for k in range(5)),
                    encoding="utf-8")
    from dedup.runtime import usable_cores

    cores = usable_cores()
    jobs = cores + 50
    run = subprocess.run([sys.executable, "-m", "dedup", "dedupe", str(feed), "--out", str(tmp_path / "out"), "-q",
                          "--jobs", str(jobs)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert f"--jobs {jobs}: this machine has {cores} cores; running {cores} processes" in run.stderr
    assert (tmp_path / "out" / "summary.json").exists()


def test_a_port_that_is_not_a_scheduler_is_said_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """Something that accepts the connection and never answers the handshake (a Redis port): the run waited forever."""
    pytest.importorskip("distributed")
    import socket

    import dedup.exec.dask as dask_exec

    monkeypatch.setattr(dask_exec, "_HANDSHAKE_SECONDS", 2.0)
    with socket.socket() as quiet:  # a real listener that never speaks
        quiet.bind(("127.0.0.1", 0))
        quiet.listen(4)
        address = f"tcp://127.0.0.1:{quiet.getsockname()[1]}"
        with pytest.raises(ConfigError, match="no Dask scheduler answered") as err:
            dedupe(feed()[:2], DedupConfig(), runtime=Runtime(dask_address=address))
    assert "is not a scheduler address" not in str(err.value)


@pytest.mark.parametrize("address", ["notanaddress", "http://127.0.0.1:8787"])
def test_a_dask_address_that_is_none_is_one_error(address: str) -> None:
    pytest.importorskip("distributed")
    with pytest.raises(ConfigError, match="is not a scheduler address"):
        dedupe(feed()[:2], DedupConfig(), runtime=Runtime(dask_address=address))


@pytest.mark.filterwarnings(*DASK_WARNINGS, "ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_cluster_that_loses_all_its_workers_mid_run_is_one_error_not_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cluster reached by address whose workers all went away while a run's tasks were queued left the run waiting
    for them forever (Dask's distributed.scheduler.no-workers-timeout is unset by default). dedup bounds the wait for
    its run, when nobody configured it, and the run stops with ClusterLost; the scheduler's setting is given back."""
    import threading
    import time

    distributed = pytest.importorskip("distributed")
    import dedup.exec.dask as dask_exec

    monkeypatch.setattr(dask_exec, "_NO_WORKERS_TIMEOUT", 1.0)
    outcome: dict[str, BaseException | list] = {}
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with dask_exec.dask_executor(cluster.scheduler_address) as executor:
            assert cluster.scheduler.no_workers_timeout == 1.0  # for the run only

            def run() -> None:
                try:
                    done = []
                    for got in executor.imap(time.sleep, [(0.2,)] * 40, ahead=40):
                        done.append(got)
                        if len(done) == 1:  # the cluster loses its only worker, its other tasks waiting
                            cluster.scale(0)
                    outcome["done"] = done
                except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
                    outcome["error"] = exc

            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            thread.join(30)
            hung = thread.is_alive()
        assert cluster.scheduler.no_workers_timeout is None  # given back as it was: the cluster is not ours
    assert not hung, "the run waited for workers with no end"
    assert isinstance(outcome.get("error"), DedupError), outcome
    assert f"the Dask cluster at {cluster.scheduler_address} lost its workers" in str(outcome["error"])


@pytest.mark.filterwarnings(*DASK_WARNINGS)
def test_a_no_workers_timeout_the_user_set_is_left_as_it_is() -> None:
    distributed = pytest.importorskip("distributed")
    import dask

    import dedup.exec.dask as dask_exec

    with dask.config.set({"distributed.scheduler.no-workers-timeout": "7s"}):
        cluster = distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None)
    with cluster, dask_exec.dask_executor(cluster.scheduler_address):
        assert cluster.scheduler.no_workers_timeout == 7.0
    assert cluster.scheduler.no_workers_timeout == 7.0
