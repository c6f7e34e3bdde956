"""k-fold x seeds ensembles: folds, confidence weights, module scores, persistence, executors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.conftest import synthetic_acc

from autobuild.construction import reduce_space
from autobuild.ensemble import PredictorEnsemble, fit_ensemble
from autobuild.ensemble import members as members_mod
from autobuild.ensemble.members import fold_tasks, run_tasks
from autobuild.exceptions import CheckpointError, ConfigError, DataError
from autobuild.scoring import score_modules


def test_fold_tasks_partition_the_data_per_seed():
    ids = [str(i) for i in range(23)]
    tasks = fold_tasks({}, ids, [0.0] * 23, {}, folds=5, seeds=[7, 8])
    assert len(tasks) == 10
    assert len({t.seed for t in tasks}) == 10  # every member has its own seed
    for shuffle in (0, 1):
        mine = [t for t in tasks if t.shuffle == shuffle]
        tests = [set(t.test) for t in mine]
        assert set().union(*tests) == set(range(23))
        assert sum(len(t) for t in tests) == 23  # disjoint folds
        for t in mine:
            assert set(t.train) | set(t.test) == set(range(23))
            assert not set(t.train) & set(t.test)
    # Different shuffling seeds split differently; the same seed splits the same way.
    assert tasks[0].test != tasks[5].test
    again = fold_tasks({}, ids, [0.0] * 23, {}, folds=5, seeds=[7, 8])
    assert [t.test for t in again] == [t.test for t in tasks]


@pytest.mark.parametrize(
    ("n", "folds", "seeds", "match"),
    [(9, 5, [0], "at least 10"), (20, 1, [0], "folds"), (20, 5, [], "seed")],
)
def test_fold_tasks_refuse_bad_settings(n, folds, seeds, match):
    with pytest.raises(ConfigError, match=match):
        fold_tasks({}, [str(i) for i in range(n)], [0.0] * n, {}, folds=folds, seeds=seeds)


@pytest.fixture(scope="module")
def labelled():
    import tomllib

    from tests.conftest import TINY_TOML

    from autobuild.spaces import SearchSpace

    space = SearchSpace.from_dict(tomllib.loads(TINY_TOML))
    archs = space.sample(40, seed=0)
    return space, archs, synthetic_acc(space, archs)


@pytest.fixture(scope="module")
def ensemble(labelled, tmp_path_factory):
    space, archs, y = labelled
    out = tmp_path_factory.mktemp("ens")
    ens = fit_ensemble(
        space, archs, y, folds=2, seeds=[0, 1], executor="serial", epochs=4, out=out
    )
    return ens, out


def test_members_weights_and_index(ensemble):
    ens, out = ensemble
    assert len(ens) == 4
    hops = ens.members[0].config.num_layers + 1
    assert ens.hop_weights.shape == (4, hops)
    assert (ens.hop_weights >= 0).all()
    assert (ens.prediction_weights >= 0).all()
    index = json.loads((out / "ensemble.json").read_text())
    assert [m["name"] for m in index["members"]] == ["s0_f0", "s0_f1", "s1_f0", "s1_f1"]
    assert all(m["n_test"] == 20 for m in index["members"])


def test_scores_are_the_confidence_weighted_mean_of_member_scores(ensemble):
    ens, _ = ensemble
    table = ens.score_modules()
    member_tables = [score_modules(m, shift="eq5") for m in ens.members]
    # The default shift, "auto", is Eq. 5 for an ensemble (its members have unit heads).
    assert all(m.model_.has_unit_head for m in ens.members)
    assert table.shift == "eq5"
    assert table.records == ens.score_modules(shift="eq5").records
    w = ens.hop_weights
    for i in (0, 5, len(table.records) - 1):
        rec = table.records[i]
        scores = np.array([t.records[i].score for t in member_tables])
        wi = w[:, rec.hop] if rec.hop >= 0 else w.mean(1)
        mean = (wi * scores).sum() / wi.sum()
        spread = np.sqrt((wi * (scores - mean) ** 2).sum() / wi.sum())
        assert rec.score == pytest.approx(mean)
        assert rec.spread == pytest.approx(spread)
    # Construction from an ensemble works exactly like from one predictor.
    reduced = reduce_space(table, k=2)
    ranked = reduced.ranked(4)
    assert len(ranked) == 4
    assert ranked[0].score >= ranked[-1].score
    pool = ens.rank_candidates([r.arch for r in ranked][::-1])
    assert [b.arch for b in pool] == [r.arch for r in ranked]


def test_predict_is_weighted(ensemble, labelled):
    ens, _ = ensemble
    _, archs, _ = labelled
    mean, spread = ens.predict(archs[:3])
    preds = np.stack([m.predict(archs[:3]) for m in ens.members])
    w = ens.prediction_weights
    np.testing.assert_allclose(mean, (w[:, None] * preds).sum(0) / w.sum())
    assert (spread >= 0).all()


def test_rerank_uses_the_weighted_prediction(ensemble):
    ens, _ = ensemble
    built = reduce_space(ens.score_modules(), 2).ranked()
    out = ens.rerank(built)
    mean, spread = ens.predict([b.arch for b in built])
    order = np.argsort(-mean, kind="stable")
    assert [b.arch for b in out] == [built[i].arch for i in order]
    assert [b.prediction for b in out] == pytest.approx(mean[order])
    assert [b.spread for b in out] == pytest.approx(spread[order])
    assert ens.rerank([]) == []


def test_save_load_round_trip_and_resume(ensemble, labelled, monkeypatch):
    ens, out = ensemble
    space, archs, y = labelled
    back = PredictorEnsemble.load(out)
    np.testing.assert_allclose(back.predict(archs[:4])[0], ens.predict(archs[:4])[0])
    # Members kept in memory predict exactly as the ones read from their files.
    for a, b in zip(back.members, ens.members, strict=True):
        np.testing.assert_array_equal(a.predict(archs), b.predict(archs))
        assert a.metadata_ == b.metadata_

    def refuse(task):
        raise AssertionError(f"member {task.name} retrained instead of reused")

    monkeypatch.setattr(members_mod, "train_member", refuse)
    again = fit_ensemble(
        space, archs, y, folds=2, seeds=[0, 1], executor="serial", epochs=4, out=out
    )
    np.testing.assert_allclose(again.predict(archs[:4])[0], ens.predict(archs[:4])[0])
    # Other settings are other tasks: nothing is reused.
    with pytest.raises(AssertionError, match="retrained"):
        fit_ensemble(space, archs, y, folds=2, seeds=[0, 1], executor="serial", epochs=5, out=out)


def test_a_member_result_pickles_and_holds_the_checkpoint_files(labelled, tmp_path):
    from multiprocessing.reduction import ForkingPickler

    from autobuild.predictor import AutoBuildPredictor, PredictorConfig

    space, archs, y = labelled
    ids = [space.canonical_id(a) for a in archs]
    config = PredictorConfig(epochs=2).to_dict()
    task = fold_tasks(space.to_dict(), ids, list(y), config, folds=2, seeds=[0])[1]
    result = members_mod.train_member(task)
    # The pickler of worker processes: bytes and plain values, no shared-memory tensors.
    back = ForkingPickler.loads(bytes(ForkingPickler.dumps(result)))
    assert (back.task, back.weights, back.meta) == (result.task, result.weights, result.meta)
    member = AutoBuildPredictor.from_state(back.state(), space)
    assert member.metadata_ == {"member": {"fold": 1, "shuffle": 0}}
    member.save(tmp_path / "m")
    assert (tmp_path / "m" / "model.safetensors").read_bytes() == result.weights
    assert json.loads((tmp_path / "m" / "predictor.json").read_text()) == result.meta
    again = AutoBuildPredictor.load(tmp_path / "m", space)
    np.testing.assert_array_equal(again.predict(archs), member.predict(archs))


def test_load_errors(tmp_path):
    with pytest.raises(CheckpointError, match=r"ensemble\.json is missing"):
        PredictorEnsemble.load(tmp_path)
    (tmp_path / "ensemble.json").write_text('{"format": "other"}')
    with pytest.raises(CheckpointError, match="format"):
        PredictorEnsemble.load(tmp_path)


def test_bad_labels_and_executor(labelled):
    space, archs, y = labelled
    with pytest.raises(DataError, match="finite"):
        fit_ensemble(space, archs, [*y[:-1], float("nan")], executor="serial")
    with pytest.raises(ConfigError, match="executor"):
        run_tasks(fold_tasks({}, ["a"] * 4, [0.0] * 4, {}, folds=2, seeds=[0]), executor="threads")


def _timeless(infos):
    return [{k: v for k, v in i.items() if k != "train_seconds"} for i in infos]


def test_process_executor_equals_serial(labelled):
    space, archs, y = labelled
    kw = {"folds": 2, "seeds": [3], "epochs": 2}
    a = fit_ensemble(space, archs[:20], y[:20], executor="serial", **kw)
    b = fit_ensemble(space, archs[:20], y[:20], executor="process", n_jobs=2, **kw)
    assert _timeless(a.info) == _timeless(b.info)
    for ma, mb in zip(a.members, b.members, strict=True):
        np.testing.assert_array_equal(ma.predict(archs), mb.predict(archs))


def test_ray_executor_equals_serial(labelled):
    ray = pytest.importorskip("ray")
    space, archs, y = labelled
    kw = {"folds": 2, "seeds": [3], "epochs": 2}
    a = fit_ensemble(space, archs[:20], y[:20], executor="serial", **kw)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        b = fit_ensemble(space, archs[:20], y[:20], executor="ray", **kw)
    finally:
        ray.shutdown()
    assert _timeless(a.info) == _timeless(b.info)
    for ma, mb in zip(a.members, b.members, strict=True):
        np.testing.assert_array_equal(ma.predict(archs), mb.predict(archs))
