"""One scoring interface: a predictor (wrapped) and an ensemble are both Scorers."""

from __future__ import annotations

import pickle
import tomllib

import numpy as np
import pytest
from tests.conftest import TINY_TOML, synthetic_acc

from autobuild.construction import rank_candidates, reduce_space, rerank
from autobuild.ensemble import PredictorEnsemble
from autobuild.evaluation import PredictorEvaluator
from autobuild.exceptions import ConfigError
from autobuild.predictor import AutoBuildPredictor
from autobuild.scoring import (
    ModuleScores,
    Prediction,
    PredictorScorer,
    Scorer,
    as_scorer,
    score_modules,
)
from autobuild.spaces import SearchSpace

# Tiny training sets leave thin label-moment buckets; their warnings are not under test.
pytestmark = pytest.mark.filterwarnings("ignore::autobuild.exceptions.AutobuildWarning")


@pytest.fixture(scope="module")
def fitted():
    """A predictor with a unit head, and a one-member ensemble of it with unit weights."""
    space = SearchSpace.from_dict(tomllib.loads(TINY_TOML))
    archs = space.sample(60, seed=0)
    pred = AutoBuildPredictor(space, epochs=3, random_state=0).fit(
        archs, synthetic_acc(space, archs)
    )
    pred.metadata_ = {"target": "acc", "unit": "%"}
    hops = pred.config.num_layers + 1
    info = ({"name": "only", "srcc": 1.0, "hop_srcc": [1.0] * hops},)
    ens = PredictorEnsemble(space, (pred,), info, {"target": "acc"})
    return space, pred, ens


def test_a_predictor_and_an_ensemble_are_scorers(fitted):
    _, pred, ens = fitted
    scorer = as_scorer(pred)
    assert isinstance(scorer, PredictorScorer)
    assert scorer.predictor is pred
    assert scorer.members == (pred,)
    assert scorer.space is pred.space
    assert scorer.direction == "max"
    assert scorer.metadata == {"target": "acc", "unit": "%"}
    assert isinstance(scorer, Scorer)
    assert isinstance(ens, Scorer)
    assert as_scorer(ens) is ens
    assert as_scorer(scorer) is scorer
    assert not isinstance(pred, Scorer)  # a predictor is wrapped, not a scorer itself
    assert pickle.loads(pickle.dumps(scorer)).predictor.space.name == pred.space.name


@pytest.mark.parametrize("obj", [object(), "checkpoint/", None, 3.0])
def test_as_scorer_refuses_anything_else(obj):
    with pytest.raises(ConfigError, match=f"got {type(obj).__name__}"):
        as_scorer(obj)


def test_predictor_scorer_needs_a_predictor(fitted):
    _, _, ens = fitted
    with pytest.raises(ConfigError, match="got PredictorEnsemble; use as_scorer"):
        PredictorScorer(ens)  # type: ignore[arg-type]


def test_prediction_shapes_and_the_predictor_spread_is_zero(fitted):
    space, pred, ens = fitted
    archs = space.sample(7, seed=3)
    one = as_scorer(pred).predict(archs)
    assert isinstance(one, Prediction)
    assert one.value.shape == one.spread.shape == (7,)
    np.testing.assert_array_equal(one.value, pred.predict(archs))
    np.testing.assert_array_equal(one.spread, np.zeros(7))
    assert one.hop_norms is not None
    assert one.hop_norms.shape == (7, pred.config.num_layers + 1)
    np.testing.assert_array_equal(one.hop_norms, pred.hop_norms(archs))
    units = as_scorer(pred).predict(archs, head="units")
    np.testing.assert_array_equal(units.value, pred.predict(archs, head="units"))

    many = ens.predict(archs)
    assert many.value.shape == many.spread.shape == (7,)
    assert many.hop_norms is None
    # It also unpacks and indexes as the (value, spread) pair.
    value, spread = many
    assert value is many.value
    assert spread is many[1]
    assert len(many) == 2


def test_a_one_member_ensemble_scores_and_predicts_as_its_member(fitted):
    space, pred, ens = fitted
    scorer = as_scorer(pred)
    archs = space.sample(25, seed=4)
    prediction = ens.predict(archs)
    np.testing.assert_array_equal(prediction.value, pred.predict(archs))
    np.testing.assert_array_equal(prediction.spread, np.zeros(25))
    for shift in ("eq5", "additive", "raw"):
        mine, its = ens.score_modules(shift=shift), scorer.score_modules(shift=shift)
        assert mine.shift == its.shift == shift
        assert [r.score for r in mine.records] == [r.score for r in its.records]
        assert all(r.spread == 0.0 for r in mine.records)
    # "auto": the predictor's unit head, the ensemble's Eq. 5 (its weights rank hop norms).
    assert scorer.score_modules().shift == "additive"
    assert ens.score_modules().shift == "eq5"
    np.testing.assert_allclose(
        ens.unit_scores(archs, shift="eq5"), scorer.unit_scores(archs, shift="eq5"), rtol=1e-9
    )
    built = reduce_space(ens.score_modules(), 2).ranked()
    by_ensemble = ens.rerank(built)
    by_predictor = scorer.rerank(built, head="regressor")
    assert [b.arch for b in by_ensemble] == [b.arch for b in by_predictor]
    assert [b.prediction for b in by_ensemble] == [b.prediction for b in by_predictor]


def test_unit_scores_sum_to_the_candidate_ranking(fitted):
    space, pred, ens = fitted
    archs = space.sample(30, seed=5)
    for scorer in (as_scorer(pred), ens):
        per_unit = scorer.unit_scores(archs)
        assert per_unit.shape == (30, space.num_units)
        ranked = rank_candidates(scorer, archs)
        assert rank_candidates(ens, archs) == ens.rank_candidates(archs)
        by_arch = {b.arch: b for b in ranked}
        for a, row in zip(archs, per_unit, strict=True):
            assert by_arch[space.validate(a)].unit_scores == tuple(row)
    # A table of every subgraph gives the same unit scores as scoring the candidates.
    table = score_modules(pred)
    np.testing.assert_allclose(
        table.unit_scores(archs), as_scorer(pred).unit_scores(archs), rtol=1e-9
    )
    np.testing.assert_array_equal(ens.score_modules().unit_scores(archs), ens.unit_scores(archs))


def test_rank_candidates_from_a_table(fitted):
    space, pred, _ = fitted
    archs = space.sample(20, seed=6)
    table = score_modules(pred, shift="eq5")
    ranked = rank_candidates(table, [*archs, archs[0]])
    assert len(ranked) == 20
    assert [b.score for b in ranked] == sorted((b.score for b in ranked), reverse=True)
    assert rank_candidates(table, archs, shift="eq5") == rank_candidates(table, archs)
    with pytest.raises(ConfigError, match="scored with shift='eq5', so shift='raw'"):
        rank_candidates(table, archs, shift="raw")
    with pytest.raises(ConfigError, match="got str"):
        rank_candidates("checkpoint/", archs)  # type: ignore[arg-type]


def test_table_unit_scores_refuse_what_the_table_did_not_score(fitted):
    space, pred, _ = fitted
    archs = space.sample(3, seed=7)
    with pytest.raises(ConfigError, match=r"Unit 'stage2' .* was not scored"):
        score_modules(pred, units=[0]).unit_scores(archs)
    table = score_modules(pred)
    other = ModuleScores(space, table.records, globals=(224,))
    with pytest.raises(ConfigError, match=r"has global feature values \(\), but this table"):
        other.unit_scores(archs)


def test_rerank_accepts_any_scorer(fitted):
    _, pred, ens = fitted
    built = reduce_space(score_modules(pred), 2).ranked()
    assert rerank(built, ens) == ens.rerank(built)
    assert rerank(built, pred) == as_scorer(pred).rerank(built)
    assert as_scorer(pred).rerank([]) == []
    with pytest.raises(ConfigError, match="got dict"):
        rerank(built, {})  # type: ignore[arg-type]


def test_predictor_evaluator_takes_an_ensemble(fitted):
    space, pred, ens = fitted
    archs = space.sample(5, seed=8)
    ev = PredictorEvaluator(ens)
    assert ev.metric_names == ["acc"]
    assert ev.space is space
    values = [r["acc"] for r in ev.evaluate(archs)]
    assert values == list(ens.predict(archs).value)
    single = PredictorEvaluator(pred)
    assert single.metrics[0].unit == "%"
    assert [r["acc"] for r in single.evaluate(archs)] == list(pred.predict(archs))
    with pytest.raises(ConfigError, match="got str"):
        PredictorEvaluator("checkpoint/")  # type: ignore[arg-type]
