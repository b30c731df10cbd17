"""Turn a :class:`~dedup.flows.dedupe.DedupResult` into the files of ``--out DIR``.

This is where positions become ids again. Files:

* ``unique.jsonl``: the original records of every article that is not a
  duplicate (kept and skipped ones), in input order (a record read from a
  JSONL line is that line, unchanged);
* ``decisions.jsonl``: exactly one line per input record, in input order (a
  record skipped with ``--skip-bad`` has ``"id": null``, ``"status": "skipped"``,
  its ``file`` and ``line``: :mod:`dedup.io.skipped`);
* ``pairs.jsonl``: every verified duplicate edge with its scores;
* ``summary.json``: counts, every parameter, stage timings, the first 100 skipped records;
* ``report.html`` (unless ``report=False``): the groups, each copy beside its
  kept article (:mod:`dedup.io.dedupe_report`).

Every file is written atomically, ``summary.json`` last: a directory with a
``summary.json`` from this run holds complete outputs.

A run keeps no article text, so ``unique.jsonl`` is written from the records
as they streamed by: :class:`RecordSpool` serializes each record into a
temporary file while the feed is read, and the kept ones are copied out once
the decisions are known.

With ``output_format="parquet"`` the three files are ``unique.parquet``,
``decisions.parquet`` and ``pairs.parquet`` (:mod:`dedup.io.parquet_out`;
the spool remembers the file and row of each Parquet record, so that the
original rows can be copied), and the other format's three files are removed
from the folder, so that it never holds the outputs of two runs.
"""

from __future__ import annotations

import math
import tempfile
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from .. import __version__
from ..errors import ConfigError, OutputError
from ..results import DUPLICATE, KEEP_FIRST_UNDATED, KEEP_NOT_CONTAINED, KEPT, SKIPPED, STATUS, DedupResult
from ..types import Article
from ..verify import CONTAINED, RELATIONS
from .skipped import summary_bad, with_skipped
from .readers.parquet import ParquetRow
from .writers import atomic_open, json_line, write_json, write_jsonl

__all__ = ["RecordSpool", "decision_rows", "pair_rows", "stale_outputs", "summary", "write_dedupe_outputs"]


class RecordSpool:
    """The input records, one JSON line each (UTF-8 bytes), kept in a temporary file while a feed streams by.

    A record read from a JSONL line is kept as that line, unchanged; others
    (CSV rows, JSON arrays, text files) are written as compact JSON.

    >>> spool = RecordSpool()
    >>> [a.id for a in spool.tap([Article("a", "x", record={"id": "a"})])]
    ['a']
    >>> list(spool.lines())
    [b'{"id":"a"}\\n']
    >>> spool.close()
    """

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile("w+b", prefix="dedup-records-")
        self._parquet_files: dict[Any, int] = {}  # Parquet inputs (paths, or remote objects), numbered as first seen
        self._file_no = array("q")  # per record: its Parquet file's number, -1 for other formats
        self._row_no = array("q")  # per record: its 0-based row in that file

    def tap(self, articles: Iterable[Article]) -> Iterator[Article]:
        """Pass ``articles`` through, writing down each one's record."""
        for a in articles:
            line = json_line(a.record) if a.raw is None else a.raw.rstrip("\r\n") + "\n"
            self._file.write(line.encode("utf-8"))
            if isinstance(a.record, ParquetRow):
                self._file_no.append(self._parquet_files.setdefault(a.record.file, len(self._parquet_files)))
                self._row_no.append(a.record.row)
            else:
                self._file_no.append(-1)
                self._row_no.append(-1)
            yield a

    def parquet_rows(self) -> tuple[list[Any], np.ndarray, np.ndarray] | None:
        """``(files, file_no, row_no)`` locating every record's Parquet row, or None unless all came from Parquet."""
        file_no = np.array(self._file_no, dtype=np.int64)
        if not len(file_no) or (file_no < 0).any():
            return None
        return list(self._parquet_files), file_no, np.array(self._row_no, dtype=np.int64)

    def lines(self) -> Iterator[bytes]:
        """The records written, in order, as JSON lines (bytes: copied out without decoding)."""
        self._file.flush()
        self._file.seek(0)
        yield from self._file

    def close(self) -> None:
        self._file.close()


_POLICY = {
    "earliest": "the earliest date",
    "longest": "the longest text",
    "first": "the first in input order",
    "source-priority": "the highest source priority",
}


def _r(x: float) -> float | None:
    return None if math.isnan(x) else round(float(x), 4)


def decision_rows(result: DedupResult) -> Iterator[dict[str, Any]]:
    """One decision per article, in input order (with ``repeats`` when they were counted)."""
    repeats = result.repeat_counts.tolist() if result.repeat_counts is not None else None
    table = result.table
    ids, lengths = table.ids, table.lengths
    n = len(table)
    in_group = result.group[result.group >= 0]
    sizes = np.bincount(in_group, minlength=max(n, int(in_group.max()) + 1 if len(in_group) else 0)) if n else np.zeros(0, int)
    policy = result.config.cluster.keep
    keep_reason = result.keep_reason

    def why_kept(k: int) -> str:
        """What made ``k`` the keeper, in words (decided by the flow: ``keep_reason``)."""
        flags = int(keep_reason[k])
        why = "the first in input order (no date to compare)" if flags & KEEP_FIRST_UNDATED else _POLICY[policy]
        if flags & KEEP_NOT_CONTAINED:  # star grouping never keeps a text contained in a longer one
            why += " among the copies not contained in a longer article"
        return why

    name, hist = result.name, result.history
    containers = _containers(result)

    def length(k: int) -> int:
        return int(lengths[k]) if k < n else int(hist.lengths[k - n])  # type: ignore[union-attr]

    for pos in range(n):
        status = int(result.status[pos])
        g = int(result.group[pos])
        row: dict[str, Any] = {
            "id": ids[pos],
            "status": STATUS[status],
            "group": result.group_name(g),
            "duplicate_of": None,
            "relation": None,
            "scores": None,
            "reason": "",
        }
        if status == SKIPPED:
            row["reason"] = "skipped: " + result.reason_skipped[pos]
        elif status == DUPLICATE:
            k = int(result.keeper[pos])
            rel = int(result.relation[pos])
            jac, cont, cos, prob = (_r(x) for x in result.scores[pos])
            row["duplicate_of"] = name(k)
            row["relation"] = RELATIONS[rel]
            row["scores"] = {"jaccard": jac, "containment": cont, "cosine": cos, "probability": prob}
            if rel == CONTAINED:
                what = f"contained in {name(k)}" if lengths[pos] <= length(k) else f"contains {name(k)}"
            else:
                what = f"{RELATIONS[rel]} copy of {name(k)}"
            if k >= n:  # an article of an earlier feed, from the history index
                ref = k - n
                row["seen_before"] = {"date": hist.dates[ref], "source": hist.sources[ref]}  # type: ignore[union-attr]
                when = f" ({hist.dates[ref]})" if hist.dates[ref] else ""  # type: ignore[union-attr]
                row["reason"] = f"{what}; seen before{when}: kept in an earlier feed, already in the index"
            else:
                row["reason"] = f"{what}; of {sizes[g]} copies {name(k)} is kept as {why_kept(k)} (--keep {policy})"
        elif g >= 0:
            row["reason"] = f"kept: of {sizes[g]} copies this is {why_kept(pos)} (--keep {policy})"
        else:
            row["reason"] = "no duplicate found"
        row["contained_in"] = [name(k) for k in containers.get(pos, ())]
        if repeats is not None:
            row["repeats"] = repeats[pos]
        yield row


def _containers(result: DedupResult) -> dict[int, list[int]]:
    """For each article, the articles a verified ``contained`` edge says hold it (a short item inside roundups)."""
    out: dict[int, list[int]] = {}
    rel, s = result.pair_relation, result.pair_scores
    for m in np.flatnonzero(rel == CONTAINED).tolist():
        i, j = (int(x) for x in result.pairs[m])
        small, big = (i, j) if s.contain_ij[m] >= s.contain_ji[m] else (j, i)
        out.setdefault(small, []).append(big)
    return {k: sorted(v) for k, v in out.items()}


def pair_rows(result: DedupResult) -> Iterator[dict[str, Any]]:
    """Every verified duplicate edge, ``id1`` before ``id2`` in input order."""
    s = result.pair_scores
    name = result.name
    for m, (i, j) in enumerate(result.pairs.tolist()):
        yield {
            "id1": name(i),
            "id2": name(j),
            "relation": RELATIONS[int(result.pair_relation[m])],
            "jaccard": _r(s.jaccard[m]),
            "containment_1_in_2": _r(s.contain_ij[m]),
            "containment_2_in_1": _r(s.contain_ji[m]),
            "cosine": _r(s.cosine[m]),
            "probability": None if s.probability is None else _r(s.probability[m]),
        }


def summary(result: DedupResult, inputs: list[str]) -> dict[str, Any]:
    """Counts, parameters and timings of a run."""
    from ..sketch.pinned import datasketch_version  # the version without importing datasketch (~0.4 s)

    status = np.bincount(result.status, minlength=3)
    rel = np.bincount(result.relation[result.status == DUPLICATE], minlength=4)
    groups = np.unique(result.group[result.group >= 0])
    skipped: dict[str, int] = {}
    for why in result.reason_skipped.values():
        key = why.split(":")[0]
        skipped[key] = skipped.get(key, 0) + 1
    cfg = result.config.to_dict()
    cand = result.candidates
    return {
        "dedup_version": __version__,
        "inputs": inputs,
        "counts": {
            "articles": len(result.table),
            "kept": int(status[KEPT]),
            "duplicates": int(status[DUPLICATE]),
            "skipped": int(status[SKIPPED]),
            "skipped_by_reason": skipped,
            "duplicate_groups": len(groups),
            "duplicates_by_relation": {RELATIONS[k]: int(rel[k]) for k in (1, 2, 3)},
            "candidate_pairs": len(cand.pairs),
            "candidate_pairs_from_lsh": cand.from_lsh,
            "candidate_pairs_from_anchors": cand.from_anchors,
            "capped_buckets": cand.capped_buckets,
            "candidate_pairs_screened_out": cand.screened_out,
            "verified_pairs": len(result.pairs),
            "boilerplate_lines": len(result.boilerplate),
            "articles_with_boilerplate": int((result.boilerplate_removed > 0).sum()),
            "bad_records": len(result.bad_records),
            **(
                {"articles_with_repeats": int((result.repeat_counts > 0).sum())}
                if result.repeat_counts is not None
                else {}
            ),
        },
        "config": {"dedupe": cfg, "runtime": result.runtime},
        "sketch": {
            "library": "datasketch",
            "datasketch_version": datasketch_version(),
            "scheme": result.config.minhash.scheme,
            "num_perm": result.config.minhash.num_perm,
            "seed": result.config.minhash.seed,
            "bands": cand.bands,
            "rows": cand.rows,
        },
        **({"history": result.history_counts} if result.history_counts else {}),
        "timings_seconds": {**result.timings, "total": round(sum(result.timings.values()), 4)},
        **summary_bad(result.bad_records),
        "boilerplate": result.boilerplate.report()[:100],
    }


def stale_outputs(output_format: str) -> tuple[str, ...]:
    """The files of the other output format, which a run removes from its folder.

    >>> stale_outputs("parquet")
    ('unique.jsonl', 'decisions.jsonl', 'pairs.jsonl')
    """
    other = "jsonl" if output_format == "parquet" else "parquet"
    return tuple(f"{name}.{other}" for name in ("unique", "decisions", "pairs"))


def write_dedupe_outputs(
    out_dir: str | Path, result: DedupResult, inputs: list[str], records: Iterable[dict[str, Any] | str | bytes] | RecordSpool,
    output_format: str = "jsonl", report: bool = True,
) -> dict[str, Any]:
    """Write the output files atomically (``report.html`` too unless ``report`` is False); returns the summary.

    Args:
        out_dir: the output directory (created if needed).
        result: the run.
        inputs: the input paths, for the summary.
        records: every input record in input order (one per article of the
            run), as objects or as JSON lines (str, or UTF-8 bytes as
            :meth:`RecordSpool.lines` gives them), or the spool itself (which
            lets ``unique.parquet`` copy the rows of Parquet inputs).
        output_format: ``"jsonl"`` or ``"parquet"`` (needs pyarrow).
        report: write ``report.html`` (its texts are read back from
            ``records``: a spool, or a list); else remove an old one.

    Raises:
        OutputError: a file cannot be written.
        ConfigError: ``"parquet"`` without pyarrow.
    """
    if output_format not in ("jsonl", "parquet"):
        raise ConfigError(f"output format must be jsonl or parquet, got {output_format!r}")
    out = Path(out_dir)
    try:
        (out / "summary.json").unlink(missing_ok=True)  # a stale summary must not vouch for new files
        for stale in stale_outputs(output_format) + (() if report else ("report.html",)):  # nor may another format's files sit beside the new ones
            (out / stale).unlink(missing_ok=True)
        blank = dict.fromkeys(("group", "duplicate_of", "relation", "scores", *(("repeats",) if result.repeat_counts is not None else ())))
        decisions = with_skipped(decision_rows(result), result.bad_records, blank)
        if output_format == "parquet":
            from .parquet_out import write_parquet_outputs

            write_parquet_outputs(out, records, result.status != DUPLICATE, decisions, pair_rows(result))
        else:
            _write_unique(out / "unique.jsonl", records.lines() if isinstance(records, RecordSpool) else records, result.status)
            write_jsonl(out / "decisions.jsonl", decisions)
            write_jsonl(out / "pairs.jsonl", pair_rows(result))
        if report:
            from .dedupe_report import write_dedupe_report

            write_dedupe_report(out / "report.html", result, records, inputs)
        info = summary(result, inputs)
        info["output_format"] = output_format
        write_json(out / "summary.json", info)
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the outputs ({exc.strerror or exc}); check the path and permissions") from exc
    return info


def _write_unique(path: Path, records: Iterable[dict[str, Any] | str | bytes], status: np.ndarray) -> None:
    """Copy the records of every article that is not a duplicate."""
    n = 0
    with atomic_open(path, "wb") as out:
        for pos, rec in enumerate(records):
            if pos >= len(status):
                raise ValueError(f"write_dedupe_outputs: more records than the {len(status)} articles of the run")
            if status[pos] != DUPLICATE:
                if isinstance(rec, dict):
                    rec = json_line(rec)
                out.write(rec.encode("utf-8") if isinstance(rec, str) else rec)
            n += 1
        if n != len(status):
            raise ValueError(f"write_dedupe_outputs: {n} records for the {len(status)} articles of the run")
