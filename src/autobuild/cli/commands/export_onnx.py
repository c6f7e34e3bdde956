"""Export an architecture's network to ONNX (``autobuild export-onnx``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from autobuild.cli._args import add_space, tensor_shape
from autobuild.cli._output import print_table
from autobuild.cli.commands.base import Command
from autobuild.exceptions import CLIUsageError

__all__ = ["ExportOnnxCommand"]


class ExportOnnxCommand(Command):
    name = "export-onnx"
    help = "Export the network of an architecture to ONNX, and optionally its IR graph (JSON)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_space(parser)
        parser.add_argument(
            "--arch",
            required=True,
            help="The architecture: its id or JSON form (e.g. 22212220 for nasbench-macro).",
        )
        parser.add_argument(
            "--input-shape",
            type=tensor_shape,
            help="Shape of one input sample, C,H,W (default: the network's own).",
        )
        parser.add_argument("--out", type=Path, required=True, help="Output .onnx file.")
        parser.add_argument(
            "--ir", type=Path, help="Also write the op-level IR graph to this JSON file."
        )

    def run(self, args: argparse.Namespace) -> int:
        import torch

        from autobuild import spaces
        from autobuild._atomic import write_json_atomic
        from autobuild.ir import export_onnx, onnx_to_ir
        from autobuild.networks import build_model

        space = spaces.get(args.space)
        arch = space.parse(args.arch)
        model = build_model(space, arch)
        shape = args.input_shape or getattr(model, "input_shape", None)
        if shape is None:
            raise CLIUsageError(
                f"The networks of space {space.name!r} declare no input shape; pass "
                "--input-shape C,H,W."
            )
        proto = export_onnx(model, torch.zeros((1, *shape)), args.out)
        graph = onnx_to_ir(proto)
        if args.ir is not None:
            write_json_atomic(args.ir, {"arch": space.canonical_id(arch), **graph.to_dict()})
        counts = sorted(graph.op_counts().items(), key=lambda kv: (-kv[1], kv[0]))
        print_table(["op", "nodes"], [[op, str(n)] for op, n in counts])
        print(
            f"{space.arch_id(arch)}: {graph.num_nodes} IR nodes, {graph.num_edges} edges; "
            f"ONNX model in {args.out}" + (f", IR graph in {args.ir}" if args.ir else "")
        )
        return 0
