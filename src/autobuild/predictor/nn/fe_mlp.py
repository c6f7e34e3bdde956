"""The Feature-Embedding MLP (FE-MLP): one non-negative scalar per feature category."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from autobuild.exceptions import ConfigError

__all__ = ["FeatureEmbedding"]


class FeatureEmbedding(nn.Module):
    r"""Hop-0 node embedding of AutoBuild (Mills et al., CVPR 2024, Sec. 4.3).

    Each categorical category ``c`` maps a value index through its own embedding and a linear
    map to one scalar; each numeric category of width ``w`` maps its ``w`` columns through
    ``Linear(w, H)`` and ``Linear(H, 1)`` (``w = 1`` for a scalar feature such as the input
    resolution; ``w = 12`` for the tensor shapes of an ONNX IR node). The scalars are
    concatenated and passed through ``abs``, so the output column of a category is that
    category's importance for the node and categories do not interact at hop 0. All
    categories are computed in one vectorised pass (a shared embedding table with
    per-category offsets, and one column-to-category sum for the numeric maps) because
    per-op overhead, not arithmetic, dominates on small CPU batches.

    Slot columns (optional, sequence graphs): for each categorical layer category ``k`` in
    ``slot_columns``, one more output column holds a learned scalar per (stage, position,
    value of ``k``), so hop 0 can already weigh a value differently at different places of
    the network, as a one-hot linear model does. Column 0 of ``x_cat`` must then be the
    stage and column 1 the position in the stage.

    Args:
        cat_sizes: Vocabulary size of every categorical category (`C` entries).
        num_numeric: Number of scalar numeric categories ``F``, or the width of every
            numeric category (``F`` entries whose sum is the number of numeric columns).
        embedding_dim: Embedding width ``E`` of categorical values.
        hidden_channels: Hidden width ``H`` of the numeric maps.
        slot_columns: ``x_cat`` columns (``>= 2``) that get a slot column (`K` entries).

    Shapes:
        - input: ``x_cat`` `N x C` long, ``x_num`` `N x sum(widths)` float
        - output: `N x (C + F + K)`, non-negative
    """

    offsets: Tensor
    slot_offsets: Tensor
    column_category: Tensor

    def __init__(
        self,
        cat_sizes: Sequence[int],
        num_numeric: int | Sequence[int],
        embedding_dim: int = 4,
        hidden_channels: int = 4,
        slot_columns: Sequence[int] = (),
    ) -> None:
        super().__init__()
        self.cat_sizes = [int(s) for s in cat_sizes]
        self.slot_columns = [int(k) for k in slot_columns]
        if any(not 2 <= k < len(self.cat_sizes) for k in self.slot_columns):
            raise ConfigError(
                f"Slot columns must index categorical categories after stage and position "
                f"(2..{len(self.cat_sizes) - 1}), got {self.slot_columns}."
            )
        if isinstance(num_numeric, int):
            self.numeric_widths = [1] * num_numeric
        else:
            self.numeric_widths = [int(w) for w in num_numeric]
        if any(w < 1 for w in self.numeric_widths):
            raise ConfigError(f"Numeric category widths must be >= 1, got {self.numeric_widths}.")
        self.num_numeric = len(self.numeric_widths)
        offsets = torch.zeros(len(self.cat_sizes), dtype=torch.long)
        if self.cat_sizes:
            offsets[1:] = torch.cumsum(torch.tensor(self.cat_sizes[:-1]), 0)
        self.register_buffer("offsets", offsets, persistent=False)
        widths = torch.tensor(self.numeric_widths, dtype=torch.long)
        self.register_buffer(
            "column_category",
            torch.repeat_interleave(torch.arange(self.num_numeric), widths),
            persistent=False,
        )
        self._scalar = all(w == 1 for w in self.numeric_widths)
        c, e, f, h = len(self.cat_sizes), embedding_dim, self.num_numeric, hidden_channels
        cols = int(widths.sum())
        self.embedding = nn.Embedding(max(sum(self.cat_sizes), 1), e)
        bound = 1.0 / math.sqrt(e)
        self.cat_weight = nn.Parameter(torch.empty(c, e).uniform_(-bound, bound))
        self.cat_bias = nn.Parameter(torch.empty(c).uniform_(-bound, bound))
        # Scalar features keep the U(-1, 1) input weights; a w-wide one scales them by 1/sqrt(w).
        fan_in = widths.to(torch.float32)[self.column_category].rsqrt().unsqueeze(1)
        self.num_weight1 = nn.Parameter(torch.empty(cols, h).uniform_(-1.0, 1.0) * fan_in)
        self.num_bias1 = nn.Parameter(torch.empty(f, h).uniform_(-1.0, 1.0))
        bound = 1.0 / math.sqrt(max(h, 1))
        self.num_weight2 = nn.Parameter(torch.empty(f, h).uniform_(-bound, bound))
        self.num_bias2 = nn.Parameter(torch.empty(f).uniform_(-bound, bound))
        if self.slot_columns:
            slots = self.cat_sizes[0] * self.cat_sizes[1]
            sizes = [slots * self.cat_sizes[k] for k in self.slot_columns]
            starts = torch.zeros(len(sizes), dtype=torch.long)
            starts[1:] = torch.cumsum(torch.tensor(sizes[:-1]), 0)
            self.register_buffer("slot_offsets", starts, persistent=False)
            # One scalar per (slot, value); the spread of the categorical scalars at init.
            self.slot_table = nn.Parameter(torch.randn(sum(sizes)) * 0.5)

    @property
    def out_channels(self) -> int:
        """Output width ``C + F + K``."""
        return len(self.cat_sizes) + self.num_numeric + len(self.slot_columns)

    def forward(self, x_cat: Tensor, x_num: Tensor) -> Tensor:
        """Embed nodes; see the class docstring for shapes."""
        parts = []
        if self.cat_sizes:
            emb = self.embedding(x_cat + self.offsets)  # N x C x E
            parts.append((emb * self.cat_weight).sum(-1) + self.cat_bias)
        if self.num_numeric:
            hidden = x_num.unsqueeze(-1) * self.num_weight1  # N x cols x H
            if not self._scalar:  # sum the columns of every category: N x F x H
                wide = hidden.new_zeros(hidden.shape[0], self.num_numeric, hidden.shape[2])
                hidden = wide.index_add(1, self.column_category, hidden)
            hidden = hidden + self.num_bias1
            parts.append((hidden * self.num_weight2).sum(-1) + self.num_bias2)
        if self.slot_columns:
            slot = (x_cat[:, 0] * self.cat_sizes[1] + x_cat[:, 1]).unsqueeze(1)
            cols = self.slot_columns
            sizes = x_cat.new_tensor([self.cat_sizes[k] for k in cols])
            parts.append(self.slot_table[self.slot_offsets + slot * sizes + x_cat[:, cols]])
        out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        return out.abs()

    def categorical_scores(self, category: int) -> Tensor:
        """`size` tensor: the hop-0 scalar of every value of categorical category ``category``."""
        start = int(self.offsets[category])
        emb = self.embedding.weight[start : start + self.cat_sizes[category]]
        return (emb @ self.cat_weight[category] + self.cat_bias[category]).abs()

    def numeric_scores(self, category: int, values: Tensor) -> Tensor:
        """The hop-0 scalar of scalar numeric category ``category`` at normalised ``values``.

        Raises:
            ConfigError: If the category is wider than one column.
        """
        if self.numeric_widths[category] != 1:
            raise ConfigError(
                f"Numeric category {category} has {self.numeric_widths[category]} columns; "
                "per-value scores exist only for scalar categories."
            )
        column = int(sum(self.numeric_widths[:category]))
        hidden = values.unsqueeze(-1) * self.num_weight1[column] + self.num_bias1[category]
        return ((hidden * self.num_weight2[category]).sum(-1) + self.num_bias2[category]).abs()
