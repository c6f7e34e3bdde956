"""Study: ask/tell, persistence, re-asks, the best trials, optimize, several processes."""

from __future__ import annotations

import logging
import multiprocessing

import numpy as np
import pytest
from tests.conftest import synthetic_acc

import autobuild as ab
from autobuild.exceptions import ConfigError, DataError
from autobuild.study import AutoBuildSampler, RandomSampler, Trial

FAST = AutoBuildSampler(initial=4, predictor={"steps": 40})


def _acc(space, arch) -> float:
    return float(synthetic_acc(space, [arch])[0])


def test_ask_hands_out_new_distinct_trials_and_tell_records_them(tiny_space):
    study = ab.create_study(tiny_space, "acc:max", sampler=RandomSampler(), seed=1)
    first = study.ask(3)
    assert [t.number for t in first] == [0, 1, 2]
    assert all(t.state == "pending" and t.attempts == 1 for t in first)
    second = study.ask(2)
    ids = {t.arch_id for t in first + second}
    assert len(ids) == 5
    told = study.tell(first[0], {"acc": 1.5, "params": 3.0})
    assert told.state == "complete"
    assert told.metrics == {"acc": 1.5, "params": 3.0}
    study.tell(first[1].id, failed="out of memory")
    states = [t.state for t in study.trials]
    assert states == ["complete", "failed", "pending", "pending", "pending"]
    rows = study.rows()
    assert list(rows[0])[:7] == ["trial_id", "number", "arch_id", "arch", "state", "acc", "params"]
    assert rows[1]["error"] == "out of memory"


def test_tell_refuses_bad_results(tiny_space):
    study = ab.create_study(tiny_space, [("acc", "max"), ("lat", "min")], sampler=RandomSampler())
    trial = study.ask()[0]
    with pytest.raises(DataError, match=r"lack the objective\(s\) \['lat'\]"):
        study.tell(trial, {"acc": 1.0})
    with pytest.raises(ConfigError, match="not both or neither"):
        study.tell(trial)
    with pytest.raises(ConfigError, match="not both or neither"):
        study.tell(trial, {"acc": 1.0, "lat": 2.0}, failed="x")
    with pytest.raises(DataError):
        study.tell(trial, {"acc": float("nan"), "lat": 2.0})
    study.tell(trial, {"acc": 1.0, "lat": 2.0})
    with pytest.raises(ConfigError, match="already"):
        study.tell(trial, {"acc": 2.0, "lat": 1.0})
    assert study.trials[0].metrics == {"acc": 1.0, "lat": 2.0}


def test_a_pending_trial_is_asked_again_after_the_timeout(tiny_space):
    study = ab.create_study(tiny_space, "acc:max", sampler=RandomSampler())
    lost = study.ask(2)
    assert {t.id for t in study.ask(1)} & {t.id for t in lost} == set()
    again = study.ask(2, reask_after=0.0)
    assert [t.id for t in again] == [lost[0].id, lost[1].id]
    assert [t.attempts for t in again] == [2, 2]
    assert len(study.trials) == 3


def test_best_trials_are_the_pareto_front(tiny_space):
    study = ab.create_study(tiny_space, "acc:max,lat:min", sampler=RandomSampler())
    values = [(1.0, 1.0), (2.0, 2.0), (1.5, 3.0), (2.0, 2.0)]
    for trial, (acc, lat) in zip(study.ask(4), values, strict=True):
        study.tell(trial, {"acc": acc, "lat": lat})
    assert [t.number for t in study.best_trials] == [0, 1, 3]
    single = ab.create_study(tiny_space, "acc:max", sampler=RandomSampler())
    for trial, acc in zip(single.ask(3), (1.0, 3.0, 2.0), strict=True):
        single.tell(trial, {"acc": acc})
    assert [t.metrics["acc"] for t in single.best_trials] == [3.0]


def test_a_study_asks_only_from_its_candidate_pool(tiny_space, caplog):
    pool = tiny_space.sample(6, seed=4)
    study = ab.create_study(tiny_space, "acc:max", sampler=RandomSampler(), candidates=pool)
    trials = study.ask(4) + study.ask(4)
    assert {t.arch_id for t in trials} == {tiny_space.arch_id(a) for a in pool}
    with caplog.at_level(logging.WARNING, logger="autobuild.study.study"):
        assert study.ask(1) == []
    assert "no new architecture is left" in caplog.text


def test_a_stored_study_resumes_with_its_trials_sampler_and_space(tmp_path, tiny_space):
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    sampler = AutoBuildSampler(initial=6, k=2, predictor={"steps": 40})
    with ab.create_study(
        tiny_space, "acc:max", storage=url, name="s", seed=3, sampler=sampler
    ) as s:
        for trial in s.ask(3):
            s.tell(trial, {"acc": _acc(tiny_space, trial.arch)})
        pending = s.ask(1)[0]
    with ab.load_study("s", url) as again:
        assert again.space.fingerprint() == tiny_space.fingerprint()
        assert again.sampler.to_config() == sampler.to_config()
        assert again.seed == 3
        assert [t.state for t in again.trials] == ["complete"] * 3 + ["pending"]
        again.tell(pending, {"acc": 1.0})
    with pytest.raises(ConfigError, match="already exists"):
        ab.create_study(tiny_space, "acc:max", storage=url, name="s")
    with ab.create_study(tiny_space, "acc:max", storage=url, name="s", load_if_exists=True) as s:
        assert len(s.trials) == 4
    with pytest.raises(ConfigError, match=r"No study 'nope'.*\['s'\]"):
        ab.load_study("nope", url)
    other = ab.spaces.get("nasbench-macro")
    with pytest.raises(ConfigError, match="runs in space 'tiny'"):
        ab.load_study("s", url, space=other)


def test_the_autobuild_sampler_keeps_what_each_round_learnt(tiny_space):
    study = ab.create_study(tiny_space, "acc:max", sampler=FAST, seed=0)
    for _ in range(3):
        for trial in study.ask(2):
            study.tell(trial, {"acc": _acc(tiny_space, trial.arch)})
    rounds = study.explain()
    assert [r["n_told"] for r in rounds] == [4]
    assert set(rounds[0]["objectives"]["acc"]["modules"]) == {"stage1", "stage2"}
    assert [r["round"] for r in rounds] == [1]
    assert [t.round for t in study.trials] == [0, 0, 0, 0, 1, 1]


def test_the_same_seed_and_results_ask_the_same_architectures(tiny_space):
    def run() -> list[str]:
        study = ab.create_study(tiny_space, "acc:max", sampler=FAST, seed=5)
        out = []
        for _ in range(4):
            for trial in study.ask(2):
                out.append(trial.arch_id)
                study.tell(trial, {"acc": _acc(tiny_space, trial.arch)})
        return out

    assert run() == run()


def _evaluate(arch: ab.Architecture) -> dict[str, float]:
    if arch.num_layers == 1:
        raise RuntimeError("one layer is not enough")
    return {"acc": float(arch.num_layers)}


def test_optimize_evaluates_tells_and_records_failures(tiny_space):
    study = ab.create_study(tiny_space, "acc:max", sampler=RandomSampler(), seed=2)
    done = study.optimize(_evaluate, 12, batch=4)
    assert len(done) == 12 == len(study.trials)
    for trial in done:
        if trial.arch.num_layers == 1:
            assert trial.state == "failed"
            assert "one layer is not enough" in trial.error
        else:
            assert trial.metrics == {"acc": float(trial.arch.num_layers)}
    with pytest.raises(ConfigError, match="Ray task resources"):
        study.optimize(_evaluate, 1, resources={"num_gpus": 1})


def test_optimize_without_catch_raises_and_keeps_the_trial_pending(tiny_space):
    pool = [a for a in tiny_space.sample(500, seed=0) if a.num_layers == 1][:1]
    study = ab.create_study(tiny_space, "acc:max", sampler=RandomSampler(), candidates=pool)
    with pytest.raises(RuntimeError, match="one layer"):
        study.optimize(_evaluate, 1, catch=False)
    assert [t.state for t in study.trials] == ["pending"]


def test_optimize_runs_evaluations_in_worker_processes(tiny_space):
    study = ab.create_study(tiny_space, "acc:max", sampler=RandomSampler(), seed=4)
    done = study.optimize(_evaluate, 6, batch=3, executor="process", n_jobs=2)
    assert len(done) == 6
    assert all(t.done for t in done)


def _ask_and_tell(url: str, rounds: int) -> None:
    study = ab.load_study("shared", url)
    for _ in range(rounds):
        for trial in study.ask(2):
            study.tell(trial, {"acc": float(trial.arch.num_layers)})
    study.close()


def test_processes_share_one_study_without_losing_or_repeating_a_trial(tmp_path, tiny_space):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    ab.create_study(
        tiny_space, "acc:max", storage=url, name="shared", sampler=RandomSampler()
    ).close()
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_ask_and_tell, args=(url, 5)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    with ab.load_study("shared", url) as study:
        trials = study.trials
    assert len(trials) == 30
    assert len({t.arch_id for t in trials}) == 30
    assert [t.number for t in trials] == list(range(30))
    assert all(t.state == "complete" for t in trials)


def test_bad_arguments_are_refused_clearly(tiny_space):
    with pytest.raises(ConfigError, match="SearchSpace"):
        ab.create_study("tiny", "acc:max")
    with pytest.raises(ConfigError, match="METRIC:max"):
        ab.create_study(tiny_space, "acc")
    with pytest.raises(ConfigError, match=r"`seed` must be an integer >= 0, got -1"):
        ab.create_study(tiny_space, "acc:max", seed=-1)
    with pytest.raises(ConfigError, match="sampler"):
        ab.create_study(tiny_space, "acc:max", sampler="tpe")
    with pytest.raises(ConfigError, match="storage"):
        ab.create_study(tiny_space, "acc:max", storage=3)
    study = ab.create_study(tiny_space, "acc:max", sampler=RandomSampler())
    with pytest.raises(ConfigError, match="`n`"):
        study.ask(0)
    with pytest.raises(ConfigError, match="reask_after"):
        study.ask(1, reask_after=-1)
    with pytest.raises(ConfigError, match="Trial or a trial id"):
        study.tell("x", {"acc": 1.0})
    assert isinstance(study.ask()[0], Trial)
    assert np.isfinite(study.seed)
