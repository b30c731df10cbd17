"""Events in time order: articles arrive day by day and join the events of the open window.

The tracker is the one way events are made, for a feed held in memory and for
one that streams: articles are taken in time order (dated ones by time, then
the undated ones), a calendar day (UTC) at a time, and only the rows of the
open window (the last ``window_days``) and of the events that can still grow
are held. Everything an article is compared with came before it, so appending a
later day never changes an earlier decision, and the result is the same
whatever the block size (:class:`EventTracker` proves it by construction; the
tests check it):

* **vectors** (:mod:`dedup.stories.vectors`) weigh terms by an IDF whose
  document frequencies count the articles up to the end of the article's day
  (plus the background prior): a day's vectors do not depend on later days;
* **neighbours**: each article's ``neighbours`` most similar *earlier*
  articles within the window (word TF-IDF without the words in more than
  ``max(candidate_max_df, candidate_max_df_fraction · seen)`` articles);
* **linkage**: an arriving article first joins the event of the previous
  member of its copy group (within the window); a **late reprint**, one that
  its copies' event cannot take in (past the window), joins the event of
  the previous member of its duplicate group as it stands (the event's span
  is not stretched, and nothing of its own days joins the event through it)
  when their numbers agree (:func:`_numbers_agree`: a template filled with
  other scores, counts or dates is another happening, even when dedupe took
  it for a copy); otherwise its strong edges are
  taken in decreasing score, each merging two events only when the average
  cosine over their cross pairs is at least ``event_linkage`` and the merged
  event spans at most ``window_days`` (average linkage, as
  :func:`dedup.stories.linkage.average_linkage`);
* **closing**: an event whose first report is older than the window can
  no longer grow: its centroid is kept (truncated to its ``centroid_terms``
  largest weights, for storylines) and its rows are let go once they leave
  the window.

With ``config.semantic`` each day also carries the sentence embeddings of its
articles, held with the window's rows, and the candidate pairs whose story
score lies in the semantic model's band are re-scored
(:mod:`dedup.stories.semantic`) before they are linked.

Undated articles come last and are compared with each other only (no window);
one that copies a dated article joins that article's event. Labels are
arrival indices (the first report of an event), mapped to positions at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from ..sparse import sp

from ..cluster.groups import UnionFind
from ..config import StoriesConfig
from ..exec.heap import release_heap
from ..sketch.features import TOKEN_COLUMNS
from .neighbours import earlier_neighbours
from .score import score_features, story_scores
from .slots import Slots
from . import closing, sums
from .sparse import KERNEL_ROWS, top_entries
from .closed import Closed, FoundPairs
from .day import DayInput
from .window import Columns, Rows, Weights

__all__ = ["EventTracker", "TrackedEvents"]

_DAY = 86_400.0


@dataclass(frozen=True)
class TrackedEvents:
    """What the tracker found, by arrival index.

    Attributes:
        event: ``(n,)`` arrival index of each article's event (its first report).
        representative: ``(n,)`` at an event label, the member nearest the centroid; -1 elsewhere.
        centroids: ``(e, d)`` truncated, L2-normalized story-vector centroids, one per event.
        word_centroids: ``(e, d)`` the same for the candidate (word) vectors.
        labels: ``(e,)`` the event label of each centroid row.
        pairs: ``(m, 2)`` candidate pairs (arrival indices, earlier first) with a score of at least ``min_candidate``.
        scores: ``(m,)`` their story scores.
    """

    event: np.ndarray
    representative: np.ndarray
    centroids: sp.csr_matrix
    word_centroids: sp.csr_matrix
    labels: np.ndarray
    pairs: np.ndarray
    scores: np.ndarray


class EventTracker:
    """Feed :class:`DayInput` blocks in arrival order with :meth:`add_day`; :meth:`finish` gives the events.

    Args:
        n: how many articles will arrive in all.
        config: the stories settings.
        tick: called with how many articles were placed.
        threads: threads the candidate search of a large window may use (never changes a result).
        spill: the folder of the closed events' centroids until :meth:`finish` (None: the system's temporary folder).
    """

    def __init__(self, n: int, config: StoriesConfig, tick: Callable[[int], None] | None = None, threads: int = 1,
                 spill: str | None = None) -> None:
        self.n, self.config, self.tick, self.threads = n, config, tick, max(1, threads)
        self.window = config.window_days * _DAY
        self.weights = Weights(config)
        self.rows = Rows()
        self.sets = UnionFind(n)
        self.size = np.ones(n, dtype=np.int64)
        self.tmin = np.full(n, np.nan)
        self.tmax = np.full(n, np.nan)
        self.sums: dict[int, sums.Sum] = {}  # root → summed story vector (sorted columns)
        self.wsums: dict[int, sums.Sum] = {}  # root → summed word vector
        self.compiled = n >= KERNEL_ROWS  # from this many articles numba's import (~1 s) is small beside the merges it speeds
        # a member's own vectors are read from its held row (x in the window's dense columns); ``single`` holds
        # them only for members whose row is not held (a carried state's), in the same columns
        self.single: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        self._held: tuple[np.ndarray, sp.csr_matrix, sp.csr_matrix] | None = None  # arrivals, x, w of the held rows
        self.open: set[int] = set()  # roots of events that may still grow
        self.members: dict[int, list[int]] = {}  # root → arrival indices
        self.last_of_copy: dict[int, int] = {}  # copy label → its latest arrived member
        # duplicate-group label → its latest arrived member (int64) and that member's numbers (int32), as one bytes
        # object (~60 bytes an entry beside the dict's own, not ~140 as a tuple of an int and bytes): late reprints
        self.last_of_group: dict[int, bytes] = {}
        self.event = np.full(n, -1, dtype=np.int64)
        self.representative = np.full(n, -1, dtype=np.int64)
        self.closed = Closed(2 * TOKEN_COLUMNS, spill)
        self.found = FoundPairs(spill)  # the candidate pairs and their scores, on disk until finish
        self.undated = False
        self.xcols, self.ncols = Columns(2 * TOKEN_COLUMNS), Columns(TOKEN_COLUMNS)
        self.slots_all: Slots | None = None
        self.semantic = None  # the semantic model (dedup.stories.semantic, imported only when used)
        if config.semantic:
            from .semantic import load_model

            self.semantic = load_model()

    # --- clusters -----------------------------------------------------------------
    def _vec(self, root: int, which: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """An event's summed story (``which`` 0, dense columns) or word (1) vector; a lone article's own."""
        sums = self.sums if which == 0 else self.wsums
        if root in sums:
            return sums[root]
        ix, vx, iw, vw = self._own(root)
        return (ix, vx) if which == 0 else (iw, vw)

    def _own(self, a: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Article ``a``'s story vector (dense columns) and word vector, from its held row (views, not copies)."""
        got = self.single.get(a)
        if got is not None:
            return got
        if self._held is None:
            held = self.rows.stacked()
            assert held is not None, f"EventTracker: article {a} is in an open event but no row is held"
            self._held = (held[0], held[2], held[3])
        arrival, x, w = self._held
        k = int(np.searchsorted(arrival, a))
        assert k < len(arrival) and arrival[k] == a, f"EventTracker: article {a} is in an open event but its row is not held"
        xs, ws = slice(x.indptr[k], x.indptr[k + 1]), slice(w.indptr[k], w.indptr[k + 1])
        return x.indices[xs], x.data[xs], w.indices[ws], w.data[ws]

    def _dot(self, a: int, b: int) -> float:
        return sums.dot(self._vec(a), self._vec(b), self.compiled)

    def _span_ok(self, a: int, b: int) -> bool:
        if self.undated:
            return True
        span = max(self.tmax[a], self.tmax[b]) - min(self.tmin[a], self.tmin[b])
        return not span > self.window

    def _merge(self, a: int, b: int, stretch: bool = True) -> None:
        """Join events ``a`` and ``b``; without ``stretch``, ``b`` (a lone late reprint) leaves ``a``'s span as it is."""
        if not stretch:
            self.tmin[b], self.tmax[b] = self.tmin[a], self.tmax[a]
        a, b = min(a, b), max(a, b)
        self.sums[a] = sums.add(self._vec(a, 0), self._vec(b, 0), self.compiled)
        self.wsums[a] = sums.add(self._vec(a, 1), self._vec(b, 1), self.compiled)
        self.sums.pop(b, None)
        self.wsums.pop(b, None)
        self.sets.union(a, b)
        self.size[a] += self.size[b]
        self.tmin[a] = np.fmin(self.tmin[a], self.tmin[b])
        self.tmax[a] = np.fmax(self.tmax[a], self.tmax[b])
        self.members[a].extend(self.members.pop(b))
        self.open.discard(b)

    # --- days -----------------------------------------------------------------------
    def add_days(self, days: Iterable[DayInput]) -> None:
        """:meth:`add_day` of each day in turn, holding no day longer than its placing needs.

        A dense day's counts are ~0.4 GB and are needed only until its
        vectors are made: a day handed over here (not kept by the caller)
        is let go then, before the day's search.
        """
        it = iter(days)
        while (day := next(it, None)) is not None:
            box = [day]
            del day
            self._place(box)
            # a day's temporaries (story blocks, scores, sums; each under glibc's 32 MiB mmap threshold, many made on
            # threads with heaps of their own) are freed to the heaps and stayed with the process: the peak on the
            # second dense window of a 1M feed of copy families was ~0.35 GiB above the first's
            release_heap()

    def add_day(self, day: DayInput) -> None:
        """Place one day's articles (or, last, the undated ones)."""
        self._place([day])

    def _place(self, box: list[DayInput]) -> None:
        """Place the day in ``box`` (taken out of it: once its vectors are made, nothing here holds its counts)."""
        day = box.pop()
        self.undated = bool(len(day.times)) and bool(np.isnan(day.times[0]))
        # with threads, the day is counted, its columns numbered and its first story blocks made while the events it
        # leaves behind close (closing reads neither the counts nor the new columns), the rest of its story vectors a
        # block at a time on the threads (~30 MB each, in order); the same numbers as one after the other
        prep = ThreadPoolExecutor(self.threads) if self.threads > 1 else None
        try:
            blocks = None if prep is None else prep.submit(self._story_blocks, day, prep)
            if not self.undated and len(day.times):
                self._close_before(float(day.times[0]) - self.window)
            x = self._story_blocks(day, None) if blocks is None else blocks.result()
            w = self.weights.word_blocks(day, 2048)
            self._hold(day, x, w)
        finally:
            if prep is not None:
                prep.shutdown(cancel_futures=True)
        arrival, copies, groups = day.arrival, day.copies, day.groups
        numbers = day.numbers if groups is not None else None
        del x, w, day  # the day's counts go here unless the caller keeps the day
        self._search_and_link(arrival, copies, groups, numbers)

    def _story_blocks(self, day: DayInput, pool: ThreadPoolExecutor | None) -> Iterator[sp.csr_matrix]:
        """Count the day's articles into the weights, number its story columns; its story rows in dense columns, in blocks.

        With a ``pool``, the first blocks are sent to it before this returns.
        """
        self.xcols.number(*self.weights.story_columns(day, self.weights.count(day)))
        # only the window's dense columns are kept
        return self.weights.story_blocks(day, 2048, then=self.xcols.renumber, pool=pool, ahead=self.threads)

    def _hold(self, day: DayInput, x: Iterable[sp.csr_matrix], w: sp.csr_matrix) -> None:
        """Hold the day's rows (story blocks ``x``, word vectors ``w``) in the window; the undated close all before."""
        self.tmin[day.arrival] = day.times
        # an article holds its event open for the copies still to come (within the window)
        self.tmax[day.arrival] = day.times if day.until is None else np.fmax(day.times, day.until)
        if self.undated:  # the undated meet the undated only
            self._close_before(np.inf)
            self.rows.drop_before(int(day.arrival[0]))
        if self.semantic is not None and day.embeddings is None:
            raise ValueError("EventTracker: config.semantic is on but the day has no embeddings (build_day(..., embeddings=))")
        emb = day.embeddings if self.semantic is not None else None
        self.rows.add(day.arrival, day.times, x, w, self.ncols.narrow(day.numbers), day.lengths, day.slots, emb)

    def _search_and_link(self, arrival: np.ndarray, copies: np.ndarray, groups: np.ndarray | None = None,
                         numbers: sp.csr_matrix | None = None) -> None:
        """Search the day's held rows (arrivals ``arrival``) against the window in chunks, on threads; link them in order."""
        c = self.config
        held = self.rows.stacked()
        assert held is not None
        a_all, t_all, x_all, w_all, nu_all, ln_all, sl_all = held
        self._held = (a_all, x_all, w_all)
        e_all = self.rows.embeddings()
        self.slots_all = None if sl_all is None else Slots.learn(sl_all, c.template_fillers)  # the open window's templates
        x_all, nu_all = self.xcols.shaped(x_all), self.ncols.shaped(nu_all)
        first = int(arrival[0]) - int(a_all[0])  # the day's first row among the held ones
        w_t = w_all.T.tocsr()  # once a day: each chunk meets every held row, the later ones masked out
        end = first + len(arrival)
        spans = [(lo, min(end, lo + c.chunk_rows)) for lo in range(first, end, c.chunk_rows)]

        def pairs_of(span: tuple[int, int], threads: int) -> tuple[np.ndarray, np.ndarray]:
            return self._pairs(span[0], span[1], t_all, x_all, w_all, w_t, nu_all, ln_all, e_all, threads)

        # a chunk's candidates depend on the held rows only, so later chunks are searched and scored on other
        # threads while this one links its chunks in order (the kernel and most NumPy work release the GIL)
        if self.threads > 1 and len(spans) > 1:
            pool = ThreadPoolExecutor(self.threads)
            found = pool.map(lambda span: pairs_of(span, 1), spans)
        else:
            pool, found = None, (pairs_of(span, self.threads) for span in spans)
        try:
            for (lo, hi), (pairs, scores) in zip(spans, found):
                late = None if groups is None else (groups[lo - first:hi - first], numbers[lo - first:hi - first])
                self._link(a_all[lo:hi], copies[lo - first:hi - first], pairs + int(a_all[0]), scores, late)
                if self.tick is not None:
                    self.tick(hi - lo)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)

    def _pairs(self, lo, hi, t_all, x_all, w_all, w_t, nu_all, ln_all, e_all=None, threads=1) -> tuple[np.ndarray, np.ndarray]:
        """Candidate pairs (held-row indices ``(later, earlier)``) of rows ``lo:hi`` with the earlier held rows, and their scores.

        With the semantic model, the pairs in its band get the semantic story
        score (``e_all``: the held rows' embeddings) before the
        ``min_candidate`` cut, so that cut and the event threshold see the
        score that decides.
        """
        c = self.config
        r, col, _ = earlier_neighbours(w_all, w_t, lo, hi, c.neighbours, c.min_word_cosine,
                                       None if self.undated else t_all, self.window, threads)
        pairs = np.stack([r, col], axis=1)
        if len(pairs) == 0:
            return pairs.reshape(0, 2), np.zeros(0)
        scores = story_scores(x_all, nu_all, ln_all, pairs, c, self.slots_all)
        if self.semantic is not None:
            from . import semantic

            which = semantic.pairs_to_rescore(scores, self.semantic)
            sub = pairs[which]
            scores = semantic.rescore(scores, which, score_features(x_all, nu_all, ln_all, sub),
                                      semantic.pair_cosines(e_all, sub), c, self.semantic)
        keep = scores >= c.min_candidate
        return pairs[keep], scores[keep]

    def _link(self, arrivals: np.ndarray, copies: np.ndarray, pairs: np.ndarray, scores: np.ndarray,
              late: tuple[np.ndarray, sp.csr_matrix] | None = None) -> None:
        """Place arriving articles in order: copy group first (or, past the window, the duplicate group: a late
        reprint; ``late``: the arrivals' duplicate groups and number rows), then strong edges in decreasing score."""
        c = self.config
        if len(pairs):
            self.found.append(pairs[:, ::-1], scores)
        strong = np.flatnonzero(scores >= c.event_threshold)
        strong = strong[np.lexsort((pairs[strong, 1], -scores[strong], pairs[strong, 0]))]
        edge_of = np.searchsorted(pairs[strong, 0], arrivals, side="left") if len(strong) else np.zeros(len(arrivals), np.int64)
        edge_end = np.searchsorted(pairs[strong, 0], arrivals, side="right") if len(strong) else np.zeros(len(arrivals), np.int64)
        sp_ = pairs[strong]
        for k, a in enumerate(arrivals.tolist()):
            self.members[a] = [a]
            self.open.add(a)
            g = int(copies[k])
            if g >= 0:
                prev = self.last_of_copy.get(g)
                self.last_of_copy[g] = a
                if prev is not None:
                    rp = self.sets.find(prev)
                    if rp in self.open and self._span_ok(rp, a):
                        self._merge(rp, a)
                    elif self.undated and np.isnan(self.tmin[a]) and rp not in self.open:
                        # the event ``prev`` is in: ``prev`` may be an undated copy attached itself (not a root)
                        self._attach_closed(a, int(self.event[prev]) if self.event[prev] >= 0 else rp)
                        continue
            if late is not None and late[0][k] >= 0 and not self.undated:
                d, nums = int(late[0][k]), late[1]
                mine = nums.indices[nums.indptr[k]:nums.indptr[k + 1]].astype(np.int32).tobytes()
                got = self.last_of_group.get(d)
                earlier, theirs = (None, b"") if got is None else (int(np.frombuffer(got[:8], dtype=np.int64)[0]), got[8:])
                self.last_of_group[d] = np.int64(a).tobytes() + mine
                if earlier is not None and self.sets.find(a) == a and _numbers_agree(mine, theirs):  # a late reprint
                    re_ = self.sets.find(earlier)
                    if re_ in self.open:
                        self._merge(re_, a, stretch=self._span_ok(re_, a))
                    elif self.event[earlier] >= 0:  # (a carried state's closed event has no label here)
                        self._attach_closed(a, int(self.event[earlier]))
                        continue
            rejected: set[tuple[int, int, int, int]] = set()
            for e in range(int(edge_of[k]), int(edge_end[k])):
                ra, rb = self.sets.find(a), self.sets.find(int(sp_[e, 1]))
                if ra == rb or rb not in self.open or not self._span_ok(ra, rb):
                    continue
                state = (min(ra, rb), int(self.size[min(ra, rb)]), max(ra, rb), int(self.size[max(ra, rb)]))
                if state in rejected:
                    continue
                if self._dot(ra, rb) / (self.size[ra] * self.size[rb]) < c.event_linkage:
                    rejected.add(state)
                    continue
                self._merge(ra, rb)

    def _attach_closed(self, a: int, root: int) -> None:
        """A copy of an article whose event is already closed (an undated one, or a late reprint) joins that event
        as it stands: ``a`` is no root, so no later article joins the event through it."""
        self.event[a] = root
        self.open.discard(a)
        self.members.pop(a, None)
        self.single.pop(a, None)

    def _keep_own(self, first_kept: int) -> None:
        """Copy out the own vectors of open events' members whose rows are let go (arrivals below ``first_kept``).

        Rows go in arrival order, events close by their first report's time:
        a member that arrived early but is dated late (a feed added to an
        index after a later one) keeps an open event whose row may go first.
        """
        for r in self.open:
            for a in self.members.get(r, ()):
                if a < first_kept and a not in self.single:
                    self.single[a] = tuple(v.copy() for v in self._own(a))  # type: ignore[assignment]

    def _close_before(self, t0: float) -> None:
        """Close the events whose first report is before ``t0``: centroid, representative; let their rows go."""
        done = sorted(r for r in self.open if not self.tmin[r] >= t0)
        m = self.config.centroid_terms
        members = [sorted(self.members.pop(r)) for r in done]
        self.open.difference_update(done)
        sx, sw = [self._vec(r, 0) for r in done], [self._vec(r, 1) for r in done]
        if done:
            self.event[np.concatenate(members)] = np.repeat(np.asarray(done, dtype=np.int64), [len(g) for g in members])
            self.representative[done] = closing.representatives(done, members, sx, self._own_story_rows, self.compiled)
        story = [closing.story_centroid(v, m, self.xcols.hashed) for v in sx]  # centroids in hashed columns
        word = [top_entries(v, m) for v in sw]
        for r, group in zip(done, members):
            self.sums.pop(r, None)
            self.wsums.pop(r, None)
            if self.single:
                for mbr in group:
                    self.single.pop(mbr, None)
        self.closed.add(done, story, word)
        if np.isfinite(t0):
            held = self.rows.stacked()
            if held is not None:
                a_all, t_all = held[0], held[1]
                old = np.flatnonzero(t_all < t0)
                if len(old):
                    first_kept = int(a_all[old[-1]]) + 1
                    self._keep_own(first_kept)
                    self.rows.drop_before(first_kept)
        else:
            self.rows.drop_before(self.n)
        self._held = None

    def _own_story_rows(self, arrivals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The story rows of ``arrivals`` (dense columns) as CSR arrays ``(indptr, indices, data)``, in their order."""
        if not self.single or not any(a in self.single for a in arrivals.tolist()):
            if self._held is None:
                held = self.rows.stacked()
                assert held is not None, "EventTracker: an open event's members are not held"
                self._held = (held[0], held[2], held[3])
            arrival, x, _ = self._held
            k = np.searchsorted(arrival, arrivals)
            assert np.all(k < len(arrival)) and np.array_equal(arrival[np.minimum(k, len(arrival) - 1)], arrivals), \
                "EventTracker: an open event's member row is not held"
            sub = x[k]
            return sub.indptr, sub.indices, sub.data
        own = [self._own(int(a))[:2] for a in arrivals]  # some rows already let go (a carried state's members)
        ptr = np.zeros(len(own) + 1, dtype=np.int64)
        np.cumsum([len(i) for i, _ in own], out=ptr[1:])
        return ptr, np.concatenate([i for i, _ in own]), np.concatenate([v for _, v in own])

    def finish(self) -> TrackedEvents:
        """Close every event; return the events, their centroids and the candidate pairs.

        The tracker lets go of what it held (the window's buffers first, then
        the closed centroids as their matrices are made): it cannot take
        another day after this.
        """
        self._close_before(np.inf)
        self.rows, self._held, self.slots_all = Rows(), None, None
        self.sums, self.wsums, self.single, self.members, self.last_of_copy, self.last_of_group = {}, {}, {}, {}, {}, {}
        labels, story, word = self.closed.take()
        pairs, scores = self.found.take()
        return TrackedEvents(self.event, self.representative, story, word, labels, pairs, scores)


def _numbers_agree(a: bytes, b: bytes) -> bool:
    """Whether two number sets (int32 bytes) agree: at least half of the smaller one's numbers are in the other
    (either empty: nothing to disagree on).

    A copy trimmed at one end and extended at the other keeps most numbers of
    the shorter; a template filled with other scores, counts or dates keeps
    few. Chosen on the dev labels (``scripts/eval_stories.py``): requiring one
    set inside the other split three labelled copies and joined no fewer
    templates; half of the smaller set split none.

    >>> n = lambda *x: np.array(x, dtype=np.int32).tobytes()
    >>> _numbers_agree(n(3, 7), n(3, 7, 9)), _numbers_agree(n(), n(4)), _numbers_agree(n(1, 2), n(1, 3)), _numbers_agree(n(2, 0), n(1))
    (True, True, True, False)
    """
    x, y = np.frombuffer(a, dtype=np.int32), np.frombuffer(b, dtype=np.int32)
    if len(x) == 0 or len(y) == 0:
        return True
    return 2 * int(np.isin(x, y).sum()) >= min(len(x), len(y))
