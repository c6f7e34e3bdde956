"""Tests of the NSGA-II search over per-unit candidate subgraphs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import autobuild as ab
from autobuild.exceptions import AutobuildWarning, ConfigError
from autobuild.search import RunStore, SearchConfig
from autobuild.search.genome import full_candidates
from autobuild.search.nsga import run_search
from autobuild.search.pareto import pareto_indices
from autobuild.search.result import SearchResult
from autobuild.spaces import Architecture, SearchSpace

OBJECTIVES = [("acc", "max"), ("cost", "min")]
CONFIG = SearchConfig(OBJECTIVES)


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    return ab.spaces.get("nasbench-macro")


def _metrics(arch: Architecture) -> dict[str, float]:
    ops = [layer[0] for stage in arch.stages for layer in stage]
    return {"acc": ops.count("mb6_k5") + 0.1 * len(ops), "cost": float(len(ops))}


class Counter:
    """Synthetic evaluator counting the architectures it evaluated."""

    def __init__(self, fail: str | None = None, kill_after: int | None = None) -> None:
        self.calls = 0
        self.fail = fail
        self.kill_after = kill_after

    def __call__(self, archs: Sequence[Architecture]) -> list[dict[str, float]]:
        if self.kill_after is not None and self.calls + len(archs) > self.kill_after:
            raise KeyboardInterrupt
        out = []
        for a in archs:
            ops = [layer[0] for stage in a.stages for layer in stage]
            if self.fail is not None and ops[0] == self.fail:
                raise RuntimeError(f"cannot train {ops}")
            out.append(_metrics(a))
        self.calls += len(archs)
        return out


def _ids(space: SearchSpace, result: SearchResult) -> list[str]:
    return [space.canonical_id(a) for a in result.archs]


def test_full_candidates_sizes(space: SearchSpace) -> None:
    assert [len(c) for c in full_candidates(space)] == [9, 21, 21]


def test_budget_exact_and_unique(space: SearchSpace) -> None:
    ev = Counter()
    result = run_search(space, full_candidates(space), ev, CONFIG)
    ids = _ids(space, result)
    assert len(ids) == 250 == len(set(ids)) == ev.calls == result.n_evaluated
    assert result.n_reused == 0
    assert set(result.status) == {"ok"}
    for arch, rec in zip(result.archs, result.metrics, strict=True):
        assert rec == _metrics(arch)


def test_budget_not_a_multiple_of_batch(space: SearchSpace) -> None:
    config = SearchConfig(OBJECTIVES, initial=7, iterations=3, batch=6)
    result = run_search(space, full_candidates(space), Counter(), config)
    assert len(set(_ids(space, result))) == len(result.archs) == 25


def test_seed_reproducible(space: SearchSpace) -> None:
    cands = full_candidates(space)
    config = SearchConfig(OBJECTIVES, seed=1, initial=20, iterations=2, batch=10)
    a = run_search(space, cands, Counter(), config)
    b = run_search(space, cands, Counter(), config)
    c = run_search(space, cands, Counter(), config.replace(seed=2))
    assert _ids(space, a) == _ids(space, b)
    assert a.pareto_indices == b.pareto_indices
    assert _ids(space, a) != _ids(space, c)


def test_small_space_exhausted_with_warning(space: SearchSpace) -> None:
    full = full_candidates(space)
    reduced = [full[0][:2], full[1][:2], full[2][:3]]
    with pytest.warns(AutobuildWarning, match="12 of 250"):
        result = run_search(space, reduced, Counter(), CONFIG)
    assert len(set(_ids(space, result))) == len(result.archs) == 12


def test_pareto_matches_brute_force(space: SearchSpace) -> None:
    result = run_search(space, full_candidates(space), Counter(), CONFIG.replace(seed=3))
    vals = result.objective_matrix()
    brute = []
    for i in range(len(vals)):
        dominated = any(
            vals[j, 0] >= vals[i, 0]
            and vals[j, 1] <= vals[i, 1]
            and (vals[j, 0] > vals[i, 0] or vals[j, 1] < vals[i, 1])
            for j in range(len(vals))
        )
        if not dominated:
            brute.append(i)
    assert list(result.pareto_indices) == brute
    assert brute


def test_pareto_keeps_identical_points() -> None:
    vals = np.array([[1.0, 1.0], [1.0, 1.0], [0.5, 2.0], [np.nan, 0.0]])
    assert pareto_indices(vals, ["max", "min"]) == [0, 1]


def test_failures_recorded_and_budget_met(space: SearchSpace, tmp_path: Path) -> None:
    ev = Counter(fail="proj")
    with RunStore(tmp_path / "runs.db") as store:
        result = run_search(space, full_candidates(space), ev, CONFIG, store=store, name="f")
        records = store.evaluations(store.get_search("f").id)  # type: ignore[union-attr]
    assert len(set(_ids(space, result))) == len(result.archs) == 250 == len(records)
    failed = [i for i, s in enumerate(result.status) if s == "failed"]
    assert failed
    assert all(result.archs[i].stages[0][0][0] == "proj" for i in failed)
    assert all("cannot train" in (result.errors[i] or "") for i in failed)
    assert not set(failed) & set(result.pareto_indices)
    assert [r.status for r in records] == list(result.status)
    assert [r.arch_id for r in records] == _ids(space, result)


def test_resume_after_kill(space: SearchSpace, tmp_path: Path) -> None:
    cands = full_candidates(space)
    config = CONFIG.replace(seed=5)
    reference = run_search(space, cands, Counter(), config)
    path = tmp_path / "runs.db"
    with RunStore(path) as store, pytest.raises(KeyboardInterrupt):
        run_search(space, cands, Counter(kill_after=100), config, store=store, name="x")
    with RunStore(path) as store:
        assert store.count(store.get_search("x").id) == 100  # type: ignore[union-attr]
        ev = Counter()
        resumed = run_search(space, cands, ev, config, store=store, name="x")
    assert ev.calls == 150 == resumed.n_evaluated
    assert resumed.n_reused == 100
    assert _ids(space, resumed) == _ids(space, reference)
    assert resumed.metrics == reference.metrics
    assert resumed.pareto_indices == reference.pareto_indices


def test_different_config_same_name_refused(space: SearchSpace, tmp_path: Path) -> None:
    cands = full_candidates(space)
    config = SearchConfig(OBJECTIVES, initial=5, iterations=1, batch=5)
    with RunStore(tmp_path / "runs.db") as store:
        run_search(space, cands, Counter(), config, store=store, name="x")
        for other in (config.replace(iterations=2), config.replace(seed=9)):
            with pytest.raises(ConfigError, match="different search"):
                run_search(space, cands, Counter(), other, store=store, name="x")


def test_crossover_option(space: SearchSpace) -> None:
    config = SearchConfig(OBJECTIVES, crossover_prob=0.9, initial=20, iterations=2, batch=10)
    result = run_search(space, full_candidates(space), Counter(), config)
    assert len(set(_ids(space, result))) == len(result.archs) == 40


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"candidates": [[]]}, "one list per unit"),
        ({"store": "x"}, "name"),
        ({"config": OBJECTIVES}, "`config` must be a SearchConfig"),
    ],
)
def test_bad_arguments(space: SearchSpace, kwargs: dict, match: str) -> None:
    args: dict = {"candidates": full_candidates(space), "config": CONFIG}
    args.update(kwargs)
    if args.get("store") == "x":
        args["store"] = RunStore(":memory:")
    with pytest.raises(ConfigError, match=match):
        run_search(space, args.pop("candidates"), Counter(), args.pop("config"), **args)
