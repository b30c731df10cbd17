"""A feed against the history index: what it meets there, and what it leaves behind.

Used by :mod:`dedup.flows.dedupe` when a run has an index. The stored
representatives that a new one meets (shared LSH band, shared anchor, equal
digest; within ``window_days`` when asked; kept by the MinHash screen) are
fetched with the centers of their stars, and put *before* the feed, in the
order they were read, as one batch over all days would have them. Their
groups are already decided (``fixed``): the feed's articles can join them,
never take them over. What the run decided is then written back in
transactions that each hold whole groups, so an interrupted run leaves no
article pointing at one that is not there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..candidates import band_keys, estimated_containment
from ..config import DedupConfig
from ..results import ALREADY, DUPLICATE, KEPT, SKIPPED, HistoryRefs, already_indexed
from ..sketch.feature_store import FeatureStore
from ..sketch.features import Features
from ..store.index import ArticleRecord, HistoryIndex, IndexBatch, exact_copies
from ..types import ArticleTable
from ..verify import PairScores
from .prepare import PreparedFeed, Seen

__all__ = ["ALREADY", "Joined", "Met", "commit", "history_counts", "history_refs", "joined_table", "meet_history", "seen_by", "stored_families"]

log = logging.getLogger(__name__)

DAY = 86_400.0


def _iso(t: float) -> str | None:
    """A timestamp as the ISO-8601 date the index keeps (UTC), None when undated."""
    if t != t:
        return None
    from datetime import datetime, timezone

    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat().replace("+00:00", "Z")


_CHANGED = "this text is not the stored one"


def seen_by(index: HistoryIndex) -> Seen:
    """What the preparation asks the index: articles already indexed, and line counts."""
    again: dict[str, int] = {}

    def skip(ids: list[str], lengths: list[int]) -> list[str | None]:
        known = index.known_ids(ids)
        out: list[str | None] = []
        for i, length in zip(ids, lengths):
            rec = known.get(i)
            if rec is None or (rec.status == SKIPPED and rec.length != length):
                # a stored skip (empty, too short…) stored nothing of its text: another text under its id is decided as
                # a new article and takes its record (:func:`commit`); it was "already in the index" for ever
                if rec is not None:
                    again[i] = rec.row
                out.append(None)
                continue
            why = already_indexed(rec.row, rec.status, rec.group)
            if rec.length != length:  # an id sent again with another text: it was skipped without a word
                why += (f"; {_CHANGED} ({length} characters, stored {rec.length}): the stored decision stands, give "
                        "the text a new id to decide it")
            out.append(why)
        return out

    return Seen(skip=skip, line_counts=index.line_counts, again=again)


@dataclass
class Met:
    """The stored representatives a feed meets, placed before the feed (positions ``0..H-1``)."""

    records: list[ArticleRecord]  # by row
    signatures: np.ndarray  # (H, num_perm)
    sizes: np.ndarray  # (H,)
    digest: np.ndarray  # (H,)
    features: Features  # H rows
    fixed: np.ndarray  # (H + R,) center of each representative (stored ones; new exact copies of them), else -1
    pairs: np.ndarray  # (m, 2) (stored position, new representative + H), sorted
    band_keys: np.ndarray  # (R, bands) the feed's band keys (also what the index stores for them)
    from_bands: int
    from_anchors: int
    from_digest: int
    screened_out: int
    keepers: dict[int, ArticleRecord]  # row → record of every stored keeper named

    @property
    def size(self) -> int:
        return len(self.records)


def meet_history(index: HistoryIndex, feed: PreparedFeed, config: DedupConfig, window_days: float | None) -> Met:
    """Candidates of the feed's representatives among the stored ones (see the module)."""
    changed = sum(_CHANGED in why for why in feed.reason_skipped.values())  # once a run, not once a chunk
    if changed:
        log.warning("%d article%s came again under an id the index holds, with another text: skipped as already "
                    "indexed (their decisions say so)", changed, "" if changed == 1 else "s")
    n_reps = len(feed.rep_pos)
    bands, rows_per_band = int(index.params["bands"]), int(index.params["rows"])
    keys = np.stack([band_keys(feed.signatures, np.arange(n_reps), b, rows_per_band) for b in range(bands)], axis=1) \
        if n_reps else np.zeros((0, bands), np.uint64)
    q, rows = index.rows_by_keys("band", keys.ravel(), config.index.max_bucket)
    parts = [np.stack([rows, q // bands], axis=1)]
    from_bands = len(parts[0])
    from_anchors = 0
    grams, owners = feed.anchors
    if config.index.anchors and len(grams):
        q, rows = index.rows_by_keys("anchor", grams, config.index.max_bucket)
        parts.append(np.stack([rows, owners[q]], axis=1))
        from_anchors = len(q)
    rep_digest = feed.digest[feed.rep_pos]
    by_digest = index.rows_by_digest(rep_digest)
    exact = np.array([(by_digest[int(d)], r) for r, d in enumerate(rep_digest.tolist()) if int(d) in by_digest], dtype=np.int64).reshape(-1, 2)
    parts.append(exact)
    pairs = np.unique(np.concatenate(parts).reshape(-1, 2), axis=0)  # (stored row, new representative)

    stored_rows = np.unique(pairs[:, 0])
    recs = {r.row: r for r in index.articles(stored_rows)}
    pairs = pairs[np.array([r in recs for r in pairs[:, 0].tolist()], dtype=bool)] if len(pairs) else pairs
    if window_days is not None and len(pairs):
        t_new = feed.table.times[feed.rep_pos[pairs[:, 1]]]
        t_old = np.array([recs[r].time for r in pairs[:, 0].tolist()])
        far = np.abs(t_new - t_old) > window_days * DAY  # NaN (undated) compares False: kept
        pairs = pairs[~far]
    screened = 0
    stored_rows = np.unique(pairs[:, 0])
    sk = index.sketches(stored_rows)
    at = {r: k for k, r in enumerate(stored_rows.tolist())}
    if config.index.min_estimate > 0 and len(pairs):
        h = np.array([at[r] for r in pairs[:, 0].tolist()], dtype=np.int64)
        sigs = np.concatenate([sk.signatures, feed.signatures])
        sizes = np.concatenate([sk.sizes, feed.sizes])
        est = estimated_containment(sigs, sizes, np.stack([h, pairs[:, 1] + len(stored_rows)], axis=1))
        keep = (est >= config.index.min_estimate) | (sk.digest[h] == rep_digest[pairs[:, 1]])
        screened = int((~keep).sum())
        pairs = pairs[keep]

    # the stars the met representatives belong to: their centers come too
    met_rows = set(np.unique(pairs[:, 0]).tolist())
    centers = {recs[r].center for r in met_rows} - met_rows
    center_recs = {r.row: r for r in index.articles(np.array(sorted(centers), dtype=np.int64))}
    recs.update(center_recs)
    all_rows = sorted(met_rows | set(center_recs))
    records = [recs[r] for r in all_rows]
    sk = index.sketches(np.array(all_rows, dtype=np.int64))
    pos = {r: k for k, r in enumerate(all_rows)}
    H = len(all_rows)
    fixed = np.full(H + n_reps, -1, dtype=np.int64)
    for k, rec in enumerate(records):
        fixed[k] = pos.get(rec.center, k)  # a center pruned from the index: the member stands alone
    out = np.stack([[pos[r] for r in pairs[:, 0].tolist()], pairs[:, 1] + H], axis=1).astype(np.int64).reshape(-1, 2)
    same = sk.digest[out[:, 0]] == rep_digest[out[:, 1] - H] if len(out) else np.zeros(0, bool)
    for h, r in out[same].tolist():  # a new exact copy of a stored text goes where that text went
        if fixed[r] < 0:
            fixed[r] = fixed[h]
    keeper_rows = np.array(sorted({rec.keeper for rec in records} - {-1}), dtype=np.int64)
    keepers = {r.row: r for r in index.articles(keeper_rows)}
    order = np.lexsort((out[:, 1], out[:, 0])) if len(out) else np.zeros(0, np.int64)
    return Met(
        records=records, signatures=sk.signatures, sizes=sk.sizes, digest=sk.digest, features=sk.features,
        fixed=fixed, pairs=out[order], band_keys=keys, from_bands=from_bands, from_anchors=from_anchors,
        from_digest=len(exact), screened_out=screened, keepers=keepers,
    )


# Stored members of a roundup's item family a new text inside it is compared with by MinHash, at most (the first in
# row order): its copies of the item reach them whether or not the run met them.
FAMILY_SAMPLE = 32


def stored_families(index: HistoryIndex, met: Met, rep_pairs: np.ndarray, edge_rel: np.ndarray,
                    edge_scores: PairScores, signatures: np.ndarray, sizes: np.ndarray,
                    min_estimate: float) -> np.ndarray | None:
    """The item families that stored roundup keepers already hold, for star grouping (its ``family``; None: none).

    A stored keeper that holds copies of one short item keeps them only: a
    new copy of another item inside it must not join its group (in one
    batch over all feeds it would not have). Only the stored keepers that a
    new text is a part of are looked up (:meth:`HistoryIndex.group`): their
    stored members held by them (contained, or a smaller near copy) are that
    family. Marked as its members here: those the run met; each new text
    inside the keeper whose MinHash containment estimate with one of the
    family's members (the first :data:`FAMILY_SAMPLE`, read from the index)
    reaches ``min_estimate`` (the history's candidate screen): a new copy of
    the item joins even when the run met none of its stored copies (outside
    ``--window-days``, say), a copy of another item (sharing next to nothing
    with it) does not; and the new text inside the keeper that covers most of
    it (Jaccard), when it covers more than any member of the family: one
    batch, choosing the family covering most, would have chosen its.

    ``signatures``/``sizes``: the feed's representatives' (positions
    ``met.size`` on).
    """
    from ..candidates import estimated_containment
    from ..cluster.groups import parts

    h = met.size
    n_reps = h + len(sizes)
    pairs = rep_pairs.reshape(-1, 2)
    if h == 0 or not len(pairs):
        return None
    i_part, j_part = parts(edge_rel, edge_scores.contain_ij, edge_scores.contain_ji)
    new_i, new_j = pairs[:, 0] >= h, pairs[:, 1] >= h
    # stored keepers (own center) holding a new text: the new end is a part of the stored one
    one, two = i_part & new_i & ~new_j, j_part & new_j & ~new_i
    held_new = np.concatenate([pairs[one][:, ::-1], pairs[two]])  # (keeper, new)
    cover = np.concatenate([edge_scores.jaccard[one], edge_scores.jaccard[two]])
    inside: dict[int, list[int]] = {}
    covers: dict[tuple[int, int], float] = {}  # (keeper, new text) -> how much of the keeper it covers (the edge's Jaccard)
    for (c, v), jac in zip(held_new.tolist(), cover.tolist()):
        if met.fixed[c] == c and met.records[c].group is not None:
            inside.setdefault(c, []).append(v)
            covers[c, v] = jac
    if not inside:
        return None
    pos = {r.row: k for k, r in enumerate(met.records)}
    family = np.full(n_reps, -1, dtype=np.int64)
    sample: dict[int, list[int]] = {}  # keeper -> rows of its family compared with the new texts inside it
    for c in sorted(inside):
        row = met.records[c].row
        stored = index.group(met.records[c].group, around=row)
        if stored is None or not len(stored.edges):
            continue
        a, b = stored.edges[:, 0], stored.edges[:, 1]
        a_part, b_part = parts(stored.edge_relation, stored.edge_scores[:, 1], stored.edge_scores[:, 2])
        mine = ((a == row) & b_part) | ((b == row) & a_part)
        held = np.unique(np.where(a == row, b, a)[mine])
        if not len(held):
            continue
        family[c] = c
        for m in held.tolist():
            if m in pos:
                family[pos[m]] = c
        sample[c] = held[:FAMILY_SAMPLE].tolist()
        # one batch chooses the family of the item covering most of the keeper: a new text covering more than the
        # stored family (a trimmed copy of the keeper itself, say) would have been chosen, and joins
        best = float(np.nanmax(stored.edge_scores[mine, 0], initial=0.0))
        top = max(inside[c], key=lambda v: (covers[c, v], -v))  # the family one batch would choose: the best cover's
        if covers[c, top] > best and family[top] < 0:
            family[top] = c
    rows = sorted({m for ms in sample.values() for m in ms})
    if rows:
        sk = index.sketches(np.array(rows, dtype=np.int64))
        at = {r: k for k, r in enumerate(rows)}
        sigs, szs = np.concatenate([sk.signatures, signatures]), np.concatenate([sk.sizes, sizes])
        for c, ms in sample.items():
            new = sorted(set(inside[c]))
            ask = np.array([(at[m], len(rows) + v - h) for v in new for m in ms], dtype=np.int64).reshape(-1, 2)
            est = estimated_containment(sigs, szs, ask).reshape(len(new), len(ms))
            for v, best in zip(new, est.max(axis=1).tolist()):
                if best >= min_estimate and family[v] < 0:
                    family[v] = c
    return family if (family >= 0).any() else None


class Joined:
    """The met representatives' features (in memory) followed by the feed's (on disk), as one source."""

    def __init__(self, first: Features, second: FeatureStore) -> None:
        self.first, self.second, self.h = first, second, len(first)

    def __len__(self) -> int:
        return self.h + len(self.second)

    def gather(self, rows: np.ndarray) -> Features:
        rows = np.asarray(rows, dtype=np.int64)
        old = rows < self.h
        a = self.first.gather(rows[old])
        b = self.second.gather(rows[~old] - self.h)
        where = np.empty(len(rows), dtype=np.int64)
        where[np.flatnonzero(old)] = np.arange(int(old.sum()))
        where[np.flatnonzero(~old)] = int(old.sum()) + np.arange(int((~old).sum()))
        return Features.concat([a, b]).gather(where)

    def gather_kgrams(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.asarray(rows, dtype=np.int64)
        old = rows < self.h
        a = self.first.gather(rows[old])
        b_kg, b_off = self.second.gather_kgrams(rows[~old] - self.h)
        both = Features.concat([a, Features(np.zeros(0, np.uint32), np.zeros(int((~old).sum()) + 1, np.int64),
                                            np.zeros(0, np.uint32), np.zeros(0, np.uint32),
                                            np.zeros(int((~old).sum()) + 1, np.int64), b_kg, b_off)])
        where = np.empty(len(rows), dtype=np.int64)
        where[np.flatnonzero(old)] = np.arange(int(old.sum()))
        where[np.flatnonzero(~old)] = int(old.sum()) + np.arange(int((~old).sum()))
        return both.gather_kgrams(where)


def joined_table(met: Met, table: ArticleTable) -> ArticleTable:
    """The met articles (rows order) then the feed's, for the keeper policy."""
    first = ArticleTable()
    for r in met.records:
        first.add(r.id, r.source, r.date, r.length)
    return ArticleTable.concat(first, table)


def history_refs(met: Met, index: HistoryIndex | None = None, art_pairs: np.ndarray | None = None,
                 carried: np.ndarray | None = None) -> tuple[HistoryRefs, np.ndarray]:
    """The stored articles a result may name, and for each met position its keeper's ref.

    With the run's verified edges (``art_pairs``, joined positions: the met ones first), which of them are carried to
    exact copies (``carried``, :func:`dedup.cluster.graph.carried_edges`) and the ``index``, the stored exact copies of
    each met article at an end of a carried edge are named too (:attr:`HistoryRefs.copies`): only a stored text's
    representative is met (a copy of one run shares it), so no edge reaches the others, and
    :func:`dedup.cluster.graph.with_stored_copies` lists the edge again for each of them (a feed's item inside a
    stored roundup reprinted word for word: ``pairs.jsonl`` and ``contained_in`` name every copy, as
    ``dedup index export`` and the service do). One index lookup per such stored article in a group
    (:func:`~dedup.store.index.exact_copies`).
    """
    named = {r.row: r for r in met.records}
    named.update(met.keepers)
    copies_of: dict[int, list[int]] = {}  # stored end's row -> its text's other stored rows
    if index is not None and art_pairs is not None and carried is not None:
        for row, same in exact_copies(index, _stored_ends(met, art_pairs, carried)).items():
            named.update((m.row, m) for m in same)
            copies_of[row] = [m.row for m in same if m.row != row]
    rows = sorted(named)
    ref_of_row = {r: k for k, r in enumerate(rows)}
    refs = HistoryRefs(
        rows=np.array(rows, dtype=np.int64),
        ids=[named[r].id for r in rows],
        dates=[named[r].date for r in rows],
        sources=[named[r].source for r in rows],
        lengths=np.array([named[r].length for r in rows], dtype=np.int64),
        groups=[named[r].group or named[r].id for r in rows],
        kept=np.array([named[r].status == KEPT for r in rows], dtype=bool),
        copies={ref_of_row[r]: [ref_of_row[c] for c in same] for r, same in sorted(copies_of.items()) if same},
    )
    pos_ref = np.array([ref_of_row[r.row] for r in met.records], dtype=np.int64)
    keeper_ref = np.array([ref_of_row.get(r.keeper, ref_of_row[r.row]) for r in met.records], dtype=np.int64)
    return refs, np.stack([pos_ref, keeper_ref], axis=1).reshape(-1, 2)


def _stored_ends(met: Met, art_pairs: np.ndarray, carried: np.ndarray) -> list[int]:
    """The rows of the met articles at an end of a carried edge that may have stored exact copies (those in a group:
    an article stored alone has none, and costs no lookup)."""
    ends = np.asarray(art_pairs, dtype=np.int64).reshape(-1, 2)[np.asarray(carried, dtype=bool)].ravel()
    return sorted({met.records[e].row for e in ends[ends < met.size].tolist() if met.records[e].group is not None})


def history_counts(index: HistoryIndex, met: Met, window_days: float | None, known: set[int], added: int,
                   status: np.ndarray, keeper: np.ndarray, n: int) -> dict[str, Any]:
    """What the history index did in the run (``summary.json``'s ``history``); ``status``/``keeper`` the result's."""
    return {
        "location": index.location,
        "window_days": window_days,  # not a config setting (an option of the run): recorded here
        "already_indexed": len(known),
        "added": added,
        "stored_articles_met": met.size,
        "candidate_pairs_with_history": len(met.pairs),
        "from_bands": met.from_bands,
        "from_anchors": met.from_anchors,
        "from_digest": met.from_digest,
        "screened_out": met.screened_out,
        "duplicates_of_history": int(((keeper >= n) & (status == DUPLICATE)).sum()),
    }


def commit(index: HistoryIndex, *args: Any, **kwargs: Any) -> int:
    """:func:`_commit`, and what an interruption or failure during it leaves: the index may hold part of the feed."""
    try:
        return _commit(index, *args, **kwargs)
    except BaseException as exc:  # whole groups per transaction: those before the stop are in the index
        exc.add_note(f"the index {index.location} may hold part of this feed already (it was being added, whole groups "
                     "at a time); a rerun skips what it holds and adds the rest")
        raise


def _commit(
    index: HistoryIndex,
    feed: PreparedFeed,
    met: Met,
    status: np.ndarray,
    group: np.ndarray,
    keeper: np.ndarray,
    relation: np.ndarray,
    scores: np.ndarray,
    refs: HistoryRefs,
    edges: np.ndarray,
    edge_rel: np.ndarray,
    edge_scores: PairScores,
    chunk_size: int,
    known: set[int],
    again: dict[str, int] | None = None,
) -> int:
    """Write the feed's articles into the index, whole groups per transaction; returns how many.

    ``status``/``group``/``keeper``/``relation``/``scores`` are the result's
    (positions ``0..n-1`` the feed, ``n + k`` the stored article ``refs[k]``);
    ``edges`` are verified pairs of result positions. Articles in ``known``
    (already indexed) are left out; those whose ids are in ``again`` (:class:`Seen`) replace the stored row named.
    """
    again = again or {}
    n = len(feed.table)
    base = index.next_row()
    ids = feed.table.ids

    def row_of(p: int) -> int:
        return base + p if p < n else int(refs.rows[p - n])

    def group_name(g: int) -> str | None:
        return None if g < 0 else (ids[g] if g < n else refs.groups[g - n])

    rep_row = np.full(n, -1, dtype=np.int64)
    has_rep = np.flatnonzero(feed.rep_of >= 0)
    rep_row[has_rep] = base + feed.rep_pos[feed.rep_of[has_rep]]
    stored_center = {r.row: r.center for r in met.records}
    stored_center.update({r.row: r.center for r in met.keepers.values()})
    todo = np.array([p for p in range(n) if p not in known], dtype=np.int64)
    # whole new groups in one transaction: order by the group's first member
    sort_key = np.where((group[todo] >= 0) & (group[todo] < n), group[todo], todo)
    todo = todo[np.lexsort((todo, sort_key))]
    sort_key = np.sort(sort_key, kind="stable")
    cut = [0]
    for k in range(1, len(todo)):
        if k - cut[-1] >= chunk_size and sort_key[k] != sort_key[k - 1]:
            cut.append(k)
    cut.append(len(todo))
    chunk_of = np.full(n, -1, dtype=np.int64)
    for c in range(len(cut) - 1):
        chunk_of[todo[cut[c] : cut[c + 1]]] = c
    # an edge is written with the later of its new ends
    new_end = np.where(edges < n, chunk_of[np.minimum(edges, n - 1)] if n else -1, -1)
    edge_chunk = new_end.max(axis=1) if len(edges) else np.zeros(0, np.int64)
    rep_index = np.full(n, -1, dtype=np.int64)
    rep_index[feed.rep_pos] = np.arange(len(feed.rep_pos))
    grams, owners = feed.anchors
    bounds = np.searchsorted(owners, np.arange(len(feed.rep_pos) + 1))
    key_flat, key_off = feed.line_keys if feed.line_keys is not None else (np.zeros(0, np.uint64), np.zeros(n + 1, np.int64))
    added = 0
    regrouped: set[int] = set()
    for c in range(len(cut) - 1):
        members = np.sort(todo[cut[c] : cut[c + 1]])
        records = []
        now_keeping = []
        for p in members.tolist():
            st, k = int(status[p]), int(keeper[p])
            if k >= n and st != SKIPPED:  # a copy of a stored keeper: if it was alone, it keeps a group now
                stored = met.keepers.get(row_of(k))
                if stored is not None and stored.group is None and stored.row not in regrouped and group[p] >= 0:
                    regrouped.add(stored.row)
                    now_keeping.append(replace(stored, group=group_name(int(group[p]))))
            if st == SKIPPED:
                kr, center, rep = -1, -1, -1
            else:
                kr = row_of(k) if k >= 0 else base + p
                if k >= n:
                    center = stored_center.get(kr, kr)
                else:
                    kk = k if k >= 0 else p
                    center = int(rep_row[kk])
                rep = int(rep_row[p])
            records.append(ArticleRecord(
                row=base + p, id=ids[p], date=_iso(float(feed.table.times[p])),
                time=float(feed.table.times[p]), source=feed.table.source_names[int(feed.table.source_codes[p])],
                length=int(feed.table.lengths[p]), status=st, group=group_name(int(group[p])), keeper=kr,
                center=center, rep=rep, relation=int(relation[p]), scores=tuple(float(x) for x in scores[p][:4]),
                reason=feed.reason_skipped.get(p, ""),
            ))
        reps = rep_index[members]
        reps = reps[reps >= 0]
        e = np.flatnonzero(edge_chunk == c)
        batch = IndexBatch(
            articles=records,
            sketch_rows=base + feed.rep_pos[reps],
            digest=feed.digest[feed.rep_pos[reps]],
            sizes=feed.sizes[reps],
            signatures=feed.signatures[reps],
            features=replace(feed.store.gather(reps), **dict(zip(("kgrams", "kgram_offsets"), feed.store.gather_kgrams(reps)))),
            band_keys=met.band_keys[reps],
            anchors=[grams[bounds[r] : bounds[r + 1]] for r in reps.tolist()],
            edges=np.array([[row_of(int(a)), row_of(int(b))] for a, b in edges[e].tolist()], dtype=np.int64).reshape(-1, 2),
            edge_relation=edge_rel[e],
            edge_scores=np.stack([edge_scores.jaccard[e], edge_scores.contain_ij[e], edge_scores.contain_ji[e], edge_scores.cosine[e],
                                  np.full(len(e), np.nan) if edge_scores.probability is None else edge_scores.probability[e]], axis=1),
            regrouped=now_keeping,
            replaced=[again[ids[p]] for p in members.tolist() if ids[p] in again],
        )
        lk = np.concatenate([key_flat[key_off[p] : key_off[p + 1]] for p in members.tolist()]) if len(members) else key_flat[:0]
        index.add(batch, lk)
        added += len(records)
    return added
