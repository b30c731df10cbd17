"""dedup.io.readers.archive: the JSON and JSON Lines members of a zip, each its own source, in name order."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import pytest
from _logs import captured

from dedup.errors import InputFormatError, InputNotFoundError
from dedup.io.readers.archive import _zip_sources
from dedup.io.readers.records import _Bad, _Line, _Loc


def _zip(path: Path, members: dict[str, str | bytes], **kw) -> Path:
    with zipfile.ZipFile(path, "w", **kw) as z:
        for name, data in members.items():
            if name.endswith("/"):
                z.mkdir(name.rstrip("/"))
            else:
                z.writestr(name, data)
    return path


def _values(items) -> list[tuple[_Loc, object]]:
    return [(loc, value.value if isinstance(value, _Line) else value) for loc, value in items]


def _read(sources) -> dict[str, list]:
    """Each source's items, read while the archive is open (before the next source is asked for)."""
    return {name: _values(items) for name, items in sources}


def _only(path: Path, name: str = "f.zip") -> tuple[str, list]:
    """The one member's name and its items (read while the archive is open); raises what reading raises."""
    for member, items in _zip_sources(path, name):
        return member, list(items)
    raise AssertionError("no member")


def test_readable_members_in_name_order(tmp_path: Path) -> None:
    path = _zip(tmp_path / "feeds.zip", {
        "b.jsonl": '{"id": "b1"}\n\n{"id": "b2"}\n',
        "a/x.NDJSON": '{"id": "a1"}\n',
        "c.json": '[{"id": "c1"}, {"id": "c2"}]',
        "notes.txt": "not read",
        "feed.csv": "id,text\nq,r\n",
        "dir/": "",
        "._b.jsonl": "macOS resource fork",
        "__MACOSX/b.jsonl": "macOS copy",
        "d.jsonl.gz": "compressed members are not read",
    })
    got = _read(_zip_sources(path, "feeds.zip"))
    assert list(got) == ["feeds.zip:a/x.NDJSON", "feeds.zip:b.jsonl", "feeds.zip:c.json"]
    assert got["feeds.zip:b.jsonl"] == [(_Loc("feeds.zip:b.jsonl", 1), {"id": "b1"}), (_Loc("feeds.zip:b.jsonl", 3), {"id": "b2"})]
    assert got["feeds.zip:a/x.NDJSON"] == [(_Loc("feeds.zip:a/x.NDJSON", 1), {"id": "a1"})]
    assert [value for _, value in got["feeds.zip:c.json"]] == [{"id": "c1"}, {"id": "c2"}]
    assert all(loc.is_index for loc, _ in got["feeds.zip:c.json"])  # records of a JSON document are numbered


def test_members_are_read_while_the_archive_is_open(tmp_path: Path) -> None:
    path = _zip(tmp_path / "f.zip", {"a.jsonl": '{"id": 1}\n', "b.jsonl": '{"id": 2}\n'}, compression=zipfile.ZIP_DEFLATED)
    values = [v.value for _, items in _zip_sources(path, "f.zip") for _, v in items]
    assert values == [{"id": 1}, {"id": 2}]


def test_an_empty_member_is_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _zip(tmp_path / "f.zip", {"a.jsonl": "", "b.jsonl": '{"id": 1}\n'})
    with captured("dedup.io.readers.archive", logging.WARNING, caplog):
        sources = list(_zip_sources(path, "f.zip"))
    assert [name for name, _ in sources] == ["f.zip:b.jsonl"]
    assert "skipping zip member f.zip:a.jsonl: it is empty" in caplog.text


@pytest.mark.parametrize(
    ("members", "pattern"),
    [
        pytest.param({}, "the archive holds no .json, .jsonl or .ndjson files", id="empty-archive"),
        pytest.param({"a.txt": "x", "__MACOSX/a.jsonl": "x"}, "holds no .json", id="nothing-readable"),
        pytest.param({"a.jsonl": "", "b.json": ""}, "holds only empty .json, .jsonl or .ndjson files", id="only-empty-members"),
    ],
)
def test_an_archive_without_a_readable_member(tmp_path: Path, members: dict, pattern: str) -> None:
    path = _zip(tmp_path / "f.zip", members)
    with pytest.raises(InputFormatError, match=pattern) as err:
        list(_zip_sources(path, "the-name"))
    assert err.value.path == "the-name"


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "f.zip"
    path.write_bytes(b'{"id": 1}\n')
    with pytest.raises(InputFormatError, match="not a valid zip archive; check the file or use --format"):
        list(_zip_sources(path, "f.zip"))


def test_a_missing_archive(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="absent.zip: cannot be read"):
        list(_zip_sources(tmp_path / "absent.zip", "absent.zip"))


def test_an_encrypted_member(tmp_path: Path) -> None:
    path = _zip(tmp_path / "f.zip", {"a.jsonl": '{"id": 1}\n'})
    data = bytearray(path.read_bytes())
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local header, central directory
        data[data.index(signature) + flags_at] |= 0x1  # marked encrypted: zipfile asks for a password
    path.write_bytes(bytes(data))
    with pytest.raises(InputFormatError, match="cannot open this zip member .*re-pack the archive without encryption") as err:
        _only(path)
    assert err.value.path == "f.zip:a.jsonl"


def test_a_corrupt_member_names_it(tmp_path: Path) -> None:
    path = _zip(tmp_path / "f.zip", {"a.jsonl": '{"id": "abcdefghijklmnop"}\n'})
    data = bytearray(path.read_bytes())
    at = data.index(b"abcdefghijklmnop")
    data[at : at + 4] = b"XXXX"  # the stored bytes no longer match their CRC
    path.write_bytes(bytes(data))
    with pytest.raises(InputFormatError, match="cannot read the file .*truncated or corrupt") as err:
        _only(path)
    assert err.value.path == "f.zip:a.jsonl"


def test_bad_lines_of_a_member_are_located_in_it(tmp_path: Path) -> None:
    path = _zip(tmp_path / "f.zip", {"a.jsonl": b'{"id": 1}\n{"id": \xff}\n'})
    _, got = _only(path)
    assert got[1][0] == _Loc("f.zip:a.jsonl", 2) and isinstance(got[1][1], _Bad)
    assert "pipe it through iconv" not in got[1][1].reason  # the member's name is given to the encoding hint
    assert "a.jsonl" in got[1][1].reason


def test_a_remote_archive_is_read_out_of_order(tmp_path: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    from dedup.io.remote import RemoteFile

    data = _zip(tmp_path / "f.zip", {"b.jsonl": '{"id": 2}\n', "a.jsonl": '{"id": 1}\n'}).read_bytes()
    fs = fsspec.filesystem("memory")
    fs.pipe("/dedup-test-archive/f.zip", data)
    try:
        remote = RemoteFile(fs, "/dedup-test-archive/f.zip", "memory://dedup-test-archive/f.zip", len(data))
        got = _read(_zip_sources(remote, str(remote)))
        assert got == {"memory://dedup-test-archive/f.zip:a.jsonl": [(_Loc("memory://dedup-test-archive/f.zip:a.jsonl", 1), {"id": 1})],
                       "memory://dedup-test-archive/f.zip:b.jsonl": [(_Loc("memory://dedup-test-archive/f.zip:b.jsonl", 1), {"id": 2})]}
    finally:
        fs.rm("/dedup-test-archive", recursive=True)
