"""The repeats flow: each article's internally repeated paragraphs, as the feed streams by."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence

from ..config import RepeatsConfig
from ..exec import Executor, LocalExecutor, batches
from ..repeats import ArticleRepeats, find_repeats_batch
from ..types import Article

__all__ = ["find_repeats_feed", "repeats_stream"]


def repeats_stream(
    articles: Iterable[Article],
    config: RepeatsConfig,
    executor: Executor | None = None,
    chunk_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[Article, ArticleRepeats]]:
    """Each article with its internally repeated paragraphs, in input order, as the feed streams by.

    Articles are independent, so the feed is taken ``chunk_size`` articles at
    a time and the chunks go through ``executor`` (default: this process);
    only the chunks in flight are held (the texts of a feed larger than
    memory pass through).
    """
    executor = executor if executor is not None else LocalExecutor(1)
    waiting: deque[list[Article]] = deque()

    def tasks() -> Iterator[tuple[list[str]]]:
        for batch in batches(articles, chunk_size):
            waiting.append(batch)
            yield ([a.text for a in batch],)

    for results in executor.imap(find_repeats_batch, tasks(), config=config):
        batch = waiting.popleft()
        yield from zip(batch, results, strict=True)
        if progress is not None:
            progress(len(batch))


def find_repeats_feed(
    texts: Sequence[str],
    config: RepeatsConfig,
    executor: Executor | None = None,
    chunk_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> list[ArticleRepeats]:
    """Internally repeated paragraphs of every text, in chunks through ``executor``."""
    executor = executor if executor is not None else LocalExecutor(1)
    chunks = executor.map_chunks(find_repeats_batch, list(texts), chunk_size=chunk_size, progress=progress, config=config)
    return [r for chunk in chunks for r in chunk]
