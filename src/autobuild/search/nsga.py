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

import itertools
import logging
import math
import time
import warnings
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from autobuild._progress import progress_bar
from autobuild.exceptions import AutobuildWarning, ConfigError, DataError
from autobuild.search.constraints import Constraint, check_constraints
from autobuild.search.storage import RunStore
from autobuild.spaces import Architecture, SearchSpace, StageConfig, Subgraph, Value

__all__ = [
    "MAX_FILL_ENUMERATION",
    "Objective",
    "SearchResult",
    "full_candidates",
    "pareto_indices",
    "run_search",
]

logger = logging.getLogger(__name__)

#: One objective: a metric name and ``"max"`` or ``"min"``.
Objective = tuple[str, str]
#: ``evaluate(archs)``: one metrics mapping per architecture, in order, or the exception
#: that architecture's evaluation raised (the executors report failures this way). An object
#: that also has ``as_completed(archs)``, yielding ``(index, entry)`` pairs as evaluations
#: finish (:class:`~autobuild.search.executors.EvaluationExecutor`), is used through it.
EvaluateFn = Callable[[Sequence[Architecture]], Sequence[Mapping[str, float] | Exception]]

#: Largest number of genomes that is enumerated to fill a batch when mutation finds no new child.
MAX_FILL_ENUMERATION = 200_000
#: Mutation tries per missing child before falling back to enumeration (or stopping).
_TRIES_PER_CHILD = 50
_FAILED_F = 1e30
#: pymoo's constraint violation of a failed evaluation: worse than any real violation.
_FAILED_CV = 1e30


@dataclass(frozen=True)
class SearchResult:
    """Everything a search evaluated, in evaluation order, and its Pareto front.

    Attributes:
        archs: Every unique architecture evaluated, in evaluation order.
        metrics: The metrics of each (empty or partial for a failed evaluation).
        status: ``"ok"`` or ``"failed"`` for each.
        errors: Error text of each failed evaluation, ``None`` for an ok one.
        objectives: The ``(metric, direction)`` pairs searched on.
        pareto_indices: Indices (ascending) of the non-dominated ok evaluations; of several
            evaluations with identical objective vectors none dominates another, so all are
            kept.
        n_evaluated: Evaluations done by this run (the ``evaluate`` callable was called).
        n_reused: Evaluations taken from the run store instead.
        constraints: The constraints searched under (empty: none).
        violations: Total constraint violation of each evaluation (``0``: feasible; ``inf``
            for a failed one).
    """

    archs: tuple[Architecture, ...]
    metrics: tuple[dict[str, float], ...]
    status: tuple[str, ...]
    errors: tuple[str | None, ...]
    objectives: tuple[Objective, ...]
    pareto_indices: tuple[int, ...]
    n_evaluated: int
    n_reused: int
    constraints: tuple[Constraint, ...] = ()
    violations: tuple[float, ...] = ()

    @property
    def feasible(self) -> list[bool]:
        """Whether each evaluation is ok and satisfies every constraint."""
        if not self.violations:
            return [st == "ok" for st in self.status]
        return [st == "ok" and v == 0 for st, v in zip(self.status, self.violations, strict=True)]

    @property
    def pareto_archs(self) -> list[Architecture]:
        """The architectures of the Pareto front, in evaluation order."""
        return [self.archs[i] for i in self.pareto_indices]

    def objective_matrix(self, *, feasible_only: bool = True) -> np.ndarray:
        """``(n, n_objectives)`` objective values in original units.

        Rows of failed evaluations are NaN, and so are those of infeasible ones (breaking a
        constraint) unless ``feasible_only=False``; NaN rows count in no front or
        hypervolume.
        """
        out = np.full((len(self.archs), len(self.objectives)), np.nan)
        keep = self.feasible if feasible_only else [st == "ok" for st in self.status]
        for i, (rec, ok) in enumerate(zip(self.metrics, keep, strict=True)):
            if ok:
                out[i] = [rec[name] for name, _ in self.objectives]
        return out


def full_candidates(
    space: SearchSpace, *, include_empty: bool = True
) -> tuple[tuple[Subgraph, ...], ...]:
    """Every subgraph of every unit: the candidate lists of the whole space (``stage-full``).

    Args:
        space: The search space (its layer features must be lists of values).
        include_empty: Also list the empty subgraph of a unit whose stages all allow zero
            layers (:meth:`SearchSpace.enumerate_subgraphs` leaves it out because it has no
            node to score, but it is an architecture of the space).

    Returns:
        Per unit, its subgraphs in :meth:`SearchSpace.enumerate_subgraphs` order (the empty
        one last).
    """
    out = []
    for u in range(space.num_units):
        subs = list(space.enumerate_subgraphs(u))
        stages = space.units[u]
        if include_empty and all(space.stages[i].min_layers == 0 for i in stages):
            subs.append(tuple(() for _ in stages))
        out.append(tuple(subs))
    return tuple(out)


def pareto_indices(values: np.ndarray, directions: Sequence[str]) -> list[int]:
    """Indices of the non-dominated rows of ``values`` (each column maximised or minimised).

    Row ``a`` dominates row ``b`` when it is at least as good in every column and better in
    one; identical rows do not dominate each other, so all copies of a front point are kept.
    Rows containing NaN are ignored.

    Args:
        values: ``(n, k)`` objective values in original units.
        directions: ``"max"`` or ``"min"`` per column.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != len(directions):
        raise ConfigError(f"values must be (n, {len(directions)}), got shape {arr.shape}")
    sign = np.array([-1.0 if d == "max" else 1.0 for d in directions])
    valid = np.flatnonzero(~np.isnan(arr).any(axis=1))
    f = arr[valid] * sign  # minimise every column
    keep: list[int] = []
    for j in range(len(f)):
        le = np.all(f <= f[j], axis=1)
        lt = np.any(f < f[j], axis=1)
        if not np.any(le & lt):
            keep.append(int(valid[j]))
    return keep


# --------------------------------------------------------------------------- internals


def _fmt(v: Value) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _subgraph_id(sg: Subgraph) -> str:
    return "|".join(",".join(":".join(_fmt(v) for v in layer) for layer in st) for st in sg)


class _Genome(Protocol):
    """A genome representation: fixed-length integer vectors that decode to stage configs.

    ``run_search`` uses :class:`_SubgraphGenome`; the layer-level baselines plug in their own
    (:mod:`autobuild.search.layer`). Everything else (pymoo, budget, duplicates, failures,
    the run store and replay) is shared by :func:`_search`.
    """

    n_var: int
    xl: np.ndarray
    xu: np.ndarray

    @property
    def n_genomes(self) -> int:
        """Number of distinct genomes (padding aside)."""
        ...

    def decode(self, genome: tuple[int, ...]) -> tuple[StageConfig, ...]:
        """The per-stage layer configurations of ``genome``."""
        ...

    def sample(self, rng: np.random.Generator, n: int) -> Iterable[np.ndarray]:
        """A (possibly lazy) stream of genomes for an initial population of ``n``."""
        ...

    def mutate(self, genome: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A mutated copy of ``genome``."""
        ...

    def every(self) -> np.ndarray:
        """Every genome, in a deterministic order (only called when ``n_genomes`` is small)."""
        ...

    def config(self) -> dict[str, Any]:
        """JSON-able description of the genome, part of a stored search's configuration."""
        ...


class _SubgraphGenome:
    """One index per unit into that unit's candidate subgraphs."""

    def __init__(self, candidates: Sequence[Sequence[Subgraph]], mutation_prob: float) -> None:
        self.candidates = [tuple(c) for c in candidates]
        self.sizes = np.array([len(c) for c in self.candidates], dtype=np.int64)
        self.mutation_prob = mutation_prob
        self.n_var = len(self.sizes)
        self.xl = np.zeros(self.n_var)
        self.xu = (self.sizes - 1).astype(np.float64)

    @property
    def n_genomes(self) -> int:
        return math.prod(int(s) for s in self.sizes)

    def decode(self, genome: tuple[int, ...]) -> tuple[StageConfig, ...]:
        stages: list[StageConfig] = []
        for cands, i in zip(self.candidates, genome, strict=True):
            stages.extend(cands[i])
        return tuple(stages)

    def random_genome(self, rng: np.random.Generator) -> np.ndarray:
        return np.array([int(rng.integers(s)) for s in self.sizes], dtype=np.int64)

    def sample(self, rng: np.random.Generator, n: int) -> Iterable[np.ndarray]:
        if self.n_genomes <= MAX_FILL_ENUMERATION:
            every = self.every()
            order = rng.permutation(len(every))
            return (every[i] for i in order)
        return (self.random_genome(rng) for _ in range(_TRIES_PER_CHILD * n))

    def mutate(self, genome: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = np.array(genome, dtype=np.int64, copy=True)
        movable = np.flatnonzero(self.sizes > 1)
        if len(movable) == 0:
            return out
        chosen = movable[rng.random(len(movable)) < self.mutation_prob]
        if len(chosen) == 0:
            chosen = np.array([movable[int(rng.integers(len(movable)))]])
        for u in chosen:
            step = int(rng.integers(1, int(self.sizes[u])))  # any index but the current one
            out[u] = (out[u] + step) % self.sizes[u]
        return out

    def every(self) -> np.ndarray:
        return np.array(list(itertools.product(*(range(int(s)) for s in self.sizes))))

    def config(self) -> dict[str, Any]:
        return {
            "method": "nsga2",
            "candidates": [[_subgraph_id(sg) for sg in c] for c in self.candidates],
            "mutation_prob": self.mutation_prob,
        }


class _State:
    """A genome, decoding to architectures and the set of ids already taken (for operators)."""

    def __init__(self, space: SearchSpace, genome: _Genome, globals_: tuple[Value, ...]) -> None:
        self.space = space
        self.genome = genome
        self.globals = globals_
        self.known: set[str] = set()
        self._cache: dict[tuple[int, ...], tuple[Architecture, str]] = {}

    @property
    def n_genomes(self) -> int:
        return self.genome.n_genomes

    def decode(self, genome: Iterable[Any]) -> tuple[Architecture, str]:
        key = tuple(int(g) for g in genome)
        hit = self._cache.get(key)
        if hit is None:
            stages = self.genome.decode(key)
            arch = self.space.validate(Architecture(stages, self.globals))
            hit = (arch, self.space.canonical_id(arch))
            self._cache[key] = hit
        return hit

    def key(self, genome: Iterable[Any]) -> str:
        return self.decode(genome)[1]

    def mutate(self, genome: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.genome.mutate(genome, rng)

    def unique_new(
        self, genomes: Iterable[np.ndarray], limit: int, taken: set[str] | None = None
    ) -> list[np.ndarray]:
        """Genomes (in order) of new, distinct architectures, at most ``limit``.

        ``taken`` holds keys to skip as well; the keys of the genomes returned are added.
        """
        taken = set() if taken is None else taken
        out: list[np.ndarray] = []
        for g in genomes:
            if len(out) >= limit:
                break
            k = self.key(g)
            if k not in self.known and k not in taken:
                taken.add(k)
                out.append(np.asarray(g, dtype=np.int64))
        return out

    def enumerate_new(self, rng: np.random.Generator, limit: int) -> list[np.ndarray]:
        """Up to ``limit`` genomes of not-yet-taken architectures, in a seeded random order."""
        every = self.genome.every()
        order = rng.permutation(len(every))
        return self.unique_new((every[i] for i in order), limit)


def _build_algorithm(
    state: _State, n_obj: int, initial: int, batch: int, crossover_prob: float, seed: int
) -> Any:
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.duplicate import DuplicateElimination
    from pymoo.core.mutation import Mutation
    from pymoo.core.problem import Problem
    from pymoo.core.sampling import Sampling
    from pymoo.core.termination import NoTermination
    from pymoo.operators.crossover.nox import NoCrossover
    from pymoo.operators.crossover.ux import UniformCrossover

    class _Sampling(Sampling):
        def _do(
            self, problem: Any, n_samples: int, *args: Any, random_state: Any = None, **kwargs: Any
        ) -> np.ndarray:
            picks = state.unique_new(state.genome.sample(random_state, n_samples), n_samples)
            return np.array(picks, dtype=np.int64).reshape(len(picks), state.genome.n_var)

    class _Mutation(Mutation):
        def _do(
            self, problem: Any, X: np.ndarray, *args: Any, random_state: Any = None, **kwargs: Any
        ) -> np.ndarray:
            out = np.array(X, dtype=np.int64, copy=True)
            for i in range(len(out)):
                child = state.mutate(out[i], random_state)
                for _ in range(_TRIES_PER_CHILD - 1):  # prefer a child not yet evaluated
                    if state.key(child) not in state.known:
                        break
                    child = state.mutate(out[i], random_state)
                out[i] = child
            return out

    class _Duplicates(DuplicateElimination):
        def _do(self, pop: Any, other: Any, is_duplicate: np.ndarray) -> np.ndarray:
            keys = [state.key(x) for x in pop.get("X")]
            if other is None:
                seen: set[str] = set()
                for i, k in enumerate(keys):
                    if k in seen or k in state.known:
                        is_duplicate[i] = True
                    seen.add(k)
            else:
                others = {state.key(x) for x in other.get("X")}
                for i, k in enumerate(keys):
                    if k in others:
                        is_duplicate[i] = True
            return is_duplicate

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
        sampling=_Sampling(),
        crossover=crossover,
        mutation=_Mutation(),
        eliminate_duplicates=_Duplicates(),
        seed=seed,
    )
    algorithm.setup(problem, termination=NoTermination())
    return algorithm


class _Evaluations:
    """The archive: evaluates (or replays from the store) and records architectures."""

    def __init__(
        self,
        space: SearchSpace,
        known: set[str],
        evaluate: EvaluateFn,
        objectives: Sequence[Objective],
        store: RunStore | None,
        search_id: int | None,
        progress: int | None = None,
        constraints: Sequence[Constraint] = (),
    ) -> None:
        self.space = space
        self.known = known
        self.evaluate = evaluate
        self.objectives = list(objectives)
        self.constraints = tuple(constraints)
        self.violations: list[float] = []
        self.store = store
        self.search_id = search_id
        self.archs: list[Architecture] = []
        self.metrics: list[dict[str, float]] = []
        self.status: list[str] = []
        self.errors: list[str | None] = []
        self.n_evaluated = 0
        self.n_reused = 0
        self.bar: Any = progress_bar(
            progress or 0, progress is not None, desc="evaluations", unit="arch"
        )

    def close(self) -> None:
        """Close the progress bar."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def run(self, decoded: Sequence[tuple[Architecture, str]]) -> tuple[np.ndarray, np.ndarray]:
        """Evaluate ``(arch, id)`` pairs (new, distinct architectures).

        Architectures found in the store are taken from it; the others are evaluated, each
        committed to the store as soon as its result arrives. The rows come back in the
        order of ``decoded`` whatever order the evaluations finished in.

        Returns:
            pymoo's ``F`` (objectives as costs; :data:`_FAILED_F` for failed rows) and the
            constraint violation of each row (:data:`_FAILED_CV` for failed ones).
        """
        results: dict[str, tuple[dict[str, float], str, str | None]] = {}
        todo: list[tuple[Architecture, str]] = []
        for arch, key in decoded:
            rec = None
            if self.store is not None and self.search_id is not None:
                rec = self.store.lookup(self.search_id, key)
            if rec is not None:
                results[key] = (rec.metrics, rec.status, rec.error)
                self.n_reused += 1
            else:
                todo.append((arch, key))
        self._advance(len(decoded) - len(todo))
        if todo:
            for (_arch, key), outcome in zip(todo, self._evaluate_new(todo), strict=True):
                results[key] = outcome
        f = np.empty((len(decoded), len(self.objectives)))
        cv = np.empty(len(decoded))
        for i, (arch, key) in enumerate(decoded):
            metrics, status, error = results[key]
            self.known.add(key)
            self.archs.append(arch)
            self.metrics.append(dict(metrics))
            self.status.append(status)
            self.errors.append(error)
            if status == "ok":
                f[i] = [
                    -metrics[name] if d == "max" else metrics[name] for name, d in self.objectives
                ]
                cv[i] = sum(c.violation(metrics[c.metric]) for c in self.constraints)
            else:
                f[i] = _FAILED_F
                cv[i] = _FAILED_CV
            self.violations.append(float(cv[i]) if status == "ok" else math.inf)
        return f, cv

    def _advance(self, n: int) -> None:
        """Move the progress bar on by ``n`` architectures."""
        if self.bar is not None and n:
            self.bar.update(n)
            self.bar.set_postfix(new=self.n_evaluated, stored=self.n_reused, refresh=False)

    def _evaluate_new(
        self, todo: Sequence[tuple[Architecture, str]]
    ) -> list[tuple[dict[str, float], str, str | None]]:
        """Evaluate ``todo`` and record each outcome as it arrives; outcomes in input order.

        If ``evaluate`` raises (or leaves architectures out), the architectures it has not
        reported are evaluated one at a time; a single architecture that fails so is
        recorded as failed with the error.
        """
        outcomes: dict[int, tuple[dict[str, float], str, str | None]] = {}
        start = time.time()
        failure: Exception | None = None
        stream = _stream(self.evaluate, [a for a, _ in todo])
        try:
            while True:
                try:
                    i, rec = next(stream)
                except StopIteration:
                    break
                except Exception as exc:
                    failure = exc
                    break
                if not isinstance(i, int) or not 0 <= i < len(todo) or i in outcomes:
                    failure = DataError(
                        f"evaluate reported index {i!r} for a batch of {len(todo)} "
                        "architectures; each index 0..n-1 must come once"
                    )
                    break
                outcome = self._check(rec)
                self._record(*todo[i], outcome, start, time.time())
                outcomes[i] = outcome
        finally:
            stream.close()
        left = [i for i in range(len(todo)) if i not in outcomes]
        if left:
            if failure is None:
                failure = DataError(
                    f"evaluate returned {len(outcomes)} records for {len(todo)} architectures"
                )
            if len(todo) == 1:
                outcome = ({}, "failed", _error_text(failure))
                self._record(*todo[0], outcome, start, time.time())
                return [outcome]
            logger.warning(
                "evaluating a batch of %d architectures failed (%s); evaluating the %d not "
                "done yet one at a time",
                len(todo),
                _error_text(failure),
                len(left),
            )
            for i in left:
                outcomes[i] = self._evaluate_new([todo[i]])[0]
        return [outcomes[i] for i in range(len(todo))]

    def _check(
        self, rec: Mapping[str, Any] | Exception
    ) -> tuple[dict[str, float], str, str | None]:
        if isinstance(rec, Exception):  # an executor's per-architecture failure
            return {}, "failed", _error_text(rec)
        if not isinstance(rec, Mapping):
            return {}, "failed", f"evaluate returned {rec!r}, not a mapping of metrics"
        clean: dict[str, float] = {}
        problems: list[str] = []
        for k, v in rec.items():
            try:
                x = float(v)
            except (TypeError, ValueError):
                problems.append(f"metric {k!r} is {v!r}, not a number")
                continue
            if math.isfinite(x):
                clean[str(k)] = x
            else:
                problems.append(f"metric {k!r} is {x!r}")
        missing = [name for name, _ in self.objectives if name not in clean]
        if missing:
            return (
                clean,
                "failed",
                "; ".join([*problems, f"no finite value for objective(s) {missing}"]),
            )
        unbound = [c.metric for c in self.constraints if c.metric not in clean]
        if unbound:
            return (
                clean,
                "failed",
                "; ".join([*problems, f"no finite value for constraint metric(s) {unbound}"]),
            )
        return clean, "ok", None

    def _record(
        self,
        arch: Architecture,
        key: str,
        outcome: tuple[dict[str, float], str, str | None],
        start: float,
        finished: float,
    ) -> None:
        self.n_evaluated += 1
        metrics, status, error = outcome
        if status == "failed":
            logger.warning("evaluation of %s failed: %s", key, error)
        if self.store is not None and self.search_id is not None:
            self.store.record(
                self.search_id,
                key,
                self.space.to_json(arch),
                metrics,
                status="ok" if status == "ok" else "failed",
                error=error,
                started_at=start,
                finished_at=finished,
            )
        self._advance(1)


def _stream(
    evaluate: EvaluateFn, archs: Sequence[Architecture]
) -> Generator[tuple[int, Mapping[str, float] | Exception], None, None]:
    """``(index, entry)`` pairs of ``evaluate`` on ``archs``, each as soon as it is known.

    Uses ``evaluate.as_completed`` when there is one; otherwise one call of ``evaluate``,
    whose entries all arrive when it returns (checked to be one per architecture).
    """
    as_completed = getattr(evaluate, "as_completed", None)
    if callable(as_completed):
        yield from as_completed(archs)
        return
    records = list(evaluate(archs))
    if len(records) != len(archs):
        raise DataError(f"evaluate returned {len(records)} records for {len(archs)} architectures")
    yield from enumerate(records)


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if text.strip() else type(exc).__name__


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
        _SubgraphGenome(cands, p_mut),
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


def _search(
    space: SearchSpace,
    genome: _Genome,
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
    state = _State(space, genome, _default_globals(space, globals_))
    budget = initial + iterations * batch
    config = {
        **genome.config(),
        "globals": [_fmt(v) for v in state.globals],
        "objectives": [list(o) for o in objs],
        "initial": initial,
        "iterations": iterations,
        "batch": batch,
        "crossover_prob": crossover_prob,
        **_constraint_config(constraints),
    }
    search_id = _open_search(store, name, space, config, seed)

    from pymoo.core.population import Population

    archive = _Evaluations(
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
    archive: _Evaluations,
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
    state: _State,
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
            for _ in range(_TRIES_PER_CHILD * missing)
        )
        out += state.unique_new(tries, missing, taken)
    if len(out) < missing and state.n_genomes <= MAX_FILL_ENUMERATION:
        every = state.enumerate_new(rng, missing + len(taken))
        out += state.unique_new(every, missing - len(out), taken)
    return out
