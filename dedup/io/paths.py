"""Whether an input or output argument names a URL (object storage, HTTP) or a local path, and the storage options
given for URLs.

Kept apart from :mod:`dedup.io.remote` (the object-storage layer, which every
URL needs) so that a run on local files never imports that layer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from ..errors import ConfigError

__all__ = ["is_url", "parse_storage_options"]

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

