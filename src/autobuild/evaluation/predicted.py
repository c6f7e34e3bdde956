"""Evaluation by a trained AutoBuild predictor or ensemble (e.g. a latency surrogate)."""

from __future__ import annotations

from collections.abc import Sequence

from autobuild.evaluation.base import BaseEvaluator, Metric, Record
from autobuild.predictor import AutoBuildPredictor
from autobuild.scoring import Scorer, as_scorer
from autobuild.spaces import Architecture

__all__ = ["PredictorEvaluator"]


class PredictorEvaluator(BaseEvaluator):
    """Predicts one metric with a fitted :class:`AutoBuildPredictor` or any
    :class:`~autobuild.scoring.Scorer` (e.g. a :class:`~autobuild.ensemble.PredictorEnsemble`,
    whose weighted mean prediction it reports).

    Args:
        predictor: A fitted predictor or a scorer.
        name: Metric name (default: the checkpoint's target, else ``"prediction"``).
        direction: ``"max"`` or ``"min"`` (default: the scorer's direction, from the
            checkpoint's ``direction`` metadata, else ``"max"``).
        unit: Unit for display (default: the checkpoint's ``unit`` metadata).

    Raises:
        ConfigError: ``predictor`` is neither a predictor nor a scorer.
    """

    def __init__(
        self,
        predictor: AutoBuildPredictor | Scorer,
        name: str | None = None,
        direction: str | None = None,
        unit: str | None = None,
    ) -> None:
        scorer = as_scorer(predictor)
        super().__init__(scorer.space, batch_size=4096)
        meta = scorer.metadata
        self.predictor = predictor
        self.scorer = scorer
        self.metrics = (
            Metric(
                name or str(meta.get("target", "prediction")),
                direction or scorer.direction,
                unit if unit is not None else str(meta.get("unit", "")),
            ),
        )

    def _evaluate(self, archs: Sequence[Architecture]) -> list[Record]:
        name = self.metrics[0].name
        return [{name: float(v)} for v in self.scorer.predict(archs).value]
