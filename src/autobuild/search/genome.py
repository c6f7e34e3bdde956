"""Genomes of the evolutionary search: integer vectors that decode to architectures.

* :class:`Genome`: the protocol of a genome representation; :class:`SubgraphGenome` (one
  index per unit into that unit's candidate subgraphs) is the one of
  :func:`~autobuild.search.nsga.run_search`, :class:`~autobuild.search.layer.LayerGenome` the
  one of the layer-level baselines.
* :func:`full_candidates`: every subgraph of every unit (the ``stage-full`` baseline).
* :class:`GenomeState`: a genome decoding to architectures (cached), with the ids of the
  architectures already taken, which the search loop and its operators share.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np

from autobuild.spaces import Architecture, SearchSpace, StageConfig, Subgraph, Value

__all__ = [
    "MAX_FILL_ENUMERATION",
    "TRIES_PER_CHILD",
    "Genome",
    "GenomeState",
    "SubgraphGenome",
    "full_candidates",
    "value_text",
]

#: Largest number of genomes that is enumerated to fill a batch when mutation finds no new child.
MAX_FILL_ENUMERATION = 200_000
#: Mutation tries per missing child before falling back to enumeration (or stopping).
TRIES_PER_CHILD = 50


def full_candidates(
    space: SearchSpace, *, include_empty: bool = True
) -> tuple[tuple[Subgraph, ...], ...]:
    """Every subgraph of every unit: the candidate lists of the whole space (``stage-full``).

    Args:
        space: The search space (its layer features must be lists of values).
        include_empty: Also list the empty subgraph of a unit whose stages all allow zero
            layers (:meth:`SearchSpace.enumerate_subgraphs` leaves it out because it has no
            node to score, but it is an architecture of the space).

    Returns:
        Per unit, its subgraphs in :meth:`SearchSpace.enumerate_subgraphs` order (the empty
        one last).
    """
    out = []
    for u in range(space.num_units):
        subs = list(space.enumerate_subgraphs(u))
        stages = space.units[u]
        if include_empty and all(space.stages[i].min_layers == 0 for i in stages):
            subs.append(tuple(() for _ in stages))
        out.append(tuple(subs))
    return tuple(out)


def value_text(v: Value) -> str:
    """A feature value as text in a stored search configuration (``6.0`` as ``6``)."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _subgraph_id(sg: Subgraph) -> str:
    return "|".join(",".join(":".join(value_text(v) for v in layer) for layer in st) for st in sg)


class Genome(Protocol):
    """A genome representation: fixed-length integer vectors that decode to stage configs.

    ``run_search`` uses :class:`SubgraphGenome`; the layer-level baselines plug in their own
    (:mod:`autobuild.search.layer`). Everything else (pymoo, budget, duplicates, failures,
    the run store and replay) is shared by the search loop of :mod:`autobuild.search.nsga`.
    """

    n_var: int
    xl: np.ndarray
    xu: np.ndarray

    @property
    def n_genomes(self) -> int:
        """Number of distinct genomes (padding aside)."""
        ...

    def decode(self, genome: tuple[int, ...]) -> tuple[StageConfig, ...]:
        """The per-stage layer configurations of ``genome``."""
        ...

    def sample(self, rng: np.random.Generator, n: int) -> Iterable[np.ndarray]:
        """A (possibly lazy) stream of genomes for an initial population of ``n``."""
        ...

    def mutate(self, genome: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A mutated copy of ``genome``."""
        ...

    def every(self) -> np.ndarray:
        """Every genome, in a deterministic order (only called when ``n_genomes`` is small)."""
        ...

    def config(self) -> dict[str, Any]:
        """JSON-able description of the genome, part of a stored search's configuration."""
        ...


class SubgraphGenome:
    """One index per unit into that unit's candidate subgraphs."""

    def __init__(self, candidates: Sequence[Sequence[Subgraph]], mutation_prob: float) -> None:
        self.candidates = [tuple(c) for c in candidates]
        self.sizes = np.array([len(c) for c in self.candidates], dtype=np.int64)
        self.mutation_prob = mutation_prob
        self.n_var = len(self.sizes)
        self.xl = np.zeros(self.n_var)
        self.xu = (self.sizes - 1).astype(np.float64)

    @property
    def n_genomes(self) -> int:
        return math.prod(int(s) for s in self.sizes)

    def decode(self, genome: tuple[int, ...]) -> tuple[StageConfig, ...]:
        stages: list[StageConfig] = []
        for cands, i in zip(self.candidates, genome, strict=True):
            stages.extend(cands[i])
        return tuple(stages)

    def random_genome(self, rng: np.random.Generator) -> np.ndarray:
        return np.array([int(rng.integers(s)) for s in self.sizes], dtype=np.int64)

    def sample(self, rng: np.random.Generator, n: int) -> Iterable[np.ndarray]:
        if self.n_genomes <= MAX_FILL_ENUMERATION:
            every = self.every()
            order = rng.permutation(len(every))
            return (every[i] for i in order)
        return (self.random_genome(rng) for _ in range(TRIES_PER_CHILD * n))

    def mutate(self, genome: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = np.array(genome, dtype=np.int64, copy=True)
        movable = np.flatnonzero(self.sizes > 1)
        if len(movable) == 0:
            return out
        chosen = movable[rng.random(len(movable)) < self.mutation_prob]
        if len(chosen) == 0:
            chosen = np.array([movable[int(rng.integers(len(movable)))]])
        for u in chosen:
            step = int(rng.integers(1, int(self.sizes[u])))  # any index but the current one
            out[u] = (out[u] + step) % self.sizes[u]
        return out

    def every(self) -> np.ndarray:
        return np.array(list(itertools.product(*(range(int(s)) for s in self.sizes))))

    def config(self) -> dict[str, Any]:
        return {
            "method": "nsga2",
            "candidates": [[_subgraph_id(sg) for sg in c] for c in self.candidates],
            "mutation_prob": self.mutation_prob,
        }


class GenomeState:
    """A genome, decoding to architectures and the set of ids already taken (for operators)."""

    def __init__(self, space: SearchSpace, genome: Genome, globals_: tuple[Value, ...]) -> None:
        self.space = space
        self.genome = genome
        self.globals = globals_
        self.known: set[str] = set()
        self._cache: dict[tuple[int, ...], tuple[Architecture, str]] = {}

    @property
    def n_genomes(self) -> int:
        return self.genome.n_genomes

    def decode(self, genome: Iterable[Any]) -> tuple[Architecture, str]:
        key = tuple(int(g) for g in genome)
        hit = self._cache.get(key)
        if hit is None:
            stages = self.genome.decode(key)
            arch = self.space.validate(Architecture(stages, self.globals))
            hit = (arch, self.space.canonical_id(arch))
            self._cache[key] = hit
        return hit

    def key(self, genome: Iterable[Any]) -> str:
        return self.decode(genome)[1]

    def mutate(self, genome: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.genome.mutate(genome, rng)

    def unique_new(
        self, genomes: Iterable[np.ndarray], limit: int, taken: set[str] | None = None
    ) -> list[np.ndarray]:
        """Genomes (in order) of new, distinct architectures, at most ``limit``.

        ``taken`` holds keys to skip as well; the keys of the genomes returned are added.
        """
        taken = set() if taken is None else taken
        out: list[np.ndarray] = []
        for g in genomes:
            if len(out) >= limit:
                break
            k = self.key(g)
            if k not in self.known and k not in taken:
                taken.add(k)
                out.append(np.asarray(g, dtype=np.int64))
        return out

    def enumerate_new(self, rng: np.random.Generator, limit: int) -> list[np.ndarray]:
        """Up to ``limit`` genomes of not-yet-taken architectures, in a seeded random order."""
        every = self.genome.every()
        order = rng.permutation(len(every))
        return self.unique_new((every[i] for i in order), limit)
