"""The README's examples must keep working."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import nasbench_file

from autobuild.data import load_table
from autobuild.spaces import from_toml

README = Path(__file__).resolve().parents[2] / "README.md"
_PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def _block(lang: str) -> str:
    blocks = re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, f"README has no {lang} block"
    return blocks[0]


def test_readme_toml_schema_example_parses(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(_block("toml"))
    space = from_toml(path)
    assert space.name == "my-space"
    assert [s.name for s in space.stages] == ["s1", "stage2"]
    assert space.stages[1].min_layers == 0
    assert [f.name for f in space.global_features] == ["resolution"]
    archs = space.sample(20, seed=0)
    assert all(space.parse(space.canonical_id(a)) == a for a in archs)


def test_readme_csv_example_loads(tmp_path):
    toml = tmp_path / "space.toml"
    toml.write_text(
        'name = "readme"\n[layer]\nkernel = [3, 5, 7]\nexpand = [3, 4, 6]\n'
        "[[stage]]\nmin_layers = 1\nmax_layers = 2\n[[stage]]\nmin_layers = 1\nmax_layers = 2\n"
    )
    csv_path = tmp_path / "data.csv"
    csv_path.write_text(_block("csv"))
    data = load_table(csv_path, from_toml(toml))
    assert len(data) == 1
    assert data.metric_names == ["acc", "latency"]


def test_readme_has_python_examples():
    assert len(_PYTHON_BLOCKS) >= 3


@pytest.mark.parametrize(
    "code", _PYTHON_BLOCKS, ids=[f"block{i}" for i in range(len(_PYTHON_BLOCKS))]
)
def test_readme_python_block_runs_as_a_script(code, tmp_path):
    """Each Python block, pasted into a script of its own, runs without error."""
    if "load_nasbench_macro" in code and nasbench_file() is None:
        pytest.skip("NAS-Bench-Macro data not found: set AUTOBUILD_DATA to the shared data folder")
    script = tmp_path / "example.py"
    script.write_text(code)
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"README example failed:\n{code}\n{done.stderr[-3000:]}"
