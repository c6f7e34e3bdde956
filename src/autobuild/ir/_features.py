"""Node feature encoding of the ONNX IR format: tensor shapes and op attributes.

Pure functions on plain Python values (no ``onnx`` import), used by the ONNX converter.

Shapes (12 slots per node, :data:`SHAPE_WIDTH`): the first :data:`MAX_TENSORS` input
tensors, then the first :data:`MAX_TENSORS` output tensors. A tensor contributes dims 1-3
(the batch dim 0 is skipped; NCHW assumed) as ``C/256, H/128, W/128``; a dimension that is
unknown (symbolic) counts as 0 and a 5-D tensor keeps only ``C, D, H``.

* Fixed layout (default): every tensor owns 3 slots, zero-padded, so a 2-D ``[B, C]`` tensor
  gives ``(C/256, 0, 0)`` and the second tensor always starts at slot 3 of its side.
* Legacy layout (``legacy=True``): the reference implementation concatenates the values of
  all tensors of a side without per-tensor alignment and zero-pads the side to 6, so the
  second tensor of a side starts right after the last value of the first (two ``[B, C]``
  tensors give ``(C1/256, C2/256, 0, 0, 0, 0)``).

Attributes (9 slots per node, :data:`ATTRIBUTE_WIDTH`):

* ``Conv``/``ConvTranspose``: [0:3] kernel dims / 3 (zero-padded); [3] group / C_out
  (1/C_out dense, 1 depthwise); [4] max(strides) / 2 (autobuild addition: the reference
  leaves this slot 0); [5:8] dilations, 1 per spatial dim when the attribute is absent (the
  ONNX default), zero-padded to 3 like the kernel slots (the reference wrote 1 in all three
  slots when it was absent, so a 2-D conv gave ``(1, 1, 1)`` or ``(1, 1, 0)`` depending on the
  exporter; torch always writes the attribute); [8] has_bias (1 or 0): the op has a third
  (bias) input, which every convolution with a folded BatchNorm has.
* ``MaxPool``/``AveragePool``: [0:3] kernel / 3 and [4] max(strides) / 2 (strides default to
  1); other slots 0. (The reference keyed max-pool as ``Maxpool`` and so never encoded it.)
* Every other op: 9 zeros.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ATTRIBUTE_WIDTH",
    "CHANNEL_NORMALIZER",
    "HEIGHT_NORMALIZER",
    "KERNEL_NORMALIZER",
    "MAX_TENSORS",
    "SHAPE_WIDTH",
    "SLOTS_PER_TENSOR",
    "STRIDE_NORMALIZER",
    "WIDTH_NORMALIZER",
    "Shape",
    "attribute_features",
    "shape_features",
]

#: Tensors encoded per side (inputs, outputs) of a node.
MAX_TENSORS = 2
#: Slots per tensor: C, H, W.
SLOTS_PER_TENSOR = 3
#: Shape slots per node: 2 sides x 2 tensors x 3 slots.
SHAPE_WIDTH = 2 * MAX_TENSORS * SLOTS_PER_TENSOR
#: Attribute slots per node.
ATTRIBUTE_WIDTH = 9

CHANNEL_NORMALIZER = 256.0
HEIGHT_NORMALIZER = 128.0
WIDTH_NORMALIZER = 128.0
KERNEL_NORMALIZER = 3.0
STRIDE_NORMALIZER = 2.0

_NORMALIZERS = (CHANNEL_NORMALIZER, HEIGHT_NORMALIZER, WIDTH_NORMALIZER)
_CONV_OPS = frozenset({"Conv", "ConvTranspose"})
_POOL_OPS = frozenset({"MaxPool", "AveragePool"})

#: A tensor shape: one entry per dim (``None`` = unknown), or ``None`` for an unknown rank.
Shape = Sequence[int | None] | None


def _tensor_values(shape: Shape) -> list[float]:
    """Normalised dims 1-3 of one tensor (fewer for tensors of rank < 4)."""
    if shape is None:
        return []
    return [
        (float(dim) / norm) if dim is not None else 0.0
        for dim, norm in zip(shape[1:], _NORMALIZERS, strict=False)
    ]


def _side(shapes: Sequence[Shape], legacy: bool) -> list[float]:
    width = MAX_TENSORS * SLOTS_PER_TENSOR
    out: list[float] = []
    for shape in shapes[:MAX_TENSORS]:
        values = _tensor_values(shape)
        if not legacy:
            values += [0.0] * (SLOTS_PER_TENSOR - len(values))
        out += values
    return out + [0.0] * (width - len(out))


def shape_features(
    input_shapes: Sequence[Shape], output_shapes: Sequence[Shape], *, legacy: bool = False
) -> list[float]:
    """The 12 shape slots of a node (see the module docstring for the layout).

    Args:
        input_shapes: Shapes of the node's data inputs, in input order (weights excluded).
        output_shapes: Shapes of the node's outputs, in output order.
        legacy: Reproduce the reference's unaligned concatenation.

    Returns:
        ``SHAPE_WIDTH`` floats: 6 for the inputs, then 6 for the outputs.
    """
    return _side(input_shapes, legacy) + _side(output_shapes, legacy)


def _padded(values: Sequence[float], width: int = 3) -> list[float]:
    out = [float(v) for v in values[:width]]
    return out + [0.0] * (width - len(out))


def _stride_slot(strides: Sequence[int] | None) -> float:
    return max(strides) / STRIDE_NORMALIZER if strides else 1.0 / STRIDE_NORMALIZER


def attribute_features(
    op_type: str,
    *,
    kernel: Sequence[int] | None = None,
    strides: Sequence[int] | None = None,
    group: int = 1,
    out_channels: int | None = None,
    dilations: Sequence[int] | None = None,
    has_bias: bool = False,
) -> list[float]:
    """The 9 attribute slots of a node (see the module docstring for the layout).

    Args:
        op_type: ONNX op type (exact case, as ONNX spells it).
        kernel: Kernel dims (``kernel_shape``), or ``None`` if unknown.
        strides: Strides, or ``None`` for the ONNX default (1 per spatial dim).
        group: Convolution groups.
        out_channels: Output channels of a convolution (``None`` if unknown: slot [3] is 0).
        dilations: Dilations, or ``None`` for the ONNX default (1 per spatial dim).
        has_bias: Whether a convolution has a bias input.

    Returns:
        ``ATTRIBUTE_WIDTH`` floats.
    """
    feat = [0.0] * ATTRIBUTE_WIDTH
    if op_type not in _CONV_OPS and op_type not in _POOL_OPS:
        return feat
    kernel = list(kernel or [])
    feat[0:3] = _padded([k / KERNEL_NORMALIZER for k in kernel])
    feat[4] = _stride_slot(strides)
    if op_type in _CONV_OPS:
        feat[3] = group / out_channels if out_channels else 0.0
        dil = list(dilations) if dilations else [1] * (len(kernel) or 2)
        feat[5:8] = _padded(dil)
        feat[8] = 1.0 if has_bias else 0.0
    return feat
