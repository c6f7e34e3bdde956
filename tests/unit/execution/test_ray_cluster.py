"""Ray clusters of several nodes: tasks go to the node with their resources, a cluster
started with ``ray start --head`` is reached at its printed address, and bad addresses or
resources fail at once with one line that says what to do (see docs/distributed.md).

Every cluster here keeps its files in its own temporary folder and is stopped in a
``finally`` block; none is left for another process's ``ray.init()`` to find.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from tests.unit.execution._tasks import square

from autobuild.exceptions import ConfigError
from autobuild.execution import TaskPool
from autobuild.study import create_study

ray = pytest.importorskip("ray")


def evaluate_on_node(arch: Any) -> dict[str, float]:
    """A study's evaluation that also reports where it ran: the first 48 bits of its node's
    id, as a number (metrics are numbers)."""
    node_id = ray.get_runtime_context().get_node_id()
    return {"score": float(arch.num_layers), "node": float(int(node_id[:12], 16))}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _temp_dir() -> str:
    # Short: Ray's socket paths under it must stay below the 107-byte limit of Unix sockets.
    return tempfile.mkdtemp(prefix="abray", dir="/tmp")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A head node (1 CPU) and a worker node with 2 ``trainer`` resources."""
    from ray._common.utils import reset_ray_address
    from ray._private.utils import read_ray_address
    from ray.cluster_utils import Cluster

    temp = _temp_dir()
    cluster = Cluster()
    try:
        cluster.add_node(num_cpus=1, temp_dir=temp)
        if read_ray_address() == cluster.address:  # keep other processes' ray.init() off it
            reset_ray_address()
        cluster.add_node(num_cpus=2, resources={"trainer": 2})
        cluster.wait_for_nodes()
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


def test_study_runs_its_trials_on_the_node_with_the_resource(cluster: Any, tiny_space) -> None:
    from ray import cloudpickle

    trainer_node = next(iter(cluster.worker_nodes)).node_id
    # Ray's workers import tasks from the driver's working folder, where this test module
    # (imported by pytest from its own folder) is not found: send the function by value.
    module = sys.modules[evaluate_on_node.__module__]
    cloudpickle.register_pickle_by_value(module)
    try:
        with create_study(tiny_space, "score:max", seed=0) as study:
            done = study.optimize(
                evaluate_on_node,
                4,
                batch=2,
                executor="ray",
                ray_address=cluster.address,
                resources={"trainer": 1},
            )
            trials = study.trials
    finally:
        cloudpickle.unregister_pickle_by_value(module)
    assert [t.state for t in done] == ["complete"] * 4, [t.error for t in done]
    assert len(trials) == 4
    assert {t.metrics["node"] for t in trials} == {float(int(trainer_node[:12], 16))}
    assert not ray.is_initialized()  # the pool disconnected; the cluster stays up


@pytest.mark.parametrize(
    ("resources", "needs"),
    [({"num_gpus": 1}, "CPU 1, GPU 1"), ({"trainer": 3, "num_cpus": 0.5}, "CPU 0.5, trainer 3")],
)
def test_resources_no_node_has_are_refused(
    cluster: Any, resources: dict[str, float], needs: str
) -> None:
    pool = TaskPool(square, "ray", ray_address=cluster.address, resources=resources)
    with pool, pytest.raises(ConfigError, match="which no node of the Ray cluster") as e:
        pool.map([1])
    text = str(e.value)
    assert "\n" not in text
    assert f"each needs {needs} (resources={resources!r}" in text.replace(".0", "")
    assert "trainer 2" in text  # what the nodes have
    assert "ray start --address" in text


def test_a_head_started_with_ray_start_is_reached_at_its_printed_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``ray start --head`` as a user runs it: with a token in ~/.ray/auth_token (any local
    ``ray.init()`` writes one) the head requires it, and ``ray.init(address=...)`` alone
    would not send it."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE")}
    temp, port = _temp_dir(), _free_port()
    command = [
        sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block",
        f"--port={port}", "--num-cpus=1", "--include-dashboard=false",
        "--disable-usage-stats", f"--temp-dir={temp}",
    ]  # fmt: skip
    head = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, stopped below and nothing else
    )
    try:
        assert head.stdout is not None
        printed = None
        for line in head.stdout:
            found = re.search(r"ray start --address='([^']+)'", line)
            if found:
                printed = found.group(1)
                break
        assert printed is not None, "ray start --head printed no address"
        assert printed.endswith(f":{port}")
        for address in (printed, f"127.0.0.1:{port}"):
            with TaskPool(square, "ray", ray_address=address) as pool:
                assert pool.map([1, 2, 3]) == [1, 4, 9]
    finally:
        ray.shutdown()
        head.send_signal(signal.SIGTERM)  # --block: the head stops its Ray processes
        try:
            head.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)


def test_an_address_where_nothing_listens_fails_at_once() -> None:
    address = f"127.0.0.1:{_free_port()}"
    pool = TaskPool(square, "ray", ray_address=address)
    with pool, pytest.raises(ConfigError, match="could not connect to the Ray cluster") as e:
        pool.map([1])
    text = str(e.value)
    assert "\n" not in text
    assert f"{address!r}: nothing answers at {address}" in text
    assert f"ray status --address {address}" in text
    assert "ray start --head" in text
    assert not ray.is_initialized()


def test_a_refused_token_says_how_to_bring_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**kwargs: object) -> None:
        try:
            raise RuntimeError(
                "Failed to connect to GCS. Last connection error: Traceback (most recent "
                "call last):\nray.exceptions.AuthenticationError: RPC error: InvalidAuthToken"
            )
        except RuntimeError as err:
            raise ConnectionError("Failed to connect to Ray cluster at 10.1.2.3:6399") from err

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refuse)
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    with socket.socket() as listening:  # an address that answers
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        address = f"127.0.0.1:{listening.getsockname()[1]}"
        pool = TaskPool(square, "ray", ray_address=address)
        with pool, pytest.raises(ConfigError, match="uses token authentication") as e:
            pool.map([1])
    text = str(e.value)
    assert "\n" not in text
    assert repr(address) in text
    assert "`ray get-auth-token` on its head node" in text
    assert "~/.ray/auth_token" in text
    assert "unset RAY_AUTH_MODE=disabled, or set it to token" in text
