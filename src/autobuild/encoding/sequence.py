"""Sequence-graph encoding: an architecture becomes a chain graph with one node per layer.

Nodes are numbered in network order (stage by stage, layer by layer) and joined by directed
edges ``i -> i+1`` across stage boundaries (AutoBuild, Mills et al. CVPR 2024, Sec. 3). Each
node carries one integer index per *categorical* category and one normalised float per
*numeric* category:

* ``stage`` (0-based stage index) and ``layer`` (0-based position within the stage), always;
* every layer feature of the space, categorical ones as vocabulary indices, numeric ones
  normalised to ``[0, 1]``;
* every global feature of the space (e.g. input resolution), repeated on every node.

:class:`GraphBatch` packs many such chains into flat tensors, which the predictor's chain
fast path consumes without building PyG objects; :meth:`SequenceGraphEncoder.encode` gives a
``torch_geometric.data.Data`` for interoperability with general PyG code.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from autobuild._optional import import_pyg
from autobuild.encoding.batch import Category, GraphBatch
from autobuild.exceptions import EncodingError, SearchSpaceError
from autobuild.spaces import (
    Architecture,
    CategoricalFeature,
    NumericFeature,
    SearchSpace,
    StageConfig,
    Subgraph,
    Value,
)

if TYPE_CHECKING:
    from torch_geometric.data import Data

__all__ = ["SequenceGraphEncoder"]


class SequenceGraphEncoder:
    """Turns architectures of a :class:`SearchSpace` into sequence graphs.

    Args:
        space: The search space the architectures belong to.

    Example:
        >>> import autobuild as ab
        >>> space = ab.spaces.get("ofa-mbv3")
        >>> enc = ab.encoding.SequenceGraphEncoder(space)
        >>> [c.name for c in enc.categories]
        ['stage', 'layer', 'expand', 'kernel', 'resolution']
    """

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        max_pos = max(s.max_layers for s in space.stages)
        cats = [
            Category("stage", "categorical", tuple(range(space.num_stages)), "position"),
            Category("layer", "categorical", tuple(range(max_pos)), "position"),
        ]
        for name in space.layer_feature_names:
            f = space.layer_feature(name)
            if isinstance(f, CategoricalFeature):
                cats.append(Category(name, "categorical", f.values, "layer"))
            else:
                cats.append(Category(name, "numeric", (), "layer"))
        for g in space.global_features:
            if isinstance(g, CategoricalFeature):
                cats.append(Category(g.name, "categorical", g.values, "global"))
            else:
                cats.append(Category(g.name, "numeric", (), "global"))
        self.categories: tuple[Category, ...] = tuple(cats)
        self.categorical = tuple(c for c in cats if c.kind == "categorical")
        self.numeric = tuple(c for c in cats if c.kind == "numeric")
        # Per layer feature: (is categorical, column, lookup table or numeric feature).
        self._layer_cols: list[tuple[bool, int, Any]] = []
        self._global_cols: list[tuple[bool, int, Any]] = []
        for name in space.layer_feature_names:
            self._layer_cols.append(self._column(name, space.layer_feature(name)))
        for g in space.global_features:
            self._global_cols.append(self._column(g.name, g))
        self._layout: _RangeLayout | None = None

    def _column(self, name: str, feature: Any) -> tuple[bool, int, Any]:
        if isinstance(feature, CategoricalFeature):
            col = [c.name for c in self.categorical].index(name)
            return True, col, {_vkey(v): i for i, v in enumerate(feature.values)}
        assert isinstance(feature, NumericFeature)
        return False, [c.name for c in self.numeric].index(name), feature

    @property
    def category_names(self) -> list[str]:
        """Names of all categories: categorical ones first, then numeric ones.

        This is the column order of the FE-MLP output.
        """
        return [c.name for c in self.categorical] + [c.name for c in self.numeric]

    def default_globals(self) -> tuple[Value, ...]:
        """Global feature values used when none are given: defaults, else the first value."""
        return tuple(_default_global(f) for f in self.space.global_features)

    def schema(self) -> dict[str, Any]:
        """A JSON-serialisable description of the categories (stored in checkpoints)."""
        return {
            "categorical": [{"name": c.name, "size": c.size} for c in self.categorical],
            "numeric": [c.name for c in self.numeric],
        }

    # ------------------------------------------------------------------ encoding
    def encode_batch(self, archs: Sequence[Architecture]) -> GraphBatch:
        """Encode architectures into one packed :class:`GraphBatch`.

        Raises:
            EncodingError: If an architecture has no layer at all.
        """
        rows_cat: list[list[int]] = []
        rows_num: list[list[float]] = []
        sizes = []
        for arch in archs:
            n = self._append_nodes(
                arch.stages, range(len(arch.stages)), arch.globals, rows_cat, rows_num
            )
            if n == 0:
                raise EncodingError(
                    f"Architecture {self.space.canonical_id(arch)!r} has no layers; a graph "
                    "needs at least one node."
                )
            sizes.append(n)
        unit_len = torch.tensor(
            [[sum(len(a.stages[s]) for s in unit) for unit in self.space.units] for a in archs],
            dtype=torch.long,
        ).reshape(len(archs), self.space.num_units)
        return replace(self._pack(rows_cat, rows_num, sizes), unit_len=unit_len)

    def encode_subgraphs(
        self, unit: int, subgraphs: Sequence[Subgraph], globals_: Sequence[Value] | None = None
    ) -> GraphBatch:
        """Encode isolated stage subgraphs of ``unit`` as chains (for module scoring).

        Nodes get the stage and position features they have inside a full architecture,
        so the last node's embedding at hop ``len - 1`` equals its embedding in any
        architecture containing the subgraph.

        Args:
            unit: Unit index of the space.
            subgraphs: Subgraphs of that unit (one stage configuration per stage of the unit).
            globals_: Global feature values (defaults of the space when ``None``).
        """
        stages = self.space.units[self.space.check_unit(unit)]
        if globals_ is None:
            globals_ = self.default_globals()
        rows_cat: list[list[int]] = []
        rows_num: list[list[float]] = []
        sizes = []
        for sg in subgraphs:
            n = self._append_nodes(sg, stages, tuple(globals_), rows_cat, rows_num)
            if n == 0:
                raise EncodingError(f"Subgraph {sg!r} of unit {unit} is empty.")
            sizes.append(n)
        return self._pack(rows_cat, rows_num, sizes)

    def encode_unit_product(
        self,
        unit: int,
        lengths: Sequence[int],
        globals_: Sequence[Value] | None = None,
    ) -> tuple[GraphBatch, list[Subgraph]]:
        """Encode every subgraph of ``unit`` whose stages have ``lengths`` layers.

        Vectorised: each (stage, position) slot's choices are encoded once and the product
        is assembled with NumPy indexing, so the 66,339 subgraphs of OFA-PN's last unit
        encode in well under a second.

        Args:
            unit: Unit index of the space.
            lengths: Number of layers of each stage of the unit (not all zero).
            globals_: Global feature values (defaults of the space when ``None``).

        Returns:
            The packed chains and the subgraphs, both in :meth:`SearchSpace.enumerate_subgraphs`
            order (the last layer's choice varies fastest).
        """
        stages = self.space.units[self.space.check_unit(unit)]
        if len(lengths) != len(stages) or sum(lengths) == 0:
            raise EncodingError(
                f"`lengths` must give one layer count per stage of unit {unit} "
                f"({len(stages)}), not all zero; got {list(lengths)}."
            )
        if globals_ is None:
            globals_ = self.default_globals()
        gcat, gnum = self._global_row(globals_)
        slots = [(s, p) for s, n in zip(stages, lengths, strict=True) for p in range(n)]
        choices = [self.space.stages[s].choices_at(p) for s, p in slots]
        rows = [
            [self._node_row(s, p, c, gcat, gnum) for c in ch]
            for (s, p), ch in zip(slots, choices, strict=True)
        ]
        r_cat = [np.asarray([r[0] for r in rs], dtype=np.int64) for rs in rows]
        r_num = [np.asarray([r[1] for r in rs], dtype=np.float32) for rs in rows]
        shape = [len(ch) for ch in choices]
        idx = np.indices(shape).reshape(len(shape), -1)  # C order: last slot fastest
        g, n = idx.shape[1], len(slots)
        x_cat = np.stack([r_cat[k][idx[k]] for k in range(n)], axis=1)
        x_num = np.stack([r_num[k][idx[k]] for k in range(n)], axis=1)
        batch = GraphBatch(
            torch.from_numpy(x_cat.reshape(g * n, len(self.categorical))),
            torch.from_numpy(x_num.reshape(g * n, len(self.numeric))),
            torch.arange(g + 1, dtype=torch.long) * n,
        )
        bounds = np.cumsum([0, *lengths])
        subgraphs = [
            tuple(combo[bounds[i] : bounds[i + 1]] for i in range(len(lengths)))
            for combo in itertools.product(*choices)
        ]
        return batch, subgraphs

    def encode_architecture_range(self, start: int, stop: int) -> GraphBatch:
        """Encode architectures ``start .. stop - 1`` of the space, in enumeration order.

        Equals ``encode_batch(archs[start:stop])`` with
        ``archs = list(space.enumerate_architectures())``, row for row, but is vectorised:
        architecture ``i`` is read as a mixed-radix number (global values, then one digit per
        stage's configuration, the last stage fastest), every (stage, position, choice)
        node row is encoded once, and a range is assembled with NumPy indexing, so
        spaces far too large to hold as graphs can be streamed in chunks.

        Args:
            start: First architecture index (``0 <= start <= stop``).
            stop: One past the last index (``<= space.size()``).

        Raises:
            EncodingError: If the range is invalid or contains an architecture without layers.
            SearchSpaceError: If the space has interval-valued features (not enumerable).
        """
        layout = self._range_layout()
        n = self._check_range(start, stop)
        digits = layout.digits(start, n)
        k = len(layout.globals)
        lengths = np.zeros((n, self.space.num_stages), dtype=np.int64)
        slots = []
        for si, stage in enumerate(layout.stages):
            length, rows = stage.decode(digits[k + si])
            lengths[:, si] = length
            slots.append(rows)
        slot = np.concatenate(slots, axis=1) if slots else np.zeros((n, 0), dtype=np.int64)
        present = slot >= 0
        sizes = lengths.sum(1)
        if n and not sizes.all():
            bad = start + int(np.flatnonzero(sizes == 0)[0])
            raise EncodingError(
                f"Architecture {self.space.canonical_id(self.architecture_at(bad))!r} (index "
                f"{bad}) has no layers; a graph needs at least one node."
            )
        rows = slot[present]  # row-major: stage by stage, layer by layer, graph by graph
        x_cat = layout.cat_rows[rows]
        x_num = layout.num_rows[rows]
        for gi, (is_cat, col, values) in enumerate(layout.globals):
            per_node = np.repeat(values[digits[gi]], sizes)
            if is_cat:
                x_cat[:, col] = per_node
            else:
                x_num[:, col] = per_node
        ptr = torch.zeros(n + 1, dtype=torch.long)
        if n:
            torch.cumsum(torch.from_numpy(sizes), 0, out=ptr[1:])
        unit_len = np.stack([lengths[:, list(u)].sum(1) for u in self.space.units], axis=1)
        return GraphBatch(
            torch.from_numpy(x_cat),
            torch.from_numpy(x_num),
            ptr,
            torch.from_numpy(unit_len.reshape(n, self.space.num_units)),
        )

    def architecture_at(self, index: int) -> Architecture:
        """Architecture number ``index`` of :meth:`SearchSpace.enumerate_architectures`.

        Raises:
            EncodingError: If ``index`` is not in ``0 .. space.size() - 1``.
            SearchSpaceError: If the space has interval-valued features (not enumerable).
        """
        layout = self._range_layout()
        self._check_range(index, index + 1)
        digits = []
        rest = index
        for radix in reversed(layout.radices):
            rest, d = divmod(rest, radix)
            digits.append(d)
        digits.reverse()
        k = len(layout.globals)
        globals_ = tuple(layout.global_choices[g][digits[g]] for g in range(k))
        stages = tuple(st.config(digits[k + i]) for i, st in enumerate(layout.stages))
        return Architecture(stages, globals_)

    def encode(self, arch: Architecture) -> Data:
        """Encode one architecture as a ``torch_geometric.data.Data`` chain graph.

        The graph has ``x_cat`` (`n x C` long), ``x_num`` (`n x F` float), ``edge_index``
        (`2 x (n-1)`, a valid `2 x 0` tensor for a one-node graph) and ``num_nodes``.
        """
        data_module = import_pyg("data", "PyG Data objects (`SequenceGraphEncoder.encode`)")
        b = self.encode_batch([arch])
        return data_module.Data(
            x_cat=b.x_cat, x_num=b.x_num, edge_index=b.edge_index(), num_nodes=b.num_nodes
        )

    # ------------------------------------------------------------------ internals
    def _range_layout(self) -> _RangeLayout:
        """The mixed-radix layout of the space and its node-row tables (built once)."""
        if self._layout is not None:
            return self._layout
        space = self.space
        zeros_cat = [0] * len(self.categorical)
        zeros_num = [0.0] * len(self.numeric)
        cat_rows: list[list[int]] = []
        num_rows: list[list[float]] = []
        stages = []
        for si, st in enumerate(space.stages):
            choices = [st.choices_at(p) for p in range(st.max_layers)]
            base = []
            for p, ch in enumerate(choices):
                base.append(len(cat_rows))
                for c in ch:
                    cat, num = self._node_row(si, p, c, zeros_cat, zeros_num)
                    cat_rows.append(cat)
                    num_rows.append(num)
            lengths = list(range(st.min_layers, st.max_layers + 1))
            stages.append(
                _StageLayout(
                    lengths=lengths,
                    offsets=np.cumsum([0] + [st.count(n) for n in lengths]),
                    radices=[len(ch) for ch in choices],
                    base=base,
                    choices=choices,
                )
            )
        globals_: list[tuple[bool, int, np.ndarray]] = []
        global_choices: list[list[Value]] = []
        for f, (is_cat, col, table) in zip(space.global_features, self._global_cols, strict=True):
            if f.values is None:
                raise SearchSpaceError(
                    f"Global feature {f.name!r} of space {space.name!r} is an interval and "
                    "cannot be enumerated; declare a list of values."
                )
            values = list(f.values)
            global_choices.append(values)
            if is_cat:
                globals_.append((True, col, np.asarray([table[_vkey(v)] for v in values])))
            else:
                normed = [table.normalize(float(v)) for v in values]
                globals_.append((False, col, np.asarray(normed, dtype=np.float32)))
        radices = [len(v) for v in global_choices] + [
            space.stage_count(i) for i in range(space.num_stages)
        ]
        if max(radices) >= 2**62:
            raise EncodingError(
                f"Space {space.name!r} has a stage or global feature with {max(radices)} "
                "choices, too many to index architectures with 64-bit integers."
            )
        n_rows = len(cat_rows)
        self._layout = _RangeLayout(
            radices=radices,
            stages=stages,
            globals=globals_,
            global_choices=global_choices,
            cat_rows=np.asarray(cat_rows, dtype=np.int64).reshape(n_rows, len(self.categorical)),
            num_rows=np.asarray(num_rows, dtype=np.float32).reshape(n_rows, len(self.numeric)),
        )
        return self._layout

    def _check_range(self, start: int, stop: int) -> int:
        total = self.space.size()
        ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (start, stop))
        if not ints or not 0 <= start <= stop <= total:
            raise EncodingError(
                f"Architecture range [{start!r}, {stop!r}) is invalid: space "
                f"{self.space.name!r} has architectures 0 .. {total - 1}; give integers "
                "with 0 <= start <= stop <= space.size()."
            )
        if stop - start >= 2**62:
            raise EncodingError(
                f"Cannot encode {stop - start} architectures at once; encode in chunks."
            )
        return stop - start

    def _append_nodes(
        self,
        stage_configs: Sequence[Sequence[Sequence[Value]]],
        stage_ids: Sequence[int],
        globals_: Sequence[Value],
        rows_cat: list[list[int]],
        rows_num: list[list[float]],
    ) -> int:
        gcat, gnum = self._global_row(globals_)
        n = 0
        for stage, layers in zip(stage_ids, stage_configs, strict=True):
            for pos, layer in enumerate(layers):
                cat, num = self._node_row(stage, pos, layer, gcat, gnum)
                rows_cat.append(cat)
                rows_num.append(num)
                n += 1
        return n

    def _global_row(self, globals_: Sequence[Value]) -> tuple[list[int], list[float]]:
        """Categorical and numeric columns of the global features (others left at 0)."""
        gcat = [0] * len(self.categorical)
        gnum = [0.0] * len(self.numeric)
        for (is_cat, col, table), v in zip(self._global_cols, globals_, strict=True):
            if is_cat:
                gcat[col] = table[_vkey(v)]
            else:
                gnum[col] = table.normalize(float(v))
        return gcat, gnum

    def _node_row(
        self, stage: int, pos: int, layer: Sequence[Value], gcat: list[int], gnum: list[float]
    ) -> tuple[list[int], list[float]]:
        """The feature row of one node at ``stage``/``pos`` (on top of the global columns)."""
        cat = list(gcat)
        num = list(gnum)
        cat[0], cat[1] = stage, pos
        for (is_cat, col, table), v in zip(self._layer_cols, layer, strict=True):
            if is_cat:
                try:
                    cat[col] = table[_vkey(v)]
                except KeyError as err:
                    raise EncodingError(
                        f"Value {v!r} of feature {self.categorical[col].name!r} is not "
                        f"in the space's vocabulary {list(table)}."
                    ) from err
            else:
                num[col] = table.normalize(float(v))
        return cat, num

    def _pack(
        self, rows_cat: list[list[int]], rows_num: list[list[float]], sizes: list[int]
    ) -> GraphBatch:
        ptr = torch.zeros(len(sizes) + 1, dtype=torch.long)
        if sizes:
            torch.cumsum(torch.tensor(sizes, dtype=torch.long), 0, out=ptr[1:])
        x_cat = torch.from_numpy(
            np.asarray(rows_cat, dtype=np.int64).reshape(len(rows_cat), len(self.categorical))
        )
        x_num = torch.from_numpy(
            np.asarray(rows_num, dtype=np.float32).reshape(len(rows_num), len(self.numeric))
        )
        return GraphBatch(x_cat, x_num, ptr)


@dataclass(frozen=True)
class _StageLayout:
    """How one stage's configuration index maps to layers (see ``enumerate_architectures``).

    Configurations are ordered by length, then by the product of the per-position choices
    (the last position fastest): index ``offsets[j] + sum_p c_p * prod_{q > p} radices[q]``
    has ``lengths[j]`` layers with choices ``c_p``.
    """

    lengths: list[int]
    offsets: np.ndarray
    radices: list[int]
    base: list[int]
    choices: list[list[tuple[Value, ...]]]

    def decode(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lengths (`G`) and node-row indices (`G x max_layers`, -1 past the end)."""
        which = np.searchsorted(self.offsets[1:], index, side="right")
        length = np.asarray(self.lengths, dtype=np.int64)[which]
        within = index - self.offsets[which]
        rows = np.full((len(index), len(self.radices)), -1, dtype=np.int64)
        for n in self.lengths:
            mask = length == n
            if n == 0 or not mask.any():
                continue
            rest = within[mask]
            for p in reversed(range(n)):
                rest, choice = np.divmod(rest, self.radices[p])
                rows[mask, p] = self.base[p] + choice
        return length, rows

    def config(self, index: int) -> StageConfig:
        """The configuration with index ``index`` (Python integers)."""
        j = int(np.searchsorted(self.offsets[1:], index, side="right"))
        rest = index - int(self.offsets[j])
        picks = []
        for p in reversed(range(self.lengths[j])):
            rest, choice = divmod(rest, self.radices[p])
            picks.append(self.choices[p][choice])
        return tuple(reversed(picks))


@dataclass(frozen=True)
class _RangeLayout:
    """Mixed-radix layout of a space's architectures and its node-row tables.

    Attributes:
        radices: One digit per global feature, then one per stage (the last fastest).
        stages: Per-stage layouts.
        globals: Per global feature: (categorical?, column, encoded value per choice).
        global_choices: Per global feature: its values, in enumeration order.
        cat_rows: Categorical columns of every (stage, position, choice) node row, with
            the global columns left at 0.
        num_rows: Numeric columns of the same rows.
    """

    radices: list[int]
    stages: list[_StageLayout]
    globals: list[tuple[bool, int, np.ndarray]]
    global_choices: list[list[Value]]
    cat_rows: np.ndarray
    num_rows: np.ndarray

    def digits(self, start: int, n: int) -> list[np.ndarray]:
        """The digits of indices ``start .. start + n - 1`` (one `n` int64 array per radix)."""
        fixed = []
        rest = start
        for radix in reversed(self.radices):
            rest, d = divmod(rest, radix)
            fixed.append(d)
        fixed.reverse()
        carry = np.arange(n, dtype=np.int64)
        out: list[np.ndarray] = [carry] * len(self.radices)
        for j in reversed(range(len(self.radices))):
            carry, out[j] = np.divmod(carry + fixed[j], self.radices[j])
        return out


def _default_global(f: CategoricalFeature | NumericFeature) -> Value:
    """The value of a global feature in isolated subgraphs: its default, else its first value."""
    if isinstance(f, NumericFeature):
        if f.default is not None:
            return f.default
        return f.values[0] if f.values is not None else f.low
    return f.values[0]


def _vkey(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
