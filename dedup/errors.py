"""Exceptions raised by dedup.

Every error a user can cause derives from :class:`DedupError`, and also from
the builtin exception it resembles, so callers may catch either::

    DedupError
    ├── ConfigError(DedupError, ValueError)        a parameter is out of range
    ├── InputError(DedupError)                     input cannot be read
    │   ├── InputFormatError(InputError, ValueError)   malformed record, missing field,
    │   │                                              repeated id, undecodable bytes
    │   └── InputNotFoundError(InputError, FileNotFoundError)
    └── OutputError(DedupError, OSError)           an output cannot be written

Messages name the file, the line and the fix. The CLI turns a ``DedupError``
into one line on stderr and exit code 1.
"""

from __future__ import annotations

__all__ = ["ConfigError", "DedupError", "InputError", "InputFormatError", "InputNotFoundError", "OutputError"]


class DedupError(Exception):
    """Base class of every error dedup raises for a user's mistake."""


class ConfigError(DedupError, ValueError):
    """A configuration value is invalid."""


class InputError(DedupError):
    """The input cannot be read."""


class InputFormatError(InputError, ValueError):
    """A record is malformed; ``path`` and ``line`` locate it (line is 1-based)."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)


class InputNotFoundError(InputError, FileNotFoundError):
    """An input path does not exist or cannot be opened."""


class OutputError(DedupError, OSError):
    """An output file or directory cannot be written."""
