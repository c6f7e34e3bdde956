"""The pymoo operators of the evolutionary search, over a genome state.

Each operator takes the :class:`~autobuild.search.genome.GenomeState` it works on.

* :class:`GenomeSampling`: genomes of unique architectures not yet evaluated, drawn from the
  genome's sample stream;
* :class:`GenomeMutation`: the genome's mutation, retried (a capped number of times) until
  the child is an architecture not yet evaluated;
* :class:`ArchitectureDuplicates`: duplicate elimination by canonical architecture id,
  within a population and against everything already evaluated.

This module imports pymoo when it is imported: import it only where the algorithm is built,
so that ``import autobuild.search`` stays free of pymoo.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pymoo.core.duplicate import DuplicateElimination
from pymoo.core.mutation import Mutation
from pymoo.core.sampling import Sampling

from autobuild.search.genome import TRIES_PER_CHILD, GenomeState

__all__ = ["ArchitectureDuplicates", "GenomeMutation", "GenomeSampling"]


class GenomeSampling(Sampling):
    """The initial population: genomes of distinct architectures not yet evaluated."""

    def __init__(self, state: GenomeState) -> None:
        super().__init__()
        self.state = state

    def _do(
        self, problem: Any, n_samples: int, *args: Any, random_state: Any = None, **kwargs: Any
    ) -> np.ndarray:
        state = self.state
        picks = state.unique_new(state.genome.sample(random_state, n_samples), n_samples)
        return np.array(picks, dtype=np.int64).reshape(len(picks), state.genome.n_var)


class GenomeMutation(Mutation):
    """The genome's mutation, preferring a child whose architecture is not yet evaluated."""

    def __init__(self, state: GenomeState) -> None:
        super().__init__()
        self.state = state

    def _do(
        self, problem: Any, X: np.ndarray, *args: Any, random_state: Any = None, **kwargs: Any
    ) -> np.ndarray:
        state = self.state
        out = np.array(X, dtype=np.int64, copy=True)
        for i in range(len(out)):
            child = state.mutate(out[i], random_state)
            for _ in range(TRIES_PER_CHILD - 1):  # prefer a child not yet evaluated
                if state.key(child) not in state.known:
                    break
                child = state.mutate(out[i], random_state)
            out[i] = child
        return out


class ArchitectureDuplicates(DuplicateElimination):
    """Duplicates by canonical architecture id (different genomes may name one architecture).

    Without ``other``, a genome is a duplicate of an earlier one of ``pop`` or of an
    architecture already evaluated; with ``other``, of a genome of ``other``.
    """

    def __init__(self, state: GenomeState) -> None:
        super().__init__()
        self.state = state

    def _do(self, pop: Any, other: Any, is_duplicate: np.ndarray) -> np.ndarray:
        state = self.state
        keys = [state.key(x) for x in pop.get("X")]
        if other is None:
            seen: set[str] = set()
            for i, k in enumerate(keys):
                if k in seen or k in state.known:
                    is_duplicate[i] = True
                seen.add(k)
        else:
            others = {state.key(x) for x in other.get("X")}
            for i, k in enumerate(keys):
                if k in others:
                    is_duplicate[i] = True
        return is_duplicate
