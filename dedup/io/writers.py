"""Atomic outputs: a reader of an output file sees the old file or the new one, never half of one.

:func:`atomic_open` writes to ``.<name>.tmp-<pid>`` next to the target, then
flushes, fsyncs and ``os.replace``-s it into place (an atomic rename on POSIX
and Windows, because both files are in the same directory). If the block
raises, the temporary file is deleted and an existing target is untouched.

JSON is written as UTF-8 with ``ensure_ascii=False`` (Arabic stays readable)
and ``\\n`` line ends on every platform; a line (or document) holding a lone
surrogate, which UTF-8 cannot encode, is written with ASCII escapes instead
(``\\ud800``, as a JSON input gave it: records pass through with fields dedup
does not read, and a reason may quote a key). NumPy scalars and arrays (anything
with ``tolist()``) and paths are converted, so stages can hand over their
results as they are.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from .paths import is_url

__all__ = ["atomic_open", "json_line", "write_failure", "write_json", "write_jsonl", "write_lines"]

_MODES = ("w", "wt", "wb")


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):  # numpy scalars and arrays, without importing numpy
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


# One encoder for every line: json.dumps with options would build a new one per row.
_LINE_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_default)
_ASCII_LINE_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), default=_json_default)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable; not possible on every platform (e.g. Windows), so best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", *, encoding: str = "utf-8") -> Iterator[IO[Any]]:
    """Open ``path`` for writing so that it is replaced only if the block succeeds.

    The parent directory is created if needed. Text mode writes ``\\n`` line
    ends unchanged. A device or a pipe (``/dev/null``, ``/dev/stdout``, a
    FIFO) is written in place: there is no file to replace.

    Args:
        path: the final file.
        mode: ``"w"`` (text, the default), ``"wt"`` or ``"wb"`` (bytes).
        encoding: text encoding (ignored for ``"wb"``).

    Yields:
        The open temporary file.

    Raises:
        ValueError: ``mode`` is not a write mode.
        OSError: the directory or file cannot be created or replaced.
    """
    if mode not in _MODES:
        raise ValueError(f"atomic_open mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
    target = Path(path)
    if _is_device(target):  # /dev/null, /dev/stdout, a named pipe: written in place; a rename replaced the device node
        with (open(target, "wb") if mode == "wb" else open(target, "w", encoding=encoding, newline="")) as handle:
            yield handle
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    handle: IO[Any]
    if mode == "wb":
        handle = open(tmp, "wb")
    else:
        handle = open(tmp, "w", encoding=encoding, newline="")
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:  # also on KeyboardInterrupt: never leave a partial file behind
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)


def _is_device(path: Path) -> bool:
    """Whether ``path`` is written in place rather than replaced: a device or a pipe, which a file renamed onto it
    would replace (``--out /dev/null`` run as root left a regular file where the null device was), or a link to a
    process's open file (``/dev/stdout`` → ``/proc/self/fd/1``, which may be a regular file: the rename replaced the
    link, and the output never reached the redirection)."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return True
    hop, seen = str(path), 0
    while os.path.islink(hop) and seen < 40:  # each link of the chain: realpath resolves /proc/self/fd/1 to the file
        if hop.startswith(("/proc/", "/dev/fd/")):
            return True
        hop, seen = os.path.normpath(os.path.join(os.path.dirname(hop), os.readlink(hop))), seen + 1
    return hop.startswith(("/proc/", "/dev/fd/"))


def json_line(row: dict[str, Any]) -> str:
    r"""One compact JSON object and a newline, as :func:`write_jsonl` writes it.

    >>> json_line({"t": "قال", "x": "a\ud800"})  # a lone surrogate: the line in ASCII escapes
    '{"t":"\\u0642\\u0627\\u0644","x":"a\\ud800"}\n'
    """
    line = _LINE_ENCODER.encode(row)
    if _SURROGATE.search(line) is not None:
        line = _ASCII_LINE_ENCODER.encode(row)
    return line + "\n"


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[dict[str, Any]]) -> int:
    """Write one compact JSON object per line, atomically.

    Args:
        path: the output file; its directory is created if needed.
        rows: the objects, consumed once (a generator is fine).

    Returns:
        The number of lines written.

    Raises:
        TypeError: a value is not JSON serializable (the old file is kept).
    """
    count = 0
    with atomic_open(path) as out:
        for row in rows:
            out.write(json_line(row))
            count += 1
    return count


def write_lines(path: str | os.PathLike[str], lines: Iterable[str]) -> int:
    """Write lines that are already JSON (each ending in a newline, as :func:`json_line` makes them), atomically.

    Returns:
        The number of lines written.
    """
    count = 0
    with atomic_open(path) as out:
        for line in lines:
            out.write(line)
            count += 1
    return count


def part_path(path: str | os.PathLike[str], k: int) -> Path:
    """Where part ``k`` of the file ``path`` is made (:func:`write_part`): hidden beside it, named for this process.

    A killed run's parts are removed as stale, as :func:`atomic_open`'s temporary files are.
    """
    target = Path(path)
    return target.with_name(f".{target.name}.part{k}.tmp-{os.getpid()}")


def write_part(path: str | os.PathLike[str], lines: Iterable[str]) -> int:
    """Write lines that are already JSON into a part of a file (no sync: :func:`join_parts` syncs the whole); the number written.

    The folder is made when missing, as :func:`atomic_open` makes it: a worker may write its part before the
    process that made the run has written anything there.
    """
    count = 0
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as out:
        for line in lines:
            out.write(line)
            count += 1
    return count


def join_parts(path: str | os.PathLike[str], parts: Sequence[str | os.PathLike[str]]) -> None:
    """Write ``path`` atomically as its ``parts`` one after another, and remove the parts (also when it fails).

    The bytes are copied file to file inside the kernel where it can
    (``os.copy_file_range``), else read and written.
    """
    try:
        with atomic_open(path, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    _append(src, out)
    finally:
        for part in parts:
            with contextlib.suppress(FileNotFoundError):
                os.remove(part)


def _append(src: IO[bytes], out: IO[bytes]) -> None:
    copy = getattr(os, "copy_file_range", None)
    if copy is not None:
        out.flush()
        size = os.fstat(src.fileno()).st_size
        done = 0
        try:
            while done < size:
                n = copy(src.fileno(), out.fileno(), size - done)
                if n <= 0:
                    break
                done += n
        except OSError:
            if done:
                raise
        if done == size:
            return
        src.seek(done)
    shutil.copyfileobj(src, out)


class _Surrogate(Exception):
    """A lone surrogate met while writing JSON as UTF-8: written again with ``\\u`` escapes."""


_JSON_WRITE = 1 << 20  # characters of JSON gathered before each write


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON (2 spaces) with a trailing newline, atomically.

    The text is written as it is made (``JSONEncoder.iterencode``, the pieces
    ``json.dumps`` joins: the same bytes), never held whole: a million
    articles' ``events.json`` is ~0.2 GB of UTF-8 and was three times that in
    memory as one string, its copy with the newline, and its encoding. Text
    with a lone surrogate (not encodable as UTF-8) is written again with
    ``\\u`` escapes throughout, as before.

    Raises:
        TypeError: a value is not JSON serializable (the old file is kept).
    """
    for ascii_only in (False, True):
        pieces = json.JSONEncoder(ensure_ascii=ascii_only, indent=2, default=_json_default).iterencode(obj)
        try:
            with atomic_open(path) as out:
                held: list[str] = []
                size = 0
                for piece in pieces:
                    if not ascii_only and _SURROGATE.search(piece) is not None:
                        raise _Surrogate
                    held.append(piece)
                    size += len(piece)
                    if size >= _JSON_WRITE:
                        out.write("".join(held))
                        held, size = [], 0
                held.append("\n")
                out.write("".join(held))
            return
        except _Surrogate:
            continue


def _remove_stale_tmp(folder: Path) -> None:
    """Remove the ``.<name>.tmp-<pid>`` files that a killed run left in ``folder``."""
    from ..store.spill import alive

    for tmp in folder.glob(".*.tmp-*"):
        pid = tmp.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
            tmp.unlink(missing_ok=True)


def check_output(path: str | os.PathLike[str], is_dir: bool = True) -> Path:
    """Make sure a run can write its outputs to ``path`` (a folder, or a file's folder) before it works.

    The folder is created if needed and a probe file is written and removed,
    so an unwritable place fails in a second with one line, not after the
    whole computation. Temporary files of a killed run are removed there.

    Raises:
        OutputError: the folder cannot be created or written (names it and why).
    """
    from ..errors import OutputError

    target = Path(path)
    if not is_dir and _is_device(target):  # written in place (atomic_open): only the device itself must take it
        if not os.access(target, os.W_OK):
            raise OutputError(f"{target}: cannot write there (permission denied)")
        return target
    folder = target if is_dir else (target.parent if str(target.parent) else Path("."))
    if is_dir and target.exists() and not target.is_dir():
        raise OutputError(f"{target}: exists and is not a folder; choose another --out")
    if not is_dir and target.is_dir():
        raise OutputError(f"{target}: is a folder; --out names the output file")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_stale_tmp(folder)
        fd, probe = tempfile.mkstemp(prefix=".dedup-probe-", dir=folder)
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot write outputs there ({exc.strerror or exc}); check the path and permissions") from None
    return target


@contextlib.contextmanager
def staged_output(out: str | os.PathLike[str], storage_options: Sequence[tuple[str, Any]] = (), *, is_dir: bool = True,
                  stale: Sequence[str] = (), command: str | None = None, inputs: Sequence[str] = ()) -> Iterator[Path]:
    """The place a command writes its outputs to (:func:`dedup.io.remote.staged_output`): ``out`` itself for a local
    path, without importing the object-storage layer; for a URL, a staging copy uploaded at the end."""
    if is_dir and str(out) == "-":  # not standard output: a folder named "-" was made, "outputs in -/"
        from ..errors import OutputError

        raise OutputError(f"--out -: {command or 'this command'} writes several files, into a folder: name one "
                          "(standard output takes one file, as dedup similarity --out - does)")
    if not is_url(str(out)):
        folder = (Path(out) if is_dir else Path(out).parent).absolute()
        made = [p for p in (folder, *folder.parents) if not p.exists()]  # the folders the run may create, deepest first
        held = _hold_folder(folder, str(out)) if is_dir else None
        try:
            yield Path(out)
        except BaseException as exc:  # a run that failed or was stopped leaves no folder it made
            if held is not None:
                os.close(held)
                held = None
            if is_dir and folder in made and _remove_files(folder):
                exc.add_note(f"{out}: removed with the files this run had written there (the run had made the folder)")
            for p in made:
                with contextlib.suppress(OSError):
                    p.rmdir()  # only when empty: a folder something else was put in stays
            raise
        finally:
            if held is not None:
                os.close(held)
        return
    from .remote import staged_output as staged

    with staged(out, storage_options, is_dir=is_dir, stale=stale, command=command, inputs=inputs) as place:
        yield place


def _remove_files(folder: Path) -> bool:
    """Remove the files at the top of ``folder``, a folder the failed run made and held (so they are all its own: whole
    outputs beside no ``summary.json``, nothing a user asked for); whether any was removed."""
    removed = False
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.remove(entry.path)
                    removed = True
    return removed


def _hold_folder(folder: Path, out: str) -> int | None:
    """Make the output folder and hold it for this run (an exclusive ``flock`` on the folder itself, released when the
    run ends, however it ends), so that a second run into the same folder stops at once instead of writing its files
    among this one's (a nightly job that overran its slot left a summary.json naming the other run's files).

    Returns the held folder's descriptor, or None when the folder cannot be made or locked here (the run's own
    check of the folder then says why it cannot be written; a filesystem without locks runs unguarded).

    Raises:
        OutputError: another run holds the folder.
    """
    try:
        import fcntl
    except ImportError:  # not a POSIX system
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        from ..errors import OutputError

        raise OutputError(f"{out}: another dedup run is writing its outputs into this folder; wait for it to end, "
                          "or choose another --out") from None
    except OSError:
        os.close(fd)
        return None
    return fd


def write_failure(exc: OSError) -> str:
    """Why a file could not be written, naming it when the system said which (a rename: the file it would replace).

    >>> write_failure(IsADirectoryError(21, "Is a directory", "out/.report.html.tmp-7", None, "out/report.html"))
    'Is a directory: out/report.html'
    """
    named = exc.filename2 or exc.filename
    return f"{exc.strerror}: {named}" if exc.strerror and named else str(exc.strerror or exc)
