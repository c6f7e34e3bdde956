"""A study through files: pending and best CSVs, telling a results CSV, the summary."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from tests.conftest import read_rows

import autobuild as ab
from autobuild.exceptions import ConfigError, DataError
from autobuild.study import (
    PENDING_COLUMNS,
    RandomSampler,
    load_study,
    read_candidates,
    result_columns,
    study_summary,
    tell_results,
    write_trials_csv,
)


def _study(space, objectives="acc:max,lat:min", **kwargs):
    return ab.create_study(space, objectives, sampler=RandomSampler(), seed=1, **kwargs)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_the_pending_file_holds_each_trial_id_and_its_compact_architecture(tmp_path, tiny_space):
    study = _study(tiny_space)
    trials = study.ask(3)
    path = write_trials_csv(tmp_path / "out" / "pending.csv", trials, tiny_space)
    rows = read_rows(path)
    assert list(rows[0]) == list(PENDING_COLUMNS)
    assert [int(r["trial_id"]) for r in rows] == [t.id for t in trials]
    for row, trial in zip(rows, trials, strict=True):
        assert row["arch_id"] == trial.arch_id
        assert " " not in row["arch"]
        assert tiny_space.parse(json.loads(row["arch"])) == trial.arch
    assert list(tmp_path.joinpath("out").iterdir()) == [path]  # no temporary file left


def test_result_columns_put_the_objectives_first_then_other_metrics(tmp_path, tiny_space):
    study = _study(tiny_space)
    a, b = study.ask(2)
    study.tell(a, {"lat": 2.0, "acc": 1.0, "params": 7.0})
    study.tell(b, failed="boom")
    columns = result_columns(study, study.trials)
    assert columns == list(study.rows()[0])
    assert columns[5:8] == ["acc", "lat", "params"]
    rows = read_rows(write_trials_csv(tmp_path / "all.csv", study.trials, tiny_space, columns))
    assert rows[0]["params"] == "7.0"
    assert rows[1]["params"] == ""
    assert rows[1]["state"] == "failed"
    assert rows[1]["error"] == "boom"
    with pytest.raises(ConfigError, match="each column once"):
        write_trials_csv(tmp_path / "x.csv", [a], tiny_space, ["trial_id", "trial_id"])


def test_read_candidates_reads_the_arch_column(tiny_csv, tiny_space):
    archs = read_candidates(tiny_csv, tiny_space)
    assert len(archs) == 150
    assert archs[:3] == tiny_space.sample(150, seed=0)[:3]


def test_tell_results_tells_ok_and_failed_rows_and_keeps_extra_metrics(tmp_path, tiny_space):
    study = _study(tiny_space)
    t1, t2, t3 = study.ask(3)
    path = _write(
        tmp_path / "results.csv",
        "trial_id,acc,lat,params,status,error\n"
        f"{t1.id},0.5,1.5,10,ok,\n"
        f"{t2.id},0.25,2,,complete,\n"
        f"{t3.id},,,,failed,CUDA out of memory\n",
    )
    report = tell_results(study, path)
    assert report.ok
    assert report.skipped == ()
    assert report.path == path
    assert [t.id for t in report.told] == [t1.id, t2.id, t3.id]
    by_id = {t.id: t for t in study.trials}
    assert by_id[t1.id].metrics == {"acc": 0.5, "lat": 1.5, "params": 10.0}
    assert by_id[t2.id].metrics == {"acc": 0.25, "lat": 2.0}
    assert by_id[t3.id].state == "failed"
    assert by_id[t3.id].error == "CUDA out of memory"


def test_a_results_file_may_be_the_pending_file_with_metric_columns_added(tmp_path, tiny_space):
    study = _study(tiny_space, "acc:max")
    trials = study.ask(2)
    rows = read_rows(write_trials_csv(tmp_path / "pending.csv", trials, tiny_space))
    lines = ["trial_id,arch_id,arch,acc,status"]
    for row in rows:
        arch = row["arch"].replace('"', '""')
        lines.append(f'{row["trial_id"]},"{row["arch_id"]}","{arch}",0.75,')
    lines.append(f'{trials[0].id},"not-its-id",,0.75,')
    report = tell_results(study, _write(tmp_path / "r.csv", "\n".join(lines) + "\n"))
    assert len(report.told) == 2
    assert [str(e) for e in report.errors] == [
        f"line 4 (trial {trials[0].id}): arch_id 'not-its-id' is not the trial's "
        f"({trials[0].arch_id!r}): the row belongs to another trial or study; fix its "
        "trial_id, or drop the arch_id column."
    ]


def test_telling_the_same_file_again_skips_every_row(tmp_path, tiny_space):
    study = _study(tiny_space)
    t1, t2 = study.ask(2)
    path = _write(
        tmp_path / "results.csv",
        f"trial_id,acc,lat,status,error\n{t1.id},0.5,1,,\n{t2.id},,,failed,\n",
    )
    assert len(tell_results(study, path).told) == 2
    again = tell_results(study, path)
    assert again.ok
    assert again.told == ()
    assert again.skipped == (t1.id, t2.id)
    assert study.trials[1].error == "failed (no error given)"


def test_a_file_cut_short_by_a_crash_is_finished_by_telling_it_again(tmp_path, tiny_space):
    study = _study(tiny_space, "acc:max")
    trials = study.ask(4)
    study.tell(trials[0], {"acc": 1.0})
    study.tell(trials[1], {"acc": 2.0})  # told before the "crash"
    lines = [f"{t.id},{v}" for t, v in zip(trials, (1.0, 2.0, 3.0, 4.0), strict=True)]
    report = tell_results(study, _write(tmp_path / "r.csv", "trial_id,acc\n" + "\n".join(lines)))
    assert report.skipped == (trials[0].id, trials[1].id)
    assert [t.id for t in report.told] == [trials[2].id, trials[3].id]
    assert [t.metrics["acc"] for t in study.trials] == [1.0, 2.0, 3.0, 4.0]


def test_every_bad_row_is_reported_and_the_good_rows_are_still_told(tmp_path, tiny_space):
    study = _study(tiny_space)
    trials = study.ask(7)
    study.tell(trials[0], {"acc": 1.0, "lat": 1.0})
    ids = [t.id for t in trials]
    text = (
        "trial_id,acc,lat,status\n"
        f"{ids[0]},2.0,1.0,\n"  # line 2: already told with another result
        f"{ids[1]},0.5,,\n"  # 3: an objective without a value
        f"{ids[2]},abc,1,\n"  # 4: not a number
        f"{ids[3]},inf,1,\n"  # 5: not finite
        f"{ids[4]},1,1,maybe\n"  # 6: unknown status
        "999,1,1,\n"  # 7: unknown trial
        "seven,1,1,\n"  # 8: not a trial id
        f"{ids[5]},1,1,,extra\n"  # 9: too many fields
        f"{ids[6]},0.9,0.1,\n"  # 10: good
        f"{ids[1]},,,failed\n"  # 11: good (a failed row needs no metric)
    )
    report = tell_results(study, _write(tmp_path / "results.csv", text))
    assert [t.id for t in report.told] == [ids[6], ids[1]]
    errors = {e.line: e for e in report.errors}
    assert sorted(errors) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert errors[2].trial_id == ids[0]
    assert "already told as" in errors[2].message
    assert "first result" in errors[2].message
    assert "objective(s) ['lat']" in errors[3].message
    assert "'abc' is not a number" in errors[4].message
    assert "not a finite number" in errors[5].message
    assert "status 'maybe'" in errors[6].message
    assert "no trial 999 in study" in errors[7].message
    assert errors[8].trial_id is None
    assert "'seven' is not a trial id" in errors[8].message
    assert "5 fields but the header has 4" in errors[9].message
    assert [t.state for t in study.trials] == [
        "complete",
        "failed",
        "pending",
        "pending",
        "pending",
        "pending",
        "complete",
    ]


def test_an_objective_column_missing_from_the_file_is_named(tmp_path, tiny_space):
    study = _study(tiny_space)
    trial = study.ask(1)[0]
    report = tell_results(study, _write(tmp_path / "r.csv", f"trial_id,acc\n{trial.id},1\n"))
    assert "(the file has no ['lat'] column)" in report.errors[0].message


def test_a_trial_of_another_study_in_the_same_storage_is_unknown(tmp_path, tiny_space):
    url = f"sqlite:///{tmp_path / 's.db'}"
    with _study(tiny_space, "acc:max", storage=url, name="a") as a:
        other = a.ask(1)[0]
    with _study(tiny_space, "acc:max", storage=url, name="b") as b:
        report = tell_results(b, _write(tmp_path / "r.csv", f"trial_id,acc\n{other.id},1\n"))
    assert "no trial" in report.errors[0].message
    assert "'b'" in report.errors[0].message


def test_a_trial_told_by_another_process_meanwhile_is_compared_not_refused(
    tmp_path, tiny_space, monkeypatch
):
    study = _study(tiny_space, "acc:max")
    trial = study.ask(1)[0]
    study.tell(trial, {"acc": 1.0})
    stale = dataclasses.replace(study.storage.trial(trial.id), state="pending", metrics={})
    real = study.storage.trial
    calls = iter([stale])
    monkeypatch.setattr(study.storage, "trial", lambda i: next(calls, None) or real(i))
    report = tell_results(study, _write(tmp_path / "r.csv", f"trial_id,acc\n{trial.id},1.0\n"))
    assert report.ok
    assert report.skipped == (trial.id,)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (None, "does not exist"),
        ("", "is empty"),
        ("id,acc\n1,2\n", "no 'trial_id' column; columns found: \\['id', 'acc'\\]"),
        ("trial_id,acc,acc\n", r"names the column\(s\) \['acc'\] twice"),
    ],
)
def test_an_unusable_results_file_is_refused_whole(tmp_path, tiny_space, text, match):
    path = tmp_path / "r.csv"
    if text is not None:
        path.write_text(text)
    with pytest.raises(DataError, match=match):
        tell_results(_study(tiny_space), path)


def test_load_study_refuses_a_missing_file_without_creating_it(tmp_path, tiny_space):
    url = f"sqlite:///{tmp_path / 'none.db'}"
    with pytest.raises(ConfigError, match=r"No study storage at .*none\.db"):
        load_study("s", url)
    assert not (tmp_path / "none.db").exists()
    _study(tiny_space, storage=url, name="s").close()
    with load_study("s", url) as study:
        assert study.name == "s"
    with pytest.raises(ConfigError, match=r"No study 'nope'.*\['s'\]"):
        load_study("nope", url)


def test_the_summary_counts_states_and_shows_the_best_and_the_last_round(tiny_space):
    study = _study(tiny_space, "acc:max", candidates=tiny_space.sample(9, seed=2))
    summary = study_summary(study)
    assert summary["states"] == {"pending": 0, "complete": 0, "failed": 0}
    assert summary["best"] == []
    assert summary["top_modules"] == {}
    assert summary["history"] == []
    t1, t2, t3, _ = study.ask(4)
    study.tell(t1, {"acc": 1.0})
    study.tell(t2, {"acc": 3.0})
    study.tell(t3, failed="boom")
    record = study.storage.get_study(study.name)
    assert record is not None
    module = {"subgraph": [{"kernel": 3, "expand": 6}], "score": 0.5}
    data = {"objectives": {"acc": {"modules": {"stage1": [module], "stage2": []}}}}
    study.storage.add_round(record.id, 1, n_told=2, data=data)
    summary = study_summary(study)
    assert json.loads(json.dumps(summary)) == summary
    assert summary["name"] == study.name
    assert summary["space"] == "tiny"
    assert summary["objectives"] == ["acc:max"]
    assert summary["candidates"] == 9
    assert summary["sampler"] == {"name": "random"}
    assert summary["trials"] == 4
    assert summary["states"] == {"pending": 1, "complete": 2, "failed": 1}
    assert summary["best"] == [{"trial_id": t2.id, "arch_id": t2.arch_id, "acc": 3.0}]
    assert summary["rounds"] == 1
    assert summary["last_round"] == 1
    assert summary["top_modules"] == {"acc": {"stage1": module}}
    later = {"subgraph": [{"kernel": 7, "expand": 6}], "score": 0.9}
    data2 = {"objectives": {"acc": {"modules": {"stage1": [later], "stage2": []}}}}
    study.storage.add_round(record.id, 2, n_told=3, data=data2)
    summary = study_summary(study)
    assert summary["top_modules"] == {"acc": {"stage1": later}}
    assert summary["history"] == [
        {"round": 1, "n_told": 2, "top": {"acc": {"stage1": module}}},
        {"round": 2, "n_told": 3, "top": {"acc": {"stage1": later}}},
    ]


def test_the_creating_and_a_loading_process_never_ask_one_architecture_twice(tmp_path, tiny_space):
    url = f"sqlite:///{tmp_path / 's.db'}"
    pool = tiny_space.sample(3, seed=0)
    with _study(tiny_space, "acc:max", storage=url, name="s", candidates=pool) as creator:
        creator.ask(3)
        with ab.load_study("s", url) as other:
            assert other.ask(3) == []
