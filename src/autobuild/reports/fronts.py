"""The Pareto fronts of several search methods in one figure (PNG).

:func:`plot_fronts` draws, for each method, the non-dominated points of its objective values
joined by their attainment staircase, on the two objectives' axes. matplotlib is imported
lazily, as by every figure of :mod:`autobuild.reports`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from autobuild.exceptions import ConfigError
from autobuild.reports._style import CATEGORY_COLOURS, new_figure, save, style_axes
from autobuild.search.pareto import check_directions, objective_matrix, pareto_indices
from autobuild.search.result import Objective

__all__ = ["plot_fronts"]


def plot_fronts(
    path: str | Path,
    fronts: Mapping[str, tuple[Any, Sequence[str]]],
    objectives: Sequence[Objective | str],
    *,
    title: str = "Pareto fronts",
) -> Path:
    """Draw the Pareto fronts of several methods in one 2-D plot (PNG, written atomically).

    Each method's non-dominated points (:func:`~autobuild.search.pareto.pareto_indices` of its
    values) are drawn as markers joined by their attainment staircase.

    Args:
        path: PNG file to write.
        fronts: Method name -> ``(values, directions)``: ``(n, 2)`` objective values (all
            evaluations or only the front; NaN rows ignored) and their two directions,
            which must be the same for every method.
        objectives: The two objectives, as metric names or ``(name, direction)`` pairs: the
            x and y axes.
        title: Figure title.

    Returns:
        ``path``.

    Raises:
        ConfigError: Not exactly two objectives, no method, or inconsistent directions.
        ImportError: matplotlib is not installed.
    """
    labels = [o if isinstance(o, str) else o[0] for o in objectives]
    if len(labels) != 2:
        raise ConfigError(f"plot_fronts draws two objectives, got {labels!r}.")
    if not fronts:
        raise ConfigError("plot_fronts needs at least one method's front, got none.")
    given = [o[1] for o in objectives if not isinstance(o, str)]
    shared: list[str] | None = check_directions(given) if len(given) == 2 else None
    fig = new_figure(6.4, 4.8)
    ax = fig.add_subplot()
    style_axes(ax, grid_axis="y")
    ax.grid(axis="x", color="0.88", linewidth=0.8)
    markers = ("o", "s", "^", "D", "v", "P", "X", "*")
    for k, (method, (values, directions)) in enumerate(fronts.items()):
        dirs = check_directions(directions)
        if len(dirs) != 2:
            raise ConfigError(f"Method {method!r}: expected 2 directions, got {dirs!r}.")
        if shared is None:
            shared = dirs
        elif dirs != shared:
            raise ConfigError(
                f"Method {method!r} has directions {dirs!r}, other fronts use {shared!r}; "
                "every front must optimise the same objectives the same way."
            )
        arr = objective_matrix(values, 2, f"fronts[{method!r}]")
        front = arr[pareto_indices(arr, dirs)]
        front = front[np.argsort(front[:, 0], kind="stable")]
        colour = CATEGORY_COLOURS[k % len(CATEGORY_COLOURS)]
        where: Literal["pre", "post"] = "post" if dirs[0] == "min" else "pre"
        if len(front):
            ax.step(front[:, 0], front[:, 1], where=where, color=colour, linewidth=1.2)
        ax.scatter(
            front[:, 0],
            front[:, 1],
            color=colour,
            marker=markers[k % len(markers)],
            s=28,
            zorder=3,
            label=f"{method} ({len(front)})",
        )
    assert shared is not None
    ax.set_xlabel(f"{labels[0]} ({'higher' if shared[0] == 'max' else 'lower'} is better)")
    ax.set_ylabel(f"{labels[1]} ({'higher' if shared[1] == 'max' else 'lower'} is better)")
    ax.set_title(title, fontsize=11)
    ax.legend(loc="best", frameon=True, framealpha=0.9, edgecolor="none", fontsize=9)
    return save(fig, path)
