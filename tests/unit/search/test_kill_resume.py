"""A search records every evaluation as it finishes: a kill loses only the one in flight."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from tests.unit.search._evaluators import LoggedTableEvaluator, TableEvaluator, table_metrics

import autobuild as ab
from autobuild.exceptions import EvaluationError
from autobuild.search import RunStore, SearchConfig, make_evaluate
from autobuild.search.genome import full_candidates
from autobuild.search.nsga import run_search
from autobuild.search.result import SearchResult
from autobuild.spaces import Architecture, SearchSpace

OBJECTIVES = [("acc", "max"), ("cost", "min")]
CONFIG = SearchConfig(OBJECTIVES, initial=10, iterations=2, batch=10, seed=7)
ROOT = Path(__file__).resolve().parents[3]

_CHILD = """
import sys

import autobuild as ab
from autobuild.search import RunStore, SearchConfig, make_evaluate
from autobuild.search.genome import full_candidates
from autobuild.search.nsga import run_search
from tests.unit.search._evaluators import LoggedTableEvaluator

db, log, block_after = sys.argv[1], sys.argv[2], int(sys.argv[3])
space = ab.spaces.get("nasbench-macro")
config = SearchConfig([("acc", "max"), ("cost", "min")], initial=10, iterations=2, batch=10,
                      seed=7)
with RunStore(db) as store, make_evaluate(LoggedTableEvaluator(log, block_after)) as evaluate:
    run_search(space, full_candidates(space), evaluate, config, store=store, name="s")
"""


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    return ab.spaces.get("nasbench-macro")


def _ids(space: SearchSpace, result: SearchResult) -> list[str]:
    return [space.canonical_id(a) for a in result.archs]


def _same_search(got: SearchResult, ref: SearchResult) -> None:
    assert got.archs == ref.archs
    assert got.metrics == ref.metrics
    assert got.status == ref.status
    assert got.pareto_indices == ref.pareto_indices


def test_sigkill_mid_batch_keeps_every_finished_evaluation(
    space: SearchSpace, tmp_path: Path
) -> None:
    cands = full_candidates(space)
    reference = run_search(space, cands, TableEvaluator().evaluate, CONFIG)
    db, log = tmp_path / "runs.db", tmp_path / "evaluated.log"
    finished = 17  # the 7th evaluation of the second batch of 10
    assert (finished - CONFIG.initial) % CONFIG.batch  # not at a batch boundary

    # The search runs in a child process whose evaluator stops before its 18th evaluation;
    # the child is killed with SIGKILL there, 17 evaluations finished.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    errors = tmp_path / "child.err"
    with errors.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(db), str(log), str(finished)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            deadline = time.monotonic() + 120
            while not Path(f"{log}.blocked").exists():
                assert proc.poll() is None, f"search ended early: {errors.read_text()[-2000:]}"
                assert time.monotonic() < deadline, "the search did not reach its 18th evaluation"
                time.sleep(0.02)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = log.read_text().splitlines()
    assert len(done) == finished

    with RunStore(db) as store:
        search = store.get_search("s")
        assert search is not None
        assert not search.finished
        stored = store.evaluations(search.id)
        assert [e.arch_id for e in stored] == done  # every finished evaluation, in order
        for e in stored:
            assert e.metrics == table_metrics(space.parse(e.arch))

        # Resumed: nothing is evaluated twice, and the search ends as if never killed.
        with make_evaluate(LoggedTableEvaluator(str(log))) as evaluate:
            resumed = run_search(space, cands, evaluate, CONFIG, store=store, name="s")
        assert store.count(search.id) == 30
    everything = log.read_text().splitlines()
    assert len(everything) == len(set(everything)) == 30
    assert resumed.n_reused == finished
    assert resumed.n_evaluated == 30 - finished
    _same_search(resumed, reference)
    assert set(everything) == set(_ids(space, resumed))


class _BreaksMidBatch:
    """An ``evaluate`` object whose stream breaks (like a dying worker) after ``after``
    results of its first batch; counts the evaluations of each architecture."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.broken = False
        self.counts: dict[Architecture, int] = {}

    def _one(self, arch: Architecture) -> dict[str, float]:
        self.counts[arch] = self.counts.get(arch, 0) + 1
        return table_metrics(arch)

    def __call__(self, archs: Sequence[Architecture]) -> list[dict[str, float]]:
        return [self._one(a) for a in archs]

    def as_completed(self, archs: Sequence[Architecture]) -> Iterator[tuple[int, dict]]:
        for n, i in enumerate(reversed(range(len(archs)))):  # out of order
            if not self.broken and n == self.after:
                self.broken = True
                raise EvaluationError("a worker process died")
            yield i, self._one(archs[i])


def test_broken_stream_keeps_its_results_and_evaluates_the_rest_once(
    space: SearchSpace, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cands = full_candidates(space)
    reference = run_search(space, cands, TableEvaluator().evaluate, CONFIG)
    evaluate = _BreaksMidBatch(after=4)
    with RunStore(tmp_path / "runs.db") as store:
        result = run_search(space, cands, evaluate, CONFIG, store=store, name="b")
        stored = store.evaluations(store.get_search("b").id)  # type: ignore[union-attr]
    assert evaluate.broken
    assert "evaluating the 6 not done yet one at a time" in caplog.text
    assert sorted(evaluate.counts.values()) == [1] * 30
    _same_search(result, reference)
    assert result.n_evaluated == 30
    # The store holds them in the order they finished; the archive is in the asked order.
    first = [space.canonical_id(a) for a in reference.archs[:10]]
    assert [e.arch_id for e in stored[:10]] == first[::-1][:4] + first[:6]
    assert sorted(e.arch_id for e in stored) == sorted(_ids(space, result))
