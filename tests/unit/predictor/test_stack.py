"""Choosing the prediction stack's weights on held-out predictions."""

from __future__ import annotations

import numpy as np
import pytest

from autobuild.metrics import spearman
from autobuild.predictor.nn.wide import ridge_loo
from autobuild.predictor.stack import (
    GRID_STEP,
    SPEARMAN_TIE,
    StackChoice,
    choose_stack,
    fold_parts,
)


@pytest.fixture
def target():
    return np.random.default_rng(0).normal(size=200)


def _noisy(target, scale, seed):
    return target + np.random.default_rng(100 + seed).normal(scale=scale, size=len(target))


def test_a_perfect_ridge_takes_all_the_weight(target):
    deep, hops = _noisy(target, 1.0, 1), np.stack([_noisy(target, 1.0, 2)] * 3, 1)
    choice = choose_stack(target, deep, target.copy(), hops)
    assert (choice.weight, choice.hop_weight) == (1.0, 0.0)
    assert choice.srcc == pytest.approx(1.0)
    assert choice.srcc_wide == pytest.approx(1.0)


def test_the_best_hop_is_stacked(target):
    hops = np.stack([_noisy(target, s, i) for i, s in enumerate((2.0, 0.0, 1.0))], 1)
    choice = choose_stack(target, _noisy(target, 1.0, 5), _noisy(target, 1.0, 6), hops)
    assert choice.hop == 1
    assert choice.hop_weight == 1.0
    assert choice.srcc_hop == pytest.approx(1.0)


def test_ties_favour_the_gnn(target):
    same = _noisy(target, 0.5, 1)
    choice = choose_stack(target, same, same.copy(), np.stack([same, same], 1))
    assert (choice.weight, choice.hop_weight) == (0.0, 0.0)
    assert choice.srcc == choice.srcc_gnn == pytest.approx(spearman(target, same))


def test_blending_noisy_parts_beats_each_of_them(target):
    parts = [_noisy(target, 1.0, s) for s in (1, 2, 3)]
    choice = choose_stack(target, parts[0], parts[1], parts[2][:, None])
    assert 0.0 < choice.weight < 1.0
    assert 0.0 < choice.hop_weight < 1.0
    assert choice.srcc > max(choice.srcc_gnn, choice.srcc_wide, choice.srcc_hop)
    # Weights lie on the grid of the simplex.
    for w in (choice.weight, choice.hop_weight):
        assert w / GRID_STEP == pytest.approx(round(w / GRID_STEP))
    assert choice.weight + choice.hop_weight <= 1.0


def test_a_constant_hop_is_never_picked(target):
    hops = np.stack([np.ones_like(target), _noisy(target, 3.0, 1)], 1)
    choice = choose_stack(target, _noisy(target, 1.0, 2), _noisy(target, 1.0, 3), hops)
    assert choice.hop == 1
    assert np.isfinite(choice.srcc_hop)


def test_the_choice_is_json_ready(target):
    choice = choose_stack(target, target, target, target[:, None])
    d = choice.as_dict()
    assert set(d) == {"weight", "hop", "hop_weight", "srcc", "srcc_gnn", "srcc_wide", "srcc_hop"}
    assert StackChoice(**d) == choice


def test_fold_parts_map_norms_monotonically_and_fit_the_ridge_on_the_training_half():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(60, 5)).astype(float)
    t = x @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + rng.normal(scale=0.1, size=60)
    norms = np.stack([3 * t + 7, np.full(60, 2.0)], 1)
    hops, wide = fold_parts(norms[:40], norms[40:], x[:40], x[40:], t[:40])
    # A monotone norm is inverted up to the map's strictness ramp (a thousandth of the spread).
    np.testing.assert_allclose(hops[:, 0], t[40:], atol=2e-3 * t[:40].std())
    np.testing.assert_allclose(hops[:, 1], t[:40].mean())  # a constant norm: the mean
    coef, intercept, _ = ridge_loo(x[:40], t[:40])
    np.testing.assert_allclose(wide, x[40:] @ coef + intercept)


def test_near_ties_go_to_the_smaller_absolute_error(target):
    # The ridge ranks as well as the GNN but is off by a constant: the GNN is kept.
    deep = target.copy()
    choice = choose_stack(target, deep, deep + 5.0, _noisy(target, 3.0, 1)[:, None])
    assert (choice.weight, choice.hop_weight) == (0.0, 0.0)
    # A ridge that ranks a little better, within the tie, but is far off, is not preferred.
    deep = _noisy(target, 0.05, 2)
    better = target * 1.0 + 3.0
    choice = choose_stack(target, deep, better, _noisy(target, 3.0, 3)[:, None])
    assert choice.srcc >= choice.srcc_wide - SPEARMAN_TIE
    assert choice.weight < 1.0
