"""Neural-network modules of the AutoBuild predictor (no training logic here)."""

from __future__ import annotations

from autobuild.predictor.nn.conv import CONVS, ChainConv, make_conv
from autobuild.predictor.nn.fe_mlp import FeatureEmbedding
from autobuild.predictor.nn.model import ACTIVATIONS, READOUTS, AutoBuildNet
from autobuild.predictor.nn.wide import WideTerm

__all__ = [
    "ACTIVATIONS",
    "CONVS",
    "READOUTS",
    "AutoBuildNet",
    "ChainConv",
    "FeatureEmbedding",
    "WideTerm",
    "make_conv",
]
