"""Training losses for the AutoBuild predictor, with a differentiable soft rank.

AutoBuild (Mills et al., "Building Optimal Neural Architectures using Interpretable
Knowledge", CVPR 2024) trains its GNN predictor with

.. math::

    \\mathcal{L} = \\mathrm{MSE}(\\hat y, y)
        + \\lambda \\cdot \\frac{1}{M + 1} \\sum_{m=0}^{M} \\bigl(1 - \\rho(y, n^m)\\bigr),

where :math:`n^m` is the L1 norm of every graph embedding of the batch after hop ``m`` and
:math:`\\rho` a differentiable rank correlation. The ranking term makes the embedding norms
themselves order the architectures, which is what makes them interpretable.
:class:`HopRankingLoss` implements this loss.

The correlation needs a differentiable rank. :func:`soft_rank` is the soft rank of Blondel,
Teboul, Berthet and Djolonga, "Fast Differentiable Sorting and Ranking" (ICML 2020), written in
plain PyTorch (``torchsort`` does not build everywhere): the rank vector is the Euclidean
(``"l2"``) or KL (``"kl"``) projection of ``values / regularization_strength`` onto the
permutahedron of ``(n, n - 1, ..., 1)``, computed from a sort and a decreasing isotonic
regression. Both regularisations are exact: the results equal the paper's (and ``torchsort``'s)
up to floating-point rounding, and autograd returns their exact Jacobian.

Isotonic regression without a loop:
    The isotonic regression is not solved with the sequential pool-adjacent-violators
    algorithm but from the least-concave-majorant characterisation of its solution, which is
    constant on blocks: a block ends after sorted element ``e`` exactly when
    ``min_{k <= e} mean(u_k..u_e) >= max_{j > e} mean(u_{e+1}..u_j)`` (for ``"kl"`` the
    "mean" is the block optimum ``logsumexp(s_B) - log(sum(w_B))``, a monotone function of a
    weighted mean, so the same test applies). Both sides are masked column and row reductions
    of the ``n x n`` matrix of segment values, so the block ends are found with a handful of
    batched tensor operations, without gradient tracking; the values are then averaged
    (``"l2"``) or soft-maxed (``"kl"``) inside each block with ``scatter_add``, through which
    autograd yields the exact block-averaging Jacobian. (The equivalent min-max formula
    ``v_i = min_{k <= i} max_{j >= i} mean(u_k..u_j)`` needs a cumulative maximum over the
    whole matrix, which is several times slower on CPUs.)

    This costs ``O(n^2)`` time and memory per ranked vector (16 384 elements of temporary
    storage for ``n = 128``), which is cheap at the batch sizes a predictor is trained with;
    for vectors of many thousands of elements use ``backend="torchsort"`` (``O(n log n)``).

Precision:
    Rows are centred before ranking, so a large common offset costs no accuracy. What is left
    is the rounding of ``(values - mean) / regularization_strength``: in float32 the soft ranks
    are accurate to about ``1e-7`` times its largest magnitude (``1e-5`` when it spans about
    100, ``1e-3`` when it spans ``1e4``), a little less for ``"kl"`` near-ties. Half-precision
    inputs are ranked in half precision; convert them to float32 first.
"""

from __future__ import annotations

import functools
import math
from typing import Literal, NamedTuple, get_args

import torch
import torch.nn.functional as F
from torch import Tensor

from autobuild._validation import check_choice, check_number
from autobuild.exceptions import ConfigError
from autobuild.predictor.config import LOSS_MODES, LossMode

__all__ = [
    "BACKENDS",
    "LOSS_MODES",
    "REGULARIZATIONS",
    "HopRankingLoss",
    "rank_average_ties",
    "soft_rank",
]

Regularization = Literal["l2", "kl"]
REGULARIZATIONS: tuple[Regularization, ...] = get_args(Regularization)
"""Regularisations accepted by :func:`soft_rank`."""

Backend = Literal["torch", "torchsort"]
BACKENDS: tuple[Backend, ...] = get_args(Backend)
"""Soft-rank implementations: ``"torch"`` (built in) or ``"torchsort"`` (optional package)."""


# --------------------------------------------------------------------------- validation


def _check_backend(backend: object) -> Backend:
    """Validate ``backend``; ``"torchsort"`` additionally needs the package to be importable."""
    backend = check_choice("backend", backend, BACKENDS)
    if backend == "torchsort":
        try:
            import torchsort  # noqa: F401
        except ImportError:
            raise ConfigError(
                "`backend='torchsort'` needs the optional `torchsort` package, which is not "
                "installed; use backend='torch' (same result, built in)."
            ) from None
    return backend


# --------------------------------------------------------------------------- soft rank


class _Constants(NamedTuple):
    """Index-only tensors reused by every soft-rank call of one length, dtype and device."""

    weights: Tensor  # `n`-dim: the permutahedron generator w = (n, n - 1, ..., 1)
    inv_length: Tensor  # `n x n`: 1 / (j - k + 1) on k <= j (1 below the diagonal)
    plus_inf: Tensor  # `n x n`: 0 on k <= j, +inf on k > j (masks a min over k)
    minus_inf: Tensor  # `n x n`: 0 on k <= j, -inf on k > j (masks a max over j)
    below: Tensor  # `n x n`: 1 on k > j, 0 on k <= j
    log_weight_sums: Tensor  # `n x n`: log(w_k + ... + w_j) on k <= j (0 below the diagonal)


@functools.lru_cache(maxsize=16)
def _constants(n: int, dtype: torch.dtype, device: torch.device) -> _Constants:
    """Build (once per ``n``, ``dtype`` and ``device``) the constant soft-rank tensors."""
    index = torch.arange(n, device=device)
    k, j = index.unsqueeze(-1), index.unsqueeze(0)
    below = k > j
    length = (j - k + 1).clamp(min=1)
    # sum_{l=k}^{j} (n - l) = length * (2n - k - j) / 2, exact in integers
    weight_sums = torch.where(below, 1, length * (2 * n - k - j) // 2)
    plus_inf = torch.zeros((n, n), dtype=dtype, device=device).masked_fill(below, math.inf)
    return _Constants(
        weights=torch.arange(n, 0, -1, device=device).to(dtype),
        inv_length=length.to(dtype).reciprocal(),
        plus_inf=plus_inf,
        minus_inf=-plus_inf,
        below=below.to(dtype),
        log_weight_sums=weight_sums.to(dtype).log(),
    )


def _block_ids(ends_here: Tensor, starts_here: Tensor) -> Tensor:
    """Label the blocks of a decreasing isotonic regression.

    Element ``e`` closes a block exactly when the best block ending at ``e`` is at least the
    best block starting at ``e + 1`` (the point after ``e`` is on the least concave majorant
    of the cumulative-sum diagram).

    Args:
        ends_here: ``(..., n)`` ``min_{k <= e} value(k..e)`` for every element ``e``.
        starts_here: ``(..., n)`` ``max_{j >= e} value(e..j)`` for every element ``e``.

    Returns:
        ``(..., n)`` int64 block index of each element, ``0, 0, 1, 2, 2, ...`` (contiguous).
    """
    boundary = ends_here[..., :-1] >= starts_here[..., 1:]
    return F.pad(boundary.cumsum(dim=-1), (1, 0))


def _isotonic_l2(u: Tensor) -> Tensor:
    """Least-squares decreasing isotonic regression along the last dimension.

    Solves ``argmin_v ||v - u||^2`` subject to ``v_1 >= v_2 >= ... >= v_n``, like
    ``scipy.optimize.isotonic_regression(u, increasing=False)``, for every leading index.

    Args:
        u: ``(..., n)`` values, ``n >= 1``.

    Returns:
        ``(..., n)`` the regression, differentiable in ``u`` (block averages).
    """
    const = _constants(u.shape[-1], u.dtype, u.device)
    with torch.no_grad():
        # Centring leaves the blocks unchanged and keeps the prefix sums small.
        centred = u - u.mean(dim=-1, keepdim=True)
        inclusive = centred.cumsum(dim=-1)
        exclusive = inclusive - centred
        # means[..., k, j] = mean(u_k..u_j), garbage for k > j (masked below); in place.
        means = (inclusive.unsqueeze(-2) - exclusive.unsqueeze(-1)).mul_(const.inv_length)
        ends_here = (means + const.plus_inf).amin(dim=-2)  # min over k <= j (columns)
        starts_here = means.add_(const.minus_inf).amax(dim=-1)  # max over j >= k (rows)
        ids = _block_ids(ends_here, starts_here)
        counts = torch.zeros_like(u).scatter_add_(-1, ids, torch.ones_like(u)).clamp_(min=1)
    block_sums = torch.zeros_like(u).scatter_add(-1, ids, u)
    return (block_sums / counts).gather(-1, ids)


def _project_l2(s: Tensor, const: _Constants) -> Tensor:
    """Euclidean projection of sorted (descending) ``s`` onto the permutahedron of ``w``."""
    return s - _isotonic_l2(s - const.weights)


def _project_kl(s: Tensor, const: _Constants) -> Tensor:
    """KL projection of sorted (descending) ``s`` onto the permutahedron of ``w``.

    Blondel et al.'s ``exp(s - v)`` with ``v`` the decreasing isotonic regression under the
    loss ``sum_i exp(s_i - v_i) + w_i v_i``, whose block optimum is
    ``logsumexp(s_B) - log(sum(w_B))``; inside each block the result is
    ``sum(w_B) * softmax(s_B)``.
    """
    with torch.no_grad():
        # tail[k, j] = sum_{l=k}^{j} exp(s_l - s_k) >= 1: s_k is the largest term of the
        # segment (s is sorted), so this log-sum-exp neither overflows nor cancels.
        terms = (s.unsqueeze(-2) - s.unsqueeze(-1)).add_(const.minus_inf).exp_()  # 0 if l < k
        tail = terms.cumsum(dim=-1).add_(const.below)  # 1 (not 0) for k > j: finite logs
        # segments[..., k, j] = logsumexp(s_k..s_j) - log(w_k + ... + w_j); in place.
        segments = tail.log_().add_(s.unsqueeze(-1)).sub_(const.log_weight_sums)
        ends_here = (segments + const.plus_inf).amin(dim=-2)
        starts_here = segments.add_(const.minus_inf).amax(dim=-1)
        ids = _block_ids(ends_here, starts_here)
        zeros = torch.zeros_like(s)
        block_max = zeros.scatter_reduce(-1, ids, s, "amax", include_self=False)
        weight_sums = zeros.scatter_add(-1, ids, const.weights.expand_as(s))
        unused = weight_sums == 0
    shifted = torch.exp(s - block_max.gather(-1, ids))
    normaliser = torch.zeros_like(s).scatter_add(-1, ids, shifted).masked_fill(unused, 1.0)
    return shifted * (weight_sums / normaliser).gather(-1, ids)


def soft_rank(
    values: Tensor,
    regularization_strength: float = 1.0,
    regularization: Regularization = "l2",
    backend: Backend = "torch",
) -> Tensor:
    """Differentiable ranks of ``values`` along the last dimension (Blondel et al., 2020).

    Ranks are ascending, as in ``torchsort.soft_rank`` and :func:`scipy.stats.rankdata`: the
    smallest value gets a rank near 1 and the largest one near ``n``. The ranks of each row
    always sum to ``n (n + 1) / 2``; they approach the exact ranks as
    ``regularization_strength`` goes to 0 and the mean rank ``(n + 1) / 2`` as it grows. Since
    ranks of ``values / regularization_strength`` are computed, the strength is in the units
    of ``values``: sorted neighbours closer than about ``regularization_strength`` get mixed
    ranks.

    Args:
        values: ``(..., n)`` finite floating-point values; every leading index is ranked
            independently (``n >= 0``).
        regularization_strength: ``epsilon > 0``; smaller is closer to hard ranks.
        regularization: ``"l2"`` (quadratic, piecewise linear in ``values``) or ``"kl"``
            (entropic, smooth inside each block).
        backend: ``"torch"`` (built in, ``O(n^2)`` memory per row, works on every device and
            dtype) or ``"torchsort"`` (the optional ``torchsort`` package, same result).

    Returns:
        ``(..., n)`` soft ranks, in the dtype and on the device of ``values``, differentiable
        with respect to ``values``.

    Raises:
        ConfigError: If an argument is invalid, ``values`` is 0-dimensional or not floating
            point, or ``backend="torchsort"`` is requested but not installed.
    """
    strength = check_number("regularization_strength", regularization_strength, low=0, strict=True)
    regularization = check_choice("regularization", regularization, REGULARIZATIONS)
    backend = _check_backend(backend)
    if values.ndim == 0:
        raise ConfigError("`values` must have at least one dimension, got a 0-dim tensor.")
    if not values.is_floating_point():
        raise ConfigError(f"`values` must be a floating-point tensor, got dtype {values.dtype}.")
    n = values.shape[-1]
    if n == 0 or values.numel() == 0:
        return values * 1.0
    if backend == "torchsort":
        import torchsort

        ranks: Tensor = torchsort.soft_rank(
            values.reshape(-1, n),
            regularization=regularization,
            regularization_strength=strength,
        )
        return ranks.reshape(values.shape)
    const = _constants(n, values.dtype, values.device)
    # Soft ranks are invariant to a shift of each row: centring keeps the magnitudes, hence the
    # rounding errors, small when the values share a large offset (as embedding norms do).
    # Treating the shift as a constant keeps the gradient exact, since the Jacobian of the
    # ranks maps (1, ..., 1) to zero.
    scaled = values - values.detach().mean(dim=-1, keepdim=True)
    if strength != 1.0:
        scaled = scaled / strength
    sorted_values, order = torch.sort(scaled, dim=-1, descending=True)
    if regularization == "l2":
        sorted_ranks = _project_l2(sorted_values, const)
    else:
        sorted_ranks = _project_kl(sorted_values, const)
    return torch.empty_like(sorted_ranks).scatter(-1, order, sorted_ranks)


def rank_average_ties(values: Tensor) -> Tensor:
    """Exact ranks ``1..n`` along the last dimension, ties sharing their average rank.

    Equivalent to ``scipy.stats.rankdata(values, method="average", axis=-1)``: the rank of
    ``x_i`` is ``(#{x_j < x_i} + #{x_j <= x_i} + 1) / 2``, both counts found by binary search in
    the sorted row (no Python loop), without gradient. NaNs have no meaningful rank.

    Args:
        values: ``(..., n)`` values of any real dtype.

    Returns:
        ``(..., n)`` ranks, in the dtype of ``values`` if it is floating point, otherwise in
        the default dtype; detached from the autograd graph.

    Raises:
        ConfigError: If ``values`` is 0-dimensional.
    """
    if values.ndim == 0:
        raise ConfigError("`values` must have at least one dimension, got a 0-dim tensor.")
    dtype = values.dtype if values.is_floating_point() else torch.get_default_dtype()
    with torch.no_grad():
        ordered = values.sort(dim=-1).values
        less = torch.searchsorted(ordered, values)  # number of elements < x_i
        less_or_equal = torch.searchsorted(ordered, values, right=True)  # number <= x_i
        return (less + less_or_equal + 1).to(dtype) / 2


# --------------------------------------------------------------------------- loss


class HopRankingLoss(torch.nn.Module):
    """MSE on standardised labels + λ · mean_m (1 − ρ_m).

    ``ρ_m`` correlates the labels with the soft ranks (:func:`soft_rank`) of the hop-``m``
    embedding norms over the batch, for every hop ``m = 0..M`` at once. Two modes:

    * ``"spearman"`` (default): ``ρ_m = Pearson(rank(target), soft_rank(hop_norms[m]))`` with
      exact average-tie ranks of the labels: a true (soft) Spearman correlation, invariant to
      any increasing transformation of the labels.
    * ``"reference"``: ``ρ_m = Pearson(target, soft_rank(hop_norms[m]))`` on the raw labels,
      as in the authors' code; it rewards norms whose ranks are linear in the labels.

    Pearson centres both vectors, divides each by its L2 norm plus ``eps`` and takes their dot
    product, so a constant vector gives ``ρ = 0`` rather than NaN.

    Degenerate cases, which return the MSE alone with a zero rank term and zero ``rho``
    (no NaN): ``corr_lambda == 0`` (the soft ranks are then not computed at all, and the loss
    is exactly the MSE) and batches of fewer than two samples, which have no correlation.

    Args:
        corr_lambda: Weight ``λ >= 0`` of the ranking term.
        mode: ``"spearman"`` or ``"reference"``.
        regularization_strength: Soft-rank ``epsilon > 0``, in units of the hop norms.
        regularization: Soft-rank regularisation, ``"l2"`` or ``"kl"``.
        backend: Soft-rank backend, ``"torch"`` or ``"torchsort"``.
        eps: ``> 0``, added to the norms in the Pearson correlation.

    Raises:
        ConfigError: If an argument is invalid.

    Example:
        >>> loss_fn = HopRankingLoss(corr_lambda=1.0)
        >>> pred, target = torch.randn(8), torch.randn(8)
        >>> hop_norms = torch.rand(3, 8, requires_grad=True)
        >>> loss, parts = loss_fn(pred, target, hop_norms)
        >>> sorted(parts)
        ['mse', 'rank', 'rho']
    """

    def __init__(
        self,
        corr_lambda: float = 1.0,
        mode: LossMode = "spearman",
        regularization_strength: float = 1.0,
        regularization: Regularization = "l2",
        backend: Backend = "torch",
        eps: float = 1e-8,
    ) -> None:
        super().__init__()
        self.corr_lambda = check_number("corr_lambda", corr_lambda, low=0)
        self.mode = check_choice("mode", mode, LOSS_MODES)
        self.regularization_strength = check_number(
            "regularization_strength", regularization_strength, low=0, strict=True
        )
        self.regularization = check_choice("regularization", regularization, REGULARIZATIONS)
        self.backend = _check_backend(backend)
        self.eps = check_number("eps", eps, low=0, strict=True)

    def extra_repr(self) -> str:
        """Summarise the hyper-parameters for ``repr``."""
        return (
            f"corr_lambda={self.corr_lambda}, mode={self.mode!r}, "
            f"regularization_strength={self.regularization_strength}, "
            f"regularization={self.regularization!r}, backend={self.backend!r}, eps={self.eps}"
        )

    def forward(
        self, pred: Tensor, target: Tensor, hop_norms: Tensor
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Compute the loss of one batch.

        Args:
            pred: ``B``-dim predictions.
            target: ``B``-dim standardised labels.
            hop_norms: ``(M + 1) x B`` L1 norms of the graph embeddings after hops ``0..M``.

        Returns:
            ``(loss, parts)``: the scalar loss, and detached parts for logging: ``"mse"``
            (scalar), ``"rank"`` (scalar ``mean_m (1 - ρ_m)``) and ``"rho"`` (``M + 1``-dim
            correlations ``ρ_m``).

        Raises:
            ConfigError: If the shapes do not match or the batch is empty.
        """
        if pred.ndim != 1 or target.shape != pred.shape:
            raise ConfigError(
                "`pred` and `target` must both have shape (B,), got "
                f"{tuple(pred.shape)} and {tuple(target.shape)}."
            )
        batch = pred.shape[0]
        if hop_norms.ndim != 2 or hop_norms.shape[0] < 1 or hop_norms.shape[1] != batch:
            raise ConfigError(
                f"`hop_norms` must have shape (M + 1, B) = (M + 1, {batch}) with M + 1 >= 1, "
                f"got {tuple(hop_norms.shape)}."
            )
        if batch == 0:
            raise ConfigError("The batch is empty (B = 0); the MSE is undefined.")
        mse = F.mse_loss(pred, target)
        if self.corr_lambda == 0 or batch < 2:
            zero = mse.new_zeros(())
            return mse, {
                "mse": mse.detach(),
                "rank": zero,
                "rho": mse.new_zeros(hop_norms.shape[0]),
            }
        ranks = soft_rank(
            hop_norms,
            regularization_strength=self.regularization_strength,
            regularization=self.regularization,
            backend=self.backend,
        )
        # Soft ranks (a point of the permutahedron) and exact average-tie ranks both have mean
        # (B + 1) / 2 exactly, so they are centred with that constant rather than a mean.
        mean_rank = (batch + 1) / 2
        if self.mode == "spearman":
            labels = rank_average_ties(target) - mean_rank
        else:
            labels = target - target.mean()
        labels = (labels / (torch.linalg.vector_norm(labels) + self.eps)).to(ranks.dtype)
        ranks = ranks - mean_rank
        rho = (ranks @ labels) / (torch.linalg.vector_norm(ranks, dim=-1) + self.eps)
        rank_term = 1 - rho.mean()
        loss = torch.add(mse, rank_term, alpha=self.corr_lambda)
        return loss, {"mse": mse.detach(), "rank": rank_term.detach(), "rho": rho.detach()}
