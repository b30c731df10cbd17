"""Plain-text inputs: one article per ``.txt`` file, or a directory of them.

The id is the file stem, the title the first headline-like line
(:func:`text_headline`), the text the whole file. A file that is not UTF-8 is
a bad record located at its first undecodable line; a file larger than the
record limit is a bad record too, and is not read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ...errors import InputNotFoundError
from ...text.normalize import normalize_texts
from .lines import _decode_document, _too_long
from .records import _Bad, _Items, _Loc


def _txt_files(path: Path) -> list[Path]:
    """The articles of a txt input: the file itself, or a directory's ``.txt`` files sorted by name."""
    if not path.is_dir():
        return [path]
    # hidden files are editor and OS droppings, not articles
    files = [p for p in path.iterdir() if p.suffix.lower() == ".txt" and not p.name.startswith(".") and p.is_file()]
    files.sort(key=lambda p: p.name)
    return files


def _txt_items(files: Sequence[Path], limit: int | None = None) -> _Items:
    for path in files:
        try:
            size = path.stat().st_size
            if limit is not None and size > limit:  # never read whole: one article of gigabytes
                yield _Loc(str(path), 1), _too_long(size, limit)
                continue
            data = path.read_bytes()
        except OSError as err:
            raise InputNotFoundError(f"{path}: cannot be read ({err.strerror}); check its permissions") from None
        text = _decode_document(data, str(path))
        if isinstance(text, tuple):
            yield _Loc(str(path), text[0]), _Bad(text[1])
            continue
        yield _Loc(str(path), 1), {"id": path.stem, "title": text_headline(text), "text": text}


def text_headline(text: str, lines: int = 5) -> str:
    r"""The headline of a plain-text article: the first of its first ``lines`` non-empty lines that reads like one.

    Saved web pages often start with site chrome ("Get News Fast", a logo's
    alt text) before the headline. A line reads like a headline when it has
    at least three words (of two characters or more, normalized) and at
    least half of its distinct words recur in the lines after it: a headline
    announces what the body then tells. Failing that, the first non-empty
    line.

    >>> text_headline("Get News Fast\n\nLavrov meets Xi in Beijing\nXi met Lavrov in Beijing on Sunday.")
    'Lavrov meets Xi in Beijing'
    >>> text_headline("Short\nno body follows this line at all")
    'Short'
    """
    tokens = [line.split() for line in normalize_texts(text.splitlines())]  # one NumPy pass for all the lines
    later = Counter(w for line in tokens for w in line)  # tokens after the line under test
    first, tried = "", 0
    for line, words in zip(text.splitlines(), tokens):
        later.subtract(words)
        if not line.strip():
            continue
        first = first or line.strip()
        distinct = {w for w in words if len(w) >= 2}
        if len(distinct) >= 3 and 2 * sum(later[w] > 0 for w in distinct) >= len(distinct):
            return line.strip()
        tried += 1
        if tried == lines:
            break
    return first
