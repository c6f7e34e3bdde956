"""The AutoBuild predictor: FE-MLP + GNN trained with the hop-level ranking loss."""

from __future__ import annotations

from autobuild.predictor.config import PRESETS, PredictorConfig
from autobuild.predictor.estimator import AutoBuildPredictor
from autobuild.predictor.losses import HopRankingLoss, rank_average_ties, soft_rank
from autobuild.predictor.metrics import regression_metrics
from autobuild.predictor.moments import LabelMoments
from autobuild.predictor.training import TrainResult, select_labelled, train_predictor

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
