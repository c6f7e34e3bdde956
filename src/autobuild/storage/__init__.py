"""Storage: run stores of searches and study storages (SQLite or in memory), one SQLite helper.

* :class:`BaseRunStore` -- the interface: searches and their evaluations, recorded as they
  finish, so a search resumes without evaluating anything twice;
* :class:`SQLiteRunStore` (also :data:`RunStore`) -- in a crash-safe SQLite file;
* :class:`InMemoryRunStore` -- in this process, for a search that keeps nothing;
* :class:`BaseStudyStorage` -- ask/tell studies over architectures: trials handed out and
  told by several workers at once, and the rounds of the study's sampler;
  :class:`SQLiteStudyStorage` and :class:`InMemoryStudyStorage` keep them;
* :func:`open_run_store` / :func:`open_study_storage` / :func:`parse_storage_url` -- the
  store or study storage a ``--storage`` URL names;
* :mod:`autobuild.storage.sqlite` -- opening an SQLite file with the project's durable
  settings, its schema and a schema-version check (also used by the evaluation cache);
* :mod:`autobuild.storage.kept` -- what both kinds of store share: their lifetime, and the
  SQLite backends' opening of their file.
"""

from __future__ import annotations

from autobuild.storage.base import BaseRunStore
from autobuild.storage.factory import open_run_store, open_study_storage
from autobuild.storage.memory import InMemoryRunStore
from autobuild.storage.records import EvaluationRecord, EvaluationStatus, SearchRecord
from autobuild.storage.sqlite_store import RunStore, SQLiteRunStore
from autobuild.storage.study_base import BaseStudyStorage
from autobuild.storage.study_memory import InMemoryStudyStorage
from autobuild.storage.study_records import RoundRecord, StudyRecord, TrialRecord, TrialState
from autobuild.storage.study_sqlite import SQLiteStudyStorage
from autobuild.storage.url import parse_storage_url

__all__ = [
    "BaseRunStore",
    "BaseStudyStorage",
    "EvaluationRecord",
    "EvaluationStatus",
    "InMemoryRunStore",
    "InMemoryStudyStorage",
    "RoundRecord",
    "RunStore",
    "SQLiteRunStore",
    "SQLiteStudyStorage",
    "SearchRecord",
    "StudyRecord",
    "TrialRecord",
    "TrialState",
    "open_run_store",
    "open_study_storage",
    "parse_storage_url",
]
