"""What a request passes before the app sees it: the bearer token, then the body size (ASGI middleware).

Both answer with the service's JSON error body (:class:`~.models.ErrorOut`)
and tell ``on_reject`` the kind of error, for the metrics.

* :class:`BearerToken`: with a token, a request without ``Authorization:
  Bearer <token>`` gets 401 (compared in constant time), whatever its path.
  A browser cannot send a bearer token, so the pages would be closed to the
  editors they are for: a request may also carry the token as the password
  of HTTP Basic authentication (any user name), and a browser asking for a
  page (``Accept: text/html``) without it is answered with a Basic challenge
  and a short HTML page saying what to enter: the browser asks for them
  once and sends them with every later request to the service.
* :class:`BodyLimit`: a declared ``Content-Length`` over the limit gets 413
  before a byte is read; a body without one (chunked) is read up to the limit
  and gets 413 as soon as it goes over. The body read is handed on whole. A
  compressed body (``Content-Encoding: gzip``, ...) gets 415 before it is read:
  the app reads JSON text, and a compressed body was told to convert its
  "encoding" with iconv.
"""

from __future__ import annotations

import base64
import binascii
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

    def _given(self, header: bytes) -> bool:
        """Whether an ``Authorization`` header carries the token: as a bearer token, or as a Basic password."""
        scheme, _, value = header.strip().partition(b" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == b"basic":
            try:
                value = base64.b64decode(value, validate=True).partition(b":")[2]
            except (binascii.Error, ValueError):
                return False
        elif scheme != b"bearer":
            return False
        return hmac.compare_digest(value, self._token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        if not self._given(given):
            self.on_reject("unauthorized")
            accept = next((v for k, v in scope["headers"] if k == b"accept"), b"")
            if scope["method"] in ("GET", "HEAD") and b"text/html" in accept.lower():
                return await _ask_browser(send)
            return await _respond(send, 401, "unauthorized", "this service needs 'Authorization: Bearer <token>' "
                                  "with the token of its --token-file", [(b"www-authenticate", b'Bearer realm="dedup"')])
        await self.app(scope, receive, send)


_ASK = (b"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>dedup: token needed</title></head><body>"
        b"<h1>This service needs its token</h1><p>Sign in with any user name and, as the password, the token of the "
        b"service's <code>--token-file</code> (ask whoever runs it), then reload the page.</p></body></html>")


async def _ask_browser(send: Send) -> None:
    """401 with a Basic challenge (the browser asks for a user name and a password) and a page saying what to enter."""
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(_ASK)).encode()),
                            (b"www-authenticate", b'Basic realm="dedup", charset="UTF-8"'),
                            (b"content-security-policy", b"default-src 'none'"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": _ASK})


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
