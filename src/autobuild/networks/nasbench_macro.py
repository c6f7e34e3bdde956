"""NAS-Bench-Macro networks as :class:`torch.nn.Module` objects.

NAS-Bench-Macro (Su et al., "Prioritized Architecture Sampling with Monte-Carlo Tree
Search", CVPR 2021) trains 6561 CIFAR-10 networks of one fixed layout:

* stem: 3x3 convolution to 32 channels, BN, ReLU (stride 1, so 32x32 stays 32x32);
* three stages of 2, 3 and 3 searchable layers; the first layer of every stage has stride 2
  and doubles the channels (32 -> 64 -> 128 -> 256, 32x32 -> 16x16 -> 8x8 -> 4x4);
* head: 1x1 convolution to 1280 channels, BN, ReLU, global average pooling, and a linear
  classifier (with bias).

A searchable layer is a MobileNetV2 inverted-residual block (:class:`InvertedResidual`:
1x1 expansion, BN, ReLU, depthwise ``k x k`` convolution carrying the stride, BN, ReLU, 1x1
projection, BN; a residual connection when the stride is 1 and the channels are kept) with
expansion 3 and kernel 3 (``mb3_k3``) or expansion 6 and kernel 5 (``mb6_k5``); the
expansion multiplies the block's *input* channels. An identity in the first slot of a stage
becomes a strided 1x1 convolution + BN (:class:`Projection`, ``proj``); identities elsewhere
are skips and build nothing. Convolutions have no bias; the activation is ``nn.ReLU`` (the
benchmark's default, not ReLU6).

With this design :func:`~autobuild.networks.counting.count_params` and
:func:`~autobuild.networks.counting.count_flops` at ``(3, 32, 32)`` reproduce the
benchmark's ``params`` and ``flops`` columns exactly for all 6561 keys.

Example:
    >>> import torch
    >>> from autobuild.networks import build_nasbench_macro, count_flops, count_params
    >>> net = build_nasbench_macro("02012100")
    >>> net(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    >>> count_params(net), count_flops(net, (3, 32, 32))
    (890666, 47327744)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from autobuild._validation import check_int
from autobuild.exceptions import ConfigError
from autobuild.spaces import Architecture
from autobuild.spaces.nasbench_macro import nasbench_macro

__all__ = [
    "HEAD_CHANNELS",
    "OPS",
    "STEM_CHANNELS",
    "InvertedResidual",
    "NasBenchMacroNet",
    "Projection",
    "build_nasbench_macro",
]

#: Output channels of the stem convolution (the first stage doubles them to 64).
STEM_CHANNELS = 32
#: Channels of the 1x1 convolution before global pooling.
HEAD_CHANNELS = 1280
#: Inverted-residual op name -> (expansion ratio, depthwise kernel size).
OPS: dict[str, tuple[int, int]] = {"mb3_k3": (3, 3), "mb6_k5": (6, 5)}


class InvertedResidual(nn.Module):
    """MobileNetV2 inverted-residual block (Sandler et al., CVPR 2018).

    ``conv1x1(in -> in * expansion)``, BN, ReLU, depthwise ``kernel x kernel`` convolution
    with ``stride``, BN, ReLU, ``conv1x1(-> out)``, BN; the input is added to the output when
    ``stride == 1`` and ``in_channels == out_channels``.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        stride: Stride of the depthwise convolution (1 or 2).
        expansion: Hidden channels are ``in_channels * expansion``.
        kernel_size: Odd kernel size of the depthwise convolution ("same" padding).
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, expansion: int, kernel_size: int
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ConfigError(f"`stride` must be 1 or 2, got {stride!r}.")
        if kernel_size % 2 != 1:
            raise ConfigError(f"`kernel_size` must be odd, got {kernel_size!r}.")
        hidden = in_channels * expansion
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.expansion = expansion
        self.kernel_size = kernel_size
        self.use_residual = stride == 1 and in_channels == out_channels
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(
                hidden,
                hidden,
                kernel_size,
                stride=stride,
                padding=kernel_size // 2,
                groups=hidden,
                bias=False,
            ),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block."""
        out: torch.Tensor = self.conv(x)
        return out + x if self.use_residual else out


class Projection(nn.Sequential):
    """The ``proj`` op: a 1x1 convolution with ``stride`` followed by BN (no activation).

    It stands in for an identity where the resolution or the channels change.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        stride: Convolution stride.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
            nn.BatchNorm2d(out_channels),
        )


class NasBenchMacroNet(nn.Module):
    """One NAS-Bench-Macro network for ``N x 3 x H x W`` inputs (``32 x 32`` on CIFAR-10).

    Submodules: ``stem``; ``stages`` (an ``nn.Sequential`` of one ``nn.Sequential`` per
    stage, holding that stage's layers in order); ``head`` (1x1 convolution, BN, ReLU);
    ``pool``; ``classifier``.

    Args:
        arch: A validated architecture of the ``nasbench-macro`` space (see
            :func:`build_nasbench_macro`, which validates).
        num_classes: Output classes.
    """

    #: One input sample, ``(C, H, W)``: a CIFAR-10 image (used by cost and latency evaluators).
    input_shape = (3, 32, 32)

    def __init__(self, arch: Architecture, num_classes: int = 10) -> None:
        super().__init__()
        self.arch = arch
        self.stem = nn.Sequential(
            nn.Conv2d(3, STEM_CHANNELS, 3, padding=1, bias=False),
            nn.BatchNorm2d(STEM_CHANNELS),
            nn.ReLU(inplace=True),
        )
        channels = STEM_CHANNELS
        stages = []
        for layers in arch.stages:
            blocks: list[nn.Module] = []
            for position, layer in enumerate(layers):
                stride, out_channels = (2, 2 * channels) if position == 0 else (1, channels)
                blocks.append(_make_layer(str(layer[0]), channels, out_channels, stride))
                channels = out_channels
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(
            nn.Conv2d(channels, HEAD_CHANNELS, 1, bias=False),
            nn.BatchNorm2d(HEAD_CHANNELS),
            nn.ReLU(inplace=True),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(HEAD_CHANNELS, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of shape ``N x num_classes``."""
        x = self.head(self.stages(self.stem(x)))
        out: torch.Tensor = self.classifier(torch.flatten(self.pool(x), 1))
        return out


def build_nasbench_macro(arch: Any, num_classes: int = 10) -> NasBenchMacroNet:
    """Build the network of a NAS-Bench-Macro architecture (weights freshly initialized).

    Args:
        arch: An :class:`~autobuild.spaces.Architecture` of the ``nasbench-macro`` space, or
            any form its ``parse`` accepts (e.g. the 8-digit key ``"02012100"``).
        num_classes: Output classes (10 for CIFAR-10).

    Returns:
        The network; keys that name the same architecture (``22212220`` and ``22212202``)
        build identical layouts.

    Raises:
        SearchSpaceError: If ``arch`` is not an architecture of the space.
        ConfigError: If ``num_classes`` is not a positive integer.
    """
    check_int("num_classes", num_classes, low=1)
    return NasBenchMacroNet(nasbench_macro().parse(arch), num_classes)


def _make_layer(op: str, in_channels: int, out_channels: int, stride: int) -> nn.Module:
    if op == "proj":
        return Projection(in_channels, out_channels, stride)
    expansion, kernel = OPS[op]
    return InvertedResidual(in_channels, out_channels, stride, expansion, kernel)
