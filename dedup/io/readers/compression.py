"""Compressed files: ``.gz``, ``.zst``, ``.xz`` and ``.bz2``, decompressed on the fly.

A compressed JSONL, JSON, CSV or TSV file is read exactly like the plain one
(line by line, each record located at its line): :func:`open_compressed`
gives a binary stream of the decompressed bytes. gzip, xz and bzip2 come
with Python; zstandard needs the ``zstandard`` package (a dependency of
dedup). A file that ends before its compressed stream does (a truncated
download) raises :class:`EOFError` for every codec, so it is reported, never
read as a shorter feed: the zstandard package's own reader stops quietly at a
cut frame, hence :class:`_ZstdReader`. Nor is a damaged stream after the first
of a file of several (``pbzip2`` writes one per block of the input, and ``cat
a.bz2 b.bz2`` makes one): the standard library's ``BZ2File`` and ``LZMAFile``
take bytes after a stream that do not start a valid one for padding and stop
there, so the records of the rest were dropped without a word;
:class:`_Streams` reads ``.bz2`` and ``.xz`` and says the file is corrupt.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
from pathlib import Path
from typing import IO

from ...errors import InputError

__all__ = ["COMPRESSED_SUFFIXES", "compression_by_magic", "compression_errors", "compression_of", "decompressed_stdin",
           "file_compression", "open_compressed"]

#: Suffixes of the compressed files read on the fly (after the format's suffix: ``feed.jsonl.zst``).
COMPRESSED_SUFFIXES = (".gz", ".zst", ".xz", ".bz2")

# The first bytes of each format's stream (gzip with deflate; bzip2 with its block header after the level digit), so
# that a compressed stream on stdin, or a file named without its suffix, is read as what it is: it was reported as
# UTF-16 (the NUL bytes of compressed data). No text record begins with any of them.
_MAGIC = ((b"\x1f\x8b\x08", ".gz"), (b"\x28\xb5\x2f\xfd", ".zst"), (b"\xfd7zXZ\x00", ".xz"))
_HEAD = 10


def compression_of(name: str) -> str | None:
    """The compression suffix of a file name, or None.

    >>> compression_of("feed.JSONL.zst"), compression_of("feed.csv")
    ('.zst', None)
    """
    lower = name.lower()
    return next((s for s in COMPRESSED_SUFFIXES if lower.endswith(s)), None)


def compression_by_magic(head: bytes) -> str | None:
    """The compression whose stream begins with ``head`` (its first 10 bytes or fewer), or None.

    >>> compression_by_magic(b"\\x1f\\x8b\\x08\\x00"), compression_by_magic(b"BZh91AY&SY"), compression_by_magic(b'{"id": 1}')
    ('.gz', '.bz2', None)
    """
    for magic, suffix in _MAGIC:
        if head.startswith(magic):
            return suffix
    if len(head) >= 10 and head[:3] == b"BZh" and head[3:4] in b"123456789" and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return ".bz2"  # a block, or the end of an empty stream
    return None


def file_compression(path: Path) -> str | None:
    """How a local file is compressed: by its suffix, or when its name has none, by its first bytes (a gzip file
    named ``feed.jsonl``); None for a plain file, or one that cannot be opened (opening it says why)."""
    named = compression_of(path.name)
    if named is not None or not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
        return named  # a remote object (:class:`~dedup.io.remote.RemoteFile`) goes by its name
    try:
        with open(path, "rb") as f:
            return compression_by_magic(f.read(_HEAD))
    except OSError:
        return None


def decompressed_stdin(stream: IO[bytes]) -> IO[bytes]:
    """Standard input as bytes, decompressed when its first bytes are a compressed stream's (``gzip -c feed | dedup
    … -``); ``stream`` is left open when the result is closed. Its first bytes are read (a pipe's writer may still be
    writing them) and put back in front of the rest; a text stream is returned as it is."""
    if isinstance(stream, io.TextIOBase):
        return stream
    head = b""
    while len(head) < _HEAD:  # a pipe gives what was written so far: read on until the first bytes are in, or its end
        more = stream.read(_HEAD - len(head))
        if not more:
            break
        head += more
    whole = io.BufferedReader(_Prefixed(head, stream), buffer_size=1 << 16)
    suffix = compression_by_magic(head)
    if suffix is None:
        return whole
    if suffix == ".zst":
        return io.BufferedReader(_ZstdReader(whole, _zstandard("<stdin>")), buffer_size=1 << 16)
    return gzip.GzipFile(fileobj=whole) if suffix == ".gz" else _streams(whole, suffix)


class _Prefixed(io.RawIOBase):
    """The bytes ``head`` then the rest of ``stream``, which closing this leaves open (standard input)."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head, self._stream = head, stream

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        read1 = getattr(self._stream, "read1", self._stream.read)  # what the pipe has now, not a full buffer's wait
        data = read1(len(b))
        b[: len(data)] = data
        return len(data)


def open_compressed(path: Path, suffix: str | None) -> IO[bytes]:
    """Open ``path`` for reading, decompressing it when ``suffix`` names a compression.

    ``path`` may also be a remote object (:class:`~dedup.io.remote.RemoteFile`):
    its stream is decompressed the same way, and closed with the result.

    Raises:
        OSError: the file cannot be opened.
        InputError: ``.zst`` without the ``zstandard`` package.
    """
    if not isinstance(path, (str, os.PathLike)):  # a remote object: a buffered stream of its bytes
        return _decompressed(path.open("rb"), suffix, str(path))
    if suffix == ".gz":
        return gzip.open(path, "rb")
    if suffix in (".xz", ".bz2"):
        return _streams(open(path, "rb"), suffix)
    if suffix == ".zst":
        zstd = _zstandard(str(path))
        return io.BufferedReader(_ZstdReader(open(path, "rb"), zstd), buffer_size=1 << 16)
    return open(path, "rb")


def _decompressed(raw: IO[bytes], suffix: str | None, name: str) -> IO[bytes]:
    """The decompressed bytes of an open stream; closing the result closes ``raw``."""
    try:
        if suffix == ".zst":
            return io.BufferedReader(_ZstdReader(raw, _zstandard(name)), buffer_size=1 << 16)
        if suffix in (".xz", ".bz2"):
            return _streams(raw, suffix)
    except BaseException:
        raw.close()
        raise
    return _Closing(gzip.GzipFile(fileobj=raw), raw) if suffix == ".gz" else raw


class _Closing(io.BufferedIOBase):
    """A decompressing reader over a stream it did not open, which it closes too (the codecs leave it open)."""

    def __init__(self, reader: IO[bytes], raw: IO[bytes]) -> None:
        self._reader, self._raw = reader, raw

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._reader.read(size)

    def read1(self, size: int = -1) -> bytes:
        return self._reader.read1(size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._reader.readline(size)

    def close(self) -> None:
        if not self.closed:
            try:
                self._reader.close()
            finally:
                self._raw.close()
                super().close()


def compression_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a codec raises on corrupt data (the guard in :mod:`.streams` names the file)."""
    errors: tuple[type[BaseException], ...] = (lzma.LZMAError,)  # gzip and bzip2 raise OSError / EOFError
    try:
        import zstandard
    except ImportError:
        return errors
    return (*errors, zstandard.ZstdError)


def _zstandard(name: str):  # type: ignore[no-untyped-def]
    try:
        import zstandard
    except ImportError:
        raise InputError(
            f"{name}: reading .zst files needs the zstandard package, which is not installed; pip install zstandard"
        ) from None
    return zstandard


class _ZstdReader(io.RawIOBase):
    """Decompressed bytes of a ``.zst`` file: every frame in turn, :class:`EOFError` if the last one is cut short.

    Its output is bounded as the other codecs' is (they hand out at most a
    buffer per call: ``max_length``), so that a line longer than
    ``--max-record-bytes`` is skipped unread here too, never held whole. The
    zstandard package's ``decompress`` has no ``max_length``: it returns all
    its input holds, and zstd expands up to ~32,000 times (a 4-byte block is
    128 KiB of one byte), so one read of :data:`_CHUNK` bytes of a crafted
    file was 4 GiB in memory at once (a 17 KB file with a 256 MB line: 350 MB
    of memory, against 70 MB for the same file gzipped). The compressed bytes
    go to the decompressor :data:`_SLICE` at a time (at most 8 MiB out, held
    twice while the package joins its pieces) and no more once :data:`_OUT`
    bytes are out; the rest wait for the next read. Feeding 256 bytes a call
    costs little (news JSONL: 26 ms against 24 ms for 16 MB decompressed;
    128 bytes doubled it).
    """

    _CHUNK = 1 << 17
    _SLICE = 256  # at most 64 blocks of 128 KiB (zstd's largest) come out of 256 bytes (4 bytes each at least)
    _OUT = 1 << 20

    def __init__(self, raw: IO[bytes], zstd) -> None:  # type: ignore[no-untyped-def]
        self._raw = raw
        self._dctx = zstd.ZstdDecompressor()
        self._obj = None  # the decompressor of the frame being read; None between frames
        self._input = memoryview(b"")  # compressed bytes read and not yet given to the decompressor
        self._pending = b""  # decompressed bytes, handed out from _pos on
        self._pos = 0
        self._input_done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        while self._pos == len(self._pending) and not self._input_done:
            self._fill()
        n = min(len(buffer), len(self._pending) - self._pos)
        buffer[:n] = memoryview(self._pending)[self._pos : self._pos + n]
        self._pos += n
        return n

    def _fill(self) -> None:
        data = self._input
        if not data:
            data = memoryview(self._raw.read(self._CHUNK) or b"")
            if not data:
                self._input_done = True
                if self._obj is not None:  # a frame started and never ended
                    raise EOFError("Compressed file ended before the end-of-stream marker was reached")
                return
        out, size, k = [], 0, 0
        while k < len(data) and size < self._OUT:
            if self._obj is None:
                self._obj = self._dctx.decompressobj()
            piece = data[k : k + self._SLICE]
            k += len(piece)
            out.append(self._obj.decompress(piece))
            size += len(out[-1])
            if self._obj.eof:  # the next frame starts after it (files may hold several: pzstd, cat a.zst b.zst)
                k -= len(self._obj.unused_data)
                self._obj = None
        self._input = data[k:]
        self._pending, self._pos = b"".join(out), 0

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def _streams(raw: IO[bytes], suffix: str) -> IO[bytes]:
    """The decompressed bytes of a ``.bz2`` or ``.xz`` stream (closing the result closes ``raw``)."""
    new = bz2.BZ2Decompressor if suffix == ".bz2" else lzma.LZMADecompressor
    return io.BufferedReader(_Streams(raw, new, padding=suffix == ".xz"), buffer_size=1 << 16)


class _Streams(io.RawIOBase):
    """Decompressed bytes of every bzip2 or xz stream of a file in turn.

    Bytes after a stream must start another one (or, for xz, be its stream
    padding: NUL bytes): anything else raises the codec's error for corrupt
    data (bzip2 :class:`OSError`, xz :class:`lzma.LZMAError`), and a file
    that ends inside a stream raises :class:`EOFError`. Output is handed out
    at most a buffer at a time (``max_length``), so a stream that expands
    greatly is never held whole.
    """

    _CHUNK = 1 << 17

    def __init__(self, raw: IO[bytes], new, padding: bool) -> None:  # type: ignore[no-untyped-def]
        self._raw, self._new, self._padding = raw, new, padding
        self._obj = new()
        self._data = b""  # input read and not yet given to the decompressor

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        size = len(buffer)
        while size:
            obj = self._obj
            if obj.eof:  # a stream ended: the file ends here, or another stream starts
                rest = self._after_stream(obj.unused_data)
                if not rest:
                    return 0
                self._obj, self._data = self._new(), rest
                continue
            if obj.needs_input:
                data, self._data = self._data or self._raw.read(self._CHUNK), b""
                if not data:
                    raise EOFError("Compressed file ended before the end-of-stream marker was reached")
                out = obj.decompress(data, size)
            else:
                out = obj.decompress(b"", size)
            if out:
                buffer[: len(out)] = out
                return len(out)
        return 0

    def _after_stream(self, rest: bytes) -> bytes:
        """The bytes that follow a stream, up to the next one (xz stream padding skipped); b"" at the file's end."""
        while True:
            rest = rest or self._raw.read(self._CHUNK)
            if not rest or not self._padding:
                return rest
            rest = rest.lstrip(b"\0")
            if rest:
                return rest

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()
