"""Exact parameter and FLOPs counts of PyTorch models.

Counting convention of :func:`count_flops` (the one NAS-Bench-Macro used for its ``flops``
column; Su et al., "Prioritized Architecture Sampling with Monte-Carlo Tree Search",
CVPR 2021):

* FLOPs are **multiply-accumulates (MACs)** of one sample (batch size 1) at the given input
  shape, e.g. ``(3, 32, 32)`` for CIFAR-10.
* A convolution (:class:`~torch.nn.Conv1d`, :class:`~torch.nn.Conv2d`,
  :class:`~torch.nn.Conv3d`) costs ``output_elements * (in_channels / groups) * prod(kernel)``:
  a depthwise 5x5 convolution with ``C`` channels and an ``H x W`` output costs
  ``C * H * W * 25``.
* A :class:`~torch.nn.Linear` layer costs ``in_features * out_features`` per output row.
* Bias additions are not counted (unless ``include_bias=True``), nor are batch normalization
  (it folds into the preceding convolution at inference), activations, pooling, dropout,
  residual additions or any other tensor arithmetic outside convolutions and linear layers.

Counts come from forward hooks on leaf modules during one real forward pass, so they follow
the actual spatial sizes (strides, padding, dilation) of the model. Work done by functional
calls inside ``forward`` (``torch.nn.functional.linear`` and the like) is invisible to the
hooks; a leaf module of another type that owns parameters triggers a warning, since its cost
is not counted.

:func:`count_params` counts trainable and frozen parameters (BatchNorm weights and biases
included, running statistics and other buffers excluded), each shared tensor once; this is
how NAS-Bench-Macro counted its ``params`` column.

Example:
    >>> import torch
    >>> from autobuild.networks import count_flops, count_params
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.Flatten(),
    ...                           torch.nn.Linear(8 * 4 * 4, 10))
    >>> count_params(net)
    1514
    >>> count_flops(net, (3, 4, 4))  # 16 * 8 * 3 * 9 + 128 * 10
    4736
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from autobuild.exceptions import ConfigError

__all__ = ["count_flops", "count_params"]

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)

# Leaf modules that own parameters but cost no MACs under this convention.
_FREE = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.PReLU,
    nn.Embedding,
)


def count_params(model: nn.Module) -> int:
    """Number of parameters of ``model`` (buffers such as BN running statistics excluded).

    Args:
        model: Any module; shared parameters are counted once.

    Returns:
        The exact parameter count.
    """
    return sum(p.numel() for p in model.parameters())


def count_flops(
    model: nn.Module, input_shape: Sequence[int], *, include_bias: bool = False
) -> int:
    """Multiply-accumulates of one forward pass of one sample (see the module docstring).

    The model runs once on a zero tensor of shape ``(1, *input_shape)``, in evaluation mode
    and without gradients, on the device and with the floating dtype of its first parameter;
    its training mode is restored afterwards.

    Args:
        model: The network.
        input_shape: Shape of one input sample, without the batch dimension, e.g.
            ``(3, 32, 32)``.
        include_bias: Also count one addition per output element of every convolution or
            linear layer with a bias (NAS-Bench-Macro did not).

    Returns:
        The exact MAC count as a Python int.

    Raises:
        ConfigError: If ``input_shape`` is empty or has a non-positive dimension.
    """
    shape = tuple(int(d) for d in input_shape)
    if not shape or any(d <= 0 for d in shape):
        raise ConfigError(
            f"`input_shape` must be the non-empty shape of one sample, got {tuple(input_shape)}."
        )
    total = 0

    def hook(module: nn.Module, inputs: Any, output: Any) -> None:
        nonlocal total
        total += _module_macs(module, output, include_bias)

    handles = []
    for name, module in model.named_modules():
        if next(module.children(), None) is not None:
            continue  # only leaf modules do work of their own
        if isinstance(module, (*_CONVS, nn.Linear)):
            handles.append(module.register_forward_hook(hook))
        elif not isinstance(module, _FREE) and next(module.parameters(False), None) is not None:
            warnings.warn(
                f"count_flops does not count module {name!r} ({type(module).__name__}).",
                stacklevel=2,
            )
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *shape), device=device, dtype=dtype))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return total


def _module_macs(module: nn.Module, output: Any, include_bias: bool) -> int:
    """MACs of one convolution or linear call, from the shape of its output."""
    out_elems = math.prod(output.shape)
    if isinstance(module, _CONVS):
        per_output = (module.in_channels // module.groups) * math.prod(module.kernel_size)
    else:
        assert isinstance(module, nn.Linear)
        per_output = module.in_features
    macs = out_elems * per_output
    if include_bias and module.bias is not None:
        macs += out_elems
    return macs
