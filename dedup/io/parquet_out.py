"""Parquet outputs of a dedupe run (``--output-format parquet``): decisions, pairs, unique articles.

* ``decisions.parquet`` and ``pairs.parquet`` hold the rows of
  ``decisions.jsonl`` and ``pairs.jsonl``, one column per key (``scores`` a
  struct of four doubles; ids, statuses and reasons strings). Their columns
  are fixed by the run's settings, never by its data
  (:func:`decision_types`, the keys every line of ``decisions.jsonl`` has): a
  key that applies to some rows only (``file`` and ``line`` of a bad record,
  ``seen_before`` of a copy of a stored article) is a column of every run that
  could write it, null where it does not apply, so the files
  of day after day (a folder a query engine reads as one table) share one
  schema whatever each day held.
* ``unique.parquet`` holds the articles that are not duplicates, in input
  order. When every article came from Parquet files it holds their original
  Arrow rows, unchanged, with the input's schema (metadata included): a run
  keeps no text, so the rows are read again from the input files by
  ``(file, row)`` (:class:`~dedup.io.readers.parquet.ParquetRow`). Inputs
  whose schemas differ are merged with pyarrow's permissive promotion
  (``unify_schemas``). Otherwise (JSONL, CSV, … or a mix) it holds the
  records as ``unique.jsonl`` has them, one column per field seen in any
  record, the types inferred by Arrow; a field whose values Arrow cannot give
  one type (numbers in some records, text in others) is written as JSON text.

Files are written atomically (:func:`~dedup.io.writers.atomic_open`) from
record batches, and rows are gathered into row groups of about
:data:`ROW_GROUP_BYTES`, so memory stays bounded by a row group. pyarrow is
optional (``pip install 'dedup[parquet]'``).
"""

from __future__ import annotations

import contextlib
import json
import re
import logging
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, OutputError
from .dedupe_rows import decision_keys
from .readers.parquet import BATCH_ROWS, READ_OPTIONS, pyarrow_parquet
from .writers import atomic_open, json_line

__all__ = ["ROW_GROUP_BYTES", "check_pyarrow", "write_parquet_outputs", "write_rows", "write_unique_records", "write_unique_rows"]

logger = logging.getLogger(__name__)

#: A row group is written once this many bytes (or :data:`_ROW_GROUP_ROWS` rows) are gathered.
ROW_GROUP_BYTES = 64 * 2**20
_ROW_GROUP_ROWS = 1 << 17
_DICT_ROWS = 8192  # rows turned from dicts into Arrow at a time


def check_pyarrow() -> None:
    """Fail before a run when ``--output-format parquet`` cannot be written.

    Raises:
        ConfigError: pyarrow is not installed (one line with the pip command).
    """
    pyarrow_parquet(ConfigError, "--output-format parquet")


def _modules() -> tuple[Any, Any]:
    return pyarrow_parquet(ConfigError, "--output-format parquet")


class _Writer:
    """A ParquetWriter on an open file that gathers batches into row groups of about :data:`ROW_GROUP_BYTES`."""

    def __init__(self, handle: Any, schema: Any) -> None:
        pa, pq = _modules()
        self._pa = pa
        self.schema = schema
        self._writer = pq.ParquetWriter(handle, schema)
        self._batches: list[Any] = []
        self._rows = self._bytes = 0

    def write(self, batch: Any) -> None:
        if batch.num_rows == 0:
            return
        self._batches.append(batch)
        self._rows += batch.num_rows
        self._bytes += batch.nbytes
        if self._bytes >= ROW_GROUP_BYTES or self._rows >= _ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._batches:
            table = self._pa.Table.from_batches(self._batches, schema=self.schema)
            self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self._batches, self._rows, self._bytes = [], 0, 0

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        if kind is None:
            self._flush()
            self._writer.close()
        else:  # the file is being discarded: just release the writer, before the file it writes to is closed
            with contextlib.suppress(Exception):
                self._writer.close()


def _chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def write_parquet_outputs(
    out: Path, records: Any, keep: np.ndarray, decisions: Iterable[dict[str, Any]], pairs: Iterable[dict[str, Any]],
    history: bool = False, repeats: bool = False,
) -> None:
    """Write ``unique.parquet``, ``decisions.parquet`` and ``pairs.parquet`` into ``out``.

    Args:
        out: the output folder.
        records: a :class:`~dedup.io.spool.RecordSpool` (its
            ``parquet_rows()`` lets the rows of Parquet inputs be copied), or
            the records as objects or JSON lines, one per article.
        keep: per article, whether it goes into ``unique.parquet``.
        decisions: the rows of ``decisions.jsonl``.
        pairs: the rows of ``pairs.jsonl``.
        history: the run had a history index (``decisions.parquet`` has ``seen_before``).
        repeats: the run counted repeats (``decisions.parquet`` has ``repeats``).
    """
    pa, _ = _modules()
    origins = records.parquet_rows() if hasattr(records, "parquet_rows") else None
    if origins is not None:
        try:
            write_unique_rows(out / "unique.parquet", *origins, keep)
        except _CannotMerge as why:
            logger.warning("unique.parquet: the Parquet inputs' rows cannot share one schema (%s); the kept records are "
                           "written as unique.jsonl has them (a column per field, types inferred), not copied unchanged", why)
            origins = None
    if origins is None:
        write_unique_records(out / "unique.parquet", records.lines() if hasattr(records, "lines") else records, keep)
    write_rows(out / "decisions.parquet", decisions, decision_types(pa, history, repeats), fixed=True)
    write_rows(out / "pairs.parquet", pairs, pair_types(pa), fixed=True)


def decision_types(pa: Any, history: bool = False, repeats: bool = False) -> dict[str, Any]:
    """The columns of ``decisions.parquet`` and their Arrow types, in order: the keys of every line of
    ``decisions.jsonl`` (:func:`~dedup.io.dedupe_rows.decision_keys`) in a run with a history index or not
    (``seen_before``), counting repeats or not (``repeats``).

    >>> import pyarrow as pa
    >>> list(decision_types(pa, history=True))
    ['id', 'status', 'group', 'duplicate_of', 'relation', 'scores', 'reason', 'contained_in', 'seen_before', 'file', 'line']
    """
    scores = pa.struct([("jaccard", pa.float64()), ("containment", pa.float64()), ("cosine", pa.float64()),
                        ("probability", pa.float64())])
    text = pa.string()
    types = {"id": text, "status": text, "group": text, "duplicate_of": text, "relation": text, "scores": scores,
             "reason": text, "contained_in": pa.list_(text), "seen_before": pa.struct([("date", text), ("source", text)]),
             "repeats": pa.int64(), "file": text, "line": pa.int64()}
    return {key: types[key] for key in decision_keys(history, repeats)}  # the keys of decisions.jsonl, in its order


def pair_types(pa: Any) -> dict[str, Any]:
    """The Arrow types of the keys of ``pairs.jsonl``."""
    return {"id1": pa.string(), "id2": pa.string(), "relation": pa.string(),
            **{k: pa.float64() for k in ("jaccard", "containment_1_in_2", "containment_2_in_1", "cosine", "probability")}}


# --------------------------------------------------------------------------- rows and records as dicts


def write_rows(path: str | Path, rows: Iterable[dict[str, Any] | str | bytes], types: dict[str, Any] | None = None,
               fixed: bool = False) -> int:
    """Write dicts (or their JSON lines) as one Parquet table, atomically.

    The rows are copied to a temporary file as JSON lines, read once to find
    the columns (every key of any row, first seen first; a row without one
    has null there) and their types, and once more to write them.

    Args:
        path: the output file.
        rows: the rows (a generator is fine).
        types: Arrow type of known keys; other keys get the type Arrow infers
            from all their values, merged with permissive promotion, or are
            written as JSON text when their values cannot share a type. With
            no rows at all, the columns are ``types``.
        fixed: every key of ``types`` is a column, in its order, first
            (null in the rows without it), whatever the rows hold.

    Returns:
        The number of rows written.
    """
    with tempfile.TemporaryFile("w+b", prefix="dedup-rows-") as spool:
        for row in rows:
            _spool(spool, row)
        return _write_spooled(path, spool, types or {}, fixed)


def write_unique_records(path: str | Path, records: Iterable[dict[str, Any] | str | bytes], keep: np.ndarray) -> int:
    """Write the kept records (objects or JSON lines, one per article) as one Parquet table (see :func:`write_rows`).

    Returns:
        The number of rows written.

    Raises:
        ValueError: there are more or fewer records than ``keep`` has articles.
    """
    with tempfile.TemporaryFile("w+b", prefix="dedup-unique-") as spool:
        n = 0
        for pos, rec in enumerate(records):
            if pos >= len(keep):
                raise ValueError(f"write_dedupe_outputs: more records than the {len(keep)} articles of the run")
            if keep[pos]:
                _spool(spool, rec)
            n += 1
        if n != len(keep):
            raise ValueError(f"write_dedupe_outputs: {n} records for the {len(keep)} articles of the run")
        return _write_spooled(path, spool, {})


def _spool(spool: Any, row: dict[str, Any] | str | bytes) -> None:
    if isinstance(row, dict):
        row = json_line(row)
    spool.write(row.encode("utf-8") if isinstance(row, str) else row)


_LONE = re.compile("[\ud800-\udfff]")


def _valid_utf8(value: Any) -> Any:
    """The value with every lone surrogate replaced by U+FFFD: Parquet strings are UTF-8, which cannot hold one."""
    if isinstance(value, str):
        return _LONE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_valid_utf8(k): _valid_utf8(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_valid_utf8(v) for v in value]
    return value


def _parse(line: bytes) -> dict[str, Any]:
    row = json.loads(line)
    if b"\\ud" in line.lower():  # an escaped surrogate (JSON lines keep them as \udxxx)
        row = _valid_utf8(row)
    return row


def _spooled_chunks(spool: Any) -> Iterator[list[dict[str, Any]]]:
    spool.flush()
    spool.seek(0)
    return _chunks((_parse(line) for line in spool), _DICT_ROWS)


def _write_spooled(path: str | Path, spool: Any, known: dict[str, Any], fixed: bool = False) -> int:
    pa, _ = _modules()
    types: dict[str, Any] = dict(known) if fixed else {}
    as_json: set[str] = set()
    for chunk in _spooled_chunks(spool):
        _merge_types(pa, chunk, types, as_json, known)
    if not types:
        types = dict(known)
    for key in sorted(as_json):
        logger.warning("%s: the values of %r have types Arrow cannot merge; written as JSON text", Path(path).name, key)
        types[key] = pa.string()
    schema = pa.schema([(k, pa.string() if pa.types.is_null(t) else t) for k, t in types.items()])
    count = 0
    with atomic_open(path, "wb") as handle, _Writer(handle, schema) as writer:
        for chunk in _spooled_chunks(spool):
            if as_json:
                chunk = [_json_fields(r, as_json) for r in chunk]
            writer.write(pa.RecordBatch.from_pylist(chunk, schema=schema))
            count += len(chunk)
    return count


def _merge_types(pa: Any, chunk: list[dict[str, Any]], types: dict[str, Any], as_json: set[str], known: dict[str, Any]) -> None:
    """Add the columns of ``chunk`` to ``types`` (first seen first), merging types; unmergeable ones go to ``as_json``."""
    for key in dict.fromkeys(k for r in chunk for k in r):
        if key in known:
            types.setdefault(key, known[key])
            continue
        if key in as_json:
            continue
        try:
            kind = pa.array([r.get(key) for r in chunk]).type
            if key in types:
                kind = pa.unify_schemas([pa.schema([(key, types[key])]), pa.schema([(key, kind)])],
                                        promote_options="permissive").field(key).type
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
            as_json.add(key)
            types.setdefault(key, pa.string())
            continue
        types[key] = kind


def _json_fields(record: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {k: (json.dumps(v, ensure_ascii=False) if k in keys and v is not None else v) for k, v in record.items()}


# --------------------------------------------------------------------------- unique.parquet from Parquet rows


class _CannotMerge(OutputError):
    """The rows of the Parquet inputs cannot be written as one table; the message (one line) names the column and files."""


def write_unique_rows(path: str | Path, files: list[Any], file_no: np.ndarray, row_no: np.ndarray, keep: np.ndarray) -> int:
    """Copy the kept rows of Parquet inputs, unchanged and in input order, into one Parquet file.

    Args:
        path: the output file.
        files: the input Parquet files (paths, or objects in storage: :class:`~dedup.io.remote.RemoteFile`).
        file_no: per article, its file (an index into ``files``).
        row_no: per article, its 0-based row in that file.
        keep: per article, whether it is written.

    Returns:
        The number of rows written.

    Raises:
        OutputError: an input file changed since it was read, or the inputs'
            rows cannot share one schema (their schemas cannot be merged, or a
            value does not fit the merged type; the message names the column
            and the files).
    """
    pa, pq = _modules()
    schema, same = _merged_schema(pa, pq, files)
    positions = np.flatnonzero(keep)
    f_of, r_of = file_no[positions], row_no[positions]
    # runs of rows read from one file, in increasing row order (the same file given twice starts a new run)
    cuts = np.flatnonzero((np.diff(f_of) != 0) | (np.diff(r_of) <= 0)) + 1
    with atomic_open(path, "wb") as handle, _Writer(handle, schema) as writer:
        for run in np.split(np.arange(len(positions)), cuts):
            if len(run):
                _copy_rows(pa, pq, writer, files[int(f_of[run[0]])], r_of[run], same)
    return len(positions)


def _merged_schema(pa: Any, pq: Any, files: list[Any]) -> tuple[Any, bool]:
    """The schema of the first file, or the merge of all when they differ; and whether they are all the same."""
    schemas = []
    for f in files:
        with _opened(f) as source:
            schemas.append(pq.read_schema(source))
    first = schemas[0]
    if all(s.equals(first) for s in schemas[1:]):
        return first, True
    try:
        merged = pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as err:
        raise _CannotMerge(_conflict(pa, schemas, files) or _first_line(err)) from None
    return merged.with_metadata(first.metadata), False


def _unify(pa: Any, name: str, one: Any, two: Any) -> Any:
    """The type a column of types ``one`` and ``two`` is merged to (permissive promotion), or None."""
    try:
        return pa.unify_schemas([pa.schema([(name, one)]), pa.schema([(name, two)])],
                                promote_options="permissive").field(name).type
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None


def _conflict(pa: Any, schemas: list[Any], files: list[Any]) -> str | None:
    """Which column of which files keeps ``schemas`` from merging, in words; None when no one column does.

    >>> import pyarrow as pa
    >>> _conflict(pa, [pa.schema([("id", pa.string())]), pa.schema([("id", pa.int64())])], ["a.parquet", "b.parquet"])
    "column 'id' is string in a.parquet but int64 in b.parquet"
    """
    seen: dict[str, list[tuple[Any, Any]]] = {}  # column -> (its type, the file) in each file before
    merged: dict[str, Any] = {}
    for schema, file in zip(schemas, files):
        for field in schema:
            before = seen.setdefault(field.name, [])
            if before:
                kind = _unify(pa, field.name, merged[field.name], field.type)
                if kind is None:
                    other = next(((t, f) for t, f in before if _unify(pa, field.name, t, field.type) is None), None)
                    if other is None:  # each pair merges, not all together
                        return f"column {field.name!r} is {field.type} in {file}, which does not merge with " \
                               f"{merged[field.name]} of the files before it"
                    return f"column {field.name!r} is {other[0]} in {other[1]} but {field.type} in {file}"
                merged[field.name] = kind
            else:
                merged[field.name] = field.type
            before.append((field.type, file))
    return None


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


@contextlib.contextmanager
def _opened(file: Any) -> Iterator[Any]:
    """What pyarrow reads: a local path as it is, a remote object (:class:`~dedup.io.remote.RemoteFile`) as its stream."""
    if isinstance(file, (str, Path)):
        yield file
        return
    with file.open("rb", sequential=False) as stream:
        yield stream


def _copy_rows(pa: Any, pq: Any, writer: _Writer, file: Any, rows: np.ndarray, same: bool) -> None:
    with _opened(file) as source, pq.ParquetFile(source, **READ_OPTIONS) as pf:
        if int(rows[-1]) >= pf.metadata.num_rows:
            raise OutputError(f"{file}: has fewer rows than when it was read; it changed during the run, run again")
        start = k = 0
        for batch in pf.iter_batches(batch_size=BATCH_ROWS, use_threads=False):
            end = start + batch.num_rows
            j = int(np.searchsorted(rows, end))
            if j > k:
                taken = batch.take(pa.array(rows[k:j] - start))
                writer.write(pa.RecordBatch.from_arrays(taken.columns, schema=writer.schema) if same
                             else _conform(pa, taken, writer.schema, file))
            k, start = j, end
            if k == len(rows):
                break


def _conform(pa: Any, batch: Any, schema: Any, file: Any) -> Any:
    """``batch`` (rows of ``file``) with the columns of ``schema``, in its order and types (absent columns null).

    Raises:
        _CannotMerge: a value does not fit its column's merged type (an
            integer beyond 2**53 as a double, a timestamp out of range).
    """
    columns = []
    for field in schema:
        i = batch.schema.get_field_index(field.name)
        column = batch.column(i) if i >= 0 else pa.nulls(batch.num_rows, field.type)
        if not column.type.equals(field.type):
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
                raise _CannotMerge(f"column {field.name!r} is {column.type} in {file}, and a value of it does not fit "
                                   f"{field.type}, its type merged with the other files' ({_first_line(err)})") from None
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=schema)
