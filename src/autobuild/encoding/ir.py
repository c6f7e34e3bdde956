"""ONNX IR encoding: an architecture becomes the op graph of its exported network.

The fine-grained graph format of AutoBuild (Mills et al., CVPR 2024, Sec. 3.1 and 5.1):
:func:`autobuild.networks.build_model` builds the architecture's ``torch.nn.Module``, which
is exported to ONNX and converted by :func:`autobuild.ir.module_to_ir` into one node per
primitive op (plus input and output dummies) with data-flow edges. Every node has three
FE-MLP categories:

* ``op``: the op type, an index into the append-only :data:`autobuild.ir.OP_VOCABULARY`
  (unknown ops share the out-of-vocabulary index 0);
* ``shape``: 12 numbers, the channel/height/width of up to two input and two output tensors;
* ``attributes``: 9 numbers (kernel, group ratio, stride, dilation, bias of convolutions and
  pooling).

Exporting is the expensive step (milliseconds per network), so graphs are cached per
canonical architecture id in memory and, when ``cache_dir`` is given, as JSON files on disk.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from autobuild._atomic import write_json_atomic
from autobuild.encoding.batch import Category, GraphBatch
from autobuild.exceptions import EncodingError
from autobuild.spaces import Architecture, SearchSpace, Value

if TYPE_CHECKING:
    from autobuild.ir import IRGraph

__all__ = ["IRGraphEncoder"]

logger = logging.getLogger(__name__)

#: Numeric columns per node: 12 shape values, then 9 attribute values.
SHAPE_WIDTH = 12
ATTRIBUTE_WIDTH = 9


class IRGraphEncoder:
    """Turns architectures of a space that builds networks into ONNX IR op graphs.

    Args:
        space: A search space with a model builder (:func:`autobuild.networks.build_model`). The
            built network's ``input_shape`` attribute (``(C, H, W)`` of one sample) gives
            the export input; otherwise pass ``input_shape``.
        input_shape: Shape of one input sample, overriding the network's ``input_shape``.
        cache_dir: Folder for JSON copies of converted graphs (reused across runs).

    Example:
        >>> import autobuild as ab
        >>> enc = ab.encoding.IRGraphEncoder(ab.spaces.get("nasbench-macro"))
        >>> [c.name for c in enc.categories]
        ['op', 'shape', 'attributes']
    """

    def __init__(
        self,
        space: SearchSpace,
        *,
        input_shape: Sequence[int] | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        from autobuild.ir.vocabulary import OP_VOCABULARY

        self.space = space
        self.input_shape = None if input_shape is None else tuple(int(d) for d in input_shape)
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        op = Category("op", "categorical", tuple(OP_VOCABULARY), "ir")
        shape = Category("shape", "numeric", (), "ir", SHAPE_WIDTH)
        attrs = Category("attributes", "numeric", (), "ir", ATTRIBUTE_WIDTH)
        self.categories: tuple[Category, ...] = (op, shape, attrs)
        self.categorical = (op,)
        self.numeric = (shape, attrs)
        self._cache: dict[str, IRGraph] = {}

    @property
    def category_names(self) -> list[str]:
        """Names of the categories, in FE-MLP output order."""
        return [c.name for c in self.categories]

    def default_globals(self) -> tuple[Value, ...]:
        """Not defined for IR graphs: they have no stage subgraphs to score."""
        raise EncodingError(
            "IR graphs have no stage nodes, so module scores and construction do not apply; "
            "train a predictor with graph_format='sequence' for those."
        )

    def schema(self) -> dict[str, Any]:
        """A JSON-serialisable description of the categories (stored in checkpoints)."""
        from autobuild.ir.vocabulary import OP_VOCABULARY

        return {
            "format": "ir",
            "categorical": [{"name": "op", "size": len(OP_VOCABULARY)}],
            "numeric": [
                {"name": "shape", "width": SHAPE_WIDTH},
                {"name": "attributes", "width": ATTRIBUTE_WIDTH},
            ],
            "input_shape": None if self.input_shape is None else list(self.input_shape),
        }

    # ------------------------------------------------------------------ graphs
    def graph(self, arch: Architecture) -> IRGraph:
        """The IR graph of one architecture (converted once, then cached).

        Raises:
            SearchSpaceError: If the space cannot build networks.
            EncodingError: If the network has no input shape or cannot be exported.
        """
        key = self.space.canonical_id(arch)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        graph = self._read_disk(key)
        if graph is None:
            graph = self._convert(arch)
            self._write_disk(key, graph)
        self._cache[key] = graph
        return graph

    def encode_batch(self, archs: Sequence[Architecture]) -> GraphBatch:
        """Encode architectures into one packed :class:`GraphBatch` with explicit edges."""
        graphs = [self.graph(a) for a in archs]
        sizes = torch.tensor([g.num_nodes for g in graphs], dtype=torch.long)
        e_sizes = torch.tensor([g.num_edges for g in graphs], dtype=torch.long)
        ptr = torch.zeros(len(graphs) + 1, dtype=torch.long)
        edge_ptr = torch.zeros(len(graphs) + 1, dtype=torch.long)
        if graphs:
            torch.cumsum(sizes, 0, out=ptr[1:])
            torch.cumsum(e_sizes, 0, out=edge_ptr[1:])
        x_cat = np.zeros((int(ptr[-1]), 1), dtype=np.int64)
        x_num = np.zeros((int(ptr[-1]), SHAPE_WIDTH + ATTRIBUTE_WIDTH), dtype=np.float32)
        edges = np.zeros((2, int(edge_ptr[-1])), dtype=np.int64)
        for i, g in enumerate(graphs):
            lo, hi = int(ptr[i]), int(ptr[i + 1])
            x_cat[lo:hi, 0] = g.op_index
            x_num[lo:hi, :SHAPE_WIDTH] = g.shapes
            x_num[lo:hi, SHAPE_WIDTH:] = g.attributes
            edges[:, int(edge_ptr[i]) : int(edge_ptr[i + 1])] = g.edge_index + lo
        return GraphBatch(
            torch.from_numpy(x_cat),
            torch.from_numpy(x_num),
            ptr,
            edges=torch.from_numpy(edges),
            edge_ptr=edge_ptr,
        )

    # ------------------------------------------------------------------ internals
    def _convert(self, arch: Architecture) -> IRGraph:
        from autobuild.ir import module_to_ir
        from autobuild.networks import build_model

        model = build_model(self.space, arch)
        shape = self.input_shape or getattr(model, "input_shape", None)
        if shape is None:
            raise EncodingError(
                f"The network of space {self.space.name!r} has no `input_shape` attribute, so "
                "the IR encoder does not know what to export it with; pass input_shape=(C, H, W)."
            )
        example = torch.zeros((1, *(int(d) for d in shape)))
        return module_to_ir(model, example)

    def _disk_path(self, key: str) -> Path | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256(f"{self.space.fingerprint()}|{key}".encode()).hexdigest()
        return self.cache_dir / f"{digest[:32]}.json"

    def _read_disk(self, key: str) -> IRGraph | None:
        from autobuild.ir import IRGraph

        path = self._disk_path(key)
        if path is None or not path.is_file():
            return None
        try:
            payload = json.loads(path.read_text())
            if payload.get("arch") != key:
                return None
            graph = IRGraph.from_dict(payload["graph"])
            graph.validate()
        except (OSError, ValueError, KeyError, TypeError) as err:
            logger.warning("Ignoring unreadable IR cache file %s: %s", path, err)
            return None
        return graph

    def _write_disk(self, key: str, graph: IRGraph) -> None:
        path = self._disk_path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, {"arch": key, "graph": graph.to_dict()})
