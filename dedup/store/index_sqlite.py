"""The history index in an embedded SQLite database (the default kind of ``--index``).

One file (plus SQLite's ``-wal``/``-shm`` while open, ``LOCATION.lock`` for
writers and ``LOCATION.stories.lock`` for ``dedup stories`` runs placing
articles into events). Write-ahead logging; each :meth:`SQLiteIndex.add` is one
transaction, so a run killed at any moment leaves every committed batch whole
and nothing of the others. Lookups join the asked keys (a temporary table)
with the band, anchor and digest tables through their primary keys: the
index is never loaded whole. One writer at a time holds an exclusive
``flock`` on ``LOCATION.lock`` for the whole run; a second one waits, with a
message, and then sees everything the first added.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .segments import Segments
from .snapshot import one_snapshot, read_snapshot
from .sqlite_file import connect, connect_read_only, dedup_or_blank, init_schema, make_file
from .index import (
    ArticleRecord,
    LOCK_POLL_SECONDS,
    HistoryError,
    IndexBatch,
    StoredGroup,
    StoredSketches,
    WaitCalledOff,
    Waiting,
    check_params,
    this_process,
    anchors_as_made,
    container_names,
    containers,
    features_blob,
    features_from_blobs,
    iso_time,
    pack_u64,
    unpack_u64,
)

from ..results import SKIPPED
from .story_log import SQLiteStories

__all__ = ["SQLiteIndex"]

_COLUMNS = "row, id, date, time, source, length, status, grp, keeper, center, rep, relation, jaccard, containment, cosine, reason"
# a column later versions added, with ALTER TABLE when a run first writes to an index made before it (read as NULL until then)
_ADDED = (("articles", "probability"), ("edges", "probability"))
_KINDS = ("band", "anchor", "line")
# a prune compacts the file (VACUUM) when more than this share of its pages is free after it (else they are reused)


def _nan(x: Any) -> float:
    return float("nan") if x is None else float(x)


def _null(x: float) -> float | None:
    return None if x != x else float(x)


def _record(r: tuple) -> ArticleRecord:
    """An article from the columns ``_COLUMNS`` and its probability (:meth:`SQLiteIndex._cols`)."""
    return ArticleRecord(
        row=r[0], id=r[1], date=r[2], time=_nan(r[3]), source=r[4], length=r[5], status=r[6], group=r[7],
        keeper=r[8], center=r[9], rep=r[10], relation=r[11], scores=(_nan(r[12]), _nan(r[13]), _nan(r[14]), _nan(r[16])),
        reason=r[15],
    )


class SQLiteIndex:
    """A :class:`~dedup.store.index.HistoryIndex` in one SQLite file."""

    def __init__(self, location: str, params: dict[str, Any] | None, create: bool = True, read_only: bool = False) -> None:
        self.location = location
        path = Path(location)
        if path.is_dir() or location.endswith(("/", os.sep)):
            raise HistoryError(f"{location}: is a folder; an index is a SQLite file (created when absent) or a redis:// URL")
        if not path.exists():
            if not create or params is None:
                raise HistoryError(f"{location}: no index here (it is created by `dedup dedupe FEED --index {location}`)")
            if not path.parent.exists():
                raise HistoryError(f"{location}: the folder {path.parent} does not exist")
            if not path.parent.is_dir():
                raise HistoryError(f"{location}: {path.parent} is a file, not a folder")
            make_file(path, params)
        try:
            if read_only:
                self.conn = connect_read_only(location)
            elif not dedup_or_blank(location):  # looked at read-only: another application's database stays as it was
                raise HistoryError(f"{location}: not a dedup index (a SQLite database with other tables)")
            else:
                self.conn = connect(location)
            stored = self._meta("params")
            if stored is None:
                if not self._blank():
                    raise HistoryError(f"{location}: not a dedup index (a SQLite database with other tables)")
                if not create or params is None:  # an empty database: what a first run killed before it committed
                    raise HistoryError(f"{location}: no index here yet (an empty database; "
                                       f"`dedup dedupe FEED --index {location}` fills it)")
                with self._transaction():
                    init_schema(self.conn, params)
                stored = self._meta("params")
        except sqlite3.DatabaseError as exc:
            folder = path.parent
            if not read_only and "unable to open" in str(exc) and not os.access(folder, os.W_OK):
                raise HistoryError(f"{location}: the folder {folder} cannot be written, and a run adds to the index there "
                                   "(SQLite keeps its log beside the file); `dedup index stats` and `export` read it "
                                   "as it is") from None
            raise HistoryError(f"{location}: cannot open the index as a SQLite database ({exc})") from None
        self.params = anchors_as_made(
            json.loads(stored), lambda: self.conn.execute("SELECT EXISTS (SELECT 1 FROM sketches)").fetchone()[0],
            lambda: Segments(self.conn, "anchor").pairs())
        if params is not None:
            check_params(location, self.params, params)
        self._keys = {kind: Segments(self.conn, kind) for kind in _KINDS}
        self.stories = SQLiteStories(self.conn, location)
        self._missing = self._missing_columns()

    def _missing_columns(self) -> set[tuple[str, str]]:
        """The columns of ``_ADDED`` this index's tables lack (made by an earlier version, not written since)."""
        have = {(t, r[1]) for t in {t for t, _ in _ADDED} for r in self.conn.execute(f"PRAGMA table_info({t})")}
        return {tc for tc in _ADDED if tc not in have}

    def _col(self, table: str, column: str, alias: str) -> str:
        if (table, column) in self._missing:  # another connection (the service's writer) may have added it since
            self._missing = self._missing_columns()
        return "NULL" if (table, column) in self._missing else f"{alias}.{column}"

    def _cols(self, alias: str = "a") -> str:
        """The columns :func:`_record` reads, of the articles table named ``alias``."""
        return ", ".join(f"{alias}." + c.strip() for c in _COLUMNS.split(",")) + ", " + self._col("articles", "probability", alias)

    def _blank(self) -> bool:
        return self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0

    def _meta(self, key: str) -> str | None:
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise
        return None if row is None else row[0]

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def snapshot(self) -> Any:  # the reads of the block on one committed state: held for one answer (snapshot.py)
        return read_snapshot(self.conn)

    @contextmanager
    def writer(self, on_wait: Waiting | None = None) -> Iterator[None]:
        with self._flock(".lock", "another dedup run is adding to this index", on_wait):
            if self._missing:  # under the writer's lock: one run adds them
                with self._transaction():
                    for table, column in sorted(self._missing_columns()):
                        self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} REAL")
                self._missing = set()
            if not self._has_table("edges_b", "index"):  # an index made before: the edges by their second row
                with self._transaction():  # (containers_of; until then it reads the edges table through)
                    self.conn.execute("CREATE INDEX IF NOT EXISTS edges_b ON edges(b)")
            yield

    def tracker(self, on_wait: Waiting | None = None) -> Any:
        return self._flock(".stories.lock", "another dedup run is placing articles into this index's events", on_wait)

    @contextmanager
    def _flock(self, suffix: str, busy: str, on_wait: Waiting | None) -> Iterator[None]:
        """An exclusive ``flock`` on ``LOCATION`` + ``suffix`` while the block runs (a second holder, in this process
        or another, waits: ``on_wait`` is told ``busy``, and may call the wait off: :data:`~.index.Waiting`), once the
        index is known to be writable."""
        # Before the run's work, not at its commit: a read-only file, folder or file system (an immutable file too,
        # which root cannot write either) failed at the end with a traceback
        try:
            fd = os.open(self.location + suffix, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise HistoryError(f"{self.location}: the index cannot be written ({exc.filename}: {exc.strerror}); check "
                               "the permissions of the file and its folder") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "another process"
                halt = on_wait(f"{self.location}: {busy} ({holder}); waiting for it to finish") if on_wait is not None else None
                if halt is None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                else:  # tried again every LOCK_POLL_SECONDS until it is free or the wait is called off
                    while True:
                        if halt.wait(LOCK_POLL_SECONDS):
                            raise WaitCalledOff(f"{self.location}: stopped waiting for {holder} ({busy})")
                        try:
                            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                            break
                        except BlockingIOError:
                            continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{this_process()}\n".encode(), 0)
            try:  # a write undone, through SQLite (a descriptor of the file opened and closed here would drop this
                # process's locks on it); SQLite opens a file it cannot write read-only, and fails only at a write
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('probe', '')")
                finally:
                    self.conn.execute("ROLLBACK")
            except sqlite3.OperationalError as exc:
                if "readonly" not in str(exc):
                    raise
                raise HistoryError(f"{self.location}: the index cannot be written ({exc}); check the permissions of "
                                   "the file and its folder") from None
            yield
        finally:
            os.close(fd)  # closing releases the lock (also when the process is killed)

    def article_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM articles").fetchone()[0])

    def next_row(self) -> int:
        """The row of the next article: past every row ever given, pruned ones too.

        Rows are never reused: a stored copy names its keeper by row, and a
        pruned keeper's row given to a new article made its copies that
        article's (an exact copy of an unrelated text).
        ``prune`` records the high-water mark in ``meta``.
        """
        r = self.conn.execute("SELECT max(row) FROM articles").fetchone()[0]
        after_prune = self._meta("next_row")
        return max(0 if r is None else int(r) + 1, 0 if after_prune is None else int(after_prune))

    # --- lookups through a temporary table of asked keys -------------------

    def _ask(self, values: list[int]) -> None:
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS ask(pos INTEGER PRIMARY KEY, key INTEGER NOT NULL)")
        self.conn.execute("DELETE FROM temp.ask")
        self.conn.executemany("INSERT INTO temp.ask VALUES (?, ?)", enumerate(values))

    def known_ids(self, ids: list[str]) -> dict[str, ArticleRecord]:
        if not ids:
            return {}
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS ask_id(id TEXT PRIMARY KEY)")
        self.conn.execute("DELETE FROM temp.ask_id")
        self.conn.executemany("INSERT OR IGNORE INTO temp.ask_id VALUES (?)", ((i,) for i in ids))
        cols = self._cols()
        found = self.conn.execute(f"SELECT {cols} FROM temp.ask_id q JOIN articles a ON a.id = q.id").fetchall()
        return {r[1]: _record(r) for r in found}

    def line_counts(self, keys: np.ndarray) -> np.ndarray:
        pos, counts = self._keys["line"].lookup(keys)
        return np.bincount(pos, weights=counts, minlength=len(keys)).astype(np.int64)

    def rows_by_digest(self, digests: np.ndarray) -> dict[int, int]:
        if len(digests) == 0:
            return {}
        self._ask(pack_u64(digests))
        found = self.conn.execute(
            "SELECT q.key, min(s.row) FROM temp.ask q JOIN sketches s ON s.digest = q.key GROUP BY q.key"
        ).fetchall()
        return {int(np.int64(k).view(np.uint64)): int(r) for k, r in found}

    def digests(self, rows: np.ndarray) -> dict[int, int]:
        if len(rows) == 0:
            return {}
        self._ask(np.asarray(rows, dtype=np.int64).tolist())
        found = self.conn.execute("SELECT s.row, s.digest FROM temp.ask q JOIN sketches s ON s.row = q.key").fetchall()
        return {int(r): int(np.int64(d).view(np.uint64)) for r, d in found}

    def rows_by_keys(self, kind: str, keys: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
        pos, rows = self._keys[kind].lookup(keys)
        if len(pos) == 0:
            return pos, rows
        order = np.lexsort((rows, pos))
        pos, rows = pos[order], rows[order]
        per = np.bincount(pos, minlength=len(keys))
        big = per[pos] > limit  # a bucket over the limit answers only its first row (a star with the first, as in a batch)
        first = np.ones(len(pos), dtype=bool)
        first[1:] = pos[1:] != pos[:-1]
        keep = ~big | first
        return pos[keep], rows[keep]

    def articles(self, rows: np.ndarray) -> list[ArticleRecord]:
        if len(rows) == 0:
            return []
        self._ask(np.asarray(rows, dtype=np.int64).tolist())
        cols = self._cols()
        found = self.conn.execute(f"SELECT {cols} FROM temp.ask q JOIN articles a ON a.row = q.key ORDER BY q.pos").fetchall()
        return [_record(r) for r in found]

    def sketches(self, rows: np.ndarray) -> StoredSketches:
        rows = np.asarray(rows, dtype=np.int64)
        num_perm = int(self.params["num_perm"])
        self._ask(rows.tolist())
        found = self.conn.execute(
            "SELECT s.row, s.digest, s.size, s.signature, s.shingles, s.tokens, s.counts, s.kgrams "
            "FROM temp.ask q JOIN sketches s ON s.row = q.key ORDER BY q.pos"
        ).fetchall()
        if len(found) != len(rows):
            raise HistoryError(f"{self.location}: {len(rows) - len(found)} sketches missing from the index")
        sigs = np.frombuffer(b"".join(r[3] for r in found), dtype="<u4").reshape(-1, num_perm).astype(np.uint32)
        return StoredSketches(
            rows=rows,
            digest=unpack_u64([r[1] for r in found]),
            sizes=np.array([r[2] for r in found], dtype=np.int64),
            signatures=sigs if len(found) else np.zeros((0, num_perm), np.uint32),
            features=features_from_blobs([(r[4], r[5], r[6], r[7]) for r in found]),
        )

    # --- writing ------------------------------------------------------------

    def add(self, batch: IndexBatch, line_keys: np.ndarray) -> None:
        now = time.time()
        arts = [
            (a.row, a.id, a.date, _null(a.time), a.source, a.length, a.status, a.group, a.keeper, a.center, a.rep,
             a.relation, *map(_null, a.scores[:3]), a.reason, now, _null(a.scores[3]))
            for a in batch.articles
        ]
        sk = []
        for k, row in enumerate(batch.sketch_rows.tolist()):
            sh, tok, cnt, kg = features_blob(batch.features, k)
            sk.append((row, pack_u64(batch.digest[k : k + 1])[0], int(batch.sizes[k]),
                       batch.signatures[k].astype("<u4").tobytes(), sh, tok, cnt,
                       np.asarray(batch.anchors[k], dtype="<u8").tobytes(), kg))
        rows = batch.sketch_rows
        band_keys = np.asarray(batch.band_keys, dtype=np.uint64)  # (r, bands)
        grams = [np.unique(np.asarray(g, dtype=np.uint64)) for g in batch.anchors]
        anchor_keys = np.concatenate(grams) if grams else np.zeros(0, np.uint64)
        anchor_rows = np.repeat(rows, [len(g) for g in grams]) if grams else np.zeros(0, np.int64)
        uniq, counts = np.unique(np.asarray(line_keys, dtype=np.uint64), return_counts=True)
        edges = [
            (int(a), int(b), int(r), *map(_null, s))
            for (a, b), r, s in zip(batch.edges.tolist(), batch.edge_relation.tolist(), batch.edge_scores.tolist())
        ]
        with self._transaction():
            # a stored skip of an id decided anew (nothing of its text was stored): its record goes, the new one takes the id
            self.conn.executemany("DELETE FROM articles WHERE row = ? AND status = ?", ((r, SKIPPED) for r in batch.replaced))
            self.conn.executemany(f"INSERT INTO articles({_COLUMNS}, added, probability) VALUES ({', '.join('?' * 18)})", arts)
            self.conn.executemany("INSERT INTO sketches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", sk)
            self._keys["band"].append(band_keys.ravel(), np.repeat(rows, band_keys.shape[1]))
            self._keys["anchor"].append(anchor_keys, anchor_rows)
            self._keys["line"].append(uniq, counts)
            self.conn.executemany("INSERT OR REPLACE INTO edges(a, b, relation, jaccard, contain_ab, contain_ba, cosine, "
                                  "probability) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", edges)
            self.conn.executemany("UPDATE articles SET grp = ? WHERE row = ? AND grp IS NULL",
                                  [(a.group, a.row) for a in batch.regrouped])

    # --- maintenance ----------------------------------------------------------

    @one_snapshot  # the counts of one state: a prune committing between them made them disagree
    def stats(self) -> dict[str, Any]:
        n, oldest, newest, undated = self.conn.execute(
            "SELECT count(*), min(time), max(time), sum(time IS NULL) FROM articles"
        ).fetchone()
        by_status = dict(self.conn.execute("SELECT status, count(*) FROM articles GROUP BY status").fetchall())
        reps = self.conn.execute("SELECT count(*) FROM sketches").fetchone()[0]
        size = sum(os.path.getsize(p) for p in (self.location, self.location + "-wal") if os.path.exists(p))
        from ..results import STATUS

        return {
            "location": self.location,
            "kind": "sqlite",
            "articles": int(n),
            "by_status": {STATUS[int(k)]: int(v) for k, v in sorted(by_status.items())},
            "distinct_texts": int(reps),
            "band_keys": self._keys["band"].pairs(),
            "anchor_keys": self._keys["anchor"].pairs(),
            "undated": int(undated or 0),
            "oldest": iso_time(oldest),
            "newest": iso_time(newest),
            "bytes_on_disk": size,
            "bytes_per_article": round(size / n, 1) if n else None,
            "created": self._meta("created"),
            "stories": self.stories.stats(),
            "params": self.params,
        }

    def prune(self, before: float) -> int:
        from .prune_sqlite import prune

        return prune(self, before)

    def export(self) -> Iterator[dict[str, Any]]:
        # one state: the rows were one statement's already (its snapshot held to the last row), the containers another's
        with self.snapshot():
            yield from self._export()

    def _export(self) -> Iterator[dict[str, Any]]:
        from ..results import DUPLICATE
        from ..verify import CONTAINED

        held = containers(self.conn.execute(
            "SELECT a, b, relation, contain_ab, contain_ba FROM edges WHERE relation = ?", (int(CONTAINED),)).fetchall())
        named = container_names(self, held)
        cur = self.conn.cursor()
        cols = self._cols()
        pruned = "p.id" if self._has_table("pruned_keepers") else "NULL"  # none before a prune of this version
        join = " LEFT JOIN pruned_keepers p ON p.row = a.keeper" if pruned != "NULL" else ""
        for r in cur.execute(f"SELECT {cols}, k.id, k.row IS NULL, {pruned} FROM articles a "
                             f"LEFT JOIN articles k ON k.row = a.keeper{join} ORDER BY a.row"):
            rec = _record(r[:-3])
            gone = rec.status == DUPLICATE and bool(r[-2])
            keeper_id = r[-1] if gone else r[-3]
            yield {**rec.to_json(keeper_id, said=True, keeper_pruned=gone), "keeper_pruned": gone,
                   "contained_in": named.get(rec.rep, [])}

    def pruned_keepers(self, rows: list[int]) -> dict[int, str]:
        if not rows or not self._has_table("pruned_keepers"):  # none before a prune of this version
            return {}
        self._ask([int(r) for r in rows])
        return dict(self.conn.execute("SELECT p.row, p.id FROM temp.ask q JOIN pruned_keepers p ON p.row = q.key").fetchall())

    def _has_table(self, name: str, kind: str = "table") -> bool:
        return self.conn.execute("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?)",
                                 (kind, name)).fetchone()[0] == 1

    def containers_of(self, reps: list[int]) -> dict[int, list[int]]:
        from ..verify import CONTAINED

        if not reps:
            return {}
        self._ask([int(r) for r in reps])
        one_way = ("SELECT e.a, e.b, e.relation, e.contain_ab, e.contain_ba FROM temp.ask q JOIN edges e ON e.{} = q.key "
                   "WHERE e.relation = ?")  # through the primary key (a, b) and the index edges_b
        found = self.conn.execute(one_way.format("a") + " UNION " + one_way.format("b"), (int(CONTAINED),) * 2).fetchall()
        want = set(map(int, reps))
        return {inner: rows for inner, rows in containers(found).items() if inner in want}

    @one_snapshot  # the members and the edges of one state (a prune committing between them left edges out)
    def group(self, name: str, around: int | None = None) -> StoredGroup | None:
        cols = self._cols()
        # the article the group is named after may have been stored alone, before its first copy came
        members = [_record(r) for r in self.conn.execute(
            f"SELECT {cols} FROM articles a WHERE a.grp = ? OR a.id = ? ORDER BY a.row", (name, name)).fetchall()]
        members = [m for m in members if m.group in (name, None)]
        if not any(m.group == name for m in members):
            return None
        self._ask([m.row for m in members])
        cols = f"SELECT e.a, e.b, e.relation, e.jaccard, e.contain_ab, e.contain_ba, e.cosine, {self._col('edges', 'probability', 'e')} FROM edges e "
        if around is None:
            found = self.conn.execute(
                cols + "WHERE e.a IN (SELECT key FROM temp.ask) AND e.b IN (SELECT key FROM temp.ask) ORDER BY e.a, e.b"
            ).fetchall()
        else:
            found = self.conn.execute(
                cols + "WHERE (e.a = ? AND e.b IN (SELECT key FROM temp.ask)) OR (e.b = ? AND e.a IN (SELECT key FROM temp.ask)) "
                "ORDER BY e.a, e.b", (int(around), int(around))
            ).fetchall()
        return StoredGroup(
            members=members,
            edges=np.array([r[:2] for r in found], dtype=np.int64).reshape(-1, 2),
            edge_relation=np.array([r[2] for r in found], dtype=np.int8),
            edge_scores=np.array([[_nan(x) for x in r[3:]] for r in found], dtype=np.float64).reshape(-1, 5),
        )

    def close(self) -> None:
        self.conn.close()
