"""A crash-safe run store: every evaluation in an SQLite file the moment it is recorded.

Durability:
    The file is opened by :func:`autobuild.storage.sqlite.connect` (WAL journal,
    ``synchronous=FULL``): once :meth:`~SQLiteRunStore.record` has returned, its transaction
    is committed *and* fsynced, so the evaluation survives ``kill -9`` of the process, an OS
    crash and a power loss.

Concurrency:
    Several processes (or connections) may write the same file: each write takes the write
    lock up front and waits up to ``busy_timeout`` seconds (30 by default) for it, and the
    evaluation order ``seq`` is assigned inside that transaction, so it is dense and unique
    per search.

Compatibility:
    Files keep the ``schema_version`` table of the first layout beside ``PRAGMA
    user_version``, so older releases of autobuild still read the files this one writes.

Example:
    >>> with SQLiteRunStore(":memory:") as store:
    ...     search = store.create_or_resume("demo", space_fingerprint="abc", config={}, seed=0)
    ...     store.record(search.id, "a1", '{"k": 3}', {"acc": 0.9}, started_at=0.0,
    ...                  finished_at=1.5)
    0
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Set
from dataclasses import replace
from typing import Any

from autobuild.storage.base import BaseRunStore, canonical_json
from autobuild.storage.kept import SQLiteFile
from autobuild.storage.records import EvaluationRecord, SearchRecord
from autobuild.storage.sqlite import Schema, write_transaction

__all__ = ["SCHEMA_VERSION", "RunStore", "SQLiteRunStore"]

SCHEMA_VERSION = 1
"""Version of the run store's layout; a store refuses a file written with another version."""

_DDL = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS searches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    space_fingerprint TEXT NOT NULL,
    config TEXT NOT NULL,
    seed INTEGER,
    created_at REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished'))
);
CREATE TABLE IF NOT EXISTS evaluations (
    search_id INTEGER NOT NULL REFERENCES searches(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL CHECK (seq >= 0),
    arch_id TEXT NOT NULL,
    arch TEXT NOT NULL,
    metrics TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error TEXT,
    started_at REAL NOT NULL,
    finished_at REAL NOT NULL,
    seconds REAL NOT NULL,
    PRIMARY KEY (search_id, seq),
    UNIQUE (search_id, arch_id)
);
"""
_DDL += f"INSERT INTO schema_version (version) VALUES ({SCHEMA_VERSION});"

#: The columns of the ``evaluations`` table, in the order :func:`_evaluation` reads them.
_EVALUATION_COLUMNS = (
    "search_id, seq, arch_id, arch, metrics, status, error, started_at, finished_at, seconds"
)


class _RunStoreSchema(Schema):
    def table_version(self, conn: sqlite3.Connection, tables: Set[str]) -> int | None:
        # The first layout kept its version in a table of its own; every file still does.
        if "schema_version" not in tables:
            return None
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_version")]
        return int(versions[0]) if len(versions) == 1 else None


_SCHEMA = _RunStoreSchema(
    kind="run store",
    version=SCHEMA_VERSION,
    ddl=_DDL,
    hint="point --storage at a new file or an existing run store",
)


class SQLiteRunStore(SQLiteFile, BaseRunStore):
    """Run store in an SQLite file; see the module docstring.

    Args:
        path: Database file path, ``":memory:"``, or a ``sqlite:///...`` URL. Parent folders
            of a file are created.
        busy_timeout: Seconds to wait for another writer's lock before failing.

    Raises:
        ConfigError: ``path`` is a URL that is not an accepted ``sqlite:///`` URL, cannot be
            opened, or ``busy_timeout`` is invalid.
        DataError: The file is not an SQLite database, is not a run store, was written with
            another schema version, or cannot be put in WAL mode.
    """

    schema = _SCHEMA

    # -- searches -------------------------------------------------------------------------

    def _get_or_add_search(
        self,
        name: str,
        space_fingerprint: str,
        config_json: str,
        seed: int | None,
        created_at: float,
    ) -> SearchRecord:
        with write_transaction(self._conn):
            row = self._conn.execute("SELECT * FROM searches WHERE name = ?", (name,)).fetchone()
            if row is None:
                self._conn.execute(
                    "INSERT INTO searches (name, space_fingerprint, config, seed, created_at,"
                    " status) VALUES (?, ?, ?, ?, ?, 'running')",
                    (name, space_fingerprint, config_json, seed, created_at),
                )
                row = self._conn.execute(
                    "SELECT * FROM searches WHERE name = ?", (name,)
                ).fetchone()
        return _search(row)

    def _search_named(self, name: str) -> SearchRecord | None:
        row = self._conn.execute("SELECT * FROM searches WHERE name = ?", (name,)).fetchone()
        return None if row is None else _search(row)

    def _searches(self) -> list[SearchRecord]:
        rows = self._conn.execute("SELECT * FROM searches ORDER BY id").fetchall()
        return [_search(row) for row in rows]

    def _set_finished(self, search_id: int) -> bool:
        with write_transaction(self._conn):
            cursor = self._conn.execute(
                "UPDATE searches SET status = 'finished' WHERE id = ?", (search_id,)
            )
        return cursor.rowcount > 0

    # -- evaluations ----------------------------------------------------------------------

    def _append(self, new: EvaluationRecord) -> EvaluationRecord | None:
        with write_transaction(self._conn):
            if not self._conn.execute(
                "SELECT 1 FROM searches WHERE id = ?", (new.search_id,)
            ).fetchone():
                return None
            existing = self._lookup(new.search_id, new.arch_id)
            if existing is not None:
                return existing
            seq = int(
                self._conn.execute(
                    "SELECT COALESCE(MAX(seq) + 1, 0) FROM evaluations WHERE search_id = ?",
                    (new.search_id,),
                ).fetchone()[0]
            )
            self._conn.execute(
                "INSERT INTO evaluations (search_id, seq, arch_id, arch, metrics, status, error,"
                " started_at, finished_at, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.search_id,
                    seq,
                    new.arch_id,
                    new.arch_json,
                    canonical_json(new.metrics, "metrics"),
                    new.status,
                    new.error,
                    new.started_at,
                    new.finished_at,
                    new.seconds,
                ),
            )
        return replace(new, seq=seq)

    def _evaluations(self, search_id: int) -> list[EvaluationRecord]:
        rows = self._conn.execute(
            f"SELECT {_EVALUATION_COLUMNS} FROM evaluations WHERE search_id = ? ORDER BY seq",
            (search_id,),
        ).fetchall()
        return [_evaluation(row) for row in rows]

    def _lookup(self, search_id: int, arch_id: str) -> EvaluationRecord | None:
        row = self._conn.execute(
            f"SELECT {_EVALUATION_COLUMNS} FROM evaluations WHERE search_id = ? AND arch_id = ?",
            (search_id, arch_id),
        ).fetchone()
        return None if row is None else _evaluation(row)

    def _count(self, search_id: int) -> int:
        row = self._conn.execute(
            "SELECT COUNT(*) FROM evaluations WHERE search_id = ?", (search_id,)
        ).fetchone()
        return int(row[0])


#: The name the SQLite run store has always had.
RunStore = SQLiteRunStore


def _search(row: tuple[Any, ...]) -> SearchRecord:
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


def _evaluation(row: tuple[Any, ...]) -> EvaluationRecord:
    """The evaluation of a row of :data:`_EVALUATION_COLUMNS`."""
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
