"""Per-source boilerplate: short lines that recur across many articles of a source.

Navigation, "read also" headers, share bars and agency credits repeat across
an outlet's articles and would make unrelated articles look alike. They are
found from the feed itself: a normalized line is boilerplate for a source when
it occurs in at least ``min_articles`` of that source's articles and has at
most ``max_tokens`` tokens. Long repeated lines are left alone: they are
content, usually copies of one story. Boilerplate is left out of shingling;
the records written out are never modified.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .config import BoilerplateConfig

__all__ = ["Boilerplate", "find_boilerplate", "strip_boilerplate"]


@dataclass(frozen=True)
class Boilerplate:
    """Boilerplate lines per source: ``lines[source]`` is a frozenset of normalized lines."""

    lines: dict[str, frozenset[str]]
    counts: dict[tuple[str, str], int]

    def report(self) -> list[dict[str, object]]:
        """Rows ``{"source", "line", "articles"}``, most frequent first (deterministic)."""
        rows = [
            {"source": s, "line": line, "articles": c}
            for (s, line), c in self.counts.items()
            if line in self.lines.get(s, frozenset())
        ]
        rows.sort(key=lambda r: (-int(r["articles"]), str(r["source"]), str(r["line"])))  # type: ignore[call-overload]
        return rows


def find_boilerplate(
    lines: Sequence[Sequence[str]], sources: Sequence[str], config: BoilerplateConfig
) -> Boilerplate:
    """Find boilerplate lines.

    Args:
        lines: per article, its normalized non-empty lines.
        sources: per article, its source ("" when unknown: one shared source).
        config: thresholds.

    Returns:
        The boilerplate lines of each source.

    >>> arts = [["share this", "a story %d here" % i] for i in range(4)]
    >>> bp = find_boilerplate(arts, ["x"] * 4, BoilerplateConfig(min_articles=4))
    >>> sorted(bp.lines["x"])
    ['share this']
    """
    if not config.enabled:
        return Boilerplate({}, {})
    counts: Counter[tuple[str, str]] = Counter()
    for src, art_lines in zip(sources, lines):
        for line in set(art_lines):
            if line.count(" ") < config.max_tokens:
                counts[(src, line)] += 1
    found: dict[str, set[str]] = {}
    for (src, line), c in counts.items():
        if c >= config.min_articles:
            found.setdefault(src, set()).add(line)
    return Boilerplate({s: frozenset(v) for s, v in found.items()}, {k: c for k, c in counts.items() if c >= config.min_articles})


def strip_boilerplate(lines: Sequence[str], source: str, boilerplate: Boilerplate) -> tuple[str, int]:
    """Join an article's normalized lines without its source's boilerplate.

    Returns:
        ``(content, removed)``: the text to shingle and how many lines were left out.
    """
    drop = boilerplate.lines.get(source)
    if not drop:
        return " ".join(lines), 0
    kept = [line for line in lines if line not in drop]
    return " ".join(kept), len(lines) - len(kept)
