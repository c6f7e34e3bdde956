"""Real output folders of the CLI on the tiny space, for the tests of the HTML report."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import TINY_TOML, synthetic_acc

from autobuild.cli.main import main


def tiny_inputs(root: Path) -> tuple[Path, Path]:
    """The tiny space (TOML) and 150 labelled architectures (CSV) in ``root``."""
    from autobuild.spaces import from_toml

    toml = root / "tiny.toml"
    toml.write_text(TINY_TOML)
    space = from_toml(toml)
    archs = space.sample(150, seed=0)
    lines = ["arch,acc,latency"]
    for a, v in zip(archs, synthetic_acc(space, archs), strict=True):
        cell = json.dumps(space.to_json(a)).replace('"', '""')
        lines.append(f'"{cell}",{v},{1.0 + a.num_layers}')
    data = root / "tiny.csv"
    data.write_text("\n".join(lines) + "\n")
    return toml, data


def run(*argv: object) -> None:
    assert main([str(a) for a in argv]) == 0, argv


def make_folders(root: Path, kinds: tuple[str, ...]) -> dict[str, Path]:
    """Output folders of the commands named in ``kinds`` (cheap settings: a few seconds).

    ``combined`` is one folder that ``train``, ``score`` and ``build`` all wrote into.
    """
    toml, data = tiny_inputs(root)
    labelled = ["--space", toml, "--data", data, "--target", "acc"]
    out: dict[str, Path] = {}
    train = root / "train"
    if {"train", "score", "build"} & set(kinds):
        run("train", *labelled, "--epochs", "2", "--no-baselines", "--out", train)
        out["train"] = train
    if "score" in kinds:
        out["score"] = root / "score"
        run("score", train, "--out", out["score"])
    if "build" in kinds:
        out["build"] = root / "build"
        run("build", train, "--out", out["build"])
    if "combined" in kinds:
        combined = root / "combined"
        run("train", *labelled, "--epochs", "2", "--no-baselines", "--out", combined)
        run("score", combined, "--out", combined)
        run("build", combined, "--out", combined)
        out["combined"] = combined
    if "ensemble" in kinds:
        out["ensemble"] = root / "ensemble"
        run(
            "ensemble", *labelled, "--n-labeled", "40", "--folds", "2", "--seeds", "1",
            "--executor", "serial", "--epochs", "2", "--out", out["ensemble"],
        )  # fmt: skip
    if "search" in kinds:
        out["search"] = root / "search"
        run(
            "search", "--space", toml, "--data", data, "--method", "random",
            "--objectives", "acc:max,latency:min", "--budget", "10", "--initial", "10",
            "--batch", "10", "--no-plot", "--out", out["search"],
        )  # fmt: skip
    return out
