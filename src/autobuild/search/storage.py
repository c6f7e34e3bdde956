"""The run store under its former module path; it lives in :mod:`autobuild.storage`.

Kept so that ``from autobuild.search.storage import RunStore`` (and the other names below)
keeps working; new code imports from :mod:`autobuild.storage`.
"""

from __future__ import annotations

from autobuild.storage import (
    EvaluationRecord,
    EvaluationStatus,
    RunStore,
    SearchRecord,
    parse_storage_url,
)
from autobuild.storage.sqlite_store import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "EvaluationRecord",
    "EvaluationStatus",
    "RunStore",
    "SearchRecord",
    "parse_storage_url",
]
