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
    * ``"inprocess"`` (default): the evaluator runs in this process. A call evaluates the
      whole batch with one ``evaluator.evaluate(archs)`` (a lookup stays one vectorised
      call; if it raises, every architecture is evaluated on its own); ``as_completed``
      evaluates one architecture at a time, in order.
    * ``"process"``: one task per architecture on a pool of ``n_jobs`` local worker processes
      started with ``"spawn"`` (a forked child of a process running PyTorch's thread pools can
      hang). The pool starts on the first call and is reused until :meth:`close`. Results
      come back as tasks finish (:func:`concurrent.futures.as_completed`).
    * ``"ray"``: one Ray task per architecture (``num_cpus=1``), on the running Ray instance,
      on the cluster at ``ray_address``, or on a local instance started on the first call
      (and shut down by :meth:`close`). Results come back as tasks finish (``ray.wait``).

Evaluators are sent to the workers:
    In ``"process"`` and ``"ray"`` mode the evaluator object itself is serialised (by
    multiprocessing or Ray) and sent to every worker once (the pool initializer; ``ray.put``),
    and each task carries only its :class:`~autobuild.spaces.Architecture`. The evaluator must
    therefore be picklable and its class importable by module path in a worker (define it in a
    module, not in ``__main__`` of an interactive session). The library's evaluators are plain
    objects holding their :class:`~autobuild.spaces.SearchSpace` (whose model builder and
    native-id codec are module-level objects, pickled by reference) and, for a lookup, its
    table: they pickle as they are, and a worker rebuilds nothing. A measured evaluator (e.g.
    CPU latency) measures on the worker's machine; run it with ``"inprocess"`` when the numbers
    must come from one machine. A worker evaluates one architecture at a time with the
    evaluator's own threading.

Example:
    >>> from autobuild.search.executors import make_evaluate
    >>> class Size:
    ...     def evaluate(self, archs):
    ...         return [{"layers": float(sum(len(s) for s in a.stages))} for a in archs]
    >>> with make_evaluate(Size()) as evaluate:  # in-process
    ...     pass
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any

from autobuild._workers import exit_with_parent
from autobuild.exceptions import ConfigError, EvaluationError
from autobuild.spaces import Architecture

__all__ = ["EVALUATION_EXECUTORS", "EvaluationExecutor", "EvaluationOutcome", "make_evaluate"]

logger = logging.getLogger(__name__)

#: Where evaluations run: this process, local worker processes, or a Ray cluster.
EVALUATION_EXECUTORS = ("inprocess", "process", "ray")

#: One architecture's result: its metrics, or the exception its evaluation raised.
EvaluationOutcome = dict[str, float] | Exception

#: The evaluator of a worker process (set once by the pool initializer).
_WORKER_EVALUATOR: Any = None


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


def _init_worker(evaluator: Any) -> None:
    global _WORKER_EVALUATOR
    exit_with_parent()
    _WORKER_EVALUATOR = evaluator


def _outcome(future: Any) -> EvaluationOutcome:
    """A worker's result; an exception the worker could not send back becomes text."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        out: EvaluationOutcome = future.result()
    except BrokenProcessPool:
        raise
    except Exception as exc:  # e.g. an exception object that cannot be serialised
        return EvaluationError(f"the worker could not return its result: {_text(exc)}")
    return out


def _text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _worker_task(arch: Architecture) -> EvaluationOutcome:
    return evaluate_one(_WORKER_EVALUATOR, arch)


def _ray_task(evaluator: Any, arch: Architecture) -> EvaluationOutcome:
    return evaluate_one(evaluator, arch)


class EvaluationExecutor:
    """The ``evaluate`` callable of a search: runs an evaluator on an executor.

    Use :func:`make_evaluate` to build one. Call it with a list of architectures; it returns
    one :data:`EvaluationOutcome` per architecture, in input order (see the module docstring
    for the contract); :meth:`as_completed` yields them one by one as they finish. Close it
    (or use it as a context manager) to stop its worker processes or the Ray instance it
    started.

    Args:
        evaluator: An object with ``evaluate(archs) -> records`` (or such a callable).
        executor: ``"inprocess"``, ``"process"`` or ``"ray"``.
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
        executor: str = "inprocess",
        n_jobs: int | None = None,
        ray_address: str | None = None,
    ) -> None:
        if executor not in EVALUATION_EXECUTORS:
            raise ConfigError(
                f"`executor` must be one of {list(EVALUATION_EXECUTORS)}, got {executor!r}."
            )
        if n_jobs is not None and (
            isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1
        ):
            raise ConfigError(f"`n_jobs` must be a positive integer or None, got {n_jobs!r}.")
        _evaluate_fn(evaluator)  # fail early on an object that cannot evaluate
        self.evaluator = evaluator
        self.executor = executor
        self.n_jobs = n_jobs
        self.ray_address = ray_address
        if executor == "ray":
            try:
                import ray  # noqa: F401
            except ImportError as err:
                raise ConfigError(
                    "executor='ray' needs Ray, which is not installed; install it with: "
                    "pip install 'autobuild[ray]'"
                ) from err
        self._pool: Any = None
        self._ray_started = False
        self._ray_remote: Any = None
        self._ray_ref: Any = None

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
        if self.executor == "inprocess":
            return self._run_inprocess(archs)
        out = dict(self.as_completed(archs))
        return [out[i] for i in range(len(archs))]

    def as_completed(
        self, archs: Sequence[Architecture]
    ) -> Iterator[tuple[int, EvaluationOutcome]]:
        """Evaluate ``archs``, yielding ``(index, outcome)`` as each evaluation finishes.

        ``index`` is the architecture's position in ``archs`` and ``outcome`` the entry
        ``executor(archs)`` would hold there; every index comes exactly once. In-process, the
        architectures are evaluated one at a time, in order; on worker processes or Ray, in
        the order their tasks finish. Closing the iterator early (or an exception in the
        loop consuming it) cancels the tasks that have not started.

        Raises:
            EvaluationError: A worker process died (the pool is restarted on the next call);
                the outcomes yielded before stay valid.
            ConfigError: ``executor="process"`` with an evaluator that cannot be pickled.
        """
        archs = list(archs)
        if not archs:
            return iter(())
        if self.executor == "inprocess":
            return ((i, evaluate_one(self.evaluator, a)) for i, a in enumerate(archs))
        if self.executor == "process":
            return self._stream_process(archs)
        return self._stream_ray(archs)

    def close(self) -> None:
        """Stop the worker processes, and the Ray instance if this executor started it."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._ray_started:
            import ray

            ray.shutdown()
            self._ray_started = False
        self._ray_remote = None
        self._ray_ref = None

    def __enter__(self) -> EvaluationExecutor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EvaluationExecutor({type(self.evaluator).__name__}, executor={self.executor!r})"

    # ------------------------------------------------------------------ executors

    def _run_inprocess(self, archs: list[Architecture]) -> list[EvaluationOutcome]:
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

    def _stream_process(
        self, archs: list[Architecture]
    ) -> Iterator[tuple[int, EvaluationOutcome]]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        if self._pool is None:
            workers = self.n_jobs or os.cpu_count() or 1
            self._pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.evaluator,),
            )
        futures: dict[Any, int] = {}
        try:
            try:
                # Starting the workers sends them the evaluator (multiprocessing serialises
                # it); an evaluator that cannot be sent fails here, in this process.
                for i, a in enumerate(archs):
                    futures[self._pool.submit(_worker_task, a)] = i
            except BrokenProcessPool:
                raise
            except Exception as err:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
                raise ConfigError(
                    f"executor='process' sends the evaluator to worker processes, but "
                    f"{type(self.evaluator).__name__} cannot be pickled ({type(err).__name__}: "
                    f"{err}); define it at module level with picklable attributes, or use "
                    "executor='inprocess'."
                ) from err
            for future in as_completed(futures):
                yield futures[future], _outcome(future)
        except BrokenProcessPool as err:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
            raise EvaluationError(
                "A worker process evaluating architectures died (crashed, killed or out of "
                "memory). Worker processes are started with 'spawn', which re-imports the "
                "calling script: guard a script's code with `if __name__ == '__main__':`, or "
                "use executor='inprocess'."
            ) from err
        finally:
            for future in futures:  # tasks not started yet (an early stop)
                future.cancel()

    def _stream_ray(self, archs: list[Architecture]) -> Iterator[tuple[int, EvaluationOutcome]]:
        import ray

        if self._ray_remote is None:
            if not ray.is_initialized():
                ray.init(address=self.ray_address, log_to_driver=False, include_dashboard=False)
                self._ray_started = True
            self._ray_remote = ray.remote(num_cpus=1)(_ray_task)
            self._ray_ref = ray.put(self.evaluator)
        index = {self._ray_remote.remote(self._ray_ref, a): i for i, a in enumerate(archs)}
        pending = list(index)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    try:
                        outcome: EvaluationOutcome = ray.get(ref)
                    except Exception as exc:  # a task Ray could not run (worker crash, ...)
                        outcome = exc
                    yield index[ref], outcome
        finally:
            for ref in pending:  # an early stop
                ray.cancel(ref)


def make_evaluate(
    evaluator: Any,
    *,
    executor: str = "inprocess",
    n_jobs: int | None = None,
    ray_address: str | None = None,
) -> EvaluationExecutor:
    """The ``evaluate`` callable of :func:`~autobuild.search.nsga.run_search` for an evaluator.

    Args:
        evaluator: An object with ``evaluate(archs) -> records`` (e.g. a
            :class:`~autobuild.evaluation.LookupEvaluator`), or such a callable. It is pickled
            and sent to the workers for ``"process"`` and ``"ray"``.
        executor: ``"inprocess"`` (default), ``"process"`` (local spawn worker processes) or
            ``"ray"``.
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
