"""Zip inputs: the ``.json``, ``.jsonl`` and ``.ndjson`` members of an archive, sorted by name.

Each member is read as its own source (``archive.zip:member``), with fields
detected from its first record. Directories, other files and macOS droppings
(``._*``, ``__MACOSX/``) are skipped, and so is an empty member (0 bytes, with
a warning: it holds no records, and one failed export must not cost the
others); an archive without a readable non-empty member, an invalid archive
and an encrypted member are file-level errors.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

from ...errors import InputFormatError, InputNotFoundError
from .records import _Items, _Source
from .streams import _read_guard, _stream_items

logger = logging.getLogger(__name__)

_ZIP_MEMBER_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}


def _zip_sources(path: Path, name: str, limit: int | None = None) -> Iterator[_Source]:
    """One source per readable member, in name order; the archive stays open while they are read.

    ``path`` may be a remote object (:class:`~dedup.io.remote.RemoteFile`),
    read out of order through range requests.
    """
    with ExitStack() as stack:
        try:
            source = path if isinstance(path, Path) else stack.enter_context(path.open("rb", sequential=False))
            archive = zipfile.ZipFile(source)
        except zipfile.BadZipFile:
            raise InputFormatError("not a valid zip archive; check the file or use --format", name) from None
        except OSError as err:
            raise InputNotFoundError(
                f"{name}: cannot be read ({err.strerror}); check the path and its permissions"
            ) from None
        yield from _archive_sources(stack.enter_context(archive), name, limit)


def _archive_sources(archive: zipfile.ZipFile, name: str, limit: int | None) -> Iterator[_Source]:
    """The readable members of an open archive, each its own source, in name order."""
    members = []
    empty = False
    for info in archive.infolist():
        base = info.filename.rsplit("/", 1)[-1]
        fmt = _ZIP_MEMBER_FORMATS.get(Path(base).suffix.lower())
        if info.is_dir() or fmt is None or base.startswith("._") or info.filename.startswith("__MACOSX/"):
            logger.debug("skipping zip member %s:%s", name, info.filename)
            continue
        if info.file_size == 0:
            logger.warning("skipping zip member %s:%s: it is empty (0 bytes)", name, info.filename)
            empty = True
            continue
        members.append((info.filename, fmt))
    if not members:
        what = "only empty" if empty else "no"
        raise InputFormatError(f"empty input: the archive holds {what} .json, .jsonl or .ndjson files", name)
    for member, fmt in sorted(members):
        member_name = f"{name}:{member}"
        yield member_name, _zip_member_items(archive, member, fmt, member_name, limit)


def _zip_member_items(archive: zipfile.ZipFile, member: str, fmt: str, name: str, limit: int | None = None) -> _Items:
    try:
        stream = archive.open(member)
    except (RuntimeError, NotImplementedError) as err:  # encrypted, or an unsupported compression
        raise InputFormatError(
            f"cannot open this zip member ({err}); re-pack the archive without encryption", name
        ) from None
    with stream:
        yield from _read_guard(_stream_items(fmt, stream, name, member, limit), name)
