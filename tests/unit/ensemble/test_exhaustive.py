"""Tests for the Exhaustive Search engine (weighted ensemble over every architecture)."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
import torch
from tests.conftest import TINY_TOML, synthetic_acc

import autobuild as ab
from autobuild.ensemble import ExhaustiveResult, exhaustive_search
from autobuild.ensemble.exhaustive import _ChainWindows, _factorize, _window_predict
from autobuild.exceptions import ConfigError, SearchSpaceError
from autobuild.spaces import SearchSpace

TOL = 1e-5


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    return SearchSpace.from_dict(tomllib.loads(TINY_TOML))


@pytest.fixture(scope="module")
def members(space: SearchSpace) -> list[ab.AutoBuildPredictor]:
    archs = space.sample(60, seed=0)
    y = synthetic_acc(space, archs)
    return [
        ab.AutoBuildPredictor(space, random_state=i, epochs=3, corr_lambda=0.0).fit(archs, y)
        for i in range(3)
    ]


@pytest.fixture(scope="module")
def everything(space: SearchSpace, members: list[ab.AutoBuildPredictor]):
    archs = list(space.enumerate_architectures())
    return archs, np.stack([m.predict(archs) for m in members])


def _brute(preds: np.ndarray, weights: list[float]) -> tuple[np.ndarray, np.ndarray]:
    w = np.asarray(weights)
    score = w @ preds / w.sum()
    spread = np.sqrt(w @ (preds - score) ** 2 / w.sum())
    return score, spread


def _check(res: ExhaustiveResult, archs, preds, weights, top: int) -> None:
    score, spread = _brute(preds, weights)
    index = {a: i for i, a in enumerate(archs)}
    assert res.n_scored == len(archs)
    assert len(res.archs) == len(res.scores) == len(res.spreads) == top
    # The best scores, in order (robust to near-ties swapping architectures).
    np.testing.assert_allclose(res.scores, np.sort(score)[::-1][:top], atol=TOL, rtol=TOL)
    for a, s, d in zip(res.archs, res.scores, res.spreads, strict=True):
        assert s == pytest.approx(score[index[a]], abs=TOL, rel=TOL)
        assert d == pytest.approx(spread[index[a]], abs=TOL, rel=TOL)
    assert len(set(res.archs)) == top
    assert list(res.scores) == sorted(res.scores, reverse=True)


@pytest.mark.parametrize("batch_size", [16384, 97])
def test_top_n_equals_brute_force_ranking(members, everything, batch_size):
    archs, preds = everything
    weights = [0.9, 0.4, 0.7]
    res = exhaustive_search(members, weights, top=7, batch_size=batch_size)
    _check(res, archs, preds, weights, 7)
    assert res.seconds > 0


def test_plain_forward_gives_the_same_result(members, everything):
    archs, preds = everything
    res = exhaustive_search(members, [1, 2, 3], top=5, batch_size=500, dedup=False)
    _check(res, archs, preds, [1, 2, 3], 5)
    shared = exhaustive_search(members, [1, 2, 3], top=5, batch_size=500)
    assert shared.archs == res.archs
    np.testing.assert_allclose(shared.scores, res.scores, atol=TOL)


def test_zero_weight_excludes_a_member(members, everything):
    archs, preds = everything
    res = exhaustive_search(members, [0.0, 1.0, 0.0], top=3, batch_size=1000)
    _check(res, archs, preds, [0.0, 1.0, 0.0], 3)
    alone = exhaustive_search(members[1:2], [5.0], top=3)
    assert alone.archs == res.archs
    assert alone.spreads == pytest.approx([0.0] * 3, abs=1e-9)
    assert res.spreads == pytest.approx([0.0] * 3, abs=1e-9)


def test_ties_are_broken_by_enumeration_order(members, space):
    pred = members[0]

    class Constant(ab.AutoBuildPredictor):
        def predict_batch(self, batch, head="regressor"):  # type: ignore[override]
            return np.ones(batch.num_graphs)

    const = Constant(space, epochs=1)
    const.__dict__.update({k: v for k, v in pred.__dict__.items() if k.endswith("_")})
    res = exhaustive_search([const], [1.0], top=4, batch_size=7, dedup=False)
    assert list(res.archs) == list(space.enumerate_architectures())[:4]


def test_top_larger_than_space_returns_every_architecture(members, everything):
    archs, _ = everything
    res = exhaustive_search(members, [1, 1, 1], top=10**6, batch_size=2000)
    assert res.n_scored == len(archs)
    assert len(res.archs) == len(archs)
    assert set(res.archs) == set(archs)


def test_rows_for_top_csv(members, space):
    res = exhaustive_search(members, [1, 1, 1], top=2)
    rows = res.rows(space)
    assert [r["rank"] for r in rows] == [1, 2]
    assert set(rows[0]) == {"rank", "arch_id", "arch", "prediction", "spread"}
    assert space.parse(rows[0]["arch"]) == res.archs[0]
    assert rows[0]["arch_id"] == space.arch_id(res.archs[0])
    assert rows[1]["prediction"] == res.scores[1]


def test_refuses_a_space_too_large(members, space):
    with pytest.raises(SearchSpaceError, match=r"5,418 architectures.*max_architectures=1,000"):
        exhaustive_search(members, [1, 1, 1], max_architectures=1000)


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        ([1.0, 1.0], "one number per member"),
        ([1.0, -0.1, 1.0], r"members \[1\] have weights \[-0.1\]"),
        ([1.0, float("nan"), 1.0], "finite"),
        ([0.0, 0.0, 0.0], "All 3 weights are 0"),
        (["a", 1, 1], "must be numbers"),
    ],
)
def test_bad_weights(members, weights, match):
    with pytest.raises(ConfigError, match=match):
        exhaustive_search(members, weights)


def test_members_must_share_a_space(members):
    other = SearchSpace.from_dict(
        {
            "name": "other",
            "layer": {"kernel": [3, 5]},
            "stage": [{"min_layers": 1, "max_layers": 2}],
        }
    )
    archs = other.sample(6, seed=0)
    odd = ab.AutoBuildPredictor(other, random_state=0, epochs=1).fit(archs, np.arange(6.0))
    with pytest.raises(ConfigError, match="Member 3 was trained on space 'other'"):
        exhaustive_search([*members, odd], [1, 1, 1, 1])
    with pytest.raises(ConfigError, match="empty"):
        exhaustive_search([], [])


def test_bad_arguments(members):
    with pytest.raises(ConfigError, match="`top` must be an integer >= 1"):
        exhaustive_search(members, [1, 1, 1], top=0)
    with pytest.raises(ConfigError, match="`batch_size`"):
        exhaustive_search(members, [1, 1, 1], batch_size=0)
    with pytest.raises(ConfigError, match="head"):
        exhaustive_search(members, [1, 1, 1], head="nope")


def test_unit_head_runs_the_plain_forward(members, everything):
    archs, _ = everything
    preds = np.stack([m.predict(archs, head="mean") for m in members])
    res = exhaustive_search(members, [1, 1, 1], top=3, head="mean", batch_size=3000)
    _check(res, archs, preds, [1, 1, 1], 3)


@pytest.mark.parametrize("conv", ["gatv2", "graph", "gcn", "gin"])
@pytest.mark.parametrize("readout", ["mean", "sum", "max"])
def test_shared_windows_equal_the_plain_forward(space, everything, conv, readout):
    archs, _ = everything
    train = archs[::90]
    pred = ab.AutoBuildPredictor(
        space, random_state=0, epochs=2, corr_lambda=0.0, conv=conv, readout=readout
    ).fit(train, synthetic_acc(space, train))
    batch = pred.encoder.encode_architecture_range(1000, 3000)
    windows = _ChainWindows(batch, 4)
    assert windows.sizes[-1] <= batch.num_nodes
    np.testing.assert_allclose(
        _window_predict(pred, batch, windows), pred.predict_batch(batch), atol=TOL, rtol=TOL
    )


def test_shared_windows_with_slot_features_and_a_stacked_hop(space, everything):
    archs, _ = everything
    train = archs[::90]
    y = synthetic_acc(space, train)
    pred = ab.AutoBuildPredictor(
        space, random_state=0, epochs=2, slot_features=True, wide=0.3
    ).fit(train, y)
    norms = torch.from_numpy(pred.hop_norms(train)[:, 1])
    pred.model_.wide.set_hop(1, 0.5, norms, torch.from_numpy(y))
    batch = pred.encoder.encode_architecture_range(1000, 3000)
    np.testing.assert_allclose(
        _window_predict(pred, batch, _ChainWindows(batch, 4)),
        pred.predict_batch(batch),
        atol=TOL,
        rtol=TOL,
    )


def test_shared_windows_on_ofa_and_members_of_different_depths():
    space = ab.spaces.get("ofa-mbv3")
    train = space.sample(20, seed=0)
    y = np.arange(20.0)
    deep = ab.AutoBuildPredictor(space, random_state=0, epochs=1).fit(train, y)
    shallow = ab.AutoBuildPredictor(space, random_state=1, epochs=1, num_layers=2).fit(train, y)
    lo = 12_345_678_901
    batch = deep.encoder.encode_architecture_range(lo, lo + 3000)
    windows = _ChainWindows(batch, 4)
    for pred in (deep, shallow):
        # After one epoch on 20 labels some training norms nearly coincide, so the stacked
        # hop's quantile map is steep there and float32 summation order shows at ~1e-4.
        np.testing.assert_allclose(
            _window_predict(pred, batch, windows), pred.predict_batch(batch), atol=1e-3, rtol=1e-4
        )


def test_factorize_both_paths():
    rng = np.random.default_rng(0)
    for key in (rng.integers(0, 50, 1000), rng.integers(0, 2**60, 1000), np.array([7])):
        ids, rep = _factorize(key)
        values = np.unique(key)
        np.testing.assert_array_equal(values[ids], key)
        np.testing.assert_array_equal(key[rep], values)
