"""The job of ``dedup explain-params``: the LSH band layout datasketch picks, and what it costs in errors."""

from __future__ import annotations

from typing import Any

from ..config import IndexConfig, MinHashConfig
from ..errors import ConfigError

__all__ = ["lsh_params"]

# the names the configs' errors give the settings → this command's options for them
_OPTIONS = {"LSH threshold": "--threshold", "num_perm": "--num-perm", "fp_weight": "--fp-weight"}


def lsh_params(threshold: float = IndexConfig.threshold, num_perm: int = MinHashConfig.num_perm,
               fp_weight: float = IndexConfig.fp_weight) -> dict[str, Any]:
    """The bands and rows for a Jaccard ``threshold``, their error rates and the S-curve.

    Returns:
        ``threshold``, ``num_perm``, ``bands``, ``rows``, ``false_positive`` and
        ``false_negative`` (datasketch's integrated S-curve below and above the
        threshold), ``s_curve``: ``(jaccard, probability that the bands make a pair a candidate)``, and
        ``min_estimate``: the default screen of every candidate, the bands' and the anchors' alike.

    Raises:
        ConfigError: a value the configs refuse (the same checks as a run's).
    """
    from ..candidates.banding import band_params, lsh_error_rates, s_curve

    try:  # validated as a run would
        IndexConfig(threshold=threshold, fp_weight=fp_weight), MinHashConfig(num_perm=num_perm)
    except ConfigError as exc:  # the config's name of the setting, and this command's option for it
        message = str(exc)
        name = next((n for n in _OPTIONS if message.startswith(n)), None)
        raise ConfigError(message if name is None else f"{name} ({_OPTIONS[name]}){message[len(name):]}") from None
    try:
        b, r = band_params(threshold, num_perm, fp_weight)
    except ConfigError as exc:  # its advice names a run's options; this command's threshold is --threshold
        raise ConfigError(str(exc).replace("--lsh-threshold", "--threshold")) from None
    fp, fn = lsh_error_rates(threshold, b, r)
    return {"threshold": threshold, "num_perm": num_perm, "bands": b, "rows": r, "false_positive": fp, "false_negative": fn,
            "s_curve": s_curve(b, r), "min_estimate": IndexConfig.min_estimate}
