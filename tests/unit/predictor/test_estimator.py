import json

import numpy as np
import pytest
import torch
from tests.conftest import synthetic_acc

import autobuild.spaces as S
from autobuild.exceptions import CheckpointError, ConfigError, DataError, NotFittedError
from autobuild.predictor import AutoBuildPredictor, PredictorConfig


def _fit(space, n=120, seed=0, **kw):
    archs = space.sample(n, seed=seed)
    y = synthetic_acc(space, archs)
    params = {"epochs": 15, "random_state": seed, **kw}
    return AutoBuildPredictor(space, **params).fit(archs, y), archs, y


def test_fit_learns_a_learnable_target(tiny_space):
    pred, _, _ = _fit(tiny_space, n=200, epochs=40)
    test = [a for a in tiny_space.sample(400, seed=9)][:150]
    m = pred.evaluate(test, synthetic_acc(tiny_space, test))
    assert m["srcc"] > 0.9
    assert min(m["hop_srcc"][1:]) > 0.7
    assert len(m["hop_srcc"]) == 5
    assert pred.predict(test).shape == (150,)
    assert pred.hop_norms(test).shape == (150, 5)
    assert len(pred.history_) == 40


def test_same_seed_same_model_different_seed_different_model(tiny_space):
    a, archs, _ = _fit(tiny_space, seed=3)
    b, _, _ = _fit(tiny_space, seed=3)
    c = AutoBuildPredictor(tiny_space, epochs=15, random_state=4).fit(
        archs, synthetic_acc(tiny_space, archs)
    )
    np.testing.assert_array_equal(a.predict(archs), b.predict(archs))
    np.testing.assert_array_equal(a.hop_norms(archs), b.hop_norms(archs))
    # The GNN differs (the blended prediction may not: 2-fold validation can pick the ridge).
    assert not np.allclose(a.hop_norms(archs), c.hop_norms(archs))


def test_predictions_are_in_raw_label_units(tiny_space):
    pred, archs, y = _fit(tiny_space, epochs=40)
    p = pred.predict(archs)
    assert abs(p.mean() - y.mean()) < 0.25 * y.std()
    assert pred.label_mean_ == pytest.approx(y.mean())
    assert pred.label_std_ == pytest.approx(y.std())


def test_hop_moments_are_mean_and_std_of_node_norms(tiny_space):
    pred, archs, _ = _fit(tiny_space)
    enc = pred.encoder
    with torch.no_grad():
        hops = pred.model_.node_embeddings(enc.encode_batch(archs))
    for m, h in enumerate(hops):
        norms = h.abs().sum(-1).double()
        assert pred.hop_moments_[0][m] == pytest.approx(float(norms.mean()), rel=1e-5)
        assert pred.hop_moments_[1][m] == pytest.approx(float(norms.std(correction=0)), rel=1e-5)


def test_save_load_round_trip(tmp_path, tiny_space):
    pred, archs, _ = _fit(tiny_space)
    pred.save(tmp_path / "ck", extra={"target": "acc"})
    meta = json.loads((tmp_path / "ck" / "predictor.json").read_text())
    assert meta["extra"]["target"] == "acc"
    loaded = AutoBuildPredictor.load(tmp_path / "ck")
    np.testing.assert_allclose(loaded.predict(archs), pred.predict(archs), rtol=1e-6)
    np.testing.assert_allclose(loaded.hop_norms(archs), pred.hop_norms(archs), rtol=1e-6)
    assert loaded.space.fingerprint() == tiny_space.fingerprint()
    assert loaded.hop_moments_ == pred.hop_moments_


def test_in_memory_state_round_trip_equals_the_file_round_trip(tmp_path, tiny_space):
    from safetensors.torch import load_file

    pred, archs, _ = _fit(tiny_space, epochs=3)
    pred.blend_cv_ = {**pred.blend_cv_, "undefined": float("nan")}
    extra = {"target": "acc", "scale": np.float32(2.0), "pair": (1, 2)}
    state = pred.to_state(extra=extra)
    pred.save(tmp_path / "ck", extra=extra)
    # The state is the content of the files: the JSON as read back, the same tensors.
    assert state["meta"] == json.loads((tmp_path / "ck" / "predictor.json").read_text())
    assert state["meta"]["extra"] == {"target": "acc", "scale": 2.0, "pair": [1, 2]}
    assert state["meta"]["blend_cv"]["undefined"] is None
    weights = load_file(str(tmp_path / "ck" / "model.safetensors"))
    assert weights.keys() == state["tensors"].keys()
    for name, tensor in weights.items():
        assert torch.equal(tensor, state["tensors"][name])
    from_memory = AutoBuildPredictor.from_state(state, tiny_space)
    from_files = AutoBuildPredictor.load(tmp_path / "ck", tiny_space)
    for head in ("regressor", "units"):
        np.testing.assert_array_equal(
            from_memory.predict(archs, head=head), from_files.predict(archs, head=head)
        )
        np.testing.assert_array_equal(
            from_memory.predict(archs, head=head), pred.predict(archs, head=head)
        )
    np.testing.assert_array_equal(from_memory.hop_norms(archs), from_files.hop_norms(archs))
    for attr in ("metadata_", "blend_cv_", "hop_moments_", "train_archs_", "seed_"):
        assert getattr(from_memory, attr) == getattr(from_files, attr)
    # A snapshot: training on does not change a state taken before.
    before = {k: v.clone() for k, v in state["tensors"].items()}
    with torch.no_grad():
        next(pred.model_.parameters()).add_(1.0)
    assert all(torch.equal(before[k], v) for k, v in state["tensors"].items())


def test_from_state_errors(tiny_space):
    pred, _, _ = _fit(tiny_space, epochs=2)
    state = pred.to_state()
    with pytest.raises(CheckpointError, match=r"got dict with keys \['meta'\]"):
        AutoBuildPredictor.from_state({"meta": state["meta"]})
    with pytest.raises(CheckpointError, match="got str"):
        AutoBuildPredictor.from_state("ck/")  # type: ignore[arg-type]
    other = {**state, "meta": {**state["meta"], "format": "other/2"}}
    with pytest.raises(CheckpointError, match="format 'other/2'"):
        AutoBuildPredictor.from_state(other)
    with pytest.raises(CheckpointError, match="differs from the given space 'ofa-mbv3'"):
        AutoBuildPredictor.from_state(state, S.get("ofa-mbv3"))
    tensors = dict(state["tensors"])
    tensors.pop("regressor.bias")
    with pytest.raises(CheckpointError, match=r"(?s)of the predictor state: .*regressor\.bias"):
        AutoBuildPredictor.from_state({**state, "tensors": tensors})
    corrupt = {**state, "meta": {**state["meta"], "n_train": 1}}
    with pytest.raises(CheckpointError, match="training set is incomplete"):
        AutoBuildPredictor.from_state(corrupt)
    with pytest.raises(NotFittedError):
        AutoBuildPredictor(tiny_space).to_state()


def test_builtin_space_checkpoint_keeps_native_ids(tmp_path):
    space = S.get("nasbench-macro")
    pred, _, _ = _fit(space, n=60, epochs=2)
    pred.save(tmp_path)
    loaded = AutoBuildPredictor.load(tmp_path)
    assert loaded.space.arch_id(loaded.space.parse("22212202")) == "22212220"


def test_load_into_different_space_is_an_error(tmp_path, tiny_space):
    pred, _, _ = _fit(tiny_space, epochs=2)
    pred.save(tmp_path)
    with pytest.raises(CheckpointError, match="differs from the given space 'ofa-mbv3'"):
        AutoBuildPredictor.load(tmp_path, space=S.get("ofa-mbv3"))


def test_load_errors(tmp_path, tiny_space):
    with pytest.raises(CheckpointError, match=r"predictor\.json is missing"):
        AutoBuildPredictor.load(tmp_path)
    pred, _, _ = _fit(tiny_space, epochs=2)
    pred.save(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="Cannot load weights"):
        AutoBuildPredictor.load(tmp_path)
    meta = json.loads((tmp_path / "predictor.json").read_text())
    meta["format"] = "something-else/9"
    (tmp_path / "predictor.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="format 'something-else/9'"):
        AutoBuildPredictor.load(tmp_path)


def test_weights_with_missing_keys_are_refused(tmp_path, tiny_space):
    from safetensors.torch import load_file, save_file

    pred, _, _ = _fit(tiny_space, epochs=2)
    pred.save(tmp_path)
    state = load_file(str(tmp_path / "model.safetensors"))
    state.pop("regressor.bias")
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"regressor\.bias"):
        AutoBuildPredictor.load(tmp_path)


def test_not_fitted(tiny_space):
    with pytest.raises(NotFittedError, match="not fitted"):
        AutoBuildPredictor(tiny_space).predict(tiny_space.sample(2, seed=0))


def test_public_head_and_one_pass_methods(tiny_space):
    unfitted = AutoBuildPredictor(tiny_space)
    with pytest.raises(NotFittedError, match="not fitted"):
        unfitted.has_unit_head  # noqa: B018
    with pytest.raises(NotFittedError, match="not fitted"):
        unfitted.check_head("regressor")
    pred, archs, _ = _fit(tiny_space, n=40, unit_lambda=0.0)
    values, norms = pred.predict_with_norms(archs)
    np.testing.assert_array_equal(values, pred.predict(archs))
    np.testing.assert_array_equal(norms, pred.hop_norms(archs))
    assert pred.has_unit_head is False
    assert pred.check_head("gnn") is False
    with pytest.raises(ConfigError, match="needs a predictor trained with unit_lambda > 0"):
        pred.check_head("units")
    with pytest.raises(ConfigError, match="`head` must be one of"):
        pred.check_head("bogus")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("y", "match"),
    [
        ([1.0, 1.0, 1.0], "All 3 labels equal"),
        ([1.0, float("nan"), 2.0], "NaN or infinite"),
        ([1.0, 2.0], "one label per architecture"),
    ],
)
def test_bad_labels(tiny_space, y, match):
    with pytest.raises(DataError, match=match):
        AutoBuildPredictor(tiny_space, epochs=1).fit(tiny_space.sample(3, seed=0), y)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"epochs": 0}, "`epochs` must be an integer >= 1, got 0"),
        ({"lr": -1.0}, "`lr` must be a finite number > 0"),
        ({"rank_mode": "pearson"}, "`rank_mode` must be one of"),
        ({"bogus": 1}, "Unknown predictor parameter"),
        ({"conv": "sage"}, "`conv` must be one of"),
        ({"slot_features": "yes"}, "`slot_features` must be true or false, got 'yes'"),
    ],
)
def test_bad_hyper_parameters(tiny_space, params, match):
    with pytest.raises(ConfigError, match=match):
        AutoBuildPredictor(tiny_space, **params)


def test_paper_preset():
    cfg = PredictorConfig.preset("paper")
    assert (cfg.epochs, cfg.lr, cfg.batch_size, cfg.rank_mode) == (200, 1e-4, 128, "reference")
    assert PredictorConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="Unknown preset"):
        PredictorConfig.preset("fast")


def test_preset_names_match_the_preset_type():
    from typing import get_args

    from autobuild.predictor.config import PRESETS, Preset

    assert sorted(get_args(Preset)) == sorted(PRESETS)


def test_lambda_zero_trains_mse_only(tiny_space):
    pred, _, _ = _fit(tiny_space, epochs=3, corr_lambda=0.0, unit_lambda=0.0)
    assert all(h["rank"] == 0.0 for h in pred.history_)
    assert all(h["loss"] == pytest.approx(h["mse"]) for h in pred.history_)


def test_callback_can_stop_training(tiny_space):
    seen = []

    def cb(epoch, p):
        seen.append(epoch)
        return epoch == 3

    archs = tiny_space.sample(50, seed=0)
    AutoBuildPredictor(tiny_space, epochs=10, random_state=0).fit(
        archs, synthetic_acc(tiny_space, archs), callback=cb
    )
    assert seen == [1, 2, 3]


def test_hand_written_adamw_matches_torch():
    import copy

    from autobuild.predictor._optim import AdamW, cosine_lr

    torch.manual_seed(0)
    a = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    a = a.double()
    b = copy.deepcopy(a)
    ours = AdamW(a.parameters(), lr=1e-2, weight_decay=0.1)
    ref = torch.optim.AdamW(b.parameters(), lr=1e-2, weight_decay=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(ref, T_max=30)
    x = torch.randn(16, 4, dtype=torch.float64)
    for step in range(30):
        ours.lr = cosine_lr(1e-2, step, 30)
        for net, opt in ((a, ours), (b, ref)):
            opt.zero_grad()
            (net(x) ** 2).mean().backward()
            opt.step()
        sched.step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-12)


def test_fe_mlp_trains_through_the_gnn_when_lambda_is_zero(tiny_space):
    pred = AutoBuildPredictor(
        tiny_space, corr_lambda=0.0, epochs=1, random_state=0, isolate_embedding=True
    )
    with torch.random.fork_rng():
        torch.manual_seed(0)  # the initialisation fit() uses for random_state=0
        before = pred._build_model().embed.embedding.weight.detach().clone()
    archs = tiny_space.sample(40, seed=0)
    pred.fit(archs, synthetic_acc(tiny_space, archs))
    assert not pred.model_.isolate_embedding
    assert not torch.equal(pred.model_.embed.embedding.weight, before)


def test_schedule_gives_small_sets_several_steps_per_epoch():
    cfg = PredictorConfig()
    assert cfg.schedule_for(2700) == (128, 32, 22)
    assert cfg.schedule_for(68) == (17, 175, 4)
    assert PredictorConfig(epochs=3).schedule_for(100) == (25, 3, 4)


def test_prediction_heads(tiny_space):
    pred, archs, y = _fit(tiny_space, n=200, epochs=60)
    gnn = pred.predict(archs, head="gnn")
    units = pred.predict(archs, head="units")
    mean = pred.predict(archs, head="mean")
    np.testing.assert_allclose(mean, 0.5 * (gnn + units), rtol=1e-5)
    assert np.corrcoef(units, y)[0, 1] > 0.7
    with pytest.raises(ConfigError, match="`head` must be one of"):
        pred.predict(archs, head="best")
    plain, _, _ = _fit(tiny_space, epochs=2, unit_lambda=0.0)
    assert not plain.model_.has_unit_head
    with pytest.raises(ConfigError, match="unit_lambda > 0"):
        plain.predict(archs, head="units")
