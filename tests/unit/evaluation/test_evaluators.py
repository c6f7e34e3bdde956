import pytest
from tests.conftest import synthetic_acc

from autobuild.data import LabeledData
from autobuild.evaluation import BaseEvaluator, LookupEvaluator, Metric, PredictorEvaluator
from autobuild.exceptions import ConfigError, EvaluationError, SearchSpaceError
from autobuild.predictor import AutoBuildPredictor


@pytest.fixture
def table(tiny_space):
    archs = tiny_space.sample(30, seed=0)
    acc = synthetic_acc(tiny_space, archs)
    return LabeledData(tiny_space, tuple(archs), {"acc": acc, "lat": acc * 2}, source="t.csv")


def test_lookup_returns_the_table_values_in_order(table):
    ev = LookupEvaluator(table, {"acc": "max", "lat": "min"}, units={"lat": "ms"})
    archs = list(table.archs[::-1])
    records = ev.evaluate(archs)
    assert [r["acc"] for r in records] == list(table.metrics["acc"][::-1])
    assert ev.direction("lat") == "min"
    assert ev.metrics[1].unit == "ms"
    assert ev.evaluate([table.space.canonical_id(archs[0])]) == records[:1]


def test_lookup_errors(table, tiny_space):
    ev = LookupEvaluator(table)
    unknown = next(a for a in tiny_space.sample(200, seed=3) if a not in set(table.archs))
    with pytest.raises(EvaluationError, match=r"is not in t\.csv"):
        ev.evaluate([unknown])
    with pytest.raises(SearchSpaceError):
        ev.evaluate([[[{"kernel": 9, "expand": 3}], []]])
    with pytest.raises(ConfigError, match=r"\['fid'\] are not in t.csv"):
        LookupEvaluator(table, {"fid": "min"})
    with pytest.raises(ConfigError, match="`direction` must be"):
        LookupEvaluator(table, {"acc": "up"})


def test_predictor_evaluator(table):
    pred = AutoBuildPredictor(table.space, epochs=2, random_state=0).fit(
        table.archs, table.metrics["acc"]
    )
    pred.metadata_ = {"target": "lat", "direction": "min", "unit": "ms"}
    ev = PredictorEvaluator(pred)
    assert ev.metrics == (Metric("lat", "min", "ms"),)
    records = ev.evaluate(table.archs[:5])
    assert [r["lat"] for r in records] == pytest.approx(list(pred.predict(table.archs[:5])))


def test_base_checks_records(table):
    class Broken(BaseEvaluator):
        metrics = (Metric("x", "max"),)

        def _evaluate(self, archs):
            return [{"y": 1.0} for _ in archs]

    with pytest.raises(EvaluationError, match=r"left out metric\(s\) \['x'\]"):
        Broken(table.space).evaluate(table.archs[:2])
    with pytest.raises(ConfigError, match="batch_size"):
        Broken(table.space, batch_size=0)


def test_cost_evaluator_matches_the_benchmark_counts():
    import autobuild.spaces as S
    from autobuild.evaluation import CostEvaluator

    space = S.get("nasbench-macro")
    # Values of the NAS-Bench-Macro table for these keys.
    expected = {"02012100": (890666, 47327744), "11111221": (2181386, 65012224)}
    records = CostEvaluator(space).evaluate(list(expected))
    for rec, (params, flops) in zip(records, expected.values(), strict=True):
        assert (rec["params"], rec["flops"]) == (params, flops)


def test_latency_evaluator_measures_and_restores_threads():
    import torch

    import autobuild.spaces as S
    from autobuild.evaluation import LatencyEvaluator

    before = torch.get_num_threads()
    ev = LatencyEvaluator(S.get("nasbench-macro"), warmup=1, repeats=3, threads=1)
    records = ev.evaluate(["00000000", "22222222"])
    assert torch.get_num_threads() == before
    assert all(r["latency_cpu_ms"] > 0 for r in records)
    small = records[0]
    assert small["threads"] == 1.0
    assert small["latency_cpu_ms_iqr"] >= 0
    assert ev.metrics[0].direction == "min"
    with pytest.raises(ConfigError, match="`repeats` must be"):
        LatencyEvaluator(S.get("nasbench-macro"), repeats=0)


def test_cost_evaluator_needs_a_builder(tiny_space):
    from autobuild.evaluation import CostEvaluator

    with pytest.raises(SearchSpaceError, match="cannot build networks"):
        CostEvaluator(tiny_space).evaluate(tiny_space.sample(1, seed=0))
