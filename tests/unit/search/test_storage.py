"""Tests for the crash-safe run store (autobuild.search.storage)."""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autobuild.exceptions import ConfigError, DataError
from autobuild.search import RunStore, parse_storage_url

CONFIG = {"method": "autobuild-nas", "budget": 250, "objectives": ["acc:max", "flops:min"]}


def _open(path: Path) -> RunStore:
    return RunStore(path / "runs.db")


def _search(store: RunStore, name: str = "X", **overrides: object) -> int:
    kwargs: dict = {"space_fingerprint": "fp1", "config": CONFIG, "seed": 7}
    kwargs.update(overrides)
    return store.create_or_resume(name, **kwargs).id


def _rec(store: RunStore, sid: int, arch_id: str, acc: float = 0.5) -> int:
    return store.record(
        sid,
        arch_id,
        json.dumps({"id": arch_id}),
        {"acc": acc, "flops": 1e6},
        started_at=100.0,
        finished_at=102.5,
    )


def test_round_trip(tmp_path: Path) -> None:
    with _open(tmp_path) as store:
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


def test_order_and_count(tmp_path: Path) -> None:
    with _open(tmp_path) as store:
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
    tmp_path: Path, field: str, value: object, mentioned: str
) -> None:
    with _open(tmp_path) as store:
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


def test_failed_evaluation_stored_with_error(tmp_path: Path) -> None:
    with _open(tmp_path) as store:
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
def test_non_finite_metric_refused(tmp_path: Path, bad: float) -> None:
    with _open(tmp_path) as store:
        sid = _search(store)
        with pytest.raises(DataError, match="only finite values"):
            store.record(sid, "a", "{}", {"acc": bad}, started_at=0, finished_at=1)
        with pytest.raises(DataError, match="real number"):
            store.record(sid, "a", "{}", {"acc": "0.5"}, started_at=0, finished_at=1)
        with pytest.raises(DataError, match="at least one metric"):
            store.record(sid, "a", "{}", {}, started_at=0, finished_at=1)
        assert store.count(sid) == 0  # nothing half-written
        assert _rec(store, sid, "a") == 0  # and seq 0 is still free


def test_duplicate_returns_existing_seq(tmp_path: Path) -> None:
    with _open(tmp_path) as store:
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


def test_unknown_search_and_closed_store(tmp_path: Path) -> None:
    store = _open(tmp_path)
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
