"""Output files of a search: the Pareto set as rows, and the files of its output folder.

* :func:`pareto_table`: the Pareto set of a search as rows.
* :func:`write_search_outputs`: the files ``evaluated.csv``, ``pareto.csv`` and
  ``pareto.json`` of a search's output folder, written atomically.
* :func:`read_search_outputs`: a search's objectives and feasible objective values, read back
  from its output folder (``autobuild fronts``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autobuild._atomic import write_csv_atomic, write_json_atomic
from autobuild.exceptions import DataError
from autobuild.search.pareto import check_directions
from autobuild.search.result import Objective, SearchResult
from autobuild.spaces import SearchSpace

__all__ = [
    "EVALUATED_FILE",
    "PARETO_CSV_FILE",
    "PARETO_JSON_FILE",
    "pareto_table",
    "read_search_outputs",
    "write_search_outputs",
]

#: File names written by :func:`write_search_outputs`.
EVALUATED_FILE = "evaluated.csv"
PARETO_CSV_FILE = "pareto.csv"
PARETO_JSON_FILE = "pareto.json"


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
    check_directions([d for _, d in objectives])
    return objectives, np.asarray(values, dtype=np.float64).reshape(-1, len(objectives))
