"""The NAS-Bench-Macro demo (``autobuild demo``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autobuild.cli._args import positive_int
from autobuild.cli._output import print_table
from autobuild.cli.commands.base import Command

__all__ = ["DemoCommand"]


class DemoCommand(Command):
    name = "demo"
    help = (
        "On NAS-Bench-Macro: train on a few labelled architectures, build architectures, "
        "and compare them with the truth (writes a report folder)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--n-labeled",
            type=positive_int,
            default=100,
            help="Labelled architectures (default: 100).",
        )
        parser.add_argument(
            "--k",
            type=positive_int,
            default=3,
            help="Subgraphs kept per unit (a stage, or the stages a space scores together) "
            "for the reduced space (default: 3).",
        )
        parser.add_argument("--seed", type=int, default=0, help="Random seed (default: 0).")
        parser.add_argument(
            "--out", type=Path, default=Path("demo-out"), help="Report folder (default: demo-out)."
        )

    def run(self, args: argparse.Namespace) -> int:
        from autobuild.demo import run_demo

        result = run_demo(
            n_labeled=args.n_labeled,
            k=args.k,
            seed=args.seed,
            out=args.out,
            progress=sys.stderr.isatty(),
        )
        s = result.summary
        print(
            f"AutoBuild on NAS-Bench-Macro, {args.n_labeled} labelled architectures "
            f"(seed {args.seed}); true accuracy and rank among all 6,561:"
        )
        print_table(
            ["", "architecture", "accuracy %", "rank", "evaluations"],
            [
                [
                    r["what"],
                    r["arch"],
                    f"{r['accuracy']:.2f}",
                    f"{r['rank']:g}",
                    str(r["evaluations"]),
                ]
                for r in result.rows
            ],
        )
        hops = " ".join(f"{v:.3f}" for v in s["heldout_hop_srcc"])
        print(
            f"Predictor on the unlabelled architectures: Spearman {s['heldout_srcc']:.3f}; "
            f"hop 0..M: {hops}"
        )
        print(
            f"Report: {args.out / 'report.md'} and {args.out / 'report.html'} "
            f"({s['seconds']:.0f} s)"
        )
        return 0
