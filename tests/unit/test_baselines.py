"""Tests of the one-hot baselines (ridge and gradient-boosted trees)."""

import json
import math

import numpy as np
import pytest
from tests.conftest import synthetic_acc

from autobuild.baselines import (
    BASELINES,
    BayesianRidgeBaseline,
    OneHotFeatures,
    RidgeBaseline,
    TreesBaseline,
    evaluate_baselines,
    one_hot_features,
)
from autobuild.exceptions import DataError, NotFittedError, SearchSpaceError
from autobuild.metrics import spearman
from autobuild.spaces import SearchSpace


def _additive(space, archs) -> np.ndarray:
    """A target that is a sum of per-(stage, position, value) effects plus depth effects."""
    out = []
    for a in archs:
        score = 0.0
        for s, layers in enumerate(a.stages):
            score += 0.3 * (s + 1) * len(layers)
            for p, (kernel, *rest) in enumerate(layers):
                score += 0.1 * (p + 1) * kernel + sum(0.05 * v for v in rest)
        out.append(score)
    return np.asarray(out)


def test_features_have_one_column_per_stage_position_value_and_depth(tiny_space):
    enc = OneHotFeatures(tiny_space)
    # Stage 1: 3 positions x (3 kernels + 2 expands); stage 2: 2 x (2 + 2); depths 3 + 3.
    assert enc.num_features == 3 * 5 + 2 * 4 + 3 + 3
    assert enc.names[:5] == (
        "s1.p1.kernel=3",
        "s1.p1.kernel=5",
        "s1.p1.kernel=7",
        "s1.p1.expand=3",
        "s1.p1.expand=6",
    )
    arch = tiny_space.parse([[{"kernel": 5, "expand": 6}], []])
    x = one_hot_features(tiny_space, [arch])
    assert x.shape == (1, enc.num_features)
    assert x.dtype == np.float64
    on = {enc.names[j] for j in np.flatnonzero(x[0])}
    assert on == {"s1.p1.kernel=5", "s1.p1.expand=6", "s1.depth=1", "s2.depth=0"}
    assert x.sum() == 4


def test_numeric_and_global_features_are_scaled_with_a_presence_column():
    space = SearchSpace.from_dict(
        {
            "name": "num",
            "layer": {"width": {"type": "numeric", "min": 8, "max": 16}},
            "global": {
                "res": {"type": "numeric", "min": 100, "max": 200},
                "act": ["relu", "gelu"],
            },
            "stage": [{"min_layers": 0, "max_layers": 2}],
        }
    )
    enc = OneHotFeatures(space)
    assert enc.names == (
        "s1.p1.present",
        "s1.p1.width",
        "s1.p2.present",
        "s1.p2.width",
        "s1.depth=0",
        "s1.depth=1",
        "s1.depth=2",
        "global.res",
        "global.act=relu",
        "global.act=gelu",
    )
    arch = space.parse({"stages": [[{"width": 12}]], "res": 150, "act": "gelu"})
    assert enc.transform([arch])[0].tolist() == [1, 0.5, 0, 0, 0, 1, 0, 0.5, 0, 1]


def test_many_architectures_encode_fast(tiny_space):
    import time

    archs = tiny_space.sample(300, seed=0) * 17  # 5100 rows
    start = time.perf_counter()
    x = one_hot_features(tiny_space, archs)
    assert time.perf_counter() - start < 1.0
    assert x.shape[0] == 5100


@pytest.mark.parametrize(("name", "floor"), [("ridge", 0.95), ("trees", 0.8)])
def test_baselines_learn_an_additive_target(tiny_space, name, floor):
    archs = tiny_space.sample(300, seed=1)
    y = _additive(tiny_space, archs)
    model = BASELINES[name](tiny_space, random_state=0).fit(archs[:200], y[:200])
    pred = model.predict(archs[200:])
    assert pred.shape == (100,)
    assert spearman(y[200:], pred) > floor


def test_same_seed_gives_identical_predictions(tiny_space):
    archs = tiny_space.sample(120, seed=2)
    y = synthetic_acc(tiny_space, archs)
    for cls in (RidgeBaseline, TreesBaseline):
        a = cls(tiny_space, random_state=3).fit(archs[:100], y[:100]).predict(archs[100:])
        b = cls(tiny_space, random_state=3).fit(archs[:100], y[:100]).predict(archs[100:])
        np.testing.assert_array_equal(a, b)


def test_bayesian_ridge_is_less_certain_of_what_the_labels_never_showed(tiny_space):
    archs = tiny_space.sample(300, seed=6)
    y = _additive(tiny_space, archs)
    # Told: only architectures whose first stage never holds a kernel-7 layer.
    seen = [a for a in archs if all(layer[0] != 7 for layer in a.stages[0])]
    unseen = [a for a in archs if any(layer[0] == 7 for layer in a.stages[0])]
    told_y = y[[archs.index(a) for a in seen]]
    model = BayesianRidgeBaseline(tiny_space).fit(seen, told_y)
    std_seen, std_unseen = model.epistemic_std(seen), model.epistemic_std(unseen)
    assert std_seen.shape == (len(seen),)
    assert np.all(std_seen >= 0)
    assert np.median(std_unseen) > 3 * np.median(std_seen)
    assert model.epistemic_std([]).shape == (0,)
    # Its predictions rank like the ridge's on this additive target.
    full = BayesianRidgeBaseline(tiny_space).fit(archs[:200], y[:200])
    assert spearman(y[200:], full.predict(archs[200:])) > 0.95
    with pytest.raises(NotFittedError, match="call `fit` first"):
        BayesianRidgeBaseline(tiny_space).epistemic_std(archs)


def test_evaluate_baselines_scores_every_baseline_and_is_nan_without_test_rows(tiny_space):
    archs = tiny_space.sample(100, seed=4)
    y = synthetic_acc(tiny_space, archs)
    scores = evaluate_baselines(tiny_space, archs[:80], y[:80], archs[80:], y[80:], seed=0)
    assert list(scores) == list(BASELINES)
    assert all(v > 0.8 for v in scores.values())
    one = evaluate_baselines(tiny_space, archs[:80], y[:80], archs[80:81], y[80:81], seed=0)
    assert all(math.isnan(v) for v in one.values())


def test_bad_input_is_refused_with_the_fix(tiny_space):
    archs = tiny_space.sample(10, seed=5)
    with pytest.raises(DataError, match="one label per architecture"):
        RidgeBaseline(tiny_space).fit(archs, np.ones(9))
    with pytest.raises(DataError, match="at least one"):
        TreesBaseline(tiny_space).fit([], [])
    with pytest.raises(DataError, match="NaN or infinite"):
        RidgeBaseline(tiny_space).fit(archs, [math.nan] + [1.0] * 9)
    with pytest.raises(NotFittedError, match="call `fit` first"):
        RidgeBaseline(tiny_space).predict(archs)
    with pytest.raises(DataError, match="one label per architecture"):
        evaluate_baselines(tiny_space, archs, np.ones(10), archs[:2], np.ones(3))
    from autobuild.spaces import Architecture

    outside = Architecture((((9, 3),), ()))
    with pytest.raises(SearchSpaceError, match=r"value 9; allowed: \[3, 5, 7\]"):
        one_hot_features(tiny_space, [outside])


def test_train_predictor_reports_baselines_on_its_split(tiny_csv, tiny_space, tmp_path):
    from autobuild.data import load_table
    from autobuild.predictor import train_predictor

    data = load_table(tiny_csv, tiny_space)
    result = train_predictor(data, "acc", epochs=1, out=tmp_path / "ck")
    scores = result.metrics["baselines"]
    assert list(scores) == ["ridge", "trees"]
    y = {a: v for a, v in zip(data.archs, data.target("acc")[1], strict=True)}
    expected = evaluate_baselines(
        tiny_space,
        result.train_archs,
        [y[a] for a in result.train_archs],
        result.test_archs,
        [y[a] for a in result.test_archs],
        seed=0,
    )
    assert scores == pytest.approx(expected)
    written = json.loads((tmp_path / "ck" / "metrics.json").read_text())
    assert written["baselines"] == pytest.approx(scores)

    off = train_predictor(data, "acc", epochs=1, baselines=False)
    assert "baselines" not in off.metrics
    none_held_out = train_predictor(data, "acc", epochs=1, test_fraction=0.0)
    assert "baselines" not in none_held_out.metrics
