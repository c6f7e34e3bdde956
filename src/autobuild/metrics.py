"""Rank and error metrics of predictions against labels (predictors, baselines, benchmarks).

Spearman's rho and Kendall's tau-b are computed with NumPy rather than ``scipy.stats``:
importing ``scipy.stats`` adds tens of MiB of resident memory to a training process (peak
memory is reported by ``benchmarks/train.py``). The tests compare both with SciPy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["kendall", "rankdata", "regression_metrics", "spearman"]

_KENDALL_CHUNK = 2048


def rankdata(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``a`` with ties given their average rank."""
    a = np.asarray(a, dtype=np.float64)
    order = np.argsort(a, kind="mergesort")
    sorted_a = a[order]
    # Start of every run of equal values, and its length.
    starts = np.flatnonzero(np.r_[True, sorted_a[1:] != sorted_a[:-1]])
    counts = np.diff(np.r_[starts, len(a)])
    avg = starts + (counts + 1) / 2.0  # average 1-based rank of each run
    ranks = np.empty(len(a))
    ranks[order] = np.repeat(avg, counts)
    return ranks


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (average ties); NaN if either side is constant."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(np.corrcoef(rankdata(a), rankdata(b))[0, 1])


def kendall(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau-b (ties in either variable corrected); NaN if either side is constant.

    Counts concordant minus discordant pairs over all ``n (n - 1) / 2`` pairs in row chunks,
    so memory stays ``O(chunk x n)``.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    n = len(a)
    if n < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    s = 0.0
    for lo in range(0, n, _KENDALL_CHUNK):
        da = np.sign(a[lo : lo + _KENDALL_CHUNK, None] - a[None, :])
        db = np.sign(b[lo : lo + _KENDALL_CHUNK, None] - b[None, :])
        s += float((da * db).sum())
    s /= 2.0  # every unordered pair was counted twice
    pairs = n * (n - 1) / 2.0
    ties_a = sum(c * (c - 1) / 2.0 for c in np.unique(a, return_counts=True)[1])
    ties_b = sum(c * (c - 1) / 2.0 for c in np.unique(b, return_counts=True)[1])
    return float(s / math.sqrt((pairs - ties_a) * (pairs - ties_b)))


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
