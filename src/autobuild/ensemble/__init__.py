"""Ensembles of predictors for few labels, and the Exhaustive-Search baseline.

:func:`fit_ensemble` trains a k-fold x seeds ensemble (serially, in local processes or on
Ray); :meth:`PredictorEnsemble.score_modules` gives confidence-weighted module scores with an
uncertainty, which :func:`autobuild.construction.reduce_space` builds from as it does from
one predictor's; :func:`exhaustive_search` ranks every architecture of a space by the
ensemble's weighted prediction (the paper's ES baseline).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autobuild._lazy import attach

if TYPE_CHECKING:
    from autobuild.ensemble.ensemble import PredictorEnsemble, fit_ensemble
    from autobuild.ensemble.exhaustive import ExhaustiveResult, exhaustive_search

__getattr__, __dir__ = attach(
    __name__,
    {
        "ExhaustiveResult": "exhaustive",
        "PredictorEnsemble": "ensemble",
        "exhaustive_search": "exhaustive",
        "fit_ensemble": "ensemble",
    },
)

__all__ = [
    "ExhaustiveResult",
    "PredictorEnsemble",
    "exhaustive_search",
    "fit_ensemble",
]
