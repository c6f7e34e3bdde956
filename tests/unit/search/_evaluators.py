"""Picklable evaluators for the executor tests (workers import them by module path)."""

from __future__ import annotations

from collections.abc import Sequence

from autobuild.exceptions import EvaluationError
from autobuild.spaces import Architecture


def table_metrics(arch: Architecture) -> dict[str, float]:
    """A deterministic lookup-style table entry of a nasbench-macro architecture."""
    ops = [layer[0] for stage in arch.stages for layer in stage]
    return {"acc": ops.count("mb6_k5") + 0.1 * len(ops), "cost": float(len(ops))}


class TableEvaluator:
    """Looks architectures up in a synthetic table; fails for those whose first op is ``fail``.

    Args:
        fail: First layer op of the architectures that fail (``None``: none fails).
    """

    def __init__(self, fail: str | None = None) -> None:
        self.fail = fail

    def evaluate(self, archs: Sequence[Architecture]) -> list[dict[str, float]]:
        out = []
        for a in archs:
            ops = [layer[0] for stage in a.stages for layer in stage]
            if self.fail is not None and ops and ops[0] == self.fail:
                raise EvaluationError(f"cannot evaluate first op {ops[0]}")
            out.append(table_metrics(a))
        return out
