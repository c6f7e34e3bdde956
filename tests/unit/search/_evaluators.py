"""Picklable evaluators for the executor tests (workers import them by module path)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from autobuild import spaces
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


class LoggedTableEvaluator(TableEvaluator):
    """A :class:`TableEvaluator` that appends the id of every architecture it has evaluated
    to ``log``, one line each, as each finishes.

    With ``block_after=N``, once ``log`` holds N lines the next evaluation does not run: the
    evaluator writes ``<log>.blocked`` and waits (up to ``block_seconds``) to be killed, so
    a test knows that exactly N evaluations have finished.
    """

    def __init__(
        self, log: str, block_after: int | None = None, block_seconds: float = 120.0
    ) -> None:
        super().__init__()
        self.log = Path(log)
        self.block_after = block_after
        self.block_seconds = block_seconds

    def evaluate(self, archs: Sequence[Architecture]) -> list[dict[str, float]]:
        space = spaces.get("nasbench-macro")
        out = []
        for a in archs:
            done = len(self.log.read_text().splitlines()) if self.log.exists() else 0
            if self.block_after is not None and done >= self.block_after:
                Path(f"{self.log}.blocked").write_text(str(done))
                time.sleep(self.block_seconds)
                raise EvaluationError(f"not killed within {self.block_seconds} s")
            out.extend(super().evaluate([a]))
            with self.log.open("a") as fh:
                fh.write(space.canonical_id(a) + "\n")
        return out


class GatedEvaluator(TableEvaluator):
    """A :class:`TableEvaluator` whose evaluation of ``gated`` waits until the file ``gate``
    exists (at most ``timeout`` seconds), so the other architectures finish before it."""

    def __init__(self, gated: Architecture, gate: str, timeout: float = 60.0) -> None:
        super().__init__()
        self.gated = gated
        self.gate = Path(gate)
        self.timeout = timeout

    def evaluate(self, archs: Sequence[Architecture]) -> list[dict[str, float]]:
        if self.gated in archs:
            deadline = time.monotonic() + self.timeout
            while not self.gate.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
        return super().evaluate(archs)


class _UnpicklableError(Exception):
    """An exception that cannot cross a process boundary (it holds a lock)."""

    def __init__(self, message: str) -> None:
        import threading

        super().__init__(message)
        self.lock = threading.Lock()


class UnpicklableErrorEvaluator(TableEvaluator):
    """A :class:`TableEvaluator` whose failure for first op ``fail`` cannot be pickled."""

    def evaluate(self, archs: Sequence[Architecture]) -> list[dict[str, float]]:
        ops = [layer[0] for stage in archs[0].stages for layer in stage] if archs else []
        if ops and ops[0] == self.fail:
            raise _UnpicklableError(f"cannot evaluate first op {ops[0]}")
        return super().evaluate(archs)
