"""autobuild: build strong neural architectures from a few evaluated ones, and explain why.

An implementation of AutoBuild (Mills et al., "Building Optimal Neural Architectures using
Interpretable Knowledge", CVPR 2024).

Example:
    >>> import autobuild as ab
    >>> space = ab.spaces.get("nasbench-macro")
    >>> space.count_subgraphs()
    51
"""

from __future__ import annotations

import logging

from autobuild import (
    construction,
    data,
    encoding,
    evaluation,
    exceptions,
    ir,
    predictor,
    scoring,
    spaces,
)
from autobuild.data import LabeledData, load_table
from autobuild.encoding import SequenceGraphEncoder
from autobuild.exceptions import AutobuildError
from autobuild.predictor import AutoBuildPredictor, PredictorConfig, train_predictor
from autobuild.spaces import Architecture, SearchSpace

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "Architecture",
    "AutoBuildPredictor",
    "AutobuildError",
    "LabeledData",
    "PredictorConfig",
    "SearchSpace",
    "SequenceGraphEncoder",
    "__version__",
    "construction",
    "data",
    "encoding",
    "evaluation",
    "exceptions",
    "ir",
    "load_table",
    "predictor",
    "scoring",
    "spaces",
    "train_predictor",
]
