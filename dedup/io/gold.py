"""Read gold labels for ``dedup eval``: labelled pairs or a cluster per article.

Pairs: JSONL lines with ``id1``, ``id2`` and ``label`` (true/false, 1/0, or a
name such as ``DUP``/``EVENT`` — which names count as "same" is the caller's
choice). Clusters: JSONL lines with ``id`` and ``cluster``. A gold file is a
path, ``-`` (stdin) or a URL (``s3://``, ``gs://``, ``https://``), perhaps
compressed, read as a feed's JSONL file is (:func:`~dedup.io.jsonl.json_objects`). A run written to a URL
(``--out s3://…``) is read from a local copy of the files scored (:func:`fetched_run`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..config import ReadConfig
from ..errors import InputError, InputFormatError, InputNotFoundError
from ..types import id_text
from .jsonl import json_objects

__all__ = ["EVAL_FILES", "fetched_run", "read_edges", "read_gold", "read_run", "run_command", "run_thresholds"]

# The files of a run that ``dedup eval`` reads besides its summary.json: the clusters (a dedupe run's decisions, a stories
# run's stories) and a dedupe run's verified edges, in either --output-format.
EVAL_FILES = ("decisions.jsonl", "decisions.parquet", "pairs.jsonl", "pairs.parquet", "stories.jsonl")


def _jsonl(path: str | Path, what: str, storage_options: Sequence[tuple[str, Any]] = (), expects: str = "",
           limit: int | None = None) -> list[tuple[int, dict[str, Any]]]:
    rows = list(json_objects(path, storage_options, expects=expects, limit=limit))
    if not rows:
        raise InputFormatError(f"empty {what}", str(path))
    return rows


def _needs(path: str | Path, lineno: int, row: dict[str, Any], keys: tuple[str, ...], what: str) -> None:
    missing = [k for k in keys if k not in row]
    if missing:
        raise InputFormatError(f"{what} line without {', '.join(missing)}", str(path), lineno)


def _an_id(value: Any) -> bool:
    """Whether a gold file's id names an article: a non-empty string or a number (null read as "None" before)."""
    return (isinstance(value, str) and value != "") or (isinstance(value, (int, float)) and not isinstance(value, bool))


def read_gold(path: str | Path, positive: set[str], storage_options: Sequence[tuple[str, Any]] = (),
              limit: int | None = ReadConfig.max_record_bytes) -> tuple[str, list[tuple[str, str, bool]] | dict[str, str]]:
    """Return ``("pairs", [(id1, id2, same)])`` or ``("clusters", {id: cluster})``.

    The first line says which kind the file is; every line must then have its fields.
    ``path`` may be a URL, read with ``storage_options`` (``--storage-option``). A line of more than ``limit``
    bytes (``--max-record-bytes``) is refused, not read whole. Ids that are whole numbers read as their digits
    (``1.0`` is ``"1"``, :func:`~dedup.types.id_text`), as a feed's do.

    Raises:
        InputNotFoundError: the file cannot be opened; for a URL, the object
            is not there or the storage cannot be reached (one line, as for a
            feed's URL).
        InputFormatError: a line lacks its fields, a label or cluster is
            null or empty (it would silently count as "not same", or join
            every such article in one cluster), a pair is an article with
            itself or is labelled twice, an article is given two clusters, or a
            line is longer than ``limit`` (file and line named).
    """
    rows = _jsonl(path, "gold file", storage_options, '{"id1", "id2", "label"} or {"id", "cluster"}', limit)
    first = rows[0][1]
    if {"id1", "id2", "label"} <= set(first):
        pairs = []
        seen: dict[tuple[str, str], int] = {}
        for lineno, r in rows:
            _needs(path, lineno, r, ("id1", "id2", "label"), "a labelled-pair")
            lab = r.get("label")
            if lab is None or lab == "" or isinstance(lab, (list, dict)):
                raise InputFormatError(f"label {json.dumps(lab)}: a pair needs a label (a name such as DUP, true or "
                                       "false, 1 or 0)", str(path), lineno)
            for key in ("id1", "id2"):
                if not _an_id(r[key]):
                    raise InputFormatError(f"{key} {json.dumps(r[key])}: a pair names two articles by their ids",
                                           str(path), lineno)
            a, b = id_text(r["id1"]), id_text(r["id2"])  # 1 and 1.0: one article, as the feeds read it
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
        clusters: dict[str, str] = {}
        first_line: dict[str, int] = {}
        for lineno, r in rows:
            _needs(path, lineno, r, ("id", "cluster"), "a cluster")
            if not _an_id(r["id"]):
                raise InputFormatError(f"id {json.dumps(r['id'])}: each line names an article by its id", str(path), lineno)
            c, i = r["cluster"], id_text(r["id"])
            if c is None or c == "" or isinstance(c, (list, dict)):
                raise InputFormatError(f"cluster {json.dumps(c)} of {i!r}: every article needs a cluster name (an "
                                       "article alone in its cluster gets a name of its own)", str(path), lineno)
            if i in clusters:
                raise InputFormatError(f"{i!r} is listed twice (line {first_line[i]} and here): an article is in one "
                                       "cluster", str(path), lineno)
            clusters[i], first_line[i] = str(c), lineno
        return "clusters", clusters
    raise InputFormatError(
        "gold lines need either id1, id2 and label (labelled pairs) or id and cluster (a cluster per article); "
        f"found fields: {', '.join(sorted(first))}",
        str(path),
        1,
    )


def read_run(run_dir: str | Path, level: str, skipped: set[str] | None = None) -> dict[str, str | None]:
    """Cluster of every article in a run: the duplicate group, or the event/storyline.

    Lines without an id (a record skipped with ``--skip-bad`` has ``"id":
    null``), or with an id that is not a string or number, name no article and
    are left out. ``skipped``: the ids of the articles the run skipped
    (``"status": "skipped"``: too short or too long to compare, alone in their
    cluster) are added to it.

    Raises:
        InputFormatError: the run is of another command than ``level`` scores
            (``summary.json`` names it; a run of an older version, by its files),
            or its file does not hold one line per record that ``summary.json``
            counts (a file of another run, or one cut short; checked for runs
            that name their command).
    """
    run = Path(run_dir)
    name = "decisions" if level == "group" else "stories"
    wanted = "dedupe" if level == "group" else "stories"
    summary = _summary(run)
    command = summary.get("command")
    if command is None:  # a run of an earlier version: told by its files
        other = "stories" if level == "group" else "decisions"
        if not any((run / f"{name}.{ext}").exists() for ext in ("jsonl", "parquet")) and (run / f"{other}.jsonl").exists():
            command = "stories" if other == "stories" else "dedupe"
        elif not any((run / f"{n}.jsonl").exists() for n in ("decisions", "stories")) and (run / "repeats.jsonl").exists():
            command = "repeats"
    if command is not None and command != wanted:
        hint = {"group": "use --level event or storyline", "event": "use --level group", "storyline": "use --level group"}
        what = ("duplicate groups (dedup dedupe)" if level == "group"
                else "the events and storylines of dedup stories")
        raise InputFormatError(f"a {command} run, not a {wanted} run: --level {level} scores {what}; "
                               + (hint[level] if command in ("dedupe", "stories") else
                                  "dedup eval scores the runs of dedup dedupe and dedup stories"), str(run))
    if not (run / f"{name}.jsonl").exists() and (run / f"{name}.parquet").exists():  # --output-format parquet
        import pyarrow.parquet as pq

        file = run / f"{name}.parquet"
        columns = ["id", level] + (["status"] if "status" in pq.read_schema(file).names else [])
        rows = pq.read_table(file, columns=columns).to_pylist()
    else:
        file = run / f"{name}.jsonl"
        rows = [r for _, r in _jsonl(file, f"{name} file of a run")]
    counts = summary.get("counts") if isinstance(summary.get("counts"), dict) else {}
    # a run that names its command writes a line per record, bad ones too (an earlier version's stories.jsonl
    # had no lines for its bad records: not checked)
    expected = (counts.get("records", counts.get("articles", 0) + counts.get("bad_records", 0))  # records: since it is counted
                if "articles" in counts and "command" in summary else None)
    if expected is not None and len(rows) != expected:
        raise InputFormatError(f"{len(rows)} lines, but the run's summary.json counts {expected} records: the file is "
                               "not this run's (another run wrote into the folder, or it was cut short); run it again",
                               str(file))
    named = [r for r in rows if isinstance(r.get("id"), (str, int, float)) and not isinstance(r.get("id"), bool)]
    if skipped is not None:
        skipped.update(id_text(r["id"]) for r in named if r.get("status") == "skipped")
    return {id_text(r["id"]): (None if r.get(level) is None else str(r.get(level))) for r in named}


def run_command(run_dir: str | Path) -> str | None:
    """The command that wrote the run in ``run_dir`` (``summary.json``'s ``command``; None when it does not say)."""
    command = _summary(Path(run_dir)).get("command")
    return command if isinstance(command, str) else None


# The settings that decide a clustering, per level scored: (name in the report, section of summary.json, key in it).
_THRESHOLDS = {
    "group": (("lsh_threshold", ("config", "dedupe", "index"), "threshold"), ("bands", ("sketch",), "bands"),
              ("rows", ("sketch",), "rows"), ("decision", ("config", "dedupe", "verify"), "decision"),
              ("min_probability", ("decision_model",), "min_probability"),
              ("jaccard", ("config", "dedupe", "verify"), "jaccard"),
              ("containment", ("config", "dedupe", "verify"), "containment"),
              ("min_cosine", ("config", "dedupe", "verify"), "min_cosine")),
    "event": (("event_threshold", ("config", "stories"), "event_threshold"),
              ("event_linkage", ("config", "stories"), "event_linkage"),
              ("window_days", ("config", "stories"), "window_days")),
    "storyline": (("storyline_threshold", ("config", "stories"), "storyline_threshold"),
                  ("storyline_linkage", ("config", "stories"), "storyline_linkage")),
}


def run_thresholds(run_dir: str | Path, level: str) -> dict[str, Any]:
    """The thresholds the run's clustering at ``level`` was made with, as its ``summary.json`` records them.

    A dedupe run's (``group``): the LSH threshold with its bands and rows, the decision (``model``: the
    probability from ``min_probability`` on; ``rule``: ``jaccard`` / ``containment`` / ``min_cosine``, only the
    decision's own); a stories run's events' or storylines' thresholds. Settings the summary does not hold (a run of
    an older version) are left out.
    """
    summary, found = _summary(Path(run_dir)), {}
    for name, section, key in _THRESHOLDS.get(level, ()):
        table: Any = summary
        for part in section:
            table = table.get(part) if isinstance(table, dict) else None
        if isinstance(table, dict) and key in table:
            found[name] = table[key]
    unused = {"model": ("jaccard", "containment", "min_cosine"), "rule": ("min_probability",)}.get(found.get("decision"), ())
    return {k: v for k, v in found.items() if k not in unused}


def _summary(run: Path) -> dict[str, Any]:
    """The run's ``summary.json`` as an object ({} when it cannot be read: the caller checked that it is there)."""
    try:
        data = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_edges(run_dir: str | Path) -> set[tuple[str, str]] | None:
    """The verified copy edges of a dedupe run (``pairs.jsonl``, or ``pairs.parquet``), each pair both ways; None without one.

    With the groups they make the run's duplicate graph: a labelled pair is
    found when both articles share a group or an edge joins them (a short item
    that two roundups hold is in one group at most, and linked to both).
    """
    run = Path(run_dir)
    if (run / "pairs.jsonl").exists():
        rows = [r for _, r in json_objects(run / "pairs.jsonl", limit=None)]  # (no edge at all: an empty file)
    elif (run / "pairs.parquet").exists():  # --output-format parquet
        import pyarrow.parquet as pq

        rows = pq.read_table(run / "pairs.parquet", columns=["id1", "id2"]).to_pylist()
    else:
        return None
    edges: set[tuple[str, str]] = set()
    for r in rows:
        a, b = r.get("id1"), r.get("id2")
        if a is not None and b is not None:
            edges.update(((id_text(a), id_text(b)), (id_text(b), id_text(a))))
    return edges


@contextmanager
def fetched_run(url: str, storage_options: Sequence[tuple[str, Any]] = ()) -> Iterator[Path]:
    """A local copy of the run an ``--out`` URL holds (``s3://bucket/prefix/``, ``gs://…``, ``https://…``): its
    ``summary.json`` and the :data:`EVAL_FILES` there, in a temporary folder removed when the block ends.

    Without a ``summary.json`` the folder is empty (the caller says that no finished run is there). The summary is
    read again after the files: a run uploaded there meanwhile (summary.json deleted first, written last) would have
    mixed two runs' files.

    Raises:
        InputNotFoundError: the storage cannot be reached or read, or the bucket does not exist (the URL named).
        InputError: the package for the protocol is not installed; or the run changed while it was read.
    """
    from ..store.spill import temporary_space
    from .remote import describe, filesystem

    fs, root = filesystem(url, storage_options, InputError)
    root = root.rstrip("/")

    def fetch(name: str, into: Path | None = None) -> bytes | None:
        """The object ``name`` of the run (written to ``into``); None when there is none."""
        try:
            if into is None:
                return fs.cat_file(f"{root}/{name}")
            fs.get_file(f"{root}/{name}", str(into))
            return b""
        except FileNotFoundError as err:
            if describe(err).startswith("no such bucket"):
                raise InputNotFoundError(f"{url}: {describe(err)}") from None
            return None
        except Exception as err:  # credentials, the endpoint, a server error: one line naming the URL
            raise InputNotFoundError(f"{url}: {describe(err)}") from None

    with temporary_space() as tmp:
        local = Path(tmp, "run")
        local.mkdir()
        summary = fetch("summary.json")
        if summary is not None:
            for name in EVAL_FILES:
                if fetch(name, local / name) is None:
                    (local / name).unlink(missing_ok=True)  # nothing half-written stands in for a file not there
            if fetch("summary.json") != summary:
                raise InputError(f"{url}: the run there changed while it was read (another run was writing its outputs "
                                 "there); run dedup eval again when it has finished")
            (local / "summary.json").write_bytes(summary)
        yield local
