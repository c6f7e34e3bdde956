"""Interpretable knowledge from a fitted predictor: module scores and feature importance.

:class:`Scorer` is the one interface through which a predictor (:func:`as_scorer` wraps it
in a :class:`PredictorScorer`) and an ensemble score modules, predict and re-rank.
"""

from __future__ import annotations

from autobuild.scoring.importance import feature_importance
from autobuild.scoring.modules import ModuleScores, Shift, score_modules, score_subgraphs
from autobuild.scoring.scorer import (
    RERANK_HEAD,
    BuiltArchitecture,
    Head,
    Prediction,
    PredictorScorer,
    RerankHead,
    Scorer,
    as_scorer,
    with_predictions,
)
from autobuild.scoring.tables import (
    CategoryImportance,
    FeatureImportance,
    SubgraphScore,
    ValueImportance,
    subgraph_to_json,
    write_records,
)

__all__ = [
    "RERANK_HEAD",
    "BuiltArchitecture",
    "CategoryImportance",
    "FeatureImportance",
    "Head",
    "ModuleScores",
    "Prediction",
    "PredictorScorer",
    "RerankHead",
    "Scorer",
    "Shift",
    "SubgraphScore",
    "ValueImportance",
    "as_scorer",
    "feature_importance",
    "score_modules",
    "score_subgraphs",
    "subgraph_to_json",
    "with_predictions",
    "write_records",
]
