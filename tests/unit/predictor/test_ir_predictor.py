"""The AutoBuild predictor trained on ONNX IR op graphs (graph_format='ir')."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("onnx")

import autobuild as ab
from autobuild.exceptions import ConfigError
from autobuild.scoring import feature_importance, score_modules


@pytest.fixture(scope="module")
def fitted() -> tuple[ab.AutoBuildPredictor, list[ab.Architecture], np.ndarray]:
    torch.set_num_threads(1)
    space = ab.spaces.get("nasbench-macro")
    archs = space.sample(40, seed=3)
    # A label the op graph determines: more 6x expansions (wider convolutions) score higher.
    y = np.array([sum(layer[0] == "mb6_k5" for st in a.stages for layer in st) for a in archs])
    y = y + 0.1 * np.array([a.num_layers for a in archs])
    pred = ab.AutoBuildPredictor(space, random_state=0, graph_format="ir", epochs=30)
    return pred.fit(archs, y), archs, y


def test_fit_predict_and_hop_norms(fitted):
    pred, archs, y = fitted
    assert not pred.model_.has_unit_head  # IR graphs have no stage nodes
    p = pred.predict(archs)
    assert p.shape == (len(archs),)
    assert np.all(np.isfinite(p))
    m = pred.evaluate(archs, y)
    assert m["srcc"] > 0.5  # training fit on a label the graph determines
    assert pred.hop_norms(archs).shape == (len(archs), 5)


def test_checkpoint_round_trip(tmp_path, fitted):
    pred, archs, _ = fitted
    pred.save(tmp_path / "ck")
    back = ab.AutoBuildPredictor.load(tmp_path / "ck")
    assert back.config.graph_format == "ir"
    np.testing.assert_allclose(back.predict(archs[:5]), pred.predict(archs[:5]), rtol=1e-6)


def test_op_type_importance_covers_training_ops(fitted):
    pred, archs, _ = fitted
    imp = feature_importance(pred)
    assert {c.category for c in imp.categories} == {"op", "shape", "attributes"}
    assert abs(sum(c.share for c in imp.categories) - 1.0) < 1e-6
    ops = {v.value: v.count for v in imp.values if v.category == "op"}
    counts: dict[str, int] = {}
    for a in archs:
        for op, n in pred.encoder.graph(a).op_counts().items():
            counts[op] = counts.get(op, 0) + n
    assert ops == counts  # every op seen in training, counted over training nodes
    assert all(v.category == "op" for v in imp.values)  # no per-value rows for vectors


def test_module_scoring_refuses_ir_predictors(fitted):
    pred, _, _ = fitted
    with pytest.raises(ConfigError, match="sequence graphs"):
        score_modules(pred)


def test_unknown_graph_format_is_a_config_error():
    with pytest.raises(ConfigError, match="graph_format"):
        ab.PredictorConfig(graph_format="onnx")
