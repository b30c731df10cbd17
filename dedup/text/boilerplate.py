"""Per-source boilerplate: short lines that recur across many articles of a source.

Navigation, "read also" headers, share bars and agency credits repeat across
an outlet's articles and would make unrelated articles look alike. They are
found from the feed itself: a normalized line is boilerplate for a source when
it occurs in at least ``min_articles`` of that source's articles and has at
most ``max_tokens`` tokens. Long repeated lines are left alone: they are
content, usually copies of one story. Nor is an article ever stripped to
nothing: one whose every line recurs is itself the recurring text (a short
flash reprinted four times, most often in a feed without sources, where every
article is of the one source ""), and is compared whole, so that its copies
are found instead of all being skipped. Boilerplate is left out of shingling;
the records written out are never modified.

The work is split so that a feed never has to be in memory at once: each
chunk of articles yields the 64-bit keys of its distinct short lines
(:func:`line_keys`, a hash of source and line), the counts over the whole
feed decide (:func:`find_boilerplate`), and each chunk is then stripped
(:func:`strip_boilerplate`) with the keys found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import xxhash

from ..config import BoilerplateConfig, NormalizeConfig

__all__ = ["Boilerplate", "find_boilerplate", "line_key", "line_keys", "line_keys_per_article", "strip_boilerplate",
           "without_boilerplate"]


def line_key(source: str, line: str) -> int:
    """The 64-bit key of a normalized line of a source (same in every process and run)."""
    return xxhash.xxh3_64_intdigest(f"{source}\x1f{line}".encode())


def line_keys(lines: Sequence[Sequence[str]], sources: Sequence[str], config: BoilerplateConfig) -> np.ndarray:
    """Keys of each article's distinct short lines (the only ones that can be boilerplate), flat."""
    return line_keys_per_article(lines, sources, config)[0]


def line_keys_per_article(
    lines: Sequence[Sequence[str]], sources: Sequence[str], config: BoilerplateConfig
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`line_keys` and how many of them each article has (``(keys, counts)``)."""
    if not config.enabled:
        return np.zeros(0, dtype=np.uint64), np.zeros(len(lines), dtype=np.int64)
    keys: list[int] = []
    per_article = np.zeros(len(lines), dtype=np.int64)
    max_tokens = config.max_tokens
    for k, (src, art_lines) in enumerate(zip(sources, lines)):
        # the short lines only go into the set: the long ones (most of a text) are never hashed as a whole
        mine = [line_key(src, line) for line in {line for line in art_lines if line.count(" ") < max_tokens}]
        per_article[k] = len(mine)
        keys += mine
    return np.array(keys, dtype=np.uint64), per_article


@dataclass(frozen=True)
class Boilerplate:
    """Boilerplate keys (sorted) with the number of articles holding each.

    ``lines`` maps a key to its ``(source, line)`` text for reporting; it is
    filled by the stripping pass (:meth:`with_lines`).
    """

    keys: np.ndarray
    counts: np.ndarray
    lines: dict[int, tuple[str, str]] = field(default_factory=dict)

    def key_set(self) -> frozenset[int]:
        """The keys as a set, for fast membership tests per line."""
        return frozenset(self.keys.tolist())

    def with_lines(self, found: Iterable[dict[int, tuple[str, str]]]) -> "Boilerplate":
        """The same boilerplate with the texts of the stripped lines attached."""
        lines: dict[int, tuple[str, str]] = {}
        for part in found:
            for key, text in part.items():
                lines.setdefault(key, text)
        return Boilerplate(self.keys, self.counts, lines)

    def per_source(self) -> dict[str, int]:
        """Number of boilerplate lines of each source (those seen while stripping)."""
        out: dict[str, int] = {}
        for source, _ in self.lines.values():
            out[source] = out.get(source, 0) + 1
        return out

    def report(self) -> list[dict[str, object]]:
        """Rows ``{"source", "line", "articles"}``, most frequent first (deterministic)."""
        count = dict(zip(self.keys.tolist(), self.counts.tolist()))
        rows = [{"source": s, "line": line, "articles": count[k]} for k, (s, line) in self.lines.items()]
        rows.sort(key=lambda r: (-int(r["articles"]), str(r["source"]), str(r["line"])))  # type: ignore[call-overload]
        return rows

    def __len__(self) -> int:
        return len(self.keys)


def find_boilerplate(
    keys: np.ndarray, config: BoilerplateConfig, prior: Callable[[np.ndarray], np.ndarray] | None = None
) -> Boilerplate:
    """Boilerplate from the :func:`line_keys` of every article of the feed.

    ``prior`` gives, for distinct keys, how many articles seen before this
    feed hold each line (a history index): they count towards ``min_articles``.

    >>> from dedup.config import BoilerplateConfig
    >>> cfg = BoilerplateConfig(min_articles=4)
    >>> arts = [["share this", "a story %d here" % i] for i in range(4)]
    >>> bp = find_boilerplate(line_keys(arts, ["x"] * 4, cfg), cfg)
    >>> strip_boilerplate(["share this", "a story"], "x", bp.key_set())[:2]
    ('a story', 1)
    """
    if not config.enabled or len(keys) == 0:
        return Boilerplate(np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64))
    uniq, counts = np.unique(keys, return_counts=True)
    if prior is not None:
        counts = counts + np.asarray(prior(uniq), dtype=counts.dtype)
    frequent = counts >= config.min_articles
    return Boilerplate(uniq[frequent], counts[frequent].astype(np.int64))


def strip_boilerplate(
    lines: Sequence[str], source: str, keys: frozenset[int], max_tokens: int | None = None
) -> tuple[str, int, dict[int, tuple[str, str]]]:
    """Join an article's normalized lines without its source's boilerplate.

    With ``max_tokens`` (the config's), lines too long to be boilerplate are
    kept without being hashed.

    Returns:
        ``(content, removed, found)``: the text to shingle, how many lines were
        left out, and the left-out lines by key. An article whose every line
        is boilerplate is kept whole (see the module docstring).

    >>> keys = frozenset({line_key("", "breaking a short flash"), line_key("", "share")})
    >>> strip_boilerplate(["breaking a short flash", "share"], "", keys)
    ('breaking a short flash share', 0, {})
    """
    if not keys:
        return " ".join(lines), 0, {}
    kept: list[str] = []
    found: dict[int, tuple[str, str]] = {}
    for line in lines:
        if max_tokens is not None and line.count(" ") >= max_tokens:
            kept.append(line)
            continue
        key = line_key(source, line)
        if key in keys:
            found[key] = (source, line)
        else:
            kept.append(line)
    if not kept:
        return " ".join(lines), 0, {}
    return " ".join(kept), len(lines) - len(kept), found


def without_boilerplate(texts: Sequence[str], sources: Sequence[str], keys: frozenset[int], normalize: NormalizeConfig,
                        max_tokens: int) -> list[str]:
    """Each raw text without the lines its source's boilerplate holds (the raw lines kept as they are), for display.

    A line is keyed as the comparison keys it: normalized (``normalize``,
    the run's), then :func:`line_key` with the article's source; lines of
    ``max_tokens`` tokens or more are never boilerplate.

    >>> keys = frozenset({line_key("site", "next previous site news")})
    >>> without_boilerplate(["Next | Previous Site – News\\nThe story.", "Next Previous"], ["site", "site"], keys,
    ...                     NormalizeConfig(), 20)
    ['The story.', 'Next Previous']
    """
    from .normalize import normalize_texts

    if not keys:
        return list(texts)
    split = [t.split("\n") for t in texts]
    flat = [line for lines in split for line in lines]
    normal = iter(normalize_texts(flat, normalize))
    out: list[str] = []
    for src, lines in zip(sources, split):
        kept, words = [], False
        for raw in lines:
            line = next(normal).strip()
            if not line or line.count(" ") >= max_tokens or line_key(src, line) not in keys:
                kept.append(raw)
                words = words or bool(line)
        out.append("\n".join(kept) if words else "\n".join(lines))  # every line boilerplate: compared whole
    return out
