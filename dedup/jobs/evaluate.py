"""The job of ``dedup eval``: a finished run scored against gold labels (:mod:`dedup.eval.run`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import ReadConfig

__all__ = ["run_eval"]


def run_eval(run: str | Path, gold: str | Path, settings: Mapping[str, Any], *, level: str | None = None,
             positive: Sequence[str] = ("DUP",), sweep: str | None = None, inputs: Sequence[str] = ()) -> dict[str, Any]:
    """The report of ``dedup eval`` on the output folder ``run`` (see :func:`dedup.eval.run.evaluate_run`).

    ``run`` is a local folder or the URL a run's ``--out`` took (``s3://bucket/prefix/``; its summary and the files
    scored are fetched into a temporary folder, and messages name the URL). ``settings["read"]`` says how to read
    ``inputs``, the run's feed, which only the ``sweep`` of a score over the gold pairs reads again, and gives the
    storage options of the URLs.

    Raises:
        InputNotFoundError: ``run`` is not there (a local path; for a URL, the storage cannot be reached).
        InputFormatError: ``run`` is a file, not a run's folder.
    """
    from ..eval.run import evaluate_run  # numpy and the metrics: loaded when a run is scored, not by `dedup --help`
    from ..io.paths import is_url

    read = settings.get("read", ReadConfig())
    if not is_url(str(run)):
        _check_folder(Path(run))
        return evaluate_run(run, gold, level, positive, sweep, inputs, read)
    from ..errors import DedupError
    from ..io.gold import fetched_run

    url = str(run)
    with fetched_run(url, read.storage_options) as local:
        try:
            report = evaluate_run(local, gold, level, positive, sweep, inputs, read)
        except DedupError as err:  # the error names the URL given, not the temporary copy
            raise _renamed(err, str(local), url.rstrip("/")) from None
    report["run"] = url
    return report


def _check_folder(run: Path) -> None:
    """Refuse a ``run`` that is not a folder, in one line (a file of a run: its folder named)."""
    from ..errors import InputFormatError, InputNotFoundError

    if not run.exists():
        raise InputNotFoundError(f"{run}: no such folder; give the --out folder of a dedup dedupe or dedup stories run")
    if not run.is_dir():
        inside = f" (its folder: {run.parent})" if (run.parent / "summary.json").is_file() else ""
        raise InputFormatError(f"a file, not a run's folder: give the --out folder of a dedup dedupe or dedup stories "
                               f"run{inside}", str(run))


def _renamed(err: Exception, local: str, url: str) -> Exception:
    """``err`` with the temporary copy's path replaced by the run's URL."""
    from ..errors import InputFormatError

    if isinstance(err, InputFormatError):
        return InputFormatError(err.message.replace(local, url), err.path.replace(local, url) if err.path else err.path,
                                err.line)
    return type(err)(str(err).replace(local, url))
