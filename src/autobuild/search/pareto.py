"""Pareto fronts of objective vectors: non-dominated rows and the hypervolume indicator.

* :func:`pareto_indices`: the non-dominated rows of a matrix of objective values, each
  column maximised or minimised.
* :func:`hypervolume`: pymoo's hypervolume indicator of a set of objective vectors, each
  objective maximised or minimised, against a reference point given in the objectives' own
  units (e.g. ``(accuracy_min, flops_max)`` for ``accuracy:max, flops:min``).
* :func:`check_directions` / :func:`objective_matrix`: validation of directions and of an
  ``(n, k)`` matrix of objective values, shared with the search outputs and the fronts plot.

pymoo is imported only when a hypervolume is computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autobuild.exceptions import ConfigError

__all__ = ["check_directions", "hypervolume", "objective_matrix", "pareto_indices"]


def check_directions(directions: Sequence[str]) -> list[str]:
    """``directions`` as a list, checked to hold one or more of ``"max"`` / ``"min"``.

    Raises:
        ConfigError: An empty sequence or another value.
    """
    dirs = list(directions)
    if not dirs or any(d not in ("max", "min") for d in dirs):
        raise ConfigError(f"`directions` must be one or more of 'max' / 'min', got {dirs!r}.")
    return dirs


def objective_matrix(values: Any, k: int, what: str = "values") -> np.ndarray:
    """``values`` as a float ``(n, k)`` array (an empty sequence gives ``(0, k)``).

    Args:
        values: Objective values, one row per point and one column per objective.
        k: Number of objectives.
        what: Name of the argument, for the error message.

    Raises:
        ConfigError: Not an ``(n, k)`` array.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, k)
    if arr.ndim != 2 or arr.shape[1] != k:
        raise ConfigError(
            f"`{what}` must be an (n, {k}) array (one column per objective), got shape "
            f"{arr.shape}."
        )
    return arr


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


def hypervolume(values: Any, directions: Sequence[str], ref_point: Sequence[float]) -> float:
    """The hypervolume dominated by ``values`` and bounded by ``ref_point``.

    Convention: ``values`` and ``ref_point`` are in the objectives' own units and directions;
    the reference point should be *worse* than every point of interest in every objective
    (below it for a ``"max"`` objective, above it for a ``"min"`` one), e.g. ``(acc_min,
    flops_max)``. Maximised objectives are negated (values and reference point alike) and
    pymoo's :class:`pymoo.indicators.hv.HV` measures the minimisation problem. A point that
    is not strictly better than the reference point in every objective adds nothing; rows
    containing NaN (failed evaluations) are ignored; no valid point gives ``0.0``. Use the
    same reference point for every method compared.

    Args:
        values: ``(n, k)`` objective values.
        directions: ``"max"`` or ``"min"`` per column.
        ref_point: ``k`` finite reference values.

    Returns:
        The hypervolume, in the product of the objectives' units.

    Raises:
        ConfigError: Bad directions, shapes or a non-finite reference point.

    Example:
        >>> hypervolume([[1, 3], [2, 2], [3, 1]], ["min", "min"], [4, 4])
        6.0
    """
    dirs = check_directions(directions)
    arr = objective_matrix(values, len(dirs))
    ref = np.asarray(ref_point, dtype=np.float64)
    if ref.shape != (len(dirs),) or not np.all(np.isfinite(ref)):
        raise ConfigError(
            f"`ref_point` must hold {len(dirs)} finite values (one per objective), got "
            f"{list(np.atleast_1d(ref))!r}."
        )
    sign = np.array([-1.0 if d == "max" else 1.0 for d in dirs])
    f = arr[~np.isnan(arr).any(axis=1)] * sign
    r = ref * sign
    f = f[np.all(f < r, axis=1)]
    if len(f) == 0:
        return 0.0
    from pymoo.indicators.hv import HV

    return float(HV(ref_point=r)(f))
