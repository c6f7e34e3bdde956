"""Execution: where the library's parallel work runs -- this process, worker processes, Ray.

One set of names (:data:`Executor`, :data:`EXECUTORS`) and one :class:`TaskPool` serve every
parallel loop: a search's evaluations (:mod:`autobuild.search.executors`) and the members of
an ensemble (:mod:`autobuild.ensemble.members`).
"""

from __future__ import annotations

from autobuild.execution.pool import EXECUTORS, Executor, TaskPool, check_executor

__all__ = ["EXECUTORS", "Executor", "TaskPool", "check_executor"]
