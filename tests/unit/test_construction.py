import dataclasses
import itertools

import numpy as np
import pytest
from tests.conftest import synthetic_acc

import autobuild.spaces as S
from autobuild.construction import (
    _all_sums,
    _top_sums,
    rank_candidates,
    reduce_space,
    rerank,
)
from autobuild.exceptions import ConfigError, NotFittedError
from autobuild.predictor import AutoBuildPredictor
from autobuild.scoring import RERANK_HEAD, ModuleScores, SubgraphScore, score_modules


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


def _synthetic_table(space, direction="max", seed=0):
    """Module scores of every subgraph of ``space``: random numbers, no predictor needed."""
    rng = np.random.default_rng(seed)
    records = []
    for u in range(space.num_units):
        for sg in space.enumerate_subgraphs(u):
            n = sum(len(st) for st in sg)
            value = float(rng.normal())
            records.append(SubgraphScore(u, space.unit_name(u), n, sg, n - 1, value, value))
    return ModuleScores(space, tuple(records), direction=direction)


@pytest.mark.parametrize("direction", ["max", "min"])
def test_concat_ranked_top_returns_that_many_distinct_architectures(tiny_space, direction):
    table = _synthetic_table(tiny_space, direction)
    # The same table twice in concat mode: every kept subgraph is listed twice per unit, so
    # most index tuples of the product name an architecture already seen.
    concat = reduce_space([table, table], 3, mode="concat")
    union = reduce_space([table, table], 3, mode="union")
    assert concat.size() == 6 * 6
    assert concat.num_distinct() == union.size() == union.num_distinct() == 9
    every = union.ranked()
    for n in (1, 2, 5, 8, 9, 10, 36, 100, None):
        got = concat.ranked(n)
        assert len(got) == min(n or 9, 9)
        assert len({b.arch for b in got}) == len(got)
        assert [b.score for b in got] == pytest.approx([b.score for b in every[: len(got)]])
        assert {b.arch for b in got} <= {b.arch for b in every}
    assert concat.best().arch == every[0].arch


def test_ranked_keeps_the_best_score_of_a_repeated_subgraph(tiny_space):
    from autobuild.construction import ReducedSpace

    a, b = list(tiny_space.enumerate_subgraphs(0))[:2]
    c = next(iter(tiny_space.enumerate_subgraphs(1)))
    reduced = ReducedSpace(tiny_space, ((a, b, a), (c,)), ((3.0, 2.0, 1.0), (0.5,)))
    assert reduced.size() == 3
    assert reduced.num_distinct() == 2
    assert [x.score for x in reduced.ranked(3)] == [3.5, 2.5]
    low = dataclasses.replace(reduced, direction="min")
    assert [x.score for x in low.ranked(3)] == [1.5, 2.5]  # a at 1.0 is the better copy
    assert [x.score for x in low.ranked(1)] == [1.5]


def test_min_direction_keeps_and_ranks_the_lowest_scores(tiny_space):
    table = _synthetic_table(tiny_space, "min")
    for u in range(tiny_space.num_units):
        scores = [r.score for r in table.unit(u)]
        assert scores == sorted(scores)
        assert [r.score for r in table.top_k(u, 2)] == scores[:2]
    red = reduce_space(table, 3)
    assert red.direction == "min"
    assert [list(s) for s in red.scores] == [
        [r.score for r in table.top_k(u, 3)] for u in range(tiny_space.num_units)
    ]
    ranked = red.ranked()
    tops = [table.top_k(u, 3) for u in range(tiny_space.num_units)]
    sums = sorted(sum(r.score for r in combo) for combo in itertools.product(*tops))
    assert [b.score for b in ranked] == pytest.approx(sums)  # lowest sum first
    assert [b.score for b in red.ranked(4)] == pytest.approx(sums[:4])
    assert red.best().unit_scores == tuple(t[0].score for t in tops)
    # Several tables of direction min combine by their z-scores, still lowest first.
    other = _synthetic_table(tiny_space, "min", seed=1)
    both = reduce_space([table, other], 2)
    assert both.direction == "min"
    assert all(list(s) == sorted(s) for s in both.scores)
    ranked = both.ranked()
    assert [b.score for b in ranked] == sorted(b.score for b in ranked)


def test_tables_of_different_directions_are_refused(tiny_space):
    high, low = _synthetic_table(tiny_space, "max"), _synthetic_table(tiny_space, "min")
    with pytest.raises(ConfigError, match=r"different directions.*table 1: 'max', table 2: 'min'"):
        reduce_space([high, low], 2)
    with pytest.raises(ConfigError, match="got 'lowest'"):
        ModuleScores(tiny_space, (), direction="lowest")


def test_a_min_predictor_ranks_candidates_and_reranks_lowest_first(scores, monkeypatch):
    pred, _ = scores
    monkeypatch.setattr(pred, "metadata_", {"direction": "min"})
    table = score_modules(pred)
    assert table.direction == "min"
    for u in range(pred.space.num_units):
        best = table.top_k(u, 1)[0]
        assert best.score == min(r.score for r in table.records if r.unit == u)
    cands = pred.space.sample(30, seed=5)
    ranked = rank_candidates(pred, cands)
    assert [b.score for b in ranked] == sorted(b.score for b in ranked)
    built = reduce_space(table, 3).ranked()
    assert [b.score for b in built] == sorted(b.score for b in built)
    out = rerank(built, pred, head="regressor")
    values = pred.predict([b.arch for b in built], head="regressor")
    assert [b.prediction for b in out] == pytest.approx(sorted(values))

    monkeypatch.setattr(pred, "metadata_", {"direction": "down"})
    with pytest.raises(ConfigError, match="got 'down'"):
        score_modules(pred)
