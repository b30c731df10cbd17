"""URL inputs: one object, every object under a prefix, or the objects a glob matches.

A URL is resolved when the stream is made (:func:`url_groups`), so a missing
bucket or object, missing credentials or an unreachable endpoint stop the
run before it reads anything, in one line (:func:`dedup.io.remote.describe`).
The objects are then read by the readers of local files
(:class:`~dedup.io.remote.RemoteFile` stands in for a path), streamed.

* ``s3://bucket/feed.jsonl.gz``, ``https://host/feed.csv``: one file, its
  format told by its name (an HTTP URL's query aside) or ``--format``.
* ``s3://bucket/prefix/`` (or a prefix without the slash that is no object):
  a folder. Its objects at any depth, hidden ones (a part starting with
  ``.``) and ``__MACOSX`` left out, sorted by key compared part by part (as a
  local folder's paths). As for a local folder, ``.txt`` files (top level),
  ``.json`` files (a news-please tree) or ``.parquet`` files form one input;
  since a prefix cannot be globbed by the shell, it may instead hold feed
  files (``.jsonl``, ``.ndjson``, ``.csv``, ``.tsv``, ``.zip``, and
  compressed ``.json``), each read as if named by itself: ``part-0.jsonl.gz``,
  ``part-1.jsonl.gz``, … With ``--format jsonl`` (``json``, ``csv``, ``tsv``)
  every ``.jsonl``/``.ndjson``/``.json``/``.csv``/``.tsv`` file of the
  prefix, compressed or not, is read in that format (Spark writes JSON Lines
  as ``part-*.json``); other files (``_SUCCESS``, checksums) are left out.
  A prefix holding more than one kind is refused, naming the counts.
* ``s3://bucket/2024-*/feed.jsonl``: a glob (``*``, ``?``, ``[…]``; not for
  HTTP, where ``?`` starts the query): the matching objects in key order,
  each read as if named by itself.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from ...config import ReadConfig
from ...errors import DedupError, InputError, InputFormatError, InputNotFoundError
from ..remote import RemoteFile, describe, filesystem, protocol_of
from .compression import compression_of
from .folders import FOLDER_FORMATS
from .formats import _STREAMED, _format_of_name

__all__ = ["url_groups"]

#: One input of a URL: ``(format, files, root, name)``; ``root`` is the prefix a news-please id is relative to.
_Group = tuple[str, list[Any], PurePosixPath, str]
_KIND_NAMES = {"txt": ".txt", "newsplease": ".json", "parquet": ".parquet", "files": "feed (.jsonl, .csv, …)"}
_KIND_CHOICE = {"txt": "--format txt", "newsplease": "--format newsplease", "parquet": "--format parquet",
                "files": "--format jsonl (json, csv, tsv or zip: the feed files' format)"}


def url_groups(url: str, config: ReadConfig) -> list[_Group]:
    """The inputs of one URL argument, each with its format and files (see the module docstring).

    Raises:
        InputNotFoundError: nothing is there, or the storage cannot be
            reached or read (credentials, endpoint, permissions).
        InputFormatError: the format cannot be told, or a prefix mixes kinds.
        InputError: the package for the protocol is not installed.
    """
    fs, path = filesystem(url, config.storage_options, InputError)
    http = protocol_of(url) in ("http", "https")
    try:
        if http:
            if url.endswith("/"):
                raise InputFormatError("an http(s) URL names one file, not a folder: pass its files one by one", url)
            return [_file_group(RemoteFile(fs, path, url, fs.info(path).get("size")), config)]
        if any(c in path for c in "*?["):
            matches = fs.glob(path, detail=True)
            files = [RemoteFile(fs, p, fs.unstrip_protocol(p), info.get("size"))
                     for p, info in sorted(matches.items(), key=lambda kv: PurePosixPath(kv[0]).parts)
                     if info.get("type") == "file"]
            if not files:
                raise InputNotFoundError(f"{url}: no object matches this pattern; check it (and the bucket)")
            return [_file_group(f, config) for f in files]
        if not url.endswith("/"):
            info = fs.info(path)
            if info.get("type") != "directory":
                return [_file_group(RemoteFile(fs, path, url, info.get("size")), config)]
        return _prefix_groups(fs, path.rstrip("/"), url, config)
    except DedupError:
        raise
    except Exception as err:
        raise InputNotFoundError(f"{url}: {describe(err)}") from None


def _file_group(file: RemoteFile, config: ReadConfig) -> _Group:
    """One object named by itself: the format from ``--format`` or its name, as for a local file."""
    name = str(file)
    fmt = config.format if config.format != "auto" else _format_of_name(file.name)
    if fmt is None:
        raise InputFormatError(
            "cannot tell the format from the file name; use --format jsonl, json, csv, tsv, txt, zip, parquet or newsplease",
            name,
        )
    compression = compression_of(file.name)
    if compression is not None and fmt not in _STREAMED:
        raise InputFormatError(
            f"{compression} files are decompressed on the fly only for JSONL, JSON, CSV and TSV; "
            f"decompress this {fmt} file first", name
        )
    return fmt, [file], PurePosixPath(file.path).parent, name


def _prefix_groups(fs: Any, root: str, url: str, config: ReadConfig) -> list[_Group]:
    """The inputs of a prefix read as a folder."""
    base = PurePosixPath(root)
    listed = []
    for key, info in fs.find(root, detail=True).items():
        rel = PurePosixPath(key).relative_to(base)
        if info.get("type") != "file" or key.endswith("/") or any(p.startswith(".") or p == "__MACOSX" for p in rel.parts):
            continue  # folder markers, hidden files (.crc checksums, editors' droppings), macOS archives
        listed.append((rel.parts, RemoteFile(fs, key, fs.unstrip_protocol(key), info.get("size"))))
    if not listed:
        raise InputNotFoundError(f"{url}: no objects under this prefix; check the URL")
    listed.sort(key=lambda item: item[0])
    found: dict[str, list[RemoteFile]] = {k: [] for k in _KIND_NAMES}
    for parts, file in listed:
        fmt, compressed = _format_of_name(file.name), compression_of(file.name) is not None
        if fmt == "txt" and not compressed:
            if len(parts) == 1:  # as in a local folder: the top level only
                found["txt"].append(file)
        elif fmt in ("json", "parquet") and not compressed:
            found["newsplease" if fmt == "json" else "parquet"].append(file)
        elif fmt in _STREAMED or (fmt == "zip" and not compressed):
            found["files"].append(file)
    fmt = config.format
    if fmt == "auto":
        kinds = [k for k in found if found[k]]
        if len(kinds) > 1:
            counts = ", ".join(f"{len(found[k])} {_KIND_NAMES[k]}" for k in kinds)
            raise InputFormatError(
                f"the prefix holds several kinds of input ({counts} files); a folder is read as one format: choose it "
                f"with {' or '.join(_KIND_CHOICE[k] for k in kinds)} (the other files are then left out)",
                url,
            )
        if not kinds:
            raise InputFormatError(
                "empty input: the prefix holds no .txt files (top level), .json files (a news-please tree), .parquet "
                "files or feed files (.jsonl, .ndjson, .csv, .tsv, .zip, each also .gz/.zst/.xz/.bz2)",
                url,
            )
        if kinds[0] != "files":
            return [(kinds[0], found[kinds[0]], base, url)]
        return [(_format_of_name(f.name) or "", [f], base, str(f)) for f in found["files"]]
    if fmt in FOLDER_FORMATS:
        files = found[fmt]
        what = f"{FOLDER_FORMATS[fmt]} files" + (" at its top level" if fmt == "txt" else "")
        groups: list[_Group] = [(fmt, files, base, url)] if files else []
    else:  # a feed format named: every file of a feed format's name is read in it (zip: the archives)
        chosen = [f for _, f in listed if _format_of_name(f.name) in (("zip",) if fmt == "zip" else _STREAMED)]
        if fmt == "zip":
            chosen = [f for f in chosen if compression_of(f.name) is None]
        what = ".zip files" if fmt == "zip" else ".jsonl, .ndjson, .json, .csv or .tsv files"
        groups = [(fmt, [f], base, str(f)) for f in chosen]
    if not groups:
        raise InputFormatError(f"empty input: the prefix holds no {what}", url)
    return groups
