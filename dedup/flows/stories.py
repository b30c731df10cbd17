"""The stories flow: duplicate groups, then events and storylines around them.

    dedupe → normalize (bodies without per-source boilerplate, headlines;
    mojibake and HTML entities repaired first) → stories (vectors,
    neighbours, events, storylines)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..cluster.groups import copy_groups
from ..config import DedupConfig, StoriesConfig
from ..exec import LocalExecutor
from ..results import Progress, StoriesResult
from ..runtime import Runtime
from ..stories import find_stories
from ..text.mojibake import repair_text
from ..text.normalize import normalize_batch
from ..types import Article, timestamp
from .dedupe import dedupe
from .prepare import normalized_lines, without_boilerplate
from .timer import StageTimer

__all__ = ["stories"]


def stories(
    articles: Sequence[Article],
    config: StoriesConfig | None = None,
    dedup_config: DedupConfig = DedupConfig(),
    progress: Progress | None = None,
    runtime: Runtime = Runtime(),
) -> StoriesResult:
    """Group a feed into events (with their duplicate groups) and storylines.

    Stages: dedupe (duplicate groups, joined along the verified copy edges) → normalize (bodies without per-source
    boilerplate, headlines; mojibake and HTML entities repaired first) → stories (vectors,
    neighbours, event and storyline clustering).

    Args:
        articles: the feed, in input order.
        config: events and storylines settings (default ``StoriesConfig()``).
        dedup_config: settings of the duplicate detection whose groups nest in events.
        progress: optional callback for long stages.
        runtime: how to run the duplicate detection (events and storylines
            run in this process).

    Returns:
        A :class:`StoriesResult` with one event and storyline per article.
    """
    from ..text.mojibake import repair_text
    from ..stories import find_stories

    config = config if config is not None else StoriesConfig()
    articles = list(articles)
    timer = StageTimer()
    with timer("dedupe"):
        dup = dedupe(articles, dedup_config, progress=progress, runtime=runtime)
    with timer("normalize"):
        bodies = normalized_lines(repair_text([a.text for a in articles]), config.normalize, LocalExecutor(1), len(articles) or 1)
        texts, _, _ = without_boilerplate(bodies, [a.source for a in articles], dedup_config)
        titles = [" ".join(ls) for ls in normalize_batch(repair_text([a.title for a in articles]), config.normalize)]
        times = np.array([timestamp(a.date) for a in articles], dtype=np.float64)
        del bodies
    with timer("stories"):
        copies = copy_groups(dup.group, dup.pairs, dup.pair_relation, dup.pair_scores.contain_ij, dup.pair_scores.contain_ji)
        found = find_stories(texts, titles, times, config, groups=copies, progress=progress)
    timings = {f"dedupe.{k}": v for k, v in dup.timings.items()} | dict(timer.seconds)
    return StoriesResult(
        articles=articles,
        dedup=dup,
        event=found.event,
        storyline=found.storyline,
        representative=found.representative,
        pairs=found.pairs,
        scores=found.scores,
        timings=timings,
        config=config,
    )
