"""CLI: train --format ir, score on an IR checkpoint, export-onnx."""

from __future__ import annotations

import json

import pytest
from tests.conftest import read_rows

pytest.importorskip("onnx")

import autobuild as ab
from autobuild.cli.main import main
from autobuild.ir import IRGraph


@pytest.fixture
def nb_csv(tmp_path):
    """30 NAS-Bench-Macro architectures with a synthetic label (no shared data needed)."""
    space = ab.spaces.get("nasbench-macro")
    lines = ["arch,acc"]
    for a in space.sample(30, seed=1):
        wide = sum(layer[0] == "mb6_k5" for st in a.stages for layer in st)
        lines.append(f"{space.arch_id(a)},{90 + wide + 0.1 * a.num_layers}")
    path = tmp_path / "nb.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_train_ir_then_score_writes_op_importance(tmp_path, nb_csv, capsys):
    ck = tmp_path / "ck"
    argv = ["train", "--space", "nasbench-macro", "--data", str(nb_csv), "--target", "acc"]
    assert main([*argv, "--format", "ir", "--epochs", "3", "--out", str(ck)]) == 0
    meta = json.loads((ck / "predictor.json").read_text())
    assert meta["config"]["graph_format"] == "ir"
    assert meta["encoder"]["format"] == "ir"

    out = tmp_path / "scores"
    assert main(["score", str(ck), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "op-type importance" in text
    rows = read_rows(out / "value_importance.csv")
    assert {r["category"] for r in rows} == {"op"}
    assert {"Conv", "Relu", "Gemm"} <= {r["value"] for r in rows}
    assert (out / "op_importance.png").stat().st_size > 0
    assert not (out / "subgraph_scores.csv").exists()

    # build needs module scores, which IR checkpoints do not have: a clear error.
    assert main(["build", str(ck), "--out", str(tmp_path / "b")]) == 1
    assert "sequence graphs" in capsys.readouterr().err


def test_export_onnx_writes_model_and_ir_graph(tmp_path, capsys):
    import onnx

    out, ir_json = tmp_path / "net.onnx", tmp_path / "net.json"
    argv = ["export-onnx", "--space", "nasbench-macro", "--arch", "22212220"]
    code = main([*argv, "--out", str(out), "--ir", str(ir_json)])
    assert code == 0
    model = onnx.load(str(out))
    assert any(n.op_type == "Conv" for n in model.graph.node)
    payload = json.loads(ir_json.read_text())
    assert payload["arch"] == ab.spaces.get("nasbench-macro").canonical_id(
        ab.spaces.get("nasbench-macro").parse("22212220")
    )
    graph = IRGraph.from_dict({k: v for k, v in payload.items() if k != "arch"})
    assert graph.op_counts()["Conv"] == 23
    assert "48 IR nodes" in capsys.readouterr().out


def test_export_onnx_bad_input(tmp_path, capsys):
    base = ["export-onnx", "--space", "nasbench-macro", "--out", str(tmp_path / "n.onnx")]
    assert main([*base, "--arch", "9999"]) == 1
    assert "9999" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([*base, "--arch", "22212220", "--input-shape", "3,x,32"])
    assert exc.value.code == 2
    assert "3,x,32" in capsys.readouterr().err
    assert not (tmp_path / "n.onnx").exists()
