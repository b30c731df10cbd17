"""dedup.serve.guard: the bearer token and the body limit, as ASGI middleware called directly (no server)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from dedup.serve.guard import BearerToken, BodyLimit, error_body
from dedup.serve.models import ErrorOut


class _App:
    """An ASGI app that records that it ran and reads the whole body it is given."""

    def __init__(self) -> None:
        self.calls = 0
        self.body: bytes | None = None
        self.after: list[dict] = []

    async def __call__(self, scope, receive, send) -> None:
        self.calls += 1
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            self.body = b"".join(chunks)
            self.after.append(await receive())  # what comes after the body: the client's own messages
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _run(middleware, scope: dict, messages: list[dict] | None = None) -> tuple[dict[str, Any], list[int]]:
    """Call ``middleware``; the response (status, headers, body) and how many messages it received."""
    queue = list(messages or [{"type": "http.request", "body": b"", "more_body": False}]) + [{"type": "http.disconnect"}]
    received = [0]
    sent: list[dict] = []

    async def receive() -> dict:
        received[0] += 1
        return queue.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    response: dict[str, Any] = {}
    for m in sent:
        if m["type"] == "http.response.start":
            response["status"] = m["status"]
            response["headers"] = dict(m["headers"])
        else:
            response["body"] = response.get("body", b"") + m.get("body", b"")
    return response, received


def _scope(method: str = "GET", headers: list[tuple[bytes, bytes]] = (), path: str = "/v1/articles") -> dict:
    return {"type": "http", "method": method, "path": path, "headers": list(headers)}


def _json_error(response: dict) -> dict:
    assert response["headers"][b"content-type"] == b"application/json"
    assert int(response["headers"][b"content-length"]) == len(response["body"])
    assert response["headers"][b"connection"] == b"close"
    body = json.loads(response["body"])
    ErrorOut.model_validate(body)  # the service's one error shape
    return body


def test_error_body() -> None:
    assert error_body("not_found", "no such article") == {"error": "not_found", "message": "no such article", "record": None}
    assert error_body("x", "y", {"index": 2, "id": "a"})["record"] == {"index": 2, "id": "a"}


# ------------------------------------------------------------------ BearerToken


@pytest.mark.parametrize(
    "header",
    [b"Bearer s3cret", b"bearer s3cret", b"BEARER s3cret", b"  Bearer s3cret  ", b"Bearer   s3cret"],
    ids=["exact", "lower-case-scheme", "upper-case-scheme", "outer-spaces", "spaces-before-the-token"],
)
def test_the_token_lets_a_request_through(header: bytes) -> None:
    app, rejected = _App(), []
    response, _ = _run(BearerToken(app, "s3cret", rejected.append), _scope(headers=[(b"authorization", header)]))
    assert response["status"] == 200 and app.calls == 1 and rejected == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([], id="no-header"),
        pytest.param([(b"authorization", b"")], id="empty"),
        pytest.param([(b"authorization", b"Bearer")], id="no-token"),
        pytest.param([(b"authorization", b"Bearer wrong")], id="wrong-token"),
        pytest.param([(b"authorization", b"Bearer s3cre")], id="a-prefix-of-the-token"),
        pytest.param([(b"authorization", b"Bearer s3cret2")], id="the-token-and-more"),
        pytest.param([(b"authorization", b"Basic s3cret")], id="another-scheme"),
        pytest.param([(b"authorization", b"s3cret")], id="no-scheme"),
        pytest.param([(b"authorization", b"Bearers3cret")], id="no-space"),
        pytest.param([(b"x-token", b"Bearer s3cret")], id="another-header"),
        pytest.param([(b"authorization", b"Bearer wrong"), (b"authorization", b"Bearer s3cret")], id="the-first-header-counts"),
    ],
)
def test_without_the_token_401(headers: list) -> None:
    app, rejected = _App(), []
    response, _ = _run(BearerToken(app, "s3cret", rejected.append), _scope(headers=headers))
    assert response["status"] == 401 and app.calls == 0 and rejected == ["unauthorized"]
    assert response["headers"][b"www-authenticate"] == b'Bearer realm="dedup"'
    body = _json_error(response)
    assert body["error"] == "unauthorized" and "Authorization: Bearer <token>" in body["message"]


def _basic(user: bytes, password: bytes) -> bytes:
    import base64

    return b"Basic " + base64.b64encode(user + b":" + password)


@pytest.mark.parametrize("header", [_basic(b"editor", b"s3cret"), _basic(b"", b"s3cret"), _basic("محرر".encode(), b"s3cret"),
                                    b"basic " + _basic(b"x", b"s3cret")[6:]],
                         ids=["a-user", "no-user", "arabic-user", "lower-case-scheme"])
def test_a_browser_sends_the_token_as_the_basic_password(header: bytes) -> None:
    app, rejected = _App(), []
    response, _ = _run(BearerToken(app, "s3cret", rejected.append), _scope(headers=[(b"authorization", header)]))
    assert response["status"] == 200 and app.calls == 1 and rejected == []


@pytest.mark.parametrize("header", [_basic(b"s3cret", b""), _basic(b"x", b"wrong"), _basic(b"x", b"s3cret2"),
                                    b"Basic !!not-base64!!", b"Basic " + b"s3cret"], ids=["token-as-user", "wrong", "more", "not-base64", "raw"])
def test_a_wrong_basic_password_401(header: bytes) -> None:
    app = _App()
    response, _ = _run(BearerToken(app, "s3cret"), _scope(headers=[(b"authorization", header)]))
    assert response["status"] == 401 and app.calls == 0


def test_a_browser_asking_for_a_page_gets_a_basic_challenge_and_a_page_saying_what_to_enter() -> None:
    accept = (b"accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
    app, rejected = _App(), []
    response, _ = _run(BearerToken(app, "s3cret", rejected.append), _scope(path="/", headers=[accept]))
    assert response["status"] == 401 and app.calls == 0 and rejected == ["unauthorized"]
    assert response["headers"][b"www-authenticate"].startswith(b"Basic realm=")
    assert response["headers"][b"content-type"].startswith(b"text/html")
    assert b"--token-file" in response["body"] and b"password" in response["body"]
    api, _ = _run(BearerToken(_App(), "s3cret"), _scope(path="/v1/articles/x"))  # a client without Accept: text/html
    assert api["headers"][b"www-authenticate"] == b'Bearer realm="dedup"' and _json_error(api)["error"] == "unauthorized"


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/", "/docs"])
def test_every_path_needs_the_token(path: str) -> None:
    response, _ = _run(BearerToken(_App(), "s3cret"), _scope(path=path))
    assert response["status"] == 401


def test_a_non_ascii_token() -> None:
    app = _App()
    token = "مفتاح-سري"
    response, _ = _run(BearerToken(app, token), _scope(headers=[(b"authorization", b"Bearer " + token.encode("utf-8"))]))
    assert response["status"] == 200


def test_the_lifespan_is_not_guarded() -> None:
    app = _App()

    async def go() -> None:
        async def receive():
            return {"type": "lifespan.startup"}

        async def send(message):
            pass

        await BearerToken(app, "s3cret")({"type": "lifespan"}, receive, send)

    asyncio.run(go())
    assert app.calls == 1


# ------------------------------------------------------------------ BodyLimit


def _post(length: int | None = None, method: str = "POST") -> dict:
    headers = [(b"content-type", b"application/json")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return _scope(method, headers)


def _chunks(*parts: bytes) -> list[dict]:
    return [{"type": "http.request", "body": p, "more_body": k < len(parts) - 1} for k, p in enumerate(parts)]


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    app, rejected = _App(), []
    response, received = _run(BodyLimit(app, 10, rejected.append), _post(11), _chunks(b"x" * 11))
    assert response["status"] == 413 and received == [0] and app.calls == 0 and rejected == ["too_large"]
    body = _json_error(response)
    assert body["error"] == "too_large" and "over the limit of 10 bytes (--max-body-mb)" in body["message"]


def test_a_compressed_body_is_refused_before_reading() -> None:
    app, rejected = _App(), []
    scope = {**_post(4), "headers": [*_post(4)["headers"], (b"content-encoding", b"GZIP ")]}
    response, received = _run(BodyLimit(app, 10, rejected.append), scope, _chunks(b"x" * 4))
    assert response["status"] == 415 and received == [0] and app.calls == 0 and rejected == ["unsupported_encoding"]
    assert "(Content-Encoding: gzip)" in _json_error(response)["message"]
    identity = {**_post(4), "headers": [*_post(4)["headers"], (b"content-encoding", b"identity")]}
    assert _run(BodyLimit(app, 10), identity, _chunks(b"x" * 4))[0]["status"] == 200


def test_a_body_of_exactly_the_limit_is_handed_on_whole() -> None:
    app = _App()
    response, _ = _run(BodyLimit(app, 10), _post(10), _chunks(b"12345", b"67890"))
    assert response["status"] == 200 and app.body == b"1234567890"
    assert app.after == [{"type": "http.disconnect"}]  # after the replayed body, the client's own messages


def test_a_chunked_body_is_refused_as_soon_as_it_goes_over() -> None:
    app, rejected = _App(), []
    response, received = _run(BodyLimit(app, 10, rejected.append), _post(None), _chunks(b"1234", b"5678", b"9abc", b"defg"))
    assert response["status"] == 413 and received == [3] and app.calls == 0 and rejected == ["too_large"]


def test_a_body_longer_than_it_said_is_refused() -> None:
    app = _App()
    response, _ = _run(BodyLimit(app, 10), _post(4), _chunks(b"1234", b"5678901"))
    assert response["status"] == 413 and app.calls == 0


def test_a_chunked_body_under_the_limit() -> None:
    app = _App()
    response, _ = _run(BodyLimit(app, 100), _post(None, "PUT"), _chunks(b"[", b"", b'{"id": "a"}', b"]"))
    assert response["status"] == 200 and app.body == b'[{"id": "a"}]'


@pytest.mark.parametrize("value", [b"ten", b"-1", b"1e3", b"", b"0x10"])
def test_a_content_length_that_is_not_a_number(value: bytes) -> None:
    app, rejected = _App(), []
    response, _ = _run(BodyLimit(app, 10, rejected.append), _scope("POST", [(b"content-length", value)]))
    assert response["status"] == 400 and app.calls == 0 and rejected == ["bad_request"]
    assert _json_error(response) == {"error": "bad_request", "message": "the Content-Length header is not a number", "record": None}


def test_a_get_is_passed_without_reading_its_body() -> None:
    app = _App()
    response, received = _run(BodyLimit(app, 10), _scope("GET"))
    assert response["status"] == 200 and app.calls == 1 and received == [0]


def test_a_get_that_declares_a_large_body_is_refused_too() -> None:
    response, _ = _run(BodyLimit(_App(), 10), _scope("GET", [(b"content-length", b"11")]))
    assert response["status"] == 413


def test_a_client_that_leaves_while_sending_gets_nothing() -> None:
    app = _App()
    response, _ = _run(BodyLimit(app, 100), _post(None), [{"type": "http.request", "body": b"12", "more_body": True}])
    assert response == {} and app.calls == 0  # the queue then says http.disconnect


def test_a_body_of_another_media_type_is_refused_before_reading() -> None:
    """Content-Type: text/plain (or curl's default form type) got a 422 about the records, not about the type."""
    app, rejected = _App(), []
    for media in (b"text/plain", b"application/x-www-form-urlencoded"):
        scope = {**_post(4), "headers": [(b"content-type", media), (b"content-length", b"4")]}
        response, received = _run(BodyLimit(app, 10, rejected.append), scope, _chunks(b"x" * 4))
        assert response["status"] == 415 and received == [0] and app.calls == 0
        assert "Content-Type: application/json" in _json_error(response)["message"]
    assert rejected == ["unsupported_media_type"] * 2
    for media in (b"application/json; charset=utf-8", b"application/vnd.api+json"):
        scope = {**_post(4), "headers": [(b"content-type", media), (b"content-length", b"4")]}
        assert _run(BodyLimit(app, 10), scope, _chunks(b"x" * 4))[0]["status"] == 200
