"""Measure params, FLOPs or latency of architectures (``autobuild measure``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from autobuild.cli._args import add_space, positive_int
from autobuild.cli.commands.base import Command

__all__ = ["MeasureCommand"]


class MeasureCommand(Command):
    name = "measure"
    help = "Measure params, FLOPs or CPU latency of architectures (resumable)."

    METRICS = ("params", "flops", "latency-cpu", "latency-cuda")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_space(parser)
        parser.add_argument(
            "--archs", type=Path, required=True, help="File with an 'arch' column."
        )
        parser.add_argument("--metric", choices=self.METRICS, required=True)
        parser.add_argument(
            "--threads", type=positive_int, default=1, help="CPU threads for latency (1)."
        )
        parser.add_argument(
            "--repeats", type=positive_int, default=50, help="Timed runs for latency (50)."
        )
        parser.add_argument(
            "--out",
            type=Path,
            required=True,
            help="Output CSV; re-running skips architectures it already holds.",
        )

    def run(self, args: argparse.Namespace) -> int:
        from autobuild import spaces
        from autobuild.data import read_architectures
        from autobuild.evaluation import CostEvaluator, LatencyEvaluator, measure_to_csv

        space = spaces.get(args.space)
        archs = read_architectures(args.archs, space)
        if args.metric in ("params", "flops"):
            evaluator: Any = CostEvaluator(space)
            column = args.metric
        else:
            device = args.metric.split("-")[1]
            evaluator = LatencyEvaluator(
                space, device=device, threads=args.threads, repeats=args.repeats
            )
            column = evaluator.metrics[0].name
        measure_to_csv(space, archs, evaluator, args.out, column, progress=sys.stderr.isatty())
        print(f"{len(archs)} architectures with {column} in {args.out}")
        return 0
