"""Module (stage-subgraph) scores from a fitted predictor: Eq. 5 of AutoBuild.

A stage subgraph with ``L`` layers ends at a node whose ``(L-1)``-hop receptive field is
exactly the subgraph (chain edges), so the L1 norm of that node's hop-``(L-1)`` embedding,
computed on the isolated chain, scores the subgraph in every architecture that contains it
(Mills et al., CVPR 2024, Sec. 3.2). The distribution shift of Eq. 5 maps a raw norm ``s`` at
hop ``m`` of unit ``u`` into label units,

    s* = (s - mu^h_m) / sigma^h_m * sigma^y_{u,m} + mu^y_{u,m},

where ``mu^h_m, sigma^h_m`` are the moments of node-embedding norms at hop ``m`` over the
training graphs and ``mu^y_{u,m}, sigma^y_{u,m}`` those of the training labels of the
architectures whose unit ``u`` has ``m + 1`` layers, so scores of different sizes and units
become comparable.

Scores stay in label units. Whether a high or a low score is better is the predictor's
*direction* (:mod:`autobuild.predictor.direction`: ``"min"`` for a latency checkpoint trained
with ``autobuild train --direction min``), carried by :class:`ModuleScores`, whose rankings
put the best subgraphs first: the highest scores for ``"max"``, the lowest for ``"min"``.
"""

from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from autobuild.encoding import GraphBatch, SequenceGraphEncoder
from autobuild.exceptions import AutobuildWarning, ConfigError, SearchSpaceError
from autobuild.predictor import AutoBuildPredictor, LabelMoments
from autobuild.predictor.direction import (
    Direction,
    best_first,
    check_direction,
    predictor_direction,
)
from autobuild.scoring.tables import SubgraphScore
from autobuild.spaces import Architecture, SearchSpace, Subgraph, Value

__all__ = [
    "MAX_SUBGRAPHS",
    "ModuleScores",
    "Shift",
    "score_modules",
    "score_subgraphs",
]

logger = logging.getLogger(__name__)

#: Most subgraphs of one unit that :func:`score_modules` enumerates.
MAX_SUBGRAPHS = 5_000_000
_BATCH_GRAPHS = 16_384

#: How raw embedding norms become module scores: ``"eq5"`` (the paper's distribution shift),
#: ``"additive"`` (a predictor's trained unit head), ``"raw"`` (the norms themselves) or
#: ``"auto"`` (the scorer's own choice: see :func:`score_subgraphs` for one predictor and
#: :meth:`~autobuild.ensemble.PredictorEnsemble.score_modules` for an ensemble).
Shift = Literal["auto", "eq5", "additive", "raw"]


@dataclass(frozen=True)
class ModuleScores:
    """Scores of the stage subgraphs of a space (see :func:`score_modules`).

    Attributes:
        space: The search space.
        records: One :class:`SubgraphScore` per subgraph, grouped by unit in enumeration
            order.
        globals: Global feature values the subgraphs were scored with.
        shift: How raw norms became scores: ``"eq5"``, ``"additive"`` or ``"raw"``.
        direction: Whether high (``"max"``) or low (``"min"``) scores are better: the
            scoring predictor's direction (:mod:`autobuild.predictor.direction`).

    Raises:
        ConfigError: A ``direction`` other than ``"max"`` or ``"min"``.
    """

    space: SearchSpace
    records: tuple[SubgraphScore, ...]
    globals: tuple[Value, ...] = ()
    shift: Shift = "eq5"
    direction: Direction = "max"
    _index: dict[tuple[int, Subgraph], int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        check_direction(self.direction, "a ModuleScores table")
        self._index.update({(r.unit, r.subgraph): i for i, r in enumerate(self.records)})

    def unit(self, unit: int) -> list[SubgraphScore]:
        """The records of ``unit``, best first: highest score first for direction ``"max"``,
        lowest first for ``"min"`` (ties keep enumeration order)."""
        rows = [r for r in self.records if r.unit == unit]
        return [rows[i] for i in best_first([r.score for r in rows], self.direction)]

    def top_k(self, unit: int, k: int) -> list[SubgraphScore]:
        """The ``k`` best subgraphs of ``unit`` (lowest scores for direction ``"min"``)."""
        return self.unit(unit)[:k]

    def lookup(self, unit: int, subgraph: Subgraph) -> SubgraphScore | None:
        """The record of one subgraph, or ``None`` if it was not scored."""
        i = self._index.get((unit, subgraph))
        return None if i is None else self.records[i]

    def unit_scores(self, archs: Sequence[Architecture]) -> np.ndarray:
        """The score of every unit's subgraph of each architecture, looked up in this table.

        Args:
            archs: `n` architectures of the table's space, with the global feature values
                the table was scored with (:attr:`globals`).

        Returns:
            An `n x U` array: row ``i`` holds the scores of the ``U`` unit subgraphs of
            ``archs[i]``.

        Raises:
            ConfigError: An architecture with other global feature values, or a subgraph of
                a unit the table did not score.
        """
        space = self.space
        out = np.zeros((len(archs), space.num_units))
        for i, arch in enumerate(archs):
            arch = space.validate(arch)
            if tuple(arch.globals) != tuple(self.globals):
                raise ConfigError(
                    f"Architecture {space.arch_id(arch)!r} has global feature values "
                    f"{tuple(arch.globals)!r}, but this table was scored with "
                    f"{tuple(self.globals)!r}; score the modules with globals_="
                    f"{tuple(arch.globals)!r} (or rank with the scorer itself)."
                )
            for u in range(space.num_units):
                record = self.lookup(u, space.unit_subgraph(arch, u))
                if record is None:
                    raise ConfigError(
                        f"Unit {space.unit_name(u)!r} of architecture {space.arch_id(arch)!r} "
                        "was not scored in this table; score every unit (units=None)."
                    )
                out[i, u] = record.score
        return out


def score_subgraphs(
    predictor: AutoBuildPredictor,
    unit: int,
    subgraphs: Sequence[Subgraph],
    *,
    globals_: Sequence[Value] | None = None,
    moments: LabelMoments | None = None,
    shift: Shift = "auto",
) -> list[SubgraphScore]:
    """Score given subgraphs of one unit (e.g. those of a candidate list).

    Each distinct subgraph is scored once; its repeats in ``subgraphs`` share its record.

    Args:
        predictor: A fitted predictor.
        unit: Unit index.
        subgraphs: Subgraphs of that unit (one stage configuration per stage of the unit).
        globals_: Global feature values (the space's defaults when ``None``).
        moments: Label moments (computed from the predictor's training set when ``None``).
        shift: How raw norms become scores: ``"eq5"`` (the paper's distribution shift),
            ``"additive"`` (the predictor's trained unit head), ``"raw"`` (the norm itself,
            unshifted: comparable only between subgraphs of one size; the paper's literal
            "weighted sum of embedding norms" for ensembles) or ``"auto"`` (the unit head
            when the predictor has one, else ``"eq5"``).
    """
    _check_scorable(predictor)
    resolved = _resolve_shift(predictor, shift)
    moments = moments or predictor.label_moments_
    # Repeats share one record: scored at another position of a batch, a repeat's norm
    # could differ in the last bits.
    first: dict[Subgraph, int] = {}
    where = [
        first.setdefault(tuple(tuple(tuple(layer) for layer in st) for st in sg), len(first))
        for sg in subgraphs
    ]
    unique = list(first)
    by_size: dict[int, list[int]] = {}
    for i, sg in enumerate(unique):
        by_size.setdefault(sum(len(st) for st in sg), []).append(i)
    out: list[SubgraphScore] = [None] * len(unique)  # type: ignore[list-item]
    for n_layers, idx in by_size.items():
        chunk = [unique[i] for i in idx]
        if n_layers == 0:
            records = [_empty_record(predictor, unit, sg, moments, resolved) for sg in chunk]
        else:
            batch = _encoder(predictor).encode_subgraphs(unit, chunk, globals_)
            raw = _last_node_norms(predictor, batch, n_layers - 1)
            records = _records(predictor, unit, chunk, n_layers, raw, moments, resolved)
        for i, r in zip(idx, records, strict=True):
            out[i] = r
    return [out[i] for i in where]


def score_modules(
    predictor: AutoBuildPredictor,
    *,
    units: Sequence[int] | None = None,
    globals_: Sequence[Value] | None = None,
    shift: Shift = "auto",
) -> ModuleScores:
    """Score every stage subgraph of every unit of the predictor's space.

    Subgraphs of one size are encoded with NumPy and scored in batched forward passes that
    stop at the hop they need; nothing loops over subgraphs in Python but the assembly of
    the result records.

    Args:
        predictor: A fitted predictor (not a GCN one: see :class:`GCNChainConv`).
        units: Units to score (all when ``None``).
        globals_: Global feature values to score with (the space's defaults when ``None``).
        shift: ``"eq5"``, ``"additive"``, ``"raw"`` or ``"auto"`` (see
            :func:`score_subgraphs`).

    Returns:
        The scores, as :class:`ModuleScores` ranked in the predictor's direction (see
        :func:`~autobuild.predictor.direction.predictor_direction`).

    Raises:
        ConfigError: If a unit has more layers than the predictor has hops, the predictor
            uses GCN layers, or its checkpoint declares an unknown direction.
        SearchSpaceError: If a unit has more than :data:`MAX_SUBGRAPHS` subgraphs or
            interval-valued features.
    """
    _check_scorable(predictor)
    resolved = _resolve_shift(predictor, shift)
    direction = predictor_direction(predictor)
    space = predictor.space
    moments = predictor.label_moments_
    unit_list = list(range(space.num_units)) if units is None else list(units)
    if globals_ is None:
        globals_ = predictor.encoder.default_globals()
    records: list[SubgraphScore] = []
    for u in unit_list:
        count = space.count_subgraphs(u)
        if count > MAX_SUBGRAPHS:
            raise SearchSpaceError(
                f"Unit {space.unit_name(u)!r} has {count:,} subgraphs, more than the "
                f"{MAX_SUBGRAPHS:,} autobuild enumerates; restrict its depth or choices."
            )
        stages = space.units[u]
        ranges = [
            range(space.stages[s].min_layers, space.stages[s].max_layers + 1) for s in stages
        ]
        for lengths in itertools.product(*ranges):
            n_layers = sum(lengths)
            if n_layers == 0:
                empty: Subgraph = tuple(() for _ in stages)
                records.append(_empty_record(predictor, u, empty, moments, resolved))
                continue
            batch, subgraphs = _encoder(predictor).encode_unit_product(u, lengths, globals_)
            raw = _last_node_norms(predictor, batch, n_layers - 1)
            records.extend(_records(predictor, u, subgraphs, n_layers, raw, moments, resolved))
    return ModuleScores(space, tuple(records), tuple(globals_), resolved, direction)


def _encoder(predictor: AutoBuildPredictor) -> SequenceGraphEncoder:
    enc = predictor.encoder
    assert isinstance(enc, SequenceGraphEncoder)  # _check_scorable refused other formats
    return enc


def _check_scorable(predictor: AutoBuildPredictor) -> None:
    if not hasattr(predictor, "model_"):
        from autobuild.exceptions import NotFittedError

        raise NotFittedError("Scoring needs a fitted predictor; call fit() or load one.")
    space = predictor.space
    if predictor.config.graph_format != "sequence":
        raise ConfigError(
            f"Module scores need sequence graphs (one node per layer); this predictor reads "
            f"{predictor.config.graph_format!r} graphs, whose nodes are ops, not layers of a "
            "stage. Train with graph_format='sequence' (the default) to score and build."
        )
    if predictor.config.conv == "gcn":
        raise ConfigError(
            "Module scores need a GNN layer whose output at a node depends only on its "
            "receptive field; GCN's normalisation also reads the degree of the layer before a "
            "stage. Train with conv='gatv2' (default), 'graph' or 'gin'."
        )
    longest = max(sum(space.stages[s].max_layers for s in stages) for stages in space.units)
    if longest - 1 > predictor.config.num_layers:
        raise ConfigError(
            f"A unit of space {space.name!r} has up to {longest} layers, which needs hop "
            f"{longest - 1}, but the predictor has num_layers={predictor.config.num_layers}; "
            f"train with num_layers >= {longest - 1}."
        )


@torch.no_grad()
def _last_node_norms(predictor: AutoBuildPredictor, batch: GraphBatch, hop: int) -> np.ndarray:
    """L1 norm of the hop-``hop`` embedding of every graph's last node."""
    model = predictor.model_
    model.eval()
    out = []
    for lo in range(0, batch.num_graphs, _BATCH_GRAPHS):
        idx = torch.arange(lo, min(lo + _BATCH_GRAPHS, batch.num_graphs))
        part = batch.select(idx) if batch.num_graphs > _BATCH_GRAPHS else batch
        h = model.node_embeddings(part, max_hop=hop)[hop]
        out.append(h[part.last_node].abs().sum(-1).double().numpy())
    return np.concatenate(out)


def _records(
    predictor: AutoBuildPredictor,
    unit: int,
    subgraphs: Sequence[Subgraph],
    n_layers: int,
    raw: np.ndarray,
    moments: LabelMoments,
    shift: str,
) -> list[SubgraphScore]:
    hop = n_layers - 1
    name = predictor.space.unit_name(unit)
    if shift == "raw":
        return [
            SubgraphScore(unit, name, n_layers, sg, hop, float(r), float(r))
            for sg, r in zip(subgraphs, raw, strict=True)
        ]
    if shift == "additive":
        shifted = _additive(predictor, unit, n_layers, raw)
        return [
            SubgraphScore(unit, name, n_layers, sg, hop, float(r), float(s))
            for sg, r, s in zip(subgraphs, raw, shifted, strict=True)
        ]
    mean_h, std_h = predictor.hop_moments_[0][hop], predictor.hop_moments_[1][hop]
    mean_y, std_y = moments.get(unit, n_layers)
    if std_h > 0:
        shifted = (raw - mean_h) / std_h * std_y + mean_y
    else:
        warnings.warn(
            f"Hop {hop} embedding norms did not vary over the training graphs; subgraphs of "
            f"{n_layers} layers all get the mean label of their bucket.",
            AutobuildWarning,
            stacklevel=3,
        )
        shifted = np.full_like(raw, mean_y)
    return [
        SubgraphScore(unit, name, n_layers, sg, hop, float(r), float(s))
        for sg, r, s in zip(subgraphs, raw, shifted, strict=True)
    ]


def _empty_record(
    predictor: AutoBuildPredictor,
    unit: int,
    subgraph: Subgraph,
    moments: LabelMoments,
    shift: str,
) -> SubgraphScore:
    """An empty unit has no node to score: it gets the mean label of its training bucket
    (``eq5``), the unit head's constant (``additive``) or a zero norm (``raw``)."""
    if shift == "raw":
        return SubgraphScore(unit, predictor.space.unit_name(unit), 0, subgraph, -1, 0.0, 0.0)
    if shift == "additive":
        score = float(_additive(predictor, unit, 0, np.zeros(1))[0])
    else:
        score, _ = moments.get(unit, 0, need_spread=False)
    return SubgraphScore(unit, predictor.space.unit_name(unit), 0, subgraph, -1, 0.0, score)


def _resolve_shift(predictor: AutoBuildPredictor, shift: Shift) -> Shift:
    has_head = bool(getattr(predictor.model_, "has_unit_head", False))
    if shift == "auto":
        return "additive" if has_head else "eq5"
    if shift not in ("eq5", "additive", "raw"):
        raise ConfigError(f"`shift` must be 'auto', 'eq5', 'additive' or 'raw', got {shift!r}.")
    if shift == "additive" and not has_head:
        raise ConfigError(
            "shift='additive' needs a predictor trained with unit_lambda > 0 (it has no unit "
            "head); use shift='eq5'."
        )
    return shift


@torch.no_grad()
def _additive(
    predictor: AutoBuildPredictor, unit: int, n_layers: int, raw: np.ndarray
) -> np.ndarray:
    """Unit-head contribution in label units: each unit also carries ``mean / U``."""
    model = predictor.model_
    weight = float(torch.nn.functional.softplus(model.unit_weight[unit, n_layers]))
    bias = float(model.unit_bias[unit, n_layers])
    scale = float(model.unit_norm_scale[max(n_layers - 1, 0)])
    value = (weight * raw / scale if n_layers else 0.0 * raw) + bias
    units = predictor.space.num_units
    return value * predictor.label_std_ + predictor.label_mean_ / units
