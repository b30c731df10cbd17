"""Read gold labels for ``dedup eval``: labelled pairs or a cluster per article.

Pairs: JSONL lines with ``id1``, ``id2`` and ``label`` (true/false, 1/0, or a
name such as ``DUP``/``EVENT`` — which names count as "same" is the caller's
choice). Clusters: JSONL lines with ``id`` and ``cluster``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InputFormatError
from .jsonl import json_objects

__all__ = ["read_edges", "read_gold", "read_run"]


def _jsonl(path: Path, what: str) -> list[tuple[int, dict[str, Any]]]:
    rows = list(json_objects(path))
    if not rows:
        raise InputFormatError(f"empty {what}", str(path))
    return rows


def _needs(path: str | Path, lineno: int, row: dict[str, Any], keys: tuple[str, ...], what: str) -> None:
    missing = [k for k in keys if k not in row]
    if missing:
        raise InputFormatError(f"{what} line without {', '.join(missing)}", str(path), lineno)


def read_gold(path: str | Path, positive: set[str]) -> tuple[str, list[tuple[str, str, bool]] | dict[str, str]]:
    """Return ``("pairs", [(id1, id2, same)])`` or ``("clusters", {id: cluster})``.

    The first line says which kind the file is; every line must then have its fields.

    Raises:
        InputFormatError: a line lacks its fields, or a pair is an article
            with itself or is labelled twice (file and line named).
    """
    rows = _jsonl(Path(path), "gold file")
    first = rows[0][1]
    if {"id1", "id2", "label"} <= set(first):
        pairs = []
        seen: dict[tuple[str, str], int] = {}
        for lineno, r in rows:
            _needs(path, lineno, r, ("id1", "id2", "label"), "a labelled-pair")
            lab = r.get("label")
            a, b = str(r["id1"]), str(r["id2"])
            if a == b:
                raise InputFormatError(f"a pair of {a!r} with itself: a pair names two articles", str(path), lineno)
            key = (min(a, b), max(a, b))
            if key in seen:
                raise InputFormatError(f"the pair {a!r}, {b!r} is labelled twice (line {seen[key]} and here): "
                                       "each pair once, or it counts twice", str(path), lineno)
            seen[key] = lineno
            same = lab in positive if isinstance(lab, str) else bool(lab)
            pairs.append((a, b, same))
        return "pairs", pairs
    if {"id", "cluster"} <= set(first):
        for lineno, r in rows:
            _needs(path, lineno, r, ("id", "cluster"), "a cluster")
        return "clusters", {str(r["id"]): str(r["cluster"]) for _, r in rows}
    raise InputFormatError(
        "gold lines need either id1, id2 and label (labelled pairs) or id and cluster (a cluster per article); "
        f"found fields: {', '.join(sorted(first))}",
        str(path),
        1,
    )


def read_run(run_dir: str | Path, level: str) -> dict[str, str | None]:
    """Cluster of every article in a run: the duplicate group, or the event/storyline.

    Lines without an id (a record skipped with ``--skip-bad`` has ``"id":
    null``), or with an id that is not a string or number, name no article and
    are left out.
    """
    run = Path(run_dir)
    name = "decisions" if level == "group" else "stories"
    other = "stories" if level == "group" else "decisions"
    if not any((run / f"{name}.{ext}").exists() for ext in ("jsonl", "parquet")) and (run / f"{other}.jsonl").exists():
        raise InputFormatError(f"a {'stories' if other == 'stories' else 'dedupe'} run ({other}.jsonl), not a "
                               f"{'dedupe' if level == 'group' else 'stories'} run: --level {level} scores "
                               f"{'duplicate groups (dedup dedupe)' if level == 'group' else 'the events and storylines of dedup stories'}"
                               f"; {'use --level event or storyline' if level == 'group' else 'use --level group'}", str(run))
    if not (run / f"{name}.jsonl").exists() and (run / f"{name}.parquet").exists():  # --output-format parquet
        import pyarrow.parquet as pq

        rows = pq.read_table(run / f"{name}.parquet", columns=["id", level]).to_pylist()
    else:
        rows = [r for _, r in _jsonl(run / f"{name}.jsonl", f"{name} file of a run")]
    return {
        str(r["id"]): (None if r.get(level) is None else str(r.get(level)))
        for r in rows
        if isinstance(r.get("id"), (str, int, float)) and not isinstance(r.get("id"), bool)
    }


def read_edges(run_dir: str | Path) -> set[tuple[str, str]] | None:
    """The verified copy edges of a dedupe run (``pairs.jsonl``, or ``pairs.parquet``), each pair both ways; None without one.

    With the groups they make the run's duplicate graph: a labelled pair is
    found when both articles share a group or an edge joins them (a short item
    that two roundups hold is in one group at most, and linked to both).
    """
    run = Path(run_dir)
    if (run / "pairs.jsonl").exists():
        rows = [r for _, r in json_objects(run / "pairs.jsonl")]  # (no edge at all: an empty file)
    elif (run / "pairs.parquet").exists():  # --output-format parquet
        import pyarrow.parquet as pq

        rows = pq.read_table(run / "pairs.parquet", columns=["id1", "id2"]).to_pylist()
    else:
        return None
    edges: set[tuple[str, str]] = set()
    for r in rows:
        a, b = r.get("id1"), r.get("id2")
        if a is not None and b is not None:
            edges.update(((str(a), str(b)), (str(b), str(a))))
    return edges
