"""A run store in this process's memory: the store of a search that keeps nothing on disk.

It follows the same rules and returns the same records as the SQLite store (both are
:class:`~autobuild.storage.BaseRunStore`, which checks every argument); what it holds is lost
with the process. A search given no store records into a fresh one, so recording and replay
take one path whether or not the search is kept.

Example:
    >>> with InMemoryRunStore() as store:
    ...     search = store.create_or_resume("demo", space_fingerprint="abc", config={}, seed=0)
    ...     store.record(search.id, "a1", '{"k": 3}', {"acc": 0.9}, started_at=0.0,
    ...                  finished_at=1.5)
    0
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace

from autobuild.storage.base import BaseRunStore
from autobuild.storage.records import EvaluationRecord, SearchRecord
from autobuild.storage.sqlite import MEMORY

__all__ = ["InMemoryRunStore"]


@dataclass
class _Search:
    """A search as kept: its configuration as canonical JSON text, like a file store."""

    id: int
    name: str
    space_fingerprint: str
    config_json: str
    seed: int | None
    created_at: float
    status: str = "running"
    evaluations: dict[str, EvaluationRecord] = field(default_factory=dict)

    def record(self) -> SearchRecord:
        return SearchRecord(
            id=self.id,
            name=self.name,
            space_fingerprint=self.space_fingerprint,
            config=json.loads(self.config_json),
            seed=self.seed,
            created_at=self.created_at,
            status=self.status,
        )


class InMemoryRunStore(BaseRunStore):
    """Run store in memory; see the module docstring.

    Safe to share between threads: each call is one step under a lock, as a file store's
    write is one transaction.
    """

    def __init__(self) -> None:
        super().__init__(MEMORY)
        self._lock = threading.Lock()
        self._by_id: dict[int, _Search] = {}
        self._by_name: dict[str, _Search] = {}

    def _get_or_add_search(
        self,
        name: str,
        space_fingerprint: str,
        config_json: str,
        seed: int | None,
        created_at: float,
    ) -> SearchRecord:
        with self._lock:
            search = self._by_name.get(name)
            if search is None:
                search = _Search(
                    len(self._by_id) + 1, name, space_fingerprint, config_json, seed, created_at
                )
                self._by_id[search.id] = search
                self._by_name[name] = search
            return search.record()

    def _search_named(self, name: str) -> SearchRecord | None:
        with self._lock:
            search = self._by_name.get(name)
            return None if search is None else search.record()

    def _searches(self) -> list[SearchRecord]:
        with self._lock:
            return [search.record() for search in self._by_id.values()]

    def _set_finished(self, search_id: int) -> bool:
        with self._lock:
            search = self._by_id.get(search_id)
            if search is None:
                return False
            search.status = "finished"
            return True

    def _append(self, new: EvaluationRecord) -> EvaluationRecord | None:
        with self._lock:
            search = self._by_id.get(new.search_id)
            if search is None:
                return None
            stored = search.evaluations.get(new.arch_id)
            if stored is None:
                stored = replace(new, seq=len(search.evaluations), metrics=dict(new.metrics))
                search.evaluations[new.arch_id] = stored
            return _copy(stored)

    def _evaluations(self, search_id: int) -> list[EvaluationRecord]:
        with self._lock:
            search = self._by_id.get(search_id)
            if search is None:
                return []
            # Insertion order is seq order: seq is the count at insertion, nothing is deleted.
            return [_copy(rec) for rec in search.evaluations.values()]

    def _lookup(self, search_id: int, arch_id: str) -> EvaluationRecord | None:
        with self._lock:
            search = self._by_id.get(search_id)
            stored = None if search is None else search.evaluations.get(arch_id)
            return None if stored is None else _copy(stored)

    def _count(self, search_id: int) -> int:
        with self._lock:
            search = self._by_id.get(search_id)
            return 0 if search is None else len(search.evaluations)

    def _close(self) -> None:
        # Nothing to release; what the store held goes with the object.
        return None


def _copy(rec: EvaluationRecord) -> EvaluationRecord:
    """A record whose metrics a caller may change without changing the store."""
    return replace(rec, metrics=dict(rec.metrics))
