"""ONNX export of ``torch.nn.Module`` networks and ONNX -> :class:`IRGraph` conversion.

Needs the optional ``onnx`` package (``pip install 'autobuild[ir]'``); it is imported inside
the functions, so ``import autobuild`` never requires it.

Export (:func:`export_onnx`, :func:`module_to_ir`) uses the TorchScript-based exporter
(``torch.onnx.export(..., dynamo=False)``) in eval mode under ``torch.no_grad()``, with
``do_constant_folding=True`` and ``training=TrainingMode.EVAL``: it is much faster than the
``torch.export``-based exporter, which also needs ``onnxscript``. In eval mode the exporter
folds every BatchNorm that follows a convolution into it, so the graph is the inference graph
ONNX runtimes execute: ``Conv`` nodes (with a bias input, hence ``has_bias = 1``) and no
``BatchNormalization`` nodes for Conv+BN pairs; ``Dropout`` disappears as well.

Conversion (:func:`onnx_to_ir`) makes one node per primitive op, in the graph's (topological)
order, between an ``input_dummy`` node (index 0) and an ``output_dummy`` node (last index):

* Initializers (weights) are not nodes, and neither is the *constant subgraph*: ``Constant``
  nodes and every node whose inputs are all initializers or constant outputs (e.g. the
  ``Identity`` nodes the exporter inserts to alias shared weights). Such nodes do not depend
  on the network input, so they would be islands outside the data flow. Ops that compute on
  data-dependent tensors are kept, shape bookkeeping (``Shape``, ``Gather`` on shapes,
  ``Reshape``...) included; the exporter folds most of it away for fixed-size inputs.
* Edges follow tensor producer -> consumer over data inputs only, in input order, one edge
  per (producer, consumer) pair: ``input_dummy`` feeds every op that reads a graph input,
  and every op producing a graph output feeds ``output_dummy``.
* A node's shape slots use its data inputs (weights excluded) and its outputs, with shapes
  from ``onnx.shape_inference`` (run once, and only when the graph lacks some shapes).
  ``input_dummy`` lists the graph inputs as its outputs, ``output_dummy`` the graph outputs as
  its inputs.
* Functions of the model are inlined first; control-flow ops (``If``, ``Loop``) are single
  nodes whose bodies are not expanded.

Slot layouts are documented in :mod:`autobuild.ir._features`.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from autobuild._atomic import atomic_path
from autobuild.exceptions import ConfigError, EncodingError
from autobuild.ir._features import ATTRIBUTE_WIDTH, Shape, attribute_features, shape_features
from autobuild.ir.graph import IRGraph
from autobuild.ir.vocabulary import INPUT_DUMMY, OUTPUT_DUMMY, op_index

if TYPE_CHECKING:
    import onnx

__all__ = ["MAX_OPSET", "MIN_OPSET", "export_onnx", "module_to_ir", "onnx_to_ir"]

logger = logging.getLogger(__name__)

#: Lowest opset accepted (constant folding, hence BatchNorm fusion, needs 9).
MIN_OPSET = 9
#: Highest opset the TorchScript-based exporter of torch 2.13 supports (also its default).
MAX_OPSET = 20

_INSTALL_HINT = "pip install 'autobuild[ir]'"
_ATTRIBUTE_OPS = frozenset({"Conv", "ConvTranspose", "MaxPool", "AveragePool"})
_CONV_OPS = frozenset({"Conv", "ConvTranspose"})
_ZERO_ATTRIBUTES = [0.0] * ATTRIBUTE_WIDTH


def _import_onnx() -> ModuleType:
    try:
        import onnx
    except ImportError as exc:
        raise EncodingError(
            "Converting networks to ONNX IR graphs needs the optional `onnx` package, which is "
            f"not installed; install it with: {_INSTALL_HINT}"
        ) from exc
    return onnx


# --------------------------------------------------------------------------- export


def _check_model(model: Any) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise ConfigError(
            f"`model` must be a torch.nn.Module, got {type(model).__name__}; pass the network "
            "itself (e.g. autobuild.networks.build_model(space, arch))."
        )
    return model


def _as_args(example_input: Any) -> tuple[Any, ...]:
    if isinstance(example_input, Tensor):
        return (example_input,)
    if isinstance(example_input, tuple | list) and len(example_input) > 0:
        return tuple(example_input)
    raise ConfigError(
        f"`example_input` must be a tensor or a non-empty tuple of forward arguments, got "
        f"{_describe(example_input)}; e.g. torch.zeros(1, 3, 32, 32)."
    )


def _check_opset(opset: Any) -> int | None:
    if opset is None:
        return None
    if (
        isinstance(opset, bool)
        or not isinstance(opset, int)
        or not (MIN_OPSET <= opset <= MAX_OPSET)
    ):
        raise ConfigError(
            f"`opset` must be an integer in [{MIN_OPSET}, {MAX_OPSET}] or None (the exporter's "
            f"default, {MAX_OPSET}), got {opset!r}."
        )
    return opset


def _describe(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"tensor{list(value.shape)}"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_describe(v) for v in value) + ")"
    return type(value).__name__


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Put every submodule in eval mode; restore each one's own training flag afterwards."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


def _export_bytes(
    model: nn.Module, args: tuple[Any, ...], opset: int | None, *, export_params: bool
) -> bytes:
    buf = io.BytesIO()
    with _eval_mode(model), torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter is deprecated but ~10x faster; its notices are not news.
        warnings.filterwarnings(
            "ignore", message=".*legacy TorchScript-based ONNX export", category=DeprecationWarning
        )
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx")
        try:
            torch.onnx.export(
                model,
                args,
                buf,  # type: ignore[arg-type]  # the TorchScript exporter accepts file objects
                dynamo=False,
                opset_version=opset,
                export_params=export_params,
                do_constant_folding=True,
                training=torch.onnx.TrainingMode.EVAL,
            )
        except Exception as exc:
            detail = f"{type(exc).__name__}: {str(exc).strip()}"
            if len(detail) > 600:
                detail = detail[:600] + " ..."
            raise EncodingError(
                f"Could not export {type(model).__name__} to ONNX with example input "
                f"{_describe(args)}: {detail}. Check that model(*example_input) runs on this "
                "input and uses only ops torch.onnx supports."
            ) from exc
    return buf.getvalue()


def export_onnx(
    model: nn.Module,
    example_input: Tensor | tuple[Any, ...],
    path: str | Path | None = None,
    *,
    opset: int | None = None,
) -> onnx.ModelProto:
    """Export a network to ONNX (inference graph, weights included).

    The model is traced in eval mode under ``torch.no_grad()`` with the TorchScript-based
    exporter, constant folding on (BatchNorm after a convolution is folded into it); every
    submodule's training flag is restored afterwards.

    Args:
        model: The network.
        example_input: One forward argument (a tensor such as ``torch.zeros(1, 3, 32, 32)``)
            or a tuple of them; its shapes become the graph's shapes.
        path: If given, the ``.onnx`` file to write (atomically; parent folders are created).
        opset: ONNX opset in ``[MIN_OPSET, MAX_OPSET]``; ``None`` is the exporter's default.

    Returns:
        The exported model.

    Raises:
        ConfigError: If an argument has the wrong type or value.
        EncodingError: If ``onnx`` is not installed, or the export fails (the message names
            the model class and the exporter's error).
    """
    onnx_mod = _import_onnx()
    model = _check_model(model)
    args = _as_args(example_input)
    opset = _check_opset(opset)
    if path is not None and not isinstance(path, str | Path):
        raise ConfigError(f"`path` must be a str or Path, got {type(path).__name__}.")
    data = _export_bytes(model, args, opset, export_params=True)
    if path is not None:
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        logger.info("Wrote ONNX model of %s to %s", type(model).__name__, path)
    proto: onnx.ModelProto = onnx_mod.load_model_from_string(data)
    return proto


def module_to_ir(
    model: nn.Module,
    example_input: Tensor | tuple[Any, ...],
    *,
    opset: int | None = None,
    legacy_shapes: bool = False,
) -> IRGraph:
    """Convert a network to its IR graph, in memory (no temporary files).

    Same export as :func:`export_onnx`, except that weights are not serialised (they are
    not part of the graph), which makes it ~12 % faster; the result equals
    ``onnx_to_ir(export_onnx(model, example_input))``. For many small networks, run with one
    intra-op thread (``torch.set_num_threads(1)`` or ``OMP_NUM_THREADS=1``): the trace
    runs one forward pass, which multi-threading only slows down at batch size 1, a lot on a
    busy machine.

    Args:
        model: The network.
        example_input: One forward argument or a tuple of them.
        opset: ONNX opset, as in :func:`export_onnx`.
        legacy_shapes: Shape slots in the reference's unaligned layout (see
            :func:`onnx_to_ir`).

    Raises:
        ConfigError: If an argument has the wrong type or value.
        EncodingError: If ``onnx`` is not installed, or the export or conversion fails.
    """
    onnx_mod = _import_onnx()
    model = _check_model(model)
    args = _as_args(example_input)
    opset = _check_opset(opset)
    legacy_shapes = _check_flag(legacy_shapes)
    if all(isinstance(a, Tensor) for a in args):
        data = _export_bytes(model, args, opset, export_params=False)
        proto = onnx_mod.load_model_from_string(data)
        weights = _weight_inputs(model, proto, args)
        if weights is not None:
            return _proto_to_ir(onnx_mod, proto, legacy_shapes, weights)
        logger.debug(
            "Weight inputs of %s not identified; exporting with weights.", type(model).__name__
        )
    data = _export_bytes(model, args, opset, export_params=True)
    return _proto_to_ir(onnx_mod, onnx_mod.load_model_from_string(data), legacy_shapes)


def _weight_inputs(
    model: nn.Module, proto: onnx.ModelProto, args: tuple[Tensor, ...]
) -> frozenset[str] | None:
    """Names of the weight inputs of a graph exported with ``export_params=False``.

    The exporter lists the used forward arguments first, then the weights (named after
    their parameter or buffer, or ``onnx::<Op>_<n>`` for folded ones such as fused Conv+BN
    weights; a data input may be named that way too). When the first ``len(args)`` inputs
    have the shapes of ``args`` and none is named after a parameter or buffer, every
    argument was used and the rest are weights. Otherwise (e.g. an argument the exporter
    dropped as unused) return ``None``, and the caller exports with weights instead.
    """
    inputs = proto.graph.input
    if len(inputs) < len(args):
        return None
    known = {name for name, _ in model.named_parameters(remove_duplicate=False)}
    known.update(name for name, _ in model.named_buffers(remove_duplicate=False))
    for vi, arg in zip(inputs[: len(args)], args, strict=True):
        if vi.name in known or _value_shape(vi) != tuple(arg.shape):
            return None
    return frozenset(vi.name for vi in inputs[len(args) :])


# --------------------------------------------------------------------------- conversion


def _check_flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"`legacy_shapes` must be True or False, got {value!r}.")
    return value


def onnx_to_ir(model: onnx.ModelProto | str | Path, *, legacy_shapes: bool = False) -> IRGraph:
    """Convert an ONNX model to its IR graph (rules in the module docstring).

    Args:
        model: An ``onnx.ModelProto`` or the path of an ``.onnx`` file (external weight data
            is not needed and not loaded).
        legacy_shapes: Lay out the shape slots as the reference implementation does
            (per-side concatenation without per-tensor alignment) instead of 3 slots per
            tensor; for parity with graphs cached by the reference code.

    Returns:
        The validated graph.

    Raises:
        ConfigError: If ``model`` is neither a ModelProto nor an existing file, or
            ``legacy_shapes`` is not a bool.
        EncodingError: If ``onnx`` is not installed, the file is not an ONNX model, or the
            graph cannot be converted (e.g. it is not topologically sorted).
    """
    onnx_mod = _import_onnx()
    legacy_shapes = _check_flag(legacy_shapes)
    if isinstance(model, str | Path):
        path = Path(model)
        if not path.is_file():
            raise ConfigError(
                f"ONNX file {str(path)!r} does not exist; pass an existing .onnx file or an "
                "onnx.ModelProto."
            )
        try:
            proto = onnx_mod.load(str(path), load_external_data=False)
        except Exception as exc:
            raise EncodingError(
                f"{str(path)!r} is not a readable ONNX model ({type(exc).__name__}: {exc}); "
                "write it with autobuild.ir.export_onnx or torch.onnx.export."
            ) from exc
    elif isinstance(model, onnx_mod.ModelProto):
        proto = model
    else:
        raise ConfigError(
            f"`model` must be an onnx.ModelProto or the path of an .onnx file, got "
            f"{type(model).__name__}; to convert a torch module use module_to_ir()."
        )
    return _proto_to_ir(onnx_mod, proto, legacy_shapes)


def _value_shape(value_info: Any) -> Shape:
    """Dims of a ValueInfoProto (``None`` for unknown dims), or ``None`` if unknown rank."""
    tensor_type = value_info.type.tensor_type
    if not value_info.type.HasField("tensor_type") or not tensor_type.HasField("shape"):
        return None
    return tuple(
        int(d.dim_value) if d.HasField("dim_value") else None for d in tensor_type.shape.dim
    )


def _shapes_complete(graph: Any) -> bool:
    known = {vi.name for vi in graph.value_info}
    known.update(vi.name for vi in graph.output)
    return all(out in known for node in graph.node for out in node.output if out)


def _ints(attrs: dict[str, Any], name: str) -> list[int] | None:
    attr = attrs.get(name)
    return [int(v) for v in attr.ints] if attr is not None and len(attr.ints) else None


def _node_attributes(node: Any, shapes: dict[str, Shape]) -> list[float]:
    op = node.op_type
    if op not in _ATTRIBUTE_OPS:
        return _ZERO_ATTRIBUTES
    attrs = {a.name: a for a in node.attribute}
    kernel = _ints(attrs, "kernel_shape")
    strides = _ints(attrs, "strides")
    if op not in _CONV_OPS:
        return attribute_features(op, kernel=kernel, strides=strides)
    group = int(attrs["group"].i) if "group" in attrs else 1
    weight = shapes.get(node.input[1]) if len(node.input) > 1 else None
    if kernel is None and weight is not None and all(d is not None for d in weight[2:]):
        kernel = [int(d) for d in weight[2:] if d is not None]
    out = shapes.get(node.output[0]) if node.output else None
    out_channels = out[1] if out is not None and len(out) > 1 else None
    if out_channels is None and weight is not None and len(weight) > 1:
        w0, w1 = weight[0], weight[1]
        out_channels = w0 if op == "Conv" else (w1 * group if w1 is not None else None)
    return attribute_features(
        op,
        kernel=kernel,
        strides=strides,
        group=group,
        out_channels=out_channels,
        dilations=_ints(attrs, "dilations"),
        has_bias=sum(1 for name in node.input if name) >= 3,
    )


def _proto_to_ir(
    onnx_mod: ModuleType,
    proto: onnx.ModelProto,
    legacy_shapes: bool,
    weight_inputs: frozenset[str] = frozenset(),
) -> IRGraph:
    if len(proto.functions):
        proto = onnx_mod.inliner.inline_local_functions(proto)
    if not _shapes_complete(proto.graph):
        try:
            proto = onnx_mod.shape_inference.infer_shapes(
                proto, check_type=False, strict_mode=False, data_prop=True
            )
        except Exception as exc:
            raise EncodingError(
                f"ONNX shape inference failed on graph {proto.graph.name!r} "
                f"({type(exc).__name__}: {exc}); check the model with "
                "onnx.checker.check_model."
            ) from exc
    graph = proto.graph

    shapes: dict[str, Shape] = {}
    for vi in (*graph.input, *graph.value_info, *graph.output):
        shapes[vi.name] = _value_shape(vi)
    static: set[str] = set(weight_inputs)
    for init in graph.initializer:
        static.add(init.name)
        shapes.setdefault(init.name, tuple(int(d) for d in init.dims))
    static.update(sparse.values.name for sparse in graph.sparse_initializer)
    data_inputs = [vi.name for vi in graph.input if vi.name not in static]
    data_input_set = set(data_inputs)

    op_types = [INPUT_DUMMY]
    names = [INPUT_DUMMY]
    shape_rows = [shape_features([], [shapes.get(n) for n in data_inputs], legacy=legacy_shapes)]
    attr_rows = [_ZERO_ATTRIBUTES]
    producer: dict[str, int] = {}
    edges: dict[tuple[int, int], None] = {}
    dropped = 0
    for node in graph.node:
        data = [name for name in node.input if name and name not in static]
        if node.op_type == "Constant" or not data:
            static.update(out for out in node.output if out)
            dropped += 1
            continue
        idx = len(op_types)
        for name in data:
            src = producer.get(name)
            if src is None:
                if name not in data_input_set:
                    raise EncodingError(
                        f"ONNX node {node.name or node.op_type!r} reads tensor {name!r}, which "
                        "no earlier node produces and which is neither a graph input nor an "
                        "initializer; the graph must be topologically sorted "
                        "(onnx.checker.check_model tells what is wrong)."
                    )
                src = 0
            edges[(src, idx)] = None
        outputs = [out for out in node.output if out]
        for out in outputs:
            producer[out] = idx
        op_types.append(node.op_type)
        names.append(node.name or f"{node.op_type}_{idx}")
        shape_rows.append(
            shape_features(
                [shapes.get(n) for n in data],
                [shapes.get(n) for n in outputs],
                legacy=legacy_shapes,
            )
        )
        attr_rows.append(_node_attributes(node, shapes))

    out_idx = len(op_types)
    outputs = [vi.name for vi in graph.output]
    for name in outputs:
        if name in producer:
            edges[(producer[name], out_idx)] = None
        elif name in data_input_set:
            edges[(0, out_idx)] = None
    op_types.append(OUTPUT_DUMMY)
    names.append(OUTPUT_DUMMY)
    shape_rows.append(shape_features([shapes.get(n) for n in outputs], [], legacy=legacy_shapes))
    attr_rows.append(_ZERO_ATTRIBUTES)
    logger.debug(
        "ONNX graph %r: %d op nodes kept, %d constant nodes dropped, %d edges",
        graph.name,
        len(op_types) - 2,
        dropped,
        len(edges),
    )
    edge_index = np.array(list(edges), dtype=np.int64).reshape(-1, 2).T
    return IRGraph(
        op_types=tuple(op_types),
        op_index=np.array([op_index(op) for op in op_types], dtype=np.int64),
        shapes=np.array(shape_rows, dtype=np.float32),
        attributes=np.array(attr_rows, dtype=np.float32),
        edge_index=edge_index,
        names=tuple(names),
    ).validate()
