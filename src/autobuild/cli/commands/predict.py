"""Predict with a checkpoint (``autobuild predict``)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from autobuild.cli.commands.base import Command
from autobuild.exceptions import CLIUsageError

__all__ = ["PredictCommand"]

logger = logging.getLogger("autobuild.cli")


class PredictCommand(Command):
    name = "predict"
    help = "Predict the target and the per-hop embedding norms of architectures."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("checkpoint", type=Path, help="Checkpoint folder from 'train'.")
        parser.add_argument(
            "--data",
            type=Path,
            help="File with an 'arch' column (optional for nasbench-macro checkpoints).",
        )
        parser.add_argument("--out", type=Path, required=True, help="Output CSV file.")

    def run(self, args: argparse.Namespace) -> int:
        from autobuild._atomic import write_csv_atomic
        from autobuild.data import load_nasbench_macro, read_architectures
        from autobuild.predictor import AutoBuildPredictor

        pred = AutoBuildPredictor.load(args.checkpoint)
        space = pred.space
        if args.data is not None:
            archs = read_architectures(args.data, space)
        elif space.name == "nasbench-macro" and space.native is not None:
            archs = list(load_nasbench_macro().archs)
        else:
            raise CLIUsageError(f"--data is required for a checkpoint of space {space.name!r}.")
        values = pred.predict(archs)
        norms = pred.hop_norms(archs)
        header = ["arch_id", "prediction"] + [f"hop{i}" for i in range(norms.shape[1])]
        write_csv_atomic(
            args.out,
            header,
            (
                [space.arch_id(a), float(p), *map(float, h)]
                for a, p, h in zip(archs, values, norms, strict=True)
            ),
        )
        logger.info("Wrote %d predictions to %s", len(archs), args.out)
        return 0
