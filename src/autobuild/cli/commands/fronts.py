"""Compare the Pareto fronts of searches (``autobuild fronts``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from autobuild.cli._args import float_list
from autobuild.cli._output import print_table
from autobuild.cli.commands.base import Command
from autobuild.exceptions import CLIUsageError, ConfigError

__all__ = ["FrontsCommand"]


class FrontsCommand(Command):
    name = "fronts"
    help = (
        "Compare searches: their Pareto fronts in one plot and the hypervolume of each, with "
        "one reference point."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "dirs", type=Path, nargs="+", help="Output folders of `autobuild search`."
        )
        parser.add_argument(
            "--names", help="Comma-separated legend names (default: the folder names)."
        )
        parser.add_argument(
            "--ref",
            type=float_list,
            help="Hypervolume reference point, one value per objective (default: the worst "
            "value of each objective over all the searches).",
        )
        parser.add_argument("--out", type=Path, help="PNG file of the fronts (two objectives).")

    def run(self, args: argparse.Namespace) -> int:
        from autobuild.search.compare import compare_fronts

        names = None
        if args.names is not None:
            names = [n.strip() for n in args.names.split(",")]
            if len(names) != len(args.dirs):
                raise CLIUsageError(
                    f"--names has {len(names)} names for {len(args.dirs)} folders."
                )
        try:
            comparison = compare_fronts(args.dirs, names=names)
            if args.ref is not None:
                if len(args.ref) != len(comparison.objectives):
                    raise CLIUsageError(
                        f"--ref needs {len(comparison.objectives)} values (one per objective), "
                        f"got {args.ref}."
                    )
                comparison = comparison.with_ref_point(args.ref)
        except ConfigError as err:  # folders that do not compare: a usage error (status 2)
            raise CLIUsageError(str(err)) from err
        rows = [
            [r.name, str(len(r.values)), str(r.front_size), f"{r.hypervolume:.6g}"]
            for r in comparison.runs
        ]
        print_table(["search", "ok evaluations", "front", "hypervolume"], rows)
        print(
            "reference point: "
            + ", ".join(
                f"{n}={v:.6g}"
                for (n, _), v in zip(comparison.objectives, comparison.ref_point, strict=True)
            )
        )
        if args.out is not None:
            if len(comparison.objectives) != 2:
                raise CLIUsageError(
                    f"--out plots two objectives; these searches have "
                    f"{len(comparison.objectives)}."
                )
            try:
                from autobuild.reports import plot_fronts

                plot_fronts(
                    args.out,
                    {r.name: (r.values, comparison.directions) for r in comparison.runs},
                    list(comparison.objectives),
                    title="Pareto fronts",
                )
            except ImportError as err:
                raise CLIUsageError(
                    "--out needs matplotlib: pip install 'autobuild[plot]'."
                ) from err
            print(f"fronts plotted in {args.out}")
        return 0
