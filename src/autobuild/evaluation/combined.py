"""Several evaluators as one: each gives its own metrics, records are merged per architecture."""

from __future__ import annotations

from collections.abc import Sequence

from autobuild.evaluation.base import BaseEvaluator, Record
from autobuild.exceptions import ConfigError
from autobuild.spaces import Architecture

__all__ = ["CombinedEvaluator"]


class CombinedEvaluator(BaseEvaluator):
    """The metrics of several evaluators of one space, e.g. looked-up accuracy and latency.

    Every architecture goes to every evaluator; a record holds the union of their records
    (extra keys such as a latency's inter-quartile range included). The metrics, in order,
    are those of the evaluators, in order.

    Args:
        evaluators: At least one evaluator; all of the same space, no metric name twice.

    Raises:
        ConfigError: No evaluators, evaluators of different spaces, or a metric two of them
            give.

    Example:
        >>> from autobuild.evaluation import CombinedEvaluator, LookupEvaluator
        >>> # CombinedEvaluator([LookupEvaluator(table, {"mean_acc": "max"}),
        >>> #                    CachedEvaluator(LatencyEvaluator(space), "lat.sqlite")])
    """

    def __init__(self, evaluators: Sequence[BaseEvaluator]) -> None:
        evaluators = list(evaluators)
        if not evaluators:
            raise ConfigError("CombinedEvaluator needs at least one evaluator.")
        for ev in evaluators:
            if not isinstance(ev, BaseEvaluator):
                raise ConfigError(
                    f"CombinedEvaluator combines BaseEvaluator objects, got {type(ev).__name__}."
                )
        space = evaluators[0].space
        for ev in evaluators[1:]:
            if ev.space.fingerprint() != space.fingerprint():
                raise ConfigError(
                    f"{ev!r} evaluates space {ev.space.name!r}, not {space.name!r}: combined "
                    "evaluators must share one space."
                )
        seen: dict[str, BaseEvaluator] = {}
        for ev in evaluators:
            for name in ev.metric_names:
                if name in seen:
                    raise ConfigError(
                        f"Metric {name!r} is given by both {seen[name]!r} and {ev!r}; drop it "
                        "from one of them."
                    )
                seen[name] = ev
        super().__init__(space, batch_size=min(ev.batch_size for ev in evaluators))
        self.evaluators = evaluators
        self.metrics = tuple(m for ev in evaluators for m in ev.metrics)

    def _evaluate(self, archs: Sequence[Architecture]) -> list[Record]:
        out: list[Record] = [{} for _ in archs]
        for ev in self.evaluators:
            for merged, rec in zip(out, ev.evaluate(archs), strict=True):
                for key, value in rec.items():
                    if key in ev.metric_names:  # a metric beats another's extra key
                        merged[key] = value
                    else:
                        merged.setdefault(key, value)
        return out

    def __repr__(self) -> str:
        return f"CombinedEvaluator({self.evaluators!r})"
