"""Object storage and HTTP(S): inputs read from URLs and outputs written to them, through fsspec.

fsspec is the Python data stack's one interface to storage: s3fs for
``s3://`` (AWS S3 and the S3-compatible stores: MinIO, Ceph, R2, …), its
HTTP filesystem (aiohttp) for ``http://`` and ``https://``, gcsfs for
``gs://``; any other protocol fsspec knows is passed to it as well. They are
optional (``pip install 'dedup[cloud]'``; gcsfs: ``'dedup[gcs]'``) and
imported only when a URL is used, so the plain CLI never loads them; without
them a URL stops with one line naming the extra to install.

Configuration is the storage's own: the standard environment variables
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``,
``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL``; fsspec's
``FSSPEC_S3_ENDPOINT_URL`` and every ``FSSPEC_<PROTOCOL>_<OPTION>``), or
filesystem options given as ``--storage-option KEY=VALUE``
(:func:`parse_storage_options`: ``anon=true``, ``endpoint_url=…``).

Reading (:class:`RemoteFile`): an object is streamed, never downloaded whole:
S3 and GCS in ranged GETs of :data:`BLOCK` bytes, HTTP as one response read
as it arrives (a server needs no range support unless a zip or Parquet file
must be read out of order). Writing (:func:`staged_output`): a command writes
into a local staging folder exactly as into a local ``--out``; when it has
succeeded, each file is uploaded, ``summary.json`` last after the old one is
deleted; if it fails or is interrupted nothing is uploaded. One S3 object
appears whole or not at all (a PUT, or a multipart upload that is completed),
so a prefix with a ``summary.json`` holds one complete run, as a local
folder does. Every storage failure becomes one line naming the URL and what
to check (:func:`describe`).
"""

from __future__ import annotations

import errno
import io
import logging
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from typing import IO, Any
from urllib.parse import urlsplit

from ..errors import ConfigError, DedupError, InputError, InputNotFoundError, OutputError
from .paths import URL as _URL
from .paths import is_url as is_url
from .paths import parse_storage_options as parse_storage_options

__all__ = ["BLOCK", "RemoteFile", "describe", "filesystem", "is_url", "parse_storage_options", "protocol_of",
           "remote_file", "staged_output"]

logger = logging.getLogger(__name__)

#: Bytes read ahead by each ranged GET (beside a 1 MiB read buffer): about a dozen requests per 100 MB, and a few
#: blocks in memory per open object whatever its size.
BLOCK = 8 << 20
#: Seconds an HTTP(S) response may send nothing before the read stops (aiohttp's ``sock_read``). A feed is one
#: response read as the run goes, so its whole transfer has no limit (aiohttp's default of 300 s for a request failed
#: any feed read for longer); a server that stops sending is still found out.
HTTP_READ_TIMEOUT = 300.0
#: protocol → (the package it needs, the dedup extra that installs it)
_PACKAGES = {"s3": ("s3fs", "cloud"), "s3a": ("s3fs", "cloud"), "http": ("aiohttp", "cloud"),
             "https": ("aiohttp", "cloud"), "gs": ("gcsfs", "gcs"), "gcs": ("gcsfs", "gcs")}
_HTTP = ("http", "https")


def protocol_of(url: str) -> str:
    """The protocol of a URL, lower case.

    >>> protocol_of("S3://bucket/key")
    's3'
    """
    match = _URL.match(url)
    assert match is not None, url
    return match.group(1).lower()


def filesystem(url: str, storage_options: Sequence[tuple[str, Any]] = (), error: type[DedupError] = InputError) -> tuple[Any, str]:
    """``(fsspec filesystem, path in it)`` for a URL; a new filesystem each call (no listings cached across runs).

    Raises:
        DedupError: ``error`` when fsspec or the protocol's package is not
            installed (naming the extra that installs it);
            :class:`~dedup.errors.ConfigError` for an unknown protocol or a
            storage option the filesystem does not take.
    """
    protocol = protocol_of(url)
    package, extra = _PACKAGES.get(protocol, ("fsspec", "cloud"))
    install = f"pip install 'dedup[{extra}]'"
    try:
        import fsspec
    except ImportError:
        raise error(f"{url}: reading and writing {protocol}:// URLs needs fsspec, which is not installed; {install}") from None
    try:
        cls = fsspec.get_filesystem_class(protocol)
    except ImportError:
        raise error(f"{url}: {protocol}:// URLs need {package}, which is not installed; {install}") from None
    except ValueError:
        raise ConfigError(f"{url}: unknown protocol {protocol}://; use s3://, gs://, https:// or a local path") from None
    options = dict(storage_options)
    if protocol in _HTTP:
        options = _http_options(cls, options, url)
        options["client_kwargs"] = _http_client(options.get("client_kwargs"))
    try:
        fs = cls(skip_instance_cache=True, **options)
    except TypeError as err:
        raise ConfigError(f"--storage-option: {protocol}:// does not take these options ({err})") from None
    return fs, cls._strip_protocol(url) if protocol not in _HTTP else url


def _http_options(cls: Any, options: dict[str, Any], url: str) -> dict[str, Any]:
    """The storage options an HTTP filesystem takes: its own and aiohttp's request arguments (``headers``, ``auth``…).

    Storage options go to every URL of a run, and the HTTP filesystem passes
    the ones it does not know to each request, where S3's ``endpoint_url`` or
    ``anon`` made every read fail (reported as "no such object"): those are
    left out for http(s):// URLs, with a warning naming them.
    """
    import inspect

    import aiohttp

    takes = {*inspect.signature(cls.__init__).parameters, *inspect.signature(aiohttp.ClientSession._request).parameters}
    takes -= {"self", "method", "str_or_url", "storage_options"}
    left = sorted(k for k in options if k not in takes)
    if left:
        logger.warning("%s: --storage-option %s left out: not an option of http(s):// URLs", url, ", ".join(left))
    return {k: v for k, v in options.items() if k in takes}


def _http_client(given: Any) -> Any:
    """aiohttp's session arguments: ``given`` (``--storage-option client_kwargs=…``) with a timeout of no total and
    :data:`HTTP_READ_TIMEOUT` between reads, unless it sets its own."""
    if given is not None and not isinstance(given, dict):
        return given  # the filesystem says what is wrong with it
    if given is not None and "timeout" in given:
        return given
    import aiohttp

    return {**(given or {}), "timeout": aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=HTTP_READ_TIMEOUT)}


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return (text.splitlines() or [type(err).__name__])[0]


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _no_bucket(chain: list[BaseException], names: set[str]) -> bool:
    """Whether the storage said the bucket is missing: botocore's ``NoSuchBucket``, a 404 to ``HeadBucket``, or the
    message S3 and GCS give ("The specified bucket does not exist").

    Not the word "bucket" anywhere in the error: s3fs's FileNotFoundError for a
    missing key is the key's path, and ``news-bucket/feed.jsonl`` holds it.
    """
    return ("NoSuchBucket" in names or any(getattr(e, "operation_name", None) == "HeadBucket" for e in chain)
            or any("specified bucket does not exist" in _first_line(e).lower() for e in chain))


def describe(err: BaseException) -> str:
    """What went wrong with a storage call and what to check, in one line (no URL: the caller puts it first).

    The failures a user can fix are told apart by the exception classes of
    botocore, aiohttp and fsspec (found by name, so none is imported here).
    """
    chain = list(_chain(err))
    names = {cls.__name__ for e in chain for cls in type(e).__mro__}
    if names & {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"}:
        return ("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), "
                "or pass --storage-option anon=true for a public bucket")
    if "DefaultCredentialsError" in names:  # google-auth, for gs://
        return ("no credentials: set GOOGLE_APPLICATION_CREDENTIALS (or run gcloud auth application-default login), "
                "or pass --storage-option token=anon for a public bucket")
    if "SocketTimeoutError" in names or any(_first_line(e).startswith("Timeout on reading data") for e in chain):
        # aiohttp's sock_read (before 3.10 a ServerTimeoutError with that text): the response started, then nothing came
        return f"the server sent nothing for {HTTP_READ_TIMEOUT:g} s; check the server, or try again"
    unreachable = {"EndpointConnectionError", "ConnectTimeoutError", "ClientConnectorError", "ConnectionRefusedError",
                   "ServerTimeoutError", "gaierror", "InvalidURL"}
    cause = next((e for e in chain if {c.__name__ for c in type(e).__mro__} & unreachable), None)
    if cause is not None:
        return (f"cannot reach the storage endpoint ({_first_line(cause)}); check the URL, AWS_ENDPOINT_URL "
                "(or --storage-option endpoint_url=…) and the network")
    status = next((getattr(e, "status", None) for e in chain if "ClientResponseError" in {c.__name__ for c in type(e).__mro__}), None)
    if status in (404, 410):
        return "no such object; check the URL"
    denied = next((e for e in chain if isinstance(e, PermissionError)), None)
    if status in (401, 403) or denied is not None:
        why = f"HTTP {status}" if denied is None else _first_line(denied)
        return f"access denied ({why}); check the credentials and the permissions of the bucket (or server)"
    if status is not None:
        return f"the server answered HTTP {status}; check the URL"
    if isinstance(err, FileNotFoundError):
        if _no_bucket(chain, names):
            return "no such bucket; check the bucket name (and the endpoint)"
        return "no such object; check the URL"
    return f"{_first_line(err)}; check the URL and the storage settings"


# --------------------------------------------------------------------------- reading


class RemoteFile:
    """One object of a remote filesystem, with the few methods of :class:`pathlib.Path` that the readers use.

    ``str()`` is its URL (what locations and messages name); ``size`` is
    None when an HTTP server does not tell it. Failures to open or read it
    whole raise :class:`OSError` whose ``strerror`` says why (the readers'
    handlers of unreadable local files name the URL with it); a stream that
    breaks off while it is read raises :class:`~dedup.errors.InputError`.
    """

    __slots__ = ("fs", "path", "size", "url")

    def __init__(self, fs: Any, path: str, url: str, size: int | None) -> None:
        self.fs, self.path, self.url, self.size = fs, path, url, size

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"RemoteFile({self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemoteFile) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)

    @property
    def name(self) -> str:
        """The last part of the key (an HTTP URL's query left out)."""
        return PurePosixPath(urlsplit(self.url).path).name

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name).stem

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix

    def is_dir(self) -> bool:
        return False

    def relative_to(self, root: PurePosixPath) -> PurePosixPath:
        """The key relative to a prefix (the fallback id of a news-please article)."""
        return PurePosixPath(self.path).relative_to(root)

    def stat(self) -> SimpleNamespace:
        """``st_size``: the listed size (0 when unknown; the object is then read whole)."""
        return SimpleNamespace(st_size=self.size or 0)

    def read_bytes(self) -> bytes:
        try:
            return self.fs.cat_file(self.path)
        except Exception as err:
            raise _os_error(err) from None

    def open(self, mode: str = "rb", *, sequential: bool = True) -> IO[bytes]:
        """A buffered binary stream of the object; ``sequential=False`` when it will seek (zip, Parquet)."""
        if mode != "rb":
            raise ValueError(f"RemoteFile.open reads only ('rb'), got {mode!r}")
        http = protocol_of(self.url) in _HTTP
        try:
            if http and sequential:  # one GET read as it arrives: no range requests, no HEAD needed by the server
                handle = self.fs.open(self.path, "rb", block_size=0)
            else:
                handle = self.fs.open(self.path, "rb", block_size=BLOCK, cache_type="readahead")
        except Exception as err:
            raise _os_error(err) from None
        return io.BufferedReader(_RemoteRaw(handle, self.url, seekable=not (http and sequential)), buffer_size=1 << 20)


def remote_file(url: str, storage_options: Sequence[tuple[str, Any]] = ()) -> RemoteFile:
    """The one object a URL names, checked to exist (a side input such as ``dedup similarity``'s pairs).

    Raises:
        InputNotFoundError: it is not there, is a prefix, or the storage cannot be reached or read.
        InputError: the package for the protocol is not installed.
    """
    fs, path = filesystem(url, storage_options, InputError)
    try:
        info = fs.info(path)
    except Exception as err:
        raise InputNotFoundError(f"{url}: {describe(err)}") from None
    if info.get("type") == "directory":
        raise InputNotFoundError(f"{url}: is a prefix (a folder), not one object; name the file")
    return RemoteFile(fs, path, url, info.get("size"))


def _os_error(err: BaseException) -> OSError:
    code = errno.ENOENT if isinstance(err, FileNotFoundError) else errno.EIO
    return OSError(code, describe(err))


class _RemoteRaw(io.RawIOBase):
    """An fsspec file as a raw stream: a failure while reading becomes one :class:`InputError` naming the URL."""

    def __init__(self, handle: Any, url: str, seekable: bool) -> None:
        self._handle, self._url, self._seekable = handle, url, seekable
        self._eof = False  # an HTTP response is not read again once it has ended (aiohttp warns of a loop)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._seekable

    def readinto(self, buffer: Any) -> int:
        if self._eof or not len(buffer):
            return 0
        try:
            data = self._handle.read(len(buffer))
        except Exception as err:
            raise InputError(f"{self._url}: reading stopped: {describe(err)}") from None
        n = len(data)
        buffer[:n] = data
        self._eof = n == 0
        return n

    def seek(self, offset: int, whence: int = 0) -> int:
        if not self._seekable:
            raise io.UnsupportedOperation("seek")
        try:
            position = self._handle.seek(offset, whence)
        except Exception as err:
            raise InputError(f"{self._url}: cannot read this object out of order ({describe(err)}); "
                             "the server must support range requests, or download the file first") from None
        self._eof = False
        return position

    def tell(self) -> int:
        return self._handle.tell()

    def close(self) -> None:
        if not self.closed:
            try:
                self._handle.close()
            finally:
                super().close()


# --------------------------------------------------------------------------- writing


@contextmanager
def staged_output(
    out: str | os.PathLike[str], storage_options: Sequence[tuple[str, Any]] = (), *, is_dir: bool = True,
    stale: Sequence[str] = (), command: str | None = None, inputs: Sequence[str] = (),
) -> Iterator[Path]:
    """The local place a command writes its outputs to: ``out`` itself, or for a URL a staging copy uploaded at the end.

    For a URL the destination is checked first (a probe object written and
    deleted: a missing bucket, missing credentials or an unreachable endpoint
    fail before the run, in one line). The block writes into a folder under
    ``$TMPDIR`` (``dedup-<pid>-…``, removed however the block ends); only if
    it succeeds are the files uploaded (:func:`_publish`). With
    ``is_dir=False`` ``out`` names one file and the block gets a path for it.

    Args:
        out: a local path or a URL (``s3://bucket/prefix/``).
        storage_options: filesystem options (``--storage-option``).
        is_dir: whether ``out`` is a folder (the commands' ``--out``) or one file.
        stale: names in the folder that this run's outputs replace under
            another name (the other ``--output-format``): deleted on upload,
            as the local writers delete them.
        command: the command writing (``dedupe``, ``stories``, ``repeats``):
            when the folder's ``summary.json`` is another command's run, that
            run's files are deleted too (:func:`dedup.io.run_files.replaced_files`),
            but for the objects of ``inputs``.

    Raises:
        OutputError: the destination cannot be written (names it and why).
    """
    if not is_url(str(out)):
        yield Path(out)
        return
    url = str(out)
    fs, root = filesystem(url, storage_options, OutputError)
    if protocol_of(url) in _HTTP:
        raise OutputError(f"{url}: outputs cannot be written to an http(s):// URL; use a local folder, s3:// or gs://")
    root = root.rstrip("/")
    if not is_dir and (url.endswith("/") or not root.partition("/")[2]):
        raise OutputError(f"{url}: names a folder; --out names the output file (…/name.jsonl)")
    folder = root if is_dir else root.rsplit("/", 1)[0]
    _probe(fs, folder, url)
    from ..store.spill import temporary_space

    with temporary_space() as tmp:
        local = Path(tmp, "out")
        local.mkdir()
        yield local if is_dir else local / PurePosixPath(root).name
        _publish(fs, local, root if is_dir else folder, url, stale, command, inputs)


def _probe(fs: Any, folder: str, url: str) -> None:
    """Write and delete an empty object in ``folder``, so that a destination that cannot be written fails now."""
    probe = f"{folder}/.dedup-probe-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        fs.pipe_file(probe, b"")
        fs.rm_file(probe)
    except Exception as err:
        raise OutputError(f"{url}: cannot write outputs there: {describe(err)}") from None


def _publish(fs: Any, local: Path, root: str, url: str, stale: Sequence[str], command: str | None = None,
             inputs: Sequence[str] = ()) -> None:
    """Upload every file of ``local`` under ``root``: the old ``summary.json`` deleted first, the new one last.

    Each upload is one object that appears whole when complete; a failure
    part way leaves the destination without a ``summary.json``, which marks
    it incomplete (the files of the previous run may still be there).
    """
    files = sorted((p for p in local.rglob("*") if p.is_file()), key=lambda p: (p.name == "summary.json", p.parts))
    done = 0
    if command is not None:  # another command's run there: its files go too, but never an input of this run
        from .run_files import replaced_files

        try:
            previous = json.loads(fs.cat_file(f"{root}/summary.json"))
        except Exception:  # none there (or unreadable): nothing of another run to remove
            previous = None
        given = {i.rstrip("/") for i in inputs}
        stale = [*stale, *(n for n in replaced_files(previous, command) if f"{url.rstrip('/')}/{n}" not in given)]
    try:
        if any(p.name == "summary.json" and p.parent == local for p in files):
            _remove(fs, f"{root}/summary.json")  # a stale summary must not vouch for a mix of old and new files
        for path in files:
            if path.name == "summary.json" and path.parent == local:  # last: the old files of other names go first
                for name in stale:
                    _remove(fs, f"{root}/{name}")
            key = f"{root}/{path.relative_to(local).as_posix()}"
            logger.info("uploading %s (%d bytes) to %s", path.name, path.stat().st_size, fs.unstrip_protocol(key))
            fs.put_file(str(path), key)
            done += 1
    except Exception as err:
        raise OutputError(f"{url}: the upload stopped after {done} of {len(files)} files: {describe(err)}; the outputs "
                          "there are incomplete (no summary.json): run again") from None
    except BaseException:
        logger.warning("%s: upload interrupted after %d of %d files; the outputs there are incomplete (no summary.json)",
                       url, done, len(files))
        raise


def _remove(fs: Any, key: str) -> None:
    try:
        fs.rm_file(key)
    except FileNotFoundError:
        pass
