"""What the event tracker holds between days: term weights so far, a dense column numbering, the open window's rows.

:class:`Weights` turns a day's counts into story and candidate vectors with
the document frequencies of the articles arrived so far (plus the background
prior); :class:`Columns` renumbers hashed columns densely so that scoring
buffers stay as wide as the columns in use; :class:`Rows` keeps the rows of
the open window and lets the old ones go. The events that can no longer grow
leave their centroids with :class:`dedup.stories.closed.Closed`. See
:mod:`dedup.stories.events`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from typing import Any

import numpy as np
from ..sparse import sp

from ..config import StoriesConfig
from ..sketch.features import TOKEN_COLUMNS
from ..store.background import background_df
from ..store.days import DiskRows
from .sparse import csr_over, l2_rows

__all__ = ["Columns", "Rows", "Weights"]


class Weights:
    """Document frequencies of what has arrived, and the term weights they give (no later day counts)."""

    def __init__(self, config: StoriesConfig) -> None:
        self.config = config
        self.seen = 0
        self.word_df = np.zeros(TOKEN_COLUMNS)
        self.char_df = np.zeros(TOKEN_COLUMNS) if config.char_weight > 0 else None
        if config.idf_prior_documents > 0:
            for kind, df in (("word", self.word_df), ("char", self.char_df)):
                prior = background_df(kind, config.char_k, config.normalize) if df is not None else None
                if prior is not None:
                    cols, shares = prior
                    ok = cols < TOKEN_COLUMNS
                    np.add.at(df, cols[ok], config.idf_prior_documents * shares[ok])
        self.prior_documents = config.idf_prior_documents
        self.word_seen = np.zeros(TOKEN_COLUMNS)  # the feed's own document frequencies (candidate vectors)

    def count(self, day: Any) -> tuple[np.ndarray | None, np.ndarray | None]:  # day: a dedup.stories.day.DayInput
        """Count the day's articles in (each row's columns are distinct: canonical counts).

        Returns:
            The distinct columns of the bodies' words and characters (None: no such counts), ascending.
        """
        self.seen += len(day.arrival)
        distinct: list[np.ndarray | None] = []
        for dfs, m in (((self.word_df, self.word_seen), day.body_words), ((self.char_df,), day.body_chars)):
            if m is None:
                distinct.append(None)
                continue
            # a parked day's characters stay on disk (DiskRows): counted a slice at a time
            found = m.column_counts() if isinstance(m, DiskRows) else np.bincount(m.indices, minlength=len(self.word_df))
            for df in dfs:
                if df is not None:
                    df += found[: len(df)]
            distinct.append(np.flatnonzero(found))
        return distinct[0], distinct[1]

    def _idf(self, df: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """``columns -> IDF`` with the frequencies counted so far (:func:`dedup.stories.vectors._idf`'s formula)."""
        total = 1.0 + self.seen + self.prior_documents
        idf = np.log(total / (1.0 + df)) + 1.0  # every column at once: cheaper than the power per stored value
        idf **= self.config.idf_power
        return lambda cols: idf[cols]

    def story_vectors(self, day: Any) -> sp.csr_matrix:
        """Word (and character) TF-IDF blocks with the headline weighted in, mixed as ``vectors.story_vectors``."""
        return self._story(day, slice(None), self._idf(self.word_df), self._char_idf(day))

    def story_blocks(self, day: Any, rows: int, then: Callable[[sp.csr_matrix], sp.csr_matrix] | None = None,
                     pool: Executor | None = None, ahead: int = 2) -> Iterator[sp.csr_matrix]:
        """:meth:`story_vectors` of ``rows`` articles at a time: the same rows (each is weighed on its own), a block in memory.

        A dense day's story vectors are ~0.5 GB, and making them at once held
        two to three times that in temporaries. Each block is passed through
        ``then`` (e.g. :meth:`Columns.renumber`) where it is made; with a
        ``pool`` of threads, blocks are made there, at most ``ahead`` beyond
        the one being read (the first ones sent at once), and still given in
        order (the same blocks: each is weighed on its own, with IDF fixed
        when this is called).
        """
        word_idf, char_idf = self._idf(self.word_df), self._char_idf(day)
        n = day.body_words.shape[0]

        def make(lo: int) -> sp.csr_matrix:
            x = self._story(day, slice(lo, min(n, lo + rows)), word_idf, char_idf)
            return x if then is None else then(x)

        starts = range(0, n, max(1, rows))
        if pool is None:
            return map(make, starts)
        # the first blocks are sent now, not when the first is asked for: the caller's work meanwhile overlaps them
        waiting: deque[Future[sp.csr_matrix]] = deque(pool.submit(make, lo) for lo in starts[: ahead + 1])
        rest = iter(starts[ahead + 1 :])

        def in_order() -> Iterator[sp.csr_matrix]:
            try:
                while waiting:
                    block = waiting.popleft().result()
                    if (lo := next(rest, None)) is not None:
                        waiting.append(pool.submit(make, lo))
                    yield block
            finally:  # a reader that stops early leaves no block being made
                for f in waiting:
                    f.cancel()

        return in_order()

    def story_columns(self, day: Any, counted: tuple[np.ndarray | None, np.ndarray | None] | None = None) -> list[tuple[np.ndarray, int]]:
        """The columns :meth:`story_vectors` can fill for ``day``, as ``(columns, offset)`` parts (with repeats).

        Its counted words; its counted characters, offset past the words.
        ``counted``: what :meth:`count` returned for the day (the bodies'
        distinct columns: a dense day's characters are ~30M entries, ~300k distinct).
        """
        c, width = self.config, day.body_words.shape[1]
        titles = c.title_weight > 0
        words, chars = counted if counted is not None else (None, None)
        words = day.body_words.indices if words is None else words
        parts = [(words, 0)] + ([(day.title_words.indices, 0)] if titles and day.title_words is not None else [])
        if self._char_idf(day) is not None:
            if chars is None:
                chars = np.flatnonzero(day.body_chars.column_counts()) if isinstance(day.body_chars, DiskRows) else day.body_chars.indices
            parts += [(chars, width)]
            parts += [(day.title_chars.indices, width)] if titles and day.title_chars is not None else []
        return parts

    def _char_idf(self, day: Any) -> Callable[[np.ndarray], np.ndarray] | None:
        return None if self.char_df is None or day.body_chars is None else self._idf(self.char_df)

    def _story(self, day: Any, rows: slice, word_idf: Callable[[np.ndarray], np.ndarray],
               char_idf: Callable[[np.ndarray], np.ndarray] | None) -> sp.csr_matrix:
        c = self.config
        cut = lambda m: None if m is None else m[rows]  # noqa: E731
        word = _tfidf(cut(day.body_words), cut(day.title_words), c.title_weight, word_idf)
        if char_idf is None:
            return word
        char = _tfidf(cut(day.body_chars), cut(day.title_chars), c.title_weight, char_idf)
        word.data *= np.sqrt(1.0 - c.char_weight)
        char.data *= np.sqrt(c.char_weight)
        x = l2_rows(sp.hstack([word, char], format="csr"), inplace=True)
        x.sort_indices()
        return x

    def word_vectors(self, day: Any) -> sp.csr_matrix:
        """Sublinear word TF-IDF without the words in more than the candidate ``max_df`` articles seen."""
        return self._words(day.body_words, self.seen)

    def word_blocks(self, day: Any, rows: int) -> Iterator[sp.csr_matrix]:
        """:meth:`word_vectors` of ``rows`` articles at a time, made as they are read (each row is weighed on its own:
        the same rows); a dense day's at once held ~0.2 GB of temporaries. Read them before the next :meth:`count`."""
        seen, n = self.seen, day.body_words.shape[0]
        return (self._words(day.body_words[lo : lo + rows], seen) for lo in range(0, n, max(1, rows)))

    def _words(self, counts: sp.csr_matrix, seen: int) -> sp.csr_matrix:
        c = self.config
        max_df = max(c.candidate_max_df, int(c.candidate_max_df_fraction * seen))
        m = sp.csr_matrix(counts, dtype=np.float64, copy=True)
        m.sum_duplicates()
        df = self.word_seen[m.indices]
        idf = np.log((1.0 + seen) / (1.0 + df)) + 1.0
        m.data = (1.0 + np.log(m.data)) * idf * (df <= max_df)
        m.eliminate_zeros()
        return l2_rows(m, inplace=True)


def _tfidf(body: sp.csr_matrix, title: sp.csr_matrix | None, title_weight: float,
           idf: Callable[[np.ndarray], np.ndarray]) -> sp.csr_matrix:
    def weighted(counts: sp.csr_matrix) -> sp.csr_matrix:
        m = sp.csr_matrix(counts, dtype=np.float64, copy=True)
        m.sum_duplicates()
        m.data = (1.0 + np.log(m.data)) * idf(m.indices)
        return l2_rows(m, inplace=True)

    x = weighted(body)
    if title is not None and title_weight > 0:
        t = weighted(title)
        t.data *= title_weight
        x = x + t
    return l2_rows(sp.csr_matrix(x), inplace=True)


class Columns:
    """Hashed columns renumbered densely in the order first seen, so that scoring buffers are as wide as the columns in use.

    Dot products are unchanged; the numbering only grows, so rows narrowed on
    different days stack together.
    """

    def __init__(self, width: int) -> None:
        self.ids = np.full(width, -1, dtype=np.int32)
        self.width = 0
        self._fresh: np.ndarray | None = None  # (width,) bool, all False between calls of number: the new columns marked
        self._back = np.zeros(0, dtype=np.int64)  # dense column → hashed column, for the first ``width``

    def narrow(self, m: sp.csr_matrix) -> sp.csr_matrix:
        """``m`` in dense columns, its new columns numbered first (``m`` is left as it is)."""
        m = sp.csr_matrix(m)
        self.number((m.indices, 0))
        out = sp.csr_matrix((m.data.copy(), self.ids[m.indices], m.indptr.copy()), shape=(m.shape[0], len(self.ids)))
        out.sort_indices()
        return out

    def number(self, *parts: tuple[np.ndarray, int]) -> None:
        """Number the hashed columns ``columns + offset`` of ``parts`` not numbered yet, in the order of their hashed numbers."""
        # looked up shifted, not added to: a day's characters are ~30M columns; the new ones are marked in a flag
        # per column and read back in column order (what sorting them for np.unique gave, at a pass over the flags)
        if self._fresh is None:
            self._fresh = np.zeros(len(self.ids), dtype=bool)
        for cols, offset in parts:
            self._fresh[offset:][cols[self.ids[offset:][cols] < 0]] = True
        new = np.flatnonzero(self._fresh)
        self._fresh[new] = False
        self.ids[new] = np.arange(self.width, self.width + len(new), dtype=np.int32)
        self._grow(self.width + len(new))
        self._back[self.width : self.width + len(new)] = new
        self.width += len(new)

    def renumber(self, m: sp.csr_matrix) -> sp.csr_matrix:
        """:meth:`narrow` of a matrix whose columns are all numbered (:meth:`number`) and whose data may be taken, not copied."""
        idx = self.ids[m.indices]
        if len(idx) and idx.min() < 0:
            raise ValueError("Columns.renumber: a column was not numbered first")
        out = sp.csr_matrix((m.data, idx, m.indptr), shape=(m.shape[0], len(self.ids)))
        out.sort_indices()
        return out

    def _grow(self, need: int) -> None:
        if need > len(self._back):
            back = np.zeros(max(need, 2 * len(self._back), 1024), dtype=np.int64)
            back[: len(self._back)] = self._back
            self._back = back

    def restore(self, hashed: np.ndarray, dense: np.ndarray, width: int) -> None:
        """Set the numbering: hashed columns ``hashed`` are dense ``dense``, ``width`` numbered in all (a carried state)."""
        self.ids[:] = -1
        self.ids[hashed] = dense
        self.width = int(width)
        self._grow(self.width)
        self._back[dense] = hashed

    def hashed(self, vec: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """A sparse vector in dense columns as ``(hashed columns, values)``, sorted by hashed column."""
        cols = self._back[vec[0]]
        order = np.argsort(cols, kind="stable")
        return cols[order], vec[1][order]

    def dense(self, vec: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """A sparse vector in hashed columns (all numbered) as ``(dense columns, values)``, sorted by dense column."""
        cols = self.ids[vec[0]]
        order = np.argsort(cols, kind="stable")
        return cols[order], vec[1][order]

    def shaped(self, m: sp.csr_matrix) -> sp.csr_matrix:
        """``m`` (narrowed rows) with its width cut to the columns numbered so far."""
        out = csr_over(m.data, m.indices, m.indptr, (m.shape[0], max(self.width, 1)))  # over the held rows: no copy
        # found once a day here (it reads every index), not again by each chunk's scoring (dedup.stories.sparse.canonical)
        out.has_canonical_format = sp.csr_matrix(m).has_canonical_format if not isinstance(m, sp.csr_matrix) else m.has_canonical_format
        return out


class Rows:
    """The rows held: arrival index → story vector, word vector, numbers, length, time, slots (the open window).

    And, when the semantic story score is on, each row's sentence embedding
    (:meth:`embeddings`), kept block by block beside the other rows.
    """

    def __init__(self) -> None:
        # per block: arrivals, times, lengths, slots (small); the sparse rows live in one buffer each
        self.blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, sp.csr_matrix | None]] = []
        self.vectors: list[np.ndarray | None] = []  # per block: (rows, d) float32 embeddings, or None
        # story vectors held as float32 (~1,360 entries a row: a dense window's ~1.8 GB becomes ~1.2); every sum and
        # dot product of them is taken in float64 (dedup.stories.events, dedup.stories.sparse.pair_dots)
        self.x, self.w, self.nu = _CsrRows(np.float32), _CsrRows(), _CsrRows()

    def add(self, arrival, times, x, w, nums, lengths, slots=None, embeddings=None) -> None:
        """Hold a block of arriving rows; ``x`` and ``w`` may also come as consecutive blocks of rows (iterables of CSR matrices)."""
        if len(arrival) and self.blocks and len(self.blocks[-1][0]) and arrival[0] <= self.blocks[-1][0][-1]:
            raise ValueError("Rows.add: rows arrive in order")
        for buf, m, what in ((self.x, x, "story"), (self.w, w, "word")):
            held = buf.tail - buf.head
            for part in ([m] if sp.issparse(m) else m):
                buf.append(part)
            if buf.tail - buf.head - held != len(arrival):
                raise ValueError(f"Rows.add: {len(arrival)} arrivals but {buf.tail - buf.head - held} {what} rows")
        self.blocks.append((arrival, times, lengths, slots))
        self.vectors.append(embeddings)
        self.nu.append(nums)

    def drop_before(self, first_kept: int) -> None:
        """Let go of the rows with arrival index below ``first_kept`` (whole blocks, and the head of a block)."""
        kept, vectors, gone = [], [], 0
        for (a, t, ln, sl), em in zip(self.blocks, self.vectors):
            if len(a) == 0 or a[-1] < first_kept:
                gone += len(a)
                continue
            if a[0] < first_kept:
                k = int(np.searchsorted(a, first_kept))
                gone += k
                a, t, ln, sl = a[k:], t[k:], ln[k:], (None if sl is None else sl[k:])
                em = None if em is None else em[k:]
            kept.append((a, t, ln, sl))
            vectors.append(em)
        self.blocks, self.vectors = kept, vectors
        for buf in (self.x, self.w, self.nu):
            buf.drop(gone)

    def stacked(self):
        if not self.blocks:
            return None
        a = np.concatenate([b[0] for b in self.blocks])
        t = np.concatenate([b[1] for b in self.blocks])
        ln = np.concatenate([b[2] for b in self.blocks])
        sl = None if any(b[3] is None for b in self.blocks) else sp.vstack([b[3] for b in self.blocks], format="csr")
        if len(self.blocks) > 1:
            self.blocks = [(a, t, ln, sl)]
            self.vectors = [self._embeddings()]
        return a, t, self.x.view(), self.w.view(), self.nu.view(), ln, sl

    def _embeddings(self) -> np.ndarray | None:
        return None if not self.vectors or any(v is None for v in self.vectors) else np.concatenate(self.vectors)

    def embeddings(self) -> np.ndarray | None:
        """``(rows, d)`` the embeddings of the rows :meth:`stacked` gives, in its order; None when a block has none."""
        em = self._embeddings()
        if len(self.vectors) > 1:
            self.vectors = [em]
        return em


class _CsrRows:
    """Sparse rows appended at the tail and let go at the head, in one buffer that is never stacked again.

    The tracker's window is gigabytes on dense days: stacking it anew every
    day held the old and the new copy together. Here a day's rows are copied
    once, behind the held ones; the rows let go are reclaimed by moving the
    held ones to the front of the same buffer (a block at a time), and the
    buffer grows (by a fiftieth beyond the need) only when what is held does
    not fit. :meth:`view` is a CSR matrix over the buffer, valid until the
    next :meth:`append`.
    """

    _MOVE = 1 << 22  # entries moved at a time when the held rows go to the front (bounds numpy's overlap buffer)
    # a grown buffer's room beyond the need: numpy zero-fills it when it grows in place, so it is resident until used
    # (the densest 258k articles of a 1M feed of copy families: 1.1 -> 1.02, peak 2.98 / 2.99 -> 2.91 / 2.81 GB, two
    # alternating runs each, the outputs byte-identical)
    _SPARE = 1.02

    def __init__(self, dtype: type = np.float64) -> None:
        self.data = np.zeros(0, dtype=dtype)  # values are stored in this dtype (rounded to it when appended)
        self.indices = np.zeros(0, dtype=np.int32)
        self.ptr = np.zeros(1, dtype=np.int64)  # row starts in the buffer: rows head..tail held
        self.head = self.tail = 0
        self.width = 0
        self.canonical = True

    def append(self, m: sp.csr_matrix) -> None:
        m = sp.csr_matrix(m)
        self.width = m.shape[1]
        self.canonical = self.canonical and bool(m.has_canonical_format)
        rows, nnz = m.shape[0], m.nnz
        lo, hi = int(self.ptr[self.head]), int(self.ptr[self.tail])
        held_rows = self.tail - self.head
        if hi + nnz > len(self.data) or self.tail + rows + 1 > len(self.ptr):
            if (hi - lo) + nnz <= len(self.data) and held_rows + rows + 1 <= len(self.ptr):
                self._to_front(lo, hi)
            else:
                self._grow(lo, hi, nnz, rows)
            lo, hi = 0, hi - lo
        self.data[hi : hi + nnz] = m.data
        self.indices[hi : hi + nnz] = m.indices
        self.ptr[self.tail + 1 : self.tail + rows + 1] = hi + m.indptr[1:]
        self.tail += rows

    def _to_front(self, lo: int, hi: int) -> None:
        for arr in (self.data, self.indices):
            for off in range(0, hi - lo, self._MOVE):
                end = min(hi - lo, off + self._MOVE)
                arr[off:end] = arr[lo + off : lo + end]
        held = self.tail - self.head
        self.ptr[: held + 1] = self.ptr[self.head : self.tail + 1] - lo
        self.head, self.tail = 0, held

    def _grow(self, lo: int, hi: int, nnz: int, rows: int) -> None:
        size = int(self._SPARE * ((hi - lo) + nnz)) + 1
        held = self.tail - self.head
        try:  # in place when no view of the buffer is alive: glibc remaps a large block, no copy is held beside it
            self._to_front(lo, hi)
            # each called on the attribute itself: another reference to the array (a loop variable) makes numpy refuse
            self.data.resize(size, refcheck=True)
            self.indices.resize(size, refcheck=True)
            self.ptr.resize(int(self._SPARE * (held + rows)) + 2, refcheck=True)
            return
        except ValueError:  # a view is alive (numpy refuses): a new buffer, the held rows copied over
            lo, hi = int(self.ptr[self.head]), int(self.ptr[self.tail])
        data, indices = np.empty(size, dtype=self.data.dtype), np.empty(size, dtype=np.int32)
        data[: hi - lo], indices[: hi - lo] = self.data[lo:hi], self.indices[lo:hi]
        ptr = np.zeros(int(self._SPARE * (held + rows)) + 2, dtype=np.int64)
        ptr[: held + 1] = self.ptr[self.head : self.tail + 1] - lo
        self.data, self.indices, self.ptr = data, indices, ptr
        self.head, self.tail = 0, held

    def drop(self, rows: int) -> None:
        """Let go of the first ``rows`` held rows."""
        self.head = min(self.tail, self.head + rows)
        if self.head == self.tail:  # nothing held: start again at the front
            self.head = self.tail = 0
            self.ptr[0] = 0
            if not self.canonical:
                self.canonical = True

    def view(self) -> sp.csr_matrix:
        """The held rows as a CSR matrix over the buffer (never a copy: :func:`~dedup.stories.sparse.csr_over`)."""
        lo, hi = int(self.ptr[self.head]), int(self.ptr[self.tail])
        indptr = self.ptr[self.head : self.tail + 1] - lo
        out = csr_over(self.data[lo:hi], self.indices[lo:hi], indptr, (self.tail - self.head, self.width))
        if self.canonical:
            out.has_canonical_format = True
        return out
