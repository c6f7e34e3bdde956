"""The prediction stack: how much of the GNN, the one-hot ridge and one hop norm to use.

The network's prediction is a weighted sum of three parts (see
:class:`~autobuild.predictor.nn.WideTerm`). Their weights are chosen on held-out
predictions: every training architecture is predicted by models that did not see it, and the
weights whose blend of those predictions ranks the labels best are kept. This module holds
that choice; :class:`~autobuild.predictor.AutoBuildPredictor` makes the held-out predictions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from autobuild.metrics import spearman
from autobuild.predictor.nn.wide import monotone_apply, monotone_fit, ridge_loo

__all__ = ["GRID_STEP", "SPEARMAN_TIE", "StackChoice", "choose_stack", "fold_parts"]

#: Spacing of the weight grid on the simplex (gnn, ridge, hop).
GRID_STEP = 0.1
#: Weightings whose held-out Spearman is this close to the best one count as ties, broken
#: by the smaller held-out absolute error (the predicted values matter too, not only ranks).
SPEARMAN_TIE = 0.002


@dataclass(frozen=True)
class StackChoice:
    """The chosen weights and the held-out Spearman of each candidate part.

    Attributes:
        weight: The ridge's weight.
        hop: The stacked hop ``m``.
        hop_weight: The hop norm's weight; the GNN's is ``1 - weight - hop_weight``.
        srcc: Held-out Spearman of the chosen blend.
        srcc_gnn: ... of the GNN alone.
        srcc_wide: ... of the ridge alone.
        srcc_hop: ... of the chosen hop's norm alone.
    """

    weight: float
    hop: int
    hop_weight: float
    srcc: float
    srcc_gnn: float
    srcc_wide: float
    srcc_hop: float

    def as_dict(self) -> dict[str, float | int]:
        """The choice as a JSON-ready dict (as stored in ``metrics.json`` and checkpoints)."""
        return asdict(self)


def fold_parts(
    norms_train: np.ndarray,
    norms_test: np.ndarray,
    x_train: np.ndarray,
    x_test: np.ndarray,
    t_train: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Held-out hop and ridge predictions of one fold, in standardised label units.

    Each hop's norms are mapped to labels by a monotone fit on the fold's training half; the
    ridge is fitted on the same half (penalty by leave-one-out error).

    Args:
        norms_train: `n_train x M` hop norms of the training half, by the fold's GNN.
        norms_test: `n_test x M` hop norms of the held-out half.
        x_train: `n_train x F` one-hot features of the training half.
        x_test: `n_test x F` one-hot features of the held-out half.
        t_train: `n_train` standardised labels of the training half.

    Returns:
        ``(hops, wide)``: `n_test x M` hop predictions and `n_test` ridge predictions.
    """
    hops = np.empty(norms_test.shape)
    for m in range(norms_test.shape[1]):
        knot_x, knot_y, slope = monotone_fit(norms_train[:, m], t_train)
        hops[:, m] = monotone_apply(
            torch.from_numpy(norms_test[:, m]),
            torch.from_numpy(knot_x),
            torch.from_numpy(knot_y),
            torch.tensor(slope, dtype=torch.float64),
        ).numpy()
    coef, intercept, _ = ridge_loo(x_train, t_train)
    return hops, x_test @ coef + intercept


def choose_stack(
    target: np.ndarray, deep: np.ndarray, wide: np.ndarray, hops: np.ndarray
) -> StackChoice:
    """Choose the stack's weights on held-out predictions of every training architecture.

    The hop whose norms rank ``target`` best is the stacked hop. Then every ``(gnn, ridge,
    hop)`` weighting on the :data:`GRID_STEP` grid of the simplex is scored by the Spearman of
    its blend; of those within :data:`SPEARMAN_TIE` of the best, the one with the smallest
    mean absolute error is kept, and exact ties favour the GNN, then the ridge. A part
    without a Spearman (constant predictions, e.g. a hop norm on a one-value space) is never
    picked.

    Args:
        target: `n` labels.
        deep: `n` held-out GNN predictions.
        wide: `n` held-out ridge predictions.
        hops: `n x M` held-out hop predictions (see :func:`fold_parts`).

    Returns:
        The chosen :class:`StackChoice`.
    """
    hop_scores = [spearman(target, hops[:, m]) for m in range(hops.shape[1])]
    hop = int(np.argmax(np.nan_to_num(hop_scores, nan=-np.inf)))
    steps = round(1 / GRID_STEP)
    # (ridge, hop) weights, the hop's ascending first so that ties favour the GNN.
    grid = [
        (round(i * GRID_STEP, 6), round(j * GRID_STEP, 6))
        for j in range(steps + 1)
        for i in range(steps + 1 - j)
    ]
    blends = [(1 - w - h) * deep + w * wide + h * hops[:, hop] for w, h in grid]
    scores = np.nan_to_num([spearman(target, b) for b in blends], nan=-np.inf)
    near = np.flatnonzero(scores >= scores.max() - SPEARMAN_TIE)
    errors = [float(np.mean(np.abs(blends[i] - target))) for i in near]
    best = int(near[int(np.argmin(errors))])
    weight, hop_weight = grid[best]
    return StackChoice(
        weight=weight,
        hop=hop,
        hop_weight=hop_weight,
        srcc=float(scores[best]),
        srcc_gnn=float(scores[0]),
        srcc_wide=float(scores[grid.index((1.0, 0.0))]),
        srcc_hop=float(hop_scores[hop]),
    )
