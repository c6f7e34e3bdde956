"""examples/digits_study.py: really trains networks, and a re-run resumes the study."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autobuild.study import load_study

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "digits_study.py"

pytest.importorskip("sklearn")


def _run(tmp_path: Path, storage: str, trials: int) -> str:
    command = [
        sys.executable, str(EXAMPLE), "--trials", str(trials), "--batch", "3",
        "--epochs", "1", "--initial", "3", "--predictor-steps", "100", "--storage", storage,
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_digits_study_trains_and_resumes(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path}/d.db"
    out = _run(tmp_path, storage, 6)
    assert "0 trials told before" in out
    assert "Best trials:" in out
    assert "AutoBuild round 1 (learnt from 3 results)" in out  # the second batch
    with load_study("digits", storage) as study:
        first = {t.id: t.metrics for t in study.trials}
        assert [t.state for t in study.trials] == ["complete"] * 6
        assert {t.round for t in study.trials} == {0, 1}
        assert all(0.0 <= m["val_acc"] <= 1.0 and m["params"] > 0 for m in first.values())
        assert study.explain()[-1]["round"] == 1
        # A run killed while training: its trial stays pending.
        (killed,) = study.ask(1)

    out = _run(tmp_path, storage, 8)
    assert "6 trials told before" in out
    with load_study("digits", storage) as study:
        trials = {t.id: t for t in study.trials}
    assert len(trials) == 8
    assert all(t.state == "complete" for t in trials.values())
    assert {i: trials[i].metrics for i in first} == first  # earlier results kept
    assert trials[killed.id].attempts == 2  # the killed run's trial was asked again
    assert not (tmp_path / "digits.db").exists()  # --storage was used
