"""measure_to_csv: the resumable CSV of ``autobuild measure`` as a library call."""

from __future__ import annotations

import csv
import json

import pytest

from autobuild.evaluation import BaseEvaluator, Metric, measure_to_csv
from autobuild.exceptions import ConfigError, EvaluationError


class Layers(BaseEvaluator):
    """Counts layers; can be told to fail once ``fail_after`` architectures are measured."""

    metrics = (Metric("layers", "min"), Metric("half", "min"))

    def __init__(self, space, fail_after=None):
        super().__init__(space, batch_size=64)
        self.measured = []
        self.fail_after = fail_after

    def _evaluate(self, archs):
        if self.fail_after is not None and len(self.measured) >= self.fail_after:
            raise EvaluationError("killed")
        self.measured.extend(archs)
        n = [float(sum(len(s) for s in a.stages)) for a in archs]
        return [{"layers": v, "half": v / 2 + 0.25} for v in n]


def _rows(path):
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_writes_one_row_per_architecture_in_order(tiny_space, tmp_path):
    archs = tiny_space.sample(5, seed=0)
    archs = [*archs, archs[1]]  # a repeat keeps its row and is measured once
    out = tmp_path / "sub" / "m.csv"
    ev = Layers(tiny_space)
    assert measure_to_csv(tiny_space, archs, ev, out, "half") == 5
    assert len(ev.measured) == 5
    rows = _rows(out)
    assert list(rows[0]) == ["arch_id", "arch", "half"]
    assert [r["arch_id"] for r in rows] == [tiny_space.arch_id(a) for a in archs]
    assert [json.loads(r["arch"]) for r in rows] == [tiny_space.to_json(a) for a in archs]
    assert [r["half"] for r in rows] == [
        repr(sum(len(s) for s in a.stages) / 2 + 0.25) for a in archs
    ]
    assert measure_to_csv(tiny_space, archs, Layers(tiny_space), out, "layers") == 5
    assert [r["layers"] for r in _rows(out)] == [
        str(sum(len(s) for s in a.stages))
        for a in archs  # whole numbers without ".0"
    ]


def test_a_killed_run_resumes_after_its_last_chunk(tiny_space, tmp_path):
    archs = tiny_space.sample(6, seed=1)
    out = tmp_path / "m.csv"
    with pytest.raises(EvaluationError, match="killed"):
        measure_to_csv(tiny_space, archs, Layers(tiny_space, fail_after=4), out, "layers", chunk=2)
    assert [bool(r["layers"]) for r in _rows(out)] == [True] * 4 + [False] * 2
    again = Layers(tiny_space)
    assert measure_to_csv(tiny_space, archs, again, out, "layers", chunk=2) == 2
    assert again.measured == archs[4:]
    assert all(r["layers"] for r in _rows(out))
    assert measure_to_csv(tiny_space, archs, Layers(tiny_space), out, "layers") == 0


def test_bad_arguments(tiny_space, tmp_path):
    archs = tiny_space.sample(1, seed=0)
    with pytest.raises(ConfigError, match=r"gives \['layers', 'half'\], not 'flops'"):
        measure_to_csv(tiny_space, archs, Layers(tiny_space), tmp_path / "m.csv", "flops")
    with pytest.raises(ConfigError, match="chunk"):
        measure_to_csv(tiny_space, archs, Layers(tiny_space), tmp_path / "m.csv", "half", chunk=0)
