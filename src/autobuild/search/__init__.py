"""Search over architectures: NSGA-II over per-unit candidates and the crash-safe run store."""

from __future__ import annotations

from autobuild.search.nsga import (
    MAX_FILL_ENUMERATION,
    Objective,
    SearchResult,
    full_candidates,
    pareto_indices,
    run_search,
)
from autobuild.search.storage import (
    SCHEMA_VERSION,
    EvaluationRecord,
    EvaluationStatus,
    RunStore,
    SearchRecord,
    parse_storage_url,
)

__all__ = [
    "MAX_FILL_ENUMERATION",
    "SCHEMA_VERSION",
    "EvaluationRecord",
    "EvaluationStatus",
    "Objective",
    "RunStore",
    "SearchRecord",
    "SearchResult",
    "full_candidates",
    "pareto_indices",
    "parse_storage_url",
    "run_search",
]
