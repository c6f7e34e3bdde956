"""A trial: one architecture a study asked to evaluate, and its result once told."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autobuild.spaces import Architecture, SearchSpace
from autobuild.storage import TrialRecord, TrialState

__all__ = ["Trial"]


@dataclass(frozen=True)
class Trial:
    """One architecture of a study, pending until its result is told.

    Attributes:
        id: Id in the study's storage; :meth:`Study.tell` takes it (or the trial).
        number: 0-based position in the study, in the order trials were first asked.
        arch: The architecture to evaluate.
        arch_id: Its canonical id (unique within the study).
        state: ``"pending"``, ``"complete"`` or ``"failed"``.
        metrics: Told metrics (empty while pending).
        error: Why it failed (``"failed"`` only).
        round: The sampler round that proposed it (0: the initial design, drawn at random).
        attempts: How many times it was handed out (more than 1 after a re-ask).
        asked_at: Unix time of the last (re-)ask.
        told_at: Unix time it was told, ``None`` while pending.
    """

    id: int
    number: int
    arch: Architecture
    arch_id: str
    state: TrialState
    metrics: dict[str, float]
    error: str | None
    round: int
    attempts: int
    asked_at: float
    told_at: float | None

    @classmethod
    def from_record(cls, space: SearchSpace, record: TrialRecord) -> Trial:
        """The trial a storage record holds, its architecture parsed in ``space``."""
        return cls(
            id=record.id,
            number=record.number,
            arch=space.parse(record.arch),
            arch_id=record.arch_id,
            state=record.state,
            metrics=dict(record.metrics),
            error=record.error,
            round=record.round,
            attempts=record.attempts,
            asked_at=record.asked_at,
            told_at=record.told_at,
        )

    @property
    def done(self) -> bool:
        """Whether a result (complete or failed) was told."""
        return self.state != "pending"

    def row(self, space: SearchSpace, metric_names: list[str]) -> dict[str, Any]:
        """The trial as one flat table row (``trial_id``, ``number``, ``arch_id``, ``arch``,
        ``state``, one column per metric, ``error``, ``round``, ``attempts``)."""
        import json

        row: dict[str, Any] = {
            "trial_id": self.id,
            "number": self.number,
            "arch_id": self.arch_id,
            "arch": json.dumps(space.to_json(self.arch), separators=(",", ":")),
            "state": self.state,
        }
        for name in metric_names:
            row[name] = self.metrics.get(name)
        row.update(error=self.error, round=self.round, attempts=self.attempts)
        return row
