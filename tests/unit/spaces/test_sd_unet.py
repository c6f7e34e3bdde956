"""Tests for the built-in ``sd-unet`` space (SD v1.4 U-Net variants, AutoBuild Sec. 5.3)."""

from __future__ import annotations

import copy
import itertools
import json
import re

import pytest

import autobuild.spaces as S
from autobuild.cli.main import main
from autobuild.exceptions import SearchSpaceError
from autobuild.networks import build_model
from autobuild.spaces import Architecture, SearchSpace
from autobuild.spaces.sd_unet import ORIGINAL_WIDTHS, SAME, SD_V1_4, WIDTHS

#: Stage configurations: s1 3 widths x lengths 1-2 of resnets only; s2, s3 3 x (1+2+4+8);
#: s4 3 x (1+2); mid (first resnet fixed) 1+2+4.
STAGE_COUNTS = [6, 45, 45, 9, 7]
UNIT_COUNTS = [6, 45, 45, 63]
SIZE = 765_450
SD_ID = (
    "resnet:320,resnet:same"
    "|resnet:640,attention:same,resnet:same,attention:same"
    "|resnet:1280,attention:same,resnet:same,attention:same"
    "|resnet:1280,resnet:same"
    "|resnet:same,attention:same,resnet:same"
)


@pytest.fixture(scope="module")
def sd() -> SearchSpace:
    return S.get("sd-unet")


def _check_invariants(space: SearchSpace, arch: Architecture) -> None:
    """Properties every architecture of the space has, beyond what validation checks."""
    assert space.validate(arch) == arch
    for stage, layers in zip(space.stages, arch.stages, strict=True):
        assert layers, stage.name
        assert layers[0][0] == "resnet"  # the width-setting resnet is always there
        assert layers[0][1] in WIDTHS.get(stage.name, (SAME,))
        assert all(layer[1] == SAME for layer in layers[1:])
    assert all(layer[0] == "resnet" for layer in arch.stages[0])  # no attention at 64x64


# ---------------------------------------------------------------------- registry
def test_registered_as_a_builtin():
    assert "sd-unet" in S.list_spaces()
    assert S.get("sd_unet").name == S.get("SD-UNet").name == "sd-unet"


def test_declaration(sd):
    assert [s.name for s in sd.stages] == ["s1", "s2", "s3", "s4", "mid"]
    depths = [(s.min_layers, s.max_layers) for s in sd.stages]
    assert depths == [(1, 2), (1, 4), (1, 4), (1, 2), (1, 3)]
    assert sd.layer_feature_names == ("op", "channels")
    assert sd.global_features == ()
    assert sd.units == ((0,), (1,), (2,), (3, 4))
    assert [sd.unit_name(u) for u in range(4)] == ["s1", "s2", "s3", "s4+mid"]
    assert sd.layer_feature("op").values == ("resnet", "attention")
    assert sd.stages[0].layer[0].values == ("resnet",)
    widths = (SAME, 192, 256, 320, 384, 512, 640, 768, 1024, 1280)
    assert sd.layer_feature("channels").values == widths


def test_widths_are_fractions_of_the_original_and_divisible(sd):
    assert ORIGINAL_WIDTHS == (320, 640, 1280, 1280)
    for name, original in zip(("s1", "s2", "s3", "s4"), ORIGINAL_WIDTHS, strict=True):
        assert WIDTHS[name] == tuple(int(original * m) for m in (0.6, 0.8, 1.0))
        assert all(w % 64 == 0 for w in WIDTHS[name])  # GroupNorm(32) and 8 heads divide them
        stage = sd.stages[[s.name for s in sd.stages].index(name)]
        assert stage.features_at(0)[1].values == WIDTHS[name]
        assert stage.features_at(1)[1].values == (SAME,)
    assert sd.stages[4].features_at(0)[1].values == (SAME,)  # the mid block has s4's width


def test_declaration_round_trips(sd):
    again = SearchSpace.from_dict(sd.to_dict())
    assert again.fingerprint() == sd.fingerprint()
    assert again.size() == SIZE


def test_no_builder(sd):
    with pytest.raises(SearchSpaceError, match="'sd-unet' cannot build networks"):
        build_model(sd, SD_V1_4)


# ---------------------------------------------------------------------- counts
def test_size_and_subgraph_counts(sd):
    assert [sd.stage_count(i) for i in range(5)] == STAGE_COUNTS
    assert sd.size() == SIZE == 6 * 45 * 45 * 9 * 7
    assert [sd.count_subgraphs(u) for u in range(4)] == UNIT_COUNTS
    assert sd.count_subgraphs() == 159


@pytest.mark.parametrize("unit", range(4))
def test_subgraph_enumeration_matches_counts(sd, unit):
    subgraphs = list(sd.enumerate_subgraphs(unit))
    assert len(subgraphs) == len(set(subgraphs)) == UNIT_COUNTS[unit]
    for sg in subgraphs:
        # A stage subgraph always carries its stage's width on its first node.
        assert sg[0][0] in {("resnet", w) for w in WIDTHS[sd.stages[sd.units[unit][0]].name]}
    if unit == 0:
        assert all(layer == ("resnet", SAME) for sg in subgraphs for layer in sg[0][1:])


def test_enumerates_the_whole_space(sd):
    first = list(itertools.islice(sd.enumerate_architectures(), 5))
    for arch in first:
        _check_invariants(sd, arch)
    assert len(set(first)) == 5
    # Its speed, which the exhaustive-search baseline relies on, is timed in
    # benchmarks/few_labels.py.
    assert sum(1 for _ in sd.enumerate_architectures()) == SIZE


# ---------------------------------------------------------------------- SD v1.4
def test_sd_v1_4_is_in_the_space(sd):
    arch = sd.parse(SD_V1_4)
    _check_invariants(sd, arch)
    assert arch.depths == (2, 4, 4, 2, 3)
    assert [arch.stages[i][0][1] for i in range(4)] == list(ORIGINAL_WIDTHS)
    assert arch.stages[1] == (
        ("resnet", 640),
        ("attention", SAME),
        ("resnet", SAME),
        ("attention", SAME),
    )
    assert arch.stages[4] == (("resnet", SAME), ("attention", SAME), ("resnet", SAME))
    assert sd.canonical_id(arch) == SD_ID
    assert sd.arch_id(arch) == SD_ID


def test_sd_v1_4_round_trips(sd):
    arch = sd.parse(SD_V1_4)
    assert sd.parse(sd.canonical_id(arch)) == arch
    assert sd.to_json(arch) == SD_V1_4
    assert sd.parse(sd.to_json(arch)) == arch
    assert sd.parse(json.dumps(SD_V1_4)) == arch  # a JSON cell of a data file
    assert sd.parse(json.dumps({"stages": SD_V1_4})) == arch
    assert sd.unit_subgraph(arch, 3) == (arch.stages[3], arch.stages[4])
    assert sd.unit_subgraph(arch, 3) in set(sd.enumerate_subgraphs(3))


def test_sd_v1_4_encodes_as_one_chain(sd):
    from autobuild.encoding import SequenceGraphEncoder

    enc = SequenceGraphEncoder(sd)
    assert enc.category_names == ["stage", "layer", "op", "channels"]
    batch = enc.encode_batch([sd.parse(SD_V1_4)])
    assert batch.num_nodes == 15
    assert batch.unit_len.tolist() == [[2, 4, 4, 5]]


# ---------------------------------------------------------------------- validation
def _with(stage: int, layer: int, **values: object) -> list[list[dict[str, object]]]:
    arch = copy.deepcopy(SD_V1_4)
    arch[stage][layer].update(values)
    return arch


@pytest.mark.parametrize("layer", [0, 1])
def test_attention_refused_in_the_first_stage(sd, layer):
    msg = (
        rf"Stage 1 \('s1'\), layer {layer + 1}: feature 'op' has value 'attention'; "
        r"allowed values: \['resnet'\]"
    )
    with pytest.raises(SearchSpaceError, match=msg):
        sd.parse(_with(0, layer, op="attention"))


def test_attention_refused_in_a_canonical_id(sd):
    with pytest.raises(SearchSpaceError, match=r"Stage 1 \('s1'\), layer 2: feature 'op'"):
        sd.parse(SD_ID.replace("resnet:320,resnet:same", "resnet:320,attention:same", 1))


@pytest.mark.parametrize("stage", range(5))
def test_first_layer_is_always_a_resnet(sd, stage):
    with pytest.raises(
        SearchSpaceError,
        match=rf"Stage {stage + 1} .*layer 1: feature 'op' has value 'attention'; "
        r"allowed values: \['resnet'\]",
    ):
        sd.parse(_with(stage, 0, op="attention"))


def test_width_errors_name_the_allowed_values(sd):
    with pytest.raises(
        SearchSpaceError,
        match=re.escape(
            "Stage 1 ('s1'), layer 1: feature 'channels' has value 1280; "
            "allowed values: [192, 256, 320]."
        ),
    ):
        sd.parse(_with(0, 0, channels=1280))
    with pytest.raises(
        SearchSpaceError,
        match=re.escape(
            "Stage 2 ('s2'), layer 3: feature 'channels' has value 640; allowed values: ['same']."
        ),
    ):
        sd.parse(_with(1, 2, channels=640))
    with pytest.raises(SearchSpaceError, match=r"Stage 5 \('mid'\), layer 1: feature 'channels'"):
        sd.parse(_with(4, 0, channels=1280))


def test_widths_read_from_text(sd):
    arch = sd.parse(_with(1, 0, channels="512"))
    assert arch.stages[1][0] == ("resnet", 512)
    assert type(arch.stages[1][0][1]) is int


def test_too_deep_or_empty_stages(sd):
    deep = copy.deepcopy(SD_V1_4)
    deep[1].append({"op": "resnet", "channels": SAME})
    with pytest.raises(SearchSpaceError, match=r"Stage 2 \('s2'\) has 5 layers.*allows 1 to 4"):
        sd.parse(deep)
    empty = copy.deepcopy(SD_V1_4)
    empty[4] = []
    with pytest.raises(SearchSpaceError, match=r"Stage 5 \('mid'\) has 0 layers.*allows 1 to 3"):
        sd.parse(empty)


# ---------------------------------------------------------------------- sampling
def test_sample_100(sd):
    archs = sd.sample(100, seed=0)
    assert len(archs) == len(set(archs)) == 100
    assert archs == sd.sample(100, seed=0)
    for arch in archs:
        _check_invariants(sd, arch)
        assert sd.parse(sd.canonical_id(arch)) == arch
        assert sd.parse(json.dumps(sd.to_json(arch))) == arch
    # Widths and attention vary across the sample.
    assert len({a.stages[1][0][1] for a in archs}) == 3
    assert any(layer[0] == "attention" for a in archs for layer in a.stages[2])


def test_spaces_command_lists_it(capsys):
    assert main(["spaces"]) == 0
    text = capsys.readouterr().out
    row = next(line for line in text.splitlines() if line.startswith("sd-unet"))
    assert "6 / 45 / 45 / 63" in row
    assert "765,450" in row
    assert "op, channels" in row
