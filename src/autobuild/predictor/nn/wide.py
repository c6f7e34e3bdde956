"""The wide term: a one-hot linear model over (stage, position, value) slots, fitted by ridge."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from autobuild.encoding import Category, GraphBatch
from autobuild.exceptions import ConfigError

__all__ = ["HOP_KNOTS", "WideTerm", "affine_fit", "monotone_apply", "monotone_fit", "ridge_loo"]

#: Ridge penalties tried by :func:`ridge_loo` (on standardised labels).
ALPHAS = tuple(float(a) for a in np.logspace(-3, 3, 13))
#: Knots of the monotone map from a hop norm to labels (:func:`monotone_fit`).
HOP_KNOTS = 256


class WideTerm(nn.Module):
    r"""A linear model of one-hot slot features of sequence graphs, next to the GNN.

    The features of a graph are one column per (stage, position) that holds a layer, one per
    (stage, position, categorical layer feature, value), one per (stage, position, numeric
    layer feature) holding the normalised value, and one per global value (numeric globals
    as their value). Stage depths are spanned by the position columns. These are the
    features of :class:`autobuild.baselines.RidgeBaseline`, computed from an encoded
    :class:`~autobuild.encoding.GraphBatch` so the term runs inside the network. Its weights
    are not trained by gradient descent: :meth:`fit` solves a ridge regression in closed
    form, choosing the penalty by exact leave-one-out error (:func:`ridge_loo`).

    The term also holds the *stack* that makes the network's prediction: with the GNN
    regressor's ``deep``, the norm ``||h_G^m||_1`` of one hop ``m`` mapped to label units by
    a monotone piecewise-linear fit (:func:`monotone_fit`) and the ridge's ``wide``, the
    prediction is ``(1 - blend) * lerp(deep, hop, hop_weight) + blend * wide``. The weights,
    the hop and its map are buffers, stored with the network's state.

    Args:
        categorical: The encoder's categorical categories; the first two must be the
            ``stage`` and ``layer`` position categories.
        numeric: The encoder's numeric categories.
        num_stages: Stages of the space.
        max_layers: Most layers of any stage.

    Shapes:
        - :meth:`features`: ``batch`` of `G` graphs -> `G x F`
        - :meth:`forward`: ``batch`` -> `G`
    """

    weight: Tensor
    bias: Tensor
    blend: Tensor
    hop: Tensor
    hop_weight: Tensor
    hop_knots: Tensor
    hop_values: Tensor
    hop_slope: Tensor

    def __init__(
        self,
        categorical: Sequence[Category],
        numeric: Sequence[Category],
        num_stages: int,
        max_layers: int,
    ) -> None:
        super().__init__()
        if [c.name for c in categorical[:2]] != ["stage", "layer"]:
            raise ConfigError(
                "The wide term needs sequence-graph categories (stage, layer first)."
            )
        slots = num_stages * max_layers
        self.max_layers = max_layers
        col = slots  # columns 0..slots-1: a layer is present at (stage, position)
        # (x_cat or x_num column, first feature column, values per slot or 0 for one column,
        # per-slot (layer feature) or once per graph (global feature))
        self._cat: list[tuple[int, int, int, bool]] = []
        self._num: list[tuple[int, int, bool]] = []
        for k, c in enumerate(categorical[2:], start=2):
            per_slot = c.source == "layer"
            self._cat.append((k, col, c.size, per_slot))
            col += c.size * (slots if per_slot else 1)
        for k, c in enumerate(numeric):
            per_slot = c.source == "layer"
            self._num.append((k, col, per_slot))
            col += slots if per_slot else 1
        self.num_features = col
        self.register_buffer("weight", torch.zeros(col))
        self.register_buffer("bias", torch.zeros(()))
        self.register_buffer("blend", torch.zeros(()))
        self.register_buffer("hop", torch.zeros((), dtype=torch.long))
        self.register_buffer("hop_weight", torch.zeros(()))
        self.register_buffer("hop_knots", torch.linspace(0.0, 1.0, HOP_KNOTS))
        self.register_buffer("hop_values", torch.linspace(0.0, 1.0, HOP_KNOTS))
        self.register_buffer("hop_slope", torch.ones(()))

    def _load_from_state_dict(
        self, state_dict: dict[str, Tensor], prefix: str, *args: Any
    ) -> None:
        # Older states: a ridge-only blend has no hop (weight 0), and an affine hop map
        # ``hop_scale * norm + hop_shift`` is exactly a knot map along that line, with its slope.
        if prefix + "blend" in state_dict and prefix + "hop_weight" not in state_dict:
            state_dict[prefix + "hop"] = torch.zeros((), dtype=torch.long)
            state_dict[prefix + "hop_weight"] = torch.zeros(())
        scale = state_dict.pop(prefix + "hop_scale", None)
        shift = state_dict.pop(prefix + "hop_shift", None)
        if prefix + "blend" in state_dict and prefix + "hop_knots" not in state_dict:
            scale = torch.ones(()) if scale is None else scale
            shift = torch.zeros(()) if shift is None else shift
            knots = torch.linspace(0.0, 1.0, HOP_KNOTS)
            state_dict[prefix + "hop_knots"] = knots
            state_dict[prefix + "hop_values"] = scale * knots + shift
            state_dict[prefix + "hop_slope"] = scale.clone()
        super()._load_from_state_dict(state_dict, prefix, *args)

    def features(self, batch: GraphBatch) -> Tensor:
        """The `G x F` one-hot slot features of ``batch``."""
        x_cat, x_num = batch.x_cat, batch.x_num
        graph = batch.batch
        # Global values repeat on every node; each graph's first node gives them once.
        first = batch.ptr[:-1]
        slot = x_cat[:, 0] * self.max_layers + x_cat[:, 1]
        ones = torch.ones(batch.num_nodes, dtype=x_num.dtype)
        rows, cols, vals = [graph], [slot], [ones]
        for k, start, size, per_slot in self._cat:
            if per_slot:
                rows.append(graph)
                cols.append(start + slot * size + x_cat[:, k])
                vals.append(ones)
            else:
                rows.append(torch.arange(batch.num_graphs))
                cols.append(start + x_cat[first, k])
                vals.append(ones[first])
        for k, start, per_slot in self._num:
            if per_slot:
                rows.append(graph)
                cols.append(start + slot)
                vals.append(x_num[:, k])
            else:
                rows.append(torch.arange(batch.num_graphs))
                cols.append(torch.full_like(first, start))
                vals.append(x_num[first, k])
        out = x_num.new_zeros(batch.num_graphs, self.num_features)
        return out.index_put_((torch.cat(rows), torch.cat(cols)), torch.cat(vals), accumulate=True)

    def forward(self, batch: GraphBatch) -> Tensor:
        """The term's value for every graph of ``batch``."""
        return self.features(batch) @ self.weight + self.bias

    def mix(self, deep: Tensor, batch: GraphBatch, hop_norm: Tensor | None = None) -> Tensor:
        """The stacked prediction of the graphs of ``batch`` (see the class docstring).

        Args:
            deep: `G` GNN regressor predictions.
            batch: The graphs.
            hop_norm: `G` norms ``||h_G^m||_1`` of hop :attr:`hop`; needed when
                :attr:`hop_weight` is not 0.
        """
        dtype = deep.dtype
        if float(self.hop_weight) > 0:
            if hop_norm is None:
                raise ConfigError(f"The stack weighs hop {int(self.hop)}; pass its norms.")
            hop = monotone_apply(
                hop_norm.to(dtype),
                self.hop_knots.to(dtype),
                self.hop_values.to(dtype),
                self.hop_slope.to(dtype),
            )
            deep = torch.lerp(deep, hop, self.hop_weight.to(dtype))
        return torch.lerp(deep, self(batch).to(dtype), self.blend.to(dtype))

    @torch.no_grad()
    def fit(self, batch: GraphBatch, target: Tensor, blend: float) -> None:
        """Fit the weights to ``target`` by ridge regression and set the blend weight."""
        coef, intercept, _ = ridge_loo(self.features(batch).double().numpy(), target.numpy())
        self.weight.copy_(torch.from_numpy(coef))
        self.bias.fill_(intercept)
        self.blend.fill_(blend)

    @torch.no_grad()
    def set_hop(self, hop: int, weight: float, norms: Tensor, target: Tensor) -> None:
        """Stack hop ``hop`` with ``weight``, mapped to labels by :func:`monotone_fit`.

        Args:
            hop: The hop whose norms join the prediction.
            weight: Its share of the non-ridge part (``lerp`` weight, in ``[0, 1]``).
            norms: `n` training-graph norms of that hop.
            target: `n` (standardised) training labels.
        """
        knots, values, slope = monotone_fit(norms.double().numpy(), target.double().numpy())
        self.hop.fill_(hop)
        self.hop_weight.fill_(weight)
        self.hop_knots.copy_(torch.from_numpy(knots))
        self.hop_values.copy_(torch.from_numpy(values))
        self.hop_slope.fill_(slope)


def affine_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares ``(a, b)`` of ``y ~ a * x + b`` (``a = 0`` when ``x`` is constant)."""
    xc = x - x.mean()
    var = float(xc @ xc)
    a = float(xc @ (y - y.mean())) / var if var > 0 else 0.0
    return a, float(y.mean()) - a * float(x.mean())


def monotone_fit(
    x: np.ndarray, y: np.ndarray, knots: int = HOP_KNOTS
) -> tuple[np.ndarray, np.ndarray, float]:
    """A monotone piecewise-linear map ``y ~ f(x)`` that matches quantiles.

    The map sends each quantile of ``x`` to the same quantile of ``y`` (read at ``knots``
    evenly spaced levels), increasing or decreasing by the sign of the least-squares slope
    (:func:`affine_fit`); a ramp of a thousandth of the label spread keeps it strictly
    monotone. It keeps every rank distinction of ``x`` (an isotonic fit pools neighbours
    into ties, which on a few noisy labels throws ranking information away) and gives its
    outputs the labels' distribution, so a skewed label is not misplaced as by a line.
    Beyond the outer knots the map continues with the least-squares slope.

    Args:
        x: `n` inputs (hop norms).
        y: `n` labels.
        knots: Knots of the map.

    Returns:
        ``(knot_x, knot_y, slope)``: nondecreasing `knots` inputs, their outputs, and the
        slope beyond the ends (see :func:`monotone_apply`).
    """
    slope, intercept = affine_fit(x, y)
    grid = np.linspace(0.0, 1.0, knots)
    if slope == 0.0:  # a constant input: the mean label everywhere
        return grid + float(np.mean(x)), np.full(knots, intercept), 0.0
    knot_x = np.quantile(x, grid)
    knot_y = np.quantile(y, grid if slope > 0 else grid[::-1])
    return knot_x, knot_y + np.sign(slope) * 1e-3 * np.std(y) * grid, slope


def monotone_apply(x: Tensor, knot_x: Tensor, knot_y: Tensor, slope: Tensor) -> Tensor:
    """Evaluate a map of :func:`monotone_fit`: linear between knots, ``slope`` beyond them.

    Equal neighbouring knots (inputs with many ties) take the left knot's value.

    Shapes:
        `N` inputs, `K` knots -> `N`
    """
    k = len(knot_x)
    i = torch.searchsorted(knot_x, x.contiguous()).clamp(1, k - 1)
    x0, x1, y0, y1 = knot_x[i - 1], knot_x[i], knot_y[i - 1], knot_y[i]
    dx = x1 - x0
    t = torch.where(dx > 0, (x - x0) / torch.where(dx > 0, dx, 1), 0).clamp(0, 1)
    inside = y0 + t * (y1 - y0)
    below = knot_y[0] + slope * (x - knot_x[0])
    above = knot_y[-1] + slope * (x - knot_x[-1])
    return torch.where(x < knot_x[0], below, torch.where(x > knot_x[-1], above, inside))


def ridge_loo(
    x: np.ndarray, y: np.ndarray, alphas: Sequence[float] = ALPHAS
) -> tuple[np.ndarray, float, np.ndarray]:
    r"""Ridge regression with the penalty of least exact leave-one-out error.

    With centred ``X = U S V^T``, the fit for penalty ``a`` is ``U diag(s^2/(s^2+a)) U^T y``
    and the leave-one-out residual of row ``i`` is ``r_i / (1 - h_i)`` with hat value
    ``h_i = 1/n + sum_j U_ij^2 s_j^2 / (s_j^2 + a)`` (the ``1/n`` is the intercept's), so one
    SVD gives every penalty's error and every row's held-out prediction. Written here
    rather than taken from scikit-learn because the predictor needs the leave-one-out
    predictions themselves, and importing scikit-learn would cost more than the fit.

    Args:
        x: `n x F` features.
        y: `n` labels.
        alphas: Penalties to try.

    Returns:
        ``(coef, intercept, loo)``: `F` weights, the intercept and the `n` leave-one-out
        predictions of the chosen penalty.
    """
    n = len(y)
    x_mean, y_mean = x.mean(0), float(y.mean())
    xc, yc = x - x_mean, y - y_mean
    u, s, vt = np.linalg.svd(xc, full_matrices=False)
    keep = s > s.max(initial=0.0) * 1e-10
    u, s, vt = u[:, keep], s[keep], vt[keep]
    uty = u.T @ yc
    u2 = u**2
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for a in alphas:
        shrink = s**2 / (s**2 + a)
        resid = yc - u @ (shrink * uty)
        hat = 1.0 / n + u2 @ shrink
        loo_resid = resid / np.maximum(1.0 - hat, 1e-9)
        err = float(np.mean(loo_resid**2))
        if best is None or err < best[0]:
            coef = vt.T @ (s / (s**2 + a) * uty)
            best = (err, coef, y - loo_resid)
    assert best is not None
    _, coef, loo = best
    return coef, y_mean - float(x_mean @ coef), loo
