"""A minimal AdamW for the training loop.

Written by hand because constructing any ``torch.optim`` optimizer imports ``torch._dynamo``
(torch 2.13: ``Optimizer.add_param_group`` is wrapped by ``torch._compile._disable_dynamo``),
which adds tens of MiB of resident memory to a training process (peak memory is reported by
``benchmarks/train.py``). The update is ``torch.optim.AdamW``'s (Loshchilov & Hutter,
ICLR 2019; bias-corrected moments, decoupled weight decay), and the tests check that both
produce the same parameters step by step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import Tensor

__all__ = ["AdamW", "cosine_lr"]


class AdamW:
    """AdamW over a fixed list of parameters (``torch.optim.AdamW`` semantics, no AMSGrad).

    Args:
        params: Parameters to optimise.
        lr: Learning rate.
        betas: Moment decay rates.
        eps: Denominator term.
        weight_decay: Decoupled weight decay.
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.steps = 0
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        """Drop the gradients (``set_to_none`` semantics)."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """Apply one update with the current ``lr`` to every parameter that has a gradient."""
        idx = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not idx:
            return
        self.steps += 1
        beta1, beta2 = self.betas
        params = [self.params[i] for i in idx]
        grads = [self.params[i].grad for i in idx]
        m = [self.exp_avg[i] for i in idx]
        v = [self.exp_avg_sq[i] for i in idx]
        if self.weight_decay:
            torch._foreach_mul_(params, 1.0 - self.lr * self.weight_decay)
        torch._foreach_lerp_(m, grads, 1.0 - beta1)  # type: ignore[arg-type]
        torch._foreach_mul_(v, beta2)
        torch._foreach_addcmul_(v, grads, grads, 1.0 - beta2)  # type: ignore[arg-type]
        bias1 = 1.0 - beta1**self.steps
        bias2 = 1.0 - beta2**self.steps
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, math.sqrt(bias2))
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(params, m, denom, -self.lr / bias1)


def cosine_lr(base_lr: float, step: int, total: int) -> float:
    """Cosine decay from ``base_lr`` at step 0 to 0 at step ``total``."""
    if total <= 0:
        return base_lr
    return 0.5 * base_lr * (1.0 + math.cos(math.pi * min(step, total) / total))
