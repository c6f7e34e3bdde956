"""The evaluator of a search's metrics: each from the first source that gives it."""

from __future__ import annotations

import numpy as np
import pytest

import autobuild as ab
from autobuild.data import LabeledData
from autobuild.evaluation import (
    BaseEvaluator,
    CachedEvaluator,
    CombinedEvaluator,
    CostEvaluator,
    LatencyEvaluator,
    LookupEvaluator,
    Metric,
)
from autobuild.exceptions import ConfigError
from autobuild.search import SearchConfig, search_evaluator
from autobuild.spaces import SearchSpace


class Score(BaseEvaluator):
    """Gives ``score`` (and ``cost``, which no search below asks for first)."""

    metrics = (Metric("score", "max"), Metric("cost", "min"))

    def _evaluate(self, archs):
        return [{"score": float(a.num_layers), "cost": 1.0} for a in archs]


@pytest.fixture(scope="module")
def macro() -> SearchSpace:
    return ab.spaces.get("nasbench-macro")


@pytest.fixture(scope="module")
def table(macro: SearchSpace) -> LabeledData:
    archs = tuple(macro.sample(5, seed=0))
    acc = np.arange(5, dtype=float)
    return LabeledData(macro, archs, {"acc": acc, "flops": acc * 10})


def test_sources_in_order(macro: SearchSpace, table: LabeledData, tmp_path) -> None:
    config = SearchConfig([("score", "max"), ("acc", "max")], constraints=["latency_cpu_ms<=5"])
    ev = search_evaluator(
        macro, config.metrics, evaluators=[Score(macro)], data=table, cache=tmp_path / "c.db"
    )
    assert isinstance(ev, CombinedEvaluator)
    score, lookup, latency = ev.evaluators
    assert isinstance(score, Score)
    assert isinstance(lookup, LookupEvaluator)
    assert lookup.metric_names == ["acc"]
    assert isinstance(latency, CachedEvaluator)
    assert isinstance(latency.evaluator, LatencyEvaluator)
    records = ev.evaluate(list(table.archs[:2]))
    assert [r["acc"] for r in records] == [0.0, 1.0]


def test_table_before_counted_costs(macro: SearchSpace, table: LabeledData) -> None:
    ev = search_evaluator(macro, {"flops": "min", "params": "min"}, data=table)
    lookup, cost = ev.evaluators  # type: ignore[attr-defined]
    assert lookup.metric_names == ["flops"]
    assert isinstance(cost, CostEvaluator)
    assert cost.metric_names == ["params"]
    alone = search_evaluator(macro, {"latency_cpu_ms": "min"}, threads=2, repeats=3)
    assert isinstance(alone, LatencyEvaluator)


def test_errors_name_the_metrics_and_sources(macro: SearchSpace, tiny_space: SearchSpace) -> None:
    with pytest.raises(ConfigError, match=r"gives \['score', 'cost'\], none of the objectives"):
        search_evaluator(macro, {"acc": "max"}, evaluators=[Score(macro)])
    with pytest.raises(ConfigError, match="evaluates space 'tiny', not 'nasbench-macro'"):
        search_evaluator(macro, {"score": "max"}, evaluators=[Score(tiny_space)])
    with pytest.raises(ConfigError, match=r"No evaluator gives objective\(s\) \['fid'\]"):
        search_evaluator(macro, {"score": "max", "fid": "min"}, evaluators=[Score(macro)])
    with pytest.raises(ConfigError, match=r"\['flops'\] are measured on built networks.*'tiny'"):
        search_evaluator(tiny_space, {"flops": "min"})
