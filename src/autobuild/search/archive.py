"""The archive of a search: evaluates architectures (or replays them from the run store).

:class:`Evaluations` takes batches of new, distinct architectures from the search loop,
takes those already in its :class:`~autobuild.storage.BaseRunStore` from it and evaluates
the others, committing each outcome to the store as soon as it arrives. A search without a
store of its own records into a fresh :class:`~autobuild.storage.InMemoryRunStore`, so
replay and recording take one path. A batch whose ``evaluate`` call raises is evaluated
again one architecture at a time; an architecture whose evaluation raises, lacks an
objective or constraint metric or gives a non-finite one is recorded as ``"failed"`` with
its error text. Each batch comes back in the order it was given, as pymoo's objective
values and constraint violations.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Generator, Mapping, Sequence
from typing import Any

import numpy as np

from autobuild._progress import progress_bar
from autobuild.exceptions import ConfigError, DataError
from autobuild.search.constraints import Constraint
from autobuild.search.result import EvaluateFn, Objective
from autobuild.spaces import Architecture, SearchSpace
from autobuild.storage import BaseRunStore

__all__ = ["Evaluations"]

# The search loop's logger: its evaluations are part of the search's log.
logger = logging.getLogger("autobuild.search.nsga")

#: pymoo's objective value (a cost) of a failed evaluation.
_FAILED_F = 1e30
#: pymoo's constraint violation of a failed evaluation: worse than any real violation.
_FAILED_CV = 1e30


class Evaluations:
    """The archive: evaluates (or replays from the store) and records architectures.

    Args:
        space: The search space.
        known: Canonical ids of the architectures the search has met; grows with each batch.
        evaluate: The search's ``evaluate`` callable.
        objectives: ``(metric, "max" | "min")`` pairs.
        store: The run store to replay from and record into (an
            :class:`~autobuild.storage.InMemoryRunStore` for a search that keeps nothing).
        search_id: The search's id in ``store``.
        progress: Total of the progress bar; ``None``: no bar.
        constraints: Bounds on metrics.
    """

    def __init__(
        self,
        space: SearchSpace,
        known: set[str],
        evaluate: EvaluateFn,
        objectives: Sequence[Objective],
        store: BaseRunStore,
        search_id: int,
        progress: int | None = None,
        constraints: Sequence[Constraint] = (),
    ) -> None:
        self.space = space
        self.known = known
        self.evaluate = evaluate
        self.objectives = list(objectives)
        self.constraints = tuple(constraints)
        self.violations: list[float] = []
        self.store: BaseRunStore = store
        self.search_id: int = search_id
        self.archs: list[Architecture] = []
        self.metrics: list[dict[str, float]] = []
        self.status: list[str] = []
        self.errors: list[str | None] = []
        self.n_evaluated = 0
        self.n_reused = 0
        self.bar: Any = progress_bar(
            progress or 0, progress is not None, desc="evaluations", unit="arch"
        )

    def close(self) -> None:
        """Close the progress bar."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def run(self, decoded: Sequence[tuple[Architecture, str]]) -> tuple[np.ndarray, np.ndarray]:
        """Evaluate ``(arch, id)`` pairs (new, distinct architectures).

        Architectures found in the store are taken from it; the others are evaluated, each
        committed to the store as soon as its result arrives. The rows come back in the
        order of ``decoded`` whatever order the evaluations finished in.

        Returns:
            pymoo's ``F`` (objectives as costs; :data:`_FAILED_F` for failed rows) and the
            constraint violation of each row (:data:`_FAILED_CV` for failed ones).
        """
        results: dict[str, tuple[dict[str, float], str, str | None]] = {}
        todo: list[tuple[Architecture, str]] = []
        for arch, key in decoded:
            rec = self.store.lookup(self.search_id, key)
            if rec is not None:
                results[key] = (rec.metrics, rec.status, rec.error)
                self.n_reused += 1
            else:
                todo.append((arch, key))
        self._advance(len(decoded) - len(todo))
        if todo:
            for (_arch, key), outcome in zip(todo, self._evaluate_new(todo), strict=True):
                results[key] = outcome
        f = np.empty((len(decoded), len(self.objectives)))
        cv = np.empty(len(decoded))
        for i, (arch, key) in enumerate(decoded):
            metrics, status, error = results[key]
            self.known.add(key)
            self.archs.append(arch)
            self.metrics.append(dict(metrics))
            self.status.append(status)
            self.errors.append(error)
            if status == "ok":
                f[i] = [
                    -metrics[name] if d == "max" else metrics[name] for name, d in self.objectives
                ]
                cv[i] = sum(c.violation(metrics[c.metric]) for c in self.constraints)
            else:
                f[i] = _FAILED_F
                cv[i] = _FAILED_CV
            self.violations.append(float(cv[i]) if status == "ok" else math.inf)
        return f, cv

    def _advance(self, n: int) -> None:
        """Move the progress bar on by ``n`` architectures."""
        if self.bar is not None and n:
            self.bar.update(n)
            self.bar.set_postfix(new=self.n_evaluated, stored=self.n_reused, refresh=False)

    def _evaluate_new(
        self, todo: Sequence[tuple[Architecture, str]]
    ) -> list[tuple[dict[str, float], str, str | None]]:
        """Evaluate ``todo`` and record each outcome as it arrives; outcomes in input order.

        If ``evaluate`` raises (or leaves architectures out), the architectures it has not
        reported are evaluated one at a time; a single architecture that fails so is
        recorded as failed with the error.
        """
        outcomes: dict[int, tuple[dict[str, float], str, str | None]] = {}
        start = time.time()
        failure: Exception | None = None
        stream = _stream(self.evaluate, [a for a, _ in todo])
        try:
            while True:
                try:
                    i, rec = next(stream)
                except StopIteration:
                    break
                except ConfigError:  # the executor itself cannot run (e.g. no Ray cluster)
                    raise
                except Exception as exc:
                    failure = exc
                    break
                if not isinstance(i, int) or not 0 <= i < len(todo) or i in outcomes:
                    failure = DataError(
                        f"evaluate reported index {i!r} for a batch of {len(todo)} "
                        "architectures; each index 0..n-1 must come once"
                    )
                    break
                outcome = self._check(rec)
                self._record(*todo[i], outcome, start, time.time())
                outcomes[i] = outcome
        finally:
            stream.close()
        left = [i for i in range(len(todo)) if i not in outcomes]
        if left:
            if failure is None:
                failure = DataError(
                    f"evaluate returned {len(outcomes)} records for {len(todo)} architectures"
                )
            if len(todo) == 1:
                outcome = ({}, "failed", _error_text(failure))
                self._record(*todo[0], outcome, start, time.time())
                return [outcome]
            logger.warning(
                "evaluating a batch of %d architectures failed (%s); evaluating the %d not "
                "done yet one at a time",
                len(todo),
                _error_text(failure),
                len(left),
            )
            for i in left:
                outcomes[i] = self._evaluate_new([todo[i]])[0]
        return [outcomes[i] for i in range(len(todo))]

    def _check(
        self, rec: Mapping[str, Any] | Exception
    ) -> tuple[dict[str, float], str, str | None]:
        if isinstance(rec, Exception):  # an executor's per-architecture failure
            return {}, "failed", _error_text(rec)
        if not isinstance(rec, Mapping):
            return {}, "failed", f"evaluate returned {rec!r}, not a mapping of metrics"
        clean: dict[str, float] = {}
        problems: list[str] = []
        for k, v in rec.items():
            try:
                x = float(v)
            except (TypeError, ValueError):
                problems.append(f"metric {k!r} is {v!r}, not a number")
                continue
            if math.isfinite(x):
                clean[str(k)] = x
            else:
                problems.append(f"metric {k!r} is {x!r}")
        missing = [name for name, _ in self.objectives if name not in clean]
        if missing:
            return (
                clean,
                "failed",
                "; ".join([*problems, f"no finite value for objective(s) {missing}"]),
            )
        unbound = [c.metric for c in self.constraints if c.metric not in clean]
        if unbound:
            return (
                clean,
                "failed",
                "; ".join([*problems, f"no finite value for constraint metric(s) {unbound}"]),
            )
        return clean, "ok", None

    def _record(
        self,
        arch: Architecture,
        key: str,
        outcome: tuple[dict[str, float], str, str | None],
        start: float,
        finished: float,
    ) -> None:
        self.n_evaluated += 1
        metrics, status, error = outcome
        if status == "failed":
            logger.warning("evaluation of %s failed: %s", key, error)
        self.store.record(
            self.search_id,
            key,
            self.space.to_json(arch),
            metrics,
            status="ok" if status == "ok" else "failed",
            error=error,
            started_at=start,
            finished_at=finished,
        )
        self._advance(1)


def _stream(
    evaluate: EvaluateFn, archs: Sequence[Architecture]
) -> Generator[tuple[int, Mapping[str, float] | Exception], None, None]:
    """``(index, entry)`` pairs of ``evaluate`` on ``archs``, each as soon as it is known.

    Uses ``evaluate.as_completed`` when there is one; otherwise one call of ``evaluate``,
    whose entries all arrive when it returns (checked to be one per architecture).
    """
    as_completed = getattr(evaluate, "as_completed", None)
    if callable(as_completed):
        yield from as_completed(archs)
        return
    records = list(evaluate(archs))
    if len(records) != len(archs):
        raise DataError(f"evaluate returned {len(records)} records for {len(archs)} architectures")
    yield from enumerate(records)


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if text.strip() else type(exc).__name__
