"""What every storage shares: a place it is kept, a lifetime, and the SQLite file form.

* :class:`Kept` -- the base of every store: its ``path`` (a file, or ``":memory:"``), an
  idempotent :meth:`Kept.close` (template method: a backend releases what it holds in
  ``_close``), ``closed``, and the check every public method makes first.
* :class:`SQLiteFile` -- the SQLite backend's half: opens the file with the store's
  :class:`~autobuild.storage.sqlite.Schema` (durable settings, schema check), from a path
  or a ``sqlite:///`` URL, and closes the connection.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, Self

from autobuild._closing import Closing
from autobuild.exceptions import ConfigError
from autobuild.storage.sqlite import Schema, check_busy_timeout, connect
from autobuild.storage.url import parse_storage_url

__all__ = ["Kept", "SQLiteFile"]


class Kept(Closing, ABC):
    """A store kept at ``path``, closed once; use it as a context manager or :meth:`close`.

    Args:
        path: Where the data is kept, as shown in messages (a file path or ``":memory:"``).

    Attributes:
        path: Where the data is kept.
    """

    #: What the store is, in messages (e.g. ``"run store"``).
    kind: ClassVar[str]

    def __init__(self, path: str) -> None:
        self.path = path
        self._closed = False

    def close(self) -> None:
        """Release the store (idempotent); what it recorded is already kept."""
        if not self._closed:
            self._closed = True
            self._close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigError(f"{self.kind} {self.path!r} is closed; open it again to use it")

    @abstractmethod
    def _close(self) -> None:
        """Release what the backend holds (called once)."""


class SQLiteFile:
    """Mixin of an SQLite backend: put it before the store's base class.

    Args:
        path: The database file (created when missing), ``":memory:"``, or a
            ``sqlite:///...`` URL.
        busy_timeout: Seconds to wait for another process's write lock.

    Raises:
        ConfigError: A URL that is not an accepted ``sqlite:///`` URL, a file that cannot be
            opened, or an invalid ``busy_timeout``.
        DataError: The file is not an SQLite database, holds another kind of store or
            another schema version, or cannot be put in WAL mode.
    """

    #: The layout of the store's files.
    schema: ClassVar[Schema]
    path: str
    _conn: sqlite3.Connection

    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0) -> None:
        if isinstance(path, str) and "://" in path:
            path = parse_storage_url(path)
        super().__init__(str(path))  # type: ignore[call-arg]  # the store's base class
        self._conn = connect(self.path, self.schema, busy_timeout=check_busy_timeout(busy_timeout))

    @classmethod
    def from_url(cls, url: str, *, busy_timeout: float = 30.0) -> Self:
        """Open the store a ``sqlite:///...`` URL names (see :func:`parse_storage_url`).

        Raises:
            ConfigError: The URL is not of the accepted form.
        """
        return cls(parse_storage_url(url), busy_timeout=busy_timeout)

    def _close(self) -> None:
        self._conn.close()
