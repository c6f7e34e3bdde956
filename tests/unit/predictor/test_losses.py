"""Tests for the soft rank and the AutoBuild hop-ranking loss."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import scipy.optimize
import scipy.special
import scipy.stats
import torch
import torch.nn.functional as F

from autobuild.exceptions import AutobuildError, ConfigError
from autobuild.predictor import losses
from autobuild.predictor.losses import HopRankingLoss, rank_average_ties, soft_rank

REGULARIZATIONS = ["l2", "kl"]


# --------------------------------------------------------------------------- references


def _pav_decreasing(n: int, value: Callable[[int, int], float]) -> list[tuple[int, int]]:
    """Pool adjacent violators: blocks ``[a, b)`` of a decreasing isotonic regression."""
    blocks: list[tuple[int, int]] = []
    for i in range(n):
        blocks.append((i, i + 1))
        while len(blocks) > 1 and value(*blocks[-2]) < value(*blocks[-1]):
            start, _ = blocks[-2]
            _, end = blocks.pop()
            blocks[-1] = (start, end)
    return blocks


def _reference_soft_rank(values: np.ndarray, strength: float, regularization: str) -> np.ndarray:
    """Blondel et al.'s soft rank of a 1-D array, with a loop-based PAV (float64)."""
    n = len(values)
    z = np.asarray(values, dtype=np.float64) / strength
    order = np.argsort(-z, kind="stable")
    s = z[order]
    w = np.arange(n, 0, -1, dtype=np.float64)
    projected = np.empty(n)
    if regularization == "l2":
        u = s - w
        for a, b in _pav_decreasing(n, lambda a, b: float(u[a:b].mean())):
            projected[a:b] = s[a:b] - u[a:b].mean()
    else:

        def kl_value(a: int, b: int) -> float:
            return float(scipy.special.logsumexp(s[a:b]) - np.log(w[a:b].sum()))

        for a, b in _pav_decreasing(n, kl_value):
            projected[a:b] = np.exp(s[a:b] - kl_value(a, b))
    ranks = np.empty(n)
    ranks[order] = projected
    return ranks


def _separated(n: int, seed: int, gap: float = 0.37) -> torch.Tensor:
    """``n`` distinct float64 values in random order, neighbours at least ``gap / 2`` apart."""
    generator = torch.Generator().manual_seed(seed)
    base = torch.randperm(n, generator=generator).double() * gap
    return base + 0.25 * gap * torch.rand(n, generator=generator, dtype=torch.float64)


# --------------------------------------------------------------------------- soft rank


@pytest.mark.parametrize("regularization", REGULARIZATIONS)
def test_soft_rank_approaches_exact_ranks_for_small_strength(regularization: str) -> None:
    values = torch.randn(4, 30, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ranks = soft_rank(values, regularization_strength=1e-3, regularization=regularization)
    expected = scipy.stats.rankdata(values.numpy(), axis=-1)
    np.testing.assert_allclose(ranks.numpy(), expected, atol=1e-6)


@pytest.mark.parametrize("regularization", REGULARIZATIONS)
def test_soft_rank_approaches_mean_rank_for_large_strength(regularization: str) -> None:
    values = torch.randn(2, 25, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ranks = soft_rank(values, regularization_strength=1e4, regularization=regularization)
    np.testing.assert_allclose(ranks.numpy(), 13.0, atol=1e-2)


@pytest.mark.parametrize("regularization", REGULARIZATIONS)
@pytest.mark.parametrize("strength", [1e-3, 0.1, 1.0, 10.0, 1e3])
def test_soft_rank_sums_to_the_permutahedron_total(regularization: str, strength: float) -> None:
    values = torch.randn(3, 40, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    ranks = soft_rank(values, regularization_strength=strength, regularization=regularization)
    np.testing.assert_allclose(ranks.sum(-1).numpy(), 40 * 41 / 2, rtol=1e-12)


def test_isotonic_regression_matches_scipy_batched() -> None:
    generator = torch.Generator().manual_seed(3)
    u = torch.cat(
        [
            torch.randn(6, 40, generator=generator, dtype=torch.float64),
            # many exact ties and long increasing runs (large blocks)
            torch.randint(0, 4, (3, 40), generator=generator).double(),
            torch.linspace(-1, 1, 40, dtype=torch.float64).expand(1, 40),
        ]
    ).reshape(2, 5, 40)
    result = losses._isotonic_l2(u)
    expected = np.stack(
        [
            scipy.optimize.isotonic_regression(row, increasing=False).x
            for row in u.reshape(-1, 40).numpy()
        ]
    ).reshape(2, 5, 40)
    np.testing.assert_allclose(result.numpy(), expected, atol=1e-12)


def test_isotonic_regression_float32_is_accurate() -> None:
    u = torch.randn(4, 128, generator=torch.Generator().manual_seed(4)) * 100 + 1e4
    expected = np.stack(
        [scipy.optimize.isotonic_regression(row, increasing=False).x for row in u.double().numpy()]
    )
    np.testing.assert_allclose(losses._isotonic_l2(u).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("regularization", REGULARIZATIONS)
@pytest.mark.parametrize("strength", [0.05, 0.3, 1.0, 5.0])
def test_soft_rank_matches_loop_reference(regularization: str, strength: float) -> None:
    generator = torch.Generator().manual_seed(5)
    values = torch.randn(5, 33, generator=generator, dtype=torch.float64)
    ranks = soft_rank(values, regularization_strength=strength, regularization=regularization)
    expected = np.stack([_reference_soft_rank(row, strength, regularization) for row in values])
    np.testing.assert_allclose(ranks.numpy(), expected, atol=1e-10)


@pytest.mark.parametrize("regularization", REGULARIZATIONS)
def test_soft_rank_float32_matches_float64(regularization: str) -> None:
    values = torch.randn(5, 128, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    values = values * 10 + 50
    ranks64 = soft_rank(values, regularization=regularization)
    ranks32 = soft_rank(values.float(), regularization=regularization)
    assert ranks32.dtype == torch.float32
    np.testing.assert_allclose(ranks32.double().numpy(), ranks64.numpy(), atol=1e-3)


@pytest.mark.parametrize("regularization", REGULARIZATIONS)
def test_soft_rank_batched_equals_per_row(regularization: str) -> None:
    values = torch.randn(3, 20, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    batched = soft_rank(values, regularization_strength=0.5, regularization=regularization)
    for row, expected in zip(values, batched, strict=True):
        single = soft_rank(row, regularization_strength=0.5, regularization=regularization)
        torch.testing.assert_close(single, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("regularization", REGULARIZATIONS)
def test_soft_rank_gives_ties_equal_ranks(regularization: str) -> None:
    values = torch.tensor([0.3, 2.0, 0.3, -1.0, 2.0], dtype=torch.float64)
    ranks = soft_rank(values, regularization_strength=1e-3, regularization=regularization)
    torch.testing.assert_close(ranks, torch.tensor([2.5, 4.5, 2.5, 1.0, 4.5], dtype=torch.float64))


def test_soft_rank_handles_tiny_lengths() -> None:
    torch.testing.assert_close(soft_rank(torch.tensor([[4.2], [-1.0]])), torch.ones(2, 1))
    empty = torch.empty(3, 0)
    assert soft_rank(empty).shape == (3, 0)


@pytest.mark.parametrize("regularization", REGULARIZATIONS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_soft_rank_gradient_matches_finite_differences(regularization: str, seed: int) -> None:
    values = torch.stack([_separated(9, seed), _separated(9, seed + 10)]).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x: soft_rank(x, regularization_strength=1.0, regularization=regularization),
        (values,),
    )


def test_soft_rank_gradient_averages_over_blocks() -> None:
    # Three values within the strength of each other form one block: the Jacobian of the
    # l2 soft rank is then the centring matrix / strength on that block.
    values = torch.tensor([0.0, 0.1, 0.2], dtype=torch.float64)
    jacobian = torch.autograd.functional.jacobian(lambda x: soft_rank(x, 10.0), values)
    expected = (torch.eye(3, dtype=torch.float64) - 1 / 3) / 10.0
    torch.testing.assert_close(jacobian, expected)


# --------------------------------------------------------------------------- exact ranks


def test_rank_average_ties_matches_scipy() -> None:
    values = torch.randint(0, 6, (2, 3, 17), generator=torch.Generator().manual_seed(8))
    ranks = rank_average_ties(values.double())
    expected = scipy.stats.rankdata(values.numpy(), method="average", axis=-1)
    np.testing.assert_array_equal(ranks.numpy(), expected)


def test_rank_average_ties_dtype_and_grad() -> None:
    assert rank_average_ties(torch.tensor([3, 1, 2])).dtype == torch.get_default_dtype()
    values = torch.tensor([0.5, -1.0], requires_grad=True)
    ranks = rank_average_ties(values)
    assert not ranks.requires_grad
    torch.testing.assert_close(ranks, torch.tensor([2.0, 1.0]))


# --------------------------------------------------------------------------- loss


def _batch(seed: int, batch: int = 32, hops: int = 4) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    pred = torch.randn(batch, generator=generator, dtype=torch.float64)
    target = torch.randn(batch, generator=generator, dtype=torch.float64)
    hop_norms = torch.rand(hops, batch, generator=generator, dtype=torch.float64) * 10
    return pred, target, hop_norms


def test_loss_is_exactly_the_mse_when_lambda_is_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> torch.Tensor:
        raise AssertionError("soft_rank must not be called when corr_lambda == 0")

    monkeypatch.setattr(losses, "soft_rank", fail)
    pred, target, hop_norms = _batch(0)
    loss, parts = HopRankingLoss(corr_lambda=0.0)(pred, target, hop_norms)
    assert torch.equal(loss, F.mse_loss(pred, target))
    assert torch.equal(parts["mse"], loss)
    assert parts["rank"].item() == 0.0
    assert torch.equal(parts["rho"], torch.zeros(4, dtype=torch.float64))


def test_loss_combines_mse_and_rank_term() -> None:
    pred, target, hop_norms = _batch(1)
    loss, parts = HopRankingLoss(corr_lambda=0.5)(pred, target, hop_norms)
    assert parts["rho"].shape == (4,)
    torch.testing.assert_close(parts["rank"], (1 - parts["rho"]).mean())
    torch.testing.assert_close(loss, parts["mse"] + 0.5 * parts["rank"])
    assert not any(part.requires_grad for part in parts.values())


def test_rank_term_vanishes_for_a_monotone_relation() -> None:
    target = torch.randn(64, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    hop_norms = torch.stack([torch.exp(target), 3 * target + 1, target**3])  # increasing maps
    pred = torch.zeros_like(target)
    rank_terms = [
        HopRankingLoss(regularization_strength=strength)(pred, target, hop_norms)[1]["rank"]
        for strength in (1.0, 1e-1, 1e-3, 1e-6)
    ]
    assert rank_terms[0] > rank_terms[-1]
    assert rank_terms[-1].item() < 1e-8  # only the Pearson eps is left


def test_reference_mode_differs_from_spearman_for_nonlinear_targets() -> None:
    x = torch.randn(64, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    target = torch.exp(2 * x)  # non-linear in its rank
    hop_norms = x.unsqueeze(0)
    pred = torch.zeros_like(x)
    spearman = HopRankingLoss(mode="spearman", regularization_strength=1e-4)
    reference = HopRankingLoss(mode="reference", regularization_strength=1e-4)
    spearman_rank = spearman(pred, target, hop_norms)[1]["rank"]
    reference_rank = reference(pred, target, hop_norms)[1]["rank"]
    assert spearman_rank.item() < 1e-8
    assert reference_rank.item() > 0.05


def test_reference_mode_uses_the_raw_labels() -> None:
    pred, target, hop_norms = _batch(4, batch=16, hops=2)
    rho = HopRankingLoss(mode="reference")(pred, target, hop_norms)[1]["rho"]
    ranks = soft_rank(hop_norms)
    expected = [np.corrcoef(target.numpy(), row.numpy())[0, 1] for row in ranks]
    np.testing.assert_allclose(rho.numpy(), expected, atol=1e-7)


def test_anti_correlated_hop_gives_rank_term_two() -> None:
    target = torch.randn(50, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    pred = torch.zeros_like(target)
    loss_fn = HopRankingLoss(regularization_strength=1e-4)
    _, parts = loss_fn(pred, target, (-target).unsqueeze(0))
    assert parts["rank"].item() == pytest.approx(2.0, abs=1e-9)
    _, parts = loss_fn(pred, target, torch.stack([target, -target]))
    np.testing.assert_allclose(parts["rho"].numpy(), [1.0, -1.0], atol=1e-9)
    assert parts["rank"].item() == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("mode", ["spearman", "reference"])
@pytest.mark.parametrize("regularization", REGULARIZATIONS)
def test_loss_gradient_matches_finite_differences(mode: str, regularization: str) -> None:
    generator = torch.Generator().manual_seed(6)
    target = torch.randn(8, generator=generator, dtype=torch.float64)
    pred = torch.randn(8, generator=generator, dtype=torch.float64, requires_grad=True)
    hop_norms = torch.stack([_separated(8, 20), _separated(8, 21)]).requires_grad_()
    loss_fn = HopRankingLoss(corr_lambda=0.7, mode=mode, regularization=regularization)
    assert torch.autograd.gradcheck(lambda p, h: loss_fn(p, target, h)[0], (pred, hop_norms))


def test_loss_is_finite_for_a_single_sample() -> None:
    pred, target, hop_norms = _batch(7, batch=1, hops=3)
    hop_norms.requires_grad_()
    loss, parts = HopRankingLoss()(pred, target, hop_norms)
    assert torch.isfinite(loss)
    torch.testing.assert_close(loss, F.mse_loss(pred, target))
    assert parts["rank"].item() == 0.0
    assert torch.equal(parts["rho"], torch.zeros(3, dtype=torch.float64))


def test_loss_gradient_is_finite_for_constant_inputs() -> None:
    pred = torch.zeros(6, requires_grad=True)
    hop_norms = torch.ones(2, 6, requires_grad=True)
    loss, parts = HopRankingLoss()(pred, torch.ones(6), hop_norms)
    loss.backward()
    assert parts["rank"].item() == pytest.approx(1.0)
    assert hop_norms.grad is not None
    assert torch.isfinite(hop_norms.grad).all()


def test_loss_trains_the_norms_towards_the_label_order() -> None:
    generator = torch.Generator().manual_seed(8)
    target = torch.randn(32, generator=generator)
    hop_norms = torch.rand(3, 32, generator=generator).requires_grad_()
    optimizer = torch.optim.SGD([hop_norms], lr=1.0)
    loss_fn = HopRankingLoss(regularization_strength=0.1)
    start = loss_fn(target, target, hop_norms)[1]["rank"]
    for _ in range(50):
        optimizer.zero_grad()
        loss_fn(target, target, hop_norms)[0].backward()
        optimizer.step()
    assert loss_fn(target, target, hop_norms)[1]["rank"] < 0.5 * start


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"regularization_strength": 0.0}, "got 0.0"),
        ({"regularization_strength": -1.0}, "got -1.0"),
        ({"regularization_strength": math.nan}, "got nan"),
        ({"regularization": "l1"}, "got 'l1'"),
        ({"backend": "jax"}, "got 'jax'"),
    ],
)
def test_soft_rank_rejects_bad_arguments(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        soft_rank(torch.randn(5), **kwargs)  # type: ignore[arg-type]


def test_soft_rank_rejects_bad_tensors() -> None:
    with pytest.raises(ConfigError, match="0-dim"):
        soft_rank(torch.tensor(1.0))
    with pytest.raises(ConfigError, match=r"torch\.int64"):
        soft_rank(torch.arange(4))
    with pytest.raises(ConfigError, match="0-dim"):
        rank_average_ties(torch.tensor(1.0))


def test_torchsort_backend_needs_the_package() -> None:
    try:
        import torchsort  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="torchsort"):
            soft_rank(torch.randn(5), backend="torchsort")
        with pytest.raises(ConfigError, match="torchsort"):
            HopRankingLoss(backend="torchsort")
    else:
        values = torch.randn(2, 9, dtype=torch.float64)
        torch.testing.assert_close(soft_rank(values, backend="torchsort"), soft_rank(values))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"corr_lambda": -1.0}, "`corr_lambda` must be a finite number >= 0, got -1.0."),
        ({"corr_lambda": math.inf}, "`corr_lambda` must be a finite number >= 0, got inf."),
        ({"mode": "foo"}, "`mode` must be one of ['spearman', 'reference'], got 'foo'."),
        ({"regularization_strength": 0}, "`regularization_strength` must be a finite number > 0"),
        ({"regularization": "entropy"}, "got 'entropy'"),
        ({"backend": None}, "got None"),
        ({"eps": -1e-8}, "`eps` must be a finite number > 0, got -1e-08."),
    ],
)
def test_loss_rejects_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        HopRankingLoss(**kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)
    assert isinstance(info.value, AutobuildError)


@pytest.mark.parametrize(
    ("shapes", "fragment"),
    [
        (((4,), (5,), (2, 4)), r"\(4,\) and \(5,\)"),
        (((4, 1), (4, 1), (2, 4)), r"\(4, 1\) and \(4, 1\)"),
        (((4,), (4,), (2, 5)), r"got \(2, 5\)"),
        (((4,), (4,), (4,)), r"got \(4,\)"),
        (((4,), (4,), (0, 4)), r"got \(0, 4\)"),
        (((0,), (0,), (2, 0)), "empty"),
    ],
)
def test_loss_rejects_mismatched_shapes(
    shapes: tuple[tuple[int, ...], ...], fragment: str
) -> None:
    pred, target, hop_norms = (torch.zeros(shape) for shape in shapes)
    with pytest.raises(ConfigError, match=fragment):
        HopRankingLoss()(pred, target, hop_norms)
