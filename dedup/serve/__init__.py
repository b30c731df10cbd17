"""``dedup serve``: the history index behind HTTP, and a page to browse it.

One module per job:

* :mod:`.engine`: the long-lived engine over a history index (add a batch, look up articles,
  groups and pairs); the only module that calls the flows;
* :mod:`.intake`: posted records → articles, with the file readers' field rules;
* :mod:`.texts`: the service's own store of the texts posted to it (the index keeps none);
* :mod:`.passages`: the passages two texts share, as character spans (for highlighting);
* :mod:`.models`: the request and response bodies (pydantic; they make the OpenAPI description);
* :mod:`.guard`: what a request passes before the app sees it (bearer token, body size);
* :mod:`.metrics`: counters and a latency histogram in the Prometheus text format;
* :mod:`.page`: the HTML of ``/`` (latest groups) and ``/pair`` (two articles side by side);
* :mod:`.app`: :func:`create_app`, the FastAPI app that wires them.

FastAPI and uvicorn come with the ``serve`` extra (``pip install 'dedup[serve]'``);
importing this package does not need them, :func:`create_app` does.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
