"""Parquet inputs: one ``.parquet`` file, several, or a folder of them, read in record batches.

Each file is its own source with fields detected from its first row, like a
JSONL file: a row becomes a record (a dict of its columns) and goes through
the same record → article rules (:mod:`.records`), so ``--text-field`` and
the other field options work unchanged. Rows are numbered from 1 in each file
(``file.parquet:#k``, "row #k": pyarrow's row index k-1). Values that JSON
cannot hold become JSON-like ones, so ``unique.jsonl`` and ``cleaned.jsonl``
can write the record: timestamps, dates and times as ISO-8601 strings, binary
values as text when they are UTF-8 and as base64 otherwise (raw HTML, images;
but an article field of bytes that are not UTF-8 makes the row a bad row),
decimals and durations as strings. Each record is a :class:`ParquetRow`,
which remembers its file and row, so that ``unique.parquet`` can copy the
original Arrow rows (:mod:`dedup.io.parquet_out`).

Memory stays bounded: rows are read :data:`BATCH_ROWS` at a time
(``ParquetFile.iter_batches``, one thread: the run's workers have the other
cores) with buffered column reads (:data:`READ_OPTIONS`), never a whole file
or row group of text. pyarrow is an optional dependency
(``pip install 'dedup[parquet]'``); without it a Parquet input is one line
saying so.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from ...errors import DedupError, InputError, InputFormatError, InputNotFoundError
from .records import _Items, _Loc, _Source

__all__ = ["BATCH_ROWS", "READ_OPTIONS", "ParquetRow", "pyarrow_parquet"]

#: Rows per record batch: a few MB of article text, whatever the file's row groups.
BATCH_ROWS = 1024
#: How files are opened: column chunks stream in 1 MiB reads (``buffer_size``) and are not read
#: ahead whole (``pre_buffer``, on by default in recent pyarrow, held ~the compressed file).
READ_OPTIONS = {"buffer_size": 1 << 20, "pre_buffer": False}


class ParquetRow(dict):  # type: ignore[type-arg]
    """A Parquet row as a record, with ``file`` (its path, or a remote object) and ``row`` (0-based) to find it again.

    ``undecodable`` names the columns whose bytes were not UTF-8 (given as
    base64): the reader refuses the row if one of them is an article field.
    """

    __slots__ = ("file", "row", "undecodable")


def pyarrow_parquet(error: Callable[[str], DedupError], purpose: str) -> tuple[Any, Any]:
    """``(pyarrow, pyarrow.parquet)``, or ``error`` saying how to install them.

    Raises:
        DedupError: the ``error`` made of one line naming ``purpose`` and
            ``pip install 'dedup[parquet]'``.
    """
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise error(f"{purpose} needs pyarrow, which is not installed; pip install 'dedup[parquet]'") from None
    return pyarrow, pyarrow.parquet


def _parquet_sources(files: Sequence[Path]) -> Iterator[_Source]:
    """One source per file, in the order given (a folder's files are sorted by :mod:`.folders`)."""
    for path in files:
        name = str(path)
        yield name, _parquet_items(path, name)


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _parquet_items(path: Path, name: str) -> _Items:
    pa, pq = pyarrow_parquet(lambda message: InputError(f"{name}: {message}"), "reading Parquet")
    local = isinstance(path, Path)  # else an object in storage (RemoteFile): pyarrow reads its stream, in ranges
    with ExitStack() as stack:  # closes the file, then (a remote object's) stream
        try:
            if path.stat().st_size == 0:
                return  # no rows: "empty input", like an empty JSONL file
            source = path if local else stack.enter_context(path.open("rb", sequential=False))
            pf = pq.ParquetFile(source, **READ_OPTIONS)
        except pa.ArrowException as err:  # before OSError: pyarrow's I/O errors are both
            raise InputFormatError(
                f"not a valid Parquet file ({_first_line(err)}); check the file, or name its format with --format", name
            ) from None
        except OSError as err:
            raise InputNotFoundError(f"{name}: cannot be read ({err.strerror or err}); check the path and its permissions") from None
        stack.callback(pf.close)
        names = pf.schema_arrow.names
        twice = sorted({c for c in names if names.count(c) > 1})
        if twice:
            raise InputFormatError(f"the schema names {', '.join(map(repr, twice))} more than once; rename the columns", name)
        converters = [None if _is_plain(pa, f.type) else _jsonable for f in pf.schema_arrow]
        file = str(path) if local else path  # a remote object is kept, so that unique.parquet can read it again
        row = 0
        try:
            for batch in pf.iter_batches(batch_size=BATCH_ROWS, use_threads=False):
                columns = [c.to_pylist() for c in batch.columns]
                undecodable: dict[int, tuple[str, ...]] = {}
                for k, convert in enumerate(converters):
                    if convert is not None:
                        columns[k] = _convert_column(columns[k], names[k], undecodable)
                for i, values in enumerate(zip(*columns)):
                    row += 1
                    record = ParquetRow(zip(names, values))
                    record.file, record.row, record.undecodable = file, row - 1, undecodable.get(i, ())
                    yield _Loc(name, row, is_index=True, unit="row"), record
        except (pa.ArrowException, OSError) as err:
            raise InputFormatError(
                f"cannot read the file ({_first_line(err)}); it may be truncated or corrupt, check it or write it again",
                name,
            ) from None


def _is_plain(pa: Any, t: Any) -> bool:
    """Whether pyarrow gives values of type ``t`` as JSON ones already (strings, numbers, booleans, null)."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    return bool(
        pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)
        or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_null(t)
    )


def _convert_column(values: list[Any], column: str, undecodable: dict[int, tuple[str, ...]]) -> list[Any]:
    """The values of one column as JSON ones; rows whose bytes are not UTF-8 get ``column`` in ``undecodable``."""
    out = []
    for i, value in enumerate(values):
        try:
            out.append(_jsonable(value))
        except UnicodeDecodeError:
            undecodable[i] = (*undecodable.get(i, ()), column)
            out.append(_jsonable(value, text=False))
    return out


def _jsonable(value: Any, text: bool = True) -> Any:
    """A value as JSON can hold it (see the module docstring); bytes are decoded as UTF-8 with ``text``, else base64.

    >>> _jsonable({"at": datetime(2024, 1, 2, 3, 4, 5), "b": [b"ok"]})
    {'at': '2024-01-02T03:04:05', 'b': ['ok']}
    >>> _jsonable(b"\\xff\\x00", text=False)
    '/wA='
    """
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v, text) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, text) for v in value]
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8") if text else base64.b64encode(value).decode("ascii")
    return str(value)  # Decimal, timedelta, intervals: exact as text
