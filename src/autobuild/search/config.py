"""The settings of a search: objectives, budget, operator probabilities, seed, constraints.

One :class:`SearchConfig` serves every search method (:func:`~autobuild.search.run_method`,
:func:`~autobuild.search.run_search`, :func:`~autobuild.search.run_layer_search`,
:func:`~autobuild.search.run_random`); what changes from run to run (the run store, the
search's name, the progress bar) and what one method alone needs (candidate subgraphs,
per-stage restrictions) are arguments of those functions.

Example:
    >>> config = SearchConfig([("acc", "max"), ("lat", "min")], initial=10, iterations=2,
    ...                       batch=5, constraints=["lat<=5"])
    >>> config.budget, config.objectives[1], config.constraints
    (20, ('lat', 'min'), (Constraint(metric='lat', op='<=', bound=5.0),))
    >>> config.replace(seed=3).seed
    3
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any

from autobuild.exceptions import ConfigError
from autobuild.search.constraints import Constraint, check_constraints
from autobuild.search.result import Objective
from autobuild.spaces import Value

__all__ = ["SearchConfig", "check_objectives"]


@dataclass(frozen=True)
class SearchConfig:
    """The algorithm settings of a search, checked when made.

    Attributes:
        objectives: ``(metric_name, "max" | "min")`` pairs, one or more distinct metrics
            (a list is stored as a tuple of tuples).
        initial: Size of the initial population (NSGA-II's population size; ``random``'s
            first batch).
        iterations: Generations after the initial one (``random``: further batches).
        batch: Children evaluated per generation (``random``: the size of each further
            batch).
        mutation_prob: Probability that a unit's subgraph (a stage, for the layer methods) is
            mutated; at least one always is. In ``(0, 1]``. Unused by ``random``.
        crossover_prob: Probability of uniform crossover for a pair of parents, in
            ``[0, 1]``; ``0`` (default) mutates only. Unused by ``random``.
        seed: Random seed (an integer >= 0); the same settings and seed give the same
            search.
        constraints: Bounds on metrics (:class:`~autobuild.search.constraints.Constraint`
            or text such as ``"latency_cpu_ms<=5"``); infeasible evaluations are ranked
            behind feasible ones and kept out of the front.
        globals_: Global feature values of every architecture; ``None`` (default) takes the
            space's defaults, as the sequence encoder picks them. ``random`` samples them
            with the rest of each architecture and refuses this setting.

    Raises:
        ConfigError: A setting outside its range; the message names it and the value.
    """

    objectives: tuple[Objective, ...]
    _: KW_ONLY
    initial: int = 50
    iterations: int = 4
    batch: int = 50
    mutation_prob: float = 0.5
    crossover_prob: float = 0.0
    seed: int = 0
    constraints: tuple[Constraint, ...] = ()
    globals_: tuple[Value, ...] | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # normalised values of a frozen instance
        set_(self, "objectives", check_objectives(self.objectives))
        _check_int(self.initial, "initial", 1)
        _check_int(self.iterations, "iterations", 0)
        _check_int(self.batch, "batch", 1)
        _check_int(self.seed, "seed", 0)
        set_(self, "mutation_prob", _check_prob(self.mutation_prob, "mutation_prob", True))
        set_(self, "crossover_prob", _check_prob(self.crossover_prob, "crossover_prob", False))
        set_(self, "constraints", check_constraints(self.constraints))
        if self.globals_ is not None:
            if isinstance(self.globals_, str) or not isinstance(self.globals_, Sequence):
                raise ConfigError(
                    "`globals_` must be a sequence of global feature values (or None for the "
                    f"space's defaults), got {self.globals_!r}."
                )
            set_(self, "globals_", tuple(self.globals_))

    @property
    def budget(self) -> int:
        """Unique evaluations the search makes: ``initial + iterations * batch``."""
        return self.initial + self.iterations * self.batch

    @property
    def metrics(self) -> dict[str, str]:
        """Every metric the search reads and its direction: the objectives, then each
        constraint's metric (``"min"`` for an upper bound, ``"max"`` for a lower one)."""
        out = dict(self.objectives)
        for c in self.constraints:
            out.setdefault(c.metric, "min" if c.op == "<=" else "max")
        return out

    def replace(self, **changes: Any) -> SearchConfig:
        """A copy with ``changes`` applied (and checked), e.g. ``config.replace(seed=1)``."""
        return dataclasses.replace(self, **changes)

    def stored(self) -> dict[str, Any]:
        """The settings every method records with a stored search: objectives, budget and
        constraints (absent when there are none, so unconstrained searches keep the
        configuration they were stored with)."""
        out: dict[str, Any] = {
            "objectives": [list(o) for o in self.objectives],
            "initial": self.initial,
            "iterations": self.iterations,
            "batch": self.batch,
        }
        if self.constraints:
            out["constraints"] = [str(c) for c in self.constraints]
        return out


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


def check_objectives(objectives: Any) -> tuple[Objective, ...]:
    """``objectives`` as a tuple of ``(metric, "max" | "min")`` pairs.

    Also accepts the command line's text form, ``"acc:max,latency:min"``.

    Raises:
        ConfigError: Not such pairs, a direction other than ``"max"``/``"min"``, no
            objective, or one metric named twice.

    Example:
        >>> check_objectives("acc:max,latency:min")
        (('acc', 'max'), ('latency', 'min'))
    """
    if isinstance(objectives, str):
        pairs = [item.strip().rpartition(":") for item in objectives.split(",")]
        if any(not sep or not name for name, sep, _ in pairs):
            raise ConfigError(
                "Objectives in text are METRIC:max or METRIC:min separated by commas, e.g. "
                f"'acc:max,latency:min'; got {objectives!r}."
            )
        objectives = [(name, direction) for name, _, direction in pairs]
    if not isinstance(objectives, Sequence):
        raise ConfigError(
            "`objectives` must be a sequence of (metric_name, 'max' | 'min') pairs, e.g. "
            f"[('acc', 'max'), ('latency', 'min')]; got {objectives!r}."
        )
    out: list[Objective] = []
    for obj in objectives:
        if (
            not isinstance(obj, tuple | list)
            or len(obj) != 2
            or not isinstance(obj[0], str)
            or obj[1] not in ("max", "min")
        ):
            raise ConfigError(
                f"Each objective must be a (metric_name, 'max' | 'min') pair (or "
                f"'metric:max' in text), got {obj!r}."
            )
        out.append((obj[0], obj[1]))
    names = [n for n, _ in out]
    if not out or len(set(names)) != len(names):
        raise ConfigError(f"`objectives` must name one or more distinct metrics, got {names}.")
    return tuple(out)


def _check_config(config: Any) -> SearchConfig:
    """``config`` if it is a :class:`SearchConfig` (a search function's argument)."""
    if not isinstance(config, SearchConfig):
        raise ConfigError(
            f"`config` must be a SearchConfig, got {type(config).__name__} ({config!r}); "
            "e.g. SearchConfig([('acc', 'max'), ('latency', 'min')], initial=50)."
        )
    return config
