"""What a request passes before the app sees it: the bearer token, then the body size (ASGI middleware).

Both answer with the service's JSON error body (:class:`~.models.ErrorOut`)
and tell ``on_reject`` the kind of error, for the metrics.

* :class:`BearerToken`: with a token, a request without ``Authorization:
  Bearer <token>`` gets 401 (compared in constant time), whatever its path.
* :class:`BodyLimit`: a declared ``Content-Length`` over the limit gets 413
  before a byte is read; a body without one (chunked) is read up to the limit
  and gets 413 as soon as it goes over. The body read is handed on whole. A
  compressed body (``Content-Encoding: gzip``, ...) gets 415 before it is read:
  the app reads JSON text, and a compressed body was told to convert its
  "encoding" with iconv.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["BearerToken", "BodyLimit", "error_body"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def error_body(code: str, message: str, record: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON of every error response."""
    return {"error": code, "message": message, "record": record}


async def _respond(send: Send, status: int, code: str, message: str, headers: list[tuple[bytes, bytes]] = ()) -> None:  # type: ignore[assignment]
    body = json.dumps(error_body(code, message)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"), *headers]})
    await send({"type": "http.response.body", "body": body})


class BearerToken:
    def __init__(self, app: App, token: str, on_reject: Callable[[str], None] = lambda kind: None) -> None:
        self.app, self.on_reject = app, on_reject
        self._token = token.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        scheme, _, value = given.strip().partition(b" ")
        if not (hmac.compare_digest(value.strip(), self._token) and scheme.lower() == b"bearer"):
            self.on_reject("unauthorized")
            return await _respond(send, 401, "unauthorized", "this service needs 'Authorization: Bearer <token>' "
                                  "with the token of its --token-file", [(b"www-authenticate", b'Bearer realm="dedup"')])
        await self.app(scope, receive, send)


class BodyLimit:
    def __init__(self, app: App, max_bytes: int, on_reject: Callable[[str], None] = lambda kind: None) -> None:
        self.app, self.max_bytes, self.on_reject = app, max_bytes, on_reject

    async def _too_large(self, send: Send) -> None:
        self.on_reject("too_large")
        await _respond(send, 413, "too_large", f"the request body is over the limit of {self.max_bytes} bytes "
                       "(--max-body-mb); send fewer articles per request")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None:
            if not declared.strip().isdigit():
                self.on_reject("bad_request")
                return await _respond(send, 400, "bad_request", "the Content-Length header is not a number")
            if int(declared) > self.max_bytes:
                return await self._too_large(send)
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        coding = next((v for k, v in scope["headers"] if k == b"content-encoding"), b"").strip().lower()
        if coding not in (b"", b"identity"):
            self.on_reject("unsupported_encoding")
            return await _respond(send, 415, "unsupported_encoding", f"compressed request bodies are not accepted "
                                  f"(Content-Encoding: {coding.decode('latin-1')}): send the JSON uncompressed")
        media = next((v for k, v in scope["headers"] if k == b"content-type"), b"").split(b";")[0].strip().lower()
        if media and media != b"application/json" and not media.endswith(b"+json"):  # a form, text: not what is read
            self.on_reject("unsupported_media_type")
            return await _respond(send, 415, "unsupported_media_type", f"the body is read as JSON, and it says it is "
                                  f"{media.decode('latin-1')}: send it with Content-Type: application/json")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:  # a chunked body, or one longer than it said
                return await self._too_large(send)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
