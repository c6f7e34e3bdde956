"""One scoring interface for a fitted predictor and a predictor ensemble: :class:`Scorer`.

Module scores, candidate rankings, whole-architecture predictions and re-rankings read the
same from one :class:`~autobuild.predictor.AutoBuildPredictor` (wrapped by
:class:`PredictorScorer`) and from a :class:`~autobuild.ensemble.PredictorEnsemble` (which
implements the protocol itself); :func:`as_scorer` gives the scorer of either. Everything a
scorer ranks is ordered best first in its :attr:`Scorer.direction`.

Example:
    >>> import autobuild as ab
    >>> from autobuild.scoring import Scorer, as_scorer
    >>> space = ab.spaces.get("nasbench-macro")
    >>> archs = space.sample(32, seed=0)
    >>> y = [float(a.num_layers) for a in archs]
    >>> scorer = as_scorer(ab.AutoBuildPredictor(space, epochs=1, random_state=0).fit(archs, y))
    >>> isinstance(scorer, Scorer), scorer.predict(archs[:3]).value.shape
    (True, (3,))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from autobuild.exceptions import ConfigError
from autobuild.predictor import AutoBuildPredictor
from autobuild.predictor.direction import Direction, best_first, predictor_direction
from autobuild.predictor.estimator import Head
from autobuild.scoring.modules import ModuleScores, Shift, score_modules, score_subgraphs
from autobuild.spaces import Architecture, SearchSpace, Value

__all__ = [
    "RERANK_HEAD",
    "BuiltArchitecture",
    "Head",
    "Prediction",
    "PredictorScorer",
    "RerankHead",
    "Scorer",
    "as_scorer",
    "with_predictions",
]

#: Heads :meth:`Scorer.rerank` takes: a prediction head, or ``"auto"`` (the scorer's own).
RerankHead = Head | Literal["auto"]
#: The head :meth:`PredictorScorer.rerank` uses for ``"auto"`` when the predictor has an
#: additive unit head: the mean of the GNN's regressor and that head (with 100 labels the
#: regressor alone prefers the largest network; see docs/results/construct.md).
RERANK_HEAD: Head = "mean"


@dataclass(frozen=True, slots=True)
class BuiltArchitecture:
    """An architecture with the scores that ranked it.

    Attributes:
        arch: The architecture.
        score: Sum of its units' scores.
        unit_scores: Score of each unit's subgraph.
        prediction: The whole-architecture prediction that re-ranked it
            (:meth:`Scorer.rerank`; ``None`` when ranked by ``score``).
        spread: Uncertainty of ``prediction`` (an ensemble's weighted spread; 0 for one
            predictor; ``None`` when not re-ranked).
    """

    arch: Architecture
    score: float
    unit_scores: tuple[float, ...]
    prediction: float | None = None
    spread: float | None = None


@dataclass(frozen=True)
class Prediction:
    """Whole-architecture predictions of a scorer, in label units.

    For the callers of the ``(mean, spread)`` pair that
    :meth:`~autobuild.ensemble.PredictorEnsemble.predict` used to return, a prediction also
    unpacks and indexes as ``(value, spread)``.

    Attributes:
        value: `n` predictions (an ensemble's confidence-weighted mean of its members').
        spread: `n` uncertainties: an ensemble's weighted standard deviation of its
            members' predictions; zeros for one predictor, which has no spread.
        hop_norms: `n x (M + 1)` L1 norms of each architecture's graph embedding at hops
            ``0..M`` for one predictor (see
            :meth:`~autobuild.predictor.AutoBuildPredictor.hop_norms`); ``None`` for an
            ensemble, whose members' embeddings have different scales.
    """

    value: np.ndarray
    spread: np.ndarray
    hop_norms: np.ndarray | None = None

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.value, self.spread))

    def __getitem__(self, index: int) -> np.ndarray:
        return (self.value, self.spread)[index]

    def __len__(self) -> int:
        return 2


@runtime_checkable
class Scorer(Protocol):
    """What scores modules and predicts architectures: one predictor or an ensemble.

    :class:`PredictorScorer` adapts an :class:`~autobuild.predictor.AutoBuildPredictor`;
    :class:`~autobuild.ensemble.PredictorEnsemble` is a scorer itself. :func:`as_scorer`
    gives the scorer of either.
    """

    @property
    def space(self) -> SearchSpace:
        """The search space of the scored architectures."""
        ...

    @property
    def direction(self) -> Direction:
        """Whether high (``"max"``) or low (``"min"``) scores and predictions are better."""
        ...

    @property
    def members(self) -> tuple[AutoBuildPredictor, ...]:
        """The fitted predictors behind the scores: one, or an ensemble's members."""
        ...

    @property
    def metadata(self) -> dict[str, Any]:
        """Free JSON metadata of the checkpoint (e.g. ``target``, ``unit``, ``direction``)."""
        ...

    def score_modules(
        self,
        *,
        globals_: Sequence[Value] | None = None,
        shift: Shift = "auto",
        units: Sequence[int] | None = None,
    ) -> ModuleScores:
        """Score every stage subgraph of the given units (all when ``None``).

        Args:
            globals_: Global feature values to score with (the space's defaults when
                ``None``).
            shift: How raw norms become scores (:data:`~autobuild.scoring.Shift`).
            units: Units to score (all when ``None``).

        Returns:
            A :class:`ModuleScores` table ranked in :attr:`direction`.
        """
        ...

    def unit_scores(self, archs: Sequence[Architecture], *, shift: Shift = "auto") -> np.ndarray:
        """The module score of every unit's subgraph of each architecture.

        Each architecture is scored with its own global feature values.

        Returns:
            An `n x U` array (``U`` units of the space).
        """
        ...

    def predict(self, archs: Sequence[Architecture]) -> Prediction:
        """Whole-architecture predictions of ``archs`` (`n` of them), in label units."""
        ...

    def rerank(
        self, built: Sequence[BuiltArchitecture], *, head: RerankHead = "auto"
    ) -> list[BuiltArchitecture]:
        """Order built architectures by the whole-architecture prediction, best first.

        The summed scores of ``built`` are kept; ``prediction`` and ``spread`` are set.
        Ties keep the given order.
        """
        ...


@dataclass(frozen=True)
class PredictorScorer:
    """The :class:`Scorer` of one fitted :class:`~autobuild.predictor.AutoBuildPredictor`.

    Args:
        predictor: The predictor (fitted or loaded; checked when it is used).

    Raises:
        ConfigError: ``predictor`` is not an :class:`~autobuild.predictor.AutoBuildPredictor`.
    """

    predictor: AutoBuildPredictor

    def __post_init__(self) -> None:
        if not isinstance(self.predictor, AutoBuildPredictor):
            raise ConfigError(
                f"A PredictorScorer wraps an AutoBuildPredictor, got "
                f"{type(self.predictor).__name__}; use as_scorer() for an ensemble."
            )

    @property
    def space(self) -> SearchSpace:
        """The predictor's search space."""
        return self.predictor.space

    @property
    def direction(self) -> Direction:
        """The predictor's direction (see
        :func:`~autobuild.predictor.direction.predictor_direction`)."""
        return predictor_direction(self.predictor)

    @property
    def members(self) -> tuple[AutoBuildPredictor, ...]:
        """The predictor alone."""
        return (self.predictor,)

    @property
    def metadata(self) -> dict[str, Any]:
        """The predictor's checkpoint metadata (empty before it is fitted or loaded)."""
        return getattr(self.predictor, "metadata_", None) or {}

    def score_modules(
        self,
        *,
        globals_: Sequence[Value] | None = None,
        shift: Shift = "auto",
        units: Sequence[int] | None = None,
    ) -> ModuleScores:
        """:func:`~autobuild.scoring.score_modules` of the predictor: ``"auto"`` is its unit
        head when it was trained with one, else ``"eq5"``."""
        return score_modules(self.predictor, units=units, globals_=globals_, shift=shift)

    def unit_scores(self, archs: Sequence[Architecture], *, shift: Shift = "auto") -> np.ndarray:
        """`n x U` module scores of the units' subgraphs of ``archs``.

        Only the subgraphs the architectures use are scored (each distinct one once per
        set of global feature values), with
        :func:`~autobuild.scoring.score_subgraphs`.
        """
        space = self.space
        archs = [space.validate(a) for a in archs]
        out = np.zeros((len(archs), space.num_units))
        for globals_, idx in _by_globals(archs).items():
            for u in range(space.num_units):
                subs = list(dict.fromkeys(space.unit_subgraph(archs[i], u) for i in idx))
                records = score_subgraphs(self.predictor, u, subs, globals_=globals_, shift=shift)
                score = {r.subgraph: r.score for r in records}
                for i in idx:
                    out[i, u] = score[space.unit_subgraph(archs[i], u)]
        return out

    def predict(self, archs: Sequence[Architecture], head: Head = "regressor") -> Prediction:
        """The predictor's predictions (``head`` as in
        :meth:`~autobuild.predictor.AutoBuildPredictor.predict`), zero spreads, and the
        hop norms, from one forward pass.

        Raises:
            NotFittedError: An unfitted predictor.
            ConfigError: An unknown head, or a unit head the predictor was trained without.
        """
        values, norms = self.predictor.predict_with_norms(archs, head)
        return Prediction(values, np.zeros(len(values)), norms)

    def rerank(
        self, built: Sequence[BuiltArchitecture], *, head: RerankHead = "auto"
    ) -> list[BuiltArchitecture]:
        """Order built architectures by the predictor's prediction of each, best first.

        Summed stage scores cannot express interactions between stages; re-ranking the
        reduced space (e.g. ``reduce_space(table, k).ranked()``) with the full predictor
        can. Ties keep the summed-score order.

        Args:
            built: Architectures to re-rank (their summed scores are kept).
            head: Prediction head (as in
                :meth:`~autobuild.predictor.AutoBuildPredictor.predict`), or ``"auto"``:
                :data:`RERANK_HEAD` when the predictor has a unit head, else
                ``"regressor"``.

        Returns:
            The architectures, best prediction first (the highest, or the lowest for a
            predictor of direction ``"min"``), with ``prediction`` and ``spread`` 0.

        Raises:
            NotFittedError: An unfitted predictor.
            ConfigError: An unknown head, a unit head the predictor was trained without, or
                an unknown direction in its metadata.
        """
        direction = self.direction
        if head == "auto":
            head = RERANK_HEAD if self.predictor.has_unit_head else "regressor"
        archs = [b.arch for b in built]
        if not archs:
            return []
        prediction = self.predict(archs, head=head)
        return with_predictions(built, prediction.value, prediction.spread, direction)


def as_scorer(obj: object) -> Scorer:
    """The :class:`Scorer` of a predictor or an ensemble.

    Args:
        obj: A fitted :class:`~autobuild.predictor.AutoBuildPredictor` (wrapped in a
            :class:`PredictorScorer`) or a scorer already (e.g. a
            :class:`~autobuild.ensemble.PredictorEnsemble`, returned as it is).

    Raises:
        ConfigError: Anything else.
    """
    if isinstance(obj, AutoBuildPredictor):
        return PredictorScorer(obj)
    if isinstance(obj, Scorer):
        return obj
    raise ConfigError(
        f"Expected an AutoBuildPredictor or a Scorer (e.g. a PredictorEnsemble), got "
        f"{type(obj).__name__}; load a checkpoint with AutoBuildPredictor.load() or an "
        "ensemble with PredictorEnsemble.load()."
    )


def with_predictions(
    built: Sequence[BuiltArchitecture],
    values: np.ndarray,
    spread: np.ndarray,
    direction: Direction,
) -> list[BuiltArchitecture]:
    """``built`` with these predictions and spreads, best first in ``direction`` (ties keep
    the given order)."""
    order = best_first(values, direction)
    return [
        dataclasses.replace(built[i], prediction=float(values[i]), spread=float(spread[i]))
        for i in order
    ]


def _by_globals(archs: Sequence[Architecture]) -> dict[tuple[Value, ...], list[int]]:
    """Indices of ``archs`` grouped by their global feature values, in first-seen order."""
    groups: dict[tuple[Value, ...], list[int]] = {}
    for i, a in enumerate(archs):
        groups.setdefault(a.globals, []).append(i)
    return groups
