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
    >>> from autobuild.search import SearchConfig, run_method
    >>> space = ab.spaces.get("nasbench-macro")
    >>> def evaluate(archs):
    ...     return [{"acc": float(a.num_layers), "cost": float(a.num_layers)} for a in archs]
    >>> config = SearchConfig([("acc", "max"), ("cost", "min")], initial=10, iterations=2,
    ...                       batch=5)
    >>> len(run_method(space, "layer-full", evaluate, config).archs)
    20
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

import numpy as np

from autobuild.exceptions import ConfigError
from autobuild.search.archive import Evaluations
from autobuild.search.config import SearchConfig, _check_config
from autobuild.search.genome import full_candidates
from autobuild.search.layer import LayerGenome, check_insight
from autobuild.search.nsga import _finish, _open_search, _search, run_search
from autobuild.search.result import EvaluateFn, SearchResult
from autobuild.spaces import SearchSpace, Subgraph
from autobuild.storage import BaseRunStore

__all__ = ["METHODS", "Method", "run_layer_search", "run_method", "run_random"]

#: A search method's name.
Method = Literal["autobuild-nas", "stage-full", "layer-full", "layer-insight", "random"]
#: The method names :func:`run_method` accepts.
METHODS: tuple[Method, ...] = get_args(Method)


def run_method(
    space: SearchSpace,
    method: Method,
    evaluate: EvaluateFn,
    config: SearchConfig,
    *,
    candidates: Sequence[Sequence[Subgraph]] | None = None,
    insight: Mapping[str, Mapping[str, Any]] | None = None,
    store: BaseRunStore | None = None,
    name: str | None = None,
    progress: bool = False,
) -> SearchResult:
    """Run the search method ``method`` (one of :data:`METHODS`).

    Args:
        space: The search space.
        method: ``"autobuild-nas"``, ``"stage-full"``, ``"layer-full"``, ``"layer-insight"``
            or ``"random"``.
        evaluate: ``evaluate(archs) -> records``.
        config: Objectives, budget, operator probabilities, seed and constraints
            (``random`` refuses ``globals_``).
        candidates: Per-unit candidate subgraphs of a reduced space (``autobuild-nas`` only,
            required there).
        insight: Per-stage restrictions (``layer-insight`` only, required there), e.g.
            ``{"s1": {"max_layers": 3, "layer": {"op": ["mb6_k5"]}}}``.
        store: Run store to record every evaluation in and to resume from.
        name: Search name in ``store`` (required with a store).
        progress: Show a progress bar over the budget (on stderr).

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
    run: dict[str, Any] = {"store": store, "name": name, "progress": progress}
    if method == "random":
        return run_random(space, evaluate, config, **run)
    if method == "autobuild-nas":
        if candidates is None:
            raise ConfigError(
                "'autobuild-nas' needs `candidates`: the per-unit candidate lists of a reduced "
                "space (ReducedSpace.candidates)."
            )
        return run_search(space, candidates, evaluate, config, **run)
    if method == "stage-full":
        return run_search(space, full_candidates(space), evaluate, config, **run)
    if method == "layer-insight" and insight is None:
        raise ConfigError(
            "'layer-insight' needs `insight`: per-stage restrictions, e.g. "
            '{"s1": {"max_layers": 3, "layer": {"op": ["mb6_k5"]}}}.'
        )
    return run_layer_search(space, evaluate, config, insight=insight, **run)


def run_layer_search(
    space: SearchSpace,
    evaluate: EvaluateFn,
    config: SearchConfig,
    *,
    insight: Mapping[str, Mapping[str, Any]] | None = None,
    store: BaseRunStore | None = None,
    name: str | None = None,
    progress: bool = False,
) -> SearchResult:
    """NSGA-II with layer-level genome and mutation (``layer-full``; ``layer-insight``).

    ``config.mutation_prob`` is the probability that a stage mutates (at least one does;
    ``insight`` may set it per stage), ``config.crossover_prob`` that of uniform crossover
    of the genome vectors.

    Args:
        space: The search space (enumerable layer features).
        evaluate: ``evaluate(archs) -> records``.
        config: Objectives, budget, operator probabilities, seed and constraints.
        insight: Per-stage restrictions (:func:`~autobuild.search.layer.check_insight`);
            ``None`` searches the whole space.
        store: Run store.
        name: Search name in ``store``.
        progress: Show a progress bar over the budget (on stderr).

    Returns:
        The archive of unique evaluations and its Pareto front.

    Raises:
        ConfigError: Invalid arguments or restrictions.
    """
    p_mut = _check_config(config).mutation_prob
    rules = None if insight is None else check_insight(space, insight)
    genome = LayerGenome(space, p_mut, rules)
    return _search(space, genome, evaluate, config, store=store, name=name, progress=progress)


def run_random(
    space: SearchSpace,
    evaluate: EvaluateFn,
    config: SearchConfig,
    *,
    store: BaseRunStore | None = None,
    name: str | None = None,
    progress: bool = False,
) -> SearchResult:
    """Evaluate unique uniform random architectures (:meth:`SearchSpace.sample`).

    The budget is ``config.budget``; architectures are evaluated in batches of
    ``config.initial`` then ``config.batch``, each evaluation recorded as it arrives (see
    :func:`~autobuild.search.nsga.run_search`). A space smaller than the budget is evaluated
    completely, with a warning. The operator probabilities of ``config`` are unused.

    Args:
        space: The search space.
        evaluate: ``evaluate(archs) -> records``.
        config: Objectives, budget, seed (the same seed draws the same architectures) and
            constraints; ``globals_`` must be ``None`` (global features are sampled with the
            rest of each architecture).
        store: Run store.
        name: Search name in ``store``.
        progress: Show a progress bar over the budget (on stderr).

    Returns:
        The archive of unique evaluations and its Pareto front.

    Raises:
        ConfigError: Invalid arguments, or ``config.globals_`` set.
    """
    if _check_config(config).globals_ is not None:
        raise ConfigError(
            "'random' samples global features with the architecture; leave the "
            f"configuration's `globals_` at None, got {config.globals_!r}."
        )
    budget, seed = config.budget, config.seed
    objs = list(config.objectives)
    run_store, search_id = _open_search(
        store, name, space, {"method": "random", **config.stored()}, seed
    )
    archs = space.sample(min(budget, space.size()), seed=np.random.default_rng([seed, 2]))
    bar = budget if progress else None
    archive = Evaluations(
        space, set(), evaluate, objs, run_store, search_id, bar, config.constraints
    )
    sizes = [config.initial] + [config.batch] * config.iterations
    start = 0
    for size in sizes:
        chunk = archs[start : start + size]
        if not chunk:
            break
        archive.run([(space.validate(a), space.canonical_id(a)) for a in chunk])
        start += size
    return _finish(archive, objs, budget, "the space holds no further architectures.", name)
