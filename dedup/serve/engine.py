"""The long-lived engine behind ``dedup serve``: one history index, added to and looked up.

The service is a thin layer over this: the HTTP app validates and answers,
the engine decides, with the same flow ``dedup dedupe --index`` runs.

* :meth:`Engine.add`: the batches wait in one queue, in arrival order, and
  are decided by one :func:`~dedup.flows.dedupe.dedupe` run at a time (the
  index's own writer lock keeps other processes out meanwhile). The request
  whose turn comes runs the flow for the head of the queue, whoever posted it,
  and every request returns as soon as its own batch is decided: first come,
  first decided (a plain lock would let a request wait behind any number of
  later ones). A batch of at most :attr:`Engine.max_batch` articles (10 ×
  ``chunk_size``) is written in one transaction and answered only after it
  is committed, so a batch is in the index whole or not at all, even when the
  process is killed. One run per batch: the decisions are
  ``decisions.jsonl``'s, and equal those of ``dedup dedupe --index`` given
  the same batches in the same order.
* With ``coalesce``, a run takes every batch waiting at its turn (group
  commit: up to :attr:`Engine.max_batch` articles, never two batches with a
  common id), merged in arrival order: one set of history lookups and one
  commit for all of them (about half of what a run of 50 articles costs
  against a few thousand stored ones, and the lookups grow with the index).
  Each batch is answered with its own decisions and
  added whole. The decisions are those of ``dedup dedupe --index`` over the
  merged batches: copies in two batches of one run are found within the run,
  not in the index (no ``seen_before``), their keeper is chosen over the
  run's members by ``--keep`` and the containment guard, so a later batch can
  change an earlier one's decision (one after another, the earlier one is
  stored and a stored decision never changes), and the IDF of the cosine is
  fitted on the run. ``scripts/serve_load.py`` counts these differences on
  the dev days. A request that waits alone (one client posting one batch
  after another) is a run of its own: batch by batch, exactly. When a run
  of several batches fails and added nothing, its batches are decided again
  one by one, so one batch that breaks the flow fails alone.
* Lookups go through a second connection to the index (SQLite: it sees only
  committed transactions), under a lock of their own, so they never wait for
  a batch being decided. The reads of one answer are made on one committed
  state (:meth:`Engine.reading`: a read transaction, held for that answer
  only), so a prune or a batch committed meanwhile never shows half.
* The titles and texts of the articles added are kept in :mod:`.texts`, after
  the batch is committed (a process killed between the two leaves articles
  that show scores without texts, like those added by the CLI).
* With ``stories_every`` (seconds), a :class:`~.placer.Placer` places the
  articles added into events every that many seconds, on a thread and a
  connection of its own: batches are decided meanwhile (it takes the
  index's tracker lock, not the writer's, for the placing).
* Stopping (:meth:`Engine.stop`, on SIGTERM): the batches still waiting are
  refused at once (:class:`Stopping`: nothing of them added), the run under
  way is finished and answered; :meth:`Engine.close` waits for it and its
  texts before closing the index, so a batch whose answer is lost all the
  same is still committed whole, with its texts. A run still waiting for
  another process's hold on the index (a long ``dedup dedupe --index``),
  and a placement pass waiting likewise, is called off instead: nothing of
  it was added (the batch is refused as :class:`Stopping`), so the service
  stops at once rather than when the other run ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from typing import Any

from ..config import DedupConfig, StoriesConfig
from ..flows.dedupe import dedupe
from ..results import ALREADY
from ..io.dedupe_rows import decision_rows
from ..runtime import Runtime
from ..errors import redact
from ..store.history import open_index
from ..store.index import ArticleRecord, WaitCalledOff, container_names, this_process
from ..types import Article
from ..verify import RELATIONS
from .placer import Placer
from .texts import open_texts
from .views import GroupView, PairView, group_view, keeper_ref, pair_fields, rounded

logger = logging.getLogger(__name__)

__all__ = ["Engine", "GroupView", "PairView", "Stopping", "TooManyArticles"]

_ALREADY = "skipped: " + ALREADY


class TooManyArticles(ValueError):
    """A batch larger than one index transaction holds."""


class Stopping(RuntimeError):
    """The service is stopping: a batch not yet started is refused whole (nothing of it added)."""


@dataclass
class _Waiting:
    """A batch waiting for its turn, and then its decisions or the error of its run."""

    articles: list[Article]
    ids: set[str]
    started: bool = False  # taken off the queue by a run
    done: bool = False
    rows: list[dict[str, Any]] | None = None
    error: BaseException | None = None


class Engine:
    """A history index with the service's text store (see the module).

    Args:
        location: the index (a SQLite file, created when absent, or ``redis://…``).
        config: what to compute; must match the index's sketch settings.
        stories: settings of the story score (``/v1/similarity``, the pair view).
        runtime: how a batch runs (``chunk_size`` sets :attr:`max_batch`).
        window_days: as ``dedup dedupe --window-days``.
        stories_every: place the added articles into events every this many seconds (None: never).

    Raises:
        HistoryError: the index cannot be opened or has other settings.
    """

    def __init__(self, location: str, config: DedupConfig = DedupConfig(), stories: StoriesConfig = StoriesConfig(),
                 runtime: Runtime = Runtime(), window_days: float | None = None, coalesce: bool = False,
                 stories_every: float | None = None) -> None:
        self.location = redact(location)  # shown by /healthz and the pages: never a Redis password
        self.opened_at = location  # what the index is opened from again (the placer's runs): the password kept
        self.config, self.stories, self.runtime, self.window_days = config, stories, runtime, window_days
        self.coalesce = coalesce
        self.max_batch = 10 * runtime.chunk_size  # flows.dedupe commits 10 × chunk_size articles per transaction
        self._writer = open_index(location, config)
        self._reader = open_index(location, config)
        self.texts = open_texts(location)
        self._queue: list[_Waiting] = []  # batches waiting for their turn, in arrival order
        self._turn = threading.Condition()  # guards _queue and _busy; notified when a run ends
        self._busy = False  # a request is running the flow
        self._stopping = False  # set by stop(): no batch is started any more
        self._halt = threading.Event()  # set once stopping: a run waiting for another process's hold on the index gives up
        self._adding = 0  # add() calls under way (a run, then the texts): close() waits for them
        self._read_lock = threading.RLock()  # held by one answer across its calls (reading())
        self._held = ExitStack()  # what the runs share: the Dask executor (see _runs_executor)
        self._executor: Any = None
        self.runs = 0  # runs of the flow, and the batches they decided
        self.batches = 0
        self.placer = Placer(self, stories_every) if stories_every is not None else None

    def warm_up(self) -> int:
        """Run the flow once on two made-up near copies, without the index, before the first request.

        The first run in a process imports and builds what every later one
        reuses (SciPy's sparse matrices for the IDF, the decision model, the
        normalizer's tables): about a second that the first requests would
        otherwise wait for, each batch queued behind them included. Returns
        the pairs verified (1: the whole decision ran).
        """
        words = [a + b for a in ("ka", "lo", "mi", "nu", "sa", "ta", "wi", "ze") for b in ("ba", "de", "fo", "gu", "ri", "so", "tu", "ve")]
        text = " ".join(words[(k * k + 3 * k) % 61] for k in range(150))
        copy = text + " " + " ".join(words[:6])  # a near copy: a pair is scored and decided
        return len(dedupe([Article(id="warm-1", text=text), Article(id="warm-2", text=copy)], self.config, runtime=self.runtime,
                          executor=self._runs_executor()).pairs)

    def _runs_executor(self) -> Any:
        """The executor every run shares, with ``--backend dask`` (opened at the first run, closed by :meth:`close`): a
        Dask cluster opened per run took 1.4-2.6 s a batch. None with local processes (joblib keeps those)."""
        if self._executor is None and self.runtime.backend == "dask":
            from ..exec import open_executor

            self._executor = self._held.enter_context(open_executor(self.runtime))
        return self._executor

    # --- adding -----------------------------------------------------------------

    def add(self, articles: list[Article]) -> list[dict[str, Any]]:
        """Decide ``articles`` against the index and add them; one decision per article, in order.

        One run of the flow for this batch alone, in its turn, or with
        ``coalesce`` one run for it and the batches waiting with it (see the module).

        Raises:
            TooManyArticles: more than :attr:`max_batch` articles.
        """
        if not articles:
            return []
        if len(articles) > self.max_batch:
            raise TooManyArticles(f"{len(articles)} articles in one request; at most {self.max_batch} "
                                  f"(10 × chunk_size: what one index transaction holds); split the batch")
        with self._turn:
            if self._stopping:
                raise Stopping("the service is stopping: nothing of this batch was added; post it again when it is back")
            self._adding += 1
        try:
            rows = self._in_turn(articles)
            new = [a for a, r in zip(articles, rows) if not r["reason"].startswith(_ALREADY)]
            try:
                self.texts.put([(a.id, a.title, a.text) for a in new])
            except Exception:  # the decisions are committed: the texts are a convenience of the page
                logger.exception("%s: could not store the texts of %d articles", self.texts.location, len(new))
            if self.placer is not None:
                self.placer.added(new)
            return rows
        finally:
            with self._turn:
                self._adding -= 1
                self._turn.notify_all()

    def _decide(self, articles: list[Article]) -> list[dict[str, Any]]:
        try:
            result = dedupe(articles, self.config, runtime=self.runtime, index=self._writer, window_days=self.window_days,
                            executor=self._runs_executor(), on_wait=self._waiting)
        except WaitCalledOff:  # it never took the writer's lock: nothing was added
            raise Stopping("the service is stopping: nothing of this batch was added (it waited for another run that "
                           "holds the index); post it again when it is back") from None
        return list(decision_rows(result))

    def _waiting(self, message: str) -> threading.Event | None:
        """A run waits for the writer's lock. Held by this service (a placement pass looks its articles up, briefly):
        waited for, as a run under way is finished when the service stops. Held by another process's run (``dedup
        dedupe --index``, maybe for minutes): the log says so, and the wait is called off when the service stops."""
        if f"({this_process()})" in message:
            logger.debug("a batch waits: %s", message)
            return None
        logger.warning("a batch waits: %s", message)
        return self._halt

    def _in_turn(self, articles: list[Article]) -> list[dict[str, Any]]:
        """Queue the batch; run the flow for the head of the queue whenever no one else does; return when decided."""
        me = _Waiting(articles, {a.id for a in articles})
        with self._turn:
            self._queue.append(me)
        while True:
            with self._turn:
                while not me.done and (me.started or (self._busy and not self._stopping)):
                    self._turn.wait()  # a started batch is done before its run lets go of the turn
                if me.done:
                    break
                if self._stopping:  # not started: refused whole
                    self._queue.remove(me)
                    raise Stopping("the service is stopping: nothing of this batch was added; post it again when it is back")
                self._busy = True
                run = self._next_run()
            try:
                self._run(run)
            finally:
                with self._turn:
                    self._busy = False
                    self._turn.notify_all()
        if me.error is not None:
            raise me.error
        assert me.rows is not None
        return me.rows

    def _next_run(self) -> list[_Waiting]:
        """The head of the queue; with ``coalesce``, the longest prefix that fits one transaction and repeats no id."""
        run, ids, size = [self._queue[0]], set(self._queue[0].ids), len(self._queue[0].articles)
        if self.coalesce:
            for w in self._queue[1:]:
                if size + len(w.articles) > self.max_batch or not w.ids.isdisjoint(ids):
                    break
                run.append(w)
                ids |= w.ids
                size += len(w.articles)
        del self._queue[: len(run)]
        for w in run:
            w.started = True
        return run

    def _run(self, run: list[_Waiting]) -> None:
        """Decide ``run`` in one flow run: each batch gets its rows, or the run's error, and is marked done."""
        before = None
        try:
            if len(run) > 1:
                before = self._writer.next_row()
            rows = self._decide([a for w in run for a in w.articles])
        except Stopping as exc:  # it waited for another process's run and was called off: nothing added, none retried
            for w in run:
                w.error = exc
        except Exception as exc:
            if before is not None and not self._added_since(before):  # each alone: one that breaks the flow fails alone
                logger.warning("a run of %d batches failed (%s: %s); deciding them one by one", len(run), type(exc).__name__, exc)
                for w in run:
                    self._run([w])
                return
            for w in run:  # the run is in the index whole or not at all: its batches share the outcome
                w.error = exc
        except BaseException as exc:
            for w in run:
                w.error = exc
        else:
            at = 0
            for w in run:
                w.rows, at = rows[at : at + len(w.articles)], at + len(w.articles)
        with self._turn:
            self.runs += 1
            self.batches += len(run)
            for w in run:
                w.done = True

    def _added_since(self, before: int) -> bool:
        try:
            return self._writer.next_row() != before
        except Exception:  # the index cannot say: assume the worst (no batch is decided twice)
            return True

    # --- looking up -------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[None]:
        """The lookups of one answer: under the reader's lock, on one committed state of the index (a read transaction,
        held until the block ends; the app holds one across the calls of an answer). Blocks nest."""
        with self._read_lock, self._reader.snapshot():
            yield

    def next_row(self) -> int:
        with self.reading():
            return self._reader.next_row()

    def article_count(self) -> int:
        """How many articles the index holds."""
        with self.reading():
            return self._reader.article_count()

    def article(self, article_id: str) -> tuple[ArticleRecord, str | None, bool] | None:
        """The stored record of ``article_id``, the id of its keeper and whether that keeper was pruned from the index
        (:func:`~.views.keeper_ref`: of a pruned one, the id prune kept); None when absent.

        A keeper stored alone before its first copy came records that copy's group (the index writes it since this
        version); an index written before that kept ``group`` None: the group named after it is then given here,
        so that a client can tell the article has copies.
        """
        with self.reading():
            rec = self._reader.known_ids([article_id]).get(article_id)
            if rec is None:
                return None
            if rec.group is None and rec.keeper == rec.row:
                joined = self._reader.group(rec.id)
                if joined is not None and any(m.row == rec.row for m in joined.members):
                    rec = replace(rec, group=rec.id)
            keeper = None
            if rec.keeper >= 0:
                keeper = rec if rec.keeper == rec.row else next(iter(self._reader.articles(_rows([rec.keeper]))), None)
            pruned = self._reader.pruned_keepers([rec.keeper]) if keeper is None and rec.keeper >= 0 else {}
        return rec, *keeper_ref(rec, keeper, pruned)

    def group(self, name: str) -> GroupView | None:
        with self.reading():
            stored = self._reader.group(name)
            extra, pruned = [], {}
            if stored is not None:  # a keeper from an earlier group may lie outside (a group joined later keeps it)
                have = {m.row for m in stored.members}
                extra = self._reader.articles(_rows(sorted({m.keeper for m in stored.members} - have - {-1})))
                gone = sorted({m.keeper for m in stored.members} - have - {e.row for e in extra} - {-1})
                pruned = self._reader.pruned_keepers(gone) if gone else {}  # the ids prune kept of those removed
        return None if stored is None else group_view(name, stored, extra, pruned)

    def latest_groups(self, limit: int = 20, scan: int = 2000) -> list[GroupView]:
        """The ``limit`` groups with the most recently added members, newest first (among the last ``scan`` rows)."""
        with self.reading():
            top = self._reader.next_row()
            recent = self._reader.articles(_rows(range(max(0, top - scan), top)))
        names = list(dict.fromkeys(r.group for r in reversed(recent) if r.group is not None))[:limit]
        return [g for g in (self.group(n) for n in names) if g is not None]

    def latest_events(self, limit: int = 10, shown: int = 8) -> list[dict[str, Any]]:
        """The events tracked by ``dedup stories --index`` with the latest reports, newest first, each with up to
        ``shown`` member ids (first report first) and their headlines (``labels``: id → the stored label, the headline
        or the start of the text); empty when the index tracks no stories."""
        with self.reading():
            events = self._reader.stories.recent(limit)
            members = self._reader.stories.members([e["event"] for e in events], shown)
            rows = self._reader.stories.lookup([m for ms in members.values() for m in ms])
        return [e | {"members": members.get(e["event"], []),
                     "labels": {m: rows[m].label for m in members.get(e["event"], []) if m in rows}} for e in events]

    def headlines(self, ids: list[str]) -> dict[str, str]:
        """id → the headline of each article whose title or text is known, or the start of its text when it has no
        title (:func:`~dedup.types.article_label`): from the texts this service stored, else from the label
        ``dedup stories --index`` stored when it tracked the article. The index itself keeps neither titles nor texts:
        an article added by ``dedup dedupe --index`` and never tracked has none."""
        from ..types import Article, article_label

        out = {i: article_label(Article(i, text, title)) for i, (title, text) in self.texts.get(ids).items()}
        missing = [i for i in dict.fromkeys(ids) if not out.get(i)]
        if missing:
            with self.reading():
                out |= {i: r.label for i, r in self._reader.stories.lookup(missing).items() if r.label}
        return {i: t for i, t in out.items() if t}

    def stories_of(self, ids: list[str]) -> dict[str, tuple[str, str | None]]:
        """id → the event and storyline ``dedup stories --index`` gave it, for those of ``ids`` it tracked."""
        with self.reading():
            rows = self._reader.stories.lookup(ids)
        return {i: (row.event, row.storyline) for i, row in rows.items()}

    def contained_in(self, records: list[ArticleRecord]) -> dict[int, list[str]]:
        """Representative row → the ids of the stored articles a verified contained edge says hold its text (each
        container and its exact copies), for the texts of ``records``: ``contained_in`` as ``dedup index export``
        gives it, found through the edges of those texts alone."""
        with self.reading():
            held = self._reader.containers_of(sorted({r.rep for r in records if r.rep >= 0}))
            return container_names(self._reader, held) if held else {}

    def event(self, name: str, shown: int = 100) -> dict[str, Any] | None:
        """One tracked event as :meth:`latest_events` gives it, with up to ``shown`` member ids (in time order) and
        their stored rows (``reports``: :class:`~dedup.store.story_log.StoryRow`, in that order); None when no
        tracked article is in it."""
        with self.reading():
            found = self._reader.stories.event(name)
            if found is None:
                return None
            members = self._reader.stories.members([name], shown).get(name, [])
            rows = self._reader.stories.lookup(members)
        return found | {"members": members, "reports": [rows[m] for m in members if m in rows]}

    def pair(self, a: str, b: str) -> PairView | None:
        """Articles ``a`` and ``b`` side by side (None when either is not in the index)."""
        with self.reading():
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
                    stored.append(("verified edge between their texts", pair_fields(first.id, second.id, rel, s)))
        for copy, keeper in ((rb, ra), (ra, rb)):
            if copy.keeper == keeper.row and copy.row != keeper.row and copy.scores[0] == copy.scores[0]:
                j, c, cos, prob = copy.scores
                stored.append((f"{copy.id} against its keeper {keeper.id}",
                               {"relation": RELATIONS[copy.relation], "jaccard": rounded(j), "containment": rounded(c), "cosine": rounded(cos),
                                "probability": rounded(prob)}))
        texts = self.texts.get([a, b])
        measured = None
        if a in texts and b in texts:
            # with the dates and outlets the index holds: the learned decision weighs them as dedupe did
            measured = self.similarity(texts[a][1], texts[b][1], texts[a][0], texts[b][0], (ra.time, rb.time), (ra.source, rb.source))
        return PairView(ra, rb, texts, stored, measured)

    def similarity(self, text1: str, text2: str, title1: str = "", title2: str = "",
                   times: tuple[float, float] | None = None, sources: tuple[str | None, str | None] | None = None) -> dict[str, Any]:
        """The fields ``dedup similarity`` writes for one pair (without ``id``); ``times`` (seconds, NaN undated) and
        ``sources``: the two articles' dates and outlets, when known (else two outlets' texts, undated)."""
        from ..flows.similarity import similarity

        res = similarity([text1], [text2], self.stories, self.config, title1=[title1], title2=[title2],
                         time1=None if times is None else [times[0]], time2=None if times is None else [times[1]],
                         source1=None if sources is None else [sources[0]], source2=None if sources is None else [sources[1]])
        return {"jaccard": rounded(res.jaccard[0]), "containment": rounded(res.containment[0]), "cosine": rounded(res.cosine[0]),
                "story_score": rounded(res.story_score[0]),
                "probability": None if res.probability is None else rounded(res.probability[0]), "verdict": res.verdict[0],
                "relation": None if res.relation is None else res.relation[0],
                "reason": None if res.reason is None else res.reason[0]}

    def stop(self) -> None:
        """Start no batch any more: those waiting are refused (:class:`Stopping`), the run under way is finished.

        Safe in a signal handler (the server's, on SIGTERM): it only sets a flag; a thread wakes the waiting requests.
        """
        self._stopping = True

        def wake() -> None:
            self._halt.set()
            with self._turn:
                self._turn.notify_all()

        threading.Thread(target=wake, name="dedup-serve-stop", daemon=True).start()

    def close(self) -> None:
        """Stop, wait for the batches under way (their run, then their texts) and for a placement into events under
        way, and close the index and the texts."""
        self._halt.set()
        with self._turn:
            self._stopping = True
            self._turn.notify_all()
            while self._adding:
                self._turn.wait()
        if self.placer is not None:
            self.placer.stop()
        with self._read_lock:  # a lookup under way finishes first
            self._close()

    def _close(self) -> None:
        for closing in (self._writer.close, self._reader.close, self.texts.close, self._held.close):
            try:
                closing()
            except Exception:  # closing is best effort: the data is committed
                logger.exception("closing %s", self.location)


def _rows(values: Any) -> Any:
    import numpy as np

    return np.array(list(values), dtype=np.int64)
