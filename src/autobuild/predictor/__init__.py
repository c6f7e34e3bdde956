"""The AutoBuild predictor: FE-MLP + GNN trained with the hop-level ranking loss.

Names are imported on first use (PEP 562): :data:`PRESETS` and :class:`PredictorConfig` come
without torch, the predictor and its training with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autobuild._lazy import attach

if TYPE_CHECKING:
    from autobuild.metrics import regression_metrics
    from autobuild.predictor.config import PRESETS, PredictorConfig
    from autobuild.predictor.estimator import AutoBuildPredictor
    from autobuild.predictor.losses import HopRankingLoss, rank_average_ties, soft_rank
    from autobuild.predictor.moments import LabelMoments
    from autobuild.predictor.training import TrainResult, select_labelled, train_predictor

__getattr__, __dir__ = attach(
    __name__,
    {
        "PRESETS": "config",
        "PredictorConfig": "config",
        "AutoBuildPredictor": "estimator",
        "HopRankingLoss": "losses",
        "rank_average_ties": "losses",
        "soft_rank": "losses",
        "regression_metrics": "autobuild.metrics",
        "LabelMoments": "moments",
        "TrainResult": "training",
        "select_labelled": "training",
        "train_predictor": "training",
    },
)

__all__ = [
    "PRESETS",
    "AutoBuildPredictor",
    "HopRankingLoss",
    "LabelMoments",
    "PredictorConfig",
    "TrainResult",
    "rank_average_ties",
    "regression_metrics",
    "select_labelled",
    "soft_rank",
    "train_predictor",
]
