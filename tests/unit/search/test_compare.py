"""compare_fronts: one reference point for several searches' fronts."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from autobuild.exceptions import ConfigError, DataError
from autobuild.search.compare import compare_fronts, worst_point
from autobuild.search.outputs import EVALUATED_FILE, PARETO_JSON_FILE
from autobuild.search.pareto import hypervolume

OBJECTIVES = [["acc", "max"], ["lat", "min"]]


def _folder(path, rows, objectives=OBJECTIVES):
    path.mkdir()
    (path / PARETO_JSON_FILE).write_text(json.dumps({"objectives": objectives}))
    with (path / EVALUATED_FILE).open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([n for n, _ in objectives] + ["violation", "status"])
        writer.writerows(rows)
    return path


def test_one_reference_point_for_every_search(tmp_path) -> None:
    a = _folder(tmp_path / "a", [[0.9, 3, 0, "ok"], [0.8, 1, 0, "ok"], [0.1, 9, 0, "failed"]])
    b = _folder(tmp_path / "b", [[0.7, 2, 0, "ok"], [0.95, 5, 1.5, "ok"]])
    comparison = compare_fronts([a, b])
    assert comparison.objectives == (("acc", "max"), ("lat", "min"))
    assert comparison.ref_point == (0.7, 3.0)  # failed and infeasible rows left out
    assert [r.name for r in comparison.runs] == ["a", "b"]
    assert [len(r.values) for r in comparison.runs] == [2, 1]
    assert comparison.runs[0].front_size == 2
    values = np.array([[0.9, 3.0], [0.8, 1.0]])
    expected = hypervolume(values, ["max", "min"], [0.7, 3.0])
    assert comparison.runs[0].hypervolume == pytest.approx(expected)
    assert comparison.runs[1].hypervolume == 0.0  # on the reference point: adds nothing
    moved = comparison.with_ref_point([0, 10])
    assert moved.ref_point == (0.0, 10.0)
    assert moved.runs[1].hypervolume == pytest.approx(0.7 * 8)
    assert worst_point(values, ["max", "min"]) == [0.8, 3.0]


def test_errors_name_the_problem(tmp_path) -> None:
    a = _folder(tmp_path / "a", [[0.9, 3, 0, "ok"]])
    other = _folder(tmp_path / "c", [[0.9, 0, "ok"]], objectives=[["acc", "max"]])
    with pytest.raises(ConfigError, match="only searches of the same objectives compare"):
        compare_fronts([a, other])
    with pytest.raises(ConfigError, match="`names` has 1 names for 2 folders"):
        compare_fronts([a, a], names=["x"])
    with pytest.raises(ConfigError, match="Legend names must differ"):
        compare_fronts([a, a])
    with pytest.raises(ConfigError, match="needs 2 values"):
        compare_fronts([a], ref_point=[1.0])
    with pytest.raises(DataError, match="is not a search output folder"):
        compare_fronts([tmp_path])
    empty = _folder(tmp_path / "e", [[0.5, 1, 0, "failed"]])
    with pytest.raises(ConfigError, match="None of the searches has an ok evaluation"):
        compare_fronts([empty])
