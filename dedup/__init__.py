"""dedup: duplicate and near-duplicate news-story detection.

The public API, importable from ``dedup`` directly::

    from dedup import DedupConfig, dedupe, read_articles
    articles, bad = read_articles(["feed.jsonl"])
    result = dedupe(articles, DedupConfig())

Names are resolved lazily (PEP 562), so ``import dedup`` stays cheap: worker
processes that only need the text stages never load scikit-learn.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Article": "types",
    "BadRecord": "types",
    "ClusterConfig": "config",
    "ConfigError": "errors",
    "DedupConfig": "config",
    "DedupError": "errors",
    "DedupResult": "results",
    "IndexConfig": "config",
    "InputError": "errors",
    "InputFormatError": "errors",
    "InputNotFoundError": "errors",
    "MinHashConfig": "config",
    "NormalizeConfig": "config",
    "OutputError": "errors",
    "ReadConfig": "config",
    "Runtime": "runtime",
    "RepeatsConfig": "config",
    "ShingleConfig": "config",
    "StoriesConfig": "config",
    "VerifyConfig": "config",
    "clean": "repeats",
    "dedupe": "flows.dedupe",
    "find_repeats": "repeats",
    "normalize": "text.normalize",
    "read_articles": "io.readers",
    "similarity": "flows.similarity",
    "stories": "flows.stories",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dedup' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
