"""CLI: ensemble, build and score from an ensemble folder, exhaustive."""

from __future__ import annotations

import json

import pytest
from tests.conftest import read_rows

from autobuild.cli.main import main


def _common(tiny_toml, tiny_csv, out):
    return [
        "--space", str(tiny_toml), "--data", str(tiny_csv), "--target", "acc",
        "--n-labeled", "40", "--seed", "1", "--folds", "2", "--seeds", "2",
        "--executor", "serial", "--epochs", "3", "--out", str(out),
    ]  # fmt: skip


def test_ensemble_then_build_and_score(tmp_path, tiny_toml, tiny_csv, capsys):
    ens = tmp_path / "ens"
    assert main(["ensemble", *_common(tiny_toml, tiny_csv, ens)]) == 0
    index = json.loads((ens / "ensemble.json").read_text())
    assert len(index["members"]) == 4
    assert index["metadata"]["target"] == "acc"
    assert "4 members" in capsys.readouterr().out

    built = tmp_path / "built"
    assert main(["build", str(ens), "--top", "4", "--out", str(built)]) == 0
    rows = read_rows(built / "built.csv")
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4"]
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)

    out = tmp_path / "scores"
    assert main(["score", str(ens), "--out", str(out)]) == 0
    recs = read_rows(out / "subgraph_scores.csv")
    assert "spread" in recs[0]
    assert any(float(r["spread"]) > 0 for r in recs)  # members disagree somewhere

    # --shift raw: the weighted norms themselves (the paper's literal sum), in score and build
    raw = tmp_path / "raw"
    assert main(["score", str(ens), "--shift", "raw", "--out", str(raw)]) == 0
    raw_recs = read_rows(raw / "subgraph_scores.csv")
    assert [r["score"] for r in raw_recs] == [r["raw"] for r in raw_recs]
    assert [r["score"] for r in raw_recs] != [r["score"] for r in recs]
    assert main(["build", str(ens), "--top", "4", "--shift", "raw", "--out", str(raw)]) == 0
    assert len(read_rows(raw / "built.csv")) == 4

    # --rerank: the ensemble's weighted prediction of every reduced-space architecture
    rr = tmp_path / "rr"
    assert main(["build", str(ens), "--k", "2", "--rerank", "--out", str(rr)]) == 0
    rows = read_rows(rr / "built.csv")
    from autobuild.ensemble import PredictorEnsemble

    loaded = PredictorEnsemble.load(ens)
    mean, spread = loaded.predict([loaded.space.parse(json.loads(r["arch"])) for r in rows])
    assert [float(r["prediction"]) for r in rows] == pytest.approx(mean)
    assert [float(r["spread"]) for r in rows] == pytest.approx(spread)
    assert list(mean) == sorted(mean, reverse=True)

    # The default shift of an ensemble, auto, is Eq. 5.
    eq5 = tmp_path / "eq5"
    assert main(["score", str(ens), "--shift", "eq5", "--out", str(eq5)]) == 0
    assert (eq5 / "subgraph_scores.csv").read_text() == (out / "subgraph_scores.csv").read_text()

    # predict: the ensemble's weighted prediction and its spread
    from autobuild.data import read_architectures

    pred_csv = tmp_path / "pred.csv"
    assert main(["predict", str(ens), "--data", str(tiny_csv), "--out", str(pred_csv)]) == 0
    rows = read_rows(pred_csv)
    assert list(rows[0]) == ["arch_id", "prediction", "spread"]
    mean, spread = loaded.predict(read_architectures(tiny_csv, loaded.space))
    assert [float(r["prediction"]) for r in rows] == pytest.approx(mean)
    assert [float(r["spread"]) for r in rows] == pytest.approx(spread)


def test_exhaustive_writes_top_csv(tmp_path, tiny_toml, tiny_csv, capsys):
    es = tmp_path / "es"
    assert main(["exhaustive", *_common(tiny_toml, tiny_csv, es), "--top", "3"]) == 0
    rows = read_rows(es / "top.csv")
    assert list(rows[0]) == ["rank", "arch_id", "arch", "prediction", "spread"]
    assert len(rows) == 3
    preds = [float(r["prediction"]) for r in rows]
    assert preds == sorted(preds, reverse=True)
    meta = json.loads((es / "ensemble.json").read_text())
    assert meta["metadata"]["config"]["corr_lambda"] == 0.0  # ES members: MSE only
    assert "Scored" in capsys.readouterr().out


def test_exhaustive_direction_min_keeps_the_lowest_predictions(tmp_path, tiny_toml, tiny_csv):
    argv = _common(tiny_toml, tiny_csv, tmp_path / "es")
    argv[argv.index("acc")] = "latency"
    assert main(["exhaustive", *argv, "--top", "3", "--direction", "min"]) == 0
    preds = [float(r["prediction"]) for r in read_rows(tmp_path / "es" / "top.csv")]
    assert preds == sorted(preds)
    meta = json.loads((tmp_path / "es" / "ensemble.json").read_text())
    assert meta["metadata"]["direction"] == "min"


def test_same_seed_draws_the_same_labelled_architectures(tmp_path, tiny_toml, tiny_csv):
    ens, ck = tmp_path / "ens", tmp_path / "ck"
    assert main(["ensemble", *_common(tiny_toml, tiny_csv, ens)]) == 0
    argv = ["train", "--space", str(tiny_toml), "--data", str(tiny_csv), "--target", "acc"]
    argv += ["--n-labeled", "40", "--seed", "1", "--test-fraction", "0", "--epochs", "1"]
    assert main([*argv, "--out", str(ck)]) == 0
    member = json.loads((ens / "members" / "s0_f0" / "predictor.json").read_text())
    ensemble_ids = set(member["train_archs"])
    train_ids = set(json.loads((ck / "predictor.json").read_text())["train_archs"])
    assert ensemble_ids < train_ids  # the member's 4/5 folds come from the same 40


def test_ensemble_bad_folds_is_a_clear_error(tmp_path, tiny_toml, tiny_csv, capsys):
    argv = _common(tiny_toml, tiny_csv, tmp_path / "e")
    argv[argv.index("--folds") + 1] = "30"
    assert main(["ensemble", *argv]) == 1
    assert "too few for 30 folds" in capsys.readouterr().err
