"""dedup.io.readers.compression: .gz, .zst, .xz and .bz2 read on the fly, a cut file always an error."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import sys
import zlib
from pathlib import Path

import pytest

from dedup.errors import InputError
from dedup.io.readers.compression import (
    COMPRESSED_SUFFIXES,
    compression_by_magic,
    compression_errors,
    compression_of,
    decompressed_stdin,
    file_compression,
    open_compressed,
)

zstandard = pytest.importorskip("zstandard")

PAYLOAD = "".join(f'{{"id": "{k}", "text": "قال الوزير في اليوم {k} إن المشروع سيبدأ"}}\n' for k in range(2000)).encode("utf-8")

COMPRESS = {
    ".gz": gzip.compress,
    ".xz": lzma.compress,
    ".bz2": bz2.compress,
    ".zst": lambda data: zstandard.ZstdCompressor().compress(data),
}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("feed.jsonl.gz", ".gz"),
        ("feed.JSONL.ZST", ".zst"),
        ("feed.csv.xz", ".xz"),
        ("feed.tsv.bz2", ".bz2"),
        ("feed.tar.gz", ".gz"),
        ("feed.jsonl", None),
        ("feed.gz.jsonl", None),
        ("feed.gzip", None),
        ("feedgz", None),
        ("", None),
    ],
)
def test_compression_of(name: str, expected: str | None) -> None:
    assert compression_of(name) == expected


def test_every_suffix_has_a_codec() -> None:
    assert set(COMPRESSED_SUFFIXES) == set(COMPRESS)


@pytest.mark.parametrize("suffix", sorted(COMPRESS))
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"feed.jsonl{suffix}"
    path.write_bytes(COMPRESS[suffix](PAYLOAD))
    with open_compressed(path, suffix) as stream:
        assert stream.readline() == PAYLOAD.split(b"\n")[0] + b"\n"  # line by line, as the readers read
        assert stream.read() == PAYLOAD[len(PAYLOAD.split(b"\n")[0]) + 1 :]


def test_no_suffix_is_the_plain_file(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_bytes(PAYLOAD)
    with open_compressed(path, None) as stream:
        assert stream.read() == PAYLOAD


@pytest.mark.parametrize("suffix", sorted(COMPRESS))
def test_a_cut_file_raises_eof_error(tmp_path: Path, suffix: str) -> None:
    data = COMPRESS[suffix](PAYLOAD)
    path = tmp_path / f"feed.jsonl{suffix}"
    path.write_bytes(data[: len(data) // 2])
    with open_compressed(path, suffix) as stream, pytest.raises(EOFError):
        while stream.read(4096):
            pass


def test_zstd_reads_every_frame(tmp_path: Path) -> None:
    """pzstd and ``cat a.zst b.zst`` write several frames: all of them are the file."""
    parts = [PAYLOAD[:1000], PAYLOAD[1000:50_000], b"", PAYLOAD[50_000:]]
    path = tmp_path / "feed.jsonl.zst"
    path.write_bytes(b"".join(zstandard.ZstdCompressor().compress(p) for p in parts))
    with open_compressed(path, ".zst") as stream:
        assert stream.read() == PAYLOAD


def test_zstd_cut_in_a_later_frame(tmp_path: Path) -> None:
    first = zstandard.ZstdCompressor().compress(PAYLOAD[:5000])
    second = zstandard.ZstdCompressor().compress(PAYLOAD[5000:])
    path = tmp_path / "feed.jsonl.zst"
    path.write_bytes(first + second[: len(second) // 2])
    with open_compressed(path, ".zst") as stream, pytest.raises(EOFError):
        stream.read()


def test_an_empty_zstd_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl.zst"
    path.write_bytes(b"")
    with open_compressed(path, ".zst") as stream:
        assert stream.read() == b""


@pytest.mark.parametrize("suffix", [".xz", ".zst"])
def test_corrupt_data_raises_one_of_the_compression_errors(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"feed.jsonl{suffix}"
    data = bytearray(COMPRESS[suffix](PAYLOAD))
    data[len(data) // 2 : len(data) // 2 + 64] = b"\x00" * 64
    path.write_bytes(bytes(data))
    with open_compressed(path, suffix) as stream, pytest.raises(compression_errors()):
        stream.read()


@pytest.mark.parametrize("suffix", [".bz2", ".xz", ".gz", ".zst"])
def test_every_stream_of_a_file_is_read(tmp_path: Path, suffix: str) -> None:
    """pbzip2 (one bzip2 stream per block of its input), ``cat a.xz b.xz``, multi-member gzip: all of it is the file
    (xz's stream padding, NUL bytes between and after streams, included)."""
    parts = [PAYLOAD[:1000], PAYLOAD[1000:50_000], PAYLOAD[50_000:]]
    pad = b"\0" * 8 if suffix == ".xz" else b""
    path = tmp_path / f"feed.jsonl{suffix}"
    path.write_bytes(b"".join(COMPRESS[suffix](p) + pad for p in parts))
    with open_compressed(path, suffix) as stream:
        assert stream.read() == PAYLOAD


@pytest.mark.parametrize("suffix", [".bz2", ".xz", ".gz", ".zst"])
@pytest.mark.parametrize("where", ["local", "remote", "stdin"])
def test_a_damaged_later_stream_is_an_error_not_a_shorter_feed(tmp_path: Path, suffix: str, where: str) -> None:
    """The standard library's BZ2File and LZMAFile took a second stream whose first bytes are damaged for padding and
    stopped there: the records of the rest were dropped without a word."""
    first, second = COMPRESS[suffix](PAYLOAD[:5000]), COMPRESS[suffix](PAYLOAD[5000:])
    data = first + b"\x01" + second[1:]  # its magic number broken
    path = tmp_path / f"feed.jsonl{suffix}"
    path.write_bytes(data)
    stream = {"local": lambda: open_compressed(path, suffix),
              "remote": lambda: open_compressed(_Remote(data), suffix),  # type: ignore[arg-type]
              "stdin": lambda: decompressed_stdin(io.BytesIO(data))}[where]()
    with stream, pytest.raises((OSError, EOFError, *compression_errors())):
        stream.read()


def test_compression_errors() -> None:
    errors = compression_errors()
    assert lzma.LZMAError in errors and zstandard.ZstdError in errors


def test_a_missing_file_raises_os_error(tmp_path: Path) -> None:
    for suffix in (None, *COMPRESS):
        with pytest.raises(OSError):
            open_compressed(tmp_path / "absent", suffix)


def test_zst_without_zstandard_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "feed.jsonl.zst"
    path.write_bytes(COMPRESS[".zst"](PAYLOAD))
    monkeypatch.setitem(sys.modules, "zstandard", None)  # import zstandard now fails
    with pytest.raises(InputError, match="feed.jsonl.zst: reading .zst files needs the zstandard package.*pip install zstandard"):
        open_compressed(path, ".zst")
    assert compression_errors() == (lzma.LZMAError,)


class _Remote:
    """What the readers use of a remote object: ``open("rb")`` gives a stream of its bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.opened: list[io.BytesIO] = []

    def open(self, mode: str = "rb") -> io.BytesIO:
        stream = io.BytesIO(self.data)
        self.opened.append(stream)
        return stream

    def __str__(self) -> str:
        return "s3://bucket/feed"


@pytest.mark.parametrize("suffix", [None, *sorted(COMPRESS)])
def test_a_remote_stream_is_decompressed_and_closed_with_the_result(suffix: str | None) -> None:
    remote = _Remote(COMPRESS[suffix](PAYLOAD) if suffix else PAYLOAD)
    stream = open_compressed(remote, suffix)  # type: ignore[arg-type]
    first = stream.readline()
    assert first + stream.read() == PAYLOAD
    stream.close()
    assert len(remote.opened) == 1 and remote.opened[0].closed


def test_a_remote_zst_without_zstandard_closes_the_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    remote = _Remote(COMPRESS[".zst"](PAYLOAD))
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(InputError, match="s3://bucket/feed"):
        open_compressed(remote, ".zst")  # type: ignore[arg-type]
    assert remote.opened[0].closed


@pytest.mark.parametrize("suffix", sorted(COMPRESS))
def test_a_cut_remote_stream_raises_eof_error(suffix: str) -> None:
    data = COMPRESS[suffix](PAYLOAD)
    stream = open_compressed(_Remote(data[: len(data) // 2]), suffix)  # type: ignore[arg-type]
    with stream, pytest.raises(EOFError):
        while stream.read(4096):
            pass


@pytest.mark.parametrize("suffix", COMPRESSED_SUFFIXES)
def test_compressed_bytes_are_known_by_their_first_bytes(tmp_path: Path, suffix: str) -> None:
    """A gzip file named .jsonl, or gzip on stdin, was reported as UTF-16 (the NULs of compressed data)."""
    data = COMPRESS[suffix](PAYLOAD)
    assert compression_by_magic(data[:10]) == suffix
    named_plain = tmp_path / "feed.jsonl"
    named_plain.write_bytes(data)
    assert file_compression(named_plain) == suffix
    with open_compressed(named_plain, file_compression(named_plain)) as f:
        assert f.read() == PAYLOAD
    stdin = io.BufferedReader(io.BytesIO(data))
    with decompressed_stdin(stdin) as f:
        assert f.read() == PAYLOAD
    assert not stdin.closed  # standard input stays open


@pytest.mark.parametrize("head", [b'{"id": 1}', b"id,text\n", b"BZh9 heading,text", b"\x1f\x8b", b"", b"\xef\xbb\xbf{"])
def test_text_is_never_taken_for_compressed_data(tmp_path: Path, head: bytes) -> None:
    assert compression_by_magic(head) is None
    plain = tmp_path / "feed.csv"
    plain.write_bytes(head)
    assert file_compression(plain) is None
    stdin = io.BufferedReader(io.BytesIO(head + b"rest"))
    assert decompressed_stdin(stdin).read() == head + b"rest"  # the first bytes put back in front


def test_compressed_stdin_waits_for_a_slow_writers_first_bytes() -> None:
    """A pipe whose writer sent one byte, then the rest: peeking saw one byte and read gzip as text ("UTF-16")."""
    import os
    import threading
    import time

    data = COMPRESS[".gz"](PAYLOAD)
    r, w = os.pipe()

    def write() -> None:
        os.write(w, data[:1])
        time.sleep(0.3)
        with os.fdopen(w, "wb") as f:
            f.write(data[1:])

    writer = threading.Thread(target=write)
    writer.start()
    with os.fdopen(r, "rb") as stdin:
        got = decompressed_stdin(stdin).read()
    writer.join()
    assert got == PAYLOAD


def test_gzip_on_stdin_is_read_by_every_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from dedup.cli import app

    seeds = Path(__file__).resolve().parents[1] / "seeds"
    rows = "".join('{"id": "%s", "text": %s}\n' % (p.stem, __import__("json").dumps(p.read_text(encoding="utf-8")))
                   for p in sorted(seeds.glob("*.txt")))
    data = gzip.compress(rows.encode("utf-8"))
    for command in ("dedupe", "stories", "repeats"):
        out = tmp_path / command
        res = CliRunner().invoke(app, [command, "-", "--out", str(out), "-q"], input=data)
        assert res.exit_code == 0, (command, res.output)
        assert __import__("json").loads((out / "summary.json").read_text(encoding="utf-8"))["counts"]["articles"] == 5


def _one_huge_line(suffix: str, size: int) -> bytes:
    """Two articles around a line of ``size`` bytes (one repeated letter), compressed piece by piece: a small file
    (zstd: ~4 KB for 64 MiB) that expands ~30,000 times, as a decompression bomb does."""
    new = {".gz": lambda: zlib.compressobj(6, zlib.DEFLATED, 31), ".bz2": bz2.BZ2Compressor, ".xz": lzma.LZMACompressor,
           ".zst": lambda: zstandard.ZstdCompressor().compressobj()}[suffix]
    article = b'{"id": "%s", "text": "the minister said on tuesday that the project would start next year"}\n'
    piece = b"a" * (1 << 20)
    c = new()
    out = [c.compress(article % b"first"), c.compress(b'{"id": "huge", "text": "')]
    out += [c.compress(piece) for _ in range(size >> 20)]
    out += [c.compress(b'"}\n' + article % b"last"), c.flush()]
    return b"".join(out)


@pytest.mark.parametrize("suffix", COMPRESSED_SUFFIXES)
def test_a_line_that_expands_hugely_is_skipped_without_being_held(tmp_path: Path, suffix: str) -> None:
    """gzip, bzip2 and xz hand out a buffer at a time, so a line past --max-record-bytes is skipped unread; zstd's
    decompressor gave all the output of each 128 KiB read at once (up to 4 GiB; here the whole 64 MiB line, twice
    over with the join). Every codec now holds a bounded amount whatever the line (zstd: at most 8 MiB of output a
    call, held twice while the zstandard package joins its pieces); the other codecs' lines are shorter only to keep
    the test fast (xz and bzip2 compress slowly), their bound does not depend on it."""
    import tracemalloc

    from dedup.config import ReadConfig
    from dedup.io.readers import read_articles

    size = (64 if suffix == ".zst" else 16) << 20
    path = tmp_path / f"feed.jsonl{suffix}"
    path.write_bytes(_one_huge_line(suffix, size))
    assert path.stat().st_size < size // 256
    tracemalloc.start()
    try:
        articles, bad = read_articles(path, ReadConfig(max_record_bytes=1 << 18, skip_bad=True))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [a.id for a in articles] == ["first", "last"]
    assert len(bad) == 1 and bad[0].line == 2 and "record too long" in bad[0].reason
    assert peak < 24 << 20, f"{peak / 2**20:.1f} MiB held while reading"
