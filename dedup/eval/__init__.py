"""Evaluation against labels: the metrics, and the scoring of a run, for the CLI and ``scripts/``."""

from .metrics import adjusted_rand, bcubed, pair_counts, pairwise_prf, prf_counts, sweep

__all__ = ["adjusted_rand", "bcubed", "pair_counts", "pairwise_prf", "prf_counts", "sweep"]
