"""The README's examples must keep working."""

import re
from pathlib import Path

from autobuild.data import load_table
from autobuild.spaces import from_toml

README = Path(__file__).resolve().parents[2] / "README.md"


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
