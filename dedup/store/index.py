"""The history index: what a run keeps of every article it has seen, for the next feed.

A feed deduplicated with ``--index LOCATION`` is compared within itself and
with the history, then its articles are added. The index holds what
verification needs and never the texts: per article its id, date, source,
length and decision; per distinct text (representative) its signature,
shingle count, digest, anchors and verification features; the LSH band keys
and anchor grams that lead a new article to its candidates; per source the
number of articles holding each short line (so boilerplate is counted over
the history too); and the verified edges.

Two kinds of location:

* a file path: an embedded SQLite database (:mod:`dedup.store.index_sqlite`);
* ``redis://host:port/N``: a shared Redis server (:mod:`dedup.store.index_redis`);

:func:`dedup.store.history.open_index` opens either.

Both implement :class:`HistoryIndex`. Rows are numbered in the order articles
were read (each run reserves the numbers after the last one), so the input
order of everything ever seen is known without the texts: a historical
article comes before every new one, as it would in one batch over all days.

Parameters that make sketches comparable are written when the index is
created and checked on every open (:func:`sketch_params`).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..config import DedupConfig
from ..errors import DedupError
from ..sketch.features import KGRAM_HASH, KGRAM_TOKENS, Features
from ..types import iso_time  # noqa: F401 - where the service has always found it

__all__ = [
    "ArticleRecord",
    "HistoryIndex",
    "HistoryError",
    "IndexBatch",
    "StoredGroup",
    "StoredSketches",
    "WaitCalledOff",
    "Waiting",
    "check_params",
    "this_process",
    "sketch_params",
]

SCHEMA_VERSION = 2  # 2: each sketch keeps its ordered word k-gram hashes (passage alignment)


class HistoryError(DedupError, RuntimeError):
    """The index cannot be opened or used (wrong parameters, unreachable server, corrupt file)."""


class WaitCalledOff(HistoryError):
    """A run waiting for another run's lock on the index was called off (the service stops) before it took the lock."""


# How a run waits for another run's lock (:meth:`HistoryIndex.writer`, :meth:`HistoryIndex.tracker`): told why, once,
# before it waits. It may return an event: setting it calls the wait off (:class:`WaitCalledOff`), which a service
# that stops does (another process's run may hold the lock for minutes); None waits for as long as it takes.
Waiting = Callable[[str], "threading.Event | None"]
LOCK_POLL_SECONDS = 0.25  # how often a wait that may be called off tries the lock again


def this_process() -> str:
    """How a lock on the index names its holder, this process (in the message another run waiting for it is told:
    ``(pid 123 on host)``), so that a service tells its own brief holds from another process's run."""
    return f"pid {os.getpid()} on {socket.gethostname()}"



def sketch_params(config: DedupConfig) -> dict[str, Any]:
    """The settings that make stored sketches comparable with a new run's.

    Signatures (scheme, permutations, seed), what is shingled (normalization,
    shingles, boilerplate rule), the LSH band layout and the anchors: a run
    with different values would compare incomparable numbers.
    """
    from ..candidates import band_params

    bands, rows = band_params(config.index.threshold, config.minhash.num_perm, config.index.fp_weight)
    return {
        "schema": SCHEMA_VERSION,
        "scheme": config.minhash.scheme,
        "num_perm": config.minhash.num_perm,
        "seed": config.minhash.seed,
        "shingle": {"kind": config.shingle.kind, "k": config.shingle.k},
        "normalize": {
            "fold_teh_marbuta": config.normalize.fold_teh_marbuta,
            "fold_alef_maksura": config.normalize.fold_alef_maksura,
            "repair": config.normalize.repair,
        },
        "boilerplate": {
            "enabled": config.boilerplate.enabled,
            "min_articles": config.boilerplate.min_articles,
            "max_tokens": config.boilerplate.max_tokens,
        },
        "clean_repeats": config.clean_repeats,
        "kgrams": {"k": KGRAM_TOKENS, "hash": KGRAM_HASH},  # the stored ordered k-gram sequences (passage alignment)
        "bands": bands,
        "rows": rows,
        # without anchors (--no-anchors) no anchor key is stored: such an index and an anchored one cannot be mixed (one
        # run without them left the stored long articles unfindable by the containment anchors of later runs)
        # recorded either way: an anchored index of short texts holds no anchor key, like one made without anchors
        "anchors": {"k": config.index.anchor_k, "sample": config.index.anchor_sample, "enabled": config.index.anchors},
    }


def _diff(stored: Any, wanted: Any, prefix: str = "") -> list[str]:
    if isinstance(stored, dict) and isinstance(wanted, dict):
        out: list[str] = []
        for key in sorted(set(stored) | set(wanted)):
            out += _diff(stored.get(key), wanted.get(key), f"{prefix}{key}.")
        return out
    if stored == wanted:
        return []
    if prefix == "anchors.enabled.":  # said as the option says it
        return [f"{'--no-anchors' if stored is False else 'anchors'} (this run: {'--no-anchors' if wanted is False else 'anchors'})"]
    if prefix == "schema.":  # not a setting: the layout of another version of dedup
        return [f"schema={stored!r} (this version of dedup reads {wanted!r}: the index was made by "
                f"{'a newer' if isinstance(stored, int) and isinstance(wanted, int) and stored > wanted else 'an older'} "
                "version)"]
    return [f"{prefix.rstrip('.')}={stored!r} (this run: {wanted!r})"]


def anchors_as_made(stored: dict[str, Any], texts: Callable[[], int], anchor_keys: Callable[[], int]) -> dict[str, Any]:
    """The stored settings, with ``anchors.enabled`` filled in for an index made before the setting was recorded.

    Such an index recorded the anchors' sizes either way; one made without
    anchors is known by its texts holding no anchor key. (An index made
    since records the setting: an anchored index of short texts holds no
    anchor key either.)

    >>> anchors_as_made({"anchors": {"k": 8, "sample": 8}}, lambda: 3, lambda: 0)
    {'anchors': {'k': 8, 'sample': 8, 'enabled': False}}
    >>> anchors_as_made({"anchors": {"k": 8, "sample": 8}}, lambda: 3, lambda: 40)
    {'anchors': {'k': 8, 'sample': 8, 'enabled': True}}
    >>> anchors_as_made({"anchors": {"k": 8, "sample": 8, "enabled": True}}, lambda: 3, lambda: 0)
    {'anchors': {'k': 8, 'sample': 8, 'enabled': True}}
    """
    made = stored.get("anchors")
    if isinstance(made, dict) and "enabled" not in made:
        return {**stored, "anchors": {**made, "enabled": not (texts() > 0 and anchor_keys() == 0)}}
    return stored


def check_params(location: str, stored: dict[str, Any], wanted: dict[str, Any]) -> None:
    """Raise a one-line :class:`HistoryError` when the index was built with other sketch settings."""
    diffs = _diff(stored, wanted)
    if diffs:
        raise HistoryError(
            f"{location}: the index was built with other settings: {', '.join(diffs[:4])}"
            f"{' …' if len(diffs) > 4 else ''}; run with the index's settings or use a new index"
        )


@dataclass
class ArticleRecord:
    """One article as the index keeps it (no text)."""

    row: int
    id: str
    date: str | None
    time: float  # NaN when undated
    source: str
    length: int
    status: int  # results.KEPT / DUPLICATE / SKIPPED
    group: str | None  # group name (the id of its first member), None when alone
    keeper: int  # row of the group's kept article (own row when kept or alone, -1 skipped)
    center: int  # representative row of the keeper (-1 skipped): the star the article belongs to
    rep: int  # row of the representative of its text (-1 skipped)
    relation: int  # relation code to the keeper (verify.NONE when not a duplicate)
    scores: tuple[float, float, float, float]  # jaccard, containment, cosine, probability vs the keeper (NaN when none;
    # probability NaN under the rule, and for articles stored before the index kept it)
    reason: str  # why skipped, or ""

    def to_json(self, keeper_id: str | None = None, said: bool = False, keeper_pruned: bool = False) -> dict[str, Any]:
        """The record as data; ``keeper_id`` names the kept article of a duplicate (``duplicate_of``); with ``said``
        (``dedup index export``), a kept or duplicate record's reason is said from what is stored (it was "");
        ``keeper_pruned``: that keeper was pruned from the index (``keeper_id`` the id prune kept of it, or None)."""
        from ..results import DUPLICATE, STATUS
        from ..verify import RELATIONS

        def r(x: float) -> float | None:
            return None if x != x else round(float(x), 4)

        return {
            "row": self.row,
            "id": self.id,
            "date": self.date,
            "source": self.source or None,  # null when unknown, as the date (stored as "")
            "length": self.length,
            "status": STATUS[self.status],
            "group": self.group,
            "keeper_row": self.keeper if self.keeper >= 0 else None,
            "duplicate_of": keeper_id if self.status == DUPLICATE else None,
            "relation": RELATIONS[self.relation],
            "scores": None if self.scores[0] != self.scores[0] else dict(zip(("jaccard", "containment", "cosine", "probability"),
                                                                           map(r, self.scores))),
            "reason": self.reason or (self._said(keeper_id, keeper_pruned or keeper_id is None) if said else ""),
        }

    def _said(self, keeper_id: str | None, pruned: bool = False) -> str:
        """A kept or duplicate record's reason, from what is stored (only skips store theirs); ``pruned``: its keeper
        is no longer in the index, ``keeper_id`` None when its id was not kept either (pruned by an earlier version)."""
        from ..results import DUPLICATE, KEPT
        from ..verify import RELATIONS

        if self.status == DUPLICATE:
            if keeper_id is None:  # its keeper was pruned from the index, its id with it
                return f"{RELATIONS[self.relation]} copy of row {self.keeper}, no longer in the index (pruned)"
            if pruned:
                return f"{RELATIONS[self.relation]} copy of {keeper_id} (row {self.keeper}), since pruned from the index"
            return f"{RELATIONS[self.relation]} copy of {keeper_id}"
        if self.status == KEPT:
            return f"kept: the keeper of group {self.group}" if self.group is not None else "no duplicate found"
        return ""


@dataclass
class StoredSketches:
    """The comparison data of some representative rows, in the order asked."""

    rows: np.ndarray  # (h,) int64
    digest: np.ndarray  # (h,) uint64
    sizes: np.ndarray  # (h,) int64
    signatures: np.ndarray  # (h, num_perm) uint32
    features: Features


@dataclass
class StoredGroup:
    """A duplicate group as the index holds it: members in row order and the verified edges among them."""

    members: list[ArticleRecord]  # the members, and the article the group is named after (its first member)
    edges: np.ndarray  # (e, 2) rows, a < b
    edge_relation: np.ndarray  # (e,) relation codes
    edge_scores: np.ndarray  # (e, 5) jaccard, containment of a in b, of b in a, cosine, probability (NaN: none kept)


@dataclass
class IndexBatch:
    """Everything one transaction adds: articles, their sketches, keys and edges."""

    articles: list[ArticleRecord]
    sketch_rows: np.ndarray  # (r,) rows of the new representatives among ``articles``
    digest: np.ndarray  # (r,) uint64
    sizes: np.ndarray  # (r,)
    signatures: np.ndarray  # (r, num_perm) uint32
    features: Features  # r rows
    band_keys: np.ndarray  # (r, bands) uint64
    anchors: list[np.ndarray]  # per new representative, its anchor grams (uint64)
    edges: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))  # (e, 2) rows
    edge_relation: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    edge_scores: np.ndarray = field(default_factory=lambda: np.zeros((0, 5)))  # jaccard, c_ab, c_ba, cosine, probability
    # stored keepers that were alone and now keep a group (their records with it): the group of a keeper stored
    # before its first copy read null ever after, in export and in the service's answers
    regrouped: list[ArticleRecord] = field(default_factory=list)
    # rows of stored skips (nothing of their text stored: empty, too short…) whose ids come again with another text,
    # decided anew in this batch: their records are replaced (an id stored empty was skipped as "already in the index"
    # ever after)
    replaced: list[int] = field(default_factory=list)


class HistoryIndex(Protocol):
    """What the dedupe flow asks of a history index (SQLite and Redis both answer it)."""

    location: str
    params: dict[str, Any]
    stories: Any  # a dedup.store.story_log.StoryLog: the events tracked by `dedup stories --index`

    def writer(self, on_wait: Waiting | None = None) -> Any:
        """A context manager held for a whole run that adds: one writer at a time (others wait, with a message:
        :data:`Waiting`)."""
        ...

    def tracker(self, on_wait: Waiting | None = None) -> Any:
        """A context manager held while a ``stories`` run places articles into the events the index tracks: one
        tracker at a time (others wait, with a message: :data:`Waiting`), while writers add articles meanwhile (the stories state has
        a version of its own: :mod:`dedup.store.story_log`)."""
        ...

    def next_row(self) -> int:
        """The row number after the last one ever used."""
        ...

    def article_count(self) -> int:
        """How many articles the index holds (pruned ones gone: fewer than :meth:`next_row` after a prune)."""
        ...

    def known_ids(self, ids: list[str]) -> dict[str, ArticleRecord]:
        """The records of those ``ids`` already in the index."""
        ...

    def line_counts(self, keys: np.ndarray) -> np.ndarray:
        """How many indexed articles hold each boilerplate line key (0 when unseen)."""
        ...

    def rows_by_digest(self, digests: np.ndarray) -> dict[int, int]:
        """digest → representative row, for the digests that are in the index."""
        ...

    def digests(self, rows: np.ndarray) -> dict[int, int]:
        """representative row → the digest of its text, for the rows whose sketch is in the index (a pruned one's is
        not)."""
        ...

    def rows_by_keys(self, kind: str, keys: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
        """``(query positions, rows)`` of the stored ``kind`` ("band" or "anchor") keys equal to ``keys``.

        A key shared by more than ``limit`` stored rows answers its first
        ``limit`` rows only (a capped bucket, as in a batch run).
        """
        ...

    def articles(self, rows: np.ndarray) -> list[ArticleRecord]:
        """The article records of ``rows`` (rows not in the index are left out)."""
        ...

    def sketches(self, rows: np.ndarray) -> StoredSketches:
        """The comparison data of representative ``rows`` (all must exist)."""
        ...

    def add(self, batch: IndexBatch, line_keys: np.ndarray) -> None:
        """Add one batch atomically (all of it or nothing)."""
        ...

    def stats(self) -> dict[str, Any]: ...

    def prune(self, before: float) -> int:
        """Remove the articles dated before ``before`` (epoch seconds); returns how many. Of a removed keeper that
        an article left names, the id is kept (row → id), so that the export still names the keeper of its copies;
        it goes once no article names it."""
        ...

    def pruned_keepers(self, rows: list[int]) -> dict[int, str]:
        """row → id of those ``rows`` that were keepers pruned from the index while stored articles still name them
        (what :meth:`prune` keeps of them); a row not among them is left out (never a keeper, still stored, or pruned
        by a version that kept no ids)."""
        ...

    def export(self) -> Iterator[dict[str, Any]]:
        """Every stored decision, in row order; ``contained_in``: the ids of the stored articles a verified contained
        edge says hold its text (:func:`containers`, the first copies of those texts); ``keeper_pruned``: a
        duplicate's keeper was pruned (``duplicate_of`` still names it: :meth:`prune` keeps the ids of the keepers
        that articles left still name; null for one pruned by a version that did not keep them)."""
        ...

    def containers_of(self, reps: list[int]) -> dict[int, list[int]]:
        """For the representative rows ``reps``, the rows a verified contained edge says hold their text, in row order:
        what :meth:`export` reads off every edge (:func:`containers`), found through the edges of those rows alone (a
        service asks it per article); a row none holds is left out. :func:`container_names` names them."""
        ...

    def group(self, name: str, around: int | None = None) -> StoredGroup | None:
        """The members of the group ``name`` and the edges among them; None when no article is in it.

        ``around`` (a member's row): only the edges between it and the other members (a group of many copies holds
        edges by the thousand, a keeper's own are one per member)."""
        ...

    def snapshot(self) -> Any:
        """A context manager: the reads made in its block see one committed state, a commit of another process
        meanwhile not at all (SQLite: a read transaction; Redis: none, each command reads the newest). Held for one
        answer (a service's, ``stats``), never across a run: it keeps a SQLite log from being checkpointed."""
        ...

    def close(self) -> None: ...


def containers(edges: list[tuple[int, int, int, float, float]]) -> dict[int, list[int]]:
    """Stored edges ``(a, b, relation, contain_ab, contain_ba)`` → for each representative row, the rows a ``contained``
    edge says hold it, in row order (``contained_in`` of an export, as the dedupe decisions read it off their edges).

    >>> containers([(3, 9, 3, 0.95, 0.2), (3, 5, 3, 0.9, 0.4), (5, 9, 2, 0.9, 0.9), (4, 7, 3, 0.1, 0.99)])
    {3: [5, 9], 7: [4]}
    """
    from ..verify import CONTAINED

    held: dict[int, list[int]] = {}
    for a, b, rel, c_ab, c_ba in edges:
        if rel == CONTAINED:
            inner, outer = (a, b) if c_ab >= c_ba else (b, a)  # NaN never: a contained edge has its containments
            held.setdefault(inner, []).append(outer)
    return {k: sorted(v) for k, v in sorted(held.items())}


def container_names(index: Any, held: dict[int, list[int]]) -> dict[int, list[str]]:
    """Per representative row that ``held`` (:func:`containers`) names inside others, the ids of every article holding
    its text: each container and its exact copies (:func:`exact_copies`), in row order, as ``decisions.jsonl`` names
    them (an export named only the first copy of a roundup reprinted word for word)."""
    copies = exact_copies(index, sorted({c for v in held.values() for c in v}))
    out: dict[int, list[str]] = {}
    for inner, rows in held.items():
        recs = sorted({m.row: m for c in rows for m in copies.get(c, ())}.values(), key=lambda m: m.row)
        out[inner] = [m.id for m in recs]
    return out


def exact_copies(index: Any, rows: list[int]) -> dict[int, list[ArticleRecord]]:
    """For stored representative rows, the stored articles holding the same text, in row order (the row's own record
    first among them): the members of its group whose representative's text has the same digest, that is its copies
    in its run (of one representative) and the exact copies of its text stored by other runs, earlier or later.

    A later run's exact copy R3 of a stored R is its run's own representative (and R3 keeps R's keeper, so R3 is told
    apart from R's near copies by its text alone): asked for R3, the answer is R, R2 (R's copy in its run) and R3; asked
    for R, the same. A row whose representative's sketch was pruned answers its copies of one representative only.

    The articles :func:`container_names` names for one container; a dedupe run names the same for a stored container
    its feed meets (:func:`dedup.flows.history.history_refs`). A row no longer stored is left out."""
    recs = index.articles(np.array(sorted(set(rows)), dtype=np.int64))
    groups = {rec.row: index.group(rec.group, around=rec.row) if rec.group is not None else None for rec in recs}
    reps = {rec.rep for rec in recs} | {m.rep for g in groups.values() if g is not None for m in g.members}
    digest = index.digests(np.array(sorted(reps - {-1}), dtype=np.int64))
    copies: dict[int, list[ArticleRecord]] = {}
    for rec in recs:
        same = [rec]
        found, text = groups[rec.row], digest.get(rec.rep)
        if found is not None:
            same = [m for m in found.members
                    if m.rep == rec.rep or (text is not None and digest.get(m.rep) == text)] or [rec]
        copies[rec.row] = sorted({m.row: m for m in same}.values(), key=lambda m: m.row)
    return copies


def pack_u64(values: np.ndarray) -> list[int]:
    """uint64 values as signed 64-bit integers (what SQLite and struct keys store)."""
    return np.asarray(values, dtype=np.uint64).view(np.int64).tolist()


def unpack_u64(values: list[int] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).view(np.uint64)


def features_blob(features: Features, k: int) -> tuple[bytes, bytes, bytes, bytes]:
    """Row ``k``'s shingle buckets, token buckets, counts and ordered k-gram hashes as bytes."""
    s0, s1 = features.shingle_offsets[k], features.shingle_offsets[k + 1]
    t0, t1 = features.token_offsets[k], features.token_offsets[k + 1]
    kg, _ = features.gather_kgrams(np.array([k]))
    return (
        features.shingles[s0:s1].astype("<u4").tobytes(),
        features.tokens[t0:t1].astype("<u4").tobytes(),
        features.counts[t0:t1].astype("<u4").tobytes(),
        kg.astype("<u4").tobytes(),
    )


def features_from_blobs(blobs: list[tuple[bytes, bytes, bytes, bytes]]) -> Features:
    """Features of rows given as :func:`features_blob` quadruples."""
    if not blobs:
        return Features.empty()
    sh = [np.frombuffer(b[0], dtype="<u4") for b in blobs]
    tok = [np.frombuffer(b[1], dtype="<u4") for b in blobs]
    cnt = [np.frombuffer(b[2], dtype="<u4") for b in blobs]
    kg = [np.frombuffer(b[3], dtype="<u4") for b in blobs]

    def offsets(parts: list[np.ndarray]) -> np.ndarray:
        off = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in parts], out=off[1:])
        return off

    return Features(
        np.concatenate(sh).astype(np.uint32), offsets(sh),
        np.concatenate(tok).astype(np.uint32), np.concatenate(cnt).astype(np.uint32), offsets(tok),
        np.concatenate(kg).astype(np.uint32), offsets(kg),
    )
