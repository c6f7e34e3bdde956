"""The AutoBuild predictor: FE-MLP + GNN trained with the hop-level ranking loss.

Names are imported on first use (PEP 562): :class:`PredictorConfig` comes without torch,
the predictor and its training with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autobuild._lazy import attach

if TYPE_CHECKING:
    from autobuild.predictor.config import PredictorConfig
    from autobuild.predictor.estimator import AutoBuildPredictor
    from autobuild.predictor.losses import HopRankingLoss, soft_rank
    from autobuild.predictor.moments import LabelMoments
    from autobuild.predictor.training import TrainResult, select_labelled, train_predictor

__getattr__, __dir__ = attach(
    __name__,
    {
        "PredictorConfig": "config",
        "AutoBuildPredictor": "estimator",
        "HopRankingLoss": "losses",
        "soft_rank": "losses",
        "LabelMoments": "moments",
        "TrainResult": "training",
        "select_labelled": "training",
        "train_predictor": "training",
    },
)

__all__ = [
    "AutoBuildPredictor",
    "HopRankingLoss",
    "LabelMoments",
    "PredictorConfig",
    "TrainResult",
    "select_labelled",
    "soft_rank",
    "train_predictor",
]
