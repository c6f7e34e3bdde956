"""AutoBuild-NAS: automatic target equations (standardised weighted sums spanning two
objectives), and running a search method with the candidates built for it."""

from __future__ import annotations

import numpy as np
import pytest

from autobuild.data import LabeledData
from autobuild.evaluation import BaseEvaluator, Metric
from autobuild.exceptions import ConfigError, DataError
from autobuild.nas import auto_equations, run_nas
from autobuild.search import SearchConfig, full_candidates, make_evaluate, run_method


@pytest.fixture
def data(tiny_space) -> LabeledData:
    archs = tiny_space.sample(30, seed=0)
    acc = np.array([a.num_layers + 0.5 * (i % 3) for i, a in enumerate(archs)], dtype=float)
    lat = np.array([2.0 * a.num_layers + (i % 5) for i, a in enumerate(archs)], dtype=float)
    return LabeledData(tiny_space, tuple(archs), {"acc": acc, "lat": lat})


def test_ends_are_the_single_objectives_and_weights_spread(data):
    eqs = auto_equations(data, [("acc", "max"), ("lat", "min")], n=4)
    assert len(eqs) == 4
    _, acc = data.target("acc")
    _, lat = data.target("lat")
    z_acc = (acc - acc.mean()) / acc.std()
    z_lat = -(lat - lat.mean()) / lat.std()
    values = [data.target(e)[1] for e in eqs]
    np.testing.assert_allclose(values[0], z_acc, atol=1e-9)
    np.testing.assert_allclose(values[-1], z_lat, atol=1e-9)
    np.testing.assert_allclose(values[1], 2 / 3 * z_acc + 1 / 3 * z_lat, atol=1e-5)
    # Moving weight from accuracy to latency lowers the correlation with accuracy.
    corr = [np.corrcoef(v, acc)[0, 1] for v in values]
    assert corr == sorted(corr, reverse=True)


@pytest.mark.parametrize(
    ("objectives", "n", "error", "match"),
    [
        ([("acc", "max")], 4, ConfigError, "exactly two"),
        ([("acc", "max"), ("lat", "down")], 4, ConfigError, "'max' or 'min'"),
        ([("acc", "max"), ("lat", "min")], 1, ConfigError, ">= 2"),
        ([("acc", "max"), ("fid", "min")], 4, DataError, "'fid' is not a metric"),
    ],
)
def test_bad_requests(data, objectives, n, error, match):
    with pytest.raises(error, match=match):
        auto_equations(data, objectives, n=n)


def test_missing_objectives_come_from_the_evaluator_for_the_labelled_rows_only(data):
    from autobuild.nas import _with_metrics

    class Layers(BaseEvaluator):
        metrics = (Metric("layers", "min"),)

        def __init__(self, space):
            super().__init__(space)
            self.seen = 0

        def _evaluate(self, archs):
            self.seen += len(archs)
            return [{"layers": float(a.num_layers)} for a in archs]

    chosen = data.subset(range(7))
    ev = Layers(data.space)
    out = _with_metrics(chosen, ["acc", "layers"], ev)
    assert ev.seen == 7
    assert list(out.metrics["layers"]) == [float(a.num_layers) for a in chosen.archs]
    assert _with_metrics(chosen, ["acc"], None) is chosen
    with pytest.raises(DataError, match=r"\['fid'\] are neither metrics"):
        _with_metrics(chosen, ["acc", "fid"], ev)


class Size(BaseEvaluator):
    """Toy evaluator of the tiny space: accuracy and latency grow with the layers' size."""

    metrics = (Metric("acc", "max"), Metric("lat", "min"))

    def _evaluate(self, archs):
        out = []
        for a in archs:
            size = sum(k * e for st in a.stages for k, e in st)
            out.append({"acc": size**0.5 + 0.01 * a.num_layers, "lat": float(size)})
        return out


CONFIG = SearchConfig([("acc", "max"), ("lat", "min")], initial=6, iterations=2, batch=4, seed=1)


@pytest.mark.parametrize("method", ["stage-full", "layer-full", "random"])
def test_run_nas_runs_a_baseline_as_run_method_does(tiny_space, method):
    evaluator = Size(tiny_space)
    got = run_nas(tiny_space, method, evaluator, CONFIG)
    with make_evaluate(evaluator) as evaluate:
        ref = run_method(tiny_space, method, evaluate, CONFIG)
    assert got.archs == ref.archs
    assert got.metrics == ref.metrics
    assert got.pareto_indices == ref.pareto_indices


def test_run_nas_builds_the_candidates_of_autobuild_nas(tiny_space, data, monkeypatch):
    import autobuild.nas

    full = full_candidates(tiny_space)
    reduced = tuple(c[:5] for c in full)
    calls = []

    def fake(data_, objectives, **kwargs):
        calls.append((data_, objectives, kwargs))
        return reduced

    monkeypatch.setattr(autobuild.nas, "autobuild_candidates", fake)
    evaluator = Size(tiny_space)
    kwargs = {"labels": 20, "k": 3, "equations": ["acc"]}
    got = run_nas(tiny_space, "autobuild-nas", evaluator, CONFIG, data=data, **kwargs)
    [(data_, objectives, passed)] = calls
    assert data_ is data
    assert objectives == CONFIG.objectives
    assert passed == {**kwargs, "seed": CONFIG.seed, "evaluator": evaluator}
    with make_evaluate(evaluator) as evaluate:
        ref = run_method(tiny_space, "autobuild-nas", evaluate, CONFIG, candidates=reduced)
    assert got.archs == ref.archs


def test_run_nas_autobuild_nas_needs_data(tiny_space):
    with pytest.raises(ConfigError, match=r"pass `data`.*'acc'"):
        run_nas(tiny_space, "autobuild-nas", Size(tiny_space), CONFIG)


@pytest.mark.parametrize(
    "kwargs", [{"labels": 50}, {"k": 3}, {"equations": ["acc"]}, {"labels": 50, "k": 1}]
)
def test_run_nas_refuses_autobuild_nas_arguments_for_another_method(tiny_space, kwargs):
    with pytest.raises(ConfigError, match=r"only apply to 'autobuild-nas', not 'random'"):
        run_nas(tiny_space, "random", Size(tiny_space), CONFIG, **kwargs)


def test_run_nas_refuses_data_for_another_method(tiny_space, data):
    with pytest.raises(ConfigError, match=r"\['data'\] only apply"):
        run_nas(tiny_space, "layer-full", Size(tiny_space), CONFIG, data=data)
