"""Search over architectures; for now the crash-safe run store every search writes to."""

from __future__ import annotations

from autobuild.search.storage import (
    SCHEMA_VERSION,
    EvaluationRecord,
    EvaluationStatus,
    RunStore,
    SearchRecord,
    parse_storage_url,
)

__all__ = [
    "SCHEMA_VERSION",
    "EvaluationRecord",
    "EvaluationStatus",
    "RunStore",
    "SearchRecord",
    "parse_storage_url",
]
