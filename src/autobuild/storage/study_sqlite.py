"""A crash-safe study storage: studies, trials and rounds in an SQLite file.

Durability:
    The file is opened by :func:`autobuild.storage.sqlite.connect` (WAL journal,
    ``synchronous=FULL``): once :meth:`~SQLiteStudyStorage.ask` or
    :meth:`~SQLiteStudyStorage.tell` has returned, its transaction is committed *and*
    fsynced, so it survives ``kill -9`` of the process, an OS crash and a power loss.

Concurrency:
    Several processes (or connections) may ask and tell one study in the same file: each
    write takes the write lock up front (``BEGIN IMMEDIATE``) and waits up to
    ``busy_timeout`` seconds (30 by default) for it. An ``ask`` reads the study's trials and
    adds the new ones inside that one transaction, so no architecture is handed out twice
    and trial numbers are dense and unique per study.

Example:
    >>> with SQLiteStudyStorage(":memory:") as storage:
    ...     study = storage.create_study("demo", space_fingerprint="abc", space={}, config={})
    ...     [trial] = storage.ask(study.id, [("a1", '{"k": 3}')], 1, round=0, now=10.0)
    ...     storage.tell(trial.id, state="complete", metrics={"acc": 0.9}, now=12.0).state
    'complete'
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, cast

from autobuild.storage._json import canonical_json
from autobuild.storage.kept import SQLiteFile
from autobuild.storage.sqlite import Schema, write_transaction
from autobuild.storage.study_base import BaseStudyStorage
from autobuild.storage.study_records import RoundRecord, StudyRecord, TrialRecord, TrialState

__all__ = ["STUDY_SCHEMA_VERSION", "SQLiteStudyStorage"]

STUDY_SCHEMA_VERSION = 1
"""Version of the study storage's layout; a storage refuses a file of another version."""

_DDL = """
CREATE TABLE IF NOT EXISTS studies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    space_fingerprint TEXT NOT NULL,
    space TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    number INTEGER NOT NULL CHECK (number >= 0),
    arch_id TEXT NOT NULL,
    arch TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'complete', 'failed')),
    metrics TEXT NOT NULL,
    error TEXT,
    round INTEGER NOT NULL CHECK (round >= -1),
    attempts INTEGER NOT NULL CHECK (attempts >= 1),
    asked_at REAL NOT NULL,
    told_at REAL,
    UNIQUE (study_id, arch_id),
    UNIQUE (study_id, number)
);
CREATE INDEX IF NOT EXISTS trials_by_state ON trials (study_id, state);
CREATE TABLE IF NOT EXISTS rounds (
    study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    round INTEGER NOT NULL CHECK (round >= 0),
    n_told INTEGER NOT NULL CHECK (n_told >= 0),
    created_at REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (study_id, round)
);
"""

#: The columns of the ``studies`` table, in the order :func:`_study` reads them.
_STUDY_COLUMNS = "id, name, space_fingerprint, space, config, created_at"
#: The columns of the ``trials`` table, in the order :func:`_trial` reads them.
_TRIAL_COLUMNS = (
    "id, study_id, number, arch_id, arch, state, metrics, error, round, attempts, asked_at,"
    " told_at"
)
#: The columns of the ``rounds`` table, in the order :func:`_round` reads them.
_ROUND_COLUMNS = "study_id, round, n_told, created_at, data"

_SCHEMA = Schema(
    kind="study storage",
    version=STUDY_SCHEMA_VERSION,
    ddl=_DDL,
    hint="point the study at a new file or an existing study storage",
)


class SQLiteStudyStorage(SQLiteFile, BaseStudyStorage):
    """Study storage in an SQLite file; see the module docstring.

    Args:
        path: Database file path, ``":memory:"``, or a ``sqlite:///...`` URL. Parent folders
            of a file are created.
        busy_timeout: Seconds to wait for another writer's lock before failing.

    Raises:
        ConfigError: ``path`` is a URL that is not an accepted ``sqlite:///`` URL, cannot be
            opened, or ``busy_timeout`` is invalid.
        DataError: The file is not an SQLite database, is not a study storage (e.g. a run
            store), was written with another schema version, or cannot be put in WAL mode.
    """

    schema = _SCHEMA

    # -- studies --------------------------------------------------------------------------

    def _add_study(
        self,
        name: str,
        space_fingerprint: str,
        space_json: str,
        config_json: str,
        created_at: float,
    ) -> StudyRecord | None:
        with write_transaction(self._conn):
            if self._study_named(name) is not None:
                return None
            cursor = self._conn.execute(
                "INSERT INTO studies (name, space_fingerprint, space, config, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, space_fingerprint, space_json, config_json, created_at),
            )
            study_id = _rowid(cursor)
        return StudyRecord(
            id=study_id,
            name=name,
            space_fingerprint=space_fingerprint,
            space=json.loads(space_json),
            config=json.loads(config_json),
            created_at=created_at,
        )

    def _study_named(self, name: str) -> StudyRecord | None:
        row = self._conn.execute(
            f"SELECT {_STUDY_COLUMNS} FROM studies WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else _study(row)

    def _study(self, study_id: int) -> StudyRecord | None:
        row = self._conn.execute(
            f"SELECT {_STUDY_COLUMNS} FROM studies WHERE id = ?", (study_id,)
        ).fetchone()
        return None if row is None else _study(row)

    def _studies(self) -> list[StudyRecord]:
        rows = self._conn.execute(f"SELECT {_STUDY_COLUMNS} FROM studies ORDER BY id").fetchall()
        return [_study(row) for row in rows]

    def _has_study(self, study_id: int) -> bool:
        return bool(
            self._conn.execute("SELECT 1 FROM studies WHERE id = ?", (study_id,)).fetchone()
        )

    # -- trials ---------------------------------------------------------------------------

    def _ask(
        self,
        study_id: int,
        proposals: list[tuple[str, str]],
        n: int,
        round: int,
        stale_before: float | None,
        now: float,
    ) -> list[TrialRecord] | None:
        conn = self._conn
        with write_transaction(conn):
            if not self._has_study(study_id):
                return None
            ids: list[int] = []
            if stale_before is not None:
                stale = conn.execute(
                    "SELECT id FROM trials WHERE study_id = ? AND state = 'pending'"
                    " AND asked_at <= ? ORDER BY number LIMIT ?",
                    (study_id, stale_before, n),
                ).fetchall()
                ids = [int(row[0]) for row in stale]
                conn.executemany(
                    "UPDATE trials SET asked_at = ?, attempts = attempts + 1 WHERE id = ?",
                    [(now, trial_id) for trial_id in ids],
                )
            if len(ids) < n:
                number = int(
                    conn.execute(
                        "SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE study_id = ?",
                        (study_id,),
                    ).fetchone()[0]
                )
                for arch_id, arch_json in proposals:
                    if len(ids) == n:
                        break
                    if conn.execute(
                        "SELECT 1 FROM trials WHERE study_id = ? AND arch_id = ?",
                        (study_id, arch_id),
                    ).fetchone():
                        continue
                    cursor = conn.execute(
                        "INSERT INTO trials (study_id, number, arch_id, arch, state, metrics,"
                        " round, attempts, asked_at) VALUES (?, ?, ?, ?, 'pending', '{}', ?, 1,"
                        " ?)",
                        (study_id, number, arch_id, arch_json, round, now),
                    )
                    ids.append(_rowid(cursor))
                    number += 1
            # Read back inside the transaction: what was handed out, as it is now stored.
            handed = [self._trial(trial_id) for trial_id in ids]
        return [trial for trial in handed if trial is not None]

    def _tell(
        self,
        trial_id: int,
        state: str,
        metrics: dict[str, float],
        error: str | None,
        told_at: float,
    ) -> tuple[TrialRecord, bool] | None:
        with write_transaction(self._conn):
            cursor = self._conn.execute(
                "UPDATE trials SET state = ?, metrics = ?, error = ?, told_at = ?"
                " WHERE id = ? AND state = 'pending'",
                (state, canonical_json(metrics, "metrics"), error, told_at, trial_id),
            )
            stored = self._trial(trial_id)
        return None if stored is None else (stored, cursor.rowcount > 0)

    def _trials(self, study_id: int, states: tuple[str, ...] | None) -> list[TrialRecord] | None:
        if not self._has_study(study_id):
            return None
        sql = f"SELECT {_TRIAL_COLUMNS} FROM trials WHERE study_id = ?"
        args: list[Any] = [study_id]
        if states is not None:
            sql += f" AND state IN ({', '.join('?' * len(states))})" if states else " AND 0"
            args += states
        rows = self._conn.execute(sql + " ORDER BY number", args).fetchall()
        return [_trial(row) for row in rows]

    def _trial(self, trial_id: int) -> TrialRecord | None:
        row = self._conn.execute(
            f"SELECT {_TRIAL_COLUMNS} FROM trials WHERE id = ?", (trial_id,)
        ).fetchone()
        return None if row is None else _trial(row)

    # -- sampler rounds -------------------------------------------------------------------

    def _add_round(
        self, study_id: int, round: int, n_told: int, created_at: float, data_json: str
    ) -> RoundRecord | None:
        with write_transaction(self._conn):
            if not self._has_study(study_id):
                return None
            self._conn.execute(
                "INSERT INTO rounds (study_id, round, n_told, created_at, data)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (study_id, round) DO NOTHING",
                (study_id, round, n_told, created_at, data_json),
            )
            row = self._conn.execute(
                f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE study_id = ? AND round = ?",
                (study_id, round),
            ).fetchone()
        return _round(row)

    def _rounds(self, study_id: int) -> list[RoundRecord] | None:
        if not self._has_study(study_id):
            return None
        rows = self._conn.execute(
            f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE study_id = ? ORDER BY round",
            (study_id,),
        ).fetchall()
        return [_round(row) for row in rows]

    def _last_round(self, study_id: int) -> int | None:
        if not self._has_study(study_id):
            return None
        row = self._conn.execute(
            "SELECT COALESCE(MAX(round), 0) FROM rounds WHERE study_id = ?", (study_id,)
        ).fetchone()
        return int(row[0])


def _study(row: tuple[Any, ...]) -> StudyRecord:
    """The study of a row of :data:`_STUDY_COLUMNS`."""
    return StudyRecord(
        id=int(row[0]),
        name=str(row[1]),
        space_fingerprint=str(row[2]),
        space=json.loads(row[3]),
        config=json.loads(row[4]),
        created_at=float(row[5]),
    )


def _trial(row: tuple[Any, ...]) -> TrialRecord:
    """The trial of a row of :data:`_TRIAL_COLUMNS`."""
    return TrialRecord(
        id=int(row[0]),
        study_id=int(row[1]),
        number=int(row[2]),
        arch_id=str(row[3]),
        arch_json=str(row[4]),
        state=cast(TrialState, str(row[5])),
        metrics={str(k): float(v) for k, v in json.loads(row[6]).items()},
        error=None if row[7] is None else str(row[7]),
        round=int(row[8]),
        attempts=int(row[9]),
        asked_at=float(row[10]),
        told_at=None if row[11] is None else float(row[11]),
    )


def _round(row: tuple[Any, ...]) -> RoundRecord:
    """The round of a row of :data:`_ROUND_COLUMNS`."""
    return RoundRecord(
        study_id=int(row[0]),
        round=int(row[1]),
        n_told=int(row[2]),
        created_at=float(row[3]),
        data=json.loads(row[4]),
    )


def _rowid(cursor: sqlite3.Cursor) -> int:
    """The id of the row an ``INSERT`` just added."""
    rowid = cursor.lastrowid
    assert rowid is not None, "an INSERT gives its row's id"
    return int(rowid)
