"""Verification: exact scores of every candidate pair (:mod:`.scores`) and the decision that a pair is a copy."""

from .scores import (
    CONTAINED,
    EXACT,
    NEAR,
    NONE,
    RELATIONS,
    SHINGLE_COLUMNS,
    TOKEN_COLUMNS,
    FeatureSource,
    Idf,
    PairScores,
    count_matrix,
    decide,
    fit_idf,
    hashed_rows,
    score_pairs,
    shingle_matrix,
)

__all__ = [
    "CONTAINED",
    "EXACT",
    "NEAR",
    "NONE",
    "RELATIONS",
    "SHINGLE_COLUMNS",
    "TOKEN_COLUMNS",
    "FeatureSource",
    "Idf",
    "PairScores",
    "count_matrix",
    "decide",
    "fit_idf",
    "hashed_rows",
    "score_pairs",
    "shingle_matrix",
]
