"""Search over architectures: NSGA-II, its baselines by name, and the crash-safe run store.

Every method takes one :class:`SearchConfig` (objectives, budget, operator probabilities,
seed, constraints); candidates, per-stage restrictions, the run store and the search's name
are arguments of the method.
"""

from __future__ import annotations

from autobuild.search.config import SearchConfig, check_objectives
from autobuild.search.constraints import Constraint, check_constraints
from autobuild.search.genome import full_candidates
from autobuild.search.layer import LayerGenome, check_insight
from autobuild.search.methods import METHODS, Method, run_layer_search, run_method, run_random
from autobuild.search.nsga import run_search
from autobuild.search.pareto import pareto_indices
from autobuild.search.result import Objective, SearchResult
from autobuild.search.storage import (
    EvaluationRecord,
    EvaluationStatus,
    RunStore,
    SearchRecord,
    parse_storage_url,
)

__all__ = [
    "METHODS",
    "Constraint",
    "EvaluationRecord",
    "EvaluationStatus",
    "LayerGenome",
    "Method",
    "Objective",
    "RunStore",
    "SearchConfig",
    "SearchRecord",
    "SearchResult",
    "check_constraints",
    "check_insight",
    "check_objectives",
    "full_candidates",
    "pareto_indices",
    "parse_storage_url",
    "run_layer_search",
    "run_method",
    "run_random",
    "run_search",
]

# The evaluator of a search's metrics, evaluation executors, the hypervolume of a front and
# the output files of a search.
from autobuild.search.evaluators import search_evaluator
from autobuild.search.executors import (
    EVALUATION_EXECUTORS,
    EvaluationExecutor,
    make_evaluate,
)
from autobuild.search.outputs import (
    pareto_table,
    read_search_outputs,
    write_search_outputs,
)
from autobuild.search.pareto import hypervolume

__all__ += [
    "EVALUATION_EXECUTORS",
    "EvaluationExecutor",
    "hypervolume",
    "make_evaluate",
    "pareto_table",
    "read_search_outputs",
    "search_evaluator",
    "write_search_outputs",
]
