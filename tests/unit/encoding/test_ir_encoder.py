"""The IR graph encoder: architectures of a space become op graphs of their networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("onnx")

import autobuild as ab
from autobuild.encoding.ir import IRGraphEncoder
from autobuild.exceptions import EncodingError, SearchSpaceError

KEYS = ["22212220", "00000000", "12012012"]


@pytest.fixture(scope="module")
def encoded() -> tuple[IRGraphEncoder, list[ab.Architecture], ab.encoding.GraphBatch]:
    space = ab.spaces.get("nasbench-macro")
    enc = IRGraphEncoder(space)
    archs = [space.parse(k) for k in KEYS]
    return enc, archs, enc.encode_batch(archs)


def test_categories_are_op_shape_attributes(encoded):
    enc, _, _ = encoded
    assert enc.category_names == ["op", "shape", "attributes"]
    assert [c.width for c in enc.numeric] == [12, 9]
    assert enc.categorical[0].vocabulary[:3] == ("<OOV>", "input_dummy", "output_dummy")
    assert enc.schema()["format"] == "ir"


def test_batch_packs_each_graph_with_its_own_edges(encoded):
    enc, archs, batch = encoded
    graphs = [enc.graph(a) for a in archs]
    assert batch.num_graphs == 3
    assert batch.sizes.tolist() == [g.num_nodes for g in graphs]
    assert batch.x_num.shape == (batch.num_nodes, 21)
    assert batch.edges is not None
    src, dst = batch.edges
    assert torch.equal(batch.batch[src], batch.batch[dst])  # no edge crosses graphs
    for i, g in enumerate(graphs):
        lo = int(batch.ptr[i])
        rows = slice(lo, lo + g.num_nodes)
        assert np.array_equal(batch.x_cat[rows, 0].numpy(), g.op_index)
        assert np.array_equal(batch.x_num[rows, :12].numpy(), g.shapes)
        assert np.array_equal(batch.x_num[rows, 12:].numpy(), g.attributes)
    # The all-identity key keeps only the projections: a smaller graph than 22212220.
    assert graphs[1].num_nodes < graphs[0].num_nodes
    # Selecting a graph gives the same rows and edges as encoding it alone.
    alone = enc.encode_batch([archs[2]])
    sub = batch.select(torch.tensor([2]))
    assert torch.equal(sub.x_num, alone.x_num)
    assert torch.equal(sub.edges, alone.edges)


def test_graphs_are_cached_in_memory_and_on_disk(tmp_path, monkeypatch, encoded):
    _, archs, _ = encoded
    space = ab.spaces.get("nasbench-macro")
    enc = IRGraphEncoder(space, cache_dir=tmp_path)
    g = enc.graph(archs[0])
    assert enc.graph(archs[0]) is g
    assert len(list(tmp_path.glob("*.json"))) == 1

    import autobuild.ir as ir

    def refuse(*_a, **_k):
        raise AssertionError("converted again instead of reading the cache")

    monkeypatch.setattr(ir, "module_to_ir", refuse)
    again = IRGraphEncoder(space, cache_dir=tmp_path).graph(archs[0])
    assert again == g
    # A corrupt cache file is ignored (with a warning), not trusted.
    path = next(tmp_path.glob("*.json"))
    path.write_text("{not json")
    monkeypatch.undo()
    assert IRGraphEncoder(space, cache_dir=tmp_path).graph(archs[0]) == g


def test_space_without_builder_is_a_clear_error(tiny_space):
    enc = IRGraphEncoder(tiny_space)
    with pytest.raises(SearchSpaceError, match="cannot build networks"):
        enc.encode_batch(tiny_space.sample(1, seed=0))


def test_ir_graphs_have_no_stage_subgraphs(encoded):
    enc, _, _ = encoded
    with pytest.raises(EncodingError, match="sequence"):
        enc.default_globals()
