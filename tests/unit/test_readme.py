"""The README's examples, and the schema examples of the docs, must keep working."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import nasbench_file

from autobuild.data import load_table
from autobuild.spaces import from_toml

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DECLARE_SPACE = ROOT / "docs" / "how-to" / "declare-space.md"
BRING_DATA = ROOT / "docs" / "how-to" / "bring-data.md"
_PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def _block(path: Path, lang: str) -> str:
    blocks = re.findall(rf"```{lang}\n(.*?)```", path.read_text(), flags=re.S)
    assert blocks, f"{path.name} has no {lang} block"
    return blocks[0]


def run_python_block(code: str, tmp_path: Path, source: str) -> None:
    """Run ``code`` as a script of its own in ``tmp_path``; fail with its stderr."""
    if "load_nasbench_macro" in code and nasbench_file() is None:
        pytest.skip("NAS-Bench-Macro data not found: set AUTOBUILD_DATA to the shared data folder")
    script = tmp_path / "example.py"
    script.write_text(code)
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"{source} example failed:\n{code}\n{done.stderr[-3000:]}"


def test_docs_toml_schema_example_parses(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(_block(DECLARE_SPACE, "toml"))
    space = from_toml(path)
    assert space.name == "my-space"
    assert [s.name for s in space.stages] == ["s1", "stage2"]
    assert space.stages[1].min_layers == 0
    assert [f.name for f in space.global_features] == ["resolution"]
    archs = space.sample(20, seed=0)
    assert all(space.parse(space.canonical_id(a)) == a for a in archs)


def test_docs_csv_example_loads(tmp_path):
    toml = tmp_path / "space.toml"
    toml.write_text(
        'name = "readme"\n[layer]\nkernel = [3, 5, 7]\nexpand = [3, 4, 6]\n'
        "[[stage]]\nmin_layers = 1\nmax_layers = 2\n[[stage]]\nmin_layers = 1\nmax_layers = 2\n"
    )
    csv_path = tmp_path / "data.csv"
    csv_path.write_text(_block(BRING_DATA, "csv"))
    data = load_table(csv_path, from_toml(toml))
    assert len(data) == 1
    assert data.metric_names == ["acc", "latency"]


def test_readme_has_python_examples():
    assert len(_PYTHON_BLOCKS) >= 1


@pytest.mark.parametrize(
    "code", _PYTHON_BLOCKS, ids=[f"block{i}" for i in range(len(_PYTHON_BLOCKS))]
)
def test_readme_python_block_runs_as_a_script(code, tmp_path):
    """Each Python block, pasted into a script of its own, runs without error."""
    run_python_block(code, tmp_path, "README")
