"""Settings from outside the code: TOML files, ``summary.json`` sections and CLI options into frozen configs.

:mod:`dedup.config` says what each stage's settings are and which values are
allowed; this module fills them from plain data: :func:`from_dict` (a table
into a config, unknown keys refused), :func:`load_toml`, and the CLI's view of
the config fields (:func:`cli_fields`, :func:`build_settings`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import fields, is_dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from .config import DedupConfig  # noqa: F401  (the doctests name it)
from .errors import ConfigError

__all__ = ["TABLES", "build_settings", "cli_fields", "from_dict", "load_toml"]

T = TypeVar("T")


def from_dict(cls: type[T], data: Mapping[str, Any], where: str = "config") -> T:
    """Build the frozen config ``cls`` from plain data (a TOML table, a ``summary.json`` section).

    Nested tables fill nested configs; keys not given keep their defaults;
    lists become tuples. An unknown key is an error naming it and the keys
    allowed, so a typo in a config file never passes silently.

    >>> from_dict(DedupConfig, {"verify": {"jaccard": 0.5}}).verify.jaccard
    0.5
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a table of settings, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    hints = _type_hints(cls)
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown setting {key!r}; allowed: {', '.join(sorted(known))}")
        if not known[key].init:  # fixed by the code (e.g. the sketch scheme): only its own value is accepted
            if value != known[key].default:
                raise ConfigError(f"{where}.{key} is fixed to {known[key].default!r} in this version, got {value!r}")
            continue
        hint = hints[key]
        if is_dataclass(hint):
            kwargs[key] = from_dict(hint, value, f"{where}.{key}")  # type: ignore[arg-type]
        else:
            kwargs[key] = _typed(hint, tuple(value) if isinstance(value, list) else value, f"{where}: {key}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


def _typed(hint: Any, value: Any, where: str) -> Any:
    """``value`` as the field's type ``hint`` (an int where a float is asked is a float), or a :class:`ConfigError`.

    A config file's ``coalesce = "no"`` was taken as true (a string is truthy)
    and ``host = 5`` failed later with a traceback; a non-finite number
    (``inf``, ``nan``: TOML and the CLI both read them) passed range checks it
    cannot mean (``window_days = inf`` broke the stories tracker).

    >>> _typed(float, 3, "x")
    3.0
    >>> _typed(bool, "no", "[serve]: coalesce")
    Traceback (most recent call last):
    ...
    dedup.errors.ConfigError: [serve]: coalesce must be true or false, got 'no'
    >>> _typed(float | None, float("inf"), "[serve]: window_days")
    Traceback (most recent call last):
    ...
    dedup.errors.ConfigError: [serve]: window_days must be a finite number, got inf
    """
    import math
    import types
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):  # X | None
        return None if value is None else _typed(next(a for a in args if a is not type(None)), value, where)
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where} must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if origin is tuple and args[-1:] == (Ellipsis,) and args[0] is str:
        if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be a list of strings, got {value!r}")
        return value
    if hint in _NAMES:
        ok = isinstance(value, hint) and not (hint is not bool and isinstance(value, bool))
        if hint is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise ConfigError(f"{where} must be {_NAMES[hint]}, got {value!r}")
        if hint is float and not math.isfinite(value):
            raise ConfigError(f"{where} must be a finite number, got {value!r}")
    return value


def load_toml(path: str | Path) -> dict[str, Any]:
    """The tables of a TOML config file (``dedupe``, ``stories``, ``repeats``, ``runtime``).

    A UTF-8 byte-order mark is passed over (editors on Windows write one).

    Raises:
        ConfigError: the file is missing, not UTF-8 or not valid TOML (the
            message names the file and, for syntax errors and bad bytes, the line).
    """
    import tomllib

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a folder, not a config file") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:  # offsets into exc.object: the bytes after a byte-order mark
        line = exc.object.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}:{line}: the config file is not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
                          f"save it as UTF-8, e.g. iconv -f WINDOWS-1256 -t UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


TABLES = ("read", "dedupe", "stories", "repeats", "serve", "runtime")
"""The tables of a config file, and of ``summary.json``'s ``config``."""


@lru_cache(maxsize=None)
def _type_hints(cls: type) -> dict[str, Any]:
    """``get_type_hints(cls)``, evaluated once per class: every command of the CLI asks for its configs' options at start-up."""
    return get_type_hints(cls)


def cli_fields(cls: type, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """``(path, field, type)`` of every field of ``cls`` (nested configs included) that is a command-line option."""
    hints = _type_hints(cls)
    for f in fields(cls):
        hint = hints[f.name]
        if is_dataclass(hint):
            if f.metadata.get("cli", True) is not False:
                yield from cli_fields(hint, (*path, f.name))
        elif "cli" in f.metadata:
            yield (*path, f.name), f, hint


def build_settings(sections: dict[str, type], specs: list[tuple[str, str, tuple[str, ...], bool]], given: dict[str, Any], config_file: Path | None) -> dict[str, Any]:
    """Each section's config: its defaults, then the file's table, then the options given (not None).

    ``specs`` are ``(option name, section, field path, is a comma list)``.
    """
    tables: dict[str, Any] = load_toml(config_file) if config_file is not None else {}
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise ConfigError(f"{config_file}: unknown table [{unknown[0]}]; allowed: {', '.join(f'[{t}]' for t in TABLES)}")
    data = {section: _copy(tables.get(section, {})) for section in sections}
    for name, section, path, is_list in specs:
        value = given[name]
        if value is None:
            continue
        if is_list:
            value = [s.strip() for s in value.split(",") if s.strip()]
        else:  # checked here: a bad option value was blamed on the config file when there was one
            cls = sections[section]
            for key in path[:-1]:
                cls = _type_hints(cls)[key]
            value = _typed(_type_hints(cls)[path[-1]], value, f"options: [{section}]: {path[-1]}")
        node = data[section]
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    where = str(config_file) if config_file else "options"
    return {section: from_dict(cls, data[section], f"{where}: [{section}]") for section, cls in sections.items()}


def _copy(table: Any) -> Any:
    return {k: _copy(v) for k, v in table.items()} if isinstance(table, dict) else table
