"""Multi-objective evolutionary search (``autobuild search``)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from autobuild.cli._args import add_space, objective_list, positive_int
from autobuild.cli._loading import load_labelled, search_evaluator
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
        from autobuild.search import EVALUATION_EXECUTORS, METHODS

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
            help="A trained predictor checkpoint (`autobuild train --out`) as the evaluator of "
            "its target, e.g. a latency surrogate trained with --target latency --direction "
            "min (repeatable).",
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
            default=300,
            help="autobuild-nas: labelled architectures its predictors train on (300); they "
            "do not count towards the budget.",
        )
        parser.add_argument(
            "--equations",
            default="auto",
            help="autobuild-nas: target equations separated by ';', or 'auto' (4 weighted "
            "sums of the two standardised objectives, default).",
        )
        parser.add_argument(
            "--k",
            type=positive_int,
            default=2,
            help="autobuild-nas: top-K per equation (2, the best of those measured on "
            "NAS-Bench-Macro; the paper uses 25 on the much larger OFA stages).",
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
        parser.add_argument(
            "--executor",
            choices=list(EVALUATION_EXECUTORS),
            default="inprocess",
            help="Where evaluations run (default: in this process).",
        )
        parser.add_argument("--jobs", type=positive_int, help="Worker processes.")
        parser.add_argument("--ray-address", help="Address of a running Ray cluster.")
        parser.add_argument("--no-plot", action="store_true", help="Do not draw OUT/front.png.")
        parser.add_argument("--out", type=Path, required=True, help="Output folder.")

    def run(self, args: argparse.Namespace) -> int:
        import json

        from autobuild import spaces
        from autobuild.search import RunStore, make_evaluate, run_method, write_search_outputs

        if (args.budget - args.initial) % args.batch or args.budget < args.initial:
            raise CLIUsageError(
                f"--budget {args.budget} must be --initial {args.initial} plus a whole number "
                f"of --batch {args.batch} generations, e.g. {args.initial + 4 * args.batch}."
            )
        if args.storage is not None and not args.name:
            raise CLIUsageError("--storage needs --name (the search to create or resume).")
        # The table answers the objectives it holds; the search needs no target ("-").
        space = spaces.get(args.space)
        data = None
        if args.data is not None or space.name == "nasbench-macro":
            data, _ = load_labelled(args.space, args.data, "-", False)
            space = data.space
        directions = dict(args.objectives)
        constraints = _constraints(args.constraint or [])
        metrics = dict(directions)
        for c in constraints:  # a constraint's metric must be evaluated too
            metrics.setdefault(c.metric, "min" if c.op == "<=" else "max")
        evaluator = search_evaluator(args, space, data, metrics)
        candidates = None
        if args.method == "autobuild-nas":
            if data is None:
                raise CLIUsageError(
                    "autobuild-nas trains its predictors on labelled architectures: give "
                    "--data (a table with the first objective, "
                    f"{args.objectives[0][0]!r}) to draw --labels {args.labels} from."
                )
            candidates = _autobuild_candidates(args, data, evaluator)
        insight = None
        if args.insight is not None:
            try:
                insight = json.loads(args.insight.read_text())
            except (OSError, json.JSONDecodeError) as err:
                raise CLIUsageError(f"Cannot read --insight {args.insight}: {err}.") from err
        store = None if args.storage is None else RunStore.from_url(args.storage)
        evaluate = make_evaluate(
            evaluator,
            executor=args.executor,
            n_jobs=args.jobs,
            ray_address=args.ray_address,
        )
        try:
            result = run_method(
                space,
                args.method,
                evaluate,
                list(args.objectives),
                candidates=candidates,
                insight=insight,
                initial=args.initial,
                iterations=(args.budget - args.initial) // args.batch,
                batch=args.batch,
                store=store,
                name=args.name,
                seed=args.seed,
                progress=sys.stderr.isatty(),
                constraints=constraints,
            )
        finally:
            evaluate.close()
            if store is not None:
                store.close()
        paths = write_search_outputs(args.out, space, result)
        if not args.no_plot and len(directions) == 2:
            try:
                paths["plot"] = _plot_search_front(args, result)
            except ImportError:
                logger.warning(
                    "matplotlib is not installed; skipping front.png "
                    "(pip install 'autobuild[plot]')"
                )
        front = result.pareto_indices
        print_table(
            ["arch_id", *directions],
            [
                [space.arch_id(result.archs[i])]
                + [f"{result.metrics[i][m]:.5g}" for m in directions]
                for i in front[:15]
            ],
        )
        failed = sum(st != "ok" for st in result.status)
        infeasible = sum(not f for f in result.feasible) - failed
        broken = f", {infeasible} infeasible" if constraints else ""
        print(
            f"{args.method}: {len(result.archs)} unique evaluations ({result.n_evaluated} new, "
            f"{result.n_reused} from the run store, {failed} failed{broken}); {len(front)} on "
            f"the Pareto front; {', '.join(p.name for p in paths.values())} in {args.out}"
        )
        return 0


def _constraints(texts: list[str]) -> list[Any]:
    from autobuild.exceptions import ConfigError
    from autobuild.search import Constraint

    try:
        return [Constraint.parse(t) for t in texts]
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


def _autobuild_candidates(args: argparse.Namespace, data: Any, evaluator: Any) -> Any:
    """AutoBuild-NAS: predictors per target equation on --labels rows, union of top-K."""
    from autobuild.search.equations import autobuild_candidates

    equations = None
    if args.equations != "auto":
        equations = [e.strip() for e in args.equations.split(";") if e.strip()]
    return autobuild_candidates(
        data,
        args.objectives,
        labels=args.labels,
        seed=args.seed,
        k=args.k,
        equations=equations,
        evaluator=evaluator,
    )
