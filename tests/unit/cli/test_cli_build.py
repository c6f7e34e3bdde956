import json

import pytest
from tests.conftest import read_rows, train_tiny

from autobuild.cli.main import main


@pytest.fixture
def checkpoint(tmp_path, tiny_toml, tiny_csv):
    out = tmp_path / "ck"
    assert train_tiny(tiny_toml, tiny_csv, out, "--epochs", "3") == 0
    return out


def test_score_writes_subgraph_scores_and_importance(tmp_path, checkpoint, tiny_space, capsys):
    out = tmp_path / "scores"
    assert main(["score", str(checkpoint), "--out", str(out)]) == 0
    rows = read_rows(out / "subgraph_scores.csv")
    assert {"stage", "n_layers", "subgraph", "score"} <= set(rows[0])
    # Every subgraph once, plus the empty choice of the second stage.
    assert len(rows) == tiny_space.count_subgraphs() + 1
    first = json.loads(rows[0]["subgraph"])
    assert all(set(layer) == {"kernel", "expand"} for layer in first)
    imp = read_rows(out / "feature_importance.csv")
    assert {r["category"] for r in imp} == {"stage", "layer", "kernel", "expand"}
    assert (out / "value_importance.csv").is_file()
    assert "best subgraph" in capsys.readouterr().out


def test_build_writes_the_ranked_reduced_space(tmp_path, checkpoint, tiny_space):
    out = tmp_path / "built"
    assert main(["build", str(checkpoint), "--k", "2", "--out", str(out)]) == 0
    rows = read_rows(out / "built.csv")
    assert list(rows[0]) == ["rank", "arch_id", "arch", "score"]
    assert len(rows) == 4
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert [int(r["rank"]) for r in rows] == [1, 2, 3, 4]
    for r in rows:
        assert tiny_space.arch_id(tiny_space.parse(json.loads(r["arch"]))) == r["arch_id"]
    reduced = json.loads((out / "reduced_space.json").read_text())
    assert reduced["size"] == 4
    assert len(json.loads((out / "built.json").read_text())) == 4

    per_unit = tmp_path / "b2"
    assert (
        main(["build", str(checkpoint), "--k", "3,1", "--top", "2", "--out", str(per_unit)]) == 0
    )
    assert len(read_rows(per_unit / "built.csv")) == 2


def test_build_reranks_by_prediction(tmp_path, checkpoint, tiny_space):
    from autobuild.predictor import AutoBuildPredictor

    out = tmp_path / "reranked"
    argv = ["build", str(checkpoint), "--k", "2", "--rerank", "regressor", "--out", str(out)]
    assert main(argv) == 0
    rows = read_rows(out / "built.csv")
    assert list(rows[0]) == ["rank", "arch_id", "arch", "score", "prediction", "spread"]
    assert len(rows) == 4
    pred = AutoBuildPredictor.load(checkpoint)
    archs = [tiny_space.parse(json.loads(r["arch"])) for r in rows]
    expected = pred.predict(archs, head="regressor")
    assert [float(r["prediction"]) for r in rows] == pytest.approx(expected)
    assert list(expected) == sorted(expected, reverse=True)

    # --top keeps the best of the whole re-ranked space.
    top = tmp_path / "top1"
    assert main([*argv[:-2], "--top", "1", "--out", str(top)]) == 0
    assert read_rows(top / "built.csv")[0]["arch_id"] == rows[0]["arch_id"]


def test_build_rerank_refuses_several_checkpoints(tmp_path, checkpoint, capsys):
    argv = ["build", str(checkpoint), str(checkpoint), "--rerank", "--out", str(tmp_path / "b")]
    assert main(argv) == 2
    assert "--rerank orders by one checkpoint's predictions, got 2" in capsys.readouterr().err


def test_build_ranks_candidates(tmp_path, checkpoint, tiny_csv):
    out = tmp_path / "ranked"
    assert (
        main(
            [
                "build",
                str(checkpoint),
                "--candidates",
                str(tiny_csv),
                "--top",
                "10",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = read_rows(out / "built.csv")
    assert len(rows) == 10
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)


def test_build_combines_checkpoints_and_refuses_mixed_spaces(tmp_path, checkpoint):
    out = tmp_path / "union"
    assert main(["build", str(checkpoint), str(checkpoint), "--k", "2", "--out", str(out)]) == 0
    assert len(read_rows(out / "built.csv")) == 4
    other = tmp_path / "other"
    assert (
        main(
            [
                "train",
                "--space",
                "nasbench-macro",
                "--data",
                str(_nb_csv(tmp_path)),
                "--target",
                "acc",
                "--epochs",
                "1",
                "--test-fraction",
                "0",
                "--out",
                str(other),
            ]
        )
        == 0
    )
    assert main(["build", str(checkpoint), str(other), "--out", str(tmp_path / "x")]) == 2


def _nb_csv(tmp_path):
    path = tmp_path / "nb.csv"
    keys = ["22212220", "02012100", "11111221", "00011110", "22222222", "12121212"]
    path.write_text("arch,acc\n" + "".join(f"{k},{i}\n" for i, k in enumerate(keys)))
    return path


def test_bad_k_is_a_usage_error(checkpoint):
    with pytest.raises(SystemExit) as exc:
        main(["build", str(checkpoint), "--k", "0", "--out", "x"])
    assert exc.value.code == 2


def test_build_with_a_global_value(tmp_path):
    from tests.conftest import synthetic_acc

    import autobuild.spaces as S

    space = S.get("ofa-mbv3")
    archs = space.sample(40, seed=0)
    data = tmp_path / "ofa.csv"
    lines = ["arch,acc"] + [
        '"' + json.dumps(space.to_json(a)).replace('"', '""') + f'",{v}'
        for a, v in zip(archs, synthetic_acc(space, archs), strict=True)
    ]
    data.write_text("\n".join(lines) + "\n")
    ck = tmp_path / "ck"
    assert (
        main(
            [
                "train",
                "--space",
                "ofa-mbv3",
                "--data",
                str(data),
                "--target",
                "acc",
                "--epochs",
                "1",
                "--test-fraction",
                "0",
                "--out",
                str(ck),
            ]
        )
        == 0
    )
    out = tmp_path / "built"
    assert (
        main(["build", str(ck), "--k", "1", "--global", "resolution=208", "--out", str(out)]) == 0
    )
    built = json.loads((out / "built.json").read_text())
    assert built[0]["resolution"] == 208
    assert json.loads((out / "built_ofa.json").read_text())[0]["r"] == 208
    assert main(["build", str(ck), "--global", "resolution=100", "--out", str(out)]) == 2
    assert main(["build", str(ck), "--global", "width=1", "--out", str(out)]) == 2
