"""The search methods selectable by name: AutoBuild-NAS and its baselines.

=================  ===========================================================================
``autobuild-nas``  :func:`~autobuild.search.nsga.run_search` over a reduced space's per-unit
                   candidates (``candidates`` required).
``stage-full``     :func:`~autobuild.search.nsga.run_search` over
                   :func:`~autobuild.search.genome.full_candidates`.
``layer-full``     NSGA-II over the whole space with the layer-level genome and mutator of
                   :class:`~autobuild.search.layer.LayerGenome`.
``layer-insight``  ``layer-full`` with per-stage restrictions (``insight``, see
                   :func:`~autobuild.search.layer.check_insight`).
``random``         Unique uniform random architectures (:meth:`SearchSpace.sample`).
=================  ===========================================================================

All share the budget (``initial + iterations * batch`` unique evaluations, met exactly when
the space allows, else a warning), duplicate elimination, failure handling, run store and
deterministic replay of :func:`~autobuild.search.nsga.run_search`.

Example:
    >>> import autobuild as ab
    >>> from autobuild.search.methods import run_method
    >>> space = ab.spaces.get("nasbench-macro")
    >>> def evaluate(archs):
    ...     return [{"acc": float(a.num_layers), "cost": float(a.num_layers)} for a in archs]
    >>> result = run_method(space, "layer-full", evaluate, [("acc", "max"), ("cost", "min")],
    ...                     initial=10, iterations=2, batch=5)
    >>> len(result.archs)
    20
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from autobuild.exceptions import ConfigError
from autobuild.search.archive import Evaluations
from autobuild.search.constraints import Constraint, check_constraints
from autobuild.search.genome import full_candidates
from autobuild.search.layer import LayerGenome, check_insight
from autobuild.search.nsga import (
    _check_budget,
    _check_objectives,
    _check_prob,
    _constraint_config,
    _finish,
    _open_search,
    _search,
    run_search,
)
from autobuild.search.result import EvaluateFn, Objective, SearchResult
from autobuild.search.storage import RunStore
from autobuild.spaces import SearchSpace, Subgraph, Value

__all__ = ["METHODS", "run_layer_search", "run_method", "run_random"]

#: The method names :func:`run_method` accepts.
METHODS = ("autobuild-nas", "stage-full", "layer-full", "layer-insight", "random")


def run_method(
    space: SearchSpace,
    method: str,
    evaluate: EvaluateFn,
    objectives: Sequence[Objective],
    *,
    candidates: Sequence[Sequence[Subgraph]] | None = None,
    insight: Mapping[str, Mapping[str, Any]] | None = None,
    globals_: Sequence[Value] | None = None,
    initial: int = 50,
    iterations: int = 4,
    batch: int = 50,
    mutation_prob: float = 0.5,
    crossover_prob: float = 0.0,
    store: RunStore | None = None,
    name: str | None = None,
    seed: int = 0,
    progress: bool = False,
    constraints: Sequence[Constraint | str] | None = None,
) -> SearchResult:
    """Run the search method ``method`` (one of :data:`METHODS`).

    Args:
        space: The search space.
        method: ``"autobuild-nas"``, ``"stage-full"``, ``"layer-full"``, ``"layer-insight"``
            or ``"random"``.
        evaluate: ``evaluate(archs) -> records``.
        objectives: ``(metric_name, "max" | "min")`` pairs.
        candidates: Per-unit candidate subgraphs of a reduced space (``autobuild-nas`` only,
            required there).
        insight: Per-stage restrictions (``layer-insight`` only, required there), e.g.
            ``{"s1": {"max_layers": 3, "layer": {"op": ["mb6_k5"]}}}``.
        globals_: Global feature values (default: the space's defaults); ``random`` samples
            them with the rest of the architecture and refuses this argument.
        initial: Initial population size.
        iterations: Generations after the initial one.
        batch: Children evaluated per generation.
        mutation_prob: Probability that a unit (stage for the layer methods) mutates.
        crossover_prob: Probability of uniform crossover (``0``: mutation only).
        store: Run store to record every evaluation in and to resume from.
        name: Search name in ``store`` (required with a store).
        seed: Random seed.
        progress: Show a progress bar over the budget (on stderr).
        constraints: Bounds on metrics, e.g. ``["latency_cpu_ms<=5"]``
            (:class:`~autobuild.search.constraints.Constraint`).

    Returns:
        The archive of unique evaluations and its Pareto front.

    Raises:
        ConfigError: Unknown method, a missing or misplaced ``candidates``/``insight``, or
            invalid arguments.
    """
    if method not in METHODS:
        raise ConfigError(f"Unknown search method {method!r}; choose one of {list(METHODS)}.")
    if candidates is not None and method != "autobuild-nas":
        raise ConfigError(f"`candidates` only applies to 'autobuild-nas', not {method!r}.")
    if insight is not None and method != "layer-insight":
        raise ConfigError(f"`insight` only applies to 'layer-insight', not {method!r}.")
    common: dict[str, Any] = {
        "initial": initial,
        "iterations": iterations,
        "batch": batch,
        "store": store,
        "name": name,
        "seed": seed,
        "progress": progress,
        "constraints": constraints,
    }
    if method == "random":
        if globals_ is not None:
            raise ConfigError(
                "'random' samples global features with the architecture; do not pass `globals_`."
            )
        return run_random(space, evaluate, objectives, **common)
    common.update(globals_=globals_, mutation_prob=mutation_prob, crossover_prob=crossover_prob)
    if method == "autobuild-nas":
        if candidates is None:
            raise ConfigError(
                "'autobuild-nas' needs `candidates`: the per-unit candidate lists of a reduced "
                "space (ReducedSpace.candidates)."
            )
        return run_search(space, candidates, evaluate, objectives, **common)
    if method == "stage-full":
        return run_search(space, full_candidates(space), evaluate, objectives, **common)
    if method == "layer-insight" and insight is None:
        raise ConfigError(
            "'layer-insight' needs `insight`: per-stage restrictions, e.g. "
            '{"s1": {"max_layers": 3, "layer": {"op": ["mb6_k5"]}}}.'
        )
    return run_layer_search(space, evaluate, objectives, insight=insight, **common)


def run_layer_search(
    space: SearchSpace,
    evaluate: EvaluateFn,
    objectives: Sequence[Objective],
    *,
    insight: Mapping[str, Mapping[str, Any]] | None = None,
    globals_: Sequence[Value] | None = None,
    initial: int = 50,
    iterations: int = 4,
    batch: int = 50,
    mutation_prob: float = 0.5,
    crossover_prob: float = 0.0,
    store: RunStore | None = None,
    name: str | None = None,
    seed: int = 0,
    progress: bool = False,
    constraints: Sequence[Constraint | str] | None = None,
) -> SearchResult:
    """NSGA-II with layer-level genome and mutation (``layer-full``; ``layer-insight``).

    Args:
        space: The search space (enumerable layer features).
        evaluate: ``evaluate(archs) -> records``.
        objectives: ``(metric_name, "max" | "min")`` pairs.
        insight: Per-stage restrictions (:func:`~autobuild.search.layer.check_insight`);
            ``None`` searches the whole space.
        globals_: Global feature values (default: the space's defaults).
        initial: Initial population size.
        iterations: Generations after the initial one.
        batch: Children evaluated per generation.
        mutation_prob: Probability that a stage mutates (at least one does).
        crossover_prob: Probability of uniform crossover of the genome vectors.
        store: Run store.
        name: Search name in ``store``.
        seed: Random seed.
        progress: Show a progress bar over the budget (on stderr).
        constraints: Bounds on metrics, e.g. ``["latency_cpu_ms<=5"]``
            (:class:`~autobuild.search.constraints.Constraint`).

    Returns:
        The archive of unique evaluations and its Pareto front.

    Raises:
        ConfigError: Invalid arguments or restrictions.
    """
    objs = _check_objectives(objectives)
    _check_budget(initial, iterations, batch, seed)
    p_mut = _check_prob(mutation_prob, "mutation_prob", low_open=True)
    p_cx = _check_prob(crossover_prob, "crossover_prob", low_open=False)
    rules = None if insight is None else check_insight(space, insight)
    genome = LayerGenome(space, p_mut, rules)
    return _search(
        space,
        genome,
        evaluate,
        objs,
        globals_=globals_,
        initial=initial,
        iterations=iterations,
        batch=batch,
        crossover_prob=p_cx,
        store=store,
        name=name,
        seed=seed,
        progress=progress,
        constraints=check_constraints(constraints),
    )


def run_random(
    space: SearchSpace,
    evaluate: EvaluateFn,
    objectives: Sequence[Objective],
    *,
    initial: int = 50,
    iterations: int = 4,
    batch: int = 50,
    store: RunStore | None = None,
    name: str | None = None,
    seed: int = 0,
    progress: bool = False,
    constraints: Sequence[Constraint | str] | None = None,
) -> SearchResult:
    """Evaluate unique uniform random architectures (:meth:`SearchSpace.sample`).

    The budget is ``initial + iterations * batch``; architectures are evaluated in batches of
    ``initial`` then ``batch``, each evaluation recorded as it arrives (see
    :func:`~autobuild.search.nsga.run_search`). A space smaller than the budget is evaluated
    completely, with a warning.

    Args:
        space: The search space.
        evaluate: ``evaluate(archs) -> records``.
        objectives: ``(metric_name, "max" | "min")`` pairs.
        initial: First batch size.
        iterations: Number of further batches.
        batch: Size of each further batch.
        store: Run store.
        name: Search name in ``store``.
        seed: Random seed; the same seed draws the same architectures.
        progress: Show a progress bar over the budget (on stderr).
        constraints: Bounds on metrics, e.g. ``["latency_cpu_ms<=5"]``
            (:class:`~autobuild.search.constraints.Constraint`).

    Returns:
        The archive of unique evaluations and its Pareto front.

    Raises:
        ConfigError: Invalid arguments.
    """
    objs = _check_objectives(objectives)
    _check_budget(initial, iterations, batch, seed)
    budget = initial + iterations * batch
    checked = check_constraints(constraints)
    config = {
        "method": "random",
        "objectives": [list(o) for o in objs],
        "initial": initial,
        "iterations": iterations,
        "batch": batch,
        **_constraint_config(checked),
    }
    search_id = _open_search(store, name, space, config, seed)
    archs = space.sample(min(budget, space.size()), seed=np.random.default_rng([seed, 2]))
    known: set[str] = set()
    archive = Evaluations(
        space, known, evaluate, objs, store, search_id, budget if progress else None, checked
    )
    sizes = [initial] + [batch] * iterations
    start = 0
    for size in sizes:
        chunk = archs[start : start + size]
        if not chunk:
            break
        archive.run([(space.validate(a), space.canonical_id(a)) for a in chunk])
        start += size
    return _finish(
        archive, objs, budget, "the space holds no further architectures.", store, search_id, name
    )
