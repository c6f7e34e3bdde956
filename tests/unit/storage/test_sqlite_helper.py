"""The one SQLite helper: settings, schema creation and the schema-version check."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import autobuild.evaluation.cache
import autobuild.storage.kept
import autobuild.storage.sqlite_store
from autobuild.evaluation import BaseEvaluator, CachedEvaluator, Metric
from autobuild.exceptions import ConfigError, DataError
from autobuild.storage import SQLiteRunStore
from autobuild.storage.sqlite import Schema, connect, write_transaction

NOTES = Schema("note book", 2, "CREATE TABLE notes (text TEXT NOT NULL)", "use a new file")


class Constant(BaseEvaluator):
    metrics = (Metric("lat", "min", "ms"),)

    def _evaluate(self, archs):
        return [{"lat": 1.5} for _ in archs]


def _pragmas(conn: sqlite3.Connection) -> dict[str, object]:
    names = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "user_version")
    return {name: conn.execute(f"PRAGMA {name}").fetchone()[0] for name in names}


def _set_user_version(path: Path, version: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()


def test_new_file_gets_settings_schema_and_version(tmp_path: Path) -> None:
    conn = connect(tmp_path / "sub" / "n.db", NOTES, busy_timeout=2.5)
    assert _pragmas(conn) == {
        "journal_mode": "wal",
        "synchronous": 2,  # FULL
        "foreign_keys": 1,
        "busy_timeout": 2500,
        "user_version": 2,
    }
    with write_transaction(conn):
        conn.execute("INSERT INTO notes VALUES ('kept')")

    def insert_then_fail() -> None:
        with write_transaction(conn):
            conn.execute("INSERT INTO notes VALUES ('dropped')")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        insert_then_fail()
    assert not conn.in_transaction
    conn.close()
    again = connect(tmp_path / "sub" / "n.db", NOTES)
    assert again.execute("SELECT text FROM notes").fetchall() == [("kept",)]
    again.close()


def test_run_store_and_cache_share_the_helper(tmp_path: Path, tiny_space) -> None:
    assert autobuild.storage.kept.connect is connect
    assert autobuild.evaluation.cache.connect is connect
    with SQLiteRunStore(tmp_path / "runs.db") as store:
        runs = _pragmas(store._conn)
    cache = CachedEvaluator(Constant(tiny_space), tmp_path / "cache.db")
    cached = _pragmas(cache._connect())
    cache.close()
    assert (
        runs
        == cached
        == {
            "journal_mode": "wal",
            "synchronous": 2,
            "foreign_keys": 1,
            "busy_timeout": 30000,
            "user_version": 1,
        }
    )


@pytest.mark.parametrize("version", [7, -3])
def test_a_foreign_user_version_is_refused(tmp_path: Path, tiny_space, version: int) -> None:
    runs, cache = tmp_path / "runs.db", tmp_path / "cache.db"
    SQLiteRunStore(runs).close()
    CachedEvaluator(Constant(tiny_space), cache).close()
    for path in (runs, cache):
        _set_user_version(path, version)
    with pytest.raises(DataError, match="run store") as err:
        SQLiteRunStore(runs)
    assert f"has schema version {version}, this autobuild reads version 1" in str(err.value)
    assert "point --storage at a new file" in str(err.value)
    with pytest.raises(DataError, match=f"evaluation cache .* has schema version {version}"):
        CachedEvaluator(Constant(tiny_space), cache)


def test_files_without_a_user_version_are_stamped(tmp_path: Path, tiny_space) -> None:
    runs, cache = tmp_path / "runs.db", tmp_path / "cache.db"
    with SQLiteRunStore(runs) as store:
        sid = store.create_or_resume("X", space_fingerprint="fp", config={}, seed=0).id
        store.record(sid, "a", "[]", {"acc": 1.0}, started_at=0, finished_at=1)
    ev = CachedEvaluator(Constant(tiny_space), cache)
    ev.evaluate(tiny_space.sample(2, seed=0))
    ev.close()
    for path in (runs, cache):  # as the releases before the version check wrote them
        _set_user_version(path, 0)
    with SQLiteRunStore(runs) as store:
        assert store.count(sid) == 1
        assert _pragmas(store._conn)["user_version"] == 1
    ev = CachedEvaluator(Constant(tiny_space), cache)
    assert len(ev) == 2
    assert _pragmas(ev._connect())["user_version"] == 1
    ev.close()


def test_a_file_of_another_kind_is_refused(tmp_path: Path, tiny_space) -> None:
    runs, cache = tmp_path / "runs.db", tmp_path / "cache.db"
    SQLiteRunStore(runs).close()
    CachedEvaluator(Constant(tiny_space), cache).close()
    with pytest.raises(DataError, match=r"not a run store \(tables \['records'\]\)"):
        SQLiteRunStore(cache)
    with pytest.raises(DataError, match="not an evaluation cache"):
        CachedEvaluator(Constant(tiny_space), runs)


def test_open_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="Cannot open the note book"):
        connect(blocker / "n.db", NOTES)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(DataError, match="is not a usable note book"):
        connect(junk, NOTES)
    for bad in (-1, float("nan"), True, "5"):
        with pytest.raises(ConfigError, match="busy_timeout"):
            connect(tmp_path / "n.db", NOTES, busy_timeout=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="Schema version"):
        Schema("x", 0, "CREATE TABLE t (a)", "")
