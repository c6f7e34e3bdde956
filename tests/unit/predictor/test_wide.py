"""The wide term: closed-form ridge with leave-one-out penalty, blended with the GNN."""

import json

import numpy as np
import pytest
import torch
from tests.conftest import synthetic_acc

import autobuild.spaces as S
from autobuild.baselines import one_hot_features
from autobuild.encoding import SequenceGraphEncoder
from autobuild.exceptions import ConfigError
from autobuild.predictor import AutoBuildPredictor, PredictorConfig
from autobuild.predictor.nn import WideTerm
from autobuild.predictor.nn.wide import HOP_KNOTS, monotone_apply, monotone_fit, ridge_loo


def _wide(space):
    enc = SequenceGraphEncoder(space)
    term = WideTerm(
        enc.categorical, enc.numeric, space.num_stages, max(s.max_layers for s in space.stages)
    )
    return enc, term


def test_leave_one_out_predictions_equal_refits_without_the_row():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 6))
    y = x @ rng.normal(size=6) + rng.normal(scale=0.5, size=30)
    coef, intercept, loo = ridge_loo(x, y, alphas=[0.7])
    for i in (0, 7, 29):
        keep = np.arange(30) != i
        c, b, _ = ridge_loo(x[keep], y[keep], alphas=[0.7])
        assert loo[i] == pytest.approx(x[i] @ c + b, rel=1e-9)
    # The full fit is the ridge solution: centred normal equations with penalty 0.7.
    xc = x - x.mean(0)
    expected = np.linalg.solve(xc.T @ xc + 0.7 * np.eye(6), xc.T @ (y - y.mean()))
    np.testing.assert_allclose(coef, expected, rtol=1e-9)
    assert intercept == pytest.approx(y.mean() - x.mean(0) @ expected)


def test_the_penalty_with_least_leave_one_out_error_is_chosen():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 30))
    y = rng.normal(size=40)  # pure noise: a strong penalty generalises best
    errors = {a: np.mean((y - ridge_loo(x, y, alphas=[a])[2]) ** 2) for a in (0.01, 1000.0)}
    _, _, loo = ridge_loo(x, y, alphas=[0.01, 1000.0])
    assert errors[1000.0] < errors[0.01]
    np.testing.assert_allclose(loo, ridge_loo(x, y, alphas=[1000.0])[2])


@pytest.mark.parametrize("name", ["ofa-mbv3", "nasbench-macro", "ofa-pn"])
def test_wide_features_span_the_one_hot_baseline_features(name):
    space = S.get(name)
    archs = space.sample(300, seed=0)
    enc, term = _wide(space)
    wide = term.features(enc.encode_batch(archs)).double().numpy()
    base = one_hot_features(space, archs)
    ones = np.ones((len(archs), 1))

    def rank(m):  # features are float32: ignore their rounding
        return np.linalg.matrix_rank(m, tol=1e-4)

    assert rank(np.hstack([ones, wide])) == rank(np.hstack([ones, base]))
    assert rank(np.hstack([ones, wide, base])) == rank(np.hstack([ones, base]))


def test_wide_features_count_layers_and_values_per_slot(tiny_space):
    enc, term = _wide(tiny_space)
    archs = tiny_space.sample(20, seed=1)
    x = term.features(enc.encode_batch(archs))
    slots = tiny_space.num_stages * max(s.max_layers for s in tiny_space.stages)
    # Slot columns count layers; each layer sets one value column per categorical feature.
    assert x[:, :slots].sum(1).tolist() == [float(a.num_layers) for a in archs]
    assert x.shape == (20, term.num_features)


@pytest.mark.parametrize("wide", ["auto", 0, 0.5, 1.0])
def test_wide_accepts_auto_or_a_weight(wide):
    assert PredictorConfig(wide=wide).wide == wide


@pytest.mark.parametrize("wide", [True, "yes", 1.5, -0.1, float("nan")])
def test_wide_refuses_anything_else_naming_the_value(wide):
    with pytest.raises(ConfigError, match=r"`wide` must be 'auto' or a number in \[0, 1\]"):
        PredictorConfig(wide=wide)


def _data(space, n=80, seed=0):
    archs = space.sample(n, seed=seed)
    return archs, synthetic_acc(space, archs)


def test_weight_one_predicts_with_the_ridge_alone(tiny_space):
    archs, y = _data(tiny_space)
    pred = AutoBuildPredictor(tiny_space, epochs=2, wide=1.0, random_state=0).fit(archs, y)
    enc, term = _wide(tiny_space)
    x = term.features(enc.encode_batch(archs)).double().numpy()
    coef, intercept, _ = ridge_loo(x, (y - y.mean()) / y.std())
    expected = (x @ coef + intercept) * y.std() + y.mean()
    np.testing.assert_allclose(pred.predict(archs), expected, rtol=1e-5, atol=1e-5)


def test_weight_zero_is_the_gnn_alone(tiny_space):
    archs, y = _data(tiny_space)
    pred = AutoBuildPredictor(tiny_space, epochs=2, wide=0.0, random_state=0).fit(archs, y)
    assert pred.model_.wide is None
    assert pred.blend_cv_ == {}


def test_hop_norms_do_not_depend_on_the_blend(tiny_space):
    archs, y = _data(tiny_space)
    a = AutoBuildPredictor(tiny_space, epochs=3, wide=0.0, random_state=0).fit(archs, y)
    b = AutoBuildPredictor(tiny_space, epochs=3, wide=0.7, random_state=0).fit(archs, y)
    np.testing.assert_array_equal(a.hop_norms(archs), b.hop_norms(archs))
    assert not np.allclose(a.predict(archs), b.predict(archs))


def test_auto_validates_the_weight_and_the_checkpoint_keeps_it(tmp_path, tiny_space):
    archs, y = _data(tiny_space)
    pred = AutoBuildPredictor(tiny_space, epochs=6, random_state=0).fit(archs, y)
    cv = pred.blend_cv_
    assert set(cv) == {
        "weight", "hop", "hop_weight", "srcc", "srcc_gnn", "srcc_wide", "srcc_hop"
    }  # fmt: skip
    assert 0.0 <= cv["weight"] <= cv["weight"] + cv["hop_weight"] <= 1.0
    assert cv["srcc"] >= max(cv["srcc_gnn"], cv["srcc_wide"], cv["srcc_hop"])
    wide = pred.model_.wide
    assert float(wide.blend) == pytest.approx(cv["weight"])
    assert float(wide.hop_weight) * (1 - cv["weight"]) == pytest.approx(cv["hop_weight"])
    if cv["hop_weight"]:
        assert int(wide.hop) == cv["hop"]
    pred.save(tmp_path / "ck")
    loaded = AutoBuildPredictor.load(tmp_path / "ck")
    assert loaded.blend_cv_ == cv
    np.testing.assert_allclose(loaded.predict(archs), pred.predict(archs), rtol=1e-6)


def test_too_few_labels_blend_half_and_half(tiny_space):
    archs, y = _data(tiny_space, n=12)
    pred = AutoBuildPredictor(tiny_space, epochs=2, random_state=0).fit(archs, y)
    assert float(pred.model_.wide.blend) == 0.5
    assert pred.blend_cv_ == {}


def test_checkpoints_from_before_the_wide_term_load_without_it(tmp_path, tiny_space):
    archs, y = _data(tiny_space)
    pred = AutoBuildPredictor(tiny_space, epochs=2, wide=0.0, random_state=0).fit(archs, y)
    pred.save(tmp_path / "ck")
    meta_path = tmp_path / "ck" / "predictor.json"
    meta = json.loads(meta_path.read_text())
    del meta["config"]["wide"], meta["blend_cv"]
    meta_path.write_text(json.dumps(meta))
    loaded = AutoBuildPredictor.load(tmp_path / "ck")
    assert loaded.config.wide == 0.0
    np.testing.assert_allclose(loaded.predict(archs), pred.predict(archs), rtol=1e-6)


def test_heads_gnn_and_mean_leave_the_wide_term_out(tiny_space):
    archs, y = _data(tiny_space)
    pred = AutoBuildPredictor(tiny_space, epochs=3, wide=0.6, random_state=0).fit(archs, y)
    plain = AutoBuildPredictor(tiny_space, epochs=3, wide=0.0, random_state=0).fit(archs, y)
    gnn, units = pred.predict(archs, head="gnn"), pred.predict(archs, head="units")
    np.testing.assert_allclose(gnn, plain.predict(archs), rtol=1e-6)
    np.testing.assert_allclose(pred.predict(archs, head="mean"), 0.5 * (gnn + units), rtol=1e-6)
    enc, term = _wide(tiny_space)
    x = term.features(enc.encode_batch(archs)).double().numpy()
    coef, intercept, _ = ridge_loo(x, (y - y.mean()) / y.std())
    ridge = (x @ coef + intercept) * y.std() + y.mean()
    np.testing.assert_allclose(pred.predict(archs), 0.4 * gnn + 0.6 * ridge, rtol=1e-5)


def test_a_stacked_hop_joins_the_prediction_by_a_monotone_map(tmp_path, tiny_space):
    archs, y = _data(tiny_space)
    pred = AutoBuildPredictor(tiny_space, epochs=3, wide=0.5, random_state=0).fit(archs, y)
    gnn, ridge = pred.predict(archs, head="gnn"), pred.predict(archs)
    t = torch.from_numpy((y - pred.label_mean_) / pred.label_std_)
    norms = pred.hop_norms(archs)[:, 2]
    pred.model_.wide.set_hop(2, 0.4, torch.from_numpy(norms), t)
    knots = [torch.from_numpy(np.asarray(v)) for v in monotone_fit(norms, t.numpy())]
    hop = monotone_apply(torch.from_numpy(norms), *knots).numpy()
    hop = hop * pred.label_std_ + pred.label_mean_
    ridge_only = 2 * ridge - gnn  # the 0.5 blend before the hop joined
    expected = 0.5 * (0.6 * gnn + 0.4 * hop) + 0.5 * ridge_only
    np.testing.assert_allclose(pred.predict(archs), expected, rtol=1e-5, atol=1e-4)
    pred.save(tmp_path / "ck")
    loaded = AutoBuildPredictor.load(tmp_path / "ck")
    np.testing.assert_allclose(loaded.predict(archs), pred.predict(archs), rtol=1e-6)
    with pytest.raises(ValueError, match="pass its norms"):
        pred.model_.wide.mix(torch.zeros(3), pred.encoder.encode_batch(archs[:3]))


def _apply(x, fit):
    knot_x, knot_y, slope = fit
    args = (torch.from_numpy(knot_x), torch.from_numpy(knot_y), torch.tensor(slope).double())
    return monotone_apply(torch.from_numpy(np.asarray(x, dtype=np.float64)), *args).numpy()


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_the_monotone_map_fits_a_curved_relation_strictly_monotonically(sign):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 4, size=500)
    y = sign * np.exp(x) + rng.normal(scale=0.5, size=500)
    fit = monotone_fit(x, y)
    assert fit[0].shape == fit[1].shape == (HOP_KNOTS,)
    grid = np.linspace(-1, 5, 400)
    steps = np.diff(_apply(grid, fit))
    assert np.all(sign * steps > 0)  # strictly monotone, also beyond the data
    mono = np.abs(_apply(x, fit) - y).mean()
    a, b = np.polyfit(x, y, 1)
    assert mono < 0.5 * np.abs(a * x + b - y).mean()  # far closer than a line
    assert _apply([10.0], fit)[0] == pytest.approx(fit[1][-1] + fit[2] * (10 - fit[0][-1]))


def test_the_monotone_map_of_a_constant_or_tied_input():
    const = monotone_fit(np.full(20, 3.0), np.arange(20.0))
    np.testing.assert_allclose(_apply([0.0, 3.0, 9.0], const), 9.5)
    tied = np.repeat([1.0, 2.0], [90, 10])  # most quantile knots coincide
    fit = monotone_fit(tied, tied * 2 + np.linspace(0, 0.1, 100))
    out = _apply([1.0, 1.5, 2.0], fit)
    assert np.all(np.isfinite(out))
    assert out[0] < out[1] < out[2]


def test_states_from_before_the_monotone_map_load(tiny_space):
    _, term = _wide(tiny_space)
    state = {k: v for k, v in term.state_dict().items() if not k.startswith("hop")}
    affine = {**state, "hop": torch.tensor(1), "hop_weight": torch.tensor(0.5)}
    affine |= {"hop_scale": torch.tensor(2.0), "hop_shift": torch.tensor(-1.0)}
    term.load_state_dict(affine, strict=True)  # an affine hop map: two-knot linear
    x = torch.tensor([-3.0, 0.25, 0.5, 7.0])
    got = monotone_apply(x, term.hop_knots, term.hop_values, term.hop_slope)
    torch.testing.assert_close(got, 2 * x - 1)
    _, fresh = _wide(tiny_space)
    fresh.load_state_dict(state, strict=True)  # a ridge-only blend: no hop
    assert float(fresh.hop_weight) == 0.0
