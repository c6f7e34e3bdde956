import multiprocessing
import sqlite3

import numpy as np
import pytest

from autobuild.data import LabeledData
from autobuild.evaluation import (
    BaseEvaluator,
    CachedEvaluator,
    CombinedEvaluator,
    LatencyEvaluator,
    LookupEvaluator,
    Metric,
)
from autobuild.exceptions import ConfigError, DataError


class Counting(BaseEvaluator):
    """A noisy 'measurement': a fresh random number every call, so only a cache repeats it."""

    metrics = (Metric("lat", "min", "ms"),)

    def __init__(self, space, seed=0):
        super().__init__(space, batch_size=4)
        self.calls = []
        self.rng = np.random.default_rng(seed)

    def _evaluate(self, archs):
        self.calls.extend(archs)
        return [{"lat": float(self.rng.random()), "lat_iqr": 0.5} for _ in archs]


def test_cache_measures_each_architecture_once_and_persists(tiny_space, tmp_path):
    archs = tiny_space.sample(10, seed=0)
    inner = Counting(tiny_space)
    ev = CachedEvaluator(inner, tmp_path / "sub" / "c.sqlite")
    first = ev.evaluate(archs[:6])
    again = ev.evaluate(archs)  # 6 hits, 4 new
    assert again[:6] == first
    assert len(inner.calls) == 10
    assert ev.hits == 6
    assert ev.misses == 10
    assert len(ev) == 10
    assert ev.metric_names == ["lat"]
    ev.close()

    # A new process (a new object, another seed) answers from the file, measuring nothing.
    other = Counting(tiny_space, seed=1)
    reopened = CachedEvaluator(other, tmp_path / "sub" / "c.sqlite")
    assert reopened.evaluate(archs) == again
    assert other.calls == []
    # canonical ids: the JSON form of an architecture hits the same record
    assert reopened.evaluate([tiny_space.to_json(archs[0])]) == again[:1]


def test_cache_keys_by_evaluator_settings_and_space(tiny_space, tmp_path):
    path = tmp_path / "c.sqlite"
    arch = tiny_space.sample(1, seed=0)
    a = LatencyEvaluator(tiny_space, repeats=3, input_shape=(3, 8, 8))
    b = LatencyEvaluator(tiny_space, repeats=4, input_shape=(3, 8, 8))
    assert a.cache_key() != b.cache_key()
    assert "threads=1" in a.cache_key()
    assert "device=cpu" in a.cache_key()
    ca, cb = (
        CachedEvaluator(Counting(tiny_space), path),
        CachedEvaluator(Counting(tiny_space), path),
    )
    assert ca.key == cb.key  # same class and metrics share records
    ca.evaluate(arch)
    assert len(cb) == 1


def test_cache_errors(tiny_space, tmp_path):
    with pytest.raises(ConfigError, match="wraps a BaseEvaluator"):
        CachedEvaluator(object(), tmp_path / "c.sqlite")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="Cannot open the evaluation cache"):
        CachedEvaluator(Counting(tiny_space), blocker / "c.sqlite")
    path = tmp_path / "c.sqlite"
    ev = CachedEvaluator(Counting(tiny_space), path)
    arch = tiny_space.sample(1, seed=0)
    ev.evaluate(arch)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE records SET record = 'not json'")
    with pytest.raises(DataError, match="corrupt record"):
        ev.evaluate(arch)


def _measure(path, space_toml, queue):
    from autobuild.spaces import from_toml

    space = from_toml(space_toml)
    ev = CachedEvaluator(Counting(space, seed=7), path)
    queue.put([r["lat"] for r in ev.evaluate(space.sample(5, seed=0))])


def test_cache_survives_pickling_to_a_worker(tiny_space, tiny_toml, tmp_path):
    import pickle

    ev = CachedEvaluator(Counting(tiny_space), tmp_path / "c.sqlite")
    archs = tiny_space.sample(5, seed=0)
    here = [r["lat"] for r in ev.evaluate(archs)]
    clone = pickle.loads(pickle.dumps(ev))  # what a process executor does; no connection sent
    assert [r["lat"] for r in clone.evaluate(archs)] == here
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(tmp_path / "c.sqlite", tiny_toml, queue))
    proc.start()
    got = queue.get(timeout=60)
    proc.join(timeout=60)
    assert got == here


def test_combined_merges_records_in_metric_order(tiny_space, tmp_path):
    archs = tiny_space.sample(6, seed=0)
    table = LabeledData(tiny_space, tuple(archs), {"acc": np.arange(6.0)})
    ev = CombinedEvaluator([LookupEvaluator(table, {"acc": "max"}), Counting(tiny_space)])
    assert ev.metric_names == ["acc", "lat"]
    assert ev.direction("lat") == "min"
    records = ev.evaluate(archs[::-1])
    assert [r["acc"] for r in records] == [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]
    assert all(0 <= r["lat"] < 1 and r["lat_iqr"] == 0.5 for r in records)


def test_combined_errors(tiny_space, tmp_path):
    from autobuild.spaces import nasbench_macro

    with pytest.raises(ConfigError, match="at least one"):
        CombinedEvaluator([])
    with pytest.raises(ConfigError, match="given by both"):
        CombinedEvaluator([Counting(tiny_space), Counting(tiny_space)])
    with pytest.raises(ConfigError, match="must share one space"):
        CombinedEvaluator([Counting(tiny_space), LatencyEvaluator(nasbench_macro())])
    with pytest.raises(ConfigError, match="combines BaseEvaluator"):
        CombinedEvaluator([lambda archs: archs])
