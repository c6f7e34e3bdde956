"""GraphBatch with explicit edges: selection and concatenation keep every graph's edges."""

import pytest
import torch

from autobuild.encoding import GraphBatch
from autobuild.exceptions import EncodingError


def _general(sizes: list[int], edges: list[list[tuple[int, int]]]) -> GraphBatch:
    """Graphs of ``sizes`` nodes with local ``edges``; node features are global node ids."""
    ptr = torch.tensor([0, *torch.tensor(sizes).cumsum(0).tolist()])
    e_ptr = torch.tensor([0, *torch.tensor([len(e) for e in edges]).cumsum(0).tolist()])
    flat = [(a + int(ptr[g]), b + int(ptr[g])) for g, es in enumerate(edges) for a, b in es]
    n = int(ptr[-1])
    return GraphBatch(
        torch.arange(n).unsqueeze(1),
        torch.arange(n, dtype=torch.float32).unsqueeze(1),
        ptr,
        edges=torch.tensor(flat, dtype=torch.long).T.reshape(2, -1),
        edge_ptr=e_ptr,
    )


def _edge_set(b: GraphBatch) -> set[tuple[int, int]]:
    """Edges as pairs of node *features* (global ids), independent of packing."""
    e = b.edge_index()
    ids = b.x_cat[:, 0]
    return {(int(ids[s]), int(ids[t])) for s, t in e.T}


def test_select_keeps_each_graphs_edges_and_renumbers():
    b = _general([3, 2, 4], [[(0, 1), (1, 2), (0, 2)], [(0, 1)], [(0, 3), (1, 3), (2, 3)]])
    sub = b.select(torch.tensor([2, 0]))
    assert sub.ptr.tolist() == [0, 4, 7]
    assert sub.edge_ptr is not None
    assert sub.edge_ptr.tolist() == [0, 3, 6]
    assert _edge_set(sub) == {(5, 8), (6, 8), (7, 8), (0, 1), (1, 2), (0, 2)}
    assert int(sub.edge_index().max()) < sub.num_nodes
    # Every edge stays inside its own graph.
    graph_of = sub.batch
    src, dst = sub.edge_index()
    assert torch.equal(graph_of[src], graph_of[dst])


def test_concat_of_selections_equals_original():
    b = _general([2, 3, 1], [[(0, 1)], [(0, 1), (1, 2)], []])
    parts = [b.select(torch.tensor([0])), b.select(torch.tensor([1, 2]))]
    joined = GraphBatch.concat(parts)
    assert torch.equal(joined.ptr, b.ptr)
    assert joined.edges is not None
    assert torch.equal(joined.edges, b.edges)
    assert torch.equal(joined.edge_ptr, b.edge_ptr)


def test_graph_without_edges_and_duplicate_selection():
    b = _general([1, 2], [[], [(0, 1)]])
    sub = b.select(torch.tensor([1, 1, 0]))
    assert sub.edge_ptr is not None
    assert sub.edge_ptr.tolist() == [0, 1, 2, 2]
    assert sub.edge_index().tolist() == [[0, 2], [1, 3]]


def test_edges_without_edge_ptr_is_an_error():
    with pytest.raises(EncodingError, match="edge_ptr"):
        GraphBatch(
            torch.zeros(2, 1, dtype=torch.long),
            torch.zeros(2, 0),
            torch.tensor([0, 2]),
            edges=torch.zeros(2, 0, dtype=torch.long),
        )


def test_concat_refuses_mixing_chains_and_general_graphs():
    ids = torch.zeros(2, 1, dtype=torch.long)
    chain = GraphBatch(ids, torch.zeros(2, 1), torch.tensor([0, 2]))
    with pytest.raises(EncodingError, match="chain"):
        GraphBatch.concat([chain, _general([2], [[(0, 1)]])])
