"""Log records of one module in ``caplog``, whatever a CLI test left on the ``dedup`` logger."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def captured(name: str, level: int, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The records of the logger ``name`` go to ``caplog`` for the block.

    ``dedup.io.console.logging_to_stderr`` (the CLI's) stops ``dedup`` records from propagating, so the
    handler goes on the module's logger itself.
    """
    logger = logging.getLogger(name)
    saved = logger.handlers[:], logger.level, logger.propagate
    logger.handlers[:] = [caplog.handler]
    logger.setLevel(level)
    logger.propagate = False
    try:
        yield
    finally:
        logger.handlers[:], logger.propagate = saved[0], saved[2]
        logger.setLevel(saved[1])
