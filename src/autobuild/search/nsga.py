"""Multi-objective evolutionary search over per-unit candidate subgraphs (NSGA-II on pymoo).

The genome of an architecture is one index per *unit* of the space into that unit's list of
candidate subgraphs (e.g. a :class:`~autobuild.construction.ReducedSpace`'s ``candidates`` for
AutoBuild-NAS, or :func:`full_candidates` for the ``stage-full`` baseline); global feature
values are fixed. pymoo runs in ask/tell mode with custom operators:

* sampling: uniform genomes whose architectures are unique and not yet evaluated;
* mutation: every unit is swapped with probability ``mutation_prob`` (at least one unit), the
  new index drawn uniformly among that unit's *other* candidates;
* crossover: uniform per unit when ``crossover_prob > 0``, otherwise a no-op;
* duplicate elimination by canonical architecture id against everything already evaluated
  (different genomes may name the same architecture, e.g. a ``concat``-mode reduced space).

This module holds :func:`run_search` and the search loop; the genomes are in
:mod:`autobuild.search.genome`, the operators in :mod:`autobuild.search.operators`, the
archive of evaluations in :mod:`autobuild.search.archive`, the result in
:mod:`autobuild.search.result` and the Pareto front in :mod:`autobuild.search.pareto`.

Budget:
    The configuration's ``budget`` (``initial + iterations * batch``, 250 by default) of
    unique evaluations, met exactly when the space holds that many architectures. When
    pymoo's mating cannot produce enough new children, more are made by mutating members
    of the population (a capped number of tries), then, in spaces of at most
    :data:`MAX_FILL_ENUMERATION` genomes, by taking not-yet-evaluated architectures in a
    seeded random order. A search whose space is exhausted (or where no new child can be
    found) stops early with an :class:`~autobuild.exceptions.AutobuildWarning`; it never
    loops forever.

Failures:
    If the ``evaluate`` callable raises an :class:`Exception` for a batch, the architectures
    of the batch it has not reported yet are evaluated one at a time; an architecture whose
    evaluation raises, lacks an objective metric or gives a non-finite objective is recorded
    as ``"failed"`` with its error text. Failed architectures count towards the budget, are
    never proposed again, are infeasible for pymoo (constraint violation 1) and are excluded
    from the Pareto front. ``KeyboardInterrupt`` and other non-``Exception`` errors propagate
    (a killed search).

Resume:
    With a run store (:class:`~autobuild.storage.BaseRunStore`), every evaluation is committed
    to it the moment it finishes: ``evaluate`` objects with an ``as_completed(archs)`` method
    (the executors of :func:`~autobuild.search.executors.make_evaluate`) report each
    architecture as soon as it is done, so a killed search loses only the evaluations in
    flight; a plain callable's batch is recorded when the call returns. Rerunning with the
    same ``name``, configuration and ``seed`` replays the seeded algorithm from the start and
    takes every architecture it asks for from the store instead of evaluating it (a batch
    found partly in the store evaluates only the rest), so nothing is evaluated twice and the
    final archive and front equal those of an uninterrupted run (given an evaluator that is a
    function of the architecture). Each batch reaches pymoo in the order it was asked for,
    whatever order its evaluations finished in.

Example:
    >>> import autobuild as ab
    >>> from autobuild.search import SearchConfig, full_candidates, run_search
    >>> space = ab.spaces.get("nasbench-macro")
    >>> def evaluate(archs):
    ...     out = []
    ...     for a in archs:
    ...         ops = [layer[0] for stage in a.stages for layer in stage]
    ...         out.append({"acc": ops.count("mb6_k5") + 0.1 * len(ops), "cost": len(ops)})
    ...     return out
    >>> config = SearchConfig([("acc", "max"), ("cost", "min")], initial=10, iterations=2,
    ...                       batch=5)
    >>> result = run_search(space, full_candidates(space), evaluate, config)
    >>> len(result.archs)
    20
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from autobuild.exceptions import AutobuildWarning, ConfigError
from autobuild.search.archive import Evaluations
from autobuild.search.config import SearchConfig, _check_config
from autobuild.search.genome import (
    MAX_FILL_ENUMERATION,
    TRIES_PER_CHILD,
    Genome,
    GenomeState,
    SubgraphGenome,
    full_candidates,
    value_text,
)
from autobuild.search.pareto import pareto_indices
from autobuild.search.result import EvaluateFn, Objective, SearchResult
from autobuild.spaces import SearchSpace, Subgraph, Value
from autobuild.storage import BaseRunStore, InMemoryRunStore

__all__ = [
    "Objective",
    "SearchResult",
    "full_candidates",
    "pareto_indices",
    "run_search",
]

logger = logging.getLogger(__name__)


def _check_candidates(
    space: SearchSpace, candidates: Sequence[Sequence[Subgraph]]
) -> list[tuple[Subgraph, ...]]:
    lists = [tuple(c) for c in candidates]
    if len(lists) != space.num_units:
        raise ConfigError(
            f"`candidates` must hold one list per unit of space {space.name!r} "
            f"({space.num_units}), got {len(lists)}."
        )
    for u, cands in enumerate(lists):
        if not cands:
            raise ConfigError(f"Unit {u} ({space.unit_name(u)}) has no candidate subgraphs.")
        width = len(space.units[u])
        for sg in cands:
            if not isinstance(sg, tuple) or len(sg) != width:
                raise ConfigError(
                    f"Candidate {sg!r} of unit {u} ({space.unit_name(u)}) must be a subgraph "
                    f"with one stage configuration per stage of the unit ({width})."
                )
    return lists


def run_search(
    space: SearchSpace,
    candidates: Sequence[Sequence[Subgraph]],
    evaluate: EvaluateFn,
    config: SearchConfig,
    *,
    store: BaseRunStore | None = None,
    name: str | None = None,
    progress: bool = False,
) -> SearchResult:
    """Run NSGA-II over per-unit candidate subgraphs with a budget of unique evaluations.

    Args:
        space: The search space.
        candidates: Per unit of ``space``, the candidate subgraphs (e.g.
            ``ReducedSpace.candidates`` or :func:`full_candidates`).
        evaluate: ``evaluate(archs) -> records``, e.g. an evaluator's ``evaluate``, or an
            executor of :func:`~autobuild.search.executors.make_evaluate` (which reports,
            and so records, each evaluation as it finishes).
        config: Objectives, budget, operator probabilities, seed and constraints.
        store: Run store to record every evaluation in (committed as it arrives) and to
            resume from.
        name: Search name in ``store`` (required with a store).
        progress: Show a progress bar over the budget (on stderr).

    Returns:
        The archive of unique evaluations and its Pareto front.

    Raises:
        ConfigError: Invalid arguments, or ``name`` holds a different search in ``store``.
    """
    cands = _check_candidates(space, candidates)
    genome = SubgraphGenome(cands, _check_config(config).mutation_prob)
    return _search(space, genome, evaluate, config, store=store, name=name, progress=progress)


def _default_globals(space: SearchSpace, globals_: Sequence[Value] | None) -> tuple[Value, ...]:
    if globals_ is None:
        from autobuild.encoding import SequenceGraphEncoder

        globals_ = SequenceGraphEncoder(space).default_globals()
    return tuple(globals_)


def _open_search(
    store: BaseRunStore | None,
    name: str | None,
    space: SearchSpace,
    config: Mapping[str, Any],
    seed: int,
) -> tuple[BaseRunStore, int]:
    """Create or resume search ``name`` in ``store``: the store and the search's id.

    A search given no store records into a fresh :class:`~autobuild.storage.InMemoryRunStore`
    (as search ``name``, default ``"search"``), so every search has a store.
    """
    if store is None:
        store, name = InMemoryRunStore(), name or "search"
    if not isinstance(name, str) or not name:
        raise ConfigError("A search with a run store needs a non-empty `name`.")
    record = store.create_or_resume(
        name, space_fingerprint=space.fingerprint(), config=config, seed=seed
    )
    stored = store.count(record.id)
    if stored:
        logger.info("resuming search %r: %d evaluations in the store", name, stored)
    return store, record.id


def _build_algorithm(state: GenomeState, config: SearchConfig) -> Any:
    """pymoo's NSGA-II over ``state``'s genome, set up for ask/tell (pymoo imported here)."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.core.termination import NoTermination
    from pymoo.operators.crossover.nox import NoCrossover
    from pymoo.operators.crossover.ux import UniformCrossover

    from autobuild.search.operators import ArchitectureDuplicates, GenomeMutation, GenomeSampling

    problem = Problem(
        n_var=state.genome.n_var,
        n_obj=len(config.objectives),
        n_ieq_constr=1,
        xl=state.genome.xl,
        xu=state.genome.xu,
        vtype=int,
    )
    p_cx = config.crossover_prob
    crossover = UniformCrossover(prob=p_cx) if p_cx > 0 else NoCrossover()
    algorithm = NSGA2(
        pop_size=config.initial,
        n_offsprings=config.batch,
        sampling=GenomeSampling(state),
        crossover=crossover,
        mutation=GenomeMutation(state),
        eliminate_duplicates=ArchitectureDuplicates(state),
        seed=config.seed,
    )
    algorithm.setup(problem, termination=NoTermination())
    return algorithm


def _search(
    space: SearchSpace,
    genome: Genome,
    evaluate: EvaluateFn,
    config: SearchConfig,
    *,
    store: BaseRunStore | None,
    name: str | None,
    progress: bool,
) -> SearchResult:
    """The NSGA-II loop shared by every genome representation (arguments checked)."""
    state = GenomeState(space, genome, _default_globals(space, config.globals_))
    objs = list(config.objectives)
    budget, initial, batch = config.budget, config.initial, config.batch
    stored = {
        **genome.config(),
        "globals": [value_text(v) for v in state.globals],
        **config.stored(),
        "crossover_prob": config.crossover_prob,
    }
    run_store, search_id = _open_search(store, name, space, stored, config.seed)

    from pymoo.core.population import Population

    archive = Evaluations(
        space,
        state.known,
        evaluate,
        objs,
        run_store,
        search_id,
        budget if progress else None,
        config.constraints,
    )
    algorithm = _build_algorithm(state, config)
    fill_rng = np.random.default_rng([config.seed, 1])
    exhausted = False
    generation = 0
    while len(archive.archs) < budget:
        need = min(initial if generation == 0 else batch, budget - len(archive.archs))
        pop = algorithm.ask()
        genomes = [] if pop is None else state.unique_new(pop.get("X"), need)
        if len(genomes) < need:
            genomes += _fill(state, algorithm, genomes, need - len(genomes), fill_rng)
        if not genomes:
            exhausted = True
            break
        infills = Population.new("X", np.array(genomes, dtype=np.int64))
        f, cv = archive.run([state.decode(g) for g in genomes])
        infills.set("F", f)
        infills.set("G", cv[:, None])
        infills.set("CV", cv[:, None])
        algorithm.tell(infills=infills)
        logger.info(
            "generation %d: %d/%d unique evaluations", generation, len(archive.archs), budget
        )
        generation += 1

    reason = (
        "the candidate space holds no further architectures."
        if exhausted and state.n_genomes <= MAX_FILL_ENUMERATION
        else "no new architecture could be found."
    )
    return _finish(archive, objs, budget, reason, name)


def _finish(
    archive: Evaluations,
    objs: list[Objective],
    budget: int,
    reason: str,
    name: str | None,
) -> SearchResult:
    """Warn about an unmet budget, close the archive's stored search and build the result."""
    archive.close()
    if len(archive.archs) < budget:
        warnings.warn(
            f"The search stopped after {len(archive.archs)} of {budget} unique evaluations: "
            + reason,
            AutobuildWarning,
            stacklevel=4,
        )
    extra = archive.store.count(archive.search_id) - len(archive.archs)
    if extra > 0:
        logger.warning(
            "the store holds %d evaluations of search %r that this replay did not ask for",
            extra,
            name,
        )
    archive.store.mark_finished(archive.search_id)

    values = np.full((len(archive.archs), len(objs)), np.nan)
    for i, (rec, v) in enumerate(zip(archive.metrics, archive.violations, strict=True)):
        if v == 0:  # ok and feasible (failed ones have an infinite violation)
            values[i] = [rec[n] for n, _ in objs]
    front = pareto_indices(values, [d for _, d in objs])
    return SearchResult(
        archs=tuple(archive.archs),
        metrics=tuple(archive.metrics),
        status=tuple(archive.status),
        errors=tuple(archive.errors),
        objectives=tuple(objs),
        pareto_indices=tuple(front),
        n_evaluated=archive.n_evaluated,
        n_reused=archive.n_reused,
        constraints=archive.constraints,
        violations=tuple(archive.violations),
    )


def _fill(
    state: GenomeState,
    algorithm: Any,
    chosen: Sequence[np.ndarray],
    missing: int,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Up to ``missing`` more new genomes: mutate population members, then enumerate."""
    taken = {state.key(g) for g in chosen}
    parents = [] if algorithm.pop is None else list(algorithm.pop.get("X"))
    out: list[np.ndarray] = []
    if parents:
        tries = (
            state.mutate(parents[int(rng.integers(len(parents)))], rng)
            for _ in range(TRIES_PER_CHILD * missing)
        )
        out += state.unique_new(tries, missing, taken)
    if len(out) < missing and state.n_genomes <= MAX_FILL_ENUMERATION:
        every = state.enumerate_new(rng, missing + len(taken))
        out += state.unique_new(every, missing - len(out), taken)
    return out
