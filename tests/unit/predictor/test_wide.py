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
from autobuild.predictor.nn.wide import ridge_loo


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


def test_a_stacked_hop_joins_the_prediction_by_an_affine_fit(tmp_path, tiny_space):
    archs, y = _data(tiny_space)
    pred = AutoBuildPredictor(tiny_space, epochs=3, wide=0.5, random_state=0).fit(archs, y)
    gnn, ridge = pred.predict(archs, head="gnn"), pred.predict(archs)
    t = torch.from_numpy((y - pred.label_mean_) / pred.label_std_)
    norms = pred.hop_norms(archs)[:, 2]
    pred.model_.wide.set_hop(2, 0.4, torch.from_numpy(norms), t)
    a, b = np.polyfit(norms, t.numpy(), 1)
    hop = (a * norms + b) * pred.label_std_ + pred.label_mean_
    ridge_only = 2 * ridge - gnn  # the 0.5 blend before the hop joined
    expected = 0.5 * (0.6 * gnn + 0.4 * hop) + 0.5 * ridge_only
    np.testing.assert_allclose(pred.predict(archs), expected, rtol=1e-5, atol=1e-4)
    pred.save(tmp_path / "ck")
    loaded = AutoBuildPredictor.load(tmp_path / "ck")
    np.testing.assert_allclose(loaded.predict(archs), pred.predict(archs), rtol=1e-6)
    with pytest.raises(ValueError, match="pass its norms"):
        pred.model_.wide.mix(torch.zeros(3), pred.encoder.encode_batch(archs[:3]))
