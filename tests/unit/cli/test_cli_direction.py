"""``score`` and ``build`` rank in the checkpoint's direction; ``--mode concat --top N``."""

import json

import pytest
from tests.conftest import read_rows

from autobuild.cli.main import main


def _train(toml, data, out, target, *extra):
    argv = ["train", "--space", toml, "--data", data, "--target", target, "--out", out]
    argv += ["--epochs", "3", *extra]
    assert main([str(a) for a in argv]) == 0
    return out


@pytest.fixture
def latency_ck(tmp_path, tiny_toml, tiny_csv):
    """A checkpoint of the tiny space's ``latency`` column (1 + layers), lower is better."""
    return _train(tiny_toml, tiny_csv, tmp_path / "lat", "latency", "--direction", "min")


def test_score_lists_the_lowest_scores_first_for_direction_min(tmp_path, latency_ck, capsys):
    out = tmp_path / "scores"
    assert main(["score", str(latency_ck), "--out", str(out)]) == 0
    rows = read_rows(out / "subgraph_scores.csv")
    for stage in {r["stage"] for r in rows}:
        scores = [float(r["score"]) for r in rows if r["stage"] == stage]
        assert scores == sorted(scores)
    assert "best first: lowest score" in capsys.readouterr().out


def test_build_ranks_lowest_first_for_direction_min(tmp_path, latency_ck, tiny_csv, capsys):
    from autobuild.predictor import AutoBuildPredictor

    out = tmp_path / "built"
    assert main(["build", str(latency_ck), "--k", "2", "--out", str(out)]) == 0
    rows = read_rows(out / "built.csv")
    assert len(rows) == 4
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores)
    assert scores[0] < scores[-1]
    assert json.loads((out / "reduced_space.json").read_text())["direction"] == "min"
    assert "best first: lowest score" in capsys.readouterr().out

    reranked = tmp_path / "reranked"
    argv = ["build", str(latency_ck), "--k", "2", "--rerank", "regressor", "--out"]
    assert main([*argv, str(reranked)]) == 0
    rows = read_rows(reranked / "built.csv")
    pred = AutoBuildPredictor.load(latency_ck)
    space = pred.space
    expected = pred.predict([space.parse(json.loads(r["arch"])) for r in rows], head="regressor")
    assert [float(r["prediction"]) for r in rows] == pytest.approx(expected)
    assert list(expected) == sorted(expected)
    top = tmp_path / "top1"
    assert main([*argv, str(top), "--top", "1"]) == 0
    assert read_rows(top / "built.csv")[0]["arch_id"] == rows[0]["arch_id"]

    ranked = tmp_path / "ranked"
    argv = ["build", str(latency_ck), "--candidates", str(tiny_csv), "--top", "10"]
    assert main([*argv, "--out", str(ranked)]) == 0
    scores = [float(r["score"]) for r in read_rows(ranked / "built.csv")]
    assert len(scores) == 10
    assert scores == sorted(scores)


def test_build_refuses_checkpoints_of_different_directions(
    tmp_path, latency_ck, tiny_toml, tiny_csv, capsys
):
    acc = _train(tiny_toml, tiny_csv, tmp_path / "acc", "acc")
    argv = ["build", str(acc), str(latency_ck), "--out", str(tmp_path / "b")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "different directions" in err
    assert f"{acc} (max), {latency_ck} (min)" in err
    same = _train(tiny_toml, tiny_csv, tmp_path / "lat2", "latency", "--direction", "min")
    out = tmp_path / "both"
    assert main(["build", str(latency_ck), str(same), "--k", "2", "--out", str(out)]) == 0
    scores = [float(r["score"]) for r in read_rows(out / "built.csv")]
    assert scores == sorted(scores)


def test_build_concat_top_writes_that_many_distinct_rows(tmp_path, tiny_toml, tiny_csv):
    ck = _train(tiny_toml, tiny_csv, tmp_path / "ck", "acc")
    # The same checkpoint twice in concat mode lists every kept subgraph twice per unit:
    # 16 index tuples name 4 distinct architectures.
    for top in (1, 3, 4, 10):
        out = tmp_path / f"concat{top}"
        argv = ["build", str(ck), str(ck), "--k", "2", "--mode", "concat", "--top", str(top)]
        assert main([*argv, "--out", str(out)]) == 0
        rows = read_rows(out / "built.csv")
        assert len(rows) == min(top, 4)
        assert len({r["arch_id"] for r in rows}) == len(rows)
        scores = [float(r["score"]) for r in rows]
        assert scores == sorted(scores, reverse=True)
        reduced = json.loads((out / "reduced_space.json").read_text())
        assert (reduced["size"], reduced["distinct"]) == (16, 4)
