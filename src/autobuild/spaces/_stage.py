"""Architectures and stages: the values a macro search space is made of."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from autobuild._validation import check_int
from autobuild.exceptions import SearchSpaceError
from autobuild.spaces._features import CategoricalFeature, Feature, Value

__all__ = ["Architecture", "Layer", "Stage", "StageConfig", "Subgraph"]

#: One layer: its feature values, in the order of the stage's feature names.
Layer = tuple[Value, ...]
#: The layers of one stage, in network order (may be empty when the stage allows it).
StageConfig = tuple[Layer, ...]
#: A stage subgraph of a unit: one :data:`StageConfig` per stage of the unit.
Subgraph = tuple[StageConfig, ...]


@dataclass(frozen=True, slots=True)
class Architecture:
    """An architecture of a :class:`SearchSpace`: its layers per stage and global values.

    Instances are immutable and hashable, so they serve as dictionary keys and set members.
    Create them with :meth:`SearchSpace.parse` (which validates), not directly.

    Attributes:
        stages: One tuple of layers per stage; a layer is a tuple of feature values in the
            order of :attr:`SearchSpace.layer_feature_names`.
        globals: Values of the space's global features, in declaration order.
    """

    stages: tuple[StageConfig, ...]
    globals: tuple[Value, ...] = ()

    @property
    def num_layers(self) -> int:
        """Total number of layers (graph nodes)."""
        return sum(len(s) for s in self.stages)

    @property
    def depths(self) -> tuple[int, ...]:
        """Number of layers of each stage."""
        return tuple(len(s) for s in self.stages)


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage: a sequence of ``min_layers`` to ``max_layers`` layers.

    Args:
        name: Stage name used in messages and in unit declarations.
        min_layers: Fewest layers (``0`` allows an empty stage).
        max_layers: Most layers.
        layer: Features every layer of the stage picks.
        first_layer: Features of the stage's first layer, if they differ from ``layer``
            (e.g. a strided projection only allowed in that position). Same names as ``layer``.
    """

    name: str
    min_layers: int
    max_layers: int
    layer: tuple[Feature, ...]
    first_layer: tuple[Feature, ...] | None = None

    def __post_init__(self) -> None:
        for key in ("min_layers", "max_layers"):
            check_int(
                key, getattr(self, key), error=SearchSpaceError, where=f"Stage {self.name!r}: "
            )
        if self.min_layers > self.max_layers:
            raise SearchSpaceError(
                f"Stage {self.name!r}: `min_layers <= max_layers` must hold, got "
                f"min_layers={self.min_layers}, max_layers={self.max_layers}."
            )
        if self.max_layers == 0:
            raise SearchSpaceError(
                f"Stage {self.name!r} has max_layers=0; a stage needs room for a layer."
            )
        names = [f.name for f in self.layer]
        if len(set(names)) != len(names):
            raise SearchSpaceError(f"Stage {self.name!r} declares a feature twice: {names}.")
        if self.first_layer is not None and [f.name for f in self.first_layer] != names:
            raise SearchSpaceError(
                f"Stage {self.name!r}: the first layer declares features "
                f"{[f.name for f in self.first_layer]} but the other layers {names}; "
                "declare the same features in the same order."
            )

    def features_at(self, position: int) -> tuple[Feature, ...]:
        """The features of the layer at ``position`` (0-based) within the stage."""
        if position == 0 and self.first_layer is not None:
            return self.first_layer
        return self.layer

    def choices_at(self, position: int) -> list[Layer]:
        """Every layer allowed at ``position``, in declaration (feature-major) order.

        Raises:
            SearchSpaceError: If a feature there is an interval (not enumerable).
        """
        return layer_choices(self.features_at(position), self.name)

    def num_choices(self, position: int) -> int:
        """How many distinct layers position ``position`` allows (enumerable features only)."""
        return math.prod(num_values(f) for f in self.features_at(position))

    def count(self, length: int) -> int:
        """How many distinct stage configurations have exactly ``length`` layers."""
        if not self.min_layers <= length <= self.max_layers:
            return 0
        return math.prod(self.num_choices(p) for p in range(length))

    def enumerate(self, length: int) -> Iterator[StageConfig]:
        """All configurations with ``length`` layers, in declaration (feature-major) order."""
        if not self.min_layers <= length <= self.max_layers:
            return
        per_position = [self.choices_at(p) for p in range(length)]
        yield from itertools.product(*per_position)


def num_values(f: Feature) -> int:
    if isinstance(f, CategoricalFeature):
        return len(f.values)
    return len(f.values) if f.values is not None else 1


def layer_choices(feats: Sequence[Feature], where: str) -> list[Layer]:
    lists = []
    for f in feats:
        if f.values is not None:  # categorical features always have values
            lists.append(list(f.values))
        else:
            raise SearchSpaceError(
                f"Feature {f.name!r} in {where} is an interval and cannot be enumerated."
            )
    return [tuple(c) for c in itertools.product(*lists)]
