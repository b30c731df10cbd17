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

    ``settings["read"]`` says how to read ``inputs``, the run's feed, which
    only the ``sweep`` of a score over the gold pairs reads again.
    """
    from ..eval.run import evaluate_run  # numpy and the metrics: loaded when a run is scored, not by `dedup --help`

    return evaluate_run(run, gold, level, positive, sweep, inputs, settings.get("read", ReadConfig()))
