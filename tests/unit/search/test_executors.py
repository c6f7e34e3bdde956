"""Tests of the evaluation executors (serial, spawn process pool, local Ray)."""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from tests.unit.search._evaluators import (
    GatedEvaluator,
    TableEvaluator,
    UnpicklableErrorEvaluator,
    table_metrics,
)

import autobuild as ab
from autobuild.data import LabeledData
from autobuild.evaluation import CostEvaluator, LookupEvaluator
from autobuild.exceptions import ConfigError, EvaluationError
from autobuild.search import SearchConfig
from autobuild.search.executors import EvaluationExecutor, make_evaluate
from autobuild.search.genome import full_candidates
from autobuild.search.nsga import run_search
from autobuild.spaces import Architecture, SearchSpace

OBJECTIVES = [("acc", "max"), ("cost", "min")]


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    return ab.spaces.get("nasbench-macro")


@pytest.fixture(scope="module")
def archs(space: SearchSpace) -> list[Architecture]:
    c0, c1, c2 = full_candidates(space)
    out = []
    for i in range(12):
        stages = (*c0[i % len(c0)], *c1[(5 * i) % len(c1)], *c2[(7 * i + 3) % len(c2)])
        out.append(space.validate(Architecture(tuple(stages), ())))
    return out


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[None]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def _first_op(arch: Architecture) -> str:
    return str(next(layer[0] for stage in arch.stages for layer in stage))


def test_serial_matches_direct_evaluation(archs: list[Architecture]) -> None:
    with make_evaluate(TableEvaluator()) as evaluate:
        assert evaluate(archs) == [table_metrics(a) for a in archs]
        assert evaluate([]) == []


def test_process_pool_identical_and_in_order(archs: list[Architecture]) -> None:
    expected = make_evaluate(TableEvaluator())(archs)
    with make_evaluate(TableEvaluator(), executor="process", n_jobs=2) as evaluate:
        assert evaluate(archs) == expected
        assert evaluate(archs[::-1]) == expected[::-1]  # the pool is reused


def test_ray_identical_and_in_order(archs: list[Architecture], ray_instance: None) -> None:
    expected = make_evaluate(TableEvaluator())(archs)
    with make_evaluate(TableEvaluator(), executor="ray") as evaluate:
        assert evaluate(archs) == expected
        assert evaluate(archs[::-1]) == expected[::-1]
    import ray

    assert ray.is_initialized()  # an instance the executor did not start stays up


def test_serial_as_completed_one_at_a_time_in_order(archs: list[Architecture]) -> None:
    calls: list[int] = []

    class Recording(TableEvaluator):
        def evaluate(self, batch: Sequence[Architecture]) -> list[dict[str, float]]:
            calls.append(len(batch))
            return super().evaluate(batch)

    with make_evaluate(Recording()) as evaluate:
        stream = evaluate.as_completed(archs)
        assert next(stream) == (0, table_metrics(archs[0]))
        assert calls == [1]  # the first result comes before the second evaluation starts
        assert list(stream) == [(i, table_metrics(a)) for i, a in enumerate(archs)][1:]
        assert list(evaluate.as_completed([])) == []
    assert calls == [1] * len(archs)


@pytest.mark.parametrize("executor", ["process", "ray"])
def test_as_completed_yields_results_as_they_finish(
    archs: list[Architecture], executor: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if executor == "ray":
        request.getfixturevalue("ray_instance")
    gate = tmp_path / "gate"
    evaluator = GatedEvaluator(archs[0], str(gate))
    with make_evaluate(evaluator, executor=executor, n_jobs=2) as evaluate:
        stream = evaluate.as_completed(archs[:3])
        # archs[0] waits for the gate, which opens only once another result is here.
        first = next(stream)
        assert first[0] != 0
        gate.touch()
        got = dict([first, *stream])
        assert got == {i: table_metrics(a) for i, a in enumerate(archs[:3])}
        gate.unlink()
        assert evaluate(archs[1:4]) == [table_metrics(a) for a in archs[1:4]]


@pytest.mark.parametrize("executor", ["serial", "process", "ray"])
def test_failure_reported_per_architecture(
    archs: list[Architecture], executor: str, request: pytest.FixtureRequest
) -> None:
    if executor == "ray":
        request.getfixturevalue("ray_instance")
    bad = _first_op(archs[0])
    with make_evaluate(TableEvaluator(fail=bad), executor=executor, n_jobs=2) as evaluate:
        out = evaluate(archs)
    assert len(out) == len(archs)
    for a, rec in zip(archs, out, strict=True):
        if _first_op(a) == bad:
            assert isinstance(rec, EvaluationError)
            assert str(rec) == f"cannot evaluate first op {bad}"
        else:
            assert rec == table_metrics(a)
    assert any(isinstance(r, Exception) for r in out)
    assert any(isinstance(r, dict) for r in out)


def test_lookup_and_cost_evaluators_pickle(space: SearchSpace, archs: list[Architecture]) -> None:
    data = LabeledData(
        space=space,
        archs=tuple(archs),
        metrics={
            "acc": np.array([table_metrics(a)["acc"] for a in archs]),
            "cost": np.array([table_metrics(a)["cost"] for a in archs]),
        },
    )
    lookup = LookupEvaluator(data, {"acc": "max", "cost": "min"})
    back = pickle.loads(pickle.dumps(lookup))
    assert back.evaluate(archs) == lookup.evaluate(archs)
    cost = pickle.loads(pickle.dumps(CostEvaluator(space)))
    assert cost.metric_names == CostEvaluator(space).metric_names
    with make_evaluate(lookup, executor="process", n_jobs=2) as evaluate:
        assert evaluate(archs) == lookup.evaluate(archs)


def test_unknown_arch_of_lookup_fails_alone(space: SearchSpace, archs: list[Architecture]) -> None:
    data = LabeledData(
        space=space,
        archs=tuple(archs[1:]),
        metrics={"acc": np.arange(len(archs) - 1, dtype=np.float64)},
    )
    out = make_evaluate(LookupEvaluator(data))(archs)
    assert isinstance(out[0], EvaluationError)
    assert "not in" in str(out[0])
    assert [r["acc"] for r in out[1:]] == list(range(len(archs) - 1))  # type: ignore[index]


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="executor"):
        make_evaluate(TableEvaluator(), executor="threads")
    with pytest.raises(ConfigError, match="n_jobs"):
        make_evaluate(TableEvaluator(), executor="process", n_jobs=0)
    with pytest.raises(ConfigError, match="evaluate"):
        make_evaluate(object())
    unsendable = make_evaluate(TableEvaluator(fail=lambda: None), executor="process")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="pickled"):
        unsendable([ab.spaces.get("nasbench-macro").parse("22212220")])
    assert isinstance(make_evaluate(TableEvaluator()), EvaluationExecutor)


def test_run_search_process_identical_to_serial(space: SearchSpace) -> None:
    cands = full_candidates(space)
    bad = "mb3_k3"
    config = SearchConfig(OBJECTIVES, initial=10, iterations=1, batch=10, seed=3)
    with make_evaluate(TableEvaluator(fail=bad)) as evaluate:
        ref = run_search(space, cands, evaluate, config)
    with make_evaluate(TableEvaluator(fail=bad), executor="process", n_jobs=2) as evaluate:
        got = run_search(space, cands, evaluate, config)
    assert len(got.archs) == 20
    assert got.archs == ref.archs
    assert got.metrics == ref.metrics
    assert got.status == ref.status
    assert got.errors == ref.errors
    assert got.pareto_indices == ref.pareto_indices
    failed = [i for i, s in enumerate(got.status) if s == "failed"]
    for i in failed:
        assert got.errors[i] == f"EvaluationError: cannot evaluate first op {bad}"
    assert failed == [i for i, a in enumerate(got.archs) if _first_op(a) == bad]


def test_inprocess_is_a_deprecated_name_of_serial(archs: list[Architecture]) -> None:
    with pytest.deprecated_call(match="executor='serial'"):
        evaluate = make_evaluate(TableEvaluator(), executor="inprocess")
    assert evaluate.executor == "serial"
    assert evaluate(archs[:3]) == [table_metrics(a) for a in archs[:3]]
    assert make_evaluate(TableEvaluator()).executor == "serial"  # the default


def test_a_result_the_worker_cannot_send_back_fails_alone(
    archs: list[Architecture], tmp_path: Path
) -> None:
    evaluator = UnpicklableErrorEvaluator(_first_op(archs[0]))
    with make_evaluate(evaluator, executor="process", n_jobs=1) as evaluate:
        out = evaluate(archs[:4])
    for a, rec in zip(archs[:4], out, strict=True):
        if _first_op(a) == _first_op(archs[0]):
            assert isinstance(rec, EvaluationError)
            assert str(rec).startswith("the worker could not return its result: ")
        else:
            assert rec == table_metrics(a)


def test_an_executor_that_cannot_run_stops_the_search_with_its_error(tiny_space):
    from autobuild.search import SearchConfig, run_random

    def evaluate(archs):
        raise ConfigError("executor='ray' could not connect to the Ray cluster at 'x:1'")

    config = SearchConfig([("acc", "max")], initial=4, iterations=0, batch=1)
    with pytest.raises(ConfigError, match="could not connect"):
        run_random(tiny_space, evaluate, config)
