"""Front metrics and output files of a search: hypervolume, the Pareto set, fronts plot.

* :func:`hypervolume`: pymoo's hypervolume indicator of a set of objective vectors, each
  objective maximised or minimised, against a reference point given in the objectives' own
  units (e.g. ``(accuracy_min, flops_max)`` for ``accuracy:max, flops:min``).
* :func:`pareto_table` / :func:`write_search_outputs`: the Pareto set as rows, and the files
  ``evaluated.csv``, ``pareto.csv`` and ``pareto.json`` of a search's output folder, written
  atomically.
* :func:`plot_fronts`: the Pareto fronts of several methods in one figure (PNG).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from autobuild._atomic import write_csv_atomic, write_json_atomic
from autobuild.exceptions import ConfigError, DataError
from autobuild.search.nsga import Objective, SearchResult, pareto_indices
from autobuild.spaces import SearchSpace

__all__ = [
    "EVALUATED_FILE",
    "PARETO_CSV_FILE",
    "PARETO_JSON_FILE",
    "hypervolume",
    "pareto_table",
    "plot_fronts",
    "read_search_outputs",
    "write_search_outputs",
]

#: File names written by :func:`write_search_outputs`.
EVALUATED_FILE = "evaluated.csv"
PARETO_CSV_FILE = "pareto.csv"
PARETO_JSON_FILE = "pareto.json"


def _check_directions(directions: Sequence[str]) -> list[str]:
    dirs = list(directions)
    if not dirs or any(d not in ("max", "min") for d in dirs):
        raise ConfigError(f"`directions` must be one or more of 'max' / 'min', got {dirs!r}.")
    return dirs


def _as_matrix(values: Any, k: int, what: str = "values") -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, k)
    if arr.ndim != 2 or arr.shape[1] != k:
        raise ConfigError(
            f"`{what}` must be an (n, {k}) array (one column per objective), got shape "
            f"{arr.shape}."
        )
    return arr


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
    dirs = _check_directions(directions)
    arr = _as_matrix(values, len(dirs))
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


def _columns(result: SearchResult) -> list[str]:
    """Metric columns: the objectives, then constraint metrics that are not objectives."""
    names = [n for n, _ in result.objectives]
    return names + list(
        dict.fromkeys(c.metric for c in result.constraints if c.metric not in names)
    )


def _arch_rows(space: SearchSpace, result: SearchResult, indices: Sequence[int]) -> list[dict]:
    rows = []
    for i in indices:
        arch, rec = result.archs[i], result.metrics[i]
        row: dict[str, Any] = {
            "index": i,
            "arch_id": space.arch_id(arch),
            "arch": space.to_json(arch),
        }
        for name in _columns(result):
            v = rec.get(name)
            row[name] = float(v) if v is not None and math.isfinite(v) else None
        if result.constraints:
            row["violation"] = result.violations[i] if result.status[i] == "ok" else None
        row["status"] = result.status[i]
        row["error"] = result.errors[i]
        rows.append(row)
    return rows


def pareto_table(space: SearchSpace, result: SearchResult) -> list[dict[str, Any]]:
    """The Pareto set of a search as rows, in evaluation order.

    Args:
        space: The space the search ran on (for ids and the JSON form).
        result: The search result.

    Returns:
        One dict per Pareto-optimal evaluation: ``index`` (position in evaluation order),
        ``arch_id`` (:meth:`SearchSpace.arch_id`), ``arch`` (the JSON form), then one value
        per objective, by metric name.
    """
    rows = _arch_rows(space, result, result.pareto_indices)
    for row in rows:
        del row["status"], row["error"]
        row.pop("violation", None)
    return rows


def write_search_outputs(
    out_dir: str | Path, space: SearchSpace, result: SearchResult
) -> dict[str, Path]:
    """Write a search's ``evaluated.csv``, ``pareto.csv`` and ``pareto.json`` atomically.

    * ``evaluated.csv``: every unique evaluation in evaluation order, columns ``arch_id``,
      ``arch`` (compact JSON), one column per objective (empty for a missing value), for a
      constrained search one per constraint metric that is not an objective and
      ``violation`` (``0``: feasible), then ``status`` (``ok``/``failed``) and ``error``
      (empty when ok).
    * ``pareto.csv``: the Pareto set (feasible evaluations only) in evaluation order,
      columns ``arch_id``, ``arch`` and one per metric column.
    * ``pareto.json``: ``{"objectives": [[name, direction], ...], "constraints": [text,
      ...], "n_evaluations": n, "pareto": [row, ...]}`` with the rows of
      :func:`pareto_table`.

    Args:
        out_dir: Output folder (created if missing).
        space: The space the search ran on.
        result: The search result.

    Returns:
        File kind (``"evaluated"``, ``"pareto_csv"``, ``"pareto_json"``) -> path written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = _columns(result)
    extra = ["violation"] if result.constraints else []
    every = _arch_rows(space, result, range(len(result.archs)))
    evaluated = write_csv_atomic(
        out / EVALUATED_FILE,
        ["arch_id", "arch", *names, *extra, "status", "error"],
        (
            [
                r["arch_id"],
                r["arch"],
                *(math.nan if r[n] is None else r[n] for n in [*names, *extra]),
                r["status"],
                r["error"] or "",
            ]
            for r in every
        ),
    )
    front = pareto_table(space, result)
    pareto_csv = write_csv_atomic(
        out / PARETO_CSV_FILE,
        ["arch_id", "arch", *names],
        ([r["arch_id"], r["arch"], *(r[n] for n in names)] for r in front),
    )
    pareto_json = write_json_atomic(
        out / PARETO_JSON_FILE,
        {
            "objectives": [list(o) for o in result.objectives],
            "constraints": [str(c) for c in result.constraints],
            "n_evaluations": len(result.archs),
            "pareto": front,
        },
    )
    return {"evaluated": evaluated, "pareto_csv": pareto_csv, "pareto_json": pareto_json}


def plot_fronts(
    path: str | Path,
    fronts: Mapping[str, tuple[Any, Sequence[str]]],
    objectives: Sequence[Objective | str],
    *,
    title: str = "Pareto fronts",
) -> Path:
    """Draw the Pareto fronts of several methods in one 2-D plot (PNG, written atomically).

    Each method's non-dominated points (:func:`~autobuild.search.nsga.pareto_indices` of its
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
    from autobuild.reports.plots import _CATEGORY_COLOURS, _new_figure, _save, _style_axes

    labels = [o if isinstance(o, str) else o[0] for o in objectives]
    if len(labels) != 2:
        raise ConfigError(f"plot_fronts draws two objectives, got {labels!r}.")
    if not fronts:
        raise ConfigError("plot_fronts needs at least one method's front, got none.")
    given = [o[1] for o in objectives if not isinstance(o, str)]
    shared: list[str] | None = _check_directions(given) if len(given) == 2 else None
    fig = _new_figure(6.4, 4.8)
    ax = fig.add_subplot()
    _style_axes(ax, grid_axis="y")
    ax.grid(axis="x", color="0.88", linewidth=0.8)
    markers = ("o", "s", "^", "D", "v", "P", "X", "*")
    for k, (method, (values, directions)) in enumerate(fronts.items()):
        dirs = _check_directions(directions)
        if len(dirs) != 2:
            raise ConfigError(f"Method {method!r}: expected 2 directions, got {dirs!r}.")
        if shared is None:
            shared = dirs
        elif dirs != shared:
            raise ConfigError(
                f"Method {method!r} has directions {dirs!r}, other fronts use {shared!r}; "
                "every front must optimise the same objectives the same way."
            )
        arr = _as_matrix(values, 2, f"fronts[{method!r}]")
        front = arr[pareto_indices(arr, dirs)]
        front = front[np.argsort(front[:, 0], kind="stable")]
        colour = _CATEGORY_COLOURS[k % len(_CATEGORY_COLOURS)]
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
    return _save(fig, path)


def read_search_outputs(out_dir: str | Path) -> tuple[list[Objective], np.ndarray]:
    """Read back a search's objectives and objective values from its output folder.

    Args:
        out_dir: A folder written by :func:`write_search_outputs` (``autobuild search
            --out``).

    Returns:
        The ``(name, direction)`` objectives (from ``pareto.json``) and an ``(n, k)`` array
        of the feasible ok evaluations' values (from ``evaluated.csv``, in evaluation order;
        failed evaluations and those breaking a constraint are left out).

    Raises:
        DataError: A missing or malformed file.
    """
    import csv
    import json

    folder = Path(out_dir)
    meta_path, rows_path = folder / PARETO_JSON_FILE, folder / EVALUATED_FILE
    try:
        meta = json.loads(meta_path.read_text())
        objectives = [(str(n), str(d)) for n, d in meta["objectives"]]
        with rows_path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        values = [
            [float(r[n]) for n, _ in objectives]
            for r in rows
            if r.get("status", "ok") == "ok" and float(r.get("violation") or 0) == 0
        ]
    except FileNotFoundError as err:
        raise DataError(
            f"{folder} is not a search output folder: {err.filename} is missing (it is written "
            "by `autobuild search --out`)."
        ) from err
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataError(f"Cannot read the search outputs in {folder}: {err!r}.") from err
    _check_directions([d for _, d in objectives])
    return objectives, np.asarray(values, dtype=np.float64).reshape(-1, len(objectives))
