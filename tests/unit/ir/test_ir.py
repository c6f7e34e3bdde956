"""Tests for the ONNX IR graph format: vocabulary, IRGraph, export and conversion."""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

onnx = pytest.importorskip("onnx")

import autobuild as ab  # noqa: E402
import autobuild.ir as ir  # noqa: E402
from autobuild.exceptions import ConfigError, EncodingError  # noqa: E402
from autobuild.ir import (  # noqa: E402
    OP_VOCABULARY,
    IRGraph,
    export_onnx,
    module_to_ir,
    onnx_to_ir,
    op_index,
)
from autobuild.ir.vocabulary import (  # noqa: E402
    INPUT_DUMMY,
    OUTPUT_DUMMY,
    REFERENCE_VOCABULARY_SIZE,
)
from autobuild.networks import build_model  # noqa: E402

X32 = torch.zeros(1, 3, 32, 32)
#: sha256 of the reference's 90 op names joined by newlines: the list is append-only.
REFERENCE_SHA256 = "8a7e84c8f3f675aed6f5cc024dc24ead250f9ea2acc73a8b494363929417b441"


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    # Tracing runs one batch-1 forward; more threads only add contention.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class ConvNet(nn.Module):
    """Conv -> BN -> ReLU -> MaxPool -> Flatten -> Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(16 * 16 * 16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(x, 1))


class Residual(nn.Module):
    """ReLU -> (Conv -> ReLU -> Conv) + skip."""

    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.a = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.b = nn.Conv2d(c, c, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(x)
        return self.b(torch.relu(self.a(x))) + x


class TwoHeads(nn.Module):
    """Two Linear heads concatenated: Concat gets two 2-D inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 64)
        self.b = nn.Linear(4, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.a(x), self.b(x)], dim=1)


class Broken(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(5, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)  # fails on 3 x 32 x 32 images


def _row(graph: IRGraph, op: str, k: int = 0) -> int:
    return [i for i, t in enumerate(graph.op_types) if t == op][k]


def _in_edges(graph: IRGraph, node: int) -> list[int]:
    return graph.edge_index[0, graph.edge_index[1] == node].tolist()


def _reachable(graph: IRGraph, start: int, forward: bool = True) -> set[int]:
    src, dst = (graph.edge_index[0], graph.edge_index[1])
    if not forward:
        src, dst = dst, src
    seen, stack = {start}, [start]
    while stack:
        node = stack.pop()
        for nxt in dst[src == node].tolist():
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


@pytest.fixture(scope="module")
def convnet_graph() -> IRGraph:
    return module_to_ir(ConvNet(), X32)


@pytest.fixture(scope="module")
def macro_graph() -> IRGraph:
    net = build_model(ab.spaces.get("nasbench-macro"), "22212220")
    return module_to_ir(net, X32)


# ---------------------------------------------------------------------- vocabulary
def test_reference_vocabulary_is_frozen():
    assert len(OP_VOCABULARY) > REFERENCE_VOCABULARY_SIZE == 90
    expected = {0: "<OOV>", 1: "input_dummy", 2: "output_dummy", 3: "Conv", 12: "Add"}
    expected.update({21: "Relu", 22: "Clip", 88: "Div", 89: "ReduceMean"})
    assert {i: OP_VOCABULARY[i] for i in expected} == expected
    digest = hashlib.sha256("\n".join(OP_VOCABULARY[:90]).encode()).hexdigest()
    assert digest == REFERENCE_SHA256, "the reference op list changed: it is append-only"


def test_appended_ops_and_lookup():
    assert len({op.casefold() for op in OP_VOCABULARY}) == len(OP_VOCABULARY)
    for name in ("HardSigmoid", "HardSwish", "Sigmoid", "GlobalAveragePool", "Flatten", "Gemm"):
        assert OP_VOCABULARY[op_index(name)] == name
    assert op_index("Gelu") >= REFERENCE_VOCABULARY_SIZE
    assert op_index("conv") == op_index("CONV") == op_index("Conv") == 3
    assert op_index("Maxpool") == op_index("MaxPool") == 11
    assert op_index("MyCustomOp") == 0
    with pytest.raises(ConfigError, match="must be a string"):
        op_index(3)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- conversion
def test_convnet_nodes_edges_and_slots(convnet_graph: IRGraph):
    g = convnet_graph
    # BN is folded into the Conv in eval mode; Flatten and Gemm come from flatten + Linear.
    assert g.op_types == (
        INPUT_DUMMY, "Conv", "Relu", "MaxPool", "Flatten", "Gemm", OUTPUT_DUMMY,
    )  # fmt: skip
    assert g.op_index.tolist() == [op_index(t) for t in g.op_types]
    assert g.num_nodes == 7
    assert g.edge_index.tolist() == [[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6]]
    conv = _row(g, "Conv")
    np.testing.assert_allclose(g.shapes[conv, :6], [3 / 256, 0.25, 0.25, 0, 0, 0])
    np.testing.assert_allclose(g.shapes[conv, 6:], [16 / 256, 0.25, 0.25, 0, 0, 0])
    # kernel 3 -> 1.0, dense: group/C_out = 1/16, stride 1 -> 0.5, dilations 1, bias (fused).
    np.testing.assert_allclose(g.attributes[conv], [1, 1, 0, 1 / 16, 0.5, 1, 1, 0, 1])
    pool = _row(g, "MaxPool")
    np.testing.assert_allclose(g.attributes[pool], [2 / 3, 2 / 3, 0, 0, 1.0, 0, 0, 0, 0])
    np.testing.assert_allclose(g.shapes[pool, 6:9], [16 / 256, 16 / 128, 16 / 128])
    gemm = _row(g, "Gemm")
    # 2-D [B, C] tensors take (C/256, 0, 0); Gemm's weight is not an input tensor.
    np.testing.assert_allclose(g.shapes[gemm], [16, 0, 0, 0, 0, 0, 10 / 256, 0, 0, 0, 0, 0])
    assert not g.attributes[_row(g, "Relu")].any()
    np.testing.assert_allclose(g.shapes[0, 6:9], [3 / 256, 0.25, 0.25])  # input_dummy
    np.testing.assert_allclose(g.shapes[-1, :3], [10 / 256, 0, 0])  # output_dummy


def test_residual_add_has_two_in_edges():
    g = module_to_ir(Residual(), torch.zeros(1, 8, 8, 8))
    assert g.op_counts() == {INPUT_DUMMY: 1, "Relu": 2, "Conv": 2, "Add": 1, OUTPUT_DUMMY: 1}
    add = _row(g, "Add")
    assert sorted(_in_edges(g, add)) == sorted([_row(g, "Relu", 0), _row(g, "Conv", 1)])
    assert len(_in_edges(g, _row(g, "Relu", 0))) == 1  # from input_dummy
    np.testing.assert_allclose(g.shapes[add, :6], [8 / 256, 8 / 128, 8 / 128] * 2)
    assert g.attributes[_row(g, "Conv"), 8] == 0.0  # bias=False and no BN to fold


def test_depthwise_dilated_strided_conv_attributes():
    net = nn.Sequential(
        nn.Conv2d(8, 8, 5, padding=4, groups=8, dilation=2, stride=2, bias=False),
        nn.AvgPool2d(3, stride=1, padding=1),
    )
    g = module_to_ir(net, torch.zeros(1, 8, 16, 16))
    conv, pool = _row(g, "Conv"), _row(g, "AveragePool")
    np.testing.assert_allclose(g.attributes[conv], [5 / 3, 5 / 3, 0, 1.0, 1.0, 2, 2, 0, 0])
    np.testing.assert_allclose(g.shapes[conv, 6:9], [8 / 256, 8 / 128, 8 / 128])
    np.testing.assert_allclose(g.attributes[pool], [1, 1, 0, 0, 0.5, 0, 0, 0, 0])


def test_legacy_shape_layout_vs_fixed():
    fixed = module_to_ir(TwoHeads(), torch.zeros(1, 4))
    legacy = module_to_ir(TwoHeads(), torch.zeros(1, 4), legacy_shapes=True)
    cat = _row(fixed, "Concat")
    np.testing.assert_allclose(fixed.shapes[cat, :6], [64 / 256, 0, 0, 128 / 256, 0, 0])
    np.testing.assert_allclose(legacy.shapes[cat, :6], [64 / 256, 128 / 256, 0, 0, 0, 0])
    gemm = _row(fixed, "Gemm")  # one 2-D tensor per side: both layouts agree
    np.testing.assert_allclose(fixed.shapes[gemm], legacy.shapes[gemm])
    np.testing.assert_allclose(fixed.shapes[gemm, :6], [4 / 256, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(fixed.attributes, legacy.attributes)


def test_unknown_op_maps_to_oov_and_constants_are_dropped():
    helper = onnx.helper
    tensor = onnx.TensorProto.FLOAT
    nodes = [
        helper.make_node("Constant", [], ["k"], value=helper.make_tensor("v", tensor, [], [2.0])),
        helper.make_node("Mul", ["x", "k"], ["y"], name="scale"),
        helper.make_node("Identity", ["w"], ["w2"]),  # constant subgraph: dropped
        helper.make_node("MyCustomOp", ["y", "w2"], ["z"], name="custom", domain="my.ops"),
        helper.make_node("Relu", ["z"], ["out"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", tensor, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("out", tensor, [1, 4, 8, 8])],
        initializer=[helper.make_tensor("w", tensor, [1], [1.0])],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("my.ops", 1)]
    g = onnx_to_ir(helper.make_model(graph, opset_imports=opsets))
    assert g.op_types == (INPUT_DUMMY, "Mul", "MyCustomOp", "Relu", OUTPUT_DUMMY)
    assert g.op_index.tolist() == [1, op_index("Mul"), 0, 21, 2]
    assert g.names[1:4] == ("scale", "custom", "Relu_3")
    assert g.edge_index.tolist() == [[0, 1, 2, 3], [1, 2, 3, 4]]
    np.testing.assert_allclose(g.shapes[1, :6], [4 / 256, 8 / 128, 8 / 128, 0, 0, 0])


def test_unsorted_graph_is_an_encoding_error():
    helper = onnx.helper
    tensor = onnx.TensorProto.FLOAT
    graph = helper.make_graph(
        [helper.make_node("Relu", ["h"], ["out"]), helper.make_node("Relu", ["x"], ["h"])],
        "g",
        [helper.make_tensor_value_info("x", tensor, [1, 2])],
        [helper.make_tensor_value_info("out", tensor, [1, 2])],
    )
    with pytest.raises(EncodingError, match="topologically sorted"):
        onnx_to_ir(helper.make_model(graph))


def test_nasbench_macro_network_converts(macro_graph: IRGraph):
    g = macro_graph
    counts = g.op_counts()
    assert counts[INPUT_DUMMY] == counts[OUTPUT_DUMMY] == 1
    assert g.op_types[0] == INPUT_DUMMY
    assert g.op_types[-1] == OUTPUT_DUMMY
    assert (g.num_nodes, g.num_edges) == (48, 51)
    assert counts["Conv"] == 23
    assert counts["Add"] == 4
    assert "BatchNormalization" not in counts
    # Every node lies on a path from input_dummy to output_dummy.
    assert _reachable(g, 0) == set(range(g.num_nodes))
    assert _reachable(g, g.num_nodes - 1, forward=False) == set(range(g.num_nodes))
    assert all(len(_in_edges(g, i)) == 2 for i, t in enumerate(g.op_types) if t == "Add")


def test_module_to_ir_equals_export_then_convert(tmp_path: Path):
    net = Residual()
    x = torch.zeros(1, 8, 8, 8)
    path = tmp_path / "sub" / "res.onnx"
    proto = export_onnx(net, x, path, opset=17)
    assert path.is_file()
    assert [p.name for p in tmp_path.joinpath("sub").iterdir()] == ["res.onnx"]
    assert proto.opset_import[0].version == 17
    assert len(proto.graph.initializer) > 0  # weights are exported
    assert onnx_to_ir(path) == onnx_to_ir(proto) == module_to_ir(net, x)


def test_unused_input_and_training_mode_restored():
    class TwoInputs(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.bn = nn.BatchNorm2d(4)

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return self.bn(self.conv(y))  # x unused: the exporter drops it

    net = TwoInputs().train()
    net.bn.eval()  # mixed modes must come back as they were
    g = module_to_ir(net, (torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8)))
    assert g.op_types == (INPUT_DUMMY, "Conv", OUTPUT_DUMMY)
    assert g.edge_index.tolist() == [[0, 1], [1, 2]]
    assert net.training
    assert net.conv.training
    assert not net.bn.training


# ---------------------------------------------------------------------- IRGraph
def test_dict_round_trip(convnet_graph: IRGraph):
    data = json.loads(json.dumps(convnet_graph.to_dict()))
    back = IRGraph.from_dict(data)
    assert back == convnet_graph
    assert back.shapes.dtype == np.float32
    assert back.edge_index.dtype == np.int64
    assert not back.shapes.flags.writeable
    with pytest.raises(EncodingError, match="missing field"):
        IRGraph.from_dict({k: v for k, v in data.items() if k != "shapes"})
    with pytest.raises(EncodingError, match="version"):
        IRGraph.from_dict({**data, "version": 99})


def test_validate_catches_bad_fields(convnet_graph: IRGraph):
    g = convnet_graph
    assert g.validate() is g
    bad_edges = np.array([[0, 1], [1, 99]])
    fields = {"op_types": g.op_types, "op_index": g.op_index, "shapes": g.shapes}
    fields.update(attributes=g.attributes, names=g.names)
    with pytest.raises(EncodingError, match=r"edge_index column 1 is \[1, 99\].*\[0, 7\)"):
        IRGraph(**fields, edge_index=bad_edges).validate()
    with pytest.raises(EncodingError, match=r"shapes must have shape \(7, 12\)"):
        IRGraph(**{**fields, "shapes": g.shapes[:, :6]}, edge_index=g.edge_index).validate()
    wrong_idx = g.op_index.copy()
    wrong_idx[1] = 5
    with pytest.raises(EncodingError, match=r"op_index\[1\] is 5 for op type 'Conv'"):
        IRGraph(**{**fields, "op_index": wrong_idx}, edge_index=g.edge_index).validate()
    oov = g.op_index.copy()
    oov[1] = 0  # unknown when built: allowed (the vocabulary only grows)
    IRGraph(**{**fields, "op_index": oov}, edge_index=g.edge_index).validate()


# ---------------------------------------------------------------------- errors
def test_failing_forward_is_an_encoding_error_naming_the_model():
    with pytest.raises(EncodingError, match=r"Could not export Broken to ONNX.*tensor\[1, 3, 32"):
        module_to_ir(Broken(), X32)


def test_bad_arguments_are_config_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"torch\.nn\.Module"):
        module_to_ir("resnet", X32)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="example_input"):
        module_to_ir(ConvNet(), [])
    with pytest.raises(ConfigError, match=r"opset.*\[9, 20\].*got 42"):
        export_onnx(ConvNet(), X32, opset=42)
    with pytest.raises(ConfigError, match="legacy_shapes"):
        module_to_ir(ConvNet(), X32, legacy_shapes="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="does not exist"):
        onnx_to_ir(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a protobuf \xff\xff")
    with pytest.raises(EncodingError, match="not a readable ONNX model"):
        onnx_to_ir(tmp_path / "junk.onnx")


def test_missing_onnx_package_has_install_hint(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` raise ImportError
    with pytest.raises(EncodingError, match=r"pip install 'autobuild\[ir\]'"):
        module_to_ir(ConvNet(), X32)


def test_onnx_is_imported_lazily():
    # `import autobuild` must not need onnx: no module-level onnx import in autobuild.ir.
    for path in Path(ir.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for stmt in tree.body:
            names = []
            if isinstance(stmt, ast.Import):
                names = [alias.name for alias in stmt.names]
            elif isinstance(stmt, ast.ImportFrom):
                names = [stmt.module or ""]
            assert not any(n.split(".")[0] == "onnx" for n in names), (path.name, names)
