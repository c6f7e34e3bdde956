"""AutoBuild-NAS: reduced-space candidates from target equations (trains predictors).

AutoBuild-NAS searches a reduced space: one predictor per target equation is trained on a
few labelled architectures, the top-K subgraphs of each by module score are united per
unit (:func:`autobuild_candidates`), and NSGA-II searches those candidates
(:func:`~autobuild.search.run_method` with ``method="autobuild-nas"``). :func:`run_nas`
does both, or runs a baseline method, with the evaluator run by an executor.

The paper builds each reduced space from a hand-made target equation (e.g. ``acc / lat``)
and names that as a limitation. Given two objectives, :func:`auto_equations` writes a family
of weighted sums of their *standardised* values, ``w * z(a) + (1 - w) * z(b)`` for ``w`` on
an even grid in ``[0, 1]``, where ``z`` subtracts the labelled set's mean, divides by its
standard deviation and flips the sign of a "min" objective. Standardising makes ``w`` mean
the same thing whatever the units (accuracy in %, FLOPs in millions), and the grid's ends
are the two single-objective targets, so the family's reduced spaces spread from one end of
the front to the other. The equations are ordinary target expressions (plain arithmetic on
metric names), so they are stored in checkpoints and shown to the user as text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from autobuild.data import LabeledData
from autobuild.evaluation import BaseEvaluator
from autobuild.exceptions import ConfigError, DataError
from autobuild.execution import Executor
from autobuild.search import Method, SearchConfig, SearchResult
from autobuild.spaces import SearchSpace, Subgraph
from autobuild.storage import BaseRunStore

__all__ = ["auto_equations", "autobuild_candidates", "run_nas"]

logger = logging.getLogger(__name__)


def auto_equations(
    data: LabeledData, objectives: Sequence[tuple[str, str]], n: int = 4
) -> list[str]:
    """``n`` target expressions spreading between two objectives (see the module docstring).

    Args:
        data: The labelled architectures (their metric columns give the moments).
        objectives: Two ``(metric, "max" | "min")`` pairs.
        n: How many equations (at least 2: the two single-objective ends).

    Returns:
        Target expressions, from all-weight-on the first objective to all on the second.

    Raises:
        ConfigError: Not exactly two objectives, a bad direction or ``n < 2``.
        DataError: An objective is missing from the data or constant over it.
    """
    if len(objectives) != 2:
        raise ConfigError(
            f"Automatic equations need exactly two objectives, got {len(objectives)}: "
            f"{list(objectives)}; give the target equations by hand instead."
        )
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ConfigError(f"`n` must be an integer >= 2, got {n!r}.")
    terms = []
    for name, direction in objectives:
        if direction not in ("max", "min"):
            raise ConfigError(f"Direction of {name!r} must be 'max' or 'min', got {direction!r}.")
        if name not in data.metric_names:
            raise DataError(
                f"Objective {name!r} is not a metric of the labelled data; its metrics are "
                f"{data.metric_names}."
            )
        _, values = data.target(name)
        mean, std = float(np.mean(values)), float(np.std(values))
        if not std > 0:
            raise DataError(
                f"Objective {name!r} is constant ({mean!r}) over the labelled data; it cannot "
                "be standardised."
            )
        sign = "" if direction == "max" else "-"
        terms.append(f"{sign}({name} - {mean!r}) / {std!r}")
    out = []
    for w in np.linspace(1.0, 0.0, n):
        w = float(round(w, 6))
        out.append(f"{w!r} * {terms[0]} + {round(1.0 - w, 6)!r} * {terms[1]}")
    return out


def autobuild_candidates(
    data: LabeledData,
    objectives: Sequence[tuple[str, str]],
    *,
    labels: int,
    seed: int = 0,
    k: int = 2,
    equations: Sequence[str] | None = None,
    evaluator: BaseEvaluator | None = None,
) -> tuple[tuple[Subgraph, ...], ...]:
    """AutoBuild-NAS's reduced space: per unit, the union of every equation's top-``k``.

    ``labels`` rows of ``data`` are drawn with ``seed``
    (:func:`~autobuild.predictor.select_labelled`, as ``--n-labeled`` draws them); one
    predictor per target equation (``None``: :func:`auto_equations` of the two objectives)
    trains on them with seed ``seed + i``, and its module scores give that equation's top-K.

    Args:
        data: The labelled table the predictors' rows are drawn from.
        objectives: ``(metric, "max" | "min")`` pairs; at least one a metric of ``data``
            (rows are drawn on the first such).
        labels: Labelled architectures the predictors train on.
        seed: Random seed (selection and training).
        k: Top-K subgraphs per unit and equation.
        equations: Target expressions (default: :func:`auto_equations`).
        evaluator: Gives the objectives ``data`` lacks (e.g. a cached
            :class:`~autobuild.evaluation.LatencyEvaluator`) for the ``labels`` chosen
            architectures only.

    Returns:
        Per unit, the candidate subgraphs (``ReducedSpace.candidates``), for
        :func:`~autobuild.search.run_method` with ``method="autobuild-nas"`` (or
        :func:`run_nas`, which calls this).

    Raises:
        DataError: An objective neither ``data`` nor ``evaluator`` gives.
    """
    from autobuild.construction import reduce_space
    from autobuild.predictor import AutoBuildPredictor, select_labelled
    from autobuild.scoring import score_modules

    # Rows are drawn on the first objective the table holds (its missing values excluded).
    on = next((n for n, _ in objectives if n in data.metric_names), objectives[0][0])
    chosen, _ = select_labelled(data, on, n_labeled=labels, seed=seed)
    chosen = _with_metrics(chosen, [name for name, _ in objectives], evaluator)
    eqs = list(equations) if equations else auto_equations(chosen, objectives)
    tables = []
    for i, eq in enumerate(eqs):
        rows, y = chosen.target(eq)
        pred = AutoBuildPredictor(data.space, random_state=seed + i).fit(list(rows.archs), y)
        tables.append(score_modules(pred))
        logger.info("Equation %d/%d trained: %s", i + 1, len(eqs), eq)
    reduced = reduce_space(tables, k, mode="union")
    logger.info(
        "AutoBuild-NAS reduced space: %s subgraphs per unit, %d architectures",
        "/".join(str(len(c)) for c in reduced.candidates),
        reduced.size(),
    )
    return reduced.candidates


def run_nas(
    space: SearchSpace,
    method: Method,
    evaluator: BaseEvaluator,
    config: SearchConfig,
    *,
    data: LabeledData | None = None,
    labels: int | None = None,
    k: int | None = None,
    equations: Sequence[str] | None = None,
    insight: Mapping[str, Mapping[str, Any]] | None = None,
    executor: Executor = "serial",
    n_jobs: int | None = None,
    ray_address: str | None = None,
    store: BaseRunStore | None = None,
    name: str | None = None,
    progress: bool = False,
) -> SearchResult:
    """Run search method ``method``, building AutoBuild-NAS's candidates first when asked.

    For ``"autobuild-nas"`` the candidates are :func:`autobuild_candidates` of ``data`` and
    the configuration's objectives, drawn and trained with its seed; the other methods
    search the whole space. ``evaluator`` evaluates the search's architectures through the
    executor of :func:`~autobuild.search.make_evaluate`, closed when the search ends.

    Args:
        space: The search space.
        method: One of :data:`~autobuild.search.METHODS`.
        evaluator: Gives every metric of ``config.metrics`` (e.g.
            :func:`~autobuild.search.search_evaluator`); for ``"autobuild-nas"`` it also
            gives the objectives ``data`` lacks, for the labelled architectures.
        config: Objectives, budget, operator probabilities, seed and constraints.
        data: ``"autobuild-nas"`` only, required there: the labelled table the predictors'
            rows are drawn from.
        labels: ``"autobuild-nas"``: labelled architectures the predictors train on (they
            do not count towards the budget; default 300).
        k: ``"autobuild-nas"``: top-K subgraphs per unit and equation (default 2).
        equations: ``"autobuild-nas"``: target expressions (default: :func:`auto_equations`
            of the two objectives).
        insight: ``"layer-insight"`` only, required there: per-stage restrictions.
        executor: Where evaluations run: ``"serial"`` (this process), ``"process"`` or
            ``"ray"``.
        n_jobs: Worker processes of ``"process"``.
        ray_address: Ray cluster of ``"ray"``.
        store: Run store to record every evaluation in and to resume from.
        name: Search name in ``store`` (required with a store).
        progress: Show a progress bar over the budget (on stderr).

    Returns:
        The archive of unique evaluations and its Pareto front.

    Raises:
        ConfigError: ``"autobuild-nas"`` without ``data``, an ``"autobuild-nas"`` argument
            (``data``, ``labels``, ``k``, ``equations``) given to another method, or invalid
            arguments (see :func:`~autobuild.search.run_method`).
        DataError: An objective neither ``data`` nor ``evaluator`` gives.
    """
    from autobuild.search import make_evaluate, run_method

    candidates = None
    if method != "autobuild-nas":
        given = {"data": data, "labels": labels, "k": k, "equations": equations}
        misplaced = [key for key, value in given.items() if value is not None]
        if misplaced:
            raise ConfigError(
                f"{misplaced} only apply to 'autobuild-nas', not {method!r}: drop them, or "
                "choose method='autobuild-nas'."
            )
    else:
        if data is None:
            raise ConfigError(
                "'autobuild-nas' trains its predictors on labelled architectures: pass `data`, "
                f"a table with the first objective {config.objectives[0][0]!r}."
            )
        candidates = autobuild_candidates(
            data,
            config.objectives,
            labels=300 if labels is None else labels,
            seed=config.seed,
            k=2 if k is None else k,
            equations=equations,
            evaluator=evaluator,
        )
    evaluate = make_evaluate(evaluator, executor=executor, n_jobs=n_jobs, ray_address=ray_address)
    try:
        return run_method(
            space,
            method,
            evaluate,
            config,
            candidates=candidates,
            insight=insight,
            store=store,
            name=name,
            progress=progress,
        )
    finally:
        evaluate.close()


def _with_metrics(
    data: LabeledData, names: Sequence[str], evaluator: BaseEvaluator | None
) -> LabeledData:
    """``data`` with the metrics among ``names`` it lacks, evaluated by ``evaluator``."""
    missing = [n for n in names if n not in data.metric_names]
    if not missing:
        return data
    given = [] if evaluator is None else evaluator.metric_names
    absent = [n for n in missing if n not in given]
    if absent:
        raise DataError(
            f"Objective(s) {absent} are neither metrics of the labelled data "
            f"({data.metric_names}) nor given by an evaluator ({given}); label them or pass "
            "an evaluator that measures them."
        )
    assert evaluator is not None
    logger.info("Evaluating %s of the %d labelled architectures", missing, len(data))
    records = evaluator.evaluate(list(data.archs))
    metrics = dict(data.metrics)
    for name in missing:
        metrics[name] = np.array([rec[name] for rec in records], dtype=np.float64)
    return replace(data, metrics=metrics)
