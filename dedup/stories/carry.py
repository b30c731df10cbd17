"""What the event tracker hands to the next run: the open window, as bytes, and a tracker that resumes from it.

A feed tracked against a history index (``dedup stories FEED --index``)
continues the events of the earlier feeds: the tracker's state after the
last dated day is kept (:func:`carry`), and the next run's tracker starts
from it (:func:`resume`) as if the two feeds had been one, so an event keeps
the id of its first report from one feed to the next.

What is kept is bounded by the window: the term weights counted so far, the
column numbering, the rows still held, the events still open (members, sums,
span), the rows' sentence embeddings when the semantic story score is on,
and the latest member of each copy group still reachable; arrival
indices are renumbered from the first one still referenced (``base``). An
article whose event has closed keeps nothing but its row (a candidate for
later articles, no longer joinable). Per carried arrival the id, time, source
and label travel too, so that a later run can name the events it continues.

The state is an ``.npz`` of plain arrays plus a JSON header (no pickle).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from ..sparse import sp

from ..config import StoriesConfig
from ..errors import DedupError
from .events import EventTracker
from .window import Weights

__all__ = ["Carried", "StateError", "carry", "check_state", "from_bytes", "resume", "state_settings", "to_bytes"]

FORMAT = 1
_FREE = ("chunk_rows", "storyline_threshold", "storyline_linkage")  # settings that do not shape the carried state


def state_settings(config: StoriesConfig) -> dict:
    """The settings a carried state was made with, as JSON data (those that change how articles are placed).

    With the semantic story score on, the encoder and the truncation of its
    model are recorded too: embeddings of another encoder do not mix.
    """
    out = {k: v for k, v in json.loads(json.dumps(asdict(config))).items() if k not in _FREE}
    if config.semantic:
        from .semantic import load_model

        model = load_model()
        out["semantic_encoder"] = f"{model.encoder}:{model.max_chars}"
    return out


class StateError(DedupError, ValueError):
    """The stored story state cannot be used with this run (other settings, unknown format)."""


@dataclass
class Carried:
    """A tracker's open window, renumbered from 0, and who its arrivals are.

    Arrival ``k`` here was arrival ``base + k`` of the run that carried it.
    ``ids``, ``times``, ``sources``, ``labels`` describe the carried arrivals;
    ``copies`` maps a copy group's name to its latest carried member.
    """

    config: dict
    ids: list[str]
    times: np.ndarray
    sources: list[str]
    labels: list[str]
    copies: dict[str, int]
    arrays: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.ids)


def _pack_vecs(prefix: str, vecs: dict[int, tuple[np.ndarray, np.ndarray]], shift: int, out: dict[str, np.ndarray]) -> None:
    keys = sorted(vecs)
    out[f"{prefix}_keys"] = np.asarray(keys, dtype=np.int64) - shift
    out[f"{prefix}_off"] = np.cumsum([0] + [len(vecs[k][0]) for k in keys]).astype(np.int64)
    out[f"{prefix}_idx"] = np.concatenate([vecs[k][0] for k in keys]).astype(np.int64) if keys else np.zeros(0, np.int64)
    out[f"{prefix}_val"] = np.concatenate([vecs[k][1] for k in keys]).astype(np.float64) if keys else np.zeros(0)


def _unpack_vecs(prefix: str, a: dict[str, np.ndarray]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    keys, off, idx, val = a[f"{prefix}_keys"], a[f"{prefix}_off"], a[f"{prefix}_idx"], a[f"{prefix}_val"]
    return {int(k): (idx[off[j]:off[j + 1]], val[off[j]:off[j + 1]]) for j, k in enumerate(keys.tolist())}


def _pack_csr(prefix: str, m: sp.csr_matrix | None, out: dict[str, np.ndarray]) -> None:
    if m is None:
        return
    out[f"{prefix}_data"], out[f"{prefix}_indices"], out[f"{prefix}_indptr"] = m.data, m.indices, m.indptr
    out[f"{prefix}_shape"] = np.asarray(m.shape, dtype=np.int64)


def _unpack_csr(prefix: str, a: dict[str, np.ndarray]) -> sp.csr_matrix | None:
    if f"{prefix}_data" not in a:
        return None
    m = sp.csr_matrix((a[f"{prefix}_data"], a[f"{prefix}_indices"], a[f"{prefix}_indptr"]), shape=tuple(a[f"{prefix}_shape"]))
    m.has_sorted_indices = True
    return m


def _sparse_vector(prefix: str, v: np.ndarray | None, start: np.ndarray | None, out: dict[str, np.ndarray]) -> None:
    """The entries of ``v`` that differ from ``start`` (what a new tracker begins with: the background prior)."""
    if v is not None:
        nz = np.flatnonzero(v != start)
        out[f"{prefix}_cols"], out[f"{prefix}_vals"] = nz.astype(np.int64), v[nz]


def _dense(prefix: str, a: dict[str, np.ndarray], into: np.ndarray | None) -> None:
    """Put the carried entries back into a new tracker's vector (which holds the prior elsewhere)."""
    if into is not None and f"{prefix}_cols" in a:
        into[a[f"{prefix}_cols"]] = a[f"{prefix}_vals"]


def carry(tracker: EventTracker, limit: int, ids: Callable[[np.ndarray], list[str]], times: np.ndarray,
          sources: Callable[[np.ndarray], list[str]], labels: Callable[[np.ndarray], list[str]],
          copy_names: dict[int, str]) -> Carried:
    """The state of ``tracker`` after its last dated day (arrivals ``0..limit-1`` placed, no undated one yet).

    Args:
        tracker: the tracker, before any undated block and before :meth:`EventTracker.finish`.
        limit: how many arrivals it has placed.
        ids, sources, labels: arrival indices → the articles' ids, sources, labels.
        times: ``(limit,)`` arrival times.
        copy_names: the tracker's copy-group integers → their stable names.
    """
    t = tracker
    held = t.rows.stacked()
    firsts = [limit] + ([int(held[0][0])] if held is not None and len(held[0]) else []) + ([min(t.open)] if t.open else [])
    base = min(firsts)
    span = np.arange(base, limit, dtype=np.int64)
    roots = np.array([t.sets.find(int(a)) for a in span], dtype=np.int64)
    parent = np.where(roots >= base, roots, span) - base  # a closed event's members stand alone: never joinable again
    out: dict[str, np.ndarray] = {
        "parent": parent, "size": t.size[base:limit], "tmin": t.tmin[base:limit], "tmax": t.tmax[base:limit],
        "open": np.array(sorted(t.open), dtype=np.int64) - base, "seen": np.array([t.weights.seen], dtype=np.int64),
        "xcols": t.xcols.ids, "ncols": t.ncols.ids,
        "widths": np.array([t.xcols.width, t.ncols.width], dtype=np.int64),
    }
    for name in ("xcols", "ncols"):
        ids_ = out.pop(name)
        nz = np.flatnonzero(ids_ >= 0)
        out[f"{name}_cols"], out[f"{name}_vals"] = nz.astype(np.int64), ids_[nz]
    fresh = Weights(t.config)  # the prior every tracker starts from: only what the feeds changed is carried
    for name, v, start in (("word_df", t.weights.word_df, fresh.word_df), ("char_df", t.weights.char_df, fresh.char_df),
                           ("word_seen", t.weights.word_seen, fresh.word_seen)):
        _sparse_vector(name, v, start, out)
    members = sorted((r, sorted(ms)) for r, ms in t.members.items() if r in t.open)
    out["members_keys"] = np.array([r for r, _ in members], dtype=np.int64) - base
    out["members_off"] = np.cumsum([0] + [len(ms) for _, ms in members]).astype(np.int64)
    out["members"] = (np.concatenate([ms for _, ms in members]).astype(np.int64) - base) if members else np.zeros(0, np.int64)
    # story vectors are carried in hashed columns (the tracker sums them in its dense ones)
    _pack_vecs("sums", {r: t.xcols.hashed(v) for r, v in t.sums.items()}, base, out)
    _pack_vecs("wsums", t.wsums, base, out)
    # an open event's member's own vectors are its held row's; the few without a held row are carried whole
    in_rows = set() if held is None else set(held[0].tolist())
    open_members = sorted(a for r in t.open for a in t.members.get(r, ()))
    live = {a: v for a, v in t.single.items() if a >= base and a not in in_rows}
    out["single_from_rows"] = np.array([a for a in open_members if a in in_rows], dtype=np.int64) - base
    _pack_vecs("single_x", {a: t.xcols.hashed((v[0], v[1])) for a, v in live.items()}, base, out)
    _pack_vecs("single_w", {a: (v[2], v[3]) for a, v in live.items()}, base, out)
    if held is not None:
        a, tm, x, w, nu, ln, sl = held
        out["rows_arrival"], out["rows_times"], out["rows_lengths"] = a - base, tm, ln
        for name, m in (("rows_x", x), ("rows_w", w), ("rows_nu", nu), ("rows_sl", sl)):
            _pack_csr(name, m, out)
        emb = t.rows.embeddings()
        if emb is not None:
            out["rows_emb"] = emb
    copies = {copy_names[g]: a - base for g, a in t.last_of_copy.items() if a >= base and g in copy_names}
    return Carried(state_settings(t.config), ids(span), times[base:limit].astype(np.float64), sources(span), labels(span), copies, out)


def resume(carried: Carried | None, n: int, config: StoriesConfig, copy_ints: dict[str, int],
           tick: Callable[[int], None] | None = None, threads: int = 1, spill: str | None = None) -> EventTracker:
    """A tracker for ``len(carried) + n`` arrivals whose first ``len(carried)`` are the carried ones.

    ``copy_ints`` maps copy-group names to the integers this run's copies use;
    ``spill`` is the folder of the closed events' centroids (:class:`EventTracker`).

    Raises:
        StateError: the state was made with other stories settings.
    """
    m = 0 if carried is None else len(carried)
    t = EventTracker(m + n, config, tick, threads, spill)
    if carried is None:
        return t
    _same_settings(carried.config, config)
    a = carried.arrays
    t.sets.parent[:m] = a["parent"].tolist()
    t.size[:m], t.tmin[:m], t.tmax[:m] = a["size"], a["tmin"], a["tmax"]
    t.open = set(a["open"].tolist())
    off = a["members_off"]
    t.members = {int(r): a["members"][off[j]:off[j + 1]].tolist() for j, r in enumerate(a["members_keys"].tolist())}
    for cols, name, width in ((t.xcols, "xcols", 0), (t.ncols, "ncols", 1)):
        cols.restore(a[f"{name}_cols"], a[f"{name}_vals"], int(a["widths"][width]))
    t.sums = {k: t.xcols.dense(v) for k, v in _unpack_vecs("sums", a).items()}
    t.wsums = _unpack_vecs("wsums", a)
    sx, sw = _unpack_vecs("single_x", a), _unpack_vecs("single_w", a)
    t.single = {k: (*t.xcols.dense(sx[k]), *sw[k]) for k in sx}  # members with a held row read it (single_from_rows)
    t.weights.seen = int(a["seen"][0])
    _dense("word_df", a, t.weights.word_df)
    _dense("char_df", a, t.weights.char_df)
    _dense("word_seen", a, t.weights.word_seen)
    if "rows_arrival" in a:
        t.rows.add(a["rows_arrival"], a["rows_times"], _unpack_csr("rows_x", a), _unpack_csr("rows_w", a),
                   _unpack_csr("rows_nu", a), a["rows_lengths"], _unpack_csr("rows_sl", a), a.get("rows_emb"))
    t.last_of_copy = {copy_ints[name]: int(k) for name, k in carried.copies.items() if name in copy_ints}
    return t


def _same_settings(stored: dict[str, Any], config: StoriesConfig) -> None:
    """Raise :class:`StateError` when the state's settings (``stored``) place articles otherwise than ``config``'s."""
    wanted = state_settings(config)
    # a setting the state does not name came later, with a default that places articles as before it
    have = {k: v for k, v in state_settings(StoriesConfig()).items() if k not in stored} | stored
    if have != wanted:
        diff = sorted(k for k in set(have) | set(wanted) if have.get(k) != wanted.get(k))
        raise StateError(f"the index tracks stories with other settings than this run's: {'; '.join(_differs(k, have, wanted) for k in diff)}; "
                         "run with the index's values (the options named, or the [stories] table of --config) or use a "
                         "new index")


def _differs(key: str, have: dict[str, Any], wanted: dict[str, Any]) -> str:
    """One setting that differs, named as the settings name it (and its option, when it has one), with the index's
    value and this run's (the message named the settings only: which values to give was guesswork).

    >>> _differs("window_days", {"window_days": 3.0}, {"window_days": 5.0})
    'window_days (--window-days) is 3.0 in the index, 5.0 in this run'
    >>> _differs("semantic_encoder", {"semantic_encoder": "e5:512"}, {})
    "semantic_encoder is 'e5:512' in the index, none in this run"
    """
    from dataclasses import fields

    flag = next((f.metadata["cli"].split(" ")[0].split("/")[0] for f in fields(StoriesConfig)
                 if f.name == key and "cli" in f.metadata), None)

    def shown(d: dict[str, Any]) -> str:
        return repr(d[key]) if key in d else "none"

    return f"{key}{f' ({flag})' if flag else ''} is {shown(have)} in the index, {shown(wanted)} in this run"


def check_state(blob: bytes | None, config: StoriesConfig) -> None:
    """What :func:`resume` would refuse in a saved state, from its header alone: said before a run adds its feed.

    ``stories --index`` with other settings was refused only after the feed was
    deduplicated into the index, which then held the day without its events.

    Raises:
        StateError: another format, or other stories settings.
    """
    if blob is None:
        return
    try:
        head = json.loads(blob.split(b"\n", 1)[0])
    except ValueError as exc:
        raise StateError(f"the index's story state cannot be read ({exc})") from None
    if head.get("format") != FORMAT:
        raise StateError(f"the index holds a story state of format {head.get('format')!r}; this dedup reads format {FORMAT}")
    _same_settings(head.get("config", {}), config)


def to_bytes(c: Carried) -> bytes:
    """The state as bytes: a JSON header line, then an ``.npz`` of the arrays."""
    head = {"format": FORMAT, "config": c.config, "ids": c.ids, "sources": c.sources, "labels": c.labels, "copies": c.copies}
    buf = io.BytesIO()
    _write_npz(buf, {"times": c.times, **c.arrays})
    return json.dumps(head, ensure_ascii=False).encode() + b"\n" + buf.getvalue()


_SAMPLE = 1 << 16  # bytes of an array deflated to judge whether deflating it pays
_STORE_ABOVE = 0.8  # a sample deflated to more than this share of its size: the array is stored as it is


def _write_npz(out: io.BytesIO, arrays: dict[str, np.ndarray]) -> None:
    """``arrays`` as an ``.npz`` (what :func:`numpy.load` reads), deflated at level 1 where deflating pays.

    ``np.savez_compressed`` deflates every array at level 6: on the dev days'
    window (a 116 MB state) that took 6.0 s of every ``stories --index`` run
    and every pass of ``serve --stories-every``, for 65.8 MB; level 1 took
    1.9 s for 68.3 MB (read back in the same 0.4 s). Of that, 0.86 s went to
    the held rows' float32 weights, which deflate to 87 % of their 33.5 MB:
    an array whose first 64 KiB deflate to more than 80 % is stored as it is.
    """
    import zipfile
    import zlib

    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, value in arrays.items():
            value = np.asanyarray(value)
            entry: str | zipfile.ZipInfo = f"{name}.npy"
            sample = np.ascontiguousarray(value.reshape(-1)[: _SAMPLE // max(1, value.itemsize)]).tobytes()
            if len(sample) >= 4096 and len(zlib.compress(sample, 1)) > _STORE_ABOVE * len(sample):
                entry = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                entry.compress_type = zipfile.ZIP_STORED
            with zf.open(entry, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, value, allow_pickle=False)


def from_bytes(blob: bytes) -> Carried:
    """Read :func:`to_bytes` back.

    Raises:
        StateError: not a state this version writes.
    """
    try:
        head_raw, body = blob.split(b"\n", 1)
        head = json.loads(head_raw)
        if head.get("format") != FORMAT:
            raise StateError(f"the index holds a story state of format {head.get('format')!r}; this dedup reads format {FORMAT}")
        with np.load(io.BytesIO(body), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except StateError:
        raise
    except (ValueError, OSError, KeyError) as exc:
        raise StateError(f"the index's story state cannot be read ({exc})") from None
    times = arrays.pop("times")
    return Carried(head["config"], head["ids"], times, head["sources"], head["labels"], head["copies"], arrays)
