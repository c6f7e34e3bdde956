import itertools

import numpy as np
import pytest
from tests.conftest import synthetic_acc

import autobuild.spaces as S
from autobuild.construction import (
    RERANK_HEAD,
    _all_sums,
    _top_sums,
    rank_candidates,
    reduce_space,
    rerank,
)
from autobuild.exceptions import ConfigError, NotFittedError
from autobuild.predictor import AutoBuildPredictor
from autobuild.scoring import score_modules


@pytest.fixture(scope="module")
def scores():
    space = S.get("nasbench-macro")
    archs = space.sample(120, seed=0)
    pred = AutoBuildPredictor(space, epochs=3, random_state=0).fit(
        archs, synthetic_acc(space, archs)
    )
    return pred, score_modules(pred)


def test_k3_reduced_space_has_27_unique_architectures_ranked_by_summed_score(scores):
    pred, table = scores
    red = reduce_space(table, 3)
    assert red.size() == 27
    ranked = red.ranked()
    assert len(ranked) == len({b.arch for b in ranked}) == 27
    # Brute force: every product of the per-unit top-3, summed.
    tops = [table.top_k(u, 3) for u in range(3)]
    sums = sorted(
        (sum(r.score for r in combo) for combo in itertools.product(*tops)), reverse=True
    )
    assert [b.score for b in ranked] == pytest.approx(sums)
    best = red.best()
    assert best.arch == ranked[0].arch
    assert best.unit_scores == tuple(t[0].score for t in tops)
    assert all(pred.space.validate(b.arch) == b.arch for b in ranked)


def test_k_per_unit_and_top(scores):
    _, table = scores
    red = reduce_space(table, [1, 2, 4])
    assert red.size() == 8
    assert len(red.ranked(top=5)) == 5
    assert [b.score for b in red.ranked(top=5)] == [b.score for b in red.ranked()][:5]


@pytest.mark.parametrize("seed", range(5))
def test_heap_top_sums_equal_full_sort(seed):
    rng = np.random.default_rng(seed)
    lists = [np.sort(rng.normal(size=rng.integers(1, 6)))[::-1] for _ in range(4)]
    full = _all_sums(lists)
    top = _top_sums(lists, 10)
    total = [sum(lst[i] for lst, i in zip(lists, idx, strict=True)) for idx in full]
    got = [sum(lst[i] for lst, i in zip(lists, idx, strict=True)) for idx in top]
    assert got == pytest.approx(total[: len(top)])
    assert len(set(top)) == len(top)


def test_union_and_concat_of_several_tables(scores):
    _, table = scores
    union = reduce_space([table, table], 3, mode="union")
    concat = reduce_space([table, table], 3, mode="concat")
    assert union.size() == 27
    assert concat.size() == 6**3
    assert {b.arch for b in concat.ranked()} == {b.arch for b in union.ranked()}


def test_bad_arguments(scores):
    _, table = scores
    with pytest.raises(ConfigError, match="`k` must be"):
        reduce_space(table, 0)
    with pytest.raises(ConfigError, match="one per unit"):
        reduce_space(table, [3, 3])
    with pytest.raises(ConfigError, match="`mode`"):
        reduce_space(table, 3, mode="mix")


def test_rank_candidates_sums_module_scores(scores):
    pred, table = scores
    space = pred.space
    cands = space.sample(30, seed=5)
    ranked = rank_candidates(pred, [*cands, cands[0]])
    assert len(ranked) == 30
    for b in ranked:
        expected = [table.lookup(u, space.unit_subgraph(b.arch, u)).score for u in range(3)]
        assert b.unit_scores == pytest.approx(expected)
    assert [b.score for b in ranked] == sorted((b.score for b in ranked), reverse=True)


def test_rerank_orders_by_the_whole_architecture_prediction(scores):
    pred, table = scores
    built = reduce_space(table, 3).ranked()
    for head, expected_head in [("auto", RERANK_HEAD), ("regressor", "regressor")]:
        out = rerank(built, pred, head=head)
        values = pred.predict([b.arch for b in built], head=expected_head)
        assert {b.arch for b in out} == {b.arch for b in built}
        assert len(out) == len(built)
        assert [b.prediction for b in out] == pytest.approx(sorted(values, reverse=True))
        assert all(b.spread == 0.0 for b in out)
        by_arch = {b.arch: b for b in built}
        assert all(b.score == by_arch[b.arch].score for b in out)  # summed scores kept
    assert rerank([], pred) == []
    assert all(b.prediction is None for b in built)
    with pytest.raises(ConfigError, match="head"):
        rerank(built, pred, head="best")
    with pytest.raises(NotFittedError):
        rerank(built, AutoBuildPredictor(pred.space))
