"""What the commands load from their arguments: labelled data, scorers and evaluators.

Every library import is made inside the function that needs it, so importing this module
(and the parser that uses it) stays cheap.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autobuild.exceptions import CLIUsageError

__all__ = ["load_labelled", "load_scorer", "search_evaluator", "shared_direction"]


def load_labelled(
    space_name: str, data: Path | None, target: str | None, strict: bool
) -> tuple[Any, str]:
    from autobuild import spaces
    from autobuild.data import load_nasbench_macro, load_table

    space = spaces.get(space_name)
    if data is None:
        if space.name != "nasbench-macro":
            raise CLIUsageError(f"--data is required for space {space.name!r}.")
        return load_nasbench_macro(), target or "mean_acc"
    if target is None:
        raise CLIUsageError("--target is required with --data (e.g. --target acc).")
    return load_table(data, space, strict=strict), target


def load_scorer(path: Path) -> Any:
    """A predictor checkpoint, or an ensemble folder (it has ``ensemble.json``)."""
    from autobuild.ensemble import PredictorEnsemble
    from autobuild.ensemble.ensemble import ENSEMBLE_FILE
    from autobuild.predictor import AutoBuildPredictor

    if (path / ENSEMBLE_FILE).is_file():
        return PredictorEnsemble.load(path)
    return AutoBuildPredictor.load(path)


def shared_direction(paths: Sequence[Path], scorers: Sequence[Any]) -> str:
    """The direction ('max' or 'min') that every checkpoint or ensemble ranks in."""
    from autobuild.ensemble import PredictorEnsemble
    from autobuild.predictor.direction import predictor_direction

    found = [
        s.direction if isinstance(s, PredictorEnsemble) else predictor_direction(s)
        for s in scorers
    ]
    if len(set(found)) > 1:
        listed = ", ".join(f"{p} ({d})" for p, d in zip(paths, found, strict=True))
        raise CLIUsageError(
            f"Checkpoints of different directions cannot be combined: {listed}; build from "
            "checkpoints whose targets are all better high (max) or all better low (min)."
        )
    return found[0]


def search_evaluator(
    args: argparse.Namespace, space: Any, data: Any, directions: dict[str, str]
) -> Any:
    """The evaluator of the objectives: --evaluator's, --predictor's, the table's, measured."""
    from autobuild.evaluation import (
        CachedEvaluator,
        CombinedEvaluator,
        CostEvaluator,
        LatencyEvaluator,
        LookupEvaluator,
        PredictorEvaluator,
    )

    cache = args.cache if args.cache is not None else args.out / "measured.sqlite"
    parts: list[Any] = []
    todo = list(directions)
    if args.evaluator is not None:
        user = _user_evaluator(args.evaluator, space)
        given = [m for m in todo if m in user.metric_names]
        if not given:
            raise CLIUsageError(
                f"--evaluator {args.evaluator} gives {user.metric_names}, none of the "
                f"objectives {todo}."
            )
        # Cached only when asked: a cache keyed by the class name would outlive edits to it.
        parts.append(user if args.cache is None else CachedEvaluator(user, cache))
        todo = [m for m in todo if m not in given]
    for path in args.predictor or []:
        from autobuild.predictor import AutoBuildPredictor

        predicted = PredictorEvaluator(AutoBuildPredictor.load(path))
        name = predicted.metric_names[0]
        if name not in todo:
            raise CLIUsageError(
                f"--predictor {path} predicts {name!r}, which is not an objective or constraint "
                f"still to evaluate ({todo}); train it with --target {todo[0] if todo else 'X'} "
                "or drop it."
            )
        if predicted.space.fingerprint() != space.fingerprint():
            raise CLIUsageError(
                f"--predictor {path} was trained on space {predicted.space.name!r}, not on "
                f"{space.name!r}."
            )
        parts.append(predicted)
        todo.remove(name)
    table = [m for m in todo if data is not None and m in data.metric_names]
    if table:
        parts.append(LookupEvaluator(data, {m: directions[m] for m in table}))
        todo = [m for m in todo if m not in table]
    cost = [m for m in todo if m in ("params", "flops")]
    if cost:
        _needs_networks(space, cost)
        parts.append(CostEvaluator(space, metrics=cost))
        todo = [m for m in todo if m not in cost]
    for device in ("cpu", "cuda"):
        name = f"latency_{device}_ms"
        if name in todo:
            _needs_networks(space, [name])
            latency = LatencyEvaluator(
                space, device=device, threads=args.threads, repeats=args.repeats
            )
            parts.append(CachedEvaluator(latency, cache))
            todo.remove(name)
    if todo:
        have = [] if data is None else data.metric_names
        raise CLIUsageError(
            f"No evaluator gives objective(s) {todo}: the table has {have}, the measured "
            "metrics are params, flops, latency_cpu_ms and latency_cuda_ms, and --evaluator "
            "MODULE:NAME adds your own."
        )
    return parts[0] if len(parts) == 1 else CombinedEvaluator(parts)


def _needs_networks(space: Any, metrics: list[str]) -> None:
    from autobuild.networks import can_build

    if not can_build(space):
        raise CLIUsageError(
            f"Objective(s) {metrics} are measured on built networks, but space {space.name!r} "
            "cannot build networks; give them in --data or through --evaluator."
        )


def _user_evaluator(spec: str, space: Any) -> Any:
    """Import ``MODULE:NAME`` and call it with the space (user code, as the user named it)."""
    import importlib

    from autobuild.evaluation import BaseEvaluator

    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise CLIUsageError(
            f"--evaluator expects MODULE:NAME, e.g. mylab.evals:Trainer; got {spec!r}."
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise CLIUsageError(
            f"--evaluator {spec}: cannot import {module_name!r} ({err}); put it on PYTHONPATH."
        ) from err
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise CLIUsageError(f"--evaluator {spec}: {module_name} has no callable {attr!r}.")
    try:
        evaluator = factory(space)
    except Exception as err:  # the user's code: report it, do not crash with a traceback
        raise CLIUsageError(
            f"--evaluator {spec}: {attr}(space) raised {type(err).__name__}: {err}"
        ) from err
    if not isinstance(evaluator, BaseEvaluator):
        raise CLIUsageError(
            f"--evaluator {spec} returned {type(evaluator).__name__}, not a "
            "autobuild.evaluation.BaseEvaluator."
        )
    return evaluator
