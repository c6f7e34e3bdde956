"""The op-type vocabulary of the ONNX IR graph format (AutoBuild, Mills et al. CVPR 2024).

:data:`OP_VOCABULARY` maps an ONNX op type to the integer the op-type embedding of the IR
FE-MLP looks up. It is an **append-only compatibility list**: an index, once given, never
changes, so graphs cached as JSON and predictors trained on them stay valid when the list
grows. Never reorder or remove an entry; new ops go at the end.

Indices 0-89 are the reference implementation's list (``onnx_ir/op.py`` of
Ascend-Research/AutoBuild), copied verbatim and in order: 0 ``<OOV>`` (every op not in the
list), 1 ``input_dummy``, 2 ``output_dummy``, 3 ``Conv``, ..., 12 ``Add``, 21 ``Relu``,
22 ``Clip`` (ReLU6), 88 ``Div``, 89 ``ReduceMean``. It already holds every op the PyTorch
exporters emit for the usual NAS building blocks (``BatchNormalization`` 7, ``AveragePool``
10, ``MaxPool`` 11, ``Concat`` 13, ``Mul`` 14, ``Sigmoid`` 23, ``Reshape`` 30, ``Identity``
36, ``HardSwish`` 38, ``Flatten`` 47, ``GlobalAveragePool`` 55, ``HardSigmoid`` 61, ...).

Indices 90-108 are autobuild additions: ops that current ``torch.onnx`` exporters and
ONNX opsets emit for blocks NAS networks use and that the reference list lacks:

==== ====================== ===================================================
 90  ``Cast``               dtype conversions (masks, mixed precision)
 91  ``ConstantOfShape``    zero/one tensors built from a runtime shape
 92  ``Erf``                exact GELU before opset 20
 93  ``Gelu``               GELU from opset 20
 94  ``Mish``               Mish (opset 18)
 95  ``Softplus``           Mish before opset 18, softplus
 96  ``Swish``              SiLU/Swish (opset 24)
 97  ``ReduceMax``          channel/spatial attention (CBAM), max pooling by reduce
 98  ``ReduceMin``          min reductions
 99  ``ReduceSum``          sums, softmax decompositions
100  ``Min``                element-wise minimum
101  ``Abs``                element-wise absolute value
102  ``GroupNormalization`` ``nn.GroupNorm`` (opset 18/21)
103  ``RMSNormalization``   RMS norm (opset 23)
104  ``Einsum``             attention and tensor contractions
105  ``Upsample``           ``nn.Upsample`` from older exporters (opset < 10)
106  ``LRN``                local response normalisation (AlexNet/GoogLeNet cells)
107  ``LpPool``             Lp pooling
108  ``ArgMax``             arg-max heads
==== ====================== ===================================================

Lookup with :func:`op_index` is case-insensitive (``casefold``), as in the reference.
"""

from __future__ import annotations

from autobuild.exceptions import ConfigError

__all__ = [
    "INPUT_DUMMY",
    "OOV",
    "OP_VOCABULARY",
    "OUTPUT_DUMMY",
    "REFERENCE_VOCABULARY_SIZE",
    "op_index",
]

#: Op type of the unknown-op entry (index 0).
OOV = "<OOV>"
#: Op type of the dummy node that feeds every op consuming a graph input.
INPUT_DUMMY = "input_dummy"
#: Op type of the dummy node that every graph output feeds.
OUTPUT_DUMMY = "output_dummy"

#: Append-only op list: position = op index. Never reorder; append new ops at the end.
OP_VOCABULARY: tuple[str, ...] = (
    # --- reference list (onnx_ir/op.py), verbatim, indices 0-89 ---
    OOV,
    INPUT_DUMMY,
    OUTPUT_DUMMY,
    "Conv",
    "ConvTranspose",
    "MatMul",
    "Gemm",
    "BatchNormalization",
    "InstanceNormalization",
    "LayerNormalization",
    "AveragePool",
    "MaxPool",
    "Add",
    "Concat",
    "Mul",
    "Sum",
    "Sub",
    "Neg",
    "Sqrt",
    "Pad",
    "Pow",
    "Relu",
    "Clip",
    "Sigmoid",
    "Tanh",
    "PRelu",
    "Constant",
    "DepthToSpace",
    "SpaceToDepth",
    "Dropout",
    "Reshape",
    "Resize",
    "Squeeze",
    "Unsqueeze",
    "Split",
    "Slice",
    "Identity",
    "Transpose",
    "HardSwish",
    "LogSoftmax",
    "TopK",
    "Tile",
    "Shape",
    "Softmax",
    "Elu",
    "Exp",
    "Expand",
    "Flatten",
    "Floor",
    "GRU",
    "LSTM",
    "RNN",
    "Gather",
    "GatherND",
    "Sign",
    "GlobalAveragePool",
    "GlobalLpPool",
    "GlobalMaxPool",
    "Greater",
    "Equal",
    "Less",
    "HardSigmoid",
    "Hardmax",
    "If",
    "Or",
    "Xor",
    "LeakyRelu",
    "Log",
    "LpNormalization",
    "Max",
    "Mean",
    "Mod",
    "NonMaxSuppression",
    "NonZero",
    "Reciprocal",
    "ReduceL1",
    "ReduceL2",
    "Round",
    "ScatterND",
    "Selu",
    "Celu",
    "Range",
    "GreaterOrEqual",
    "LessOrEqual",
    "SoftmaxCrossEntropyLoss",
    "CastLike",
    "Unique",
    "Where",
    "Div",
    "ReduceMean",
    # --- autobuild additions, indices 90+ (see the module docstring) ---
    "Cast",
    "ConstantOfShape",
    "Erf",
    "Gelu",
    "Mish",
    "Softplus",
    "Swish",
    "ReduceMax",
    "ReduceMin",
    "ReduceSum",
    "Min",
    "Abs",
    "GroupNormalization",
    "RMSNormalization",
    "Einsum",
    "Upsample",
    "LRN",
    "LpPool",
    "ArgMax",
)

#: Number of entries taken from the reference implementation (indices below it).
REFERENCE_VOCABULARY_SIZE = 90

_INDEX: dict[str, int] = {op.casefold(): i for i, op in enumerate(OP_VOCABULARY)}
if len(_INDEX) != len(OP_VOCABULARY):  # pragma: no cover - guards edits of the list
    raise RuntimeError("OP_VOCABULARY has duplicate entries (case-insensitively).")


def op_index(name: str) -> int:
    """Index of an ONNX op type in :data:`OP_VOCABULARY`.

    Args:
        name: An op type such as ``"Conv"``; matched case-insensitively.

    Returns:
        The op's index, or 0 (``<OOV>``) for an op that is not in the vocabulary.

    Raises:
        ConfigError: If ``name`` is not a string.

    Example:
        >>> op_index("Conv"), op_index("relu"), op_index("MyCustomOp")
        (3, 21, 0)
    """
    if not isinstance(name, str):
        raise ConfigError(
            f"An op type must be a string such as 'Conv', got {name!r} "
            f"({type(name).__name__}); pass the ONNX node's op_type."
        )
    return _INDEX.get(name.casefold(), 0)
