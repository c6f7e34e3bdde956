"""The run store or study storage a storage URL names, or one in memory when there is none."""

from __future__ import annotations

from autobuild.storage.base import BaseRunStore
from autobuild.storage.memory import InMemoryRunStore
from autobuild.storage.sqlite_store import SQLiteRunStore
from autobuild.storage.study_base import BaseStudyStorage
from autobuild.storage.study_memory import InMemoryStudyStorage
from autobuild.storage.study_sqlite import SQLiteStudyStorage
from autobuild.storage.url import parse_storage_url

__all__ = ["open_run_store", "open_study_storage"]


def open_run_store(url: str | None = None, *, busy_timeout: float = 30.0) -> BaseRunStore:
    """Open the run store ``url`` names (``--storage``); a fresh in-memory one for ``None``.

    Args:
        url: A ``sqlite:///...`` URL (see :func:`~autobuild.storage.parse_storage_url`), or
            ``None`` for an :class:`~autobuild.storage.InMemoryRunStore`.
        busy_timeout: Seconds an SQLite store waits for another writer's lock.

    Returns:
        The open store; close it (or use ``with``) when done.

    Raises:
        ConfigError: ``url`` is not an accepted storage URL.
        DataError: The file it names cannot be used as a run store.

    Example:
        >>> open_run_store(None)
        InMemoryRunStore(':memory:')
    """
    if url is None:
        return InMemoryRunStore()
    return SQLiteRunStore(parse_storage_url(url), busy_timeout=busy_timeout)


def open_study_storage(url: str | None = None, *, busy_timeout: float = 30.0) -> BaseStudyStorage:
    """Open the study storage ``url`` names; a fresh in-memory one for ``None``.

    Args:
        url: A ``sqlite:///...`` URL (see :func:`~autobuild.storage.parse_storage_url`), or
            ``None`` for an :class:`~autobuild.storage.InMemoryStudyStorage`.
        busy_timeout: Seconds an SQLite storage waits for another writer's lock.

    Returns:
        The open storage; close it (or use ``with``) when done.

    Raises:
        ConfigError: ``url`` is not an accepted storage URL.
        DataError: The file it names cannot be used as a study storage (e.g. a run store).

    Example:
        >>> open_study_storage(None)
        InMemoryStudyStorage(':memory:')
    """
    if url is None:
        return InMemoryStudyStorage()
    return SQLiteStudyStorage(parse_storage_url(url), busy_timeout=busy_timeout)
