"""The Exhaustive-Search baseline (``autobuild exhaustive``)."""

from __future__ import annotations

import argparse
import sys

from autobuild.cli._args import add_ensemble_options, add_labelled, positive_int
from autobuild.cli._output import print_table
from autobuild.cli.commands.base import Command
from autobuild.cli.commands.ensemble import ensemble_summary, fit_ensemble_from_args

__all__ = ["ExhaustiveCommand"]


class ExhaustiveCommand(Command):
    name = "exhaustive"
    help = (
        "Exhaustive-Search baseline: an MSE-only ensemble predicts every architecture of "
        "the space; writes the top N."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_labelled(parser)
        parser.add_argument(
            "--top", type=positive_int, default=4, help="Architectures to keep (default: 4)."
        )
        add_ensemble_options(parser)

    def run(self, args: argparse.Namespace) -> int:
        import json

        from autobuild._atomic import write_csv_atomic
        from autobuild.ensemble import exhaustive_search

        ens = fit_ensemble_from_args(args, corr_lambda=0.0, unit_lambda=0.0)
        ensemble_summary(ens)
        result = exhaustive_search(
            ens.members,
            ens.prediction_weights,
            top=args.top,
            progress=sys.stderr.isatty(),
            direction=ens.direction,
        )
        rows = result.rows(ens.space)
        header = ["rank", "arch_id", "arch", "prediction", "spread"]
        write_csv_atomic(
            args.out / "top.csv",
            header,
            (
                [r["rank"], r["arch_id"], json.dumps(r["arch"]), r["prediction"], r["spread"]]
                for r in rows
            ),
        )
        print_table(
            ["rank", "arch_id", "prediction", "spread"],
            [
                [
                    str(r["rank"]),
                    str(r["arch_id"]),
                    f"{r['prediction']:.4g}",
                    f"{r['spread']:.3g}",
                ]
                for r in rows
            ],
        )
        print(
            f"Scored {result.n_scored:,} architectures in {result.seconds:.1f} s; top "
            f"{len(rows)} in {args.out / 'top.csv'}"
        )
        return 0
