"""Held-out quality metrics of a predictor, in raw label units."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["kendall", "regression_metrics", "spearman"]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (average ties); NaN if either side is constant."""
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(stats.spearmanr(a, b).statistic)


def kendall(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau-b; NaN if either side is constant."""
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(stats.kendalltau(a, b).statistic)


def regression_metrics(y: np.ndarray, pred: np.ndarray, hop_norms: np.ndarray) -> dict[str, Any]:
    """Predictor Spearman, Kendall and MAE, and the Spearman of every hop's embedding norm.

    Args:
        y: `n` true labels (raw units).
        pred: `n` predictions (raw units).
        hop_norms: `n x (M+1)` L1 norms of the graph embedding at each hop.

    Returns:
        A dict with ``srcc``, ``kendall``, ``mae`` (floats) and ``hop_srcc`` (list of M+1).
    """
    return {
        "srcc": spearman(y, pred),
        "kendall": kendall(y, pred),
        "mae": float(np.mean(np.abs(y - pred))) if len(y) else math.nan,
        "hop_srcc": [spearman(y, hop_norms[:, m]) for m in range(hop_norms.shape[1])],
    }
