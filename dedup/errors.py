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

Messages name the file, the line and the fix. At the command line
(:func:`one_line_errors`) a ``DedupError`` is one line on stderr and exit
code 1; Ctrl-C, SIGTERM and SIGHUP (:class:`Terminated`,
:func:`unwind_on_signals`) unwind the run, which removes its temporary
files, and say that its outputs are incomplete.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ConfigError", "DedupError", "InputError", "InputFormatError", "InputNotFoundError", "OutputError", "Terminated",
           "deaf_after_run", "json_problem", "one_line_errors", "unwind_on_signals"]


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
        self.message = message  # without the place
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)


class InputNotFoundError(InputError, FileNotFoundError):
    """An input path does not exist or cannot be opened."""


class OutputError(DedupError, OSError):
    """An output file or directory cannot be written."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, systemd, Kubernetes) or SIGHUP (the terminal closed, an ssh session dropped), raised where
    the run is so that it unwinds and cleans up; ``signum`` says which (the exit code is ``128 + signum``: 143, 129)."""

    def __init__(self, signum: int = 15) -> None:
        super().__init__(signum)
        self.signum = signum


_HUNG_UP, _TERMINATED = 1, 15  # SIGHUP, SIGTERM (the same numbers on every POSIX system)


def unwind_on_signals() -> None:
    """Ctrl-C (SIGINT) raises ``KeyboardInterrupt``, SIGTERM and SIGHUP :class:`Terminated`, so that the run unwinds
    and removes its temporary files; the first of them makes the process deaf to all three.

    Deaf, because a second Ctrl-C (people press it twice) cut the unwinding
    short: a temporary file or folder stayed, or, at exit, the shutdown of
    the worker processes died with a traceback of its own (the interpreter
    gives the signals back their default action there, so it was even
    killed by it). The unwinding takes a second or less; SIGKILL still
    ends it. A signal the process was started ignoring stays ignored
    (``nohup`` ignores SIGHUP; a background job of a script, SIGINT). Only
    in the main thread: the CLI called from a thread keeps its handlers.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    for s in _stop_signals():
        if signal.getsignal(s) in (signal.SIG_DFL, signal.default_int_handler, _unwind):
            signal.signal(s, _unwind)


def deaf_after_run() -> None:
    """The command is over (its outputs written, or its error said): the process exits deaf to the signals
    :func:`unwind_on_signals` answered.

    Python gives the signals it handles their default action back while it
    shuts down (and the worker pool's shutdown takes a moment): a Ctrl-C
    pressed as a run ended killed the process there, with no word and a
    status of -2, after it had written complete outputs. Only the signals
    whose handler is still :func:`unwind_on_signals`' are changed.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    for s in _stop_signals():
        if signal.getsignal(s) is _unwind:
            signal.signal(s, signal.SIG_IGN)


def _stop_signals() -> list[int]:
    import signal

    return [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])


def _unwind(signum: int, frame: object) -> None:
    """:func:`unwind_on_signals`' handler."""
    import signal

    for s in _stop_signals():
        signal.signal(s, signal.SIG_IGN)  # the run is stopping: nothing may cut its cleaning up short
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)  # unwinds like Ctrl-C: temporary files and folders are removed on the way out


@contextmanager
def one_line_errors() -> Iterator[None]:
    """A user's mistake as one line on stderr and exit code 1; an interruption as one line and 130 (SIGTERM 143, SIGHUP 129)."""
    from typer import echo  # typer's click (0.28 bundles it; click itself may be absent): UTF-8 even to an ASCII stream

    try:
        yield
    except DedupError as exc:
        echo(redact(f"dedup: error: {exc}"), err=True)  # a location's password never reaches the terminal or a log
        for note in getattr(exc, "__notes__", ()):
            echo(redact(f"dedup: {note}"), err=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM and SIGHUP (unwind_on_signals turns them into Terminated)
        signum = exc.signum if isinstance(exc, Terminated) else 2
        what = {_HUNG_UP: "hung up (SIGHUP)", _TERMINATED: "terminated"}.get(signum, "interrupted")
        # the run had not written its summary.json: a summary.json still in --out is the previous run's, whose
        # files are untouched (a run removes it before its first file)
        said = [f"dedup: {what}: the outputs of this run are incomplete (it writes summary.json last, and did not); "
                "temporary files removed"]
        said += [redact(f"dedup: {note}") for note in getattr(exc, "__notes__", ())]  # e.g. committed to a history index
        try:
            for line in said:
                echo(line, err=True)
        except OSError:  # a hung-up terminal takes no more output: the exit code still tells
            pass
        raise SystemExit(128 + signum) from None


def redact(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***`` (``redis://:s3cret@host``): what outputs,
    pages and messages show of a location, which may carry its secret.

    >>> redact("redis://:s3cret@127.0.0.1:6391/0: cannot reach"), redact("rediss://user:p%40ss@h/1?prefix=a")
    ('redis://:***@127.0.0.1:6391/0: cannot reach', 'rediss://user:***@h/1?prefix=a')
    >>> redact("history.db"), redact("redis://127.0.0.1:6379/0"), redact("redis://:s3cr@t@h:6391/0")
    ('history.db', 'redis://127.0.0.1:6379/0', 'redis://:***@h:6391/0')
    >>> redact("mailto:x@y"), redact("http://host:8080/a@b"), redact("write to bob@x.org")
    ('mailto:x@y', 'http://host:8080/a@b', 'write to bob@x.org')
    """
    import re

    return re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)[^/?#\s]*@", r"\1***@", text) if "@" in text else text


def json_problem(msg: str) -> str:
    """The json module's message without the " at" some end with (their position follows in ours).

    >>> json_problem("Invalid control character at")
    'Invalid control character'
    """
    return msg.removesuffix(" at")
