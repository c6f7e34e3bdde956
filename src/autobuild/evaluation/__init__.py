"""Evaluators: one protocol for every way of measuring an architecture."""

from __future__ import annotations

from autobuild.evaluation.base import BaseEvaluator, Metric, Record
from autobuild.evaluation.lookup import LookupEvaluator
from autobuild.evaluation.predicted import PredictorEvaluator

__all__ = ["BaseEvaluator", "LookupEvaluator", "Metric", "PredictorEvaluator", "Record"]
