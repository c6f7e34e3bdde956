"""NAS-Bench-Macro networks: structure, forward pass, and exact params/FLOPs vs the benchmark."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tests.conftest import nasbench_file
from torch import nn

import autobuild.spaces as S
from autobuild.exceptions import ConfigError, SearchSpaceError
from autobuild.networks import (
    InvertedResidual,
    NasBenchMacroNet,
    Projection,
    build_model,
    build_nasbench_macro,
    can_build,
    count_flops,
    count_params,
)

CIFAR = (3, 32, 32)
#: Keys with a projection, skips, the full depth and the shallowest network.
KEYS = ["00000000", "02012100", "22212220", "11111111", "22222222", "10201002"]
# A fixed sample of 50 keys of the 6561 (seeded, so every run checks the same ones).
ALL_KEYS = ["".join(k) for k in itertools.product("012", repeat=8)]
SAMPLE = sorted(random.Random(2021).sample(ALL_KEYS, 50))


@pytest.fixture(scope="module")
def space() -> S.SearchSpace:
    return S.get("nasbench-macro")


@pytest.fixture(scope="module")
def bench() -> dict[str, dict[str, float]]:
    path = nasbench_file()
    if path is None:
        pytest.skip("NAS-Bench-Macro data not found: set AUTOBUILD_DATA to the shared data folder")
    data: dict[str, dict[str, float]] = json.loads(path.read_text())
    return data


@pytest.mark.parametrize("key", KEYS)
def test_forward_gives_logits(key: str) -> None:
    net = build_nasbench_macro(key).eval()
    with torch.no_grad():
        out = net(torch.zeros(2, *CIFAR))
    assert out.shape == (2, 10)
    assert torch.isfinite(out).all()


def test_num_classes() -> None:
    net = build_nasbench_macro("21000000", num_classes=100)
    assert net.classifier.out_features == 100
    with torch.no_grad():
        assert net.eval()(torch.zeros(1, *CIFAR)).shape == (1, 100)
    with pytest.raises(ConfigError, match="num_classes"):
        build_nasbench_macro("21000000", num_classes=0)


def test_stage_outputs_halve_resolution_and_double_channels() -> None:
    net = build_nasbench_macro("02012100").eval()
    shapes: list[tuple[int, ...]] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, o: shapes.append(tuple(o.shape)))
        for m in (net.stem, *net.stages, net.head)
    ]
    with torch.no_grad():
        net(torch.zeros(1, *CIFAR))
    for h in hooks:
        h.remove()
    assert shapes == [
        (1, 32, 32, 32),
        (1, 64, 16, 16),
        (1, 128, 8, 8),
        (1, 256, 4, 4),
        (1, 1280, 4, 4),
    ]


def test_layer_structure(space: S.SearchSpace) -> None:
    net = build_nasbench_macro("02012100")
    assert net.arch == space.parse("02012100")
    s1, s2, s3 = net.stages
    # Stage 1 "02": projection, then an mb6_k5 block with a residual connection.
    assert [type(m) for m in s1] == [Projection, InvertedResidual]
    proj = s1[0][0]
    assert isinstance(proj, nn.Conv2d)
    assert (proj.in_channels, proj.out_channels, proj.stride) == (32, 64, (2, 2))
    assert not any(isinstance(m, nn.ReLU) for m in s1[0])
    mb = s1[1]
    assert (mb.expansion, mb.kernel_size, mb.stride, mb.use_residual) == (6, 5, 1, True)
    # Stage 2 "012": projection + mb3_k3 + mb6_k5; stage 3 "100": one strided mb3_k3 only.
    assert [type(m) for m in s2] == [Projection, InvertedResidual, InvertedResidual]
    assert len(s3) == 1
    first = s3[0]
    assert (first.in_channels, first.out_channels, first.stride) == (128, 256, 2)
    assert (first.expansion, first.kernel_size, first.use_residual) == (3, 3, False)
    dw = first.conv[3]
    assert (dw.groups, dw.in_channels, dw.kernel_size) == (384, 384, (3, 3))
    assert all(m.bias is None for m in net.modules() if isinstance(m, nn.Conv2d))


def test_residual_block_adds_input() -> None:
    block = InvertedResidual(8, 8, 1, 3, 3).eval()
    for m in block.conv:
        if isinstance(m, nn.Conv2d):
            nn.init.zeros_(m.weight)
    x = torch.randn(1, 8, 4, 4)
    with torch.no_grad():
        assert torch.allclose(block(x), x)  # BN of zeros is zero; only the skip remains
    with pytest.raises(ValueError, match="stride"):
        InvertedResidual(8, 8, 3, 3, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        InvertedResidual(8, 8, 1, 3, 4)


def test_same_network_same_counts() -> None:
    a, b = build_nasbench_macro("22212220"), build_nasbench_macro("22212202")
    assert str(a) == str(b)
    assert count_params(a) == count_params(b)
    assert count_flops(a, CIFAR) == count_flops(b, CIFAR)


def test_counts_of_the_smallest_network_by_hand() -> None:
    net = build_nasbench_macro("00000000")
    bn = 2 * (32 + 64 + 128 + 256 + 1280)
    convs = 3 * 9 * 32 + 32 * 64 + 64 * 128 + 128 * 256 + 256 * 1280
    assert count_params(net) == convs + bn + 1280 * 10 + 10
    macs = 32 * 32 * 32 * 27 + 3 * 64 * 16 * 16 * 32 + 16 * 1280 * 256 + 1280 * 10
    assert count_flops(net, CIFAR) == macs


@pytest.mark.parametrize(
    ("key", "params", "flops"),
    [
        ("00000000", 387882, 7713280),
        ("02012100", 890666, 47327744),
        ("22212202", 1985514, 85164544),
        ("22222222", 2932586, 105660928),
    ],
)
def test_counts_of_known_benchmark_entries(key: str, params: int, flops: int) -> None:
    # Values copied from nas-bench-macro_cifar10.json, so this runs without the data folder.
    net = build_nasbench_macro(key)
    assert (count_params(net), count_flops(net, CIFAR)) == (params, flops)


def test_count_flops_conventions() -> None:
    net = nn.Sequential(
        nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=2),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 3),
    )
    net.train()
    conv = 8 * 4 * 4 * (4 // 2) * 9
    assert count_flops(net, (4, 8, 8)) == conv + 8 * 3
    assert count_flops(net, (4, 8, 8), include_bias=True) == conv + 8 * 4 * 4 + 8 * 3 + 3
    assert net.training  # the mode is restored
    with pytest.raises(ValueError, match="input_shape"):
        count_flops(net, ())


def test_count_flops_warns_about_uncounted_modules() -> None:
    net = nn.Sequential(nn.Conv1d(2, 2, 1), nn.ConvTranspose1d(2, 2, 1))
    with pytest.warns(UserWarning, match="ConvTranspose1d"):
        assert count_flops(net, (2, 5)) == 5 * 2 * 2


def test_space_build_model(space: S.SearchSpace) -> None:
    net = build_model(space, "02012100")
    assert isinstance(net, NasBenchMacroNet)
    assert net.arch == space.parse("02012100")
    assert isinstance(build_model(space, space.parse("11111111")), NasBenchMacroNet)
    with pytest.raises(SearchSpaceError):
        build_model(space, "0201210")
    with pytest.raises(SearchSpaceError):
        build_nasbench_macro("32012100")


def test_space_without_builder(tiny_space: S.SearchSpace) -> None:
    arch = tiny_space.sample(1, seed=0)[0]
    with pytest.raises(SearchSpaceError, match="'tiny' cannot build networks"):
        build_model(tiny_space, arch)
    decl = S.get("nasbench-macro").to_dict()
    # The same declaration is the same space; only the name in common is not.
    same = S.SearchSpace.from_dict(decl)  # without the built-in's native ids
    arch = same.canonical_id(S.get("nasbench-macro").parse("22212220"))
    assert isinstance(build_model(same, arch), NasBenchMacroNet)
    assert can_build(S.SearchSpace.from_dict(decl))
    decl["stage"][2]["max_layers"] = 2
    other = S.SearchSpace.from_dict(decl)
    assert not can_build(other)
    with pytest.raises(SearchSpaceError, match="'nasbench-macro' cannot build networks"):
        build_model(other, [[{"op": "proj"}], [{"op": "proj"}], []])


def test_from_dict_passes_the_builder_through(tiny_space: S.SearchSpace) -> None:
    calls = []

    def builder(sp: S.SearchSpace, arch: S.Architecture) -> str:
        calls.append(arch)
        return sp.canonical_id(arch)

    sp = S.SearchSpace.from_dict(tiny_space.to_dict(), builder=builder)
    assert build_model(sp, [[{"kernel": 3, "expand": 6}], []]) == "3:6|"
    assert calls == [sp.parse("3:6|")]


def test_spaces_never_import_networks() -> None:
    code = (
        "import sys, autobuild.spaces as S; S.get('nasbench-macro'); "
        "print('autobuild.networks' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert out.stdout.strip() == "False"


@pytest.mark.data
@pytest.mark.parametrize("key", SAMPLE)
def test_counts_match_the_benchmark(key: str, bench: dict[str, dict[str, float]]) -> None:
    net = build_nasbench_macro(key)
    assert count_params(net) == bench[key]["params"]
    assert count_flops(net, CIFAR) == bench[key]["flops"]


def test_build_model_needs_a_space() -> None:
    with pytest.raises(SearchSpaceError, match=r"must be a SearchSpace .*got str"):
        build_model("nasbench-macro", "22212220")  # type: ignore[arg-type]
    with pytest.raises(SearchSpaceError, match="must be a dict"):
        S.from_spec(["nasbench-macro"])  # type: ignore[arg-type]
    assert S.from_spec(S.get("ofa-pn").to_dict()).native is not None  # the built-in's ids
