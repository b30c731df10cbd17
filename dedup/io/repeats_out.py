"""Write the outputs of ``dedup repeats``: relations, cleaned copies, per-article summaries.

* ``repeats.jsonl``: one line per repeat relation (paragraph ``i`` appears again in ``in``);
* ``cleaned.jsonl``: every article's original record with its text field replaced by
  the cleaned text (unchanged when nothing repeats), plus ``"repeats_removed"``;
* ``articles.jsonl``: per article, how many repeats of each kind and how much text is redundant;
* ``summary.json``: totals, parameters and timings (written last).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import RepeatsConfig
from ..errors import OutputError
from ..repeats import KINDS, ArticleRepeats, clean
from ..types import Article, BadRecord
from .writers import write_json, write_jsonl

__all__ = ["write_repeats_outputs"]


def write_repeats_outputs(
    out_dir: str | Path,
    articles: Sequence[Article],
    results: Sequence[ArticleRepeats],
    config: RepeatsConfig,
    inputs: list[str],
    seconds: float,
    bad_records: Sequence[BadRecord] = (),
) -> dict[str, Any]:
    """Write the four files atomically; returns the summary."""
    out = Path(out_dir)

    def relations():
        for art, res in zip(articles, results):
            for rep in res.repeats:
                yield rep.as_record(art.id)

    def cleaned():
        for art, res in zip(articles, results):
            record = dict(art.record)
            if res.n_repeats:
                record[art.text_key] = clean(art.text, res)
            record["repeats_removed"] = bool(res.n_repeats)
            yield record

    by_kind = dict.fromkeys(KINDS, 0)
    for res in results:
        for k, v in res.by_kind().items():
            by_kind[k] += v
    info = {
        "dedup_version": __version__,
        "inputs": inputs,
        "counts": {
            "articles": len(articles),
            "articles_with_repeats": sum(1 for r in results if r.n_repeats),
            "relations_by_kind": by_kind,
            "redundant_chars": sum(r.redundant_chars for r in results),
            "bad_records": len(bad_records),
        },
        "parameters": {"repeats": {k: getattr(config, k) for k in config.__dataclass_fields__ if k != "normalize"}},
        "seconds": round(seconds, 3),
        "bad_records": [{"path": b.path, "line": b.line, "reason": b.reason} for b in bad_records],
    }
    try:
        (out / "summary.json").unlink(missing_ok=True)
        write_jsonl(out / "repeats.jsonl", relations())
        write_jsonl(out / "cleaned.jsonl", cleaned())
        write_jsonl(out / "articles.jsonl", ({"id": a.id, **r.summary()} for a, r in zip(articles, results)))
        write_json(out / "summary.json", info)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the outputs ({exc.strerror or exc}); check the path and permissions") from exc
    return info
