"""Sample architectures of a space (``autobuild sample``)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from autobuild.cli._args import add_space, positive_int
from autobuild.cli.commands.base import Command

__all__ = ["SampleCommand"]

logger = logging.getLogger("autobuild.cli")


class SampleCommand(Command):
    name = "sample"
    help = "Write N distinct, uniformly sampled architectures of a space to a CSV file."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_space(parser)
        parser.add_argument("--n", type=positive_int, required=True, help="How many.")
        parser.add_argument("--seed", type=int, default=0, help="Random seed (default: 0).")
        parser.add_argument("--out", type=Path, required=True, help="Output CSV file.")

    def run(self, args: argparse.Namespace) -> int:
        import json

        from autobuild import spaces
        from autobuild._atomic import write_csv_atomic

        space = spaces.get(args.space)
        archs = space.sample(args.n, seed=args.seed)
        write_csv_atomic(
            args.out,
            ["arch_id", "arch"],
            ([space.arch_id(a), json.dumps(space.to_json(a))] for a in archs),
        )
        logger.info("Wrote %d architectures of %s to %s", len(archs), space.name, args.out)
        return 0
