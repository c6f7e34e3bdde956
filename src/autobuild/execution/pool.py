"""One task pool for every parallel loop: this process, local worker processes, or Ray.

A :class:`TaskPool` runs one function over many items on an executor and hands results
back as they finish (:meth:`TaskPool.stream`) or in input order (:meth:`TaskPool.map`). The
pool starts on first use and is reused by later calls until :meth:`TaskPool.close`.

Executors:
    * ``"serial"``: in this process, one item at a time, in order; a result is handed back
      before the next item starts.
    * ``"process"``: a pool of ``n_jobs`` local worker processes started with ``"spawn"`` (a
      forked child of a process running PyTorch's thread pools can hang), each of which
      exits when this process ends (:func:`autobuild._workers.exit_with_parent`). Worker
      processes are started as tasks need them, at most ``n_jobs``.
    * ``"ray"``: one Ray task per item (``num_cpus=1`` unless ``resources`` says otherwise,
      e.g. ``{"num_gpus": 1}``), on the running Ray instance, on the cluster at
      ``ray_address``, or on a local instance started on first use and shut down by
      :meth:`TaskPool.close` (an instance the pool did not start stays up).

What is sent to the workers:
    The task function is sent by reference, so it must be importable by module path (a
    function at module level, not one defined in ``__main__`` of an interactive session).
    A ``shared`` object that every task needs (an evaluator, a model) is sent to each
    worker once -- by the pool initializer, or as one ``ray.put`` object -- and each task
    carries only its item; it must pickle.

Example:
    >>> with TaskPool(abs) as pool:
    ...     pool.map([-2, 3, -1])
    [2, 3, 1]
"""

from __future__ import annotations

import functools
import logging
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, Literal, TypeVar

from autobuild._closing import Closing
from autobuild._workers import exit_with_parent
from autobuild.exceptions import ConfigError, EvaluationError

__all__ = ["EXECUTORS", "Executor", "TaskPool", "check_executor"]

logger = logging.getLogger(__name__)

#: Where tasks run: this process, local worker processes, or a Ray cluster.
Executor = Literal["serial", "process", "ray"]
EXECUTORS: tuple[Executor, ...] = ("serial", "process", "ray")

T = TypeVar("T")
R = TypeVar("R")

#: The task of a worker process, set once by the pool initializer.
_WORKER_TASK: Callable[[Any], Any] | None = None


def check_executor(executor: object) -> Executor:
    """``executor`` if it names an executor.

    Raises:
        ConfigError: Any other value.
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"`executor` must be one of {list(EXECUTORS)}, got {executor!r}.")
    return executor


class TaskPool(Closing, Generic[T, R]):
    """Runs ``fn`` over items on an executor; see the module docstring.

    Args:
        fn: The task: ``fn(item)``, or ``fn(shared, item)`` when ``shared`` is given. A
            module-level function for ``"process"`` and ``"ray"``.
        executor: ``"serial"`` (default), ``"process"`` or ``"ray"``.
        n_jobs: Worker processes of ``"process"`` (default: the CPU count).
        ray_address: Ray cluster of ``"ray"`` (default: the running instance, else a local
            one started on first use, or the one ``RAY_ADDRESS`` names).
        shared: An object every task receives first, sent to each worker once; ``None``:
            tasks get only their item.
        resources: What each task needs on a Ray cluster (``"ray"`` only): ``num_cpus``
            (default 1), ``num_gpus``, ``memory`` (bytes), and custom resources by name.
        task_name: What the tasks do, for messages (e.g. ``"evaluating architectures"``).

    Raises:
        ConfigError: An unknown executor, a bad ``n_jobs``, ``resources`` that are not
            non-negative numbers or are given to another executor than ``"ray"``, or
            ``"ray"`` without Ray installed.
    """

    def __init__(
        self,
        fn: Callable[..., R],
        executor: Executor = "serial",
        *,
        n_jobs: int | None = None,
        ray_address: str | None = None,
        shared: Any = None,
        resources: Mapping[str, float] | None = None,
        task_name: str = "running tasks",
    ) -> None:
        self.executor = check_executor(executor)
        if n_jobs is not None and (
            isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1
        ):
            raise ConfigError(f"`n_jobs` must be a positive integer or None, got {n_jobs!r}.")
        if self.executor == "ray":
            try:
                import ray  # noqa: F401
            except ImportError as err:
                raise ConfigError(
                    "executor='ray' needs Ray, which is not installed; install it with: "
                    "pip install 'autobuild[ray]'"
                ) from err
        self.resources = _check_resources(resources, self.executor)
        self.fn = fn
        self.n_jobs = n_jobs
        self.ray_address = ray_address
        self.shared = shared
        self.task_name = task_name
        self._task: Callable[[T], R] = fn if shared is None else functools.partial(fn, shared)
        self._pool: Any = None
        self._ray_started = False
        self._ray_remote: Any = None
        self._ray_shared: Any = None

    # ------------------------------------------------------------------ public

    def stream(
        self, items: Sequence[T], *, on_error: Callable[[Exception], R] | None = None
    ) -> Iterator[tuple[int, R]]:
        """Run the task on every item, yielding ``(index, result)`` as each one finishes.

        ``index`` is the item's position in ``items``; every index comes exactly once.
        Closing the iterator early (or an exception in the loop consuming it) cancels the
        tasks that have not started.

        Args:
            items: The items.
            on_error: Turns the exception of a task whose result cannot be had (the task
                raised, or its result could not be sent back) into that task's result;
                ``None`` re-raises it.

        Raises:
            EvaluationError: A worker process died; the pool restarts on the next call,
                and the results yielded before stay valid.
            ConfigError: ``"process"`` with a task or shared object that cannot be pickled,
                or ``"ray"`` with a cluster that cannot be reached.
        """
        items = list(items)
        if not items:
            return iter(())
        if self.executor == "serial":
            return self._stream_serial(items, on_error)
        if self.executor == "process":
            return self._stream_process(items, on_error)
        return self._stream_ray(items, on_error)

    def map(
        self, items: Sequence[T], *, on_error: Callable[[Exception], R] | None = None
    ) -> list[R]:
        """The results of :meth:`stream`, in the order of ``items``."""
        items = list(items)
        out = dict(self.stream(items, on_error=on_error))
        return [out[i] for i in range(len(items))]

    def close(self) -> None:
        """Stop the worker processes, and the Ray instance if this pool started it."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._ray_started:
            import ray

            ray.shutdown()
            self._ray_started = False
        self._ray_remote = None
        self._ray_shared = None

    def __repr__(self) -> str:
        return f"TaskPool({_name(self.fn)}, executor={self.executor!r})"

    # ------------------------------------------------------------------ executors

    def _stream_serial(
        self, items: list[T], on_error: Callable[[Exception], R] | None
    ) -> Iterator[tuple[int, R]]:
        for i, item in enumerate(items):
            try:
                result = self._task(item)
            except Exception as exc:
                if on_error is None:
                    raise
                result = on_error(exc)
            yield i, result

    def _stream_process(
        self, items: list[T], on_error: Callable[[Exception], R] | None
    ) -> Iterator[tuple[int, R]]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.n_jobs or os.cpu_count() or 1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self._task,),
            )
        futures: dict[Any, int] = {}
        try:
            try:
                # Starting a worker sends it the task (multiprocessing pickles it); a task or
                # shared object that cannot be sent fails here, in this process.
                for i, item in enumerate(items):
                    futures[self._pool.submit(_run_worker_task, item)] = i
            except BrokenProcessPool:
                raise
            except Exception as err:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
                raise ConfigError(
                    f"executor='process' sends {self._sent()} to worker processes, but it "
                    f"cannot be pickled ({type(err).__name__}: {err}); define it at module "
                    "level with picklable attributes, or use executor='serial'."
                ) from err
            for future in as_completed(futures):
                try:
                    result = future.result()
                except BrokenProcessPool:
                    raise
                except Exception as exc:
                    if on_error is None:
                        raise
                    result = on_error(exc)
                yield futures[future], result
        except BrokenProcessPool as err:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
            raise EvaluationError(
                f"A worker process {self.task_name} died (crashed, killed or out of memory). "
                "Worker processes are started with 'spawn', which re-imports the calling "
                "script: guard a script's code with `if __name__ == '__main__':`, or use "
                "executor='serial'."
            ) from err
        finally:
            for future in futures:  # tasks not started yet (an early stop)
                future.cancel()

    def _stream_ray(
        self, items: list[T], on_error: Callable[[Exception], R] | None
    ) -> Iterator[tuple[int, R]]:
        import ray

        if self._ray_remote is None:
            self._start_ray()
            self._ray_remote = ray.remote(**_ray_options(self.resources))(self.fn)
            if self.shared is not None:
                self._ray_shared = ray.put(self.shared)
        if self.shared is None:
            index = {self._ray_remote.remote(item): i for i, item in enumerate(items)}
        else:
            index = {
                self._ray_remote.remote(self._ray_shared, item): i for i, item in enumerate(items)
            }
        pending = list(index)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    try:
                        result = ray.get(ref)
                    except Exception as exc:  # the task raised, or Ray could not run it
                        if on_error is None:
                            raise
                        result = on_error(exc)
                    yield index[ref], result
        finally:
            for ref in pending:  # an early stop
                ray.cancel(ref)

    def _start_ray(self) -> None:
        import ray

        if ray.is_initialized():
            return
        try:
            ray.init(address=self.ray_address, log_to_driver=False, include_dashboard=False)
        except ConnectionError as err:
            where = self.ray_address or os.environ.get("RAY_ADDRESS") or "(none given)"
            raise ConfigError(
                f"executor='ray' could not connect to the Ray cluster at {where!r}: {err} "
                "Check that the cluster runs (`ray status` on its head node) and that the "
                "address is the one `ray start --head` printed, or leave ray_address (and "
                "RAY_ADDRESS) unset to start a local Ray instance."
            ) from err
        self._ray_started = True

    def _sent(self) -> str:
        """What a worker receives, for messages."""
        if self.shared is None:
            return f"the task {_name(self.fn)}"
        return f"the task {_name(self.fn)} with its {type(self.shared).__name__} object"


#: Resources Ray takes as keyword arguments of ``ray.remote``; others are custom resources.
_RAY_BUILTIN = ("num_cpus", "num_gpus", "memory")


def _check_resources(resources: Any, executor: Executor) -> dict[str, float]:
    if resources is None:
        return {}
    if not isinstance(resources, Mapping) or not all(
        isinstance(k, str)
        and not isinstance(v, bool)
        and isinstance(v, int | float)
        and math.isfinite(v)
        and v >= 0
        for k, v in resources.items()
    ):
        raise ConfigError(
            "`resources` must map resource names to numbers >= 0, e.g. {'num_gpus': 1}; "
            f"got {resources!r}."
        )
    if executor != "ray" and resources:
        raise ConfigError(
            f"`resources` ({dict(resources)!r}) are Ray task resources; use executor='ray', "
            "or drop them."
        )
    return {k: float(v) for k, v in resources.items()}


def _ray_options(resources: Mapping[str, float]) -> dict[str, Any]:
    """``ray.remote`` options of one task: 1 CPU unless ``resources`` say otherwise."""
    options: dict[str, Any] = {"num_cpus": 1}
    custom = {}
    for key, value in resources.items():
        if key in _RAY_BUILTIN:
            options[key] = int(value) if key == "memory" else value
        else:
            custom[key] = value
    if custom:
        options["resources"] = custom
    return options


def _name(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None)
    name = getattr(fn, "__qualname__", type(fn).__name__)
    return f"{module}.{name}" if module else name


def _init_worker(task: Callable[[Any], Any]) -> None:
    global _WORKER_TASK
    exit_with_parent()
    _WORKER_TASK = task


def _run_worker_task(item: Any) -> Any:
    if _WORKER_TASK is None:  # only reachable if the initializer did not run
        raise EvaluationError("a worker process of a TaskPool ran a task before its set-up")
    return _WORKER_TASK(item)
