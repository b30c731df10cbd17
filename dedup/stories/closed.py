"""What the event tracker sets aside on disk until storylines read it: closed events' centroids, the pairs it found.

The event tracker (:mod:`dedup.stories.events`) closes events by the
hundred thousand on a large feed; none is read again before the storylines,
which take them all back at once as CSR matrices in label order
(:meth:`Closed.take`). The candidate pairs it scores (~15M on a million
articles of large copy families, ~0.35 GB) are likewise only read once the
window is gone (:class:`FoundPairs`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ..sparse import sp

from .sparse import l2_rows

__all__ = ["Closed", "FoundPairs"]


class Closed:
    """The closed events' truncated centroids (story and word vectors, hashed columns), kept on disk until storylines.

    Events close by the hundred thousand in a large feed (~1.8 GB of
    centroids for a million articles) and none is read again before the
    storylines: each closing step appends its events' columns and values to
    unnamed temporary files in ``folder`` (gone when closed, or at exit), and
    :meth:`take` reads them back as CSR matrices, rows in label order, once
    the window's rows have been let go.
    """

    def __init__(self, width: int, folder: str | None = None) -> None:
        self.width, self.folder = width, folder
        self.labels: list[np.ndarray] = []
        self.lengths: dict[str, list[np.ndarray]] = {"story": [], "word": []}
        self.files: dict[tuple[str, str], Any] = {}  # opened at the first event closed

    def __del__(self) -> None:  # a tracker let go before finish (a carried state's)
        self.close()

    def __len__(self) -> int:
        return sum(len(x) for x in self.labels)

    def add(self, labels: list[int], story: list[tuple[np.ndarray, np.ndarray]], word: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Append events ``labels`` with their centroids (``(columns, values)`` each, columns below ``width``)."""
        if not labels:
            return
        if not self.files:
            import tempfile

            self.files = {(kind, part): tempfile.TemporaryFile(prefix=f"dedup-closed-{kind}-", dir=self.folder)
                          for kind in ("story", "word") for part in ("indices", "data")}
        self.labels.append(np.asarray(labels, dtype=np.int64))
        for kind, vecs in (("story", story), ("word", word)):
            self.lengths[kind].append(np.array([len(i) for i, _ in vecs], dtype=np.int64))
            # < 2^23 columns: 4 bytes each
            np.concatenate([i for i, _ in vecs]).astype(np.int32, copy=False).tofile(self.files[kind, "indices"])
            np.concatenate([v for _, v in vecs]).astype(np.float64, copy=False).tofile(self.files[kind, "data"])

    def take(self) -> tuple[np.ndarray, sp.csr_matrix, sp.csr_matrix]:
        """``(labels, story, word)``: every closed event in label order, rows L2-normalized; the files are closed.

        The story rows come as float32 (storylines take their dot products and
        sums in float64), the word rows (the neighbour search's) as float64.
        """
        labels = np.concatenate(self.labels) if self.labels else np.zeros(0, dtype=np.int64)
        order = None if np.all(labels[1:] > labels[:-1]) else np.argsort(labels, kind="stable")
        out = []
        for kind in ("story", "word"):
            indptr = np.zeros(len(labels) + 1, dtype=np.int64)
            if self.lengths[kind]:
                np.cumsum(np.concatenate(self.lengths[kind]), out=indptr[1:])
            # the story rows are scored pair by pair (sums and dots in float64): float32 holds ~0.45 GB less at 1M
            m = self._read_rows(kind, indptr, np.float32 if kind == "story" else np.float64)
            if order is not None:  # closing follows the first reports' times, so mostly already in order
                m = m[order]
            out.append(m)
        self.labels, self.lengths = [], {"story": [], "word": []}
        return (labels if order is None else labels[order]), out[0], out[1]

    _READ_ROWS = 1 << 16  # take: rows normalized at a time

    def _read_rows(self, kind: str, indptr: np.ndarray, dtype: type) -> sp.csr_matrix:
        """One kind's rows from its files, L2-normalized in float64 a block of rows at a time and stored as ``dtype``.

        Each row is normalized on its own (:func:`l2_rows`), so block by block
        gives the same values; read whole, a 1M feed's 431k story centroids
        (~110M entries) took ~2 GB of float64 temporaries at the run's peak.
        """
        files = [self.files.pop((kind, part), None) for part in ("indices", "data")]
        rows, nnz = len(indptr) - 1, int(indptr[-1])
        if files[0] is None or files[1] is None:  # no event closed
            return sp.csr_matrix((np.zeros(0, dtype=dtype), np.zeros(0, dtype=np.int32), indptr), shape=(rows, self.width))
        for f in files:
            f.flush()
            f.seek(0)
        indices = np.fromfile(files[0], dtype=np.int32)
        if len(indices) != nnz:
            raise OSError(f"Closed.take: {len(indices)} {kind} centroid entries read back for {nnz} written")
        data = np.empty(nnz, dtype=dtype)
        for lo in range(0, rows, self._READ_ROWS):
            hi = min(rows, lo + self._READ_ROWS)
            a, b = int(indptr[lo]), int(indptr[hi])
            block = sp.csr_matrix((np.fromfile(files[1], dtype=np.float64, count=b - a), indices[a:b], indptr[lo : hi + 1] - a),
                                  shape=(hi - lo, self.width))
            block = l2_rows(block, inplace=True)
            if block.nnz != b - a:
                raise ValueError(f"Closed.take: a closed event's {kind} centroid holds a column twice")
            indices[a:b] = block.indices  # the same columns (sorted within each row, as l2_rows leaves them)
            data[a:b] = block.data
        for f in files:
            f.close()
        m = sp.csr_matrix((data, indices, indptr), shape=(rows, self.width))
        m.has_canonical_format = True  # each block was made canonical by l2_rows
        return m

    def close(self) -> None:
        """Let the files go without reading them."""
        for f in self.files.values():
            f.close()
        self.files = {}


class FoundPairs:
    """Pairs ``(k, 2)`` int64 and their scores, appended as they are found, kept in an unnamed file in ``folder`` until
    :meth:`take` gives them all back in the order appended."""

    _READ = 1 << 20  # take: pairs read back at a time

    def __init__(self, folder: str | None = None) -> None:
        self.folder = folder
        self.count = 0
        self.file: Any = None  # opened at the first pair

    def __del__(self) -> None:
        if self.file is not None:
            self.file.close()

    def append(self, pairs: np.ndarray, scores: np.ndarray) -> None:
        if len(pairs) != len(scores):
            raise ValueError(f"FoundPairs.append: {len(pairs)} pairs but {len(scores)} scores")
        if not len(pairs):
            return
        if self.file is None:
            import tempfile

            self.file = tempfile.TemporaryFile(prefix="dedup-found-pairs-", dir=self.folder)
        # one record a pair: the two ends and the score's bits, so a block read back is whole
        rec = np.empty((len(pairs), 3), dtype=np.int64)
        rec[:, :2] = pairs
        rec[:, 2] = np.asarray(scores, dtype=np.float64).view(np.int64)
        rec.tofile(self.file)
        self.count += len(pairs)

    def take(self) -> tuple[np.ndarray, np.ndarray]:
        """``(pairs, scores)`` as appended; the file is closed."""
        if self.file is None:
            return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
        self.file.flush()
        self.file.seek(0)
        pairs, scores = np.empty((self.count, 2), dtype=np.int64), np.empty(self.count)
        block = self._READ
        for lo in range(0, self.count, block):
            hi = min(self.count, lo + block)
            rec = np.fromfile(self.file, dtype=np.int64, count=3 * (hi - lo)).reshape(-1, 3)
            if len(rec) != hi - lo:
                raise OSError(f"FoundPairs.take: {lo + len(rec)} pairs read back of {self.count} written")
            pairs[lo:hi] = rec[:, :2]
            scores[lo:hi] = rec[:, 2].view(np.float64)
        self.file.close()
        self.file, self.count = None, 0
        return pairs, scores
