"""Samplers: random draws, AutoBuild rounds, configurations, multi-objective selection."""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import synthetic_acc

from autobuild.exceptions import ConfigError
from autobuild.study import AutoBuildSampler, History, RandomSampler, sampler_from_config
from autobuild.study.sampler import _select, _spread, draw_unique

FAST = {"steps": 40}


def _history(space, archs=(), values=None, *, exclude=None, candidates=None, objectives=None):
    objectives = objectives or (("acc", "max"),)
    values = np.zeros((0, len(objectives))) if values is None else np.asarray(values, float)
    ids = {space.arch_id(a) for a in archs} if exclude is None else exclude
    return History(space, objectives, tuple(archs), values, frozenset(ids), candidates)


def test_random_sampler_proposes_new_distinct_architectures(tiny_space):
    told = tiny_space.sample(30, seed=1)
    history = _history(tiny_space, told, np.zeros((30, 1)))
    got = RandomSampler().propose(history, 50, np.random.default_rng(0)).archs
    ids = [tiny_space.arch_id(a) for a in got]
    assert len(got) == 50
    assert len(set(ids)) == 50
    assert not set(ids) & history.exclude


def test_random_sampler_draws_from_the_pool_only(tiny_space):
    pool = tuple(tiny_space.sample(12, seed=2))
    history = _history(tiny_space, pool[:4], np.zeros((4, 1)), candidates=pool)
    got = RandomSampler().propose(history, 20, np.random.default_rng(0)).archs
    assert {tiny_space.arch_id(a) for a in got} == {tiny_space.arch_id(a) for a in pool[4:]}


def test_draw_unique_stops_when_the_space_is_used_up(tiny_space):
    every = list(tiny_space.enumerate_architectures())
    exclude = frozenset(tiny_space.arch_id(a) for a in every[:-3])
    history = _history(tiny_space, exclude=exclude)
    got = draw_unique(history, 10, np.random.default_rng(0), exclude)
    assert {tiny_space.arch_id(a) for a in got} == {tiny_space.arch_id(a) for a in every[-3:]}


def test_autobuild_sampler_draws_the_initial_design_at_random(tiny_space):
    sampler = AutoBuildSampler(initial=5, predictor=FAST)
    told = tiny_space.sample(4, seed=0)
    proposal = sampler.propose(
        _history(tiny_space, told, np.ones((4, 1))), 3, np.random.default_rng(0)
    )
    assert proposal.knowledge is None
    assert len(proposal.archs) == 3


def test_autobuild_sampler_learns_and_proposes_good_new_architectures(tiny_space):
    told = tiny_space.sample(40, seed=0)
    y = synthetic_acc(tiny_space, told)[:, None]
    sampler = AutoBuildSampler(initial=10, predictor={"steps": 300})
    proposal = sampler.propose(_history(tiny_space, told, y), 5, np.random.default_rng(0))
    ids = {tiny_space.arch_id(a) for a in proposal.archs}
    assert len(ids) == len(proposal.archs) >= 5
    assert not ids & {tiny_space.arch_id(a) for a in told}
    # The label grows with layer size: the first proposals beat a random architecture.
    best5 = synthetic_acc(tiny_space, proposal.archs[:5])
    random5 = synthetic_acc(tiny_space, tiny_space.sample(200, seed=9))
    assert best5.mean() > np.percentile(random5, 90)
    knowledge = proposal.knowledge
    assert knowledge is not None
    assert knowledge["n_told"] == 40
    acc = knowledge["objectives"]["acc"]
    assert set(acc["modules"]) == {"stage1", "stage2"}
    assert all(len(rows) == 3 for rows in acc["modules"].values())
    scores = [r["score"] for r in acc["modules"]["stage1"]]
    assert scores == sorted(scores, reverse=True)
    assert {c["category"] for c in acc["categories"]} >= {"kernel", "expand"}


def test_autobuild_sampler_minimises_and_asks_only_from_the_pool(tiny_space):
    pool = tuple(tiny_space.sample(60, seed=3))
    told = pool[:20]
    cost = synthetic_acc(tiny_space, told)[:, None]  # minimised: small networks are best
    history = _history(tiny_space, told, cost, candidates=pool, objectives=(("cost", "min"),))
    sampler = AutoBuildSampler(initial=10, predictor={"steps": 300})
    got = sampler.propose(history, 5, np.random.default_rng(0))
    pool_ids = [tiny_space.arch_id(a) for a in pool[20:]]
    assert {tiny_space.arch_id(a) for a in got.archs} <= set(pool_ids)
    costs = synthetic_acc(tiny_space, got.archs[:5])
    assert costs.mean() < np.median(synthetic_acc(tiny_space, pool[20:]))
    # Module scores are reported in the objective's own direction (costs, lowest first).
    rows = got.knowledge["objectives"]["cost"]["modules"]["stage1"]
    assert [r["score"] for r in rows] == sorted(r["score"] for r in rows)


def test_uncertainty_changes_the_order_and_beta_zero_ranks_by_prediction(tiny_space):
    told = tiny_space.sample(60, seed=4)
    y = synthetic_acc(tiny_space, told) + np.random.default_rng(0).normal(0, 0.3, len(told))
    history = _history(tiny_space, told, y[:, None])
    firsts = {}
    for beta in (0.0, 0.0, 1e3):
        sampler = AutoBuildSampler(initial=10, beta=beta, predictor={"steps": 200})
        proposal = sampler.propose(history, 5, np.random.default_rng(1))
        firsts.setdefault(beta, []).append(proposal.archs[:5])
    assert firsts[0.0][0] == firsts[0.0][1]  # reproducible
    # A large beta asks first for what the told results leave most uncertain.
    greedy, curious = (_spread(tiny_space, told, y, firsts[b][0]) for b in (0.0, 1e3))
    assert curious.mean() > greedy.mean()


def test_two_objective_rounds_are_reproducible(tiny_space):
    """Both objectives' predictors train at once (threads); each depends on its seed only."""
    told = tiny_space.sample(24, seed=5)
    acc = synthetic_acc(tiny_space, told)
    values = np.column_stack([acc, acc**2 - 3 * acc])
    objectives = (("acc", "max"), ("cost", "min"))
    history = _history(tiny_space, told, values, objectives=objectives)
    sampler = AutoBuildSampler(initial=10, predictor={"steps": 150})
    first, second = (sampler.propose(history, 4, np.random.default_rng(2)) for _ in range(2))
    assert first.archs == second.archs
    assert first.knowledge["objectives"] == second.knowledge["objectives"]


def test_two_objectives_ask_for_new_front_points_first():
    told = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])  # both maximised
    predicted = np.array([[0.5, 0.5], [2.5, 2.5], [1.0, 3.5], [2.0, 1.0]])
    order = _select(told, predicted, 2)
    assert order[:2] == [1, 2]
    assert sorted(order) == [0, 1, 2, 3]


def test_sampler_configurations_round_trip():
    sampler = AutoBuildSampler(initial=7, k=4, beta=0.7, predictor={"steps": 99, "conv": "gcn"})
    again = sampler_from_config(sampler.to_config())
    assert isinstance(again, AutoBuildSampler)
    assert again.to_config() == sampler.to_config()
    assert isinstance(sampler_from_config({"name": "random"}), RandomSampler)


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"name": "tpe"}, "Unknown sampler"),
        ({"name": "autobuild", "colour": 1}, "Invalid AutoBuildSampler"),
        ({"name": "autobuild", "k": 0}, "k"),
        ({"name": "autobuild", "beta": -1}, "beta"),
        ({"name": "autobuild", "predictor": {"nope": 1}}, "nope"),
    ],
)
def test_bad_sampler_configurations_are_refused(config, match):
    with pytest.raises(ConfigError, match=match):
        sampler_from_config(config)
