"""Predict with a checkpoint (``autobuild predict``)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from autobuild.cli._loading import load_scorer
from autobuild.cli.commands.base import Command
from autobuild.exceptions import CLIUsageError

__all__ = ["PredictCommand"]

logger = logging.getLogger("autobuild.cli")


class PredictCommand(Command):
    name = "predict"
    help = (
        "Predict the target and the per-hop embedding norms of architectures (an ensemble: "
        "its weighted prediction and spread)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "checkpoint",
            type=Path,
            help="Checkpoint folder from 'train', or an ensemble folder from 'ensemble'.",
        )
        parser.add_argument(
            "--data",
            type=Path,
            help="File with an 'arch' column (optional for nasbench-macro checkpoints).",
        )
        parser.add_argument("--out", type=Path, required=True, help="Output CSV file.")

    def run(self, args: argparse.Namespace) -> int:
        from autobuild._atomic import write_csv_atomic
        from autobuild.data import load_nasbench_macro, read_architectures

        scorer = load_scorer(args.checkpoint)
        space = scorer.space
        if args.data is not None:
            archs = read_architectures(args.data, space)
        elif space.name == "nasbench-macro" and space.native is not None:
            archs = list(load_nasbench_macro().archs)
        else:
            raise CLIUsageError(f"--data is required for a checkpoint of space {space.name!r}.")
        prediction = scorer.predict(archs)
        # One predictor: its hop norms; an ensemble: the spread of its members' predictions.
        if prediction.hop_norms is not None:
            extra = [f"hop{i}" for i in range(prediction.hop_norms.shape[1])]
            columns = prediction.hop_norms
        else:
            extra = ["spread"]
            columns = prediction.spread[:, None]
        write_csv_atomic(
            args.out,
            ["arch_id", "prediction", *extra],
            (
                [space.arch_id(a), float(p), *map(float, c)]
                for a, p, c in zip(archs, prediction.value, columns, strict=True)
            ),
        )
        logger.info("Wrote %d predictions to %s", len(archs), args.out)
        return 0
