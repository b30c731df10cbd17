"""Every input format in, :class:`~dedup.types.Article` objects out.

Inputs are JSONL (``*.jsonl``, ``*.ndjson``, ``-`` for stdin), JSON
(``*.json``), CSV and TSV, ``.txt`` files or a directory of them, zip
archives of JSON/JSONL, Parquet files or a folder of them, and news-please
trees (a folder of ``.json`` files, one article each); ``.gz``, ``.zst``,
``.xz`` and ``.bz2`` are decompressed on the fly and bytes are decoded
strictly as UTF-8. Any of them may be a URL (``s3://``, ``gs://``,
``https://``; an ``s3://bucket/prefix/`` is a folder), listed when the
stream is made and then streamed (:mod:`.urls`, :mod:`dedup.io.remote`).
Fields are found in each file's first record
(:data:`FIELD_ALIASES`). A record-level problem raises
:class:`~dedup.errors.InputFormatError` naming the file and line, or with
``ReadConfig.skip_bad`` becomes a :class:`~dedup.types.BadRecord`; a
file-level problem always raises. ``docs/inputs.md`` has every rule.

This module picks a reader per input (:func:`_sources`; a folder's files are
listed by :mod:`.folders`, a URL's objects by :mod:`.urls`); the readers are :mod:`.jsonl`, :mod:`.delimited`,
:mod:`.plaintext`, :mod:`.archive`, :mod:`.parquet` and :mod:`.newsplease`,
and :mod:`.records` turns what they yield into articles.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...config import ReadConfig
from ...errors import InputFormatError, InputNotFoundError
from ...types import Article, BadRecord
from ..paths import is_url
from .compression import decompressed_stdin, file_compression
from .folders import _folder_files, _folder_kinds, _leave_out, record_files
from .formats import _STREAMED, _guess_format
from .plaintext import _txt_items
from .plaintext import text_headline as text_headline
from .records import FIELD_ALIASES, _Collector, _Source
from .streams import _file_items, _read_guard, _stream_items

if TYPE_CHECKING:
    from .urls import _Group

# The readers of zip archives, Parquet, news-please trees and URLs are imported when an input needs them: a run
# on other inputs never loads them, nor the object-storage layer the URL reader needs.

__all__ = ["FIELD_ALIASES", "ArticleStream", "read_articles"]

_STDIN = "<stdin>"


def _sources(arg: str | Path, config: ReadConfig, groups: list[_Group] | None = None) -> Iterator[_Source]:
    """The sources of one input argument: one per file or stdin, one per zip member; ``groups``: a URL's, resolved."""
    if isinstance(arg, str) and arg == "-":
        if sys.stdin is None:
            raise InputNotFoundError("-: there is no standard input to read; pass a file instead")
        stream = decompressed_stdin(getattr(sys.stdin, "buffer", sys.stdin))  # bytes, so that decoding is strict
        fmt = "jsonl" if config.format == "auto" else config.format
        yield _STDIN, _read_guard(_stream_items(fmt, stream, _STDIN, None, config.max_record_bytes), _STDIN)
        return
    for fmt, files, root, name in groups if groups is not None else _local_groups(arg, config):
        yield from _group_sources(fmt, files, root, name, config.max_record_bytes)


def _local_groups(arg: str | Path, config: ReadConfig) -> list[_Group]:
    """A local input's groups: one (:func:`_local_group`), or a folder of record files, one a file."""
    path = Path(arg)
    if config.format == "auto" and path.is_dir():
        records = record_files(path)
        if records and not any(_folder_kinds(path).values()):
            _leave_out(path, str(arg), {f for _, f in records}, "files of records (.jsonl, .csv, .tsv, .zip) at its top level")
            return [(fmt, [file], path, str(file)) for fmt, file in records]
    return [_local_group(arg, config)]


def _local_group(arg: str | Path, config: ReadConfig) -> _Group:
    """A local file or folder: its format, its files, and the folder a news-please id is relative to."""
    path = Path(arg)
    name = str(arg)
    fmt = _guess_format(path, name) if config.format == "auto" else config.format
    if path.is_dir():
        fmt, files = _folder_files(path, fmt, name)
        return fmt, files, path, name
    compression = file_compression(path)
    if compression is not None and fmt not in _STREAMED:
        raise InputFormatError(
            f"{compression} files are decompressed on the fly only for JSONL, JSON, CSV and TSV; "
            f"decompress this {fmt} file first", name
        )
    return fmt, [path], path.parent, name


def _group_sources(fmt: str, files: list[Any], root: Any, name: str, limit: int | None) -> Iterator[_Source]:
    """The sources of files of one format: local paths, or objects (:class:`~dedup.io.remote.RemoteFile`)."""
    if fmt == "txt":
        yield name, _txt_items(files, limit)
    elif fmt == "newsplease":
        from .newsplease import _newsplease_items

        yield name, _newsplease_items(files, root, limit)
    elif fmt == "parquet":
        from .parquet import _parquet_sources

        yield from _parquet_sources(files)
    elif fmt == "zip":
        from .archive import _zip_sources

        yield from _zip_sources(files[0], name, limit)
    else:
        yield name, _file_items(files[0], fmt, name, limit)


class ArticleStream:
    """The articles of some inputs, read lazily as they are iterated (once).

    A feed larger than memory passes through this one record at a time.
    Missing paths are reported when the stream is made, and so are URLs
    that name nothing or whose storage cannot be reached (they are listed
    then: :mod:`.urls`); every other problem
    (see ``docs/inputs.md``) while it is iterated. After iterating,
    :attr:`bad` holds the records skipped with ``skip_bad``. With
    ``keep_raw``, an article read from a JSONL line carries that line
    (``Article.raw``), so it can be written back unchanged. With
    ``needs_ids`` (why), an article without an id of its own is an error
    naming its file and line: a history index knows articles by their ids,
    and positions repeat from feed to feed.
    """

    def __init__(
        self, paths: Sequence[str | Path] | str | Path, config: ReadConfig = ReadConfig(), keep_raw: bool = False,
        needs_ids: str | None = None,
    ) -> None:
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        if not paths:
            raise InputFormatError("no input paths were given; pass at least one file, directory or '-'")
        for arg in paths:  # fail before reading anything
            if not (isinstance(arg, str) and arg == "-") and not is_url(arg) and not os.path.exists(arg):
                raise InputNotFoundError(f"{arg}: no such file or directory; check the path")
        # a URL is listed now: a missing object, missing credentials or an unreachable endpoint stop here too
        self._groups: dict[int, list[_Group]] = {}
        if any(is_url(arg) for arg in paths):
            from .urls import url_groups

            self._groups = {k: url_groups(arg, config) for k, arg in enumerate(paths) if is_url(arg)}
        self.paths = list(paths)
        self.config = config
        self._collector = _Collector(config, keep_raw, needs_ids)
        self._used = False

    @property
    def bad(self) -> list[BadRecord]:
        """Records skipped so far (``skip_bad``)."""
        return self._collector.bad

    def __iter__(self) -> Iterator[Article]:
        if self._used:
            raise RuntimeError("ArticleStream: a stream is read once")
        self._used = True
        collector = self._collector
        for k, arg in enumerate(self.paths):
            for name, items in _sources(arg, self.config, self._groups.get(k)):
                yield from collector.read_source(name, items)
        collector.forget_ids()  # a stream read to its end lets its ids go: the flow that read it runs on (0.17 GB at 1M)
        if not collector.count:
            raise InputFormatError(
                f"no articles: every record was bad ({len(collector.bad)} skipped); "
                "fix the input (see the bad records) or check --text-field"
            )


def read_articles(
    paths: Sequence[str | Path] | str | Path, config: ReadConfig = ReadConfig()
) -> tuple[list[Article], list[BadRecord]]:
    """Read articles from files, directories, zip archives or ``-`` (stdin), in order.

    Args:
        paths: inputs, read in order and concatenated (a single path is accepted too).
        config: field names, format, and whether to skip bad records.

    Returns:
        ``(articles, bad_records)``. An article without an id gets its position
        in ``articles`` (0-based, across all paths) as its id. ``bad_records``
        is empty unless ``config.skip_bad``.

    Raises:
        InputNotFoundError: a path does not exist or cannot be read.
        InputFormatError: a record-level problem (without ``skip_bad``), a
            file-level problem (empty file, no text field, unreadable JSON
            document or archive), or no articles at all.
    """
    stream = ArticleStream(paths, config)
    articles = list(stream)
    return articles, stream.bad
