"""Tests of the search methods selectable by name (AutoBuild-NAS and the baselines)."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import autobuild as ab
from autobuild.exceptions import ConfigError
from autobuild.search import METHODS, LayerGenome, RunStore, SearchConfig, run_method
from autobuild.search.genome import full_candidates
from autobuild.search.result import SearchResult
from autobuild.spaces import Architecture, SearchSpace, StageConfig

OBJECTIVES = [("acc", "max"), ("cost", "min")]
CONFIG = SearchConfig(OBJECTIVES)
INSIGHT = {"s2": {"max_layers": 2, "layer": {"op": ["mb6_k5"]}}}


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    return ab.spaces.get("nasbench-macro")


def _metrics(arch: Architecture) -> dict[str, float]:
    ops = [layer[0] for stage in arch.stages for layer in stage]
    return {"acc": ops.count("mb6_k5") + 0.1 * len(ops), "cost": float(len(ops))}


class Counter:
    """Synthetic evaluator counting its calls; optionally killed after ``kill_after``."""

    def __init__(self, kill_after: int | None = None) -> None:
        self.calls = 0
        self.kill_after = kill_after

    def __call__(self, archs: Sequence[Architecture]) -> list[dict[str, float]]:
        if self.kill_after is not None and self.calls + len(archs) > self.kill_after:
            raise KeyboardInterrupt
        self.calls += len(archs)
        return [_metrics(a) for a in archs]


def _kwargs(space: SearchSpace, method: str) -> dict[str, Any]:
    if method == "autobuild-nas":
        full = full_candidates(space)
        return {"candidates": [full[0], full[1][:15], full[2][:15]]}
    if method == "layer-insight":
        return {"insight": INSIGHT}
    return {}


def _ids(space: SearchSpace, result: SearchResult) -> list[str]:
    return [space.canonical_id(a) for a in result.archs]


@pytest.fixture(scope="module")
def results(space: SearchSpace) -> dict[str, tuple[SearchResult, int]]:
    out = {}
    for method in METHODS:
        ev = Counter()
        out[method] = (
            run_method(space, method, ev, CONFIG, **_kwargs(space, method)),
            ev.calls,
        )
    return out


@pytest.mark.parametrize("method", METHODS)
def test_budget_exact_unique_and_valid(
    space: SearchSpace, results: dict[str, tuple[SearchResult, int]], method: str
) -> None:
    result, calls = results[method]
    ids = _ids(space, result)
    assert len(ids) == len(set(ids)) == 250 == calls == result.n_evaluated
    for arch in result.archs:
        assert space.validate(arch) == arch
        for st, layers in zip(space.stages, arch.stages, strict=True):
            assert st.min_layers <= len(layers) <= st.max_layers
            assert all(layer in st.choices_at(p) for p, layer in enumerate(layers))
    assert result.pareto_indices


def test_layer_insight_respects_restrictions(
    results: dict[str, tuple[SearchResult, int]],
) -> None:
    result, _ = results["layer-insight"]
    for arch in result.archs:
        s2 = arch.stages[1]
        assert len(s2) <= 2
        assert {layer[0] for layer in s2} == {"mb6_k5"}
    assert max(len(a.stages[2]) for a in result.archs) == 3  # s3 unrestricted


@pytest.mark.parametrize("method", ["layer-full", "layer-insight", "random"])
def test_seed_reproducible(space: SearchSpace, method: str) -> None:
    kw = _kwargs(space, method)
    config = SearchConfig(OBJECTIVES, seed=1, initial=20, iterations=2, batch=10)
    a = run_method(space, method, Counter(), config, **kw)
    b = run_method(space, method, Counter(), config, **kw)
    c = run_method(space, method, Counter(), config.replace(seed=2), **kw)
    assert _ids(space, a) == _ids(space, b)
    assert a.pareto_indices == b.pareto_indices
    assert _ids(space, a) != _ids(space, c)


def _one_op(before: StageConfig, after: StageConfig) -> str | None:
    """The single add/remove/swap turning ``before`` into ``after`` (``None``: none)."""
    if len(after) == len(before) + 1:
        ok = any(after[:i] + after[i + 1 :] == before for i in range(len(after)))
        return "add" if ok else None
    if len(after) == len(before) - 1:
        ok = any(before[:i] + before[i + 1 :] == after for i in range(len(before)))
        return "remove" if ok else None
    if len(after) == len(before):
        diff = sum(x != y for x, y in zip(before, after, strict=True))
        return "swap" if diff == 1 else None
    return None


def test_layer_mutation_one_operation_per_selected_stage(space: SearchSpace) -> None:
    genome = LayerGenome(space, 0.5)
    rng = np.random.default_rng(0)
    ops: Tally[str] = Tally()
    changed_counts: Tally[int] = Tally()
    for _ in range(400):
        parent = tuple(genome.random_stage(rng, s) for s in range(space.num_stages))
        selected = genome.select(rng, parent)
        assert selected
        assert len(set(selected)) == len(selected)
        child = list(parent)
        for s in selected:
            child[s] = genome.mutate_stage(rng, s, parent[s])
        for s in range(space.num_stages):
            if s in selected:
                op = _one_op(parent[s], child[s])
                assert op is not None, (parent[s], child[s])
                ops[op] += 1
            else:
                assert child[s] == parent[s]
        arch = space.validate(Architecture(tuple(child)))
        assert arch.stages == tuple(child)
        changed_counts[len(selected)] += 1
    assert set(ops) == {"add", "remove", "swap"}
    assert set(changed_counts) == {1, 2, 3}


def test_layer_mutation_respects_depth_and_first_layer(space: SearchSpace) -> None:
    genome = LayerGenome(space)
    rng = np.random.default_rng(1)
    top = (("proj",), ("mb3_k3",))  # s1 at max depth with a first-layer-only op
    for _ in range(100):
        child = genome.mutate_stage(rng, 0, top)
        assert len(child) <= 2
        assert _one_op(top, child) is not None
        assert all(layer in space.stages[0].choices_at(p) for p, layer in enumerate(child))
    assert genome.operations(0, (("proj",),)) == {"add": [1], "swap": [0]}  # not at min depth


def test_layer_genome_roundtrip_and_mutate(space: SearchSpace) -> None:
    genome = LayerGenome(space)
    rng = np.random.default_rng(2)
    assert genome.n_genomes == space.size() == len(genome.every())
    for _ in range(50):
        g = genome.random_genome(rng)
        stages = genome.decode(tuple(int(x) for x in g))
        assert np.array_equal(genome.encode(stages), g)
        child = genome.decode(tuple(int(x) for x in genome.mutate(g, rng)))
        diffs = [_one_op(a, b) for a, b in zip(stages, child, strict=True) if a != b]
        assert diffs
        assert None not in diffs


def test_random_uniform_and_unique(space: SearchSpace) -> None:
    config = SearchConfig(OBJECTIVES, initial=1000, iterations=0)
    result = run_method(space, "random", Counter(), config)
    ids = _ids(space, result)
    assert len(ids) == len(set(ids)) == 1000
    # uniform over architectures: s1 has 3 one-layer and 6 two-layer configs of 9
    depth2 = sum(len(a.stages[0]) == 2 for a in result.archs) / len(ids)
    assert abs(depth2 - 6 / 9) < 0.06
    firsts = Tally(a.stages[2][0][0] for a in result.archs)
    assert all(abs(n / 1000 - 1 / 3) < 0.06 for n in firsts.values())


def test_random_small_space_warns(space: SearchSpace) -> None:
    config = SearchConfig(OBJECTIVES, initial=4000, iterations=0)
    with pytest.warns(ab.exceptions.AutobuildWarning, match="3969 of 4000"):
        result = run_method(space, "random", Counter(), config)
    assert len(set(_ids(space, result))) == 3969


def test_resume_layer_full(space: SearchSpace, tmp_path: Path) -> None:
    config = CONFIG.replace(seed=5)
    reference = run_method(space, "layer-full", Counter(), config)
    path = tmp_path / "runs.db"
    with RunStore(path) as store, pytest.raises(KeyboardInterrupt):
        run_method(space, "layer-full", Counter(kill_after=100), config, store=store, name="x")
    with RunStore(path) as store:
        assert store.count(store.get_search("x").id) == 100  # type: ignore[union-attr]
        ev = Counter()
        resumed = run_method(space, "layer-full", ev, config, store=store, name="x")
    assert ev.calls == 150 == resumed.n_evaluated
    assert resumed.n_reused == 100
    assert _ids(space, resumed) == _ids(space, reference)
    assert resumed.metrics == reference.metrics
    assert resumed.pareto_indices == reference.pareto_indices


def test_resume_random(space: SearchSpace, tmp_path: Path) -> None:
    config = CONFIG.replace(seed=3)
    reference = run_method(space, "random", Counter(), config)
    with RunStore(tmp_path / "r.db") as store:
        with pytest.raises(KeyboardInterrupt):
            run_method(space, "random", Counter(kill_after=100), config, store=store, name="r")
        ev = Counter()
        resumed = run_method(space, "random", ev, config, store=store, name="r")
    assert ev.calls == 150
    assert _ids(space, resumed) == _ids(space, reference)


def test_methods_stored_apart(space: SearchSpace) -> None:
    with RunStore(":memory:") as store:
        config = SearchConfig(OBJECTIVES, initial=5, iterations=0)
        kw: dict[str, Any] = {"store": store, "name": "x"}
        run_method(space, "layer-full", Counter(), config, **kw)
        with pytest.raises(ConfigError, match="different search"):
            run_method(space, "layer-insight", Counter(), config, insight=INSIGHT, **kw)


@pytest.mark.parametrize(
    ("method", "kwargs", "match"),
    [
        ("nsga", {}, "Unknown search method 'nsga'.*layer-insight"),
        ("autobuild-nas", {}, "needs `candidates`"),
        ("layer-insight", {}, "needs `insight`"),
        ("layer-full", {"insight": INSIGHT}, "only applies"),
        ("layer-insight", {"insight": {"s9": {}}}, "unknown stage 's9'.*'s1', 's2', 's3'"),
        ("layer-insight", {"insight": {"s1": {"depth": 2}}}, "unknown key"),
        ("layer-insight", {"insight": {"s1": {"max_layers": 3}}}, r"'s1'.*\[1, 2\]"),
        (
            "layer-insight",
            {"insight": {"s2": {"layer": {"op": ["mb6_k7"]}}}},
            r"'mb6_k7'.*'s2'.*\['proj', 'mb3_k3', 'mb6_k5'\]|'mb6_k7'.*'s2'",
        ),
        ("layer-insight", {"insight": {"s2": {"layer": {"kernel": [3]}}}}, "unknown feature"),
        ("layer-insight", {"insight": {"s2": {"layer": {"op": ["proj"]}}}}, "position 1"),
        ("layer-insight", {"insight": {"s2": {"mutation_prob": 0}}}, "mutation_prob"),
        ("random", {"config": CONFIG.replace(globals_=())}, "samples global features"),
        ("stage-full", {"config": OBJECTIVES}, "`config` must be a SearchConfig"),
        ("layer-full", {"config": OBJECTIVES}, "`config` must be a SearchConfig"),
        ("random", {"config": OBJECTIVES}, "`config` must be a SearchConfig"),
    ],
)
def test_config_errors(
    space: SearchSpace, method: str, kwargs: dict[str, Any], match: str
) -> None:
    config = kwargs.pop("config", CONFIG)
    with pytest.raises(ConfigError, match=match):
        run_method(space, method, Counter(), config, **kwargs)


def test_insight_mutation_prob(space: SearchSpace) -> None:
    from autobuild.search import check_insight

    rules = check_insight(space, {"s1": {"mutation_prob": 1.0}, "s3": {"mutation_prob": 0.1}})
    genome = LayerGenome(space, 0.5, rules)
    assert list(genome.probs) == [1.0, 0.5, 0.1]
    rng = np.random.default_rng(0)
    parent = ((("proj",),), (("mb3_k3",),), (("mb3_k3",),))
    assert all(0 in genome.select(rng, parent) for _ in range(50))


@pytest.mark.parametrize("method", ["stage-full", "random"])
def test_progress_bar_counts_the_budget(space, method, capsys):
    config = SearchConfig(OBJECTIVES, initial=6, iterations=2, batch=4)
    result = run_method(space, method, Counter(), config, progress=True)
    assert len(result.archs) == 14
    err = capsys.readouterr().err
    assert "evaluations" in err
    assert "0/14" in err  # the bar spans the budget (updates are throttled, then cleared)
