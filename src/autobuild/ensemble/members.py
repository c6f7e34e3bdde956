"""Training the members of a k-fold x seeds ensemble, serially, in local processes or on Ray.

A member is fully described by a :class:`MemberTask` of plain data (the space declaration,
architecture ids, labels, fold indices, hyper-parameters and a seed), so any executor can run
it and the result does not depend on which one did: every member trains with one thread and
its own seed. A finished member comes back in memory as its checkpoint's content (the
safetensors weights as bytes, the JSON metadata as plain values) plus its held-out metrics;
the caller keeps it as a predictor and may write the files, so a worker on another machine of
a Ray cluster needs no shared file system.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autobuild.exceptions import ConfigError

# EXECUTORS: where members train (this process, local worker processes, Ray).
from autobuild.execution import EXECUTORS, Executor, TaskPool, check_executor

__all__ = ["EXECUTORS", "MemberResult", "MemberTask", "fold_tasks", "run_tasks", "train_member"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MemberTask:
    """Everything one member needs, as plain JSON-able data.

    Attributes:
        fold: Held-out fold index (0-based).
        shuffle: Index of the shuffling seed (0-based).
        seed: The member's own seed (weights, batch order).
        space: The space declaration (``SearchSpace.to_dict()``).
        archs: Canonical ids of all labelled architectures.
        labels: Their labels.
        train: Indices (into ``archs``) of the training folds.
        test: Indices of the held-out fold.
        config: Predictor hyper-parameters (``PredictorConfig.to_dict()``).
    """

    fold: int
    shuffle: int
    seed: int
    space: dict[str, Any]
    archs: tuple[str, ...]
    labels: tuple[float, ...]
    train: tuple[int, ...]
    test: tuple[int, ...]
    config: dict[str, Any]

    @property
    def name(self) -> str:
        """Folder name of the member, e.g. ``s0_f3``."""
        return f"s{self.shuffle}_f{self.fold}"


@dataclass(frozen=True)
class MemberResult:
    """A trained member: its checkpoint's content and held-out metrics.

    The weights travel as safetensors bytes rather than tensors, so a result pickles the same
    through any executor (PyTorch's own multiprocessing pickler would move tensors through
    shared memory).

    Attributes:
        task: The task it ran.
        weights: The content of its ``model.safetensors`` file, as bytes.
        meta: The content of its ``predictor.json`` file, as plain JSON values.
        metrics: Held-out ``srcc`` (prediction), ``hop_srcc`` (per hop), ``n_train``,
            ``n_test`` and ``train_seconds``.
    """

    task: MemberTask
    weights: bytes
    meta: dict[str, Any]
    metrics: dict[str, Any]

    def state(self) -> dict[str, Any]:
        """The member as :meth:`AutoBuildPredictor.to_state
        <autobuild.predictor.AutoBuildPredictor.to_state>` gave it, for
        :meth:`~autobuild.predictor.AutoBuildPredictor.from_state`."""
        from safetensors.torch import load

        return {"meta": self.meta, "tensors": load(self.weights)}


def fold_tasks(
    space_spec: dict[str, Any],
    arch_ids: Sequence[str],
    labels: Sequence[float],
    config: dict[str, Any],
    *,
    folds: int,
    seeds: Sequence[int],
) -> list[MemberTask]:
    """The ``folds x len(seeds)`` member tasks of a k-fold ensemble.

    For every shuffling seed ``s`` the labelled architectures are permuted with
    ``numpy.random.default_rng(s)`` and split into ``folds`` near-equal folds; member
    ``(s, f)`` trains on all folds but ``f`` and is tested on ``f``. Its own seed is
    ``s * folds + f``, so every member differs and the ensemble is reproducible.

    Raises:
        ConfigError: Fewer than 2 folds, no seeds, or folds too small to train and test.
    """
    n = len(arch_ids)
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ConfigError(f"`folds` must be an integer >= 2, got {folds!r}.")
    if not seeds:
        raise ConfigError("`seeds` must name at least one shuffling seed, got none.")
    if n < 2 * folds:
        raise ConfigError(
            f"{n} labelled architectures are too few for {folds} folds: each fold needs at "
            f"least 2 held-out architectures; label at least {2 * folds} or use fewer folds."
        )
    tasks = []
    for s_index, s in enumerate(seeds):
        order = np.random.default_rng(int(s)).permutation(n)
        parts = np.array_split(order, folds)
        for f, test in enumerate(parts):
            train = np.concatenate([p for i, p in enumerate(parts) if i != f])
            tasks.append(
                MemberTask(
                    fold=f,
                    shuffle=s_index,
                    seed=int(s) * folds + f,
                    space=space_spec,
                    archs=tuple(arch_ids),
                    labels=tuple(float(v) for v in labels),
                    train=tuple(int(i) for i in train),
                    test=tuple(int(i) for i in test),
                    config=config,
                )
            )
    return tasks


def train_member(task: MemberTask) -> MemberResult:
    """Train one member with one thread and return its checkpoint's content and metrics.

    This is the function every executor runs; it imports what it needs so that a fresh
    worker process (or a Ray worker) can run it.
    """
    import torch
    from safetensors.torch import save

    from autobuild.predictor import AutoBuildPredictor, PredictorConfig
    from autobuild.spaces import from_spec

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same result on every executor
    try:
        space = from_spec(task.space)
        archs = [space.parse(a) for a in task.archs]
        y = np.asarray(task.labels, dtype=np.float64)
        train, test = list(task.train), list(task.test)
        pred = AutoBuildPredictor(
            space, PredictorConfig.from_dict(task.config), random_state=task.seed
        )
        pred.fit([archs[i] for i in train], y[train])
        quality = pred.evaluate([archs[i] for i in test], y[test])
        metrics = {
            "srcc": quality["srcc"],
            "hop_srcc": list(quality["hop_srcc"]),
            "n_train": len(train),
            "n_test": len(test),
            "train_seconds": pred.train_seconds_,
        }
        state = pred.to_state(extra={"member": {"fold": task.fold, "shuffle": task.shuffle}})
        weights = save(state["tensors"])
    finally:
        torch.set_num_threads(threads)
    return MemberResult(task, weights, state["meta"], metrics)


def run_tasks(
    tasks: Sequence[MemberTask],
    *,
    executor: Executor = "process",
    n_jobs: int | None = None,
    ray_address: str | None = None,
    on_result: Callable[[MemberResult], None] | None = None,
) -> list[MemberResult]:
    """Run member tasks on an executor; results come back in task order.

    Args:
        tasks: The members to train.
        executor: ``"serial"`` (this process), ``"process"`` (local worker processes, the
            default) or ``"ray"`` (tasks on a Ray cluster; ``pip install 'autobuild[ray]'``);
            see :mod:`autobuild.execution`.
        n_jobs: Local worker processes (default: the CPU count; no more are started than
            there are tasks).
        ray_address: Address of a running Ray cluster (default: start a local instance, or
            join the one ``RAY_ADDRESS`` names).
        on_result: Called with every finished member as soon as it arrives (e.g. to write
            it to disk, so that an interrupted run keeps what it finished).

    Raises:
        ConfigError: An unknown executor, a bad ``n_jobs``, Ray is not installed, or the
            Ray cluster cannot be reached.
        EvaluationError: A worker process died.
    """
    pool: TaskPool[MemberTask, MemberResult] = TaskPool(
        train_member,
        check_executor(executor),
        n_jobs=n_jobs,
        ray_address=ray_address,
        task_name="training ensemble members",
    )
    results: list[MemberResult | None] = [None] * len(tasks)
    with pool:
        for i, result in pool.stream(tasks):
            results[i] = result
            if on_result is not None:
                on_result(result)
            logger.info(
                "Member %s: held-out Spearman %.3f (%d of %d done)",
                result.task.name,
                result.metrics["srcc"],
                sum(r is not None for r in results),
                len(tasks),
            )
    return [r for r in results if r is not None]
