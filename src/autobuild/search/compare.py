"""Compare the Pareto fronts of finished searches with one reference point.

Hypervolumes of different searches compare only when they share a reference point.
:func:`compare_fronts` reads the output folders of several searches of the same objectives
(:func:`~autobuild.search.outputs.write_search_outputs`, ``autobuild search --out``), picks
one reference point for all of them (given, or the worst value of each objective over every
search's feasible evaluations) and measures each search's front against it.

Example:
    >>> from autobuild.search.compare import compare_fronts
    >>> comparison = compare_fronts(["runs/nas", "runs/random"])  # doctest: +SKIP
    >>> [(r.name, r.hypervolume) for r in comparison.runs]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autobuild.exceptions import ConfigError
from autobuild.search.outputs import read_search_outputs
from autobuild.search.pareto import hypervolume, pareto_indices
from autobuild.search.result import Objective

__all__ = ["FrontComparison", "FrontSummary", "compare_fronts", "worst_point"]


@dataclass(frozen=True)
class FrontSummary:
    """One search of a comparison.

    Attributes:
        name: Its name (legend entry).
        values: ``(n, k)`` objective values of its feasible ok evaluations.
        front_size: Points on its Pareto front.
        hypervolume: Hypervolume of its front against the comparison's reference point.
    """

    name: str
    values: np.ndarray
    front_size: int
    hypervolume: float


@dataclass(frozen=True)
class FrontComparison:
    """Searches of the same objectives measured against one reference point.

    Attributes:
        objectives: The shared ``(metric, direction)`` pairs.
        ref_point: The reference point, one value per objective.
        runs: One summary per search, in the order given.
    """

    objectives: tuple[Objective, ...]
    ref_point: tuple[float, ...]
    runs: tuple[FrontSummary, ...]

    @property
    def directions(self) -> list[str]:
        """``"max"`` or ``"min"`` per objective."""
        return [d for _, d in self.objectives]

    def with_ref_point(self, ref_point: Sequence[float]) -> FrontComparison:
        """The same searches measured against another reference point.

        Raises:
            ConfigError: ``ref_point`` does not have one value per objective.
        """
        if len(ref_point) != len(self.objectives):
            raise ConfigError(
                f"The reference point needs {len(self.objectives)} values (one per "
                f"objective), got {list(ref_point)}."
            )
        ref = tuple(float(v) for v in ref_point)
        runs = tuple(_summary(r.name, r.values, self.directions, ref) for r in self.runs)
        return FrontComparison(self.objectives, ref, runs)


def _summary(
    name: str, values: np.ndarray, directions: Sequence[str], ref: Sequence[float]
) -> FrontSummary:
    if not len(values):
        return FrontSummary(name, values, 0, 0.0)
    front = len(pareto_indices(values, directions))
    return FrontSummary(name, values, front, hypervolume(values, directions, ref))


def worst_point(values: np.ndarray, directions: Sequence[str]) -> list[float]:
    """The worst value of each objective over ``values`` (``(n, k)``, ``n >= 1``): the
    minimum of a ``"max"`` objective, the maximum of a ``"min"`` one."""
    return [
        float(values[:, j].min() if d == "max" else values[:, j].max())
        for j, d in enumerate(directions)
    ]


def compare_fronts(
    folders: Sequence[str | Path],
    *,
    names: Sequence[str] | None = None,
    ref_point: Sequence[float] | None = None,
) -> FrontComparison:
    """Measure the fronts of several searches against one reference point.

    Args:
        folders: Output folders of searches of the same objectives.
        names: One distinct name per folder (default: the folder names).
        ref_point: The reference point, one value per objective (default:
            :func:`worst_point` over every search's feasible ok evaluations).

    Returns:
        The comparison, one :class:`FrontSummary` per folder.

    Raises:
        ConfigError: Names that are not one per folder or not distinct, searches of
            different objectives, no ok evaluation at all, or a reference point of the wrong
            length.
        DataError: A folder that is not a search's output folder.
    """
    paths = [Path(f) for f in folders]
    if not paths:
        raise ConfigError("`folders` is empty; give the output folders of the searches.")
    labels = [p.name or str(p) for p in paths] if names is None else [str(n) for n in names]
    if len(labels) != len(paths):
        raise ConfigError(f"`names` has {len(labels)} names for {len(paths)} folders.")
    if len(set(labels)) != len(labels):
        raise ConfigError(f"Legend names must differ, got {labels}; give distinct names.")
    runs = [read_search_outputs(p) for p in paths]
    objectives = runs[0][0]
    for path, (objs, _) in zip(paths, runs, strict=True):
        if objs != objectives:
            raise ConfigError(
                f"{path} optimised {objs}, {paths[0]} optimised {objectives}: only searches "
                "of the same objectives compare."
            )
    directions = [d for _, d in objectives]
    every = np.concatenate([v for _, v in runs])
    if not len(every):
        raise ConfigError("None of the searches has an ok evaluation.")
    ref = tuple(worst_point(every, directions))
    comparison = FrontComparison(
        tuple(objectives),
        ref,
        tuple(_summary(n, v, directions, ref) for n, (_, v) in zip(labels, runs, strict=True)),
    )
    return comparison if ref_point is None else comparison.with_ref_point(ref_point)
