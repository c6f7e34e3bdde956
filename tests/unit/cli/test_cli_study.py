"""``autobuild study``: create, ask, tell, status and best from the shell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import read_rows

import autobuild as ab
from autobuild.cli.commands.study import _DEFAULT_STORAGE
from autobuild.cli.main import main
from autobuild.study import DEFAULT_STORAGE


def _run(capsys, *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _create(capsys, toml: Path, db: Path, *extra: object, name: str = "s") -> None:
    code, out, err = _run(
        capsys,
        "study",
        "create",
        name,
        "--space",
        toml,
        "--objectives",
        "acc:max,lat:min",
        "--sampler",
        "random",
        "--storage",
        f"sqlite:///{db}",
        *extra,
    )
    assert code == 0, err
    assert f"Created study {name!r}" in out


def _results(path: Path, rows: list[str], header: str = "trial_id,acc,lat,status,error") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_a_shell_round_trip_creates_asks_tells_and_reports(capsys, tmp_path, tiny_toml):
    db = tmp_path / "studies.db"
    url = f"sqlite:///{db}"
    _create(capsys, tiny_toml, db)
    pending = tmp_path / "pending.csv"
    code, out, _ = _run(
        capsys, "study", "ask", "s", "--n", "4", "--storage", url, "--out", pending
    )
    assert code == 0
    assert "Asked 4 trials of study 's'" in out
    rows = read_rows(pending)
    assert list(rows[0]) == ["trial_id", "arch_id", "arch"]
    assert len(rows) == 4
    with ab.load_study("s", url) as study:
        space = study.space
    assert [space.arch_id(space.parse(json.loads(r["arch"]))) for r in rows] == [
        r["arch_id"] for r in rows
    ]
    ids = [r["trial_id"] for r in rows]
    results = _results(
        tmp_path / "results.csv",
        [
            f"{ids[0]},0.5,3,ok,",
            f"{ids[1]},0.7,2,,",
            f"{ids[2]},0.6,1,complete,",
            f"{ids[3]},,,failed,CUDA out of memory",
        ],
    )
    code, out, err = _run(capsys, "study", "tell", "s", "--results", results, "--storage", url)
    assert (code, err) == (0, "")
    assert "Told 4 trials of study 's' (3 complete, 1 failed); 0 already told" in out

    code, out, _ = _run(capsys, "study", "status", "s", "--storage", url)
    assert code == 0
    lines = dict(line.split(None, 1) for line in out.splitlines())
    assert lines["study"] == "s"
    assert lines["space"] == "tiny"
    assert lines["objectives"] == "acc:max, lat:min"
    assert lines["sampler"] == "random"
    assert lines["storage"] == str(db)
    assert lines["trials"] == "4 (pending 0, complete 3, failed 1)"
    assert lines["rounds"] == "0 learnt"
    assert lines["front"] == "2 trials on the Pareto front"

    again = tmp_path / "pending2.csv"
    code, out, _ = _run(capsys, "study", "ask", "s", "--n", "4", "--storage", url, "--out", again)
    assert code == 0
    second = read_rows(again)
    assert len(second) == 4
    assert not {r["trial_id"] for r in second} & set(ids)
    assert not {r["arch_id"] for r in second} & {r["arch_id"] for r in rows}

    best = tmp_path / "out" / "best.csv"
    code, out, _ = _run(capsys, "study", "best", "s", "--storage", url, "--out", best)
    assert code == 0
    assert f"2 best trials in {best}" in out
    front = read_rows(best)
    assert [r["trial_id"] for r in front] == [ids[1], ids[2]]
    assert list(front[0]) == [
        "trial_id",
        "number",
        "arch_id",
        "arch",
        "state",
        "acc",
        "lat",
        "error",
        "round",
        "attempts",
    ]
    assert [r["acc"] for r in front] == ["0.7", "0.6"]
    table = out.splitlines()
    assert table[0].split() == ["trial_id", "arch_id", "acc", "lat"]
    assert table[2].split()[0] == ids[1]


def test_telling_the_same_file_twice_skips_every_row_the_second_time(capsys, tmp_path, tiny_toml):
    db = tmp_path / "s.db"
    url = f"sqlite:///{db}"
    _create(capsys, tiny_toml, db)
    pending = tmp_path / "pending.csv"
    assert (
        _run(capsys, "study", "ask", "s", "--n", "3", "--storage", url, "--out", pending)[0] == 0
    )
    ids = [r["trial_id"] for r in read_rows(pending)]
    results = _results(
        tmp_path / "r.csv", [f"{ids[0]},1,1,,", f"{ids[1]},2,2,,", f"{ids[2]},,,failed,"]
    )
    # A crash after the first row: it is told, the rest are not.
    with ab.load_study("s", url) as study:
        study.tell(int(ids[0]), {"acc": 1.0, "lat": 1.0})
    code, out, _ = _run(capsys, "study", "tell", "s", "--results", results, "--storage", url)
    assert code == 0
    assert "Told 2 trials" in out
    assert "1 already told" in out
    code, out, err = _run(capsys, "study", "tell", "s", "--results", results, "--storage", url)
    assert (code, err) == (0, "")
    assert "Told 0 trials of study 's' (0 complete, 0 failed); 3 already told; 0 rows" in out


def test_bad_rows_are_reported_one_by_one_and_good_rows_still_told(capsys, tmp_path, tiny_toml):
    db = tmp_path / "s.db"
    url = f"sqlite:///{db}"
    _create(capsys, tiny_toml, db)
    pending = tmp_path / "pending.csv"
    assert (
        _run(capsys, "study", "ask", "s", "--n", "4", "--storage", url, "--out", pending)[0] == 0
    )
    ids = [r["trial_id"] for r in read_rows(pending)]
    first = _results(tmp_path / "first.csv", [f"{ids[0]},1,1,,"])
    assert _run(capsys, "study", "tell", "s", "--results", first, "--storage", url)[0] == 0
    results = _results(
        tmp_path / "results.csv",
        [
            f"{ids[0]},2,1,,",  # line 2: told before with another result
            f"{ids[1]},0.5,,,",  # line 3: lat missing
            "12345,1,1,,",  # line 4: unknown trial
            f"{ids[2]},fast,1,,",  # line 5: not a number
            f"{ids[3]},0.9,0.2,,",  # line 6: good
        ],
    )
    code, out, err = _run(capsys, "study", "tell", "s", "--results", results, "--storage", url)
    assert code == 1
    assert "Told 1 trial of" in out
    assert "4 rows with errors" in out
    lines = err.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith(f"autobuild study tell: {results} line 2 (trial {ids[0]}): ")
    assert "already told as" in lines[0]
    assert "drop or correct the row" in lines[0]
    assert f"line 3 (trial {ids[1]}): no value for the objective(s) ['lat']" in lines[1]
    assert "line 4 (trial 12345): no trial 12345 in study 's'" in lines[2]
    assert f"line 5 (trial {ids[2]}): acc = 'fast' is not a number" in lines[3]
    assert "Traceback" not in err
    with ab.load_study("s", url) as study:
        states = {str(t.id): t.state for t in study.trials}
    assert states == {ids[0]: "complete", ids[1]: "pending", ids[2]: "pending", ids[3]: "complete"}


def test_an_unknown_study_or_storage_is_a_clear_error(capsys, tmp_path, tiny_toml):
    missing = tmp_path / "missing.db"
    code, _, err = _run(capsys, "study", "status", "s", "--storage", f"sqlite:///{missing}")
    assert code == 1
    assert f"No study storage at {str(missing)!r}" in err
    assert "Traceback" not in err
    assert not missing.exists()
    db = tmp_path / "s.db"
    url = f"sqlite:///{db}"
    _create(capsys, tiny_toml, db)
    for argv in (["status", "nope"], ["best", "nope", "--out", tmp_path / "b.csv"]):
        code, _, err = _run(capsys, "study", *argv, "--storage", url)
        assert code == 1
        assert "No study 'nope'" in err
        assert "['s']" in err
        assert "Traceback" not in err
    assert not (tmp_path / "b.csv").exists()
    argv = ["study", "create", "s", "--space", tiny_toml, "--objectives", "acc:max"]
    code, _, err = _run(capsys, *argv, "--storage", url)
    assert code == 1
    assert "Study 's' already exists" in err


def test_a_study_asks_only_from_its_candidate_pool(capsys, tmp_path, tiny_toml, tiny_csv):
    db = tmp_path / "s.db"
    url = f"sqlite:///{db}"
    pool = tmp_path / "pool.csv"
    pool.write_text("".join(tiny_csv.read_text().splitlines(keepends=True)[:6]))  # 5 archs
    _create(capsys, tiny_toml, db, "--candidates", pool)
    pending = tmp_path / "pending.csv"
    code, out, _ = _run(
        capsys, "study", "ask", "s", "--n", "8", "--storage", url, "--out", pending
    )
    assert code == 0
    assert "Asked 5 trials" in out
    space = ab.spaces.get(tiny_toml)
    wanted = {space.canonical_id(a) for a in ab.study.read_candidates(pool, space)}
    asked = [space.parse(json.loads(r["arch"])) for r in read_rows(pending)]
    assert {space.canonical_id(a) for a in asked} == wanted
    code, out, _ = _run(capsys, "study", "ask", "s", "--storage", url, "--out", pending)
    assert code == 0
    assert "No trial asked" in out
    assert pending.read_text() == "trial_id,arch_id,arch\n"
    code, out, _ = _run(capsys, "study", "status", "s", "--storage", url)
    assert "tiny (pool of 5)" in out


def test_the_default_storage_is_autobuild_db_in_the_working_directory(
    capsys, tmp_path, tiny_toml, monkeypatch
):
    assert _DEFAULT_STORAGE == DEFAULT_STORAGE
    monkeypatch.chdir(tmp_path)
    args = ["study", "create", "d", "--space", tiny_toml, "--objectives", "acc:max"]
    code, out, err = _run(capsys, *args, "--initial", "20", "--beta", "0", "--seed", "3")
    assert code == 0, err
    assert "in autobuild.db" in out
    assert (tmp_path / "autobuild.db").is_file()
    # The AutoBuild sampler draws its initial design at random: no predictor trains yet.
    code, out, _ = _run(capsys, "study", "ask", "d", "--n", "2", "--out", "p.csv")
    assert code == 0
    assert "Asked 2 trials of study 'd'" in out
    assert len(read_rows(tmp_path / "p.csv")) == 2
    with ab.load_study("d", "sqlite:///autobuild.db") as study:
        assert len(study.trials) == 2
        assert study.seed == 3
        assert isinstance(study.sampler, ab.study.AutoBuildSampler)
        assert study.sampler.initial == 20
        assert study.sampler.beta == 0.0


def test_stale_pending_trials_are_asked_again_first(capsys, tmp_path, tiny_toml):
    db = tmp_path / "s.db"
    url = f"sqlite:///{db}"
    _create(capsys, tiny_toml, db)
    first, again = tmp_path / "a.csv", tmp_path / "b.csv"
    assert _run(capsys, "study", "ask", "s", "--n", "2", "--storage", url, "--out", first)[0] == 0
    code, out, _ = _run(
        capsys,
        "study",
        "ask",
        "s",
        "--n",
        "3",
        "--reask-after",
        "0",
        "--storage",
        url,
        "--out",
        again,
    )
    assert code == 0
    assert "Asked 3 trials of study 's' (2 re-asked)" in out
    lost = [r["trial_id"] for r in read_rows(first)]
    assert [r["trial_id"] for r in read_rows(again)][:2] == lost


def test_status_shows_the_top_module_per_unit_of_the_last_round(capsys, tmp_path, tiny_toml):
    db = tmp_path / "s.db"
    url = f"sqlite:///{db}"
    _create(capsys, tiny_toml, db)
    with ab.load_study("s", url) as study:
        record = study.storage.get_study("s")
        assert record is not None
        module = {"subgraph": [{"expand": 6, "kernel": 7}], "score": 1.0}
        modules = {"stage1": [module], "stage2": [module]}
        data = {"objectives": {"acc": {"modules": modules}, "lat": {"modules": modules}}}
        study.storage.add_round(record.id, 1, n_told=4, data=data)
    code, out, _ = _run(capsys, "study", "status", "s", "--storage", url)
    assert code == 0
    assert "rounds" in out
    assert "1 learnt" in out
    assert 'top stage1 (acc)  [{"expand":6,"kernel":7}]' in out
    assert "top stage2 (lat)" in out
    assert "none yet (no complete trial)" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--initial", "5"], "--initial applies to --sampler autobuild only; drop it."),
        (["--initial", "5", "--beta", "1"], "--initial, --beta apply to --sampler autobuild only"),
        (["--sampler", "autobuild", "--initial", "1"], "--initial: "),
    ],
)
def test_create_refuses_misused_options_as_usage_errors(
    capsys, tmp_path, tiny_toml, extra, message
):
    argv = ["study", "create", "s", "--space", tiny_toml, "--objectives", "acc:max"]
    if "--sampler" not in extra:
        argv += ["--sampler", "random"]
    code, _, err = _run(capsys, *argv, *extra, "--storage", f"sqlite:///{tmp_path / 's.db'}")
    assert code == 2
    assert message in err
    assert not (tmp_path / "s.db").exists()


def test_bad_option_values_are_argparse_usage_errors(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["study", "ask", "s", "--out", str(tmp_path / "p.csv"), "--reask-after", "-1"])
    assert exc.value.code == 2
    assert "expected a number of seconds >= 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["study", "create", "s", "--objectives", "acc:max", "--beta", "-0.5"])
    assert exc.value.code == 2
    assert "--beta: expected a number >= 0, got '-0.5'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["study"])
    assert exc.value.code == 2
