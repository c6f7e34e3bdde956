"""What the commands load from their arguments: labelled data, scorers and evaluators.

Every library import is made inside the function that needs it, so importing this module
(and the parser that uses it) stays cheap.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from autobuild.exceptions import CLIUsageError

__all__ = ["given_evaluators", "load_labelled", "load_scorer", "shared_direction"]


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
    """The :class:`~autobuild.scoring.Scorer` of a predictor checkpoint, or of an ensemble
    folder (it has ``ensemble.json``)."""
    from autobuild.ensemble import PredictorEnsemble
    from autobuild.ensemble.ensemble import ENSEMBLE_FILE
    from autobuild.predictor import AutoBuildPredictor
    from autobuild.scoring import as_scorer

    if (path / ENSEMBLE_FILE).is_file():
        return as_scorer(PredictorEnsemble.load(path))
    return as_scorer(AutoBuildPredictor.load(path))


def shared_direction(paths: Sequence[Path], scorers: Sequence[Any]) -> str:
    """The direction ('max' or 'min') that every scorer (checkpoint or ensemble) ranks in."""
    found = [s.direction for s in scorers]
    if len(set(found)) > 1:
        listed = ", ".join(f"{p} ({d})" for p, d in zip(paths, found, strict=True))
        raise CLIUsageError(
            f"Checkpoints of different directions cannot be combined: {listed}; build from "
            "checkpoints whose targets are all better high (max) or all better low (min)."
        )
    return found[0]


def given_evaluators(
    args: argparse.Namespace, space: Any, metrics: Mapping[str, str]
) -> list[Any]:
    """The evaluators named by --evaluator (cached with --cache) and --predictor, in order."""
    from autobuild.evaluation import CachedEvaluator, PredictorEvaluator

    out: list[Any] = []
    todo = list(metrics)
    if args.evaluator is not None:
        user = _user_evaluator(args.evaluator, space)
        # Cached only when asked: a cache keyed by the class name would outlive edits to it.
        out.append(user if args.cache is None else CachedEvaluator(user, args.cache))
        todo = [m for m in todo if m not in user.metric_names]
    for path in args.predictor or []:
        predicted = PredictorEvaluator(load_scorer(path))
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
        out.append(predicted)
        todo.remove(name)
    return out


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
