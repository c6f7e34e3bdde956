"""Result tables of module scoring: plain records, exportable to CSV and JSON."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autobuild._atomic import write_csv_atomic, write_json_atomic
from autobuild.exceptions import ConfigError
from autobuild.spaces import SearchSpace, Subgraph, Value

__all__ = [
    "CategoryImportance",
    "FeatureImportance",
    "SubgraphScore",
    "ValueImportance",
    "subgraph_to_json",
    "write_records",
]


@dataclass(frozen=True, slots=True)
class SubgraphScore:
    """The score of one stage subgraph (module).

    Attributes:
        unit: Unit index (0-based; a unit is a stage, or stages scored together).
        unit_name: Display name of the unit (e.g. ``"s1"``, ``"s5+s6"``).
        n_layers: Number of layers (nodes) of the subgraph.
        subgraph: One tuple of layers per stage of the unit.
        hop: Hop whose embedding scores it (``n_layers - 1``).
        raw: L1 norm of the last node's embedding at that hop.
        score: ``raw`` shifted into label units with Eq. 5 (comparable across sizes/units).
        spread: Uncertainty of ``score`` (0 for a single predictor).
    """

    unit: int
    unit_name: str
    n_layers: int
    subgraph: Subgraph
    hop: int
    raw: float
    score: float
    spread: float = 0.0


@dataclass(frozen=True, slots=True)
class CategoryImportance:
    """How much one feature category contributes to the hop-0 embedding norm.

    Attributes:
        category: Category name (``stage``, ``layer``, a layer or global feature).
        share: Mean fraction of a node's hop-0 L1 norm that this category contributes.
        mean: Mean of the category's hop-0 scalar over the nodes.
        std: Population standard deviation of that scalar.
    """

    category: str
    share: float
    mean: float
    std: float


@dataclass(frozen=True, slots=True)
class ValueImportance:
    """The hop-0 scalar of one value of a category (only values seen in training).

    Attributes:
        category: Category name.
        value: The value (stage and layer positions are 1-based numbers).
        score: Its FE-MLP scalar ``|f_c(value)|``.
        count: How many training nodes had this value.
    """

    category: str
    value: Value
    score: float
    count: int


@dataclass(frozen=True, slots=True)
class FeatureImportance:
    """FE-MLP feature importance: per category and per value."""

    categories: tuple[CategoryImportance, ...]
    values: tuple[ValueImportance, ...]


def subgraph_to_json(space: SearchSpace, unit: int, subgraph: Subgraph) -> Any:
    """JSON form of a subgraph: a list of ``{feature: value}`` layers for a one-stage unit,
    a list of such lists (one per stage) for a unit of several stages."""
    parts = []
    for stage_index, layers in zip(space.units[unit], subgraph, strict=True):
        stage = space.stages[stage_index]
        parts.append(
            [
                {f.name: v for f, v in zip(stage.features_at(i), layer, strict=True)}
                for i, layer in enumerate(layers)
            ]
        )
    return parts[0] if len(parts) == 1 else parts


def write_records(
    path: str | Path, records: Sequence[Any], *, space: SearchSpace | None = None
) -> Path:
    """Write dataclass records to ``.csv`` or ``.json`` (by extension), atomically.

    Subgraph scores are written with the columns ``stage`` (the unit's name), ``n_layers``,
    ``subgraph`` (JSON form, see :func:`subgraph_to_json`; ``space`` is then required),
    ``score``, ``raw``, ``hop``, ``unit`` and ``spread``.
    """
    target = Path(path)
    rows = [_row(r, space) for r in records]
    if target.suffix.lower() == ".json":
        return write_json_atomic(target, rows)
    header = list(rows[0]) if rows else []
    return write_csv_atomic(
        target,
        header,
        (
            [
                json.dumps(v, separators=(",", ":")) if isinstance(v, list | dict) else v
                for v in row.values()
            ]
            for row in rows
        ),
    )


def _row(record: Any, space: SearchSpace | None) -> dict[str, Any]:
    if not isinstance(record, SubgraphScore):
        return dataclasses.asdict(record)
    if space is None:
        raise ConfigError("`space` is required to write subgraph scores.")
    return {
        "stage": record.unit_name,
        "n_layers": record.n_layers,
        "subgraph": subgraph_to_json(space, record.unit, record.subgraph),
        "score": record.score,
        "raw": record.raw,
        "hop": record.hop,
        "unit": record.unit,
        "spread": record.spread,
    }
