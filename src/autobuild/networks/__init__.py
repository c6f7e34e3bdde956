"""Real :class:`torch.nn.Module` networks of benchmark spaces, with exact cost counters.

Importing this package imports PyTorch (:mod:`autobuild.spaces` never does): a space
describes architectures, :func:`build_model` builds their networks.

Example:
    >>> import autobuild as ab
    >>> from autobuild.networks import count_flops, count_params
    >>> net = ab.networks.build_model(ab.spaces.get("nasbench-macro"), "22212220")
    >>> count_params(net), count_flops(net, (3, 32, 32))
    (1985514, 85164544)
"""

from __future__ import annotations

from autobuild.networks.build import build_model, can_build
from autobuild.networks.counting import count_flops, count_params
from autobuild.networks.nasbench_macro import (
    InvertedResidual,
    NasBenchMacroNet,
    Projection,
    build_nasbench_macro,
)
from autobuild.networks.ofa import (
    MBConv,
    OFAMobileNetV3,
    OFAProxylessNAS,
    SqueezeExcite,
    build_ofa_mbv3,
    build_ofa_pn,
)

__all__ = [
    "InvertedResidual",
    "MBConv",
    "NasBenchMacroNet",
    "OFAMobileNetV3",
    "OFAProxylessNAS",
    "Projection",
    "SqueezeExcite",
    "build_model",
    "build_nasbench_macro",
    "build_ofa_mbv3",
    "build_ofa_pn",
    "can_build",
    "count_flops",
    "count_params",
]
