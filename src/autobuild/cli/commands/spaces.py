"""List the built-in search spaces (``autobuild spaces``)."""

from __future__ import annotations

import argparse

from autobuild.cli._output import big_number, print_table
from autobuild.cli.commands.base import Command

__all__ = ["SpacesCommand"]


class SpacesCommand(Command):
    name = "spaces"
    help = "List the built-in search spaces (or describe a TOML space) with subgraph counts."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "space", nargs="?", help="A built-in space name or a .toml file to describe."
        )

    def run(self, args: argparse.Namespace) -> int:
        from autobuild import spaces

        names = [args.space] if args.space else spaces.list_spaces()
        rows = []
        for name in names:
            space = spaces.get(name)
            per_unit = [space.count_subgraphs(u) for u in range(space.num_units)]
            rows.append(
                [
                    space.name,
                    " ".join(f"{s.min_layers}-{s.max_layers}" for s in space.stages),
                    ", ".join(space.layer_feature_names),
                    " / ".join(f"{n:,}" for n in per_unit),
                    f"{sum(per_unit):,}",
                    big_number(space.size()),
                ]
            )
        print_table(
            [
                "space",
                "layers per stage",
                "layer features",
                "subgraphs per unit",
                "subgraphs",
                "architectures",
            ],
            rows,
        )
        return 0
