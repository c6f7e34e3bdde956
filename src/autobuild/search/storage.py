"""A crash-safe run store for searches: every evaluation in SQLite the moment it finishes.

A search is identified by its ``name``; reopening the same name with the same search space
fingerprint, configuration and seed resumes it, with everything already evaluated available
through :meth:`RunStore.evaluations` and :meth:`RunStore.lookup`, so nothing is evaluated twice.

Durability:
    The database runs in WAL journal mode with ``synchronous=FULL``. Once
    :meth:`RunStore.record` has returned, its transaction is committed *and* the WAL has been
    fsynced, so the evaluation survives ``kill -9`` of the process, an OS crash and a power
    loss. (WAL with ``synchronous=NORMAL`` would already survive a killed process, because a
    committed transaction sits in the WAL file in the OS page cache, but it can lose the last
    transactions on an OS crash or power loss.) The extra fsync costs milliseconds per commit,
    nothing next to an evaluation that trains or measures a network, and an evaluation is the
    expensive thing this store exists to keep.

Concurrency:
    Several processes (or connections) may write the same database file: writes take the
    write lock up front (``BEGIN IMMEDIATE``) and wait up to ``busy_timeout`` seconds (30 by
    default) for it, and the evaluation order ``seq`` is assigned inside that transaction, so it
    is dense and unique per search. Values are stored as JSON text; nothing is pickled.

Example:
    >>> with RunStore(":memory:") as store:
    ...     search = store.create_or_resume("demo", space_fingerprint="abc", config={}, seed=0)
    ...     store.record(search.id, "a1", '{"k": 3}', {"acc": 0.9}, started_at=0.0,
    ...                  finished_at=1.5)
    0
"""

from __future__ import annotations

import json
import math
import numbers
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from autobuild.exceptions import ConfigError, DataError
from autobuild.search.records import (
    EVALUATION_COLUMNS,
    EvaluationRecord,
    EvaluationStatus,
    SearchRecord,
    evaluation_from_row,
    search_from_row,
)

__all__ = [
    "SCHEMA_VERSION",
    "EvaluationRecord",
    "EvaluationStatus",
    "RunStore",
    "SearchRecord",
    "parse_storage_url",
]

SCHEMA_VERSION = 1
"""Version of the database layout; a store refuses a file written with another version."""

_URL_FORM = "sqlite:///relative/path.db, sqlite:////absolute/path.db or sqlite:///:memory:"
_MEMORY = ":memory:"

_SCHEMA = """
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


def parse_storage_url(url: str) -> str:
    """Turn a storage URL into an SQLite database path.

    ``sqlite:///runs.db`` is the relative path ``runs.db``, ``sqlite:////abs/runs.db`` the
    absolute path ``/abs/runs.db``, and ``sqlite:///:memory:`` an in-memory database.

    Args:
        url: The storage URL (e.g. the value of ``--storage``).

    Returns:
        The database path, or ``":memory:"``.

    Raises:
        ConfigError: The URL has another scheme, a host, a query, or no path.
    """
    if not isinstance(url, str):
        raise ConfigError(f"storage URL must be a string, got {url!r}; use {_URL_FORM}")
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        scheme = url.split("://", 1)[0] if "://" in url else None
        reason = (
            f"unsupported scheme {scheme!r}"
            if scheme and scheme != "sqlite"
            else "not of the accepted form (a host part is not allowed)"
            if scheme == "sqlite"
            else "not a URL"
        )
        raise ConfigError(f"storage URL {url!r}: {reason}; use {_URL_FORM}")
    path = url[len(prefix) :]
    if not path:
        raise ConfigError(f"storage URL {url!r} names no database file; use {_URL_FORM}")
    if "?" in path or "#" in path:
        raise ConfigError(
            f"storage URL {url!r}: query and fragment parts are not supported; use {_URL_FORM}"
        )
    return path


def _canonical_json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what} must be JSON-serialisable with finite numbers: {exc}") from exc


def _check_metrics(metrics: Mapping[str, Any], arch_id: str) -> dict[str, float]:
    if not isinstance(metrics, Mapping):
        raise DataError(
            f"metrics of {arch_id!r} must be a mapping of name to float, got {metrics!r}"
        )
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if not isinstance(key, str):
            raise DataError(f"metric names must be strings, got {key!r} for {arch_id!r}")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise DataError(f"metric {key!r} of {arch_id!r} must be a real number, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise DataError(
                f"metric {key!r} of {arch_id!r} is {number!r}; only finite values are stored. "
                "Record a non-finite result as status='failed' with an error and no such metric."
            )
        out[key] = number
    return out


def _check_time(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name} must be a Unix time in seconds, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be finite, got {number!r}")
    return number


class RunStore:
    """SQLite store of searches and their evaluations; see the module docstring.

    Args:
        path: Database file path, ``":memory:"``, or a ``sqlite:///...`` URL. Parent folders
            of a file are created.
        busy_timeout: Seconds to wait for another writer's lock before failing.

    Raises:
        ConfigError: ``path`` is a URL that is not an accepted ``sqlite:///`` URL.
        DataError: The file is not an SQLite database, was written with another schema
            version, or cannot be put in WAL mode.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0) -> None:
        if isinstance(path, str) and "://" in path:
            path = parse_storage_url(path)
        self.path = str(path)
        if busy_timeout < 0 or not math.isfinite(busy_timeout):
            raise ConfigError(f"busy_timeout must be a finite number >= 0, got {busy_timeout!r}")
        if self.path != _MEMORY:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._closed = False
        try:
            self._conn = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise DataError(f"cannot open run store {self.path!r}: {exc}") from exc
        try:
            self._configure(busy_timeout)
            self._init_schema()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise DataError(
                f"{self.path!r} is not a usable run store ({exc}); "
                "point --storage at a new file or an existing run store"
            ) from exc
        except BaseException:
            self._conn.close()
            raise

    @classmethod
    def from_url(cls, url: str, *, busy_timeout: float = 30.0) -> RunStore:
        """Open the store a ``sqlite:///...`` URL names (see :func:`parse_storage_url`).

        Args:
            url: The storage URL.
            busy_timeout: Seconds to wait for another writer's lock.

        Returns:
            The open store.

        Raises:
            ConfigError: The URL is not of the accepted form.
        """
        return cls(parse_storage_url(url), busy_timeout=busy_timeout)

    # -- setup ----------------------------------------------------------------------------

    def _configure(self, busy_timeout: float) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if self.path != _MEMORY and str(mode).lower() != "wal":
            raise DataError(
                f"run store {self.path!r} could not be put in WAL mode (got {mode!r}); "
                "put it on a local file system"
            )
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")

    def _init_schema(self) -> None:
        with self._write():
            tables = {
                row[0]
                for row in self._conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                ).fetchall()
            } - {"sqlite_sequence"}
            if tables and "schema_version" not in tables:
                raise DataError(
                    f"{self.path!r} is an SQLite database but not a run store (tables "
                    f"{sorted(tables)}); point --storage at a new file or an existing run store"
                )
            if "schema_version" in tables:
                found = [
                    row[0]
                    for row in self._conn.execute("SELECT version FROM schema_version").fetchall()
                ]
                if found != [SCHEMA_VERSION]:
                    raise DataError(
                        f"run store {self.path!r} has schema version {found}, this autobuild "
                        f"reads version {SCHEMA_VERSION}; use a new storage file"
                    )
                return
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._conn.execute(statement)
            self._conn.execute(
                "INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,)
            )

    # -- transactions ---------------------------------------------------------------------

    def _write(self) -> _WriteTransaction:
        self._check_open()
        return _WriteTransaction(self._conn)

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigError(f"run store {self.path!r} is closed")

    # -- searches -------------------------------------------------------------------------

    def create_or_resume(
        self,
        name: str,
        *,
        space_fingerprint: str,
        config: Mapping[str, Any],
        seed: int | None,
    ) -> SearchRecord:
        """Create the search ``name``, or return it if it already exists with the same setup.

        Args:
            name: Unique search name (``--name``).
            space_fingerprint: Fingerprint of the search space.
            config: Search configuration; must be JSON-serialisable. Compared as canonical
                JSON (key order does not matter).
            seed: Random seed of the search.

        Returns:
            The new or existing search.

        Raises:
            ConfigError: ``name`` already holds a search with a different space fingerprint,
                configuration or seed, or an argument is invalid.
        """
        if not isinstance(name, str) or not name:
            raise ConfigError(f"search name must be a non-empty string, got {name!r}")
        if not isinstance(space_fingerprint, str):
            raise ConfigError(f"space_fingerprint must be a string, got {space_fingerprint!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigError(f"seed must be an integer or None, got {seed!r}")
        if not isinstance(config, Mapping):
            raise ConfigError(f"config must be a mapping, got {type(config).__name__}")
        config_json = _canonical_json(dict(config), "search config")
        with self._write():
            row = self._conn.execute("SELECT * FROM searches WHERE name = ?", (name,)).fetchone()
            if row is None:
                self._conn.execute(
                    "INSERT INTO searches (name, space_fingerprint, config, seed, created_at,"
                    " status) VALUES (?, ?, ?, ?, ?, 'running')",
                    (name, space_fingerprint, config_json, seed, time.time()),
                )
                row = self._conn.execute(
                    "SELECT * FROM searches WHERE name = ?", (name,)
                ).fetchone()
        existing = search_from_row(row)
        differences = []
        if existing.space_fingerprint != space_fingerprint:
            differences.append(
                f"space fingerprint {existing.space_fingerprint!r} != {space_fingerprint!r}"
            )
        if row[3] != config_json:
            differences.append(f"config {row[3]} != {config_json}")
        if existing.seed != seed:
            differences.append(f"seed {existing.seed!r} != {seed!r}")
        if differences:
            raise ConfigError(
                f"--name {name!r} already holds a different search in {self.path!r} ("
                + "; ".join(differences)
                + "); pick another name, or rerun with the original settings to resume it"
            )
        return existing

    def get_search(self, name: str) -> SearchRecord | None:
        """Return the search called ``name``, or ``None``."""
        self._check_open()
        row = self._conn.execute("SELECT * FROM searches WHERE name = ?", (name,)).fetchone()
        return None if row is None else search_from_row(row)

    def list_searches(self) -> list[SearchRecord]:
        """Return every search in the store, oldest first."""
        self._check_open()
        rows = self._conn.execute("SELECT * FROM searches ORDER BY id").fetchall()
        return [search_from_row(row) for row in rows]

    def mark_finished(self, search_id: int) -> None:
        """Mark a search as finished (idempotent).

        Raises:
            DataError: No search has this id.
        """
        with self._write():
            cursor = self._conn.execute(
                "UPDATE searches SET status = 'finished' WHERE id = ?", (search_id,)
            )
            if cursor.rowcount == 0:
                raise DataError(f"no search with id {search_id!r} in {self.path!r}")

    # -- evaluations ----------------------------------------------------------------------

    def record(
        self,
        search_id: int,
        arch_id: str,
        arch_json: Any,
        metrics: Mapping[str, float],
        *,
        status: EvaluationStatus = "ok",
        error: str | None = None,
        started_at: float,
        finished_at: float,
    ) -> int:
        """Store one finished evaluation and commit it durably before returning.

        Recording is idempotent per ``(search_id, arch_id)``: if the architecture is already
        recorded (e.g. a retried distributed task), the existing ``seq`` is returned and the
        stored record is kept unchanged (first write wins), provided ``arch_json`` is the same
        architecture; the search never sees a second ``seq`` for one architecture.

        Args:
            search_id: Id of the search (:attr:`SearchRecord.id`).
            arch_id: Canonical architecture id.
            arch_json: The architecture as JSON text or as a JSON-serialisable value; stored
                as canonical JSON (sorted keys, no spaces), so both forms compare equal.
            metrics: Metric name to finite real number. May be empty only for a failed
                evaluation.
            status: ``"ok"`` or ``"failed"``.
            error: Error text; required for ``"failed"``, must be ``None`` for ``"ok"``.
            started_at: Unix time the evaluation started.
            finished_at: Unix time the evaluation finished.

        Returns:
            The evaluation's 0-based position ``seq`` in the search.

        Raises:
            DataError: A metric is not a finite number, no search has ``search_id``, or
                ``arch_id`` is already recorded with a different architecture.
            ConfigError: ``status``, ``error``, ``arch_json`` or the times are invalid.
        """
        if not isinstance(arch_id, str) or not arch_id:
            raise ConfigError(f"arch_id must be a non-empty string, got {arch_id!r}")
        if status not in ("ok", "failed"):
            raise ConfigError(f"status must be 'ok' or 'failed', got {status!r}")
        if status == "failed" and not (isinstance(error, str) and error):
            raise ConfigError(f"a failed evaluation of {arch_id!r} needs its error text")
        if status == "ok" and error is not None:
            raise ConfigError(f"an ok evaluation of {arch_id!r} cannot carry error {error!r}")
        arch_text = _arch_text(arch_json, arch_id)
        clean = _check_metrics(metrics, arch_id)
        if status == "ok" and not clean:
            raise DataError(f"an ok evaluation of {arch_id!r} needs at least one metric")
        start = _check_time(started_at, "started_at")
        finish = _check_time(finished_at, "finished_at")
        metrics_text = _canonical_json(clean, "metrics")
        with self._write():
            if not self._conn.execute(
                "SELECT 1 FROM searches WHERE id = ?", (search_id,)
            ).fetchone():
                raise DataError(f"no search with id {search_id!r} in {self.path!r}")
            row = self._conn.execute(
                "SELECT seq, arch FROM evaluations WHERE search_id = ? AND arch_id = ?",
                (search_id, arch_id),
            ).fetchone()
            if row is not None:
                if row[1] != arch_text:
                    raise DataError(
                        f"architecture id {arch_id!r} is already recorded for search "
                        f"{search_id} with architecture {row[1]}, not {arch_text}; "
                        "architecture ids must be canonical"
                    )
                return int(row[0])
            seq = int(
                self._conn.execute(
                    "SELECT COALESCE(MAX(seq) + 1, 0) FROM evaluations WHERE search_id = ?",
                    (search_id,),
                ).fetchone()[0]
            )
            self._conn.execute(
                "INSERT INTO evaluations (search_id, seq, arch_id, arch, metrics, status, error,"
                " started_at, finished_at, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    search_id,
                    seq,
                    arch_id,
                    arch_text,
                    metrics_text,
                    status,
                    error,
                    start,
                    finish,
                    finish - start,
                ),
            )
        return seq

    def evaluations(self, search_id: int) -> list[EvaluationRecord]:
        """Return every evaluation of a search, in evaluation order (``seq``)."""
        self._check_open()
        rows = self._conn.execute(
            f"SELECT {EVALUATION_COLUMNS} FROM evaluations WHERE search_id = ? ORDER BY seq",
            (search_id,),
        ).fetchall()
        return [evaluation_from_row(row) for row in rows]

    def lookup(self, search_id: int, arch_id: str) -> EvaluationRecord | None:
        """Return the evaluation of ``arch_id`` in a search, or ``None`` if not yet evaluated."""
        self._check_open()
        row = self._conn.execute(
            f"SELECT {EVALUATION_COLUMNS} FROM evaluations WHERE search_id = ? AND arch_id = ?",
            (search_id, arch_id),
        ).fetchone()
        return None if row is None else evaluation_from_row(row)

    def count(self, search_id: int) -> int:
        """Return how many evaluations (ok and failed) a search has."""
        self._check_open()
        row = self._conn.execute(
            "SELECT COUNT(*) FROM evaluations WHERE search_id = ?", (search_id,)
        ).fetchone()
        return int(row[0])

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (idempotent); committed data is already on disk."""
        if not self._closed:
            self._closed = True
            self._conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RunStore({self.path!r})"


class _WriteTransaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self._conn.execute("COMMIT")
        else:
            self._conn.execute("ROLLBACK")


def _arch_text(arch_json: Any, arch_id: str) -> str:
    if isinstance(arch_json, str):
        try:
            arch_json = json.loads(arch_json)
        except ValueError as exc:
            raise ConfigError(f"arch_json of {arch_id!r} is not valid JSON: {exc}") from exc
    return _canonical_json(arch_json, f"architecture {arch_id!r}")
