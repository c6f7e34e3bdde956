"""Evaluate every architecture once: a persistent SQLite cache in front of any evaluator.

Measured metrics (latency on this machine, a training run) are expensive and, for latency,
noisy: measuring an architecture once and answering every later request from the cache
makes the metric a fixed property of the architecture, so searches that meet the same
architecture (different methods, seeds, a resumed run) see the same number.

Cache key:
    A record is stored under ``(evaluator key, space digest, canonical architecture id)``.
    The evaluator key is ``evaluator.cache_key()`` when the evaluator defines it (the
    library's measured evaluators include every setting that changes the number, e.g.
    device, batch, threads), else its class name and metric names. The space digest is the
    sha256 of :meth:`~autobuild.spaces.SearchSpace.fingerprint`. A cache file is tied to the
    machine it was measured on only by where the user keeps it: keep one file per machine.

Durability:
    The file is opened by :func:`autobuild.storage.sqlite.connect`, as the run store is (WAL
    journal, ``synchronous=FULL``, a checked schema version), with one committed transaction
    per evaluated batch of the wrapped evaluator (``evaluator.batch_size``), so a killed run
    loses at most the batch in flight. Several processes may share a file (they wait up to
    ``busy_timeout`` seconds for the write lock). Records are JSON text; nothing is pickled.

Example:
    >>> import autobuild as ab
    >>> from autobuild.evaluation import CachedEvaluator, LatencyEvaluator
    >>> space = ab.spaces.nasbench_macro()  # doctest: +SKIP
    >>> latency = CachedEvaluator(LatencyEvaluator(space), "latency.sqlite")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autobuild.evaluation.base import BaseEvaluator, Record
from autobuild.exceptions import ConfigError, DataError
from autobuild.spaces import Architecture
from autobuild.storage.sqlite import Schema, check_busy_timeout, connect, write_transaction

__all__ = ["CachedEvaluator"]

_SCHEMA = Schema(
    kind="evaluation cache",
    version=1,
    ddl="""
CREATE TABLE IF NOT EXISTS records (
    evaluator TEXT NOT NULL,
    space TEXT NOT NULL,
    arch_id TEXT NOT NULL,
    record TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (evaluator, space, arch_id)
);
""",
    hint="give another cache file, or delete this one to measure again",
)


def _evaluator_key(evaluator: BaseEvaluator) -> str:
    custom = getattr(evaluator, "cache_key", None)
    if callable(custom):
        key = custom()
        if not isinstance(key, str) or not key:
            raise ConfigError(
                f"{type(evaluator).__name__}.cache_key() must return a non-empty string, got "
                f"{key!r}."
            )
        return key
    return f"{type(evaluator).__name__}:{','.join(evaluator.metric_names)}"


class CachedEvaluator(BaseEvaluator):
    """Answers from a SQLite cache; evaluates (and stores) only architectures it lacks.

    Args:
        evaluator: The evaluator whose records are cached.
        path: The cache file (created with its folder if missing).
        busy_timeout: Seconds to wait for another process's write lock.

    Attributes:
        hits: Architectures answered from the cache by this object.
        misses: Architectures this object had evaluated.

    Raises:
        ConfigError: ``path`` cannot be opened, or a bad ``busy_timeout``.
        DataError: ``path`` is not an evaluation cache, or has another schema version.
    """

    def __init__(
        self, evaluator: BaseEvaluator, path: str | Path, *, busy_timeout: float = 30.0
    ) -> None:
        if not isinstance(evaluator, BaseEvaluator):
            raise ConfigError(
                f"CachedEvaluator wraps a BaseEvaluator, got {type(evaluator).__name__}."
            )
        timeout = check_busy_timeout(busy_timeout)
        super().__init__(evaluator.space, batch_size=evaluator.batch_size)
        self.evaluator = evaluator
        self.metrics = evaluator.metrics
        self.path = Path(path)
        self.busy_timeout = timeout
        self.key = _evaluator_key(evaluator)
        self.space_digest = hashlib.sha256(self.space.fingerprint().encode()).hexdigest()
        self.hits = 0
        self.misses = 0
        self._conn: sqlite3.Connection | None = None
        self._connect()  # fail now, not at the first evaluation, on a bad path

    # A connection cannot cross processes: workers (process or Ray executors) reconnect.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_conn"] = None
        return state

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect(self.path, _SCHEMA, busy_timeout=self.busy_timeout)
        return self._conn

    def __len__(self) -> int:
        """Records cached for this evaluator and space."""
        row = (
            self._connect()
            .execute(
                "SELECT COUNT(*) FROM records WHERE evaluator = ? AND space = ?",
                (self.key, self.space_digest),
            )
            .fetchone()
        )
        return int(row[0])

    def cached(self, archs: Sequence[Architecture]) -> list[Record | None]:
        """The cached record of each architecture, ``None`` where there is none."""
        conn = self._connect()
        out: list[Record | None] = []
        for arch in archs:
            row = conn.execute(
                "SELECT record FROM records WHERE evaluator = ? AND space = ? AND arch_id = ?",
                (self.key, self.space_digest, self.space.canonical_id(arch)),
            ).fetchone()
            out.append(None if row is None else self._decode(row[0]))
        return out

    def _decode(self, text: str) -> Record:
        try:
            rec = json.loads(text)
            return {str(k): float(v) for k, v in rec.items()}
        except (ValueError, TypeError, AttributeError) as err:
            raise DataError(
                f"The evaluation cache {str(self.path)!r} holds a corrupt record ({text[:80]!r}); "
                "delete the file to measure again."
            ) from err

    def _evaluate(self, archs: Sequence[Architecture]) -> list[Record]:
        found = self.cached(archs)
        todo = [i for i, rec in enumerate(found) if rec is None]
        self.hits += len(archs) - len(todo)
        if todo:
            fresh = self.evaluator.evaluate([archs[i] for i in todo])
            self.misses += len(todo)
            now = time.time()
            rows = []
            for i, rec in zip(todo, fresh, strict=True):
                clean = {k: float(v) for k, v in rec.items()}
                found[i] = clean
                if all(math.isfinite(v) for v in clean.values()):
                    rows.append(
                        (
                            self.key,
                            self.space_digest,
                            self.space.canonical_id(archs[i]),
                            json.dumps(clean, sort_keys=True),
                            now,
                        )
                    )
            conn = self._connect()
            with write_transaction(conn):
                conn.executemany("INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?)", rows)
            # Another process may have stored an architecture first: its record wins, so every
            # process answers with the same number.
            for i, stored in zip(todo, self.cached([archs[i] for i in todo]), strict=True):
                if stored is not None:
                    found[i] = stored
        return [rec for rec in found if rec is not None]

    def close(self) -> None:
        """Close the database connection (it reopens on the next call)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __repr__(self) -> str:
        return f"CachedEvaluator({self.evaluator!r}, path={str(self.path)!r})"
