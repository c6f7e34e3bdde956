"""Tests for the sequence-graph encoder and packed graph batches."""

from __future__ import annotations

import pytest
import torch

import autobuild.spaces as S
from autobuild.encoding import GraphBatch, SequenceGraphEncoder
from autobuild.exceptions import EncodingError
from autobuild.spaces import Architecture, SearchSpace

RES_LOW, RES_HIGH = 128, 224


def _ofa_arch(depths: list[int], block: tuple[int, int] = (3, 3), r: float = 224) -> Architecture:
    return Architecture(tuple((block,) * d for d in depths), (r,))


def _encoder(name: str) -> tuple[SearchSpace, SequenceGraphEncoder]:
    space = S.get(name)
    return space, SequenceGraphEncoder(space)


def _assert_same(a: GraphBatch, b: GraphBatch) -> None:
    assert torch.equal(a.x_cat, b.x_cat)
    assert torch.equal(a.x_num, b.x_num)
    assert torch.equal(a.ptr, b.ptr)


# ---------------------------------------------------------------------- categories
def test_categories_of_ofa_spaces():
    for name, stages in (("ofa-mbv3", 5), ("ofa-pn", 6)):
        _, enc = _encoder(name)
        assert [(c.name, c.kind, c.source) for c in enc.categories] == [
            ("stage", "categorical", "position"),
            ("layer", "categorical", "position"),
            ("expand", "categorical", "layer"),
            ("kernel", "categorical", "layer"),
            ("resolution", "numeric", "global"),
        ]
        vocab = {c.name: c.vocabulary for c in enc.categories}
        assert vocab == {
            "stage": tuple(range(stages)),
            "layer": (0, 1, 2, 3),
            "expand": (3, 4, 6),
            "kernel": (3, 5, 7),
            "resolution": (),
        }
        assert enc.category_names == ["stage", "layer", "expand", "kernel", "resolution"]
        assert enc.schema() == {
            "categorical": [
                {"name": "stage", "size": stages},
                {"name": "layer", "size": 4},
                {"name": "expand", "size": 3},
                {"name": "kernel", "size": 3},
            ],
            "numeric": ["resolution"],
        }


def test_categories_of_nasbench_macro():
    _, enc = _encoder("nasbench-macro")
    assert [c.name for c in enc.categories] == ["stage", "layer", "op"]
    assert [c.vocabulary for c in enc.categories] == [
        (0, 1, 2),
        (0, 1, 2),
        ("mb3_k3", "mb6_k5", "proj"),
    ]
    assert enc.numeric == ()
    assert [c.size for c in enc.categorical] == [3, 3, 3]


def test_numeric_layer_features_are_categories():
    space = SearchSpace.from_dict(
        {
            "name": "num",
            "layer": {"width": {"type": "numeric", "values": [0.5, 1.0]}, "kernel": [3, 5]},
            "global": {"act": ["relu", "swish"]},
            "stage": [{"min_layers": 1, "max_layers": 3}],
        }
    )
    enc = SequenceGraphEncoder(space)
    assert [(c.name, c.kind, c.source) for c in enc.categories] == [
        ("stage", "categorical", "position"),
        ("layer", "categorical", "position"),
        ("width", "numeric", "layer"),
        ("kernel", "categorical", "layer"),
        ("act", "categorical", "global"),
    ]
    assert enc.category_names == ["stage", "layer", "kernel", "act", "width"]
    b = enc.encode_batch([space.parse({"stages": [[[1.0, 5], [0.5, 3]]], "act": "swish"})])
    assert b.x_cat.tolist() == [[0, 0, 1, 1], [0, 1, 0, 1]]
    assert b.x_num.tolist() == [[1.0], [0.0]]
    bad = Architecture((((0.5, 7),),), ("relu",))
    with pytest.raises(EncodingError, match=r"Value 7 of feature 'kernel' is not in the space"):
        enc.encode_batch([bad])


# ---------------------------------------------------------------------- node features
def test_ofa_block_features():
    space, enc = _encoder("ofa-mbv3")
    stages = [((3, 3), (3, 3))] * 5
    stages[2] = ((3, 3), (4, 5))  # stage 3, position 2: e=4, k=5
    arch = space.validate(Architecture(tuple(stages), (208,)))
    b = enc.encode_batch([arch])
    assert b.num_nodes == 10
    assert b.x_cat.dtype == torch.long
    assert b.x_num.dtype == torch.float32
    assert b.x_cat[5].tolist() == [2, 1, 1, 1]
    assert b.x_num[5].tolist() == pytest.approx([(208 - RES_LOW) / (RES_HIGH - RES_LOW)])
    assert b.x_cat[:, 0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert b.x_cat[:, 1].tolist() == [0, 1] * 5
    # The global feature is repeated on every node.
    assert torch.allclose(b.x_num, torch.full((10, 1), 80 / 96))


def test_resolution_bounds_normalise_to_zero_and_one():
    _, enc = _encoder("ofa-mbv3")
    b = enc.encode_batch([_ofa_arch([2] * 5, r=128), _ofa_arch([2] * 5, r=224)])
    assert b.x_num[:10].unique().tolist() == [0.0]
    assert b.x_num[10:].unique().tolist() == [1.0]


def test_pn_stage_six_node():
    space, enc = _encoder("ofa-pn")
    arch = space.validate(Architecture(tuple([((3, 3),) * 4] * 5 + [((6, 7),)]), (224,)))
    b = enc.encode_batch([arch])
    assert b.num_nodes == 21
    assert b.x_cat[-1].tolist() == [5, 0, 2, 2]
    assert int(b.last_node[0]) == 20


def test_nasbench_projection_node():
    space, enc = _encoder("nasbench-macro")
    b = enc.encode_batch([space.parse("02012100")])
    assert b.x_cat.tolist() == [
        [0, 0, 2],
        [0, 1, 1],
        [1, 0, 2],
        [1, 1, 0],
        [1, 2, 1],
        [2, 0, 0],
    ]
    assert b.x_num.shape == (6, 0)


# ---------------------------------------------------------------------- batch structure
def test_chain_edges_stay_within_graphs():
    _, enc = _encoder("ofa-mbv3")
    archs = [_ofa_arch([2, 2, 2, 2, 2]), _ofa_arch([4, 2, 3, 2, 2])]
    b = enc.encode_batch(archs)
    assert b.num_graphs == 2
    assert b.ptr.tolist() == [0, 10, 23]
    assert b.sizes.tolist() == [10, 13]
    assert b.batch.tolist() == [0] * 10 + [1] * 13
    assert b.last_node.tolist() == [9, 22]
    assert b.has_prev.tolist() == [False] + [True] * 9 + [False] + [True] * 12
    ei = b.edge_index()
    assert ei.dtype == torch.long
    expected = [(i, i + 1) for i in range(9)] + [(i, i + 1) for i in range(10, 22)]
    assert [tuple(e) for e in ei.t().tolist()] == expected
    assert (9, 10) not in {tuple(e) for e in ei.t().tolist()}


def test_encode_returns_pyg_data():
    space, enc = _encoder("ofa-pn")
    arch = space.sample(1, seed=0)[0]
    data = enc.encode(arch)
    n = arch.num_layers
    assert data.num_nodes == n
    assert data.x_cat.shape == (n, 4)
    assert data.x_num.shape == (n, 1)
    assert data.edge_index.tolist() == [list(range(n - 1)), list(range(1, n))]
    b = enc.encode_batch([arch])
    assert torch.equal(data.x_cat, b.x_cat)
    assert torch.equal(data.x_num, b.x_num)


def test_one_node_graph_has_empty_edge_index():
    space = SearchSpace.from_dict(
        {"name": "one", "layer": {"kernel": [3, 5]}, "stage": [{"min_layers": 1, "max_layers": 2}]}
    )
    data = SequenceGraphEncoder(space).encode(space.parse([[5]]))
    assert data.num_nodes == 1
    assert data.edge_index.shape == (2, 0)
    assert data.edge_index.dtype == torch.long
    assert data.x_cat.tolist() == [[0, 0, 1]]
    data.validate(raise_on_error=True)


def test_select_equals_direct_encoding():
    space, enc = _encoder("ofa-pn")
    archs = space.sample(12, seed=4)
    b = enc.encode_batch(archs)
    idx = [7, 0, 11, 3, 3]
    _assert_same(b.select(torch.tensor(idx)), enc.encode_batch([archs[i] for i in idx]))
    _assert_same(b.select(torch.arange(12)), b)
    empty = b.select(torch.tensor([], dtype=torch.long))
    assert empty.num_graphs == 0
    assert empty.num_nodes == 0


def test_concat_equals_encoding_at_once():
    space, enc = _encoder("nasbench-macro")
    archs = space.sample(9, seed=5)
    parts = [enc.encode_batch(part) for part in (archs[:2], archs[2:3], archs[3:])]
    _assert_same(GraphBatch.concat(parts), enc.encode_batch(archs))


def test_empty_architecture_is_an_encoding_error():
    space = SearchSpace.from_dict(
        {
            "name": "optional",
            "layer": {"kernel": [3, 5]},
            "stage": [{"min_layers": 0, "max_layers": 2}, {"min_layers": 0, "max_layers": 1}],
        }
    )
    enc = SequenceGraphEncoder(space)
    empty = space.parse([[], []])
    with pytest.raises(EncodingError, match=r"Architecture '\|' has no layers"):
        enc.encode_batch([space.parse([[3], []]), empty])
    with pytest.raises(EncodingError):
        enc.encode(empty)
    # A stage may still be empty when another one has layers.
    b = enc.encode_batch([space.parse([[], [5]])])
    assert b.x_cat.tolist() == [[1, 0, 1]]


# ---------------------------------------------------------------------- subgraphs
def test_subgraph_rows_equal_rows_in_full_architecture():
    space, enc = _encoder("ofa-mbv3")
    arch = space.sample(1, seed=9)[0]
    full = enc.encode_batch([arch])
    start = 0
    for unit in range(space.num_units):
        sg = space.unit_subgraph(arch, unit)
        n = sum(len(st) for st in sg)
        sub = enc.encode_subgraphs(unit, [sg], globals_=arch.globals)
        assert torch.equal(sub.x_cat, full.x_cat[start : start + n])
        assert torch.equal(sub.x_num, full.x_num[start : start + n])
        assert sub.ptr.tolist() == [0, n]
        start += n
    assert start == full.num_nodes


def test_pn_merged_unit_subgraphs():
    space, enc = _encoder("ofa-pn")
    subgraphs = list(space.enumerate_subgraphs(4))[::997]
    sub = enc.encode_subgraphs(4, subgraphs)  # default resolution 224
    prefix = [((3, 3),) * 2] * 4
    for g, sg in enumerate(subgraphs):
        arch = space.validate(Architecture((*prefix, *sg), (224,)))
        full = enc.encode_batch([arch])
        lo, hi = int(sub.ptr[g]), int(sub.ptr[g + 1])
        assert hi - lo == len(sg[0]) + 1
        assert torch.equal(sub.x_cat[lo:hi], full.x_cat[8:])
        assert torch.equal(sub.x_num[lo:hi], full.x_num[8:])
        assert sub.x_cat[hi - 1, :2].tolist() == [5, 0]
        assert sub.x_cat[lo : hi - 1, 0].unique().tolist() == [4]
    assert sub.x_num.unique().tolist() == [1.0]
    other = enc.encode_subgraphs(4, subgraphs[:1], globals_=(176,))
    assert other.x_num.unique().tolist() == [pytest.approx(0.5)]


def test_subgraphs_of_interval_global_without_default():
    space = SearchSpace.from_dict(
        {
            "name": "g",
            "layer": {"kernel": [3, 5]},
            "global": {"scale": {"type": "numeric", "min": 1, "max": 3}},
            "stage": [{"min_layers": 1, "max_layers": 2}],
        }
    )
    enc = SequenceGraphEncoder(space)
    b = enc.encode_subgraphs(0, [(((5,),),)])
    assert b.x_cat.tolist() == [[0, 0, 1]]
    assert b.x_num.tolist() == [[0.0]]  # the lower bound
    assert enc.encode_subgraphs(0, [(((5,),),)], globals_=(2.0,)).x_num.tolist() == [[0.5]]


def test_empty_subgraph_is_an_encoding_error():
    space = SearchSpace.from_dict(
        {"name": "e", "layer": {"kernel": [3]}, "stage": [{"min_layers": 0, "max_layers": 1}]}
    )
    with pytest.raises(EncodingError, match="of unit 0 is empty"):
        SequenceGraphEncoder(space).encode_subgraphs(0, [((),)])
