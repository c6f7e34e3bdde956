"""Tests of the search outputs: hypervolume, Pareto table, output files, fronts plot."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from tests.unit.search._evaluators import TableEvaluator

import autobuild as ab
from autobuild.exceptions import ConfigError
from autobuild.reports import plot_fronts
from autobuild.search import SearchConfig
from autobuild.search.executors import make_evaluate
from autobuild.search.genome import full_candidates
from autobuild.search.nsga import run_search
from autobuild.search.outputs import pareto_table, write_search_outputs
from autobuild.search.pareto import hypervolume
from autobuild.search.result import SearchResult
from autobuild.spaces import SearchSpace

OBJECTIVES = [("acc", "max"), ("cost", "min")]


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    return ab.spaces.get("nasbench-macro")


@pytest.fixture(scope="module")
def result(space: SearchSpace) -> SearchResult:
    evaluate = make_evaluate(TableEvaluator(fail="mb3_k3"))
    config = SearchConfig(OBJECTIVES, initial=8, iterations=1, batch=4)
    return run_search(space, full_candidates(space), evaluate, config)


def test_hypervolume_min_min() -> None:
    pts = [[1, 3], [2, 2], [3, 1]]
    assert hypervolume(pts, ["min", "min"], [4, 4]) == pytest.approx(6.0)
    # a dominated point and a NaN row change nothing
    more = [*pts, [3, 3], [np.nan, 0.0]]
    assert hypervolume(more, ["min", "min"], [4, 4]) == pytest.approx(6.0)


def test_hypervolume_max_min_mix() -> None:
    # accuracy (max) vs cost (min), reference (acc 0, cost 10)
    pts = [[0.9, 8.0], [0.5, 2.0]]
    # union of [0, 0.9] x [8, 10] (area 1.8) and [0, 0.5] x [2, 10] (area 4.0), overlap 1.0
    assert hypervolume(pts, ["max", "min"], [0.0, 10.0]) == pytest.approx(4.8)
    # the same front with both columns flipped in meaning gives the same volume
    flipped = [[-0.9, -8.0], [-0.5, -2.0]]
    assert hypervolume(flipped, ["min", "max"], [0.0, -10.0]) == pytest.approx(4.8)


def test_hypervolume_points_beyond_reference_and_empty() -> None:
    assert hypervolume([[5, 1]], ["min", "min"], [4, 4]) == 0.0
    assert hypervolume(np.empty((0, 2)), ["min", "min"], [4, 4]) == 0.0
    assert hypervolume([[1, 1, 1]], ["min", "min", "max"], [2, 2, 0]) == pytest.approx(1.0)


def test_hypervolume_validation() -> None:
    with pytest.raises(ConfigError, match="shape"):
        hypervolume([[1, 2, 3]], ["min", "min"], [4, 4])
    with pytest.raises(ConfigError, match="ref_point"):
        hypervolume([[1, 2]], ["min", "min"], [4])
    with pytest.raises(ConfigError, match="ref_point"):
        hypervolume([[1, 2]], ["min", "min"], [4, np.inf])
    with pytest.raises(ConfigError, match="directions"):
        hypervolume([[1, 2]], ["min", "up"], [4, 4])


def test_pareto_table(space: SearchSpace, result: SearchResult) -> None:
    rows = pareto_table(space, result)
    assert [r["index"] for r in rows] == list(result.pareto_indices)
    for r in rows:
        arch = result.archs[r["index"]]
        assert r["arch_id"] == space.arch_id(arch)
        assert space.parse(r["arch"]) == arch
        assert r["acc"] == result.metrics[r["index"]]["acc"]
        assert r["cost"] == result.metrics[r["index"]]["cost"]


def test_write_search_outputs(space: SearchSpace, result: SearchResult, tmp_path: Path) -> None:
    assert "failed" in result.status  # the fixture has failures to write
    paths = write_search_outputs(tmp_path / "out", space, result)
    assert set(paths) == {"evaluated", "pareto_csv", "pareto_json"}
    with open(tmp_path / "out" / "evaluated.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(tmp_path / "out" / "evaluated.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert header == ["arch_id", "arch", "acc", "cost", "status", "error"]
    assert len(rows) == len(result.archs) == 12
    for row, arch, rec, st, err in zip(
        rows, result.archs, result.metrics, result.status, result.errors, strict=True
    ):
        assert row["arch_id"] == space.arch_id(arch)
        assert space.parse(json.loads(row["arch"])) == arch
        assert row["status"] == st
        if st == "ok":
            assert float(row["acc"]) == rec["acc"]
            assert float(row["cost"]) == rec["cost"]
            assert row["error"] == ""
        else:
            assert row["acc"] == ""
            assert row["error"] == err
    with open(tmp_path / "out" / "pareto.csv", newline="") as fh:
        prow = list(csv.reader(fh))
    assert prow[0] == ["arch_id", "arch", "acc", "cost"]
    assert [r[0] for r in prow[1:]] == [space.arch_id(a) for a in result.pareto_archs]
    doc = json.loads((tmp_path / "out" / "pareto.json").read_text())
    assert doc["objectives"] == [list(o) for o in OBJECTIVES]
    assert doc["n_evaluations"] == 12
    assert [r["arch_id"] for r in doc["pareto"]] == [r[0] for r in prow[1:]]


def test_plot_fronts(result: SearchResult, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    values = result.objective_matrix()
    other = values.copy()
    other[:, 0] -= 0.5
    path = plot_fronts(
        tmp_path / "fronts.png",
        {"nsga": (values, ["max", "min"]), "random": (other, ["max", "min"])},
        OBJECTIVES,
    )
    assert path.exists()
    assert path.stat().st_size > 1000
    with pytest.raises(ConfigError, match="directions"):
        plot_fronts(
            tmp_path / "bad.png",
            {"a": (values, ["max", "min"]), "b": (values, ["min", "min"])},
            ["acc", "cost"],
        )
    with pytest.raises(ConfigError, match="two objectives"):
        plot_fronts(tmp_path / "bad.png", {"a": (values, ["max", "min"])}, ["acc"])
