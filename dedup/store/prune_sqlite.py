"""Taking articles dated before a day out of a SQLite history index (``dedup index prune``).

The removed articles' records, sketches and edges are deleted; their rows under the band and anchor keys are not:
every block of those runs holds some of them, so dropping them at once rewrote every pair of the kind (most of a
day's prune, growing with the history). They are buried instead (:meth:`dedup.store.segments.Segments.bury`): left
out of lookups and counts, and out of the runs at their next merge. The ids of removed keepers that articles left
still name are kept (``pruned_keepers``), so an export names them. The file is compacted (VACUUM) only when more than
:data:`VACUUM_FREE` of it is free.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["VACUUM_FREE", "prune"]

VACUUM_FREE = 0.25  # share of free pages from which a prune compacts the file


def prune(index: Any, before: float) -> int:
    """Remove the articles of ``index`` (a :class:`~dedup.store.index_sqlite.SQLiteIndex`) dated before ``before``
    (epoch seconds), and the stories tracked of those dates; how many articles went."""
    index.stories.prune(before)  # the tracked stories of those dates go too
    rows = np.array([r for (r,) in index.conn.execute("SELECT row FROM articles WHERE time < ?", (before,))], dtype=np.int64)
    if len(rows) == 0:
        return 0
    with index._transaction():
        index.conn.execute("INSERT OR REPLACE INTO meta VALUES ('next_row', ?)", (str(index.next_row()),))
        # the ids of the removed keepers that articles left still name: the export names their copies' keeper
        # (it said duplicate_of null, as of a kept article); rows are never reused, so a row here is that one
        index.conn.execute("CREATE TABLE IF NOT EXISTS pruned_keepers(row INTEGER PRIMARY KEY, id TEXT NOT NULL)")
        index.conn.execute(
            "INSERT OR REPLACE INTO pruned_keepers SELECT k.row, k.id FROM articles k WHERE k.time < ? AND k.row IN "
            "(SELECT a.keeper FROM articles a WHERE a.time IS NULL OR a.time >= ?)", (before, before))
        # the band and anchor runs are not rewritten (every block holds some of the rows' keys): the removed texts'
        # rows are left out of lookups and counts, and out of the runs when they are merged (segments.py)
        texts: list[tuple[int, int]] = []  # (row, its distinct anchor grams) of each removed text
        for lo in range(0, len(rows), 50_000):
            index._ask(rows[lo : lo + 50_000].tolist())
            texts += [(r, len(np.unique(np.frombuffer(g, dtype="<u8")))) for r, g in index.conn.execute(
                "SELECT s.row, s.anchors FROM temp.ask q JOIN sketches s ON s.row = q.key")]
            for table in ("sketches", "articles"):
                index.conn.execute(f"DELETE FROM {table} WHERE row IN (SELECT key FROM temp.ask)")
            index.conn.execute("DELETE FROM edges WHERE a IN (SELECT key FROM temp.ask) OR b IN (SELECT key FROM temp.ask)")
        dead = np.array([r for r, _ in texts], dtype=np.int64)  # line counts stay: they describe the sources
        index._keys["band"].bury(dead, len(texts) * int(index.params["bands"]))  # a key a band, an anchor key a gram
        index._keys["anchor"].bury(dead, sum(n for _, n in texts))
        # and those no article names any more go (their last copies were removed now)
        index.conn.execute("DELETE FROM pruned_keepers WHERE row NOT IN (SELECT keeper FROM articles)")
    index.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # the freed pages are reused by the next adds; VACUUM (rewriting the whole file: 65% of the prune of a day of 100k
    # articles, its cost growing with the history kept, not with what went) only when they are over VACUUM_FREE of it
    free, pages = (index.conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("freelist_count", "page_count"))
    if free > VACUUM_FREE * pages:
        index.conn.execute("VACUUM")
        # VACUUM writes the whole file through the log: folded back and emptied now, else the log stays as large as
        # the index for as long as another process keeps it open (the last connection closing empties it; a
        # service's never does): a prune doubled the disk used while `dedup serve` ran
        index.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return len(rows)
