"""Constrained searches: bounds on metrics, infeasible evaluations off the front."""

from __future__ import annotations

import numpy as np
import pytest

import autobuild as ab
from autobuild.exceptions import ConfigError
from autobuild.search import (
    Constraint,
    RunStore,
    SearchConfig,
    read_search_outputs,
    run_method,
    write_search_outputs,
)

OBJECTIVES = [("acc", "max"), ("cost", "min")]


def _evaluate(archs):
    out = []
    for a in archs:
        ops = [layer[0] for stage in a.stages for layer in stage]
        out.append(
            {
                "acc": ops.count("mb6_k5") + 0.1 * len(ops),
                "cost": float(len(ops)),
                "big": float(ops.count("mb6_k5")),
            }
        )
    return out


@pytest.fixture(scope="module")
def space():
    return ab.spaces.get("nasbench-macro")


def test_parse_and_violation():
    c = Constraint.parse(" latency_cpu_ms <= 5 ")
    assert (c.metric, c.op, c.bound) == ("latency_cpu_ms", "<=", 5.0)
    assert c.violation(7.5) == 2.5
    assert c.violation(5.0) == 0.0
    assert Constraint.parse("acc>=90").violation(89.0) == 1.0
    assert str(Constraint.parse("flops<=5e7")) == "flops<=50000000.0"
    for bad in ("acc>90", "acc<=x", "<=3", "acc<=inf"):
        with pytest.raises(ConfigError):
            Constraint.parse(bad)
    with pytest.raises(ConfigError, match="wrap it in a list"):
        SearchConfig(OBJECTIVES, constraints="cost<=3")


@pytest.mark.parametrize("method", ["stage-full", "layer-full", "random"])
def test_front_holds_feasible_evaluations_only(space, method):
    config = SearchConfig(
        OBJECTIVES,
        initial=20,
        iterations=3,
        batch=10,
        seed=0,
        constraints=["big<=2", Constraint("cost", ">=", 4)],
    )
    result = run_method(space, method, _evaluate, config)
    big = np.array([m["big"] for m in result.metrics])
    cost = np.array([m["cost"] for m in result.metrics])
    feasible = np.array(result.feasible)
    assert np.array_equal(feasible, (big <= 2) & (cost >= 4))
    assert feasible.any()
    assert not feasible.all()
    assert set(result.pareto_indices) <= set(np.flatnonzero(feasible))
    viol = np.array(result.violations)
    assert np.allclose(viol, np.maximum(big - 2, 0) + np.maximum(4 - cost, 0))
    values = result.objective_matrix()
    assert np.isnan(values[~feasible]).all()
    assert not np.isnan(result.objective_matrix(feasible_only=False)).any()


def test_constraint_metric_missing_fails_the_evaluation(space):
    config = SearchConfig(OBJECTIVES, initial=5, iterations=0, constraints=["lat<=1"])
    result = run_method(space, "random", _evaluate, config)
    assert set(result.status) == {"failed"}
    assert "constraint metric(s) ['lat']" in result.errors[0]


def test_outputs_and_resume_with_constraints(space, tmp_path):
    config = SearchConfig(OBJECTIVES, initial=10, iterations=2, batch=5, seed=2)
    with RunStore(tmp_path / "r.db") as store:

        def run(bound: str):
            bounded = config.replace(constraints=[bound])
            return run_method(space, "stage-full", _evaluate, bounded, store=store, name="c")

        result = run("big<=2")
        with pytest.raises(ConfigError, match="different search"):
            run("big<=1")
        again = run("big<=2")
    assert again.n_reused == 20
    assert again.violations == result.violations
    paths = write_search_outputs(tmp_path / "out", space, result)
    header = paths["evaluated"].read_text().splitlines()[0]
    assert header == "arch_id,arch,acc,cost,big,violation,status,error"
    objectives, values = read_search_outputs(tmp_path / "out")
    assert objectives == OBJECTIVES
    assert len(values) == sum(result.feasible)
