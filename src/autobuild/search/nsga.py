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
    ``initial + iterations * batch`` unique evaluations (250 by default), met exactly when the
    space holds that many architectures. When pymoo's mating cannot produce enough new
    children, more are made by mutating members of the population (a capped number of
    tries), then, in spaces of at most :data:`MAX_FILL_ENUMERATION` genomes, by taking
    not-yet-evaluated architectures in a seeded random order. A search whose space is
    exhausted (or where no new child can be found) stops early with an
    :class:`~autobuild.exceptions.AutobuildWarning`; it never loops forever.

Failures:
    If the ``evaluate`` callable raises an :class:`Exception` for a batch, the architectures
    of the batch it has not reported yet are evaluated one at a time; an architecture whose
    evaluation raises, lacks an objective metric or gives a non-finite objective is recorded
    as ``"failed"`` with its error text. Failed architectures count towards the budget, are
    never proposed again, are infeasible for pymoo (constraint violation 1) and are excluded
    from the Pareto front. ``KeyboardInterrupt`` and other non-``Exception`` errors propagate
    (a killed search).

Resume:
    With a :class:`~autobuild.search.storage.RunStore`, every evaluation is committed to the
    store the moment it finishes: ``evaluate`` objects with an ``as_completed(archs)`` method
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
    >>> from autobuild.search.nsga import full_candidates, run_search
    >>> space = ab.spaces.get("nasbench-macro")
    >>> def evaluate(archs):
    ...     out = []
    ...     for a in archs:
    ...         ops = [layer[0] for stage in a.stages for layer in stage]
    ...         out.append({"acc": ops.count("mb6_k5") + 0.1 * len(ops), "cost": len(ops)})
    ...     return out
    >>> result = run_search(space, full_candidates(space), evaluate,
    ...                     [("acc", "max"), ("cost", "min")], initial=10, iterations=2,
    ...                     batch=5)
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
from autobuild.search.constraints import Constraint, check_constraints
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
from autobuild.search.storage import RunStore
from autobuild.spaces import SearchSpace, Subgraph, Value

__all__ = [
    "MAX_FILL_ENUMERATION",
    "Objective",
    "SearchResult",
    "full_candidates",
    "pareto_indices",
    "run_search",
]

logger = logging.getLogger(__name__)


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"`{name}` must be an integer >= {low}, got {value!r}.")
    return value


def _check_prob(value: Any, name: str, low_open: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"`{name}` must be a number in [0, 1], got {value!r}.")
    x = float(value)
    ok = (0.0 < x <= 1.0) if low_open else (0.0 <= x <= 1.0)
    if not ok:
        bounds = "(0, 1]" if low_open else "[0, 1]"
        raise ConfigError(f"`{name}` must be in {bounds}, got {value!r}.")
    return x


def _check_objectives(objectives: Sequence[Objective]) -> list[Objective]:
    out: list[Objective] = []
    for obj in objectives:
        if (
            not isinstance(obj, tuple | list)
            or len(obj) != 2
            or not isinstance(obj[0], str)
            or obj[1] not in ("max", "min")
        ):
            raise ConfigError(
                f"Each objective must be a (metric_name, 'max' | 'min') pair, got {obj!r}."
            )
        out.append((obj[0], obj[1]))
    names = [n for n, _ in out]
    if not out or len(set(names)) != len(names):
        raise ConfigError(f"`objectives` must name one or more distinct metrics, got {names}.")
    return out


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
    objectives: Sequence[Objective],
    *,
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
    """Run NSGA-II over per-unit candidate subgraphs with a budget of unique evaluations.

    Args:
        space: The search space.
        candidates: Per unit of ``space``, the candidate subgraphs (e.g.
            ``ReducedSpace.candidates`` or :func:`full_candidates`).
        evaluate: ``evaluate(archs) -> records``, e.g. an evaluator's ``evaluate``, or an
            executor of :func:`~autobuild.search.executors.make_evaluate` (which reports,
            and so records, each evaluation as it finishes).
        objectives: ``(metric_name, "max" | "min")`` pairs.
        globals_: Global feature values of every architecture (default: the space's
            defaults, as the sequence encoder picks them).
        initial: Size of the initial population (and of NSGA-II's population).
        iterations: Number of generations after the initial one.
        batch: Children evaluated per generation.
        mutation_prob: Probability that a unit's subgraph is swapped (at least one is).
        crossover_prob: Probability of uniform per-unit crossover for a pair of parents;
            ``0`` (default) uses mutation only.
        store: Run store to record every evaluation in (committed as it arrives) and to
            resume from.
        name: Search name in ``store`` (required with a store).
        seed: Random seed; the same seed gives the same search.
        progress: Show a progress bar over the budget (on stderr).
        constraints: Bounds on metrics (:class:`~autobuild.search.constraints.Constraint`
            or text such as ``"latency_cpu_ms<=5"``); infeasible evaluations are ranked
            behind feasible ones and kept out of the front.

    Returns:
        The archive of unique evaluations and its Pareto front.

    Raises:
        ConfigError: Invalid arguments, or ``name`` holds a different search in ``store``.
    """
    cands = _check_candidates(space, candidates)
    objs = _check_objectives(objectives)
    _check_budget(initial, iterations, batch, seed)
    p_mut = _check_prob(mutation_prob, "mutation_prob", low_open=True)
    p_cx = _check_prob(crossover_prob, "crossover_prob", low_open=False)
    return _search(
        space,
        SubgraphGenome(cands, p_mut),
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


def _constraint_config(constraints: Sequence[Constraint]) -> dict[str, Any]:
    """The constraints' part of a stored search configuration (absent when there are none,
    so unconstrained searches keep the configuration they were stored with)."""
    return {"constraints": [str(c) for c in constraints]} if constraints else {}


def _check_budget(initial: Any, iterations: Any, batch: Any, seed: Any) -> None:
    _check_int(initial, "initial", 1)
    _check_int(iterations, "iterations", 0)
    _check_int(batch, "batch", 1)
    _check_int(seed, "seed", 0)


def _default_globals(space: SearchSpace, globals_: Sequence[Value] | None) -> tuple[Value, ...]:
    if globals_ is None:
        from autobuild.encoding import SequenceGraphEncoder

        globals_ = SequenceGraphEncoder(space).default_globals()
    return tuple(globals_)


def _open_search(
    store: RunStore | None,
    name: str | None,
    space: SearchSpace,
    config: Mapping[str, Any],
    seed: int,
) -> int | None:
    """Create or resume search ``name`` in ``store``; its id (``None`` without a store)."""
    if store is None:
        return None
    if not isinstance(name, str) or not name:
        raise ConfigError("A search with a run store needs a non-empty `name`.")
    record = store.create_or_resume(
        name, space_fingerprint=space.fingerprint(), config=config, seed=seed
    )
    stored = store.count(record.id)
    if stored:
        logger.info("resuming search %r: %d evaluations in the store", name, stored)
    return record.id


def _build_algorithm(
    state: GenomeState, n_obj: int, initial: int, batch: int, crossover_prob: float, seed: int
) -> Any:
    """pymoo's NSGA-II over ``state``'s genome, set up for ask/tell (pymoo imported here)."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.core.termination import NoTermination
    from pymoo.operators.crossover.nox import NoCrossover
    from pymoo.operators.crossover.ux import UniformCrossover

    from autobuild.search.operators import ArchitectureDuplicates, GenomeMutation, GenomeSampling

    problem = Problem(
        n_var=state.genome.n_var,
        n_obj=n_obj,
        n_ieq_constr=1,
        xl=state.genome.xl,
        xu=state.genome.xu,
        vtype=int,
    )
    crossover = UniformCrossover(prob=crossover_prob) if crossover_prob > 0 else NoCrossover()
    algorithm = NSGA2(
        pop_size=initial,
        n_offsprings=batch,
        sampling=GenomeSampling(state),
        crossover=crossover,
        mutation=GenomeMutation(state),
        eliminate_duplicates=ArchitectureDuplicates(state),
        seed=seed,
    )
    algorithm.setup(problem, termination=NoTermination())
    return algorithm


def _search(
    space: SearchSpace,
    genome: Genome,
    evaluate: EvaluateFn,
    objs: list[Objective],
    *,
    globals_: Sequence[Value] | None,
    initial: int,
    iterations: int,
    batch: int,
    crossover_prob: float,
    store: RunStore | None,
    name: str | None,
    seed: int,
    progress: bool = False,
    constraints: tuple[Constraint, ...] = (),
) -> SearchResult:
    """The NSGA-II loop shared by every genome representation (arguments checked)."""
    state = GenomeState(space, genome, _default_globals(space, globals_))
    budget = initial + iterations * batch
    config = {
        **genome.config(),
        "globals": [value_text(v) for v in state.globals],
        "objectives": [list(o) for o in objs],
        "initial": initial,
        "iterations": iterations,
        "batch": batch,
        "crossover_prob": crossover_prob,
        **_constraint_config(constraints),
    }
    search_id = _open_search(store, name, space, config, seed)

    from pymoo.core.population import Population

    archive = Evaluations(
        space,
        state.known,
        evaluate,
        objs,
        store,
        search_id,
        budget if progress else None,
        constraints,
    )
    algorithm = _build_algorithm(state, len(objs), initial, batch, crossover_prob, seed)
    fill_rng = np.random.default_rng([seed, 1])
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
    return _finish(archive, objs, budget, reason, store, search_id, name)


def _finish(
    archive: Evaluations,
    objs: list[Objective],
    budget: int,
    reason: str,
    store: RunStore | None,
    search_id: int | None,
    name: str | None,
) -> SearchResult:
    """Warn about an unmet budget, close the stored search and build the result."""
    archive.close()
    if len(archive.archs) < budget:
        warnings.warn(
            f"The search stopped after {len(archive.archs)} of {budget} unique evaluations: "
            + reason,
            AutobuildWarning,
            stacklevel=4,
        )
    if store is not None and search_id is not None:
        extra = store.count(search_id) - len(archive.archs)
        if extra > 0:
            logger.warning(
                "the store holds %d evaluations of search %r that this replay did not ask for",
                extra,
                name,
            )
        store.mark_finished(search_id)

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
