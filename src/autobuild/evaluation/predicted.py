"""Evaluation by a trained AutoBuild predictor (e.g. a latency surrogate)."""

from __future__ import annotations

from collections.abc import Sequence

from autobuild.evaluation.base import BaseEvaluator, Metric, Record
from autobuild.predictor import AutoBuildPredictor
from autobuild.predictor.direction import predictor_direction
from autobuild.spaces import Architecture

__all__ = ["PredictorEvaluator"]


class PredictorEvaluator(BaseEvaluator):
    """Predicts one metric with a fitted :class:`AutoBuildPredictor`.

    Args:
        predictor: A fitted predictor.
        name: Metric name (default: the checkpoint's target, else ``"prediction"``).
        direction: ``"max"`` or ``"min"`` (default: the checkpoint's ``direction`` metadata,
            else ``"max"``).
        unit: Unit for display (default: the checkpoint's ``unit`` metadata).
    """

    def __init__(
        self,
        predictor: AutoBuildPredictor,
        name: str | None = None,
        direction: str | None = None,
        unit: str | None = None,
    ) -> None:
        super().__init__(predictor.space, batch_size=4096)
        meta = getattr(predictor, "metadata_", {}) or {}
        self.predictor = predictor
        self.metrics = (
            Metric(
                name or str(meta.get("target", "prediction")),
                direction or predictor_direction(predictor),
                unit if unit is not None else str(meta.get("unit", "")),
            ),
        )

    def _evaluate(self, archs: Sequence[Architecture]) -> list[Record]:
        name = self.metrics[0].name
        return [{name: float(v)} for v in self.predictor.predict(archs)]
