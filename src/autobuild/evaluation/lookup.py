"""Evaluation by table lookup: a labelled dataset answers for the architectures it holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from autobuild.data import LabeledData
from autobuild.evaluation.base import BaseEvaluator, Metric, Record
from autobuild.exceptions import ConfigError, EvaluationError
from autobuild.spaces import Architecture

__all__ = ["LookupEvaluator"]


class LookupEvaluator(BaseEvaluator):
    """Looks architectures up in a labelled dataset (e.g. NAS-Bench-Macro).

    Args:
        data: The table.
        directions: Metric name -> ``"max"``/``"min"`` for the metrics to report (every
            metric of the table, as ``"max"``, when ``None``).
        units: Optional metric name -> unit.

    Example:
        >>> import autobuild as ab
        >>> table = ab.data.load_nasbench_macro()  # doctest: +SKIP
        >>> ev = LookupEvaluator(table, {"mean_acc": "max", "flops": "min"})  # doctest: +SKIP
    """

    def __init__(
        self,
        data: LabeledData,
        directions: Mapping[str, str] | None = None,
        units: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(data.space, batch_size=4096)
        directions = dict(directions or {n: "max" for n in data.metric_names})
        unknown = sorted(set(directions) - set(data.metric_names))
        if unknown:
            raise ConfigError(
                f"Metric(s) {unknown} are not in {data.source or 'the table'}; it has "
                f"{data.metric_names}."
            )
        self.metrics = tuple(Metric(n, d, (units or {}).get(n, "")) for n, d in directions.items())
        self._rows = {a: i for i, a in enumerate(data.archs)}
        self._data = data

    def _evaluate(self, archs: Sequence[Architecture]) -> list[Record]:
        out = []
        for arch in archs:
            i = self._rows.get(arch)
            if i is None:
                raise EvaluationError(
                    f"Architecture {self.space.arch_id(arch)!r} is not in "
                    f"{self._data.source or 'the table'}; a lookup evaluator only knows the "
                    f"{len(self._rows)} architectures it holds."
                )
            out.append({m.name: float(self._data.metrics[m.name][i]) for m in self.metrics})
        return out
