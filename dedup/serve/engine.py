"""The long-lived engine behind ``dedup serve``: one history index, added to and looked up.

The service is a thin layer over this: the HTTP app validates and answers,
the engine decides, with the same flow ``dedup dedupe --index`` runs.

* :meth:`Engine.add`: one :func:`~dedup.flows.dedupe.dedupe` call per batch,
  under a lock (one batch at a time in this process; the index's own writer
  lock keeps other processes out meanwhile). A batch of at most
  :attr:`Engine.max_batch` articles (10 × ``chunk_size``) is written in one
  transaction, so a batch is in the index whole or not at all, even when the
  process is killed. The decisions are ``decisions.jsonl``'s, and equal those
  of ``dedup dedupe --index`` given the same batches in the same order.
* With ``coalesce`` (off by default), the batches that arrive while one is
  being decided are decided together in the next run (group commit, up to
  :attr:`Engine.max_batch` articles): each is still answered with its own
  decisions and added whole, in one transaction with the others of its run,
  but the decisions are those of ``dedup dedupe --index`` over the merged
  batches. Far fewer runs under concurrent load (a run has fixed costs).
* Lookups go through a second connection to the index (SQLite: it sees only
  committed transactions), under a lock of their own, so they never wait for
  a batch being decided.
* The titles and texts of the articles added are kept in :mod:`.texts`, after
  the batch is committed (a process killed between the two leaves articles
  that show scores without texts, like those added by the CLI).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..config import DedupConfig, StoriesConfig
from ..flows.dedupe import dedupe
from ..flows.history import ALREADY
from ..io.dedupe_rows import decision_rows
from ..runtime import Runtime
from ..store.history import open_index
from ..store.index import ArticleRecord, StoredGroup
from ..types import Article
from ..verify import RELATIONS
from .texts import open_texts

logger = logging.getLogger(__name__)

__all__ = ["Engine", "GroupView", "PairView", "TooManyArticles"]

_ALREADY = "skipped: " + ALREADY


class TooManyArticles(ValueError):
    """A batch larger than one index transaction holds."""


def _r(x: float) -> float | None:
    return None if x != x else round(float(x), 4)


@dataclass
class _Waiting:
    """A batch waiting for the index (``coalesce``), and then its decisions or the error of its run."""

    articles: list[Article]
    ids: set[str]
    done: threading.Event = field(default_factory=threading.Event)
    rows: list[dict[str, Any]] | None = None
    error: BaseException | None = None


@dataclass
class GroupView:
    """A stored group with its keeper found and its edges named by id."""

    name: str
    members: list[ArticleRecord]
    keeper: ArticleRecord | None
    pairs: list[dict[str, Any]]  # pairs.jsonl fields


@dataclass
class PairView:
    """Two stored articles, their stored scores, their texts when known, and fresh scores of the texts."""

    a: ArticleRecord
    b: ArticleRecord
    texts: dict[str, tuple[str, str]]  # id → (title, text), for those this service stored
    stored: list[tuple[str, dict[str, Any]]]  # (what, pairs.jsonl-like fields): the edge, or the copy's scores vs its keeper
    measured: dict[str, Any] | None  # dedup similarity fields, when both texts are known


class Engine:
    """A history index with the service's text store (see the module).

    Args:
        location: the index (a SQLite file, created when absent, or ``redis://…``).
        config: what to compute; must match the index's sketch settings.
        stories: settings of the story score (``/v1/similarity``, the pair view).
        runtime: how a batch runs (``chunk_size`` sets :attr:`max_batch`).
        window_days: as ``dedup dedupe --window-days``.

    Raises:
        HistoryError: the index cannot be opened or has other settings.
    """

    def __init__(self, location: str, config: DedupConfig = DedupConfig(), stories: StoriesConfig = StoriesConfig(),
                 runtime: Runtime = Runtime(), window_days: float | None = None, coalesce: bool = False) -> None:
        self.location = location
        self.config, self.stories, self.runtime, self.window_days = config, stories, runtime, window_days
        self.coalesce = coalesce
        self._waiting: list[_Waiting] = []  # batches queued for the index (coalesce)
        self._waiting_lock = threading.Lock()
        self.max_batch = 10 * runtime.chunk_size  # flows.dedupe commits 10 × chunk_size articles per transaction
        self._writer = open_index(location, config)
        self._reader = open_index(location, config)
        self.texts = open_texts(location)
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()

    # --- adding -----------------------------------------------------------------

    def add(self, articles: list[Article]) -> list[dict[str, Any]]:
        """Decide ``articles`` against the index and add them; one decision per article, in order.

        One run of the flow for this batch alone, or with ``coalesce`` one run
        for it and the batches waiting with it (:meth:`_decide_together`).

        Raises:
            TooManyArticles: more than :attr:`max_batch` articles.
        """
        if not articles:
            return []
        if len(articles) > self.max_batch:
            raise TooManyArticles(f"{len(articles)} articles in one request; at most {self.max_batch} "
                                  f"(10 × chunk_size: what one index transaction holds); split the batch")
        if self.coalesce:
            rows = self._decide_together(articles)
        else:
            with self._write_lock:
                rows = self._decide(articles)
        added = [(a.id, a.title, a.text) for a, r in zip(articles, rows) if not r["reason"].startswith(_ALREADY)]
        try:
            self.texts.put(added)
        except Exception:  # the decisions are committed: the texts are a convenience of the page
            logger.exception("%s: could not store the texts of %d articles", self.texts.location, len(added))
        return rows

    def _decide(self, articles: list[Article]) -> list[dict[str, Any]]:
        result = dedupe(articles, self.config, runtime=self.runtime, index=self._writer, window_days=self.window_days)
        return list(decision_rows(result))

    def _decide_together(self, articles: list[Article]) -> list[dict[str, Any]]:
        """Group commit: whoever gets the lock decides every batch waiting then, in arrival order, in one run.

        A run takes the longest prefix of the waiting batches that fits one
        transaction (:attr:`max_batch`) and shares no id (a repeated id within
        one run is refused by the index), so each batch is still added whole.
        """
        me = _Waiting(articles, {a.id for a in articles})
        with self._waiting_lock:
            self._waiting.append(me)
        while not me.done.is_set():
            with self._write_lock:
                if me.done.is_set():  # decided by the run of another request meanwhile
                    break
                with self._waiting_lock:
                    run: list[_Waiting] = []
                    ids: set[str] = set()
                    for w in self._waiting:
                        if run and (sum(len(x.articles) for x in run) + len(w.articles) > self.max_batch or w.ids & ids):
                            break
                        run.append(w)
                        ids |= w.ids
                    del self._waiting[: len(run)]
                try:
                    rows = self._decide([a for w in run for a in w.articles])
                    at = 0
                    for w in run:
                        w.rows, at = rows[at : at + len(w.articles)], at + len(w.articles)
                except BaseException as exc:  # nothing of the run was added: every batch in it fails
                    for w in run:
                        w.error = exc
                finally:
                    for w in run:
                        w.done.set()
        if me.error is not None:
            raise me.error
        assert me.rows is not None
        return me.rows

    # --- looking up -------------------------------------------------------------

    def next_row(self) -> int:
        with self._read_lock:
            return self._reader.next_row()

    def article(self, article_id: str) -> tuple[ArticleRecord, ArticleRecord | None] | None:
        """The stored record of ``article_id`` and that of its keeper (None when it has none); None when absent."""
        with self._read_lock:
            rec = self._reader.known_ids([article_id]).get(article_id)
            if rec is None:
                return None
            keeper = None
            if rec.keeper >= 0:
                keeper = rec if rec.keeper == rec.row else next(iter(self._reader.articles(_rows([rec.keeper]))), None)
        return rec, keeper

    def group(self, name: str) -> GroupView | None:
        with self._read_lock:
            stored = self._reader.group(name)
            extra = []
            if stored is not None:  # a keeper from an earlier group may lie outside (a group joined later keeps it)
                have = {m.row for m in stored.members}
                extra = self._reader.articles(_rows(sorted({m.keeper for m in stored.members} - have - {-1})))
        return None if stored is None else _view(name, stored, extra)

    def latest_groups(self, limit: int = 20, scan: int = 2000) -> list[GroupView]:
        """The ``limit`` groups with the most recently added members, newest first (among the last ``scan`` rows)."""
        with self._read_lock:
            top = self._reader.next_row()
            recent = self._reader.articles(_rows(range(max(0, top - scan), top)))
        names = list(dict.fromkeys(r.group for r in reversed(recent) if r.group is not None))[:limit]
        return [g for g in (self.group(n) for n in names) if g is not None]

    def pair(self, a: str, b: str) -> PairView | None:
        """Articles ``a`` and ``b`` side by side (None when either is not in the index)."""
        with self._read_lock:
            found = self._reader.known_ids([a, b])
            if a not in found or b not in found:
                return None
            ra, rb = found[a], found[b]
            edges = None
            if ra.group is not None and ra.group == rb.group:
                edges = self._reader.group(ra.group)
        stored: list[tuple[str, dict[str, Any]]] = []
        if edges is not None:
            want = {ra.rep, rb.rep}
            for (x, y), rel, s in zip(edges.edges.tolist(), edges.edge_relation.tolist(), edges.edge_scores.tolist()):
                if {x, y} == want and x != y:
                    first, second = (ra, rb) if x == ra.rep else (rb, ra)
                    stored.append(("verified edge between their texts", _pair_fields(first.id, second.id, rel, s)))
        for copy, keeper in ((rb, ra), (ra, rb)):
            if copy.keeper == keeper.row and copy.row != keeper.row and copy.scores[0] == copy.scores[0]:
                j, c, cos = copy.scores
                stored.append((f"{copy.id} against its keeper {keeper.id}",
                               {"relation": RELATIONS[copy.relation], "jaccard": _r(j), "containment": _r(c), "cosine": _r(cos)}))
        texts = self.texts.get([a, b])
        measured = None
        if a in texts and b in texts:
            measured = self.similarity(texts[a][1], texts[b][1], texts[a][0], texts[b][0])
        return PairView(ra, rb, texts, stored, measured)

    def similarity(self, text1: str, text2: str, title1: str = "", title2: str = "") -> dict[str, Any]:
        """The fields ``dedup similarity`` writes for one pair (without ``id``)."""
        from ..flows.similarity import similarity

        res = similarity([text1], [text2], self.stories, self.config, title1=[title1], title2=[title2])
        return {"jaccard": _r(res.jaccard[0]), "containment": _r(res.containment[0]), "cosine": _r(res.cosine[0]),
                "story_score": _r(res.story_score[0]), "verdict": res.verdict[0]}

    def close(self) -> None:
        for closing in (self._writer.close, self._reader.close, self.texts.close):
            try:
                closing()
            except Exception:  # closing is best effort: the data is committed
                logger.exception("closing %s", self.location)


def _rows(values: Any) -> Any:
    import numpy as np

    return np.array(list(values), dtype=np.int64)


def _pair_fields(id1: str, id2: str, rel: int, s: list[float]) -> dict[str, Any]:
    return {"id1": id1, "id2": id2, "relation": RELATIONS[int(rel)], "jaccard": _r(s[0]),
            "containment_1_in_2": _r(s[1]), "containment_2_in_1": _r(s[2]), "cosine": _r(s[3])}


def _view(name: str, stored: StoredGroup, outside: list[ArticleRecord]) -> GroupView:
    by_row = {m.row: m for m in [*stored.members, *outside]}
    named = Counter(m.keeper for m in stored.members if m.keeper >= 0)
    kept = [m for m in stored.members if m.keeper == m.row and m.group == name]
    keeper_row = kept[0].row if kept else (named.most_common(1)[0][0] if named else -1)
    rep_ids: dict[int, str] = {}
    for m in stored.members:  # an edge joins representative rows: name it by the representative article
        rep_ids.setdefault(m.rep, by_row[m.rep].id if m.rep in by_row else m.id)
    pairs = [_pair_fields(rep_ids.get(a, str(a)), rep_ids.get(b, str(b)), rel, s)
             for (a, b), rel, s in zip(stored.edges.tolist(), stored.edge_relation.tolist(), stored.edge_scores.tolist())]
    return GroupView(name, stored.members, by_row.get(keeper_row), pairs)
