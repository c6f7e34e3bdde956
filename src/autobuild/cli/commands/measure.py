"""Measure params, FLOPs or latency of architectures (``autobuild measure``)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from autobuild._progress import progress_bar
from autobuild.cli._args import add_space, positive_int
from autobuild.cli.commands.base import Command

__all__ = ["MeasureCommand"]

logger = logging.getLogger("autobuild.cli")


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
        import csv
        import json

        from autobuild import spaces
        from autobuild._atomic import write_csv_atomic
        from autobuild.data import read_architectures
        from autobuild.evaluation import CostEvaluator, LatencyEvaluator

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
        done: dict[str, str] = {}
        if args.out.exists():
            with args.out.open(newline="") as fh:
                for row in csv.DictReader(fh):
                    if row.get(column):
                        done[row["arch_id"]] = row[column]
        ids = [space.arch_id(a) for a in archs]
        todo = [a for a, i in zip(archs, ids, strict=True) if i not in done]
        logger.info("%d of %d architectures to measure", len(dict.fromkeys(todo)), len(archs))

        def write() -> None:
            write_csv_atomic(
                args.out,
                ["arch_id", "arch", column],
                (
                    [i, json.dumps(space.to_json(a)), done.get(i, "")]
                    for a, i in zip(archs, ids, strict=True)
                ),
            )

        bar = progress_bar(len(todo), sys.stderr.isatty(), desc=column, unit="arch")
        for lo in range(0, len(todo), 16):
            chunk = list(dict.fromkeys(todo[lo : lo + 16]))
            for arch, rec in zip(chunk, evaluator.evaluate(chunk), strict=True):
                value = float(rec[column])
                done[space.arch_id(arch)] = str(int(value)) if value.is_integer() else repr(value)
            write()  # every chunk lands on disk: a killed run resumes from here
            if bar is not None:
                bar.update(len(todo[lo : lo + 16]))
        if bar is not None:
            bar.close()
        write()
        print(f"{len(archs)} architectures with {column} in {args.out}")
        return 0
