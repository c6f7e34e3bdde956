"""The op-level graph of a network in the ONNX IR format (:class:`IRGraph`).

One node per primitive ONNX operation plus an ``input_dummy`` node (feeding every op that
consumes a graph input) and an ``output_dummy`` node (fed by every graph output); directed
edges follow the data flow. Each node carries its op type (and vocabulary index), 12 shape
slots and 9 attribute slots; together they are the reference's 22-float node row
``[op_idx | input shapes (6) | output shapes (6) | attributes (9)]``. The slot layouts are
documented in :mod:`autobuild.ir._features`.

Graphs are plain data: :meth:`IRGraph.to_dict` gives a JSON-serialisable dict (for caching
IR graphs as JSON, never pickle) and :meth:`IRGraph.from_dict` reads it back and validates
it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from autobuild.exceptions import EncodingError
from autobuild.ir._features import ATTRIBUTE_WIDTH, SHAPE_WIDTH
from autobuild.ir.vocabulary import OP_VOCABULARY, op_index

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "IRGraph"]

#: ``format`` tag of :meth:`IRGraph.to_dict` output.
FORMAT_NAME = "autobuild-ir-graph"
#: Schema version of :meth:`IRGraph.to_dict` output.
FORMAT_VERSION = 1

_FIELDS = ("op_types", "op_index", "shapes", "attributes", "edge_index", "names")


def _frozen_array(
    value: Any, dtype: type[np.generic], empty_shape: tuple[int, ...], name: str
) -> np.ndarray:
    try:
        arr = np.array(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise EncodingError(
            f"IRGraph.{name} must be numeric ({np.dtype(dtype).name}), got {type(value).__name__}"
            f" that cannot be converted ({exc}); pass a numpy array or nested lists of numbers."
        ) from exc
    if arr.size == 0:
        arr = arr.reshape(empty_shape)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False, repr=False)
class IRGraph:
    """An op-level graph of a network (the paper's fine-grained "ONNX IR" format).

    Arrays are converted to their dtypes and made read-only on construction; call
    :meth:`validate` to check that the fields agree (the converter and :meth:`from_dict`
    do).

    Attributes:
        op_types: ``N`` ONNX op type names in node order, dummies included
            (``input_dummy`` first, ``output_dummy`` last for converted graphs).
        op_index: ``N`` int64 indices into :data:`~autobuild.ir.vocabulary.OP_VOCABULARY`.
        shapes: ``N x 12`` float32: 2 input then 2 output tensors, ``C/256, H/128, W/128``
            each, batch dim skipped.
        attributes: ``N x 9`` float32 kernel/group/stride/dilation/bias slots.
        edge_index: ``2 x E`` int64 data-flow edges ``src -> dst`` (PyG convention).
        names: ``N`` node names (ONNX node names; the dummies are named after their type).
    """

    op_types: tuple[str, ...]
    op_index: np.ndarray
    shapes: np.ndarray
    attributes: np.ndarray
    edge_index: np.ndarray
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "op_types", tuple(self.op_types))
        set_(self, "names", tuple(self.names))
        set_(self, "op_index", _frozen_array(self.op_index, np.int64, (0,), "op_index"))
        set_(self, "shapes", _frozen_array(self.shapes, np.float32, (0, SHAPE_WIDTH), "shapes"))
        set_(
            self,
            "attributes",
            _frozen_array(self.attributes, np.float32, (0, ATTRIBUTE_WIDTH), "attributes"),
        )
        set_(self, "edge_index", _frozen_array(self.edge_index, np.int64, (2, 0), "edge_index"))

    @property
    def num_nodes(self) -> int:
        """Number of nodes ``N`` (dummies included)."""
        return len(self.op_types)

    @property
    def num_edges(self) -> int:
        """Number of directed edges ``E``."""
        return int(self.edge_index.shape[1]) if self.edge_index.ndim == 2 else 0

    def op_counts(self) -> dict[str, int]:
        """How many nodes of each op type, in order of first appearance (dummies included)."""
        counts: dict[str, int] = {}
        for op in self.op_types:
            counts[op] = counts.get(op, 0) + 1
        return counts

    def validate(self) -> IRGraph:
        """Check that the fields agree; return ``self`` for chaining.

        Checks: ``op_index``, ``shapes``, ``attributes`` and ``names`` have one row per op
        type with the documented widths; every op index is in the vocabulary and either 0
        (unknown when the graph was built) or the index of its op type; all slots are
        finite; ``edge_index`` is ``2 x E`` with node indices in ``[0, N)``.

        Raises:
            EncodingError: Naming the first field that is wrong, what it holds and what it
                should hold.
        """
        n = self.num_nodes
        bad_types = [op for op in self.op_types if not isinstance(op, str)]
        if bad_types:
            raise EncodingError(
                f"IRGraph.op_types must be strings, got {bad_types[0]!r}; use ONNX op type "
                "names such as 'Conv'."
            )
        if self.op_index.shape != (n,):
            raise EncodingError(
                f"IRGraph.op_index must have shape ({n},) (one entry per op type), got "
                f"{self.op_index.shape}; build it with autobuild.ir.op_index()."
            )
        for name, arr, width in (
            ("shapes", self.shapes, SHAPE_WIDTH),
            ("attributes", self.attributes, ATTRIBUTE_WIDTH),
        ):
            if arr.shape != (n, width):
                raise EncodingError(
                    f"IRGraph.{name} must have shape ({n}, {width}) (one row of {width} slots "
                    f"per node), got {arr.shape}."
                )
            if not np.isfinite(arr).all():
                row = int(np.argwhere(~np.isfinite(arr))[0][0])
                raise EncodingError(
                    f"IRGraph.{name} must be finite, but row {row} ({self.op_types[row]}) "
                    f"holds {arr[row].tolist()}."
                )
        if len(self.names) != n:
            raise EncodingError(
                f"IRGraph.names must have {n} entries (one per node), got {len(self.names)}."
            )
        vocab = len(OP_VOCABULARY)
        for i, (op, idx) in enumerate(zip(self.op_types, self.op_index.tolist(), strict=True)):
            if not 0 <= idx < vocab or (idx != 0 and idx != op_index(op)):
                raise EncodingError(
                    f"IRGraph.op_index[{i}] is {idx} for op type {op!r}, expected "
                    f"{op_index(op)} (or 0 for an op unknown when the graph was built); "
                    f"indices must lie in [0, {vocab})."
                )
        ei = self.edge_index
        if ei.ndim != 2 or ei.shape[0] != 2:
            raise EncodingError(
                f"IRGraph.edge_index must have shape (2, E) (sources, then destinations), "
                f"got {ei.shape}."
            )
        if ei.size and (ei.min() < 0 or ei.max() >= n):
            col = int(np.argwhere((ei < 0) | (ei >= n))[0][1])
            raise EncodingError(
                f"IRGraph.edge_index column {col} is {ei[:, col].tolist()}, but node indices "
                f"must lie in [0, {n}) for a graph of {n} nodes."
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of the graph (lists of ints, floats and strings).

        Float32 slots are written as the Python floats they hold, so
        :meth:`from_dict` restores them exactly.
        """
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "op_types": list(self.op_types),
            "op_index": self.op_index.tolist(),
            "shapes": self.shapes.tolist(),
            "attributes": self.attributes.tolist(),
            "edge_index": self.edge_index.tolist(),
            "names": list(self.names),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IRGraph:
        """Rebuild a graph written by :meth:`to_dict` and validate it.

        Raises:
            EncodingError: If ``data`` is not such a dict (wrong format tag or version, a
                missing field) or the graph fails :meth:`validate`.
        """
        if not isinstance(data, Mapping):
            raise EncodingError(
                f"IRGraph.from_dict needs a dict written by IRGraph.to_dict(), got "
                f"{type(data).__name__}."
            )
        fmt = data.get("format", FORMAT_NAME)
        version = data.get("version", FORMAT_VERSION)
        if fmt != FORMAT_NAME or not isinstance(version, int) or version > FORMAT_VERSION:
            raise EncodingError(
                f"Not an IR graph this autobuild can read: format {fmt!r} version "
                f"{version!r} (expected {FORMAT_NAME!r} version <= {FORMAT_VERSION}); "
                "regenerate the cache with this version of autobuild."
            )
        missing = [key for key in _FIELDS if key not in data]
        if missing:
            raise EncodingError(
                f"IR graph dict is missing field(s) {missing}; it has {sorted(data)}. "
                "Write it with IRGraph.to_dict()."
            )
        for key in ("op_types", "names"):
            if isinstance(data[key], str) or not isinstance(data[key], list | tuple):
                raise EncodingError(
                    f"IR graph field {key!r} must be a list of strings, got "
                    f"{type(data[key]).__name__}."
                )
        graph = cls(
            op_types=tuple(data["op_types"]),
            op_index=data["op_index"],
            shapes=data["shapes"],
            attributes=data["attributes"],
            edge_index=data["edge_index"],
            names=tuple(data["names"]),
        )
        return graph.validate()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IRGraph):
            return NotImplemented
        return (
            self.op_types == other.op_types
            and self.names == other.names
            and np.array_equal(self.op_index, other.op_index)
            and np.array_equal(self.shapes, other.shapes)
            and np.array_equal(self.attributes, other.attributes)
            and np.array_equal(self.edge_index, other.edge_index)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"IRGraph(num_nodes={self.num_nodes}, num_edges={self.num_edges})"
