import json

import pytest
from tests.conftest import read_rows, train_tiny

import autobuild as ab
from autobuild.cli.main import main


def test_train_then_predict_on_a_toml_space(tmp_path, tiny_toml, tiny_csv, capsys):
    out = tmp_path / "ck"
    code = main(
        [
            "train",
            "--space",
            str(tiny_toml),
            "--data",
            str(tiny_csv),
            "--target",
            "acc / latency",
            "--epochs",
            "5",
            "--seed",
            "1",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("srcc", "kendall", "mae", "hop_srcc", "n_train", "n_test", "train_seconds"):
        assert key in metrics
    assert (metrics["n_train"], metrics["n_test"]) == (135, 15)
    assert len(metrics["hop_srcc"]) == 5
    assert "hop Spearman" in capsys.readouterr().out

    pred_csv = tmp_path / "pred.csv"
    assert main(["predict", str(out), "--data", str(tiny_csv), "--out", str(pred_csv)]) == 0
    rows = read_rows(pred_csv)
    assert len(rows) == 150
    assert list(rows[0]) == ["arch_id", "prediction", "hop0", "hop1", "hop2", "hop3", "hop4"]
    src = read_rows(tiny_csv)
    from autobuild.spaces import from_toml

    space = from_toml(tiny_toml)
    assert [r["arch_id"] for r in rows] == [space.arch_id(space.parse(r["arch"])) for r in src]
    assert all(float(r["hop0"]) >= 0 for r in rows)


def test_test_fraction_zero_trains_on_everything(tmp_path, tiny_toml, tiny_csv):
    out = tmp_path / "ck"
    assert train_tiny(tiny_toml, tiny_csv, out, "--epochs", "2", "--test-fraction", "0") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["n_train"], metrics["n_test"], metrics["srcc"]) == (150, 0, None)


def test_n_labeled_samples_rows(tmp_path, tiny_toml, tiny_csv):
    out = tmp_path / "ck"
    assert train_tiny(tiny_toml, tiny_csv, out, "--epochs", "2", "--n-labeled", "40") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["n_train"], metrics["n_test"]) == (36, 4)


def test_sample_writes_distinct_architectures(tmp_path, tiny_toml):
    out = tmp_path / "s.csv"
    assert (
        main(["sample", "--space", str(tiny_toml), "--n", "25", "--seed", "3", "--out", str(out)])
        == 0
    )
    rows = read_rows(out)
    assert len(rows) == 25
    assert len({r["arch_id"] for r in rows}) == 25
    again = tmp_path / "t.csv"
    main(["sample", "--space", str(tiny_toml), "--n", "25", "--seed", "3", "--out", str(again)])
    assert out.read_text() == again.read_text()


def test_spaces_lists_builtins_with_counts(capsys):
    assert main(["spaces"]) == 0
    text = capsys.readouterr().out
    assert "ofa-mbv3" in text
    assert "36,855" in text
    assert "95,823" in text
    assert "7,371 / 7,371 / 7,371 / 7,371 / 66,339" in text
    assert "nasbench-macro" in text


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (
            ["train", "--space", "nope", "--data", "x.csv", "--target", "a", "--out", "o"],
            1,
            "Unknown search space 'nope'",
        ),
        (["train", "--space", "ofa-mbv3", "--target", "a", "--out", "o"], 2, "--data is required"),
        (["predict", "no-such-dir", "--out", "p.csv"], 1, "predictor.json is missing"),
        (["sample", "--space", "nasbench-macro", "--n", "5000", "--out", "s.csv"], 1, "only 3969"),
    ],
)
def test_errors_are_one_line_with_exit_codes(argv, code, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == code
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_data_errors_name_the_problem(tmp_path, tiny_toml, tiny_csv, capsys):
    argv = [
        "train",
        "--space",
        str(tiny_toml),
        "--data",
        str(tiny_csv),
        "--target",
        "acc/lat",
        "--out",
        str(tmp_path / "o"),
    ]
    assert main(argv) == 1
    assert "Unknown metric 'lat'" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text('arch,acc\n"[[{""kernel"": 9, ""expand"": 3}], []]",1.0\n')
    argv[4] = str(bad)
    argv[6] = "acc"
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "row" in err
    assert "kernel" in err
    assert "9" in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--space"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["sample", "--space", "ofa-mbv3", "--n", "-3", "--out", "x.csv"])
    assert exc.value.code == 2
    assert main([]) == 2


def test_every_command_has_help(capsys):
    for cmd in ("train", "predict", "spaces", "sample", "demo"):
        with pytest.raises(SystemExit) as exc:
            main([cmd, "--help"])
        assert exc.value.code == 0


def test_train_stores_direction_unit_and_device_for_evaluators(tmp_path, tiny_toml, tiny_csv):
    from autobuild.evaluation import Metric, PredictorEvaluator
    from autobuild.predictor import AutoBuildPredictor

    out = tmp_path / "ck"
    args = (
        "--target",
        "latency",
        "--epochs",
        "1",
        "--direction",
        "min",
        "--unit",
        "ms",
        "--device",
        "2080Ti",
    )
    assert (
        main(
            ["train", "--space", str(tiny_toml), "--data", str(tiny_csv), "--out", str(out), *args]
        )
        == 0
    )
    pred = AutoBuildPredictor.load(out)
    assert pred.metadata_["device"] == "2080Ti"
    assert PredictorEvaluator(pred).metrics == (Metric("latency", "min", "ms"),)


def test_cli_train_prints_baselines_unless_told_not_to(tiny_toml, tiny_csv, tmp_path, capsys):
    assert train_tiny(tiny_toml, tiny_csv, tmp_path / "a", "--epochs", "1") == 0
    out = capsys.readouterr().out
    assert "baselines' held-out Spearman" in out
    assert "ridge" in out
    assert "trees" in out
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert set(metrics["baselines"]) == {"ridge", "trees"}

    assert train_tiny(tiny_toml, tiny_csv, tmp_path / "b", "--epochs", "1", "--no-baselines") == 0
    assert "baselines" not in capsys.readouterr().out
    assert "baselines" not in json.loads((tmp_path / "b" / "metrics.json").read_text())


def test_cli_train_reports_the_validated_blend(tiny_toml, tiny_csv, tmp_path, capsys):
    assert train_tiny(tiny_toml, tiny_csv, tmp_path / "a", "--epochs", "3") == 0
    out = capsys.readouterr().out
    blend = json.loads((tmp_path / "a" / "metrics.json").read_text())["blend"]
    stack = f"{blend['weight']:.1f} x one-hot ridge + {blend['hop_weight']:.1f} x hop"
    assert f"{stack} {blend['hop']} norm, by 2-fold validation" in out

    assert train_tiny(tiny_toml, tiny_csv, tmp_path / "b", "--epochs", "1", "--wide", "0") == 0
    assert "2-fold" not in capsys.readouterr().out
    metrics = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert "blend" not in metrics
    assert metrics["config"]["wide"] == 0.0


@pytest.mark.parametrize("value", ["2", "-0.5", "yes", "nan"])
def test_cli_train_refuses_a_bad_wide_weight(tiny_toml, tiny_csv, tmp_path, capsys, value):
    with pytest.raises(SystemExit) as err:
        train_tiny(tiny_toml, tiny_csv, tmp_path / "a", "--wide", value)
    assert err.value.code == 2
    assert f"expected 'auto' or a number in [0, 1], got '{value}'" in capsys.readouterr().err


def test_cli_train_slot_features(tiny_toml, tiny_csv, tmp_path):
    assert train_tiny(tiny_toml, tiny_csv, tmp_path / "a", "--epochs", "1", "--slot-features") == 0
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert metrics["config"]["slot_features"] is True
    pred = ab.AutoBuildPredictor.load(tmp_path / "a")
    assert pred.model_.embed.slot_columns
