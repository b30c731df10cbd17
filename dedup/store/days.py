"""Texts put aside by day while a feed streams by, to be read back one day at a time in time order.

The stories stage reads each article twice: once for the duplicate groups,
then a day at a time, in time order, for events. The feed streams through
:meth:`DaySpool.tee` into the first; each article's headline (and, when
asked, its raw text) goes to one file per UTC calendar day (and one for the
undated) in the run's temporary folder. The text events compare is the one
dedupe compared, normalized and without its boilerplate: dedupe's sketch
stage writes it here, chunk by chunk and day by day (:func:`put_texts`), so
no text is normalized twice. The second pass reads exactly one day's files
per step, whatever the input order. A short excerpt of each article, for the
outputs, waits in a file of its own too (~0.8 KB an article in memory: 0.8 GB
at a million) until :meth:`DaySpool.excerpts` reads them back.
"""

from __future__ import annotations

import math
import os
import pickle
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import numpy as np

from ..types import Article, timestamp

__all__ = ["DayRef", "DaySpool", "DayTexts", "DiskRows", "EXCERPT_CHARS", "SpilledRows", "UNDATED", "park", "put_texts", "read_day", "unpark"]

EXCERPT_CHARS = 300  # what the outputs show of an article's text (report excerpts, labels without a headline)
_FLUSH_RECORDS = 20_000  # texts held before they are appended to their day files
_DAY = 86_400.0
UNDATED = np.iinfo(np.int64).min  # the day key of undated articles in arrays


def put_texts(folder: str, base: int, days: np.ndarray, texts: Sequence[str]) -> None:
    """Write the texts of one chunk (positions ``base..``) to ``folder``, one file per day (``days``: their day keys).

    Runs where the chunk is (a worker process that shares the folder, or the parent).
    """
    days = np.asarray(days, dtype=np.int64)
    for day in np.unique(days).tolist():
        rows = np.flatnonzero(days == day)
        name = "text-undated" if day == UNDATED else f"text-{day}"
        with open(os.path.join(folder, f"{name}-{base:012d}.pkl"), "wb") as f:
            pickle.dump((base + rows, [texts[k] for k in rows.tolist()]), f, protocol=pickle.HIGHEST_PROTOCOL)


class DayTexts(NamedTuple):
    """One day's articles as the events stage reads them, in the order asked."""

    bodies: list[str]  # the texts dedupe compared: normalized, boilerplate left out
    titles: list[str]  # raw headlines
    raw: list[str] | None  # raw texts, when the spool keeps them


def day_key(date: str | None) -> int | None:
    """The UTC day number of a date (None: undated), as :func:`dedup.stories.events.day_blocks` counts days."""
    t = timestamp(date)
    return None if math.isnan(t) else int(math.floor(t / _DAY))


class DaySpool:
    """Per-day files of each article's headline (and raw text, with ``raw_texts``), each article's excerpt,
    and the compared texts :func:`put_texts` writes into ``folder``.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     spool = DaySpool(tmp, raw_texts=True)
    ...     arts = [Article("a", "X y", "t", "2015-07-21", "s"), Article("b", "Z", "", None, "s"), Article("c", "W", "", "2015-07-21 10:00", "s")]
    ...     seen = [a.id for a in spool.tee(arts)]
    ...     put_texts(tmp, 0, spool.days(0, 3), ["x y", "z", "w"])
    ...     spool.read([0, 2]), spool.read([1]).bodies, [e.id for e in spool.excerpts()]
    (DayTexts(bodies=['x y', 'w'], titles=['t', ''], raw=['X y', 'W']), ['z'], ['a', 'b', 'c'])
    """

    def __init__(self, folder: str, raw_texts: bool = False) -> None:
        self.folder = folder
        self.raw_texts = raw_texts
        self._excerpts: list[tuple[str, str, str, str | None, str]] = []  # not yet written: (id, text, title, date, source)
        self._buffer: dict[int | None, list[tuple[int, str, str]]] = {}
        self._held = 0
        self._day_of: list[int | None] = []

    def _path(self, day: int | None) -> str:
        return os.path.join(self.folder, "day-undated.pkl" if day is None else f"day-{day}.pkl")

    def tee(self, articles: Iterable[Article]) -> Iterator[Article]:
        """Yield the articles unchanged, putting each one's headline (and raw text) aside by day."""
        for a in articles:
            pos = len(self._day_of)
            day = day_key(a.date)
            self._day_of.append(day)
            self._buffer.setdefault(day, []).append((pos, a.title, a.text if self.raw_texts else ""))
            self._held += 1
            self._excerpts.append((a.id, a.text[:EXCERPT_CHARS], a.title, a.date, a.source))
            if self._held >= _FLUSH_RECORDS:
                self._flush()
            yield a
        self._flush()

    def days(self, lo: int, hi: int) -> np.ndarray:
        """Day keys of positions ``lo..hi-1`` (:data:`UNDATED` for undated articles), as :func:`put_texts` takes them."""
        return np.array([UNDATED if d is None else d for d in self._day_of[lo:hi]], dtype=np.int64)

    def _flush(self) -> None:
        for day, rows in self._buffer.items():
            with open(self._path(day), "ab") as f:
                pickle.dump(rows, f, protocol=pickle.HIGHEST_PROTOCOL)
        self._buffer.clear()
        if self._excerpts:
            with open(os.path.join(self.folder, "excerpts.pkl"), "ab") as f:
                pickle.dump(self._excerpts, f, protocol=pickle.HIGHEST_PROTOCOL)
            self._excerpts = []
        self._held = 0

    def excerpts(self) -> list[Article]:
        """Every article teed so far, in input order, with the first :data:`EXCERPT_CHARS` characters of its text."""
        self._flush()
        out: list[Article] = []
        if not self._day_of:
            return out
        with open(os.path.join(self.folder, "excerpts.pkl"), "rb") as f:
            while True:
                try:
                    rows = pickle.load(f)
                except EOFError:
                    break
                out.extend(Article(id=i, text=t, title=h, date=d, source=s) for i, t, h, d, s in rows)
        return out

    def read(self, positions: list[int]) -> DayTexts:
        """The :class:`DayTexts` of ``positions``, which must all be of one day (or all undated).

        Raises:
            KeyError: a position's compared text was never written with :func:`put_texts`.
        """
        return read_day(self.ref(positions))

    def ref(self, positions: list[int]) -> DayRef:
        """Where the texts of ``positions`` (all of one day) are, for a process that shares this disk to read them."""
        self._flush()
        return DayRef(self.folder, self._day_of[positions[0]] if positions else None, positions, self.raw_texts)


class DayRef(NamedTuple):
    """One day's texts in a :class:`DaySpool`'s folder: which positions, read by :func:`read_day` where the work runs."""

    folder: str
    day: int | None  # None: the undated
    positions: list[int]
    raw_texts: bool


def read_day(ref: DayRef) -> DayTexts:
    """The :class:`DayTexts` of ``ref.positions`` (all of day ``ref.day``), from the spool's files.

    Raises:
        KeyError: a position's compared text was never written with :func:`put_texts`.
    """
    if not ref.positions:
        return DayTexts([], [], [] if ref.raw_texts else None)
    day = ref.day
    heads: dict[int, tuple[str, str]] = {}
    with open(os.path.join(ref.folder, "day-undated.pkl" if day is None else f"day-{day}.pkl"), "rb") as f:
        while True:
            try:
                rows = pickle.load(f)
            except EOFError:
                break
            for pos, title, text in rows:
                heads[pos] = (title, text)
    prefix = ("text-undated" if day is None else f"text-{day}") + "-"
    bodies: dict[int, str] = {}
    for name in sorted(os.listdir(ref.folder)):
        if name.startswith(prefix):
            with open(os.path.join(ref.folder, name), "rb") as f:
                where, texts = pickle.load(f)
            bodies.update(zip(where.tolist(), texts))
    titles = [heads[p][0] for p in ref.positions]
    raw = [heads[p][1] for p in ref.positions] if ref.raw_texts else None
    return DayTexts([bodies[p] for p in ref.positions], titles, raw)


def park(obj: object, folder: str) -> str:
    """Write ``obj`` to a new file in ``folder`` and give its path: a result that waits on disk, not in memory.

    A worker's finished day (its counts, ~0.4 GB on a dense day) would
    otherwise wait in the parent's memory while the tracker places the day
    before it; on disk it waits in the page cache, which the run's memory
    does not count. :func:`unpark` reads it back and removes the file.
    """
    import tempfile

    fd, path = tempfile.mkstemp(prefix="parked-", suffix=".pkl", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:
        os.remove(path)  # no half-written day left behind
        raise
    return path


def unpark(path: str) -> object:
    """What :func:`park` wrote at ``path``; the file is removed."""
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    finally:
        os.remove(path)


class SpilledRows:
    """Sparse rows written to disk a block at a time as they are made, and read back a block at a time where they are unpickled.

    A worker making a dense day's character counts (~0.25 GB) appends each
    block's entries to two files instead of holding them all until the day
    is parked; only the row offsets stay in memory. Pickled (into a
    :func:`park` file), it is a reference to the files; unpickled (by
    :func:`unpark`, in the parent), it is a :class:`DiskRows` over them: the
    tracker reads the rows it weighs a block at a time, so the day's counts
    are never all in its memory. Both processes must share the folder's disk.
    """

    def __init__(self, folder: str, n_rows: int, width: int, dtype: type) -> None:
        import tempfile

        fd, self.path = tempfile.mkstemp(prefix="rows-", suffix=".bin", dir=folder)
        os.close(fd)
        self.dtype = np.dtype(dtype)
        self.indptr = np.zeros(n_rows + 1, dtype=np.int64)
        self.width = width
        self._rows = 0
        self._data = open(self.path + ".data", "wb")
        self._indices = open(self.path, "wb")

    def append(self, block) -> None:  # noqa: ANN001  (a canonical csr_matrix of the next rows)
        """Add the next rows (a canonical CSR block)."""
        lo, hi = self._rows, self._rows + block.shape[0]
        if block.shape[1] != self.width or hi >= len(self.indptr):
            raise ValueError(f"SpilledRows: a block of shape {block.shape} after {lo} of {len(self.indptr) - 1} rows of width {self.width}")
        self.indptr[lo + 1 : hi + 1] = block.indptr[1:] + self.indptr[lo]
        np.asarray(block.indices, dtype=np.int32).tofile(self._indices)
        np.asarray(block.data, dtype=self.dtype).tofile(self._data)
        self._rows = hi

    def close(self) -> "SpilledRows":
        """Every row is written: the files are complete (the object is then pickled, or read with :meth:`load`)."""
        self._data.close()
        self._indices.close()
        return self

    def __reduce__(self):  # noqa: ANN204
        return DiskRows, (self.path, self.indptr, self.width, self.dtype.str)

    def load(self):  # noqa: ANN201
        """The rows as a ``csr_matrix``; the files are removed."""
        return DiskRows(self.path, self.indptr, self.width, self.dtype.str).load()


class DiskRows:
    """Rows a :class:`SpilledRows` wrote, read from its files a block of rows at a time; the files go with this object.

    What a parked day's character counts are in the parent: slicing a range
    of rows (``rows[lo:hi]``) reads just their entries (a canonical
    ``csr_matrix``), and :meth:`column_counts` reads the column numbers a
    slice at a time, so the day's ~0.25 GB of counts pass through the page
    cache, not the process's memory. Reads may run on several threads at
    once. Not picklable: it owns files that are removed when it is let go
    (or by :meth:`load`).
    """

    _READ = 1 << 23  # column entries read at a time by column_counts (32 MB)

    def __init__(self, path: str, indptr: np.ndarray, width: int, dtype: str) -> None:
        import weakref

        self.path, self.indptr, self.dtype = path, np.asarray(indptr, dtype=np.int64), np.dtype(dtype)
        self.shape = (len(self.indptr) - 1, int(width))
        self.nnz = int(self.indptr[-1])
        self._remove = weakref.finalize(self, _remove_files, path, path + ".data")
        entries = os.path.getsize(path) // 4, os.path.getsize(path + ".data") // self.dtype.itemsize
        if entries != (self.nnz, self.nnz):
            self._remove()
            raise OSError(f"{path}: {entries[0]} column entries and {entries[1]} values for {self.nnz} entries")

    def __reduce__(self):  # noqa: ANN204
        raise TypeError(f"DiskRows over {self.path} owns its files: load() it to send the rows elsewhere")

    def _read(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """The column numbers and values of entries ``lo:hi``."""
        count = hi - lo
        indices = np.fromfile(self.path, dtype=np.int32, count=count, offset=4 * lo)
        data = np.fromfile(self.path + ".data", dtype=self.dtype, count=count, offset=self.dtype.itemsize * lo)
        if len(indices) != count or len(data) != count:
            raise OSError(f"{self.path}: {len(indices)} column entries and {len(data)} values where entries {lo}..{hi} "
                          f"of {self.nnz} entries were written")
        return indices, data

    def __getitem__(self, rows: slice):  # noqa: ANN204
        """Rows ``lo:hi`` (a slice with step 1) as a canonical ``csr_matrix``."""
        from ..sparse import sp

        if not isinstance(rows, slice):
            raise TypeError("DiskRows: only a slice of rows (rows[lo:hi]) is read")
        lo, hi, step = rows.indices(self.shape[0])
        if step != 1:
            raise TypeError("DiskRows: only a slice of consecutive rows is read")
        hi = max(lo, hi)
        a, b = int(self.indptr[lo]), int(self.indptr[hi])
        indices, data = self._read(a, b)
        m = sp.csr_matrix((data, indices, self.indptr[lo : hi + 1] - a), shape=(hi - lo, self.shape[1]), copy=False)
        m.has_canonical_format = True  # SpilledRows wrote canonical blocks
        return m

    def column_counts(self) -> np.ndarray:
        """``(width,)`` how many entries each column has (``np.bincount`` of the column numbers, read a slice at a time)."""
        counts = np.zeros(self.shape[1], dtype=np.int64)
        for lo in range(0, self.nnz, self._READ):
            indices, _ = self._read(lo, min(self.nnz, lo + self._READ))
            counts += np.bincount(indices, minlength=self.shape[1])
        return counts

    def load(self):  # noqa: ANN201
        """All the rows as one ``csr_matrix``; the files are removed."""
        try:
            m = self[0 : self.shape[0]]
        finally:
            self._remove()
        return m


def _remove_files(*paths: str) -> None:
    for name in paths:
        try:
            os.remove(name)
        except FileNotFoundError:
            pass
