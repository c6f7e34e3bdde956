"""The task pool every parallel loop runs on: serial, spawn worker processes, Ray."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from tests.unit.execution._tasks import die, pid, scaled, square

from autobuild.exceptions import ConfigError, EvaluationError
from autobuild.execution import EXECUTORS, TaskPool, check_executor


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[None]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_names() -> None:
    assert EXECUTORS == ("serial", "process", "ray")
    assert check_executor("process") == "process"
    with pytest.raises(ConfigError, match=r"`executor` must be one of \['serial'"):
        check_executor("inprocess")


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="executor"):
        TaskPool(square, "threads")  # type: ignore[arg-type]
    for bad in (0, -2, True, 1.5):
        with pytest.raises(ConfigError, match="n_jobs"):
            TaskPool(square, "process", n_jobs=bad)  # type: ignore[arg-type]


def test_serial_streams_in_order_one_at_a_time() -> None:
    seen: list[int] = []

    def record(x: int) -> int:
        seen.append(x)
        return -x

    with TaskPool(record) as pool:
        stream = pool.stream([3, 1, 2])
        assert next(stream) == (0, -3)
        assert seen == [3]  # the first result comes before the second task starts
        assert list(stream) == [(1, -1), (2, -2)]
        assert pool.map([]) == []
    with TaskPool(scaled, shared=10) as pool:
        assert pool.map([1, 2]) == [10, 20]


@pytest.mark.parametrize("executor", ["serial", "process"])
def test_errors_raise_or_become_results(executor: str) -> None:
    with TaskPool(square, executor, n_jobs=2) as pool:  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="negative -2"):
            pool.map([1, -2, 3])
        assert pool.map([1, -2, 3], on_error=lambda exc: str(exc)) == [1, "negative -2", 9]


def test_process_pool_is_reused_and_sends_shared_once() -> None:
    with TaskPool(pid, "process", n_jobs=2) as pool:
        first = set(pool.map(range(8)))
        again = set(pool.map(range(8)))
    assert len(first | again) <= 2  # the second call ran on the first call's workers
    with TaskPool(scaled, "process", n_jobs=2, shared=3) as pool:
        assert pool.map([1, 2, 3]) == [3, 6, 9]
        assert sorted(pool.stream([4, 5])) == [(0, 12), (1, 15)]


def test_dead_worker_raises_and_pool_restarts() -> None:
    with TaskPool(die, "process", n_jobs=1, task_name="testing the pool") as pool:
        with pytest.raises(EvaluationError, match="A worker process testing the pool died") as e:
            pool.map([0, 1, 2])
        assert "if __name__ == '__main__':" in str(e.value)
        assert "executor='serial'" in str(e.value)
        assert pool.map([0, 2]) == [0, 2]


def test_unpicklable_shared_object_is_refused() -> None:
    pool = TaskPool(scaled, "process", shared=lambda: None)
    with pool, pytest.raises(ConfigError, match="cannot be pickled") as e:
        pool.map([1])
    assert "with its function object" in str(e.value)


def test_ray_runs_tasks_with_a_shared_object(ray_instance: None) -> None:
    import ray

    with TaskPool(scaled, "ray", shared=4) as pool:
        assert pool.map([1, 2, 3]) == [4, 8, 12]
        assert sorted(pool.stream([5])) == [(0, 20)]
    with TaskPool(square, "ray") as pool:
        assert pool.map([2, -1], on_error=lambda exc: type(exc).__name__)[0] == 4
        with pytest.raises(Exception, match="negative -1"):
            pool.map([-1])
    assert ray.is_initialized()  # an instance the pool did not start stays up


def test_ray_connection_failure_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    ray = pytest.importorskip("ray")

    def refuse(**kwargs: object) -> None:
        raise ConnectionError("Could not find any running Ray instance.")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refuse)
    pool = TaskPool(square, "ray", ray_address="10.0.0.9:6379")
    with pool, pytest.raises(ConfigError, match="could not connect to the Ray cluster") as e:
        pool.map([1])
    text = str(e.value)
    assert "'10.0.0.9:6379'" in text
    assert "ray status" in text
    assert "ray start --head" in text
    assert "leave ray_address" in text


def test_ray_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ConfigError, match=r"pip install 'autobuild\[ray\]'"):
        TaskPool(square, "ray")
