"""The evaluator of a search's metrics, assembled from the sources that give them.

A search reads its objectives and the metrics of its constraints
(:attr:`SearchConfig.metrics <autobuild.search.config.SearchConfig.metrics>`).
:func:`search_evaluator` takes each from the first source that gives it: your evaluators,
then a labelled table, then the counted costs (``params``, ``flops``), then measured
latency (``latency_cpu_ms``, ``latency_cuda_ms``), and combines them into one
:class:`~autobuild.evaluation.BaseEvaluator`.

The evaluators are imported when the function runs (they import torch), so importing
:mod:`autobuild.search` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from autobuild.exceptions import ConfigError
from autobuild.spaces import SearchSpace

if TYPE_CHECKING:
    from autobuild.data import LabeledData
    from autobuild.evaluation import BaseEvaluator

__all__ = ["search_evaluator"]


def search_evaluator(
    space: SearchSpace,
    metrics: Mapping[str, str],
    *,
    evaluators: Sequence[BaseEvaluator] = (),
    data: LabeledData | None = None,
    cache: str | Path | None = None,
    threads: int = 1,
    repeats: int = 50,
) -> BaseEvaluator:
    """One evaluator of every metric in ``metrics``, each from the first source that gives it.

    The sources, in order: ``evaluators`` (each gives all of its metrics), a
    :class:`~autobuild.evaluation.LookupEvaluator` of ``data`` for the metrics the table
    holds, a :class:`~autobuild.evaluation.CostEvaluator` for ``params`` and ``flops``, and
    a :class:`~autobuild.evaluation.LatencyEvaluator` per device for ``latency_cpu_ms`` and
    ``latency_cuda_ms``. Counted and measured metrics need a space that builds networks.

    Args:
        space: The search space.
        metrics: Metric name -> ``"max"`` or ``"min"``, e.g.
            :attr:`SearchConfig.metrics <autobuild.search.config.SearchConfig.metrics>`.
        evaluators: Evaluators of ``space`` tried first, in order (e.g. your own, or a
            :class:`~autobuild.evaluation.PredictorEvaluator` of a latency surrogate); each
            must give at least one metric the ones before it do not.
        data: Labelled architectures whose metric columns answer the metrics they hold.
        cache: SQLite file caching measured latency (``None``: measured every time).
        threads: CPU threads for latency.
        repeats: Timed runs for latency.

    Returns:
        The evaluator: a :class:`~autobuild.evaluation.CombinedEvaluator` of the sources
        used, or the single one.

    Raises:
        ConfigError: An evaluator of another space or that gives nothing still missing, a
            metric no source gives, or a counted or measured metric on a space that cannot
            build networks; the message names the metrics and the sources.

    Example:
        >>> import autobuild as ab
        >>> from autobuild.search import search_evaluator
        >>> search_evaluator(ab.spaces.get("nasbench-macro"), {"flops": "min"})
        CostEvaluator(space='nasbench-macro', metrics=['flops'])
    """
    from autobuild.evaluation import (
        CachedEvaluator,
        CombinedEvaluator,
        CostEvaluator,
        LatencyEvaluator,
        LookupEvaluator,
    )

    parts: list[BaseEvaluator] = []
    todo = list(metrics)
    for ev in evaluators:
        if ev.space.fingerprint() != space.fingerprint():
            raise ConfigError(
                f"{ev!r} evaluates space {ev.space.name!r}, not {space.name!r}; give "
                "evaluators of the search space."
            )
        given = [m for m in todo if m in ev.metric_names]
        if not given:
            raise ConfigError(
                f"{ev!r} gives {ev.metric_names}, none of the objectives or constraint "
                f"metrics still to evaluate ({todo}); drop it."
            )
        parts.append(ev)
        todo = [m for m in todo if m not in given]
    table = [m for m in todo if data is not None and m in data.metric_names]
    if table:
        assert data is not None
        parts.append(LookupEvaluator(data, {m: metrics[m] for m in table}))
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
            latency = LatencyEvaluator(space, device=device, threads=threads, repeats=repeats)
            parts.append(latency if cache is None else CachedEvaluator(latency, cache))
            todo.remove(name)
    if todo:
        have = [] if data is None else data.metric_names
        raise ConfigError(
            f"No evaluator gives objective(s) {todo}: the labelled data has {have}, the "
            "measured metrics are params, flops, latency_cpu_ms and latency_cuda_ms; pass an "
            "evaluator that gives them."
        )
    return parts[0] if len(parts) == 1 else CombinedEvaluator(parts)


def _needs_networks(space: SearchSpace, metrics: list[str]) -> None:
    from autobuild.networks import can_build

    if not can_build(space):
        raise ConfigError(
            f"Objective(s) {metrics} are measured on built networks, but space {space.name!r} "
            "cannot build networks; give them in the labelled data or through an evaluator."
        )
