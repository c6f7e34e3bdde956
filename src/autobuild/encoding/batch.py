"""Packed graph batches and node-feature categories, shared by every graph encoder.

A :class:`GraphBatch` holds many graphs as flat node tensors (each graph a contiguous node
range). Sequence graphs are chains in node order and carry no edge tensor: the predictor's
chain fast path needs none. General graphs (e.g. ONNX IR op graphs) carry their edges in
``edges`` with a per-graph ``edge_ptr``, so that selecting and concatenating graphs keeps
every graph's own edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from autobuild.exceptions import EncodingError
from autobuild.spaces import Value

__all__ = ["Category", "GraphBatch"]


@dataclass(frozen=True, slots=True)
class Category:
    """One node-feature category, i.e. one scalar of the FE-MLP output.

    Attributes:
        name: Category name (``"stage"``, ``"layer"``, a layer or global feature name, or
            an IR category such as ``"op"``).
        kind: ``"categorical"`` or ``"numeric"``.
        vocabulary: The values of a categorical category, in index order (empty if numeric).
        source: ``"position"``, ``"layer"``, ``"global"`` or ``"ir"``.
        width: Number of numeric columns the category reads (1 for a scalar feature; e.g.
            12 for the tensor shapes of an IR node). Categorical categories have width 1.
    """

    name: str
    kind: str
    vocabulary: tuple[Value, ...]
    source: str
    width: int = 1

    @property
    def size(self) -> int:
        """Vocabulary size (0 for numeric categories)."""
        return len(self.vocabulary)


@dataclass(frozen=True, slots=True)
class GraphBatch:
    """Graphs packed into flat node tensors (graphs are contiguous node ranges).

    Attributes:
        x_cat: `N x C` long tensor of categorical indices.
        x_num: `N x F` float tensor of normalised numeric features.
        ptr: `G + 1` long tensor; graph ``g`` owns nodes ``ptr[g]:ptr[g+1]``.
        unit_len: `G x U` long tensor: layers of each unit of each (full) architecture, or
            ``None`` for graphs that are not full architectures (e.g. stage subgraphs, IR).
        edges: `2 x E` long tensor of directed edges (source, target) with node indices of
            this batch, or ``None`` for chain graphs (edges ``i -> i+1`` within each graph).
        edge_ptr: `G + 1` long tensor; graph ``g`` owns edges ``edge_ptr[g]:edge_ptr[g+1]``
            (given exactly when ``edges`` is).
    """

    x_cat: Tensor
    x_num: Tensor
    ptr: Tensor
    unit_len: Tensor | None = None
    edges: Tensor | None = None
    edge_ptr: Tensor | None = None

    def __post_init__(self) -> None:
        if (self.edges is None) != (self.edge_ptr is None):
            raise EncodingError("GraphBatch needs both `edges` and `edge_ptr`, or neither.")

    @property
    def num_graphs(self) -> int:
        """Number of graphs ``G``."""
        return int(self.ptr.numel()) - 1

    @property
    def num_nodes(self) -> int:
        """Total number of nodes ``N``."""
        return int(self.x_cat.shape[0])

    @property
    def is_chain(self) -> bool:
        """Whether the graphs are chains in node order (no explicit edges)."""
        return self.edges is None

    @property
    def sizes(self) -> Tensor:
        """`G` tensor of node counts."""
        return self.ptr[1:] - self.ptr[:-1]

    @property
    def batch(self) -> Tensor:
        """`N` tensor: the graph index of every node."""
        return torch.repeat_interleave(torch.arange(self.num_graphs), self.sizes)

    @property
    def has_prev(self) -> Tensor:
        """`N` bool tensor: whether a node has a predecessor in its chain (chains only)."""
        mask = torch.ones(self.num_nodes, dtype=torch.bool)
        mask[self.ptr[:-1][self.sizes > 0]] = False
        return mask

    @property
    def last_node(self) -> Tensor:
        """`G` tensor: index of the last node of every graph."""
        return self.ptr[1:] - 1

    def edge_index(self) -> Tensor:
        """`2 x E` edges in PyG layout: ``edges``, or the chain edges ``i -> i+1``."""
        if self.edges is not None:
            return self.edges
        dst = torch.nonzero(self.has_prev, as_tuple=False).flatten()
        return torch.stack([dst - 1, dst])

    def select(self, graphs: Tensor) -> GraphBatch:
        """The sub-batch made of ``graphs`` (a `B` long tensor of graph indices), in order."""
        sizes = self.sizes[graphs]
        starts = self.ptr[graphs]
        ptr = torch.zeros(graphs.numel() + 1, dtype=torch.long)
        torch.cumsum(sizes, 0, out=ptr[1:])
        nodes = torch.repeat_interleave(starts, sizes) + _offsets(ptr, sizes)
        unit_len = None if self.unit_len is None else self.unit_len[graphs]
        edges = edge_ptr = None
        if self.edges is not None and self.edge_ptr is not None:
            e_sizes = self.edge_ptr[1:][graphs] - self.edge_ptr[:-1][graphs]
            edge_ptr = torch.zeros(graphs.numel() + 1, dtype=torch.long)
            torch.cumsum(e_sizes, 0, out=edge_ptr[1:])
            picked = torch.repeat_interleave(self.edge_ptr[:-1][graphs], e_sizes) + _offsets(
                edge_ptr, e_sizes
            )
            shift = torch.repeat_interleave(ptr[:-1] - starts, e_sizes)  # old -> new node ids
            edges = self.edges[:, picked] + shift
        return GraphBatch(self.x_cat[nodes], self.x_num[nodes], ptr, unit_len, edges, edge_ptr)

    @staticmethod
    def concat(batches: Sequence[GraphBatch]) -> GraphBatch:
        """Concatenate batches (graph order is kept).

        Raises:
            EncodingError: If the list is empty, or mixes chain and general graphs.
        """
        if not batches:
            raise EncodingError("Cannot concatenate an empty list of graph batches.")
        if len({b.is_chain for b in batches}) > 1:
            raise EncodingError("Cannot concatenate chain graphs with general graphs.")
        ptrs = [batches[0].ptr]
        offset = batches[0].ptr[-1]
        for b in batches[1:]:
            ptrs.append(b.ptr[1:] + offset)
            offset = offset + b.ptr[-1]
        lens = [b.unit_len for b in batches]
        edges = edge_ptr = None
        if not batches[0].is_chain:
            node_offset = 0
            edge_offset = 0
            parts, eptrs = [], []
            for i, b in enumerate(batches):
                assert b.edges is not None
                assert b.edge_ptr is not None
                parts.append(b.edges + node_offset)
                eptrs.append(b.edge_ptr if i == 0 else b.edge_ptr[1:] + edge_offset)
                node_offset += int(b.ptr[-1])
                edge_offset += int(b.edge_ptr[-1])
            edges, edge_ptr = torch.cat(parts, dim=1), torch.cat(eptrs)
        return GraphBatch(
            torch.cat([b.x_cat for b in batches]),
            torch.cat([b.x_num for b in batches]),
            torch.cat(ptrs),
            None if any(u is None for u in lens) else torch.cat(lens),  # type: ignore[arg-type]
            edges,
            edge_ptr,
        )


def _offsets(ptr: Tensor, sizes: Tensor) -> Tensor:
    """``0..size-1`` for every group, concatenated (``ptr`` is the groups' cumulative start)."""
    return torch.arange(int(ptr[-1])) - torch.repeat_interleave(ptr[:-1], sizes)
