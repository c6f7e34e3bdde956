"""The records of a study storage: a stored study, a trial of it and a sampler round.

:class:`StudyRecord`, :class:`TrialRecord` and :class:`RoundRecord` are what every
:class:`~autobuild.storage.BaseStudyStorage` returns, whichever backend keeps them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["RoundRecord", "StudyRecord", "TrialRecord", "TrialState"]

TrialState = Literal["pending", "complete", "failed"]
"""A trial's state: handed out and not yet told (``"pending"``), or told."""


@dataclass(frozen=True)
class StudyRecord:
    """One study as stored.

    Attributes:
        id: Storage id, used by every other call.
        name: User-chosen name, unique in the storage.
        space_fingerprint: Fingerprint of the search space the study runs in.
        space: The search space as JSON (opaque to the storage; JSON round-tripped).
        config: Objectives, sampler settings, seed... (opaque to the storage; JSON
            round-tripped).
        created_at: Unix time the study was created.
    """

    id: int
    name: str
    space_fingerprint: str
    space: dict[str, Any]
    config: dict[str, Any]
    created_at: float


@dataclass(frozen=True)
class TrialRecord:
    """One architecture a study handed out, and its result once told.

    Attributes:
        id: Storage id, unique across the studies of a storage.
        study_id: Id of the study it belongs to.
        number: 0-based position in the order the study first handed its trials out (dense
            per study).
        arch_id: Canonical architecture id, unique within the study.
        arch_json: The architecture as canonical JSON text.
        state: ``"pending"``, ``"complete"`` or ``"failed"``.
        metrics: Metric name to finite float; empty while pending, may be empty when failed.
        error: Error text of a failed trial, otherwise ``None``.
        round: The sampler round that proposed it (``-1`` when none did, e.g. a warm start).
        attempts: How many times it was handed out (1, plus 1 per re-ask of a stale trial).
        asked_at: Unix time it was last handed out.
        told_at: Unix time its result was told, ``None`` while pending.
    """

    id: int
    study_id: int
    number: int
    arch_id: str
    arch_json: str
    state: TrialState
    metrics: dict[str, float]
    error: str | None
    round: int
    attempts: int
    asked_at: float
    told_at: float | None

    @property
    def arch(self) -> Any:
        """The architecture, parsed from :attr:`arch_json`."""
        return json.loads(self.arch_json)

    @property
    def done(self) -> bool:
        """Whether its result was told (complete or failed)."""
        return self.state != "pending"


@dataclass(frozen=True)
class RoundRecord:
    """What a study's sampler learned in one round.

    Attributes:
        study_id: Id of the study it belongs to.
        round: 0-based round number, given by the caller.
        n_told: How many told trials the sampler learned from.
        created_at: Unix time the round was first added.
        data: What the round found (module scores, feature importance...), as JSON; opaque to
            the storage.
    """

    study_id: int
    round: int
    n_told: int
    created_at: float
    data: dict[str, Any]
