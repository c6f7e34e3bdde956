"""Ask/tell studies from the shell (``autobuild study create|ask|tell|status|best``)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autobuild.cli._args import add_space, objective_list, positive_int
from autobuild.cli._output import print_table
from autobuild.cli.commands.base import Command
from autobuild.exceptions import CLIUsageError

__all__ = ["StudyCommand"]

_DEFAULT_STORAGE = "sqlite:///autobuild.db"  # autobuild.study.DEFAULT_STORAGE, kept cheap


def _non_negative(what: str) -> Callable[[str], float]:
    """An argparse type: a finite number >= 0, named ``what`` in the error."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value >= 0):
            raise argparse.ArgumentTypeError(f"expected {what} >= 0, got {text!r}")
        return value

    return parse


class StudyCommand(Command):
    name = "study"
    help = (
        "Ask/tell a study from the shell or a cluster: create it, ask trials into a CSV, "
        "tell results from a CSV, show its status and its best trials."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

        def action(name: str, text: str) -> argparse.ArgumentParser:
            p = actions.add_parser(name, help=text, description=text)
            p.add_argument("study", metavar="NAME", help="The study's name in the storage.")
            p.add_argument(
                "--storage",
                default=_DEFAULT_STORAGE,
                help="Study storage URL, shared by every command of the study (default: "
                f"{_DEFAULT_STORAGE}, in the working directory; sqlite:////abs/path.db for "
                "an absolute path).",
            )
            return p

        create = action("create", "Create a study in the storage (refuses an existing name).")
        add_space(create)
        create.add_argument(
            "--objectives",
            type=objective_list,
            required=True,
            help="Metrics and directions, e.g. acc:max,latency:min.",
        )
        create.add_argument(
            "--candidates",
            type=Path,
            metavar="POOL",
            help="Ask only the architectures of this file (CSV/JSON/Parquet, 'arch' column).",
        )
        create.add_argument("--seed", type=int, default=0, help="Random seed (default: 0).")
        create.add_argument(
            "--sampler",
            choices=["autobuild", "random"],
            default="autobuild",
            help="autobuild: predictors and module scores after an initial random design "
            "(default); random: uniform draws.",
        )
        create.add_argument(
            "--initial",
            type=positive_int,
            help="autobuild sampler: results told before the first predictor (default: 10).",
        )
        create.add_argument(
            "--beta",
            type=_non_negative("a number"),
            help="autobuild sampler: weight of a candidate's uncertainty next to its "
            "prediction; 0 ranks by prediction alone (default: 0.25).",
        )
        ask = action("ask", "Hand out trials to evaluate, written to a CSV file.")
        ask.add_argument("--n", type=positive_int, default=1, help="Trials to ask (default: 1).")
        ask.add_argument(
            "--out", type=Path, required=True, help="CSV file: trial_id, arch_id, arch."
        )
        ask.add_argument(
            "--reask-after",
            type=_non_negative("a number of seconds"),
            metavar="SECONDS",
            help="Hand out again, first, trials pending for this long (their job died).",
        )
        tell = action("tell", "Tell the results of a CSV file (re-running it is safe).")
        tell.add_argument(
            "--results",
            type=Path,
            required=True,
            help="CSV file: trial_id, one column per objective (other metrics kept too), "
            "optional status (ok/complete or failed) and error.",
        )
        action("status", "Show trial counts, the best so far and what the sampler learnt.")
        best = action("best", "Write the best trials (the Pareto front) to a CSV file.")
        best.add_argument("--out", type=Path, required=True, help="Output CSV file.")

    def run(self, args: argparse.Namespace) -> int:
        return int(getattr(self, f"_{args.action}")(args))

    def _create(self, args: argparse.Namespace) -> int:
        from autobuild import spaces
        from autobuild.exceptions import ConfigError
        from autobuild.study import AutoBuildSampler, RandomSampler, create_study, read_candidates

        settings = {k: v for k in ("initial", "beta") if (v := getattr(args, k)) is not None}
        flags = ", ".join(f"--{k}" for k in settings)
        if args.sampler == "random" and settings:
            verb, them = ("applies", "it") if len(settings) == 1 else ("apply", "them")
            raise CLIUsageError(f"{flags} {verb} to --sampler autobuild only; drop {them}.")
        try:
            sampler = RandomSampler() if args.sampler == "random" else AutoBuildSampler(**settings)
        except ConfigError as err:
            raise CLIUsageError(f"{flags}: {err}") from err
        space = spaces.get(args.space)
        pool = None if args.candidates is None else read_candidates(args.candidates, space)
        with create_study(
            space,
            args.objectives,
            storage=args.storage,
            name=args.study,
            seed=args.seed,
            sampler=sampler,
            candidates=pool,
        ) as study:
            where = study.storage.path
            objectives = ",".join(f"{m}:{d}" for m, d in study.objectives)
            size = "" if study.candidates is None else f", {len(study.candidates)} candidates"
        print(
            f"Created study {args.study!r} in {where}: space {space.name}, objectives "
            f"{objectives}, sampler {_sampler_text(sampler)}, seed {args.seed}{size}."
        )
        return 0

    def _ask(self, args: argparse.Namespace) -> int:
        from autobuild.study import load_study, write_trials_csv

        with load_study(args.study, args.storage) as study:
            trials = study.ask(args.n, reask_after=args.reask_after)
            write_trials_csv(args.out, trials, study.space)
        if not trials:
            print(
                f"No trial asked: study {args.study!r} has no new architecture left; "
                f"{args.out} holds the header only."
            )
            return 0
        again = sum(t.attempts > 1 for t in trials)
        reasked = f" ({again} re-asked)" if again else ""
        print(f"Asked {_n(len(trials), 'trial')} of study {args.study!r}{reasked}: {args.out}")
        return 0

    def _tell(self, args: argparse.Namespace) -> int:
        from autobuild.study import load_study, tell_results

        with load_study(args.study, args.storage) as study:
            report = tell_results(study, args.results)
        for error in report.errors:
            print(f"autobuild study tell: {args.results} {error}", file=sys.stderr)
        failed = sum(t.state == "failed" for t in report.told)
        print(
            f"Told {_n(len(report.told), 'trial')} of study {args.study!r} "
            f"({len(report.told) - failed} complete, {failed} failed); "
            f"{len(report.skipped)} already told; {_n(len(report.errors), 'row')} with errors."
        )
        return 0 if report.ok else 1

    def _status(self, args: argparse.Namespace) -> int:
        from autobuild.study import load_study, study_summary

        with load_study(args.study, args.storage) as study:
            s = study_summary(study)
        states = s["states"]
        pool = "" if s["candidates"] is None else f" (pool of {s['candidates']})"
        lines = [
            ("study", s["name"]),
            ("space", f"{s['space']}{pool}"),
            ("objectives", ", ".join(s["objectives"])),
            ("storage", s["storage"]),
            ("sampler", s["sampler"]["name"]),
            ("trials", f"{s['trials']} ({', '.join(f'{k} {v}' for k, v in states.items())})"),
            ("rounds", f"{s['rounds']} learnt"),
        ]
        names = [o.rsplit(":", 1)[0] for o in s["objectives"]]
        if not s["best"]:
            lines.append(("best", "none yet (no complete trial)"))
        elif len(names) == 1:
            top = s["best"][0]
            lines.append((f"best {names[0]}", f"{top[names[0]]:.6g} (trial {top['trial_id']})"))
        else:
            lines.append(("front", f"{_n(len(s['best']), 'trial')} on the Pareto front"))
        for objective, units in s["top_modules"].items():
            for unit, module in units.items():
                lines.append((f"top {unit} ({objective})", _compact(module["subgraph"])))
        if len(s["history"]) > 1:  # how the knowledge changed, round by round
            for entry in s["history"]:
                several = len(entry["top"]) > 1
                tops = "; ".join(
                    f"{unit}{f' ({objective})' if several else ''} {_compact(module['subgraph'])}"
                    for objective, units in entry["top"].items()
                    for unit, module in units.items()
                )
                lines.append((f"round {entry['round']} ({entry['n_told']} told)", tops))
        width = max(len(k) for k, _ in lines)
        for key, value in lines:
            print(f"{key.ljust(width)}  {value}")
        return 0

    def _best(self, args: argparse.Namespace) -> int:
        from autobuild.study import load_study, result_columns, write_trials_csv

        with load_study(args.study, args.storage) as study:
            trials = study.best_trials
            write_trials_csv(args.out, trials, study.space, result_columns(study, trials))
            names = [m for m, _ in study.objectives]
        if not trials:
            print(f"No complete trial yet in study {args.study!r}; {args.out} holds the header.")
            return 0
        print_table(
            ["trial_id", "arch_id", *names],
            [[str(t.id), t.arch_id, *(f"{t.metrics[m]:.6g}" for m in names)] for t in trials[:15]],
        )
        more = " (first 15 shown)" if len(trials) > 15 else ""
        print(f"{_n(len(trials), 'best trial')}{more} in {args.out}")
        return 0


def _sampler_text(sampler: Any) -> str:
    initial = getattr(sampler, "initial", None)
    if initial is None:
        return str(sampler.name)
    return f"{sampler.name} (initial {initial}, beta {sampler.beta:g})"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
