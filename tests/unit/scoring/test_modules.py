import warnings

import numpy as np
import pytest
import torch
from tests.conftest import synthetic_acc

import autobuild.spaces as S
from autobuild.exceptions import AutobuildWarning, ConfigError
from autobuild.predictor import AutoBuildPredictor
from autobuild.scoring import (
    feature_importance,
    score_modules,
    score_subgraphs,
    write_records,
)


def _fit(space, n=80, seed=0, **kw):
    archs = space.sample(n, seed=seed)
    params = {"epochs": 3, "random_state": seed, **kw}
    return AutoBuildPredictor(space, **params).fit(archs, synthetic_acc(space, archs))


@pytest.fixture(scope="module")
def nasbench_pred():
    return _fit(S.get("nasbench-macro"), n=120)


def test_every_subgraph_is_scored_once(nasbench_pred):
    space = nasbench_pred.space
    scores = score_modules(nasbench_pred)
    assert len(scores.records) == space.count_subgraphs() == 51
    for u in range(space.num_units):
        got = [r.subgraph for r in scores.records if r.unit == u]
        assert got == list(space.enumerate_subgraphs(u))
        assert [r.score for r in scores.unit(u)] == sorted(
            (r.score for r in scores.unit(u)), reverse=True
        )
        assert all(r.hop == r.n_layers - 1 for r in scores.unit(u))


def test_eq5_shift_maps_hop_moments_onto_label_moments(nasbench_pred):
    scores = score_modules(nasbench_pred, shift="eq5")
    moments = nasbench_pred.label_moments_
    mean_h, std_h = nasbench_pred.hop_moments_
    for r in scores.records:
        mean_y, std_y, _ = moments.buckets[(r.unit, r.n_layers)]
        expected = (r.raw - mean_h[r.hop]) / std_h[r.hop] * std_y + mean_y
        assert r.score == pytest.approx(expected)
    # Within a (unit, size) bucket the shift is monotone increasing.
    for (u, n), _ in moments.buckets.items():
        rows = [r for r in scores.records if r.unit == u and r.n_layers == n]
        raws = np.array([r.raw for r in rows])
        shifted = np.array([r.score for r in rows])
        assert (np.argsort(raws, kind="stable") == np.argsort(shifted, kind="stable")).all()


def test_label_moments_are_population_moments_per_unit_and_size(nasbench_pred):
    space = nasbench_pred.space
    moments = nasbench_pred.label_moments_
    y = nasbench_pred.train_labels_
    archs = nasbench_pred.train_archs_
    for (u, n), (mean, std, count) in moments.buckets.items():
        sel = [len(space.unit_subgraph(a, u)[0]) == n for a in archs]
        assert count == sum(sel)
        assert mean == pytest.approx(y[sel].mean())
        assert std == pytest.approx(y[sel].std())


@pytest.mark.parametrize("conv", ["gatv2", "graph", "gin"])
def test_isolated_subgraph_score_equals_embedding_in_full_architecture(conv):
    space = S.get("ofa-pn")
    pred = _fit(space, n=40, conv=conv)
    archs = space.sample(6, seed=7)
    batch = pred.encoder.encode_batch(archs)
    with torch.no_grad():
        hops = pred.model_.node_embeddings(batch)
    for i, arch in enumerate(archs):
        offset = int(batch.ptr[i])
        for u, stages in enumerate(space.units):
            sg = space.unit_subgraph(arch, u)
            n = sum(len(st) for st in sg)
            before = sum(len(arch.stages[s]) for s in range(stages[0]))
            node = offset + before + n - 1
            rec = score_subgraphs(pred, u, [sg], globals_=arch.globals)[0]
            inside = float(hops[n - 1][node].abs().sum())
            assert rec.raw == pytest.approx(inside, rel=1e-5, abs=1e-6)


def test_score_subgraphs_matches_score_modules(nasbench_pred):
    scores = score_modules(nasbench_pred)
    for u in range(3):
        subs = [r.subgraph for r in scores.records if r.unit == u][::-1]
        again = score_subgraphs(nasbench_pred, u, subs)
        for r in again:
            assert r.score == pytest.approx(scores.lookup(u, r.subgraph).score, rel=1e-6)


def test_empty_stage_is_scored_with_its_bucket_mean(tiny_space):
    pred = _fit(tiny_space, n=100)
    scores = score_modules(pred, shift="eq5")
    empties = [r for r in scores.records if r.n_layers == 0]
    assert len(empties) == 1
    assert empties[0].unit == 1
    assert len(scores.records) == tiny_space.count_subgraphs() + 1
    y = pred.train_labels_
    sel = [len(a.stages[1]) == 0 for a in pred.train_archs_]
    assert empties[0].score == pytest.approx(y[sel].mean())


def test_thin_bucket_falls_back_with_a_warning(tiny_space):
    archs = [a for a in tiny_space.sample(200, seed=0) if len(a.stages[0]) != 3]
    three = next(a for a in tiny_space.sample(200, seed=1) if len(a.stages[0]) == 3)
    archs = [*archs[:60], three]
    pred = AutoBuildPredictor(tiny_space, epochs=2, random_state=0).fit(
        archs, synthetic_acc(tiny_space, archs)
    )
    with pytest.warns(AutobuildWarning, match="unit 0 with 3 layers come from 1 training"):
        scores = score_modules(pred, units=[0], shift="eq5")
    assert all(np.isfinite(r.score) for r in scores.records)


def test_gcn_and_too_few_hops_are_refused(tiny_space):
    with pytest.raises(ConfigError, match="GCN"):
        score_modules(_fit(tiny_space, conv="gcn"))
    with pytest.raises(ConfigError, match="num_layers >= 2"):
        score_modules(_fit(tiny_space, num_layers=1))


def test_scoring_all_ofa_mbv3_subgraphs():
    space = S.get("ofa-mbv3")
    pred = _fit(space, n=40, epochs=1)
    scores = score_modules(pred)
    assert len(scores.records) == 36_855
    assert all(np.isfinite(r.score) for r in scores.records[::97])


def test_feature_importance(tiny_space):
    # Training data never uses kernel 7: it must not be reported.
    archs = [
        a
        for a in tiny_space.sample(150, seed=0)
        if all(layer[0] != 7 for st in a.stages for layer in st)
    ]
    pred = AutoBuildPredictor(tiny_space, epochs=3, random_state=0).fit(
        archs, synthetic_acc(tiny_space, archs)
    )
    fi = feature_importance(pred)
    assert {c.category for c in fi.categories} == {"stage", "layer", "kernel", "expand"}
    assert sum(c.share for c in fi.categories) == pytest.approx(1.0)
    kernels = {v.value for v in fi.values if v.category == "kernel"}
    assert kernels == {3, 5}
    stages = {v.value: v.count for v in fi.values if v.category == "stage"}
    assert set(stages) <= {1, 2}
    assert sum(stages.values()) == sum(a.num_layers for a in archs)
    fe = pred.model_.embed
    k3 = next(v for v in fi.values if v.category == "kernel" and v.value == 3)
    with torch.no_grad():
        assert k3.score == pytest.approx(float(fe.categorical_scores(2)[0]))


def test_feature_importance_numeric_values_in_their_units():
    space = S.get("ofa-mbv3")
    pred = _fit(space, n=40, epochs=1)
    fi = feature_importance(pred)
    res = {v.value for v in fi.values if v.category == "resolution"}
    assert res == {float(a.globals[0]) for a in pred.train_archs_}


def test_write_records_csv_and_json(tmp_path, nasbench_pred):
    import csv
    import json

    scores = score_modules(nasbench_pred)
    write_records(tmp_path / "s.csv", scores.records, space=nasbench_pred.space)
    with open(tmp_path / "s.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 51
    assert json.loads(rows[0]["subgraph"]) == [{"op": "proj"}]
    write_records(tmp_path / "s.json", scores.records[:2], space=nasbench_pred.space)
    assert json.loads((tmp_path / "s.json").read_text())[0]["stage"] == "s1"


def test_no_warnings_on_a_well_covered_space(nasbench_pred):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score_modules(nasbench_pred)


def test_additive_scores_sum_to_the_unit_head_prediction(tiny_space):
    pred = _fit(tiny_space, n=100, unit_lambda=1.0)
    scores = score_modules(pred)
    archs = tiny_space.sample(40, seed=3)
    batch = pred.encoder.encode_batch(archs)
    pred.model_.eval()
    with torch.no_grad():
        _, _, contrib = pred.model_.forward_with_units(batch)
    head = contrib.sum(1).double().numpy() * pred.label_std_ + pred.label_mean_
    sums = [
        sum(scores.lookup(u, tiny_space.unit_subgraph(a, u)).score for u in range(2))
        for a in archs
    ]
    np.testing.assert_allclose(sums, head, rtol=1e-5)


@pytest.mark.filterwarnings("ignore::autobuild.exceptions.AutobuildWarning")
def test_shift_choices(tiny_space):
    with_head = _fit(tiny_space, unit_lambda=1.0)
    without = _fit(tiny_space, unit_lambda=0.0)
    eq5 = score_modules(with_head, shift="eq5")
    auto = score_modules(with_head)
    assert [r.score for r in eq5.records] != [r.score for r in auto.records]
    assert [r.raw for r in eq5.records] == [r.raw for r in auto.records]
    with pytest.raises(ConfigError, match="unit_lambda > 0"):
        score_modules(without, shift="additive")
    with pytest.raises(ConfigError, match="`shift` must be"):
        score_modules(without, shift="linear")


def test_raw_shift_scores_are_the_norms(tiny_space):
    pred = _fit(tiny_space, unit_lambda=0.0)
    eq5 = score_modules(pred, shift="eq5")
    raw = score_modules(pred, shift="raw")
    assert raw.shift == "raw"
    assert [r.raw for r in raw.records] == [r.raw for r in eq5.records]
    assert [r.score for r in raw.records] == [r.raw for r in raw.records]
    assert [r.score for r in raw.records if r.n_layers == 0] == [0.0]
    # within one unit and size the order is the order of the shifted scores (Eq. 5 is affine)
    big = [r for r in raw.records if r.unit == 0 and r.n_layers == 3]
    shifted = {r.subgraph: r.score for r in eq5.records}
    order = sorted(big, key=lambda r: r.score)
    assert [shifted[r.subgraph] for r in order] == sorted(shifted[r.subgraph] for r in big)


def test_feature_importance_names_slot_columns(tiny_space):
    pred = _fit(tiny_space, slot_features=True)
    fi = feature_importance(pred)
    names = {c.category for c in fi.categories}
    assert names == {
        "stage",
        "layer",
        "kernel",
        "expand",
        "kernel by position",
        "expand by position",
    }
    assert sum(c.share for c in fi.categories) == pytest.approx(1.0)
