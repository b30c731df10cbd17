"""news-please trees: ``.json`` files at any depth of a folder, one article object each.

news-please (https://github.com/fhamborg/news-please) stores every article it
crawls as one JSON object in its own file, with the fields ``title``,
``maintext``, ``date_publish``, ``source_domain`` and ``url`` (and
``authors``, ``description``, ``language``, …). The usual field detection
(:data:`~.records.FIELD_ALIASES`, or ``--*-field``) finds them: text ←
``maintext``, date ← ``date_publish``, source ← ``source_domain``, id ←
``url``. The whole tree is one source, fields detected from its first file.

Ids: the id field (``url``) where a file has a non-empty one; otherwise the
file's path relative to the folder, with ``/`` separators
(``example.com/2024/abc.json``): stable wherever the tree is copied, and
unique within it. Each file is located at its line (``file.json:1``, or the
line of a JSON error); a file that is not UTF-8, not JSON or not an object,
or larger than the record limit, is a bad record.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ...errors import InputNotFoundError, json_problem
from .jsonl import _TOO_DEEP
from .lines import _decode_document, _too_long
from .records import _Bad, _Items, _json_type, _Loc, _Named


def _newsplease_items(files: Sequence[Path], root: Path, limit: int | None = None) -> _Items:
    """One item per file, in the order given; ``root`` is the folder the fallback ids are relative to.

    A file of more than ``limit`` bytes is a bad record, not read (as a ``.txt`` article).
    """
    for path in files:
        name = str(path)
        try:
            size = path.stat().st_size
            if limit is not None and size > limit:
                yield _Loc(name, 1), _too_long(size, limit)
                continue
            data = path.read_bytes()
        except OSError as err:
            raise InputNotFoundError(f"{name}: cannot be read ({err.strerror}); check its permissions") from None
        text = _decode_document(data, name)
        if isinstance(text, tuple):
            yield _Loc(name, text[0]), _Bad(text[1])
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            yield _Loc(name, err.lineno), _Bad(
                f"malformed JSON ({json_problem(err.msg)} at column {err.colno}); a news-please file holds one JSON object"
            )
            continue
        except RecursionError:
            yield _Loc(name, 1), _Bad(_TOO_DEEP)
            continue
        if not isinstance(value, dict):
            yield _Loc(name, 1), _Bad(
                f"the file holds a JSON {_json_type(value)}, not one article object; in a folder read as a news-please "
                "tree each .json file is one article (pass a file of many records by its own name)"
            )
            continue
        yield _Loc(name, 1), _Named(value, path.relative_to(root).as_posix())
