import json
import os
from pathlib import Path

import numpy as np
import pytest

from autobuild.spaces import SearchSpace

TINY_TOML = """\
name = "tiny"
[layer]
kernel = [3, 5, 7]
expand = [3, 6]
[[stage]]
min_layers = 1
max_layers = 3
[[stage]]
min_layers = 0
max_layers = 2
[stage.layer]
kernel = [3, 5]
"""


@pytest.fixture
def tiny_toml(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML)
    return path


@pytest.fixture
def tiny_space(tiny_toml: Path) -> SearchSpace:
    from autobuild.spaces import from_toml

    return from_toml(tiny_toml)


def synthetic_acc(space: SearchSpace, archs) -> np.ndarray:
    """A label with structure the predictor can learn: more and larger layers score higher."""
    out = []
    for a in archs:
        score = 0.0
        for s, layers in enumerate(a.stages):
            for layer in layers:
                size = sum(float(v) if not isinstance(v, str) else len(v) for v in layer)
                score += (s + 1) * (0.2 * size + 0.1 * size**0.5)
        out.append(score)
    return np.asarray(out)


@pytest.fixture
def tiny_csv(tmp_path: Path, tiny_space: SearchSpace) -> Path:
    archs = tiny_space.sample(150, seed=0)
    y = synthetic_acc(tiny_space, archs)
    lines = ["arch,acc,latency"]
    for a, v in zip(archs, y, strict=True):
        cell = json.dumps(tiny_space.to_json(a)).replace('"', '""')
        lines.append(f'"{cell}",{v},{1.0 + a.num_layers}')
    path = tmp_path / "tiny.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file as dicts."""
    import csv

    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def train_tiny(toml: Path, data: Path, out: Path, *extra: object) -> int:
    """Run ``autobuild train`` on the tiny space and data with target ``acc``."""
    from autobuild.cli.main import main

    argv = ["train", "--space", toml, "--data", data, "--target", "acc", "--out", out, *extra]
    return main([str(a) for a in argv])


def nasbench_file() -> Path | None:
    root = os.environ.get("AUTOBUILD_DATA")
    if not root:
        return None
    path = Path(root) / "nasbench_macro" / "nas-bench-macro_cifar10.json"
    return path if path.is_file() else None


@pytest.fixture
def nasbench_available() -> None:
    if nasbench_file() is None:
        pytest.skip("NAS-Bench-Macro data not found: set AUTOBUILD_DATA to the shared data folder")
