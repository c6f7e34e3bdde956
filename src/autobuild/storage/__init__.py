"""Storage: run stores of searches (SQLite or in memory) and the SQLite helper every file uses.

* :class:`BaseRunStore` -- the interface: searches and their evaluations, recorded as they
  finish, so a search resumes without evaluating anything twice;
* :class:`SQLiteRunStore` (also :data:`RunStore`) -- in a crash-safe SQLite file;
* :class:`InMemoryRunStore` -- in this process, for a search that keeps nothing;
* :func:`open_run_store` / :func:`parse_storage_url` -- the store a ``--storage`` URL names;
* :mod:`autobuild.storage.sqlite` -- opening an SQLite file with the project's durable
  settings, its schema and a schema-version check (also used by the evaluation cache).
"""

from __future__ import annotations

from autobuild.storage.base import BaseRunStore
from autobuild.storage.factory import open_run_store
from autobuild.storage.memory import InMemoryRunStore
from autobuild.storage.records import EvaluationRecord, EvaluationStatus, SearchRecord
from autobuild.storage.sqlite_store import RunStore, SQLiteRunStore
from autobuild.storage.url import parse_storage_url

__all__ = [
    "BaseRunStore",
    "EvaluationRecord",
    "EvaluationStatus",
    "InMemoryRunStore",
    "RunStore",
    "SQLiteRunStore",
    "SearchRecord",
    "open_run_store",
    "parse_storage_url",
]
