"""Tests for dedup.io.writers: atomic replacement and the JSON helpers."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from dedup.io.writers import atomic_open, write_json, write_jsonl

ARABIC = "قالَ الرئيسُ: «أهلاً»، يوم ٣"


class Boom(Exception):
    pass


def tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def test_atomic_open_writes_through_a_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    with atomic_open(path) as out:
        out.write("hello\n")
        assert tmp_name(path).exists()
        assert not path.exists()
    assert path.read_text(encoding="utf-8") == "hello\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_open_binary(tmp_path: Path) -> None:
    path = tmp_path / "out.bin"
    with atomic_open(path, "wb") as out:
        out.write(b"\x00\xff")
    assert path.read_bytes() == b"\x00\xff"


def test_atomic_open_keeps_newlines_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    with atomic_open(path) as out:
        out.write("a\nb\n")
    assert path.read_bytes() == b"a\nb\n"


def _rows_then_boom() -> Iterator[dict]:
    yield {"id": 1}
    yield {"id": 2}
    raise Boom("the producer failed")


def _via_atomic_open(path: Path) -> None:
    with atomic_open(path) as out:
        out.write("partial")
        raise Boom("the writer failed")


WRITERS_THAT_FAIL: list[tuple[str, Callable[[Path], object], type[BaseException]]] = [
    ("atomic-open", _via_atomic_open, Boom),
    ("jsonl-generator-raises", lambda p: write_jsonl(p, _rows_then_boom()), Boom),
    ("jsonl-not-serializable", lambda p: write_jsonl(p, [{"ok": 1}, {"bad": object()}]), TypeError),
    ("json-not-serializable", lambda p: write_json(p, {"bad": {1, 2}}), TypeError),
    (
        "keyboard-interrupt",
        lambda p: write_jsonl(p, ({"i": i} if i < 3 else _interrupt() for i in range(5))),
        KeyboardInterrupt,
    ),
]


def _interrupt() -> dict:
    raise KeyboardInterrupt


@pytest.mark.parametrize(("write", "error"), [pytest.param(w, e, id=i) for i, w, e in WRITERS_THAT_FAIL])
@pytest.mark.parametrize("existing", [None, "old content\n"], ids=["no-old-file", "old-file"])
def test_a_failing_writer_leaves_no_partial_file(
    tmp_path: Path, write: Callable[[Path], object], error: type[BaseException], existing: str | None
) -> None:
    path = tmp_path / "out.jsonl"
    if existing is not None:
        path.write_text(existing, encoding="utf-8")
    with pytest.raises(error):
        write(path)
    assert not tmp_name(path).exists()
    if existing is None:
        assert list(tmp_path.iterdir()) == []
    else:
        assert path.read_text(encoding="utf-8") == existing
        assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_atomic_open_replaces_an_old_file(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old", encoding="utf-8")
    with atomic_open(path) as out:
        out.write("new")
    assert path.read_text(encoding="utf-8") == "new"


@pytest.mark.parametrize("mode", ["a", "r", "w+", "x"])
def test_atomic_open_rejects_other_modes(tmp_path: Path, mode: str) -> None:
    with pytest.raises(ValueError, match="mode must be one of"), atomic_open(tmp_path / "out", mode):
        pass  # pragma: no cover
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param([], "", id="empty"),
        pytest.param([{"a": 1, "b": [1, 2]}], '{"a":1,"b":[1,2]}\n', id="compact"),
        pytest.param(
            [{"t": ARABIC}], json.dumps({"t": ARABIC}, ensure_ascii=False, separators=(",", ":")) + "\n", id="arabic"
        ),
        pytest.param([{"t": "a\nb"}, {"t": "\u2028"}], '{"t":"a\\nb"}\n{"t":"\u2028"}\n', id="newlines-escaped"),
        pytest.param(
            [{"n": np.int64(3), "x": np.float32(0.5), "v": np.arange(3)}], '{"n":3,"x":0.5,"v":[0,1,2]}\n', id="numpy"
        ),
    ],
)
def test_write_jsonl(tmp_path: Path, rows: list[dict], expected: str) -> None:
    path = tmp_path / "out.jsonl"
    assert write_jsonl(path, iter(rows)) == len(rows)
    assert path.read_bytes() == expected.encode("utf-8")
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n")[:-1]] == json.loads(
        json.dumps(rows, default=lambda o: o.tolist())
    )


def test_write_json(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    obj = {"title": ARABIC, "counts": {"n": np.int64(2)}, "path": tmp_path / "x"}
    write_json(path, obj)
    text = path.read_text(encoding="utf-8")
    assert (
        text
        == json.dumps({"title": ARABIC, "counts": {"n": 2}, "path": str(tmp_path / "x")}, ensure_ascii=False, indent=2)
        + "\n"
    )
    assert ARABIC in text


@pytest.mark.parametrize("piece", [1, 7, 1 << 20])
def test_write_json_written_in_pieces_is_json_dumps_byte_for_byte(tmp_path: Path, monkeypatch, piece: int) -> None:
    """However the text is cut into writes, the file is json.dumps' text; a lone surrogate escapes the whole file."""
    import dedup.io.writers as writers

    monkeypatch.setattr(writers, "_JSON_WRITE", piece)
    events = [{"event": f"e{i}", "label": ARABIC * (i % 3), "members": [f"m{j}" for j in range(i)], "groups": [{"size": i}]}
              for i in range(40)]
    path = tmp_path / "events.json"
    write_json(path, events)
    assert path.read_bytes() == (json.dumps(events, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    events[25]["label"] = "bad \ud800 half"  # not encodable as UTF-8: escaped, every other character too
    write_json(path, events)
    assert path.read_bytes() == (json.dumps(events, ensure_ascii=True, indent=2) + "\n").encode("ascii")
    assert os.listdir(tmp_path) == ["events.json"]


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda p: write_jsonl(p, [{"a": 1}]), id="jsonl"),
        pytest.param(lambda p: write_json(p, {"a": 1}), id="json"),
    ],
)
def test_parent_directories_are_created(tmp_path: Path, write: Callable[[Path], object]) -> None:
    path = tmp_path / "results" / "run 1" / "out.json"
    write(path)
    assert path.is_file()
    assert os.listdir(path.parent) == ["out.json"]


def test_write_lines_writes_the_lines_as_given_atomically(tmp_path: Path) -> None:
    from dedup.io.writers import write_lines

    path = tmp_path / "out" / "x.jsonl"
    assert write_lines(path, ['{"a":1}\n', '{"b":"قال"}\n']) == 2
    assert path.read_text(encoding="utf-8") == '{"a":1}\n{"b":"قال"}\n'

    def failing():
        yield '{"c":3}\n'
        raise RuntimeError("stopped")

    with pytest.raises(RuntimeError):
        write_lines(path, failing())
    assert path.read_text(encoding="utf-8") == '{"a":1}\n{"b":"قال"}\n'  # the old file stays whole


@pytest.mark.parametrize("in_kernel", [True, False])
def test_parts_joined_make_the_file_and_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_kernel: bool) -> None:
    from dedup.io.writers import join_parts, part_path, write_part

    if not in_kernel:  # a file system that refuses the in-kernel copy: read and written instead
        def refuse(*args: object) -> int:
            raise OSError(18, "Invalid cross-device link")

        monkeypatch.setattr(os, "copy_file_range", refuse, raising=False)
    target = tmp_path / "out" / "decisions.jsonl"  # a folder nobody made yet: a worker may write its part first
    chunks = [["ا\n", "b\n"], [], ["c" * 100_000 + "\n"]]
    parts = [part_path(target, k) for k in range(len(chunks))]
    assert all(p.name.startswith(".decisions.jsonl.part") and p.name.endswith(f".tmp-{os.getpid()}") for p in parts)
    assert [write_part(p, lines) for p, lines in zip(parts, chunks)] == [2, 0, 1]
    join_parts(target, parts)
    assert target.read_text(encoding="utf-8") == "".join(line for lines in chunks for line in lines)
    assert sorted(p.name for p in target.parent.iterdir()) == ["decisions.jsonl"]


def test_a_missing_part_fails_the_join_and_leaves_neither_file_nor_parts(tmp_path: Path) -> None:
    from dedup.io.writers import join_parts, part_path, write_part

    target = tmp_path / "decisions.jsonl"
    write_part(part_path(target, 0), ["a\n"])
    with pytest.raises(FileNotFoundError):
        join_parts(target, [part_path(target, 0), part_path(target, 1)])
    assert list(tmp_path.iterdir()) == []


def test_a_device_or_a_pipe_is_written_in_place_not_replaced(tmp_path: Path) -> None:
    """`dedup similarity … --out /dev/null` run as root renamed its file onto /dev/null: the null device became a file."""
    import os
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    with atomic_open(fifo) as f:
        f.write("one line\n")
    reader.join(10)
    assert got == [b"one line\n"] and stat.S_ISFIFO(os.stat(fifo).st_mode)
    try:
        os.mknod(tmp_path / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a null device of our own (needs root)
    except PermissionError:
        return
    with atomic_open(tmp_path / "null", "wb") as f:
        f.write(b"gone")
    assert stat.S_ISCHR(os.stat(tmp_path / "null").st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null", "pipe"]  # no temporary file left beside them


def test_check_output_of_a_device_writes_no_probe_beside_it(tmp_path: Path) -> None:
    """Checking --out /dev/null wrote a probe file into /dev (and failed for a user who may not write there)."""
    from dedup.io.writers import check_output

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert check_output(fifo, is_dir=False) == fifo
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]
