"""The records of the run store: a stored search and a stored evaluation.

:class:`SearchRecord` and :class:`EvaluationRecord` are what
:class:`~autobuild.search.storage.RunStore` returns; :func:`search_from_row` and
:func:`evaluation_from_row` build them from the rows of its ``searches`` and ``evaluations``
tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "EVALUATION_COLUMNS",
    "EvaluationRecord",
    "EvaluationStatus",
    "SearchRecord",
    "evaluation_from_row",
    "search_from_row",
]

EvaluationStatus = Literal["ok", "failed"]


@dataclass(frozen=True)
class SearchRecord:
    """One search as stored.

    Attributes:
        id: Database id, used by every other call.
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
        """Whether :meth:`~autobuild.search.storage.RunStore.mark_finished` was called for it."""
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


#: The columns of the ``evaluations`` table, in the order :func:`evaluation_from_row` reads.
EVALUATION_COLUMNS = (
    "search_id, seq, arch_id, arch, metrics, status, error, started_at, finished_at, seconds"
)


def search_from_row(row: tuple[Any, ...]) -> SearchRecord:
    """The search of a ``SELECT * FROM searches`` row."""
    return SearchRecord(
        id=int(row[0]),
        name=str(row[1]),
        space_fingerprint=str(row[2]),
        config=json.loads(row[3]),
        seed=None if row[4] is None else int(row[4]),
        created_at=float(row[5]),
        status=str(row[6]),
    )


def evaluation_from_row(row: tuple[Any, ...]) -> EvaluationRecord:
    """The evaluation of a row of :data:`EVALUATION_COLUMNS`."""
    return EvaluationRecord(
        search_id=int(row[0]),
        seq=int(row[1]),
        arch_id=str(row[2]),
        arch_json=str(row[3]),
        metrics={str(k): float(v) for k, v in json.loads(row[4]).items()},
        status=str(row[5]),
        error=row[6],
        started_at=float(row[7]),
        finished_at=float(row[8]),
        seconds=float(row[9]),
    )
