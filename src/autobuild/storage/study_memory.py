"""A study storage in this process's memory: for a study that keeps nothing on disk.

It follows the same rules and returns the same records as the SQLite storage (both are
:class:`~autobuild.storage.BaseStudyStorage`, which checks every argument); what it holds is
lost with the process. Threads of one process may share it; processes cannot (use
:class:`~autobuild.storage.SQLiteStudyStorage`).

Example:
    >>> with InMemoryStudyStorage() as storage:
    ...     study = storage.create_study("demo", space_fingerprint="abc", space={}, config={})
    ...     [trial] = storage.ask(study.id, [("a1", '{"k": 3}')], 1, round=0, now=10.0)
    ...     storage.tell(trial.id, state="complete", metrics={"acc": 0.9}, now=12.0).state
    'complete'
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace
from typing import cast

from autobuild.storage.sqlite import MEMORY
from autobuild.storage.study_base import BaseStudyStorage
from autobuild.storage.study_records import RoundRecord, StudyRecord, TrialRecord, TrialState

__all__ = ["InMemoryStudyStorage"]


@dataclass
class _Round:
    """A round as kept: its data as canonical JSON text, like a file."""

    round: int
    n_told: int
    created_at: float
    data_json: str


@dataclass
class _Study:
    """A study as kept: its space and configuration as canonical JSON text, like a file."""

    id: int
    name: str
    space_fingerprint: str
    space_json: str
    config_json: str
    created_at: float
    trials: list[int] = field(default_factory=list)  # trial ids, by number
    arch_ids: set[str] = field(default_factory=set)
    rounds: dict[int, _Round] = field(default_factory=dict)

    def record(self) -> StudyRecord:
        return StudyRecord(
            id=self.id,
            name=self.name,
            space_fingerprint=self.space_fingerprint,
            space=json.loads(self.space_json),
            config=json.loads(self.config_json),
            created_at=self.created_at,
        )

    def round_record(self, kept: _Round) -> RoundRecord:
        return RoundRecord(
            study_id=self.id,
            round=kept.round,
            n_told=kept.n_told,
            created_at=kept.created_at,
            data=json.loads(kept.data_json),
        )


class InMemoryStudyStorage(BaseStudyStorage):
    """Study storage in memory; see the module docstring.

    Safe to share between threads: each call is one step under a lock, as a file storage's
    write is one transaction.
    """

    def __init__(self) -> None:
        super().__init__(MEMORY)
        self._lock = threading.Lock()
        self._by_id: dict[int, _Study] = {}
        self._by_name: dict[str, _Study] = {}
        self._trials_by_id: dict[int, TrialRecord] = {}

    # -- studies --------------------------------------------------------------------------

    def _add_study(
        self,
        name: str,
        space_fingerprint: str,
        space_json: str,
        config_json: str,
        created_at: float,
    ) -> StudyRecord | None:
        with self._lock:
            if name in self._by_name:
                return None
            study = _Study(
                len(self._by_id) + 1, name, space_fingerprint, space_json, config_json, created_at
            )
            self._by_id[study.id] = study
            self._by_name[name] = study
            return study.record()

    def _study_named(self, name: str) -> StudyRecord | None:
        with self._lock:
            study = self._by_name.get(name)
            return None if study is None else study.record()

    def _study(self, study_id: int) -> StudyRecord | None:
        with self._lock:
            study = self._by_id.get(study_id)
            return None if study is None else study.record()

    def _studies(self) -> list[StudyRecord]:
        with self._lock:
            return [study.record() for study in self._by_id.values()]

    # -- trials ---------------------------------------------------------------------------

    def _ask(
        self,
        study_id: int,
        proposals: list[tuple[str, str]],
        n: int,
        round: int,
        stale_before: float | None,
        now: float,
    ) -> list[TrialRecord] | None:
        with self._lock:
            study = self._by_id.get(study_id)
            if study is None:
                return None
            handed: list[TrialRecord] = []
            if stale_before is not None:
                for trial_id in study.trials:
                    if len(handed) == n:
                        break
                    trial = self._trials_by_id[trial_id]
                    if trial.state == "pending" and trial.asked_at <= stale_before:
                        trial = replace(trial, asked_at=now, attempts=trial.attempts + 1)
                        self._trials_by_id[trial_id] = trial
                        handed.append(trial)
            for arch_id, arch_json in proposals:
                if len(handed) == n:
                    break
                if arch_id in study.arch_ids:
                    continue
                trial = TrialRecord(
                    id=len(self._trials_by_id) + 1,
                    study_id=study_id,
                    number=len(study.trials),
                    arch_id=arch_id,
                    arch_json=arch_json,
                    state="pending",
                    metrics={},
                    error=None,
                    round=round,
                    attempts=1,
                    asked_at=now,
                    told_at=None,
                )
                self._trials_by_id[trial.id] = trial
                study.trials.append(trial.id)
                study.arch_ids.add(arch_id)
                handed.append(trial)
            return [_copy(trial) for trial in handed]

    def _tell(
        self,
        trial_id: int,
        state: str,
        metrics: dict[str, float],
        error: str | None,
        told_at: float,
    ) -> tuple[TrialRecord, bool] | None:
        with self._lock:
            trial = self._trials_by_id.get(trial_id)
            if trial is None:
                return None
            if trial.state != "pending":
                return _copy(trial), False
            trial = replace(
                trial,
                state=cast(TrialState, state),
                metrics=dict(metrics),
                error=error,
                told_at=told_at,
            )
            self._trials_by_id[trial_id] = trial
            return _copy(trial), True

    def _trials(self, study_id: int, states: tuple[str, ...] | None) -> list[TrialRecord] | None:
        with self._lock:
            study = self._by_id.get(study_id)
            if study is None:
                return None
            trials = (self._trials_by_id[trial_id] for trial_id in study.trials)
            return [_copy(t) for t in trials if states is None or t.state in states]

    def _trial(self, trial_id: int) -> TrialRecord | None:
        with self._lock:
            trial = self._trials_by_id.get(trial_id)
            return None if trial is None else _copy(trial)

    # -- sampler rounds -------------------------------------------------------------------

    def _add_round(
        self, study_id: int, round: int, n_told: int, created_at: float, data_json: str
    ) -> RoundRecord | None:
        with self._lock:
            study = self._by_id.get(study_id)
            if study is None:
                return None
            kept = study.rounds.setdefault(round, _Round(round, n_told, created_at, data_json))
            return study.round_record(kept)

    def _rounds(self, study_id: int) -> list[RoundRecord] | None:
        with self._lock:
            study = self._by_id.get(study_id)
            if study is None:
                return None
            return [study.round_record(study.rounds[r]) for r in sorted(study.rounds)]

    def _last_round(self, study_id: int) -> int | None:
        with self._lock:
            study = self._by_id.get(study_id)
            return None if study is None else max(study.rounds, default=0)

    def _close(self) -> None:
        # Nothing to release; what the storage held goes with the object.
        return None


def _copy(trial: TrialRecord) -> TrialRecord:
    """A record whose metrics a caller may change without changing the storage."""
    return replace(trial, metrics=dict(trial.metrics))
