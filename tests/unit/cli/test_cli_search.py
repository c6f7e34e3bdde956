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
    assert main([*BASE, "--method", "random", *SMALL, "--labels", "60", "--k", "3", *out]) == 2
    assert "--labels, --k only apply to --method autobuild-nas" in capsys.readouterr().err
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


KILLER = '''
import os
import signal
import zlib

from autobuild.evaluation import BaseEvaluator, Metric


class Toy(BaseEvaluator):
    """Deterministic 'accuracy' and 'cost'; with KILL_AFTER=N it kill -9s its own process
    at the N-th architecture (counted in COUNT_FILE across calls)."""

    metrics = (Metric("score", "max"), Metric("cost", "min"))

    def __init__(self, space):
        super().__init__(space, batch_size=8)

    def _evaluate(self, archs):
        out = []
        for arch in archs:
            size = sum((s + 1) * k * e for s, st in enumerate(arch.stages) for k, e in st)
            noise = zlib.crc32(self.space.canonical_id(arch).encode()) % 1000 / 250.0
            out.append({"score": size ** 0.5 + noise, "cost": float(size)})
            if os.environ.get("KILL_AFTER"):
                path = os.environ["COUNT_FILE"]
                n = (int(open(path).read()) if os.path.exists(path) else 0) + 1
                with open(path, "w") as fh:
                    fh.write(str(n))
                if n >= int(os.environ["KILL_AFTER"]):
                    os.kill(os.getpid(), signal.SIGKILL)
        return out


def not_an_evaluator(space):
    return object()
'''


@pytest.fixture
def toy_module(tmp_path, monkeypatch):
    folder = tmp_path / "mods"
    folder.mkdir()
    (folder / "toy_evals.py").write_text(KILLER)
    monkeypatch.syspath_prepend(str(folder))
    return folder


def _toy_argv(tiny_toml, tmp_path, name):
    return [
        "search",
        "--space",
        str(tiny_toml),
        "--method",
        "stage-full",
        "--objectives",
        "score:max,cost:min",
        "--evaluator",
        "toy_evals:Toy",
        "--seed",
        "1",
        "--storage",
        f"sqlite:///{tmp_path / (name + '.db')}",
        "--name",
        "s",
        "--out",
        str(tmp_path / name),
    ]


def test_cli_search_killed_with_sigkill_resumes_to_the_uninterrupted_result(
    tmp_path, tiny_toml, toy_module, capsys
):
    import os
    import signal
    import sqlite3
    import subprocess
    import sys

    # Uninterrupted reference run (in this process).
    assert main(_toy_argv(tiny_toml, tmp_path, "full")) == 0
    assert "250 unique evaluations (250 new, 0 from the run store" in capsys.readouterr().out

    # The same search in a child process that kill -9s itself at its 110th evaluation.
    argv = _toy_argv(tiny_toml, tmp_path, "killed")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(toy_module), *sys.path]),
        "KILL_AFTER": "110",
        "COUNT_FILE": str(tmp_path / "count"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "autobuild", *argv], env=env, capture_output=True, timeout=300
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    with sqlite3.connect(tmp_path / "killed.db") as conn:
        stored = conn.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0]
    # Every evaluation that finished is stored, the third batch's first 9 included; only the
    # 110th, killed while it ran, is lost.
    assert stored == 109
    assert not (tmp_path / "killed" / "evaluated.csv").exists()

    # Resumed: nothing stored is evaluated again, and the result is the uninterrupted one.
    assert main(argv) == 0
    assert "250 unique evaluations (141 new, 109 from the run store" in capsys.readouterr().out
    for name in ("evaluated.csv", "pareto.csv", "pareto.json"):
        assert (tmp_path / "killed" / name).read_text() == (tmp_path / "full" / name).read_text()
    assert (tmp_path / "killed" / "front.png").stat().st_size > 0


def test_cli_search_evaluator_errors(tmp_path, tiny_toml, toy_module, capsys):
    import re

    base = ["search", "--space", str(tiny_toml), "--out", str(tmp_path)]
    toy = ["--evaluator", "toy_evals:Toy"]
    cases = [
        (["--objectives", "score:max,cost:min", "--evaluator", "toy_evals"], "MODULE:NAME"),
        (["--objectives", "score:max", "--evaluator", "no_such_mod:X"], "cannot import"),
        (["--objectives", "score:max", "--evaluator", "toy_evals:Nope"], "no callable 'Nope'"),
        (
            ["--objectives", "score:max", "--evaluator", "toy_evals:not_an_evaluator"],
            "returned object, not a",
        ),
        (["--objectives", "fid:min", *toy], "none of the objectives"),
        (["--objectives", "score:max,fid:min", *toy], r"objective\(s\) \['fid'\]"),
        (["--objectives", "latency_cpu_ms:min"], "cannot build networks"),
    ]
    for extra, match in cases:
        assert main([*base, "--method", "random", *extra]) == 2, extra
        assert re.search(match, capsys.readouterr().err), (extra, match)
    assert main([*base, "--method", "autobuild-nas", "--objectives", "score:max", *toy]) == 2
    assert "give --data" in capsys.readouterr().err


@pytest.mark.usefixtures("nasbench_available")
def test_cli_search_measures_latency_once_through_its_cache(tmp_path, capsys):
    import sqlite3

    cache = tmp_path / "lat.sqlite"
    argv = [
        "search",
        "--space",
        "nasbench-macro",
        "--method",
        "random",
        "--objectives",
        "mean_acc:max,latency_cpu_ms:min",
        "--budget",
        "12",
        "--initial",
        "6",
        "--batch",
        "6",
        "--repeats",
        "2",
        "--cache",
        str(cache),
    ]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    rows = read_rows(tmp_path / "a" / "evaluated.csv")
    assert list(rows[0])[:4] == ["arch_id", "arch", "mean_acc", "latency_cpu_ms"]
    assert all(float(r["latency_cpu_ms"]) > 0 for r in rows)
    with sqlite3.connect(cache) as conn:
        measured = conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    assert measured == 12
    # A second run answers every latency from the cache: the same numbers, nothing new stored.
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    assert (tmp_path / "a" / "evaluated.csv").read_text() == (
        tmp_path / "b" / "evaluated.csv"
    ).read_text()
    with sqlite3.connect(cache) as conn:
        assert conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == measured
    assert (tmp_path / "b" / "front.png").exists()
    capsys.readouterr()


def test_cli_fronts_compares_searches_with_one_reference_point(
    tmp_path, tiny_toml, toy_module, capsys
):
    from autobuild.search import hypervolume, read_search_outputs

    dirs = []
    for method in ("stage-full", "random"):
        out = tmp_path / method
        argv = ["search", "--space", str(tiny_toml), "--method", method]
        argv += ["--objectives", "score:max,cost:min", "--evaluator", "toy_evals:Toy"]
        argv += ["--budget", "30", "--initial", "10", "--batch", "10", "--out", str(out)]
        assert main(argv) == 0
        dirs.append(out)
    capsys.readouterr()
    png = tmp_path / "fronts.png"
    assert main(["fronts", *map(str, dirs), "--out", str(png)]) == 0
    text = capsys.readouterr().out
    assert png.stat().st_size > 0
    objs, a = read_search_outputs(dirs[0])
    _, b = read_search_outputs(dirs[1])
    assert objs == [("score", "max"), ("cost", "min")]
    assert a.shape == (30, 2)
    ref = [min(a[:, 0].min(), b[:, 0].min()), max(a[:, 1].max(), b[:, 1].max())]
    for name, values in (("stage-full", a), ("random", b)):
        hv = hypervolume(values, ["max", "min"], ref)
        assert f"{hv:.6g}" in text, name
    assert main(["fronts", *map(str, dirs), "--ref", "0,1e9"]) == 0
    assert "score=0, cost=1e+09" in capsys.readouterr().out
    # errors: a folder that is no search output, names that do not fit, a bad --ref
    assert main(["fronts", str(tmp_path)]) == 1
    assert "is not a search output folder" in capsys.readouterr().err
    assert main(["fronts", *map(str, dirs), "--names", "a"]) == 2
    assert "--names has 1 names for 2 folders" in capsys.readouterr().err
    assert main(["fronts", *map(str, dirs), "--ref", "1"]) == 2
    assert "--ref needs 2 values" in capsys.readouterr().err


def test_cli_search_constraints(tmp_path, tiny_toml, toy_module, capsys):
    argv = ["search", "--space", str(tiny_toml), "--method", "layer-full"]
    argv += ["--objectives", "score:max", "--evaluator", "toy_evals:Toy"]
    argv += ["--budget", "30", "--initial", "10", "--batch", "10", "--out", str(tmp_path)]
    assert main([*argv, "--constraint", "cost<=60", "--constraint", "score>=2"]) == 0
    assert "infeasible)" in capsys.readouterr().out
    rows = read_rows(tmp_path / "evaluated.csv")
    assert list(rows[0]) == ["arch_id", "arch", "score", "cost", "violation", "status", "error"]
    for r in rows:
        gap = max(float(r["cost"]) - 60, 0) + max(2 - float(r["score"]), 0)
        assert float(r["violation"]) == pytest.approx(gap)
    front = read_rows(tmp_path / "pareto.csv")
    assert front
    assert all(float(r["cost"]) <= 60 for r in front)
    assert main([*argv, "--constraint", "cost<60"]) == 2
    assert "METRIC<=BOUND" in capsys.readouterr().err


def test_cli_search_with_a_predicted_objective(tmp_path, tiny_toml, tiny_csv, toy_module, capsys):
    ckpt = tmp_path / "lat"
    train = ["train", "--space", str(tiny_toml), "--data", str(tiny_csv), "--target", "latency"]
    train += ["--direction", "min", "--epochs", "3", "--out", str(ckpt)]
    assert main(train) == 0
    base = ["search", "--space", str(tiny_toml), "--method", "random"]
    base += ["--evaluator", "toy_evals:Toy", "--predictor", str(ckpt)]
    small = ["--budget", "12", "--initial", "6", "--batch", "6"]
    argv = [*base, "--objectives", "score:max,latency:min", *small]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 0
    rows = read_rows(tmp_path / "o" / "evaluated.csv")
    from autobuild.predictor import AutoBuildPredictor
    from autobuild.spaces import from_toml

    space = from_toml(tiny_toml)
    archs = [space.parse(__import__("json").loads(r["arch"])) for r in rows]
    expected = AutoBuildPredictor.load(ckpt).predict(archs)
    assert [float(r["latency"]) for r in rows] == pytest.approx(list(expected), rel=1e-6)
    capsys.readouterr()
    assert main([*base, "--objectives", "score:max", "--out", str(tmp_path / "p")]) == 2
    assert "predicts 'latency', which is not an objective" in capsys.readouterr().err
