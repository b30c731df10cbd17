"""Score a finished run against gold labels: pairwise P/R/F1, B-cubed and ARI, and the sweep."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import DedupConfig, ReadConfig
from ..settings import from_dict
from ..errors import ConfigError, InputFormatError
from ..io.gold import read_edges, read_gold, read_run, run_command, run_thresholds
from .metrics import adjusted_rand, bcubed, pair_counts, pairwise_prf, prf_counts, sweep

__all__ = ["evaluate_run", "run_config"]


def run_config(run_dir: str | Path) -> DedupConfig:
    """The duplicate-detection configuration a run used, from its ``summary.json``.

    Raises:
        InputFormatError: the run has no readable ``summary.json`` with a
            ``config.dedupe`` section (a run of an older version, or no run).
    """
    path = Path(run_dir) / "summary.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        section = data["config"]["dedupe"]
    except (OSError, ValueError, KeyError, TypeError):
        raise InputFormatError(
            "no configuration of the run found (summary.json with config.dedupe); rerun it with this version", str(path)
        ) from None
    return from_dict(DedupConfig, section, f"{path}: config.dedupe")


def evaluate_run(
    run_dir: str | Path,
    gold: str | Path,
    level: str | None = None,
    positive: Sequence[str] = ("DUP",),
    sweep_score: str | None = None,
    inputs: Sequence[str] = (),
    read_config: ReadConfig = ReadConfig(),
) -> dict[str, Any]:
    """The report of ``dedup eval``: how the run's clustering agrees with the gold labels.

    Labelled pairs give pairwise precision/recall/F1 of the clusters, and of a
    dedupe run's duplicate graph too (``pairwise_with_edges``: a pair is found
    when both share a group or ``pairs.jsonl`` holds a verified edge between
    them, as the trusted-copies measurement counts it) (and, with
    ``sweep_score``, the precision/recall curve of that score, measured with
    the run's own configuration on its ``inputs``); a cluster per article gives
    pairwise counts, B-cubed and the adjusted Rand index.
    """
    if not (Path(run_dir) / "summary.json").is_file():  # written last: without it the files may be half of a run
        raise InputFormatError("no summary.json: not a finished run of dedup dedupe or dedup stories (a run writes it "
                               "last; an interrupted run leaves none); give a run's --out folder, or run it again", str(run_dir))
    if level is None:  # the run's own clustering: a stories run's events, a dedupe run's duplicate groups
        level = "event" if run_command(run_dir) == "stories" else "group"
    kind, data = read_gold(gold, set(positive), read_config.storage_options, read_config.max_record_bytes)
    skipped: set[str] = set()  # articles the run did not compare (too short or too long): alone in their cluster
    pred = read_run(run_dir, level, skipped)
    cluster = {i: (c if c is not None else f"\x00{i}") for i, c in pred.items()}  # singletons: own cluster
    report: dict[str, Any] = {"run": str(run_dir), "gold": str(gold), "level": level, "kind": kind,
                              "thresholds": run_thresholds(run_dir, level), "warnings": []}
    if sweep_score is not None and kind == "clusters":  # a sweep scores labelled pairs: asked for, it was left out unsaid
        report["warnings"].append(f"--sweep {sweep_score}: the gold file holds a cluster per article, not labelled pairs: "
                                  "no sweep (it scores labelled pairs)")
    elif sweep_score is None and inputs:
        report["warnings"].append(f"--input ({', '.join(map(str, inputs))}) is read only with --sweep: left unread")
    if kind == "pairs":
        known = [(a, b, s) for a, b, s in data if a in cluster and b in cluster]  # type: ignore[union-attr]
        if not known:  # every score would read 1.0 over no pair at all
            raise InputFormatError(f"none of the {len(data)} labelled pairs has both articles in the run {run_dir}: "  # type: ignore[arg-type]
                                   "wrong gold file, or the run of another feed?", str(gold))
        report["positive"] = list(positive)
        report["pairs"] = len(known)
        report["pairs_same"] = sum(1 for _, _, s in known if s)  # labelled same (--positive): the copies to find
        report["pairs_not_in_run"] = len(data) - len(known)  # type: ignore[arg-type]
        if not report["pairs_same"]:  # recall over no copy to find: the scores say nothing of the copies found
            same_elsewhere = sum(1 for _, _, s in data if s) - report["pairs_same"]  # type: ignore[union-attr]
            report["warnings"].append(
                f"no gold pair counts as same (--positive {','.join(positive)}): precision and recall here say nothing "
                "of the copies found; is the label name right?" if not same_elsewhere else
                f"none of the {len(known)} labelled pairs scored counts as same (--positive {','.join(positive)}): the "
                f"{same_elsewhere} labelled same {'names' if same_elsewhere == 1 else 'name'} an article not in the run; "
                "precision and recall here say nothing of the copies found")
        if report["pairs_not_in_run"]:
            n = report["pairs_not_in_run"]
            report["warnings"].append(f"{n} of the {len(data)} labelled pairs {'names' if n == 1 else 'name'} an article "  # type: ignore[arg-type]
                                      "that is not in the run: left out of the scores")
        report["pairs_with_skipped"] = sum(1 for a, b, _ in known if a in skipped or b in skipped)
        if report["pairs_with_skipped"]:
            report["warnings"].append(_skipped_warning(report["pairs_with_skipped"], len(known), "pairs"))
        report["pairwise"] = pairwise_prf([cluster[a] == cluster[b] for a, b, _ in known], [s for _, _, s in known])
        edges = read_edges(run_dir) if level == "group" else None
        if edges is not None:  # the duplicate graph: one group, or a verified edge (a short item two roundups hold)
            report["pairwise_with_edges"] = pairwise_prf([cluster[a] == cluster[b] or (a, b) in edges for a, b, _ in known],
                                                         [s for _, _, s in known])
        if sweep_score is not None:
            report["sweep"], report["sweep_pairs"] = _sweep(run_dir, known, sweep_score, inputs, read_config)
            if report["sweep_pairs"] < len(known):
                report["warnings"].append(
                    f"--sweep: {len(known) - report['sweep_pairs']} of the {len(known)} labelled pairs of the run "
                    f"{'has' if len(known) - report['sweep_pairs'] == 1 else 'have'} an "
                    f"article that is not in --input ({', '.join(inputs)}): the sweep scores the other "
                    f"{report['sweep_pairs']} only; is --input the run's own feed?")
    else:
        ids = [i for i in data if i in cluster]  # type: ignore[union-attr]
        if not ids:
            raise InputFormatError(f"none of the {len(data)} articles of the gold clusters is in the run {run_dir}: "  # type: ignore[arg-type]
                                   "wrong gold file, or the run of another feed?", str(gold))
        g = {i: data[i] for i in ids}  # type: ignore[index]
        report["articles"] = len(ids)
        report["gold_clusters"] = len(set(g.values()))
        report["articles_not_in_run"] = len(data) - len(ids)  # type: ignore[arg-type]
        if report["articles_not_in_run"]:
            n = report["articles_not_in_run"]
            report["warnings"].append(f"{n} of the {len(data)} articles of the gold clusters "  # type: ignore[arg-type]
                                      f"{'is' if n == 1 else 'are'} not in the run: left out of the scores")
        if report["gold_clusters"] == len(ids):  # no two together: pairwise recall 1.0 over no pair to find
            report["warnings"].append(f"the gold clusters put no two of the {len(ids)} articles scored together: "
                                      "pairwise recall and B-cubed recall here say nothing of the copies found")
        report["articles_skipped"] = sum(1 for i in ids if i in skipped)
        if report["articles_skipped"]:
            report["warnings"].append(_skipped_warning(report["articles_skipped"], len(ids), "articles"))
        report["pairwise"] = prf_counts(*pair_counts(cluster, g))
        report["bcubed"] = bcubed([cluster[i] for i in ids], [g[i] for i in ids])
        report["ari"] = adjusted_rand([cluster[i] for i in ids], [g[i] for i in ids])
    return report


def _skipped_warning(n: int, of: int, kind: str) -> str:
    """The warning that ``n`` of the ``of`` labelled pairs or articles (``kind``) scored hold an article the run
    skipped, and how they count.

    >>> _skipped_warning(1, 3, "articles")
    '1 of the 3 articles scored was skipped by the run (not compared: empty, too short, too long or already in its index; its reason says which): alone in its cluster'
    """
    why = "not compared: empty, too short, too long or already in its index"
    if kind == "pairs":
        return (f"{n} of the {of} labelled pairs scored {'names' if n == 1 else 'name'} an article the run skipped ({why}; its reason says which): "
                "counted as apart, a miss when labelled same")
    return (f"{n} of the {of} articles scored {'was' if n == 1 else 'were'} skipped by the run ({why}; "
            f"{'its reason says' if n == 1 else 'their reasons say'} which): alone in {'its' if n == 1 else 'their'} "
            f"cluster{'' if n == 1 else 's'}")


def _sweep(run_dir: str | Path, known: list, score: str, inputs: Sequence[str], read_config: ReadConfig) -> tuple[list[dict], int]:
    """The sweep of ``score`` over the labelled pairs ``known`` found in ``inputs``, and how many of them were."""
    from ..flows.dedupe import score_articles
    from ..io.readers import read_articles

    if not inputs:
        raise ConfigError("--sweep needs the run's input feed: add --input FILE")
    config = run_config(run_dir)
    articles, _ = read_articles(list(inputs), read_config)
    pos = {a.id: i for i, a in enumerate(articles)}
    pairs = [(pos[a], pos[b], s) for a, b, s in known if a in pos and b in pos]
    if not pairs:
        raise ConfigError(f"--sweep: none of the {len(known)} labelled pairs of the run has both articles in --input "
                          f"({', '.join(inputs)}): give the run's own input feed")
    scores = score_articles(articles, np.array([[i, j] for i, j, _ in pairs], dtype=np.int64), config)
    values = getattr(scores, score)
    return sweep(values, [s for _, _, s in pairs], [round(t, 2) for t in np.arange(0.05, 1.0, 0.05)]), len(pairs)
