"""Compare the Pareto fronts of searches (``autobuild fronts``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from autobuild.cli._args import float_list
from autobuild.cli._output import print_table
from autobuild.cli.commands.base import Command
from autobuild.exceptions import CLIUsageError

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
        import numpy as np

        from autobuild.search import hypervolume, pareto_indices, read_search_outputs

        names = [d.name or str(d) for d in args.dirs]
        if args.names is not None:
            names = [n.strip() for n in args.names.split(",")]
            if len(names) != len(args.dirs):
                raise CLIUsageError(
                    f"--names has {len(names)} names for {len(args.dirs)} folders."
                )
        if len(set(names)) != len(names):
            raise CLIUsageError(f"Legend names must differ, got {names}; use --names.")
        runs = [read_search_outputs(d) for d in args.dirs]
        objectives = runs[0][0]
        for d, (objs, _) in zip(args.dirs, runs, strict=True):
            if objs != objectives:
                raise CLIUsageError(
                    f"{d} optimised {objs}, {args.dirs[0]} optimised {objectives}: only "
                    "searches of the same objectives compare."
                )
        directions = [dr for _, dr in objectives]
        every = np.concatenate([v for _, v in runs])
        if not len(every):
            raise CLIUsageError("None of the searches has an ok evaluation.")
        if args.ref is not None:
            if len(args.ref) != len(objectives):
                raise CLIUsageError(
                    f"--ref needs {len(objectives)} values (one per objective), got {args.ref}."
                )
            ref = list(args.ref)
        else:
            ref = [
                float(every[:, j].min() if dr == "max" else every[:, j].max())
                for j, dr in enumerate(directions)
            ]
        rows = []
        for name, (_, values) in zip(names, runs, strict=True):
            hv = hypervolume(values, directions, ref) if len(values) else 0.0
            front = len(pareto_indices(values, directions)) if len(values) else 0
            rows.append([name, str(len(values)), str(front), f"{hv:.6g}"])
        print_table(["search", "ok evaluations", "front", "hypervolume"], rows)
        print(
            "reference point: "
            + ", ".join(f"{n}={v:.6g}" for (n, _), v in zip(objectives, ref, strict=True))
        )
        if args.out is not None:
            if len(objectives) != 2:
                raise CLIUsageError(
                    f"--out plots two objectives; these searches have {len(objectives)}."
                )
            try:
                from autobuild.reports import plot_fronts

                plot_fronts(
                    args.out,
                    {n: (v, directions) for n, (_, v) in zip(names, runs, strict=True)},
                    objectives,
                    title="Pareto fronts",
                )
            except ImportError as err:
                raise CLIUsageError(
                    "--out needs matplotlib: pip install 'autobuild[plot]'."
                ) from err
            print(f"fronts plotted in {args.out}")
        return 0
