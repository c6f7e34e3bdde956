"""Label moments per (unit, subgraph size): the label side of AutoBuild's Eq. 5."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autobuild.exceptions import AutobuildWarning
from autobuild.spaces import Architecture, SearchSpace

__all__ = ["LabelMoments"]


@dataclass(frozen=True)
class LabelMoments:
    """Mean, population std and count of training labels per (unit, number of layers).

    ``buckets[(unit, n_layers)] = (mean, std, count)``; ``unit_moments[unit]`` pools every
    size of the unit and ``overall`` every training architecture (the fallbacks).
    """

    buckets: dict[tuple[int, int], tuple[float, float, int]]
    unit_moments: dict[int, tuple[float, float, int]]
    overall: tuple[float, float, int]

    def get(self, unit: int, n_layers: int, *, need_spread: bool = True) -> tuple[float, float]:
        """``(mean, std)`` for a bucket, borrowing what it lacks from a wider bucket.

        The fallback is the unit's moments over every size, or all training labels' when the
        unit's spread is zero too. A bucket with no training architecture takes the
        fallback's mean and spread. A bucket with architectures keeps its own mean; when
        ``need_spread`` and its spread is zero (one architecture, or identical labels), it
        borrows the fallback's spread. Either way an :class:`AutobuildWarning` names the
        bucket and what was borrowed.
        """
        mean, std, count = self.buckets.get((unit, n_layers), (math.nan, 0.0, 0))
        if count and (std > 0 or not need_spread):
            return mean, std
        fallback = self.unit_moments.get(unit)
        source = f"unit {unit}"
        if fallback is None or fallback[1] <= 0:
            fallback, source = self.overall, "all training labels"
        borrowed = "spread" if count else "mean and spread"
        warnings.warn(
            f"Label moments of unit {unit} with {n_layers} layers come from {count} training "
            f"architecture(s) with spread {std:.3g}; using the {borrowed} of {source}.",
            AutobuildWarning,
            stacklevel=3,
        )
        return (mean if count else fallback[0]), fallback[1]

    @classmethod
    def from_training(
        cls, space: SearchSpace, archs: Sequence[Architecture], y: np.ndarray
    ) -> LabelMoments:
        """Moments of the raw labels ``y`` of ``archs``, per unit and number of layers."""
        buckets: dict[tuple[int, int], list[float]] = {}
        for arch, label in zip(archs, y, strict=True):
            for u in range(space.num_units):
                n = sum(len(st) for st in space.unit_subgraph(arch, u))
                buckets.setdefault((u, n), []).append(float(label))
        per_unit: dict[int, list[float]] = {}
        for (u, _), values in buckets.items():
            per_unit.setdefault(u, []).extend(values)
        return cls(
            {k: _moments(v) for k, v in sorted(buckets.items())},
            {u: _moments(v) for u, v in sorted(per_unit.items())},
            _moments(y),
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable form (stored in checkpoints)."""
        return {
            "buckets": [
                {"unit": u, "n_layers": n, "mean": m, "std": s, "count": c}
                for (u, n), (m, s, c) in self.buckets.items()
            ],
            "units": [
                {"unit": u, "mean": m, "std": s, "count": c}
                for u, (m, s, c) in self.unit_moments.items()
            ],
            "overall": list(self.overall),
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> LabelMoments:
        """Inverse of :meth:`to_json`."""
        return cls(
            {
                (int(b["unit"]), int(b["n_layers"])): (
                    float(b["mean"]),
                    float(b["std"]),
                    int(b["count"]),
                )
                for b in obj["buckets"]
            },
            {
                int(b["unit"]): (float(b["mean"]), float(b["std"]), int(b["count"]))
                for b in obj["units"]
            },
            (float(obj["overall"][0]), float(obj["overall"][1]), int(obj["overall"][2])),
        )


def _moments(values: Sequence[float] | np.ndarray) -> tuple[float, float, int]:
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), float(arr.std()), len(arr)
