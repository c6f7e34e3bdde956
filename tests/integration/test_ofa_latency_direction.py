"""A latency checkpoint ranks fastest first, end to end on HELP's OFA-MobileNetV3 latencies.

Skipped without ``$AUTOBUILD_DATA/help_ofa_mbv3_latency``. The predictor learns the V100
batch-64 latency (nearly additive over layers) of 300 subnets with ``--direction min``;
``score``, ``build``, ``build --rerank`` and ``build --candidates`` must then all put the
lowest latency first.
"""

import csv
import json

import numpy as np
import pytest
from tests.conftest import read_rows

from autobuild.cli.main import main
from autobuild.data import load_help_ofa_mbv3
from autobuild.exceptions import DataError
from autobuild.metrics import spearman
from autobuild.spaces import Architecture

pytestmark = [pytest.mark.integration, pytest.mark.data]

COLUMN = "lat_v100_64"
N_TRAIN = 300
N_POOL = 300


@pytest.fixture(scope="module")
def latency(tmp_path_factory):
    """A ``--direction min`` checkpoint and a held-out pool with its true latencies."""
    try:
        data = load_help_ofa_mbv3()
    except DataError:
        pytest.skip("HELP latencies not found: set AUTOBUILD_DATA to the shared data folder")
    space, archs, values = data.space, data.archs, list(data.metrics[COLUMN])
    folder = tmp_path_factory.mktemp("ofa_latency")

    def write(name, idx):
        with (folder / name).open("w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["arch", "latency"])
            for i in idx:
                out.writerow([json.dumps(space.to_json(archs[i])), values[i]])
        return folder / name

    train = write("train.csv", range(N_TRAIN))
    pool_idx = range(len(archs) - N_POOL, len(archs))
    pool = write("pool.csv", pool_idx)
    ck = folder / "ck"
    argv = ["train", "--space", "ofa-mbv3", "--data", train, "--target", "latency"]
    argv += ["--direction", "min", "--unit", "ms", "--epochs", "40", "--out", ck]
    assert main([str(a) for a in argv]) == 0
    truth = {space.arch_id(archs[i]): values[i] for i in pool_idx}
    return space, ck, pool, truth


def test_score_lists_the_fastest_subgraphs_first(tmp_path, latency):
    space, ck, _, _ = latency
    assert main(["score", str(ck), "--out", str(tmp_path)]) == 0
    rows = read_rows(tmp_path / "subgraph_scores.csv")
    for u in range(space.num_units):
        stage = [r for r in rows if r["stage"] == space.unit_name(u)]
        scores = [float(r["score"]) for r in stage]
        assert scores == sorted(scores)  # lowest predicted latency first
        deepest = [s for r, s in zip(stage, scores, strict=True) if r["n_layers"] == "4"]
        assert scores[0] < np.mean(deepest)


def test_build_puts_the_lowest_predicted_latency_first(tmp_path, latency):
    from autobuild.predictor import AutoBuildPredictor

    space, ck, pool, _ = latency
    out = tmp_path / "built"
    assert main(["build", str(ck), "--k", "2", "--out", str(out)]) == 0
    rows = read_rows(out / "built.csv")
    assert len(rows) == 2**space.num_units
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores)
    assert json.loads((out / "reduced_space.json").read_text())["direction"] == "min"

    pred = AutoBuildPredictor.load(ck)
    built = space.parse(json.loads(rows[0]["arch"]))
    archs = [space.parse(json.loads(r["arch"])) for r in read_rows(pool)]
    # The pool's stages at the built architecture's resolution: the built top-1 must be
    # predicted faster than most of them (ranking the wrong way round builds the slowest).
    same_resolution = [Architecture(a.stages, built.globals) for a in archs]
    pool_pred = pred.predict(same_resolution)
    assert pred.predict([built])[0] < np.median(pool_pred)

    reranked = tmp_path / "reranked"
    argv = ["build", str(ck), "--k", "2", "--rerank", "--out", str(reranked)]
    assert main(argv) == 0
    predictions = [float(r["prediction"]) for r in read_rows(reranked / "built.csv")]
    assert predictions == sorted(predictions)
    assert predictions[0] < predictions[-1]


def test_candidates_are_ranked_fastest_first(tmp_path, latency):
    _, ck, pool, truth = latency
    out = tmp_path / "ranked"
    assert main(["build", str(ck), "--candidates", str(pool), "--out", str(out)]) == 0
    rows = read_rows(out / "built.csv")
    true = np.asarray([truth[r["arch_id"]] for r in rows])
    assert spearman(np.arange(len(true)), true) > 0.8  # rank 1 is the fastest
    assert true[:20].mean() < true[-20:].mean()

    reranked = tmp_path / "reranked"
    argv = ["build", str(ck), "--candidates", str(pool), "--rerank", "--out", str(reranked)]
    assert main(argv) == 0
    rows = read_rows(reranked / "built.csv")
    predictions = [float(r["prediction"]) for r in rows]
    assert predictions == sorted(predictions)
    true = np.asarray([truth[r["arch_id"]] for r in rows])
    assert spearman(np.arange(len(true)), true) > 0.8
