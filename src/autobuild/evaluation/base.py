"""The evaluator protocol: architectures in, named metrics with directions out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from autobuild._validation import check_int
from autobuild.exceptions import ConfigError, EvaluationError
from autobuild.spaces import Architecture, SearchSpace

__all__ = ["DIRECTIONS", "BaseEvaluator", "Metric", "Record"]

#: One evaluation: metric name -> value.
Record = dict[str, float]
DIRECTIONS = ("max", "min")


@dataclass(frozen=True, slots=True)
class Metric:
    """A metric an evaluator produces.

    Attributes:
        name: Column name, e.g. ``"mean_acc"`` or ``"latency_cpu_ms"``.
        direction: ``"max"`` if higher is better, ``"min"`` if lower is better.
        unit: Unit for display, e.g. ``"%"``, ``"ms"``, ``"MFLOPs"``.
    """

    name: str
    direction: str
    unit: str = ""

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ConfigError(
                f"Metric {self.name!r}: `direction` must be 'max' or 'min', got "
                f"{self.direction!r}."
            )


class BaseEvaluator(ABC):
    """Evaluates architectures of one space; subclasses implement :meth:`_evaluate`.

    :meth:`evaluate` validates the architectures, evaluates each distinct one once, in
    batches of ``batch_size``, and checks that every record has every metric.

    Args:
        space: The search space.
        batch_size: Architectures per call of :meth:`_evaluate`.
    """

    #: The metrics every record holds.
    metrics: tuple[Metric, ...] = ()

    def __init__(self, space: SearchSpace, batch_size: int = 256) -> None:
        check_int("batch_size", batch_size, low=1)
        self.space = space
        self.batch_size = batch_size

    @property
    def metric_names(self) -> list[str]:
        """Names of :attr:`metrics`."""
        return [m.name for m in self.metrics]

    def direction(self, name: str) -> str:
        """``"max"`` or ``"min"`` for metric ``name``."""
        for m in self.metrics:
            if m.name == name:
                return m.direction
        raise ConfigError(f"Unknown metric {name!r}; this evaluator gives {self.metric_names}.")

    def evaluate(self, archs: Sequence[Architecture]) -> list[Record]:
        """One record per architecture, in order.

        Each distinct architecture (after :meth:`SearchSpace.parse`, so one network under
        two ids or forms counts once) is passed to :meth:`_evaluate` once, in order of
        first appearance; its repeats get equal copies of its record. A measurement is
        thus not repeated, and a batched model cannot give one architecture two values.

        Args:
            archs: Architectures, in any form :meth:`SearchSpace.parse` accepts.

        Returns:
            ``len(archs)`` records, the ``i``-th one of ``archs[i]``.

        Raises:
            SearchSpaceError: An architecture outside the space.
            EvaluationError: An architecture the evaluator cannot evaluate.
        """
        first: dict[Architecture, int] = {}
        where = [first.setdefault(self.space.parse(a), len(first)) for a in archs]
        unique = list(first)
        evaluated: list[Record] = []
        for lo in range(0, len(unique), self.batch_size):
            chunk = unique[lo : lo + self.batch_size]
            records = self._evaluate(chunk)
            if len(records) != len(chunk):
                raise EvaluationError(
                    f"{type(self).__name__} returned {len(records)} records for {len(chunk)} "
                    "architectures."
                )
            for rec in records:
                missing = [m for m in self.metric_names if m not in rec]
                if missing:
                    raise EvaluationError(f"{type(self).__name__} left out metric(s) {missing}.")
            evaluated.extend(records)
        given = [False] * len(unique)
        out: list[Record] = []
        for i in where:
            out.append(dict(evaluated[i]) if given[i] else evaluated[i])
            given[i] = True
        return out

    @abstractmethod
    def _evaluate(self, archs: Sequence[Architecture]) -> list[Record]:
        """One record per architecture, in order, of validated distinct architectures (at
        most ``batch_size``)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(space={self.space.name!r}, metrics={self.metric_names})"
