"""The AutoBuild network: FE-MLP, GNN encoder with per-hop readout, and a regressor head."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from autobuild.encoding import GraphBatch
from autobuild.exceptions import ConfigError
from autobuild.predictor.config import READOUTS, ActivationName, ConvName, Readout
from autobuild.predictor.nn.conv import make_conv
from autobuild.predictor.nn.fe_mlp import FeatureEmbedding
from autobuild.predictor.nn.wide import WideTerm

__all__ = ["ACTIVATIONS", "READOUTS", "AutoBuildNet"]

ACTIVATIONS: dict[str, type[nn.Module]] = {"leaky_relu": nn.LeakyReLU, "relu": nn.ReLU}


class AutoBuildNet(nn.Module):
    r"""FE-MLP + GNN whose every hop yields a graph embedding (Mills et al., CVPR 2024).

    Hop 0 is the FE-MLP output; hop ``m >= 1`` is GNN layer ``m``:
    ``h^m = act(BatchNorm(conv(h^{m-1}))) (+ h^{m-1} from the second layer on)``. Each hop is
    pooled per graph (``readout``); the prediction comes from the last hop through a
    post-projection (``Linear, Linear, ReLU, Linear, Linear``), an activation and a linear
    regressor. With ReLU activations every embedding is non-negative, so the L1 norm of a
    mean-pooled embedding is the mean of its nodes' L1 norms.

    Args:
        cat_sizes: Vocabulary sizes of the categorical node categories.
        num_numeric: Number of scalar numeric node categories, or the width of each numeric
            category (see :class:`~autobuild.predictor.nn.FeatureEmbedding`).
        hidden_channels: GNN width ``d``.
        num_layers: Number of GNN layers ``M`` (hops 1..M).
        conv: GNN layer: ``"gatv2"`` (default), ``"graph"``, ``"gcn"`` or ``"gin"``.
        act: Activation: ``"relu"`` or ``"leaky_relu"``.
        readout: Graph pooling per hop: ``"mean"``, ``"sum"`` or ``"max"``.
        embedding_dim: FE-MLP embedding width.
        residual: Add ``h^{m-1}`` to the output of GNN layers 2..M.
        isolate_embedding: Stop the gradient from the GNN into the FE-MLP, so the FE-MLP
            learns from the hop-0 ranking term alone. The GNN normalises its input with
            BatchNorm, which makes the gradient it sends back to the FE-MLP dwarf the hop-0
            term's, and hop 0's ranking becomes unstable across seeds
            (docs/concepts/predictor.md, "Defaults").
        unit_max_layers: Most layers of each unit of the space; when given, the network also
            has an *additive unit head* (:meth:`unit_contributions`).
        wide: A one-hot linear term blended with the regressor's prediction (fitted in
            closed form, see :class:`~autobuild.predictor.nn.WideTerm`), or ``None``.
        slot_columns: Categorical layer categories that also get a per-(stage, position,
            value) FE-MLP column (see :class:`FeatureEmbedding`).
    """

    hop_blocks: Tensor
    unit_norm_scale: Tensor

    def __init__(
        self,
        cat_sizes: Sequence[int],
        num_numeric: int | Sequence[int],
        *,
        hidden_channels: int = 32,
        num_layers: int = 4,
        conv: ConvName = "gatv2",
        act: ActivationName = "relu",
        readout: Readout = "mean",
        embedding_dim: int = 4,
        residual: bool = True,
        isolate_embedding: bool = True,
        unit_max_layers: Sequence[int] | None = None,
        wide: WideTerm | None = None,
        slot_columns: Sequence[int] = (),
    ) -> None:
        super().__init__()
        if act not in ACTIVATIONS:
            raise ConfigError(f"Unknown activation {act!r}. Choose one of {sorted(ACTIVATIONS)}.")
        if readout not in READOUTS:
            raise ConfigError(f"Unknown readout {readout!r}. Choose one of {list(READOUTS)}.")
        if num_layers < 1 or hidden_channels < 1:
            raise ConfigError(
                f"`num_layers` and `hidden_channels` must be >= 1, got {num_layers=}, "
                f"{hidden_channels=}."
            )
        self.readout = readout
        self.residual = residual
        self.isolate_embedding = isolate_embedding
        self.num_layers = num_layers
        self.embed = FeatureEmbedding(
            cat_sizes, num_numeric, embedding_dim, slot_columns=slot_columns
        )
        d0 = self.embed.out_channels
        self.convs = nn.ModuleList(
            make_conv(conv, d0 if i == 0 else hidden_channels, hidden_channels)
            for i in range(num_layers)
        )
        self.norms = nn.ModuleList(nn.BatchNorm1d(hidden_channels) for _ in range(num_layers))
        self.act = ACTIVATIONS[act]()
        d = hidden_channels
        self.post_proj = nn.Sequential(
            nn.Linear(d, d), nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d), nn.Linear(d, d)
        )
        self.reg_act = ACTIVATIONS[act]()
        self.regressor = nn.Linear(d, 1)
        # Column j of the concatenated hop embeddings belongs to hop hop_blocks[j].
        if unit_max_layers:
            shape = (len(unit_max_layers), max(unit_max_layers) + 1)
            self.unit_weight = nn.Parameter(torch.zeros(shape))
            self.unit_bias = nn.Parameter(torch.zeros(shape))
            self.register_buffer("unit_norm_scale", torch.ones(num_layers + 1))
        self.has_unit_head = bool(unit_max_layers)
        self.wide = wide
        widths = [d0] + [d] * num_layers
        blocks = torch.repeat_interleave(torch.arange(num_layers + 1), torch.tensor(widths))
        self.register_buffer("hop_blocks", blocks, persistent=False)

    @property
    def num_hops(self) -> int:
        """``M + 1`` (hop 0 included)."""
        return self.num_layers + 1

    def node_embeddings(
        self, batch: GraphBatch, edge_index: Tensor | None = None, max_hop: int | None = None
    ) -> list[Tensor]:
        """Node embeddings of every hop: ``[h^0 (N x C+F+K), h^1 (N x d), ..., h^M (N x d)]``.

        Args:
            batch: Packed graphs: chains in node order, or general graphs with ``edges``.
            edge_index: `2 x E` edges of general graphs (then PyG layers are used); defaults
                to ``batch.edges``.
            max_hop: Stop after this hop (the list then has ``max_hop + 1`` entries).
        """
        if edge_index is None:
            edge_index = batch.edges
        has_prev = (
            batch.has_prev.to(batch.x_num.dtype).unsqueeze(1) if edge_index is None else None
        )
        h = self.embed(batch.x_cat, batch.x_num)
        hops = [h]
        if self.isolate_embedding:
            h = h.detach()
        last = self.num_layers if max_hop is None else max_hop
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms, strict=True)):
            if i >= last:
                break
            z = self.act(norm(conv(h, has_prev, edge_index)))
            h = z + h if self.residual and i > 0 else z
            hops.append(h)
        return hops

    def forward(
        self, batch: GraphBatch, edge_index: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Predict and return per-hop graph-embedding norms.

        Returns:
            ``(pred, hop_norms)``: a `G` tensor of (standardised) predictions and an
            `(M+1) x G` tensor of ``||h_G^m||_1``.
        """
        pred, hop_norms, _ = self.forward_with_units(batch, edge_index, units=False)
        return pred, hop_norms

    def forward_with_units(
        self,
        batch: GraphBatch,
        edge_index: Tensor | None = None,
        *,
        units: bool = True,
        wide: bool = True,
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """:meth:`forward`, plus the `G x U` unit contributions when ``units`` is set.

        ``wide=False`` returns the GNN regressor's own prediction (as trained), without
        the wide term's blend.
        """
        hops = self.node_embeddings(batch, edge_index)
        contrib = self.unit_contributions(hops, batch) if units else None
        pooled = self.pool(torch.cat(hops, dim=1), batch)
        hop_norms = torch.zeros(self.num_hops, pooled.shape[0], dtype=pooled.dtype)
        hop_norms = hop_norms.index_add(0, self.hop_blocks, pooled.abs().T)
        last = pooled[:, -hops[-1].shape[1] :]
        pred = self.regressor(self.reg_act(self.post_proj(last))).squeeze(-1)
        if wide and self.wide is not None:
            pred = self.wide.mix(pred, batch, hop_norms[int(self.wide.hop)])
        return pred, hop_norms, contrib

    def unit_contributions(self, hops: Sequence[Tensor], batch: GraphBatch) -> Tensor:
        r"""Additive unit head: each unit's contribution to the (standardised) label.

        The contribution of unit ``u`` with ``L`` layers is
        ``softplus(w[u, L]) * ||h^{L-1}_{end}||_1 / scale[L-1] + b[u, L]``, where ``end`` is
        the unit's last node, so it is an increasing affine map of exactly the norm that
        scores the unit's subgraph (an empty unit contributes ``b[u, 0]``). Trained so that
        the contributions sum to the label, it makes module scores add up to a prediction.
        ``scale`` is a running mean of node norms per hop.

        Returns:
            `G x U` contributions.
        """
        if not self.has_unit_head or batch.unit_len is None:
            raise ConfigError(
                "The additive unit head needs a network built with `unit_max_layers` and "
                "graphs of full architectures (GraphBatch.unit_len)."
            )
        length = batch.unit_len
        # Hop 0 is the FE-MLP's: it learns from the hop-0 ranking term (or through the GNN),
        # never from the unit head, whose gradient would collapse it.
        first = hops[0].detach()
        norms = torch.stack([h.abs().sum(-1) for h in (first, *hops[1:])])  # (M+1) x N
        if self.training:
            with torch.no_grad():  # a running mean, never a gradient path
                self.unit_norm_scale.lerp_(norms.mean(1).clamp(min=1e-3), 0.1)
        scale = self.unit_norm_scale
        hop = (length - 1).clamp(min=0, max=self.num_layers)
        end = (batch.ptr[:-1, None] + length.cumsum(1) - 1).clamp(min=0)
        units = torch.arange(length.shape[1]).unsqueeze(0)
        weight = F.softplus(self.unit_weight[units, length])
        value = norms[hop, end] / scale[hop]
        return torch.where(length > 0, weight * value, 0.0) + self.unit_bias[units, length]

    def pool(self, h: Tensor, batch: GraphBatch) -> Tensor:
        """Pool `N x D` node rows into `G x D` graph rows with the configured readout."""
        sizes = batch.sizes
        index = torch.repeat_interleave(torch.arange(sizes.numel()), sizes)
        if self.readout == "max":
            out = h.new_zeros(sizes.numel(), h.shape[1])
            return out.scatter_reduce(
                0, index.unsqueeze(1).expand_as(h), h, reduce="amax", include_self=False
            )
        out = h.new_zeros(sizes.numel(), h.shape[1]).index_add(0, index, h)
        if self.readout == "mean":
            out = out / sizes.clamp(min=1).unsqueeze(1).to(h.dtype)
        return out
