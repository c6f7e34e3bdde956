"""A search always records into a run store: its own, or a fresh one in memory."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.search._evaluators import TableEvaluator

import autobuild as ab
from autobuild.exceptions import ConfigError
from autobuild.search import SearchConfig
from autobuild.search.archive import Evaluations
from autobuild.search.genome import full_candidates
from autobuild.search.nsga import _open_search, run_search
from autobuild.spaces import SearchSpace
from autobuild.storage import InMemoryRunStore, SQLiteRunStore

OBJECTIVES = [("acc", "max"), ("cost", "min")]


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    return ab.spaces.get("nasbench-macro")


def test_a_search_without_a_store_records_into_memory(space: SearchSpace) -> None:
    archs = space.sample(6, seed=0)
    store, search_id = _open_search(None, None, space, {}, 0)
    assert isinstance(store, InMemoryRunStore)
    assert store.get_search("search").id == search_id  # type: ignore[union-attr]
    archive = Evaluations(
        space, set(), TableEvaluator(fail="mb3_k3"), OBJECTIVES, store, search_id
    )
    archive.run([(a, space.canonical_id(a)) for a in archs])
    stored = archive.store.evaluations(archive.search_id)
    assert [e.arch_id for e in stored] == [space.canonical_id(a) for a in archs]
    assert [e.metrics for e in stored] == archive.metrics
    assert [e.status for e in stored] == archive.status
    assert [e.error for e in stored] == archive.errors
    with pytest.raises(ConfigError, match="needs a non-empty `name`"):
        _open_search(InMemoryRunStore(), None, space, {}, 0)


def test_every_store_gives_the_same_search(space: SearchSpace, tmp_path: Path) -> None:
    config = SearchConfig(OBJECTIVES, initial=8, iterations=2, batch=4, seed=5)
    cands = full_candidates(space)
    evaluate = TableEvaluator(fail="mb3_k3").evaluate
    plain = run_search(space, cands, evaluate, config)
    memory = InMemoryRunStore()
    kept = run_search(space, cands, evaluate, config, store=memory, name="m")
    with SQLiteRunStore(tmp_path / "runs.db") as sqlite:
        filed = run_search(space, cands, evaluate, config, store=sqlite, name="s")
        assert sqlite.get_search("s").finished  # type: ignore[union-attr]
    for other in (kept, filed):
        assert (other.archs, other.metrics, other.status, other.errors) == (
            plain.archs,
            plain.metrics,
            plain.status,
            plain.errors,
        )
        assert other.pareto_indices == plain.pareto_indices
    again = run_search(space, cands, evaluate, config, store=memory, name="m")
    assert (again.n_evaluated, again.n_reused) == (0, len(plain.archs))
    assert memory.get_search("m").finished  # type: ignore[union-attr]
