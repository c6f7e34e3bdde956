"""Tests for declaring search spaces in TOML (and the equivalent dict schema)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

import autobuild.spaces as S
from autobuild.exceptions import SearchSpaceError
from autobuild.spaces import CategoricalFeature, NumericFeature, SearchSpace

README_SPACE = """\
name = "my-space"
[layer]
kernel = [3, 5, 7]
expand = [3, 4, 6]
[[stage]]
min_layers = 2
max_layers = 4
[[stage]]
min_layers = 0
max_layers = 2
[stage.layer]
kernel = [3, 5]
"""

# Stage 1: 9 choices per layer, 2-4 layers. Stage 2: 2 x 3 = 6 choices, 0-2 layers.
STAGE1 = 9**2 + 9**3 + 9**4  # 7371
STAGE2 = 1 + 6 + 6**2  # 43, the empty stage included

BASE: dict[str, Any] = {
    "name": "base",
    "layer": {"kernel": [3, 5]},
    "stage": [{"min_layers": 1, "max_layers": 2}, {"min_layers": 0, "max_layers": 1}],
}


def _write(tmp_path: Path, text: str, name: str = "space.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _spec(**changes: Any) -> dict[str, Any]:
    spec = copy.deepcopy(BASE)
    spec.update(changes)
    return spec


@pytest.fixture
def space(tmp_path: Path) -> SearchSpace:
    return S.from_toml(_write(tmp_path, README_SPACE))


# ---------------------------------------------------------------------- the README example
def test_readme_space_declaration(space):
    assert space.name == "my-space"
    assert space.layer_feature_names == ("kernel", "expand")
    assert [s.name for s in space.stages] == ["stage1", "stage2"]
    s1, s2 = space.stages
    assert (s1.min_layers, s1.max_layers, s2.min_layers, s2.max_layers) == (2, 4, 0, 2)
    assert s1.layer == (
        CategoricalFeature("kernel", (3, 5, 7)),
        CategoricalFeature("expand", (3, 4, 6)),
    )
    # The stage override restricts kernel and keeps the default expand.
    assert s2.layer == (
        CategoricalFeature("kernel", (3, 5)),
        CategoricalFeature("expand", (3, 4, 6)),
    )
    assert space.units == ((0,), (1,))
    assert space.global_features == ()


def test_readme_space_counts_by_hand(space):
    assert [space.stages[1].count(n) for n in range(4)] == [1, 6, 36, 0]
    assert space.stage_count(0) == STAGE1
    assert space.stage_count(1) == STAGE2
    assert space.size() == STAGE1 * STAGE2
    # The empty configuration of stage 2 is a valid architecture but not a subgraph.
    assert space.count_subgraphs(0) == STAGE1
    assert space.count_subgraphs(1) == STAGE2 - 1 == 42
    assert space.count_subgraphs() == STAGE1 + 42
    subgraphs = list(space.enumerate_subgraphs(1))
    assert len(subgraphs) == len(set(subgraphs)) == 42
    assert ((),) not in subgraphs
    assert subgraphs[0] == (((3, 3),),)  # kernel-major: the declaration order of [layer]
    assert subgraphs[1] == (((3, 4),),)
    empty_stage = space.parse([[{"kernel": 7, "expand": 6}] * 2, []])
    assert empty_stage.depths == (2, 0)
    assert space.canonical_id(empty_stage) == "7:6,7:6|"
    assert space.parse("7:6,7:6|") == empty_stage


def test_stage_override_is_enforced(space):
    with pytest.raises(
        SearchSpaceError,
        match=r"Stage 2 \('stage2'\), layer 1: feature 'kernel' has value 7; "
        r"allowed values: \[3, 5\]",
    ):
        space.parse([[{"kernel": 7, "expand": 6}] * 2, [{"kernel": 7, "expand": 6}]])


def test_round_trip_and_fingerprint(space, tmp_path):
    again = SearchSpace.from_dict(space.to_dict())
    assert again.to_dict() == space.to_dict()
    assert again.fingerprint() == space.fingerprint()
    assert again.fingerprint() == again.fingerprint()
    assert S.from_toml(_write(tmp_path, README_SPACE, "copy.toml")).fingerprint() == (
        space.fingerprint()
    )
    changed = S.from_toml(_write(tmp_path, README_SPACE.replace("[3, 5]", "[3]"), "b.toml"))
    assert changed.fingerprint() != space.fingerprint()


def test_fingerprint_is_a_stable_sorted_json_declaration():
    spec = _spec(**{"global": {"r": {"type": "numeric", "values": [1, 2], "default": 2}}})
    expected = (
        '{"global":{"r":{"default":2.0,"type":"numeric","values":[1.0,2.0]}},"name":"base",'
        '"stage":[{"layer":{"kernel":[3,5]},"max_layers":2,"min_layers":1,"name":"stage1"},'
        '{"layer":{"kernel":[3,5]},"max_layers":1,"min_layers":0,"name":"stage2"}]}'
    )
    assert SearchSpace.from_dict(spec).fingerprint() == expected
    # Key order in the declaration does not matter.
    reordered = dict(reversed(list(spec.items())))
    assert SearchSpace.from_dict(reordered).fingerprint() == expected


@pytest.mark.parametrize("name", ["ofa-mbv3", "ofa-pn", "nasbench-macro"])
def test_builtin_declarations_round_trip(name):
    space = S.get(name)
    again = SearchSpace.from_dict(space.to_dict())
    assert again.fingerprint() == space.fingerprint()
    assert [again.count_subgraphs(u) for u in range(again.num_units)] == [
        space.count_subgraphs(u) for u in range(space.num_units)
    ]


def test_get_reads_a_toml_path(space, tmp_path):
    path = tmp_path / "space.toml"
    assert S.get(path).fingerprint() == space.fingerprint()
    assert S.get(str(path)).fingerprint() == space.fingerprint()


# ---------------------------------------------------------------------- feature kinds
def test_numeric_feature_with_values(tmp_path):
    text = README_SPACE.replace(
        "expand = [3, 4, 6]", 'width = { type = "numeric", values = [0.5, 1.0] }'
    )
    space = S.from_toml(_write(tmp_path, text))
    width = space.stages[0].layer[1]
    assert width == NumericFeature("width", (0.5, 1.0), 0.5, 1.0)
    assert width.normalize(0.5) == 0.0
    assert width.normalize(1.0) == 1.0
    # 3 kernels x 2 widths = 6 choices per layer in stage 1, 2 x 2 = 4 in stage 2.
    assert space.count_subgraphs(0) == 6**2 + 6**3 + 6**4
    assert space.count_subgraphs(1) == 4 + 16
    assert len(list(space.enumerate_subgraphs(1))) == 20
    arch = space.parse([[{"kernel": 3, "width": 1}, {"kernel": 5, "width": "0.5"}], []])
    assert arch.stages[0] == ((3, 1.0), (5, 0.5))
    assert space.canonical_id(arch) == "3:1,5:0.5|"
    with pytest.raises(SearchSpaceError, match=r"'width' has value 0.75; allowed values: \[0.5"):
        space.parse([[{"kernel": 3, "width": 0.75}] * 2, []])
    assert SearchSpace.from_dict(space.to_dict()).fingerprint() == space.fingerprint()


def test_numeric_interval_can_be_sampled_but_not_enumerated(tmp_path):
    text = README_SPACE.replace("expand = [3, 4, 6]", 'width = {type="numeric", min=0, max=1}')
    space = S.from_toml(_write(tmp_path, text))
    assert not space.stages[0].layer[1].enumerable
    with pytest.raises(SearchSpaceError, match="interval"):
        next(space.enumerate_subgraphs(0))
    with pytest.raises(SearchSpaceError, match="interval"):
        next(space.enumerate_architectures())
    archs = space.sample(50, seed=0)
    assert len(set(archs)) == 50
    widths = [layer[1] for a in archs for st in a.stages for layer in st]
    assert all(0.0 <= w <= 1.0 for w in widths)
    assert len(set(widths)) == len(widths)  # continuous draws
    for a in archs:
        assert space.parse(space.canonical_id(a)) == a
    with pytest.raises(SearchSpaceError, match=r"'width' has value 1.5; allowed values: any"):
        space.parse([[{"kernel": 3, "width": 1.5}] * 2, []])
    assert SearchSpace.from_dict(space.to_dict()).fingerprint() == space.fingerprint()


def test_small_interval_space_samples_without_enumerating():
    space = SearchSpace.from_dict(
        {
            "name": "tiny",
            "layer": {"w": {"type": "numeric", "min": 0, "max": 1}},
            "stage": [{"min_layers": 1, "max_layers": 2}],
        }
    )
    assert space.size() == 2  # an interval counts as one choice
    archs = space.sample(2, seed=0)
    assert len(set(archs)) == 2


def test_global_feature_with_default(tmp_path):
    text = README_SPACE + (
        '\n[global]\nresolution = { type = "numeric", values = [160, 192, 224], default = 224 }\n'
    )
    space = S.from_toml(_write(tmp_path, text))
    assert [f.name for f in space.global_features] == ["resolution"]
    assert space.size() == STAGE1 * STAGE2 * 3
    stages = [[{"kernel": 3, "expand": 3}] * 2, []]
    assert space.parse(stages).globals == (224.0,)
    assert space.parse({"stages": stages}).globals == (224.0,)
    assert space.parse({"stages": stages, "resolution": 160}).globals == (160.0,)
    arch = space.parse({"stages": stages, "resolution": 192})
    assert space.canonical_id(arch) == "3:3,3:3|@192"
    assert space.parse("3:3,3:3|").globals == (224.0,)
    assert space.to_json(arch) == {"stages": stages, "resolution": 192.0}
    with pytest.raises(SearchSpaceError, match="Global feature 'resolution' has value 200"):
        space.parse({"stages": stages, "resolution": 200})


def test_global_feature_without_default_must_be_given():
    space = SearchSpace.from_dict(_spec(**{"global": {"act": ["relu", "swish"]}}))
    with pytest.raises(SearchSpaceError, match="does not give global feature 'act'"):
        space.parse([[3], []])
    assert space.parse({"stages": [[3], []], "act": "swish"}).globals == ("swish",)


def test_first_layer_override(tmp_path):
    text = README_SPACE.replace(
        "max_layers = 4\n", "max_layers = 4\n[stage.first_layer]\nkernel = [3]\n", 1
    )
    space = S.from_toml(_write(tmp_path, text))
    s1 = space.stages[0]
    assert s1.first_layer == (CategoricalFeature("kernel", (3,)), s1.layer[1])
    assert s1.num_choices(0) == 3
    assert s1.num_choices(1) == 9
    assert space.count_subgraphs(0) == 3 * 9 + 3 * 9**2 + 3 * 9**3
    assert all(sg[0][0][0] == 3 for sg in space.enumerate_subgraphs(0))
    space.parse([[{"kernel": 3, "expand": 4}, {"kernel": 7, "expand": 4}], []])
    with pytest.raises(
        SearchSpaceError,
        match=r"Stage 1 \('stage1'\), layer 1: feature 'kernel' has value 7; "
        r"allowed values: \[3\]",
    ):
        space.parse([[{"kernel": 7, "expand": 4}, {"kernel": 3, "expand": 4}], []])
    assert SearchSpace.from_dict(space.to_dict()).fingerprint() == space.fingerprint()


def test_units_merge_stages(tmp_path):
    text = """\
name = "units"
units = [["a"], ["b", "c"]]
[layer]
op = ["x", "y"]
[[stage]]
name = "a"
min_layers = 1
max_layers = 1
[[stage]]
name = "b"
min_layers = 0
max_layers = 1
[[stage]]
name = "c"
min_layers = 0
max_layers = 2
"""
    space = S.from_toml(_write(tmp_path, text))
    assert space.units == ((0,), (1, 2))
    assert space.unit_name(1) == "b+c"
    # (1 + 2) * (1 + 2 + 4) combinations, minus the one where both stages are empty.
    assert space.count_subgraphs(1) == 3 * 7 - 1
    subgraphs = list(space.enumerate_subgraphs(1))
    assert len(subgraphs) == len(set(subgraphs)) == 20
    assert ((), ()) not in subgraphs
    assert subgraphs[0] == ((), (("x",),))
    assert space.to_dict()["units"] == [["a"], ["b", "c"]]
    assert SearchSpace.from_dict(space.to_dict()).fingerprint() == space.fingerprint()


# ---------------------------------------------------------------------- declaration errors
@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (_spec(stages=[]), r"Unknown top-level key\(s\) \['stages'\]"),
        (_spec(name=""), "needs a non-empty string `name`"),
        (_spec(stage=[]), "needs at least one \\[\\[stage\\]\\]"),
        (_spec(stage=[{"max_layers": 2}]), r"\[\[stage\]\] #1 is missing `min_layers`"),
        (
            _spec(stage=[{"min_layers": 1, "max_layers": 1}, {"min_layers": 1}]),
            r"\[\[stage\]\] #2 is missing `max_layers`",
        ),
        (
            _spec(stage=[{"min_layers": 3, "max_layers": 2}]),
            r"Stage 'stage1': `min_layers <= max_layers` must hold, got min_layers=3, "
            "max_layers=2",
        ),
        (_spec(stage=[{"min_layers": -1, "max_layers": 2}]), "`min_layers` must be an integer"),
        (_spec(stage=[{"min_layers": 0, "max_layers": 0}]), "max_layers=0"),
        (
            _spec(stage=[{"min_layers": 1, "max_layers": 2, "depth": 3}]),
            r"Unknown key\(s\) \['depth'\] in \[\[stage\]\] #1",
        ),
        (
            _spec(layer={"kernel": [3, 5, 3]}),
            r"Feature 'kernel' declares duplicate values \[3, 5, 3\]",
        ),
        (
            _spec(layer={"w": {"type": "numeric", "values": [0.5, 1.0, 0.5]}}),
            r"Feature 'w' declares duplicate values",
        ),
        (_spec(layer={"stage": [1, 2]}), r"\['stage'\] are reserved"),
        (_spec(layer={"layer": [1, 2]}), r"\['layer'\] are reserved"),
        (_spec(layer={"kernel": []}), "needs a non-empty list of values"),
        (_spec(layer={"kernel": [[3]]}), "values must be numbers, strings or booleans"),
        (_spec(layer={"op": ["a|b"]}), "reserved characters"),
        (_spec(layer={"kernel": {"type": "ordinal"}}), "use 'categorical' or 'numeric'"),
        (
            _spec(layer={"w": {"type": "numeric", "min": 1}}),
            "needs 'values', or both 'min' and 'max'",
        ),
        (_spec(layer={"w": {"type": "numeric", "min": 2, "max": 1}}), "low <= high"),
        (
            _spec(layer={"w": {"type": "numeric", "values": [1, 2], "default": 3}}),
            "Default 3.0 of feature 'w' is not an allowed value",
        ),
        (
            _spec(
                stage=[{"min_layers": 1, "max_layers": 2, "layer": {"expand": [3, 4]}}],
            ),
            r"\[\[stage\]\] #1 \[stage.layer\] overrides unknown feature\(s\) \['expand'\]; "
            r"\[layer\] declares \['kernel'\]",
        ),
        (
            _spec(stage=[{"min_layers": 1, "max_layers": 2, "first_layer": {"e": [3]}}]),
            r"\[stage.first_layer\] overrides unknown feature\(s\) \['e'\]",
        ),
        (
            _spec(**{"global": {"kernel": [1, 2]}}),
            r"Global feature names \['kernel'\] must be unique and differ from layer features",
        ),
        (_spec(units=[["stage1"], ["nope"]]), "`units` names unknown stage 'nope'"),
        (
            _spec(units=[["stage2"], ["stage1"]]),
            r"must split the stages 0\.\.1 into consecutive, non-empty groups",
        ),
        (_spec(units="stage1"), "`units` must be a list of lists"),
        (_spec(layer=None), "has no layer features"),
    ],
)
def test_declaration_errors(spec, message):
    with pytest.raises(SearchSpaceError, match=message):
        SearchSpace.from_dict(spec)


def test_stages_must_declare_the_same_features():
    spec = {
        "name": "x",
        "stage": [
            {"min_layers": 1, "max_layers": 1, "layer": {"kernel": [3]}},
            {"min_layers": 1, "max_layers": 1, "layer": {"expand": [3]}},
        ],
    }
    with pytest.raises(SearchSpaceError, match="every stage must declare the same features"):
        SearchSpace.from_dict(spec)


def test_toml_declaration_error_names_the_file(tmp_path):
    path = _write(tmp_path, README_SPACE.replace("[layer]", "colour = 1\n[layer]"), "bad.toml")
    with pytest.raises(
        SearchSpaceError, match=re.escape(str(path)) + r": Unknown top-level key\(s\) \['colour'\]"
    ):
        S.from_toml(path)


def test_invalid_toml_names_the_file(tmp_path):
    path = _write(tmp_path, 'name = "x"\n[layer\nkernel = [3]\n', "broken.toml")
    with pytest.raises(SearchSpaceError, match=re.escape(repr(str(path))) + " is not valid TOML"):
        S.from_toml(path)


def test_missing_file(tmp_path):
    path = tmp_path / "missing.toml"
    with pytest.raises(SearchSpaceError, match=re.escape(repr(str(path))) + " does not exist"):
        S.from_toml(path)
    with pytest.raises(SearchSpaceError, match="does not exist"):
        S.get(str(path))
