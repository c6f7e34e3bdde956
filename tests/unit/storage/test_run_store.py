"""The run store contract, on every backend, and the SQLite store's durability."""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from autobuild.exceptions import ConfigError, DataError
from autobuild.storage import (
    BaseRunStore,
    InMemoryRunStore,
    RunStore,
    SQLiteRunStore,
    open_run_store,
    parse_storage_url,
)

CONFIG = {"method": "autobuild-nas", "budget": 250, "objectives": ["acc:max", "flops:min"]}


def _open(path: Path) -> RunStore:
    return RunStore(path / "runs.db")


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BaseRunStore]:
    """A fresh store of each backend: both must behave the same."""
    opened: BaseRunStore = (
        SQLiteRunStore(tmp_path / "runs.db") if request.param == "sqlite" else InMemoryRunStore()
    )
    with opened:
        yield opened


def _search(store: BaseRunStore, name: str = "X", **overrides: object) -> int:
    kwargs: dict = {"space_fingerprint": "fp1", "config": CONFIG, "seed": 7}
    kwargs.update(overrides)
    return store.create_or_resume(name, **kwargs).id


def _rec(store: BaseRunStore, sid: int, arch_id: str, acc: float = 0.5) -> int:
    return store.record(
        sid,
        arch_id,
        json.dumps({"id": arch_id}),
        {"acc": acc, "flops": 1e6},
        started_at=100.0,
        finished_at=102.5,
    )


def test_round_trip(store: BaseRunStore) -> None:
    sid = _search(store)
    seq = store.record(
        sid,
        "a1",
        {"stages": [[3, 6], [5]]},
        {"acc": 0.91, "flops": 12},
        started_at=10.0,
        finished_at=13.25,
    )
    assert seq == 0
    rec = store.lookup(sid, "a1")
    assert rec is not None
    assert rec.search_id == sid
    assert rec.arch == {"stages": [[3, 6], [5]]}
    assert rec.metrics == {"acc": 0.91, "flops": 12.0}
    assert isinstance(rec.metrics["flops"], float)
    assert rec.ok
    assert rec.error is None
    assert (rec.started_at, rec.finished_at, rec.seconds) == (10.0, 13.25, 3.25)
    with pytest.raises(AttributeError):
        rec.seq = 3  # type: ignore[misc]


def test_order_and_count(store: BaseRunStore) -> None:
    sid = _search(store)
    other = _search(store, "Y")
    ids = [f"arch-{i}" for i in (5, 1, 9, 3, 0)]
    seqs = [_rec(store, sid, a) for a in ids]
    assert _rec(store, other, "arch-1") == 0  # seq is per search
    assert seqs == [0, 1, 2, 3, 4]
    assert [e.arch_id for e in store.evaluations(sid)] == ids
    assert [e.seq for e in store.evaluations(sid)] == seqs
    assert store.count(sid) == 5
    assert store.count(other) == 1
    assert store.lookup(sid, "missing") is None


def test_resume_in_one_store(store: BaseRunStore) -> None:
    first = store.create_or_resume("X", space_fingerprint="fp1", config=CONFIG, seed=7)
    _rec(store, first.id, "a")
    reordered = dict(reversed(list(CONFIG.items())))  # key order does not matter
    again = store.create_or_resume("X", space_fingerprint="fp1", config=reordered, seed=7)
    assert again == first
    assert [e.arch_id for e in store.evaluations(again.id)] == ["a"]
    assert store.list_searches() == [first]
    assert store.get_search("nope") is None
    with pytest.raises(DataError, match="no search with id 99"):
        store.mark_finished(99)


def test_resume_returns_same_search_and_evaluations(tmp_path: Path) -> None:
    with _open(tmp_path) as store:
        first = store.create_or_resume("X", space_fingerprint="fp1", config=CONFIG, seed=7)
        _rec(store, first.id, "a")
        _rec(store, first.id, "b")
    reordered = dict(reversed(list(CONFIG.items())))  # key order does not matter
    with _open(tmp_path) as store:
        again = store.create_or_resume("X", space_fingerprint="fp1", config=reordered, seed=7)
        assert again == first
        assert again.status == "running"
        assert [e.arch_id for e in store.evaluations(again.id)] == ["a", "b"]
        assert _rec(store, again.id, "c") == 2
        store.mark_finished(again.id)
        store.mark_finished(again.id)
        [listed] = store.list_searches()
        assert listed.finished
        assert store.get_search("X") == listed
        assert store.get_search("nope") is None


@pytest.mark.parametrize(
    ("field", "value", "mentioned"),
    [
        ("space_fingerprint", "fp2", "space fingerprint"),
        ("config", {**CONFIG, "budget": 100}, "config"),
        ("seed", 8, "seed"),
    ],
)
def test_mismatched_search_refused(
    store: BaseRunStore, field: str, value: object, mentioned: str
) -> None:
    _search(store)
    with pytest.raises(ConfigError, match="--name 'X' already holds a different search") as e:
        _search(store, **{field: value})
    assert mentioned in str(e.value)
    assert "pick another name" in str(e.value)


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///runs.db", "runs.db"),
        ("sqlite:///sub/dir/runs.db", "sub/dir/runs.db"),
        ("sqlite:////abs/path.db", "/abs/path.db"),
        ("sqlite:///:memory:", ":memory:"),
    ],
)
def test_url_parsing_good(url: str, path: str) -> None:
    assert parse_storage_url(url) == path


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://user@host/db",
        "mysql:///runs.db",
        "sqlite://host/runs.db",
        "sqlite://",
        "sqlite:///",
        "sqlite:///runs.db?mode=ro",
        "runs.db",
    ],
)
def test_url_parsing_bad(url: str) -> None:
    with pytest.raises(ConfigError, match="sqlite:///") as e:
        parse_storage_url(url)
    assert repr(url) in str(e.value)


def test_from_url_relative_and_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with RunStore.from_url("sqlite:///rel/runs.db") as store:
        _search(store)
    assert (tmp_path / "rel" / "runs.db").exists()
    with RunStore(f"sqlite:///{tmp_path}/abs.db") as store:  # tmp_path is absolute: 4 slashes
        _search(store)
    assert (tmp_path / "abs.db").exists()
    with pytest.raises(ConfigError, match="unsupported scheme 'redis'"):
        RunStore("redis://localhost/0")
    with RunStore.from_url("sqlite:///:memory:") as store:
        assert store.count(_search(store)) == 0


def test_pragmas(tmp_path: Path) -> None:
    with _open(tmp_path) as store:
        conn = store._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]


def test_failed_evaluation_stored_with_error(store: BaseRunStore) -> None:
    sid = _search(store)
    seq = store.record(
        sid,
        "bad",
        "[1, 2]",
        {},
        status="failed",
        error="RuntimeError: CUDA out of memory",
        started_at=1.0,
        finished_at=2.0,
    )
    rec = store.lookup(sid, "bad")
    assert rec is not None
    assert (rec.seq, rec.status, rec.ok, rec.metrics) == (seq, "failed", False, {})
    assert rec.error == "RuntimeError: CUDA out of memory"
    with pytest.raises(ConfigError, match="needs its error text"):
        store.record(sid, "b2", "[]", {}, status="failed", started_at=1, finished_at=2)
    with pytest.raises(ConfigError, match="cannot carry error"):
        store.record(sid, "b3", "[]", {"a": 1}, error="x", started_at=1, finished_at=2)
    with pytest.raises(ConfigError, match="status must be"):
        store.record(sid, "b4", "[]", {"a": 1}, status="oops", started_at=1, finished_at=2)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_metric_refused(store: BaseRunStore, bad: float) -> None:
    sid = _search(store)
    with pytest.raises(DataError, match="only finite values"):
        store.record(sid, "a", "{}", {"acc": bad}, started_at=0, finished_at=1)
    with pytest.raises(DataError, match="real number"):
        store.record(sid, "a", "{}", {"acc": "0.5"}, started_at=0, finished_at=1)
    with pytest.raises(DataError, match="at least one metric"):
        store.record(sid, "a", "{}", {}, started_at=0, finished_at=1)
    assert store.count(sid) == 0  # nothing half-written
    assert _rec(store, sid, "a") == 0  # and seq 0 is still free


def test_duplicate_returns_existing_seq(store: BaseRunStore) -> None:
    sid = _search(store)
    assert _rec(store, sid, "a", acc=0.1) == 0
    assert _rec(store, sid, "b") == 1
    assert _rec(store, sid, "a", acc=0.9) == 0  # idempotent, first write wins
    # The same architecture given as a value instead of text is the same architecture.
    assert store.record(sid, "a", {"id": "a"}, {"acc": 1}, started_at=0, finished_at=1) == 0
    assert store.count(sid) == 2
    rec = store.lookup(sid, "a")
    assert rec is not None
    assert rec.metrics["acc"] == 0.1
    with pytest.raises(DataError, match="must be canonical"):
        store.record(sid, "a", '{"other": 1}', {"acc": 1}, started_at=0, finished_at=1)


def test_unknown_search_and_closed_store(store: BaseRunStore) -> None:
    with pytest.raises(DataError, match="no search with id 99"):
        _rec(store, 99, "a")
    with pytest.raises(DataError, match="no search with id 99"):
        store.mark_finished(99)
    store.close()
    store.close()
    with pytest.raises(ConfigError, match="closed"):
        store.count(1)


def test_not_a_run_store_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DataError, match="not a usable run store"):
        RunStore(junk)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(DataError, match="not a run store"):
        RunStore(other)
    newer = tmp_path / "newer.db"
    RunStore(newer).close()
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    conn.close()
    with pytest.raises(DataError, match="schema version"):
        RunStore(newer)


def test_two_connections_see_each_others_commits(tmp_path: Path) -> None:
    with _open(tmp_path) as one, _open(tmp_path) as two:
        sid = _search(one)
        assert _search(two) == sid
        assert _rec(one, sid, "a") == 0
        assert _rec(two, sid, "b") == 1
        assert two.lookup(sid, "a") is not None
        assert [e.arch_id for e in one.evaluations(sid)] == ["a", "b"]
        assert _rec(two, sid, "a") == 0


_WRITER = """
import json, sys, time
from autobuild.search import RunStore
store = RunStore(sys.argv[1])
sid = store.create_or_resume("killme", space_fingerprint="fp", config={}, seed=0).id
print("ready", flush=True)
i = 0
while True:
    t = time.time()
    seq = store.record(sid, f"arch-{i}", json.dumps({"i": i}), {"acc": i / 1000},
                       started_at=t, finished_at=t)
    print(seq, flush=True)
    i += 1
"""


def test_kill_9_durability(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    printed: list[int] = []
    deadline = time.monotonic() + 120
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()  # type: ignore[union-attr]
        while len(printed) < 5:
            line = proc.stdout.readline()
            assert line, f"writer exited early: {proc.stderr.read()}"  # type: ignore[union-attr]
            printed.append(int(line))
            assert time.monotonic() < deadline
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    printed += [int(line) for line in rest.split()]
    assert printed == list(range(len(printed)))

    # Check integrity with a plain connection before the store touches (and checkpoints) it.
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    raw.close()
    with RunStore(db) as store:
        search = store.create_or_resume("killme", space_fingerprint="fp", config={}, seed=0)
        stored = store.evaluations(search.id)
        seqs = [e.seq for e in stored]
        assert seqs == list(range(len(stored)))  # dense, no torn records
        assert set(printed) <= set(seqs)
        for e in stored:
            assert e.arch_id == f"arch-{e.seq}"
            assert e.metrics == {"acc": e.seq / 1000}
        # Resuming continues the order without re-evaluating anything.
        n = len(stored)
        again = store.record(
            search.id, "arch-0", {"i": 0}, {"acc": 1}, started_at=0, finished_at=1
        )
        assert again == 0
        assert _rec(store, search.id, "new") == n


def test_concurrent_writers_get_dense_unique_seqs(tmp_path: Path) -> None:
    import threading

    with _open(tmp_path) as setup:
        sid = _search(setup)
    errors: list[BaseException] = []

    def write(prefix: str) -> None:
        try:
            with _open(tmp_path) as store:
                for i in range(25):
                    _rec(store, sid, f"{prefix}-{i}")
                    _rec(store, sid, f"shared-{i}")  # both writers race for the same archs
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(p,)) for p in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    with _open(tmp_path) as store:
        stored = store.evaluations(sid)
    assert [e.seq for e in stored] == list(range(75))
    assert len({e.arch_id for e in stored}) == 75


def test_config_compared_as_canonical_json(store: BaseRunStore) -> None:
    _search(store, config={"a": 1, "b": [1, 2]})
    assert _search(store, config={"b": [1, 2], "a": 1}) == 1
    with pytest.raises(ConfigError, match=r'config \{"a":1,"b":\[1,2\]\} != \{"a":1.0'):
        _search(store, config={"a": 1.0, "b": [1, 2]})  # 1.0 is not 1 in JSON text
    with pytest.raises(ConfigError, match="JSON-serialisable"):
        _search(store, "Z", config={"a": object()})


def test_returned_records_are_copies(store: BaseRunStore) -> None:
    sid = _search(store)
    _rec(store, sid, "a", acc=0.25)
    rec = store.lookup(sid, "a")
    assert rec is not None
    rec.metrics["acc"] = 99.0
    store.evaluations(sid)[0].metrics.clear()
    store.get_search("X").config.clear()  # type: ignore[union-attr]
    again = store.lookup(sid, "a")
    assert again is not None
    assert again.metrics == {"acc": 0.25, "flops": 1e6}
    assert store.get_search("X").config == CONFIG  # type: ignore[union-attr]


def test_backends_return_the_same_records(tmp_path: Path) -> None:
    def session(store: BaseRunStore) -> tuple[list, list, list]:
        with store:
            sid = _search(store)
            other = _search(store, "Y", seed=None, config={})
            for i, arch_id in enumerate(["c", "a", "b", "a"]):
                _rec(store, sid, arch_id, acc=i / 4)
            store.record(
                other, "x", [1], {}, status="failed", error="E: x", started_at=0, finished_at=1
            )
            store.mark_finished(sid)
            searches = [s.__dict__ | {"created_at": 0} for s in store.list_searches()]
            return searches, store.evaluations(sid), store.evaluations(other)

    assert session(SQLiteRunStore(tmp_path / "runs.db")) == session(InMemoryRunStore())


def test_memory_store_writers_in_threads_get_dense_unique_seqs() -> None:
    import threading

    store = InMemoryRunStore()
    sid = _search(store)

    def write(prefix: str) -> None:
        for i in range(50):
            _rec(store, sid, f"{prefix}-{i}")
            _rec(store, sid, f"shared-{i}")

    threads = [threading.Thread(target=write, args=(p,)) for p in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    stored = store.evaluations(sid)
    assert [e.seq for e in stored] == list(range(200))
    assert len({e.arch_id for e in stored}) == 200


def test_open_run_store(tmp_path: Path) -> None:
    with open_run_store() as memory:
        assert isinstance(memory, InMemoryRunStore)
        assert repr(memory) == "InMemoryRunStore(':memory:')"
    with open_run_store(f"sqlite:///{tmp_path}/o.db") as sqlite:
        assert isinstance(sqlite, SQLiteRunStore)
        assert sqlite.path == f"{tmp_path}/o.db"
    with pytest.raises(ConfigError, match="unsupported scheme 'redis'"):
        open_run_store("redis://localhost/0")


def test_former_import_paths() -> None:
    import autobuild.search
    import autobuild.search.storage
    import autobuild.storage

    assert autobuild.search.RunStore is SQLiteRunStore
    assert autobuild.search.storage.RunStore is SQLiteRunStore
    assert autobuild.search.parse_storage_url is parse_storage_url
    assert autobuild.search.SearchRecord is autobuild.storage.SearchRecord
    assert autobuild.search.EvaluationRecord is autobuild.storage.EvaluationRecord
