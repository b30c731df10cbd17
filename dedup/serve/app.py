"""The FastAPI app of ``dedup serve``: routes over an :class:`~.engine.Engine`, errors as JSON, limits, metrics.

Routes (the OpenAPI description at ``/openapi.json`` is generated from them
and from :mod:`.models`; the interactive docs pages are off, as they load
scripts from a CDN):

* ``POST /v1/articles``: a JSON array of records → one decision per article;
  the articles are added to the index (all of them, or none when a record is bad);
* ``GET /v1/articles/{id}``, ``GET /v1/groups/{group}``, ``GET /v1/events/{event}``: what the index holds;
* ``POST /v1/similarity``: two texts → the ``dedup similarity`` fields;
* ``GET /healthz``, ``GET /metrics`` (Prometheus text);
* ``GET /`` and ``GET /pair?a=ID&b=ID``: the pages (:mod:`.page`).

Ids may contain slashes (URLs are common ids): the id is the rest of the path,
percent-encoded or not. Every error is an :class:`~.models.ErrorOut`.
Middleware, outermost first: metrics, the bearer token, the body limit
(:mod:`.guard`), HEAD answered as GET without the body.
"""

from __future__ import annotations

import json
import re
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from .. import __version__
from ..io.readers.records import _SURROGATE
from ..store.index import ArticleRecord, HistoryError, iso_time
from ..types import timestamp
from .engine import Engine, Stopping, TooManyArticles
from .guard import BearerToken, BodyLimit, error_body
from .intake import RecordError, _record_id, read_records, warnings_of
from .metrics import Metrics
from .models import ArticleIn, Decision, ErrorOut, EventOut, GroupOut, Health, SimilarityIn, SimilarityOut, StoredArticle
from .page import MAX_LIMIT, render_event, render_groups, render_not_found, render_pair, render_pruned_keeper
from .passages import shared_passages

logger = logging.getLogger(__name__)

__all__ = ["create_app"]

# the record fields that take a string or a number (models.Id, models.Scalar)
_SCALARS = frozenset(("id", "url", "title", "headline", "date", "published", "date_publish", "date_extracted", "source",
                      "source_domain"))

_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_PAGES = {"/": "/?limit=N shows the latest N groups, 1 to 200", "/pair": "/pair?a=ID&b=ID shows two articles side by side",
          "/event": "/event?e=ID shows an event and its reports (limit=N: its first N, 1 to 10000)"}
_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


class _JSON(JSONResponse):
    """JSON that a lone surrogate cannot break: an error quotes what was posted (a record's id may hold one, from a
    JSON escape such as ``\\ud800``), which UTF-8 cannot encode; such a body is written in ASCII escapes instead."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def _err(status: int, code: str, message: str, record: dict[str, Any] | None = None, headers: Any = None) -> JSONResponse:
    return _JSON(error_body(code, message, record), status_code=status, headers=headers)


def _unavailable_errors() -> list[type[BaseException]]:
    """The errors of an index that cannot be used right now (a 503): SQLite locked, read-only or its disk failing, the
    Redis server gone. Handled as errors the service understands (one log line); any other exception is a bug."""
    kinds: list[type[BaseException]] = [HistoryError, sqlite3.OperationalError]
    try:
        import redis
    except ImportError:  # no Redis index without it
        return kinds
    return [*kinds, redis.exceptions.RedisError]


class _Measure:
    """Outermost middleware: every response counted and timed under its route template."""

    def __init__(self, app: Any, metrics: Metrics, routes: Any) -> None:
        self.app, self.metrics, self.routes = app, metrics, routes

    def _endpoint(self, scope: dict[str, Any]) -> str:
        if scope.get("method") == "HEAD":  # answered as GET (_Head): counted under the GET route's template
            scope = {**scope, "method": "GET"}
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return getattr(route, "path_format", None) or getattr(route, "path", "other")
        return "unmatched"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), [500]

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.observe(self._endpoint(scope), scope["method"], status[0], time.perf_counter() - start)


class _Head:
    """HEAD is GET without the body (uptime monitors use it): the route answers as to a GET, the headers go out
    (Content-Length included), the body does not. FastAPI routes answer HEAD 405 otherwise."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def headers_only(message: Any) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def _stored(rec: ArticleRecord, keeper: tuple[str | None, bool], known: tuple[str, str] | None,
            held: Mapping[int, list[str]], story: tuple[str, str | None] | None) -> dict[str, Any]:
    """A stored record as ``dedup index export`` gives it, with its title and text; ``keeper``: the id of its keeper
    and whether it was pruned (:func:`~.views.keeper_ref`), a duplicate's named as ``duplicate_of`` with ``keeper_pruned``;
    ``held``: :meth:`~.engine.Engine.contained_in`; ``story``: its event and storyline, when tracked."""
    keeper_id, pruned = keeper
    return {**rec.to_json(keeper_id, said=True, keeper_pruned=pruned), "keeper_pruned": pruned,
            "contained_in": held.get(rec.rep, []) if rec.rep >= 0 else [],
            "title": None if known is None else known[0], "text": None if known is None else known[1]} | (
        {} if story is None else {"event": story[0], "storyline": story[1]})


def create_app(engine: Engine, *, token: str | None = None, max_body_bytes: int = 32 << 20,
               metrics: Metrics | None = None) -> FastAPI:
    """The app over ``engine``.

    Args:
        engine: the index and its text store (closed when the app shuts down).
        token: when given, every request needs ``Authorization: Bearer <token>`` (else 401).
        max_body_bytes: a larger request body gets 413.
        metrics: where to count (a new :class:`~.metrics.Metrics` by default).
    """
    metrics = metrics if metrics is not None else Metrics()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        engine.warm_up()  # before the first request is accepted: it would wait for the imports, and the others behind it
        yield
        await run_in_threadpool(engine.close)  # waits for the batch under way (its run and texts), which a thread holds

    errors: dict[int | str, dict[str, Any]] = {422: {"model": ErrorOut, "description": "A record is bad (named by its index and id)."},
                                               413: {"model": ErrorOut, "description": f"The body is over {max_body_bytes} bytes, or the batch over {engine.max_batch} articles."},
                                               400: {"model": ErrorOut, "description": "The body is not valid JSON."},
                                               415: {"model": ErrorOut, "description": "The body is compressed (Content-Encoding)."}}
    if token is not None:
        errors[401] = {"model": ErrorOut, "description": "No or wrong 'Authorization: Bearer <token>'."}
    app = FastAPI(
        title="dedup", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
        description="Duplicate and near-duplicate news articles against a history index: post a batch, get one "
                    f"decision per article. Request bodies are limited to {max_body_bytes} bytes."
                    + (" Every request needs `Authorization: Bearer <token>`." if token is not None else ""),
        dependencies=[Security(HTTPBearer(auto_error=False))] if token is not None else [],
        # on every route, also those that answer HTML or text: the errors are JSON all the same
        responses={k: {"description": v, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
                   for k, v in ((401, errors.get(401, {}).get("description")), (422, "A bad body or parameter.")) if v},
    )

    # --- errors as JSON -------------------------------------------------------------

    @app.exception_handler(RecordError)
    async def bad_record(_: Request, exc: RecordError) -> JSONResponse:
        metrics.error("invalid_record")
        return _err(422, "invalid_record", str(exc), {"index": exc.index, "id": exc.record_id})

    @app.exception_handler(Stopping)
    async def stopping(_: Request, exc: Stopping) -> JSONResponse:
        metrics.error("stopping")
        return _err(503, "stopping", str(exc), headers={"Retry-After": "5", "Connection": "close"})

    @app.exception_handler(TooManyArticles)
    async def too_many(_: Request, exc: TooManyArticles) -> JSONResponse:
        metrics.error("too_large")
        return _err(413, "too_large", str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = exc.errors()
        bad_json = next((p for p in problems if p.get("type") == "json_invalid"), None)
        if bad_json is not None:
            metrics.error("bad_json")
            where = bad_json["loc"][-1] if bad_json.get("loc") else "?"
            reason = (bad_json.get("ctx") or {}).get("error", "JSON decode error")
            reason = re.sub(r"\s+at$", "", reason)  # json's "Unterminated string starting at" + ours: "at at"
            return _err(400, "bad_json", f"the body is not valid JSON: {reason} at character {where}")
        first = problems[0] if problems else {"loc": (), "msg": "invalid"}
        where = list(first.get("loc", ()))
        if where and where[0] in ("query", "path"):  # the address, not the body: a page answers a page
            metrics.error("invalid_parameter")
            message = f"the {where[0]} parameter {'.'.join(map(str, where[1:]))!r}: {first['msg']}"
            if request.url.path in _PAGES:
                return HTMLResponse(render_not_found(message + f" ({_PAGES[request.url.path]})", "bad address"),
                                    status_code=422, headers=_PAGE_HEADERS)
            return _err(422, "invalid_parameter", message)
        loc = where[1:]
        body = exc.body
        if loc and isinstance(loc[0], int) and isinstance(body, list) and loc[0] < len(body):
            metrics.error("invalid_record")
            rid = _record_id(body[loc[0]])
            field = f"the field {loc[1]!r}: " if len(loc) > 1 else ""
            named = f" (id {rid!r})" if rid is not None else ""
            msg = first["msg"]
            if len(loc) > 1 and loc[1] in _SCALARS:  # the union's first member's words ("a valid string") misled
                got = first.get("input")
                kind = {bool: "a boolean", dict: "an object", list: "an array"}.get(type(got), f"a {type(got).__name__}")
                msg = f"must be a string or a number, got {kind}"
            return _err(422, "invalid_record", f"records[{loc[0]}]{named}: {field}{msg}", {"index": loc[0], "id": rid})
        pair = request.url.path.endswith("/similarity")
        expected = "an object {text1, text2} (title1, title2 optional)" if pair else "an array of article records"
        metrics.error("invalid_body")
        if isinstance(body, (bytes, str)):
            return _err(422, "invalid_body", "the body must be JSON (Content-Type: application/json): "
                        f"{expected if not loc else first['msg']}")
        if not loc:  # JSON, but not an array: a single record, say
            got = {dict: "an object", list: "an array", type(None): "nothing"}.get(type(body), f"a {type(body).__name__}")
            hint = " (one record goes in an array too: [{...}])" if isinstance(body, dict) and not pair else ""
            return _err(422, "invalid_body", f"the body must be {expected}, got {got}{hint}")
        return _err(422, "invalid_body", f"{'.'.join(map(str, loc))}: {first['msg']}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        metrics.error(code)
        detail = str(exc.detail)
        if exc.status_code == 400 and detail == "There was an error parsing the body":  # FastAPI's words for any cause
            if isinstance(exc.__cause__, UnicodeDecodeError):
                detail = "the body could not be read as JSON text: send UTF-8 (e.g. iconv -f WINDOWS-1256 -t UTF-8 first)"
            elif isinstance(exc.__cause__, RecursionError):
                detail = "the body is JSON nested too deeply to read"
        return _err(exc.status_code, code, detail, headers=exc.headers)

    async def unavailable(request: Request, exc: Exception) -> Any:
        metrics.error("index_unavailable")
        logger.error("request failed: %s: %s", type(exc).__name__, exc)  # understood: one line, no traceback
        message = f"the index cannot be used right now ({type(exc).__name__}: {exc})"
        if request.url.path in _PAGES:  # an editor's browser: a page that says so, not a JSON body
            return HTMLResponse(render_not_found(message + "; reload the page once it is back", "index unavailable"),
                                status_code=503, headers=_PAGE_HEADERS)
        return _err(503, "index_unavailable", message)

    for kind in _unavailable_errors():  # handled by the exception middleware, which answers and is done
        app.add_exception_handler(kind, unavailable)

    @app.exception_handler(Exception)
    async def failed(_: Request, exc: Exception) -> JSONResponse:
        # Starlette's outermost middleware answers with this, then re-raises: uvicorn logs the traceback of the bug
        metrics.error("internal")
        logger.error("request failed: %s: %s", type(exc).__name__, exc)
        return _err(500, "internal", f"{type(exc).__name__}: the request failed; nothing of it was added")

    def not_found(message: str) -> JSONResponse:
        metrics.error("not_found")
        return _err(404, "not_found", message)

    # --- the API ----------------------------------------------------------------------

    @app.post("/v1/articles", response_model=list[Decision], response_model_exclude_unset=True,
              responses={k: v for k, v in errors.items() if k != 401}, summary="Decide a batch and add it to the index")
    def post_articles(records: list[ArticleIn]) -> Any:
        """One decision per article, in order, with the fields of ``decisions.jsonl``.

        The batch is compared within itself and with the index, then added in
        one transaction: all of it, or (on any error) none. Posting an id that
        is already in the index is a decision, not an error: ``skipped``,
        "already in the index". Batches are decided one at a time, first come
        first decided (with ``--coalesce``, those waiting together in one run).
        """
        articles = read_records([r.model_dump(exclude_unset=True) for r in records])
        rows = engine.add(articles)
        for article, row in zip(articles, rows):  # not for an id the index holds: its stored record stands
            if not row["reason"].startswith("skipped: already in the index") and (warned := warnings_of(article)):
                row["warnings"] = warned
        metrics.indexed(sum(not r["reason"].startswith("skipped: already in the index") for r in rows))
        for status in ("kept", "duplicate", "skipped"):
            metrics.decided(status, sum(r["status"] == status for r in rows))
        return rows

    @app.get("/v1/articles/{article_id:path}", response_model=StoredArticle,
             responses={404: {"model": ErrorOut, "description": "No article with this id in the index."}},
             summary="An article as the index holds it")
    def get_article(article_id: str) -> Any:
        with engine.reading():  # the record, its keeper, containers and event of one state of the index
            found = engine.article(article_id)
            if found is None:
                return not_found(f"no article {article_id!r} in the index")
            rec, keeper_id, pruned = found
            held, story = engine.contained_in([rec]), engine.stories_of([rec.id]).get(rec.id)
        return _stored(rec, (keeper_id, pruned), engine.texts.get([rec.id]).get(rec.id), held, story)

    @app.get("/v1/events/{event:path}", response_model=EventOut,
             responses={404: {"model": ErrorOut, "description": "No tracked article is in this event."}},
             summary="An event tracked by dedup stories --index: its reports")
    def get_event(event: str, limit: int = Query(100, ge=1, le=10_000)) -> Any:
        found = engine.event(event, limit)
        if found is None:
            return not_found(f"no event {event!r} in the index (an event is named after its first report's id; events "
                             "are tracked by `dedup stories --index`, and one merged into another goes by the other's id)")
        return {"event": found["event"], "label": found["label"], "size": found["size"], "sources": found["sources"],
                "first_date": iso_time(found["first"]), "last_date": iso_time(found["last"]), "members": found["members"]}

    @app.get("/v1/groups/{group:path}", response_model=GroupOut,
             responses={404: {"model": ErrorOut, "description": "No group of this name in the index."}},
             summary="A duplicate group: members, keeper, pair scores")
    def get_group(group: str) -> Any:
        with engine.reading():  # the members, their edges, containers and events of one state of the index
            view = engine.group(group)
            if view is None:
                return not_found(f"no group {group!r} in the index (a group is named after its first member's id)")
            held, stories = engine.contained_in(view.members), engine.stories_of([m.id for m in view.members])
        members = [_stored(m, view.keeper_named(m), None, held, stories.get(m.id)) | ({"group": view.name} if m.group is None else {})
                   for m in view.members]  # a keeper stored alone, joined later: its record says no group
        return {"group": view.name, "keeper": view.keeper_id, "keeper_pruned": view.keeper is None, "size": len(members),
                "members": members, "pairs": view.pairs}

    @app.post("/v1/similarity", response_model=SimilarityOut, summary="Score two texts as dedup similarity does",
              responses={k: v for k, v in errors.items() if k in (400, 413, 415)})
    def post_similarity(pair: SimilarityIn) -> Any:
        for name in ("text1", "text2", "title1", "title2"):  # the normalizer cannot read one: a bad body, not a failure
            bad = _SURROGATE.search(getattr(pair, name))
            if bad is not None:
                metrics.error("invalid_body")
                return _err(422, "invalid_body", f"the field {name!r} holds a lone surrogate (\\u{ord(bad.group()):04x} at "
                            f"character {bad.start()}): not valid Unicode text")
        for name in ("date1", "date2"):
            value = getattr(pair, name)
            if value and timestamp(value) != timestamp(value):
                metrics.error("invalid_body")
                return _err(422, "invalid_body", f"the field {name!r} is not an ISO-8601 date ({value[:40]!r}); give e.g. "
                            '"2024-03-01" or "2024-03-01T09:00:00Z", or leave it out')
        return engine.similarity(pair.text1, pair.text2, pair.title1, pair.title2, (timestamp(pair.date1), timestamp(pair.date2)),
                                 (pair.source1, pair.source2))

    @app.get("/healthz", response_model=Health, responses={503: {"model": ErrorOut}}, summary="Is the index reachable")
    def healthz() -> Any:
        return {"status": "ok", "location": engine.location, "next_row": engine.next_row()}

    @app.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics (text format 0.0.4)")
    def get_metrics() -> PlainTextResponse:
        placer = engine.placer
        placed = None if placer is None else (placer.placed, placer.given_up)
        return PlainTextResponse(metrics.render(runs=(engine.runs, engine.batches), placed=placed),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    # --- the pages ----------------------------------------------------------------------

    bad_address = {422: {"description": "A bad query parameter (an HTML page).", "content": {"text/html": {}}}}

    @app.get("/", response_class=HTMLResponse, summary="The latest duplicate groups (HTML)", responses=bad_address)
    def index_page(limit: int = Query(20, ge=1, le=MAX_LIMIT)) -> HTMLResponse:
        with engine.reading():  # the groups, events and count of one state of the index (a page's reads, no longer)
            groups = engine.latest_groups(limit)
            titles = engine.headlines([g.keeper.id for g in groups if g.keeper is not None])
            events = engine.latest_events(min(3 * limit, 60))  # single reports take a line each (render_groups)
            count = engine.article_count()
        return HTMLResponse(render_groups(groups, titles, engine.location, count, events, boxes=limit),
                            headers=_PAGE_HEADERS)

    @app.get("/pair", response_class=HTMLResponse, summary="Two articles side by side, shared passages marked (HTML)",
             responses={404: {"description": "Either article is not in the index (an HTML page).", "content": {"text/html": {}}},
                        **bad_address})
    def pair_page(a: str = Query(..., description="An article id."), b: str = Query(..., description="Another article id.")) -> HTMLResponse:
        view = engine.pair(a, b)
        if view is None:
            metrics.error("not_found")
            for gone, other in ((a, b), (b, a)):  # a copy and its keeper since pruned: say so (was "not in the index")
                found = engine.article(other) if gone != other else None
                if found is not None and found[2] and found[1] == gone:
                    return HTMLResponse(render_pruned_keeper(gone, found[0]), status_code=404, headers=_PAGE_HEADERS)
            missing = [x for x in dict.fromkeys((a, b)) if engine.article(x) is None] or [a, b]  # the one(s) to name
            message = f"{missing[0]!r} is not in the index" if len(missing) == 1 else f"neither {a!r} nor {b!r} is in the index"
            return HTMLResponse(render_not_found(message), status_code=404, headers=_PAGE_HEADERS)
        spans: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])
        if a in view.texts and b in view.texts:
            spans = shared_passages(view.texts[a][1], view.texts[b][1], config=engine.config.normalize)
        return HTMLResponse(render_pair(view, spans), headers=_PAGE_HEADERS)

    @app.get("/event", response_class=HTMLResponse, summary="One tracked event and its reports (HTML)",
             responses={404: {"description": "No tracked article is in this event (an HTML page).", "content": {"text/html": {}}},
                        **bad_address})
    def event_page(e: str = Query(..., description="An event id (its first report's id)."),
                   limit: int = Query(1000, ge=1, le=10_000)) -> HTMLResponse:
        found = engine.event(e, limit)
        if found is None:
            metrics.error("not_found")
            return HTMLResponse(render_not_found(f"no event {e!r} in the index (events are tracked by dedup stories --index "
                                                 "or dedup serve --stories-every)"), status_code=404, headers=_PAGE_HEADERS)
        return HTMLResponse(render_event(found), headers=_PAGE_HEADERS)

    app.state.engine, app.state.metrics = engine, metrics
    # Middleware, innermost first: HEAD as GET, the body limit, the token, then the metrics around everything.
    app.add_middleware(_Head)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes, on_reject=metrics.error)
    if token is not None:
        app.add_middleware(BearerToken, token=token, on_reject=metrics.error)
    app.add_middleware(_Measure, metrics=metrics, routes=app.router.routes)
    return app
