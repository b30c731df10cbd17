"""dedup.io.readers.plaintext: one article per .txt file, its headline found past the site chrome."""

from __future__ import annotations

from pathlib import Path

import pytest

from dedup.errors import InputNotFoundError
from dedup.io.readers.plaintext import _txt_files, _txt_items, text_headline
from dedup.io.readers.records import _Bad, _Loc


def _put(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


# ------------------------------------------------------------------ text_headline


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", "", id="empty"),
        pytest.param("\n \n\t\n", "", id="only-white-space"),
        pytest.param("  One line only  ", "One line only", id="one-line-stripped"),
        pytest.param("Menu\nLavrov meets Xi today\nLavrov and Xi met today in Beijing.", "Lavrov meets Xi today",
                     id="chrome-then-headline"),
        pytest.param("تابعونا\nقالَ الوزيرُ اليومَ\nقال الوزير اليوم في بيان", "قالَ الوزيرُ اليومَ",
                     id="arabic-diacritics-folded-the-line-returned-as-written"),
        pytest.param("Home\nA b c d\nA b c d", "Home", id="one-letter-words-do-not-count"),
        pytest.param("Home\nred green\nred green blue", "Home", id="two-words-are-too-few"),
        pytest.param("Home\nred green blue sky\nred green only", "red green blue sky", id="half-recurring-is-enough"),
        pytest.param("Home\nred green blue sky\nred only", "Home", id="a-quarter-is-not"),
        pytest.param("Home\nred red red green blue\nred and green", "red red red green blue", id="distinct-words-counted"),
        pytest.param("red green\nred green blue\nnothing else", "red green", id="earlier-lines-do-not-count"),
        pytest.param("Home,\n\n\nRED, green; blue!\n\nred green blue", "RED, green; blue!", id="blank-lines-and-punctuation"),
    ],
)
def test_text_headline(text: str, expected: str) -> None:
    assert text_headline(text) == expected


def test_only_the_first_lines_are_tried() -> None:
    text = "one\ntwo\nthree\nfour\nfive\nalpha beta gamma\nalpha beta gamma again"
    assert text_headline(text) == "one"  # the headline is the sixth non-empty line
    assert text_headline(text, lines=6) == "alpha beta gamma"
    assert text_headline("\n\n\none\n\n\nalpha beta gamma\nalpha beta gamma", lines=2) == "alpha beta gamma"  # blank lines are not tried


# ------------------------------------------------------------------ _txt_files


def test_a_file_is_its_own_list(tmp_path: Path) -> None:
    path = _put(tmp_path / "odd name.text", "x")
    assert _txt_files(path) == [path]


def test_a_folder_gives_its_txt_files_sorted_by_name(tmp_path: Path) -> None:
    for name in ("b.txt", "a.TXT", "c.txt.bak", ".hidden.txt", "notes.md", "B.txt"):
        _put(tmp_path / name, "x")
    (tmp_path / "dir.txt").mkdir()
    (tmp_path / "sub").mkdir()
    _put(tmp_path / "sub" / "deep.txt", "x")
    assert [p.name for p in _txt_files(tmp_path)] == ["B.txt", "a.TXT", "b.txt"]


def test_an_empty_folder(tmp_path: Path) -> None:
    assert _txt_files(tmp_path) == []


# ------------------------------------------------------------------ _txt_items


def test_items_are_id_title_and_the_whole_text(tmp_path: Path) -> None:
    text = "Menu\nقال الوزير اليوم\nقال الوزير اليوم في بيان\n"
    a = _put(tmp_path / "2024-01-02_story.txt", "\ufeff" + text)  # a byte-order mark is not text
    b = _put(tmp_path / "b.txt", "")
    assert list(_txt_items([a, b])) == [
        (_Loc(str(a), 1), {"id": "2024-01-02_story", "title": "قال الوزير اليوم", "text": text}),
        (_Loc(str(b), 1), {"id": "b", "title": "", "text": ""}),
    ]


def test_a_file_over_the_limit_is_bad_and_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = _put(tmp_path / "big.txt", "x" * 101)
    fits = _put(tmp_path / "fits.txt", "y" * 100)
    read: list[str] = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or original(self))
    items = list(_txt_items([big, fits], limit=100))
    assert read == ["fits.txt"]
    assert items[0][0] == _Loc(str(big), 1) and isinstance(items[0][1], _Bad)
    assert items[0][1].reason.startswith("record too long: 101 bytes > the limit of 100")
    assert items[1][1]["text"] == "y" * 100


def test_an_undecodable_file_is_bad_at_its_line(tmp_path: Path) -> None:
    path = _put(tmp_path / "a.txt", b"title\nbody \xe4\n")
    ((loc, value),) = list(_txt_items([path]))
    assert loc == _Loc(str(path), 2) and isinstance(value, _Bad) and "byte 0xE4 at column 6" in value.reason


def test_a_utf16_file_is_bad_and_says_so(tmp_path: Path) -> None:
    path = _put(tmp_path / "a.txt", "title\nbody".encode("utf-16"))
    ((loc, value),) = list(_txt_items([path]))
    assert loc.line == 1 and isinstance(value, _Bad) and "UTF-16" in value.reason


def test_a_file_that_vanished_is_not_found(tmp_path: Path) -> None:
    ok = _put(tmp_path / "a.txt", "x")
    items = _txt_items([ok, tmp_path / "gone.txt"])
    assert next(items)[1]["id"] == "a"
    with pytest.raises(InputNotFoundError, match="gone.txt: cannot be read"):
        next(items)
