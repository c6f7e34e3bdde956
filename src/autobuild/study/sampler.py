"""Samplers: what a study asks next, from everything told so far.

A sampler sees a :class:`History` (the told results, the architectures already asked, an
optional candidate pool) and proposes architectures, best first (:class:`Proposal`). The
study hands out the first ones that no trial holds yet, so a sampler proposes a few more
than asked for.

* :class:`RandomSampler` -- unique architectures drawn uniformly at random.
* :class:`AutoBuildSampler` -- AutoBuild in the loop. After a random initial design, each
  round trains one AutoBuild predictor per objective on every told result, scores the stage
  subgraphs (module scores), and proposes from the top-``k`` reduced space, from the
  neighbours of the best told architectures (one unit's subgraph replaced by a well-scored
  one) and from random architectures, ranked by an upper confidence bound: the predicted
  value plus ``beta`` times its uncertainty. With several objectives the next architectures
  are those whose bounds add the most hypervolume to the told front.
  Every round's module scores and feature importance are returned as the round's
  knowledge, so a study can show how they changed.

A sampler is rebuilt from its JSON configuration (:meth:`BaseSampler.to_config`,
:func:`sampler_from_config`), so a study stored in a file resumes with the same one.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from autobuild._validation import check_int, check_number
from autobuild.exceptions import ConfigError, SearchSpaceError
from autobuild.search.pareto import hypervolume, pareto_indices
from autobuild.search.result import Objective
from autobuild.spaces import Architecture, SearchSpace, Subgraph

__all__ = [
    "AutoBuildSampler",
    "BaseSampler",
    "History",
    "Proposal",
    "RandomSampler",
    "sampler_from_config",
]

logger = logging.getLogger(__name__)

#: How many random draws :func:`draw_unique` makes per architecture it still needs before
#: it gives up on a space that is almost used up.
_DRAWS_PER_ARCH = 8

#: Spaces up to this size are listed in full when random draws find too few new members.
_ENUMERATE_BELOW = 200_000


@dataclass(frozen=True)
class History:
    """What a sampler knows when it proposes.

    Attributes:
        space: The search space.
        objectives: ``(metric, "max" | "min")`` pairs.
        archs: Architectures of the complete trials, in trial order.
        values: ``(len(archs), len(objectives))`` objective values of those trials.
        exclude: Architecture ids of every trial (pending, complete or failed): never
            proposed again.
        candidates: The candidate pool a study asks from, or ``None`` for the whole space.
        round: Number of this round if it learns (1 for the first that trains predictors;
            the initial design is round 0).
    """

    space: SearchSpace
    objectives: tuple[Objective, ...]
    archs: tuple[Architecture, ...]
    values: np.ndarray
    exclude: frozenset[str]
    candidates: tuple[Architecture, ...] | None = None
    round: int = 1

    @property
    def signs(self) -> np.ndarray:
        """``+1`` per maximised objective, ``-1`` per minimised one."""
        return np.array([1.0 if d == "max" else -1.0 for _, d in self.objectives])


@dataclass(frozen=True)
class Proposal:
    """Architectures to ask, best first, and what the round learnt.

    Attributes:
        archs: Distinct architectures not in :attr:`History.exclude`, best first.
        knowledge: JSON-serialisable record of the round (module scores, feature
            importance), or ``None`` when the round learnt nothing (a random draw).
    """

    archs: tuple[Architecture, ...]
    knowledge: dict[str, Any] | None = None


class BaseSampler(ABC):
    """Proposes architectures from a :class:`History`; subclasses implement :meth:`_propose`.

    :meth:`propose` checks the arguments, calls :meth:`_propose` and drops what the history
    excludes and repeats, so every sampler returns only new, distinct architectures.
    """

    #: Name in a stored configuration.
    name: ClassVar[str]

    def propose(self, history: History, n: int, rng: np.random.Generator) -> Proposal:
        """At least ``n`` new architectures where the space has them, best first.

        Args:
            history: What is known.
            n: How many the study needs (>= 1); a sampler may propose more.
            rng: The round's random generator (the study seeds it from its seed and the
                number of trials, so a round is reproducible).
        """
        n = check_int("n", n, low=1)
        proposal = self._propose(history, n, rng)
        space = history.space
        seen = set(history.exclude)
        archs = []
        for arch in proposal.archs:
            arch_id = space.arch_id(arch)
            if arch_id not in seen:
                seen.add(arch_id)
                archs.append(arch)
        if len(archs) < n:  # e.g. a small reduced space: top up with random architectures
            extra = draw_unique(history, n - len(archs), rng, frozenset(seen))
            archs.extend(extra)
        return dataclasses.replace(proposal, archs=tuple(archs))

    @abstractmethod
    def _propose(self, history: History, n: int, rng: np.random.Generator) -> Proposal:
        """Architectures best first (may repeat or hold excluded ones; ``propose`` drops them)."""

    @abstractmethod
    def to_config(self) -> dict[str, Any]:
        """JSON configuration, with ``"name"``; :func:`sampler_from_config` inverts it."""


class RandomSampler(BaseSampler):
    """Distinct architectures drawn uniformly at random (from the pool when a study has one)."""

    name = "random"

    def _propose(self, history: History, n: int, rng: np.random.Generator) -> Proposal:
        return Proposal(tuple(draw_unique(history, n, rng, history.exclude)))

    def to_config(self) -> dict[str, Any]:
        return {"name": self.name}

    def __repr__(self) -> str:
        return "RandomSampler()"


class AutoBuildSampler(BaseSampler):
    """AutoBuild in the loop: predictors, module scores and a reduced space every round.

    Args:
        initial: Told results needed before the first predictor; until then architectures
            are drawn at random (the initial design).
        k: Subgraphs per unit of the reduced space (top-``k`` module scores).
        neighbours: How many of the best told architectures (the first objective's best, or
            the told Pareto front's first members) are varied, one unit at a time.
        per_unit: Subgraphs tried in each unit of a neighbour: the best-scored ones.
        explore: Random architectures scored next to them each round.
        beta: Weight of the uncertainty in a candidate's rank: each objective's predicted
            value plus ``beta`` times the epistemic standard deviation of a Bayesian ridge
            regression on the one-hot encoding of the told architectures
            (:class:`~autobuild.baselines.BayesianRidgeBaseline`), large for candidates
            unlike those told. ``0`` ranks by the prediction alone.
        predictor: AutoBuild predictor parameters (:class:`~autobuild.predictor.
            PredictorConfig` fields) for every round's predictors. The default trains the
            GNN alone (``wide=0``: choosing the wide term's weight fits two more networks
            by 2-fold validation every round) for 600 steps; one round with 100 told
            results takes seconds (``benchmarks/study.py``).

    Raises:
        ConfigError: A count below its minimum, a negative ``beta``, or an unknown
            predictor parameter.
    """

    name = "autobuild"

    #: Predictor parameters of every round unless ``predictor`` overrides them.
    DEFAULT_PREDICTOR: ClassVar[dict[str, Any]] = {"steps": 600, "wide": 0}

    def __init__(
        self,
        *,
        initial: int = 10,
        k: int = 3,
        neighbours: int = 3,
        per_unit: int = 25,
        explore: int = 200,
        beta: float = 0.25,
        predictor: Mapping[str, Any] | None = None,
    ) -> None:
        from autobuild.predictor import PredictorConfig

        self.initial = check_int("initial", initial, low=2)
        self.k = check_int("k", k, low=1)
        self.neighbours = check_int("neighbours", neighbours, low=0)
        self.per_unit = check_int("per_unit", per_unit, low=1)
        self.explore = check_int("explore", explore, low=0)
        self.beta = check_number("beta", beta, low=0.0)
        if predictor is not None and not isinstance(predictor, Mapping):
            raise ConfigError(
                "`predictor` must be a mapping of predictor parameters, e.g. "
                f"{{'steps': 600}}; got {predictor!r}."
            )
        self.predictor = {**self.DEFAULT_PREDICTOR, **dict(predictor or {})}
        PredictorConfig.from_dict(self.predictor)  # fail now on an unknown parameter

    def to_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "initial": self.initial,
            "k": self.k,
            "neighbours": self.neighbours,
            "per_unit": self.per_unit,
            "explore": self.explore,
            "beta": self.beta,
            "predictor": dict(self.predictor),
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_config().items() if k != "name")
        return f"AutoBuildSampler({args})"

    def _propose(self, history: History, n: int, rng: np.random.Generator) -> Proposal:
        if len(history.archs) < self.initial:
            return Proposal(tuple(draw_unique(history, n, rng, history.exclude)))
        from autobuild.predictor import AutoBuildPredictor
        from autobuild.scoring import feature_importance, score_modules

        start = time.perf_counter()
        space = history.space
        signed = history.values * history.signs  # every column: higher is better
        seeds = [int(rng.integers(2**31)) for _ in history.objectives]

        def learn(j: int) -> tuple[Any, Any]:
            predictor = AutoBuildPredictor(space, random_state=seeds[j], **self.predictor)
            predictor.fit(list(history.archs), signed[:, j])
            return predictor, score_modules(predictor)

        # One thread per objective: most of a fit runs in torch kernels, which release the
        # GIL, so several objectives' predictors train side by side; each fit's result
        # depends only on its seed.
        with ThreadPoolExecutor(max_workers=len(seeds)) as pool:
            learnt = list(pool.map(learn, range(len(seeds))))
        predictors = [p for p, _ in learnt]
        tables = [t for _, t in learnt]
        candidates = self._candidates(history, tables, rng)
        if not candidates:
            return Proposal(())
        predicted = np.column_stack(
            [_predict(p, candidates) for p in predictors]
        )  # (c, m), higher is better
        if self.beta > 0:  # optimism under uncertainty: an upper confidence bound
            spread = np.column_stack(
                [_spread(space, history.archs, col, candidates) for col in signed.T]
            )
            predicted = predicted + self.beta * spread
        order = _select(signed, predicted, n)
        chosen = tuple(candidates[i] for i in order)
        knowledge = {
            "n_told": len(history.archs),
            "seconds": round(time.perf_counter() - start, 3),
            "objectives": {
                name: _knowledge(space, table, feature_importance(predictor), self.k, sign)
                for (name, _), table, predictor, sign in zip(
                    history.objectives, tables, predictors, history.signs, strict=True
                )
            },
        }
        return Proposal(chosen, knowledge)

    def _candidates(
        self, history: History, tables: Sequence[Any], rng: np.random.Generator
    ) -> list[Architecture]:
        """The round's candidates: reduced spaces, neighbours of the best, random ones."""
        from autobuild.construction import reduce_space

        space = history.space
        found: dict[str, Architecture] = {}

        def add(arch: Architecture) -> None:
            arch_id = space.arch_id(arch)
            if arch_id not in history.exclude:
                found.setdefault(arch_id, arch)

        if history.candidates is not None:
            for arch in history.candidates:
                add(arch)
            return list(found.values())
        for table in tables:
            for built in reduce_space(table, self.k).ranked():
                add(built.arch)
        best_subgraphs = [
            [r.subgraph for r in _merged_top(tables, u, self.per_unit)]
            for u in range(space.num_units)
        ]
        for arch in _best_told(history, self.neighbours):
            for u, subgraphs in enumerate(best_subgraphs):
                for sub in subgraphs:
                    add(with_unit(space, arch, u, sub))
        for arch in draw_unique(history, self.explore, rng, history.exclude):
            add(arch)
        return list(found.values())


def sampler_from_config(config: Mapping[str, Any]) -> BaseSampler:
    """The sampler a :meth:`BaseSampler.to_config` dictionary describes.

    Raises:
        ConfigError: An unknown sampler name or invalid settings.
    """
    settings = dict(config)
    name = settings.pop("name", None)
    if name == RandomSampler.name and not settings:
        return RandomSampler()
    if name == AutoBuildSampler.name:
        try:
            return AutoBuildSampler(**settings)
        except TypeError as err:
            raise ConfigError(f"Invalid AutoBuildSampler settings {settings!r}: {err}.") from err
    raise ConfigError(
        f"Unknown sampler configuration {dict(config)!r}; expected name 'autobuild' or 'random'."
    )


# -- helpers ----------------------------------------------------------------------------


def draw_unique(
    history: History, n: int, rng: np.random.Generator, exclude: frozenset[str]
) -> list[Architecture]:
    """Up to ``n`` distinct architectures outside ``exclude``, uniformly at random.

    From the candidate pool when the history has one, else from the space; fewer than ``n``
    only when the pool or the space has no more.
    """
    space = history.space
    if n <= 0:
        return []
    if history.candidates is not None:
        free = [a for a in history.candidates if space.arch_id(a) not in exclude]
        picks = rng.permutation(len(free))[:n]
        return [free[i] for i in picks]
    out: dict[str, Architecture] = {}
    size = space.size()
    for _ in range(_DRAWS_PER_ARCH):
        want = min(size, 2 * (n - len(out)) + 8)
        for arch in space.sample(want, seed=rng):
            arch_id = space.arch_id(arch)
            if arch_id not in exclude and len(out) < n:
                out.setdefault(arch_id, arch)
        if len(out) >= n or len(exclude) + len(out) >= size:
            break
    if len(out) < n and size <= _ENUMERATE_BELOW:
        # Random draws rarely hit the last free architectures of a used-up space: list them.
        try:
            free = [
                a
                for a in space.enumerate_architectures()
                if space.arch_id(a) not in exclude and space.arch_id(a) not in out
            ]
        except SearchSpaceError:  # interval features: not enumerable
            free = []
        for i in rng.permutation(len(free))[: n - len(out)]:
            out[space.arch_id(free[i])] = free[i]
    return list(out.values())


def with_unit(space: SearchSpace, arch: Architecture, unit: int, sub: Subgraph) -> Architecture:
    """``arch`` with the stages of ``unit`` replaced by ``sub``."""
    stages = list(arch.stages)
    for stage, layers in zip(space.units[unit], sub, strict=True):
        stages[stage] = layers
    return Architecture(tuple(stages), arch.globals)


def _best_told(history: History, count: int) -> list[Architecture]:
    """The ``count`` best told architectures: by the first objective, front first."""
    if count == 0 or not history.archs:
        return []
    signed = history.values * history.signs
    if signed.shape[1] == 1:
        order = np.argsort(-signed[:, 0], kind="stable")
    else:
        front = pareto_indices(signed, ["max"] * signed.shape[1])
        rest = [i for i in np.argsort(-signed[:, 0], kind="stable") if i not in set(front)]
        order = np.array([*sorted(front, key=lambda i: -signed[i, 0]), *rest])
    return [history.archs[i] for i in order[:count]]


def _merged_top(tables: Sequence[Any], unit: int, count: int) -> list[Any]:
    """The best ``count`` subgraph records of ``unit`` over every table, round-robin."""
    out: dict[Subgraph, Any] = {}
    ranked = [table.top_k(unit, count) for table in tables]
    for i in range(count):
        for rows in ranked:
            if i < len(rows):
                out.setdefault(rows[i].subgraph, rows[i])
    return list(out.values())[:count]


def _predict(predictor: Any, archs: Sequence[Architecture]) -> np.ndarray:
    """The predictor's ranking of ``archs``: the mean of its heads when it has a unit head."""
    head = "mean" if predictor.has_unit_head else "regressor"
    return np.asarray(predictor.predict(list(archs), head=head), dtype=np.float64)


def _spread(
    space: SearchSpace,
    archs: Sequence[Architecture],
    y: np.ndarray,
    candidates: Sequence[Architecture],
) -> np.ndarray:
    """How uncertain a prediction for each candidate is: the epistemic standard deviation of
    a Bayesian ridge regression on the one-hot encoding, fitted to the told values ``y``."""
    from autobuild.baselines import BayesianRidgeBaseline

    return BayesianRidgeBaseline(space).fit(archs, y).epistemic_std(candidates)


def _select(told: np.ndarray, predicted: np.ndarray, n: int) -> list[int]:
    """Candidate indices, best first, from their predicted points (``(c, m)``, maximised;
    upper confidence bounds when the sampler explores).

    One objective: the highest first. Several: greedily, the candidate whose point adds the
    most hypervolume to the told front and the points already chosen (the reference point
    is the told values' worst corner less a tenth of their range); once no candidate adds
    any, the rest follow by the sum of their standardised values.
    """
    if predicted.shape[1] == 1:
        return [int(i) for i in np.argsort(-predicted[:, 0], kind="stable")]
    low, high = told.min(axis=0), told.max(axis=0)
    ref = low - 0.1 * np.maximum(high - low, 1e-12)
    maxes = ["max"] * told.shape[1]
    points = told[pareto_indices(told, maxes)]
    base = hypervolume(points, maxes, ref)
    left = set(_front_layers(predicted, 4 * n))
    order: list[int] = []
    for _ in range(min(n, len(predicted))):
        gains = {
            i: hypervolume(np.vstack([points, predicted[i]]), maxes, ref) - base for i in left
        }
        best = max(left, key=lambda i: (gains[i], -i))
        if gains[best] <= 0:
            break
        order.append(best)
        left.discard(best)
        points = np.vstack([points, predicted[best]])
        base += gains[best]
    z = (predicted - predicted.mean(axis=0)) / np.maximum(predicted.std(axis=0), 1e-12)
    chosen = set(order)
    rest = sorted(set(range(len(predicted))) - chosen, key=lambda i: (-z[i].sum(), i))
    return order + rest


def _front_layers(points: np.ndarray, count: int) -> list[int]:
    """Indices of the first non-dominated layers of ``points`` (maximised), at least
    ``count`` of them when there are that many."""
    left = list(range(len(points)))
    out: list[int] = []
    while left and len(out) < count:
        front = [left[i] for i in pareto_indices(points[left], ["max"] * points.shape[1])]
        out.extend(front)
        taken = set(front)
        left = [i for i in left if i not in taken]
    return out


def _knowledge(
    space: SearchSpace, table: Any, importance: Any, k: int, sign: float
) -> dict[str, Any]:
    """JSON record of one objective's predictor in one round."""
    from autobuild.scoring import subgraph_to_json

    modules = {
        space.unit_name(u): [
            {"subgraph": subgraph_to_json(space, u, r.subgraph), "score": float(sign * r.score)}
            for r in table.top_k(u, k)
        ]
        for u in range(space.num_units)
    }
    return {
        "modules": modules,
        "categories": [
            {"category": c.category, "share": round(float(c.share), 6)}
            for c in importance.categories
        ],
        "values": [
            {"category": v.category, "value": v.value, "score": round(float(v.score), 6)}
            for v in importance.values
        ],
    }
