"""Building architectures from module scores: top-K reduced spaces and ranked candidates.

AutoBuild keeps the ``K`` best-scored subgraphs of every unit (stage); their product is a
reduced search space whose architectures are ranked by the sum of their units' scores, and
the top-1 of every unit is the single built architecture (Mills et al., CVPR 2024, Sec. 5.1).
Several predictors (e.g. one per target equation) combine by the union of their top-K sets.
:func:`rerank` orders built architectures by a predictor's whole-architecture prediction
instead, a non-additive step that can capture interactions between stages.

:func:`rank_candidates` and :func:`rerank` take any :class:`~autobuild.scoring.Scorer`: a
predictor or an ensemble. Every ranking follows the scorer's direction (see
:func:`~autobuild.predictor.direction.predictor_direction`): for a ``"min"`` target such as
latency the best architectures are those with the lowest summed score or prediction, and
they come first. Scores and predictions are kept in label units (e.g. milliseconds).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from autobuild.exceptions import ConfigError
from autobuild.predictor import AutoBuildPredictor
from autobuild.predictor.direction import Direction, best_first, check_direction
from autobuild.scoring import (
    BuiltArchitecture,
    ModuleScores,
    RerankHead,
    Scorer,
    Shift,
    SubgraphScore,
    as_scorer,
    with_predictions,
)
from autobuild.spaces import Architecture, SearchSpace, Subgraph, Value

__all__ = [
    "BuiltArchitecture",
    "CombineMode",
    "ReducedSpace",
    "rank_candidates",
    "reduce_space",
    "rerank",
    "with_predictions",
]

#: Most distinct architectures that :meth:`ReducedSpace.ranked` sorts completely.
MAX_FULL_RANKING = 2_000_000

#: How :func:`reduce_space` combines several score tables.
CombineMode = Literal["union", "concat"]


@dataclass(frozen=True)
class ReducedSpace:
    """The product of per-unit candidate subgraphs (see :func:`reduce_space`).

    Attributes:
        space: The full search space.
        candidates: Per unit, the kept subgraphs, best first (in ``concat`` mode a subgraph
            may appear several times).
        scores: Per unit, the score used for ranking each candidate.
        globals: Global feature values of the built architectures.
        direction: Whether high (``"max"``) or low (``"min"``) scores are better.

    Raises:
        ConfigError: A ``direction`` other than ``"max"`` or ``"min"``.
    """

    space: SearchSpace
    candidates: tuple[tuple[Subgraph, ...], ...]
    scores: tuple[tuple[float, ...], ...]
    globals: tuple[Value, ...] = ()
    direction: Direction = "max"

    def __post_init__(self) -> None:
        check_direction(self.direction, "a ReducedSpace")

    def size(self) -> int:
        """Number of architectures in the reduced space (duplicates in ``concat`` mode too;
        see :meth:`num_distinct`)."""
        return math.prod(len(c) for c in self.candidates)

    def num_distinct(self) -> int:
        """Number of distinct architectures in the reduced space."""
        return math.prod(len(set(c)) for c in self.candidates)

    def best(self) -> BuiltArchitecture:
        """The top-1 architecture: the best candidate of every unit."""
        return self.ranked(1)[0]

    def ranked(self, top: int | None = None) -> list[BuiltArchitecture]:
        """Distinct architectures ranked by the sum of their unit scores, best first.

        Best is the highest sum, or the lowest for direction ``"min"``. A subgraph listed
        several times in a unit (``concat`` mode) counts once, with its best score, so
        exactly ``min(top, num_distinct())`` architectures come back.

        Args:
            top: How many (all when ``None``; ranking every architecture needs at most
                :data:`MAX_FULL_RANKING` distinct ones).

        Raises:
            ConfigError: Every architecture asked for (``top`` is ``None`` or at least
                :meth:`num_distinct`) of a space of more than :data:`MAX_FULL_RANKING`.
        """
        keep = self._distinct_candidates()
        signed = [
            np.asarray([self._signed(u, i) for i in idx], dtype=np.float64)
            for u, idx in enumerate(keep)
        ]
        n = math.prod(len(idx) for idx in keep)
        if top is None or top >= n:
            if n > MAX_FULL_RANKING:
                raise ConfigError(
                    f"The reduced space has {n:,} distinct architectures; ask for the `top` "
                    f"ones (at most {MAX_FULL_RANKING:,} are ranked in full)."
                )
            picks = _all_sums(signed)
        else:
            picks = _top_sums(signed, top)
        return [self._assemble([keep[u][i] for u, i in enumerate(idx)]) for idx in picks]

    def _signed(self, unit: int, i: int) -> float:
        """Score of candidate ``i`` of ``unit``, negated for direction ``"min"`` (higher is
        better after the sign)."""
        value = float(self.scores[unit][i])
        return value if self.direction == "max" else -value

    def _distinct_candidates(self) -> list[list[int]]:
        """Per unit, the index of the best-scored occurrence of every distinct candidate,
        best first (ties keep the candidate order)."""
        out = []
        for u, cands in enumerate(self.candidates):
            signed = [self._signed(u, i) for i in range(len(cands))]
            best: dict[Subgraph, int] = {}
            for i, sg in enumerate(cands):
                if sg not in best or signed[i] > signed[best[sg]]:
                    best[sg] = i
            out.append(sorted(best.values(), key=lambda i: (-signed[i], i)))
        return out

    def _assemble(self, idx: Sequence[int]) -> BuiltArchitecture:
        stages: list = []
        for cands, i in zip(self.candidates, idx, strict=True):
            stages.extend(cands[i])
        unit_scores = tuple(s[i] for s, i in zip(self.scores, idx, strict=True))
        arch = Architecture(tuple(stages), tuple(self.globals))
        return BuiltArchitecture(arch, float(sum(unit_scores)), unit_scores)


def reduce_space(
    scores: ModuleScores | Sequence[ModuleScores],
    k: int | Sequence[int] = 3,
    *,
    mode: CombineMode = "union",
) -> ReducedSpace:
    """Keep the top-``k`` subgraphs of every unit.

    The best subgraphs are those with the highest scores, or the lowest for tables of
    direction ``"min"`` (e.g. a latency predictor); the reduced space ranks in that
    direction too.

    Args:
        scores: Module scores of one predictor, or of several (e.g. one per target
            equation) to combine; several must share one direction.
        k: Subgraphs kept per unit: one number, or one per unit.
        mode: How several score tables combine: ``"union"`` (each subgraph once) or
            ``"concat"`` (the authors' behaviour: a subgraph chosen by several tables appears
            several times). With several tables, candidates are ranked by the mean of their
            per-table z-scores (scores of different targets have different units).

    Raises:
        ConfigError: Bad ``k`` or ``mode``, or tables of different spaces or directions.
    """
    tables = [scores] if isinstance(scores, ModuleScores) else list(scores)
    if not tables:
        raise ConfigError("`scores` must hold at least one ModuleScores table.")
    if mode not in ("union", "concat"):
        raise ConfigError(f"`mode` must be 'union' or 'concat', got {mode!r}.")
    space = tables[0].space
    if any(t.space.fingerprint() != space.fingerprint() for t in tables):
        raise ConfigError("All score tables must come from predictors of the same space.")
    direction = tables[0].direction
    if any(t.direction != direction for t in tables):
        found = ", ".join(f"table {i + 1}: {t.direction!r}" for i, t in enumerate(tables))
        raise ConfigError(
            f"Score tables of different directions cannot be combined ({found}); use "
            "predictors whose targets are all better high or all better low (e.g. negate a "
            "cost in the target expression and train with --direction max)."
        )
    ks = [k] * space.num_units if isinstance(k, int) else list(k)
    if len(ks) != space.num_units or any(
        isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in ks
    ):
        raise ConfigError(
            f"`k` must be an integer >= 1 or one per unit ({space.num_units}), got {k!r}."
        )
    candidates: list[tuple[Subgraph, ...]] = []
    unit_scores: list[tuple[float, ...]] = []
    for u, ku in enumerate(ks):
        chosen: list[Subgraph] = []
        for t in tables:
            for r in t.top_k(u, ku):
                if mode == "concat" or r.subgraph not in chosen:
                    chosen.append(r.subgraph)
        if len(tables) == 1:
            values = [tables[0].lookup(u, sg).score for sg in chosen]  # type: ignore[union-attr]
        else:
            z = [_z_scores(t, u) for t in tables]
            values = [float(np.mean([zt[sg] for zt in z])) for sg in chosen]
        order = best_first(values, direction)
        candidates.append(tuple(chosen[i] for i in order))
        unit_scores.append(tuple(values[i] for i in order))
    return ReducedSpace(space, tuple(candidates), tuple(unit_scores), tables[0].globals, direction)


def rank_candidates(
    scorer: Scorer | AutoBuildPredictor | ModuleScores,
    archs: Sequence[Architecture],
    *,
    shift: Shift = "auto",
) -> list[BuiltArchitecture]:
    """Rank given architectures by the sum of their units' module scores, best first.

    This is how to pick, from a pool of candidates, the ones worth training. Each candidate's
    subgraphs are scored with its own global feature values; repeats are ranked once. Best
    is the highest sum, or the lowest for a scorer of direction ``"min"`` (see
    :func:`~autobuild.predictor.direction.predictor_direction`).

    Args:
        scorer: A :class:`~autobuild.scoring.Scorer` (a predictor's or an ensemble's), a
            fitted predictor, or a :class:`~autobuild.scoring.ModuleScores` table to look
            the scores up in (every candidate must have the table's global feature values).
        archs: The candidates.
        shift: As in :meth:`Scorer.score_modules <autobuild.scoring.Scorer.score_modules>`:
            a predictor scores only the candidates' subgraphs, an ensemble looks them up in
            its confidence-weighted tables. A table was shifted already: ``shift`` must be
            ``"auto"`` or the table's own.

    Raises:
        ConfigError: Anything else than a scorer, a predictor or a table; a ``shift`` other
            than a table's; or (see :meth:`ModuleScores.unit_scores
            <autobuild.scoring.ModuleScores.unit_scores>`) candidates a table cannot score.
    """
    if isinstance(scorer, ModuleScores):
        if shift not in ("auto", scorer.shift):
            raise ConfigError(
                f"This ModuleScores table was scored with shift={scorer.shift!r}, so "
                f"shift={shift!r} cannot apply; leave `shift` at 'auto' or score the modules "
                "again with that shift."
            )
        table = scorer
        space, direction = table.space, table.direction
        unique = list(dict.fromkeys(space.validate(a) for a in archs))
        per_arch = table.unit_scores(unique)
    else:
        source = as_scorer(scorer)
        space, direction = source.space, source.direction
        unique = list(dict.fromkeys(space.validate(a) for a in archs))
        per_arch = source.unit_scores(unique, shift=shift)
    totals = per_arch.sum(1)
    order = best_first(totals, direction)
    return [
        BuiltArchitecture(unique[i], float(totals[i]), tuple(float(v) for v in per_arch[i]))
        for i in order
    ]


def rerank(
    built: Sequence[BuiltArchitecture],
    predictor: Scorer | AutoBuildPredictor,
    *,
    head: RerankHead = "auto",
) -> list[BuiltArchitecture]:
    """Order built architectures by a scorer's prediction of the whole architecture.

    Summed stage scores cannot express interactions between stages; re-ranking the reduced
    space (e.g. ``reduce_space(table, k).ranked()``) with the full predictor can. Ties keep
    the summed-score order. The same as ``as_scorer(predictor).rerank(built, head=head)``
    (see :meth:`PredictorScorer.rerank <autobuild.scoring.PredictorScorer.rerank>` and
    :meth:`~autobuild.ensemble.PredictorEnsemble.rerank`).

    Args:
        built: Architectures to re-rank (their summed scores are kept).
        predictor: A fitted predictor, or any :class:`~autobuild.scoring.Scorer`.
        head: Prediction head (as in :meth:`AutoBuildPredictor.predict`), or ``"auto"``:
            :data:`RERANK_HEAD` when a predictor has a unit head, else ``"regressor"``.

    Returns:
        The architectures, best prediction first (the highest, or the lowest for a
        scorer of direction ``"min"``, see
        :func:`~autobuild.predictor.direction.predictor_direction`), with ``prediction`` and
        ``spread`` (0 for one predictor).

    Raises:
        NotFittedError: An unfitted predictor.
        ConfigError: An unknown head, a unit head the predictor was trained without, an
            unknown direction in its metadata, or something that is not a scorer.
    """
    return as_scorer(predictor).rerank(built, head=head)


def _z_scores(table: ModuleScores, unit: int) -> dict[Subgraph, float]:
    rows: list[SubgraphScore] = [r for r in table.records if r.unit == unit]
    values = np.asarray([r.score for r in rows])
    std = values.std()
    z = (values - values.mean()) / std if std > 0 else np.zeros_like(values)
    return {r.subgraph: float(v) for r, v in zip(rows, z, strict=True)}


def _top_sums(lists: Sequence[np.ndarray], n: int) -> list[tuple[int, ...]]:
    """Index tuples of the ``n`` largest sums over the product of descending-sorted lists.

    Best-first expansion with a heap: each popped tuple proposes its successors (one index
    advanced), so only ``O(n * units)`` tuples are ever looked at. Ties break on the
    index tuple, deterministically.
    """
    start = (0,) * len(lists)
    heap = [(-sum(float(lst[0]) for lst in lists), start)]
    seen = {start}
    out: list[tuple[int, ...]] = []
    while heap and len(out) < n:
        neg, idx = heapq.heappop(heap)
        out.append(idx)
        for u, lst in enumerate(lists):
            if idx[u] + 1 < len(lst):
                nxt = (*idx[:u], idx[u] + 1, *idx[u + 1 :])
                if nxt not in seen:
                    seen.add(nxt)
                    delta = float(lst[idx[u] + 1]) - float(lst[idx[u]])
                    heapq.heappush(heap, (neg - delta, nxt))
    return out


def _all_sums(lists: Sequence[np.ndarray]) -> list[tuple[int, ...]]:
    """Every index tuple of the product, by descending sum (ties in product order)."""
    total = np.zeros(())
    for lst in lists:
        total = np.add.outer(total, lst)
    flat = total.reshape(-1)
    order = np.argsort(-flat, kind="stable")
    shape = tuple(len(lst) for lst in lists)
    return [tuple(int(v) for v in t) for t in zip(*np.unravel_index(order, shape), strict=True)]
