"""What a search returns: the objectives it optimised and its archive of evaluations.

* :data:`Objective`: a ``(metric_name, "max" | "min")`` pair.
* :data:`EvaluateFn`: the ``evaluate(archs)`` callable a search evaluates architectures with.
* :class:`SearchResult`: every unique evaluation of a search, in evaluation order, and its
  Pareto front.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from autobuild.search.constraints import Constraint
from autobuild.spaces import Architecture

__all__ = ["EvaluateFn", "Objective", "SearchResult"]

#: One objective: a metric name and ``"max"`` or ``"min"``.
Objective = tuple[str, str]
#: ``evaluate(archs)``: one metrics mapping per architecture, in order, or the exception
#: that architecture's evaluation raised (the executors report failures this way). An object
#: that also has ``as_completed(archs)``, yielding ``(index, entry)`` pairs as evaluations
#: finish (:class:`~autobuild.search.executors.EvaluationExecutor`), is used through it.
EvaluateFn = Callable[[Sequence[Architecture]], Sequence[Mapping[str, float] | Exception]]


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
