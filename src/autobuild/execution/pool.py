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
      :meth:`TaskPool.close` (an instance the pool did not start stays up). Connecting to an
      address, the pool first checks that something answers there, and turns Ray's token
      authentication on when a token is at hand and ``RAY_AUTH_MODE`` is unset (Ray sends
      no token to a given address otherwise); tasks whose ``resources`` no node has are
      refused before they are submitted (see docs/distributed.md).

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
import socket
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
                or ``"ray"`` with a cluster that cannot be reached or refuses this process's
                auth token, or with ``resources`` that no node of the cluster has.
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

        address = self.ray_address or os.environ.get("RAY_ADDRESS") or None
        if not ray.is_initialized():
            if address not in (None, "auto", "local"):
                _check_reachable(address)
                _enable_ray_token_auth()
            try:
                ray.init(address=self.ray_address, log_to_driver=False, include_dashboard=False)
            except (ConnectionError, ValueError, _ray_auth_error()) as err:
                raise ConfigError(_connect_message(address, err)) from err
            self._ray_started = True
        _check_feasible(self.resources, address, self.task_name)

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


#: Seconds to wait for a TCP answer at a Ray address before calling it unreachable (a
#: ``ray.init`` to an address where nothing listens retries for minutes).
_PROBE_TIMEOUT_S = 5.0

#: Environment variable of Ray's authentication mode ("token" or "disabled").
_AUTH_MODE_ENV = "RAY_AUTH_MODE"


def _check_reachable(address: str) -> None:
    """Fail fast when nothing answers at a ``HOST:PORT`` (or ``ray://HOST:PORT``) address.

    Addresses of another form are left to ``ray.init``.
    """
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host, int(port)), timeout=_PROBE_TIMEOUT_S):
            pass
    except OSError as err:
        reason = f"nothing answers at {host}:{port} ({type(err).__name__}: {err})"
        raise ConfigError(_connect_message(address, reason)) from err


def _enable_ray_token_auth() -> None:
    """Turn Ray's token authentication on for this process when a token is at hand.

    ``ray start --head`` protects its cluster with a token when it finds one (in
    ``~/.ray/auth_token``, which any local ``ray.init()`` writes, ``RAY_AUTH_TOKEN_PATH`` or
    ``RAY_AUTH_TOKEN``), and ``ray.init()`` sends the token when it finds a local cluster by
    itself, but never to an address it is given, which the cluster then refuses
    ("Authentication token is missing or incorrect"). With token authentication on, this
    process still connects to a cluster without it. A ``RAY_AUTH_MODE`` the user set is
    kept; Rays without token authentication are left alone.
    """
    if os.environ.get(_AUTH_MODE_ENV) is not None:
        return
    try:
        from ray._private.authentication import authentication_token_setup as setup
    except ImportError:
        return
    enable = getattr(setup, "maybe_enable_token_auth_if_token_available", None)
    if enable is None:
        return
    ray_logger = logging.getLogger(setup.__name__)
    level = ray_logger.level
    ray_logger.setLevel(logging.ERROR)  # its warning that token authentication is now on
    try:
        if enable(warn_if_disabled=False):
            logger.info("Ray token authentication is on: an auth token was found")
    except Exception as err:  # a Ray whose private API changed: connect as Ray would
        logger.debug("Could not turn Ray token authentication on: %s", err)
    finally:
        ray_logger.setLevel(level)


def _ray_auth_error() -> type[Exception]:
    """Ray's error for a refused or missing auth token (none in Rays without tokens)."""
    import ray.exceptions

    error = getattr(ray.exceptions, "AuthenticationError", ConnectionError)
    return error if isinstance(error, type) and issubclass(error, Exception) else ConnectionError


def _is_auth_failure(err: BaseException | None) -> bool:
    seen = 0
    while err is not None and seen < 10:
        text = str(err)
        if type(err).__name__ == "AuthenticationError" or "InvalidAuthToken" in text:
            return True
        err = err.__cause__ or err.__context__
        seen += 1
    return False


def _connect_message(address: str | None, err: BaseException | str) -> str:
    """One line: why ``executor='ray'`` could not connect to ``address``, and the fix."""
    where = address or "(none given)"
    head = f"executor='ray' could not connect to the Ray cluster at {where!r}:"
    if not isinstance(err, str) and _is_auth_failure(err):
        mode = os.environ.get(_AUTH_MODE_ENV)
        set_mode = (
            f" (and unset {_AUTH_MODE_ENV}={mode}, or set it to token)"
            if mode is not None and mode.lower() != "token"
            else ""
        )
        return (
            f"{head} the cluster uses token authentication and refused this process, which "
            "has no valid token. Copy the cluster's token (`ray get-auth-token` on its head "
            "node) to ~/.ray/auth_token on this machine, or set RAY_AUTH_TOKEN"
            f"{set_mode}; see docs/distributed.md."
        )
    reason = err if isinstance(err, str) else f"{type(err).__name__}: {err}"
    reason = " ".join(reason.split())
    reason = reason if len(reason) <= 300 else reason[:297] + "..."
    status = "`ray status`" if address is None else f"`ray status --address {address}`"
    return (
        f"{head} {reason}. Check that the cluster runs ({status} on its head node) and "
        "that the address is the one `ray start --head` printed, or leave ray_address (and "
        "RAY_ADDRESS) unset to start a local Ray instance."
    )


def _task_needs(resources: Mapping[str, float]) -> dict[str, float]:
    """What one task takes of each Ray node resource (``CPU``, ``GPU``, ``memory``, ...)."""
    options = _ray_options(resources)
    needs = {
        "CPU": float(options.get("num_cpus", 0)),
        "GPU": float(options.get("num_gpus", 0)),
        "memory": float(options.get("memory", 0)),
        **options.get("resources", {}),
    }
    return {name: value for name, value in needs.items() if value > 0}


def _describe_resources(resources: Mapping[str, float]) -> str:
    parts = []
    for name, value in sorted(resources.items()):
        if name.startswith("node:") or name == "object_store_memory":
            continue
        if name == "memory":
            parts.append(f"memory {value / 2**30:.1f} GiB")
        else:
            parts.append(f"{name} {value:g}")
    return ", ".join(parts) or "nothing"


def _check_feasible(resources: Mapping[str, float], address: str | None, task_name: str) -> None:
    """Refuse tasks that fit no live node: Ray would wait forever for a node that fits.

    Raises:
        ConfigError: No live node has everything one task needs.
    """
    import ray

    needs = _task_needs(resources)
    try:
        nodes = [n for n in ray.nodes() if n.get("Alive")]
    except Exception as err:  # cannot tell: let Ray schedule
        logger.debug("Could not list the Ray nodes: %s", err)
        return
    if not nodes or any(
        all(n.get("Resources", {}).get(k, 0.0) >= v for k, v in needs.items()) for n in nodes
    ):
        return
    have = "; ".join(
        f"{n.get('NodeManagerAddress', '?')}: {_describe_resources(n.get('Resources', {}))}"
        for n in nodes
    )
    where = f"the Ray cluster at {address!r}" if address else "the Ray instance"
    raise ConfigError(
        f"executor='ray' cannot start its tasks ({task_name}): each needs "
        f"{_describe_resources(needs)} (resources={dict(resources)!r}), which no node of "
        f"{where} has (Ray would wait for one forever); its nodes have: {have}. Ask for "
        "less, or add a node that has them (`ray start --address HEAD:PORT --num-gpus N "
        "--resources '{\"NAME\": N}'`)."
    )


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
