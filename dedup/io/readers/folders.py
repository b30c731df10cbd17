"""Folders: which format a directory holds, and its files in reading order.

A folder is read as one format:

* ``txt``: its ``.txt`` files, top level only (one article per file);
* ``newsplease``: ``.json`` files at any depth, one article object each (a
  news-please tree);
* ``parquet``: ``.parquet`` files at any depth (e.g. a dataset written by
  Spark or pyarrow; partition values in folder names are not added as
  columns);
* otherwise, its files of records at the top level (``.jsonl``, ``.csv``,
  ``.tsv``, each perhaps compressed, a compressed ``.json``, and ``.zip``: a
  day's dump each, say), each read as its name says, in name order: what
  passing them by name would read (:func:`record_files`), as an object
  storage prefix of feed files is.

With ``--format auto`` the files decide; a folder that holds more than one of
these kinds (files of records at the top level counting as one, as in an
object-storage prefix: a ``feed.jsonl`` beside ``.txt`` articles) is refused
with a message that names the counts and the ``--format`` that picks one kind
(the other files are then left out): guessing would silently drop articles or
read notes as articles. Hidden files and folders (``.name``) and ``__MACOSX``
are skipped; files are sorted by their path relative to the folder (compared
folder by folder). The other files a folder holds (notes, checksums) are left
out with a warning that counts and names them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ...errors import InputFormatError
from .plaintext import _txt_files

logger = logging.getLogger(__name__)

#: Folder formats and the suffix of the files each reads.
FOLDER_FORMATS = {"txt": ".txt", "newsplease": ".json", "parquet": ".parquet"}


def _folder_files(path: Path, fmt: str, name: str) -> tuple[str, list[Path]]:
    """``(format, files)`` of a folder read as ``fmt`` (``auto``: decided by its files).

    Raises:
        InputFormatError: ``fmt`` is not a folder format, the folder mixes
            kinds (``auto``), or it holds no file of the kind.
    """
    if fmt != "auto" and fmt not in FOLDER_FORMATS:
        raise InputFormatError(
            f"is a directory, not a {fmt} file; a directory is read as .txt files, a news-please tree of .json files, "
            "or .parquet files (--format txt, newsplease or parquet), or, with --format auto (the default), as its "
            "files of records (.jsonl, .csv, .tsv, .zip) when it holds none of those",
            name,
        )
    found = _folder_kinds(path)
    if fmt == "auto":
        kinds = [k for k in FOLDER_FORMATS if found[k]]
        feeds = record_files(path) if kinds else []  # files of records beside them: a fourth kind, as in a prefix
        if len(kinds) + bool(feeds) > 1:
            counts = ", ".join([f"{len(found[k])} {FOLDER_FORMATS[k]}" for k in kinds] + ([f"{len(feeds)} feed (.jsonl, .csv, …)"] if feeds else []))
            choices = [f"--format {k}" for k in kinds] + (["--format jsonl (json, csv, tsv or zip: the feed files' format)"] if feeds else [])
            raise InputFormatError(
                f"the folder holds several kinds of input ({counts} files); a folder is read as one format: choose it "
                f"with {' or '.join(choices)} (the other files are then left out), or split the folder",
                name,
            )
        if not kinds:
            raise InputFormatError(
                "empty input: the folder holds no .txt files (top level), no .json files (a news-please tree), no "
                ".parquet files and no files of records (.jsonl, .csv, .tsv, .zip) at its top level; pass other files "
                "by name",
                name,
            )
        fmt = kinds[0]
    if not found[fmt]:
        where = " at its top level" if fmt == "txt" else ""
        raise InputFormatError(f"empty input: the folder holds no {FOLDER_FORMATS[fmt]} files{where}", name)
    _leave_out(path, name, set(found[fmt]), f"{fmt}: its {FOLDER_FORMATS[fmt]} files{' at its top level' if fmt == 'txt' else ''}")
    return fmt, found[fmt]


def _folder_kinds(path: Path) -> dict[str, list[Path]]:
    """The files of each folder format (:data:`FOLDER_FORMATS`) that ``path`` holds."""
    return {"txt": _txt_files(path), **_tree_files(path)}


def _leave_out(path: Path, name: str, read: set[Path], what: str) -> None:
    """Warn of the visible files of the folder ``path`` that are not ``read`` (the folder is read as ``what``)."""
    left = sorted((p for p in _visible_files(path) if p not in read), key=lambda p: p.relative_to(path).parts)
    if left:
        shown = ", ".join(str(p.relative_to(path)) for p in left[:3]) + (", ..." if len(left) > 3 else "")
        one = len(left) == 1
        logger.warning("%s: %d file%s left out (the folder is read as %s only): %s; pass %s by name to read %s",
                       name, len(left), "" if one else "s", what, shown, "it" if one else "them", "it" if one else "them")


#: The formats a folder of record files is read in, file by file (see the module).
RECORD_FORMATS = ("jsonl", "csv", "tsv", "zip")


def record_files(path: Path) -> list[tuple[str, Path]]:
    """``(format, file)`` of the files of records at the top level of ``path``, in name order (hidden ones and a
    dataset's ``_`` files aside); empty when it holds none.

    A folder is read this way only when it holds no ``.txt``, news-please ``.json`` or ``.parquet`` file
    (:func:`_folder_files` decides those first); the other files it holds are left out with a warning.
    """
    from .compression import compression_of
    from .formats import _format_of_name

    out = []
    for file in sorted(os.listdir(path)):
        full = path / file
        if file.startswith((".", "_")) or not full.is_file():
            continue
        fmt = _format_of_name(file)
        if fmt in RECORD_FORMATS or (fmt == "json" and compression_of(file)):  # a compressed .json: a feed, as in a prefix
            out.append((fmt, full))
    return out


def _visible_files(root: Path) -> list[Path]:
    """Every file at any depth of ``root`` but hidden ones (``.name``, in hidden folders), ``__MACOSX`` and a dataset's
    metadata (``_SUCCESS``, ``_metadata``: Spark and Hadoop start their names with ``_``)."""
    out = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__MACOSX"]
        out += [Path(folder, f) for f in files if not f.startswith((".", "_"))]
    return out


def _tree_files(root: Path) -> dict[str, list[Path]]:
    """The ``.json`` and ``.parquet`` files at any depth of ``root``, each list sorted by relative path."""
    found: dict[str, list[Path]] = {"newsplease": [], "parquet": []}
    by_suffix = {".json": found["newsplease"], ".parquet": found["parquet"]}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__MACOSX"]
        for file in files:
            bucket = by_suffix.get(os.path.splitext(file)[1].lower())
            if bucket is not None and not file.startswith("."):
                path = Path(folder, file)
                if path.is_file():
                    bucket.append(path)
    for files in found.values():
        files.sort(key=lambda p: p.relative_to(root).parts)
    return found
