"""Where a search's evaluations run: in this process, in local worker processes, or on Ray.

:func:`make_evaluate` turns an evaluator (any object with ``evaluate(archs) -> records``, such
as a :class:`~autobuild.evaluation.LookupEvaluator` or
:class:`~autobuild.evaluation.CostEvaluator`) into the ``evaluate`` callable that
:func:`~autobuild.search.nsga.run_search` takes.

Contract of the callable:
    ``executor(archs)`` returns one entry per architecture, **in input order**: the metrics
    dict of an architecture that was evaluated, or the :class:`Exception` its evaluation
    raised. ``run_search`` records an exception entry as a ``"failed"`` evaluation whose error
    text is ``"ExcType: message"`` -- the same text as when an in-process evaluator raises for
    a single architecture -- so one failing architecture never loses the others, and the
    three executors give identical archives. The callable itself raises only when the
    executor breaks (e.g. a worker process dies), which ``run_search`` answers by retrying the
    architectures still missing one at a time.

    :meth:`EvaluationExecutor.as_completed` gives the same entries as ``(index, entry)``
    pairs, each as soon as its evaluation is done; ``run_search`` uses it to commit every
    evaluation to its run store the moment it finishes, so a killed search loses only the
    evaluations in flight, never finished ones.

Executors:
    The executors are those of :mod:`autobuild.execution` (one
    :class:`~autobuild.execution.TaskPool` task per architecture):

    * ``"serial"`` (default): the evaluator runs in this process. A call evaluates the
      whole batch with one ``evaluator.evaluate(archs)`` (a lookup stays one vectorised
      call; if it raises, every architecture is evaluated on its own); ``as_completed``
      evaluates one architecture at a time, in order. ``"inprocess"``, its former name, is
      still accepted (with a :class:`DeprecationWarning`).
    * ``"process"``: a pool of ``n_jobs`` local worker processes started with ``"spawn"``,
      started on the first call and reused until :meth:`close`. Results come back as tasks
      finish.
    * ``"ray"``: one Ray task per architecture (``num_cpus=1``), on the running Ray instance,
      on the cluster at ``ray_address``, or on a local instance started on the first call
      (and shut down by :meth:`close`). Results come back as tasks finish.

Evaluators are sent to the workers:
    In ``"process"`` and ``"ray"`` mode the evaluator object itself is serialised (by
    multiprocessing or Ray) and sent to every worker once (the pool initializer; ``ray.put``),
    and each task carries only its :class:`~autobuild.spaces.Architecture`. The evaluator must
    therefore be picklable and its class importable by module path in a worker (define it in a
    module, not in ``__main__`` of an interactive session). The library's evaluators are plain
    objects holding their :class:`~autobuild.spaces.SearchSpace` (whose model builder and
    native-id codec are module-level objects, pickled by reference) and, for a lookup, its
    table: they pickle as they are, and a worker rebuilds nothing. A measured evaluator (e.g.
    CPU latency) measures on the worker's machine; run it with ``"serial"`` when the numbers
    must come from one machine. A worker evaluates one architecture at a time with the
    evaluator's own threading.

Example:
    >>> from autobuild.search.executors import make_evaluate
    >>> class Size:
    ...     def evaluate(self, archs):
    ...         return [{"layers": float(sum(len(s) for s in a.stages))} for a in archs]
    >>> with make_evaluate(Size()) as evaluate:  # in this process
    ...     pass
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from autobuild._closing import Closing
from autobuild.exceptions import ConfigError, EvaluationError
from autobuild.execution import EXECUTORS, Executor, TaskPool, check_executor
from autobuild.spaces import Architecture

__all__ = [
    "EVALUATION_EXECUTORS",
    "EvaluationExecutor",
    "EvaluationOutcome",
    "evaluation_executor",
    "make_evaluate",
]

logger = logging.getLogger(__name__)

#: Where evaluations run: this process, local worker processes, or a Ray cluster.
EVALUATION_EXECUTORS = EXECUTORS

#: The former name of ``"serial"``, still accepted.
_INPROCESS = "inprocess"

#: One architecture's result: its metrics, or the exception its evaluation raised.
EvaluationOutcome = dict[str, float] | Exception


def _evaluate_fn(evaluator: Any) -> Callable[[Sequence[Architecture]], Any]:
    fn = getattr(evaluator, "evaluate", None)
    if callable(fn):
        return fn
    if callable(evaluator):
        return evaluator
    raise ConfigError(
        f"The evaluator must have an `evaluate(archs)` method (or be a callable taking a list "
        f"of architectures), got {type(evaluator).__name__}."
    )


def evaluation_executor(executor: str) -> Executor:
    """The executor ``executor`` names, reading the former ``"inprocess"`` as ``"serial"``.

    ``"inprocess"`` emits a :class:`DeprecationWarning`, attributed to the caller of
    :func:`make_evaluate`.

    Raises:
        ConfigError: Not an executor's name.
    """
    if executor == _INPROCESS:
        warnings.warn(
            "executor='inprocess' is deprecated; use executor='serial' (the same: evaluations "
            "run in this process).",
            DeprecationWarning,
            stacklevel=4,
        )
        return "serial"
    return check_executor(executor)


def evaluate_one(evaluator: Any, arch: Architecture) -> EvaluationOutcome:
    """Evaluate one architecture; return its metrics dict or the exception it raised.

    This is the task every executor runs for an architecture. Only :class:`Exception` is
    caught (``KeyboardInterrupt`` propagates).
    """
    try:
        records = list(_evaluate_fn(evaluator)([arch]))
        if len(records) != 1:
            raise EvaluationError(
                f"{type(evaluator).__name__} returned {len(records)} records for 1 architecture."
            )
        return {str(k): v for k, v in dict(records[0]).items()}
    except Exception as exc:
        logger.debug("evaluation failed", exc_info=True)
        return exc


def _lost(exc: Exception) -> EvaluationOutcome:
    """The outcome of an architecture whose worker could not send its result back.

    :func:`evaluate_one` returns every exception of the evaluation itself, so what reaches
    here went wrong on the way back (e.g. an exception object that cannot be pickled).
    """
    return EvaluationError(f"the worker could not return its result: {type(exc).__name__}: {exc}")


class EvaluationExecutor(Closing):
    """The ``evaluate`` callable of a search: runs an evaluator on an executor.

    Use :func:`make_evaluate` to build one. Call it with a list of architectures; it returns
    one :data:`EvaluationOutcome` per architecture, in input order (see the module docstring
    for the contract); :meth:`as_completed` yields them one by one as they finish. Close it
    (or use it as a context manager) to stop its worker processes or the Ray instance it
    started.

    Args:
        evaluator: An object with ``evaluate(archs) -> records`` (or such a callable).
        executor: ``"serial"``, ``"process"`` or ``"ray"`` (``"inprocess"``: deprecated
            name of ``"serial"``).
        n_jobs: Worker processes of the ``"process"`` executor (default: the CPU count).
        ray_address: Ray cluster to join (default: the running Ray instance, else a local one
            started on the first call, or the one ``RAY_ADDRESS`` names).

    Raises:
        ConfigError: An unknown executor, a bad ``n_jobs``, an evaluator without
            ``evaluate``, or Ray is not installed. (An evaluator that cannot be sent to
            worker processes is refused on the first call.)
    """

    def __init__(
        self,
        evaluator: Any,
        *,
        executor: str = "serial",
        n_jobs: int | None = None,
        ray_address: str | None = None,
    ) -> None:
        name = evaluation_executor(executor)
        _evaluate_fn(evaluator)  # fail early on an object that cannot evaluate
        self._pool: TaskPool[Architecture, EvaluationOutcome] = TaskPool(
            evaluate_one,
            name,
            n_jobs=n_jobs,
            ray_address=ray_address,
            shared=evaluator,
            task_name="evaluating architectures",
        )
        self.evaluator = evaluator
        self.executor: Executor = name
        self.n_jobs = n_jobs
        self.ray_address = ray_address

    # ------------------------------------------------------------------ public

    def __call__(self, archs: Sequence[Architecture]) -> list[EvaluationOutcome]:
        """Evaluate ``archs``: per architecture, its metrics or the exception it raised.

        Raises:
            EvaluationError: A worker process died (the pool is restarted on the next call).
            ConfigError: ``executor="process"`` with an evaluator that cannot be pickled.
        """
        archs = list(archs)
        if not archs:
            return []
        if self.executor == "serial":
            return self._run_serial(archs)
        return self._pool.map(archs, on_error=_lost)

    def as_completed(
        self, archs: Sequence[Architecture]
    ) -> Iterator[tuple[int, EvaluationOutcome]]:
        """Evaluate ``archs``, yielding ``(index, outcome)`` as each evaluation finishes.

        ``index`` is the architecture's position in ``archs`` and ``outcome`` the entry
        ``executor(archs)`` would hold there; every index comes exactly once. In this
        process, the architectures are evaluated one at a time, in order; on worker processes
        or Ray, in the order their tasks finish. Closing the iterator early (or an exception
        in the loop consuming it) cancels the tasks that have not started.

        Raises:
            EvaluationError: A worker process died (the pool is restarted on the next call);
                the outcomes yielded before stay valid.
            ConfigError: ``executor="process"`` with an evaluator that cannot be pickled.
        """
        return self._pool.stream(archs, on_error=_lost)

    def close(self) -> None:
        """Stop the worker processes, and the Ray instance if this executor started it."""
        self._pool.close()

    def __repr__(self) -> str:
        return f"EvaluationExecutor({type(self.evaluator).__name__}, executor={self.executor!r})"

    # ------------------------------------------------------------------ serial batches

    def _run_serial(self, archs: list[Architecture]) -> list[EvaluationOutcome]:
        """One call of the evaluator for the batch; one call per architecture if it fails."""
        fn = _evaluate_fn(self.evaluator)
        try:
            records = list(fn(archs))
            if len(records) == len(archs):
                return [{str(k): v for k, v in dict(r).items()} for r in records]
            logger.warning(
                "%s returned %d records for %d architectures; evaluating them one at a time",
                type(self.evaluator).__name__,
                len(records),
                len(archs),
            )
        except Exception as exc:
            if len(archs) == 1:
                return [exc]
            logger.warning(
                "evaluating a batch of %d architectures failed (%s: %s); evaluating them one "
                "at a time",
                len(archs),
                type(exc).__name__,
                exc,
            )
        return [evaluate_one(self.evaluator, a) for a in archs]


def make_evaluate(
    evaluator: Any,
    *,
    executor: str = "serial",
    n_jobs: int | None = None,
    ray_address: str | None = None,
) -> EvaluationExecutor:
    """The ``evaluate`` callable of :func:`~autobuild.search.nsga.run_search` for an evaluator.

    Args:
        evaluator: An object with ``evaluate(archs) -> records`` (e.g. a
            :class:`~autobuild.evaluation.LookupEvaluator`), or such a callable. It is pickled
            and sent to the workers for ``"process"`` and ``"ray"``.
        executor: ``"serial"`` (default: in this process), ``"process"`` (local spawn worker
            processes) or ``"ray"``; ``"inprocess"`` is a deprecated name of ``"serial"``.
        n_jobs: Worker processes of ``"process"`` (default: the CPU count).
        ray_address: Ray cluster of ``"ray"`` (default: the running instance or a local one).

    Returns:
        An :class:`EvaluationExecutor`; close it (or use ``with``) when the search is done.

    Raises:
        ConfigError: See :class:`EvaluationExecutor`.

    Example:
        >>> from autobuild.search.executors import make_evaluate
        >>> class Size:
        ...     def evaluate(self, archs):
        ...         return [{"n": float(len(a.stages))} for a in archs]
        >>> from autobuild.spaces import Architecture
        >>> make_evaluate(Size())([Architecture(((), ()), ())])
        [{'n': 2.0}]
    """
    return EvaluationExecutor(evaluator, executor=executor, n_jobs=n_jobs, ray_address=ray_address)
