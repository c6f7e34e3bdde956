"""Tests for the built-in spaces: NAS-Bench-Macro, OFA-MobileNetV3 and OFA-ProxylessNAS.

``sd-unet`` has its own module, ``test_sd_unet.py``.
"""

from __future__ import annotations

import itertools
import json
import math
import re

import pytest

import autobuild.spaces as S
from autobuild.exceptions import SearchSpaceError
from autobuild.spaces import Architecture

#: Configurations of one OFA stage of 2-4 blocks, 9 choices per block: 9**2 + 9**3 + 9**4.
OFA_STAGE = 7371
NB_KEYS = ["".join(k) for k in itertools.product("012", repeat=8)]


@pytest.fixture(scope="module")
def mbv3() -> S.SearchSpace:
    return S.get("ofa-mbv3")


@pytest.fixture(scope="module")
def pn() -> S.SearchSpace:
    return S.get("ofa-pn")


@pytest.fixture(scope="module")
def nb() -> S.SearchSpace:
    return S.get("nasbench-macro")


def _ofa_arch(depths: list[int], block: tuple[int, int] = (3, 3), r: float = 224) -> Architecture:
    return Architecture(tuple((block,) * d for d in depths), (r,))


# ---------------------------------------------------------------------- registry
def test_list_spaces_names_the_builtins():
    assert S.list_spaces() == ["nasbench-macro", "ofa-mbv3", "ofa-pn", "sd-unet"]


@pytest.mark.parametrize("alias", ["ofa_mbv3", "OFA-MBV3", "Ofa_MbV3"])
def test_get_accepts_aliases(alias):
    assert S.get(alias).name == "ofa-mbv3"


def test_get_unknown_name_lists_builtins():
    with pytest.raises(SearchSpaceError, match="Unknown search space 'nope'") as info:
        S.get("nope")
    for name in S.list_spaces():
        assert name in str(info.value)


def test_builtin_declarations(mbv3, pn, nb):
    assert [(s.min_layers, s.max_layers) for s in mbv3.stages] == [(2, 4)] * 5
    assert [(s.min_layers, s.max_layers) for s in pn.stages] == [(2, 4)] * 5 + [(1, 1)]
    assert [(s.min_layers, s.max_layers) for s in nb.stages] == [(1, 2), (1, 3), (1, 3)]
    assert mbv3.layer_feature_names == pn.layer_feature_names == ("expand", "kernel")
    assert nb.layer_feature_names == ("op",)
    assert mbv3.units == ((0,), (1,), (2,), (3,), (4,))
    assert pn.units == ((0,), (1,), (2,), (3,), (4, 5))
    assert pn.unit_name(4) == "s5+s6"
    res = mbv3.global_features[0]
    assert res.name == "resolution"
    assert res.default == 224
    assert res.values == tuple(float(v) for v in range(128, 225, 4))
    assert nb.global_features == ()


# ---------------------------------------------------------------------- counts (acceptance)
def test_ofa_mbv3_subgraph_counts(mbv3):
    assert [mbv3.count_subgraphs(u) for u in range(5)] == [OFA_STAGE] * 5
    assert mbv3.count_subgraphs() == 36_855


def test_ofa_pn_subgraph_counts(pn):
    assert [pn.count_subgraphs(u) for u in range(4)] == [OFA_STAGE] * 4
    assert pn.count_subgraphs(4) == 66_339 == OFA_STAGE * 9
    assert pn.count_subgraphs() == 95_823


def test_nasbench_macro_counts(nb):
    # Stage 1 (2 slots): 3 first layers, then 0 or 1 of 2 ops: 3 * (1 + 2) = 9.
    # Stages 2, 3 (3 slots): 3 * (1 + 2 + 4) = 21.
    assert [nb.count_subgraphs(u) for u in range(3)] == [9, 21, 21]
    assert nb.count_subgraphs() == 51
    assert nb.size() == 3969 == 9 * 21 * 21


def test_ofa_sizes(mbv3, pn):
    assert mbv3.size() == OFA_STAGE**5 * 25
    assert pn.size() == OFA_STAGE**5 * 9 * 25


@pytest.mark.parametrize(("name", "unit"), [("ofa-mbv3", 0), ("ofa-pn", 4), ("nasbench-macro", 1)])
def test_enumeration_matches_count_without_duplicates(name, unit):
    space = S.get(name)
    subgraphs = list(space.enumerate_subgraphs(unit))
    assert len(subgraphs) == space.count_subgraphs(unit)
    assert len(set(subgraphs)) == len(subgraphs)
    for sg in subgraphs[:: max(1, len(subgraphs) // 50)]:
        assert len(sg) == len(space.units[unit])
        for stage_index, config in zip(space.units[unit], sg, strict=True):
            stage = space.stages[stage_index]
            assert stage.min_layers <= len(config) <= stage.max_layers


def test_ofa_enumeration_order_is_expansion_major_then_kernel(mbv3):
    subgraphs = list(mbv3.enumerate_subgraphs(0))
    assert subgraphs == list(mbv3.enumerate_subgraphs(0))  # deterministic
    first = [sg[0] for sg in subgraphs[:10]]
    assert first[:4] == [
        ((3, 3), (3, 3)),
        ((3, 3), (3, 5)),
        ((3, 3), (3, 7)),
        ((3, 3), (4, 3)),
    ]
    assert first[9] == ((3, 5), (3, 3))
    # Shortest stages first: 81 of length 2, 729 of length 3, then 6561 of length 4.
    lengths = [len(sg[0]) for sg in subgraphs]
    assert lengths == [2] * 81 + [3] * 729 + [4] * 6561
    assert subgraphs[-1] == (((6, 7),) * 4,)


def test_ofa_pn_merged_unit_pairs_stage5_with_one_block(pn):
    subgraphs = list(pn.enumerate_subgraphs(4))
    assert subgraphs[0] == (((3, 3), (3, 3)), ((3, 3),))
    assert subgraphs[1] == (((3, 3), (3, 3)), ((3, 5),))
    assert all(len(sg[1]) == 1 for sg in subgraphs)
    assert {sg[1] for sg in subgraphs} == {((e, k),) for e in (3, 4, 6) for k in (3, 5, 7)}


def test_unit_subgraph_of_pn_merges_last_two_stages(pn):
    arch = pn.sample(1, seed=3)[0]
    assert pn.unit_subgraph(arch, 4) == (arch.stages[4], arch.stages[5])
    assert pn.unit_subgraph(arch, 0) == (arch.stages[0],)
    assert pn.unit_subgraph(arch, 4) in set(pn.enumerate_subgraphs(4))


@pytest.mark.parametrize("unit", [-1, 5, True, "0"])
def test_unit_out_of_range(pn, unit):
    with pytest.raises(SearchSpaceError, match=r"Unit .* is out of range.*units 0\.\.4"):
        pn.count_subgraphs(unit)


# ---------------------------------------------------------------------- NAS-Bench-Macro keys
def test_all_nasbench_keys_parse_to_3969_architectures(nb):
    archs = [nb.parse(k) for k in NB_KEYS]
    distinct = set(archs)
    assert len(distinct) == 3969
    assert distinct == set(nb.enumerate_architectures())
    for arch in distinct:
        key = nb.arch_id(arch)
        assert len(key) == 8
        assert nb.parse(key) == arch


def test_nasbench_skips_collapse_and_key_is_canonical(nb):
    a = nb.parse("22212202")
    assert a == nb.parse("22212220")
    assert nb.arch_id(a) == "22212220"
    assert a.stages[2] == (("mb6_k5",), ("mb6_k5",))
    # Canonical keys put each stage's skips last.
    for key in NB_KEYS:
        canon = nb.arch_id(nb.parse(key))
        for stage in (canon[1:2], canon[3:5], canon[6:8]):
            assert stage == stage.rstrip("0") + "0" * (len(stage) - len(stage.rstrip("0")))
            assert "0" not in stage.rstrip("0")


def test_nasbench_first_slot_identity_is_a_projection_node(nb):
    a = nb.parse("02012100")
    assert a.stages == (
        (("proj",), ("mb6_k5",)),
        (("proj",), ("mb3_k3",), ("mb6_k5",)),
        (("mb3_k3",),),
    )
    assert a.num_layers == 6
    assert nb.arch_id(a) == "02012100"
    assert nb.parse("00000000").stages == ((("proj",),),) * 3


def test_nasbench_int_key_keeps_leading_zero(nb):
    assert nb.parse(2012100) == nb.parse("02012100")
    assert nb.parse(" 02012100 ") == nb.parse("02012100")


@pytest.mark.parametrize("key", ["32212220", "2221222", "222122200", "2221222a", 32212220])
def test_nasbench_bad_keys_are_rejected(nb, key):
    with pytest.raises(SearchSpaceError):
        nb.parse(key)


def test_nasbench_other_forms_agree_with_key(nb):
    a = nb.parse("12001120")
    assert nb.parse([["mb3_k3", "mb6_k5"], ["proj", "mb3_k3"], ["mb3_k3", "mb6_k5"]]) == a
    assert nb.arch_id(a) == "12010120"
    assert nb.parse(nb.canonical_id(a)) == a
    assert nb.canonical_id(a) == "mb3_k3,mb6_k5|proj,mb3_k3|mb3_k3,mb6_k5"
    assert nb.parse(json.dumps(nb.to_json(a))) == a


def test_nasbench_projection_only_in_first_position(nb):
    with pytest.raises(
        SearchSpaceError,
        match=r"Stage 1 \('s1'\), layer 2: feature 'op' has value 'proj'; "
        r"allowed values: \['mb3_k3', 'mb6_k5'\]",
    ):
        nb.parse([["mb3_k3", "proj"], ["proj"], ["proj"]])


# ---------------------------------------------------------------------- OFA native forms
def test_ofa_dict_round_trip(mbv3, pn):
    for space in (mbv3, pn):
        for arch in space.sample(20, seed=1):
            d = space.native.to_ofa_dict(space, arch)
            assert len(d["d"]) == space.num_stages
            assert (
                len(d["ks"])
                == len(d["e"])
                == 4 * (space.num_stages - 1) + (space.stages[-1].max_layers)
            )
            assert space.parse(d) == arch
            assert space.parse(json.dumps(d)) == arch  # a JSON cell in a data file


def test_ofa_dict_ignores_inactive_slots_and_reads_resolution(mbv3):
    ks = [3, 5, 99, -1] + [7, 7, 7, 7] * 4
    e = [4, 6, "x", None] + [3, 3, 3, 3] * 4
    a = mbv3.parse({"ks": ks, "e": e, "d": [2, 4, 4, 4, 4], "r": 176})
    assert a.stages[0] == ((4, 3), (6, 5))
    assert a.stages[1] == ((3, 7),) * 4
    assert a.globals == (176,)
    # Without "r" the default resolution is used.
    b = mbv3.parse({"ks": ks, "e": e, "d": [2, 4, 4, 4, 4]})
    assert b.globals == (224,)
    assert b.stages == a.stages


def test_ofa_block_strings(mbv3, pn):
    blocks = [["mbconv3_e4_k5", "mbconv3_e3_k3"]] * 4 + [["mbconv3_e6_k7"] * 3]
    a = mbv3.parse(blocks)
    assert a.stages[0] == ((4, 5), (3, 3))
    assert a.stages[4] == ((6, 7),) * 3
    assert a.globals == (224,)
    pn_blocks = [["mbconv2_e3_k3"] * 2] * 5 + [["mbconv2_e6_k7"]]
    assert pn.parse(pn_blocks).stages[5] == ((6, 7),)


def test_ofa_has_no_native_id(mbv3):
    arch = mbv3.sample(1, seed=0)[0]
    assert mbv3.arch_id(arch) == mbv3.canonical_id(arch)


def test_pn_last_stage_has_exactly_one_layer(pn):
    good = _ofa_arch([2] * 5 + [1])
    assert pn.validate(good) == good
    for depth in (0, 2):
        with pytest.raises(
            SearchSpaceError, match=rf"Stage 6 \('s6'\) has {depth} layers; .* allows 1 to 1"
        ):
            pn.validate(_ofa_arch([2] * 5 + [depth]))


# ---------------------------------------------------------------------- OFA validation
def test_depth_five_names_stage_and_range(mbv3):
    with pytest.raises(
        SearchSpaceError, match=r"Stage 2 \('s2'\) has 5 layers; space 'ofa-mbv3' allows 2 to 4"
    ):
        mbv3.validate(_ofa_arch([2, 5, 2, 2, 2]))


@pytest.mark.parametrize("stage", range(5))
def test_ofa_dict_depth_five_is_a_search_space_error(mbv3, stage):
    depths = [2] * 5
    depths[stage] = 5
    with pytest.raises(
        SearchSpaceError, match=rf"Stage {stage + 1} \('s{stage + 1}'\) has 5 layers.*2 to 4"
    ):
        mbv3.parse({"ks": [3] * 20, "e": [3] * 20, "d": depths})


def test_ofa_pn_dict_last_stage_too_deep(pn):
    with pytest.raises(SearchSpaceError, match=r"Stage 6 \('s6'\) has 2 layers.*1 to 1"):
        pn.parse({"ks": [3] * 21, "e": [3] * 21, "d": [2] * 6})


def test_ofa_dict_malformed(mbv3):
    with pytest.raises(SearchSpaceError, match="4 depths in 'd'; space 'ofa-mbv3' has 5"):
        mbv3.parse({"ks": [3] * 20, "e": [3] * 20, "d": [2] * 4})
    with pytest.raises(SearchSpaceError, match="at least 20 entries in 'ks' and 'e'"):
        mbv3.parse({"ks": [3] * 19, "e": [3] * 20, "d": [2] * 5})
    with pytest.raises(SearchSpaceError, match=r"d\[1\] must be an integer >= 0"):
        mbv3.parse({"ks": [3] * 20, "e": [3] * 20, "d": [2, "3", 2, 2, 2]})


def test_kernel_nine_names_everything(mbv3):
    arch = (
        [[{"expand": 3, "kernel": 3}, {"expand": 3, "kernel": 3}]] * 2
        + [[{"expand": 3, "kernel": 3}, {"expand": 4, "kernel": 9}]]
        + [[{"expand": 3, "kernel": 3}] * 2] * 2
    )
    msg = (
        r"Stage 3 \('s3'\), layer 2: feature 'kernel' has value 9; "
        r"allowed values: \[3, 5, 7\]"
    )
    with pytest.raises(SearchSpaceError, match=msg):
        mbv3.parse(arch)


def test_resolution_not_allowed(mbv3):
    d = mbv3.native.to_ofa_dict(mbv3, _ofa_arch([2] * 5))
    d["r"] = 100
    with pytest.raises(
        SearchSpaceError, match=r"Global feature 'resolution' has value 100; allowed values: \["
    ):
        mbv3.parse(d)
    d["r"] = 130  # inside the range but not on the step-4 grid
    with pytest.raises(SearchSpaceError, match="value 130"):
        mbv3.parse(d)


def test_wrong_number_of_stages(mbv3, pn):
    with pytest.raises(
        SearchSpaceError, match=re.escape("Architecture has 4 stages but space 'ofa-mbv3' has 5")
    ):
        mbv3.parse([[{"expand": 3, "kernel": 3}] * 2] * 4)
    with pytest.raises(SearchSpaceError, match="has 5 stages but space 'ofa-pn' has 6"):
        pn.validate(_ofa_arch([2] * 5))


def test_ofa_values_are_canonicalised(mbv3):
    # Values read from text or floats are matched to the declared values.
    a = mbv3.parse({"stages": [[{"expand": "4", "kernel": 5.0}] * 2] * 5, "resolution": "208"})
    assert a == _ofa_arch([2] * 5, (4, 5), 208)
    assert all(type(v) is int for v in a.stages[0][0])
    assert isinstance(a.globals[0], float)
    assert math.isclose(a.globals[0], 208)


def test_ofa_pn_dict_may_omit_the_fixed_last_stage_depth():
    space = S.get("ofa-pn")
    arch = space.sample(1, seed=4)[0]
    d = space.native.to_ofa_dict(space, arch)
    assert space.parse({**d, "d": d["d"][:5]}) == arch
