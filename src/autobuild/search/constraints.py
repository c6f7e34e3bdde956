"""Constraints of a search: bounds on metrics an evaluator gives (e.g. latency <= 5 ms).

A constrained search still proposes and evaluates any architecture of its space; an
evaluation that breaks a bound is *infeasible*: its total violation is pymoo's constraint
violation (NSGA-II's constrained domination puts every feasible evaluation before it), and
it never enters the Pareto front, the hypervolume or ``pareto.csv``. Violations are
measured in the metric's own units and summed over the constraints.

Example:
    >>> c = Constraint.parse("latency_cpu_ms<=5")
    >>> c, c.violation(6.5), c.violation(4.0)
    (Constraint(metric='latency_cpu_ms', op='<=', bound=5.0), 1.5, 0.0)
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from autobuild.exceptions import ConfigError

__all__ = ["Constraint", "check_constraints"]

_FORM = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(<=|>=)\s*(\S+)\s*$")


@dataclass(frozen=True)
class Constraint:
    """``metric <= bound`` or ``metric >= bound``.

    Attributes:
        metric: Name of a metric the evaluator gives (need not be an objective).
        op: ``"<="`` or ``">="``.
        bound: The bound, in the metric's units.
    """

    metric: str
    op: str
    bound: float

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise ConfigError(f"A constraint needs a metric name, got {self.metric!r}.")
        if self.op not in ("<=", ">="):
            raise ConfigError(f"Constraint operator must be '<=' or '>=', got {self.op!r}.")
        if isinstance(self.bound, bool) or not isinstance(self.bound, int | float):
            raise ConfigError(f"Constraint bound must be a number, got {self.bound!r}.")
        if not math.isfinite(self.bound):
            raise ConfigError(f"Constraint bound must be finite, got {self.bound!r}.")
        object.__setattr__(self, "bound", float(self.bound))

    @classmethod
    def parse(cls, text: str) -> Constraint:
        """Read ``"metric<=bound"`` or ``"metric>=bound"`` (e.g. ``"flops<=5e7"``).

        Raises:
            ConfigError: Text of another form.
        """
        match = _FORM.match(text) if isinstance(text, str) else None
        if match is None:
            raise ConfigError(
                f"A constraint reads METRIC<=BOUND or METRIC>=BOUND, e.g. latency_cpu_ms<=5; "
                f"got {text!r}."
            )
        name, op, bound = match.groups()
        try:
            value = float(bound)
        except ValueError:
            raise ConfigError(f"Constraint {text!r}: bound {bound!r} is not a number.") from None
        return cls(name, op, value)

    def violation(self, value: float) -> float:
        """How far ``value`` is outside the bound (``0`` when it satisfies it)."""
        gap = value - self.bound if self.op == "<=" else self.bound - value
        return max(0.0, float(gap))

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.bound!r}"


def check_constraints(constraints: Sequence[Constraint | str] | None) -> tuple[Constraint, ...]:
    """Constraints from :class:`Constraint` objects or their text form.

    Raises:
        ConfigError: A malformed constraint, or a plain string instead of a sequence.
    """
    if constraints is None:
        return ()
    if isinstance(constraints, str | Constraint):
        raise ConfigError(
            f"`constraints` must be a sequence of constraints, got {constraints!r}; wrap it in "
            "a list."
        )
    return tuple(c if isinstance(c, Constraint) else Constraint.parse(c) for c in constraints)
