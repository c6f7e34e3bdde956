"""Multi-objective evolutionary search (``autobuild search``)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from autobuild.cli._args import add_executor, add_space, objective_list, positive_int
from autobuild.cli._loading import given_evaluators, load_labelled
from autobuild.cli._output import print_table
from autobuild.cli.commands.base import Command
from autobuild.exceptions import CLIUsageError

__all__ = ["SearchCommand"]

logger = logging.getLogger("autobuild.cli")


class SearchCommand(Command):
    name = "search"
    help = (
        "Multi-objective evolutionary search (NSGA-II): AutoBuild-NAS in a reduced space, or "
        "a baseline in the whole space; resumable with --storage."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from autobuild.search import METHODS

        add_space(parser)
        parser.add_argument("--method", choices=list(METHODS), required=True)
        parser.add_argument(
            "--objectives",
            type=objective_list,
            required=True,
            help="Metrics and directions, e.g. mean_acc:max,flops:min.",
        )
        parser.add_argument(
            "--data",
            type=Path,
            help="Table of evaluated architectures: the search looks its metrics up in it, and "
            "autobuild-nas draws its --labels from it (default for nasbench-macro: the "
            "benchmark table).",
        )
        parser.add_argument(
            "--constraint",
            action="append",
            metavar="METRIC<=BOUND",
            help="A bound on a metric, e.g. latency_cpu_ms<=5 or mean_acc>=92 (repeatable); "
            "architectures breaking it are evaluated but kept off the front.",
        )
        parser.add_argument(
            "--evaluator",
            metavar="MODULE:NAME",
            help="Your evaluator: NAME in the importable MODULE, a BaseEvaluator subclass (or "
            "factory) called with the space; it gives the objectives it names, before the "
            "table and the measured metrics.",
        )
        parser.add_argument(
            "--predictor",
            type=Path,
            action="append",
            metavar="CKPT",
            help="A trained predictor checkpoint (`autobuild train --out`) or ensemble folder "
            "(`autobuild ensemble --out`) as the evaluator of its target, e.g. a latency "
            "surrogate trained with --target latency --direction min (repeatable).",
        )
        parser.add_argument(
            "--cache",
            type=Path,
            help="SQLite file caching measured latency (latency_cpu_ms, latency_cuda_ms) and, "
            "when given, --evaluator's metrics, so each architecture is measured once; share "
            "it between runs on one machine (default: OUT/measured.sqlite, latency only).",
        )
        parser.add_argument(
            "--threads", type=positive_int, default=1, help="CPU threads for latency (1)."
        )
        parser.add_argument(
            "--repeats", type=positive_int, default=50, help="Timed runs for latency (50)."
        )
        parser.add_argument(
            "--budget", type=positive_int, default=250, help="Unique evaluations (250)."
        )
        parser.add_argument(
            "--initial", type=positive_int, default=50, help="Initial population (50)."
        )
        parser.add_argument(
            "--batch", type=positive_int, default=50, help="New evaluations per generation."
        )
        parser.add_argument("--seed", type=int, default=0, help="Random seed (default: 0).")
        parser.add_argument(
            "--labels",
            type=positive_int,
            help="autobuild-nas: labelled architectures its predictors train on (300); they "
            "do not count towards the budget.",
        )
        parser.add_argument(
            "--equations",
            help="autobuild-nas: target equations separated by ';', or 'auto' (4 weighted "
            "sums of the two standardised objectives, default).",
        )
        parser.add_argument(
            "--k",
            type=positive_int,
            help="autobuild-nas: top-K subgraphs per stage and equation (default: 2; the "
            "paper uses 25 on the much larger OFA stages).",
        )
        parser.add_argument(
            "--insight",
            type=Path,
            help="layer-insight: JSON file of per-stage restrictions, e.g. "
            '{"s1": {"max_layers": 2, "layer": {"op": ["mb6_k5"]}}}.',
        )
        parser.add_argument(
            "--storage", help="Run store URL, e.g. sqlite:///runs.db (resumable with --name)."
        )
        parser.add_argument("--name", help="Search name in the run store.")
        add_executor(
            parser,
            default="serial",
            help="Where evaluations run: this process (default), local worker processes "
            "(--jobs), or Ray.",
        )
        parser.add_argument("--jobs", type=positive_int, help="Worker processes.")
        parser.add_argument("--ray-address", help="Address of a running Ray cluster.")
        parser.add_argument("--no-plot", action="store_true", help="Do not draw OUT/front.png.")
        parser.add_argument("--out", type=Path, required=True, help="Output folder.")

    def run(self, args: argparse.Namespace) -> int:
        import json

        from autobuild import spaces
        from autobuild.exceptions import ConfigError
        from autobuild.nas import run_nas
        from autobuild.search import (
            RunStore,
            SearchConfig,
            search_evaluator,
            write_search_outputs,
        )

        if (args.budget - args.initial) % args.batch or args.budget < args.initial:
            raise CLIUsageError(
                f"--budget {args.budget} must be --initial {args.initial} plus a whole number "
                f"of --batch {args.batch} generations, e.g. {args.initial + 4 * args.batch}."
            )
        if args.method != "autobuild-nas":
            flags = {"--labels": args.labels, "--k": args.k, "--equations": args.equations}
            misplaced = [flag for flag, value in flags.items() if value is not None]
            if misplaced:
                raise CLIUsageError(
                    f"{', '.join(misplaced)} only apply to --method autobuild-nas, not "
                    f"{args.method}: drop them or choose --method autobuild-nas."
                )
        if args.storage is not None and not args.name:
            raise CLIUsageError("--storage needs --name (the search to create or resume).")
        # The table answers the objectives it holds; the search needs no target ("-").
        space = spaces.get(args.space)
        data = None
        if args.data is not None or space.name == "nasbench-macro":
            data, _ = load_labelled(args.space, args.data, "-", False)
            space = data.space
        config = SearchConfig(
            tuple(args.objectives),
            initial=args.initial,
            iterations=(args.budget - args.initial) // args.batch,
            batch=args.batch,
            seed=args.seed,
            constraints=_constraints(args.constraint or []),
        )
        cache = args.cache if args.cache is not None else args.out / "measured.sqlite"
        try:
            evaluator = search_evaluator(
                space,
                config.metrics,
                evaluators=given_evaluators(args, space, config.metrics),
                data=data,
                cache=cache,
                threads=args.threads,
                repeats=args.repeats,
            )
        except ConfigError as err:
            raise CLIUsageError(str(err)) from err
        if args.method == "autobuild-nas" and data is None:
            raise CLIUsageError(
                "autobuild-nas trains its predictors on labelled architectures: give "
                "--data (a table with the first objective, "
                f"{args.objectives[0][0]!r}) to draw --labels {args.labels or 300} from."
            )
        insight = None
        if args.insight is not None:
            try:
                insight = json.loads(args.insight.read_text())
            except (OSError, json.JSONDecodeError) as err:
                raise CLIUsageError(f"Cannot read --insight {args.insight}: {err}.") from err
        equations = None
        if args.equations not in (None, "auto"):
            equations = [e.strip() for e in args.equations.split(";") if e.strip()]
        store = None if args.storage is None else RunStore.from_url(args.storage)
        try:
            result = run_nas(
                space,
                args.method,
                evaluator,
                config,
                data=data if args.method == "autobuild-nas" else None,
                labels=args.labels,
                k=args.k,
                equations=equations,
                insight=insight,
                executor=args.executor,
                n_jobs=args.jobs,
                ray_address=args.ray_address,
                store=store,
                name=args.name,
                progress=sys.stderr.isatty(),
            )
        finally:
            if store is not None:
                store.close()
        paths = write_search_outputs(args.out, space, result)
        names = [m for m, _ in config.objectives]
        if not args.no_plot and len(names) == 2:
            try:
                paths["plot"] = _plot_search_front(args, result)
            except ImportError:
                logger.warning(
                    "matplotlib is not installed; skipping front.png "
                    "(pip install 'autobuild[plot]')"
                )
        front = result.pareto_indices
        print_table(
            ["arch_id", *names],
            [
                [space.arch_id(result.archs[i])] + [f"{result.metrics[i][m]:.5g}" for m in names]
                for i in front[:15]
            ],
        )
        failed = sum(st != "ok" for st in result.status)
        infeasible = sum(not f for f in result.feasible) - failed
        broken = f", {infeasible} infeasible" if config.constraints else ""
        print(
            f"{args.method}: {len(result.archs)} unique evaluations ({result.n_evaluated} new, "
            f"{result.n_reused} from the run store, {failed} failed{broken}); {len(front)} on "
            f"the Pareto front; {', '.join(p.name for p in paths.values())} in {args.out}"
        )
        return 0


def _constraints(texts: list[str]) -> tuple[Any, ...]:
    from autobuild.exceptions import ConfigError
    from autobuild.search import Constraint

    try:
        return tuple(Constraint.parse(t) for t in texts)
    except ConfigError as err:
        raise CLIUsageError(f"--constraint: {err}") from err


def _plot_search_front(args: argparse.Namespace, result: Any) -> Path:
    from autobuild.reports import plot_fronts

    return plot_fronts(
        args.out / "front.png",
        {args.method: (result.objective_matrix(), [d for _, d in result.objectives])},
        list(result.objectives),
        title=f"{args.method} on {args.space}: {len(result.archs)} evaluations",
    )
