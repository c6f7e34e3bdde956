"""autobuild: build strong neural architectures from a few evaluated ones, and explain why.

An implementation of AutoBuild (Mills et al., "Building Optimal Neural Architectures using
Interpretable Knowledge", CVPR 2024).

Subpackages and the names below are imported on first use (PEP 562), so ``import autobuild``
is cheap and does not import torch until a predictor, an encoder or a network is needed.

Example:
    >>> import autobuild as ab
    >>> space = ab.spaces.get("nasbench-macro")
    >>> space.count_subgraphs()
    51
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from autobuild._lazy import attach

if TYPE_CHECKING:
    from autobuild import (
        baselines,
        construction,
        data,
        demo,
        encoding,
        ensemble,
        evaluation,
        exceptions,
        ir,
        nas,
        networks,
        predictor,
        reports,
        scoring,
        search,
        spaces,
        study,
    )
    from autobuild._version import __version__
    from autobuild.data import LabeledData, load_table
    from autobuild.encoding import SequenceGraphEncoder
    from autobuild.exceptions import AutobuildError
    from autobuild.predictor import AutoBuildPredictor, PredictorConfig, train_predictor
    from autobuild.spaces import Architecture, SearchSpace
    from autobuild.study import Study, create_study, load_study

logging.getLogger(__name__).addHandler(logging.NullHandler())

__getattr__, __dir__ = attach(
    __name__,
    {
        **{
            name: name
            for name in (
                "baselines",
                "construction",
                "data",
                "demo",
                "encoding",
                "ensemble",
                "evaluation",
                "exceptions",
                "ir",
                "nas",
                "networks",
                "predictor",
                "reports",
                "scoring",
                "search",
                "spaces",
                "study",
            )
        },
        "__version__": "_version",
        "Architecture": "spaces",
        "AutoBuildPredictor": "predictor",
        "AutobuildError": "exceptions",
        "LabeledData": "data",
        "PredictorConfig": "predictor",
        "SearchSpace": "spaces",
        "Study": "study",
        "SequenceGraphEncoder": "encoding",
        "create_study": "study",
        "load_study": "study",
        "load_table": "data",
        "train_predictor": "predictor",
    },
)

__all__ = [
    "Architecture",
    "AutoBuildPredictor",
    "AutobuildError",
    "LabeledData",
    "PredictorConfig",
    "SearchSpace",
    "SequenceGraphEncoder",
    "Study",
    "__version__",
    "baselines",
    "construction",
    "create_study",
    "data",
    "demo",
    "encoding",
    "ensemble",
    "evaluation",
    "exceptions",
    "ir",
    "load_study",
    "load_table",
    "nas",
    "networks",
    "predictor",
    "reports",
    "scoring",
    "search",
    "spaces",
    "study",
    "train_predictor",
]
