"""CLI: autobuild search (methods, outputs, resume from the run store, usage errors)."""

from __future__ import annotations

import pytest
from tests.conftest import read_rows

from autobuild.cli.main import main

BASE = ["search", "--space", "nasbench-macro", "--objectives", "mean_acc:max,flops:min"]
SMALL = ["--budget", "30", "--initial", "10", "--batch", "10"]


@pytest.mark.usefixtures("nasbench_available")
@pytest.mark.parametrize("method", ["stage-full", "layer-full", "random"])
def test_baselines_write_evaluated_and_pareto(tmp_path, method, capsys):
    out = tmp_path / method
    assert main([*BASE, "--method", method, *SMALL, "--out", str(out)]) == 0
    rows = read_rows(out / "evaluated.csv")
    assert list(rows[0]) == ["arch_id", "arch", "mean_acc", "flops", "status", "error"]
    assert len(rows) == 30
    assert len({r["arch_id"] for r in rows}) == 30
    front = read_rows(out / "pareto.csv")
    assert front
    assert {r["arch_id"] for r in front} <= {r["arch_id"] for r in rows}
    assert f"{method}: 30 unique evaluations" in capsys.readouterr().out


@pytest.mark.usefixtures("nasbench_available")
def test_autobuild_nas_resumes_from_the_run_store(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    argv = [*BASE, "--method", "autobuild-nas", *SMALL, "--labels", "60", "--k", "2"]
    argv += ["--storage", db, "--name", "x", "--seed", "3"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert "30 new, 0 from the run store" in capsys.readouterr().out
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    assert "0 new, 30 from the run store" in capsys.readouterr().out
    for name in ("evaluated.csv", "pareto.csv"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
    # The same name with other settings is another search: refused, clearly.
    other = [a if a != "3" else "4" for a in argv]
    assert main([*other, "--out", str(tmp_path / "c")]) == 1
    assert "already holds a different search" in capsys.readouterr().err


def test_usage_errors(tmp_path, capsys):
    out = ["--out", str(tmp_path / "o")]
    assert main([*BASE, "--method", "random", "--budget", "55", *out]) == 2
    assert "whole number" in capsys.readouterr().err
    assert main([*BASE, "--method", "random", "--storage", "sqlite:///x.db", *out]) == 2
    assert "--name" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(
            [
                "search",
                "--space",
                "nasbench-macro",
                "--method",
                "random",
                "--objectives",
                "mean_acc:up",
                *out,
            ]
        )
    assert "METRIC:max" in capsys.readouterr().err
