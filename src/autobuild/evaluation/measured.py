"""Evaluation by building the network: exact parameter/FLOP counts and measured latency."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from autobuild._validation import check_int
from autobuild.evaluation.base import BaseEvaluator, Metric, Record
from autobuild.exceptions import ConfigError
from autobuild.spaces import Architecture, SearchSpace

__all__ = ["CostEvaluator", "LatencyEvaluator"]


def _input_shape(model: Any, given: Sequence[int] | None) -> tuple[int, ...]:
    shape = given if given is not None else getattr(model, "input_shape", None)
    if shape is None:
        raise ConfigError(
            f"{type(model).__name__} does not declare `input_shape`; pass input_shape=(C, H, W)."
        )
    return tuple(int(v) for v in shape)


class CostEvaluator(BaseEvaluator):
    """Exact parameter count and FLOPs of the network built for each architecture.

    FLOPs follow :func:`autobuild.networks.counting.count_flops` (batch 1; its docstring
    states the convention).

    Args:
        space: A space that can build networks (``space.build_model``).
        input_shape: ``(C, H, W)``; default: the network's own ``input_shape``.
        metrics: Which of ``"params"`` and ``"flops"`` to report (both by default).

    Raises:
        ConfigError: An unknown metric.
    """

    def __init__(
        self,
        space: SearchSpace,
        input_shape: Sequence[int] | None = None,
        metrics: Sequence[str] = ("params", "flops"),
    ) -> None:
        super().__init__(space, batch_size=64)
        self.input_shape = input_shape
        wanted = list(dict.fromkeys(metrics))
        unknown = [m for m in wanted if m not in ("params", "flops")]
        if unknown or not wanted:
            raise ConfigError(
                f"CostEvaluator reports 'params' and/or 'flops', got metrics={list(metrics)!r}."
            )
        self.metrics = tuple(Metric(m, "min") for m in wanted)

    def _evaluate(self, archs: Sequence[Architecture]) -> list[Record]:
        from autobuild.networks import build_model, count_flops, count_params

        out = []
        for arch in archs:
            model = build_model(self.space, arch)
            rec = {}
            if "params" in self.metric_names:
                rec["params"] = float(count_params(model))
            if "flops" in self.metric_names:
                rec["flops"] = float(count_flops(model, _input_shape(model, self.input_shape)))
            out.append(rec)
        return out


@contextmanager
def _threads(n: int) -> Iterator[None]:
    """Pin torch's intra-op threads for the block, then restore them."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class LatencyEvaluator(BaseEvaluator):
    """Measured inference latency of the built network (median of timed runs, in ms).

    Each network runs ``warmup`` untimed forward passes, then ``repeats`` timed ones, under
    ``torch.inference_mode`` with ``threads`` intra-op threads; records hold the median
    (the metric), the inter-quartile range and the thread count.

    Args:
        space: A space that can build networks.
        device: ``"cpu"`` or ``"cuda"``.
        batch: Input batch size.
        warmup: Untimed passes before timing.
        repeats: Timed passes.
        threads: Intra-op threads (CPU).
        input_shape: ``(C, H, W)``; default: the network's own ``input_shape``.
    """

    def __init__(
        self,
        space: SearchSpace,
        *,
        device: Literal["cpu", "cuda"] = "cpu",
        batch: int = 1,
        warmup: int = 10,
        repeats: int = 50,
        threads: int = 1,
        input_shape: Sequence[int] | None = None,
    ) -> None:
        super().__init__(space, batch_size=16)
        if device not in ("cpu", "cuda"):
            raise ConfigError(f"`device` must be 'cpu' or 'cuda', got {device!r}.")
        if device == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise ConfigError("device='cuda' but no CUDA device is available.")
        for name, value, low in (
            ("batch", batch, 1),
            ("warmup", warmup, 0),
            ("repeats", repeats, 1),
            ("threads", threads, 1),
        ):
            check_int(name, value, low=low)
        self.device, self.batch = device, batch
        self.warmup, self.repeats, self.threads = warmup, repeats, threads
        self.input_shape = input_shape
        self.metrics = (Metric(f"latency_{device}_ms", "min", "ms"),)

    def cache_key(self) -> str:
        """Every setting that changes the measurement (for :class:`CachedEvaluator`)."""
        import torch

        shape = "net" if self.input_shape is None else "x".join(map(str, self.input_shape))
        return (
            f"LatencyEvaluator:device={self.device},batch={self.batch},threads={self.threads},"
            f"warmup={self.warmup},repeats={self.repeats},input={shape},torch={torch.__version__}"
        )

    def _evaluate(self, archs: Sequence[Architecture]) -> list[Record]:
        import torch

        from autobuild.networks import build_model

        name = self.metrics[0].name
        out = []
        with _threads(self.threads), torch.inference_mode():
            for arch in archs:
                model = build_model(self.space, arch).eval().to(self.device)
                x = torch.zeros(
                    self.batch, *_input_shape(model, self.input_shape), device=self.device
                )
                for _ in range(self.warmup):
                    model(x)
                times = []
                for _ in range(self.repeats):
                    if self.device == "cuda":
                        torch.cuda.synchronize()
                    t0 = time.perf_counter()
                    model(x)
                    if self.device == "cuda":
                        torch.cuda.synchronize()
                    times.append((time.perf_counter() - t0) * 1e3)
                q = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
                out.append(
                    {
                        name: statistics.median(times),
                        f"{name}_iqr": q[2] - q[0],
                        "threads": float(self.threads),
                    }
                )
        return out
