"""The study storage contract, on every backend, and the SQLite storage across processes."""

from __future__ import annotations

import json
import math
import multiprocessing
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autobuild.exceptions import ConfigError, DataError
from autobuild.storage import (
    BaseStudyStorage,
    InMemoryStudyStorage,
    RunStore,
    SQLiteStudyStorage,
    open_study_storage,
)

SPACE = {"name": "tiny", "stages": [{"min_layers": 1, "max_layers": 3}]}
CONFIG = {"objectives": ["acc:max", "flops:min"], "sampler": "autobuild", "seed": 7}


@pytest.fixture(params=["sqlite", "memory"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BaseStudyStorage]:
    """A fresh storage of each backend: both must behave the same."""
    opened: BaseStudyStorage = (
        SQLiteStudyStorage(tmp_path / "studies.db")
        if request.param == "sqlite"
        else InMemoryStudyStorage()
    )
    with opened:
        yield opened


def _study(storage: BaseStudyStorage, name: str = "S") -> int:
    return storage.create_study(name, space_fingerprint="fp1", space=SPACE, config=CONFIG).id


def _props(*ids: str) -> list[tuple[str, str]]:
    return [(a, json.dumps({"id": a})) for a in ids]


# -- studies ------------------------------------------------------------------------------


def test_create_get_list(storage: BaseStudyStorage) -> None:
    first = storage.create_study("S", space_fingerprint="fp1", space=SPACE, config=CONFIG)
    second = storage.create_study("T", space_fingerprint="fp2", space={}, config={})
    assert (first.name, first.space_fingerprint, first.space, first.config) == (
        "S",
        "fp1",
        SPACE,
        CONFIG,
    )
    assert first.id != second.id
    assert storage.get_study("S") == first
    assert storage.get_study("nope") is None
    assert storage.study(second.id) == second
    assert storage.list_studies() == [first, second]
    with pytest.raises(AttributeError):
        first.name = "x"  # type: ignore[misc]
    storage.get_study("S").config.clear()  # type: ignore[union-attr]  # a copy
    assert storage.study(first.id).config == CONFIG


def test_duplicate_name_refused(storage: BaseStudyStorage) -> None:
    _study(storage)
    with pytest.raises(ConfigError, match=r"study 'S' already exists in .*load_study"):
        storage.create_study("S", space_fingerprint="other", space={}, config={})
    assert len(storage.list_studies()) == 1


def test_bad_study_arguments(storage: BaseStudyStorage) -> None:
    with pytest.raises(ConfigError, match="non-empty string"):
        storage.create_study("", space_fingerprint="fp", space={}, config={})
    with pytest.raises(ConfigError, match="space must be a mapping"):
        storage.create_study("S", space_fingerprint="fp", space=[], config={})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="JSON-serialisable"):
        storage.create_study("S", space_fingerprint="fp", space={}, config={"x": object()})
    with pytest.raises(DataError, match="no study with id 99"):
        storage.study(99)
    with pytest.raises(ConfigError, match="`study_id` must be an integer"):
        storage.study("1")  # type: ignore[arg-type]
    assert storage.list_studies() == []


# -- ask ----------------------------------------------------------------------------------


def test_ask_hands_out_dense_new_trials(storage: BaseStudyStorage) -> None:
    sid = _study(storage)
    first = storage.ask(sid, _props("a", "b", "c"), 2, round=0, now=100.0)
    assert [(t.number, t.arch_id, t.state) for t in first] == [
        (0, "a", "pending"),
        (1, "b", "pending"),
    ]
    t = first[0]
    assert (t.study_id, t.round, t.attempts, t.asked_at, t.told_at) == (sid, 0, 1, 100.0, None)
    assert (t.metrics, t.error, t.done) == ({}, None, False)
    assert t.arch == {"id": "a"}
    assert t.arch_json == '{"id":"a"}'  # canonical
    # Already in the study (pending or told, whatever its JSON) and repeats are skipped.
    storage.tell(first[0].id, state="complete", metrics={"acc": 0.5})
    again = storage.ask(
        sid,
        [("a", "[1]"), ("b", {"id": "b"}), ("d", {"k": 1}), ("d", {"k": 2}), ("c", "{}")],
        5,
        round=3,
        now=101.0,
    )
    assert [(t.number, t.arch_id, t.round) for t in again] == [(2, "d", 3), (3, "c", 3)]
    assert again[0].arch == {"k": 1}  # the first of a repeated id
    assert storage.ask(sid, _props("a", "b", "c", "d"), 3, round=4) == []  # ran out
    assert storage.ask(sid, [], 1, round=-1) == []
    trials = storage.trials(sid)
    assert [t.number for t in trials] == [0, 1, 2, 3]
    assert [t.arch_id for t in trials] == ["a", "b", "d", "c"]
    assert len({t.id for t in trials}) == 4


def test_trial_ids_unique_across_studies_numbers_per_study(storage: BaseStudyStorage) -> None:
    s1, s2 = _study(storage, "S"), _study(storage, "T")
    one = storage.ask(s1, _props("a", "b"), 2, round=0)
    two = storage.ask(s2, _props("a", "b"), 2, round=0)
    assert [t.number for t in two] == [0, 1]
    assert {t.id for t in one}.isdisjoint({t.id for t in two})
    assert storage.trial(two[1].id) == two[1]
    assert [t.arch_id for t in storage.trials(s1)] == ["a", "b"]


def test_stale_pending_trials_are_re_asked_first(storage: BaseStudyStorage) -> None:
    sid = _study(storage)
    a, b, c = storage.ask(sid, _props("a", "b", "c"), 3, round=0, now=100.0)
    storage.tell(b.id, state="failed", metrics={}, error="OOM", now=105.0)
    late = storage.ask(sid, _props("d"), 1, round=1, now=150.0)
    assert [t.arch_id for t in late] == ["d"]
    # Without stale_after nothing is re-asked.
    assert storage.ask(sid, _props("a", "c"), 2, round=1, now=1000.0) == []
    # a and c (pending since 100) are stale after 60 s at 170; d (150) is not; b is told.
    handed = storage.ask(sid, _props("e", "f"), 3, round=2, stale_after=60, now=170.0)
    assert [t.arch_id for t in handed] == ["a", "c", "e"]
    re_a, re_c, new_e = handed
    assert (re_a.id, re_a.number, re_a.round) == (a.id, 0, 0)  # same trial
    assert (re_a.attempts, re_a.asked_at) == (2, 170.0)
    assert (re_c.id, re_c.number, re_c.attempts) == (c.id, 2, 2)
    assert (new_e.number, new_e.attempts, new_e.round) == (4, 1, 2)
    assert storage.trial(a.id) == re_a
    # At most n are re-asked, lowest number first; a re-asked trial is fresh again.
    [only] = storage.ask(sid, [], 1, round=2, stale_after=0, now=170.0)
    assert (only.arch_id, only.attempts) == ("a", 3)
    [d] = storage.ask(sid, [], 5, round=2, stale_after=10, now=175.0)  # cut-off 165
    assert (d.arch_id, d.attempts, d.asked_at) == ("d", 2, 175.0)
    handed = storage.ask(sid, [], 5, round=2, stale_after=10, now=180.0)  # cut-off 170
    assert [t.arch_id for t in handed] == ["a", "c", "e"]
    # A re-asked trial is still told once.
    storage.tell(a.id, state="complete", metrics={"acc": 1})
    assert storage.trial(a.id).attempts == 4


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 0}, "`n` must be an integer >= 1, got 0"),
        ({"n": True}, "`n` must be an integer"),
        ({"round": -2}, "`round` must be an integer >= -1"),
        ({"stale_after": -1.0}, "`stale_after` must be a finite number >= 0"),
        ({"stale_after": math.nan}, "`stale_after`"),
        ({"now": math.inf}, "now must be finite"),
        ({"proposals": "abc"}, "sequence of .arch_id, arch_json. pairs"),
        ({"proposals": [("a",)]}, r"proposal 0 must be an \(arch_id, arch_json\) pair"),
        ({"proposals": [("", "{}")]}, "arch_id of proposal 0 must be a non-empty string"),
        ({"proposals": [("a", "{")]}, "arch_json of 'a' is not valid JSON"),
        ({"proposals": [("b", "{}"), ("a", {"x": object()})]}, "architecture 'a'"),
    ],
)
def test_bad_ask_arguments(storage: BaseStudyStorage, kwargs: dict, match: str) -> None:
    sid = _study(storage)
    args: dict = {"proposals": _props("a"), "n": 1, "round": 0} | kwargs
    with pytest.raises(ConfigError, match=match):
        storage.ask(sid, args.pop("proposals"), args.pop("n"), **args)
    assert storage.trials(sid) == []  # nothing half-written


def test_ask_unknown_study(storage: BaseStudyStorage) -> None:
    with pytest.raises(DataError, match="no study with id 5"):
        storage.ask(5, _props("a"), 1, round=0)
    with pytest.raises(DataError, match="no study with id 5"):
        storage.trials(5)
    with pytest.raises(DataError, match="no study with id 5"):
        storage.rounds(5)
    with pytest.raises(DataError, match="no study with id 5"):
        storage.add_round(5, 0, n_told=0, data={})


# -- tell ---------------------------------------------------------------------------------


def test_tell_complete_and_failed(storage: BaseStudyStorage) -> None:
    sid = _study(storage)
    a, b, _c = storage.ask(sid, _props("a", "b", "c"), 3, round=0, now=1.0)
    told = storage.tell(a.id, state="complete", metrics={"acc": 0.9, "flops": 12}, now=5.0)
    assert (told.state, told.done, told.error, told.told_at) == ("complete", True, None, 5.0)
    assert told.metrics == {"acc": 0.9, "flops": 12.0}
    assert isinstance(told.metrics["flops"], float)
    assert (told.id, told.number, told.asked_at, told.attempts) == (a.id, 0, 1.0, 1)
    failed = storage.tell(b.id, state="failed", metrics={}, error="RuntimeError: OOM", now=6.0)
    assert (failed.state, failed.metrics, failed.error) == ("failed", {}, "RuntimeError: OOM")
    assert storage.trial(a.id) == told
    assert [t.arch_id for t in storage.trials(sid, ["pending"])] == ["c"]
    assert [t.arch_id for t in storage.trials(sid, {"complete", "failed"})] == ["a", "b"]
    assert storage.trials(sid, []) == []
    storage.trial(a.id).metrics.clear()  # a copy
    assert storage.trial(a.id).metrics == {"acc": 0.9, "flops": 12.0}


def test_second_tell_refused_first_told_wins(storage: BaseStudyStorage) -> None:
    sid = _study(storage)
    [a] = storage.ask(sid, _props("a"), 1, round=0)
    storage.tell(a.id, state="complete", metrics={"acc": 0.25})
    with pytest.raises(ConfigError, match=r"trial 0 \('a'\) of study .* is already complete") as e:
        storage.tell(a.id, state="complete", metrics={"acc": 0.75})
    assert "first-told-wins" in str(e.value)
    with pytest.raises(ConfigError, match="already complete"):
        storage.tell(a.id, state="failed", metrics={}, error="late worker")
    assert storage.trial(a.id).metrics == {"acc": 0.25}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_bad_metrics_refused(storage: BaseStudyStorage, bad: float) -> None:
    sid = _study(storage)
    [a] = storage.ask(sid, _props("a"), 1, round=0)
    with pytest.raises(DataError, match=r"only finite values.*state='failed'"):
        storage.tell(a.id, state="complete", metrics={"acc": bad})
    with pytest.raises(DataError, match=r"must be a real number, got '0.5'"):
        storage.tell(a.id, state="complete", metrics={"acc": "0.5"})  # type: ignore[dict-item]
    with pytest.raises(DataError, match="real number"):
        storage.tell(a.id, state="complete", metrics={"acc": True})
    with pytest.raises(DataError, match="at least one metric"):
        storage.tell(a.id, state="complete", metrics={})
    with pytest.raises(ConfigError, match="needs its error text"):
        storage.tell(a.id, state="failed", metrics={})
    with pytest.raises(ConfigError, match="cannot carry error"):
        storage.tell(a.id, state="complete", metrics={"acc": 1}, error="x")
    with pytest.raises(ConfigError, match="state must be 'complete' or 'failed'"):
        storage.tell(a.id, state="pending", metrics={"acc": 1})  # type: ignore[arg-type]
    assert storage.trial(a.id).state == "pending"  # nothing half-written
    assert storage.tell(a.id, state="complete", metrics={"acc": 1}).metrics == {"acc": 1.0}


def test_unknown_trial(storage: BaseStudyStorage) -> None:
    with pytest.raises(DataError, match="no trial with id 42"):
        storage.tell(42, state="complete", metrics={"acc": 1})
    with pytest.raises(DataError, match="no trial with id 42"):
        storage.trial(42)
    with pytest.raises(ConfigError, match="unknown trial states"):
        storage.trials(_study(storage), ["done"])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match=r"states=\['pending'\]"):
        storage.trials(1, "pending")  # type: ignore[arg-type]


# -- rounds -------------------------------------------------------------------------------


def test_rounds_insert_or_keep(storage: BaseStudyStorage) -> None:
    sid = _study(storage)
    other = _study(storage, "T")
    assert storage.rounds(sid) == []
    assert storage.last_round(sid) == 0
    r1 = storage.add_round(sid, 1, n_told=20, data={"scores": {"k3": 0.5}})
    r0 = storage.add_round(sid, 0, n_told=10, data={"scores": {"k3": 0.1}})
    assert (r1.study_id, r1.round, r1.n_told, r1.data) == (sid, 1, 20, {"scores": {"k3": 0.5}})
    kept = storage.add_round(sid, 1, n_told=21, data={"scores": {}})  # a second worker
    assert kept == r1
    assert storage.rounds(sid) == [r0, r1]
    assert storage.last_round(sid) == 1
    assert storage.last_round(other) == 0
    with pytest.raises(DataError, match="no study"):
        storage.last_round(999)
    assert storage.add_round(other, 1, n_told=0, data={}).n_told == 0  # rounds are per study
    with pytest.raises(ConfigError, match="`round` must be an integer >= 0"):
        storage.add_round(sid, -1, n_told=0, data={})
    with pytest.raises(ConfigError, match="`n_told` must be an integer >= 0"):
        storage.add_round(sid, 2, n_told=-3, data={})
    with pytest.raises(ConfigError, match="round data must be a mapping"):
        storage.add_round(sid, 2, n_told=0, data=[1])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="data of round 2 must be JSON-serialisable"):
        storage.add_round(sid, 2, n_told=0, data={"x": math.nan})
    assert len(storage.rounds(sid)) == 2


# -- lifetime -----------------------------------------------------------------------------


def test_closed_storage_refused(storage: BaseStudyStorage) -> None:
    sid = _study(storage)
    storage.close()
    storage.close()
    assert storage.closed
    for call in (
        lambda: storage.study(sid),
        lambda: storage.list_studies(),
        lambda: storage.ask(sid, _props("a"), 1, round=0),
        lambda: storage.trials(sid),
        lambda: storage.rounds(sid),
    ):
        with pytest.raises(ConfigError, match=r"study storage .* is closed"):
            call()


def test_backends_return_the_same_records(tmp_path: Path) -> None:
    def session(storage: BaseStudyStorage) -> tuple[list, list, list]:
        with storage:
            sid = _study(storage)
            trials = storage.ask(sid, _props("c", "a", "b"), 2, round=0, now=1.0)
            storage.tell(trials[0].id, state="complete", metrics={"acc": 1}, now=2.0)
            storage.tell(trials[1].id, state="failed", metrics={"x": 2}, error="E", now=3.0)
            storage.ask(sid, _props("b", "d"), 3, round=1, now=4.0)
            storage.ask(sid, [], 1, round=1, stale_after=1, now=6.0)
            storage.add_round(sid, 0, n_told=2, data={"k": [1, 2]})
            rounds = [r.__dict__ | {"created_at": 0} for r in storage.rounds(sid)]
            studies = [s.__dict__ | {"created_at": 0} for s in storage.list_studies()]
            return studies, storage.trials(sid), rounds

    assert session(SQLiteStudyStorage(tmp_path / "s.db")) == session(InMemoryStudyStorage())


def test_persists_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "studies.db"
    with SQLiteStudyStorage(path) as storage:
        study = storage.create_study("S", space_fingerprint="fp", space=SPACE, config=CONFIG)
        a, b = storage.ask(study.id, _props("a", "b"), 2, round=0, now=10.0)
        told = storage.tell(a.id, state="complete", metrics={"acc": 0.5}, now=11.0)
        kept = storage.add_round(study.id, 0, n_told=1, data={"s": 1})
    with SQLiteStudyStorage.from_url(f"sqlite:///{path}") as storage:
        assert storage.get_study("S") == study
        assert storage.trials(study.id) == [told, b]
        assert storage.rounds(study.id) == [kept]
        [c] = storage.ask(study.id, _props("a", "b", "c"), 2, round=1)
        assert c.number == 2
        with pytest.raises(ConfigError, match="already exists"):
            storage.create_study("S", space_fingerprint="fp", space={}, config={})
        conn = storage._conn  # type: ignore[attr-defined]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1


def test_wrong_kind_of_file_refused(tmp_path: Path) -> None:
    runs = tmp_path / "runs.db"
    RunStore(runs).close()
    with pytest.raises(DataError, match=r"not a study storage .*new file"):
        SQLiteStudyStorage(runs)
    studies = tmp_path / "studies.db"
    SQLiteStudyStorage(studies).close()
    with pytest.raises(DataError, match="not a run store"):
        RunStore(studies)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DataError, match="not a usable study storage"):
        SQLiteStudyStorage(junk)
    newer = tmp_path / "newer.db"
    SQLiteStudyStorage(newer).close()
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 2")
    conn.close()
    with pytest.raises(DataError, match="schema version 2"):
        SQLiteStudyStorage(newer)


def test_open_study_storage(tmp_path: Path) -> None:
    with open_study_storage() as memory:
        assert isinstance(memory, InMemoryStudyStorage)
        assert repr(memory) == "InMemoryStudyStorage(':memory:')"
    with open_study_storage(f"sqlite:///{tmp_path}/o.db", busy_timeout=2) as sqlite:
        assert isinstance(sqlite, SQLiteStudyStorage)
        assert sqlite.path == f"{tmp_path}/o.db"
    with pytest.raises(ConfigError, match="unsupported scheme 'redis'"):
        open_study_storage("redis://localhost/0")
    with pytest.raises(ConfigError, match="busy_timeout"):
        open_study_storage(f"sqlite:///{tmp_path}/o.db", busy_timeout=-1)


# -- several workers ----------------------------------------------------------------------


def test_memory_storage_threads_never_share_a_trial() -> None:
    import threading

    storage = InMemoryStudyStorage()
    sid = _study(storage)
    proposals = _props(*(f"arch-{i}" for i in range(60)))
    got: list[int] = []

    def work(seed: int) -> None:
        mine = random.Random(seed).sample(proposals, len(proposals))
        for _ in range(10):
            for trial in storage.ask(sid, mine, 2, round=0):
                got.append(trial.id)
                storage.tell(trial.id, state="complete", metrics={"acc": 1})

    threads = [threading.Thread(target=work, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    trials = storage.trials(sid)
    assert sorted(got) == sorted(t.id for t in trials)
    assert [t.number for t in trials] == list(range(60))
    assert all(t.state == "complete" for t in trials)


def _ask_and_tell(path: str, seed: int, rounds: int, barrier: Any) -> list[int]:
    """Worker: ``rounds`` times ask 2 trials of study 'race' and tell each; their ids.

    Every worker starts asking once ``barrier`` lets them all go, so their asks interleave.
    """
    ids = [f"arch-{i:03d}" for i in range(100)]
    random.Random(seed).shuffle(ids)
    proposals = _props(*ids)
    told = []
    with SQLiteStudyStorage(path) as storage:
        study = storage.get_study("race")
        assert study is not None
        barrier.wait(timeout=30)
        for r in range(rounds):
            for trial in storage.ask(study.id, proposals, 2, round=r):
                storage.tell(trial.id, state="complete", metrics={"seed": seed})
                told.append(trial.id)
    return told


def _create(path: str, barrier: Any) -> str:
    """Worker: create study 'one' once ``barrier`` lets every worker go; who won."""
    with SQLiteStudyStorage(path) as storage:
        barrier.wait(timeout=30)
        try:
            storage.create_study("one", space_fingerprint="fp", space={}, config={})
        except ConfigError as exc:
            return str(exc)
        return "created"


def test_processes_ask_and_tell_without_losing_or_repeating(tmp_path: Path) -> None:
    path = str(tmp_path / "studies.db")
    with SQLiteStudyStorage(path) as storage:
        sid = storage.create_study("race", space_fingerprint="fp", space={}, config={}).id
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(4)
        with ctx.Pool(4) as pool:
            results = pool.starmap(_ask_and_tell, [(path, seed, 10, barrier) for seed in range(4)])
    told = [trial_id for ids in results for trial_id in ids]
    assert all(len(ids) == 20 for ids in results)
    with SQLiteStudyStorage(path) as storage:
        trials = storage.trials(sid)
    assert len(trials) == 80
    assert len({t.arch_id for t in trials}) == 80
    assert [t.number for t in trials] == list(range(80))
    assert all(t.state == "complete" and t.attempts == 1 for t in trials)
    assert sorted(told) == sorted(t.id for t in trials)  # each told once, by its asker


def test_processes_racing_to_create_one_study(tmp_path: Path) -> None:
    path = str(tmp_path / "studies.db")
    SQLiteStudyStorage(path).close()  # the schema exists before the race
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(2)
        with ctx.Pool(2) as pool:
            outcomes = pool.starmap(_create, [(path, barrier), (path, barrier)])
    assert sorted(outcomes)[0] == "created"
    assert "study 'one' already exists" in sorted(outcomes)[1]
    with SQLiteStudyStorage(path) as storage:
        assert [s.name for s in storage.list_studies()] == ["one"]
