"""Compressed files: ``.gz``, ``.zst``, ``.xz`` and ``.bz2``, decompressed on the fly.

A compressed JSONL, JSON, CSV or TSV file is read exactly like the plain one
(line by line, each record located at its line): :func:`open_compressed`
gives a binary stream of the decompressed bytes. gzip, xz and bzip2 come
with Python; zstandard needs the ``zstandard`` package (a dependency of
dedup). A file that ends before its compressed stream does (a truncated
download) raises :class:`EOFError` for every codec, so it is reported, never
read as a shorter feed: the zstandard package's own reader stops quietly at a
cut frame, hence :class:`_ZstdReader`.
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

__all__ = ["COMPRESSED_SUFFIXES", "compression_errors", "compression_of", "open_compressed"]

#: Suffixes of the compressed files read on the fly (after the format's suffix: ``feed.jsonl.zst``).
COMPRESSED_SUFFIXES = (".gz", ".zst", ".xz", ".bz2")


def compression_of(name: str) -> str | None:
    """The compression suffix of a file name, or None.

    >>> compression_of("feed.JSONL.zst"), compression_of("feed.csv")
    ('.zst', None)
    """
    lower = name.lower()
    return next((s for s in COMPRESSED_SUFFIXES if lower.endswith(s)), None)


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
    if suffix == ".xz":
        return lzma.open(path, "rb")
    if suffix == ".bz2":
        return bz2.open(path, "rb")
    if suffix == ".zst":
        zstd = _zstandard(str(path))
        return io.BufferedReader(_ZstdReader(open(path, "rb"), zstd), buffer_size=1 << 16)
    return open(path, "rb")


def _decompressed(raw: IO[bytes], suffix: str | None, name: str) -> IO[bytes]:
    """The decompressed bytes of an open stream; closing the result closes ``raw``."""
    try:
        if suffix == ".zst":
            return io.BufferedReader(_ZstdReader(raw, _zstandard(name)), buffer_size=1 << 16)
        codec = {".gz": gzip.GzipFile, ".xz": lzma.LZMAFile, ".bz2": bz2.BZ2File}.get(suffix or "")
    except BaseException:
        raw.close()
        raise
    return raw if codec is None else _Closing(codec(fileobj=raw) if codec is gzip.GzipFile else codec(raw), raw)


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
    """Decompressed bytes of a ``.zst`` file: every frame in turn, :class:`EOFError` if the last one is cut short."""

    _CHUNK = 1 << 17

    def __init__(self, raw: IO[bytes], zstd) -> None:  # type: ignore[no-untyped-def]
        self._raw = raw
        self._dctx = zstd.ZstdDecompressor()
        self._obj = None  # the decompressor of the frame being read; None between frames
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
        data = self._raw.read(self._CHUNK)
        if not data:
            self._input_done = True
            if self._obj is not None:  # a frame started and never ended
                raise EOFError("Compressed file ended before the end-of-stream marker was reached")
            return
        out = []
        while data:
            if self._obj is None:
                self._obj = self._dctx.decompressobj()
            out.append(self._obj.decompress(data))
            if not self._obj.eof:
                break
            data = self._obj.unused_data  # the next frame (files may hold several: pzstd, cat a.zst b.zst)
            self._obj = None
        self._pending, self._pos = b"".join(out), 0

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()
