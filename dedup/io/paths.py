"""Whether an input or output argument names a URL (object storage, HTTP) or a local path, the storage options
given for URLs, and the inputs checked before anything is read (:func:`check_inputs`).

Kept apart from :mod:`dedup.io.remote` (the object-storage layer, which every
URL needs) so that a run on local files never imports that layer.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputFormatError, InputNotFoundError

__all__ = ["check_inputs", "check_output_outside", "is_url", "parse_storage_options"]

# a scheme of two letters or more: "C://" is a Windows drive, not a URL
URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")


def is_url(arg: object) -> bool:
    """Whether an input or ``--out`` argument is a URL (``scheme://…``) rather than a local path.

    >>> is_url("s3://news/feed.jsonl"), is_url("https://example.org/f.jsonl"), is_url("feeds/f.jsonl"), is_url("C://x")
    (True, True, False, False)
    """
    return isinstance(arg, str) and URL.match(arg) is not None


def parse_storage_options(items: Sequence[str] | None) -> tuple[tuple[str, Any], ...]:
    """``KEY=VALUE`` strings (``--storage-option``) as filesystem options, in order (a repeated key: the last wins).

    A value is read as JSON when it parses (``true``, ``3``, an object), else
    kept as the string.

    >>> parse_storage_options(["anon=true", "endpoint_url=http://127.0.0.1:9000", 'client_kwargs={"region_name": "eu"}'])
    (('anon', True), ('endpoint_url', 'http://127.0.0.1:9000'), ('client_kwargs', {'region_name': 'eu'}))

    Raises:
        ConfigError: an item without ``=`` or with an empty key.
    """
    options: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--storage-option {item!r}: expected KEY=VALUE, e.g. --storage-option anon=true")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return tuple(options.items())


def check_inputs(paths: Sequence[str | Path]) -> None:
    """Refuse, before anything is read, a local path that does not exist and an input given twice (the command line's
    inputs; the readers themselves read what they are given).

    The same file (or standard input) given twice would only meet its own ids again ("repeated id 'a': first at
    f.jsonl:1, again at f.jsonl:1"), so it is said at once.

    Raises:
        InputNotFoundError: a local path does not exist.
        InputFormatError: an input is given twice (the same file by two names too).
    """
    def named(given: str) -> str:
        return "standard input (-)" if given == "-" else given

    seen: dict[object, str] = {}  # what identifies an input (a URL, -, a file's device and inode) → how it was given
    for arg in paths:
        text = str(arg)
        keys: list[object]
        if is_url(text):
            keys = [text]
        elif text == "-":
            keys = ["-"]
            try:
                st = os.fstat(0)
                if stat.S_ISREG(st.st_mode):  # redirected from a file (< f.jsonl): that file too
                    keys.append((st.st_dev, st.st_ino))
            except OSError:
                pass
        elif not os.path.exists(arg):
            raise InputNotFoundError(f"{arg}: no such file or directory; check the path")
        else:
            st = os.stat(arg)
            keys = [(st.st_dev, st.st_ino)]  # the same file by two names: ./x and x, a symlink, a hard link
        for key in keys:
            if key in seen:
                first = seen[key]
                said = f"{named(text)} is given twice" if first == text else f"{named(text)} is the same as {named(first)}"
                raise InputFormatError(f"{said}; each input is read once: pass it once")
        seen.update(dict.fromkeys(keys, text))


def check_output_outside(paths: Sequence[str | Path], out: str) -> None:
    """Refuse an output folder that is a local input folder or lies inside one: the next run would read the outputs
    (``unique.jsonl``, ``summary.json``) as input.

    Raises:
        ConfigError: ``out`` is (inside) an input folder.
    """
    if is_url(out):
        return
    target = os.path.realpath(out)
    for arg in paths:
        text = str(arg)
        if text == "-" or is_url(text) or not os.path.isdir(arg):
            continue
        folder = os.path.realpath(arg)
        if target == folder or target.startswith(folder.rstrip(os.sep) + os.sep):
            raise ConfigError(f"--out {out} is {'the' if target == folder else 'inside the'} input folder {text}: the next run "
                              "would read its outputs as input; write them to a folder outside it")
