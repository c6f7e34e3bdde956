"""Evaluators: one protocol for every way of measuring an architecture."""

from __future__ import annotations

from autobuild.evaluation.base import BaseEvaluator, Metric, Record
from autobuild.evaluation.cache import CachedEvaluator
from autobuild.evaluation.combined import CombinedEvaluator
from autobuild.evaluation.lookup import LookupEvaluator
from autobuild.evaluation.measure import measure_to_csv
from autobuild.evaluation.measured import CostEvaluator, LatencyEvaluator
from autobuild.evaluation.predicted import PredictorEvaluator

__all__ = [
    "BaseEvaluator",
    "CachedEvaluator",
    "CombinedEvaluator",
    "CostEvaluator",
    "LatencyEvaluator",
    "LookupEvaluator",
    "Metric",
    "PredictorEvaluator",
    "Record",
    "measure_to_csv",
]
