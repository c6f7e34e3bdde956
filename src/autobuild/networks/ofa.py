"""Once-for-All subnets as :class:`torch.nn.Module` objects: OFA-MobileNetV3 and OFA-ProxylessNAS.

Once-for-All (Cai et al., "Once-for-All: Train One Network and Specialize it for Efficient
Deployment", ICLR 2020) trains one supernet per space; an architecture of ``ofa-mbv3`` or
``ofa-pn`` names one of its static subnets. The networks here are those subnets with fresh
weights, laid out as OFA's ``get_active_subnet`` lays them out for the supernets
``ofa_mbv3_d234_e346_k357_w1.2`` (:class:`OFAMobileNetV3`) and
``ofa_proxyless_d234_e346_k357_w1.3`` (:class:`OFAProxylessNAS`). The layout was read from
OFA's ``elastic_nn/networks/ofa_mbv3.py`` and ``ofa_proxyless.py`` (stages, widths, strides,
activations, SE placement, head), ``elastic_nn/modules/dynamic_layers.py`` (channels of a
static block), ``utils/layers.py`` (block and layer internals) and OFA's ``make_divisible``
and ``SEModule`` (``utils/pytorch_modules.py``); no OFA code is used.

Channel rules (``w`` is the width multiplier):

* every fixed width is ``make_divisible(base * w, 8)`` (:func:`make_divisible`, the rounding
  of the TensorFlow MobileNet code: nearest multiple of 8, at least 8, and never more than
  10% below ``base * w``). MobileNetV3 w1.2: stem and first block 24, stages
  32, 48, 96, 136, 192, final expansion 1152, feature mix 1536. ProxylessNAS w1.3: stem 40,
  first block 24, stages 32, 56, 104, 128, 248, 416, feature mix 1664;
* the hidden width of a searchable block is ``make_divisible(round(in_channels * e), 8)``,
  from the block's *actual* input channels (``DynamicMBConvLayer.active_middle_channel``, which
  ``get_active_subnet_config`` passes to the static layer as ``mid_channels``). Every width
  above is a multiple of 8, so this is exactly ``in_channels * e`` here;
* a squeeze-and-excitation module on ``C`` channels has ``make_divisible(C // 4, 8)`` hidden
  channels (reduction 4; ``SEModule`` and ``DynamicSE``).

Block (:class:`MBConv`): 1x1 expansion, BN, activation (absent when the expansion is 1);
depthwise ``k x k`` convolution with the block's stride and ``k // 2`` padding, BN,
activation; SE (where used); 1x1 projection, BN. The input is added when the stride is 1 and
the channels are kept. The first block of every stage carries the stage's stride. OFA keeps
one 7x7 depthwise kernel per block and a subnet with ``k < 7`` uses its centred ``k x k``
slice (after OFA's learned kernel transforms); the static layer is an ordinary ``k x k``
depthwise convolution, which is what is built here. Convolutions have no bias, including
MobileNetV3's feature-mix convolution (OFA builds it with ``bias=False`` and no BN); only the
SE convolutions and the classifier have biases.

MobileNetV3 (:class:`OFAMobileNetV3`): stem 3x3 convolution with stride 2, BN, h-swish; first
block (expansion 1, 3x3, stride 1, ReLU, no SE, residual); 5 searchable stages with strides
2, 2, 2, 1, 2, ReLU in stages 1-2 and h-swish in stages 3-5, SE in stages 2, 4 and 5 (OFA's
``use_se`` for the 40-, 112- and 160-channel stages); head: 1x1 convolution to
``make_divisible(960 * w)``, BN, h-swish, global average pooling, 1x1 convolution to
``make_divisible(1280 * w)`` (no BN, no bias), h-swish, dropout, linear classifier. BN uses
``eps=1e-5``.

ProxylessNAS (:class:`OFAProxylessNAS`): stem 3x3 convolution with stride 2, BN, ReLU6; first
block (expansion 1, 3x3, stride 1, no residual since 40 -> 24 channels); 6 searchable stages
(the last always one block) with strides 2, 2, 2, 1, 2, 1; ReLU6 everywhere and no SE; head:
1x1 convolution to ``make_divisible(1280 * w)``, BN, ReLU6, global average pooling, dropout,
linear classifier. BN uses ``eps=1e-3``.

Activations are :class:`torch.nn.ReLU`, :class:`torch.nn.ReLU6` and
:class:`torch.nn.Hardswish` (OFA's ``Hswish``, ``x * relu6(x + 3) / 6``); the SE gate is
:class:`torch.nn.Hardsigmoid`. Dropout (0.1 by default, OFA's class default; OFA's model zoo
builds its checkpoints with 0) costs no parameters or FLOPs. Module names are our own, so
OFA checkpoints do not load without renaming.

Both networks declare ``input_shape = (3, r, r)`` from the architecture's resolution, which
the cost and latency evaluators use. :func:`~autobuild.networks.counting.count_flops` counts
what OFA's own ``count_net_flops`` counts (convolution and linear MACs, no bias terms). OFA's
tutorial FLOPs lookup table (``tutorial/flops_table.py``) is only an approximation of these
networks: it scales widths with ``round(c * w)`` instead of :func:`make_divisible` (e.g. 19
stem channels instead of 24, and a 1200-way classifier), and gives about 10% fewer MACs.

Example:
    >>> import torch
    >>> from autobuild.networks import build_ofa_mbv3, count_flops, count_params
    >>> net = build_ofa_mbv3({"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "r": 128})
    >>> net.input_shape
    (3, 128, 128)
    >>> net.eval()(torch.zeros(1, *net.input_shape)).shape
    torch.Size([1, 1000])
    >>> count_params(net), count_flops(net, net.input_shape)
    (4602456, 65536896)
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Literal

import torch
from torch import nn

from autobuild._validation import check_int
from autobuild.exceptions import ConfigError
from autobuild.spaces import Architecture
from autobuild.spaces.ofa import ofa_mbv3, ofa_pn

__all__ = [
    "CHANNEL_DIVISOR",
    "MBV3_ACTIVATIONS",
    "MBV3_SE",
    "MBV3_STAGE_WIDTHS",
    "MBV3_STRIDES",
    "PN_STAGE_WIDTHS",
    "PN_STRIDES",
    "SE_REDUCTION",
    "MBConv",
    "OFAMobileNetV3",
    "OFAProxylessNAS",
    "SqueezeExcite",
    "build_ofa_mbv3",
    "build_ofa_pn",
    "make_divisible",
]

#: Channel counts are rounded to multiples of this (OFA's ``MyNetwork.CHANNEL_DIVISIBLE``).
CHANNEL_DIVISOR = 8
#: Squeeze-and-excitation reduction ratio (OFA's ``SEModule.REDUCTION``).
SE_REDUCTION = 4

#: MobileNetV3 base widths (before the multiplier) of the stem, first block and head.
MBV3_STEM_WIDTH = 16
MBV3_FIRST_BLOCK_WIDTH = 16
MBV3_FINAL_EXPAND_WIDTH = 960
MBV3_LAST_WIDTH = 1280
#: MobileNetV3 searchable stages: base widths, strides, activations and SE.
MBV3_STAGE_WIDTHS = (24, 40, 80, 112, 160)
MBV3_STRIDES = (2, 2, 2, 1, 2)
MBV3_ACTIVATIONS: tuple[Activation, ...] = ("relu", "relu", "h_swish", "h_swish", "h_swish")
MBV3_SE = (False, True, False, True, True)

#: ProxylessNAS base widths of the stem, first block and head.
PN_STEM_WIDTH = 32
PN_FIRST_BLOCK_WIDTH = 16
PN_LAST_WIDTH = 1280
#: ProxylessNAS searchable stages: base widths and strides (ReLU6 everywhere, no SE).
PN_STAGE_WIDTHS = (24, 40, 80, 96, 192, 320)
PN_STRIDES = (2, 2, 2, 1, 2, 1)

_MBV3_BN_EPS = 1e-5
_PN_BN_EPS = 1e-3
#: Activation functions of OFA blocks.
Activation = Literal["relu", "relu6", "h_swish"]
_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "h_swish": nn.Hardswish,
}


def make_divisible(
    value: float, divisor: int = CHANNEL_DIVISOR, min_value: int | None = None
) -> int:
    """Round a channel count to a multiple of ``divisor`` (the MobileNet rounding OFA uses).

    The nearest multiple (halves round up), at least ``min_value`` (default ``divisor``), plus
    one more ``divisor`` if rounding went more than 10% below ``value``.

    Args:
        value: The unrounded channel count, e.g. ``112 * 1.2``.
        divisor: The multiple to round to.
        min_value: Smallest result (default: ``divisor``).

    Returns:
        The rounded count, e.g. ``make_divisible(134.4) == 136``.
    """
    floor = divisor if min_value is None else min_value
    rounded = max(floor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation with a hard-sigmoid gate (Hu et al.; MobileNetV3's variant).

    Global average pooling, 1x1 convolution to ``make_divisible(channels // reduction)``
    (with bias), ReLU, 1x1 convolution back to ``channels`` (with bias), hard sigmoid; the
    input is scaled channel-wise by the result.

    Args:
        channels: Input (and output) channels.
        reduction: Reduction ratio of the hidden layer.
    """

    def __init__(self, channels: int, reduction: int = SE_REDUCTION) -> None:
        super().__init__()
        self.channels = channels
        self.hidden_channels = make_divisible(channels // reduction)
        self.reduce = nn.Conv2d(channels, self.hidden_channels, 1)
        self.act = nn.ReLU(inplace=True)
        self.expand = nn.Conv2d(self.hidden_channels, channels, 1)
        self.gate = nn.Hardsigmoid(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scale the ``N x C x H x W`` input by its channel gates."""
        s = x.mean((2, 3), keepdim=True)
        s = self.gate(self.expand(self.act(self.reduce(s))))
        return x * s


class MBConv(nn.Module):
    """OFA's MBConv block (a MobileNetV2 inverted residual, optionally with SE).

    Submodules: ``expand`` (1x1 convolution, BN, activation; ``None`` when ``expand_ratio`` is
    1), ``depthwise`` (``kernel_size x kernel_size`` depthwise convolution with ``stride``,
    BN, activation), ``se`` (:class:`SqueezeExcite` or ``None``) and ``project`` (1x1
    convolution, BN). The input is added to the output when ``stride == 1`` and
    ``in_channels == out_channels``.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Odd kernel size of the depthwise convolution ("same" padding).
        stride: Stride of the depthwise convolution (1 or 2).
        expand_ratio: Hidden channels are ``make_divisible(round(in_channels * expand_ratio))``
            (``in_channels`` when the ratio is 1, with no expansion layer).
        activation: ``"relu"``, ``"relu6"`` or ``"h_swish"``.
        use_se: Add squeeze-and-excitation after the depthwise activation.
        bn_eps: ``eps`` of the batch normalizations.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int,
        expand_ratio: float,
        *,
        activation: Activation = "relu6",
        use_se: bool = False,
        bn_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ConfigError(f"`stride` must be 1 or 2, got {stride!r}.")
        if kernel_size < 1 or kernel_size % 2 != 1:
            raise ConfigError(
                f"`kernel_size` must be a positive odd integer, got {kernel_size!r}."
            )
        if not expand_ratio >= 1:
            raise ConfigError(f"`expand_ratio` must be at least 1, got {expand_ratio!r}.")
        if activation not in _ACTIVATIONS:
            raise ConfigError(
                f"Unknown `activation` {activation!r}; expected one of {sorted(_ACTIVATIONS)}."
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.expand_ratio = expand_ratio
        self.activation = activation
        self.use_se = use_se
        self.use_residual = stride == 1 and in_channels == out_channels
        if expand_ratio == 1:
            self.mid_channels = in_channels
            self.expand: nn.Module | None = None
        else:
            self.mid_channels = make_divisible(round(in_channels * expand_ratio))
            self.expand = _conv_bn(in_channels, self.mid_channels, 1, 1, activation, bn_eps)
        mid = self.mid_channels
        self.depthwise = _conv_bn(mid, mid, kernel_size, stride, activation, bn_eps, groups=mid)
        self.se = SqueezeExcite(mid) if use_se else None
        self.project = _conv_bn(mid, out_channels, 1, 1, None, bn_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block to an ``N x in_channels x H x W`` input."""
        out = x if self.expand is None else self.expand(x)
        out = self.depthwise(out)
        if self.se is not None:
            out = self.se(out)
        out = self.project(out)
        return out + x if self.use_residual else out


class _OFASubnet(nn.Module):
    """The front both OFA families share: stem, first block and the searchable stages.

    Sets ``arch``, ``width_mult``, ``resolution``, ``input_shape``, ``stage_widths`` and the
    submodules ``stem``, ``first_block`` and ``stages`` (registered first, in this order, so
    the subclasses' parameter order matches OFA's); a subclass adds its head.

    Args:
        arch: A validated architecture of the family's space.
        width_mult: Width multiplier of every fixed width.
        widths: Base widths ``(stem, first block, per searchable stage)``.
        strides: Stride of each searchable stage.
        activations: ``(stem, first block, per searchable stage)`` activation names.
        se: Whether each searchable stage uses squeeze-and-excitation.
        eps: BatchNorm epsilon.
    """

    def __init__(
        self,
        arch: Architecture,
        width_mult: float,
        *,
        widths: tuple[int, int, tuple[int, ...]],
        strides: tuple[int, ...],
        activations: tuple[Activation, Activation, tuple[Activation, ...]],
        se: tuple[bool, ...],
        eps: float,
    ) -> None:
        super().__init__()
        self.arch = arch
        self.width_mult = width_mult
        self.resolution = _resolution(arch)
        self.input_shape = (3, self.resolution, self.resolution)
        stem_width, first_width, stage_widths = widths
        stem = make_divisible(stem_width * width_mult)
        first = make_divisible(first_width * width_mult)
        self.stage_widths = tuple(make_divisible(b * width_mult) for b in stage_widths)
        stem_act, first_act, stage_acts = activations
        self.stem = _conv_bn(3, stem, 3, 2, stem_act, eps)
        self.first_block = MBConv(stem, first, 3, 1, 1, activation=first_act, bn_eps=eps)
        self.stages = _make_stages(arch, first, self.stage_widths, strides, stage_acts, se, eps)


class OFAMobileNetV3(_OFASubnet):
    """A static subnet of OFA-MobileNetV3 (``ofa_mbv3_d234_e346_k357_w1.2`` by default).

    Submodules: ``stem``; ``first_block`` (:class:`MBConv`); ``stages`` (an
    ``nn.Sequential`` of one ``nn.Sequential`` of :class:`MBConv` per stage); ``final_expand``
    (1x1 convolution, BN, h-swish); ``pool``; ``feature_mix`` (1x1 convolution, h-swish);
    ``dropout``; ``classifier``. See the module docstring for the layout.

    Args:
        arch: A validated architecture of the ``ofa-mbv3`` space (see :func:`build_ofa_mbv3`,
            which validates).
        width_mult: Width multiplier of every fixed width.
        num_classes: Output classes.
        dropout_rate: Dropout before the classifier.

    Attributes:
        input_shape: ``(3, r, r)`` for the architecture's resolution ``r`` (used by cost and
            latency evaluators).
        stage_widths: Output channels of the five searchable stages.
    """

    def __init__(
        self,
        arch: Architecture,
        *,
        width_mult: float = 1.2,
        num_classes: int = 1000,
        dropout_rate: float = 0.1,
    ) -> None:
        eps = _MBV3_BN_EPS
        super().__init__(
            arch,
            width_mult,
            widths=(MBV3_STEM_WIDTH, MBV3_FIRST_BLOCK_WIDTH, MBV3_STAGE_WIDTHS),
            strides=MBV3_STRIDES,
            activations=("h_swish", "relu", MBV3_ACTIVATIONS),
            se=MBV3_SE,
            eps=eps,
        )
        final_expand = make_divisible(MBV3_FINAL_EXPAND_WIDTH * width_mult)
        last = make_divisible(MBV3_LAST_WIDTH * width_mult)
        self.final_expand = _conv_bn(self.stage_widths[-1], final_expand, 1, 1, "h_swish", eps)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.feature_mix = nn.Sequential(
            OrderedDict(
                [
                    ("conv", nn.Conv2d(final_expand, last, 1, bias=False)),
                    ("act", nn.Hardswish(inplace=True)),
                ]
            )
        )
        self.dropout = nn.Dropout(dropout_rate)
        self.classifier = nn.Linear(last, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of shape ``N x num_classes`` for an ``N x 3 x H x W`` input."""
        x = self.stages(self.first_block(self.stem(x)))
        x = self.feature_mix(self.pool(self.final_expand(x)))
        out: torch.Tensor = self.classifier(self.dropout(torch.flatten(x, 1)))
        return out


class OFAProxylessNAS(_OFASubnet):
    """A static subnet of OFA-ProxylessNAS (``ofa_proxyless_d234_e346_k357_w1.3`` by default).

    Submodules: ``stem``; ``first_block`` (:class:`MBConv`); ``stages`` (an
    ``nn.Sequential`` of one ``nn.Sequential`` of :class:`MBConv` per stage, six stages);
    ``feature_mix`` (1x1 convolution, BN, ReLU6); ``pool``; ``dropout``; ``classifier``. See
    the module docstring for the layout.

    Args:
        arch: A validated architecture of the ``ofa-pn`` space (see :func:`build_ofa_pn`,
            which validates).
        width_mult: Width multiplier of every fixed width.
        num_classes: Output classes.
        dropout_rate: Dropout before the classifier.

    Attributes:
        input_shape: ``(3, r, r)`` for the architecture's resolution ``r`` (used by cost and
            latency evaluators).
        stage_widths: Output channels of the six searchable stages.
    """

    def __init__(
        self,
        arch: Architecture,
        *,
        width_mult: float = 1.3,
        num_classes: int = 1000,
        dropout_rate: float = 0.1,
    ) -> None:
        eps = _PN_BN_EPS
        n = len(PN_STAGE_WIDTHS)
        relu6: Activation = "relu6"
        super().__init__(
            arch,
            width_mult,
            widths=(PN_STEM_WIDTH, PN_FIRST_BLOCK_WIDTH, PN_STAGE_WIDTHS),
            strides=PN_STRIDES,
            activations=(relu6, relu6, (relu6,) * n),
            se=(False,) * n,
            eps=eps,
        )
        last = make_divisible(PN_LAST_WIDTH * width_mult)
        self.feature_mix = _conv_bn(self.stage_widths[-1], last, 1, 1, "relu6", eps)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout_rate)
        self.classifier = nn.Linear(last, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of shape ``N x num_classes`` for an ``N x 3 x H x W`` input."""
        x = self.feature_mix(self.stages(self.first_block(self.stem(x))))
        out: torch.Tensor = self.classifier(self.dropout(torch.flatten(self.pool(x), 1)))
        return out


def build_ofa_mbv3(
    arch: Any, *, width_mult: float = 1.2, num_classes: int = 1000, dropout_rate: float = 0.1
) -> OFAMobileNetV3:
    """Build the OFA-MobileNetV3 subnet of an architecture (weights freshly initialized).

    Args:
        arch: An :class:`~autobuild.spaces.Architecture` of the ``ofa-mbv3`` space, or any form
            its ``parse`` accepts: JSON, OFA's ``{"ks", "e", "d", "r"}`` dict (inactive slots
            ignored), or nested lists of block strings such as ``"mbconv3_e4_k5"``.
        width_mult: Width multiplier (1.2 for ``ofa_mbv3_d234_e346_k357_w1.2``).
        num_classes: Output classes.
        dropout_rate: Dropout before the classifier, in ``[0, 1)``.

    Returns:
        The network; its ``input_shape`` is ``(3, r, r)``.

    Raises:
        SearchSpaceError: If ``arch`` is not an architecture of the space.
        ConfigError: If ``width_mult``, ``num_classes`` or ``dropout_rate`` is invalid.
    """
    _check_options(width_mult, num_classes, dropout_rate)
    return OFAMobileNetV3(
        ofa_mbv3().parse(arch),
        width_mult=width_mult,
        num_classes=num_classes,
        dropout_rate=dropout_rate,
    )


def build_ofa_pn(
    arch: Any, *, width_mult: float = 1.3, num_classes: int = 1000, dropout_rate: float = 0.1
) -> OFAProxylessNAS:
    """Build the OFA-ProxylessNAS subnet of an architecture (weights freshly initialized).

    Args:
        arch: An :class:`~autobuild.spaces.Architecture` of the ``ofa-pn`` space, or any form
            its ``parse`` accepts: JSON, OFA's ``{"ks", "e", "d", "r"}`` dict (inactive slots
            ignored; ``d`` may omit the fixed last stage), or nested lists of block strings
            such as ``"mbconv2_e4_k5"``.
        width_mult: Width multiplier (1.3 for ``ofa_proxyless_d234_e346_k357_w1.3``).
        num_classes: Output classes.
        dropout_rate: Dropout before the classifier, in ``[0, 1)``.

    Returns:
        The network; its ``input_shape`` is ``(3, r, r)``.

    Raises:
        SearchSpaceError: If ``arch`` is not an architecture of the space.
        ConfigError: If ``width_mult``, ``num_classes`` or ``dropout_rate`` is invalid.
    """
    _check_options(width_mult, num_classes, dropout_rate)
    return OFAProxylessNAS(
        ofa_pn().parse(arch),
        width_mult=width_mult,
        num_classes=num_classes,
        dropout_rate=dropout_rate,
    )


def _check_options(width_mult: Any, num_classes: Any, dropout_rate: Any) -> None:
    if (
        isinstance(width_mult, bool)
        or not isinstance(width_mult, int | float)
        or not math.isfinite(width_mult)
        or width_mult <= 0
    ):
        raise ConfigError(f"`width_mult` must be a positive number, got {width_mult!r}.")
    check_int("num_classes", num_classes, low=1)
    if (
        isinstance(dropout_rate, bool)
        or not isinstance(dropout_rate, int | float)
        or not 0 <= dropout_rate < 1
    ):
        raise ConfigError(f"`dropout_rate` must be in [0, 1), got {dropout_rate!r}.")


def _resolution(arch: Architecture) -> int:
    """The input resolution of a validated OFA architecture, as an int."""
    return round(float(arch.globals[0]))


def _conv_bn(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int,
    activation: Activation | None,
    bn_eps: float,
    *,
    groups: int = 1,
) -> nn.Sequential:
    """Convolution (no bias, ``kernel_size // 2`` padding), BN, optional activation."""
    layers: list[tuple[str, nn.Module]] = [
        (
            "conv",
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=kernel_size // 2,
                groups=groups,
                bias=False,
            ),
        ),
        ("bn", nn.BatchNorm2d(out_channels, eps=bn_eps)),
    ]
    if activation is not None:
        layers.append(("act", _ACTIVATIONS[activation](inplace=True)))
    return nn.Sequential(OrderedDict(layers))


def _make_stages(
    arch: Architecture,
    in_channels: int,
    widths: tuple[int, ...],
    strides: tuple[int, ...],
    activations: tuple[Activation, ...],
    se: tuple[bool, ...],
    bn_eps: float,
) -> nn.Sequential:
    """The searchable stages: one ``nn.Sequential`` of :class:`MBConv` per stage."""
    stages = []
    channels = in_channels
    for layers, width, stride, act, use_se in zip(
        arch.stages, widths, strides, activations, se, strict=True
    ):
        blocks = []
        for position, (expand, kernel) in enumerate(layers):
            blocks.append(
                MBConv(
                    channels,
                    width,
                    int(kernel),
                    stride if position == 0 else 1,
                    int(expand),
                    activation=act,
                    use_se=use_se,
                    bn_eps=bn_eps,
                )
            )
            channels = width
        stages.append(nn.Sequential(*blocks))
    return nn.Sequential(*stages)
