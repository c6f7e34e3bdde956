"""A study: ask for architectures, evaluate them anywhere, tell the results.

A :class:`Study` is the loop of a search whose evaluations are expensive and run elsewhere
(a training job on a cluster, a script on another machine): :meth:`Study.ask` hands out
trials to evaluate, :meth:`Study.tell` records a result the moment it is known, and the
study's sampler learns from everything told so far (:class:`~autobuild.study.sampler.
AutoBuildSampler` by default). Everything lives in a storage
(:mod:`autobuild.storage`): in memory, or in an SQLite file that several processes may
ask and tell against at once, so a study resumes after any crash with every told result.

Example:
    >>> import autobuild as ab
    >>> space = ab.spaces.get("nasbench-macro")
    >>> study = ab.create_study(space, "layers:max", seed=0)
    >>> for trial in study.ask(4):
    ...     _ = study.tell(trial, {"layers": trial.arch.num_layers})
    >>> len(study.trials), study.best_trials[0].metrics["layers"] >= 3
    (4, True)
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autobuild._closing import Closing
from autobuild.exceptions import ConfigError, DataError
from autobuild.execution import Executor
from autobuild.search.config import check_objectives
from autobuild.search.pareto import pareto_indices
from autobuild.search.result import Objective
from autobuild.spaces import Architecture, SearchSpace
from autobuild.storage import BaseStudyStorage, StudyRecord, open_study_storage, parse_storage_url
from autobuild.storage.sqlite import MEMORY
from autobuild.study.sampler import (
    AutoBuildSampler,
    BaseSampler,
    History,
    sampler_from_config,
)
from autobuild.study.trial import Trial

__all__ = ["Study", "create_study", "load_study"]

logger = logging.getLogger(__name__)

#: Proposals asked of the sampler per trial wanted: other processes asking at the same
#: time may take some of them first.
_SLACK = 2


class Study(Closing):
    """Trials of one search, kept in a storage; see the module docstring.

    Make one with :func:`create_study` or :func:`load_study`. Use it as a context manager,
    or call :meth:`close` (which closes a storage the study opened from a URL).

    Attributes:
        name: The study's name in its storage.
        space: The search space.
        objectives: ``(metric, "max" | "min")`` pairs.
        seed: The seed every round's randomness derives from.
        sampler: Proposes the architectures to ask.
        storage: Where the trials are kept.
    """

    def __init__(
        self,
        storage: BaseStudyStorage,
        record: StudyRecord,
        space: SearchSpace,
        sampler: BaseSampler,
        *,
        owns_storage: bool = False,
    ) -> None:
        self.storage = storage
        self.space = space
        self.sampler = sampler
        self.name = record.name
        self.objectives: tuple[Objective, ...] = check_objectives(
            [tuple(o) for o in record.config["objectives"]]
        )
        self.seed: int = record.config["seed"]
        candidates = record.config.get("candidates")
        self.candidates: tuple[Architecture, ...] | None = (
            None if candidates is None else tuple(space.parse(c) for c in candidates)
        )
        self._id = record.id
        self._owns_storage = owns_storage

    # -- the loop -------------------------------------------------------------------------

    def ask(self, n: int = 1, *, reask_after: float | None = None) -> list[Trial]:
        """Hand out ``n`` trials to evaluate, each committed to the storage before return.

        Never an architecture the study already holds (told, failed or pending), unless
        ``reask_after`` hands out again a pending trial asked that many seconds ago or
        longer (its worker likely died); those come first, with the same id.

        Args:
            n: How many trials (>= 1).
            reask_after: Seconds after which a pending trial is handed out again; ``None``
                never re-asks.

        Returns:
            Up to ``n`` trials; fewer only when the space (or the candidate pool) has no
            more new architectures.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"`n` must be an integer >= 1, got {n!r}.")
        if reask_after is not None and not (
            isinstance(reask_after, int | float)
            and math.isfinite(reask_after)
            and reask_after >= 0
        ):
            raise ConfigError(
                f"`reask_after` must be a number of seconds >= 0 or None, got {reask_after!r}."
            )
        out: list[Trial] = []
        for _ in range(3):  # other processes may take proposals first: propose again
            history = self._history()
            rng = np.random.default_rng([self.seed, history.round, len(history.exclude)])
            proposal = self.sampler.propose(history, _SLACK * (n - len(out)), rng)
            if proposal.knowledge is not None:
                self.storage.add_round(
                    self._id, history.round, n_told=len(history.archs), data=proposal.knowledge
                )
            records = self.storage.ask(
                self._id,
                [(self.space.arch_id(a), self.space.to_json(a)) for a in proposal.archs],
                n - len(out),
                round=0 if proposal.knowledge is None else history.round,
                stale_after=reask_after if not out else None,
            )
            out.extend(Trial.from_record(self.space, r) for r in records)
            if len(out) >= n or not proposal.archs:
                break
        if len(out) < n:
            logger.warning(
                "Study %r asked for %d trials, handed out %d: no new architecture is left",
                self.name,
                n,
                len(out),
            )
        return out

    def tell(
        self,
        trial: Trial | int,
        metrics: Mapping[str, float] | None = None,
        *,
        failed: str | None = None,
    ) -> Trial:
        """Record the result of a pending trial, durably, before returning.

        Args:
            trial: The trial, or its id.
            metrics: Metric name to value; must hold every objective (extra metrics are
                kept too). Omit it with ``failed``.
            failed: Why the evaluation failed; the architecture is not asked again.

        Returns:
            The told trial.

        Raises:
            ConfigError: Both or neither of ``metrics`` and ``failed``, or a trial already
                told (the first result is kept).
            DataError: An objective missing from ``metrics``, a value that is not a finite
                number, or a trial of another study.
        """
        trial_id = trial.id if isinstance(trial, Trial) else trial
        if isinstance(trial_id, bool) or not isinstance(trial_id, int):
            raise ConfigError(f"`trial` must be a Trial or a trial id, got {trial!r}.")
        if (metrics is None) == (failed is None):
            raise ConfigError(
                f"Tell trial {trial_id} either its `metrics` (a completed evaluation) or "
                "`failed=` with the reason it failed, not both or neither."
            )
        record = self.storage.trial(trial_id)
        if record.study_id != self._id:
            raise DataError(
                f"Trial {trial_id} belongs to another study of {self.storage.path!r}, not "
                f"{self.name!r}."
            )
        if failed is not None:
            if not isinstance(failed, str) or not failed:
                raise ConfigError(f"`failed` must be a non-empty reason, got {failed!r}.")
            told = self.storage.tell(trial_id, state="failed", metrics={}, error=failed)
            return Trial.from_record(self.space, told)
        assert metrics is not None
        if not isinstance(metrics, Mapping):
            raise ConfigError(
                f"`metrics` of trial {trial_id} must map metric names to numbers, got {metrics!r}."
            )
        missing = [name for name, _ in self.objectives if name not in metrics]
        if missing:
            raise DataError(
                f"Trial {trial_id}'s metrics {sorted(metrics)} lack the objective(s) "
                f"{missing}; tell every objective, or `failed=` with a reason."
            )
        told = self.storage.tell(trial_id, state="complete", metrics=metrics)
        return Trial.from_record(self.space, told)

    def optimize(
        self,
        evaluate: Callable[[Architecture], Mapping[str, float]],
        n_trials: int,
        *,
        batch: int = 1,
        executor: Executor = "serial",
        n_jobs: int | None = None,
        ray_address: str | None = None,
        resources: Mapping[str, float] | None = None,
        catch: bool = True,
    ) -> list[Trial]:
        """Ask, evaluate and tell until ``n_trials`` more trials are done.

        Each round asks ``batch`` trials, evaluates them on the executor and tells each
        result as soon as it is known.

        Args:
            evaluate: ``evaluate(arch) -> {metric: value}``; a module-level function for
                ``"process"`` and ``"ray"``.
            n_trials: Trials to run now (>= 1).
            batch: Trials asked per round (and run at once).
            executor: ``"serial"``, ``"process"`` or ``"ray"``
                (:class:`~autobuild.execution.TaskPool`).
            n_jobs: Worker processes of ``"process"``.
            ray_address: Ray cluster of ``"ray"``.
            resources: Ray resources of each evaluation, e.g. ``{"num_gpus": 1}``.
            catch: Tell an evaluation that raises as failed (with its error) and go on;
                ``False`` re-raises it (the trial stays pending).

        Returns:
            The trials told by this call, in the order they finished.
        """
        from autobuild.execution import TaskPool

        if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
            raise ConfigError(f"`n_trials` must be an integer >= 1, got {n_trials!r}.")
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ConfigError(f"`batch` must be an integer >= 1, got {batch!r}.")
        done: list[Trial] = []
        with TaskPool[Architecture, Any](
            evaluate,
            executor,
            n_jobs=n_jobs,
            ray_address=ray_address,
            resources=resources,
            task_name="evaluating trials",
        ) as pool:
            while len(done) < n_trials:
                trials = self.ask(min(batch, n_trials - len(done)))
                if not trials:
                    break
                on_error: Callable[[Exception], Any] | None = _Failure if catch else None
                for i, result in pool.stream([t.arch for t in trials], on_error=on_error):
                    if isinstance(result, _Failure):
                        done.append(self.tell(trials[i], failed=result.text))
                        continue
                    try:
                        done.append(self.tell(trials[i], result))
                    except (ConfigError, DataError) as err:
                        if not catch:
                            raise
                        done.append(self.tell(trials[i], failed=f"bad result: {err}"))
        return done

    # -- what is known --------------------------------------------------------------------

    @property
    def trials(self) -> list[Trial]:
        """Every trial, in ``number`` order."""
        return [Trial.from_record(self.space, r) for r in self.storage.trials(self._id)]

    @property
    def best_trials(self) -> list[Trial]:
        """The complete trials on the Pareto front of the objectives (for one objective:
        the best ones, ties included), in ``number`` order."""
        complete = [t for t in self.trials if t.state == "complete"]
        if not complete:
            return []
        values = np.array([[t.metrics[m] for m, _ in self.objectives] for t in complete])
        keep = pareto_indices(values, [d for _, d in self.objectives])
        return [complete[i] for i in sorted(keep)]

    def rows(self) -> list[dict[str, Any]]:
        """Every trial as a flat row (see :meth:`Trial.row`), metrics after the objectives'."""
        trials = self.trials
        names = [m for m, _ in self.objectives]
        extra = sorted({m for t in trials for m in t.metrics} - set(names))
        return [t.row(self.space, names + extra) for t in trials]

    def trials_dataframe(self) -> Any:
        """:meth:`rows` as a pandas DataFrame (pandas must be installed)."""
        try:
            import pandas as pd
        except ImportError as err:
            raise ConfigError(
                "trials_dataframe() needs pandas, which is not installed; install it with "
                "`pip install pandas`, or use study.rows() (a list of dicts)."
            ) from err
        return pd.DataFrame(self.rows())

    def explain(self) -> list[dict[str, Any]]:
        """What each round of the sampler learnt, oldest first.

        Each entry: ``round``, ``n_told`` (results it learnt from), and per objective the
        top module scores of every unit and the feature importance (category shares and
        value scores) of that round's predictor. Empty until a round trained a predictor.
        """
        return [
            {"round": r.round, "n_told": r.n_told, **r.data} for r in self.storage.rounds(self._id)
        ]

    @property
    def id(self) -> int:
        """The study's id in its storage."""
        return self._id

    def close(self) -> None:
        """Close the storage if the study opened it (from a URL)."""
        if self._owns_storage:
            self.storage.close()

    def __repr__(self) -> str:
        return f"Study({self.name!r}, space={self.space.name!r}, storage={self.storage.path!r})"

    # -- internals ------------------------------------------------------------------------

    def _history(self) -> History:
        records = self.storage.trials(self._id)
        complete = [r for r in records if r.state == "complete"]
        names = [m for m, _ in self.objectives]
        values = np.array([[r.metrics[m] for m in names] for r in complete], dtype=np.float64)
        return History(
            space=self.space,
            objectives=self.objectives,
            archs=tuple(self.space.parse(r.arch) for r in complete),
            values=values.reshape(len(complete), len(names)),
            exclude=frozenset(r.arch_id for r in records),
            candidates=self.candidates,
            round=self.storage.last_round(self._id) + 1,
        )


class _Failure:
    """The result of an evaluation that raised (``optimize(catch=True)``)."""

    def __init__(self, exc: Exception) -> None:
        self.text = f"{type(exc).__name__}: {exc}"


def create_study(
    space: SearchSpace,
    objectives: Sequence[Objective] | str,
    *,
    storage: BaseStudyStorage | str | None = None,
    name: str | None = None,
    seed: int = 0,
    sampler: BaseSampler | None = None,
    candidates: Sequence[Architecture] | None = None,
    load_if_exists: bool = False,
) -> Study:
    """Create a study (or, with ``load_if_exists``, load the one of that name).

    Args:
        space: The search space.
        objectives: ``(metric, "max" | "min")`` pairs, or text ``"acc:max,latency:min"``.
        storage: A storage, a URL (``"sqlite:///autobuild.db"``), or ``None`` for one in
            memory (lost when the process ends).
        name: Unique name in the storage (default: a fresh ``study-...`` name).
        seed: Seed of the sampler's randomness (the initial design included).
        sampler: Default :class:`~autobuild.study.sampler.AutoBuildSampler`.
        candidates: Ask only these architectures (a pool for a space known by a sample).
        load_if_exists: Load an existing study of that name instead of refusing it.

    Raises:
        ConfigError: Invalid arguments, or ``name`` exists and ``load_if_exists`` is false.
    """
    if not isinstance(space, SearchSpace):
        raise ConfigError(
            f"`space` must be a SearchSpace (e.g. ab.spaces.get('nasbench-macro')), got "
            f"{type(space).__name__}."
        )
    objs = check_objectives(objectives)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"`seed` must be an integer >= 0, got {seed!r}.")
    sampler = AutoBuildSampler() if sampler is None else sampler
    if not isinstance(sampler, BaseSampler):
        raise ConfigError(
            f"`sampler` must be a BaseSampler (e.g. AutoBuildSampler()), got {sampler!r}."
        )
    pool = None
    if candidates is not None:
        archs = [space.validate(a) for a in candidates]
        if not archs:
            raise ConfigError("`candidates` is empty; give at least one architecture, or None.")
        unique = {space.arch_id(a): a for a in archs}
        pool = [space.to_json(a) for a in unique.values()]
    name = f"study-{uuid.uuid4().hex[:12]}" if name is None else name
    if not isinstance(name, str) or not name:
        raise ConfigError(f"`name` must be a non-empty string or None, got {name!r}.")
    store, owns = _open(storage)
    try:
        existing = store.get_study(name)
        if existing is not None:
            if not load_if_exists:
                raise ConfigError(
                    f"Study {name!r} already exists in {store.path!r}; load it with "
                    "load_study (or load_if_exists=True), or pick another name."
                )
            return _loaded(store, existing, space, owns)
        config = {
            "objectives": [list(o) for o in objs],
            "seed": seed,
            "sampler": sampler.to_config(),
            "candidates": pool,
        }
        record = store.create_study(
            name,
            space_fingerprint=space.fingerprint(),
            # As JSON text: the storage keeps JSON with sorted keys, and the declaration's
            # order (of features, say) is part of the space.
            space={"name": space.name, "spec": json.dumps(space.to_dict())},
            config=config,
        )
    except BaseException:
        if owns:
            store.close()
        raise
    logger.info("Created study %r in %s", name, store.path)
    return Study(store, record, space, sampler, owns_storage=owns)


def load_study(
    name: str, storage: BaseStudyStorage | str, *, space: SearchSpace | None = None
) -> Study:
    """Load the study ``name`` from ``storage``, with its sampler and every trial.

    Args:
        name: The study's name.
        storage: A storage or a URL (``"sqlite:///autobuild.db"``).
        space: The study's space; by default the built-in space of the stored name when
            it matches, else the space rebuilt from its stored declaration.

    Raises:
        ConfigError: A storage URL naming no file, no study of that name (the message lists
            those there are), or a ``space`` other than the study's.
    """
    if isinstance(storage, str):
        path = parse_storage_url(storage)
        if path != MEMORY and not Path(path).is_file():
            raise ConfigError(
                f"No study storage at {path!r} (from {storage!r}): create the study first "
                f"(create_study, or `autobuild study create {name} ...`), or give the storage "
                "it was created in."
            )
    store, owns = _open(storage)
    try:
        record = store.get_study(name)
        if record is None:
            names = [s.name for s in store.list_studies()]
            raise ConfigError(
                f"No study {name!r} in {store.path!r}; it holds {names or 'none'}. Create it "
                "with create_study (or `autobuild study create`)."
            )
        return _loaded(store, record, space, owns)
    except BaseException:
        if owns:
            store.close()
        raise


def _open(storage: BaseStudyStorage | str | None) -> tuple[BaseStudyStorage, bool]:
    if storage is None or isinstance(storage, str):
        return open_study_storage(storage), True
    if isinstance(storage, BaseStudyStorage):
        return storage, False
    raise ConfigError(
        f"`storage` must be a storage URL such as 'sqlite:///autobuild.db', a study storage "
        f"or None, got {storage!r}."
    )


def _loaded(
    store: BaseStudyStorage, record: StudyRecord, space: SearchSpace | None, owns: bool
) -> Study:
    stored_space = _stored_space(record)
    if space is None:
        space = stored_space
    elif space.fingerprint() != record.space_fingerprint:
        raise ConfigError(
            f"Study {record.name!r} runs in space {record.space.get('name')!r} (fingerprint "
            f"{record.space_fingerprint}), not in {space.name!r} ({space.fingerprint()}); "
            "load it without `space`, or with the space it was created in."
        )
    return Study(
        store, record, space, sampler_from_config(record.config["sampler"]), owns_storage=owns
    )


def _stored_space(record: StudyRecord) -> SearchSpace:
    """The built-in space of the stored name when its fingerprint matches, else the space
    rebuilt from its stored declaration."""
    from autobuild import spaces

    name = record.space.get("name")
    if isinstance(name, str) and name in spaces.list_spaces():
        builtin = spaces.get(name)
        if builtin.fingerprint() == record.space_fingerprint:
            return builtin
    return SearchSpace.from_dict(json.loads(record.space["spec"]))
