"""Interpretable knowledge from a fitted predictor: module scores and feature importance."""

from __future__ import annotations

from autobuild.scoring.importance import feature_importance
from autobuild.scoring.modules import ModuleScores, score_modules, score_subgraphs
from autobuild.scoring.tables import (
    CategoryImportance,
    FeatureImportance,
    SubgraphScore,
    ValueImportance,
    subgraph_to_json,
    write_records,
)

__all__ = [
    "CategoryImportance",
    "FeatureImportance",
    "ModuleScores",
    "SubgraphScore",
    "ValueImportance",
    "feature_importance",
    "score_modules",
    "score_subgraphs",
    "subgraph_to_json",
    "write_records",
]
