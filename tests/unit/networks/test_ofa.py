"""OFA-MobileNetV3 (w1.2) and OFA-ProxylessNAS (w1.3) subnets: layout, shapes and exact counts."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

import autobuild.spaces as S
from autobuild.exceptions import SearchSpaceError
from autobuild.networks import (
    MBConv,
    OFAMobileNetV3,
    OFAProxylessNAS,
    SqueezeExcite,
    build_model,
    build_ofa_mbv3,
    build_ofa_pn,
    count_flops,
    count_params,
)
from autobuild.networks.ofa import make_divisible

#: Stage widths after the multiplier, computed by hand with make_divisible(base * w, 8).
MBV3_WIDTHS = (32, 48, 96, 136, 192)  # 28.8, 48, 96, 134.4, 192
PN_WIDTHS = (32, 56, 104, 128, 248, 416)  # 31.2, 52, 104, 124.8, 249.6, 416


def _ofa_dict(
    depths: list[int], e: int, k: int, r: int = 128, *, pn: bool = False
) -> dict[str, Any]:
    slots = 21 if pn else 20
    return {"ks": [k] * slots, "e": [e] * slots, "d": depths, "r": r}


def _mbv3(d: int, e: int = 3, k: int = 3, r: int = 128) -> OFAMobileNetV3:
    return build_ofa_mbv3(_ofa_dict([d] * 5, e, k, r))


def _pn(d: int, e: int = 3, k: int = 3, r: int = 128) -> OFAProxylessNAS:
    return build_ofa_pn(_ofa_dict([d] * 5 + [1], e, k, r, pn=True))


def _outputs(net: nn.Module, modules: list[nn.Module], r: int) -> list[tuple[int, ...]]:
    shapes: list[tuple[int, ...]] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, o: shapes.append(tuple(o.shape))) for m in modules
    ]
    with torch.no_grad():
        net.eval()(torch.zeros(1, 3, r, r))
    for h in hooks:
        h.remove()
    return shapes


def test_make_divisible() -> None:
    cases = {19.2: 24, 28.8: 32, 134.4: 136, 249.6: 248, 41.6: 40, 20.8: 24, 124.8: 128, 3: 8}
    for value, expected in cases.items():
        assert make_divisible(value) == expected
    assert make_divisible(72) == 72  # multiples of 8 are kept, so hidden = in * e here


@pytest.mark.parametrize(("depth", "e", "k"), [(2, 3, 3), (4, 6, 7)])
@pytest.mark.parametrize("build", [_mbv3, _pn])
def test_forward_gives_logits(build: Any, depth: int, e: int, k: int) -> None:
    net = build(depth, e, k)
    assert net.input_shape == (3, 128, 128)
    with torch.no_grad():  # the networks take any input size; a small one keeps this fast
        out = net.eval()(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 1000)
    assert torch.isfinite(out).all()


def test_num_classes_and_options() -> None:
    net = build_ofa_pn(_ofa_dict([2] * 5 + [1], 3, 3, pn=True), num_classes=10, dropout_rate=0.0)
    assert net.classifier.out_features == 10
    for bad in ({"num_classes": 0}, {"width_mult": 0}, {"dropout_rate": 1.0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            build_ofa_mbv3(_ofa_dict([2] * 5, 3, 3), **bad)


def test_mbv3_stage_outputs_strides_and_widths() -> None:
    net = _mbv3(2, r=224)
    assert net.stage_widths == MBV3_WIDTHS
    shapes = _outputs(net, [net.stem, net.first_block, *net.stages, net.final_expand], 224)
    assert shapes == [
        (1, 24, 112, 112),
        (1, 24, 112, 112),
        (1, 32, 56, 56),
        (1, 48, 28, 28),
        (1, 96, 14, 14),
        (1, 136, 14, 14),
        (1, 192, 7, 7),
        (1, 1152, 7, 7),
    ]
    assert (net.feature_mix.conv.out_channels, net.classifier.in_features) == (1536, 1536)


def test_pn_stage_outputs_strides_and_widths() -> None:
    net = _pn(2, r=224)
    assert net.stage_widths == PN_WIDTHS
    shapes = _outputs(net, [net.stem, net.first_block, *net.stages, net.feature_mix], 224)
    assert shapes == [
        (1, 40, 112, 112),
        (1, 24, 112, 112),
        (1, 32, 56, 56),
        (1, 56, 28, 28),
        (1, 104, 14, 14),
        (1, 128, 14, 14),
        (1, 248, 7, 7),
        (1, 416, 7, 7),
        (1, 1664, 7, 7),
    ]
    assert net.classifier.in_features == 1664


def test_block_layout_follows_the_architecture() -> None:
    blocks = [[(3, 3), (4, 5), (6, 7)], [(6, 5), (3, 7)], [(4, 3)] * 4, [(3, 3)] * 2, [(6, 7)] * 3]
    arch = S.get("ofa-mbv3").parse(
        {
            "stages": [[{"expand": e, "kernel": k} for e, k in st] for st in blocks],
            "resolution": 160,
        }
    )
    net = build_ofa_mbv3(arch)
    assert net.input_shape == (3, 160, 160)
    channels = 24
    for stage, layers, width, stride in zip(
        net.stages, blocks, MBV3_WIDTHS, (2, 2, 2, 1, 2), strict=True
    ):
        assert len(stage) == len(layers)
        for i, (block, (e, k)) in enumerate(zip(stage, layers, strict=True)):
            assert isinstance(block, MBConv)
            dw = block.depthwise.conv
            assert (block.in_channels, block.out_channels) == (channels, width)
            assert block.mid_channels == channels * e == dw.groups == dw.in_channels
            assert dw.kernel_size == (k, k)
            assert dw.stride == ((stride, stride) if i == 0 else (1, 1))
            assert block.use_residual == (i > 0)  # every first layer changes width or stride
            channels = width
    assert net.first_block.use_residual
    assert net.first_block.expand is None
    assert not _pn(2).first_block.use_residual  # 40 -> 24 channels


def test_mbv3_se_and_activation_placement() -> None:
    net = _mbv3(2)
    assert isinstance(net.stem.act, nn.Hardswish)
    assert isinstance(net.first_block.depthwise.act, nn.ReLU)
    assert net.first_block.se is None
    acts = [nn.ReLU] * 2 + [nn.Hardswish] * 3
    for stage, act, se in zip(net.stages, acts, [0, 1, 0, 1, 1], strict=True):
        for block in stage:
            assert type(block.expand.act) is act
            assert type(block.depthwise.act) is act
            assert isinstance(block.se, SqueezeExcite) == bool(se)
            assert not hasattr(block.project, "act")
    assert isinstance(net.final_expand.act, nn.Hardswish)
    assert isinstance(net.feature_mix.act, nn.Hardswish)
    assert net.feature_mix.conv.bias is None  # OFA builds the feature mix with bias=False, no BN
    se = net.stages[1][0].se  # 32 * 3 = 96 hidden -> make_divisible(96 // 4) = 24
    assert (se.reduce.in_channels, se.reduce.out_channels) == (96, 24)
    assert isinstance(se.gate, nn.Hardsigmoid)


def test_pn_uses_relu6_and_no_se() -> None:
    net = _pn(2)
    acts = {type(m) for m in net.modules() if isinstance(m, nn.ReLU | nn.ReLU6 | nn.Hardswish)}
    assert acts == {nn.ReLU6}
    assert not any(isinstance(m, SqueezeExcite) for m in net.modules())
    assert net.stem.bn.eps == 1e-3
    assert _mbv3(2).stem.bn.eps == 1e-5


def test_ofa_dict_builds_the_same_net_as_the_architecture() -> None:
    space = S.get("ofa-mbv3")
    arch = space.sample(1, seed=3)[0]
    d = space.native.to_ofa_dict(space, arch)
    a, b = build_ofa_mbv3(arch), build_ofa_mbv3({**d, "r": [d["r"]]})  # OFA writes "r": [224]
    assert str(a) == str(b)
    assert a.input_shape == b.input_shape == (3, int(arch.globals[0]), int(arch.globals[0]))
    pn = S.get("ofa-pn")
    arch = pn.sample(1, seed=3)[0]
    d = pn.native.to_ofa_dict(pn, arch)
    assert str(build_ofa_pn(arch)) == str(build_ofa_pn({**d, "d": d["d"][:5]}))


def test_inactive_slots_are_ignored() -> None:
    a = _ofa_dict([2] * 5, 4, 5)
    b = {**a, "ks": [5, 5, 9, None] * 5, "e": [4, 4, "x", 0] * 5}
    assert str(build_ofa_mbv3(a)) == str(build_ofa_mbv3(b))
    assert count_params(build_ofa_mbv3(a)) == count_params(build_ofa_mbv3(b))


def test_one_block_by_hand() -> None:
    # MBv3 stage 2, first block: 32 -> 48 channels, e=4, k=5, stride 2, SE; input 32 x 56 x 56.
    block = MBConv(32, 48, 5, 2, 4, activation="relu", use_se=True)
    mid, se = 128, 32  # 32 * 4; make_divisible(128 // 4)
    params = (
        (32 * mid + 2 * mid)  # expand conv + BN
        + (mid * 25 + 2 * mid)  # depthwise conv + BN
        + (mid * se + se + se * mid + mid)  # SE convs with biases
        + (mid * 48 + 2 * 48)  # projection + BN
    )
    assert count_params(block) == params == 22400
    macs = 56 * 56 * 32 * mid + 28 * 28 * mid * 25 + 2 * mid * se + 28 * 28 * mid * 48
    assert count_flops(block, (32, 56, 56)) == macs == 20178944


def _block_params(cin: int, cout: int, e: int, k: int, se: bool) -> int:
    mid = cin * e
    out = cin * mid + 2 * mid + mid * k * k + 2 * mid + mid * cout + 2 * cout
    if se:
        h = make_divisible(mid // 4)
        out += 2 * mid * h + h + mid
    return out


def _stages_params(
    cin: int, widths: tuple[int, ...], depths: list[int], e: int, k: int, se: tuple[bool, ...]
) -> int:
    total = 0
    for width, d, s in zip(widths, depths, se, strict=True):
        for _ in range(d):
            total += _block_params(cin, width, e, k, s)
            cin = width
    return total


@pytest.mark.parametrize(("d", "e", "k"), [(2, 3, 3), (4, 6, 7)])
def test_whole_network_params_by_formula(d: int, e: int, k: int) -> None:
    # MBv3: stem 3->24 (3x3) + BN; first block dw 3x3 on 24 + BN, 24->24 + BN; stages;
    # head 192->1152 + BN, 1152->1536 (no bias), classifier 1536->1000 with bias.
    mbv3 = 27 * 24 + 48 + (24 * 9 + 48 + 24 * 24 + 48)
    mbv3 += _stages_params(24, MBV3_WIDTHS, [d] * 5, e, k, (False, True, False, True, True))
    mbv3 += 192 * 1152 + 2 * 1152 + 1152 * 1536 + 1536 * 1000 + 1000
    assert count_params(_mbv3(d, e, k)) == mbv3
    # PN: stem 3->40 + BN; first block dw 3x3 on 40 + BN, 40->24 + BN; stages (last: 1 block);
    # head 416->1664 + BN, classifier 1664->1000 with bias.
    pn = 27 * 40 + 80 + (40 * 9 + 80 + 40 * 24 + 48)
    pn += _stages_params(24, PN_WIDTHS, [d] * 5 + [1], e, k, (False,) * 6)
    pn += 416 * 1664 + 2 * 1664 + 1664 * 1000 + 1000
    assert count_params(_pn(d, e, k)) == pn


def test_smallest_mbv3_macs_by_hand() -> None:
    # MACs add up per resolution level at r=128 (64, 32, 16, 8, 4 after the stride-2 layers).
    net = _mbv3(2, r=128)
    stem = 64 * 64 * 24 * 27
    first = 64 * 64 * 24 * 9 + 64 * 64 * 24 * 24

    def block(cin: int, cout: int, hin: int, stride: int, se: bool) -> int:
        mid, hout = cin * 3, hin // stride
        macs = hin * hin * cin * mid + hout * hout * mid * 9 + hout * hout * mid * cout
        return macs + (2 * mid * make_divisible(mid // 4) if se else 0)

    stages = (
        block(24, 32, 64, 2, False)
        + block(32, 32, 32, 1, False)
        + block(32, 48, 32, 2, True)
        + block(48, 48, 16, 1, True)
        + block(48, 96, 16, 2, False)
        + block(96, 96, 8, 1, False)
        + block(96, 136, 8, 1, True)
        + block(136, 136, 8, 1, True)
        + block(136, 192, 8, 2, True)
        + block(192, 192, 4, 1, True)
    )
    head = 4 * 4 * 192 * 1152 + 1152 * 1536 + 1536 * 1000
    assert count_flops(net, net.input_shape) == stem + first + stages + head == 65536896


def test_space_build_model_and_cost_evaluator() -> None:
    from autobuild.evaluation import CostEvaluator

    for name, cls in (("ofa-mbv3", OFAMobileNetV3), ("ofa-pn", OFAProxylessNAS)):
        space = S.get(name)
        arch = space.sample(1, seed=0)[0]
        net = build_model(space, arch)
        assert isinstance(net, cls)
        assert net.arch == arch
        assert net.input_shape == (3, int(arch.globals[0]), int(arch.globals[0]))
    # The cost evaluator reads input_shape (3, 128, 128) from the network.
    space = S.get("ofa-mbv3")
    record = CostEvaluator(space).evaluate([space.parse(_ofa_dict([2] * 5, 3, 3))])[0]
    assert (record["params"], record["flops"]) == (4602456, 65536896)


def test_bad_architectures_are_search_space_errors() -> None:
    with pytest.raises(SearchSpaceError, match="Stage 2"):
        build_ofa_mbv3(_ofa_dict([2, 5, 2, 2, 2], 3, 3))
    with pytest.raises(SearchSpaceError, match="kernel"):
        build_ofa_mbv3(_ofa_dict([2] * 5, 3, 9))
    with pytest.raises(SearchSpaceError, match="resolution"):
        build_ofa_pn(_ofa_dict([2] * 5 + [1], 3, 3, r=100, pn=True))
    with pytest.raises(SearchSpaceError):
        build_ofa_mbv3(_ofa_dict([2] * 5 + [1], 3, 3, pn=True))  # a PN dict is not MBv3
    with pytest.raises(SearchSpaceError):
        build_model(S.get("ofa-pn"), {"ks": [3] * 21, "e": [3] * 21, "d": [2] * 6})


def test_activation_names_match_the_activation_type():
    from typing import get_args

    from autobuild.networks.ofa import _ACTIVATIONS, Activation

    assert sorted(get_args(Activation)) == sorted(_ACTIVATIONS)
