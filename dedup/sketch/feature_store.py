"""The feature store: a feed's verification features on disk, read back by rows.

A million articles' features (~3.5 KB each, plus 4 bytes per token of
k-grams) do not fit next to everything else in a few GiB, and verification
only needs the rows of one block of pairs at a time: :class:`FeatureStore`
keeps each chunk's :class:`~dedup.sketch.features.Features` in flat files
(where each row starts and how long it is, per kind, stays in memory: 40 bytes per article)
and reads back only the rows asked for, with ``pread``
(:meth:`FeatureStore.gather` the three verification arrays,
:meth:`FeatureStore.gather_kgrams` the k-gram sequences), so the pages read
are not held by the process afterwards (the kernel's page cache keeps them
warm without counting them against it).

The files are written where the features are computed: the process that
runs the flow appends to the store's own files, and a worker process on
this machine appends to its own (:func:`write_segment`) and sends back only
where they went (a :class:`Segment`), not the features to be written again
(a 100k feed at ``--jobs 2``: the sketch stage 2.9-3.5 -> 2.3-2.6 s).

NumPy only: worker processes import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import os
import threading
import weakref

import numpy as np

from .features import Features, row_index

__all__ = ["FeatureStore", "Segment", "write_segment"]


def _inverse(order: np.ndarray) -> np.ndarray:
    """The permutation that undoes ``order``."""
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return back



_FILES = ("shingles", "tokens", "counts", "kgrams")
_GAP = 4096  # values (16 KB): rows closer than this (and than their mean length) are read together
_MIN_GAP = 64
_PLACE_BITS = 40  # a row's values start at ``segment << 40 | value position in that segment's file`` (files up to 4 TB)


@dataclass(frozen=True)
class Segment:
    """The rows of one chunk's :class:`Features` as :func:`write_segment` left them in a writer's own files.

    A worker process appends every chunk it sketches to its own files
    (``{prefix}.{kind}.u32``) and sends back only this: where the chunk
    begins in each file and its offsets (~24 bytes a row), not the
    features (~4 KB a row) for the parent to write.
    """

    prefix: str
    bases: tuple[int, int, int, int]  # where the chunk's values begin in each file of _FILES (values, not bytes)
    shingle_offsets: np.ndarray
    token_offsets: np.ndarray
    kgram_offsets: np.ndarray | None

    def __len__(self) -> int:
        return len(self.shingle_offsets) - 1


def write_segment(directory: str, features: Features) -> Segment:
    """Append ``features`` to this process's (and thread's) own files under ``directory``; where they went.

    One writer a set of files (the name holds the process and thread), so
    appends never interleave; each chunk's place is the files' length
    before it.
    """
    prefix = os.path.join(directory, f"seg-{os.getpid()}-{threading.get_ident()}")
    bases = []
    for name in _FILES:
        values = getattr(features, name)
        if values is None:
            bases.append(0)
            continue
        with open(f"{prefix}.{name}.u32", "ab") as out:
            bases.append(out.tell() // 4)
            values.astype(np.uint32, copy=False).tofile(out)
    return Segment(prefix, (bases[0], bases[1], bases[2], bases[3]), features.shingle_offsets, features.token_offsets,
                   features.kgram_offsets)


class FeatureStore:
    """Append-only, row-addressable :class:`Features` in files under ``directory``.

    Rows come in two ways: :meth:`append` writes features to the store's own
    files, and :meth:`add_segment` takes rows that a worker already wrote to
    its own files (:func:`write_segment`: features computed in a worker
    process are not sent back and written again). Each row keeps where its
    values start (``segment << 40 | position``) and how many there are, per
    kind.

    :meth:`gather` reads the verification arrays (shingles, tokens, counts),
    :meth:`gather_kgrams` the ordered k-gram sequences, each only what it is
    asked for.

    >>> import tempfile
    >>> f = Features(np.array([1, 2, 3], np.uint32), np.array([0, 2, 3]),
    ...              np.array([5, 6], np.uint32), np.array([1, 2], np.uint32), np.array([0, 1, 2]),
    ...              np.array([7, 8, 9], np.uint32), np.array([0, 1, 3]))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     store = FeatureStore(d)
    ...     store.append(f); store.add_segment(write_segment(d, f))
    ...     g = store.gather(np.array([3, 0]))
    ...     k = store.gather_kgrams(np.array([3, 0]))
    ...     store.close()
    >>> len(store), g.shingles.tolist(), g.shingle_offsets.tolist(), g.counts.tolist()
    (4, [3, 1, 2], [0, 1, 3], [2, 1])
    >>> k[0].tolist(), k[1].tolist()
    ([8, 9, 7], [0, 2, 3])

    Once sealed (after the first read) a store pickles as its paths and
    row places, so worker processes on this machine read the same files
    (each copy opens its own descriptors, closed when it is collected).
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._prefixes: list[str] = [str(self.directory / "store")]  # segment 0: the store's own files
        self._segment_of: dict[str, int] = {}
        self._handles = {name: open(self._path(0, name), "wb") for name in _FILES}
        self._own = dict.fromkeys(_FILES, 0)  # values written to the own files
        # per kind (shingles, tokens and counts, k-grams): each appended part's row starts and lengths
        self._parts: tuple[list[tuple[np.ndarray, np.ndarray]], ...] = ([], [], [])
        self._rows: tuple[np.ndarray, ...] | None = None  # sealed: starts and lengths of every kind, then the read order
        self._fds: dict[tuple[int, str], int] = {}
        self._kgrams_missing = False  # some rows came without k-grams

    def _path(self, segment: int, name: str) -> str:
        return f"{self._prefixes[segment]}.{name}.u32"

    def append(self, features: Features, rows: np.ndarray | None = None) -> None:
        """Add the rows of ``features`` (or only ``rows`` of them, ascending positions) after the rows already stored.

        Chosen rows are written as the slices of their runs of consecutive
        rows, not gathered into new arrays first (a chunk leaves out only its
        exact copies of earlier texts: a few runs).
        """
        self._open_for_adding()
        kinds = [("shingles", features.shingle_offsets), ("tokens", features.token_offsets),
                 ("counts", features.token_offsets)]
        has_kgrams = features.kgrams is not None and features.kgram_offsets is not None
        if has_kgrams:
            kinds.append(("kgrams", features.kgram_offsets))
        if rows is None:
            runs = [(0, len(features))]
        else:
            rows = np.asarray(rows, dtype=np.int64)
            cut = np.flatnonzero(np.diff(rows) != 1) + 1
            runs = list(zip(rows[np.r_[0, cut]].tolist(), (rows[np.r_[cut - 1, len(rows) - 1]] + 1).tolist())) if len(rows) else []
        chosen = slice(None) if rows is None else rows
        for name, offsets in kinds:
            values = getattr(features, name)
            for lo, hi in runs:
                self._handles[name].write(np.ascontiguousarray(values[offsets[lo] : offsets[hi]], dtype=np.uint32).data)
            lengths = np.diff(offsets)[chosen]
            if name != "counts":  # counts lie as tokens do
                starts = np.zeros(len(lengths), dtype=np.int64)
                np.cumsum(lengths[:-1], out=starts[1:])
                self._parts[_KIND[name]].append((starts + self._own[name], lengths.astype(np.int32)))
            self._own[name] += int(lengths.sum())
        if not has_kgrams:
            self._no_kgrams(len(features) if rows is None else len(rows))

    def add_segment(self, segment: Segment, rows: np.ndarray | None = None) -> None:
        """Add the rows of a chunk a writer already stored (:func:`write_segment`), or only ``rows`` of them (ascending)."""
        self._open_for_adding()
        if segment.prefix not in self._segment_of:
            self._segment_of[segment.prefix] = len(self._prefixes)
            self._prefixes.append(segment.prefix)
        high = self._segment_of[segment.prefix] << _PLACE_BITS
        chosen = slice(None) if rows is None else np.asarray(rows, dtype=np.int64)
        kinds = [(0, segment.shingle_offsets), (1, segment.token_offsets)]
        if segment.kgram_offsets is not None:
            kinds.append((3, segment.kgram_offsets))
        for file, offsets in kinds:
            self._parts[_KIND[_FILES[file]]].append(
                (offsets[:-1][chosen] + (segment.bases[file] | high), np.diff(offsets)[chosen].astype(np.int32)))
        if segment.kgram_offsets is None:
            self._no_kgrams(len(segment) if rows is None else len(chosen))  # type: ignore[arg-type]

    def _no_kgrams(self, n: int) -> None:
        self._kgrams_missing = True
        self._parts[2].append((np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int32)))

    def _open_for_adding(self) -> None:
        if self._rows is not None:
            raise RuntimeError("FeatureStore: rows added after a read")

    def __getstate__(self) -> dict:
        if self._rows is None:
            raise TypeError(f"FeatureStore {self.directory}: only a sealed store (read from once) can be sent to a worker")
        return {"directory": self.directory, "prefixes": self._prefixes, "rows": self._rows, "kgrams_missing": self._kgrams_missing}

    def __setstate__(self, state: dict) -> None:
        self.directory, self._prefixes, self._rows = state["directory"], state["prefixes"], state["rows"]
        self._kgrams_missing = state["kgrams_missing"]
        self._segment_of = {p: k for k, p in enumerate(self._prefixes)}
        self._handles, self._own, self._parts = {}, dict.fromkeys(_FILES, 0), ([], [], [])
        self._fds = {}
        weakref.finalize(self, _close_fds, self._fds)

    def seal(self) -> "FeatureStore":
        """No more rows: the store may be read, and sent to a worker (the first read seals it too)."""
        self._sealed()
        return self

    def _sealed(self) -> tuple[np.ndarray, ...]:
        """``(starts, lengths)`` of each kind, then every row's rank in the files' order; the first call closes the own files for writing."""
        if self._rows is None:
            for handle in self._handles.values():
                handle.close()
            self._handles = {}
            cols: list[np.ndarray] = []
            for parts in self._parts:
                cols.append(np.concatenate([s for s, _ in parts]) if parts else np.zeros(0, dtype=np.int64))
                cols.append(np.concatenate([n for _, n in parts]) if parts else np.zeros(0, dtype=np.int32))
            # The order rows lie in their files, the same for every kind (a row's values come after those of the
            # rows its writer wrote before it): by where the shingles start, then the tokens, then the k-grams
            # (equal starts in all three: rows of no values, whose order reads nothing).
            order = np.lexsort((cols[4], cols[2], cols[0]))
            rank = np.empty(len(order), dtype=np.int32)  # (a store holds fewer than 2^31 rows, each fewer values)
            rank[order] = np.arange(len(order), dtype=np.int32)
            self._rows = (*cols, rank)
            self._parts = ([], [], [])
            weakref.finalize(self, _close_fds, self._fds)
        return self._rows

    def __len__(self) -> int:
        if self._rows is not None:
            return len(self._rows[0])
        return sum(len(s) for s, _ in self._parts[0])

    def _fd(self, segment: int, name: str) -> int:
        key = (segment, name)
        fd = self._fds.get(key)
        if fd is None:  # opened on first read; two threads reading at once keep one descriptor and close the other
            fd = os.open(self._path(segment, name), os.O_RDONLY)
            kept = self._fds.setdefault(key, fd)
            if kept != fd:
                os.close(fd)
            fd = kept
        return fd

    def _read(self, name: str, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The values of rows given by ``starts`` (places, ascending) and ``lengths``: ``(flat, offsets)``.

        Rows closer than :data:`_GAP` values apart, and than the mean
        length of the rows asked for, are read with one ``pread`` (so at
        most about twice the values wanted are read: scattered rows of a
        large store are not read with everything between them; rows of two
        segments are never that close); nothing is mapped, so only the
        values read are held.
        """
        offsets = np.zeros(len(starts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if offsets[-1] == 0:
            return np.zeros(0, dtype=np.uint32), offsets
        gap = min(_GAP, max(_MIN_GAP, int(offsets[-1]) // len(starts)))
        ends = starts + lengths
        new_run = np.ones(len(starts), dtype=bool)
        new_run[1:] = starts[1:] - np.maximum.accumulate(ends)[:-1] > gap
        firsts = np.flatnonzero(new_run)
        run_start = starts[firsts]
        run_end = np.maximum.reduceat(ends, firsts)
        low = (1 << _PLACE_BITS) - 1
        chunks = [
            np.frombuffer(os.pread(self._fd(a >> _PLACE_BITS, name), int(b - a) * 4, int(a & low) * 4), dtype=np.uint32)
            for a, b in zip(run_start.tolist(), run_end.tolist())
        ]
        data = np.concatenate(chunks)
        run_base = np.zeros(len(chunks), dtype=np.int64)
        np.cumsum((run_end - run_start)[:-1], out=run_base[1:])
        run_of = np.cumsum(new_run) - 1
        row_at = starts - run_start[run_of] + run_base[run_of]  # where each row begins in ``data``
        total = int(offsets[-1])
        if len(starts) > 1 and not bool((starts[1:] >= ends[:-1]).all()):  # a row asked twice: gathered by position
            idx = np.repeat(row_at - offsets[:-1], lengths) + np.arange(total)
            return data[idx], offsets
        if total == len(data):  # the rows lie end to end in the file: nothing read between them
            return data, offsets
        # The values between the rows (read with them) are left out by a mask, a byte a value, rather than
        # gathered by an index of 8 bytes a value: a block of pairs reads tens of millions of values, and
        # each array of that size is fresh memory the kernel must zero (a third of a large verification's time).
        edge = np.zeros(len(data) + 1, dtype=np.int8)
        full = lengths > 0
        edge[row_at[full]] = 1
        edge[row_at[full] + lengths[full]] -= 1  # where one row ends and the next begins: 1 - 1, still inside
        inside = np.cumsum(edge[:-1], dtype=np.int8).view(bool)
        return data[inside], offsets

    def _file_order(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """``rows`` as positions, the order that reads them as they lie in the files, and whether it is theirs."""
        rows = np.asarray(rows, dtype=np.int64)
        order = np.argsort(self._sealed()[6][rows], kind="stable")
        return rows[order], order, bool(np.all(order[1:] > order[:-1]))

    def gather(self, rows: np.ndarray) -> Features:
        """The verification features of ``rows`` (positions in the order added), in that order.

        The k-gram sequences are not read (``kgrams`` is None): scoring does
        not need them; :meth:`gather_kgrams` reads them.
        """
        sh_start, sh_len, tok_start, tok_len, _, _, _ = self._sealed()
        in_files, order, as_asked = self._file_order(rows)
        sh, so = self._read("shingles", sh_start[in_files], sh_len[in_files])
        tstart, tlen = tok_start[in_files], tok_len[in_files]
        tok, to = self._read("tokens", tstart, tlen)
        counts, _ = self._read("counts", tstart, tlen)
        feats = Features(sh, so, tok, counts, to)
        return feats if as_asked else feats.gather(_inverse(order))

    def gather_kgrams(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The k-gram sequences of ``rows`` (positions in the order added), in that order: ``(flat uint32, offsets)``.

        Raises:
            ValueError: some rows were added without k-gram sequences.
        """
        _, _, _, _, kg_start, kg_len, _ = self._sealed()
        if self._kgrams_missing:
            raise ValueError(
                f"FeatureStore {self.directory}: some rows were appended without k-gram sequences "
                "(Features not made by Features.from_hashes): align only stores filled by the sketch stage"
            )
        in_files, order, as_asked = self._file_order(rows)
        kg, ko = self._read("kgrams", kg_start[in_files], kg_len[in_files])
        if as_asked:
            return kg, ko
        idx, new_offsets = row_index(ko, _inverse(order))
        return kg[idx], new_offsets

    def close(self) -> None:
        """Close the files (they go with their directory)."""
        for handle in self._handles.values():
            handle.close()
        _close_fds(self._fds)


_KIND = {"shingles": 0, "tokens": 1, "counts": 1, "kgrams": 2}


def _close_fds(fds: dict) -> None:
    """Close and forget the descriptors (the dict is the store's own: a second call finds nothing to close)."""
    for fd in fds.values():
        os.close(fd)
    fds.clear()
