"""Tests for architectures of a search space: parsing, ids, validation and sampling."""

from __future__ import annotations

import collections
import json
import re

import numpy as np
import pytest

import autobuild.spaces as S
from autobuild.exceptions import SearchSpaceError
from autobuild.spaces import Architecture, NumericFeature, SearchSpace

# The README example space, with a global feature added.
MY_SPACE = SearchSpace.from_dict(
    {
        "name": "my-space",
        "layer": {"kernel": [3, 5, 7], "expand": [3, 4, 6]},
        "global": {"resolution": {"type": "numeric", "values": [160, 192, 224], "default": 224}},
        "stage": [
            {"min_layers": 2, "max_layers": 4},
            {"min_layers": 0, "max_layers": 2, "layer": {"kernel": [3, 5]}},
        ],
    }
)
# 18 architectures: stage 1 has 2 + 4 configurations, stage 2 has 1 + 2.
TINY = SearchSpace.from_dict(
    {
        "name": "tiny",
        "layer": {"kernel": [3, 5]},
        "stage": [{"min_layers": 1, "max_layers": 2}, {"min_layers": 0, "max_layers": 1}],
    }
)
STAGES = [[{"kernel": 5, "expand": 4}, {"kernel": 3, "expand": 6}], [{"kernel": 5, "expand": 3}]]
EXPECTED = Architecture((((5, 4), (3, 6)), ((5, 3),)), (160.0,))


def _spaces() -> list[SearchSpace]:
    return [S.get(name) for name in S.list_spaces()] + [MY_SPACE, TINY]


# ---------------------------------------------------------------------- parse forms
def test_parse_dict_form_with_global():
    assert MY_SPACE.parse({"stages": STAGES, "resolution": 160}) == EXPECTED


def test_parse_list_form_uses_global_default():
    arch = MY_SPACE.parse(STAGES)
    assert arch.stages == EXPECTED.stages
    assert arch.globals == (224.0,)
    assert arch.depths == (2, 1)
    assert arch.num_layers == 3


def test_parse_layers_as_value_lists_and_scalars():
    # A layer may be a list of values in feature order.
    assert MY_SPACE.parse({"stages": [[[5, 4], [3, 6]], [[5, 3]]], "resolution": 160}) == EXPECTED
    # With a single layer feature a layer may be the bare value.
    assert TINY.parse([[3, 5], [5]]) == Architecture((((3,), (5,)), ((5,),)))
    assert TINY.parse([[3], []]) == TINY.parse([[{"kernel": 3}], []])


def test_parse_json_string():
    text = json.dumps({"stages": STAGES, "resolution": 160})
    assert MY_SPACE.parse(text) == EXPECTED
    assert MY_SPACE.parse("  " + text + "\n") == EXPECTED
    assert MY_SPACE.parse(json.dumps(STAGES)).globals == (224.0,)


def test_parse_canonical_id():
    assert MY_SPACE.canonical_id(EXPECTED) == "5:4,3:6|5:3@160"
    assert MY_SPACE.parse("5:4,3:6|5:3@160") == EXPECTED
    assert MY_SPACE.parse("5:4,3:6|5:3").globals == (224.0,)
    assert MY_SPACE.arch_id(EXPECTED) == "5:4,3:6|5:3@160"


def test_parse_architecture_validates_and_canonicalises():
    raw = Architecture(((("5", 4.0), (3, "6")), ((5.0, 3),)), ("160",))
    arch = MY_SPACE.parse(raw)
    assert arch == EXPECTED
    assert [type(v) for v in arch.stages[0][0]] == [int, int]
    assert MY_SPACE.validate(EXPECTED) == EXPECTED
    assert hash(arch) == hash(EXPECTED)


def test_architectures_are_hashable_values():
    a = MY_SPACE.parse({"stages": STAGES, "resolution": 160})
    b = MY_SPACE.parse("5:4,3:6|5:3@160")
    assert a == b
    assert len({a, b, MY_SPACE.parse(STAGES)}) == 2


@pytest.mark.parametrize("space", _spaces(), ids=lambda s: s.name)
def test_ids_and_json_round_trip_for_samples(space):
    for arch in space.sample(min(25, space.size()), seed=7):
        assert space.validate(arch) == arch
        cid = space.canonical_id(arch)
        assert space.parse(cid) == arch
        assert space.parse(space.arch_id(arch)) == arch
        js = space.to_json(arch)
        assert space.parse(js) == arch
        assert space.parse(json.dumps(js)) == arch
        assert space.parse(json.loads(json.dumps(js))) == arch


def test_to_json_form():
    assert MY_SPACE.to_json(EXPECTED) == {"stages": STAGES, "resolution": 160.0}
    assert TINY.to_json(Architecture((((3,),), ()))) == [[{"kernel": 3}], []]


def test_to_json_names_first_layer_features():
    nb = S.get("nasbench-macro")
    arch = nb.parse("02012100")
    assert nb.to_json(arch)[0] == [{"op": "proj"}, {"op": "mb6_k5"}]


# ---------------------------------------------------------------------- parse errors
def test_missing_feature_in_layer():
    stages = [[{"kernel": 5}, {"kernel": 3, "expand": 6}], []]
    with pytest.raises(
        SearchSpaceError,
        match=re.escape(
            "Stage 1 ('stage1'), layer 1: missing feature(s) ['expand']; "
            "layers declare ['kernel', 'expand']."
        ),
    ):
        MY_SPACE.parse(stages)


def test_unknown_feature_in_layer():
    stages = [[{"kernel": 5, "expand": 4}] * 2, [{"kernel": 5, "expand": 4, "width": 1}]]
    with pytest.raises(
        SearchSpaceError,
        match=re.escape("Stage 2 ('stage2'), layer 1: unknown feature(s) ['width']"),
    ):
        MY_SPACE.parse(stages)


def test_missing_and_unknown_feature_together():
    with pytest.raises(SearchSpaceError, match=r"missing feature\(s\) \['kernel'\]; unknown"):
        MY_SPACE.parse([[{"kernal": 5, "expand": 4}] * 2, []])


def test_stage_that_is_not_a_list():
    with pytest.raises(
        SearchSpaceError, match=re.escape("Stage 2 ('stage2') must be a list of layers, got 'x'")
    ):
        MY_SPACE.parse([[{"kernel": 5, "expand": 4}] * 2, "x"])


def test_layer_of_wrong_shape():
    with pytest.raises(SearchSpaceError, match=r"layer 1 must be an object \{feature: value\}"):
        MY_SPACE.parse([[5, 5], []])
    with pytest.raises(SearchSpaceError, match=r"layer 1 has 3 values; expected one per feature"):
        MY_SPACE.parse([[[5, 4, 1], [5, 4]], []])


def test_invalid_json_string():
    with pytest.raises(SearchSpaceError, match=r"is not valid JSON: .* at position \d+"):
        MY_SPACE.parse('[[{"kernel": 5,}]]')


def test_object_without_stages_or_with_unknown_keys():
    with pytest.raises(SearchSpaceError, match="has no 'stages' key"):
        MY_SPACE.parse({"layers": STAGES})
    with pytest.raises(
        SearchSpaceError,
        match=re.escape("unknown key(s) ['res']; space 'my-space' declares global features"),
    ):
        MY_SPACE.parse({"stages": STAGES, "res": 160})


def test_stages_not_a_list():
    with pytest.raises(SearchSpaceError, match="'stages' must be a list of stages"):
        MY_SPACE.parse({"stages": "5:4"})


def test_unreadable_objects():
    with pytest.raises(SearchSpaceError, match="Cannot read an architecture of space 'my-space'"):
        MY_SPACE.parse(3.5)
    with pytest.raises(SearchSpaceError, match=r"expected a canonical id with 2 '\|'-separated"):
        MY_SPACE.parse("5:4,3:6")
    with pytest.raises(
        SearchSpaceError, match=re.escape("layer 2 of '5:4,3|' has 1 values; expected 2")
    ):
        MY_SPACE.parse("5:4,3|")


def test_canonical_id_value_errors_name_the_feature():
    with pytest.raises(
        SearchSpaceError,
        match=re.escape(
            "Stage 1 ('stage1'), layer 2: feature 'expand' has value '5'; "
            "allowed values: [3, 4, 6]"
        ),
    ):
        MY_SPACE.parse("5:4,3:5|")


def test_validate_errors():
    with pytest.raises(SearchSpaceError, match="Expected an Architecture, got dict"):
        MY_SPACE.validate({"stages": STAGES})  # type: ignore[arg-type]
    with pytest.raises(SearchSpaceError, match=r"gives 0 global values; .*\['resolution'\]"):
        MY_SPACE.validate(Architecture(EXPECTED.stages))
    with pytest.raises(SearchSpaceError, match=r"Stage 1 \('stage1'\) has 1 layers; .*2 to 4"):
        MY_SPACE.validate(Architecture((((3, 3),), ()), (224,)))


# ---------------------------------------------------------------------- declaration helpers
def test_layer_feature_union_and_repr():
    nb = S.get("nasbench-macro")
    assert nb.layer_feature("op").values == ("mb3_k3", "mb6_k5", "proj")
    assert MY_SPACE.layer_feature("kernel").values == (3, 5, 7)
    with pytest.raises(SearchSpaceError, match=r"Unknown layer feature 'width'"):
        MY_SPACE.layer_feature("width")
    mixed = SearchSpace.from_dict(
        {
            "name": "mixed",
            "layer": {"w": {"type": "numeric", "values": [0.5, 1.0]}},
            "stage": [
                {"min_layers": 1, "max_layers": 1},
                {
                    "min_layers": 1,
                    "max_layers": 1,
                    "layer": {"w": {"type": "numeric", "values": [0.25, 2.0]}},
                },
            ],
        }
    )
    assert mixed.layer_feature("w") == NumericFeature("w", (0.25, 0.5, 1.0, 2.0), 0.25, 2.0)
    assert repr(MY_SPACE) == (
        "SearchSpace(name='my-space', stages=[2-4, 0-2], layer_features=['kernel', 'expand'], "
        "global_features=['resolution'])"
    )


def test_features_must_keep_one_kind():
    with pytest.raises(SearchSpaceError, match="categorical in one stage and numeric in another"):
        SearchSpace.from_dict(
            {
                "name": "x",
                "layer": {"w": [1, 2]},
                "stage": [
                    {"min_layers": 1, "max_layers": 1},
                    {
                        "min_layers": 1,
                        "max_layers": 1,
                        "layer": {"w": {"type": "numeric", "values": [1, 2]}},
                    },
                ],
            }
        )


# ---------------------------------------------------------------------- sampling
def test_sample_is_deterministic_per_seed_and_distinct():
    space = S.get("ofa-mbv3")
    a = space.sample(200, seed=11)
    assert a == space.sample(200, seed=11)
    assert a != space.sample(200, seed=12)
    assert len(set(a)) == 200
    for arch in a[:20]:
        assert space.validate(arch) == arch
    gen_a = space.sample(10, seed=np.random.default_rng(5))
    gen_b = space.sample(10, seed=np.random.default_rng(5))
    assert gen_a == gen_b


def test_sample_whole_small_space():
    everything = set(TINY.enumerate_architectures())
    assert len(everything) == TINY.size() == 18
    drawn = TINY.sample(18, seed=0)
    assert set(drawn) == everything
    assert len(drawn) == 18
    assert TINY.sample(0, seed=0) == []
    nb = S.get("nasbench-macro")
    assert len(set(nb.sample(3969, seed=1))) == 3969


def test_sample_too_many_or_bad_n():
    with pytest.raises(
        SearchSpaceError, match="Cannot draw 19 distinct architectures: space 'tiny' has only 18"
    ):
        TINY.sample(19, seed=0)
    for bad in (-1, 2.0, True):
        with pytest.raises(SearchSpaceError, match="`n` must be an integer >= 0"):
            TINY.sample(bad, seed=0)  # type: ignore[arg-type]


def test_sample_is_uniform_over_architectures():
    # One draw at a time, so every draw goes through the sampler (not the enumeration path).
    rng = np.random.default_rng(0)
    draws = 3600
    counts = collections.Counter(TINY.sample(1, seed=rng)[0] for _ in range(draws))
    assert set(counts) == set(TINY.enumerate_architectures())
    expected = draws / 18  # 200, standard deviation about 14
    assert all(abs(c - expected) < 60 for c in counts.values()), counts


def test_sample_depths_follow_configuration_counts():
    space = S.get("ofa-mbv3")
    archs = space.sample(4000, seed=3)
    depths = collections.Counter(d for a in archs for d in a.depths)
    total = sum(depths.values())
    assert total == 20_000
    for n, expected in ((2, 81 / 7371), (3, 729 / 7371), (4, 6561 / 7371)):
        sd = (expected * (1 - expected) / total) ** 0.5
        assert abs(depths[n] / total - expected) < 5 * sd
    resolutions = collections.Counter(a.globals[0] for a in archs)
    assert set(resolutions) == set(space.global_features[0].values)
    assert max(resolutions.values()) < 2 * min(resolutions.values())


def test_sample_respects_first_layer_restrictions():
    nb = S.get("nasbench-macro")
    for arch in nb.sample(300, seed=2):
        for stage in arch.stages:
            assert all(layer != ("proj",) for layer in stage[1:])
    projections = sum(a.stages[0][0] == ("proj",) for a in nb.sample(3000, seed=4))
    assert abs(projections / 3000 - 1 / 3) < 0.05


def test_enumerate_architectures_refuses_huge_spaces():
    with pytest.raises(SearchSpaceError, match="too large to enumerate"):
        next(S.get("ofa-mbv3").enumerate_architectures())
