"""GNN layers with a fast path for chain graphs.

Sequence graphs are chains, so a node's only in-neighbour is its predecessor. On a 2-core CPU
the cost of PyG's message passing on these small graphs is per-op overhead (gather, scatter,
softmax over edges), not arithmetic; each layer here computes the same function as its PyG
counterpart with a handful of dense ops on the packed node tensor. Parameter names and shapes
equal PyG's, so :meth:`ChainConv.forward` runs the PyG layer itself (through
``torch.func.functional_call``) for general graphs given by ``edge_index``, and the tests check
that both paths agree on chains. PyG is imported only when a general graph is seen; it is
an optional dependency (``pip install 'autobuild[pyg]'``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

from autobuild._optional import import_pyg
from autobuild.exceptions import ConfigError

__all__ = [
    "CONVS",
    "ChainConv",
    "GATv2ChainConv",
    "GCNChainConv",
    "GINChainConv",
    "GraphChainConv",
    "make_conv",
]

#: What needs PyG here, as error messages name it.
_GENERAL = "Convolutions over general graphs (given by edge_index, such as IR graphs)"


def shift(x: Tensor, has_prev: Tensor) -> Tensor:
    """Each node's predecessor row (zeros where there is none); ``has_prev`` is `N x 1` float."""
    return torch.cat([x.new_zeros(1, x.shape[1]), x[:-1]]) * has_prev


class ChainConv(nn.Module):
    """Base class: a graph convolution with a chain fast path and a PyG general path."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self._pyg: list[nn.Module] = []  # not a submodule: holds no parameters of its own

    def forward(
        self, x: Tensor, has_prev: Tensor | None = None, edge_index: Tensor | None = None
    ) -> Tensor:
        """Convolve node features.

        Args:
            x: `N x in_channels` node features.
            has_prev: `N x 1` float mask, for chain graphs whose nodes are in chain order.
            edge_index: `2 x E` edges of a general graph (used when ``has_prev`` is None).

        Returns:
            `N x out_channels` node features.
        """
        if has_prev is not None:
            return self.chain_forward(x, has_prev)
        if edge_index is None:
            raise ConfigError("A convolution needs `has_prev` (chain) or `edge_index`.")
        return self.pyg_forward(x, edge_index)

    def chain_forward(self, x: Tensor, has_prev: Tensor) -> Tensor:
        """The chain fast path."""
        raise NotImplementedError

    def make_pyg(self) -> nn.Module:
        """A PyG layer with the same parameter names and shapes."""
        raise NotImplementedError

    def pyg_forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Run the PyG layer with this module's parameters on a general graph."""
        if not self._pyg:
            self._pyg.append(self.make_pyg())
        pyg = self._pyg[0]
        pyg.train(self.training)
        state: dict[str, Any] = dict(self.named_parameters())
        state.update(dict(self.named_buffers()))
        out: Tensor = functional_call(pyg, state, (x, edge_index), strict=True)
        return out


class GATv2ChainConv(ChainConv):
    """GATv2 attention (Brody et al., ICLR 2022), one head, self-loops; PyG ``GATv2Conv``."""

    def __init__(self, in_channels: int, out_channels: int, negative_slope: float = 0.2) -> None:
        super().__init__(in_channels, out_channels)
        self.negative_slope = negative_slope
        self.lin_l = nn.Linear(in_channels, out_channels)
        self.lin_r = nn.Linear(in_channels, out_channels)
        self.att = nn.Parameter(torch.empty(1, 1, out_channels))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        for lin in (self.lin_l, self.lin_r):
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)
        nn.init.xavier_uniform_(self.att)

    def chain_forward(self, x: Tensor, has_prev: Tensor) -> Tensor:
        """Softmax attention over {self, predecessor}, as a sigmoid of the score gap."""
        xl, xr = self.lin_l(x), self.lin_r(x)
        xl_prev = shift(xl, has_prev)
        att = self.att.view(1, -1)
        s_self = (F.leaky_relu(xr + xl, self.negative_slope) * att).sum(-1, keepdim=True)
        s_prev = (F.leaky_relu(xr + xl_prev, self.negative_slope) * att).sum(-1, keepdim=True)
        a_prev = torch.sigmoid(s_prev - s_self) * has_prev
        return xl + a_prev * (xl_prev - xl) + self.bias

    def make_pyg(self) -> nn.Module:
        """PyG's ``GATv2Conv`` with matching settings."""
        GATv2Conv = import_pyg("nn", _GENERAL).GATv2Conv

        return GATv2Conv(
            self.in_channels,
            self.out_channels,
            heads=1,
            negative_slope=self.negative_slope,
            add_self_loops=True,
        )


class GraphChainConv(ChainConv):
    """Sum of neighbours plus a root map (Morris et al., AAAI 2019); PyG ``GraphConv``."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels)
        self.lin_rel = nn.Linear(in_channels, out_channels)
        self.lin_root = nn.Linear(in_channels, out_channels, bias=False)

    def chain_forward(self, x: Tensor, has_prev: Tensor) -> Tensor:
        """``lin_rel(x_prev) + lin_root(x)``."""
        return self.lin_rel(shift(x, has_prev)) + self.lin_root(x)

    def make_pyg(self) -> nn.Module:
        """PyG's ``GraphConv`` (sum aggregation)."""
        GraphConv = import_pyg("nn", _GENERAL).GraphConv

        return GraphConv(self.in_channels, self.out_channels, aggr="add")


class GCNChainConv(ChainConv):
    """Symmetric-normalised convolution with self-loops (Kipf & Welling); PyG ``GCNConv``.

    The weight of the edge into a node depends on the degree of its predecessor, so the
    embedding of a stage subgraph scored in isolation equals its embedding inside a full
    architecture only for subgraphs that start the network (unlike the other layers).
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels)
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels))
        nn.init.xavier_uniform_(self.lin.weight)

    def chain_forward(self, x: Tensor, has_prev: Tensor) -> Tensor:
        """Degrees are 1 (first node) or 2 (self-loop + predecessor)."""
        xw = self.lin(x)
        deg = 1.0 + has_prev
        deg_prev = torch.cat([deg.new_ones(1, 1), deg[:-1]])
        norm_prev = has_prev * torch.rsqrt(deg * deg_prev)
        return xw / deg + shift(xw, has_prev) * norm_prev + self.bias

    def make_pyg(self) -> nn.Module:
        """PyG's ``GCNConv``."""
        GCNConv = import_pyg("nn", _GENERAL).GCNConv

        return GCNConv(self.in_channels, self.out_channels)


class GINChainConv(ChainConv):
    """Graph isomorphism layer (Xu et al., ICLR 2019) with a 2-layer MLP; PyG ``GINConv``."""

    eps: Tensor

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels)
        self.nn = nn.Sequential(
            nn.Linear(in_channels, out_channels), nn.ReLU(), nn.Linear(out_channels, out_channels)
        )
        self.register_buffer("eps", torch.zeros(1))

    def chain_forward(self, x: Tensor, has_prev: Tensor) -> Tensor:
        """``mlp((1 + eps) x + x_prev)``."""
        out: Tensor = self.nn((1.0 + self.eps) * x + shift(x, has_prev))
        return out

    def make_pyg(self) -> nn.Module:
        """PyG's ``GINConv`` around an MLP of the same shape."""
        GINConv = import_pyg("nn", _GENERAL).GINConv

        mlp = nn.Sequential(
            nn.Linear(self.in_channels, self.out_channels),
            nn.ReLU(),
            nn.Linear(self.out_channels, self.out_channels),
        )
        return GINConv(mlp, eps=0.0, train_eps=False)


#: Registered convolutions by name.
CONVS: dict[str, type[ChainConv]] = {
    "gatv2": GATv2ChainConv,
    "graph": GraphChainConv,
    "gcn": GCNChainConv,
    "gin": GINChainConv,
}


def make_conv(name: str, in_channels: int, out_channels: int) -> ChainConv:
    """Build a registered convolution by name.

    Raises:
        ConfigError: If ``name`` is not registered (the message lists the choices).
    """
    key = name.lower().replace("conv", "").replace("_", "")
    if key not in CONVS:
        raise ConfigError(f"Unknown GNN layer {name!r}. Choose one of {sorted(CONVS)}.")
    return CONVS[key](in_channels, out_channels)
