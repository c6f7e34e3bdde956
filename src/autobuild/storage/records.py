"""The records of a run store: a stored search and a stored evaluation.

:class:`SearchRecord` and :class:`EvaluationRecord` are what every
:class:`~autobuild.storage.BaseRunStore` returns, whichever backend keeps them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["EvaluationRecord", "EvaluationStatus", "SearchRecord"]

EvaluationStatus = Literal["ok", "failed"]


@dataclass(frozen=True)
class SearchRecord:
    """One search as stored.

    Attributes:
        id: Store id, used by every other call.
        name: Unique, user-chosen name (``--name``).
        space_fingerprint: Fingerprint of the search space the search runs in.
        config: The search configuration (JSON round-tripped).
        seed: Random seed of the search.
        created_at: Unix time the search was first created.
        status: ``"running"`` or ``"finished"``.
    """

    id: int
    name: str
    space_fingerprint: str
    config: dict[str, Any]
    seed: int | None
    created_at: float
    status: str

    @property
    def finished(self) -> bool:
        """Whether :meth:`~autobuild.storage.BaseRunStore.mark_finished` was called for it."""
        return self.status == "finished"


@dataclass(frozen=True)
class EvaluationRecord:
    """One finished evaluation of one architecture.

    Attributes:
        search_id: Id of the search it belongs to.
        seq: 0-based position in the search's evaluation order.
        arch_id: Canonical architecture id (unique within the search).
        arch_json: The architecture as canonical JSON text.
        metrics: Metric name to finite float; may be empty for a failed evaluation.
        status: ``"ok"`` or ``"failed"``.
        error: Error text of a failed evaluation, ``None`` for an ok one.
        started_at: Unix time the evaluation started.
        finished_at: Unix time the evaluation finished.
        seconds: ``finished_at - started_at``.
    """

    search_id: int
    seq: int
    arch_id: str
    arch_json: str
    metrics: dict[str, float]
    status: str
    error: str | None
    started_at: float
    finished_at: float
    seconds: float

    @property
    def ok(self) -> bool:
        """Whether the evaluation succeeded."""
        return self.status == "ok"

    @property
    def arch(self) -> Any:
        """The architecture, parsed from :attr:`arch_json`."""
        return json.loads(self.arch_json)
