"""Opening autobuild's SQLite files: durable settings, the schema and its version, in one place.

Every SQLite file the library writes (the run store of searches, the evaluation cache) is
opened by :func:`connect` and written through :func:`write_transaction`, so they share one
set of guarantees.

Durability:
    The database runs in WAL journal mode with ``synchronous=FULL``. Once a write transaction
    has committed, the WAL has been fsynced, so what it wrote survives ``kill -9`` of the
    process, an OS crash and a power loss. (WAL with ``synchronous=NORMAL`` would already
    survive a killed process, because a committed transaction sits in the WAL file in the OS
    page cache, but it can lose the last transactions on an OS crash or power loss.) The extra
    fsync costs milliseconds per commit, nothing next to the evaluations these files keep.

Concurrency:
    Several processes (or connections) may write one file: a write transaction takes the
    write lock up front (``BEGIN IMMEDIATE``) and waits up to ``busy_timeout`` seconds for it.
    Foreign keys are enforced.

Schema version:
    ``PRAGMA user_version`` holds the version of the file's layout (:attr:`Schema.version`).
    A new file gets the schema and its version; a file with another version, or with the
    tables of something else (:meth:`Schema.table_version`), is refused with an error that
    says what was found. A file written before the version was kept there (``user_version``
    0, with the tables of this layout) is stamped with it.

Example:
    >>> schema = Schema("notebook", 1, "CREATE TABLE notes (text TEXT NOT NULL)", "use a new file")
    >>> conn = connect(":memory:", schema)
    >>> with write_transaction(conn):
    ...     _ = conn.execute("INSERT INTO notes VALUES ('hello')")
    >>> conn.execute("PRAGMA user_version").fetchone()[0]
    1
"""

from __future__ import annotations

import math
import numbers
import re
import sqlite3
from collections.abc import Iterator, Set
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autobuild.exceptions import ConfigError, DataError

__all__ = ["MEMORY", "Schema", "check_busy_timeout", "connect", "write_transaction"]

#: The path of an SQLite database that lives in memory only.
MEMORY = ":memory:"

_CREATE_TABLE = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.IGNORECASE)


@dataclass(frozen=True)
class Schema:
    """The layout of one kind of SQLite file.

    Attributes:
        kind: What such a file is, in messages (e.g. ``"run store"``).
        version: Version of the layout, kept in ``PRAGMA user_version`` (>= 1).
        ddl: The ``CREATE`` statements of a new file, separated by ``;``.
        hint: How to get past a file that cannot be used, ending every such error.
    """

    kind: str
    version: int
    ddl: str
    hint: str

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or not isinstance(self.version, int):
            raise ConfigError(f"Schema version must be an integer >= 1, got {self.version!r}.")
        if self.version < 1:
            raise ConfigError(f"Schema version must be an integer >= 1, got {self.version!r}.")

    @property
    def tables(self) -> frozenset[str]:
        """The tables :attr:`ddl` creates."""
        return frozenset(_CREATE_TABLE.findall(self.ddl))

    def table_version(self, conn: sqlite3.Connection, tables: Set[str]) -> int | None:
        """The layout version an existing file's tables show.

        Consulted for every file that has tables: it tells a file of this kind from another
        one, and gives the version of files written before ``user_version`` was set. The
        default recognises a file holding every table of :attr:`ddl` as of :attr:`version`;
        a subclass whose layout records its version in a table reads it there.

        Args:
            conn: The open connection (inside the opening write transaction).
            tables: The file's table names.

        Returns:
            The layout version, or ``None`` when the file is not of this kind.
        """
        return self.version if self.tables <= tables else None


def check_busy_timeout(value: Any) -> float:
    """``value`` as seconds to wait for another writer's lock.

    Raises:
        ConfigError: ``value`` is not a finite real number >= 0.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ConfigError(
            f"`busy_timeout` must be a finite number of seconds >= 0, got {value!r}."
        )
    return float(value)


def connect(path: str | Path, schema: Schema, *, busy_timeout: float = 30.0) -> sqlite3.Connection:
    """Open (or create) the SQLite file ``path`` with the project's settings and ``schema``.

    Args:
        path: The database file, or ``":memory:"``. Parent folders of a file are created.
        schema: The layout the file must have (created in a new file).
        busy_timeout: Seconds to wait for another writer's lock.

    Returns:
        An autocommit connection (``isolation_level=None``): write with
        :func:`write_transaction`.

    Raises:
        ConfigError: ``busy_timeout`` is invalid, or ``path`` cannot be opened (e.g. a file
            in the way of its folder, no permission).
        DataError: ``path`` is not an SQLite database, holds tables of something else, has
            another schema version, or cannot be put in WAL mode.
    """
    timeout = check_busy_timeout(busy_timeout)
    where = str(path)
    try:
        if where != MEMORY:
            Path(where).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(where, timeout=timeout, isolation_level=None)
    except (OSError, sqlite3.Error) as err:
        raise ConfigError(
            f"Cannot open the {schema.kind} {where!r}: {err}. Give a writable file path (it "
            "is created with its folders if missing)."
        ) from err
    try:
        _configure(conn, where, schema, timeout)
        _check_schema(conn, where, schema)
    except sqlite3.DatabaseError as err:
        conn.close()
        raise DataError(f"{where!r} is not a usable {schema.kind} ({err}); {schema.hint}") from err
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` on an autocommit connection; ``ROLLBACK`` on error.

    The write lock is taken when the block starts, so what the block reads cannot change
    before it commits (e.g. the next free number of a sequence).
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _configure(conn: sqlite3.Connection, where: str, schema: Schema, timeout: float) -> None:
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if where != MEMORY and str(mode).lower() != "wal":
        raise DataError(
            f"{schema.kind} {where!r} could not be put in WAL mode (got {mode!r}); put it on "
            "a local file system"
        )
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")


def _check_schema(conn: sqlite3.Connection, where: str, schema: Schema) -> None:
    with write_transaction(conn):
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        } - {"sqlite_sequence"}
        if found == 0 and not tables:
            # executescript() would commit the open transaction first: one statement at a
            # time keeps the new schema and its version in this transaction.
            for statement in schema.ddl.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {schema.version}")
            return
        shown = schema.table_version(conn, tables) if found in (0, schema.version) else found
        if shown is None:
            article = "an" if schema.kind[:1].lower() in "aeiou" else "a"
            raise DataError(
                f"{where!r} is an SQLite database but not {article} {schema.kind} (tables "
                f"{sorted(tables)}); {schema.hint}"
            )
        if shown != schema.version:
            raise DataError(
                f"{schema.kind} {where!r} has schema version {shown}, this autobuild reads "
                f"version {schema.version} (the file was written by another version of "
                f"autobuild or by another program); {schema.hint}"
            )
        if found == 0:  # written before the version was kept in user_version
            conn.execute(f"PRAGMA user_version = {schema.version}")
