"""Each distinct architecture is predicted once: repeats get bitwise-equal values.

BLAS kernels may round a row of a matrix product differently depending on the shape of
the batch it sits in, so one architecture at two positions of a batch could get
predictions that differ in the last bits unless it runs through the network once.
"""

import numpy as np
import pytest
from tests.conftest import synthetic_acc

import autobuild.spaces as S
from autobuild.ensemble import PredictorEnsemble
from autobuild.predictor import AutoBuildPredictor
from autobuild.scoring import score_subgraphs


@pytest.fixture(scope="module")
def macro():
    space = S.get("nasbench-macro")
    archs = space.sample(60, seed=0)
    pred = AutoBuildPredictor(space, epochs=2, random_state=0).fit(
        archs, synthetic_acc(space, archs)
    )
    return space, pred


@pytest.fixture(scope="module")
def tiny():
    import tomllib

    from tests.conftest import TINY_TOML

    space = S.SearchSpace.from_dict(tomllib.loads(TINY_TOML))
    archs = space.sample(60, seed=0)
    pred = AutoBuildPredictor(space, epochs=2, random_state=0, unit_lambda=1.0).fit(
        archs, synthetic_acc(space, archs)
    )
    return space, pred


def _spy(monkeypatch, obj, name, arg=0):
    """Record positional argument ``arg`` (a list of items) of every call of ``obj.name``."""
    calls = []
    real = getattr(obj, name)

    def spy(*args, **kwargs):
        calls.append(list(args[arg]))
        return real(*args, **kwargs)

    monkeypatch.setattr(obj, name, spy)
    return calls


@pytest.mark.parametrize("fill", [1, 3, 17, 100])
def test_one_network_under_two_ids_gets_one_prediction(macro, fill):
    space, pred = macro
    # Skips are dropped: both keys are one network, with one canonical id.
    a, b = space.parse("22212220"), space.parse("22212202")
    assert space.canonical_id(a) == space.canonical_id(b)
    batch = [a, *space.sample(fill, seed=1), b]
    values, norms = pred.predict(batch), pred.hop_norms(batch)
    assert values[0] == values[-1]
    np.testing.assert_array_equal(norms[0], norms[-1])
    np.testing.assert_array_equal(pred.predict([a, b]), [pred.predict([a])[0]] * 2)


@pytest.mark.parametrize("head", ["regressor", "units", "mean"])
def test_a_repeated_architecture_runs_through_the_network_once(tiny, monkeypatch, head):
    space, pred = tiny
    pool = space.sample(40, seed=5)
    arch = pool[7]
    batch = [arch, *pool, arch, *pool[:3], arch]
    calls = _spy(monkeypatch, pred.encoder, "encode_batch")
    values = pred.predict(batch, head=head)
    assert calls == [list(dict.fromkeys(batch))]  # each distinct one, in order first seen
    assert values.shape == (len(batch),)
    for repeated in (arch, pool[0]):
        where = [i for i, a in enumerate(batch) if a == repeated]
        assert len(set(values[where].tolist())) == 1
    np.testing.assert_array_equal(values[1 : len(pool) + 1], pred.predict(pool, head=head))
    norms = pred.hop_norms(batch)
    assert norms.shape == (len(batch), pred.model_.num_hops)
    np.testing.assert_array_equal(norms[1 : len(pool) + 1], pred.hop_norms(pool))
    np.testing.assert_array_equal(norms[0], norms[-1])


def test_evaluate_scores_repeats_with_their_one_prediction(tiny, monkeypatch):
    space, pred = tiny
    pool = space.sample(30, seed=2)
    batch = pool + pool[::-1]
    calls = _spy(monkeypatch, pred.encoder, "encode_batch")
    y = synthetic_acc(space, batch)
    m = pred.evaluate(batch, y)
    assert calls == [list(dict.fromkeys(pool))]
    values = pred.predict(batch)
    np.testing.assert_array_equal(values[: len(pool)], values[len(pool) :][::-1])
    assert m["mae"] == pytest.approx(float(np.mean(np.abs(values - y))))


def test_an_ensemble_gives_repeats_one_mean_and_spread(tiny):
    space, pred = tiny
    other = AutoBuildPredictor(space, epochs=2, random_state=1).fit(
        pred.train_archs_, pred.train_labels_
    )
    info = {"srcc": 0.5, "hop_srcc": [0.5] * pred.model_.num_hops}
    ens = PredictorEnsemble(space, (pred, other), (info, dict(info, srcc=0.9)), {})
    pool = space.sample(20, seed=4)
    mean, spread = ens.predict([pool[3], *pool, pool[3]])
    assert mean[0] == mean[4] == mean[-1]
    assert spread[0] == spread[4] == spread[-1]


def test_a_repeated_subgraph_is_scored_once(tiny, monkeypatch):
    space, pred = tiny
    subs = list(dict.fromkeys(space.unit_subgraph(a, 0) for a in space.sample(80, seed=6)))
    sg = subs[0]
    calls = _spy(monkeypatch, pred.encoder, "encode_subgraphs", arg=1)
    recs = score_subgraphs(pred, 0, [sg, *subs, sg], shift="eq5")
    encoded = [s for call in calls for s in call]
    assert len(encoded) == len(subs)
    assert set(encoded) == set(subs)
    assert [r.subgraph for r in recs] == [sg, *subs, sg]
    assert recs[0] == recs[1] == recs[-1]
